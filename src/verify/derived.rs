//! Family `derived`: the files Zimbra regenerates were regenerated.
//!
//! zmreip never edits them (principle 2); the service actions make Zimbra
//! rewrite them from the directory and localconfig. This family proves
//! that happened: postfix `mynetworks` in main.cf holds the new address
//! (and its network when the prefix is known) and neither the old address
//! nor the old interface network, never a catch-all; and no regenerated
//! file still names the old address.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{Check, Ctx, postfix, rescan};
use crate::addr::Matcher;

const FAMILY: &str = "derived";

/// Runs the family.
pub fn check(ctx: &Ctx) -> Vec<Check> {
    let Some(host) = &ctx.host else {
        return Vec::new();
    };
    vec![mynetworks(ctx, host), files(ctx, host)]
}

/// The elements of a mynetworks value (whitespace- or comma-separated),
/// each with its network when it is one (`[v6]/len`, `v4/len`, a bare
/// address); tables (`hash:/...`), files and negations (`!`) have none.
pub fn elements(value: &str) -> Vec<(String, Option<IpNet>)> {
    value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|e| !e.is_empty())
        .map(|e| (e.to_string(), network(e)))
        .collect()
}

fn network(e: &str) -> Option<IpNet> {
    let (addr, len) = match e.split_once('/') {
        Some((a, l)) if !a.is_empty() => (a, Some(l)),
        _ => (e, None),
    };
    let addr = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    let ip: IpAddr = addr.parse().ok()?;
    let len = match len {
        Some(l) => l.parse().ok()?,
        None if ip.is_ipv4() => 32,
        None => 128,
    };
    IpNet::new(ip, len).ok()
}

fn full(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

/// The verdict on a mynetworks value: (problems, notes).
pub fn judge_mynetworks(ctx: &Ctx, value: &str) -> (Vec<String>, Vec<String>) {
    let els = elements(value);
    let nets: Vec<(&str, IpNet)> = els
        .iter()
        .filter_map(|(e, n)| n.map(|n| (e.as_str(), n)))
        .collect();
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for (e, n) in &nets {
        if n.prefix_len() == 0 {
            problems.push(format!("`{e}` trusts every address: an open relay"));
        }
    }
    // A peer trusts the moved node's new address where it trusted the old
    // one through a network (its plan adds the new host beside it).
    let trusted_old = nets
        .iter()
        .any(|(_, n)| n.prefix_len() > 0 && ctx.old.iter().any(|o| n.contains(o)));
    for a in &ctx.req.new {
        if ctx.req.peer.is_some() && !trusted_old {
            continue;
        }
        match nets.iter().find(|(_, n)| n.contains(&a.addr)) {
            Some((e, _)) => notes.push(format!("{} is trusted through `{e}`", a.addr)),
            None => problems.push(format!("{} is not in mynetworks", a.addr)),
        }
        if let Some(p) = a.prefix.filter(|p| *p < full(a.addr)) {
            let want = IpNet::new(a.addr, p).expect("prefix validated").trunc();
            if !nets.iter().any(|(_, n)| n.trunc() == want) {
                notes.push(format!(
                    "the new interface network {want} is not listed (only narrower or wider entries)"
                ));
            }
        }
    }
    for o in &ctx.req.old {
        for (e, n) in &nets {
            if !n.contains(&o.addr) || n.prefix_len() == 0 {
                continue;
            }
            let holds_new = ctx.new.iter().any(|a| n.contains(a));
            if n.prefix_len() == full(o.addr) {
                problems.push(format!("`{e}` still trusts the old address"));
            } else if rescan::is_old_interface_network(o, *n)
                && !holds_new
                && !ctx.req.network_stays(*n)
            {
                problems.push(format!("`{e}` is the old interface network, still trusted"));
            } else if !holds_new {
                notes.push(format!(
                    "`{e}` contains the old address but not the new one (kept: zmreip never narrows a wider trust network)"
                ));
            }
        }
    }
    if !nets
        .iter()
        .any(|(_, n)| n.contains(&IpAddr::from([127, 0, 0, 1])))
    {
        notes.push("127.0.0.0/8 is not in mynetworks; local submission is not trusted".into());
    }
    (problems, notes)
}

fn mynetworks(ctx: &Ctx, host: &crate::host::Host) -> Check {
    let path = host.zimbra_path("common/conf/main.cf");
    let text = match host.read(&path) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Check::skip(
                FAMILY,
                "mynetworks",
                format!("no {path} (no MTA on this host)"),
            );
        }
        Err(e) => return Check::fail(FAMILY, "mynetworks", e.to_string()),
    };
    let m = match postfix::MainCf::parse(&path, &text) {
        Ok(m) => m,
        Err(e) => return Check::fail(FAMILY, "mynetworks", e.to_string()),
    };
    let Some(value) = m.get("mynetworks") else {
        return Check::skip(
            FAMILY,
            "mynetworks",
            format!("{path} does not set mynetworks (postfix derives it from mynetworks_style)"),
        );
    };
    let line = m.line("mynetworks").unwrap_or(0);
    let (problems, notes) = judge_mynetworks(ctx, &value);
    let mut evidence = vec![format!("{path}:{line}: mynetworks = {value}")];
    let c = if problems.is_empty() {
        Check::pass(
            FAMILY,
            "mynetworks",
            "postfix mynetworks trusts the new address and not the old one",
        )
    } else {
        Check::fail(FAMILY, "mynetworks", problems.join("; "))
    };
    evidence.extend(notes);
    c.with(evidence)
}

