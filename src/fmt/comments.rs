//! Comments in decor text, and an independent comment scanner for the
//! formatter's safety check.

/// A piece of decor: a comment, or a blank line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Comment(String),
    Blank,
}

/// Splits decor (whitespace and comments) into comments and blank lines.
///
/// With `line_start`, the text starts at the beginning of a line, so its
/// first newline already makes a blank line; otherwise the first newline
/// only ends the current line.
pub fn pieces(raw: &str, line_start: bool) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut at_line_start = line_start;
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('\n') {
            if at_line_start {
                out.push(Piece::Blank);
            }
            at_line_start = true;
            rest = r;
        } else if rest.starts_with('#') || rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            out.push(Piece::Comment(rest[..end].trim_end().to_string()));
            rest = &rest[end..];
            if let Some(r) = rest.strip_prefix('\n') {
                rest = r;
            }
            at_line_start = true;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map(|i| i + 2).unwrap_or(rest.len());
            out.push(Piece::Comment(rest[..end].to_string()));
            rest = &rest[end..];
            at_line_start = false;
        } else {
            let c = rest.chars().next().map(char::len_utf8).unwrap_or(1);
            rest = &rest[c..];
        }
    }
    out
}

/// Every comment of an HCL text, in order (trailing spaces trimmed), found
/// by a scanner that skips string literals, templates and heredocs. Used to
/// prove the formatter kept every comment.
pub fn all(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = skip_string(b, i + 1),
            b'<' if b.get(i + 1) == Some(&b'<') => i = skip_heredoc(text, i),
            b'#' => i = line_comment(text, i, &mut out),
            b'/' if b.get(i + 1) == Some(&b'/') => i = line_comment(text, i, &mut out),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map(|j| i + 2 + j + 2)
                    .unwrap_or(b.len());
                out.push(text[i..end].to_string());
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

fn line_comment(text: &str, i: usize, out: &mut Vec<String>) -> usize {
    let end = text[i..].find('\n').map(|j| i + j).unwrap_or(text.len());
    out.push(text[i..end].trim_end().to_string());
    end
}

/// Skips a quoted string (with escapes and `${ … }` templates that may nest strings).
fn skip_string(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => return i,
            b'$' | b'%' if b.get(i + 1) == Some(&b'{') => {
                i += 2;
                let mut depth = 1;
                while i < b.len() && depth > 0 {
                    match b[i] {
                        b'{' => depth += 1,
                        b'}' => depth -= 1,
                        b'"' => {
                            i = skip_string(b, i + 1);
                            continue;
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    i
}

/// Skips `<<ID` / `<<-ID` up to the line holding only the delimiter.
fn skip_heredoc(text: &str, i: usize) -> usize {
    let after = &text[i + 2..];
    let after = after.strip_prefix('-').unwrap_or(after);
    let id_len = after
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        .count();
    if id_len == 0 {
        return i + 2;
    }
    let id = &after[..id_len];
    let Some(nl) = text[i..].find('\n') else {
        return text.len();
    };
    let mut pos = i + nl + 1;
    while pos < text.len() {
        let end = text[pos..]
            .find('\n')
            .map(|j| pos + j)
            .unwrap_or(text.len());
        if text[pos..end].trim() == id {
            return end;
        }
        pos = end + 1;
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_skips_strings_and_heredocs() {
        let t = "a = \"# not\" # yes\nb = <<EOT\n# no\nEOT\n// also\n/* block */ c = 1\n";
        assert_eq!(all(t), vec!["# yes", "// also", "/* block */"]);
    }

    #[test]
    fn pieces_keep_blank_lines() {
        let p = pieces("\n# a\n\n# b\n  ", true);
        assert_eq!(
            p,
            vec![
                Piece::Blank,
                Piece::Comment("# a".into()),
                Piece::Blank,
                Piece::Comment("# b".into())
            ]
        );
    }
}
