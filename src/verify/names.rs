//! Family `names`: the server's host name resolves to the new address
//! through the host's resolver and through the split-DNS server
//! (principle 3: servers find each other by name, so the name must follow
//! the address).
//!
//! The host's resolver is the root's `/etc/hosts` when verifying a root
//! other than `/` (the running resolver belongs to another machine), else
//! the system's (`getaddrinfo`). The split-DNS server is `--dns-server`, or
//! the dnsmasq configured on the host (its `listen-address` and `port`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::Path;

use super::{Check, Ctx};
use crate::dns;

const FAMILY: &str = "names";

/// Runs the family.
pub fn check(ctx: &Ctx) -> Vec<Check> {
    let Some(name) = ctx.hostname.as_deref() else {
        return vec![Check::skip(
            FAMILY,
            "resolver",
            "the server's host name is unknown (no zimbra_server_hostname in localconfig; give --hostname)",
        )];
    };
    vec![resolver(ctx, name), split_dns(ctx, name)]
}

/// The verdict on the addresses a name resolves to.
fn judge(ctx: &Ctx, id: &str, name: &str, via: &str, addrs: &[IpAddr]) -> Check {
    let stale: Vec<String> = addrs
        .iter()
        .filter(|a| ctx.old.contains(a))
        .map(ToString::to_string)
        .collect();
    let missing: Vec<String> = ctx
        .new
        .iter()
        .filter(|n| !addrs.contains(n))
        .map(ToString::to_string)
        .collect();
    let got: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let got = if got.is_empty() {
        "nothing".to_string()
    } else {
        got.join(", ")
    };
    if !stale.is_empty() {
        Check::fail(
            FAMILY,
            id,
            format!(
                "{name} still resolves to the old address {} {via}",
                stale.join(", ")
            ),
        )
    } else if !missing.is_empty() {
        Check::fail(
            FAMILY,
            id,
            format!(
                "{name} resolves to {got} {via}, not to {}",
                missing.join(", ")
            ),
        )
    } else {
        Check::pass(FAMILY, id, format!("{name} resolves to {got} {via}"))
    }
}

fn resolver(ctx: &Ctx, name: &str) -> Check {
    let Some(host) = &ctx.host else {
        return Check::fail(FAMILY, "resolver", "the host cannot be opened");
    };
    if host.root() == Path::new("/") {
        return match (name, 0u16).to_socket_addrs() {
            Ok(it) => {
                let mut addrs: Vec<IpAddr> = Vec::new();
                for a in it {
                    if !addrs.contains(&a.ip()) {
                        addrs.push(a.ip());
                    }
                }
                judge(ctx, "resolver", name, "through the system resolver", &addrs)
            }
            Err(e) => Check::fail(
                FAMILY,
                "resolver",
                format!("{name} does not resolve through the system resolver: {e}"),
            ),
        };
    }
    match host.read("/etc/hosts") {
        Ok(Some(text)) => {
            let lines = hosts_lookup(&text, name);
            let addrs: Vec<IpAddr> = lines.iter().map(|(_, a, _)| *a).collect();
            judge(ctx, "resolver", name, "in /etc/hosts", &addrs)
                .with(lines.iter().map(|(n, _, l)| format!("/etc/hosts:{n}: {l}")))
        }
        Ok(None) => Check::fail(
            FAMILY,
            "resolver",
            "the root has no /etc/hosts, so the name does not resolve locally",
        ),
        Err(e) => Check::fail(FAMILY, "resolver", e.to_string()),
    }
}

/// The lines of a hosts file that name `name` (case-insensitive):
/// (1-based line, address, line text).
pub fn hosts_lookup(text: &str, name: &str) -> Vec<(usize, IpAddr, String)> {
    let name = name.trim_end_matches('.');
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        let mut f = line.split_whitespace();
        let Some(addr) = f.next() else { continue };
        // A zone id (fe80::1%eth0) is not part of the address.
        let Ok(addr) = addr.split('%').next().unwrap_or(addr).parse::<IpAddr>() else {
            continue;
        };
        if f.any(|n| n.trim_end_matches('.').eq_ignore_ascii_case(name)) {
            out.push((i + 1, addr, raw.trim_end().to_string()));
        }
    }
    out
}

