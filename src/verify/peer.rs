//! Verifying a peer: another node of a multi-server deployment, after the
//! node `moved` changed its address (`zmreip verify --peer NAME`).
//!
//! Two views of the same host:
//!
//! * its own services, on its own addresses (its host name, resolved as
//!   the `names` family resolves it): the `listeners` and `smtp` families
//!   as for a single server, with nothing old to look for;
//! * the moved node, from here: `names` (its name resolves to the new
//!   address through this host's resolver and split DNS), `reach` (its
//!   services answer at the new address: `--reach PORT`), `derived` and
//!   `rescan` (nothing here refers to the old address any more, but trust
//!   networks, which stay on a peer by design).

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;

use super::{Check, Ctx, Report, SCHEMA, VerifyRequest};
use super::{derived, listeners, names, rescan, smtp};
use crate::spec::AddrArg;

const FAMILY: &str = "reach";

/// Runs the checks of a peer of `moved`.
pub fn run(req: &VerifyRequest, moved: &str) -> Report {
    let mut checks = Vec::new();

    let mut mine = req.clone();
    mine.peer = None;
    mine.old = Vec::new();
    mine.hostname = None;
    let probe = Ctx::open(&mine, &mut checks);
    let own = own_addresses(&probe);
    drop(probe);
    match own {
        Ok(addrs) => {
            mine.new = addrs
                .iter()
                .map(|a| AddrArg {
                    addr: *a,
                    prefix: None,
                })
                .collect();
            let ctx = Ctx::open(&mine, &mut Vec::new());
            checks.extend(listeners::check(&ctx));
            checks.extend(smtp::check(&ctx));
        }
        Err(why) => checks.push(Check::fail("listeners", "address", why)),
    }

    let mut theirs = req.clone();
    theirs.hostname = Some(moved.trim_end_matches('.').to_string());
    let ctx = Ctx::open(&theirs, &mut checks);
    checks.extend(names::check(&ctx));
    checks.extend(reach(&ctx));
    checks.extend(derived::check(&ctx));
    checks.extend(rescan::check(&ctx));
    Report {
        schema: SCHEMA,
        ip: req.new.iter().map(|a| a.addr.to_string()).collect(),
        old: req.old.iter().map(|a| a.addr.to_string()).collect(),
        hostname: Some(moved.to_string()),
        checks,
    }
}

/// This host's addresses: its host name resolved as the `names` family
/// resolves names (the root's /etc/hosts, or the system resolver on `/`).
fn own_addresses(ctx: &Ctx) -> Result<Vec<IpAddr>, String> {
    let Some(name) = ctx.hostname.as_deref() else {
        return Err(
            "this host's name is unknown (no zimbra_server_hostname in localconfig), so its own listeners are not checked"
                .into(),
        );
    };
    let Some(host) = &ctx.host else {
        return Err("the host cannot be opened".into());
    };
    let addrs: Vec<IpAddr> = if host.root() == Path::new("/") {
        (name, 0u16)
            .to_socket_addrs()
            .map(|it| it.map(|a| a.ip()).collect())
            .unwrap_or_default()
    } else {
        let text = host.read("/etc/hosts").ok().flatten().unwrap_or_default();
        crate::surface::hosts::lookup(&text, name)
            .into_iter()
            .map(|(_, a, _)| a)
            .filter(|a| !a.is_loopback())
            .collect()
    };
    let mut out: Vec<IpAddr> = Vec::new();
    for a in addrs {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    if out.is_empty() {
        return Err(format!(
            "{name} (this host) does not resolve here, so its own listeners are not checked"
        ));
    }
    Ok(out)
}

/// Family `reach`: every `--reach` port answers at every new address.
fn reach(ctx: &Ctx) -> Vec<Check> {
    let who = ctx.hostname.as_deref().unwrap_or("the moved node");
    if ctx.req.reach.is_empty() {
        return vec![Check::skip(
            FAMILY,
            "services",
            format!("no port of {who} to reach was given (--reach PORT)"),
        )];
    }
    let mut out = Vec::new();
    let many = ctx.new.len() > 1;
    for &ip in &ctx.new {
        for &port in &ctx.req.reach {
            let name = listeners::port_name(port);
            let id = if many { format!("{name}@{ip}") } else { name };
            let to = SocketAddr::new(ip, port);
            out.push(match TcpStream::connect_timeout(&to, ctx.req.timeout) {
                Ok(_) => Check::pass(
                    FAMILY,
                    &id,
                    format!("{who}'s {to} accepts connections from this host"),
                ),
                Err(e) => Check::fail(
                    FAMILY,
                    &id,
                    format!("{who}'s {to} does not accept connections from this host: {e}"),
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;

    #[test]
    fn reach_connects_to_the_new_address_only() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = l.local_addr().unwrap().port();
        // A port nothing listens on: bound, then closed.
        let closed = {
            let c = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            c.local_addr().unwrap().port()
        };
        let mut req = VerifyRequest::new("/", vec!["127.0.0.1".parse().unwrap()]);
        req.reach = vec![open, closed];
        req.peer = Some("mbox1.example.com".into());
        req.timeout = std::time::Duration::from_secs(2);
        let ctx = Ctx::open(&req, &mut Vec::new());
        let checks = reach(&ctx);
        let got: Vec<Status> = checks.iter().map(|c| c.status).collect();
        assert_eq!(got, [Status::Pass, Status::Fail]);
        assert!(
            checks[1].summary.contains("does not accept"),
            "{}",
            checks[1].summary
        );

        req.reach.clear();
        let ctx = Ctx::open(&req, &mut Vec::new());
        assert_eq!(reach(&ctx)[0].status, Status::Skip);
    }

    #[test]
    fn peers_keep_trust_networks_the_moving_node_keeps_its_neighbours() {
        let mut req = VerifyRequest::new("/", vec!["10.40.7.131/24".parse().unwrap()]);
        req.old = vec!["172.20.14.25/24".parse().unwrap()];
        let net: ipnet::IpNet = "172.20.14.0/24".parse().unwrap();
        assert!(!req.network_stays(net));
        req.staying = vec!["172.20.14.26".parse().unwrap()];
        assert!(req.network_stays(net));
        req.staying = vec!["172.20.15.26".parse().unwrap()];
        assert!(!req.network_stays(net));
        req.peer = Some("mbox1".into());
        assert!(req.network_stays(net));
    }
}
