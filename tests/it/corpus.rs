//! Real hosts' files: every file of `tests/corpus/` (upstream projects'
//! own examples and test data, see `tests/corpus/README.md`) is placed
//! where its surface looks for it inside a fresh `--root`, and the real
//! binary runs `scan`, `plan` (twice), `apply` and `scan` again over it.
//!
//! For a file its upstream accepts, with OLD the first address on a
//! non-comment line (one per family) and NEW an address of the same family
//! that occurs nowhere in the file, the checks are:
//!
//! * `refused`: `scan --ip OLD` and `plan --from OLD --to NEW` exit 0
//!   (a file with no address is scanned for an absent one).
//! * `panic`: no run exits 101 or prints "panicked".
//! * `missed`: the scan finds OLD in every file where OLD stands on a line
//!   that is not a comment (`#`, `;`, `//`, `!`, `<!--` first).
//! * `after-diff`: every change is an address edit: in `after`, each
//!   spelling of NEW (dotted, regex-escaped `\.`, in-addr.arpa; for IPv6
//!   compressed, expanded with or without leading zeros, upper or lower
//!   case, ip6.arpa nibbles) is put back as the same spelling of OLD; the
//!   result must equal `before`. Two documented edits are also accepted:
//!   a zone's SOA serial going up (exactly one number of the line grows),
//!   and a trust list gaining the new host beside a network that holds the
//!   old address (taking out that one added entry gives `before`). No
//!   prefix or gateway is passed, so no prefix or gateway may change.
//! * `unstable`: planning the same root twice prints the same plan.
//! * `apply`: `apply --plan` of that plan exits 0 on the root.
//! * `signed-edit`: no change edits a DNSSEC-signed zone file (one holding
//!   RRSIG records): its signatures would break.
//! * `reparse`: after apply, `scan --ip NEW` exits 0 and finds NEW in
//!   every changed file.
//!
//! For a file its upstream rejects (`invalid/`), the check is `invalid`:
//! `scan` exits 1 with an error that names `FILE:LINE` and a `help:` line.
//!
//! Failures listed in `tests/corpus/KNOWN-FAILURES.md` are expected (the
//! work list of issue 11); the test fails on a failure not listed there,
//! and on a listed failure that no longer happens, so the list only
//! shrinks. `ZMREIP_CORPUS=substring` runs the matching cases only (then
//! the list is checked for those cases only).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::support::{Output, Zmreip};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

// ------------------------------------------------------------- the cases

/// Where a corpus surface's files go on the host.
enum Place {
    /// One fixed host path.
    Fixed(&'static str),
    /// A directory: the file keeps its name (with this suffix added when
    /// missing, since the surface globs for it).
    Dir(&'static str, &'static str),
    /// A directory of files copied under this host directory, whose
    /// `named.conf` is BIND's main file.
    Bind(&'static str),
    /// Passed as `--ldif`.
    Ldif,
    /// By the file's name: the first rule whose prefix it starts with
    /// (the rest of the name, with the rule's suffix added when missing,
    /// goes under a `Dir` rule's directory).
    ByName(&'static [(&'static str, Place)]),
}

/// Corpus folder → placement. Every folder of tests/corpus must be here.
const SURFACES: &[(&str, Place)] = &[
    ("hosts", Place::Fixed("/etc/hosts")),
    ("resolv", Place::Fixed("/etc/resolv.conf")),
    ("dnsmasq", Place::Fixed("/etc/dnsmasq.conf")),
    ("ifupdown", Place::Fixed("/etc/network/interfaces")),
    ("netplan", Place::Dir("/etc/netplan", ".yaml")),
    (
        "nmconnection",
        Place::Dir("/etc/NetworkManager/system-connections", ".nmconnection"),
    ),
    ("ifcfg", Place::Dir("/etc/sysconfig/network-scripts", "")),
    ("networkd", Place::Dir("/etc/systemd/network", "")),
    (
        "localconfig",
        Place::Fixed("/opt/zimbra/conf/localconfig.xml"),
    ),
    ("zonefile", Place::Bind("/etc/bind")),
    ("ldif", Place::Ldif),
    (
        "iptables",
        Place::ByName(&[
            ("rules.v6", Place::Fixed("/etc/iptables/rules.v6")),
            (
                "sysconfig-ip6tables",
                Place::Fixed("/etc/sysconfig/ip6tables"),
            ),
            ("sysconfig-", Place::Fixed("/etc/sysconfig/iptables")),
            ("ip6-", Place::Fixed("/etc/iptables/rules.v6")),
            ("", Place::Fixed("/etc/iptables/rules.v4")),
        ]),
    ),
    ("nftables", Place::Fixed("/etc/nftables.conf")),
    (
        "ufw",
        Place::ByName(&[
            ("debian-", Place::Dir("/etc/ufw", "")),
            ("", Place::Dir("/etc/ufw", "")),
        ]),
    ),
    (
        "firewalld",
        Place::ByName(&[
            ("direct", Place::Fixed("/etc/firewalld/direct.xml")),
            ("policy-", Place::Dir("/etc/firewalld/policies", ".xml")),
            ("ipset-", Place::Dir("/etc/firewalld/ipsets", ".xml")),
            ("", Place::Dir("/etc/firewalld/zones", ".xml")),
        ]),
    ),
    (
        "keepalived",
        Place::Fixed("/etc/keepalived/keepalived.conf"),
    ),
    (
        "carbonio",
        Place::ByName(&[
            (
                "service-discover-",
                Place::Dir("/etc/zextras/service-discover", ".json"),
            ),
            ("videoserver-", Place::Fixed("/etc/janus/janus.jcfg")),
        ]),
    ),
];

