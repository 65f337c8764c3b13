//! `tether completions` and `tether man`: generated from the clap
//! definitions, so every command appears in them.

use crate::harness::tether;

const COMMANDS: &[&str] = &[
    "init",
    "validate",
    "fmt",
    "graph",
    "plan",
    "apply",
    "secrets",
    "state",
    "force-unlock",
];

#[test]
fn completions_cover_every_command_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = tether(dir.path(), ["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        for c in COMMANDS {
            assert!(out.stdout.contains(c), "{shell} completion lacks {c}");
        }
        assert!(out.stdout.contains("lock-timeout"), "{shell}");
    }
    let bad = tether(dir.path(), ["completions", "tcsh"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("invalid value 'tcsh'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn man_pages_for_the_tool_and_each_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = tether(dir.path(), ["man"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(".TH tether 1"), "{}", out.stdout);
    for c in COMMANDS {
        // roff escapes the dashes of names.
        let roff = format!("tether\\-{}(1)", c.replace('-', "\\-"));
        assert!(out.stdout.contains(&roff), "tether(1) lacks {roff}");
    }
    let out = tether(dir.path(), ["man", "--out-dir", "man"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for page in [
        "tether.1",
        "tether-plan.1",
        "tether-state-mv.1",
        "tether-secrets-rekey.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join("man").join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie"), "{page} is not roff");
        assert!(out.stdout.contains(page), "{page} not listed");
    }
    let plan = std::fs::read_to_string(dir.path().join("man/tether-plan.1")).unwrap();
    assert!(plan.contains("detailed\\-exitcode"), "{plan}");
}

// ---------------------------------------------------------------------------
// The README's tour and the GitHub Actions examples, checked against the clap
// definitions: a command without a sample, or a workflow calling a flag that
// does not exist, fails here rather than in a user's pipeline.

use clap::CommandFactory;
use serde_norway::Value;
use tether::cli::Cli;

/// Every command path of `tether` (`["plan"]`, `["snapshot", "show"]`, …),
/// leaves only: a command with subcommands is reached through them.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_string());
            if sub.has_subcommands() {
                walk(sub, &path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &[], &mut out);
    out
}

/// Shell words of one command line, with simple quoting; stops at a comment.
/// Operators (`|`, `>`, `<`, `;`, `&&`, `||`) are words of their own.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut started = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                started = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                started = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        _ => cur.push(q),
                    }
                }
            }
            '#' if !started => break,
            c if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            '|' | '&' | ';' | '<' | '>' => {
                if started {
                    words.push(std::mem::take(&mut cur));
                    started = false;
                }
                let mut op = c.to_string();
                if chars.peek() == Some(&c) {
                    op.push(chars.next().unwrap());
                }
                words.push(op);
            }
            _ => {
                started = true;
                cur.push(c);
            }
        }
    }
    if started {
        words.push(cur);
    }
    words
}

fn is_operator(w: &str) -> bool {
    matches!(w, "|" | "||" | "&" | "&&" | ";" | "<" | "<<" | ">" | ">>")
}

/// The `tether …` invocations of a shell script: each simple command whose
/// first word is `tether`, up to the next operator. Continued lines are joined.
fn tether_invocations(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let words = shell_words(line);
        let mut at_start = true;
        let mut i = 0;
        while i < words.len() {
            if at_start && words[i] == "tether" {
                let end = (i..words.len())
                    .find(|&j| is_operator(&words[j]))
                    .unwrap_or(words.len());
                out.push(words[i..end].to_vec());
                i = end;
                continue;
            }
            at_start =
                is_operator(&words[i]) || matches!(words[i].as_str(), "then" | "do" | "else");
            i += 1;
        }
    }
    out
}

/// The command path of an invocation (`tether -C dir snapshot show 3` ->
/// `["snapshot", "show"]`), as clap parsed it.
fn parsed_path(args: &[String]) -> Result<Vec<String>, String> {
    let matches = Cli::command()
        .try_get_matches_from(args)
        .map_err(|e| e.to_string())?;
    let mut path = Vec::new();
    let mut m = &matches;
    while let Some((name, sub)) = m.subcommand() {
        path.push(name.to_string());
        m = sub;
    }
    Ok(path)
}

