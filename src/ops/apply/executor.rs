//! Apply: walks a plan's actions in dependency order, independent accounts in
//! parallel, and hands each finished account to the caller to record at once.
//!
//! Invariants: apply performs exactly the plan's actions and never re-diffs
//! against the config; an account starts only after everything it depends on
//! succeeded (creates and updates), or after everything that depends on it was
//! forgotten (deletes); when an account fails, what depends on it is skipped,
//! never attempted; once stopped (Ctrl-C), nothing new starts and the running
//! accounts finish and are recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Address;
use crate::plan::{AccountChange, Action, Plan};
use crate::problem::{Problem, ProblemKind};

/// How one account ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// What went wrong, typed (a vendor's answer keeps its kind, code and
    /// request id).
    Failed(Problem),
    /// Not attempted: this dependency failed or was skipped.
    Skipped(Address),
    /// Not attempted: the run was stopped first.
    NotStarted,
}

/// What ran in what order, for reports and tests.
#[derive(Debug, Default)]
pub struct Report {
    /// Accounts in the order they finished, with their outcome.
    pub outcomes: Vec<(Address, Action, Outcome)>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.outcomes
            .iter()
            .any(|(_, _, o)| !matches!(o, Outcome::Done))
    }

    pub fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|(_, _, o)| pred(o)).count()
    }
}

/// For each changing account, the accounts of the plan that must finish first.
pub fn prerequisites(plan: &Plan) -> BTreeMap<Address, BTreeSet<Address>> {
    let changing: BTreeMap<&Address, &AccountChange> = plan
        .changes
        .iter()
        .filter(|c| c.action.is_change())
        .map(|c| (&c.address, c))
        .collect();
    let mut pre: BTreeMap<Address, BTreeSet<Address>> = changing
        .keys()
        .map(|a| ((*a).clone(), BTreeSet::new()))
        .collect();
    for c in changing.values() {
        match c.action {
            // Created or updated after what it depends on, when that changes too.
            Action::Create | Action::Update | Action::Replace => {
                for d in &c.depends_on {
                    if let Some(dc) = changing.get(d) {
                        if dc.action != Action::Delete {
                            pre.get_mut(&c.address)
                                .expect("every change has an entry")
                                .insert(d.clone());
                        }
                    }
                }
            }
            // Forgotten after whatever still depends on it is forgotten.
            Action::Delete => {
                for d in &c.depends_on {
                    if let Some(dc) = changing.get(d) {
                        if dc.action == Action::Delete {
                            pre.get_mut(d)
                                .expect("every change has an entry")
                                .insert(c.address.clone());
                        }
                    }
                }
            }
            Action::NoOp => {}
        }
    }
    pre
}

/// One account that ended, as handed to the caller's `record`.
#[derive(Debug)]
pub struct Finished<T> {
    pub change: AccountChange,
    pub outcome: Outcome,
    /// What `work` returned, when it succeeded.
    pub payload: Option<T>,
}