/// The host path of corpus file `name` placed as `place` says.
fn host_path(place: &Place, name: &str) -> Option<String> {
    match place {
        Place::Fixed(p) => Some(p.to_string()),
        Place::Dir(d, suffix) => Some(if name.ends_with(suffix) {
            format!("{d}/{name}")
        } else {
            format!("{d}/{name}{suffix}")
        }),
        Place::ByName(rules) => rules
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .and_then(|(prefix, p)| host_path(p, &name[prefix.len()..])),
        Place::Bind(_) | Place::Ldif => None,
    }
}

struct Case {
    /// Corpus-relative path of the file (or of the BIND case folder).
    id: String,
    surface: &'static str,
    invalid: bool,
    /// Host path → content.
    files: Vec<(String, Vec<u8>)>,
    /// The `--ldif` file, for directory cases.
    ldif: Option<PathBuf>,
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in read_dir_sorted(dir) {
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(corpus_dir())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Every case of the corpus.
fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for top in read_dir_sorted(&corpus_dir()) {
        if !top.is_dir() {
            continue;
        }
        let name = top.file_name().unwrap().to_string_lossy().into_owned();
        let Some((surface, place)) = SURFACES.iter().find(|(s, _)| *s == name) else {
            panic!("tests/corpus/{name}/ is not a known surface folder: add it to SURFACES");
        };
        match place {
            Place::Bind(dir) => {
                for (folder, invalid) in [(top.clone(), false), (top.join("invalid"), true)] {
                    if !folder.is_dir() {
                        continue;
                    }
                    for case in read_dir_sorted(&folder) {
                        if !case.is_dir() || (!invalid && case.ends_with("invalid")) {
                            continue;
                        }
                        let files = files_under(&case)
                            .into_iter()
                            .map(|f| {
                                let r = f.strip_prefix(&case).unwrap().to_string_lossy();
                                (format!("{dir}/{r}"), std::fs::read(&f).unwrap())
                            })
                            .collect();
                        out.push(Case {
                            id: rel(&case),
                            surface,
                            invalid,
                            files,
                            ldif: None,
                        });
                    }
                }
            }
            _ => {
                for f in files_under(&top) {
                    let id = rel(&f);
                    let invalid = id.split('/').any(|c| c == "invalid");
                    let file_name = f.file_name().unwrap().to_string_lossy().into_owned();
                    let host_path = match place {
                        // NetworkManager's ifcfg-rh tests keep the global
                        // /etc/sysconfig/network as network-TEST.
                        _ if *surface == "ifcfg" && file_name.starts_with("network-") => {
                            Some("/etc/sysconfig/network".to_string())
                        }
                        _ => host_path(place, &file_name),
                    };
                    let data = std::fs::read(&f).unwrap();
                    out.push(Case {
                        id,
                        surface,
                        invalid,
                        files: host_path.map(|p| vec![(p, data)]).unwrap_or_default(),
                        ldif: matches!(place, Place::Ldif).then_some(f),
                    });
                }
            }
        }
    }
    out
}

// ------------------------------------------------------------- addresses

/// Whether a line is a comment in any of the corpus' formats.
fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    ["#", ";", "//", "!", "<!--"]
        .iter()
        .any(|c| t.starts_with(c))
}

/// A piece of text: an address literal or anything else.
enum Tok<'a> {
    Addr(IpAddr),
    Text(&'a str),
}

