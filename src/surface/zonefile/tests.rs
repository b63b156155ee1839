//! Table-driven tests of the zone file parser, named.conf reading and the
//! zonefile surface, full of the traps real zone files hold.

use std::net::IpAddr;

use super::parse::{self, absolute, entries, reverse_addr, ttl};
use super::*;
use crate::addr::Matcher;
use crate::policy::Rewriter;
use crate::spec::{Pair, PrefixSource};
use crate::surface::Ctx;

const TODAY: Date = Date {
    year: 2026,
    month: 11,
    day: 28,
};

fn pair(old: &str, new: &str, prefix: u8) -> Pair {
    Pair {
        old: old.parse().unwrap(),
        new: new.parse().unwrap(),
        old_prefix: prefix,
        new_prefix: prefix,
        old_prefix_source: PrefixSource::Given,
        new_prefix_source: PrefixSource::Given,
    }
}

/// A host in a temp dir with these files (host path → text).
fn host(files: &[(&str, &str)]) -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    for (p, t) in files {
        let real = dir.path().join(p.trim_start_matches('/'));
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(real, t).unwrap();
    }
    let h = Host::open(dir.path(), None).unwrap();
    (dir, h)
}

/// Applies line changes to a text, checking each precondition, keeping
/// line terminators.
fn apply(text: &str, file: &str, changes: &[Change]) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    for c in changes {
        let Target::Line { file: f, line } = &c.target else {
            panic!("not a line target: {:?}", c.target)
        };
        if f != file {
            continue;
        }
        let cur = &mut lines[line - 1];
        let cr = cur.ends_with('\r');
        let body = cur.strip_suffix('\r').unwrap_or(cur);
        let (Value::One(before), Value::One(after)) = (&c.before, &c.after) else {
            panic!("zone changes are single lines")
        };
        assert_eq!(body, before, "precondition of {c:?}");
        *cur = format!("{after}{}", if cr { "\r" } else { "" });
    }
    lines.join("\n")
}

struct Run {
    report: Report,
}

/// Analyzes `file` (a zone named `zone` in `files`) moving `pairs`.
fn run(files: &[(&str, &str)], zones: &[(&str, &str)], pairs: Vec<Pair>, mode: Mode) -> Run {
    let (_d, h) = host(files);
    let universe: Vec<Zone> = zones
        .iter()
        .map(|(name, file)| Zone {
            name: name.to_string(),
            file: file.to_string(),
            view: None,
            blocked: None,
        })
        .collect();
    let olds: Vec<IpAddr> = pairs.iter().map(|p| p.old).collect();
    let matcher = Matcher::new(&olds);
    let rw = Rewriter::new(pairs, None);
    let ctx = Ctx {
        host: &h,
        matcher: &matcher,
        rewriter: Some(&rw),
    };
    let mut report = Report::default();
    for z in &universe {
        let text = h.read(&z.file).unwrap().unwrap();
        report.extend(analyze_zone(z, &text, &universe, &ctx, mode, TODAY).unwrap());
    }
    Run { report }
}

#[test]
fn ttl_units() {
    let table: &[(&str, Option<u32>)] = &[
        ("300", Some(300)),
        ("0", Some(0)),
        ("1h", Some(3600)),
        ("1H30M", Some(5400)),
        (
            "1w2d3h4m5s",
            Some(604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5),
        ),
        ("2d", Some(172_800)),
        ("10m5", Some(605)),
        ("IN", None),
        ("A", None),
        ("1x", None),
        ("", None),
        ("4294967296", None),
        ("-5", None),
    ];
    for (s, want) in table {
        assert_eq!(ttl(s), *want, "{s}");
    }
}

#[test]
fn absolute_names() {
    let table: &[(&str, &str, Option<&str>)] = &[
        ("@", "example.test.", Some("example.test.")),
        ("mail", "example.test.", Some("mail.example.test.")),
        ("Mail.Example.Test.", "other.", Some("mail.example.test.")),
        ("mail", "", None),
        ("@", "", None),
        ("mail", ".", Some("mail.")),
        ("a\\.b", "example.test.", Some("a\\.b.example.test.")),
        (
            "trailing\\.",
            "example.test.",
            Some("trailing\\..example.test."),
        ),
        (
            "10",
            "2.0.192.in-addr.arpa.",
            Some("10.2.0.192.in-addr.arpa."),
        ),
    ];
    for (n, o, want) in table {
        assert_eq!(absolute(n, o).as_deref(), *want, "{n} in {o}");
    }
}

