//! The trust rules (DESIGN principle 4), checked again on whatever plan
//! apply is given. A saved plan's checksum is unkeyed: anyone who can
//! edit the file can recompute it, so it proves only that the plan was
//! not damaged, never that zmreip's rules made it. Apply therefore refuses
//! a plan whose moves are impossible addresses, or a change that
//!
//! * adds a `/0` network (`0.0.0.0/0`, `::/0`: trust everyone),
//! * drops a loopback entry (`127.0.0.0/8`, `::1`) its value held,
//! * adds a network wider than the plan's own rules allow: one that holds
//!   none of the new addresses, or is wider than the new address's
//!   network, or than the widest network the change removes,
//! * or, in a trust list (a directory attribute or localconfig key the
//!   tables call one), adds a host that is none of the new addresses.

use std::net::IpAddr;

use ipnet::IpNet;

use super::Problem;
use crate::model::{Change, Target, Value};
use crate::plan::Plan;

/// Every way `plan` breaks the trust rules; empty when it keeps them.
pub fn check(plan: &Plan) -> Vec<Problem> {
    let mut problems = Vec::new();
    let moves = match moves(plan) {
        Ok(m) => m,
        Err(p) => return vec![p],
    };
    let olds: Vec<IpAddr> = plan
        .from
        .iter()
        .filter_map(|f| crate::addr::parse_with_prefix(f).map(|(a, _)| a))
        .collect();
    for c in &plan.changes {
        for message in change_problems(c, &moves, &olds) {
            problems.push(Problem {
                target: format!("{} {}", c.id, c.target),
                message,
            });
        }
    }
    problems
}

/// The plan's new addresses with their networks, refusing impossible
/// moves as the command line does.
fn moves(plan: &Plan) -> Result<Vec<IpNet>, Problem> {
    let bad = |message: String| Problem {
        target: "the plan's from/to".into(),
        message,
    };
    if plan.from.len() != plan.to.len() {
        return Err(bad(format!(
            "{} addresses in `from`, {} in `to`",
            plan.from.len(),
            plan.to.len()
        )));
    }
    let parse = |s: &str| {
        crate::addr::parse_with_prefix(s).ok_or_else(|| bad(format!("`{s}` is not an address")))
    };
    let mut out = Vec::new();
    for (f, t) in plan.from.iter().zip(&plan.to) {
        let (old, new) = (parse(f)?, parse(t)?);
        crate::spec::check_usable(("from", "to"), old, new).map_err(|e| bad(e.to_string()))?;
        let prefix = new.1.unwrap_or(if new.0.is_ipv4() { 32 } else { 128 });
        out.push(IpNet::new(new.0, prefix).map_err(|e| bad(e.to_string()))?);
    }
    Ok(out)
}

/// An entry of a value: a network or a host (as a full-length network).
fn entries(v: &Value) -> Vec<IpNet> {
    let texts: Vec<&str> = match v {
        Value::One(s) => vec![s.as_str()],
        Value::Many(list) => list.iter().map(String::as_str).collect(),
    };
    let mut out = Vec::new();
    for t in texts {
        for word in
            t.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '=' | '"' | '\''))
        {
            let w = word
                .trim_start_matches("ip4:")
                .trim_start_matches("ip6:")
                .trim_start_matches(['+', '-', '~', '?'])
                .replace(['[', ']'], "");
            if let Ok(n) = w.parse::<IpNet>() {
                out.push(n);
            } else if let Ok(a) = w.parse::<IpAddr>() {
                out.push(IpNet::from(a));
            }
        }
    }
    out
}

fn is_loopback(n: &IpNet) -> bool {
    n.network().is_loopback() && n.broadcast().is_loopback()
}

fn is_host(n: &IpNet) -> bool {
    n.prefix_len() == n.max_prefix_len()
}

/// Whether a change's target is a trust list of the tables.
fn is_trust_list(c: &Change) -> bool {
    match &c.target {
        Target::Ldap { attribute, .. } => crate::zimbra::is_trust_attribute(attribute),
        Target::LocalconfigKey { key, .. } => crate::zimbra::is_trust_key(key),
        Target::Line { .. } | Target::Dns { .. } => false,
    }
}

