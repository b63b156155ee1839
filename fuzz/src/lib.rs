//! What zmreip's fuzz targets check, shared by all of them.
//!
//! Every target feeds bytes to one parser or editor of zmreip through its
//! public API and checks properties, not only the absence of a panic:
//!
//! * the move is chosen from the input itself, as `tests/it/corpus.rs`
//!   does: the first address a host could own on any line, per family,
//!   moves to an address of the same family that the input does not hold
//!   ([`Move::pick`]); the input's last byte says whether prefixes are
//!   given and in which role the host plans ([`input`]), so the fuzzer steers both;
//! * a file that plans is edited with apply's own code
//!   ([`apply_changes`]: `write_steps` and `Step::transform`), which also
//!   checks every change's precondition against the file;
//! * an edit changes only the address ([`address_only`]): putting every
//!   spelling of the new address in `after` back as the old one gives
//!   `before`, except for the documented additions (a trust list gains the
//!   new host beside a network);
//! * the edited file parses again, and planning it again changes nothing
//!   (the move is idempotent); planning the same input twice gives the same
//!   report.
//!
//! A failed property panics with the input's relevant part, which
//! libFuzzer reports as a crash and saves.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use zmreip::addr::{MatchKind, Matcher};
use zmreip::apply::step::FileRef;
use zmreip::apply::steps::write_steps;
use zmreip::host::Host;
use zmreip::model::{Change, Report, Target};
use zmreip::plan::{Plan, SCHEMA};
use zmreip::policy::{Rewriter, Role};
use zmreip::spec::{Pair, PrefixSource};
use zmreip::surface::{Ctx, Surface};

/// New IPv4 addresses, the first one the input does not hold is used.
const NEW4: &[&str] = &["10.254.99.77", "172.31.254.77", "192.168.254.77"];
/// New IPv6 addresses, likewise.
const NEW6: &[&str] = &["fd00:feed:7::77", "2001:db8:feed::77", "fd99::99"];

/// The host every target plans on: an empty root of its own under the
/// temporary directory (`scripts/fuzz` points `TMPDIR` at a directory it
/// removes afterwards; libFuzzer exits without dropping statics).
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("zmreip-fuzz-root")
            .tempdir()
            .expect("a temporary root")
            .keep();
        Host::open(&dir, None).expect("an empty root opens")
    })
}

/// A scratch file of this process, in a directory of its own under the
/// temporary directory (see [`host`]).
pub fn scratch(name: &str) -> std::path::PathBuf {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("zmreip-fuzz-scratch")
            .tempdir()
            .expect("a scratch directory")
            .keep()
    })
    .join(name)
}

/// Writes a file on the [`host`] (parents created).
pub fn write_host_file(host_path: &str, data: &[u8]) {
    let real = host().shown(host_path);
    std::fs::create_dir_all(real.parent().expect("a host path has a parent")).unwrap();
    std::fs::write(real, data).unwrap();
}

/// The moves a target plans with, chosen from its input.
#[derive(Debug, Clone)]
pub struct Move {
    pub pairs: Vec<Pair>,
    /// Prefixes were given (`--from OLD/24 --to NEW/24`): interface
    /// networks follow, so edits may change more than the address.
    pub prefixes: bool,
    pub role: Role,
}

