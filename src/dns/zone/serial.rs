//! SOA serials (RFC 1982 arithmetic), keeping the date form YYYYMMDDnn
//! where a zone uses it.

/// A calendar date (UTC), for date-style SOA serials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Today in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }

    /// The civil date `days` after 1970-01-01 (H. Hinnant's algorithm).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: u32::try_from(year).unwrap_or(0),
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
        }
    }

    fn serial_base(self) -> u64 {
        (u64::from(self.year) * 10_000 + u64::from(self.month) * 100 + u64::from(self.day)) * 100
    }
}

/// The next SOA serial: date style (YYYYMMDDnn) stays date style.
pub fn next_serial(old: u32, today: Date) -> u32 {
    if is_date_serial(old) {
        let base = today.serial_base();
        if u64::from(old) < base
            && let Ok(b) = u32::try_from(base)
        {
            return b;
        }
    }
    // RFC 1982 serial arithmetic: adding one always moves forward.
    old.wrapping_add(1)
}

/// Whether a serial reads as YYYYMMDDnn with a plausible date.
fn is_date_serial(s: u32) -> bool {
    let date = s / 100;
    let (y, m, d) = (date / 10_000, date / 100 % 100, date % 100);
    (1990..=2099).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
}