/// Runs `work` for every changing account of `plan`, at most `parallelism` at
/// once, in dependency order. `record` is handed every account that has ended
/// since the last batch was handed over (one or more, in the order they
/// ended), so the caller can write state once for all of them; it answers,
/// per account, `Err(problem)` when recording failed (the account then
/// counts as failed).
///
/// One batch is being recorded at a time, and the walk goes on while it is:
/// accounts whose prerequisites are recorded keep starting, and whatever ends
/// meanwhile waits for the next batch. An account starts only after
/// everything it depends on is recorded, and nothing is reported done before
/// it is recorded. A slow state write therefore costs fewer, larger batches,
/// not idle slots.
pub async fn execute<W, Fut, R, RFut, T>(
    plan: &Plan,
    parallelism: usize,
    stop: Arc<AtomicBool>,
    work: W,
    mut record: R,
) -> Report
where
    W: Fn(AccountChange) -> Fut,
    Fut: Future<Output = Result<T, Problem>> + Send + 'static,
    T: Send + 'static,
    R: FnMut(Arc<[Finished<T>]>) -> RFut,
    RFut: Future<Output = Vec<Result<(), Problem>>>,
{
    let parallelism = parallelism.max(1);
    let mut pre = prerequisites(plan);
    let changes: BTreeMap<Address, AccountChange> = plan
        .changes
        .iter()
        .filter(|c| c.action.is_change())
        .map(|c| (c.address.clone(), c.clone()))
        .collect();
    let mut waiting: BTreeSet<Address> = changes.keys().cloned().collect();
    let mut running = tokio::task::JoinSet::new();
    // Which account each running task is, so a task that panics is still reported.
    let mut tasks: std::collections::HashMap<tokio::task::Id, AccountChange> =
        std::collections::HashMap::new();
    let mut report = Report::default();
    // Accounts that ended without success (known as soon as they end, or
    // when recording them failed): their dependents can never run.
    let mut unsuccessful: BTreeSet<Address> = BTreeSet::new();
    // Ended, not yet handed to `record`.
    let mut pending: Vec<Finished<T>> = Vec::new();
    // The batch being recorded, and its answer to come.
    let mut writing: Option<Writing<T, RFut>> = None;
    loop {
        // Skip what can never run: a prerequisite ended without success.
        loop {
            let doomed: Vec<(Address, Address)> = waiting
                .iter()
                .filter_map(|a| {
                    pre[a]
                        .iter()
                        .find(|p| unsuccessful.contains(*p))
                        .map(|p| (a.clone(), p.clone()))
                })
                .collect();
            if doomed.is_empty() {
                break;
            }
            for (a, p) in doomed {
                waiting.remove(&a);
                unsuccessful.insert(a.clone());
                pending.push(Finished {
                    change: changes[&a].clone(),
                    outcome: Outcome::Skipped(p),
                    payload: None,
                });
            }
        }
        if writing.is_none() && !pending.is_empty() {
            let batch: Arc<[Finished<T>]> = std::mem::take(&mut pending).into();
            let answer = Box::pin(record(batch.clone()));
            writing = Some((batch, answer));
        }
        // Start what is ready, in address order.
        if !stop.load(Ordering::SeqCst) {
            let ready: Vec<Address> = waiting
                .iter()
                .filter(|a| pre[*a].is_empty())
                .take(parallelism.saturating_sub(running.len()))
                .cloned()
                .collect();
            for a in ready {
                waiting.remove(&a);
                let c = changes[&a].clone();
                let fut = work(c.clone());
                let handle = running.spawn(fut);
                tasks.insert(handle.id(), c);
            }
        }
        if running.is_empty() && writing.is_none() {
            // Nothing runs and nothing is being written: what still waits
            // can only be what a stop kept from starting.
            break;
        }
        tokio::select! {
            Some(first) = running.join_next_with_id(), if !running.is_empty() => {
                // Everything else that has ended by now goes with it.
                let mut joined = vec![first];
                while let Some(more) = running.try_join_next_with_id() {
                    joined.push(more);
                }
                for j in joined {
                    let Some(f) = ended(j, &mut tasks) else { continue };
                    if f.outcome != Outcome::Done {
                        unsuccessful.insert(f.change.address.clone());
                    }
                    pending.push(f);
                }
            }
            results = async { writing.as_mut().expect("guarded").1.as_mut().await }, if writing.is_some() => {
                let (batch, _) = writing.take().expect("guarded");
                for (i, f) in batch.iter().enumerate() {
                    let mut o = f.outcome.clone();
                    // Recording can fail (the state cannot be written): the account has not completed.
                    if let Some(Err(why)) = results.get(i) {
                        o = Outcome::Failed(why.clone());
                    }
                    let addr = &f.change.address;
                    if o == Outcome::Done {
                        for p in pre.values_mut() {
                            p.remove(addr);
                        }
                    } else {
                        unsuccessful.insert(addr.clone());
                    }
                    report.outcomes.push((addr.clone(), f.change.action, o));
                }
            }
        }
    }
    if !waiting.is_empty() {
        let batch: Arc<[Finished<T>]> = std::mem::take(&mut waiting)
            .into_iter()
            .map(|a| Finished {
                change: changes[&a].clone(),
                outcome: Outcome::NotStarted,
                payload: None,
            })
            .collect();
        record(batch.clone()).await;
        for f in batch.iter() {
            report.outcomes.push((
                f.change.address.clone(),
                f.change.action,
                Outcome::NotStarted,
            ));
        }
    }
    report
}

/// A batch being recorded, and the answer to come.
type Writing<T, F> = (Arc<[Finished<T>]>, std::pin::Pin<Box<F>>);

