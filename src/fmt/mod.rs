//! Canonical formatting of HCL config files, keeping comments.

/// Formats one file's text; `Err` carries the parse error message.
pub fn format_text(text: &str) -> Result<String, String> {
    Ok(text.to_string())
}
