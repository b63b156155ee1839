//! Table-driven tests of the zonefile surface, full of the traps real zone
//! files hold.

use std::net::IpAddr;

use super::*;
use crate::addr::MatchKind;
use crate::addr::Matcher;
use crate::dns::zone::tests::{LOCAL, TODAY};
use crate::host::Host;
use crate::model::{Change, Value};
use crate::policy::Rewriter;
use crate::spec::{Pair, PrefixSource};
use crate::surface::Ctx;

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
            signing: Signing::Unsigned,
        })
        .collect();
    let olds: Vec<IpAddr> = pairs.iter().map(|p| p.old).collect();
    let matcher = Matcher::new(&olds);
    let rw = Rewriter::new(pairs, Vec::new());
    let ctx = Ctx::new(&h, &matcher, Some(&rw)).with_mode(mode);
    let mut report = Report::default();
    for z in &universe {
        let text = h.read(&z.file).unwrap().unwrap();
        report.extend(analyze_zone(z, &text, &universe, &ctx, TODAY).unwrap());
    }
    Run { report }
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
    // The /24 is not the old interface network (/28): it stays; the new
    // host is authorized once, where the record named the old one.
    assert!(
        out.contains("\"v=spf1 ip4:192.0.2.0/24 +ip4:198.51.100.7 include:_spf.example.net ?all\""),
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
        signing: Signing::Unsigned,
    };
    let matcher = Matcher::new(&["192.0.2.10".parse().unwrap()]);
    let ctx = Ctx::new(&h, &matcher, None);
    let r = analyze_zone(&zone, FWD, std::slice::from_ref(&zone), &ctx, TODAY).unwrap();
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
        signing: Signing::Unsigned,
    };
    let matcher = Matcher::new(&["192.0.2.10".parse().unwrap()]);
    let rw = Rewriter::new(vec![pair("192.0.2.10", "198.51.100.7", 24)], Vec::new());
    let ctx = Ctx::new(&h, &matcher, Some(&rw));
    let r = analyze_zone(&zone, FWD, std::slice::from_ref(&zone), &ctx, TODAY).unwrap();
    assert!(r.changes.is_empty());
    assert!(r.warnings.iter().any(|w| w.code == Code::ZoneNotEdited));
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
    let files = crate::surface::testutil::listed(&Zonefile, &h).unwrap();
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
    let rw = Rewriter::new(vec![pair("192.0.2.10", "198.51.100.7", 24)], Vec::new());
    let ctx = Ctx::new(&h, &matcher, Some(&rw));
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
    let ctx2 = Ctx::new(&h2, &matcher, Some(&rw));
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

/// dnssec-signzone output, signed with one key.
const SIGNED: &str =
    "example.test.\t300\tIN SOA\tns1.example.test. hm.example.test. 2024010101 3600 600 86400 300
\t\t\t300\tRRSIG\tSOA 13 2 300 20240301000000 20240131000000 1683 example.test. AAAA
mail.example.test.\t300\tIN A\t192.0.2.10
\t\t\t300\tRRSIG\tA 13 3 300 20240301000000 20240131000000 1683 example.test. AAAA
";

#[test]
fn signed_data_is_never_edited() {
    let pairs = || vec![pair("192.0.2.10", "198.51.100.7", 24)];
    // The unsigned source is not known: found, not edited, handed off
    // with what to change and how to sign again.
    let r = run(
        &[("/etc/bind/db.example.test.signed", SIGNED)],
        &[("example.test.", "/etc/bind/db.example.test.signed")],
        pairs(),
        Mode::Move,
    );
    assert!(r.report.changes.is_empty(), "{:?}", r.report.changes);
    assert_eq!(r.report.findings.len(), 1);
    let resign: Vec<&Notice> = r
        .report
        .warnings
        .iter()
        .filter(|w| w.code == Code::ZoneResign)
        .collect();
    assert_eq!(resign.len(), 1, "{:?}", r.report.warnings);
    for part in [
        "its unsigned source is not known",
        "A record of mail.example.test. moves to the new address (`mail.example.test. 300 IN A 192.0.2.10` → `mail.example.test. 300 IN A 198.51.100.7`)",
        "dnssec-signzone -S -K /etc/bind -o example.test -e +2592000 -f db.example.test.signed UNSIGNED-SOURCE",
        "Kexample.test.+013+01683",
    ] {
        assert!(
            resign[0].message.contains(part),
            "{part}: {}",
            resign[0].message
        );
    }
    // Lowering TTLs ahead of a move is an edit too.
    let r = run(
        &[("/etc/bind/db.example.test.signed", SIGNED)],
        &[("example.test.", "/etc/bind/db.example.test.signed")],
        pairs(),
        Mode::LowerTtl(60),
    );
    assert!(r.report.changes.is_empty(), "{:?}", r.report.changes);
}

/// A customer's RFC 2317 block, served here.
const BLOCK: &str = "$ORIGIN 32/28.77.22.172.in-addr.arpa.
$TTL 3600
@\tIN SOA\tns1.corp.example. hm.corp.example. 2024010100 3600 900 604800 300
\tIN NS\tns1.corp.example.
35\tIN PTR\tmail.corp.example.
36\tIN PTR\twww.corp.example.
48\tIN PTR\toutside.corp.example.
350\tIN PTR\tnot-an-octet.corp.example.
";

