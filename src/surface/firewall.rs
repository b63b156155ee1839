//! What an address in a firewall rule means, shared by the firewall
//! surfaces (`iptables`, `nftables`, `ufw`, `firewalld`).
//!
//! A rule names addresses in a few places, and each place says what kind
//! of value it is ([`kind`]):
//!
//! * a **source** the rule lets in (an accepting rule, or a denying rule
//!   whose source is negated: "drop all but these") is an allow-list
//!   entry, which follows the trust rule (DESIGN principle 4): the old
//!   address becomes the new one, the old interface network the new one,
//!   and a network that stays gains the new host beside it where the
//!   syntax holds a list (`-s a,b`, `{ a, b }`), else a warning says to
//!   add a rule for it;
//! * any other source or destination (`-d OLD`, `ip daddr OLD`, a source
//!   the rule drops) is matched as written: an entry equal to the old
//!   address swaps, a network holding it stays with a warning;
//! * a NAT or forwarding target (`--to-destination`, `dnat to`,
//!   `to-addr`) names one host: it swaps where it is the old address;
//! * a range (`A-B`) never changes and is reported.
//!
//! A jump to a chain of the admin's own counts as accepting: such chains
//! hold the accept rules of a service (`-s 172.20.14.0/24 -j ZIMBRA`).

use crate::policy::ValueKind;

/// What a rule does with the packets it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Lets them in (`ACCEPT`, `accept`, a jump to the admin's chain).
    Accept,
    /// Drops or rejects them.
    Deny,
    /// Anything else (logging, marking, NAT, a return, none at all).
    Other,
}

/// Where an address stands in a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// The packet's source (`-s`, `saddr`, `from`, `<source>`); `negated`
    /// by `!`, `!=` or `invert`.
    Source { negated: bool },
    /// The packet's destination, or any other match on an address.
    Destination,
    /// Where NAT or forwarding sends the packet: one host.
    Target,
}

/// The kind of the address value `text` standing at `place` in a rule
/// with `verdict`; `list`: the syntax there holds a list an entry can be
/// added to.
pub(super) fn kind(place: Place, verdict: Verdict, text: &str, list: bool) -> ValueKind {
    if is_range(text) {
        return ValueKind::Range;
    }
    match place {
        Place::Source { negated } => match (lets_in(place, verdict), list && !negated) {
            (true, true) => ValueKind::TrustList { loopback: false },
            (true, false) => ValueKind::TrustRule,
            (false, _) => ValueKind::ExactList,
        },
        Place::Destination => ValueKind::ExactList,
        Place::Target => ValueKind::OtherHost,
    }
}

/// Whether a rule lets in the sources written at `place`: an accepting
/// rule's, or a denying rule's negated ones.
pub(super) fn lets_in(place: Place, verdict: Verdict) -> bool {
    match (place, verdict) {
        (Place::Source { negated }, Verdict::Accept) => !negated,
        (Place::Source { negated }, Verdict::Deny) => negated,
        _ => false,
    }
}