impl Move {
    /// The first address a host could own of each family in `text` (any
    /// line) moves to a new address the text does not hold; with neither,
    /// `192.168.2.1` moves (so that the matcher always has a target).
    /// `flags` (the input's last byte): bit 0 gives prefixes (/24 and /64
    /// on both sides, or with bit 2 a wider new one: /16 and /48), bit 1
    /// plans in the peer role.
    pub fn pick(text: &str, flags: u8) -> Move {
        let prefixes = flags & 1 != 0;
        let wider = flags & 4 != 0;
        let role = if flags & 2 != 0 {
            Role::Peer
        } else {
            Role::Own
        };
        let lower = text.to_ascii_lowercase();
        // Not in the text in any spelling (`fd00:feed:0007::0077` too).
        let absent =
            |n: IpAddr| !lower.contains(&n.to_string()) && Matcher::new(&[n]).find(text).is_empty();
        let found = literals(text);
        let mut pairs = Vec::new();
        for v6 in [false, true] {
            let Some(old) = found.iter().copied().find(|a| a.is_ipv6() == v6) else {
                continue;
            };
            let pool = if v6 { NEW6 } else { NEW4 };
            let Some(new) = pool
                .iter()
                .map(|s| s.parse::<IpAddr>().unwrap())
                .find(|n| absent(*n))
            else {
                continue;
            };
            pairs.push(pair(old, new, prefixes, wider));
        }
        if pairs.is_empty() {
            let old = IpAddr::V4(Ipv4Addr::new(192, 168, 2, 1));
            let new = NEW4
                .iter()
                .map(|s| s.parse::<IpAddr>().unwrap())
                .find(|n| absent(*n))
                .unwrap_or_else(|| "10.99.99.99".parse().unwrap());
            pairs.push(pair(old, new, prefixes, wider));
        }
        Move {
            pairs,
            prefixes,
            role,
        }
    }

    /// A matcher for the old addresses.
    pub fn matcher(&self) -> Matcher {
        let olds: Vec<IpAddr> = self.pairs.iter().map(|p| p.old).collect();
        Matcher::new(&olds)
    }

    /// The rewriter of the move, in its role.
    pub fn rewriter(&self) -> Rewriter {
        Rewriter::new(self.pairs.clone(), Vec::new()).with_role(self.role)
    }
}

fn pair(old: IpAddr, new: IpAddr, prefixes: bool, wider: bool) -> Pair {
    let host = if old.is_ipv4() { 32 } else { 128 };
    let (op, np) = match (prefixes, old.is_ipv4(), wider) {
        (false, _, _) => (host, host),
        (true, true, false) => (24, 24),
        (true, true, true) => (24, 16),
        (true, false, false) => (64, 64),
        (true, false, true) => (64, 48),
    };
    let source = if prefixes {
        PrefixSource::Given
    } else {
        PrefixSource::Host
    };
    Pair {
        old,
        new,
        old_prefix: op,
        new_prefix: np,
        old_prefix_source: source,
        new_prefix_source: source,
    }
}

/// A piece of text: an address literal or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok<'a> {
    Addr(IpAddr),
    Text(&'a str),
}

/// Splits text into address literals and other text. A run of address
/// characters is an address when it parses as one once the parts that
/// belong to its neighbours are cut: a word's tail before the first `:`
/// (`ip4:`, `ip6:`), dots and colons at either end, a `:PORT` after an
/// IPv4 address, a word of letters and its `:` before an IPv6 address. A
/// run followed by `in-addr.arpa`/`ip6.arpa` is part of a
/// reverse name. (As `tests/it/corpus.rs` reads files.)
pub fn tokens(text: &str) -> Vec<Tok<'_>> {
    let is_run = |b: u8| b.is_ascii_hexdigit() || b == b'.' || b == b':';
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if !is_run(b[i]) {
            while i < b.len() && !is_run(b[i]) {
                i += 1;
            }
            out.push(Tok::Text(&text[start..i]));
            continue;
        }
        while i < b.len() && is_run(b[i]) {
            i += 1;
        }
        let run = &text[start..i];
        let mut lo = 0;
        let mut hi = run.len();
        if start > 0 && b[start - 1].is_ascii_alphanumeric() {
            lo = run.find(':').map_or(hi, |c| c + 1);
        }
        while lo < hi && matches!(run.as_bytes()[lo], b'.' | b':') {
            lo += 1;
        }
        while hi > lo && matches!(run.as_bytes()[hi - 1], b'.' | b':') {
            hi -= 1;
        }
        // A `::` cut at either end may be the address's own (`::fffe:1`,
        // `2001:db8::`).
        if lo >= 2 && &run[lo - 2..lo] == "::" && run[lo - 2..hi].parse::<Ipv6Addr>().is_ok() {
            lo -= 2;
        }
        if run[hi..].starts_with("::") && run[lo..hi + 2].parse::<Ipv6Addr>().is_ok() {
            hi += 2;
        }
        // A word of letters and one colon before an IPv6 address
        // (`faced:2001:db8::25`: a key and its separator) is cut where the
        // whole run is no address, as the matcher does wherever the run
        // starts. Cutting only after a word character (above) made this
        // read `\x11aaaa:db8:f:101::15` as text while the matcher moved
        // the address in it, a false "changes more than the address"
        // (networkd crash-f7d68b3f).
        let word = run[lo..hi]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        if word > 0
            && lo + word + 1 < hi
            && run.as_bytes()[lo + word] == b':'
            && run.as_bytes()[lo + word + 1] != b':'
            && run[lo..hi].parse::<Ipv6Addr>().is_err()
            && run[lo + word + 1..hi].parse::<Ipv6Addr>().is_ok()
        {
            lo += word + 1;
        }
        let mut core = &run[lo..hi];
        if let Some((a, port)) = core.rsplit_once(':')
            && a.parse::<Ipv4Addr>().is_ok()
            && port.bytes().all(|d| d.is_ascii_digit())
        {
            core = a;
            hi = lo + a.len();
        }
        let rest = &text[start + hi..];
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

