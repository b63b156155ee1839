//! The single-server example (`examples/single-server`, traps listed in its
//! README) run through the real binary.
//!
//! One golden file pins the whole JSON plan
//! (`tests/golden/single-server.plan.json`; regenerate with
//! `ZMREIP_BLESS=1 cargo nextest run -E 'test(/^example::/)'` after
//! checking the diff; `cli` pins the text and Markdown forms). Every other
//! test states one behaviour on its own, so a wrong golden file cannot hide
//! a mishandled trap.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine as _;
use ipnet::IpNet;
use serde_json::Value;

use crate::support::lab::tree;
use crate::support::{Zmreip, copy_tree};

const OLD4: &str = "172.20.14.25";
const OLD6: &str = "2001:db8:14::25";
const NEW4: &str = "10.40.7.131";
const NEW6: &str = "2001:db8:7::131";

/// The move of the golden plan: both families, with the new gateway.
const MOVE: &[&str] = &[
    "--from",
    "172.20.14.25/24",
    "--to",
    "10.40.7.131/24",
    "--from",
    "2001:db8:14::25/64",
    "--to",
    "2001:db8:7::131/64",
    "--gateway",
    "10.40.7.1",
];

/// Other hosts on the old network: no change may add or remove them.
const NEIGHBOURS: &[&str] = &[
    "172.20.14.2",
    "172.20.14.30",
    "172.20.14.53",
    "172.20.14.54",
    "172.20.14.250",
    "172.20.14.251",
];

const SERVER_DN: &str = "cn=mail.corp.example,cn=servers,cn=zimbra";
const GLOBAL_DN: &str = "cn=config,cn=zimbra";
const DOMAIN_DN: &str = "dc=corp,dc=example";
const LOCALCONFIG: &str = "/opt/zimbra/conf/localconfig.xml";

// ---------------------------------------------------------------- harness

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/single-server")
}

fn root() -> PathBuf {
    example_dir().join("root")
}

fn ldif() -> PathBuf {
    example_dir().join("zimbra.ldif")
}

/// `zmreip ARGS --root ROOT --ldif LDIF` on the example, run in its
/// directory.
fn on_example<I, S>(args: I) -> Zmreip
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Zmreip::new(args)
        .root(root())
        .ldif(ldif())
        .current_dir(example_dir())
}

/// `plan` with the golden move and `extra`.
fn plan_args(extra: &[&str]) -> Vec<String> {
    ["plan"]
        .iter()
        .chain(MOVE)
        .chain(extra)
        .map(ToString::to_string)
        .collect()
}

/// The golden plan (JSON), computed once.
fn plan() -> &'static Value {
    static PLAN: OnceLock<Value> = OnceLock::new();
    PLAN.get_or_init(|| on_example(plan_args(&["--format", "json"])).ok().json())
}

/// A scan for both old addresses (JSON), computed once.
fn scan() -> &'static Value {
    static SCAN: OnceLock<Value> = OnceLock::new();
    SCAN.get_or_init(|| {
        on_example(["scan", "--ip", OLD4, "--ip", OLD6, "--format", "json"])
            .ok()
            .json()
    })
}

// ---------------------------------------------------------------- plan JSON helpers

fn changes(plan: &Value) -> &Vec<Value> {
    plan["changes"].as_array().expect("changes is an array")
}

/// A `before`/`after` as a list of strings (one line, one value, or every
/// value of a multi-valued attribute).
fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().expect("values are strings").to_string())
            .collect(),
        other => panic!("unexpected value {other}"),
    }
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// How a change is addressed, for set comparisons and messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Line(String, String),
    Key(String, String),
    Attr(String, String),
}

fn place(change: &Value) -> Place {
    let t = &change["target"];
    if let Some(dn) = str_field(t, "dn") {
        return Place::Attr(
            dn.to_string(),
            str_field(t, "attribute").expect("attribute").to_string(),
        );
    }
    let file = str_field(t, "file")
        .expect("target has a file or a dn")
        .to_string();
    if let Some(key) = str_field(t, "key") {
        return Place::Key(file, key.to_string());
    }
    let before = texts(&change["before"]);
    Place::Line(file, before.join("\n"))
}

fn ldap_change<'a>(plan: &'a Value, dn: &str, attr: &str) -> Option<&'a Value> {
    changes(plan).iter().find(|c| {
        str_field(&c["target"], "dn").is_some_and(|d| d.eq_ignore_ascii_case(dn))
            && str_field(&c["target"], "attribute").is_some_and(|a| a.eq_ignore_ascii_case(attr))
    })
}

fn must_ldap_change<'a>(plan: &'a Value, dn: &str, attr: &str) -> &'a Value {
    ldap_change(plan, dn, attr)
        .unwrap_or_else(|| panic!("no change of {attr} on {dn}; changes:\n{}", summary(plan)))
}

