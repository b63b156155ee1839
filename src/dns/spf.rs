//! SPF records (RFC 7208) as text, for every stage that reads one:
//! whether a TXT text is SPF (§4.5), its terms (§4.6.1), the networks its
//! `ip4:`/`ip6:` mechanisms name (§5.6), and the edits that move an old
//! address in them ([`plan_edits`]). `zmreip check` evaluates records
//! with these ([`crate::check::spf`]); the `zonefile` and `dns` surfaces
//! and the check's suggestion edit them.

use std::ops::Range;

use ipnet::IpNet;

use crate::addr::Matcher;
use crate::model::{Finding, Target};
use crate::notice::{Code, Notice};
use crate::policy::{Rewriter, ValueKind};
use crate::surface::{Surface, at, find};

/// Whether a TXT text (its strings joined) is an SPF record: `v=spf1`,
/// any case, alone or followed by a space.
pub fn is_spf(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 6 && b[..6].eq_ignore_ascii_case(b"v=spf1") && (b.len() == 6 || b[6] == b' ')
}

/// One term of an SPF record: a mechanism with its qualifier, or a
/// modifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term<'a> {
    /// Byte range of the whole term in the record.
    pub range: Range<usize>,
    /// The term as written.
    pub text: &'a str,
    /// `+`, `-`, `~`, `?` or empty.
    pub qualifier: &'a str,
    /// The term without its qualifier.
    pub body: &'a str,
}

impl<'a> Term<'a> {
    /// Whether the mechanism authorizes (`+` or none) rather than denies
    /// (`-`, `~`) or stays neutral (`?`).
    pub fn positive(&self) -> bool {
        self.qualifier.is_empty() || self.qualifier == "+"
    }

    /// A modifier `name=value`; mechanisms never hold `=` before a `:` or
    /// `/`.
    pub fn modifier(&self) -> Option<(&'a str, &'a str)> {
        let (head, value) = self.text.split_once('=')?;
        let name_like = !head.is_empty()
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        name_like.then_some((head, value))
    }

    /// An `ip4:` or `ip6:` mechanism: the mechanism as written with its
    /// colon, and the address or network after it.
    pub fn ip(&self) -> Option<(&'a str, &'a str)> {
        let head = self.body.get(..4)?;
        (head.eq_ignore_ascii_case("ip4:") || head.eq_ignore_ascii_case("ip6:"))
            .then(|| self.body.split_at(4))
    }
}

/// The terms of an SPF record after its version, in order. Terms are
/// separated by single spaces (§4.6.1); empty ones are skipped.
pub fn terms(record: &str) -> Vec<Term<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    for (i, text) in record.split(' ').enumerate() {
        let start = pos;
        pos += text.len() + 1;
        if i == 0 || text.is_empty() {
            continue;
        }
        let (qualifier, body) = match text.as_bytes()[0] {
            b'+' | b'-' | b'~' | b'?' => text.split_at(1),
            _ => ("", text),
        };
        out.push(Term {
            range: start..start + text.len(),
            text,
            qualifier,
            body,
        });
    }
    out
}

/// The network an `ip4:` (`ip6` false) or `ip6:` value names: a host
/// for a bare address; `None` when it is not one of that family.
pub fn network(ip6: bool, value: &str) -> Option<IpNet> {
    let net = value
        .parse::<IpNet>()
        .ok()
        .or_else(|| value.parse::<std::net::IpAddr>().ok().map(IpNet::from))?;
    (net.addr().is_ipv6() == ip6).then_some(net)
}

/// The network of an `ip4:`/`ip6:` term's value.
fn term_network(mechanism: &str, value: &str) -> Option<IpNet> {
    network(mechanism.eq_ignore_ascii_case("ip6:"), value)
}

/// What moving the old addresses decided for one TXT record.
#[derive(Debug, Default)]
pub struct Rewrite {
    /// Edits of the joined text: byte range → replacement, reason.
    pub edits: Vec<(Range<usize>, String, String)>,
    pub findings: Vec<Finding>,
    pub warnings: Vec<Notice>,
    /// A positive mechanism names an old address (the RRset moves).
    pub moved: bool,
}

/// Where a TXT record is, for findings and messages.
pub struct Place<'a> {
    /// The owner name.
    pub owner: &'a str,
    /// For messages: `/etc/bind/db.x:7`, or a zone.
    pub shown: &'a str,
    /// The target findings carry.
    pub target: &'a Target,
    /// The surface findings carry.
    pub surface: Surface,
}

