//! Table-driven tests of the matcher: every trap from the design, both
//! families, every kind, and replacement round trips.

use super::MatchKind::*;
use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn matcher(targets: &[&str]) -> Matcher {
    let t: Vec<IpAddr> = targets.iter().map(|s| ip(s)).collect();
    Matcher::new(&t)
}

const A: &[&str] = &["192.168.2.1"];
const B: &[&str] = &["2001:db8::25"];
const AB: &[&str] = &["192.168.2.1", "2001:db8::25"];

/// (targets, text, expected (matched text, kind) in order).
type FindCase = (
    &'static [&'static str],
    &'static str,
    &'static [(&'static str, MatchKind)],
);

const FIND: &[FindCase] = &[
    // IPv4 exact and its traps.
    (A, "192.168.2.1", &[("192.168.2.1", Exact)]),
    (A, "listen 192.168.2.1;", &[("192.168.2.1", Exact)]),
    (A, "reachable at 192.168.2.1.", &[("192.168.2.1", Exact)]),
    (A, "(192.168.2.1)", &[("192.168.2.1", Exact)]),
    (A, "ip=\"192.168.2.1\"", &[("192.168.2.1", Exact)]),
    (A, "192.168.2.10", &[]),
    (A, "192.168.2.100", &[]),
    (A, "10.192.168.2.1", &[]),
    (A, "192.168.2.1.5", &[]),
    (A, "00:1a:2b:3c:4d:5e", &[]),
    (A, "oid 1.3.6.1.4.1.192.168.2.1 here", &[]),
    (A, "v192.168.2.1", &[]),
    (A, "version 1.192.168.2.1-beta", &[]),
    (A, "192.168.2.1-beta", &[]),
    (A, "192.168.2.1a", &[]),
    (A, "x192.168.2.1", &[]),
    (A, "_192.168.2.1", &[]),
    (A, "192.168.2.1.nip.io", &[]),
    (A, "192.168.2.11 192.168.2.1", &[("192.168.2.1", Exact)]),
    (
        A,
        "192.168.2.1 192.168.2.1",
        &[("192.168.2.1", Exact), ("192.168.2.1", Exact)],
    ),
    (
        A,
        "a=192.168.2.1\r\nb=192.168.2.1\r\n",
        &[("192.168.2.1", Exact), ("192.168.2.1", Exact)],
    ),
    (A, "192.168.2.1/24", &[("192.168.2.1/24", Exact)]),
    (A, "192.168.2.1/33", &[("192.168.2.1", Exact)]),
    // Lists.
    (A, "127.0.0.0/8,192.168.2.1", &[("192.168.2.1", Exact)]),
    (
        A,
        "127.0.0.0/8 192.168.0.0/16, 192.168.2.1",
        &[("192.168.0.0/16", NetworkContains), ("192.168.2.1", Exact)],
    ),
    // Networks.
    (A, "192.168.2.0/24", &[("192.168.2.0/24", NetworkContains)]),
    (A, "192.168.0.0/16", &[("192.168.0.0/16", NetworkContains)]),
    (A, "10.0.0.0/8", &[]),
    (A, "0.0.0.0/0", &[("0.0.0.0/0", NetworkContains)]),
    (A, "192.168.3.0/24", &[]),
    (A, "192.168.2.0/30", &[("192.168.2.0/30", NetworkContains)]),
    (A, "192.168.2.4/30", &[]),
    (A, "192.168.2.0/24x", &[]),
    (A, "x192.168.2.0/24", &[]),
    (A, "http://192.168.0.0/16", &[]),
    // Brackets, ports, URLs.
    (
        A,
        "relayhost = [192.168.2.1]:25",
        &[("[192.168.2.1]:25", Bracketed)],
    ),
    (A, "[192.168.2.1]", &[("[192.168.2.1]", Bracketed)]),
    (A, "user@[192.168.2.1]", &[("[192.168.2.1]", Bracketed)]),
    (
        A,
        "inet:127.0.0.1:8465 inet:192.168.2.1:8465",
        &[("192.168.2.1:8465", HostPort)],
    ),
    (
        A,
        "ldap_host:192.168.2.1:389",
        &[("192.168.2.1:389", HostPort)],
    ),
    (A, "192.168.2.1:99999", &[("192.168.2.1", Exact)]),
    (A, "ldap://192.168.2.1:389", &[("192.168.2.1:389", UrlHost)]),
    (
        A,
        "ldap://192.168.2.1:389 ldap://192.168.2.10:389",
        &[("192.168.2.1:389", UrlHost)],
    ),
    (
        A,
        "https://admin:secret@192.168.2.1/x",
        &[("192.168.2.1", UrlHost)],
    ),
    (A, "http://192.168.2.1", &[("192.168.2.1", UrlHost)]),
    (A, "http://192.168.2.1/24", &[("192.168.2.1", UrlHost)]),
    (A, "mail admin@192.168.2.1 now", &[("192.168.2.1", Exact)]),
    // IPv4-mapped IPv6.
    (A, "::ffff:192.168.2.1", &[("::ffff:192.168.2.1", Exact)]),
    (A, "::FFFF:192.168.2.1", &[("::FFFF:192.168.2.1", Exact)]),
    (
        A,
        "0:0:0:0:0:ffff:192.168.2.1",
        &[("0:0:0:0:0:ffff:192.168.2.1", Exact)],
    ),
    (
        A,
        "[::ffff:192.168.2.1]:25",
        &[("[::ffff:192.168.2.1]:25", Bracketed)],
    ),
    (A, "64:ff9b::192.168.2.1", &[]),
    (A, "::192.168.2.1", &[]),
    (A, "x::ffff:192.168.2.1", &[]),
    // Reverse names.
    (
        A,
        "1.2.168.192.in-addr.arpa",
        &[("1.2.168.192.in-addr.arpa", ReverseName)],
    ),
    (
        A,
        "PTR 1.2.168.192.IN-ADDR.ARPA.",
        &[("1.2.168.192.IN-ADDR.ARPA", ReverseName)],
    ),
    (A, "11.2.168.192.in-addr.arpa", &[]),
    (A, "0.1.2.168.192.in-addr.arpa", &[]),
    (A, "1.2.168.192.in-addr.arpa.example", &[]),
    // Regex-escaped.
    (
        A,
        "^192\\.168\\.2\\.1$",
        &[("192\\.168\\.2\\.1", RegexEscaped)],
    ),
    (
        A,
        "\\b192\\.168\\.2\\.1\\b",
        &[("192\\.168\\.2\\.1", RegexEscaped)],
    ),
    (
        A,
        "\"^192\\\\.168\\\\.2\\\\.1$\"",
        &[("192\\\\.168\\\\.2\\\\.1", RegexEscaped)],
    ),
    (A, "192\\.168\\.2\\.10", &[]),
    (A, "192\\.168\\.2\\.1\\.5", &[]),
    (A, "192\\.168\\.2\\.1\\d", &[]),
    (A, "10\\.192\\.168\\.2\\.1", &[]),
    // IPv6 spellings.
    (B, "2001:db8::25", &[("2001:db8::25", Exact)]),
    (B, "2001:DB8::25", &[("2001:DB8::25", Exact)]),
    (
        B,
        "2001:0db8:0000:0000:0000:0000:0000:0025",
        &[("2001:0db8:0000:0000:0000:0000:0000:0025", Exact)],
    ),
    (
        B,
        "2001:db8:0:0:0:0:0:25",
        &[("2001:db8:0:0:0:0:0:25", Exact)],
    ),
    (B, "2001:db8::0.0.0.37", &[("2001:db8::0.0.0.37", Exact)]),
    (B, "[2001:db8::25]:25", &[("[2001:db8::25]:25", Bracketed)]),
    (B, "[2001:db8::25]", &[("[2001:db8::25]", Bracketed)]),
    (B, "2001:db8::25%eth0", &[("2001:db8::25%eth0", Exact)]),
    (B, "2001:db8::25/64", &[("2001:db8::25/64", Exact)]),
    (
        B,
        "http://[2001:db8::25]:8080/",
        &[("[2001:db8::25]:8080", UrlHost)],
    ),
    (B, "ldap://[2001:db8::25]", &[("[2001:db8::25]", UrlHost)]),
    (B, "key:2001:db8::25 next", &[("2001:db8::25", Exact)]),
    (B, "at 2001:db8::25.", &[("2001:db8::25", Exact)]),
    (B, "on 2001:db8::25: up", &[("2001:db8::25", Exact)]),
    (B, "2001:db8::250", &[]),
    (B, "2001:db8::25:1", &[]),
    (B, "1:2001:db8::25", &[]),
    (B, "x2001:db8::25", &[]),
    (B, "2001:db8::25g", &[]),
    (B, "2001:db8::25.5", &[]),
    (B, "2001:db8::25-x", &[]),
    (&["::1"], "::10 ::1", &[("::1", Exact)]),
    (
        &["fe80::1"],
        "fe80::1:2 fe80::1%eth0",
        &[("fe80::1%eth0", Exact)],
    ),
    (
        &["::ffff:192.0.2.1"],
        "::ffff:192.0.2.1",
        &[("::ffff:192.0.2.1", Exact)],
    ),
    (
        &["64:ff9b::c000:201"],
        "64:ff9b::192.0.2.1",
        &[("64:ff9b::192.0.2.1", Exact)],
    ),
    // IPv6 networks.
    (B, "2001:db8::/32", &[("2001:db8::/32", NetworkContains)]),
    (B, "2001:db9::/32", &[]),
    (
        B,
        "[2001:db8::]/32",
        &[("[2001:db8::]/32", NetworkContains)],
    ),
    (B, "::/0", &[("::/0", NetworkContains)]),
    (B, "2001:db8::/129", &[]),
    // IPv6 reverse names.
    (
        B,
        "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
        &[(
            "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
            ReverseName,
        )],
    ),
    (
        B,
        "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.IP6.ARPA",
        &[(
            "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.IP6.ARPA",
            ReverseName,
        )],
    ),
    (
        B,
        "6.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        &[],
    ),
    // Both families at once, LDIF-like.
    (
        AB,
        "zimbraMtaMyNetworks: 127.0.0.0/8 [::1]/128 192.168.2.0/24 [2001:db8::]/64\n",
        &[
            ("192.168.2.0/24", NetworkContains),
            ("[2001:db8::]/64", NetworkContains),
        ],
    ),
    (
        AB,
        "zimbraMailTrustedIP: 192.168.2.1\nzimbraMailTrustedIP: 2001:db8::25\n",
        &[("192.168.2.1", Exact), ("2001:db8::25", Exact)],
    ),
    (AB, "dn: cn=config\nuserPassword:: e1NTSEF9abc=\n", &[]),
    (AB, "12:30:45 00:1a:2b:3c:4d:5e", &[]),
];