fn summary(plan: &Value) -> String {
    changes(plan)
        .iter()
        .map(|c| {
            format!(
                "  {:?}: {:?} -> {:?}",
                place(c),
                texts(&c["before"]),
                texts(&c["after"])
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------- address tokens

/// IPv4 addresses written in `s` (regex-escaped dots count as dots). A
/// dotted run of more than four numbers (`10.172.20.14.25`) is no address.
fn v4_tokens(s: &str) -> Vec<Ipv4Addr> {
    let s = s.replace("\\.", ".");
    s.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// IPv6 addresses written in `s`, in any spelling.
fn v6_tokens(s: &str) -> Vec<Ipv6Addr> {
    s.split(|c: char| !(c.is_ascii_hexdigit() || c == ':'))
        .filter(|t| t.matches(':').count() >= 2)
        .filter_map(|t| t.parse().ok())
        .collect()
}

fn count_v4(s: &str, a: &str) -> usize {
    let a: Ipv4Addr = a.parse().unwrap();
    v4_tokens(s).into_iter().filter(|t| *t == a).count()
}

/// `s` with every IPv6 address rewritten in canonical form, so spellings
/// compare equal.
fn canon_v6(s: &str) -> String {
    let mut out = String::new();
    let mut tok = String::new();
    let flush = |tok: &mut String, out: &mut String| {
        match tok.parse::<Ipv6Addr>() {
            Ok(a) if tok.matches(':').count() >= 2 => out.push_str(&a.to_string()),
            _ => out.push_str(tok),
        }
        tok.clear();
    };
    for c in s.chars() {
        if c.is_ascii_hexdigit() || c == ':' {
            tok.push(c);
        } else {
            flush(&mut tok, &mut out);
            out.push(c);
        }
    }
    flush(&mut tok, &mut out);
    out
}

/// A trust-list entry (`10.40.7.0/24`, `[2001:db8:7::]/64`, `10.40.7.131`).
fn net(entry: &str) -> IpNet {
    let (a, p) = match entry.rsplit_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (entry, None),
    };
    let a = a.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = a
        .parse()
        .unwrap_or_else(|_| panic!("`{entry}` is not an address"));
    let full = if ip.is_ipv4() { 32 } else { 128 };
    let p = p.map_or(full, |p| p.parse().expect("prefix"));
    IpNet::new(ip, p).expect("valid prefix")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The readers above decide what the behavioural tests see; they must
/// tell addresses apart as strictly as zmreip must.
#[test]
fn test_helpers_read_addresses_strictly() {
    assert_eq!(count_v4("relayhost = [172.20.14.2]:25", "172.20.14.2"), 1);
    assert_eq!(count_v4("ldap://172.20.14.30:389", "172.20.14.30"), 1);
    assert_eq!(count_v4("^172\\.20\\.14\\.250$", "172.20.14.250"), 1);
    assert_eq!(count_v4("172.20.14.250", OLD4), 0);
    assert_eq!(count_v4("172.20.14.2", OLD4), 0);
    assert_eq!(count_v4("10.172.20.14.25", OLD4), 0);
    assert_eq!(count_v4("(172.20.14.25) and 172.20.14.25/32", OLD4), 2);
    let old6: Ipv6Addr = OLD6.parse().unwrap();
    assert_eq!(v6_tokens("2001:DB8:14:0:0:0:0:25\tmail"), vec![old6]);
    assert_eq!(v6_tokens("ldap://[2001:db8:14::25]:389"), vec![old6]);
    assert!(v6_tokens("macaddress: \"00:50:56:14:20:25\"").is_empty());
    assert_eq!(
        canon_v6("a 2001:DB8:7:0:0:0:0:131 b"),
        "a 2001:db8:7::131 b"
    );
    assert_eq!(net("[2001:db8:7::]/64"), net("2001:db8:7::/64"));
    assert_eq!(net("10.40.7.131"), net("10.40.7.131/32"));
}

// ---------------------------------------------------------------- golden

#[test]
fn plan_json_matches_golden_file() {
    on_example(plan_args(&["--format", "json"]))
        .ok()
        .stdout_matches("single-server.plan.json");
}

#[test]
fn plan_is_deterministic() {
    let a = on_example(plan_args(&["--format", "json"])).ok().stdout;
    let b = on_example(plan_args(&["--format", "json"])).ok().stdout;
    assert_eq!(a, b);
}

// ---------------------------------------------------------------- plan shape

#[test]
fn plan_names_the_move_and_schema() {
    let p = plan();
    assert_eq!(p["schema"], "zmreip.plan/v1");
    assert_eq!(
        p["from"],
        serde_json::json!(["172.20.14.25/24", "2001:db8:14::25/64"])
    );
    assert_eq!(
        p["to"],
        serde_json::json!(["10.40.7.131/24", "2001:db8:7::131/64"])
    );
    for key in ["changes", "derived", "actions", "warnings", "handoffs"] {
        assert!(p[key].is_array(), "`{key}` is missing or not an array");
    }
    for (i, c) in changes(p).iter().enumerate() {
        assert_eq!(
            c["id"],
            format!("c{}", i + 1),
            "ids are c1, c2, ... in order"
        );
        assert!(
            str_field(c, "reason").is_some_and(|r| !r.is_empty()),
            "change {} has no reason",
            c["id"]
        );
    }
}

/// The places the example plants, each with its after-value. IPv6
/// spellings are compared canonically (see `canon_v6`); the exact-match list
/// whose spelling matters has its own test.
fn expected_line_changes() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "/etc/hosts",
            "172.20.14.25\tmail.corp.example\tmail",
            "10.40.7.131\tmail.corp.example\tmail",
        ),
        (
            "/etc/hosts",
            "2001:DB8:14:0:0:0:0:25\tmail.corp.example\tmail",
            "2001:db8:7::131\tmail.corp.example\tmail",
        ),
        (
            "/etc/resolv.conf",
            "nameserver 172.20.14.25",
            "nameserver 10.40.7.131",
        ),
        (
            "/etc/dnsmasq.conf",
            "listen-address=127.0.0.1,172.20.14.25",
            "listen-address=127.0.0.1,10.40.7.131",
        ),
        (
            "/etc/dnsmasq.conf",
            "listen-address=::1,2001:db8:14::25",
            "listen-address=::1,2001:db8:7::131",
        ),
        (
            "/etc/dnsmasq.d/split-dns.conf",
            "address=/mail.corp.example/172.20.14.25",
            "address=/mail.corp.example/10.40.7.131",
        ),
        (
            "/etc/dnsmasq.d/split-dns.conf",
            "address=/mail.corp.example/2001:db8:14::25",
            "address=/mail.corp.example/2001:db8:7::131",
        ),
        (
            "/etc/dnsmasq.d/split-dns.conf",
            "ptr-record=25.14.20.172.in-addr.arpa,mail.corp.example",
            "ptr-record=131.7.40.10.in-addr.arpa,mail.corp.example",
        ),
        (
            "/etc/netplan/50-cloud-init.yaml",
            "            - 172.20.14.25/24        # mail.corp.example",
            "            - 10.40.7.131/24        # mail.corp.example",
        ),
        (
            "/etc/netplan/50-cloud-init.yaml",
            "            - \"2001:db8:14::25/64\"",
            "            - \"2001:db8:7::131/64\"",
        ),
        (
            "/etc/netplan/50-cloud-init.yaml",
            "              via: 172.20.14.1",
            "              via: 10.40.7.1",
        ),
    ]
}

/// Directory values that move by a literal swap: (dn, attribute, before,
/// after), values compared as sets.
fn expected_ldap_swaps() -> Vec<(
    &'static str,
    &'static str,
    Vec<&'static str>,
    Vec<&'static str>,
)> {
    vec![
        (
            SERVER_DN,
            "zimbraSpellCheckURL",
            vec!["http://172.20.14.25:7780/aspell.php"],
            vec!["http://10.40.7.131:7780/aspell.php"],
        ),
        (
            SERVER_DN,
            "description",
            vec!["Serveur de messagerie principal (172.20.14.25) \u{2014} ne pas \u{e9}teindre"],
            vec!["Serveur de messagerie principal (10.40.7.131) \u{2014} ne pas \u{e9}teindre"],
        ),
        (
            GLOBAL_DN,
            "zimbraReverseProxyAdminIPAddress",
            vec!["172.20.14.25"],
            vec!["10.40.7.131"],
        ),
        (
            DOMAIN_DN,
            "zimbraVirtualIPAddress",
            vec!["172.20.14.25"],
            vec!["10.40.7.131"],
        ),
        (
            DOMAIN_DN,
            "zimbraWebClientLoginURLAllowedIP",
            vec!["^172\\.20\\.14\\.25$"],
            vec!["^10\\.40\\.7\\.131$"],
        ),
    ]
}

#[test]
fn changes_are_exactly_the_planted_places() {
    let p = plan();
    let mut want: BTreeSet<Place> = BTreeSet::new();
    for (file, before, _) in expected_line_changes() {
        want.insert(Place::Line(file.into(), before.into()));
    }
    want.insert(Place::Key(LOCALCONFIG.into(), "ldap_bind_url".into()));
    for (dn, attr, _, _) in expected_ldap_swaps() {
        want.insert(Place::Attr(dn.into(), attr.into()));
    }
    want.insert(Place::Attr(SERVER_DN.into(), "zimbraMailTrustedIP".into()));
    want.insert(Place::Attr(SERVER_DN.into(), "zimbraMtaMyNetworks".into()));
    want.insert(Place::Attr(
        GLOBAL_DN.into(),
        "zimbraHttpThrottleSafeIPs".into(),
    ));

    let got: BTreeSet<Place> = changes(p).iter().map(place).collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing changes: {missing:#?}\nunexpected changes: {extra:#?}\nall changes:\n{}",
        summary(p)
    );
    assert_eq!(
        changes(p).len(),
        want.len(),
        "one change per place:\n{}",
        summary(p)
    );
}

#[test]
fn own_address_lines_move_and_keep_the_rest() {
    let p = plan();
    for (file, before, after) in expected_line_changes() {
        let c = changes(p)
            .iter()
            .find(|c| place(c) == Place::Line(file.into(), before.into()))
            .unwrap_or_else(|| panic!("no change of `{before}` in {file}:\n{}", summary(p)));
        let got = texts(&c["after"]).join("\n");
        assert_eq!(canon_v6(&got), canon_v6(after), "{file}: `{before}`");
        assert!(
            c["target"]["line"].as_u64().is_some_and(|n| n > 0),
            "{file}: a line change names its 1-based line: {}",
            c["target"]
        );
    }
}

#[test]
fn changed_lines_are_where_the_target_says() {
    for c in changes(plan()) {
        let Place::Line(file, before) = place(c) else {
            continue;
        };
        let n = c["target"]["line"].as_u64().expect("line") as usize;
        let text = std::fs::read_to_string(root().join(file.trim_start_matches('/'))).unwrap();
        assert_eq!(text.lines().nth(n - 1), Some(before.as_str()), "{file}:{n}");
    }
}

#[test]
fn ldap_bind_url_ip_literal_moves_and_names_stay() {
    let p = plan();
    let c = changes(p)
        .iter()
        .find(|c| place(c) == Place::Key(LOCALCONFIG.into(), "ldap_bind_url".into()))
        .unwrap_or_else(|| {
            panic!(
                "ldap_bind_url holds the old address literally:\n{}",
                summary(p)
            )
        });
    assert_eq!(
        texts(&c["before"]),
        vec!["ldap://172.20.14.25:389 ldap://[2001:db8:14::25]:389"]
    );
    assert_eq!(
        canon_v6(&texts(&c["after"]).join("")),
        "ldap://10.40.7.131:389 ldap://[2001:db8:7::131]:389"
    );
    for key in [
        "ldap_url",
        "ldap_master_url",
        "ldap_host",
        "zimbra_server_hostname",
    ] {
        assert!(
            !changes(p)
                .iter()
                .any(|c| place(c) == Place::Key(LOCALCONFIG.into(), key.into())),
            "{key} names the server and must stay"
        );
    }
}

#[test]
fn ldap_literal_swaps() {
    let p = plan();
    for (dn, attr, before, after) in expected_ldap_swaps() {
        let c = must_ldap_change(p, dn, attr);
        let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
        let strs = |v: Vec<&str>| v.into_iter().map(String::from).collect::<BTreeSet<_>>();
        assert_eq!(set(texts(&c["before"])), strs(before), "{dn} {attr} before");
        assert_eq!(set(texts(&c["after"])), strs(after), "{dn} {attr} after");
    }
}

#[test]
fn mail_trusted_ip_swaps_exact_entries_in_their_spelling() {
    let c = must_ldap_change(plan(), SERVER_DN, "zimbraMailTrustedIP");
    let after: BTreeSet<String> = texts(&c["after"]).into_iter().collect();
    // mailboxd compares the peer's address as Java prints it (expanded
    // IPv6), so the spelling of the entry is part of its meaning.
    let want: BTreeSet<String> = ["10.40.7.131", "172.20.14.251", "2001:db8:7:0:0:0:0:131"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(after, want);
}

#[test]
fn mynetworks_moves_interface_networks_and_keeps_site_network() {
    let p = plan();
    let c = must_ldap_change(p, SERVER_DN, "zimbraMtaMyNetworks");
    let entries = |v: &Value| -> Vec<String> {
        texts(v)
            .iter()
            .flat_map(|s| {
                s.split([' ', ','])
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let before: Vec<IpNet> = entries(&c["before"]).iter().map(|e| net(e)).collect();
    let after: Vec<IpNet> = entries(&c["after"]).iter().map(|e| net(e)).collect();
    assert_eq!(
        before.len(),
        7,
        "the folded LDIF value is read whole: {before:?}"
    );

    let has = |n: &str| after.contains(&net(n));
    for keep in ["127.0.0.0/8", "[::1]/128", "[fe80::]/64", "172.20.0.0/16"] {
        assert!(has(keep), "{keep} must stay: {after:?}");
    }
    for moved in ["10.40.7.0/24", "[2001:db8:7::]/64"] {
        assert!(
            has(moved),
            "the new interface network {moved} replaces the old one: {after:?}"
        );
    }
    for gone in ["172.20.14.0/24", "172.20.14.25/32", "[2001:db8:14::]/64"] {
        assert!(!has(gone), "{gone} must go: {after:?}");
    }
    let new_nets = [net("10.40.7.0/24"), net("2001:db8:7::/64")];
    for n in &after {
        assert_ne!(n.prefix_len(), 0, "never trust everything: {after:?}");
        assert!(
            before.contains(n) || new_nets.iter().any(|w| w.contains(n)),
            "{n} widens trust beyond the old entries and the new interface networks"
        );
    }
    assert!(after.iter().any(|n| n.contains(&ip(NEW4))));
    assert!(after.iter().any(|n| n.contains(&ip(NEW6))));
    assert!(
        !after
            .iter()
            .any(|n| *n != net("172.20.0.0/16") && n.contains(&ip(OLD4))),
        "only the site network may still hold the old address: {after:?}"
    );
    assert!(
        p["warnings"].as_array().unwrap().iter().any(|w| {
            w["code"] == "trust-network-kept"
                && str_field(w, "message").is_some_and(|m| m.contains("172.20.0.0/16"))
        }),
        "keeping a network that holds the old address is worth a warning: {}",
        p["warnings"]
    );
    assert!(
        ldap_change(p, GLOBAL_DN, "zimbraMtaMyNetworks").is_none(),
        "the global mynetworks does not hold the old address"
    );
}

#[test]
fn throttle_safe_site_network_stays_and_new_host_is_its_own_entry() {
    let c = must_ldap_change(plan(), GLOBAL_DN, "zimbraHttpThrottleSafeIPs");
    let after = texts(&c["after"]);
    // Zimbra splits each value on commas only (ServerConfig.getAddrListCsv).
    for v in &after {
        assert!(
            !v.trim().contains(char::is_whitespace),
            "`{v}` would not parse in Zimbra"
        );
    }
    let entries: Vec<IpNet> = after
        .iter()
        .flat_map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(net)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        entries.contains(&net("172.20.0.0/16")),
        "the site network stays: {after:?}"
    );
    assert!(
        entries.contains(&net(NEW4)),
        "the new host is trusted beside it: {after:?}"
    );
    assert_eq!(entries.len(), 2, "{after:?}");
}

#[test]
fn neighbours_never_change() {
    let p = plan();
    for c in changes(p) {
        let before = texts(&c["before"]).join("\n");
        let after = texts(&c["after"]).join("\n");
        for n in NEIGHBOURS {
            assert_eq!(
                count_v4(&before, n),
                count_v4(&after, n),
                "{n} is another host; change {:?} adds or removes it: {after:?}",
                place(c)
            );
        }
    }
    for (dn, attr) in [
        (GLOBAL_DN, "zimbraMtaRelayHost"),
        (DOMAIN_DN, "zimbraAuthLdapURL"),
        (DOMAIN_DN, "zimbraGalLdapURL"),
        (DOMAIN_DN, "zimbraWebClientLogoutURLAllowedIP"),
        (SERVER_DN, "zimbraDNSMasterIP"),
        (GLOBAL_DN, "zimbraDNSMasterIP"),
        (
            "cn=com_corp_softphone,cn=zimlets,cn=zimbra",
            "zimbraZimletVersion",
        ),
        (
            "uid=alice,ou=people,dc=corp,dc=example",
            "zimbraPrefMailSignature",
        ),
        (
            "uid=archive,ou=people,dc=corp,dc=example",
            "zimbraMailTransport",
        ),
    ] {
        assert!(
            ldap_change(p, dn, attr).is_none(),
            "{dn} {attr} must not change"
        );
    }
    for c in changes(p) {
        if let Place::Line(file, before) = place(c) {
            assert!(
                !before.trim_start().starts_with('#'),
                "comment changed in {file}: {before}"
            );
            assert!(
                !before.contains("server="),
                "upstream resolver changed in {file}: {before}"
            );
            assert!(
                !before.contains("macaddress"),
                "MAC changed in {file}: {before}"
            );
            assert!(
                !before.contains("fe80::1"),
                "link-local gateway changed in {file}: {before}"
            );
        }
    }
}

#[test]
fn no_old_address_survives_a_change_and_nothing_opens_up() {
    let p = plan();
    let old6: Ipv6Addr = OLD6.parse().unwrap();
    for c in changes(p) {
        let before = texts(&c["before"]).join("\n");
        for a in texts(&c["after"]) {
            assert!(
                !a.contains("0.0.0.0/0"),
                "{:?} writes 0.0.0.0/0: {a}",
                place(c)
            );
            assert!(
                !a.contains("::/0") || before.contains("::/0"),
                "{:?} writes ::/0: {a}",
                place(c)
            );
            assert_eq!(
                count_v4(&a, OLD4),
                0,
                "{:?} still holds {OLD4}: {a}",
                place(c)
            );
            assert!(
                !v6_tokens(&a).contains(&old6),
                "{:?} still holds {OLD6}: {a}",
                place(c)
            );
        }
    }
}

#[test]
fn secret_settings_are_never_changed() {
    for c in changes(plan()) {
        let name = match place(c) {
            Place::Key(_, k) => k,
            Place::Attr(_, a) => a,
            Place::Line(..) => continue,
        };
        assert!(
            !name.to_ascii_lowercase().contains("password"),
            "secret {name} changed"
        );
    }
}

// ---------------------------------------------------------------- gateway, prefixes, families

#[test]
fn without_gateway_the_old_one_stays_and_a_warning_says_why() {
    let mut args = vec!["plan"];
    args.extend_from_slice(&MOVE[..8]);
    args.extend(["--format", "json"]);
    let p = on_example(&args).ok().json();
    assert!(
        !changes(&p).iter().any(|c| texts(&c["before"])
            .iter()
            .any(|b| b.contains("via: 172.20.14.1"))),
        "the gateway is never guessed:\n{}",
        summary(&p)
    );
    assert!(
        p["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "gateway-outside-network"),
        "the old gateway is outside 10.40.7.0/24: {}",
        p["warnings"]
    );
    assert!(
        !p.to_string().contains("10.40.7.1\""),
        "no invented gateway"
    );
}

#[test]
fn prefix_of_old_address_is_read_from_netplan() {
    let p = on_example([
        "plan",
        "--from",
        OLD4,
        "--to",
        "10.40.7.131/24",
        "--format",
        "json",
    ])
    .ok()
    .json();
    assert_eq!(p["from"], serde_json::json!(["172.20.14.25/24"]));
    let c = must_ldap_change(&p, SERVER_DN, "zimbraMtaMyNetworks");
    let after = texts(&c["after"]).join(" ");
    assert!(
        after.split(' ').any(|e| e == "10.40.7.0/24"),
        "with the prefix known the interface network moves: {after}"
    );
}

#[test]
fn moving_only_ipv4_leaves_ipv6_alone() {
    let p = on_example([
        "plan",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
        "--gateway",
        "10.40.7.1",
        "--format",
        "json",
    ])
    .ok()
    .json();
    for c in changes(&p) {
        let before: Vec<Ipv6Addr> = texts(&c["before"])
            .iter()
            .flat_map(|s| v6_tokens(s))
            .collect();
        let after: Vec<Ipv6Addr> = texts(&c["after"])
            .iter()
            .flat_map(|s| v6_tokens(s))
            .collect();
        assert_eq!(before, after, "{:?}: IPv6 must not move", place(c));
        assert!(!texts(&c["after"]).iter().any(|a| a.contains("2001:db8:7:")));
    }
    let c = must_ldap_change(&p, SERVER_DN, "zimbraMtaMyNetworks");
    assert!(texts(&c["after"]).join(" ").contains("[2001:db8:14::]/64"));
}

#[test]
fn restart_all_is_one_full_restart_of_zimbra() {
    let p = on_example(plan_args(&["--restart", "all", "--format", "json"]))
        .ok()
        .json();
    let actions = p["actions"].as_array().unwrap();
    let services: Vec<&str> = actions
        .iter()
        .map(|a| a["service"].as_str().unwrap())
        .collect();
    // zmcontrol restarts every Zimbra service; the network and dnsmasq,
    // which it never touches, keep their own actions.
    assert_eq!(services, ["network", "dnsmasq", "all"], "{actions:?}");
    let actions = &actions[2..];
    assert_eq!(actions[0]["action"], "restart");
    let ids: BTreeSet<&str> = changes(&p)
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let because: BTreeSet<&str> = actions[0]["because"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(ids, because);
}

// ---------------------------------------------------------------- derived files, actions, paths

#[test]
fn derived_files_are_reported_never_changed() {
    let p = plan();
    let derived: BTreeMap<String, String> = p["derived"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                str_field(d, "file").unwrap().to_string(),
                str_field(d, "regenerated_by").unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeMap<String, String> = [
        ("/opt/zimbra/common/conf/main.cf", "mta"),
        ("/opt/zimbra/conf/amavisd.conf", "mta"),
        (
            "/opt/zimbra/conf/nginx/includes/nginx.conf.memcache",
            "proxy",
        ),
        (
            "/opt/zimbra/conf/nginx/includes/nginx.conf.zmlookup",
            "proxy",
        ),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(derived, want);
    for c in changes(p) {
        if let Some(f) = str_field(&c["target"], "file") {
            assert!(
                !derived.contains_key(f),
                "derived file {f} edited by {}",
                c["id"]
            );
        }
    }
}

#[test]
fn actions_are_the_least_set_in_order() {
    let p = plan();
    let actions = p["actions"].as_array().unwrap();
    let services: Vec<&str> = actions
        .iter()
        .map(|a| a["service"].as_str().unwrap())
        .collect();
    for s in ["network", "ldap", "dnsmasq", "mta", "mailbox", "proxy"] {
        assert!(services.contains(&s), "{s} must act: {services:?}");
    }
    assert!(
        !services.contains(&"all"),
        "no full restart unless asked: {services:?}"
    );
    let pos = |s: &str| services.iter().position(|x| *x == s).unwrap();
    assert_eq!(pos("network"), 0, "the address comes first: {services:?}");
    for later in ["mta", "mailbox", "proxy"] {
        assert!(
            pos("ldap") < pos(later),
            "LDAP before {later}: {services:?}"
        );
    }
    let mta = actions.iter().find(|a| a["service"] == "mta").unwrap();
    assert_eq!(
        mta["action"], "reload",
        "mynetworks needs a postfix reload only"
    );
    let ids: BTreeSet<String> = changes(p)
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    for a in actions {
        for b in a["because"].as_array().unwrap() {
            let b = b.as_str().unwrap();
            assert!(
                ids.contains(b) || b.starts_with('/'),
                "`because` names unknown {b}"
            );
        }
    }
}

#[test]
fn output_uses_host_paths_only() {
    let run = on_example(plan_args(&["--format", "json"])).ok();
    let root = root().display().to_string();
    assert!(!run.stdout.contains(&root), "--root leaks into the plan");
    for c in changes(&run.json()) {
        if let Some(f) = str_field(&c["target"], "file") {
            assert!(
                f.starts_with("/etc/") || f.starts_with("/opt/zimbra/"),
                "{f}"
            );
        }
    }
}

#[test]
fn markdown_report_has_its_sections() {
    let md = on_example(plan_args(&["--format", "markdown"])).ok().stdout;
    for h in [
        "# Change request: move the Zimbra server mail.corp.example from 172.20.14.25/24, 2001:db8:14::25/64 to 10.40.7.131/24, 2001:db8:7::131/64",
        "## Summary",
        "## Impact",
        "## Before the change",
        "## Order of steps",
        "## Changes",
        "### Files Zimbra regenerates (not edited)",
        "## After the change",
        "## Rollback",
        "## To do outside this host",
        "## Risks and warnings",
    ] {
        assert!(md.lines().any(|l| l == h), "missing heading `{h}`:\n{md}");
    }
    assert!(md.contains("```diff\n-"), "changes are shown as diffs");
}

#[test]
fn text_plan_colours_only_when_asked() {
    let never = on_example(plan_args(&["--color", "never"])).ok().stdout;
    assert!(!never.contains('\x1b'));
    assert!(never.contains("== regenerated by Zimbra (never edited)"));
    let always = on_example(plan_args(&["--color", "always"])).ok().stdout;
    assert!(always.contains("\x1b["));
}

#[test]
fn out_file_holds_the_json_plan_and_nothing_else_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, l) = copy_example(tmp.path());
    let before = tree(tmp.path());
    let out = tmp.path().join("plan.json");
    let run = Zmreip::new(plan_args(&[
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]))
    .root(&r)
    .ldif(&l)
    .current_dir(tmp.path())
    .ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), run.stdout);
    let mut after = tree(tmp.path());
    after.remove("plan.json");
    assert!(before == after, "plan wrote into the host tree");
}

// ---------------------------------------------------------------- scan

fn findings(scan: &Value, key: &str) -> Vec<Value> {
    scan[key]
        .as_array()
        .unwrap_or_else(|| panic!("scan has no `{key}`"))
        .clone()
}

#[test]
fn scan_finds_every_planted_place_and_no_near_miss() {
    let s = scan();
    assert_eq!(s["schema"], "zmreip.scan/v1");
    let all: Vec<Value> = findings(s, "findings")
        .into_iter()
        .chain(findings(s, "derived"))
        .collect();
    for f in &all {
        let m = str_field(f, "matched").unwrap();
        let kind = str_field(f, "kind").unwrap();
        for n in NEIGHBOURS {
            assert_eq!(count_v4(m, n), 0, "near-miss {n} reported: {f}");
        }
        assert!(
            !m.contains("10.172.20.14.25"),
            "version string reported: {f}"
        );
        if kind == "network-contains" {
            let n = net(m.trim_start_matches('[').replace("]/", "/").as_str());
            assert!(n.contains(&ip(OLD4)) || n.contains(&ip(OLD6)), "{f}");
        } else {
            let hit = count_v4(m, OLD4) > 0
                || v6_tokens(m).contains(&OLD6.parse().unwrap())
                || m.contains("25.14.20.172.in-addr.arpa");
            assert!(hit, "finding does not hold an old address: {f}");
        }
    }
    let placed: BTreeSet<Place> = findings(s, "findings")
        .iter()
        .map(|f| {
            let t = &f["target"];
            match (
                str_field(t, "dn"),
                str_field(t, "key"),
                str_field(t, "file"),
            ) {
                (Some(dn), _, _) => {
                    Place::Attr(dn.into(), str_field(t, "attribute").unwrap().into())
                }
                (_, Some(k), Some(file)) => Place::Key(file.into(), k.into()),
                (_, _, Some(file)) => Place::Line(file.into(), String::new()),
                _ => panic!("finding without a place: {f}"),
            }
        })
        .collect();
    let mut want: Vec<Place> = expected_line_changes()
        .iter()
        .filter(|(_, before, _)| !before.contains("via:"))
        .map(|(file, _, _)| Place::Line(file.to_string(), String::new()))
        .collect();
    want.push(Place::Key(LOCALCONFIG.into(), "ldap_bind_url".into()));
    for (dn, attr, _, _) in expected_ldap_swaps() {
        want.push(Place::Attr(dn.into(), attr.into()));
    }
    want.push(Place::Attr(SERVER_DN.into(), "zimbraMailTrustedIP".into()));
    want.push(Place::Attr(SERVER_DN.into(), "zimbraMtaMyNetworks".into()));
    want.push(Place::Attr(
        GLOBAL_DN.into(),
        "zimbraHttpThrottleSafeIPs".into(),
    ));
    for w in want {
        assert!(placed.contains(&w), "scan misses {w:?}");
    }
    for f in findings(s, "findings") {
        let t = &f["target"];
        if str_field(t, "file") == Some("/etc/hosts") {
            let line = t["line"].as_u64().unwrap() as usize;
            let text = std::fs::read_to_string(root().join("etc/hosts")).unwrap();
            let l = text.lines().nth(line - 1).unwrap();
            assert!(!l.trim_start().starts_with('#'), "comment reported: {l}");
        }
    }
}

#[test]
fn scan_reads_folded_and_base64_ldif_values() {
    let s = scan();
    let f = findings(s, "findings");
    let on = |dn: &str, attr: &str| -> Vec<&Value> {
        f.iter()
            .filter(|x| {
                str_field(&x["target"], "dn") == Some(dn)
                    && str_field(&x["target"], "attribute") == Some(attr)
            })
            .collect()
    };
    // The fold of this value splits `[2|001:db8:14::]/64`.
    let nets = on(SERVER_DN, "zimbraMtaMyNetworks");
    assert!(
        nets.iter().any(|x| x["kind"] == "network-contains"
            && str_field(x, "matched").unwrap().contains("2001:db8:14::")),
        "{nets:?}"
    );
    // base64 (UTF-8) value.
    let desc = on(SERVER_DN, "description");
    assert_eq!(desc.len(), 1, "{desc:?}");
    assert_eq!(desc[0]["matched"], OLD4);
    assert!(
        str_field(desc[0], "context")
            .unwrap()
            .contains("ne pas \u{e9}teindre")
    );
}

#[test]
fn scan_lists_derived_files_apart() {
    let s = scan();
    let files: BTreeSet<String> = findings(s, "derived")
        .iter()
        .map(|f| str_field(&f["target"], "file").unwrap().to_string())
        .collect();
    for want in [
        "/opt/zimbra/common/conf/main.cf",
        "/opt/zimbra/conf/amavisd.conf",
        "/opt/zimbra/conf/nginx/includes/nginx.conf.zmlookup",
        "/opt/zimbra/conf/nginx/includes/nginx.conf.memcache",
    ] {
        assert!(files.contains(want), "{want} not under derived: {files:?}");
    }
    for f in findings(s, "findings") {
        if let Some(file) = str_field(&f["target"], "file") {
            assert!(
                !files.contains(file),
                "derived file {file} reported as a source of truth"
            );
        }
    }
}

// ---------------------------------------------------------------- secrets

/// Every secret of the example: localconfig `*_password` keys (as stored
/// and XML-decoded) and LDIF `*Password` values (decoded and as written).
fn secrets() -> Vec<String> {
    let mut out = Vec::new();
    let xml = std::fs::read_to_string(root().join("opt/zimbra/conf/localconfig.xml")).unwrap();
    let mut key = None;
    for line in xml.lines() {
        let l = line.trim();
        if let Some(k) = l.strip_prefix("<key name=\"") {
            key = k.split('"').next().map(String::from);
        } else if let Some(v) = l
            .strip_prefix("<value>")
            .and_then(|v| v.strip_suffix("</value>"))
            && key.as_deref().is_some_and(|k| k.ends_with("_password"))
        {
            out.push(v.to_string());
            out.push(
                v.replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">"),
            );
        }
    }
    let ldif = std::fs::read_to_string(ldif()).unwrap();
    let unfolded = ldif.replace("\n ", "");
    for line in unfolded.lines() {
        let Some((attr, rest)) = line.split_once(':') else {
            continue;
        };
        if !attr.to_ascii_lowercase().ends_with("password") {
            continue;
        }
        if let Some(b64) = rest.strip_prefix(": ") {
            out.push(b64.to_string());
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            out.push(String::from_utf8(raw).unwrap());
        } else {
            out.push(rest.trim_start().to_string());
        }
    }
    assert!(out.len() > 20, "the example has secrets to leak: {out:?}");
    out.sort();
    out.dedup();
    out
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(
        !text.contains("FAKE"),
        "{what} prints a (fake) secret:\n{text}"
    );
    for s in secrets() {
        assert!(!text.contains(&s), "{what} prints secret `{s}`");
    }
}

#[test]
fn no_secret_in_any_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan.json");
    let out_arg = out.to_str().unwrap().to_string();
    let scan = |extra: &[&str]| -> Vec<String> {
        ["scan", "--ip", OLD4, "--ip", OLD6]
            .iter()
            .chain(extra)
            .map(ToString::to_string)
            .collect()
    };
    let runs: Vec<(&str, Vec<String>)> = vec![
        ("scan text", scan(&[])),
        ("scan json", scan(&["--format", "json"])),
        ("plan text", plan_args(&["--color", "always"])),
        (
            "plan json",
            plan_args(&["--format", "json", "--out", &out_arg]),
        ),
        ("plan markdown", plan_args(&["--format", "markdown"])),
    ];
    for (what, args) in runs {
        let run = on_example(&args).ok();
        assert_no_secret(&format!("{what} stdout"), &run.stdout);
        assert_no_secret(&format!("{what} stderr"), &run.stderr);
    }
    assert_no_secret("--out file", &std::fs::read_to_string(&out).unwrap());
}

// ---------------------------------------------------------------- bad input

/// Copies the example into `dir` (`dir/root`, `dir/zimbra.ldif`).
fn copy_example(dir: &Path) -> (PathBuf, PathBuf) {
    let r = dir.join("root");
    copy_tree(&root(), &r);
    let l = dir.join("zimbra.ldif");
    std::fs::copy(ldif(), &l).unwrap();
    (r, l)
}

/// Runs a failing command in a fresh copy of the example; checks the exit
/// status, that stderr names `names`, that nothing was written (not even
/// `--out`) and that no secret is printed. `args` may use `ROOT`, `LDIF`
/// and `OUT`; `prepare` may break the copy first.
fn fails<S: AsRef<str>>(
    args: &[S],
    codes: &[i32],
    names: &[&str],
    prepare: impl FnOnce(&Path, &Path),
) {
    let tmp = tempfile::tempdir().unwrap();
    let (r, l) = copy_example(tmp.path());
    prepare(&r, &l);
    let out = tmp.path().join("plan.json");
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            a.as_ref()
                .replace("ROOT", r.to_str().unwrap())
                .replace("LDIF", l.to_str().unwrap())
                .replace("OUT", out.to_str().unwrap())
        })
        .collect();
    let before = tree(tmp.path());
    let run = Zmreip::new(&args).current_dir(tmp.path()).run();
    assert!(
        run.code.is_some_and(|c| codes.contains(&c)),
        "{args:?}: exit {:?}, want one of {codes:?}\n{}",
        run.code,
        run.stderr
    );
    for n in names {
        let n = n
            .replace("ROOT", r.to_str().unwrap())
            .replace("LDIF", l.to_str().unwrap());
        assert!(
            run.stderr.contains(&n),
            "{args:?}: stderr does not name `{n}`:\n{}",
            run.stderr
        );
    }
    assert!(
        !run.stderr.contains("panicked"),
        "{args:?}: panic:\n{}",
        run.stderr
    );
    assert!(
        run.stdout.is_empty(),
        "{args:?}: printed a result despite the error:\n{}",
        run.stdout
    );
    assert_no_secret("error output", &run.stderr);
    assert!(!out.exists(), "{args:?}: --out written despite the error");
    assert!(before == tree(tmp.path()), "{args:?}: the tree changed");
}

/// The 1-based line of `path` that holds `needle`.
fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {}", path.display()))
        + 1
}

