//! `zmreip check` against named (authoritative for every test zone, so
//! it can stand in for a resolver) and dnsmasq (a split view, and a
//! resolver that rewrites NXDOMAIN).

use serde::Deserialize;

use super::run;
use crate::support::Zmreip;
use crate::support::dns::{self as servers, Server, Zone};

const EXAMPLE: &str = r#"$TTL 300
@       IN SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 600 86400 300
        IN NS  ns1.example.test.
        IN MX  10 mail.example.test.
        IN TXT "v=spf1 mx ip4:192.0.2.10 -all"
ns1     IN A   127.0.0.1
mail    3600 IN A 192.0.2.10
mx2     IN A   198.51.100.7
spfinc  IN TXT "v=spf1 include:_spf.example.test ~all"
_spf    IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
redir   IN TXT "v=spf1 redirect=_spf.example.test"
loop    IN TXT "v=spf1 include:loop.example.test -all"
macro   IN TXT "v=spf1 exists:%{ir}.%{v}._spf.%{d} -all"
7.100.51.198.in-addr._spf.macro IN A 127.0.0.2
twice   IN TXT "v=spf1 -all"
twice   IN TXT "v=spf1 +all"
amx     IN MX  5 mx2.example.test.
amx     IN TXT "v=spf1 a:mx2.example.test/24 mx -all"
soft    IN TXT "v=spf1 ~all"
"#;

const REVERSE: &str = r#"$TTL 300
@   IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300
    IN NS  ns1.example.test.
7   IN PTR mx2.example.test.
8   IN PTR mail.example.test.
10  IN PTR mx2.example.test.
11  IN PTR mail.elsewhere.test.
"#;

const BL: &str = r#"$TTL 60
@   IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60
    IN NS  ns1.example.test.
2.0.0.127       IN A   127.0.0.2
2.0.0.127       IN TXT "RFC 5782 test entry"
8.100.51.198    IN A   127.0.0.2
8.100.51.198    IN TXT "listed for testing: https://bl.test/198.51.100.8"
9.100.51.198    IN A   127.0.0.1
10.100.51.198   IN A   127.255.255.254
"#;

/// A local stand-in for Spamhaus ZEN, served on loopback only, so its
/// return codes are tested without ever asking Spamhaus.
const ZEN: &str = r#"$TTL 60
@   IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60
    IN NS  ns1.example.test.
2.0.0.127       IN A   127.0.0.2
8.100.51.198    IN A   127.0.0.4
8.100.51.198    IN TXT "https://check.spamhaus.org/listed/?searchterm=198.51.100.8"
9.100.51.198    IN A   127.0.0.1
10.100.51.198   IN A   127.255.255.254
"#;

/// A dead list that answers for everything.
const BROKEN: &str = r#"$TTL 60
@   IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60
    IN NS  ns1.example.test.
*   IN A   127.0.0.2
"#;

fn named() -> Option<Server> {
    if !servers::available("named") {
        return None;
    }
    let z = |name, text| Zone {
        name,
        text,
        update_key: None,
    };
    Some(servers::named(
        &[
            z("example.test", EXAMPLE),
            z("100.51.198.in-addr.arpa", REVERSE),
            z("bl.test", BL),
            z("zen.spamhaus.org", ZEN),
            z("broken.test", BROKEN),
        ],
        &[],
    ))
}

