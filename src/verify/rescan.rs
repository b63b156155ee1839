//! Family `rescan`: the scan run again with the old address finds no stale
//! reference in any source of truth (files, localconfig, the directory).
//! Regenerated files are the `derived` family's.
//!
//! Not every finding is stale: principle 4 keeps a trust network wider
//! than the old interface network (it gets the new host entry beside it),
//! so a `network-contains` finding is stale only when it is exactly the
//! old interface network and does not hold the new address, and in a
//! multi-server deployment not when a node that stays lives in it, nor on
//! a peer (whose trust networks stay). An address range holding the old
//! address never changes (the plan warns about it) and is not stale.

use ipnet::IpNet;

use super::{Check, Ctx};
use crate::addr::MatchKind;
use crate::discover::Sources;
use crate::spec::AddrArg;

const FAMILY: &str = "rescan";

/// The most evidence lines shown for one check.
pub const MAX_EVIDENCE: usize = 25;

/// Whether `net` is the interface network of `old` (known prefix only).
pub fn is_old_interface_network(old: &AddrArg, net: IpNet) -> bool {
    match old.prefix {
        Some(p) => {
            net.prefix_len() == p
                && IpNet::new(old.addr, p).is_ok_and(|own| own.trunc() == net.trunc())
        }
        None => false,
    }
}

/// Whether a finding of the old address is stale (should have changed).
pub fn is_stale(ctx: &Ctx, kind: MatchKind, matched: &str) -> bool {
    if kind != MatchKind::NetworkContains {
        return true;
    }
    // An address range is never changed (its ends would change what it
    // covers): the plan warned about it.
    if crate::addr::parse_range(matched).is_some() {
        return false;
    }
    let text = matched.replace(['[', ']'], "");
    let Ok(net) = text.parse::<IpNet>() else {
        return true;
    };
    let holds_new = ctx.new.iter().any(|a| net.contains(a));
    !holds_new
        && ctx.req.old.iter().any(|o| is_old_interface_network(o, net))
        && !ctx.req.network_stays(net)
}

/// At most `max` lines, then a line saying how many more there are (a
/// list cut silently reads as complete).
pub fn capped(mut lines: Vec<String>, max: usize) -> Vec<String> {
    if lines.len() > max {
        let more = lines.len() - max;
        lines.truncate(max);
        lines.push(format!("... and {more} more"));
    }
    lines
}

/// Runs the family.
pub fn check(ctx: &Ctx) -> Vec<Check> {
    if ctx.old.is_empty() {
        return vec![Check::skip(
            FAMILY,
            "sources",
            "no old address given (--old), so there is nothing to rescan for",
        )];
    }
    let req = ctx.req;
    let result = Sources::open(&req.sources)
        .and_then(|mut src| crate::scan::scan(&mut src, &ctx.old, &mut |_| {}));
    let result = match result {
        Ok(r) if r.unreadable.is_empty() => r,
        Ok(r) => {
            return vec![
                Check::fail(
                    FAMILY,
                    "sources",
                    format!(
                        "the rescan could not read {} file{}",
                        r.unreadable.len(),
                        if r.unreadable.len() == 1 { "" } else { "s" }
                    ),
                )
                .with(capped(
                    r.unreadable.iter().map(|u| u.error.clone()).collect(),
                    MAX_EVIDENCE,
                )),
            ];
        }
        Err(e) => {
            return vec![Check::fail(
                FAMILY,
                "sources",
                format!("the rescan failed: {e}"),
            )];
        }
    };
    let mut stale = Vec::new();
    let mut kept = Vec::new();
    for f in &result.findings {
        let line = format!(
            "{} {}: {} ({})",
            f.surface,
            f.target,
            f.matched,
            f.kind.as_str()
        );
        if is_stale(ctx, f.kind, &f.matched) {
            stale.push(line);
        } else {
            kept.push(format!("{line}, kept: a wider network"));
        }
    }
    let read = format!(
        "{} files and {} directory entries read",
        result.files_read, result.entries_read
    );
    let old = result.ips.join(", ");
    vec![if stale.is_empty() {
        Check::pass(
            FAMILY,
            "sources",
            format!("no source of truth refers to {old} any more ({read})"),
        )
        .with(capped(kept, MAX_EVIDENCE))
    } else {
        Check::fail(
            FAMILY,
            "sources",
            format!(
                "{} stale reference{} to {old} ({read})",
                stale.len(),
                if stale.len() == 1 { "" } else { "s" }
            ),
        )
        .with(capped(stale, MAX_EVIDENCE))
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::VerifyRequest;

    #[test]
    fn stale_findings() {
        let mut req = VerifyRequest::new("/", vec!["10.40.7.131/24".parse().unwrap()]);
        req.old = vec!["172.20.14.25/24".parse().unwrap()];
        let ctx = Ctx {
            req: &req,
            host: None,
            hostname: None,
            hostname_source: String::new(),
            localconfig: None,
            new: vec![req.new[0].addr],
            old: vec![req.old[0].addr],
        };
        use MatchKind::*;
        let cases = [
            (Exact, "172.20.14.25", true),
            (UrlHost, "172.20.14.25:389", true),
            (Bracketed, "[172.20.14.25]:25", true),
            (ReverseName, "25.14.20.172.in-addr.arpa", true),
            (NetworkContains, "172.20.14.0/24", true),
            (NetworkContains, "172.20.0.0/16", false),
            (NetworkContains, "0.0.0.0/0", false),
            (NetworkContains, "172.20.14.0/25", false),
            (NetworkContains, "not a network", true),
            // A range holding it stays, as the plan said.
            (NetworkContains, "172.20.14.20-172.20.14.30", false),
        ];
        for (kind, matched, want) in cases {
            assert_eq!(is_stale(&ctx, kind, matched), want, "{matched}");
        }
        // A node that stays lives in the old network: it stays.
        let mut req3 = req.clone();
        req3.staying = vec!["172.20.14.250".parse().unwrap()];
        let ctx3 = Ctx {
            req: &req3,
            host: None,
            hostname: None,
            hostname_source: String::new(),
            localconfig: None,
            new: ctx.new.clone(),
            old: ctx.old.clone(),
        };
        assert!(!is_stale(&ctx3, NetworkContains, "172.20.14.0/24"));
        assert!(is_stale(&ctx3, Exact, "172.20.14.25"));
        // Without a known old prefix no network can be judged the old
        // interface network.
        let mut req2 = req.clone();
        req2.old = vec!["172.20.14.25".parse().unwrap()];
        let ctx = Ctx { req: &req2, ..ctx };
        assert!(!is_stale(&ctx, NetworkContains, "172.20.14.0/24"));
    }

    #[test]
    fn evidence_is_capped() {
        let lines: Vec<String> = (0..30).map(|i| i.to_string()).collect();
        let c = capped(lines.clone(), MAX_EVIDENCE);
        assert_eq!(c.len(), MAX_EVIDENCE + 1);
        assert_eq!(c.last().unwrap(), "... and 5 more");
        assert_eq!(capped(vec!["a".into()], MAX_EVIDENCE), ["a"]);
        let c = capped(lines.clone(), 6);
        assert_eq!(c.len(), 7);
        assert_eq!(c[5], "5");
        assert_eq!(c[6], "... and 24 more");
        assert_eq!(capped(lines[..6].to_vec(), 6).len(), 6);
    }
}