#[test]
fn reverse_names() {
    let v6 = "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa.";
    let table: &[(&str, Option<&str>)] = &[
        ("10.2.0.192.in-addr.arpa.", Some("192.0.2.10")),
        ("10.2.0.192.IN-ADDR.ARPA", Some("192.0.2.10")),
        ("2.0.192.in-addr.arpa.", None),
        ("010.2.0.192.in-addr.arpa.", None),
        ("256.2.0.192.in-addr.arpa.", None),
        ("1.10.2.0.192.in-addr.arpa.", None),
        (v6, Some("4321:0:1:2:3:4:567:89ab")),
        ("mail.example.test.", None),
    ];
    for (n, want) in table {
        assert_eq!(
            reverse_addr(n),
            want.map(|w| w.parse::<IpAddr>().unwrap()),
            "{n}"
        );
    }
}

#[test]
fn serials() {
    let table: &[(u32, u32)] = &[
        (2024010101, 2026112800),
        (2026112800, 2026112801),
        (2026112899, 2026112900),
        (2027010105, 2027010106),
        (1, 2),
        (41, 42),
        // Not a date: month 13.
        (2026131001, 2026131002),
        (u32::MAX, 0),
    ];
    for (old, want) in table {
        assert_eq!(next_serial(*old, TODAY), *want, "{old}");
    }
}

#[test]
fn civil_dates() {
    let table: &[(i64, (u32, u32, u32))] = &[
        (0, (1970, 1, 1)),
        (59, (1970, 3, 1)),
        (11_016, (2000, 2, 29)),
        (20_785, (2026, 11, 28)),
        (20_819, (2027, 1, 1)),
    ];
    for (days, (y, m, d)) in table {
        let got = Date::from_days(*days);
        assert_eq!((got.year, got.month, got.day), (*y, *m, *d), "{days}");
    }
}

