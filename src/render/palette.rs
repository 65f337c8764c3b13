//! The one palette: the ANSI styles every rendering and the printer use,
//! applied only when colour is on (a terminal, no `NO_COLOR`/`--no-color`).

/// Errors (`error:`), bold red.
pub const ERROR: &str = "\x1b[1;31m";
/// Warnings (`warning:`), bold yellow.
pub const WARNING: &str = "\x1b[1;33m";
/// Something added or created: `+`.
pub const ADDED: &str = "\x1b[32m";
/// Something changed in place: `~`, `?`.
pub const CHANGED: &str = "\x1b[33m";
/// Something removed, replaced or refused: `-`, `-/+`, `!`.
pub const REMOVED: &str = "\x1b[31m";
/// Notes and help, cyan.
pub const NOTE: &str = "\x1b[36m";
pub const BOLD: &str = "\x1b[1m";
pub const DIM: &str = "\x1b[2m";
pub const RESET: &str = "\x1b[0m";

/// `text` in `style` when `on`, else as it is.
pub fn paint(on: bool, style: &str, text: &str) -> String {
    if on && !style.is_empty() {
        format!("{style}{text}{RESET}")
    } else {
        text.to_string()
    }
}
