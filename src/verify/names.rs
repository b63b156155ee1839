//! Family `names`: the server's host name resolves to the new address
//! through the host's resolver and through the split-DNS server
//! (principle 3: servers find each other by name, so the name must follow
//! the address).
//!
//! The host's resolver is the root's `/etc/hosts` when verifying a root
//! other than `/` (the running resolver belongs to another machine), else
//! the system's (`getaddrinfo`). The split-DNS server is `--dns-server`, or
//! the dnsmasq configured on the host (its `listen-address` and `port`).

use std::net::{IpAddr, ToSocketAddrs};
use std::path::Path;

use super::{Check, Ctx};
use crate::dns;
use crate::surface::{dnsmasq, hosts};

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
            let lines = hosts::lookup(&text, name);
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

fn split_dns(ctx: &Ctx, name: &str) -> Check {
    let (server, why) = match ctx.req.dns_server {
        Some(s) => (s, "--dns-server".to_string()),
        None => match ctx.host.as_ref().map(dnsmasq::dns_server) {
            Some(Ok(Some(x))) => x,
            Some(Ok(None)) | None => {
                return Check::skip(
                    FAMILY,
                    "split-dns",
                    "no split-DNS server: no dnsmasq configuration on the host (give --dns-server IP:PORT)",
                );
            }
            Some(Err(e)) => return Check::fail(FAMILY, "split-dns", e.to_string()),
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