#[test]
fn entries_handle_parentheses_quotes_and_comments() {
    let text = [
        "$TTL 1h ; default",
        "@ IN SOA ns1 hostmaster ( 2024010101 ; serial",
        "   3600 ) ; refresh",
        "mail IN TXT \"a ; not a comment\" \"b \\\" c\" ; real comment",
        "  IN A 192.0.2.10",
        "esc\\;aped IN A 192.0.2.11",
        "",
        "; only a comment",
        "",
    ]
    .join("\n");
    let text = text.as_str();
    let es = entries("/z", text).unwrap();
    let shape: Vec<(usize, bool, Vec<&str>)> = es
        .iter()
        .map(|e| {
            (
                e.line,
                e.blank_owner,
                e.toks.iter().map(|t| t.raw.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (1, false, vec!["$TTL", "1h"]),
            (
                2,
                false,
                vec!["@", "IN", "SOA", "ns1", "hostmaster", "2024010101", "3600"]
            ),
            (
                4,
                false,
                vec!["mail", "IN", "TXT", "\"a ; not a comment\"", "\"b \\\" c\""]
            ),
            (5, true, vec!["IN", "A", "192.0.2.10"]),
            (6, false, vec!["esc\\;aped", "IN", "A", "192.0.2.11"]),
        ]
    );
    // The serial token knows its line and place.
    let serial = &es[1].toks[5];
    assert_eq!((serial.line, serial.span.clone()), (2, 26..36));
    assert_eq!(es[2].toks[4].value(), b"b \" c");
}

#[test]
fn entries_reject_broken_syntax_with_the_line() {
    let table: &[(&str, usize, &str)] = &[
        ("@ IN SOA a b ( 1 2 3\n4 5\n", 1, "never closed"),
        ("x IN A 1.2.3.4 )\n", 1, "without a matching"),
        ("ok IN A 1.2.3.4\nx IN TXT \"open\n", 2, "unterminated"),
    ];
    for (text, line, msg) in table {
        match entries("/etc/bind/db.x", text) {
            Err(Error::Parse {
                path,
                line: l,
                message,
                ..
            }) => {
                assert_eq!(path, "/etc/bind/db.x");
                assert_eq!(l, *line, "{text:?}");
                assert!(message.contains(msg), "{message}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn records_resolve_owners_ttls_and_origins() {
    let text = [
        "$ORIGIN example.test.",
        "$TTL 300",
        "@ 3600 IN SOA ns1 hm 1 2 3 4 5",
        "mail IN 60 A 192.0.2.10",
        "     AAAA 2001:db8::10",
        "$ORIGIN sub.example.test.",
        "www 1d A 192.0.2.20",
        "ext.other.test. A 192.0.2.30",
        "$TTL 2h",
        "last A 192.0.2.40",
    ]
    .join("\n");
    let mut st = parse::State::default();
    let items = parse::parse("/z", &text, &mut st).unwrap();
    let got: Vec<(String, Option<u32>, String)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some((r.owner.clone(), r.ttl, r.rtype.clone())),
            _ => None,
        })
        .collect();
    let want: Vec<(String, Option<u32>, String)> = [
        ("example.test.", Some(3600), "SOA"),
        ("mail.example.test.", Some(60), "A"),
        ("mail.example.test.", Some(300), "AAAA"),
        ("www.sub.example.test.", Some(86_400), "A"),
        ("ext.other.test.", Some(300), "A"),
        ("last.sub.example.test.", Some(7200), "A"),
    ]
    .iter()
    .map(|(o, t, ty)| (o.to_string(), *t, ty.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn records_errors_name_the_line() {
    let table: &[(&str, usize, &str)] = &[
        ("  IN A 192.0.2.1\n", 1, "no owner"),
        ("mail IN A 1.2.3.4\n$FOO bar\n", 2, "unknown directive"),
        ("$TTL soon\n", 1, "not a TTL"),
        ("mail IN\n", 1, "no type"),
        ("$ORIGIN\n", 1, "needs a domain name"),
    ];
    for (text, line, msg) in table {
        let mut st = parse::State {
            origin: "example.test.".into(),
            ..Default::default()
        };
        match parse::parse("/z", text, &mut st) {
            Err(Error::Parse {
                line: l, message, ..
            }) => {
                assert_eq!(l, *line, "{text:?}");
                assert!(message.contains(msg), "{text:?}: {message}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
    // A relative name with no origin at all.
    let mut st = parse::State::default();
    match parse::parse("/z", "mail IN A 192.0.2.1\n", &mut st) {
        Err(Error::Parse { message, .. }) => assert!(message.contains("no $ORIGIN"), "{message}"),
        other => panic!("{other:?}"),
    }
}

const FWD: &str = "$TTL 3600\r
@   IN  SOA ns1.example.test. hostmaster.example.test. (\r
        2024010101 ; serial\r
        3600 600 86400 300 )\r
    IN  NS  ns1\r
    IN  MX  10 mail\r
    IN  TXT \"v=spf1 mx ip4:192.0.2.10 ip4:192.0.2.100 -ip4:192.0.2.10/32 -all\"\r
; mail used to be 192.0.2.10 (this comment stays)\r
mail        IN  A     192.0.2.10\r
mail2       IN  A     192.0.2.100\r
mail3   300 IN  A     192.0.2.1\r
v6          IN  AAAA  2001:DB8:0:0:0:0:0:10\r
split       IN  TXT   \"v=spf1 ip4:192.0.\" \"2.10 ~all\"\r
multi       IN  TXT   ( \"v=spf1 a \"\r
                        \"ip4:192.0.2.10 -all\" )\r
note        IN  TXT   \"server 192.0.2.10 is retired\"\r
sub         IN  NS    ns.sub\r
ns.sub      IN  A     192.0.2.10\r
srv         IN  SRV   0 0 25 mail\r
";

#[test]
fn forward_zone_moves_only_what_holds_the_old_address() {
    let r = run(
        &[("/etc/bind/db.example.test", FWD)],
        &[("example.test.", "/etc/bind/db.example.test")],
        vec![
            pair("192.0.2.10", "198.51.100.7", 24),
            pair("2001:db8::10", "2001:db8:1::7", 64),
        ],
        Mode::Move,
    );
    let out = apply(FWD, "/etc/bind/db.example.test", &r.report.changes);
    let want = FWD
        .replace("2024010101 ; serial", "2026112800 ; serial")
        .replace(
            "\"v=spf1 mx ip4:192.0.2.10 ip4:192.0.2.100",
            "\"v=spf1 mx ip4:198.51.100.7 ip4:192.0.2.100",
        )
        .replace(
            "mail        IN  A     192.0.2.10",
            "mail        IN  A     198.51.100.7",
        )
        .replace(
            "v6          IN  AAAA  2001:DB8:0:0:0:0:0:10",
            "v6          IN  AAAA  2001:DB8:1:0:0:0:0:7",
        )
        .replace("\"ip4:192.0.2.10 -all\" )", "\"ip4:198.51.100.7 -all\" )")
        .replace(
            "\"v=spf1 ip4:192.0.\" \"2.10 ~all\"",
            "\"v=spf1 ip4:198.51.100.7\" \" ~all\"",
        )
        .replace(
            "ns.sub      IN  A     192.0.2.10",
            "ns.sub      IN  A     198.51.100.7",
        );
    assert_eq!(out, want);
    // The split SPF record's mechanism straddles two strings: the new
    // address goes in the first, the second keeps the rest.
    let split = r
        .report
        .changes
        .iter()
        .find(|c| {
            c.before
                == Value::One("split       IN  TXT   \"v=spf1 ip4:192.0.\" \"2.10 ~all\"".into())
        })
        .expect("split SPF changes");
    assert_eq!(
        split.after,
        Value::One("split       IN  TXT   \"v=spf1 ip4:198.51.100.7\" \" ~all\"".into())
    );
    let codes: Vec<&str> = r.report.warnings.iter().map(|w| w.code.as_str()).collect();
    assert!(codes.contains(&"zone-spf-deny-unchanged"), "{codes:?}");
    assert!(codes.contains(&"zone-txt-unchanged"), "{codes:?}");
    let glue = r
        .report
        .changes
        .iter()
        .find(|c| c.reason.contains("glue"))
        .expect("glue reason");
    assert!(
        glue.reason.contains("delegation sub.example.test."),
        "{}",
        glue.reason
    );
    // One serial bump, on the serial line.
    assert_eq!(
        r.report
            .changes
            .iter()
            .filter(|c| c.reason.contains("SOA serial"))
            .count(),
        1
    );
    // Findings: A, glue A, AAAA, 4 SPF mechanisms (two negative/split
    // included), the non-SPF TXT; never the comment, never 192.0.2.1/.100.
    let matched: Vec<&str> = r
        .report
        .findings
        .iter()
        .map(|f| f.matched.as_str())
        .collect();
    assert!(!matched.contains(&"192.0.2.100"), "{matched:?}");
    assert!(!matched.contains(&"192.0.2.1"), "{matched:?}");
    assert_eq!(r.report.findings.len(), 8, "{:#?}", r.report.findings);
}

#[test]
fn spf_networks_follow_the_trust_policy() {
    let zone = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hm 7 1 1 1 1\n\
@ TXT \"v=spf1 ip4:192.0.2.0/24 +ip4:192.0.2.10 include:_spf.example.net ?all\"\n";
    let r = run(
        &[("/z", zone)],
        &[("example.test.", "/z")],
        vec![pair("192.0.2.10", "198.51.100.7", 28)],
        Mode::Move,
    );
    let out = apply(zone, "/z", &r.report.changes);
    // The /24 is not the old interface network (/28): it stays and the
    // new host is authorized beside it, once.
    assert!(
        out.contains("\"v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 include:_spf.example.net ?all\""),
        "{out}"
    );
    // Not a date serial: plus one.
    assert!(out.contains("@ SOA ns hm 8 1 1 1 1"), "{out}");
}

#[test]
fn spf_new_address_already_authorized() {
    let table: &[(&str, &str)] = &[
        (
            "v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.10 -all",
            "v=spf1 ip4:198.51.100.0/24 -all",
        ),
        (
            "v=spf1 ip4:192.0.2.10 ip4:198.51.100.7 -all",
            "v=spf1 ip4:198.51.100.7 -all",
        ),
        (
            "v=spf1 ?ip4:192.0.2.10 ip4:192.0.2.10/32 a -all",
            "v=spf1 ?ip4:192.0.2.10 ip4:198.51.100.7/32 a -all",
        ),
        (
            "v=spf1 a:192.0.2.10.example.test -all",
            "v=spf1 a:192.0.2.10.example.test -all",
        ),
        ("V=SPF1 IP4:192.0.2.10 -ALL", "V=SPF1 IP4:198.51.100.7 -ALL"),
        ("v=spf10 ip4:192.0.2.10", "v=spf10 ip4:192.0.2.10"),
    ];
    for (before, after) in table {
        let zone =
            format!("$ORIGIN example.test.\n@ 300 SOA ns hm 1 1 1 1 1\n@ TXT \"{before}\"\n");
        let r = run(
            &[("/z", &zone)],
            &[("example.test.", "/z")],
            vec![pair("192.0.2.10", "198.51.100.7", 24)],
            Mode::Move,
        );
        let out = apply(&zone, "/z", &r.report.changes);
        assert!(
            out.contains(&format!("@ TXT \"{after}\"")),
            "{before}\n{out}"
        );
    }
}

#[test]
fn spf_string_limit_is_kept() {
    let long = "x".repeat(240);
    let zone = format!(
        "$ORIGIN example.test.\n@ 300 SOA ns hm 1 1 1 1 1\n@ TXT \"v=spf1 a:{long} ip4:10.0.0.1 -all\"\n"
    );
    let r = run(
        &[("/z", &zone)],
        &[("example.test.", "/z")],
        vec![pair("10.0.0.1", "2001:db8::1", 32)],
        Mode::Move,
    );
    // The families differ, so no move, no change at all.
    assert!(r.report.changes.is_empty());
    let zone = format!(
        "$ORIGIN example.test.\n@ 300 SOA ns hm 1 1 1 1 1\n@ TXT \"v=spf1 a:{long} ip4:10.0.0.1 -all\"\n"
    );
    let r = run(
        &[("/z", &zone)],
        &[("example.test.", "/z")],
        vec![pair("10.0.0.1", "100.100.100.100", 32)],
        Mode::Move,
    );
    assert!(r.report.changes.is_empty(), "{:?}", r.report.changes);
    assert!(
        r.report
            .warnings
            .iter()
            .any(|w| w.code == Code::ZoneTxtTooLong),
        "{:?}",
        r.report.warnings
    );
}

const REV_OLD: &str = concat!(
    "$TTL 1d\n",
    "@ IN SOA ns1.example.test. hm.example.test. 2026112805 3600 600 86400 300\n",
    "  IN NS ns1.example.test.\n",
    "10 IN PTR mail.example.test.\n",
    "1  IN PTR gw.example.test.\n",
);

const REV_NEW: &str = concat!(
    "$TTL 1d\n",
    "@ IN SOA ns1.example.test. hm.example.test. ( 2020010100 3600\n",
    "   600 86400 300 )\n",
    "  IN NS ns1.example.test.\n",
    "1 IN PTR router.example.test.\n",
    "\n",
);

#[test]
fn ptr_moves_between_reverse_zones_served_here() {
    let r = run(
        &[("/rev-old", REV_OLD), ("/rev-new", REV_NEW)],
        &[
            ("2.0.192.in-addr.arpa.", "/rev-old"),
            ("100.51.198.in-addr.arpa.", "/rev-new"),
        ],
        vec![pair("192.0.2.10", "198.51.100.7", 24)],
        Mode::Move,
    );
    let old = apply(REV_OLD, "/rev-old", &r.report.changes);
    let new = apply(REV_NEW, "/rev-new", &r.report.changes);
    assert_eq!(
        old,
        REV_OLD
            .replace("2026112805", "2026112806")
            .replace(
                "10 IN PTR mail.example.test.",
                "; 10 IN PTR mail.example.test. ; moved by zmreip to 7.100.51.198.in-addr.arpa. in /rev-new"
            )
    );
    assert_eq!(
        new,
        REV_NEW.replace("2020010100", "2026112800").replace(
            "1 IN PTR router.example.test.\n",
            "1 IN PTR router.example.test.\n7.100.51.198.in-addr.arpa.\t86400\tIN\tPTR\tmail.example.test.\n"
        )
    );
    assert!(
        r.report
            .findings
            .iter()
            .any(|f| f.kind == MatchKind::ReverseName && f.matched == "10.2.0.192.in-addr.arpa."),
        "{:?}",
        r.report.findings
    );
}

#[test]
fn ptr_renamed_in_place_in_the_same_zone() {
    let r = run(
        &[("/rev", REV_OLD)],
        &[("2.0.192.in-addr.arpa.", "/rev")],
        vec![pair("192.0.2.10", "192.0.2.77", 24)],
        Mode::Move,
    );
    let out = apply(REV_OLD, "/rev", &r.report.changes);
    assert_eq!(
        out,
        REV_OLD
            .replace("2026112805", "2026112806")
            .replace("10 IN PTR mail", "77 IN PTR mail")
    );
}

#[test]
fn ptr_for_a_zone_served_elsewhere_is_a_handoff() {
    let r = run(
        &[("/rev", REV_OLD)],
        &[("2.0.192.in-addr.arpa.", "/rev")],
        vec![pair("192.0.2.10", "203.0.113.9", 24)],
        Mode::Move,
    );
    assert!(r.report.changes.is_empty(), "{:?}", r.report.changes);
    let w = r
        .report
        .warnings
        .iter()
        .find(|w| w.code == Code::ZonePtrNotServed)
        .expect("hand-off");
    assert!(
        w.message
            .contains("PTR 9.113.0.203.in-addr.arpa. → mail.example.test."),
        "{}",
        w.message
    );
}

#[test]
fn ptr_with_inheriting_successor_is_not_moved() {
    let zone = "$ORIGIN 2.0.192.in-addr.arpa.\n@ 60 SOA ns hm 1 1 1 1 1\n10 PTR mail.example.test.\n   TXT \"owner inherited\"\n";
    let r = run(
        &[("/rev", zone), ("/rev-new", REV_NEW)],
        &[
            ("2.0.192.in-addr.arpa.", "/rev"),
            ("100.51.198.in-addr.arpa.", "/rev-new"),
        ],
        vec![pair("192.0.2.10", "198.51.100.7", 24)],
        Mode::Move,
    );
    assert!(r.report.changes.is_empty(), "{:?}", r.report.changes);
    assert!(
        r.report
            .warnings
            .iter()
            .any(|w| w.code == Code::ZonePtrUnchanged)
    );
}

#[test]
fn lower_ttl_touches_every_record_of_moving_rrsets() {
    let zone = "$ORIGIN example.test.\n$TTL 86400\n@ SOA ns hm 2026112800 1 1 1 1\n\
mail A 192.0.2.10\nmail A 192.0.2.11\nmail 120 AAAA 2001:db8::1\nwww 3600 A 192.0.2.10\nlow 60 A 192.0.2.10\nother A 192.0.2.12\n";
    let r = run(
        &[("/z", zone)],
        &[("example.test.", "/z")],
        vec![pair("192.0.2.10", "198.51.100.7", 24)],
        Mode::LowerTtl(300),
    );
    let out = apply(zone, "/z", &r.report.changes);
    assert_eq!(
        out,
        zone.replace("2026112800", "2026112801")
            .replace("mail A 192.0.2.10", "mail 300 A 192.0.2.10")
            .replace("mail A 192.0.2.11", "mail 300 A 192.0.2.11")
            .replace("www 3600 A", "www 300 A")
    );
}

#[test]
fn scan_reports_without_changing() {
    let (_d, h) = host(&[("/z", FWD)]);
    let zone = Zone {
        name: "example.test.".into(),
        file: "/z".into(),
        view: None,
        blocked: None,
    };
    let matcher = Matcher::new(&["192.0.2.10".parse().unwrap()]);
    let ctx = Ctx {
        host: &h,
        matcher: &matcher,
        rewriter: None,
    };
    let r = analyze_zone(
        &zone,
        FWD,
        std::slice::from_ref(&zone),
        &ctx,
        Mode::Move,
        TODAY,
    )
    .unwrap();
    assert!(r.changes.is_empty());
    assert_eq!(r.findings.len(), 7, "{:#?}", r.findings);
}

#[test]
fn blocked_zone_reports_and_warns() {
    let (_d, h) = host(&[("/z", FWD)]);
    let zone = Zone {
        name: "example.test.".into(),
        file: "/z".into(),
        view: None,
        blocked: Some("zone example.test is dynamic".into()),
    };
    let matcher = Matcher::new(&["192.0.2.10".parse().unwrap()]);
    let rw = Rewriter::new(vec![pair("192.0.2.10", "198.51.100.7", 24)], None);
    let ctx = Ctx {
        host: &h,
        matcher: &matcher,
        rewriter: Some(&rw),
    };
    let r = analyze_zone(
        &zone,
        FWD,
        std::slice::from_ref(&zone),
        &ctx,
        Mode::Move,
        TODAY,
    )
    .unwrap();
    assert!(r.changes.is_empty());
    assert!(r.warnings.iter().any(|w| w.code == Code::ZoneNotEdited));
}

const NAMED_CONF: &str = "// Debian layout
include \"/etc/bind/named.conf.options\";
include \"/etc/bind/named.conf.local\";
/* a block comment with zone \"fake\" { file \"x\"; }; */
";

const OPTIONS: &str = "options {
    directory \"/var/cache/bind\";   # BIND's working directory
    listen-on { any; };
};
";

const LOCAL: &str = "zone \"Example.Test\" {
    type master;
    file \"/etc/bind/db.example.test\";
};
zone \"2.0.192.in-addr.arpa\" IN { type primary; file \"db.192.0.2\"; };
zone \"dyn.example.test\" { type primary; file \"/var/lib/bind/db.dyn\"; allow-update { key \"ddns\"; }; };
zone \"static.example.test\" { type primary; file \"/etc/bind/db.static\"; allow-update { none; }; };
zone \"copy.example.test\" { type slave; file \"db.copy\"; masters { 192.0.2.53; }; };
zone \"raw.example.test\" { type primary; file \"db.raw\"; masterfile-format raw; };
zone \"empty1.test\" { type primary; file \"/etc/bind/db.empty\"; };
zone \"empty2.test\" { type primary; file \"/etc/bind/db.empty\"; };
zone \"hint\" { type hint; file \"/usr/share/dns/root.hints\"; };
view \"internal\" {
    match-clients { 10.0.0.0/8; };
    zone \"example.test\" { type primary; file \"/etc/bind/internal/db.example.test\"; };
};
";

#[test]
fn named_conf_zones() {
    let (_d, h) = host(&[
        ("/etc/bind/named.conf", NAMED_CONF),
        ("/etc/bind/named.conf.options", OPTIONS),
        ("/etc/bind/named.conf.local", LOCAL),
    ]);
    let zones = namedconf::zones(&h).unwrap();
    type Row<'a> = (&'a str, &'a str, Option<&'a str>, bool, bool, bool);
    let got: Vec<Row> = zones
        .iter()
        .map(|z| {
            (
                z.name.as_str(),
                z.file.as_str(),
                z.view.as_deref(),
                z.primary,
                z.dynamic,
                z.binary,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "example.test.",
                "/etc/bind/db.example.test",
                None,
                true,
                false,
                false
            ),
            (
                "2.0.192.in-addr.arpa.",
                "/var/cache/bind/db.192.0.2",
                None,
                true,
                false,
                false
            ),
            (
                "dyn.example.test.",
                "/var/lib/bind/db.dyn",
                None,
                true,
                true,
                false
            ),
            (
                "static.example.test.",
                "/etc/bind/db.static",
                None,
                true,
                false,
                false
            ),
            (
                "copy.example.test.",
                "/var/cache/bind/db.copy",
                None,
                false,
                false,
                false
            ),
            (
                "raw.example.test.",
                "/var/cache/bind/db.raw",
                None,
                true,
                false,
                true
            ),
            (
                "empty1.test.",
                "/etc/bind/db.empty",
                None,
                true,
                false,
                false
            ),
            (
                "empty2.test.",
                "/etc/bind/db.empty",
                None,
                true,
                false,
                false
            ),
            (
                "hint.",
                "/usr/share/dns/root.hints",
                None,
                false,
                false,
                false
            ),
            (
                "example.test.",
                "/etc/bind/internal/db.example.test",
                Some("internal"),
                true,
                false,
                false
            ),
        ]
    );
    assert_eq!(zones[0].declared_at, "/etc/bind/named.conf.local:1");
    let u = universe(&h, &[]).unwrap();
    let blocked: Vec<(&str, bool)> = u
        .iter()
        .map(|z| (z.name.as_str(), z.blocked.is_some()))
        .collect();
    assert_eq!(
        blocked,
        vec![
            ("example.test.", false),
            ("2.0.192.in-addr.arpa.", false),
            ("dyn.example.test.", true),
            ("static.example.test.", false),
            ("empty1.test.", true),
            ("empty2.test.", true),
            ("example.test.", false),
        ]
    );
    assert!(
        u[2].blocked
            .as_deref()
            .unwrap()
            .contains("rndc freeze dyn.example.test")
    );
}

#[test]
fn named_conf_errors_name_the_file_and_line() {
    let table: &[(&str, usize, &str)] = &[
        ("zone \"a\" {\n type primary;\n", 2, "never closed"),
        ("options { directory \"/x\" };\n", 1, "missing its `;`"),
        ("};\n", 1, "without a matching"),
        ("/* open\n\n", 1, "never closed"),
        ("zone \"a\" { file \"x }; };\n", 1, "never closed"),
    ];
    for (text, line, msg) in table {
        let (_d, h) = host(&[("/etc/named.conf", text)]);
        match namedconf::zones(&h) {
            Err(Error::Parse {
                path,
                line: l,
                message,
                ..
            }) => {
                assert_eq!(path, "/etc/named.conf");
                assert_eq!(l, *line, "{text:?}");
                assert!(message.contains(msg), "{text:?}: {message}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn include_loops_are_errors() {
    let (_d, h) = host(&[
        ("/etc/bind/named.conf", "include \"/etc/bind/a.conf\";\n"),
        ("/etc/bind/a.conf", "include \"named.conf\";\n"),
    ]);
    let e = namedconf::zones(&h).unwrap_err().to_string();
    assert!(e.contains("includes itself"), "{e}");
}

#[test]
fn surface_finds_files_and_includes() {
    let zone = "$TTL 300\n@ SOA ns hm 2026112801 1 1 1 1\n$INCLUDE hosts.inc\nwww A 192.0.2.99\n";
    let inc = "mail A 192.0.2.10 ; via $INCLUDE\n";
    let (_d, h) = host(&[
        ("/etc/bind/named.conf", LOCAL),
        ("/etc/bind/db.example.test", zone),
        ("/etc/bind/hosts.inc", inc),
    ]);
    let files = Zonefile.files(&h).unwrap();
    assert!(
        files.contains(&"/etc/bind/db.example.test".to_string()),
        "{files:?}"
    );
    assert!(
        !files
            .iter()
            .any(|f| f.ends_with("db.copy") || f.ends_with("db.raw")),
        "{files:?}"
    );
    let matcher = Matcher::new(&["192.0.2.10".parse().unwrap()]);
    let rw = Rewriter::new(vec![pair("192.0.2.10", "198.51.100.7", 24)], None);
    let ctx = Ctx {
        host: &h,
        matcher: &matcher,
        rewriter: Some(&rw),
    };
    let r = Zonefile
        .analyze("/etc/bind/db.example.test", zone, &ctx)
        .unwrap();
    let targets: Vec<String> = r.changes.iter().map(|c| c.target.to_string()).collect();
    assert_eq!(
        targets,
        vec!["/etc/bind/db.example.test:2", "/etc/bind/hosts.inc:1"]
    );
    assert_eq!(
        r.changes[1].after,
        Value::One("mail A 198.51.100.7 ; via $INCLUDE".into())
    );
    // The serial is today's or one above 2026112801.
    let Value::One(soa) = &r.changes[0].after else {
        panic!()
    };
    let serial: u32 = soa.split_whitespace().nth(4).unwrap().parse().unwrap();
    assert!(serial > 2026112801, "{soa}");
    // An SOA in an $INCLUDEd file is raised there.
    let (_d, h2) = host(&[
        ("/etc/bind/named.conf", LOCAL),
        (
            "/etc/bind/db.example.test",
            "$INCLUDE soa.inc\nmail A 192.0.2.10\n",
        ),
        ("/etc/bind/soa.inc", "$TTL 60\n@ SOA ns hm 41 1 1 1 1\n"),
    ]);
    let ctx2 = Ctx {
        host: &h2,
        matcher: &matcher,
        rewriter: Some(&rw),
    };
    let r2 = Zonefile
        .analyze(
            "/etc/bind/db.example.test",
            "$INCLUDE soa.inc\nmail A 192.0.2.10\n",
            &ctx2,
        )
        .unwrap();
    let t2: Vec<String> = r2
        .changes
        .iter()
        .map(|c| format!("{} {:?}", c.target, c.after))
        .collect();
    assert_eq!(
        t2,
        vec![
            "/etc/bind/db.example.test:2 One(\"mail A 198.51.100.7\")",
            "/etc/bind/soa.inc:2 One(\"@ SOA ns hm 42 1 1 1 1\")",
        ]
    );
}

#[test]
fn zone_file_args() {
    type Want<'a> = Result<(Option<&'a str>, &'a str), &'a str>;
    let table: &[(&str, Want)] = &[
        ("/etc/bind/db.x", Ok((None, "/etc/bind/db.x"))),
        (
            "example.test=/var/named/x.zone",
            Ok((Some("example.test"), "/var/named/x.zone")),
        ),
        ("db.x", Err("not an absolute path")),
        ("=/x", Err("empty")),
    ];
    for (s, want) in table {
        let got: std::result::Result<ZoneFileArg, String> = s.parse();
        match (got, want) {
            (Ok(a), Ok((z, p))) => {
                assert_eq!(a.zone.as_deref(), *z, "{s}");
                assert_eq!(a.path, *p, "{s}");
            }
            (Err(e), Err(m)) => assert!(e.contains(m), "{s}: {e}"),
            (g, w) => panic!("{s}: {g:?} vs {w:?}"),
        }
    }
}

#[test]
fn user_zone_files_guess_their_origin() {
    let (_d, h) = host(&[
        ("/a.zone", "$ORIGIN a.test.\n@ 60 SOA ns hm 1 1 1 1 1\n"),
        (
            "/b.zone",
            "b.test. 60 IN SOA ns.b.test. hm.b.test. 1 1 1 1 1\n",
        ),
        ("/c.zone", "@ 60 SOA ns hm 1 1 1 1 1\n"),
    ]);
    let arg = |p: &str| ZoneFileArg {
        zone: None,
        path: p.into(),
    };
    let u = universe(&h, &[arg("/a.zone"), arg("/b.zone")]).unwrap();
    let names: Vec<&str> = u.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(names, vec!["a.test.", "b.test."]);
    let e = universe(&h, &[arg("/c.zone")]).unwrap_err();
    assert!(
        e.help()
            .unwrap()
            .contains("--zone-file example.test=/c.zone"),
        "{e:?}"
    );
    let e = universe(&h, &[arg("/missing.zone")]).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
}