#[test]
fn classless_ptrs_are_found_and_moved_within_their_block() {
    let files = [("/etc/bind/db.block", BLOCK)];
    let zones = [("32/28.77.22.172.in-addr.arpa.", "/etc/bind/db.block")];
    // Inside the block: renamed in place; the provider's parent (not
    // served here) must point the new name into the block.
    let r = run(
        &files,
        &zones,
        vec![pair("172.22.77.35", "172.22.77.40", 24)],
        Mode::Move,
    );
    let out = apply(BLOCK, "/etc/bind/db.block", &r.report.changes);
    assert_eq!(
        out,
        BLOCK
            .replace("2024010100", "2026112800")
            .replace("35\tIN PTR", "40\tIN PTR")
    );
    assert!(
        r.report.warnings.iter().any(|w| w.code == Code::ZonePtrNotServed
            && w.message.contains("make sure 40.77.22.172.in-addr.arpa. is a CNAME to 40.32/28.77.22.172.in-addr.arpa.")),
        "{:?}",
        r.report.warnings
    );
    // Out of the block: the old PTR stays, the new one is asked for.
    let r = run(
        &files,
        &zones,
        vec![pair("172.22.77.36", "198.51.100.7", 24)],
        Mode::Move,
    );
    assert!(r.report.changes.is_empty(), "{:?}", r.report.changes);
    assert_eq!(r.report.findings.len(), 1);
    assert!(
        r.report
            .warnings
            .iter()
            .any(|w| w.code == Code::ZonePtrNotServed
                && w.message.contains(
                    "ask its provider for PTR 7.100.51.198.in-addr.arpa. → www.corp.example."
                )),
        "{:?}",
        r.report.warnings
    );
    // Traps: 48 is outside a /28 from 32, 350 is no octet, .3 is not .35.
    for old in ["172.22.77.48", "172.22.77.3"] {
        let r = run(
            &files,
            &zones,
            vec![pair(old, "172.22.77.41", 24)],
            Mode::Move,
        );
        assert!(
            r.report.findings.is_empty() && r.report.changes.is_empty(),
            "{old}: {:?}",
            r.report
        );
    }
}

#[test]
fn a_served_parent_decides_through_its_cnames() {
    let parent = "$ORIGIN 77.22.172.in-addr.arpa.
$TTL 3600
@\tIN SOA\tns1.isp.example. hm.isp.example. 7 3600 900 604800 300
\tIN NS\tns1.isp.example.
32/28\tIN NS\tns1.corp.example.
35\tIN CNAME\t35.32/28
36\tIN CNAME\t36.32/28.77.22.172.in-addr.arpa.
40\tIN PTR\tgw.isp.example.
";
    let files = [
        ("/etc/bind/db.block", BLOCK),
        ("/etc/bind/db.parent", parent),
    ];
    let zones = [
        ("32/28.77.22.172.in-addr.arpa.", "/etc/bind/db.block"),
        ("77.22.172.in-addr.arpa.", "/etc/bind/db.parent"),
    ];
    // .37 has no CNAME yet: the PTR and the CNAME of .35 both move.
    let r = run(
        &files,
        &zones,
        vec![pair("172.22.77.35", "172.22.77.37", 24)],
        Mode::Move,
    );
    assert_eq!(
        apply(parent, "/etc/bind/db.parent", &r.report.changes),
        parent
            .replace(" 7 3600", " 8 3600")
            .replace("35\tIN CNAME\t35.32/28", "37\tIN CNAME\t37.32/28")
    );
    assert_eq!(
        apply(BLOCK, "/etc/bind/db.block", &r.report.changes),
        BLOCK
            .replace("2024010100", "2026112800")
            .replace("35\tIN PTR", "37\tIN PTR")
    );
    assert!(
        r.report
            .warnings
            .iter()
            .all(|w| w.code != Code::ZonePtrNotServed),
        "{:?}",
        r.report.warnings
    );
    // .50 is outside the block, so the parent holds its PTR: the PTR is
    // commented out of the block and added to the parent, and the CNAME
    // of .36 stays until the old address is handed back.
    let r = run(
        &files,
        &zones,
        vec![pair("172.22.77.36", "172.22.77.50", 24)],
        Mode::Move,
    );
    let block = apply(BLOCK, "/etc/bind/db.block", &r.report.changes);
    assert!(
        block.contains("; 36\tIN PTR\twww.corp.example. ; moved by zmreip to 50.77.22.172.in-addr.arpa. in /etc/bind/db.parent"),
        "{block}"
    );
    let p = apply(parent, "/etc/bind/db.parent", &r.report.changes);
    assert!(
        p.contains("36\tIN CNAME\t36.32/28.77.22.172.in-addr.arpa.\n")
            && p.contains("50.77.22.172.in-addr.arpa.\t3600\tIN\tPTR\twww.corp.example."),
        "{p}"
    );
}
