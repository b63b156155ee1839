//! Family `listeners`: the new address is up, every service that should
//! answer on it accepts TCP connections, and nothing still listens on the
//! old address.
//!
//! Which ports should answer comes from the configuration, not from
//! guesses: the public `inet` services of postfix's master.cf (Zimbra's
//! 25, 465, 587), LDAP when `ldap_bind_url` (or the first `ldap_url`)
//! names this host, and every well-known mail port (IMAP, POP, HTTP, ...)
//! that something listens on at the wildcard, old or new address. The
//! listening sockets are read from `/proc/net/tcp` and `/proc/net/tcp6`,
//! which show the current network namespace.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};

use super::{Check, Ctx, directory, is_local, postfix};
use crate::discover::{SourceArgs, Sources};

const FAMILY: &str = "listeners";

/// Mail-server ports that must move with the address when something
/// listens on them (Zimbra's defaults, zimbra-config-model.md §1.3 B–D).
const WELL_KNOWN: &[(u16, &str)] = &[
    (25, "smtp"),
    (80, "http"),
    (110, "pop3"),
    (143, "imap"),
    (389, "ldap"),
    (443, "https"),
    (465, "smtps"),
    (587, "submission"),
    (636, "ldaps"),
    (993, "imaps"),
    (995, "pop3s"),
    (7025, "lmtp"),
    (7071, "admin"),
];

/// The name of a port in check ids.
pub fn port_name(port: u16) -> String {
    WELL_KNOWN
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| format!("tcp-{port}"))
}

/// A listening TCP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    pub addr: IpAddr,
    pub port: u16,
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", SocketAddr::new(self.addr, self.port))
    }
}

/// The listening TCP sockets of the current network namespace.
pub fn listening() -> std::io::Result<Vec<Listen>> {
    let mut out: Vec<Listen> = sockets()?
        .into_iter()
        .filter(|s| s.state == TcpState::Listen)
        .map(|s| Listen {
            addr: s.local.ip(),
            port: s.local.port(),
        })
        .collect();
    out.sort_by_key(|l| (l.port, l.addr));
    out.dedup();
    Ok(out)
}

/// Every TCP socket of the current network namespace, IPv4 and IPv6.
pub fn sockets() -> std::io::Result<Vec<Socket>> {
    let mut out = parse_sockets(&std::fs::read_to_string("/proc/net/tcp")?);
    // A kernel without IPv6 has no tcp6 table.
    if let Ok(t) = std::fs::read_to_string("/proc/net/tcp6") {
        out.extend(parse_sockets(&t));
    }
    Ok(out)
}

/// A TCP socket as `/proc/net/tcp` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: TcpState,
    /// For a socket in `TIME_WAIT`, the time left before the kernel
    /// forgets it.
    pub time_wait_left: Option<std::time::Duration>,
}

/// The TCP states the kernel prints (include/net/tcp_states.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
}