/// Address literals of a text that a host could own, in order.
pub fn literals(text: &str) -> Vec<IpAddr> {
    tokens(text)
        .into_iter()
        .filter_map(|t| match t {
            Tok::Addr(a) if movable(a) => Some(a),
            _ => None,
        })
        .collect()
}

/// An address a host could own (not a network, broadcast, loopback,
/// multicast or link-local address).
fn movable(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            !(v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || v.is_broadcast()
                || o[0] == 0
                || o[0] == 255
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

/// A plan holding `changes` (numbered `c1`, `c2`, … as plans are).
pub fn plan_of_changes(changes: &[Change]) -> Plan {
    let changes = changes
        .iter()
        .enumerate()
        .map(|(i, c)| Change {
            id: format!("c{}", i + 1),
            ..c.clone()
        })
        .collect();
    Plan {
        schema: SCHEMA.into(),
        from: Vec::new(),
        to: Vec::new(),
        changes,
        derived: Vec::new(),
        actions: Vec::new(),
        warnings: Vec::new(),
        handoffs: Vec::new(),
        bind: None,
        checksum: None,
    }
}

/// `text`, the content of host file `path`, with `changes` applied as
/// apply applies them: the plan's write steps, each transforming the
/// file. Every change must be of `path`, and every precondition must hold
/// on `text` (the changes were planned from it).
pub fn apply_changes(path: &str, text: &str, changes: &[Change]) -> String {
    let plan = plan_of_changes(changes);
    let steps = write_steps(&plan, None, None, None)
        .unwrap_or_else(|e| panic!("the changes make no steps: {e}\n{changes:#?}"));
    let mut bytes = text.as_bytes().to_vec();
    for step in steps {
        assert_eq!(
            step.file(),
            Some(&FileRef::Host(path.to_string())),
            "a change of another file: {}",
            step.describe()
        );
        bytes = step.transform(&bytes).unwrap_or_else(|e| {
            panic!("a planned change does not apply to the file it was planned from: {e}")
        });
    }
    String::from_utf8(bytes).expect("an edit of UTF-8 text is UTF-8")
}

/// `after` with every spelling of a new address that is not a network put
/// back as the old address in the same spelling.
pub fn put_back(after: &str, pairs: &[Pair]) -> String {
    let news: Vec<IpAddr> = pairs.iter().map(|p| p.new).collect();
    let m = Matcher::new(&news);
    let mut out = String::with_capacity(after.len());
    let mut last = 0;
    for x in m.find(after) {
        if x.kind == MatchKind::NetworkContains {
            continue;
        }
        let Some(p) = pairs.iter().find(|p| p.new == x.target) else {
            continue;
        };
        out.push_str(&after[last..x.span.start]);
        out.push_str(&x.replace(after, p.old, None));
        last = x.span.end;
    }
    out.push_str(&after[last..]);
    out
}

/// Whether `after` differs from `before` only in the address: with the
/// new addresses put back as the old ones, both read as the same text
/// and the same addresses (a spelling may change: `2001:db8:1:0::1`
/// becomes `2001:db8:1::1`), where the new address's network or broadcast
/// address may stand for the old one's (for any prefix: a derived
/// broadcast follows the move). Or so once entries added right after a
/// network (the new host a trust list gains beside it, with the
/// separator before it; one per move) are taken out.
pub fn address_only(before: &str, after: &str, pairs: &[Pair]) -> bool {
    with_added(before, after, pairs, pairs.len())
}

/// [`address_only`] with up to `adds` added entries (one per move).
fn with_added(before: &str, after: &str, pairs: &[Pair], adds: usize) -> bool {
    let back = put_back(after, pairs);
    if same_addresses(before, &back, pairs) {
        return true;
    }
    let news: Vec<IpAddr> = pairs.iter().map(|p| p.new).collect();
    // An added entry follows the network it is trusted beside.
    let beside_network = |start: usize| {
        let head = after[..start].trim_end_matches([' ', ',', '\t']);
        let digits = head.trim_end_matches(|c: char| c.is_ascii_digit());
        head.len() < start && digits.len() < head.len() && digits.ends_with('/')
    };
    adds > 0
        && Matcher::new(&news).find(after).iter().any(|x| {
            matches!(x.kind, MatchKind::Exact | MatchKind::Bracketed)
                && beside_network(x.span.start)
                && with_added(before, &cut_entry(after, x.span.clone()), pairs, adds - 1)
        })
}

/// `s` without the entry at `span` and the list separators before it (or
/// after it, when it leads).
fn cut_entry(s: &str, span: std::ops::Range<usize>) -> String {
    let is_sep = |c: char| c == ' ' || c == ',' || c == '\t';
    let head = &s[..span.start];
    let tail = &s[span.end..];
    if head.trim_end_matches(is_sep).len() < head.len() {
        format!("{}{tail}", head.trim_end_matches(is_sep))
    } else {
        format!("{head}{}", tail.trim_start_matches(is_sep))
    }
}

/// Whether two texts read as the same text and addresses, an address of
/// `after` standing for one of `before` as [`address_only`] says.
fn same_addresses(before: &str, after: &str, pairs: &[Pair]) -> bool {
    let (b, a) = (tokens(before), tokens(after));
    b.len() == a.len()
        && b.iter().zip(&a).all(|(x, y)| match (x, y) {
            (Tok::Text(x), Tok::Text(y)) => x == y,
            (Tok::Addr(b), Tok::Addr(a)) => stands_for(*a, *b, pairs),
            _ => false,
        })
}

/// Whether address `a` (after) stands for `b` (before): the same address,
/// the new for the old, or the new's network or broadcast address for a
/// prefix where `b` is the old's.
fn stands_for(a: IpAddr, b: IpAddr, pairs: &[Pair]) -> bool {
    a == b
        || pairs.iter().any(|p| {
            (a == p.new && b == p.old) || {
                let hi = if p.old.is_ipv4() { 31 } else { 127 };
                (1..=hi).any(|len| {
                    let (o, n) = (
                        ipnet::IpNet::new(p.old, len).unwrap(),
                        ipnet::IpNet::new(p.new, len).unwrap(),
                    );
                    (a == n.network() && b == o.network())
                        || (a == n.broadcast() && b == o.broadcast())
                })
            }
        })
}

/// The context of a target: the host, a matcher and a rewriter of the
/// move.
pub struct Planning {
    pub mv: Move,
    pub matcher: Matcher,
    pub rewriter: Rewriter,
}

impl Planning {
    pub fn new(mv: Move) -> Planning {
        Planning {
            matcher: mv.matcher(),
            rewriter: mv.rewriter(),
            mv,
        }
    }

    /// A context that plans the move.
    pub fn plan(&self) -> Ctx<'_> {
        Ctx::new(host(), &self.matcher, Some(&self.rewriter))
    }

    /// A context that only scans for the old addresses.
    pub fn scan(&self) -> Ctx<'_> {
        Ctx::new(host(), &self.matcher, None)
    }
}