/// Splits a line into address literals and other text. A run of address
/// characters is an address when it parses as one after the parts that
/// belong to its neighbours are cut: a word's tail before the first `:`
/// (`ip4:`, `ip6:`), a `:PORT` after an IPv4 address (a number or a name),
/// dots at either end.
/// A run followed by `in-addr.arpa`/`ip6.arpa` is part of a reverse name.
fn tokens(line: &str) -> Vec<Tok<'_>> {
    let is_run = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':';
    let mut out = Vec::new();
    let mut i = 0;
    let b = line.as_bytes();
    while i < b.len() {
        let start = i;
        if !is_run(b[i] as char) {
            while i < b.len() && !is_run(b[i] as char) {
                i += 1;
            }
            out.push(Tok::Text(&line[start..i]));
            continue;
        }
        while i < b.len() && is_run(b[i] as char) {
            i += 1;
        }
        let run = &line[start..i];
        let mut lo = 0;
        let mut hi = run.len();
        if start > 0 && (b[start - 1] as char).is_ascii_alphanumeric() {
            match run.find(':') {
                Some(c) => lo = c + 1,
                None => lo = hi,
            }
        }
        while lo < hi && matches!(run.as_bytes()[lo], b'.' | b':') {
            lo += 1;
        }
        while hi > lo && matches!(run.as_bytes()[hi - 1], b'.' | b':') {
            hi -= 1;
        }
        let mut core = &run[lo..hi];
        // `1.2.3.4:25`, or a port by name (`1.2.3.4:ftp-data`, whose
        // hex letters join the run): an IPv6 spelling never starts with
        // a dotted quad.
        if let Some((a, _port)) = core.rsplit_once(':')
            && a.parse::<Ipv4Addr>().is_ok()
        {
            core = a;
            hi = lo + a.len();
        }
        let rest = &line[start + hi..];
        let reverse = rest.starts_with(".in-addr.arpa") || rest.starts_with(".ip6.arpa");
        let parsed = core.parse::<Ipv4Addr>().map(IpAddr::V4).ok().or_else(|| {
            core.contains(':')
                .then(|| core.parse::<Ipv6Addr>().ok().map(IpAddr::V6))
                .flatten()
        });
        match parsed {
            Some(a) if !reverse && !core.is_empty() => {
                out.push(Tok::Text(&run[..lo]));
                out.push(Tok::Addr(a));
                out.push(Tok::Text(&run[hi..]));
            }
            _ => out.push(Tok::Text(run)),
        }
    }
    out
}

/// Address literals of a text, in order, each with whether it stands on a
/// non-comment line.
fn addresses(text: &str) -> Vec<(IpAddr, bool)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let live = !is_comment(line);
        for t in tokens(line) {
            if let Tok::Addr(a) = t {
                out.push((a, live));
            }
        }
    }
    out
}

/// An address worth moving: one a host could own.
fn movable(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            !(v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || v.is_broadcast()
                || o[0] == 255
                || o[0] == 0
                || o[3] == 0
                || o[3] == 255)
        }
        IpAddr::V6(v) => {
            !(v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || (v.segments()[0] & 0xffc0) == 0xfe80
                || v.segments()[4..] == [0, 0, 0, 0])
        }
    }
}

const NEW4: &[&str] = &["10.254.99.77", "172.31.254.77", "192.168.254.77"];
const NEW6: &[&str] = &["fd00:feed:7::77", "2001:db8:feed::77", "fd99::99"];

/// OLD → NEW pairs for a case: the first movable address of each family
/// on a non-comment line (any line when none is).
pub(crate) fn pairs(text: &str) -> Vec<(IpAddr, IpAddr)> {
    let all = addresses(text);
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    for v6 in [false, true] {
        let pick = |live_only: bool| {
            all.iter()
                .find(|(a, live)| a.is_ipv6() == v6 && movable(*a) && (*live || !live_only))
                .map(|(a, _)| *a)
        };
        let Some(old) = pick(true).or_else(|| pick(false)) else {
            continue;
        };
        let pool = if v6 { NEW6 } else { NEW4 };
        let new = pool
            .iter()
            .map(|s| s.parse::<IpAddr>().unwrap())
            .find(|n| !lower.contains(&n.to_string()))
            .expect("a new address that is not in the file");
        out.push((old, new));
    }
    out
}

/// Spellings of an address that are not address literals (reverse names,
/// regex-escaped), in a fixed order so that the k-th spelling of NEW
/// stands for the k-th of OLD.
fn spellings(a: IpAddr) -> Vec<String> {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            vec![
                format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]),
                v.to_string().replace('.', "\\."),
            ]
        }
        IpAddr::V6(v) => {
            let nibbles: String = v
                .octets()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .chars()
                .rev()
                .map(|c| format!("{c}."))
                .collect();
            vec![format!("{nibbles}ip6.arpa")]
        }
    }
}