impl TcpState {
    fn from_hex(s: &str) -> Option<TcpState> {
        use TcpState::*;
        Some(match u8::from_str_radix(s, 16).ok()? {
            1 => Established,
            2 => SynSent,
            3 => SynRecv,
            4 => FinWait1,
            5 => FinWait2,
            6 => TimeWait,
            7 => Close,
            8 => CloseWait,
            9 => LastAck,
            10 => Listen,
            11 => Closing,
            12 => NewSynRecv,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        use TcpState::*;
        match self {
            Established => "established",
            SynSent => "syn-sent",
            SynRecv | NewSynRecv => "syn-recv",
            FinWait1 => "fin-wait-1",
            FinWait2 => "fin-wait-2",
            TimeWait => "time-wait",
            Close => "close",
            CloseWait => "close-wait",
            LastAck => "last-ack",
            Listen => "listen",
            Closing => "closing",
        }
    }
}

/// Parses `/proc/net/tcp` or `/proc/net/tcp6` and keeps the LISTEN
/// sockets.
pub fn parse_proc_net_tcp(text: &str) -> Vec<Listen> {
    parse_sockets(text)
        .into_iter()
        .filter(|s| s.state == TcpState::Listen)
        .map(|s| Listen {
            addr: s.local.ip(),
            port: s.local.port(),
        })
        .collect()
}

/// Parses `/proc/net/tcp` or `/proc/net/tcp6`. Addresses are printed as
/// 32-bit words in the kernel's byte order (the machine's own);
/// IPv4-mapped IPv6 addresses become IPv4. The timer of a `TIME_WAIT`
/// socket is in clock ticks (`USER_HZ`, 100 on Linux). Lines that do not
/// parse are skipped: the table is the kernel's.
pub fn parse_sockets(text: &str) -> Vec<Socket> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 {
            continue;
        }
        let (Some(local), Some(remote), Some(state)) = (
            socket_addr(f[1]),
            socket_addr(f[2]),
            TcpState::from_hex(f[3]),
        ) else {
            continue;
        };
        let time_wait_left = (state == TcpState::TimeWait)
            .then(|| f[5].split_once(':'))
            .flatten()
            .and_then(|(_, when)| u64::from_str_radix(when, 16).ok())
            .map(|ticks| std::time::Duration::from_millis(ticks * 10));
        out.push(Socket {
            local,
            remote,
            state,
            time_wait_left,
        });
    }
    out
}

fn socket_addr(hex: &str) -> Option<SocketAddr> {
    let (addr, port) = hex.split_once(':')?;
    Some(SocketAddr::new(
        kernel_addr(addr)?,
        u16::from_str_radix(port, 16).ok()?,
    ))
}

fn kernel_addr(hex: &str) -> Option<IpAddr> {
    let word = |h: &str| u32::from_str_radix(h, 16).ok().map(u32::to_ne_bytes);
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(hex)?))),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(hex.get(i * 8..i * 8 + 8)?)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(b)).to_canonical())
        }
        _ => None,
    }
}

/// Runs the family.
pub fn check(ctx: &Ctx) -> Vec<Check> {
    let mut out = Vec::new();
    let sockets = match listening() {
        Ok(s) => Some(s),
        Err(e) => {
            out.push(Check::fail(
                FAMILY,
                "sockets",
                format!("cannot read the listening sockets from /proc/net/tcp: {e}"),
            ));
            None
        }
    };
    let sockets = sockets.unwrap_or_default();
    let (expected, names) = expected_ports(ctx, &sockets, &mut out);
    let name_of = |port: u16| {
        names
            .get(&port)
            .map(ToString::to_string)
            .unwrap_or_else(|| port_name(port))
    };
    let many = ctx.new.len() > 1;
    for &ip in &ctx.new {
        let at = |name: &str| {
            if many {
                format!("{name}@{ip}")
            } else {
                name.to_string()
            }
        };
        if !is_local(ip) {
            out.push(Check::fail(
                FAMILY,
                &at("address"),
                format!(
                    "{ip} is not an address of this host; bring it up first (the connection checks are skipped so that no other host is probed)"
                ),
            ));
            continue;
        }
        out.push(Check::pass(
            FAMILY,
            &at("address"),
            format!("{ip} is an address of this host"),
        ));
        for (port, why) in &expected {
            let to = SocketAddr::new(ip, *port);
            let mut evidence = why.clone();
            evidence.extend(
                sockets
                    .iter()
                    .filter(|l| l.port == *port)
                    .map(|l| format!("listening on {l}")),
            );
            let c = match TcpStream::connect_timeout(&to, ctx.req.timeout) {
                Ok(_) => Check::pass(
                    FAMILY,
                    &at(&name_of(*port)),
                    format!("{to} accepts connections"),
                ),
                Err(e) => Check::fail(
                    FAMILY,
                    &at(&name_of(*port)),
                    format!("{to} does not accept connections: {e}"),
                ),
            };
            out.push(c.with(evidence));
        }
    }
    if ctx.old.is_empty() {
        out.push(Check::skip(
            FAMILY,
            "old",
            "no old address given (--old), so stale listeners are not looked for",
        ));
    } else {
        out.push(old_listeners(ctx, &sockets, &expected));
    }
    out
}