const PLAN_OUT: &[&str] = &["--root", "ROOT", "--ldif", "LDIF", "--out", "OUT"];

/// `plan` with `moves`, the copied host and `--out`.
fn plan_with(moves: &[&str]) -> Vec<String> {
    ["plan"]
        .iter()
        .chain(moves)
        .chain(PLAN_OUT)
        .map(ToString::to_string)
        .collect()
}

#[test]
fn invalid_address_is_a_usage_error() {
    fails(
        &plan_with(&["--from", "172.20.14.256/24", "--to", "10.40.7.131/24"]),
        &[2],
        &["--from", "172.20.14.256"],
        |_, _| {},
    );
    fails(
        &plan_with(&["--from", "172.20.14.25/24", "--to", "10.40.7.131/33"]),
        &[2],
        &["--to", "/33"],
        |_, _| {},
    );
    fails(
        &["scan", "--ip", "172.20.14.25.1", "--root", "ROOT"],
        &[2],
        &["--ip", "172.20.14.25.1"],
        |_, _| {},
    );
    fails(
        &plan_with(&[
            "--from",
            "172.20.14.25/24",
            "--to",
            "10.40.7.131/24",
            "--gateway",
            "10.40.7",
        ]),
        &[2],
        &["--gateway"],
        |_, _| {},
    );
}

