//! The daemon's log: one line per event on stderr, with a level.
//!
//! Under systemd (stderr is the journal, `JOURNAL_STREAM` says so) each
//! line starts with the sd-daemon priority prefix (`<3>` error, `<4>`
//! warning, `<6>` info, `<7>` debug), which journald turns into the
//! entry's priority; elsewhere it starts with the UTC time and the level
//! in words. Callers never pass secrets: messages are built from
//! addresses, names and errors, which never hold them.

use std::io::Write;
use std::sync::OnceLock;

/// How important a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    /// syslog(3) priority.
    fn priority(self) -> u8 {
        match self {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
            Level::Debug => 7,
        }
    }
}

struct Sink {
    journal: bool,
    /// The least important level shown.
    least: Level,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sets the log up once: `Verbose` shows debug lines, `Quiet` only
/// warnings and errors.
pub fn init(verbosity: crate::Verbosity) {
    let least = match verbosity {
        crate::Verbosity::Quiet => Level::Warn,
        crate::Verbosity::Normal => Level::Info,
        crate::Verbosity::Verbose => Level::Debug,
    };
    let _ = SINK.set(Sink {
        journal: stderr_is_journal(),
        least,
    });
}

/// Writes one line (multi-line text is joined so each event stays one
/// line).
pub fn log(level: Level, message: &str) {
    let sink = SINK.get_or_init(|| Sink {
        journal: false,
        least: Level::Info,
    });
    if level > sink.least {
        return;
    }
    let flat = message.replace('\n', " | ");
    let line = if sink.journal {
        format!("<{}>{flat}\n", level.priority())
    } else {
        let now = crate::clock::rfc3339(crate::clock::now());
        format!("{now} {}: {flat}\n", level.word())
    };
    // One write per line: lines of concurrent jobs never interleave.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

pub fn error(message: &str) {
    log(Level::Error, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, message);
}

pub fn info(message: &str) {
    log(Level::Info, message);
}

pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// An error with its advice, as one line.
pub fn error_with_help(context: &str, e: &crate::Error) {
    match e.help() {
        Some(h) if !h.is_empty() => error(&format!("{context}: {e} (help: {h})")),
        _ => error(&format!("{context}: {e}")),
    }
}

/// Whether stderr is the journal: systemd sets `JOURNAL_STREAM` to the
/// `device:inode` of the stream it connected.
fn stderr_is_journal() -> bool {
    let Some(want) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    // SAFETY: `stat` is plain old data; all zeroes is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into `st`, which lives across the call; fd 2
    // is only inspected.
    if unsafe { libc::fstat(2, &mut st) } != 0 {
        return false;
    }
    want.to_string_lossy() == format!("{}:{}", st.st_dev, st.st_ino)
}
