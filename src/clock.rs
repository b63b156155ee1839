//! Time as zmreip writes it: UTC, in RFC 3339 (`2026-11-28T12:34:56Z`),
//! calendar arithmetic by the `time` crate. Journals, state files, logs
//! and reports all go through here, so every timestamp reads the same.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::macros::format_description;

/// Seconds since the epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The UTC time of a Unix time (clamped to what the calendar holds).
fn utc(secs: u64) -> OffsetDateTime {
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-11-28T12:34:56Z`.
pub fn rfc3339(secs: u64) -> String {
    utc(secs)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .expect("a UTC time formats")
}

/// Now, to the millisecond: `2026-11-28T12:34:56.789Z` (the journal's
/// step lines, where two steps often fall in one second).
pub fn stamp() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .expect("a UTC time formats")
}

/// `20261128T123456Z`: the same time, for names that sort by time.
pub fn compact(secs: u64) -> String {
    utc(secs)
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .expect("a UTC time formats")
}

/// The UTC calendar date `days` after 1970-01-01, as (year, month, day).
pub fn date_of_day(days: i64) -> (i32, u8, u8) {
    let d = days
        .checked_mul(86_400)
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    (d.year(), u8::from(d.month()), d.day())
}

/// Whether `word` is a timestamp as [`stamp`] or [`rfc3339`] write it
/// (how a journal line that carries one is told from an older one that
/// does not).
pub fn is_stamp(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[10] == b'T'
        && b.last() == Some(&b'Z')
        && b[..4].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        for (secs, want, compact_want) in [
            (0, "1970-01-01T00:00:00Z", "19700101T000000Z"),
            (951_782_400, "2000-02-29T00:00:00Z", "20000229T000000Z"),
            (1_709_164_799, "2024-02-28T23:59:59Z", "20240228T235959Z"),
            (1_709_251_200, "2024-03-01T00:00:00Z", "20240301T000000Z"),
            (1_795_866_245, "2026-11-28T11:44:05Z", "20261128T114405Z"),
            (1_798_761_599, "2026-12-31T23:59:59Z", "20261231T235959Z"),
        ] {
            assert_eq!(rfc3339(secs), want);
            assert_eq!(compact(secs), compact_want);
        }
        for (days, want) in [
            (0, (1970, 1, 1)),
            (59, (1970, 3, 1)),
            (11_016, (2000, 2, 29)),
            (20_785, (2026, 11, 28)),
            (20_819, (2027, 1, 1)),
        ] {
            assert_eq!(date_of_day(days), want, "{days}");
        }
    }

    #[test]
    fn stamps_are_recognized() {
        let s = stamp();
        assert!(is_stamp(&s), "{s}");
        assert_eq!(s.len(), "2026-11-28T12:34:56.789Z".len(), "{s}");
        assert!(is_stamp(&rfc3339(now())));
        for not in ["begin", "done", "2026-11-28", "12:34:56Z", "rerun-done"] {
            assert!(!is_stamp(not), "{not}");
        }
    }
}