/// The network and broadcast addresses of `a` for every prefix an
/// interface may have (Debian's ifupdown tests configure a /14), as
/// `(prefix, network, broadcast)`.
fn companions(a: IpAddr) -> Vec<(u8, IpAddr, IpAddr)> {
    let hi = if a.is_ipv4() { 31 } else { 127 };
    (1..=hi)
        .map(|p| {
            let n = ipnet::IpNet::new(a, p).unwrap();
            (p, n.network(), n.broadcast())
        })
        .collect()
}

/// `s` with the non-literal spellings of each NEW (reverse names,
/// regex-escaped) put back as OLD's.
fn put_back(s: &str, pairs: &[(IpAddr, IpAddr)]) -> String {
    let mut s = s.to_string();
    for (old, new) in pairs {
        for (o, n) in spellings(*old).iter().zip(spellings(*new)) {
            s = s.replace(&n, o);
            s = s.replace(&n.to_ascii_uppercase(), o);
        }
    }
    s
}

/// `s` with every address literal in one spelling, NEW written as OLD.
fn canon(s: &str, pairs: &[(IpAddr, IpAddr)]) -> String {
    let swap = |a: IpAddr| pairs.iter().find(|(_, n)| *n == a).map_or(a, |(o, _)| *o);
    put_back(s, pairs)
        .split_inclusive('\n')
        .flat_map(|l| {
            tokens(l)
                .into_iter()
                .map(|t| match t {
                    Tok::Addr(a) => swap(a).to_string(),
                    Tok::Text(t) => t.to_string(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether address `a` (in after) stands for `b` (in before): the same
/// address, NEW for OLD, or NEW's network or broadcast address for a
/// prefix where `b` is OLD's.
fn stands_for(a: IpAddr, b: IpAddr, pairs: &[(IpAddr, IpAddr)]) -> bool {
    a == b
        || pairs.iter().any(|(old, new)| {
            (a == *new && b == *old)
                || companions(*old)
                    .into_iter()
                    .zip(companions(*new))
                    .any(|((_, on, ob), (_, nn, nb))| (a == nn && b == on) || (a == nb && b == ob))
        })
}

/// Whether `after` is `before` with only the documented edits (see the
/// module comment). `Err` says what else changed.
fn address_only(
    surface: &str,
    before: &str,
    after: &str,
    pairs: &[(IpAddr, IpAddr)],
) -> Result<(), String> {
    let back = put_back(after, pairs);
    let tb: Vec<Tok> = before.split_inclusive('\n').flat_map(tokens).collect();
    let ta: Vec<Tok> = back.split_inclusive('\n').flat_map(tokens).collect();
    let same = tb.len() == ta.len()
        && tb.iter().zip(&ta).all(|(x, y)| match (x, y) {
            (Tok::Text(x), Tok::Text(y)) => x == y,
            (Tok::Addr(b), Tok::Addr(a)) => stands_for(*a, *b, pairs),
            _ => false,
        });
    if same {
        return Ok(());
    }
    let (b, a) = (canon(before, &[]), canon(after, pairs));
    if surface == "zonefile" && serial_bump(&b, &a) {
        return Ok(());
    }
    if added_entry(&b, &a, pairs) {
        return Ok(());
    }
    Err(format!(
        "`{before}` → `{after}` is not only an address edit"
    ))
}

/// Exactly one whitespace-separated number differs, and it grew.
fn serial_bump(before: &str, after: &str) -> bool {
    let b: Vec<&str> = before.split_whitespace().collect();
    let a: Vec<&str> = after.split_whitespace().collect();
    if a.len() != b.len() {
        return false;
    }
    let diff: Vec<(&&str, &&str)> = b.iter().zip(&a).filter(|(x, y)| x != y).collect();
    matches!(diff.as_slice(), [(x, y)] if matches!(
        (x.parse::<u64>(), y.parse::<u64>()), (Ok(x), Ok(y)) if y > x))
}

/// `after` is `before` plus one added entry spelling an OLD address (the
/// new host beside a kept network, put back), with its separator.
fn added_entry(before: &str, after: &str, pairs: &[(IpAddr, IpAddr)]) -> bool {
    pairs.iter().any(|(old, _)| {
        [old.to_string()].iter().any(|o| {
            [",", ", ", " ", ";", "; "].iter().any(|sep| {
                let with_sep = [format!("{sep}{o}"), format!("{o}{sep}")];
                with_sep.iter().any(|w| {
                    after
                        .match_indices(w.as_str())
                        .any(|(i, _)| format!("{}{}", &after[..i], &after[i + w.len()..]) == before)
                })
            })
        })
    })
}

/// Whether a line holds an RRSIG record: the type `RRSIG` followed by the
/// type it covers (a comment that says "RRSIG", as BIND's rrsig test's
/// named.conf does, is not one).
fn holds_rrsig(line: &str) -> bool {
    let w: Vec<&str> = line.split_whitespace().collect();
    w.windows(2).any(|p| {
        p[0] == "RRSIG"
            && !p[1].is_empty()
            && p[1]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    })
}

// ------------------------------------------------------------ the binary

fn zmreip(args: &[String]) -> Output {
    Zmreip::new(args).run()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

// -------------------------------------------------------------- checking

/// What went wrong with one case: check name → detail.
type Failures = BTreeMap<&'static str, String>;

fn write_root(root: &Path, files: &[(String, Vec<u8>)]) {
    for (p, data) in files {
        let real = root.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(real, data).unwrap();
    }
}

/// `--root R` and the directory options of a case.
fn host_args(case: &Case, root: &Path) -> Vec<String> {
    let mut v = args(&["--root", &root.display().to_string()]);
    match &case.ldif {
        Some(l) => v.extend(args(&["--ldif", &l.display().to_string()])),
        None => v.push("--no-directory".into()),
    }
    v
}

fn run_case(case: &Case) -> Failures {
    let mut fail = Failures::new();
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    write_root(&root, &case.files);
    // Each case stands for a Zimbra host (zmreip refuses a root without
    // one): an empty localconfig unless the case has its own.
    if !["opt/zimbra", "opt/zextras"]
        .iter()
        .any(|h| root.join(h).join("conf/localconfig.xml").exists())
    {
        write_root(
            &root,
            &[(
                "/opt/zimbra/conf/localconfig.xml".to_string(),
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<localconfig>\n</localconfig>\n"
                    .to_vec(),
            )],
        );
    }
    // named.conf first: the address BIND listens on is the host's own.
    let mut ordered: Vec<&(String, Vec<u8>)> = case.files.iter().collect();
    ordered.sort_by_key(|(p, _)| !p.ends_with("/named.conf"));
    let text: String = ordered
        .into_iter()
        .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
        .chain(
            case.ldif
                .iter()
                .map(|l| String::from_utf8_lossy(&std::fs::read(l).unwrap()).into_owned()),
        )
        .collect::<Vec<_>>()
        .join("\n");
    let host = host_args(case, &root);

    if case.invalid {
        let mut a = args(&["scan", "--ip", "10.254.99.77"]);
        a.extend(host.clone());
        let r = zmreip(&a);
        let names_line = case.files.iter().any(|(p, _)| {
            r.stderr
                .match_indices(&format!("{p}:"))
                .any(|(i, m)| r.stderr[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
        });
        if r.panicked() {
            fail.insert("panic", r.brief());
        } else if r.code != Some(1) || !names_line || !r.stderr.contains("help:") {
            fail.insert(
                "invalid",
                format!(
                    "wanted exit 1 naming FILE:LINE with help:, got {}",
                    r.brief()
                ),
            );
        }
        return fail;
    }

    let pairs = pairs(&text);
    // A file without an address is still read: scan for one it lacks.
    let olds: Vec<String> = if pairs.is_empty() {
        vec![NEW4[0].to_string()]
    } else {
        pairs.iter().map(|(o, _)| o.to_string()).collect()
    };
    let mut a = args(&["scan", "--format", "json"]);
    for o in &olds {
        a.extend(args(&["--ip", o]));
    }
    a.extend(host.clone());
    let scan = zmreip(&a);
    if scan.panicked() {
        fail.insert("panic", format!("scan: {}", scan.brief()));
        return fail;
    }
    if scan.code != Some(0) {
        fail.insert("refused", format!("scan: {}", scan.brief()));
        return fail;
    }
    if pairs.is_empty() {
        return fail;
    }
    let found: BTreeSet<String> = serde_json::from_str::<Value>(&scan.stdout)
        .map(|v| {
            v["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["target"]["file"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for (p, data) in &case.files {
        let t = String::from_utf8_lossy(data);
        let live = addresses(&t)
            .iter()
            .any(|(a, live)| *live && pairs.iter().any(|(o, _)| o == a));
        if live && !found.contains(p) {
            fail.insert(
                "missed",
                format!(
                    "{p} holds {} on a non-comment line; scan found nothing there",
                    olds.join(", ")
                ),
            );
        }
    }

    // A file of an upstream project is no evidence that the address is
    // this host's: planned as its own by assumption.
    let mut a = args(&["plan", "--assume-own", "--format", "json"]);
    for (o, n) in &pairs {
        a.extend(args(&["--from", &o.to_string(), "--to", &n.to_string()]));
    }
    a.extend(host.clone());
    let plan = zmreip(&a);
    if plan.panicked() {
        fail.insert("panic", format!("plan: {}", plan.brief()));
        return fail;
    }
    if plan.code != Some(0) {
        fail.insert("refused", format!("plan: {}", plan.brief()));
        return fail;
    }
    let again = zmreip(&a);
    if again.stdout != plan.stdout {
        fail.insert("unstable", "planning twice gave two plans".into());
    }
    let doc: Value = serde_json::from_str(&plan.stdout).expect("plan JSON");
    let changes = doc["changes"].as_array().cloned().unwrap_or_default();
    let mut changed_files = BTreeSet::new();
    for c in &changes {
        let surface = c["surface"].as_str().unwrap_or("");
        let as_text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        };
        let (before, after) = (as_text(&c["before"]), as_text(&c["after"]));
        if let Err(e) = address_only(surface, &before, &after, &pairs) {
            let t = &c["target"];
            let at = match (t["file"].as_str(), &t["line"], t["key"].as_str()) {
                (Some(f), Value::Number(n), _) => format!("{f}:{n}"),
                (Some(f), _, Some(k)) => format!("{f} key {k}"),
                _ => t.to_string(),
            };
            fail.entry("after-diff").or_insert(format!("{at}: {e}"));
        }
        if let Some(f) = c["target"]["file"].as_str() {
            changed_files.insert(f.to_string());
            let signed = case
                .files
                .iter()
                .any(|(p, d)| p == f && String::from_utf8_lossy(d).lines().any(holds_rrsig));
            if signed {
                fail.entry("signed-edit").or_insert(format!(
                    "{f} is DNSSEC-signed (it holds RRSIG records), yet the plan edits it"
                ));
            }
        }
    }
    if changes.is_empty() || case.ldif.is_some() {
        return fail;
    }

    let plan_file = tmp.path().join("plan.json");
    std::fs::write(&plan_file, &plan.stdout).unwrap();
    let mut a = args(&[
        "apply",
        "--plan",
        &plan_file.display().to_string(),
        "--yes",
        "--no-restart",
        "--no-verify",
    ]);
    a.extend(host.clone());
    let apply = zmreip(&a);
    if apply.panicked() {
        fail.insert("panic", format!("apply: {}", apply.brief()));
        return fail;
    }
    if apply.code != Some(0) {
        fail.insert("apply", apply.brief());
        return fail;
    }
    let mut a = args(&["scan", "--format", "json"]);
    for (_, n) in &pairs {
        a.extend(args(&["--ip", &n.to_string()]));
    }
    a.extend(host);
    let rescan = zmreip(&a);
    if rescan.panicked() {
        fail.insert("panic", format!("rescan: {}", rescan.brief()));
    } else if rescan.code != Some(0) {
        fail.insert("reparse", format!("scan after apply: {}", rescan.brief()));
    } else {
        let v: Value = serde_json::from_str(&rescan.stdout).expect("scan JSON");
        let refound: BTreeSet<&str> = v["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["target"]["file"].as_str())
            .collect();
        for f in &changed_files {
            if !refound.contains(f.as_str()) {
                fail.entry("reparse")
                    .or_insert(format!("scan after apply finds no new address in {f}"));
            }
        }
    }
    fail
}

// ------------------------------------------------------- known failures

/// `(case, check)` → cause heading, from KNOWN-FAILURES.md: entries are
/// lines "- `CASE` CHECK ..." under a "## CAUSE" heading.
fn known_failures() -> BTreeMap<(String, String), String> {
    let text = std::fs::read_to_string(corpus_dir().join("KNOWN-FAILURES.md"))
        .expect("tests/corpus/KNOWN-FAILURES.md");
    let mut out = BTreeMap::new();
    let mut cause = String::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            cause = h.trim().to_string();
        } else if let Some(rest) = line.strip_prefix("- `")
            && let Some((case, tail)) = rest.split_once('`')
        {
            let check = tail.split_whitespace().next().unwrap_or("").to_string();
            out.insert((case.to_string(), check), cause.clone());
        }
    }
    out
}

// ------------------------------------------------------------ provenance

/// Every corpus file is listed in SOURCES.toml or SOURCES.local.toml (a
/// listed path ending in `/` covers a folder).
fn unlisted_files() -> Vec<String> {
    let mut listed = Vec::new();
    for f in ["SOURCES.toml", "SOURCES.local.toml"] {
        let text = std::fs::read_to_string(corpus_dir().join(f)).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{f}: {e}"));
        for e in doc
            .get("file")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            listed.push(e["path"].as_str().unwrap().to_string());
        }
    }
    files_under(&corpus_dir())
        .iter()
        .map(|p| rel(p))
        .filter(|r| r.contains('/'))
        .filter(|r| {
            !listed
                .iter()
                .any(|l| l == r || (l.ends_with('/') && r.starts_with(l.as_str())))
        })
        .collect()
}

// ------------------------------------------------------------------ test

#[test]
fn corpus() {
    let started = std::time::Instant::now();
    let unlisted = unlisted_files();
    assert!(
        unlisted.is_empty(),
        "corpus files without a source in SOURCES.toml / SOURCES.local.toml:\n{}",
        unlisted.join("\n")
    );
    let filter = std::env::var("ZMREIP_CORPUS").ok();
    let all = cases();
    let cases: Vec<&Case> = all
        .iter()
        .filter(|c| filter.as_ref().is_none_or(|f| c.id.contains(f.as_str())))
        .collect();
    let results: Mutex<Vec<(usize, Failures)>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let f = run_case(case);
                    results.lock().unwrap().push((i, f));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);

    let known = known_failures();
    let mut table: BTreeMap<&str, [usize; 4]> = BTreeMap::new(); // files, passed, known, new
    let mut new_failures = String::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, fails) in &results {
        let case = cases[*i];
        let row = table.entry(case.surface).or_default();
        row[0] += 1;
        if fails.is_empty() {
            row[1] += 1;
        }
        let mut any_new = false;
        for (check, detail) in fails {
            let key = (case.id.clone(), check.to_string());
            seen.insert(key.clone());
            if !known.contains_key(&key) {
                any_new = true;
                let _ = writeln!(new_failures, "- `{}` {check}: {detail}", case.id);
            }
        }
        if !fails.is_empty() {
            row[if any_new { 3 } else { 2 }] += 1;
        }
    }
    let ids: BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let all_ids: BTreeSet<&str> = all.iter().map(|c| c.id.as_str()).collect();
    let mut stale = String::new();
    for ((case, check), cause) in &known {
        if !all_ids.contains(case.as_str()) {
            let _ = writeln!(stale, "- `{case}` {check}: no such corpus case ({cause})");
        } else if ids.contains(case.as_str()) && !seen.contains(&(case.clone(), check.clone())) {
            let _ = writeln!(stale, "- `{case}` {check}: passes now; remove it ({cause})");
        }
    }

    let mut summary = format!(
        "{:<13} {:>6} {:>7} {:>13} {:>11}\n",
        "surface", "files", "passed", "failed:known", "failed:new"
    );
    let mut total = [0usize; 4];
    for (surface, _) in SURFACES {
        let row = table.get(surface).copied().unwrap_or_default();
        if row[0] == 0 {
            continue;
        }
        let _ = writeln!(
            summary,
            "{surface:<13} {:>6} {:>7} {:>13} {:>11}",
            row[0], row[1], row[2], row[3]
        );
        for (t, v) in total.iter_mut().zip(row) {
            *t += v;
        }
    }
    let _ = writeln!(
        summary,
        "{:<13} {:>6} {:>7} {:>13} {:>11}",
        "total", total[0], total[1], total[2], total[3]
    );
    println!("{summary}");
    println!(
        "corpus: {} cases in {:.1}s ({} workers)",
        cases.len(),
        started.elapsed().as_secs_f64(),
        workers
    );
    assert!(
        new_failures.is_empty() && stale.is_empty(),
        "{summary}\nfailures not in tests/corpus/KNOWN-FAILURES.md:\n{new_failures}\n\
         entries of KNOWN-FAILURES.md that no longer hold:\n{stale}"
    );
}

// ------------------------------------------------- the checks' own tests

#[cfg(test)]
mod checks {
    use super::*;

    fn p(old: &str, new: &str) -> Vec<(IpAddr, IpAddr)> {
        vec![(old.parse().unwrap(), new.parse().unwrap())]
    }

    #[test]
    fn address_only_accepts_address_edits_only() {
        let v4 = p("192.168.2.1", "10.254.99.77");
        for (before, after, ok) in [
            ("a 192.168.2.1 b", "a 10.254.99.77 b", true),
            ("x=192.168.2.1/24", "x=10.254.99.77/24", true),
            ("x=192.168.2.1/24", "x=10.254.99.77/16", false),
            ("gw 192.168.2.10", "gw 10.254.99.770", false),
            (
                "1.2.168.192.in-addr.arpa.",
                "77.99.254.10.in-addr.arpa.",
                true,
            ),
            ("^192\\.168\\.2\\.1$", "^10\\.254\\.99\\.77$", true),
            ("a 192.168.2.1 b", "a 10.254.99.77 c", false),
            (
                "nets 192.168.0.0/16",
                "nets 192.168.0.0/16 10.254.99.77",
                true,
            ),
            ("nets 192.168.0.0/16", "nets 192.168.0.0/16 10.0.0.1", false),
            ("broadcast 192.168.2.255", "broadcast 10.254.99.255", true),
            ("broadcast 192.168.5.255", "broadcast 10.254.99.255", false),
            // /14: 192.168.0.0/14 → 10.252.0.0/14.
            (
                "broadcast 192.171.255.255",
                "broadcast 10.255.255.255",
                true,
            ),
            (
                "broadcast 192.171.255.255",
                "broadcast 10.254.99.255",
                false,
            ),
            (
                "v=spf1 ip4:192.168.2.1 -all",
                "v=spf1 ip4:10.254.99.77 -all",
                true,
            ),
            ("ldap://192.168.2.1:389", "ldap://10.254.99.77:389", true),
            ("ldap://192.168.2.1:389", "ldap://10.254.99.77:636", false),
        ] {
            assert_eq!(
                address_only("hosts", before, after, &v4).is_ok(),
                ok,
                "{before} → {after}"
            );
        }
        let v6 = p("2001:db8::5", "fd00:feed:7::77");
        assert!(address_only("x", "a 2001:db8::5", "a fd00:feed:7::77", &v6).is_ok());
        assert!(
            address_only(
                "x",
                "a 2001:0db8:0000:0000:0000:0000:0000:0005",
                "a fd00:feed:0007:0000:0000:0000:0000:0077",
                &v6
            )
            .is_ok()
        );
        assert!(address_only("x", "a 2001:DB8::5", "a FD00:FEED:7::77", &v6).is_ok());
    }

    #[test]
    fn serial_bump_is_one_number_going_up() {
        assert!(serial_bump(
            "@ SOA a. b. 2024010100 1 2 3 4",
            "@ SOA a. b. 2024010101 1 2 3 4"
        ));
        assert!(!serial_bump(
            "@ SOA a. b. 2024010100 1 2 3 4",
            "@ SOA a. b. 2024010099 1 2 3 4"
        ));
        assert!(!serial_bump(
            "@ SOA a. b. 1 1 2 3 4",
            "@ SOA a. b. 2 2 2 3 4"
        ));
    }

    #[test]
    fn pairs_skip_comments_masks_and_known_new_addresses() {
        let t = "# 192.168.9.9\nnetmask 255.255.255.0\naddress 10.254.99.77\nip 192.168.1.5/24\n";
        let ps = pairs(t);
        assert_eq!(ps[0].0, "10.254.99.77".parse::<IpAddr>().unwrap());
        assert_eq!(ps[0].1, "172.31.254.77".parse::<IpAddr>().unwrap());
        let t = "addresses: [fe80::1/64, \"2001:db8:1::5/64\"]\n";
        assert_eq!(pairs(t)[0].0, "2001:db8:1::5".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn tokens_cut_neighbours_and_reverse_names() {
        let addrs = |s: &str| -> Vec<String> {
            tokens(s)
                .into_iter()
                .filter_map(|t| match t {
                    Tok::Addr(a) => Some(a.to_string()),
                    Tok::Text(_) => None,
                })
                .collect()
        };
        assert_eq!(
            addrs("ip6:2001:db8::5 ip4:10.1.2.3"),
            ["2001:db8::5", "10.1.2.3"]
        );
        assert_eq!(
            addrs("ldap://10.1.2.3:389/ [2001:db8::5]:25"),
            ["10.1.2.3", "2001:db8::5"]
        );
        assert_eq!(
            addrs("zone \"32/28.77.22.172.in-addr.arpa\""),
            Vec::<String>::new()
        );
        assert_eq!(
            addrs("mac 00:11:22:33:44:55 oid 1.3.6.1.4.1"),
            Vec::<String>::new()
        );
        assert_eq!(addrs("host 10.1.2.3."), ["10.1.2.3"]);
        assert_eq!(
            addrs("--to-destination 1.1.1.1:ftp-data --to 1.1.1.2:25"),
            ["1.1.1.1", "1.1.1.2"]
        );
    }

    #[test]
    fn rrsig_records_not_words() {
        for (l, want) in [
            ("\t\t\t300\tRRSIG\tSOA 13 2 300 (", true),
            (
                "mail.corp.example. 300 IN RRSIG A 13 3 300 20340101000000 (",
                true,
            ),
            (
                "\t * matters is that if +dnssec is set (EDNS flag DO) then RRSIG associated",
                false,
            ),
            ("RRSIG", false),
        ] {
            assert_eq!(holds_rrsig(l), want, "{l}");
        }
    }

    #[test]
    fn comment_lines() {
        for (l, c) in [
            ("# x", true),
            ("  ; x", true),
            ("// x", true),
            ("x # y", false),
        ] {
            assert_eq!(is_comment(l), c, "{l}");
        }
    }
}
