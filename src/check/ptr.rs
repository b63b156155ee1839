//! Reverse DNS of the new address: the PTR, forward-confirmed (FCrDNS,
//! RFC 8601 §3 "iprev"), and whether it names the server.

use std::net::IpAddr;

use serde::Serialize;

use crate::addr::reverse_name;
use crate::dns::{Answer, Rdata, RecordType, Resolver, fqdn};

/// PTR names looked at (RFC 8601 §3 lets a verifier stop early; mail
/// servers commonly look at very few).
const MAX_NAMES: usize = 10;

/// The reverse-DNS state of an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PtrResult {
    /// The reverse name asked (`7.100.51.198.in-addr.arpa.`).
    pub name: String,
    /// `ok`, `missing`, `not-confirmed`, `mismatch` or `error`.
    pub status: PtrStatus,
    /// The names the PTR records give.
    pub ptr: Vec<String>,
    /// Per PTR name, the addresses it resolves to.
    pub forward: Vec<Forward>,
    /// Some PTR name resolves back to the address.
    pub fcrdns: bool,
    /// The server's host name, when given.
    pub hostname: Option<String>,
    /// Whether a forward-confirmed PTR name is the host name (null
    /// without a host name).
    pub matches_hostname: Option<bool>,
    /// Why the status is what it is.
    pub reason: String,
    /// What to ask the address's provider for, when something is wrong.
    pub request: Option<String>,
}

/// A PTR name and its forward addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forward {
    pub name: String,
    pub addresses: Vec<String>,
    pub confirms: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PtrStatus {
    Ok,
    Missing,
    NotConfirmed,
    Mismatch,
    Error,
}

impl PtrStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PtrStatus::Ok => "ok",
            PtrStatus::Missing => "missing",
            PtrStatus::NotConfirmed => "not-confirmed",
            PtrStatus::Mismatch => "mismatch",
            PtrStatus::Error => "error",
        }
    }

    /// Receivers reject or junk mail from addresses without FCrDNS.
    pub fn hurts_mail(self) -> bool {
        matches!(self, PtrStatus::Missing | PtrStatus::NotConfirmed)
    }
}

/// Checks the reverse DNS of `addr` through `res`.
pub fn check(res: &Resolver, addr: IpAddr, hostname: Option<&str>) -> PtrResult {
    let name = format!("{}.", reverse_name(addr));
    let host = hostname.map(fqdn);
    let want = host
        .as_deref()
        .map(|h| h.trim_end_matches('.').to_string())
        .unwrap_or_else(|| "the server's host name".into());
    let request = format!("ask the provider of {addr} to set PTR {name} → {want}");
    let mut r = PtrResult {
        name: name.clone(),
        status: PtrStatus::Ok,
        ptr: Vec::new(),
        forward: Vec::new(),
        fcrdns: false,
        hostname: host.clone(),
        matches_hostname: None,
        reason: String::new(),
        request: None,
    };
    let ptrs = match res.lookup(&name, RecordType::PTR) {
        Answer::Records(recs) => recs
            .into_iter()
            .filter_map(|r| match r.data {
                Rdata::Ptr(n) => Some(n),
                _ => None,
            })
            .collect::<Vec<_>>(),
        Answer::NoData | Answer::NxDomain => {
            r.status = PtrStatus::Missing;
            r.reason = format!("{addr} has no PTR record");
            r.request = Some(request);
            return r;
        }
        Answer::Failed(why) | Answer::Unreachable(why) => {
            r.status = PtrStatus::Error;
            r.reason = format!("the PTR query failed: {why}");
            return r;
        }
    };
    r.ptr = ptrs.clone();
    let rtype = if addr.is_ipv4() {
        RecordType::A
    } else {
        RecordType::AAAA
    };
    let questions: Vec<(String, RecordType)> = ptrs
        .iter()
        .take(MAX_NAMES)
        .map(|n| (n.clone(), rtype))
        .collect();
    // A forward lookup that failed says nothing about the name: without a
    // confirming name, the check was not made (RFC 8601's temperror).
    let mut failed = None;
    for ((n, _), a) in questions.iter().zip(res.lookup_all(&questions)) {
        if let Answer::Failed(why) | Answer::Unreachable(why) = &a {
            failed.get_or_insert_with(|| format!("the address lookup of {n} failed: {why}"));
        }
        let addrs: Vec<IpAddr> = a.records().iter().filter_map(|r| r.data.addr()).collect();
        r.forward.push(Forward {
            name: n.clone(),
            addresses: addrs.iter().map(ToString::to_string).collect(),
            confirms: addrs.contains(&addr),
        });
    }
    r.fcrdns = r.forward.iter().any(|f| f.confirms);
    if let Some(h) = &host {
        r.matches_hostname = Some(r.forward.iter().any(|f| f.confirms && f.name == *h));
    }
    let names = r.ptr.join(", ");
    if let Some(why) = failed.filter(|_| !r.fcrdns) {
        r.status = PtrStatus::Error;
        r.reason = format!("the PTR of {addr} names {names}, but {why}");
    } else if !r.fcrdns {
        r.status = PtrStatus::NotConfirmed;
        r.reason = format!(
            "the PTR of {addr} names {names}, which does not resolve back to {addr} (no FCrDNS)"
        );
        r.request = Some(match &host {
            Some(_) => format!("{request}, and point the A/AAAA record of {want} at {addr}"),
            None => format!("{request}, and make that name resolve to {addr}"),
        });
    } else if r.matches_hostname == Some(false) {
        r.status = PtrStatus::Mismatch;
        r.reason = format!(
            "the PTR of {addr} names {names}, not the host name {want}; receivers comparing it with the HELO name will object"
        );
        r.request = Some(request);
    } else {
        r.reason = format!("the PTR of {addr} names {names}, which resolves back to {addr}");
    }
    r
}