fn split_dns(ctx: &Ctx, name: &str) -> Check {
    let (server, why) = match ctx.req.dns_server {
        Some(s) => (s, "--dns-server".to_string()),
        None => match ctx.host.as_ref().map(dnsmasq_server) {
            Some(Ok(Some(x))) => x,
            Some(Ok(None)) | None => {
                return Check::skip(
                    FAMILY,
                    "split-dns",
                    "no split-DNS server: no dnsmasq configuration on the host (give --dns-server IP:PORT)",
                );
            }
            Some(Err(e)) => return Check::fail(FAMILY, "split-dns", e),
        },
    };
    let mut addrs = Vec::new();
    let mut evidence = vec![format!("server {server} ({why})")];
    let resolver = match dns::Resolver::new(server, ctx.req.timeout) {
        Ok(r) => r,
        Err(e) => return Check::fail(FAMILY, "split-dns", e.to_string()).with(evidence),
    };
    let mut types: Vec<dns::RecordType> = ctx
        .new
        .iter()
        .map(|a| {
            if a.is_ipv4() {
                dns::RecordType::A
            } else {
                dns::RecordType::AAAA
            }
        })
        .collect();
    types.dedup();
    for t in types {
        match resolver.lookup(name, t) {
            dns::Answer::Records(rs) => {
                let found: Vec<IpAddr> = rs.iter().filter_map(|r| r.data.addr()).collect();
                let list: Vec<String> = found.iter().map(ToString::to_string).collect();
                evidence.push(format!("{name} {t}: {}", list.join(", ")));
                addrs.extend(found);
            }
            dns::Answer::NoData => evidence.push(format!("{name} {t}: no records")),
            dns::Answer::NxDomain => {
                return Check::fail(
                    FAMILY,
                    "split-dns",
                    format!("{server} does not know {name} (NXDOMAIN)"),
                )
                .with(evidence);
            }
            dns::Answer::Failed(e) | dns::Answer::Unreachable(e) => {
                return Check::fail(FAMILY, "split-dns", format!("{server}: {e}")).with(evidence);
            }
        }
    }
    judge(ctx, "split-dns", name, &format!("at {server}"), &addrs).with(evidence)
}

/// Where the host's dnsmasq answers: its first `listen-address` (or
/// 127.0.0.1 when it listens everywhere) and `port` (default 53), with the
/// file that says so. `None` when there is no dnsmasq configuration or
/// DNS is turned off (`port=0`).
pub fn dnsmasq_server(host: &crate::host::Host) -> Result<Option<(SocketAddr, String)>, String> {
    let mut files = Vec::new();
    if host.exists("/etc/dnsmasq.conf") {
        files.push("/etc/dnsmasq.conf".to_string());
    }
    files.extend(host.glob("/etc/dnsmasq.d/*").map_err(|e| e.to_string())?);
    if files.is_empty() {
        return Ok(None);
    }
    let mut port: u16 = 53;
    let mut listen: Option<(IpAddr, String)> = None;
    for f in &files {
        let Some(text) = host.read(f).map_err(|e| e.to_string())? else {
            continue;
        };
        let (p, l) = dnsmasq_listen(f, &text)?;
        if let Some(p) = p {
            port = p;
        }
        if listen.is_none() {
            listen = l;
        }
    }
    if port == 0 {
        return Ok(None);
    }
    let (ip, from) = listen.unwrap_or((IpAddr::V4(Ipv4Addr::LOCALHOST), files.join(", ")));
    Ok(Some((
        SocketAddr::new(ip, port),
        format!("dnsmasq, {from}"),
    )))
}

/// A dnsmasq file's `port` and first listen address with where it is.
type DnsmasqListen = (Option<u16>, Option<(IpAddr, String)>);