/// Sockets still bound to an old address. While the old address is up
/// (a move that adds the new address first), only services that should
/// have moved count: daemons that bind every address (named) rightly
/// hold the old one too. Once it is gone, anything still bound to it is a
/// service that was not restarted.
fn old_listeners(ctx: &Ctx, sockets: &[Listen], expected: &BTreeMap<u16, Vec<String>>) -> Check {
    let mut stale = Vec::new();
    let mut notes = Vec::new();
    for l in sockets.iter().filter(|l| ctx.old.contains(&l.addr)) {
        if !is_local(l.addr) || expected.contains_key(&l.port) {
            stale.push(format!("listening on {l}"));
        } else {
            notes.push(format!(
                "listening on {l} (the old address is still up; not a service that moves)"
            ));
        }
    }
    let old: Vec<String> = ctx.old.iter().map(ToString::to_string).collect();
    if stale.is_empty() {
        Check::pass(
            FAMILY,
            "old",
            format!("no service listens on {} any more", old.join(", ")),
        )
        .with(notes)
    } else {
        let n = stale.len();
        Check::fail(
            FAMILY,
            "old",
            format!(
                "{n} socket{} still listen{} on the old address; restart their service",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" }
            ),
        )
        .with(stale.into_iter().chain(notes))
    }
}

/// Expected ports with why, and names for ports the directory names.
type Expected = (BTreeMap<u16, Vec<String>>, BTreeMap<u16, &'static str>);

/// The ports that should answer on the new address, each with why.
fn expected_ports(ctx: &Ctx, sockets: &[Listen], out: &mut Vec<Check>) -> Expected {
    let mut expected: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    let mut names: BTreeMap<u16, &'static str> = BTreeMap::new();
    if let Some(host) = &ctx.host {
        let path = host.zimbra_path("common/conf/master.cf");
        match host.read(&path) {
            Ok(Some(text)) => match postfix::inet_services(&path, &text) {
                Ok(services) => {
                    for s in services {
                        let public = match s.host.as_deref().map(str::parse::<IpAddr>) {
                            None => true,
                            Some(Ok(ip)) => ctx.new.contains(&ip),
                            // A host name (`localhost:10025`) is internal.
                            Some(Err(_)) => false,
                        };
                        if let (true, Some(port)) = (public, s.port) {
                            expected.entry(port).or_default().push(format!(
                                "{path}:{}: {} inet ({})",
                                s.line, s.service, s.command
                            ));
                        }
                    }
                }
                Err(e) => out.push(Check::fail(FAMILY, "master-cf", e.to_string())),
            },
            Ok(None) => {}
            Err(e) => out.push(Check::fail(FAMILY, "master-cf", e.to_string())),
        }
    }
    let ldap_key = ["ldap_bind_url", "ldap_url"]
        .into_iter()
        .find_map(|k| ctx.lc(k).filter(|v| !v.trim().is_empty()).map(|v| (k, v)));
    if let Some((key, urls)) = ldap_key {
        for url in urls.split_whitespace() {
            if let Some((host, port)) = ldap_url_host_port(url) {
                let here = ctx
                    .hostname
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(&host))
                    || host
                        .parse::<IpAddr>()
                        .is_ok_and(|ip| ctx.new.contains(&ip) || ctx.old.contains(&ip));
                if here {
                    expected
                        .entry(port)
                        .or_default()
                        .push(format!("localconfig {key} = {url}"));
                }
            }
        }
    }
    if let Some(name) = &ctx.hostname {
        let req = ctx.req;
        let cfg = Sources::open(&SourceArgs {
            extra: Default::default(),
            ..req.sources.clone()
        })
        .and_then(|mut src| directory::read(&mut src, name));
        match cfg {
            Ok(Some(cfg)) => {
                for (port, name, why) in cfg.expected(&ctx.new) {
                    expected.entry(port).or_default().push(why);
                    names.insert(port, name);
                }
            }
            Ok(None) => {}
            Err(e) => out.push(Check::fail(
                FAMILY,
                "directory",
                format!("cannot read the directory for configured listeners: {e}"),
            )),
        }
    }
    for l in sockets {
        let watched =
            l.addr.is_unspecified() || ctx.new.contains(&l.addr) || ctx.old.contains(&l.addr);
        if watched && WELL_KNOWN.iter().any(|(p, _)| *p == l.port) {
            let e = expected.entry(l.port).or_default();
            if e.is_empty() {
                e.push(format!("something listens on {l}"));
            }
        }
    }
    (expected, names)
}