/// The account a joined task was, with how it ended.
fn ended<T>(
    joined: Result<(tokio::task::Id, Result<T, Problem>), tokio::task::JoinError>,
    tasks: &mut std::collections::HashMap<tokio::task::Id, AccountChange>,
) -> Option<Finished<T>> {
    let (id, result) = match joined {
        Ok((id, result)) => (id, result),
        Err(e) => {
            // A panicking task is a bug; it fails that account only, and the
            // account is still reported, audited and counted.
            tracing::error!(error = %e, "an apply task ended abnormally");
            let why = if e.is_panic() {
                "the apply of this account failed unexpectedly (a bug in tether: its task panicked); nothing was recorded for it"
            } else {
                "the apply of this account was cancelled; nothing was recorded for it"
            };
            (e.id(), Err(Problem::new(ProblemKind::Panic, why)))
        }
    };
    let change = tasks.remove(&id)?;
    Some(match result {
        Ok(t) => Finished {
            change,
            outcome: Outcome::Done,
            payload: Some(t),
        },
        Err(why) => Finished {
            change,
            outcome: Outcome::Failed(why),
            payload: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::config::Vendor;
    use crate::plan::{Binding, PlanMode, SecretChange};

    fn change(addr: &str, action: Action, deps: &[&str]) -> AccountChange {
        let address: Address = addr.parse().unwrap();
        AccountChange {
            vendor: address.vendor,
            address,
            previous_address: None,
            action,
            attributes: vec![],
            secret_attribute: Vendor::Aws.secret_attributes()[0].into(),
            secret: SecretChange::Unchanged,
            depends_on: deps.iter().map(|d| d.parse().unwrap()).collect(),
            endpoint_change: None,
        }
    }

    fn plan(changes: Vec<AccountChange>) -> Plan {
        Plan {
            format_version: "1".into(),
            mode: PlanMode::Normal,
            binding: Binding {
                config_hash: String::new(),
                state_lineage: None,
                state_serial: 0,
                snapshot: None,
            },
            changes,
            moves: vec![],
            targets: vec![],
            excludes: vec![],
            identity_available: false,
            identity_drift: vec![],
            not_checked: vec![],
            findings: vec![],
        }
    }

    fn run(p: &Plan, parallelism: usize, fail: &[&str]) -> (Report, Vec<String>, usize) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let started = Arc::new(Mutex::new(Vec::new()));
        let live = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let fail: Vec<String> = fail.iter().map(|s| s.to_string()).collect();
        let report = rt.block_on(execute(
            p,
            parallelism,
            Arc::new(AtomicBool::new(false)),
            |c| {
                let (started, live, peak, fail) =
                    (started.clone(), live.clone(), peak.clone(), fail.clone());
                async move {
                    started.lock().unwrap().push(c.address.to_string());
                    let n = live.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    live.fetch_sub(1, Ordering::SeqCst);
                    if fail.contains(&c.address.to_string()) {
                        Err(Problem::new(ProblemKind::Auth, "refused"))
                    } else {
                        Ok(())
                    }
                }
            },
            |b: Arc<[Finished<()>]>| std::future::ready(vec![Ok(()); b.len()]),
        ));
        let started = started.lock().unwrap().clone();
        (report, started, peak.load(Ordering::SeqCst))
    }

    #[test]
    fn creates_follow_dependencies_and_deletes_go_in_reverse() {
        let p = plan(vec![
            change("aws.app", Action::Create, &["aws.base"]),
            change("aws.base", Action::Create, &[]),
            change("hcs.old_app", Action::Delete, &["hcs.old_base"]),
            change("hcs.old_base", Action::Delete, &[]),
            change("azure.same", Action::NoOp, &[]),
        ]);
        let (report, started, _) = run(&p, 1, &[]);
        let pos = |a: &str| started.iter().position(|s| s == a).unwrap();
        assert!(pos("aws.base") < pos("aws.app"));
        assert!(pos("hcs.old_app") < pos("hcs.old_base"));
        assert!(!started.contains(&"azure.same".to_string()));
        assert!(!report.failed());
        assert_eq!(report.outcomes.len(), 4);
    }

    #[test]
    fn a_failure_skips_its_dependents_only() {
        let p = plan(vec![
            change("aws.base", Action::Create, &[]),
            change("aws.app", Action::Update, &["aws.base"]),
            change("aws.top", Action::Create, &["aws.app"]),
            change("aws.other", Action::Create, &[]),
        ]);
        let (report, started, _) = run(&p, 4, &["aws.base"]);
        assert_eq!(started.len(), 2, "{started:?}");
        let of = |a: &str| {
            report
                .outcomes
                .iter()
                .find(|(x, _, _)| x.to_string() == a)
                .unwrap()
                .2
                .clone()
        };
        assert_eq!(
            of("aws.base"),
            Outcome::Failed(Problem::new(ProblemKind::Auth, "refused"))
        );
        assert_eq!(of("aws.app"), Outcome::Skipped("aws.base".parse().unwrap()));
        assert_eq!(of("aws.top"), Outcome::Skipped("aws.app".parse().unwrap()));
        assert_eq!(of("aws.other"), Outcome::Done);
    }

    #[test]
    fn parallelism_is_a_bound() {
        let changes = (0..20)
            .map(|i| change(&format!("aws.a{i}"), Action::Create, &[]))
            .collect();
        let p = plan(changes);
        let (_, _, peak) = run(&p, 3, &[]);
        assert_eq!(peak, 3);
        let (_, _, peak) = run(&p, 1, &[]);
        assert_eq!(peak, 1);
    }

    #[test]
    fn a_stopped_run_starts_nothing() {
        let p = plan(vec![change("aws.a", Action::Create, &[])]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let report = rt.block_on(execute(
            &p,
            2,
            Arc::new(AtomicBool::new(true)),
            |_| async { Ok(()) },
            |b: Arc<[Finished<()>]>| std::future::ready(vec![Ok(()); b.len()]),
        ));
        assert_eq!(report.outcomes[0].2, Outcome::NotStarted);
    }

    #[test]
    fn a_panicking_account_task_is_reported_failed_and_recorded_as_such() {
        let p = plan(vec![
            change("aws.boom", Action::Create, &[]),
            change("aws.app", Action::Create, &["aws.boom"]),
            change("aws.fine", Action::Create, &[]),
        ]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let recorded = Mutex::new(Vec::new());
        let report = rt.block_on(execute(
            &p,
            2,
            Arc::new(AtomicBool::new(false)),
            |c| async move {
                if c.address.name == "boom" {
                    panic!("a bug");
                }
                Ok(())
            },
            |b: Arc<[Finished<()>]>| {
                recorded.lock().unwrap().extend(
                    b.iter()
                        .map(|f| (f.change.address.to_string(), f.outcome.clone())),
                );
                std::future::ready(vec![Ok(()); b.len()])
            },
        ));
        assert!(report.failed(), "a panic must not end in success");
        assert_eq!(report.outcomes.len(), 3, "{:?}", report.outcomes);
        let recorded = recorded.into_inner().unwrap();
        let boom = recorded.iter().find(|(a, _)| a == "aws.boom").unwrap();
        assert!(
            matches!(&boom.1, Outcome::Failed(why)
                if why.is(ProblemKind::Panic) && why.message.contains("panicked")),
            "{boom:?}"
        );
        let app = recorded.iter().find(|(a, _)| a == "aws.app").unwrap();
        assert!(matches!(app.1, Outcome::Skipped(_)), "{app:?}");
        let fine = recorded.iter().find(|(a, _)| a == "aws.fine").unwrap();
        assert_eq!(fine.1, Outcome::Done);
    }

    #[test]
    fn work_goes_on_while_a_batch_is_recorded_but_dependents_wait_for_it() {
        // parallelism 1: `aws.a` ends first; while its batch is being
        // recorded, the independent `aws.b` must start (the answer for `aws.a`
        // waits for that), and `aws.c`, which depends on `aws.a`, must not
        // start before `aws.a` is recorded.
        let p = plan(vec![
            change("aws.a", Action::Create, &[]),
            change("aws.b", Action::Create, &[]),
            change("aws.c", Action::Create, &["aws.a"]),
        ]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let started = Arc::new(Mutex::new(Vec::<String>::new()));
        let a_recorded = Arc::new(AtomicBool::new(false));
        let batches = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
        let report = rt.block_on(execute(
            &p,
            1,
            Arc::new(AtomicBool::new(false)),
            |c| {
                let (started, a_recorded) = (started.clone(), a_recorded.clone());
                async move {
                    let name = c.address.to_string();
                    if name == "aws.c" && !a_recorded.load(Ordering::SeqCst) {
                        return Err(Problem::new(
                            ProblemKind::Other,
                            "started before aws.a was recorded",
                        ));
                    }
                    started.lock().unwrap().push(name);
                    Ok(())
                }
            },
            |b: Arc<[Finished<()>]>| {
                let names: Vec<String> = b.iter().map(|f| f.change.address.to_string()).collect();
                batches.lock().unwrap().push(names.clone());
                let (started, a_recorded) = (started.clone(), a_recorded.clone());
                async move {
                    if names.contains(&"aws.a".to_string()) {
                        let mut waited = 0;
                        while !started.lock().unwrap().contains(&"aws.b".to_string()) {
                            waited += 1;
                            assert!(
                                waited < 500,
                                "aws.b did not start while aws.a was being recorded"
                            );
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        a_recorded.store(true, Ordering::SeqCst);
                    }
                    vec![Ok(()); names.len()]
                }
            },
        ));
        assert!(!report.failed(), "{:?}", report.outcomes);
        assert_eq!(*started.lock().unwrap(), ["aws.a", "aws.b", "aws.c"]);
        let batches = batches.lock().unwrap();
        assert_eq!(batches[0], ["aws.a"], "{batches:?}");
        assert_eq!(
            batches.concat().len(),
            3,
            "every account is recorded once: {batches:?}"
        );
    }
}
