//! In-place edits of config files for `tether secrets set` and `rekey`.
//!
//! Works on the raw text and hcl-edit spans, not on a re-printed syntax tree:
//! only the byte range of one attribute value is replaced (or one attribute
//! line inserted after the block's last attribute, with its indentation), so
//! every other byte of the file, comments and formatting included, stays as it
//! was. Every edited text is parsed again before it may be written.

use std::ops::Range;

use hcl::edit::Span as _;
use hcl::edit::expr::Expression;
use hcl::edit::structure::{Block, Body, Structure};

use crate::config::{Address, SourceFile, Sources};
use crate::error::{Error, Result};

/// The value an attribute holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Current {
    /// The attribute is not in the block.
    Absent,
    /// `file("path")`, with the path as written.
    File(String),
    /// Anything else: armored text, or plaintext being migrated.
    Value,
}

/// Where an account's secret attribute is, in which file.
#[derive(Debug, Clone)]
pub struct Located {
    /// Index of the file in the [`Sources`] searched.
    pub file: usize,
    /// `file:line:col` of the value, or of the line a new attribute goes on.
    pub location: String,
    pub current: Current,
    /// Byte range of the value (present attributes only).
    pub value: Option<Range<usize>>,
    /// Insertion point for a new attribute line, and the line's indentation.
    pub insert: Option<(usize, String)>,
}