/// Host and port of an `ldap://` or `ldaps://` URL (ldapi has neither).
pub fn ldap_url_host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "ldap" => 389,
        "ldaps" => 636,
        _ => return None,
    };
    let hostport = rest.split('/').next().unwrap_or("");
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None | Some("") => default,
        Some(p) => p.parse().ok()?,
    };
    Some((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real lines from a Debian 12 kernel (little-endian x86-64).
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 19054D0A:0185 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
   3: 19054D0A:0019 83054E0A:C350 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0
   4: garbage
";

    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:008F 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:0019 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF000019054D0A:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7 1 0000000000000000 100 0 0 10 0
   3: B80D0120000000000000000025000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 8 1 0000000000000000 100 0 0 10 0
";

    #[cfg(target_endian = "little")]
    #[test]
    fn proc_net_tcp_listeners() {
        let got: Vec<String> = parse_proc_net_tcp(TCP)
            .iter()
            .map(ToString::to_string)
            .collect();
        // The established connection (state 01) is not a listener.
        assert_eq!(got, ["127.0.0.1:3306", "0.0.0.0:25", "10.77.5.25:389"]);
        let got: Vec<String> = parse_proc_net_tcp(TCP6)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "[::]:143",
                "[::1]:25",
                "10.77.5.25:443",
                "[2001:db8::25]:80"
            ]
        );
    }

    #[test]
    fn proc_net_tcp_of_this_namespace_parses() {
        // Whatever listens here, reading the live table must not fail.
        listening().unwrap();
    }

    #[test]
    fn port_names() {
        assert_eq!(port_name(25), "smtp");
        assert_eq!(port_name(587), "submission");
        assert_eq!(port_name(389), "ldap");
        assert_eq!(port_name(2525), "tcp-2525");
    }

    #[test]
    fn ldap_urls() {
        let cases: &[(&str, Option<(&str, u16)>)] = &[
            (
                "ldap://mail.corp.example:389",
                Some(("mail.corp.example", 389)),
            ),
            ("ldap://mail.corp.example", Some(("mail.corp.example", 389))),
            (
                "ldap://mail.corp.example/",
                Some(("mail.corp.example", 389)),
            ),
            (
                "LDAPS://mail.corp.example",
                Some(("mail.corp.example", 636)),
            ),
            ("ldap://172.20.14.25:3890/", Some(("172.20.14.25", 3890))),
            ("ldap://[2001:db8::25]:389", Some(("2001:db8::25", 389))),
            ("ldap://[2001:db8::25]", Some(("2001:db8::25", 389))),
            ("ldapi:///", None),
            ("ldap:///", None),
            ("ldap://host:notaport", None),
            ("mail.corp.example:389", None),
        ];
        for (url, want) in cases {
            let got = ldap_url_host_port(url);
            let got = got.as_ref().map(|(h, p)| (h.as_str(), *p));
            assert_eq!(got, *want, "{url}");
        }
    }
}
