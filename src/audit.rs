//! The audit trail in the system log: every apply, rollback and resume of
//! a run writes one line naming the run, who ran it, the counts and the
//! result, through the syslog socket (`/dev/log`, which journald serves
//! on systemd hosts). A host without one loses nothing else: the line is
//! dropped, the command goes on.
//!
//! ```text
//! zmreip[4711]: apply run=20261128T123456Z-1a2b user=root login=alice from=172.20.14.25/24 to=10.40.7.131/24 changes=20 steps=9/9 result=applied
//! ```
//!
//! The words are fixed keys with values that never hold a space (run
//! ids, user names, addresses, counts, states), so the line is easy to
//! match; nothing secret is ever among them.

use std::path::PathBuf;

/// The environment variable naming another syslog socket than
/// `/dev/log` (a container whose log socket is mounted elsewhere; the
/// tests' own socket).
pub const SOCKET_ENV: &str = "ZMREIP_SYSLOG_SOCKET";

/// One line of the trail.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// `apply`, `rollback`, `resume`, or `cluster-apply`,
    /// `cluster-rollback` for multi-server runs.
    pub command: &'static str,
    pub run: &'a str,
    pub from: &'a [String],
    pub to: &'a [String],
    /// Changes of the run's plan.
    pub changes: usize,
    /// Steps done, of how many.
    pub steps: (usize, usize),
    /// The run's state afterwards (`applied`, `rolled-back`, `failed`,
    /// ...).
    pub result: &'a str,
    /// Whether the command failed (the line is then an error, not a
    /// notice).
    pub failed: bool,
}

impl Entry<'_> {
    /// The line, without the syslog header.
    pub fn line(&self) -> String {
        let (user, login) = who();
        let mut s = format!("{} run={} user={user}", self.command, self.run);
        if let Some(l) = login.filter(|l| *l != user) {
            s.push_str(&format!(" login={l}"));
        }
        s.push_str(&format!(
            " from={} to={} changes={} steps={}/{} result={}",
            list(self.from),
            list(self.to),
            self.changes,
            self.steps.0,
            self.steps.1,
            self.result
        ));
        s
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

/// Writes the line to the system log; a missing or refusing socket is
/// not an error (the journal of the run records everything anyway).
pub fn record(e: &Entry) {
    send(e, std::env::var_os(SOCKET_ENV).map(PathBuf::from));
}

/// Writes the line to `socket`, or to the system's log socket.
fn send(e: &Entry, socket: Option<PathBuf>) {
    let formatter = syslog::Formatter3164 {
        facility: syslog::Facility::LOG_USER,
        hostname: None,
        process: "zmreip".into(),
        pid: std::process::id(),
    };
    let logger = match socket {
        Some(p) => syslog::unix_custom(formatter, p),
        None => syslog::unix(formatter),
    };
    let Ok(mut logger) = logger else {
        return;
    };
    let line = e.line();
    let _ = if e.failed {
        logger.err(line)
    } else {
        logger.notice(line)
    };
}

/// Who runs zmreip: the effective user's name, and the login user's
/// (the kernel's login uid, which `sudo` and `su` keep; else `SUDO_USER`)
/// when it is known.
fn who() -> (String, Option<String>) {
    use nix::unistd::{Uid, User};
    let name = |uid: Uid| {
        User::from_uid(uid)
            .ok()
            .flatten()
            .map_or_else(|| uid.to_string(), |u| u.name)
    };
    let user = name(Uid::effective());
    let login = std::fs::read_to_string("/proc/self/loginuid")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        // (uid_t)-1: no login session (a daemon, a container).
        .filter(|&uid| uid != u32::MAX)
        .map(|uid| name(Uid::from_raw(uid)))
        .or_else(|| std::env::var("SUDO_USER").ok().filter(|s| !s.is_empty()));
    (user, login)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_run_user_counts_and_result_in_words_without_spaces() {
        let from = vec!["172.20.14.25/24".to_string(), "2001:db8:14::25/64".into()];
        let to = vec!["10.40.7.131/24".to_string(), "2001:db8:7::131/64".into()];
        let e = Entry {
            command: "apply",
            run: "20261128T123456Z-1a2b",
            from: &from,
            to: &to,
            changes: 20,
            steps: (7, 9),
            result: "rolled-back",
            failed: true,
        };
        let line = e.line();
        assert!(
            line.starts_with("apply run=20261128T123456Z-1a2b user="),
            "{line}"
        );
        assert!(
            line.ends_with(
                " from=172.20.14.25/24,2001:db8:14::25/64 to=10.40.7.131/24,2001:db8:7::131/64 changes=20 steps=7/9 result=rolled-back"
            ),
            "{line}"
        );
        // key=value words only: a line that a grep or a SIEM splits on
        // spaces.
        for w in line.split(' ').skip(1) {
            assert!(w.contains('='), "{w} in {line}");
        }
        let nothing = Entry {
            from: &[],
            to: &[],
            ..e
        };
        assert!(nothing.line().contains(" from=- to=- "));
    }

    #[test]
    fn a_missing_socket_is_no_error() {
        let d = tempfile::tempdir().unwrap();
        let e = Entry {
            command: "resume",
            run: "x",
            from: &[],
            to: &[],
            changes: 0,
            steps: (0, 0),
            result: "applied",
            failed: false,
        };
        send(&e, Some(d.path().join("none")));
        // And one that is a socket: the line arrives, one datagram, with
        // the syslog header.
        let path = d.path().join("log");
        let sock = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        send(&e, Some(path));
        let mut buf = [0u8; 2048];
        let n = sock.recv(&mut buf).unwrap();
        let got = String::from_utf8_lossy(&buf[..n]);
        // <13>: facility user (1) * 8 + severity notice (5).
        assert!(got.starts_with("<13>"), "{got}");
        assert!(
            got.contains(&format!(
                "zmreip[{}]: resume run=x user=",
                std::process::id()
            )),
            "{got}"
        );
    }
}