/// `port=` (the last one) and the first `listen-address=` of one dnsmasq
/// file, with the place it was read.
fn dnsmasq_listen(path: &str, text: &str) -> Result<DnsmasqListen, String> {
    let mut port = None;
    let mut listen = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key.trim() {
            "port" => {
                port = Some(value.trim().parse::<u16>().map_err(|_| {
                    format!(
                        "{path}:{}: `port={}` is not a port number",
                        i + 1,
                        value.trim()
                    )
                })?);
            }
            "listen-address" if listen.is_none() => {
                let first = value.split(',').next().unwrap_or("").trim();
                let ip = first
                    .parse::<IpAddr>()
                    .map_err(|_| format!("{path}:{}: `{first}` is not an address", i + 1))?;
                listen = Some((ip, format!("{path}:{}", i + 1)));
            }
            _ => {}
        }
    }
    Ok((port, listen))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str = "\
127.0.0.1\tlocalhost
# 172.20.14.25 mail.corp.example (commented out)
172.20.14.250 mail2.corp.example mail2
10.40.7.131   MAIL.corp.example.  mail   # the server
2001:db8::25 mail.corp.example
fe80::1%eth0 mail.corp.example
not-an-address mail.corp.example
10.40.7.1 gw.corp.example mail.corp.example.evil
";

    #[test]
    fn hosts_lines_for_a_name() {
        let got: Vec<(usize, String)> = hosts_lookup(HOSTS, "mail.corp.example")
            .into_iter()
            .map(|(n, a, _)| (n, a.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                (4, "10.40.7.131".to_string()),
                (5, "2001:db8::25".to_string()),
                (6, "fe80::1".to_string()),
            ]
        );
        assert_eq!(hosts_lookup(HOSTS, "mail2.corp.example").len(), 1);
        assert!(hosts_lookup(HOSTS, "corp.example").is_empty());
        assert_eq!(
            hosts_lookup(HOSTS, "mail.corp.example.")[0].2,
            "10.40.7.131   MAIL.corp.example.  mail   # the server"
        );
    }

    #[test]
    fn dnsmasq_port_and_listen_address() {
        let conf = "\
# split DNS for the mail server
#listen-address=10.0.0.1
port=5353
listen-address=127.0.0.1,172.20.14.25
listen-address=::1
";
        let (p, l) = dnsmasq_listen("/etc/dnsmasq.conf", conf).unwrap();
        assert_eq!(p, Some(5353));
        let (ip, at) = l.unwrap();
        assert_eq!(ip.to_string(), "127.0.0.1");
        assert_eq!(at, "/etc/dnsmasq.conf:4");
        assert_eq!(
            dnsmasq_listen("f", "domain-needed\n").unwrap(),
            (None, None)
        );
        assert!(
            dnsmasq_listen("/etc/dnsmasq.conf", "port=dns\n")
                .unwrap_err()
                .starts_with("/etc/dnsmasq.conf:1: ")
        );
        assert!(dnsmasq_listen("f", "listen-address=eth0\n").is_err());
    }

    #[test]
    fn dnsmasq_server_on_a_root() {
        let d = tempfile::tempdir().unwrap();
        let host = crate::host::Host::open(d.path(), None).unwrap();
        assert_eq!(dnsmasq_server(&host).unwrap(), None);
        std::fs::create_dir_all(d.path().join("etc/dnsmasq.d")).unwrap();
        std::fs::write(d.path().join("etc/dnsmasq.d/split.conf"), "port=5354\n").unwrap();
        let (sa, why) = dnsmasq_server(&host).unwrap().unwrap();
        assert_eq!(sa.to_string(), "127.0.0.1:5354");
        assert_eq!(why, "dnsmasq, /etc/dnsmasq.d/split.conf");
        std::fs::write(
            d.path().join("etc/dnsmasq.conf"),
            "listen-address=10.40.7.131\n",
        )
        .unwrap();
        let (sa, why) = dnsmasq_server(&host).unwrap().unwrap();
        assert_eq!(sa.to_string(), "10.40.7.131:5354");
        assert_eq!(why, "dnsmasq, /etc/dnsmasq.conf:1");
        std::fs::write(d.path().join("etc/dnsmasq.d/split.conf"), "port=0\n").unwrap();
        assert_eq!(dnsmasq_server(&host).unwrap(), None);
    }
}