fn readme() -> String {
    std::fs::read_to_string(crate::harness::repo().join("README.md")).unwrap()
}

/// `$ tether …` lines of the README's console samples.
fn readme_invocations() -> Vec<Vec<String>> {
    let text = readme();
    let mut out = Vec::new();
    // The open fence (three or more backticks) and whether it is a console sample.
    let mut fence: Option<(String, bool)> = None;
    for line in text.lines() {
        let ticks: String = line.chars().take_while(|&c| c == '`').collect();
        match &fence {
            None if ticks.len() >= 3 => {
                let console = line[ticks.len()..].trim() == "console";
                fence = Some((ticks, console));
                continue;
            }
            Some((open, _)) if line.trim_end() == open => {
                fence = None;
                continue;
            }
            _ => {}
        }
        let in_console = matches!(fence, Some((_, true)));
        if let Some(cmd) = line.strip_prefix("$ ").filter(|_| in_console) {
            out.extend(tether_invocations(cmd));
        }
    }
    out
}

#[test]
fn the_readme_shows_every_command_run_with_valid_arguments() {
    let invocations = readme_invocations();
    assert!(invocations.len() > 20, "{invocations:?}");
    let mut shown = Vec::new();
    for args in &invocations {
        match parsed_path(args) {
            Ok(path) => shown.push(path),
            Err(e) => panic!(
                "README runs `{}`, which tether refuses:\n{e}",
                args.join(" ")
            ),
        }
    }
    let missing: Vec<String> = command_paths()
        .into_iter()
        .filter(|p| !shown.contains(p))
        .map(|p| format!("tether {}", p.join(" ")))
        .collect();
    assert!(
        missing.is_empty(),
        "the README's tour has no `$ tether …` sample for: {missing:?}"
    );
}

fn workflow(name: &str) -> Value {
    let path = crate::harness::repo()
        .join("examples/github-actions")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
}

/// `on:` of a workflow (YAML 1.1 readers turn the key into `true`).
fn triggers(wf: &Value) -> &Value {
    wf.get("on")
        .or_else(|| wf.as_mapping().and_then(|m| m.get(Value::Bool(true))))
        .expect("the workflow has `on:`")
}

/// Every step of every job, in order.
fn steps(wf: &Value) -> Vec<&Value> {
    let jobs = wf.get("jobs").and_then(Value::as_mapping).expect("jobs");
    assert!(!jobs.is_empty(), "no jobs");
    jobs.values()
        .flat_map(|job| {
            job.get("steps")
                .and_then(Value::as_sequence)
                .expect("every job has steps")
                .iter()
        })
        .collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The `tether …` invocations of a workflow's `run:` scripts, each checked
/// against the clap definitions (subcommands, flags and their values).
fn workflow_invocations(name: &str, wf: &Value) -> Vec<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    for step in steps(wf) {
        let Some(run) = str_of(step, "run") else {
            continue;
        };
        for args in tether_invocations(run) {
            let path = parsed_path(&args).unwrap_or_else(|e| {
                panic!(
                    "{name} runs `{}`, which tether refuses:\n{e}",
                    args.join(" ")
                )
            });
            out.push((path, args));
        }
    }
    out
}

fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let eq = format!("{flag}=");
    args.iter().enumerate().find_map(|(i, a)| {
        if a == flag {
            args.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix(&eq)
        }
    })
}

#[test]
fn every_example_workflow_is_yaml_and_calls_tether_as_it_exists() {
    let dir = crate::harness::repo().join("examples/github-actions");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "apply-pg.yml",
            "apply.yml",
            "drift-pg.yml",
            "drift.yml",
            "plan-pg.yml",
            "plan.yml"
        ]
    );
    for name in &names {
        let wf = workflow(name);
        assert!(str_of(&wf, "name").is_some(), "{name}: no name");
        triggers(&wf);
        for step in steps(&wf) {
            assert!(
                step.get("run").is_some() || step.get("uses").is_some(),
                "{name}: a step with neither run nor uses: {step:?}"
            );
        }
        assert!(
            !workflow_invocations(name, &wf).is_empty(),
            "{name} never runs tether"
        );
    }
}