#[test]
fn same_old_and_new_is_a_usage_error() {
    fails(
        &plan_with(&["--from", "172.20.14.25/24", "--to", "172.20.14.25/24"]),
        &[2],
        &["--from", "--to", OLD4],
        |_, _| {},
    );
}

#[test]
fn family_mismatch_is_a_usage_error() {
    fails(
        &plan_with(&["--from", "172.20.14.25/24", "--to", "2001:db8:7::131/64"]),
        &[2],
        &["--from", "--to", "famil"],
        |_, _| {},
    );
    fails(
        &plan_with(&[
            "--from",
            "172.20.14.25/24",
            "--to",
            "10.40.7.131/24",
            "--gateway",
            "2001:db8:7::1",
        ]),
        &[2],
        &["--gateway"],
        |_, _| {},
    );
}

#[test]
fn dual_stack_takes_one_gateway_per_family() {
    let dir = tempfile::tempdir().unwrap();
    let netplan = dir.path().join("etc/netplan/01-mail.yaml");
    std::fs::create_dir_all(netplan.parent().unwrap()).unwrap();
    std::fs::write(
        &netplan,
        "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.25/24, \"2001:db8:14::25/64\"]\n      gateway4: 172.20.14.1\n      gateway6: 2001:db8:14::1\n",
    )
    .unwrap();
    // A Zimbra host (plan refuses a root without one).
    let lc = dir.path().join("opt/zimbra/conf/localconfig.xml");
    std::fs::create_dir_all(lc.parent().unwrap()).unwrap();
    std::fs::write(&lc, "<localconfig>\n</localconfig>\n").unwrap();
    let plan = |gateways: &[&str]| {
        let mut args = vec![
            "plan",
            "--from",
            OLD4,
            "--to",
            "10.40.7.131/24",
            "--from",
            OLD6,
            "--to",
            "2001:db8:7::131/64",
            "--no-directory",
            "--format",
            "json",
        ];
        for g in gateways {
            args.extend(["--gateway", g]);
        }
        Zmreip::new(&args).root(dir.path()).run()
    };
    // Both gateways, in either order: both lines follow, nothing warned.
    for gws in [
        ["10.40.7.1", "2001:db8:7::1"],
        ["2001:db8:7::1", "10.40.7.1"],
    ] {
        let p = plan(&gws).status(0).json();
        let afters: Vec<String> = changes(&p)
            .iter()
            .flat_map(|c| texts(&c["after"]))
            .collect();
        assert!(
            afters.contains(&"      gateway4: 10.40.7.1".to_string()),
            "{afters:?}"
        );
        assert!(
            afters.contains(&"      gateway6: 2001:db8:7::1".to_string()),
            "{afters:?}"
        );
        assert!(
            !p["warnings"]
                .to_string()
                .contains("gateway-outside-network"),
            "{}",
            p["warnings"]
        );
    }
    // The IPv4 one alone: the IPv6 gateway is warned, and the warning
    // asks for what the command line accepts.
    let p = plan(&["10.40.7.1"]).status(0).json();
    let w = p["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "gateway-outside-network")
        .expect("the IPv6 gateway is warned");
    let msg = w["message"].as_str().unwrap();
    assert!(
        msg.contains("2001:db8:14::1") && msg.contains("one --gateway per address family"),
        "{msg}"
    );
    // Two of one family is a usage error naming both.
    let out = plan(&["10.40.7.1", "10.40.7.2"]).status(2);
    assert!(
        out.stderr
            .contains("--gateway is given twice for IPv4 (10.40.7.1 and 10.40.7.2)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("help: "), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_root_is_a_usage_error() {
    let mut args = vec![
        "plan",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
    ];
    args.extend([
        "--root",
        "ROOT/nonexistent",
        "--ldif",
        "LDIF",
        "--out",
        "OUT",
    ]);
    fails(&args, &[2], &["--root", "ROOT/nonexistent"], |_, _| {});
    fails(
        &["scan", "--ip", OLD4, "--root", "LDIF"],
        &[2],
        &["--root", "LDIF"],
        |_, _| {},
    );
}

#[test]
fn unreadable_ldif_names_the_file() {
    let mut args = vec![
        "plan",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
    ];
    args.extend(["--root", "ROOT", "--ldif", "LDIF.missing", "--out", "OUT"]);
    fails(&args, &[1, 2], &["LDIF.missing"], |_, _| {});
    fails(
        &["scan", "--ip", OLD4, "--root", "ROOT", "--ldif", "ROOT"],
        &[1, 2],
        &["ROOT"],
        |_, _| {},
    );
}

#[test]
fn malformed_ldif_names_file_and_line() {
    let args = plan_with(&["--from", "172.20.14.25/24", "--to", "10.40.7.131/24"]);
    let at = format!(
        "LDIF:{}:",
        line_of(&ldif(), "zimbraServerVersion: 10.0.9_GA_4672")
    );
    // A value that is not base64, in the server entry.
    fails(&args, &[1], &[&at], |_, l| {
        let text = std::fs::read_to_string(l).unwrap();
        let text = text.replacen(
            "zimbraServerVersion: 10.0.9_GA_4672",
            "description:: %%% not base64 %%%",
            1,
        );
        std::fs::write(l, text).unwrap();
    });
    // A line without a colon.
    fails(&args, &[1], &[&at], |_, l| {
        let text = std::fs::read_to_string(l).unwrap();
        let text = text.replacen(
            "zimbraServerVersion: 10.0.9_GA_4672",
            "zimbraServerVersion 10.0.9_GA_4672",
            1,
        );
        std::fs::write(l, text).unwrap();
    });
}

#[test]
fn malformed_localconfig_names_the_host_file() {
    let at = format!(
        "{LOCALCONFIG}:{}:",
        line_of(
            &root().join("opt/zimbra/conf/localconfig.xml"),
            "FAKE-zimbra-Dv64aK"
        )
    );
    let break_it = |r: &Path, _: &Path| {
        let p = r.join("opt/zimbra/conf/localconfig.xml");
        let text = std::fs::read_to_string(&p).unwrap();
        // Break the XML right at a secret, which must not be quoted back.
        let text = text.replacen("FAKE-zimbra-Dv64aK</value>", "FAKE-zimbra-Dv64aK</valu>", 1);
        std::fs::write(&p, text).unwrap();
    };
    fails(
        &plan_with(&["--from", "172.20.14.25/24", "--to", "10.40.7.131/24"]),
        &[1],
        &[&at],
        break_it,
    );
    // scan names the file, exits 1, and still reports every other place
    // (one bad file hides nothing else); nothing is written either.
    let tmp = tempfile::tempdir().unwrap();
    let (r, l) = copy_example(tmp.path());
    break_it(&r, &l);
    let before = tree(tmp.path());
    let run = Zmreip::new(["scan", "--ip", OLD4])
        .root(&r)
        .ldif(&l)
        .run()
        .status(1);
    assert!(run.stderr.contains(&at), "{}", run.stderr);
    assert!(run.stderr.contains("help: "), "{}", run.stderr);
    assert_no_secret("error output", &run.stderr);
    assert!(
        run.stdout.contains("/etc/hosts:5  172.20.14.25"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("1 file could not be read"),
        "{}",
        run.stdout
    );
    assert!(before == tree(tmp.path()), "scan changed the tree");
}

#[test]
fn include_glob_matching_nothing_is_a_usage_error() {
    fails(
        &[
            "scan",
            "--ip",
            OLD4,
            "--root",
            "ROOT",
            // Files only: the snapshot's localconfig names an LDAP server
            // that is not there (and must not be looked up).
            "--no-directory",
            "--include",
            "/etc/nothing-here/*.conf",
        ],
        &[2],
        &["--include", "/etc/nothing-here/*.conf"],
        |_, _| {},
    );
}

// ------------------------------------------------------------- automation

/// `plan --detailed-exitcode` exits 4 while anything is left to apply and
/// 0 once the host is done, as configuration management needs it. Done
/// includes files Zimbra regenerates that keep a wider trusted network
/// holding the old address (172.20.0.0/16 stays: `trust-network-kept`):
/// were they counted, every run would plan an MTA reload again. A file
/// still holding the old interface network (which moves) is not done.
#[test]
fn detailed_exitcode_is_pending_until_the_host_is_done() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, l) = copy_example(tmp.path());
    let plan = |extra: &[&str]| {
        Zmreip::new(plan_args(extra))
            .root(&r)
            .ldif(&l)
            .current_dir(tmp.path())
            .run()
    };
    let code = |extra: &[&str]| plan(extra).code;
    assert_eq!(code(&["--detailed-exitcode"]), Some(4));
    // Without the option a plan with changes is plain success.
    assert_eq!(code(&[]), Some(0));
    let mut apply: Vec<&str> = vec!["apply", "--yes", "--no-restart", "--no-verify"];
    apply.extend_from_slice(MOVE);
    Zmreip::new(apply).root(&r).ldif(&l).ok();

    // Applied, but the services have not regenerated their files yet.
    let after = plan(&["--detailed-exitcode", "--format", "json"]);
    assert_eq!(after.code, Some(4), "{}", after.stdout);
    let v = after.json();
    assert_eq!(v["changes"].as_array().unwrap().len(), 0, "{v}");
    assert!(!v["actions"].as_array().unwrap().is_empty(), "{v}");

    // What zmconfigd writes: the new host and networks, 172.20.0.0/16
    // kept, but main.cf still on the old interface network: pending.
    let regenerate = |file: &str, moves: &[(&str, &str)]| {
        let p = r.join(file);
        let mut t = std::fs::read_to_string(&p).unwrap();
        for (old, new) in moves {
            t = t.replace(old, new);
        }
        std::fs::write(&p, t).unwrap();
    };
    let hosts = [
        ("172.20.14.25/32", "10.40.7.131/32"),
        ("[2001:db8:14::]/64", "[2001:db8:7::]/64"),
        ("172.20.14.25:", "10.40.7.131:"),
    ];
    for f in [
        "opt/zimbra/common/conf/main.cf",
        "opt/zimbra/conf/amavisd.conf",
        "opt/zimbra/conf/nginx/includes/nginx.conf.memcache",
        "opt/zimbra/conf/nginx/includes/nginx.conf.zmlookup",
    ] {
        regenerate(f, &hosts);
    }
    regenerate(
        "opt/zimbra/conf/amavisd.conf",
        &[("172.20.14.0/24", "10.40.7.0/24")],
    );
    let half = plan(&["--detailed-exitcode", "--format", "json"]);
    assert_eq!(half.code, Some(4), "{}", half.stdout);
    let v = half.json();
    assert_eq!(
        v["derived"],
        serde_json::json!([{"file": "/opt/zimbra/common/conf/main.cf", "regenerated_by": "mta"}]),
        "{v}"
    );
    assert_eq!(v["actions"][0]["service"], "mta", "{v}");

    regenerate(
        "opt/zimbra/common/conf/main.cf",
        &[("172.20.14.0/24", "10.40.7.0/24")],
    );
    assert!(
        std::fs::read_to_string(r.join("opt/zimbra/common/conf/main.cf"))
            .unwrap()
            .contains(" 172.20.0.0/16"),
        "the wider network must still be there for this test to mean anything"
    );
    let done = plan(&["--detailed-exitcode", "--format", "json"]);
    assert_eq!(done.code, Some(0), "{}", done.stdout);
    let v = done.json();
    assert_eq!(v["derived"], serde_json::json!([]), "{v}");
    assert_eq!(v["actions"], serde_json::json!([]), "{v}");
    // And an apply now has nothing to run: exit 0, `changed: false`, no
    // run recorded.
    let mut again: Vec<&str> = vec!["apply", "--yes", "--no-verify", "--format", "json"];
    again.extend_from_slice(MOVE);
    let out = Zmreip::new(again).root(&r).ldif(&l).ok().json();
    assert_eq!(out["changed"], false, "{out}");
    assert_eq!(out["run"], serde_json::Value::Null, "{out}");
    let runs = std::fs::read_dir(r.join("var/lib/zmreip/runs"))
        .unwrap()
        .count();
    assert_eq!(runs, 1);
}

/// The README's first command, as written there, plans both address
/// families: nothing in localconfig.xml keeps either old address (the
/// IPv6 `ldap_bind_url` was once left behind by an IPv4-only command).
#[test]
fn the_readme_first_command_moves_both_families() {
    let readme = std::fs::read_to_string(example_dir().join("../../README.md")).unwrap();
    let line = readme
        .lines()
        .find_map(|l| l.trim().strip_prefix("cargo run --release -- "))
        .expect("the README's first command");
    let args: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(args[0], "plan", "{line}");
    let mut with_json = args.clone();
    with_json.extend(["--format", "json"]);
    let plan = Zmreip::new(&with_json)
        .current_dir(example_dir().join("../.."))
        .ok()
        .json();
    let lc = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["target"]["key"] == "ldap_bind_url")
        .map(|c| c["after"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(
        lc,
        ["ldap://10.40.7.131:389 ldap://[2001:db8:7::131]:389"],
        "{plan:#}"
    );
}
