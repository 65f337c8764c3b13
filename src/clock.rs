//! The one timestamp format tether writes (state, locks, the audit log,
//! snapshot manifests, verified identities, Alibaba request dates):
//! RFC 3339 in UTC to the second, `YYYY-MM-DDTHH:MM:SSZ`. A leaf: it uses
//! nothing of the crate.

use jiff::Timestamp;

/// Now as `YYYY-MM-DDTHH:MM:SSZ` (UTC), to the second (truncated).
pub fn rfc3339_now() -> String {
    rfc3339(Timestamp::now().as_second())
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ`; a time before 1970 is
/// written as 1970-01-01T00:00:00Z, one past year 9999 as the last second
/// jiff represents.
pub fn rfc3339(secs: i64) -> String {
    let t = secs.clamp(0, Timestamp::MAX.as_second());
    Timestamp::from_second(t)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Seconds since 1970 of an RFC 3339 time (any offset, any fraction of a
/// second), as vendors write them; `None` when it does not parse.
pub fn parse(s: &str) -> Option<i64> {
    s.trim().parse::<Timestamp>().ok().map(|t| t.as_second())
}

/// Seconds since 1970, now.
pub fn now() -> i64 {
    Timestamp::now().as_second()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_698_315_752), "2023-10-26T10:22:32Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn vendor_times_parse() {
        assert_eq!(parse("2023-10-26T10:22:32Z"), Some(1_698_315_752));
        assert_eq!(parse("2023-10-26T10:22:32.000000Z"), Some(1_698_315_752));
        assert_eq!(parse("2023-10-26T12:22:32+02:00"), Some(1_698_315_752));
        assert_eq!(parse(""), None);
        assert_eq!(parse("N/A"), None);
    }

    #[test]
    fn now_is_to_the_second() {
        let s = rfc3339_now();
        assert_eq!(s.len(), "1970-01-01T00:00:00Z".len(), "{s}");
        assert!(s.ends_with('Z') && !s.contains('.'), "{s}");
    }
}
