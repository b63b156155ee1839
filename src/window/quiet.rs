//! Connections still arriving on the old address, from the kernel's TCP
//! tables (`/proc/net/tcp`, `/proc/net/tcp6` of the network namespace
//! zmreip runs in).
//!
//! A connection counts when its local end is an old address, on one of
//! the old address's service ports (a port something listens on at that
//! address or at the wildcard), and its remote end is not this host
//! itself (this host's own clients follow the names and the services
//! close restarts). A live connection (any state but `TIME_WAIT`) is
//! arriving now; a `TIME_WAIT` one ended when the kernel's 60-second
//! timer started, which the table shows as the time left, so a
//! connection shorter than the time between two looks is still seen.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::verify::listeners::{Socket, TcpState};

/// How long Linux keeps a socket in `TIME_WAIT` (TCP_TIMEWAIT_LEN).
const TIME_WAIT: Duration = Duration::from_secs(60);

/// How often the tables are read while waiting for quiet.
const SAMPLE: Duration = Duration::from_millis(200);

/// A connection to an old address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conn {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: &'static str,
    /// How long ago it ended (`TIME_WAIT`); `None`: open now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_secs_ago: Option<u64>,
}

impl std::fmt::Display for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ended_secs_ago {
            None => write!(f, "{} from {} ({})", self.local, self.remote, self.state),
            Some(s) => write!(f, "{} from {} (ended {s} s ago)", self.local, self.remote),
        }
    }
}

/// The connections to `olds` among `sockets`; `local` says whether an
/// address is this host's own.
pub fn on_old(
    sockets: &[Socket],
    olds: &[IpAddr],
    mut local: impl FnMut(IpAddr) -> bool,
) -> Vec<Conn> {
    let ports: BTreeSet<u16> = sockets
        .iter()
        .filter(|s| {
            s.state == TcpState::Listen
                && (s.local.ip().is_unspecified() || olds.contains(&s.local.ip()))
        })
        .map(|s| s.local.port())
        .collect();
    let mut out: Vec<Conn> = sockets
        .iter()
        .filter(|s| {
            s.state != TcpState::Listen
                && olds.contains(&s.local.ip())
                && ports.contains(&s.local.port())
                && !local(s.remote.ip())
        })
        .map(|s| Conn {
            local: s.local,
            remote: s.remote,
            state: s.state.as_str(),
            ended_secs_ago: s
                .time_wait_left
                .map(|left| TIME_WAIT.saturating_sub(left).as_secs()),
        })
        .collect();
    out.sort_by_key(|c| {
        (
            c.ended_secs_ago.is_some(),
            c.ended_secs_ago,
            c.local,
            c.remote,
        )
    });
    out
}

/// How long the old addresses have had no connection: zero while one is
/// open, else the time since the last one ended (as far as the kernel
/// remembers, [`TIME_WAIT`]); `None` when none is remembered.
pub fn quiet_for(conns: &[Conn]) -> Option<Duration> {
    if conns.iter().any(|c| c.ended_secs_ago.is_none()) {
        return Some(Duration::ZERO);
    }
    conns
        .iter()
        .filter_map(|c| c.ended_secs_ago)
        .min()
        .map(Duration::from_secs)
}

/// The connections to `olds` now.
pub fn now(olds: &[IpAddr]) -> Result<Vec<Conn>> {
    let sockets = crate::verify::listeners::sockets().map_err(|e| {
        Error::other(
            format!("cannot read the TCP tables (/proc/net/tcp): {e}"),
            "run zmreip on the host itself",
        )
    })?;
    let mut seen = std::collections::HashMap::new();
    let local = |ip: IpAddr| {
        *seen
            .entry(ip)
            .or_insert_with(|| crate::verify::is_local(ip))
    };
    Ok(on_old(&sockets, olds, local))
}