/// The HCL written for a secret.
#[derive(Debug, Clone, Copy)]
pub enum NewValue<'a> {
    /// Armored age text, written as an indented heredoc.
    Inline(&'a str),
    /// `file("path")`.
    File(&'a str),
}

/// The syntax tree of a file to edit or read settings from. A file that could
/// not be read as text is an error with its problem; one that does not parse,
/// an error at the parser's position with `unparsed` as the reason.
pub(crate) fn parse(file: &SourceFile, unparsed: &str) -> Result<Body> {
    if let Some((at, msg)) = &file.problem {
        return Err(Error::Edit {
            location: file.location(*at),
            reason: msg.clone(),
        });
    }
    hcl::edit::parser::parse_body(&file.text).map_err(|e| Error::Edit {
        location: format!(
            "{}:{}:{}",
            file.name,
            e.location().line(),
            e.location().column()
        ),
        reason: unparsed.into(),
    })
}

/// Finds the `account "<vendor>" "<name>"` block of `addr` across `sources` and the
/// attribute `attr` in it. Each file must parse; the block must exist exactly once.
pub fn locate(sources: &Sources, addr: &Address, attr: &str) -> Result<Located> {
    let mut found: Vec<Located> = Vec::new();
    for (index, (_, file)) in sources.iter().enumerate() {
        let body = parse(
            file,
            "the file does not parse; fix it first (`tether validate` shows the problem)",
        )?;
        for st in body.iter() {
            let Structure::Block(b) = st else { continue };
            if is_account(b, addr) {
                found.push(locate_in_block(index, file, b, attr)?);
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::Usage(format!(
            "no `account \"{}\" \"{}\"` block in the config; declare the account first",
            addr.vendor, addr.name
        ))),
        _ => Err(Error::Usage(format!(
            "`{addr}` is declared more than once ({}); remove the duplicate first",
            found
                .iter()
                .map(|l| l.location.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn is_account(b: &Block, addr: &Address) -> bool {
    b.ident.as_str() == "account"
        && b.labels.len() == 2
        && b.labels[0].as_str() == addr.vendor.as_str()
        && b.labels[1].as_str() == addr.name
}

fn locate_in_block(index: usize, file: &SourceFile, b: &Block, attr: &str) -> Result<Located> {
    let text = &file.text;
    let header = b.ident.span().map(|r| r.start).unwrap_or(0);
    let attrs: Vec<_> = b
        .body
        .iter()
        .filter_map(|s| match s {
            Structure::Attribute(a) => Some(a),
            Structure::Block(_) => None,
        })
        .collect();
    let matching: Vec<_> = attrs.iter().filter(|a| a.key.as_str() == attr).collect();
    if matching.len() > 1 {
        return Err(Error::Edit {
            location: file.location(header),
            reason: format!(
                "`{attr}` is set more than once in this block; remove the duplicate first"
            ),
        });
    }
    if let Some(a) = matching.first() {
        let value = a.value.span().ok_or_else(|| Error::Edit {
            location: file.location(header),
            reason: format!("cannot find the value of `{attr}`"),
        })?;
        let current = match &a.value {
            Expression::FuncCall(f)
                if f.name.name.as_str() == "file"
                    && f.name.namespace.is_empty()
                    && f.args.len() == 1 =>
            {
                match f.args.iter().next() {
                    Some(Expression::String(s)) => Current::File(s.value().to_string()),
                    _ => Current::Value,
                }
            }
            _ => Current::Value,
        };
        return Ok(Located {
            file: index,
            location: file.location(value.start),
            current,
            value: Some(value),
            insert: None,
        });
    }
    // Absent: a new line after the last attribute, with that attribute's indentation.
    let block_end = b.span().map(|r| r.end).unwrap_or(text.len());
    let Some(last) = attrs.last().and_then(|a| a.span()) else {
        return Err(Error::Edit {
            location: file.location(header),
            reason: format!(
                "the block has no attributes; write `{attr} = \"\"` into it, then run this again"
            ),
        });
    };
    let newline = text[last.end..].find('\n').map(|i| last.end + i);
    let at = match newline {
        Some(n) if n < block_end => n + 1,
        _ => {
            return Err(Error::Edit {
                location: file.location(header),
                reason: "the block is written on one line; spread it over several lines first"
                    .into(),
            });
        }
    };
    let line_start = text[..last.start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let indent: String = text[line_start..last.start]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    // The new attribute starts at `at`, after its indentation.
    let location = format!(
        "{}:{}:{}",
        file.name,
        file.pos(at).line,
        indent.chars().count() + 1
    );
    Ok(Located {
        file: index,
        location,
        current: Current::Absent,
        value: None,
        insert: Some((at, indent)),
    })
}

/// The leading whitespace of the line that holds `byte`.
pub fn line_indent(text: &str, byte: usize) -> String {
    let byte = byte.min(text.len());
    let start = text[..byte].rfind('\n').map(|i| i + 1).unwrap_or(0);
    text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// The newline style of a file.
fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// Renders a value as HCL. `indent` is the indentation of the attribute's line;
/// heredoc lines are indented one step further (`<<-` strips it again).
pub fn render(value: NewValue<'_>, indent: &str, nl: &str) -> String {
    match value {
        NewValue::Inline(armored) => {
            let step = if indent.contains('\t') { "\t" } else { "  " };
            let mut s = String::from("<<-EOT");
            s.push_str(nl);
            for line in armored.trim().lines() {
                s.push_str(indent);
                s.push_str(step);
                s.push_str(line.trim_end());
                s.push_str(nl);
            }
            s.push_str(indent);
            s.push_str("EOT");
            s
        }
        NewValue::File(path) => format!("file(\"{}\")", escape(path)),
    }
}

/// Escapes a string for an HCL quoted literal.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.replace("${", "$${").replace("%{", "%%{")
}

/// The new text of the file after setting `attr` to `value` at `loc`.
pub fn set(text: &str, loc: &Located, attr: &str, value: NewValue<'_>) -> Result<String> {
    let nl = newline(text);
    let edit = match (&loc.value, &loc.insert) {
        (Some(range), _) => {
            let indent = line_indent(text, range.start);
            (range.clone(), render(value, &indent, nl))
        }
        (None, Some((at, indent))) => (
            *at..*at,
            format!("{indent}{attr} = {}{nl}", render(value, indent, nl)),
        ),
        (None, None) => {
            return Err(Error::Edit {
                location: loc.location.clone(),
                reason: "nothing to edit".into(),
            });
        }
    };
    let out = replace(text, vec![edit]);
    check_parses(&out, &loc.location)?;
    Ok(out)
}

/// Replaces non-overlapping byte ranges; every other byte is kept.
pub fn replace(text: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = text.to_string();
    for (r, with) in edits {
        out.replace_range(r, &with);
    }
    out
}

/// An edited file must still parse; `location` names the edit in the error.
pub fn check_parses(text: &str, location: &str) -> Result<()> {
    hcl::edit::parser::parse_body(text)
        .map(|_| ())
        .map_err(|_| Error::Edit {
            location: location.to_string(),
            reason: "the edited file would not parse; nothing was written".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceFile;

    const ARMOR: &str =
        "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n";

    fn sources(text: &str) -> Sources {
        let mut s = Sources::default();
        s.add(SourceFile::new(
            "main.hcl".into(),
            "main.hcl".into(),
            text.into(),
        ));
        s
    }

    fn addr(a: &str) -> Address {
        a.parse().unwrap()
    }

    const CONFIG: &str = "# top comment\naccount \"aws\" \"prod\" {\n  main_account_id = \"123456789012\" # trailing\n    account_name  =   \"Prod\"\n  access_key_id = \"AKIA\"\n  secret_access_key = \"plain-canary\" // migrate me\n  regions = [\"us-east-1\"]\n}\n\naccount \"aws\" \"dev\" {\n\tmain_account_id = \"123456789013\"\n\taccount_name = \"Dev\"  # keep\n}\n";

    #[test]
    fn replaces_only_the_value_bytes() {
        let s = sources(CONFIG);
        let loc = locate(&s, &addr("aws.prod"), "secret_access_key").unwrap();
        assert_eq!(loc.current, Current::Value);
        assert_eq!(loc.location, "main.hcl:6:23");
        let out = set(CONFIG, &loc, "secret_access_key", NewValue::Inline(ARMOR)).unwrap();
        let want = CONFIG.replace(
            "\"plain-canary\"",
            "<<-EOT\n    -----BEGIN AGE ENCRYPTED FILE-----\n    YWdl\n    -----END AGE ENCRYPTED FILE-----\n  EOT",
        );
        assert_eq!(out, want);
        // Replacing again (an existing heredoc) with file() keeps the rest too.
        let s2 = sources(&out);
        let loc = locate(&s2, &addr("aws.prod"), "secret_access_key").unwrap();
        let out2 = set(
            &out,
            &loc,
            "secret_access_key",
            NewValue::File("secrets/p.age"),
        )
        .unwrap();
        assert_eq!(
            out2,
            CONFIG.replace("\"plain-canary\"", "file(\"secrets/p.age\")")
        );
        let loc = locate(&sources(&out2), &addr("aws.prod"), "secret_access_key").unwrap();
        assert_eq!(loc.current, Current::File("secrets/p.age".into()));
    }

    #[test]
    fn inserts_after_the_last_attribute_with_its_indentation() {
        let s = sources(CONFIG);
        let loc = locate(&s, &addr("aws.dev"), "secret_access_key").unwrap();
        assert_eq!(loc.current, Current::Absent);
        assert_eq!(loc.location, "main.hcl:13:2");
        let out = set(CONFIG, &loc, "secret_access_key", NewValue::File("d.age")).unwrap();
        let want = CONFIG.replace(
            "\taccount_name = \"Dev\"  # keep\n",
            "\taccount_name = \"Dev\"  # keep\n\tsecret_access_key = file(\"d.age\")\n",
        );
        assert_eq!(out, want);
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let text = "account \"hcs\" \"dc1\" {\r\n  endpoint = \"h.example.com\"\r\n}\r\n";
        let loc = locate(&sources(text), &addr("hcs.dc1"), "password").unwrap();
        let out = set(text, &loc, "password", NewValue::Inline(ARMOR)).unwrap();
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
        assert!(out.starts_with(
            "account \"hcs\" \"dc1\" {\r\n  endpoint = \"h.example.com\"\r\n  password = <<-EOT\r\n"
        ));
    }

    #[test]
    fn missing_block_duplicates_and_one_line_blocks_are_errors() {
        let e = locate(&sources(CONFIG), &addr("aws.nope"), "secret_access_key").unwrap_err();
        assert!(
            e.to_string()
                .contains("no `account \"aws\" \"nope\"` block"),
            "{e}"
        );
        let dup = format!("{CONFIG}{CONFIG}");
        let e = locate(&sources(&dup), &addr("aws.prod"), "secret_access_key").unwrap_err();
        assert!(e.to_string().contains("more than once"), "{e}");
        let one = "account \"aws\" \"x\" { account_name = \"x\" }\n";
        let e = locate(&sources(one), &addr("aws.x"), "secret_access_key").unwrap_err();
        assert!(e.to_string().contains("one line"), "{e}");
    }

    #[test]
    fn file_paths_are_escaped() {
        assert_eq!(
            render(NewValue::File("a\"b\\c${x}.age"), "", "\n"),
            "file(\"a\\\"b\\\\c$${x}.age\")"
        );
    }
}