#[test]
fn find_table() {
    let mut failures = Vec::new();
    for (i, (targets, text, want)) in FIND.iter().enumerate() {
        let m = matcher(targets);
        let got: Vec<(&str, MatchKind)> = m
            .find(text)
            .iter()
            .map(|x| (&text[x.span.clone()], x.kind))
            .collect();
        if got != *want {
            failures.push(format!(
                "row {i}: {text:?}\n   want {want:?}\n    got {got:?}"
            ));
        }
        // Soundness of the prefilter on every row.
        if !got.is_empty() && !m.may_match(text) {
            failures.push(format!("row {i}: may_match false for {text:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn may_match_skips_unrelated_text() {
    let m = matcher(A);
    assert!(!m.may_match("dn: uid=admin,ou=people,dc=example,dc=com"));
    assert!(!m.may_match("192.168.2.2 and /opt/zimbra"));
    assert!(m.may_match("10.0.0.0/8"));
    let m = matcher(B);
    assert!(!m.may_match("nothing here at all"));
    assert!(!m.may_match("dn: uid=admin"));
    assert!(m.may_match("a::b"));
}

#[test]
fn match_fields() {
    let text = "relay [192.168.2.1]:25";
    let m = matcher(A).find(text).remove(0);
    assert_eq!(m.port, Some(25));
    assert_eq!(&text[m.addr_span.clone()], "192.168.2.1");
    assert_eq!(m.target, ip("192.168.2.1"));

    let text = "https://admin:secret@192.168.2.1:8443/x";
    let m = matcher(A).find(text).remove(0);
    assert_eq!((m.kind, m.port), (UrlHost, Some(8443)));
    assert_eq!(&text[m.span.clone()], "192.168.2.1:8443");

    let text = "192.168.0.0/16";
    let m = matcher(A).find(text).remove(0);
    assert_eq!(m.network, Some("192.168.0.0/16".parse().unwrap()));
    assert_eq!(m.prefix, Some(16));
    assert_eq!(m.target, ip("192.168.2.1"));

    let text = "::FFFF:192.168.2.1";
    let m = matcher(A).find(text).remove(0);
    assert!(m.style.v4_mapped && m.style.upper);
    assert_eq!(m.target, ip("192.168.2.1"));

    let m = matcher(B).find("2001:0DB8:0:0:0:0:0:25").remove(0);
    assert_eq!(
        m.style,
        Style {
            expanded: true,
            zero_padded: true,
            upper: true,
            ..Style::default()
        }
    );
}

/// (old target, new address, text, new_prefix, expected text after
/// replacing every match).
type ReplaceCase = (
    &'static str,
    &'static str,
    &'static str,
    Option<u8>,
    &'static str,
);

const REPLACE: &[ReplaceCase] = &[
    (
        "192.168.2.1",
        "10.0.0.5",
        "relayhost = [192.168.2.1]:25",
        None,
        "relayhost = [10.0.0.5]:25",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "a 192.168.2.1 b 192.168.2.10",
        None,
        "a 10.0.0.5 b 192.168.2.10",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "192.168.2.1/24",
        Some(16),
        "10.0.0.5/16",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "192.168.2.1/24",
        None,
        "10.0.0.5/24",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "1.2.168.192.in-addr.arpa.",
        None,
        "5.0.0.10.in-addr.arpa.",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "1.2.168.192.IN-ADDR.ARPA",
        None,
        "5.0.0.10.IN-ADDR.ARPA",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "^192\\.168\\.2\\.1$",
        None,
        "^10\\.0\\.0\\.5$",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "'192\\\\.168\\\\.2\\\\.1'",
        None,
        "'10\\\\.0\\\\.0\\\\.5'",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "::ffff:192.168.2.1",
        None,
        "::ffff:10.0.0.5",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "::FFFF:192.168.2.1",
        None,
        "::FFFF:10.0.0.5",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "https://admin:secret@192.168.2.1:8443/x",
        None,
        "https://admin:secret@10.0.0.5:8443/x",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "inet:192.168.2.1:8465",
        None,
        "inet:10.0.0.5:8465",
    ),
    (
        "192.168.2.1",
        "2001:db8::99",
        "ldap://192.168.2.1:389",
        None,
        "ldap://[2001:db8::99]:389",
    ),
    (
        "192.168.2.1",
        "2001:db8::99",
        "inet:192.168.2.1:8465",
        None,
        "inet:[2001:db8::99]:8465",
    ),
    (
        "192.168.2.1",
        "2001:db8::99",
        "[192.168.2.1]:25",
        None,
        "[2001:db8::99]:25",
    ),
    (
        "2001:db8::25",
        "2001:db8::99",
        "2001:DB8::25",
        None,
        "2001:DB8::99",
    ),
    (
        "2001:db8::25",
        "2001:db8::99",
        "2001:0db8:0000:0000:0000:0000:0000:0025",
        None,
        "2001:0db8:0000:0000:0000:0000:0000:0099",
    ),
    (
        "2001:db8::25",
        "2001:db8::99",
        "2001:db8:0:0:0:0:0:25",
        None,
        "2001:db8:0:0:0:0:0:99",
    ),
    ("fe80::1", "fe80::2", "fe80::1%eth0", None, "fe80::2%eth0"),
    ("fe80::1", "10.0.0.5", "fe80::1%eth0", None, "10.0.0.5"),
    (
        "2001:db8::25",
        "2001:db8::99",
        "[2001:db8::25]:587",
        None,
        "[2001:db8::99]:587",
    ),
    (
        "2001:db8::25",
        "2001:db8::99",
        "http://[2001:db8::25]:8080/",
        None,
        "http://[2001:db8::99]:8080/",
    ),
    (
        "2001:db8::25",
        "10.0.0.5",
        "http://[2001:db8::25]:8080/",
        None,
        "http://10.0.0.5:8080/",
    ),
    (
        "2001:db8::25",
        "2001:db8:1::1",
        "2001:db8::25/64",
        Some(48),
        "2001:db8:1::1/48",
    ),
    (
        "2001:db8::25",
        "2001:db8::c000:201",
        "64:ff9b::2001:db8::25",
        None,
        "64:ff9b::2001:db8::25",
    ),
    (
        "64:ff9b::c000:201",
        "64:ff9b::c000:202",
        "64:ff9b::192.0.2.1",
        None,
        "64:ff9b::192.0.2.2",
    ),
    (
        "2001:db8::25",
        "2001:db8::99",
        "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        None,
        "9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "192.168.0.0/16",
        None,
        "10.0.0.5/16",
    ),
    (
        "192.168.2.1",
        "10.0.0.5",
        "192.168.0.0/16",
        Some(8),
        "10.0.0.5/8",
    ),
    (
        "2001:db8::25",
        "2001:db8::99",
        "[2001:db8::]/32",
        None,
        "[2001:db8::99]/32",
    ),
];

#[test]
fn replace_table() {
    let mut failures = Vec::new();
    for (i, (old, new, text, prefix, want)) in REPLACE.iter().enumerate() {
        let m = matcher(&[old]);
        let mut got = String::new();
        let mut last = 0;
        for x in m.find(text) {
            got.push_str(&text[last..x.span.start]);
            got.push_str(&x.replace(text, ip(new), *prefix));
            last = x.span.end;
        }
        got.push_str(&text[last..]);
        if got != *want {
            failures.push(format!("row {i}: {text:?} -> {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn render_styles() {
    let a = ip("2001:db8::25");
    let cases: &[(Style, &str)] = &[
        (Style::default(), "2001:db8::25"),
        (
            Style {
                expanded: true,
                ..Style::default()
            },
            "2001:db8:0:0:0:0:0:25",
        ),
        (
            Style {
                expanded: true,
                zero_padded: true,
                upper: true,
                ..Style::default()
            },
            "2001:0DB8:0000:0000:0000:0000:0000:0025",
        ),
        (
            Style {
                v4_tail: true,
                ..Style::default()
            },
            "2001:db8::0.0.0.37",
        ),
    ];
    for (style, want) in cases {
        assert_eq!(render(a, *style), *want, "{style:?}");
    }
    // RFC 5952: leftmost longest run, never a single group.
    assert_eq!(
        render(ip("2001:0:0:1:0:0:0:1"), Style::default()),
        "2001:0:0:1::1"
    );
    assert_eq!(
        render(ip("2001:0:0:1:0:0:1:1"), Style::default()),
        "2001::1:0:0:1:1"
    );
    assert_eq!(
        render(ip("2001:db8:0:1:1:1:1:1"), Style::default()),
        "2001:db8:0:1:1:1:1:1"
    );
    assert_eq!(render(ip("::"), Style::default()), "::");
    assert_eq!(
        render(
            ip("::ffff:192.0.2.1"),
            Style {
                v4_tail: true,
                ..Style::default()
            }
        ),
        "::ffff:192.0.2.1"
    );
    // Compressed rendering agrees with std for ordinary addresses.
    for s in [
        "2001:db8::25",
        "fe80::1",
        "::1",
        "2001:db8:1:2:3:4:5:6",
        "1::",
    ] {
        assert_eq!(render(ip(s), Style::default()), ip(s).to_string());
    }
    assert_eq!(
        render(
            ip("192.168.2.1"),
            Style {
                regex_escaped: true,
                ..Style::default()
            }
        ),
        "192\\.168\\.2\\.1"
    );
}

#[test]
fn reverse_names() {
    assert_eq!(
        reverse_name(ip("172.20.14.25")),
        "25.14.20.172.in-addr.arpa"
    );
    assert_eq!(
        reverse_name(ip("2001:db8::25")),
        "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    );
}

#[test]
fn duplicate_and_mixed_targets() {
    let m = matcher(&["192.168.2.1", "192.168.2.1", "10.0.0.1"]);
    assert_eq!(m.targets().len(), 2);
    let got: Vec<IpAddr> = m
        .find("10.0.0.1 192.168.2.1")
        .iter()
        .map(|x| x.target)
        .collect();
    assert_eq!(got, [ip("10.0.0.1"), ip("192.168.2.1")]);
}
