//! The public address behind NAT: configured methods (`url`, `dns`,
//! `command`), tried in order until one answers, polled every `interval`
//! with jitter. Each method runs off the event path with its own timeout,
//! so a slow or failing one delays nothing but its own poll.

use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::mpsc;

use super::config::{Method, MethodKind};
use super::{Detected, Family, Seen, log};
use crate::dns::{Answer, RecordType, Resolver};
use crate::services::Cmd;

/// Largest command output read.
const OUTPUT_LIMIT: usize = 16 * 1024;

/// The first address of `family` in `text`: what a "what is my IP"
/// service, a TXT record or a script prints ("203.0.113.7",
/// "Current IP Address: 203.0.113.7", "ip=2001:db8::7", "203.0.113.7:443").
/// Addresses that can never be a host's public one (unspecified,
/// loopback, link-local, multicast) are skipped.
pub fn address_in(text: &str, family: Family) -> Option<IpAddr> {
    let is_part = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':';
    text.split(|c: char| !is_part(c))
        .filter(|t| !t.is_empty())
        .filter_map(|t| {
            let t = t.trim_matches(|c| c == '.' || c == ':');
            t.parse::<IpAddr>()
                .ok()
                // An IPv4 address with a port.
                .or_else(|| {
                    t.split_once(':')
                        .and_then(|(a, _)| a.parse::<std::net::Ipv4Addr>().ok())
                        .map(IpAddr::V4)
                })
        })
        .find(|ip| Family::of(*ip) == family && publishable(*ip))
}

fn publishable(ip: IpAddr) -> bool {
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    };
    !(ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || link_local)
}

/// Asks one method.
async fn ask(family: Family, m: &Method) -> Result<IpAddr, String> {
    let found = match &m.kind {
        MethodKind::Url(url) => {
            let (url, timeout) = (url.clone(), m.timeout);
            let resp =
                tokio::task::spawn_blocking(move || super::http::get(&url, &[], None, timeout))
                    .await
                    .map_err(|e| format!("the request did not finish: {e}"))??;
            if resp.status != 200 {
                return Err(format!("answered HTTP {}", resp.status));
            }
            resp.body
        }
        MethodKind::Dns {
            name,
            rtype,
            server,
        } => {
            let (name, rtype, server, timeout) = (name.clone(), *rtype, *server, m.timeout);
            let answer = tokio::task::spawn_blocking(move || {
                Resolver::new(server, timeout).map(|r| r.lookup(&name, rtype))
            })
            .await
            .map_err(|e| format!("the query did not finish: {e}"))?
            .map_err(|e| e.to_string())?;
            match answer {
                Answer::Records(rrs) => rrs
                    .iter()
                    .filter(|r| rtype == RecordType::TXT || r.data.addr().is_some())
                    .map(|r| r.data.txt_joined().unwrap_or_else(|| r.data.to_string()))
                    .collect::<Vec<_>>()
                    .join(" "),
                Answer::NoData => return Err("no such record".into()),
                Answer::NxDomain => return Err("the name does not exist".into()),
                Answer::Failed(why) | Answer::Unreachable(why) => return Err(why),
            }
        }
        MethodKind::Command(cmd) => run_command(cmd, m.timeout).await?,
    };
    address_in(&found, family).ok_or_else(|| {
        let shown: String = found.trim().chars().take(60).collect();
        format!("answered no {family} address (`{shown}`)")
    })
}

/// Runs a command and returns what it printed; killed at the timeout.
async fn run_command(cmd: &Cmd, timeout: Duration) -> Result<String, String> {
    let mut c = match cmd {
        Cmd::Shell(s) => {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(s);
            c
        }
        Cmd::Argv(v) => {
            let mut c = tokio::process::Command::new(&v[0]);
            c.args(&v[1..]);
            c
        }
    };
    c.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = c.spawn().map_err(|e| format!("cannot start: {e}"))?;
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| {
            format!(
                "did not finish within {} s and was stopped",
                timeout.as_secs()
            )
        })?
        .map_err(|e| format!("cannot wait for it: {e}"))?;
    if !out.status.success() {
        let err: String = String::from_utf8_lossy(&out.stderr)
            .trim()
            .chars()
            .take(200)
            .collect();
        return Err(format!(
            "failed ({}){}",
            out.status,
            if err.is_empty() {
                String::new()
            } else {
                format!(": {err}")
            }
        ));
    }
    let n = out.stdout.len().min(OUTPUT_LIMIT);
    Ok(String::from_utf8_lossy(&out.stdout[..n]).into_owned())
}