/// Decides the edits of one TXT text (strings joined) that hold an old
/// address. Only an `ip4:`/`ip6:` mechanism naming it changes, under the
/// trust-list policy (the host entry is swapped; a network holding the
/// old address but not the new gets the new host beside it, unless a
/// positive mechanism already covers it). Mechanisms qualified `-`, `~`
/// or `?` are never turned towards the new address. A TXT record that is
/// not SPF is reported, not changed. Without a rewriter only findings are
/// made.
pub fn plan_edits(
    text: &str,
    place: &Place,
    matcher: &Matcher,
    rewriter: Option<&Rewriter>,
) -> Rewrite {
    let mut out = Rewrite::default();
    if !matcher.may_match(text) || matcher.find(text).is_empty() {
        return out;
    }
    let (owner, shown, target) = (place.owner, place.shown, place.target);
    if !is_spf(text) {
        out.findings
            .extend(find(matcher, place.surface, target, text));
        out.warnings.push(Notice::new(
            Code::ZoneTxtUnchanged,
            format!(
                "{shown}: the TXT record of {owner} mentions an old address but is not SPF; change it by hand if it matters"
            ),
        ));
        return out;
    }
    let ips: Vec<(Term, &str, &str)> = terms(text)
        .into_iter()
        .filter_map(|t| t.ip().map(|(m, v)| (t, m, v)))
        .collect();
    // Networks authorized by positive ip4:/ip6: mechanisms that do not
    // hold an old address, with where they stand: a new entry they
    // already cover is not added.
    let mut covered: Vec<(IpNet, usize)> = ips
        .iter()
        .filter(|(t, _, v)| t.positive() && matcher.find(v).is_empty())
        .filter_map(|(t, m, v)| Some((term_network(m, v)?, t.range.start)))
        .collect();
    // SPF takes the first mechanism that matches: an entry is left out as
    // authorized elsewhere only when no mechanism between the two could
    // deny the address or stay neutral about it first.
    let all = terms(text);
    let blocked = |a: usize, b: usize| {
        let (lo, hi) = (a.min(b), a.max(b));
        all.iter().any(|t| {
            !t.positive() && t.modifier().is_none() && lo < t.range.start && t.range.start < hi
        })
    };
    for (_, _, value) in &ips {
        out.findings
            .extend(
                find(matcher, place.surface, target, value)
                    .into_iter()
                    .map(|mut f| {
                        f.context = text.to_string();
                        f
                    }),
            );
    }
    let Some(rw) = rewriter else {
        return out;
    };
    // Hosts first: where the record names the old host itself, the new
    // host takes its place (and qualifier); a network around the old
    // address then finds it authorized instead of adding it again.
    let mut order: Vec<&(Term, &str, &str)> = ips.iter().collect();
    order.sort_by_key(|(_, m, v)| {
        term_network(m, v).is_none_or(|n| n.prefix_len() != n.max_prefix_len())
    });
    for (term, mechanism, value) in order {
        if matcher.find(value).is_empty() {
            continue;
        }
        if !term.positive() {
            let (code, what) = if term.qualifier == "?" {
                (Code::ZoneSpfNeutralUnchanged, "is neutral about")
            } else {
                (Code::ZoneSpfDenyUnchanged, "denies")
            };
            out.warnings.push(Notice::new(
                code,
                format!(
                    "{shown}: `{}` in the SPF record of {owner} {what} the old address; it is left as it is, never turned against the new one",
                    term.text
                ),
            ));
            continue;
        }
        if term_network(mechanism, value).is_none() {
            // Not an address of its family (`ip4:192.0.2.1:25`, a stray
            // newline): evaluators fail the record, and a rewrite could
            // only guess what it meant.
            out.warnings.push(Notice::new(
                Code::ZoneTxtUnchanged,
                format!(
                    "{shown}: `{}` in the SPF record of {owner} mentions the old address but is not a valid {mechanism} mechanism; it is left as it is, fix it by hand",
                    term.text
                ),
            ));
            continue;
        }
        let res = rw.rewrite(&[value], ValueKind::TrustList { loopback: false });
        out.warnings.extend(at(res.notes, target));
        if !res.changed {
            continue;
        }
        let mut parts = Vec::new();
        let mut reasons = res.reasons.clone();
        for p in res.after.iter().flat_map(|v| v.split_whitespace()) {
            if p != *value
                && let Some(n) = term_network(mechanism, p)
            {
                if let Some((by, _)) = covered
                    .iter()
                    .find(|(c, at)| c.contains(&n) && !blocked(*at, term.range.start))
                {
                    reasons.push(format!("{p} is already authorized by {by}"));
                    continue;
                }
                covered.push((n, term.range.start));
            }
            parts.push(format!("{}{mechanism}{p}", term.qualifier));
        }
        let replacement = parts.join(" ");
        if replacement == term.text {
            // What the policy adds is authorized already (a plan of a
            // record that has moved): nothing changes, nothing moves.
            continue;
        }
        out.moved = true;
        let mut range = term.range.clone();
        if parts.is_empty() && range.start > 0 {
            // The mechanism goes away: take its leading space with it.
            range.start -= 1;
        }
        out.edits.push((
            range,
            replacement,
            format!("SPF of {owner}: {}", reasons.join("; ")),
        ));
    }
    out
}

