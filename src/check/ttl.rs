//! Which public records will change with the move, their TTLs, and when
//! the move is safe: resolvers may keep an old answer for its whole TTL,
//! so the address can move once the TTLs in effect have run out after
//! lowering them (`zmreip plan --lower-ttl`).

use std::net::IpAddr;

use serde::Serialize;

use crate::addr::Matcher;
use crate::clock::rfc3339;
use crate::dns::{Answer, Rdata, RecordType, Resolver, Rr, fqdn};
use crate::notice::{Code, Notice};

/// A record set that will change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TtlEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    /// The TTL the resolver gave (a caching resolver gives what is left
    /// of it; ask the authoritative server for the configured value).
    pub ttl: u32,
    pub values: Vec<String>,
    pub reason: String,
}

/// When the move is safe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SafeMove {
    /// The longest TTL among the records that change.
    pub seconds: u32,
    /// Now plus that, in UTC (RFC 3339).
    pub at: String,
}

/// What will change, looked up through `res`. `old` is the address being
/// left, when known; without it, a record "will change" when it does not
/// already hold the new address. `spf_passes` says whether the SPF of
/// `domain` already passes for the new address.
pub fn check(
    res: &Resolver,
    new: IpAddr,
    old: Option<IpAddr>,
    hostname: Option<&str>,
    domain: Option<&str>,
    spf_passes: Option<bool>,
) -> (Vec<TtlEntry>, Vec<Notice>) {
    let rtype = if new.is_ipv4() {
        RecordType::A
    } else {
        RecordType::AAAA
    };
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut names: Vec<(String, String)> = Vec::new();
    if let Some(h) = hostname {
        names.push((fqdn(h), "the server's host name".into()));
    }
    if let Some(d) = domain {
        for r in res.lookup(&fqdn(d), RecordType::MX).records() {
            if let Rdata::Mx(_, n) = &r.data
                && !names.iter().any(|(x, _)| x == n)
            {
                names.push((
                    n.clone(),
                    format!("an MX host of {}", d.trim_end_matches('.')),
                ));
            }
        }
    }
    for (name, what) in &names {
        let rrs = rrset(res.lookup(name, rtype), name);
        let addrs: Vec<IpAddr> = rrs.iter().filter_map(|r| r.data.addr()).collect();
        let changes = match old {
            Some(o) => addrs.contains(&o),
            None => !rrs.is_empty() && !addrs.contains(&new),
        };
        if changes {
            out.push(entry(
                &rrs,
                name,
                &rtype.to_string(),
                format!("{what} resolves to the address being left"),
            ));
        } else if let Some(o) = old
            && !rrs.is_empty()
            && !addrs.contains(&new)
        {
            warnings.push(Notice::new(
                Code::CheckUnexpectedAddress,
                format!(
                    "{name} ({what}) resolves to {} through {}, neither {o} nor {new}; if this resolver serves an internal view (split DNS), change the record there too",
                    addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                    res.server()
                ),
            ));
        }
    }
    if let Some(d) = domain {
        let name = fqdn(d);
        let rrs: Vec<Rr> = rrset(res.lookup(&name, RecordType::TXT), &name)
            .into_iter()
            .filter(|r| {
                r.data
                    .txt_joined()
                    .is_some_and(|t| t.to_ascii_lowercase().starts_with("v=spf1"))
            })
            .collect();
        let changes = match old {
            Some(o) => rrs.iter().any(|r| {
                r.data
                    .txt_joined()
                    .is_some_and(|t| !Matcher::new(&[o]).find(&t).is_empty())
            }),
            None => spf_passes == Some(false),
        };
        if changes && !rrs.is_empty() {
            out.push(entry(
                &rrs,
                &name,
                "TXT",
                "the SPF record must authorize the new address".into(),
            ));
        }
    }
    (out, warnings)
}

fn rrset(a: Answer, name: &str) -> Vec<Rr> {
    a.records()
        .iter()
        .filter(|r| r.name == name)
        .cloned()
        .collect()
}

fn entry(rrs: &[Rr], name: &str, rtype: &str, reason: String) -> TtlEntry {
    TtlEntry {
        name: name.to_string(),
        rtype: rtype.to_string(),
        ttl: rrs.iter().map(|r| r.ttl).max().unwrap_or(0),
        values: rrs.iter().map(|r| r.data.to_string()).collect(),
        reason,
    }
}

/// The earliest safe time to move, from the current time in seconds
/// since the epoch.
pub fn safe_move(entries: &[TtlEntry], now: u64) -> Option<SafeMove> {
    let secs = entries.iter().map(|e| e.ttl).max()?;
    Some(SafeMove {
        seconds: secs,
        at: rfc3339(now + u64::from(secs)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_866_245), "2026-11-28T11:44:05Z");
        let e = |ttl| TtlEntry {
            name: "x.".into(),
            rtype: "A".into(),
            ttl,
            values: vec![],
            reason: String::new(),
        };
        assert_eq!(safe_move(&[], 0), None);
        assert_eq!(
            safe_move(&[e(300), e(86_400), e(60)], 0),
            Some(SafeMove {
                seconds: 86_400,
                at: "1970-01-02T00:00:00Z".into()
            })
        );
    }
}
