//! Time for the simulator: the wall clock, and the date formats the vendors
//! put on the wire (AWS basic ISO 8601, Alibaba/Azure extended ISO 8601).
//!
//! Everything is UTC seconds since the Unix epoch; no time zone ever appears.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parts(t: i64) -> (i64, u32, u32, i64, i64, i64) {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    (y, m, d, s / 3600, s / 60 % 60, s % 60)
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn from_fields(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + s)
}

/// `20150830T123600Z` (AWS `X-Amz-Date`, Huawei `X-Sdk-Date`).
pub fn parse_basic(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    from_fields(
        digits(&s[0..4])?,
        digits(&s[4..6])?,
        digits(&s[6..8])?,
        digits(&s[9..11])?,
        digits(&s[11..13])?,
        digits(&s[13..15])?,
    )
}

/// `2016-02-23T12:46:24Z`, with optional fractional seconds (Alibaba `Timestamp`, `x-acs-date`).
pub fn parse_extended(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (main, _frac) = s.split_once('.').unwrap_or((s, ""));
    let b = main.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    from_fields(
        digits(&main[0..4])?,
        digits(&main[5..7])?,
        digits(&main[8..10])?,
        digits(&main[11..13])?,
        digits(&main[14..16])?,
        digits(&main[17..19])?,
    )
}

/// `20150830T123600Z`.
pub fn fmt_basic(t: i64) -> String {
    let (y, m, d, h, mi, s) = parts(t);
    format!("{y:04}{m:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// `2016-02-23T12:46:24Z`.
pub fn fmt_extended(t: i64) -> String {
    let (y, m, d, h, mi, s) = parts(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2024-01-01T00:00:00.000Z` (EC2 `launchTime`).
pub fn fmt_millis(t: i64) -> String {
    let (y, m, d, h, mi, s) = parts(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z")
}

/// `2020-01-04T09:05:22.000000Z` (Huawei IAM token times).
pub fn fmt_micros(t: i64) -> String {
    let (y, m, d, h, mi, s) = parts(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000000Z")
}

/// `2024-01-01T00:00Z` (Alibaba ECS `CreationTime`).
pub fn fmt_minutes(t: i64) -> String {
    let (y, m, d, h, mi, _) = parts(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}Z")
}

/// `2023-05-06 06:03:00Z` (Entra error `timestamp`).
pub fn fmt_spaced(t: i64) -> String {
    let (y, m, d, h, mi, s) = parts(t);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = parse_basic("20150830T123600Z").unwrap();
        assert_eq!(fmt_basic(t), "20150830T123600Z");
        assert_eq!(fmt_extended(t), "2015-08-30T12:36:00Z");
        assert_eq!(parse_extended("2015-08-30T12:36:00Z"), Some(t));
        assert_eq!(parse_extended("2015-08-30T12:36:00.123Z"), Some(t));
        assert_eq!(parse_basic("2015-08-30"), None);
        assert_eq!(parse_extended("2015-13-30T12:36:00Z"), None);
        assert_eq!(t, 1_440_938_160);
    }
}
