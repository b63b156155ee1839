//! Holding new connections while a service restarts.
//!
//! A service that cannot take a new listen address without a restart
//! (slapd reads its listeners from its command line) is down for a moment
//! while it restarts, and a client that connects then is refused: for
//! postfix, an LDAP lookup that fails turns into `451 4.3.0 Temporary
//! lookup failure` for the SMTP client. A window makes that moment wait
//! instead: while the command runs, the kernel drops the first packet
//! (SYN) of new TCP connections to the service's ports, so clients send
//! it again a second later (RFC 6298's initial retransmission timeout)
//! and connect to the restarted service. Established connections are not
//! touched.
//!
//! The hold is an nftables table of its own (`inet zmreip_hold`), whose
//! ports expire by themselves after [`HOLD_MAX`] even if zmreip is killed
//! before it removes the table. Without `nft` the command runs unheld and
//! the services log says so.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest a hold lasts, whatever happens to zmreip.
pub const HOLD_MAX: Duration = Duration::from_secs(60);

/// The nftables table of the hold.
const TABLE: &str = "inet zmreip_hold";

/// A hold in place; removed when dropped.
#[must_use]
pub struct Held {
    log: std::path::PathBuf,
    active: bool,
}

/// The nftables script that holds new connections to `ports`: the table
/// made afresh (declared, deleted and declared again in one atomic
/// transaction, so a table a killed zmreip left behind goes too).
pub fn script(ports: &[u16]) -> String {
    let ports: Vec<String> = ports
        .iter()
        .map(|p| format!("{p} timeout {}s", HOLD_MAX.as_secs()))
        .collect();
    format!(
        "table {TABLE}\n\
         delete table {TABLE}\n\
         table {TABLE} {{\n\
         \tset ports {{ type inet_service; flags timeout; elements = {{ {} }} }}\n\
         \tchain input {{ type filter hook input priority -150; policy accept; \
         tcp dport @ports tcp flags & (syn | ack) == syn drop; }}\n\
         }}\n",
        ports.join(", ")
    )
}

/// Holds new connections to `ports` (nothing for none), saying what it
/// did in `log`.
pub fn begin(ports: &[u16], log: &Path) -> Held {
    let mut held = Held {
        log: log.to_path_buf(),
        active: false,
    };
    if ports.is_empty() {
        return held;
    }
    let shown: Vec<String> = ports.iter().map(u16::to_string).collect();
    match nft(&["-f", "-"], Some(&script(ports))) {
        Ok(()) => {
            held.active = true;
            note(
                log,
                &format!(
                    "# new connections to port {} held (nftables table {TABLE})",
                    shown.join(", ")
                ),
            );
        }
        Err(e) => note(
            log,
            &format!(
                "# new connections to port {} not held ({e}); they are refused while the command runs",
                shown.join(", ")
            ),
        ),
    }
    held
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        match nft(&["delete", "table", "inet", "zmreip_hold"], None) {
            Ok(()) => note(&self.log, "# hold released"),
            Err(e) => note(
                &self.log,
                &format!(
                    "# hold not released ({e}); it expires within {} s",
                    HOLD_MAX.as_secs()
                ),
            ),
        }
    }
}

/// Runs `nft` with `args` (and `input` on stdin), bounded in time.
fn nft(args: &[&str], input: Option<&str>) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft: {e}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot talk to nft: {e}"))?;
    }
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(format!("nft failed ({status}): {}", err.trim()));
            }
            Ok(None) if start.elapsed() > Duration::from_secs(10) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("nft did not answer within 10 s".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for nft: {e}")),
        }
    }
}

fn note(log: &Path, line: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    if let Ok(mut f) = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(log)
    {
        let _ = writeln!(f, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_holds_syns_to_the_ports_only_and_expires() {
        let s = script(&[389, 636]);
        assert!(s.starts_with("table inet zmreip_hold\ndelete table inet zmreip_hold\n"));
        assert!(s.contains("elements = { 389 timeout 60s, 636 timeout 60s }"));
        // Only a connection's first packet: established traffic passes.
        assert!(s.contains("tcp flags & (syn | ack) == syn drop"));
        assert!(s.contains("policy accept"));
    }

    #[test]
    fn no_ports_no_hold() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("services.log");
        let held = begin(&[], &log);
        assert!(!held.active);
        drop(held);
        assert!(!log.exists());
    }
}