fn change_problems(c: &Change, moves: &[IpNet], olds: &[IpAddr]) -> Vec<String> {
    let before = entries(&c.before);
    let after = entries(&c.after);
    let mut out = Vec::new();
    for n in before.iter().filter(|n| is_loopback(n)) {
        if !after.contains(n) {
            out.push(format!("drops {n}, a loopback entry zmreip always keeps"));
        }
    }
    // The networks a new one may stand for: those the change removes,
    // and (a window's open) an old network kept beside the new one.
    let removed_widest = before
        .iter()
        .filter(|n| !is_host(n) && (!after.contains(n) || olds.iter().any(|o| n.contains(o))))
        .map(IpNet::prefix_len)
        .min();
    let trust = is_trust_list(c);
    for n in after.iter().filter(|n| !before.contains(n)) {
        if n.prefix_len() == 0 {
            out.push(format!(
                "adds {n}, which trusts every address; zmreip never writes it"
            ));
        } else if is_loopback(n) {
            continue;
        } else if is_host(n) {
            if trust && !moves.iter().any(|m| m.addr() == n.addr()) {
                out.push(format!(
                    "adds {n} to a trust list, which is none of the plan's new addresses"
                ));
            }
        } else {
            let no_wider = removed_widest.is_some_and(|p| n.prefix_len() >= p);
            let allowed = if !trust && n.addr() != n.network() {
                // An interface address with its prefix (`10.40.7.131/24`
                // in an OS network file), not a network: one of the new
                // addresses, with the prefix --to gave or, without one,
                // no wider than the entry it replaces.
                moves
                    .iter()
                    .any(|m| m.addr() == n.addr() && (no_wider || n.prefix_len() >= m.prefix_len()))
            } else {
                no_wider
                    && moves
                        .iter()
                        .any(|m| n.contains(&m.addr()) && n.prefix_len() >= m.prefix_len())
            };
            if !allowed {
                out.push(format!(
                    "adds the network {n}, wider than the plan's rules allow (at most the new address's network, and never wider than the entry it replaces)"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(changes: Vec<Change>) -> Plan {
        plan_to("10.40.7.131/24", changes)
    }

    fn plan_to(to: &str, changes: Vec<Change>) -> Plan {
        Plan {
            schema: crate::plan::SCHEMA.into(),
            from: vec!["172.20.14.25/24".into()],
            to: vec![to.into()],
            bind: None,
            changes,
            derived: Vec::new(),
            actions: Vec::new(),
            warnings: Vec::new(),
            handoffs: Vec::new(),
            checksum: None,
        }
    }

    fn ldap(attribute: &str, before: &[&str], after: &[&str]) -> Change {
        let many = |v: &[&str]| Value::Many(v.iter().map(ToString::to_string).collect());
        Change {
            id: "c1".into(),
            surface: crate::surface::Surface::Ldap,
            target: Target::Ldap {
                dn: "cn=config,cn=zimbra".into(),
                attribute: attribute.into(),
            },
            before: many(before),
            after: many(after),
            reason: String::new(),
        }
    }

    fn line(before: &str, after: &str) -> Change {
        Change {
            id: "c1".into(),
            surface: crate::surface::Surface::Hosts,
            target: Target::Line {
                file: "/etc/x".into(),
                line: 1,
            },
            before: Value::One(before.into()),
            after: Value::One(after.into()),
            reason: String::new(),
        }
    }

    /// An interface address in an OS network file keeps the prefix of the
    /// entry it replaces when --to gave none (the plan's `to` is then a
    /// host address); it is checked as the address it is, not as a
    /// network to trust.
    #[test]
    fn interface_addresses_are_checked_as_addresses() {
        // (the plan's `to`, the line before and after, allowed)
        let cases = [
            ("10.40.7.131", "- 172.20.14.25/24", "- 10.40.7.131/24", true),
            ("10.40.7.131", "- 172.20.14.25/24", "- 10.40.7.131/28", true),
            (
                "10.40.7.131",
                "- 172.20.14.25/24",
                "- 10.40.7.131/16",
                false,
            ),
            ("10.40.7.131", "- 172.20.14.25/24", "- 10.40.7.99/24", false),
            ("10.40.7.131", "- 172.20.14.25", "- 10.40.7.131/24", false),
            (
                "10.40.7.131/16",
                "- 172.20.14.25/24",
                "- 10.40.7.131/16",
                true,
            ),
            (
                "10.40.7.131/16",
                "- 172.20.14.25/24",
                "- 10.40.7.131/8",
                false,
            ),
            // A network (no host bits) is still one to trust.
            ("10.40.7.131", "- 172.20.14.0/24", "- 10.40.7.0/24", false),
            ("10.40.7.131/24", "- 172.20.14.0/24", "- 10.40.7.0/24", true),
        ];
        for (to, before, after, allowed) in cases {
            let got = check(&plan_to(to, vec![line(before, after)]));
            assert_eq!(
                got.is_empty(),
                allowed,
                "{to}: {before} -> {after}: {got:?}"
            );
            if !allowed {
                assert!(
                    got[0].message.contains("wider than the plan's rules allow"),
                    "{got:?}"
                );
            }
        }
    }

    #[test]
    fn changes_that_break_the_trust_rules_are_named() {
        const MYNET: &str = "zimbraMtaMyNetworks";
        // (change, what the refusal says; None: within the rules)
        let cases: Vec<(Change, Option<&str>)> = vec![
            // What the planner writes.
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 [::1]/128 172.20.14.0/24"],
                    &["127.0.0.0/8 [::1]/128 10.40.7.0/24"],
                ),
                None,
            ),
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 172.20.14.25/32"],
                    &["127.0.0.0/8 10.40.7.131/32"],
                ),
                None,
            ),
            (
                ldap(MYNET, &["172.20.14.0/24"], &["127.0.0.0/8 10.40.7.0/24"]),
                None,
            ),
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 172.20.0.0/16"],
                    &["127.0.0.0/8 172.20.0.0/16 10.40.7.131"],
                ),
                None,
            ),
            (
                ldap("zimbraMailTrustedIP", &["172.20.14.25"], &["10.40.7.131"]),
                None,
            ),
            // A window's open: the new network beside the old one.
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 172.20.14.0/24"],
                    &["127.0.0.0/8 172.20.14.0/24 10.40.7.0/24"],
                ),
                None,
            ),
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 172.20.14.0/26"],
                    &["127.0.0.0/8 172.20.14.0/26 10.40.7.0/24"],
                ),
                Some("adds the network 10.40.7.0/24"),
            ),
            (line("172.20.14.25 mail", "10.40.7.131 mail"), None),
            (line("    via: 172.20.14.1", "    via: 10.40.7.1"), None),
            (line("- 172.20.14.25/24", "- 10.40.7.131/24"), None),
            // Edited plans.
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 172.20.14.0/24"],
                    &["127.0.0.0/8 0.0.0.0/0"],
                ),
                Some("adds 0.0.0.0/0"),
            ),
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 [::1]/128 172.20.14.0/24"],
                    &["127.0.0.0/8 [::1]/128 ::/0 10.40.7.0/24"],
                ),
                Some("adds ::/0"),
            ),
            (
                ldap(MYNET, &["127.0.0.0/8 172.20.14.0/24"], &["10.40.7.0/24"]),
                Some("drops 127.0.0.0/8"),
            ),
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 [::1]/128 172.20.14.0/24"],
                    &["127.0.0.0/8 10.40.7.0/24"],
                ),
                Some("drops ::1/128"),
            ),
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 172.20.14.0/24"],
                    &["127.0.0.0/8 10.0.0.0/8"],
                ),
                Some("adds the network 10.0.0.0/8"),
            ),
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 172.20.14.0/24"],
                    &["127.0.0.0/8 10.40.6.0/23"],
                ),
                Some("adds the network 10.40.6.0/23"),
            ),
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 172.20.14.0/24"],
                    &["127.0.0.0/8 192.0.2.0/24"],
                ),
                Some("adds the network 192.0.2.0/24"),
            ),
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 172.20.14.25/32"],
                    &["127.0.0.0/8 10.40.7.0/24"],
                ),
                Some("adds the network 10.40.7.0/24"),
            ),
            (
                ldap(
                    MYNET,
                    &["127.0.0.0/8 172.20.14.25"],
                    &["127.0.0.0/8 10.40.7.131 192.0.2.66"],
                ),
                Some("adds 192.0.2.66/32 to a trust list"),
            ),
            (
                ldap("zimbraMailTrustedIP", &["172.20.14.25"], &["10.40.7.13"]),
                Some("adds 10.40.7.13/32 to a trust list"),
            ),
            (
                line("allow 172.20.14.25", "allow 0.0.0.0/0"),
                Some("adds 0.0.0.0/0"),
            ),
            (
                line(
                    "trusted_networks 127.0.0.1 172.20.14.25",
                    "trusted_networks 10.40.7.131",
                ),
                Some("drops 127.0.0.1/32"),
            ),
        ];
        for (c, want) in cases {
            let shown = format!("{:?} -> {:?}", c.before, c.after);
            let got = check(&plan(vec![c]));
            match want {
                None => assert!(got.is_empty(), "{shown}: {got:?}"),
                Some(w) => {
                    assert_eq!(got.len(), 1, "{shown}: {got:?}");
                    assert!(got[0].message.contains(w), "{shown}: {}", got[0].message);
                }
            }
        }
    }

    #[test]
    fn impossible_moves_in_a_plan_are_refused() {
        for (from, to, want) in [
            ("127.0.0.1/8", "10.40.7.131/24", "loopback"),
            ("172.20.14.25/24", "127.0.0.5/8", "loopback"),
            ("172.20.14.25/24", "10.40.7.131/0", "/0"),
            ("172.20.14.25/24", "10.40.7.255/24", "broadcast"),
            ("172.20.14.25/24", "169.254.1.1/16", "link-local"),
        ] {
            let mut p = plan(Vec::new());
            p.from = vec![from.into()];
            p.to = vec![to.into()];
            let got = check(&p);
            assert_eq!(got.len(), 1, "{from} {to}");
            assert!(got[0].message.contains(want), "{}", got[0].message);
        }
    }
}