#[test]
fn the_plan_workflow_posts_one_updated_comment_and_keeps_the_saved_plan() {
    for name in ["plan.yml", "plan-pg.yml"] {
        plan_workflow(name);
    }
}

fn plan_workflow(name: &str) {
    let wf = workflow(name);
    assert!(
        triggers(&wf).get("pull_request").is_some(),
        "{name} must run on pull requests"
    );
    let runs = workflow_invocations(name, &wf);
    let plan = runs
        .iter()
        .find(|(path, _)| path == &["plan"])
        .map(|(_, args)| args)
        .expect("plan.yml runs `tether plan`");
    assert_eq!(flag_value(plan, "--format"), Some("markdown"), "{plan:?}");
    let out = flag_value(plan, "--out").expect("the plan is saved with --out");
    // The saved plan is what the artifact keeps.
    let kept = steps(&wf).into_iter().any(|s| {
        str_of(s, "uses").is_some_and(|u| u.starts_with("actions/upload-artifact@"))
            && s.get("with").and_then(|w| str_of(w, "path")) == Some(out)
    });
    assert!(kept, "plan.yml does not upload {out}");
    // One comment, found by the marker tether prints first, then updated.
    let script = steps(&wf)
        .into_iter()
        .filter_map(|s| s.get("with").and_then(|w| str_of(w, "script")))
        .find(|s| s.contains("<!-- tether-plan -->"))
        .expect("a step finds the comment by `<!-- tether-plan -->`");
    assert!(script.contains("updateComment"), "{script}");
    assert!(script.contains("createComment"), "{script}");
}

#[test]
fn the_apply_workflow_applies_the_saved_plan_on_merge_to_main() {
    for (name, plan) in [("apply.yml", "plan.yml"), ("apply-pg.yml", "plan-pg.yml")] {
        apply_workflow(name, plan);
    }
    // With pg, nothing goes back into git: no write permission, no push.
    let text = std::fs::read_to_string(
        crate::harness::repo().join("examples/github-actions/apply-pg.yml"),
    )
    .unwrap();
    assert!(
        !text.contains("contents: write"),
        "apply-pg.yml writes to git"
    );
    assert!(!text.contains("git push"), "apply-pg.yml pushes");
    assert!(
        text.contains("secrets.TETHER_PG_CONN_STR"),
        "the connection comes from a secret"
    );
}

fn apply_workflow(name: &str, plan_name: &str) {
    let wf = workflow(name);
    let on = triggers(&wf);
    let on_push_to_main = on
        .get("push")
        .and_then(|p| p.get("branches"))
        .and_then(Value::as_sequence)
        .is_some_and(|b| b.iter().any(|b| b.as_str() == Some("main")));
    let on_merged_pr = on
        .get("pull_request")
        .and_then(|p| p.get("types"))
        .and_then(Value::as_sequence)
        .is_some_and(|t| t.iter().any(|t| t.as_str() == Some("closed")));
    assert!(on_push_to_main || on_merged_pr, "{on:?}");
    let runs = workflow_invocations(name, &wf);
    let applies: Vec<_> = runs.iter().filter(|(p, _)| p == &["apply"]).collect();
    assert_eq!(applies.len(), 1, "{runs:?}");
    let args = &applies[0].1;
    // A saved plan: a PLANFILE argument, the same name plan.yml saves.
    let plan_wf = workflow(plan_name);
    let saved = workflow_invocations(plan_name, &plan_wf)
        .into_iter()
        .find(|(p, _)| p == &["plan"])
        .and_then(|(_, a)| flag_value(&a, "--out").map(str::to_string))
        .unwrap();
    assert_eq!(
        args.last().map(String::as_str),
        Some(saved.as_str()),
        "{args:?}"
    );
    assert!(
        !args.iter().any(|a| a == "--auto-approve"),
        "a saved plan needs no --auto-approve: {args:?}"
    );
}