/// Applies edits of the joined text to the strings it was joined from:
/// a replacement goes into the string where the edited range starts, the
/// rest of the range is removed from whichever strings held it.
pub fn edit_strings(strings: &[Vec<u8>], edits: &[(Range<usize>, String, String)]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![Vec::new(); strings.len()];
    let mut i = 0;
    for (k, s) in strings.iter().enumerate() {
        for &b in s {
            if let Some((_, repl, _)) = edits.iter().find(|(r, _, _)| r.start == i) {
                out[k].extend_from_slice(repl.as_bytes());
            }
            if !edits.iter().any(|(r, _, _)| r.contains(&i)) {
                out[k].push(b);
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_spf_only_with_the_exact_version() {
        for (t, want) in [
            ("v=spf1", true),
            ("v=spf1 -all", true),
            ("V=SPF1 mx", true),
            ("v=spf10 -all", false),
            ("v=spf1-all", false),
            (" v=spf1 -all", false),
            ("spf2.0/pra ip4:192.0.2.1", false),
            ("", false),
        ] {
            assert_eq!(is_spf(t), want, "{t:?}");
        }
    }

    #[test]
    fn terms_keep_their_ranges_and_qualifiers() {
        let rec =
            "v=spf1 ip4:192.0.2.1  -IP6:2001:db8::/32 ~all redirect=_spf.example.test ?a:mail";
        let got: Vec<(&str, &str, &str)> = terms(rec)
            .iter()
            .map(|t| {
                assert_eq!(&rec[t.range.clone()], t.text);
                (t.qualifier, t.body, t.text)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("", "ip4:192.0.2.1", "ip4:192.0.2.1"),
                ("-", "IP6:2001:db8::/32", "-IP6:2001:db8::/32"),
                ("~", "all", "~all"),
                (
                    "",
                    "redirect=_spf.example.test",
                    "redirect=_spf.example.test"
                ),
                ("?", "a:mail", "?a:mail"),
            ]
        );
        let ts = terms(rec);
        assert_eq!(ts[0].ip(), Some(("ip4:", "192.0.2.1")));
        assert_eq!(ts[1].ip(), Some(("IP6:", "2001:db8::/32")));
        assert!(ts[1].modifier().is_none() && !ts[1].positive());
        assert_eq!(ts[3].modifier(), Some(("redirect", "_spf.example.test")));
        assert!(ts[3].ip().is_none());
        // A mechanism holding `=` after its colon is not a modifier.
        assert_eq!(terms("v=spf1 exists:%{i}=x")[0].modifier(), None);
        // `ip4` without a value is a mechanism with no network.
        assert_eq!(terms("v=spf1 ip4 -all")[0].ip(), None);
    }

    #[test]
    fn networks_of_each_family() {
        let cases: &[(bool, &str, Option<&str>)] = &[
            (false, "192.0.2.1", Some("192.0.2.1/32")),
            (false, "192.0.2.0/24", Some("192.0.2.0/24")),
            (true, "2001:db8::1", Some("2001:db8::1/128")),
            (true, "2001:db8::/32", Some("2001:db8::/32")),
            // The wrong family for the mechanism.
            (false, "2001:db8::1", None),
            (true, "192.0.2.1", None),
            (false, "192.0.2.0/33", None),
            (false, "mail.example.test", None),
            (false, "", None),
        ];
        for (ip6, v, want) in cases {
            assert_eq!(
                network(*ip6, v).map(|n| n.to_string()).as_deref(),
                *want,
                "{v}"
            );
        }
    }

    #[test]
    fn edits_land_in_the_strings_they_cover() {
        let strings = [b"v=spf1 ip4:192".to_vec(), b".0.2.1 -all".to_vec()];
        // Replace `ip4:192.0.2.1` (bytes 7..20) across both strings.
        let edits = [(7..20, "ip4:198.51.100.7".to_string(), String::new())];
        let out = edit_strings(&strings, &edits);
        assert_eq!(
            out,
            [b"v=spf1 ip4:198.51.100.7".to_vec(), b" -all".to_vec()]
        );
    }

    /// `plan_edits` of a record for 192.0.2.10 → 198.51.100.7 (prefixes
    /// unknown): the edits applied, whether the RRset moves, the warnings.
    fn planned(record: &str) -> (String, bool, Vec<&'static str>) {
        use crate::spec::{Pair, PrefixSource};
        let pair = Pair {
            old: "192.0.2.10".parse().unwrap(),
            new: "198.51.100.7".parse().unwrap(),
            old_prefix: 32,
            new_prefix: 32,
            old_prefix_source: PrefixSource::Host,
            new_prefix_source: PrefixSource::Host,
        };
        let matcher = Matcher::new(&[pair.old]);
        let rw = Rewriter::new(vec![pair], Vec::new());
        let target = Target::Line {
            file: "/etc/bind/db.example.test".into(),
            line: 5,
        };
        let place = Place {
            owner: "example.test.",
            shown: "/etc/bind/db.example.test:5",
            target: &target,
            surface: Surface::Zonefile,
        };
        let out = plan_edits(record, &place, &matcher, Some(&rw));
        let mut text = record.to_string();
        let mut edits = out.edits.clone();
        edits.sort_by_key(|(r, _, _)| std::cmp::Reverse(r.start));
        for (r, repl, _) in edits {
            text.replace_range(r, &repl);
        }
        let codes = out.warnings.iter().map(|w| w.code.as_str()).collect();
        (text, out.moved, codes)
    }

    #[test]
    fn a_moved_record_plans_nothing_and_bad_mechanisms_stay() {
        // (record, after, moves, warning codes)
        let cases: &[(&str, &str, bool, &[&str])] = &[
            (
                "v=spf1 ip4:192.0.2.10 -all",
                "v=spf1 ip4:198.51.100.7 -all",
                true,
                &[],
            ),
            // A network holding the old address gains the new host ...
            (
                "v=spf1 ip4:192.0.2.0/28 -all",
                "v=spf1 ip4:192.0.2.0/28 ip4:198.51.100.7 -all",
                true,
                &["trust-network-kept"],
            ),
            // ... once: planned again, the record is left alone and does
            // not move (its zone's serial is not raised again).
            (
                "v=spf1 ip4:192.0.2.0/28 ip4:198.51.100.7 -all",
                "v=spf1 ip4:192.0.2.0/28 ip4:198.51.100.7 -all",
                false,
                &["trust-network-kept"],
            ),
            // The old host named beside a network that holds it: the
            // host is swapped in its place, qualifier kept, and the
            // network gains nothing (found by the spf fuzz target).
            (
                "v=spf1 ip4:192.0.2.0/24 +ip4:192.0.2.10 ?all",
                "v=spf1 ip4:192.0.2.0/24 +ip4:198.51.100.7 ?all",
                true,
                &["trust-network-kept"],
            ),
            // A second mechanism naming the old host goes: the first one,
            // moved, authorizes the new host already (found by the spf
            // fuzz target) ...
            (
                "v=spf1 ip4:192.0.2.10 mx ip4:192.0.2.10 -all",
                "v=spf1 ip4:198.51.100.7 mx -all",
                true,
                &[],
            ),
            // ... but not where a mechanism between them would deny or
            // be neutral about the new host first (SPF takes the first
            // match).
            (
                "v=spf1 ip4:192.0.2.10 -ip4:198.51.100.0/24 ip4:198.51.100.0/16 -all",
                "v=spf1 ip4:198.51.100.7 -ip4:198.51.100.0/24 ip4:198.51.100.0/16 -all",
                true,
                &[],
            ),
            (
                "v=spf1 ip4:192.0.2.10 ?all ip4:198.51.100.7",
                "v=spf1 ip4:198.51.100.7 ?all ip4:198.51.100.7",
                true,
                &[],
            ),
            // Not an address of the mechanism's family: left, with a
            // warning, never cut short (found by the spf fuzz target).
            (
                "v=spf1 ip4:192.0.2.10\n",
                "v=spf1 ip4:192.0.2.10\n",
                false,
                &["zone-txt-unchanged"],
            ),
            (
                "v=spf1 ip4:192.0.2.10:25 -all",
                "v=spf1 ip4:192.0.2.10:25 -all",
                false,
                &["zone-txt-unchanged"],
            ),
        ];
        for (record, after, moves, codes) in cases {
            let (got, moved, warned) = planned(record);
            assert_eq!(got, *after, "{record:?}");
            assert_eq!(moved, *moves, "{record:?} moves");
            assert_eq!(warned, *codes, "{record:?} warnings");
        }
    }

    #[test]
    fn modifiers_and_mechanisms() {
        let table: &[(&str, Option<(&str, &str)>)] = &[
            (
                "redirect=_spf.example.test",
                Some(("redirect", "_spf.example.test")),
            ),
            ("exp=explain.%{d}", Some(("exp", "explain.%{d}"))),
            ("ip4:192.0.2.1", None),
            ("a:host.example.test/24", None),
            ("include:x=y.example", None),
            ("=x", None),
        ];
        for (t, want) in table {
            let rec = format!("v=spf1 {t}");
            assert_eq!(terms(&rec)[0].modifier(), *want, "{t}");
        }
    }
}
