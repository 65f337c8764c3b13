//! Time for the simulator: the wall clock, and the date formats the vendors
//! put on the wire (AWS basic ISO 8601, Alibaba/Azure extended ISO 8601).
//!
//! Everything is UTC seconds since the Unix epoch; no time zone ever appears.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::Offset;

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    Timestamp::now().as_second().max(0)
}

/// The UTC year, month, day, hour, minute and second of `t` (clamped to the
/// years jiff represents, ±9999).
fn parts(t: i64) -> (i16, i8, i8, i8, i8, i8) {
    let t = t.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    let dt = Offset::UTC.to_datetime(Timestamp::from_second(t).unwrap_or(Timestamp::UNIX_EPOCH));
    (
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
    )
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Seconds since the epoch of UTC date and time fields. As lenient as the
/// field checks: a day past the month's end runs on into the next month, and
/// second 60 into the next minute.
fn from_fields(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let first = Date::new(i16::try_from(y).ok()?, mo as i8, 1).ok()?;
    let month = Offset::UTC
        .to_timestamp(first.to_datetime(Time::midnight()))
        .ok()?;
    Some(month.as_second() + (d - 1) * 86_400 + h * 3600 + mi * 60 + s)
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
        // Lenient like the field checks: 30 February is 2 March.
        assert_eq!(
            parse_basic("20150230T000000Z"),
            parse_basic("20150302T000000Z")
        );
        assert_eq!(fmt_extended(951_782_400), "2000-02-29T00:00:00Z");
    }
}