#[test]
fn the_drift_workflow_is_nightly_and_fails_on_drift_or_an_incomplete_check() {
    for name in ["drift.yml", "drift-pg.yml"] {
        drift_workflow(name);
    }
}

fn drift_workflow(name: &str) {
    let wf = workflow(name);
    let cron = triggers(&wf)
        .get("schedule")
        .and_then(Value::as_sequence)
        .and_then(|s| s.first())
        .and_then(|s| str_of(s, "cron"))
        .expect("the drift workflow runs on a schedule");
    assert_eq!(cron.split_whitespace().count(), 5, "cron `{cron}`");
    let runs = workflow_invocations(name, &wf);
    let (_, drift) = runs
        .iter()
        .find(|(p, _)| p == &["drift"])
        .expect("drift.yml runs `tether drift`");
    assert!(
        drift.iter().any(|a| a == "--detailed-exitcode"),
        "{drift:?}"
    );
    // Only new drift alerts: the issue is not touched for what it says already.
    assert!(drift.iter().any(|a| a == "--since-last"), "{drift:?}");
    if name == "drift.yml" {
        // A local record lives in the checkout: kept between runs by the cache.
        let cached = steps(&wf).iter().any(|s| {
            str_of(s, "uses").is_some_and(|u| u.starts_with("actions/cache@"))
                && s.get("with")
                    .and_then(|w| str_of(w, "path"))
                    .is_some_and(|p| p.contains(".tether/drift-last.json"))
        });
        assert!(
            cached,
            "{name} does not keep .tether/drift-last.json between runs"
        );
    }
    assert_eq!(flag_value(drift, "--format"), Some("markdown"), "{drift:?}");

    // The step that runs drift records its exit code as an output; the steps
    // after it read `steps.<id>.outputs.code`. Run those (as GitHub's bash
    // does) for each code: the job must fail on 1, 2 and 3, pass on 0, and
    // the issue step must run on 2 and 3.
    let all = steps(&wf);
    let at = all
        .iter()
        .position(|s| str_of(s, "run").is_some_and(|r| r.contains("tether drift")))
        .unwrap();
    let id = str_of(all[at], "id").expect("the drift step has an id");
    let expr = format!("${{{{ steps.{id}.outputs.code }}}}");
    let cond = format!("steps.{id}.outputs.code");
    let issue = all[at + 1..]
        .iter()
        .find(|s| str_of(s, "run").is_some_and(|r| r.contains("gh issue")))
        .expect("a step opens or updates the issue");
    let when = str_of(issue, "if").expect("the issue step is conditional");
    for code in ["2", "3"] {
        assert!(
            when.contains(&format!("{cond} == '{code}'")),
            "the issue step does not run on exit {code}: {when}"
        );
    }
    let checks: Vec<&str> = all[at + 1..]
        .iter()
        .filter(|s| s.get("if").is_none())
        .filter_map(|s| str_of(s, "run"))
        .filter(|r| r.contains(&expr))
        .collect();
    assert!(
        !checks.is_empty(),
        "no step fails the job on the drift code"
    );
    for (code, fails) in [("0", false), ("1", true), ("2", true), ("3", true)] {
        let failed = checks.iter().any(|script| {
            let status = std::process::Command::new("bash")
                .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
                .arg(script.replace(&expr, code))
                .stdout(std::process::Stdio::null())
                .status()
                .expect("bash runs");
            !status.success()
        });
        assert_eq!(failed, fails, "drift exit {code}: job fails = {failed}");
    }
}

#[test]
fn shell_words_split_quotes_operators_and_comments() {
    assert_eq!(
        shell_words(r#"tether -C "a b" plan --out p.json>plan.md # note"#),
        [
            "tether", "-C", "a b", "plan", "--out", "p.json", ">", "plan.md"
        ]
    );
    assert_eq!(
        tether_invocations(
            "set +e\nx=1 && tether drift \\\n  --detailed-exitcode | tee d\necho tether sync"
        ),
        [vec!["tether", "drift", "--detailed-exitcode"]]
    );
}