/// Whether `text` is an address range (`10.0.0.1-10.0.0.9`,
/// `10.0.0.1-9`): IPv6 spellings hold no `-`, so a dash between two
/// digits marks one. A port range after a `:` (`1.2.3.4:80-90`) is not
/// one.
pub(super) fn is_range(text: &str) -> bool {
    let addr = match text.rsplit_once(':') {
        // `a.b.c.d:port[-port]`: the range is of ports.
        Some((a, _)) if a.parse::<std::net::Ipv4Addr>().is_ok() => a,
        _ => text,
    };
    let b = addr.as_bytes();
    (1..b.len().saturating_sub(1))
        .any(|i| b[i] == b'-' && b[i - 1].is_ascii_hexdigit() && b[i + 1].is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::Surface;
    use crate::surface::testutil::{DUAL, Fixture};
    use Place::{Destination, Source, Target};
    use ValueKind::{ExactList, OtherHost, Range, TrustList, TrustRule};
    use Verdict::{Accept, Deny, Other};

    #[test]
    fn kinds_by_place_and_verdict() {
        let src = Source { negated: false };
        let not_src = Source { negated: true };
        let list = TrustList { loopback: false };
        // (place, verdict, text, list syntax, kind)
        let cases = [
            (src, Accept, "10.0.0.0/8", true, list),
            (src, Accept, "10.0.0.0/8", false, TrustRule),
            // "Drop all but these" lets these in; no entry can be added to
            // a negated match without excluding it too.
            (not_src, Deny, "10.0.0.0/8", true, TrustRule),
            (not_src, Accept, "10.0.0.0/8", true, ExactList),
            (src, Deny, "10.0.0.0/8", true, ExactList),
            (src, Other, "10.0.0.5", true, ExactList),
            (Destination, Accept, "10.0.0.5", true, ExactList),
            (Target, Other, "10.0.0.5:25", false, OtherHost),
            (Target, Other, "10.0.0.5-10.0.0.9", false, Range),
            (src, Accept, "10.0.0.5-10.0.0.9", true, Range),
            (src, Accept, "2001:db8::1-2001:db8::9", true, Range),
        ];
        for (place, verdict, text, l, want) in cases {
            assert_eq!(
                kind(place, verdict, text, l),
                want,
                "{place:?} {verdict:?} {text}"
            );
        }
    }

    #[test]
    fn ranges_are_told_from_ports_and_names() {
        for (text, range) in [
            ("10.0.0.1-10.0.0.9", true),
            ("192.168.200.3-10", true),
            ("2001:db8::1-2001:db8::ff", true),
            ("10.0.0.1:80-90", false),
            ("10.0.0.1", false),
            ("[2001:db8::1]:80", false),
            ("2001:db8::1", false),
            ("10.0.0.0/8", false),
            ("-10", false),
        ] {
            assert_eq!(is_range(text), range, "{text}");
        }
    }

    #[test]
    fn hostile_text_is_an_error_or_a_report_never_a_panic() {
        let fx = Fixture::new(DUAL);
        let long = format!("-A INPUT -s {} -j ACCEPT", "192.168.2.1,".repeat(5000));
        let texts = [
            "",
            "\u{e9}\"{[<#!",
            "*filter\n-A INPUT -s \"192.168.2.1\u{e9}\" -j ACCEPT\nCOMMIT\n",
            "{{{{ }}}} ]]] ))) <<<<>>>> \"\"\"",
            "table ip t { chain c { ip saddr { 192.168.2.1- , -192.168.2.1 } accept } }",
            "virtual_ipaddress {\r\n 192.168.2.1/99 dev\r\n}\r\n",
            "<zone><source address=\"192.168.2.1\u{e9}\"/></zone>",
            "{\"bind_addr\": \"192.168.2.1\\u00e9\", \"x\": [\"2001:db8:14::25\"]}",
            "nat: { nat_1_1_mapping = \"192.168.2.1\" \\\n }",
            "\\\n\\",
            "192.168.2.1-192.168.2.0 2001:db8:14::25-1 1.2.3.4-999",
            "\0\0\0 192.168.2.1 \u{feff}",
            &long,
        ];
        for s in [
            Surface::Iptables,
            Surface::Nftables,
            Surface::Ufw,
            Surface::Firewalld,
            Surface::Keepalived,
            Surface::ServiceDiscover,
            Surface::Videoserver,
        ] {
            let reader = s.reader().unwrap();
            for path in [
                "/etc/iptables/rules.v4",
                "/etc/ufw/user.rules",
                "/etc/firewalld/direct.xml",
                "/etc/x",
            ] {
                for t in &texts {
                    for ctx in [fx.plan(), fx.scan()] {
                        match reader.analyze(path, t, &ctx) {
                            Ok(_) => {}
                            Err(e) => assert!(
                                e.to_string().starts_with(&format!("{path}:")),
                                "{s} {t:?}: {e}"
                            ),
                        }
                    }
                }
            }
        }
    }
}