/// Tries the methods in order; the first address wins.
pub async fn detect(family: Family, methods: &[Method]) -> Detected {
    for m in methods {
        let bound = m.timeout + Duration::from_secs(1);
        let r = match tokio::time::timeout(bound, ask(family, m)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", m.timeout.as_secs())),
        };
        match r {
            Ok(addr) => {
                return Detected {
                    family,
                    seen: Some(Seen {
                        addr,
                        prefix: None,
                        via: m.kind.to_string(),
                        local: false,
                    }),
                    note: None,
                };
            }
            Err(why) => log::warn(&format!("{family}: {}: {why}", m.kind)),
        }
    }
    Detected {
        family,
        seen: None,
        note: Some("no method answered an address".into()),
    }
}

/// A pseudo-random fraction in [0, 1): enough to spread polls.
pub fn jitter_fraction() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let x = RandomState::new().hash_one(std::time::SystemTime::now());
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Polls forever: at start, then every `interval` plus up to a tenth of
/// it at random (many hosts behind one service do not ask in step). A
/// method that fails only loses this poll: the last address stands.
pub async fn follow(
    family: Family,
    methods: Vec<Method>,
    interval: Duration,
    tx: mpsc::UnboundedSender<Detected>,
) {
    let mut last: Option<Option<IpAddr>> = None;
    loop {
        let d = detect(family, &methods).await;
        let addr = d.seen.as_ref().map(|s| s.addr);
        // Report every answer that differs, and the first poll always; a
        // failed poll after a success keeps the address published.
        if last.is_none() || (addr.is_some() && last != Some(addr)) {
            last = Some(addr);
            if tx.send(d).is_err() {
                return;
            }
        }
        let wait = interval.mul_f64(1.0 + jitter_fraction() / 10.0);
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_text() {
        let table: &[(&str, Family, Option<&str>)] = &[
            ("203.0.113.7\n", Family::V4, Some("203.0.113.7")),
            ("  203.0.113.7  ", Family::V4, Some("203.0.113.7")),
            (
                "<html><body>Current IP Address: 203.0.113.7</body></html>",
                Family::V4,
                Some("203.0.113.7"),
            ),
            ("ip=198.51.100.20&ts=1", Family::V4, Some("198.51.100.20")),
            ("198.51.100.20:443", Family::V4, Some("198.51.100.20")),
            ("\"198.51.100.20\"", Family::V4, Some("198.51.100.20")),
            // A sentence ending in a full stop.
            (
                "Your address is 198.51.100.20.",
                Family::V4,
                Some("198.51.100.20"),
            ),
            // Loopback and unspecified answers (a broken proxy) are skipped.
            (
                "127.0.0.1 then 198.51.100.21",
                Family::V4,
                Some("198.51.100.21"),
            ),
            ("0.0.0.0", Family::V4, None),
            ("169.254.1.1", Family::V4, None),
            ("2001:db8::7", Family::V6, Some("2001:db8::7")),
            ("2001:db8::7", Family::V4, None),
            ("198.51.100.20", Family::V6, None),
            ("ip: 2001:DB8:0:0::7", Family::V6, Some("2001:db8::7")),
            ("fe80::1 2001:db8::8", Family::V6, Some("2001:db8::8")),
            ("::1", Family::V6, None),
            ("192.168.2.1 192.168.2.10", Family::V4, Some("192.168.2.1")),
            ("1.2.3", Family::V4, None),
            ("256.1.1.1", Family::V4, None),
            ("", Family::V4, None),
            ("deadbeef", Family::V6, None),
        ];
        for (text, family, want) in table {
            assert_eq!(
                address_in(text, *family).map(|a| a.to_string()).as_deref(),
                *want,
                "{text:?} {family}"
            );
        }
    }

    #[test]
    fn jitter_is_a_fraction() {
        for _ in 0..100 {
            let j = jitter_fraction();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}