// The check report, with unknown fields refused: the JSON shape is a
// contract, so every field is declared even where no test reads it.

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    schema: String,
    address: String,
    resolver: String,
    dnsbl: Vec<Dnsbl>,
    ptr: Ptr,
    spf: Option<Spf>,
    ttl: Vec<Ttl>,
    earliest_safe_move: Option<SafeMove>,
    problems: Vec<String>,
    warnings: Vec<Notice>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dnsbl {
    zone: String,
    status: String,
    answer: Vec<String>,
    reason: Option<String>,
    meaning: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ptr {
    name: String,
    status: String,
    ptr: Vec<String>,
    forward: Vec<Forward>,
    fcrdns: bool,
    hostname: Option<String>,
    matches_hostname: Option<bool>,
    reason: String,
    request: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Forward {
    name: String,
    addresses: Vec<String>,
    confirms: bool,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spf {
    domain: String,
    record: Option<String>,
    result: String,
    mechanism: Option<String>,
    reason: String,
    lookups: usize,
    suggested: Option<Suggestion>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Suggestion {
    name: String,
    before: Option<String>,
    after: String,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ttl {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    ttl: u32,
    values: Vec<String>,
    reason: String,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SafeMove {
    seconds: u32,
    at: String,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Notice {
    code: String,
    message: String,
}

/// Runs `zmreip check` with `args` against `server`; returns the exit
/// code and the parsed report (None when it failed).
fn check(server: &std::net::SocketAddr, args: &[&str]) -> (i32, Option<Report>, String) {
    let (code, out, err) = run(Zmreip::new(["check"]).args(args).args([
        "--resolver",
        &server.to_string(),
        "--timeout",
        "2",
        "--format",
        "json",
    ]));
    let report = serde_json::from_str(&out).ok();
    if code != 1 {
        assert!(report.is_some(), "not a report:\n{out}\n{err}");
    }
    (code, report, err)
}

fn dnsbl<'a>(r: &'a Report, zone: &str) -> &'a Dnsbl {
    r.dnsbl
        .iter()
        .find(|d| d.zone == zone)
        .unwrap_or_else(|| panic!("no result for {zone}: {:?}", r.dnsbl))
}

const LISTS: [&str; 6] = [
    "--dnsbl",
    "bl.test",
    "--dnsbl",
    "zen.spamhaus.org",
    "--dnsbl",
    "broken.test",
];

#[test]
fn a_clean_address_passes() {
    let Some(ns) = named() else { return };
    let (code, r, err) = check(
        &ns.addr,
        &[
            &[
                "198.51.100.7",
                "--hostname",
                "mx2.example.test",
                "--domain",
                "spfinc.example.test",
            ][..],
            &LISTS[..],
        ]
        .concat(),
    );
    let r = r.unwrap();
    assert_eq!(r.schema, "zmreip.check/v1");
    assert_eq!(r.address, "198.51.100.7");
    assert_eq!(r.resolver, ns.addr.to_string());
    assert_eq!(dnsbl(&r, "bl.test").status, "not-listed");
    assert_eq!(dnsbl(&r, "zen.spamhaus.org").status, "not-listed");
    // broken.test answers for 127.0.0.1: its "listed" means nothing.
    let broken = dnsbl(&r, "broken.test");
    assert_eq!(broken.status, "unknown");
    assert!(
        broken.reason.as_deref().unwrap().contains("RFC 5782"),
        "{broken:?}"
    );
    assert_eq!(r.ptr.status, "ok");
    assert!(r.ptr.fcrdns);
    assert_eq!(r.ptr.matches_hostname, Some(true));
    assert_eq!(r.ptr.ptr, vec!["mx2.example.test."]);
    assert_eq!(r.ptr.name, "7.100.51.198.in-addr.arpa.");
    assert_eq!(r.ptr.forward[0].addresses, vec!["198.51.100.7"]);
    let spf = r.spf.as_ref().unwrap();
    assert_eq!(spf.result, "pass");
    assert_eq!(spf.mechanism.as_deref(), Some("include:_spf.example.test"));
    assert!(spf.suggested.is_none());
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(code, 0, "{err}");
    // Not a rewriting resolver: named says NXDOMAIN or REFUSED.
    assert!(
        !r.warnings
            .iter()
            .any(|w| w.code == "resolver-rewrites-nxdomain")
    );
}

#[test]
fn a_listed_address_without_fcrdns_and_spf_would_hurt_mail() {
    let Some(ns) = named() else { return };
    let (code, r, _) = check(
        &ns.addr,
        &[
            &[
                "198.51.100.8",
                "--hostname",
                "mail.example.test",
                "--domain",
                "example.test",
                "--from",
                "192.0.2.10",
            ][..],
            &LISTS[..],
        ]
        .concat(),
    );
    assert_eq!(code, 3);
    let r = r.unwrap();
    let bl = dnsbl(&r, "bl.test");
    assert_eq!(bl.status, "listed");
    assert_eq!(bl.answer, vec!["127.0.0.2"]);
    assert_eq!(
        bl.reason.as_deref(),
        Some("listed for testing: https://bl.test/198.51.100.8")
    );
    let zen = dnsbl(&r, "zen.spamhaus.org");
    assert_eq!(zen.status, "listed");
    assert!(
        zen.meaning.as_deref().unwrap().starts_with("XBL"),
        "{zen:?}"
    );
    // FCrDNS: the PTR names mail.example.test, which is 192.0.2.10.
    assert_eq!(r.ptr.status, "not-confirmed");
    assert!(!r.ptr.fcrdns);
    assert!(
        r.ptr
            .request
            .as_deref()
            .unwrap()
            .contains("8.100.51.198.in-addr.arpa. → mail.example.test"),
        "{:?}",
        r.ptr.request
    );
    let spf = r.spf.as_ref().unwrap();
    assert_eq!(spf.result, "fail");
    assert_eq!(spf.mechanism.as_deref(), Some("-all"));
    let s = spf.suggested.as_ref().unwrap();
    assert_eq!(s.name, "example.test.");
    assert_eq!(s.before.as_deref(), Some("v=spf1 mx ip4:192.0.2.10 -all"));
    assert_eq!(s.after, "v=spf1 mx ip4:198.51.100.8 -all");
    // Records that change: the host's A (TTL 3600) and the SPF TXT.
    let got: Vec<(&str, &str, u32)> = r
        .ttl
        .iter()
        .map(|t| (t.name.as_str(), t.rtype.as_str(), t.ttl))
        .collect();
    assert_eq!(
        got,
        vec![
            ("mail.example.test.", "A", 3600),
            ("example.test.", "TXT", 300)
        ]
    );
    assert_eq!(r.earliest_safe_move.as_ref().unwrap().seconds, 3600);
    assert!(r.earliest_safe_move.as_ref().unwrap().at.ends_with('Z'));
    assert_eq!(r.problems.len(), 4, "{:#?}", r.problems);
}

#[test]
fn codes_that_are_not_listings() {
    let Some(ns) = named() else { return };
    // 198.51.100.9: both lists answer 127.0.0.1; no PTR at all.
    let (code, r, _) = check(&ns.addr, &[&["198.51.100.9"][..], &LISTS[..4]].concat());
    let r = r.unwrap();
    for z in ["bl.test", "zen.spamhaus.org"] {
        let d = dnsbl(&r, z);
        assert_eq!(d.status, "unknown", "{d:?}");
        assert_eq!(d.answer, vec!["127.0.0.1"]);
        assert!(
            d.reason.as_deref().unwrap().contains("never a listing"),
            "{d:?}"
        );
    }
    assert_eq!(r.ptr.status, "missing");
    assert_eq!(
        r.ptr.request.as_deref(),
        Some(
            "ask the provider of 198.51.100.9 to set PTR 9.100.51.198.in-addr.arpa. → the server's host name"
        )
    );
    assert_eq!(code, 3, "no PTR hurts mail: {:?}", r.problems);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);

    // 198.51.100.10: 127.255.255.254 is a Spamhaus query error, and only
    // a curiosity for another list. Its PTR is fine (mx2 is .7, though).
    let (_, r, _) = check(&ns.addr, &[&["198.51.100.10"][..], &LISTS[..4]].concat());
    let r = r.unwrap();
    let zen = dnsbl(&r, "zen.spamhaus.org");
    assert_eq!(zen.status, "error");
    assert!(
        zen.reason
            .as_deref()
            .unwrap()
            .contains("public or open resolver"),
        "{zen:?}"
    );
    let bl = dnsbl(&r, "bl.test");
    assert_eq!(bl.status, "unknown");
    assert!(r.warnings.iter().any(|w| w.code == "dnsbl-error"));
    assert!(
        !r.problems.iter().any(|p| p.contains("listed")),
        "{:?}",
        r.problems
    );
}

#[test]
fn spf_evaluation() {
    let Some(ns) = named() else { return };
    let table: &[(&str, &str, &str, Option<&str>)] = &[
        (
            "198.51.100.7",
            "spfinc.example.test",
            "pass",
            Some("include:_spf.example.test"),
        ),
        (
            "203.0.113.1",
            "spfinc.example.test",
            "softfail",
            Some("~all"),
        ),
        (
            "198.51.100.99",
            "redir.example.test",
            "pass",
            Some("ip4:198.51.100.0/24"),
        ),
        ("203.0.113.1", "redir.example.test", "fail", Some("-all")),
        ("198.51.100.7", "loop.example.test", "permerror", None),
        (
            "198.51.100.7",
            "macro.example.test",
            "pass",
            Some("exists:%{ir}.%{v}._spf.%{d}"),
        ),
        ("198.51.100.8", "macro.example.test", "fail", Some("-all")),
        ("198.51.100.7", "twice.example.test", "permerror", None),
        (
            "198.51.100.200",
            "amx.example.test",
            "pass",
            Some("a:mx2.example.test/24"),
        ),
        ("192.0.2.10", "example.test", "pass", Some("mx")),
        ("192.0.2.10", "nospf.example.test", "none", None),
        ("192.0.2.10", "soft.example.test", "softfail", Some("~all")),
    ];
    let res = zmreip::dns::Resolver::new(ns.addr, std::time::Duration::from_secs(2)).unwrap();
    for (ip, domain, want, mech) in table {
        let o = zmreip::check::spf::check_host(
            &res,
            ip.parse().unwrap(),
            domain,
            &format!("postmaster@{domain}"),
        );
        assert_eq!(o.result.as_str(), *want, "{ip} {domain}: {o:?}");
        assert_eq!(o.mechanism.as_deref(), *mech, "{ip} {domain}: {o:?}");
        assert!(o.lookups <= 11, "{o:?}");
    }
}

/// What the resolver could not answer is not a verdict: a PTR name whose
/// address lookup is refused (named serves no elsewhere.test) is an
/// `error`, not "no FCrDNS"; and a domain with two SPF records is not
/// told to publish a third.
#[test]
fn unanswered_forward_lookups_and_two_spf_records() {
    let Some(ns) = named() else { return };
    let (code, r, err) = check(
        &ns.addr,
        &[
            &["198.51.100.11", "--domain", "twice.example.test"][..],
            &LISTS[..],
        ]
        .concat(),
    );
    let r = r.unwrap();
    assert_eq!(r.ptr.status, "error", "{:?}", r.ptr);
    assert_eq!(r.ptr.ptr, vec!["mail.elsewhere.test."]);
    assert!(
        r.ptr
            .reason
            .contains("the address lookup of mail.elsewhere.test. failed"),
        "{:?}",
        r.ptr
    );
    assert!(
        !r.problems.iter().any(|p| p.contains("FCrDNS")),
        "{:?}",
        r.problems
    );
    let spf = r.spf.as_ref().unwrap();
    assert_eq!(spf.result, "permerror");
    assert!(spf.suggested.is_none(), "{spf:?}");
    // The permerror is a problem: exit 3.
    assert_eq!(code, 3, "{err}");
}

#[test]
fn a_rewriting_resolver_is_detected() {
    if !servers::available("dnsmasq") {
        return;
    }
    // Like an ISP resolver with "search help": every name has an address.
    let dm = servers::dnsmasq(&["address=/#/198.51.100.1".to_string()]);
    let (_, r, _) = check(&dm.addr, &["198.51.100.7", "--dnsbl", "bl.test"]);
    let r = r.unwrap();
    let w = r
        .warnings
        .iter()
        .find(|w| w.code == "resolver-rewrites-nxdomain")
        .unwrap_or_else(|| panic!("{:?}", r.warnings));
    assert!(w.message.contains("198.51.100.1"), "{}", w.message);
    let bl = dnsbl(&r, "bl.test");
    assert_eq!(bl.status, "unknown", "{bl:?}");
    assert!(
        bl.reason
            .as_deref()
            .unwrap()
            .contains("outside 127.0.0.0/8"),
        "{bl:?}"
    );
    assert!(
        !r.problems.iter().any(|p| p.contains("listed")),
        "{:?}",
        r.problems
    );
}

#[test]
fn a_split_view_shows_the_internal_address() {
    let Some(ns) = named() else { return };
    if !servers::available("dnsmasq") {
        return;
    }
    // The internal view: dnsmasq answers the host name with the private
    // address and forwards everything else to named (on loopback).
    let dm = servers::dnsmasq(&[
        "host-record=mail.example.test,10.40.7.131".to_string(),
        format!("server=127.0.0.1#{}", ns.addr.port()),
    ]);
    let (_, r, _) = check(
        &dm.addr,
        &[
            "198.51.100.7",
            "--hostname",
            "mail.example.test",
            "--from",
            "192.0.2.10",
            "--dnsbl",
            "bl.test",
        ],
    );
    let r = r.unwrap();
    let w = r
        .warnings
        .iter()
        .find(|w| w.code == "check-unexpected-address")
        .unwrap_or_else(|| panic!("{:?}", r.warnings));
    assert!(w.message.contains("10.40.7.131"), "{}", w.message);
    assert!(w.message.contains("split DNS"), "{}", w.message);
    // Forwarded answers still work through the split view.
    assert_eq!(dnsbl(&r, "bl.test").status, "not-listed");
    assert_eq!(r.ptr.status, "mismatch", "{:?}", r.ptr);
}

#[test]
fn an_unreachable_resolver_is_an_error() {
    let port = servers::free_port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let (code, _, err) = check(&addr, &["198.51.100.7", "--dnsbl", "bl.test"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "the resolver 127.0.0.1:{port} gave no usable answer"
        )),
        "{err}"
    );
    assert!(err.contains("help: check --resolver"), "{err}");
}

#[test]
fn text_output_names_the_hand_offs() {
    let Some(ns) = named() else { return };
    let (code, out, _) = run(Zmreip::new([
        "check",
        "198.51.100.9",
        "--hostname",
        "mail.example.test",
        "--resolver",
        &ns.addr.to_string(),
        "--dnsbl",
        "bl.test",
        "--timeout",
        "2",
    ]));
    assert_eq!(code, 3);
    assert!(out.contains("bl.test"), "{out}");
    assert!(
        out.contains("hand-off: ask the provider of 198.51.100.9 to set PTR 9.100.51.198.in-addr.arpa. → mail.example.test"),
        "{out}"
    );
    assert!(out.contains("This move would hurt mail:"), "{out}");
}
