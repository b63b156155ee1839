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
        Date::from_days(i64::try_from(crate::clock::now() / 86_400).unwrap_or(0))
    }

    /// The civil date `days` after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let (year, month, day) = crate::clock::date_of_day(days);
        Date {
            year: u32::try_from(year).unwrap_or(0),
            month: u32::from(month),
            day: u32::from(day),
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