/// The input as text (targets read text; other bytes are not fuzzed) and
/// the move it asks for: its last byte, XOR a line feed, gives
/// [`Move::pick`]'s flags (so `\x0b` last plans with prefixes, `\x08` in
/// the peer role).
pub fn input(data: &[u8]) -> Option<(&str, Move)> {
    let text = std::str::from_utf8(data).ok()?;
    // Taken relative to a line feed, with which most files end: they
    // plan the plain move (own role, no prefix).
    let flags = data.last().map_or(0, |b| b ^ b'\n');
    Some((text, Move::pick(text, flags)))
}

/// The properties of a file surface over one file: the scan and the plan
/// agree on whether it parses, planning is deterministic, every change
/// applies, edits only the address (when no prefix is given), and the
/// edited file parses again and plans no further change.
pub fn file_surface(surface: Surface, path: &str, data: &[u8]) {
    let reader = surface.reader().expect("a file surface");
    let Some(edited) = check_file(
        surface,
        path,
        data,
        |text, ctx| reader.analyze(path, text, ctx),
        |_, _| false,
    ) else {
        return;
    };
    let _ = reader.interfaces(path, &edited);
}

/// The properties of [`file_surface`] for any way of analyzing one file
/// (`analyze` gets the text and a context); `other_edit(before, after)`
/// accepts a documented edit besides the address's (a zone's serial).
/// Returns the edited text when the file planned.
pub fn check_file<A>(
    surface: Surface,
    path: &str,
    data: &[u8],
    analyze: A,
    other_edit: fn(&str, &str) -> bool,
) -> Option<String>
where
    A: Fn(&str, &Ctx) -> zmreip::Result<Report>,
{
    let (text, mv) = input(data)?;
    let p = Planning::new(mv);
    let scanned = analyze(text, &p.scan());
    let planned = analyze(text, &p.plan());
    assert_eq!(
        scanned.as_ref().err().map(ToString::to_string),
        planned.as_ref().err().map(ToString::to_string),
        "scan and plan disagree on whether the file reads"
    );
    let report = planned.ok()?;
    let again = analyze(text, &p.plan()).expect("read once");
    assert_eq!(
        format!("{report:?}"),
        format!("{again:?}"),
        "planning twice gave two reports"
    );
    check_changes(surface, path, &report, &p.mv, other_edit);
    let edited = apply_changes(path, text, &report.changes);
    let re = analyze(&edited, &p.plan())
        .unwrap_or_else(|e| panic!("the edited file does not read: {e}\n--- edited:\n{edited}"));
    assert!(
        re.changes.is_empty(),
        "planning the edited file changes it again: {:#?}\n--- edited:\n{edited}",
        re.changes
    );
    Some(edited)
}

/// Every change is of this surface and file and, when no prefix is given,
/// edits only the address (or makes an edit `other_edit` accepts).
pub fn check_changes(
    surface: Surface,
    path: &str,
    report: &Report,
    mv: &Move,
    other_edit: fn(&str, &str) -> bool,
) {
    for c in &report.changes {
        assert_eq!(c.surface, surface, "{c:?}");
        let file = match &c.target {
            Target::Line { file, .. } | Target::LocalconfigKey { file, .. } => file,
            t => panic!("a file surface changed {t:?}"),
        };
        assert_eq!(file, path, "{c:?}");
        assert!(!c.reason.is_empty(), "a change without a reason: {c:?}");
        if mv.prefixes {
            continue;
        }
        let (zmreip::model::Value::One(before), zmreip::model::Value::One(after)) =
            (&c.before, &c.after)
        else {
            panic!("a file change holds one value: {c:?}");
        };
        assert!(
            address_only(before, after, &mv.pairs) || other_edit(before, after),
            "the edit changes more than the address ({:?}):\n- {before}\n+ {after}",
            mv.pairs.iter().map(|p| (p.old, p.new)).collect::<Vec<_>>()
        );
    }
}