/// Host paths of the regenerated files to look at: Zimbra's and the
/// plan's, present on the host.
fn derived_paths(ctx: &Ctx, host: &crate::host::Host) -> Vec<String> {
    let mut paths: Vec<String> = crate::zimbra::derived_files()
        .iter()
        .map(|d| {
            if d.path.starts_with('/') {
                d.path.to_string()
            } else {
                host.zimbra_path(d.path)
            }
        })
        .chain(ctx.req.derived.iter().cloned())
        .filter(|p| host.exists(p))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

fn files(ctx: &Ctx, host: &crate::host::Host) -> Check {
    if ctx.old.is_empty() {
        return Check::skip(
            FAMILY,
            "files",
            "no old address given (--old), so regenerated files are not searched",
        );
    }
    let paths = derived_paths(ctx, host);
    if paths.is_empty() {
        return Check::skip(FAMILY, "files", "no regenerated Zimbra file on this host");
    }
    let matcher = Matcher::new(&ctx.old);
    let mut stale = Vec::new();
    let mut notes = Vec::new();
    for p in &paths {
        let text = match host.read(p) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => {
                stale.push(e.to_string());
                continue;
            }
        };
        // As the scan that planned the move: a line carrying a
        // credential is never judged (nor shown).
        let secret = crate::zimbra::secret_lines(&text);
        for (i, line) in text.lines().enumerate() {
            if !matcher.may_match(line) {
                continue;
            }
            if secret[i] {
                if !matcher.find(line).is_empty() {
                    notes.push(format!(
                        "{p}:{}: carries a credential; not searched (zmreip neither shows nor judges such a line)",
                        i + 1
                    ));
                }
                continue;
            }
            for m in matcher.find(line) {
                let matched = &line[m.span.clone()];
                let at = format!("{p}:{}: {matched} ({})", i + 1, m.kind.as_str());
                if rescan::is_stale(ctx, m.kind, matched) {
                    stale.push(at);
                } else {
                    notes.push(format!("{at}, kept: a wider network"));
                }
            }
        }
    }
    let old: Vec<String> = ctx.old.iter().map(ToString::to_string).collect();
    if stale.is_empty() {
        Check::pass(
            FAMILY,
            "files",
            format!(
                "{} regenerated file{} checked, none names {}",
                paths.len(),
                if paths.len() == 1 { "" } else { "s" },
                old.join(", ")
            ),
        )
        .with(notes)
    } else {
        Check::fail(
            FAMILY,
            "files",
            format!(
                "{} stale reference{} in regenerated files; run the service action that rewrites them",
                stale.len(),
                if stale.len() == 1 { "" } else { "s" }
            ),
        )
        .with(rescan::capped(stale, rescan::MAX_EVIDENCE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::AddrArg;
    use crate::verify::VerifyRequest;

    fn ctx_for(req: &VerifyRequest) -> Ctx<'_> {
        Ctx {
            req,
            host: None,
            hostname: None,
            hostname_source: String::new(),
            localconfig: None,
            new: req.new.iter().map(|a| a.addr).collect(),
            old: req.old.iter().map(|a| a.addr).collect(),
        }
    }

    fn arg(s: &str) -> AddrArg {
        s.parse().unwrap()
    }

    #[test]
    fn a_line_carrying_a_credential_is_never_judged() {
        let d = tempfile::tempdir().unwrap();
        let inc = d.path().join("opt/zimbra/conf/nginx/includes");
        std::fs::create_dir_all(&inc).unwrap();
        // Regenerated from the new values, but the proxy's password (a
        // secret zmreip never reads) happens to spell the old address.
        std::fs::write(
            inc.join("nginx.conf.zmlookup"),
            "zm_lookup_handlers https://10.40.7.131:7072/x;\nzm_lookup_master_auth_password \"FAKE@172.20.14.25!nginx\";\n",
        )
        .unwrap();
        let mut req = VerifyRequest::new(d.path(), vec![arg("10.40.7.131/24")]);
        req.old = vec![arg("172.20.14.25/24")];
        let host = crate::host::Host::open(d.path(), None).unwrap();
        let c = files(&ctx_for(&req), &host);
        assert_eq!(c.status, crate::verify::Status::Pass, "{c:?}");
        let shown = format!("{c:?}");
        assert!(!shown.contains("FAKE@"), "{shown}");
        assert!(
            shown.contains("nginx.conf.zmlookup:2: carries a credential; not searched"),
            "{shown}"
        );
        // The same line without the credential is stale.
        std::fs::write(
            inc.join("nginx.conf.zmlookup"),
            "zm_lookup_handlers https://172.20.14.25:7072/x;\n",
        )
        .unwrap();
        assert_eq!(
            files(&ctx_for(&req), &host).status,
            crate::verify::Status::Fail
        );
    }

    #[test]
    fn mynetworks_elements() {
        let got: Vec<(String, Option<String>)> = elements(
            "127.0.0.0/8, [::1]/128 10.40.7.131\t!192.168.2.0/24 hash:/etc/postfix/nets /etc/postfix/nets [2001:db8::]/32 2001:db8:1::/48 300.1.1.1/8 10.0.0.0/33",
        )
        .into_iter()
        .map(|(e, n)| (e, n.map(|n| n.to_string())))
        .collect();
        let want: Vec<(String, Option<String>)> = [
            ("127.0.0.0/8", Some("127.0.0.0/8")),
            ("[::1]/128", Some("::1/128")),
            ("10.40.7.131", Some("10.40.7.131/32")),
            ("!192.168.2.0/24", None),
            ("hash:/etc/postfix/nets", None),
            ("/etc/postfix/nets", None),
            ("[2001:db8::]/32", Some("2001:db8::/32")),
            ("2001:db8:1::/48", Some("2001:db8:1::/48")),
            ("300.1.1.1/8", None),
            ("10.0.0.0/33", None),
        ]
        .into_iter()
        .map(|(e, n)| (e.to_string(), n.map(str::to_string)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn mynetworks_verdicts() {
        let mut req = VerifyRequest::new("/", vec![arg("10.40.7.131/24")]);
        req.old = vec![arg("172.20.14.25/24")];
        let ctx = ctx_for(&req);
        // (value, problems expected, a note containing)
        let cases: &[(&str, &[&str], &str)] = &[
            (
                "127.0.0.0/8 10.40.7.0/24",
                &[],
                "10.40.7.131 is trusted through `10.40.7.0/24`",
            ),
            (
                "127.0.0.0/8 10.40.7.131/32",
                &[],
                "new interface network 10.40.7.0/24 is not listed",
            ),
            (
                "127.0.0.0/8 172.20.14.0/24",
                &[
                    "10.40.7.131 is not in mynetworks",
                    "`172.20.14.0/24` is the old interface network, still trusted",
                ],
                "",
            ),
            (
                "127.0.0.0/8 10.40.7.0/24 172.20.14.25",
                &["`172.20.14.25` still trusts the old address"],
                "",
            ),
            (
                "127.0.0.0/8 10.40.7.0/24 172.20.14.25/32",
                &["`172.20.14.25/32` still trusts the old address"],
                "",
            ),
            // Similar-looking but different: 172.20.14.250 is not the old address.
            ("127.0.0.0/8 10.40.7.0/24 172.20.14.250", &[], ""),
            (
                "127.0.0.0/8 10.40.7.0/24 172.20.0.0/16",
                &[],
                "`172.20.0.0/16` contains the old address but not the new one",
            ),
            (
                "127.0.0.0/8 10.0.0.0/8",
                &[],
                "trusted through `10.0.0.0/8`",
            ),
            (
                "127.0.0.0/8 10.40.7.0/24 0.0.0.0/0",
                &["`0.0.0.0/0` trusts every address: an open relay"],
                "",
            ),
            ("10.40.7.0/24", &[], "127.0.0.0/8 is not in mynetworks"),
        ];
        for (value, want, note) in cases {
            let (problems, notes) = judge_mynetworks(&ctx, value);
            assert_eq!(&problems, want, "{value}");
            assert!(
                note.is_empty() || notes.iter().any(|n| n.contains(note)),
                "{value}: {notes:?}"
            );
        }
    }

    #[test]
    fn old_network_without_known_prefix_is_only_a_note() {
        let mut req = VerifyRequest::new("/", vec![arg("10.40.7.131")]);
        req.old = vec![arg("172.20.14.25")];
        let ctx = ctx_for(&req);
        let (problems, notes) = judge_mynetworks(&ctx, "127.0.0.0/8 10.40.7.131 172.20.14.0/24");
        assert!(problems.is_empty(), "{problems:?}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("`172.20.14.0/24` contains the old address"))
        );
    }
}