/// Waits until no connection has arrived on `olds` for `quiet`, looking
/// every 200 ms, for at most `limit`. Says what it sees through
/// `progress`. Fails with the connections still arriving when `limit`
/// passes first.
pub fn wait(
    olds: &[IpAddr],
    quiet: Duration,
    limit: Duration,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let start = Instant::now();
    // Quiet counts from the later of when watching began (a connection
    // before that may have left no trace) and the last connection seen:
    // one open at a look, or a TIME_WAIT one from when it ended.
    let mut last_seen = Instant::now();
    let mut said = String::new();
    loop {
        let conns = now(olds)?;
        let t = Instant::now();
        if let Some(q) = quiet_for(&conns) {
            last_seen = last_seen.max(t.checked_sub(q).unwrap_or(t));
        }
        let quiet_now = t.duration_since(last_seen);
        if quiet_now >= quiet {
            progress(&format!(
                "no connection to {} for {} s",
                shown(olds),
                quiet_now.as_secs()
            ));
            return Ok(());
        }
        let line = match conns.first() {
            Some(c) => format!(
                "waiting for quiet on {}: {} connection(s), latest {c}",
                shown(olds),
                conns.len()
            ),
            None => format!(
                "waiting for quiet on {}: none for {} s of {} s",
                shown(olds),
                quiet_now.as_secs(),
                quiet.as_secs()
            ),
        };
        if line != said {
            progress(&line);
            said = line;
        }
        if start.elapsed() >= limit {
            let list: Vec<String> = conns.iter().take(10).map(|c| format!("  {c}")).collect();
            return Err(Error::other(
                format!(
                    "connections kept arriving on {} for {} s; the old address is still in use:\n{}",
                    shown(olds),
                    limit.as_secs(),
                    list.join("\n")
                ),
                "find out who still uses it (their DNS cache, a hard-coded address), or close anyway with --force",
            ));
        }
        std::thread::sleep(SAMPLE);
    }
}

fn shown(olds: &[IpAddr]) -> String {
    olds.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::listeners::parse_sockets;

    // A server on 10.77.5.25 (old) and 10.78.5.131 (new): smtpd on all
    // addresses, slapd on the old one, an outgoing connection from the
    // old one, a local client of slapd, an SMTP session that ended 10 s
    // ago (TIME_WAIT, 50 s = 5000 ticks left), and one to the new one.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 19054D0A:0185 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 19054D0A:0019 0205630A:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
   3: 19054D0A:0019 0205630A:C351 06 00000000:00000000 03:00001388 00000000     0        0 0 0 0000000000000000
   4: 19054D0A:B000 0202020A:0019 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0
   5: 19054D0A:0185 19054D0A:D000 01 00000000:00000000 00:00000000 00000000     0        0 5 1 0000000000000000 100 0 0 10 0
   6: 83054E0A:0019 0205630A:C352 01 00000000:00000000 00:00000000 00000000     0        0 6 1 0000000000000000 100 0 0 10 0
   7: 1905D40A:0019 0205630A:C353 01 00000000:00000000 00:00000000 00000000     0        0 7 1 0000000000000000 100 0 0 10 0
";

    #[cfg(target_endian = "little")]
    #[test]
    fn connections_to_the_old_address_only() {
        let sockets = parse_sockets(TCP);
        let old: IpAddr = "10.77.5.25".parse().unwrap();
        let local = |ip: IpAddr| ip == old || ip == "10.78.5.131".parse::<IpAddr>().unwrap();
        let got: Vec<String> = on_old(&sockets, &[old], local)
            .iter()
            .map(ToString::to_string)
            .collect();
        // Not: the outgoing connection (port 45056 listens nowhere), the
        // host's own LDAP client, the session to the new address, and
        // the one to 10.212.5.25 (trap: another address of a look-alike).
        assert_eq!(
            got,
            [
                "10.77.5.25:25 from 10.99.5.2:50000 (established)",
                "10.77.5.25:25 from 10.99.5.2:50001 (ended 10 s ago)",
            ]
        );
        let conns = on_old(&sockets, &[old], local);
        assert_eq!(quiet_for(&conns), Some(Duration::ZERO));
        assert_eq!(quiet_for(&conns[1..]), Some(Duration::from_secs(10)));
        assert_eq!(quiet_for(&[]), None);
    }
}
