//! Table-driven tests of the zone file parser, serials and named.conf
//! reading, full of the traps real zone files hold.

use super::parse::{self, Item, absolute, entries, reverse_addr, ttl};
use super::serial::{Date, next_serial};
use super::*;
use crate::host::Host;
use std::net::IpAddr;

/// The day the serial tests run on.
pub(crate) const TODAY: Date = Date {
    year: 2026,
    month: 11,
    day: 28,
};

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

pub(crate) const LOCAL: &str = "zone \"Example.Test\" {
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

#[test]
fn how_each_zone_is_signed() {
    const SIGNED: &str = "$ORIGIN hand.test.\n@ 300 IN SOA ns hm 1 2 3 4 5\n@ 300 IN RRSIG SOA 13 2 300 20240301000000 20240131000000 1683 hand.test. AAAA\nmail 300 IN A 192.0.2.10\n";
    const UNSIGNED: &str =
        "$ORIGIN hand.test.\n@ 300 IN SOA ns hm 1 2 3 4 5\nmail 300 IN A 192.0.2.10\n";
    let conf = "options { directory \"/etc/bind\"; dnssec-policy \"standard\"; };
zone \"policy.test\" { type primary; file \"db.policy\"; };
zone \"off.test\" { type primary; file \"db.off\"; dnssec-policy none; };
zone \"inline.test\" { type primary; file \"db.inline\"; dnssec-policy none; inline-signing yes; };
view \"v\" {
    dnssec-policy none;
    zone \"view.test\" { type primary; file \"db.view\"; };
    zone \"hand.test\" { type primary; file \"db.hand.signed\"; };
    zone \"lone.test\" { type primary; file \"db.lone.signed\"; };
    zone \"fake.test\" { type primary; file \"db.fake.signed\"; };
};
";
    let (_d, h) = host(&[
        ("/etc/bind/named.conf", conf),
        ("/etc/bind/db.hand.signed", SIGNED),
        ("/etc/bind/db.hand", UNSIGNED),
        // No unsigned source beside it.
        ("/etc/bind/db.lone.signed", SIGNED),
        // Called .signed, holds no signature: an ordinary zone file.
        ("/etc/bind/db.fake.signed", UNSIGNED),
        ("/etc/bind/db.fake", UNSIGNED),
    ]);
    let u = universe(&h, &[]).unwrap();
    let got: Vec<(&str, &str, Signing)> = u
        .iter()
        .map(|z| (z.name.as_str(), z.file.as_str(), z.signing.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "policy.test.",
                "/etc/bind/db.policy",
                Signing::ByNamed("dnssec-policy standard".into())
            ),
            ("off.test.", "/etc/bind/db.off", Signing::Unsigned),
            (
                "inline.test.",
                "/etc/bind/db.inline",
                Signing::ByNamed("inline-signing".into())
            ),
            ("view.test.", "/etc/bind/db.view", Signing::Unsigned),
            (
                "hand.test.",
                "/etc/bind/db.hand",
                Signing::SourceOf {
                    signed: "/etc/bind/db.hand.signed".into()
                }
            ),
            (
                "hand.test.",
                "/etc/bind/db.hand.signed",
                Signing::Signed {
                    source: "/etc/bind/db.hand".into()
                }
            ),
            ("lone.test.", "/etc/bind/db.lone.signed", Signing::Unsigned),
            ("fake.test.", "/etc/bind/db.fake.signed", Signing::Unsigned),
        ]
    );
}
