//! Surface `zonefile`: BIND zone files this host serves (RFC 1035 §5.1
//! master files), found through named.conf and its includes, plus the
//! files named with `--zone-file`.
//!
//! What changes, and why:
//!
//! * A and AAAA records holding an old address (glue included) move to
//!   the new address.
//! * In an SPF TXT record (RFC 7208 §3) only an `ip4:`/`ip6:` mechanism
//!   naming the old address changes, following the trust-list policy (the
//!   host entry is swapped; a network holding the old address but not the
//!   new gets the new host beside it). Mechanisms qualified `-` or `~`
//!   *deny* an address and are never moved to the new one. A TXT record
//!   written as several strings stays several strings; an edit that would
//!   push one string past 255 bytes is refused with advice.
//! * PTR records: when the new reverse name is in the same zone, the
//!   owner is renamed; when it is in another zone served here, the old
//!   record is commented out and the record is added to the new zone;
//!   when the new reverse zone is served elsewhere, the PTR is a hand-off.
//! * The SOA serial goes up once per changed zone, keeping the date form
//!   YYYYMMDDnn where used (today + 00, or +1 when already today or later).
//!
//! Secondary zones are copies and raw/map zone files are not text: both
//! are left out. A dynamic zone (`allow-update`, `update-policy`) is
//! owned by named and its journal while named runs: zmreip reports what it
//! found there and asks for RFC 2136 (`--dns-config`) instead of editing.
//! A file shared by several zones is never edited.
//!
//! Edits are in place: every other byte of a file stays as it is.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::ops::Range;

use super::{Ctx, FileSurface, Surface, at, find};
use crate::addr::{MatchKind, reverse_name};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::{Change, Finding, Report, Target, Value};
use crate::notice::{Code, Notice};
use crate::policy::ValueKind;

pub mod namedconf;
pub mod parse;
#[cfg(test)]
mod tests;

use parse::{Item, Record, Tok, absolute, in_zone, relative_to, reverse_addr};

/// The `zonefile` surface.
pub struct Zonefile;

/// Longest character-string in a TXT record (RFC 1035 §3.3).
const MAX_TXT_STRING: usize = 255;

/// A zone zmreip looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Absolute, lower case, with the trailing dot.
    pub name: String,
    /// Host path of the zone file.
    pub file: String,
    /// The BIND view it is in, if any.
    pub view: Option<String>,
    /// Why the file must not be edited, if so.
    pub blocked: Option<String>,
}

/// A zone file named on the command line: `PATH` or `ZONE=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFileArg {
    pub zone: Option<String>,
    /// Host path.
    pub path: String,
}

impl std::str::FromStr for ZoneFileArg {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<ZoneFileArg, String> {
        let (zone, path) = match s.split_once('=') {
            Some((z, p)) => (Some(z.trim().to_string()), p.trim()),
            None => (None, s.trim()),
        };
        if !path.starts_with('/') {
            return Err(format!(
                "`{path}` is not an absolute path (give the path on the host, e.g. /etc/bind/db.example.test)"
            ));
        }
        if zone.as_deref() == Some("") {
            return Err("the zone name before `=` is empty".into());
        }
        Ok(ZoneFileArg {
            zone,
            path: path.to_string(),
        })
    }
}

/// What the analysis of a zone is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Move records to the new addresses.
    Move,
    /// Only lower the TTL of every RRset that will move to at most this
    /// many seconds (`plan --lower-ttl`): the first step of a migration
    /// window.
    LowerTtl(u32),
}

/// A calendar date (UTC), for date-style SOA serials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Today in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }

    /// The civil date `days` after 1970-01-01 (H. Hinnant's algorithm).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: u32::try_from(year).unwrap_or(0),
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
        }
    }

    fn serial_base(self) -> u64 {
        (u64::from(self.year) * 10_000 + u64::from(self.month) * 100 + u64::from(self.day)) * 100
    }
}

/// The next SOA serial: date style (YYYYMMDDnn) stays date style.
pub fn next_serial(old: u32, today: Date) -> u32 {
    if is_date_serial(old) {
        let base = today.serial_base();
        if u64::from(old) < base
            && let Ok(b) = u32::try_from(base)
        {
            return b;
        }
    }
    // RFC 1982 serial arithmetic: adding one always moves forward.
    old.wrapping_add(1)
}

/// Whether a serial reads as YYYYMMDDnn with a plausible date.
fn is_date_serial(s: u32) -> bool {
    let date = s / 100;
    let (y, m, d) = (date / 10_000, date / 100 % 100, date % 100);
    (1990..=2099).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
}

impl FileSurface for Zonefile {
    fn files(&self, host: &Host) -> Result<Vec<String>> {
        let mut files: Vec<String> = universe(host, &[])?.into_iter().map(|z| z.file).collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let zones = universe(ctx.host, &[])?;
        match zones.iter().find(|z| z.file == path) {
            Some(z) => analyze_zone(z, text, &zones, ctx, Mode::Move, Date::today()),
            None => Ok(Report::default()),
        }
    }
}

/// Every zone zmreip looks at: primary text zones from named.conf, then
/// the files named with `--zone-file`.
pub fn universe(host: &Host, extra: &[ZoneFileArg]) -> Result<Vec<Zone>> {
    let mut out: Vec<Zone> = Vec::new();
    for d in namedconf::zones(host)? {
        if !d.primary || d.binary {
            continue;
        }
        let blocked = d.dynamic.then(|| {
            format!(
                "zone {} is dynamic ({}): named owns its file and journal while it runs; update it with RFC 2136 (--dns-config), or run `rndc freeze {}` before editing and `rndc thaw` after",
                d.name.trim_end_matches('.'),
                d.declared_at,
                d.name.trim_end_matches('.')
            )
        });
        out.push(Zone {
            name: d.name,
            file: d.file,
            view: d.view,
            blocked,
        });
    }
    for a in extra {
        if out.iter().any(|z| z.file == a.path) {
            continue;
        }
        let Some(text) = host.read(&a.path)? else {
            return Err(Error::usage(
                format!("--zone-file `{}` does not exist", a.path),
                "give the host path of a zone file (under --root)",
            ));
        };
        let name = match &a.zone {
            Some(z) => {
                let mut z = z.to_ascii_lowercase();
                if !z.ends_with('.') {
                    z.push('.');
                }
                z
            }
            None => guess_origin(&a.path, &text)?,
        };
        out.push(Zone {
            name,
            file: a.path.clone(),
            view: None,
            blocked: None,
        });
    }
    // A file named by several zones is a template (db.empty): editing it
    // for one zone changes the others.
    let mut count: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for z in &out {
        count
            .entry(z.file.clone())
            .or_default()
            .push(z.name.clone());
    }
    for z in &mut out {
        let names = &count[&z.file];
        if names.len() > 1 && z.blocked.is_none() {
            z.blocked = Some(format!(
                "{} is the file of several zones ({}); edit it by hand",
                z.file,
                names.join(", ")
            ));
        }
    }
    Ok(out)
}

/// The origin of a zone file given without a zone name: its first
/// `$ORIGIN`, else an absolute SOA owner.
fn guess_origin(path: &str, text: &str) -> Result<String> {
    for e in parse::entries(path, text)? {
        let first = &e.toks[0];
        if first.raw.eq_ignore_ascii_case("$ORIGIN")
            && let Some(o) = e.toks.get(1)
            && o.raw.ends_with('.')
        {
            return Ok(o.raw.to_ascii_lowercase());
        }
        if !e.blank_owner
            && first.raw.ends_with('.')
            && e.toks.iter().any(|t| t.raw.eq_ignore_ascii_case("SOA"))
        {
            return Ok(first.raw.to_ascii_lowercase());
        }
    }
    Err(Error::usage(
        format!("cannot tell which zone `{path}` is (no $ORIGIN and no absolute SOA owner)"),
        format!("name the zone: --zone-file example.test={path}"),
    ))
}

/// Analyzes every zone of the universe (named.conf plus `extra`).
pub fn analyze_all(host: &Host, extra: &[ZoneFileArg], ctx: &Ctx, mode: Mode) -> Result<Report> {
    let zones = universe(host, extra)?;
    let mut report = Report::default();
    let mut seen = HashSet::new();
    let today = Date::today();
    for z in &zones {
        if !seen.insert(z.file.clone()) {
            continue;
        }
        if let Some(text) = host.read(&z.file)? {
            report.extend(analyze_zone(z, &text, &zones, ctx, mode, today)?);
        }
    }
    Ok(report)
}

/// A zone's records with the texts of its files (main file first).
struct Loaded {
    records: Vec<Record>,
    generates: Vec<(String, usize, Vec<Tok>)>,
    texts: Vec<(String, String)>,
}

impl Loaded {
    fn line(&self, file: &str, line: usize) -> &str {
        self.texts
            .iter()
            .find(|(f, _)| f == file)
            .and_then(|(_, t)| t.split('\n').nth(line - 1))
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or("")
    }
}

fn load(host: &Host, zone: &Zone, text: &str) -> Result<Loaded> {
    let mut loaded = Loaded {
        records: Vec::new(),
        generates: Vec::new(),
        texts: Vec::new(),
    };
    let mut state = parse::State {
        origin: zone.name.clone(),
        ..Default::default()
    };
    load_file(
        host,
        &zone.file,
        text.to_string(),
        &mut state,
        &mut loaded,
        0,
    )?;
    Ok(loaded)
}

fn load_file(
    host: &Host,
    path: &str,
    text: String,
    state: &mut parse::State,
    out: &mut Loaded,
    depth: usize,
) -> Result<()> {
    if depth > 8 || out.texts.iter().any(|(f, _)| f == path) {
        return Err(Error::other(
            format!("`{path}` is $INCLUDEd in a loop"),
            "remove the $INCLUDE loop from the zone",
        ));
    }
    let items = parse::parse(path, &text, state)?;
    out.texts.push((path.to_string(), text));
    for item in items {
        match item {
            Item::Record(r) => out.records.push(*r),
            Item::Generate { line, toks } => out.generates.push((path.to_string(), line, toks)),
            Item::Include { line, file, origin } => {
                let inc = if file.starts_with('/') {
                    file
                } else {
                    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                    format!("{dir}/{file}")
                };
                let Some(t) = host.read(&inc)? else {
                    return Err(Error::parse(
                        path,
                        line,
                        format!("$INCLUDE file `{inc}` does not exist"),
                    ));
                };
                // RFC 1035 §5.1: the origin returns to what it was after
                // the included file.
                let mut inner = parse::State {
                    origin,
                    ..state.clone()
                };
                load_file(host, &inc, t, &mut inner, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// One in-place edit of a line.
#[derive(Debug, Clone)]
struct Edit {
    span: Range<usize>,
    text: String,
    reason: String,
}

/// Edits and the rest of the outcome of one zone.
#[derive(Default)]
struct Out {
    edits: BTreeMap<(String, usize), Vec<Edit>>,
    findings: Vec<Finding>,
    warnings: Vec<Notice>,
}

impl Out {
    fn edit(&mut self, file: &str, line: usize, span: Range<usize>, text: String, reason: String) {
        self.edits
            .entry((file.to_string(), line))
            .or_default()
            .push(Edit { span, text, reason });
    }
}

fn target(file: &str, line: usize) -> Target {
    Target::Line {
        file: file.to_string(),
        line,
    }
}

/// Findings and changes for one zone. `universe` is every zone served
/// here (to find where a PTR moves); `today` dates SOA serials.
pub fn analyze_zone(
    zone: &Zone,
    text: &str,
    universe: &[Zone],
    ctx: &Ctx,
    mode: Mode,
    today: Date,
) -> Result<Report> {
    let loaded = load(ctx.host, zone, text)?;
    let mut out = Out::default();
    let delegations = delegations(zone, &loaded.records);
    // RRsets (owner, type) that move: what --lower-ttl lowers.
    let mut moving: Vec<(String, String)> = Vec::new();
    for (i, r) in loaded.records.iter().enumerate() {
        let next = loaded.records.get(i + 1).filter(|n| n.file == r.file);
        let moved = match r.rtype.as_str() {
            "A" | "AAAA" => address_record(r, &delegations, ctx, mode, &mut out),
            "TXT" | "SPF" => txt_record(r, ctx, mode, &mut out),
            "PTR" => ptr_record(zone, r, next, &loaded, universe, ctx, mode, &mut out),
            _ => {
                other_record(r, ctx, &loaded, &mut out);
                false
            }
        };
        if moved {
            moving.push((r.owner.clone(), r.rtype.clone()));
        }
    }
    for (file, line, toks) in &loaded.generates {
        let t = target(file, *line);
        let text = loaded.line(file, *line);
        let found = find(ctx.matcher, Surface::Zonefile, &t, text);
        if !found.is_empty() {
            out.warnings.push(Notice::new(
                Code::ZoneGenerateUnchanged,
                format!(
                    "{file}:{line}: a $GENERATE line ({} tokens) holds an old address; zmreip does not expand $GENERATE, change it by hand",
                    toks.len()
                ),
            ));
            out.findings.extend(found);
        }
    }
    if mode == Mode::Move && ctx.rewriter.is_some() {
        incoming_ptrs(zone, &loaded, universe, ctx, &mut out)?;
    }
    if let Mode::LowerTtl(secs) = mode {
        lower_ttls(&loaded, &moving, secs, &mut out);
    }
    if !out.edits.is_empty() {
        if let Some(why) = &zone.blocked {
            out.edits.clear();
            out.warnings
                .push(Notice::new(Code::ZoneNotEdited, why.clone()));
        } else {
            bump_serial(zone, &loaded, today, &mut out);
        }
    }
    Ok(finish(&loaded, out))
}

/// Names at which the zone delegates (NS records below the apex): an
/// address record at or below one is glue.
fn delegations(zone: &Zone, records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.rtype == "NS" && r.owner != zone.name)
        .map(|r| r.owner.clone())
        .collect()
}

fn address_record(
    r: &Record,
    delegations: &[String],
    ctx: &Ctx,
    mode: Mode,
    out: &mut Out,
) -> bool {
    let Some(t) = r.rdata.first() else {
        return false;
    };
    let found = find(
        ctx.matcher,
        Surface::Zonefile,
        &target(&r.file, t.line),
        &t.raw,
    );
    if found.is_empty() {
        return false;
    }
    out.findings.extend(found);
    let Some(rw) = ctx.rewriter else {
        return false;
    };
    let res = rw.rewrite(&[t.raw.as_str()], ValueKind::OwnAddress);
    out.warnings.extend(at(res.notes, &target(&r.file, t.line)));
    if !res.changed {
        return false;
    }
    if mode == Mode::Move {
        let glue = delegations.iter().find(|d| in_zone(&r.owner, d));
        let reason = match glue {
            Some(d) => format!(
                "glue {} record of {} (delegation {d}) moves to the new address",
                r.rtype, r.owner
            ),
            None => format!("{} record of {} moves to the new address", r.rtype, r.owner),
        };
        out.edit(&r.file, t.line, t.span.clone(), res.after.concat(), reason);
    }
    true
}

/// Per byte of a joined TXT text: the token and the line range it came
/// from.
type ByteOrigins = Vec<(usize, Range<usize>)>;

/// The logical text of a TXT record (its strings joined, RFC 7208 §3.3)
/// and where each byte came from.
fn txt_text(r: &Record) -> Option<(String, ByteOrigins)> {
    let mut bytes = Vec::new();
    let mut map = Vec::new();
    for (k, t) in r.rdata.iter().enumerate() {
        for (b, rng) in t.value().into_iter().zip(t.value_map()) {
            bytes.push(b);
            map.push((k, rng));
        }
    }
    String::from_utf8(bytes).ok().map(|s| (s, map))
}

/// Whether a TXT text is an SPF record (RFC 7208 §4.5).
fn is_spf(s: &str) -> bool {
    let l = s.as_bytes();
    l.len() >= 6 && l[..6].eq_ignore_ascii_case(b"v=spf1") && (l.len() == 6 || l[6] == b' ')
}

/// One term of an SPF record (RFC 7208 §4.6.1) that is an `ip4:` or
/// `ip6:` mechanism.
struct SpfTerm<'a> {
    /// Byte range of the whole term in the SPF text.
    range: Range<usize>,
    text: &'a str,
    /// `+`, `-`, `~`, `?` or empty.
    qualifier: &'a str,
    /// `ip4:` or `ip6:` as written.
    mechanism: &'a str,
    /// The address or network.
    value: &'a str,
}

impl SpfTerm<'_> {
    /// Whether the mechanism authorizes (`+` or none) rather than denies
    /// (`-`, `~`) or stays neutral (`?`).
    fn positive(&self) -> bool {
        self.qualifier.is_empty() || self.qualifier == "+"
    }
}

/// The `ip4:`/`ip6:` terms of an SPF text. An old address elsewhere
/// (`a:`, `exists:`, `exp=`) is a name or a macro, never an address.
fn spf_terms(text: &str) -> Vec<SpfTerm<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    for term in text.split(' ') {
        let start = pos;
        pos += term.len() + 1;
        if term.is_empty() {
            continue;
        }
        let (qualifier, body) = match term.as_bytes()[0] {
            b'+' | b'-' | b'~' | b'?' => term.split_at(1),
            _ => ("", term),
        };
        let lower = body.get(..4).map(str::to_ascii_lowercase);
        if !matches!(lower.as_deref(), Some("ip4:" | "ip6:")) {
            continue;
        }
        let (mechanism, value) = body.split_at(4);
        out.push(SpfTerm {
            range: start..start + term.len(),
            text: term,
            qualifier,
            mechanism,
            value,
        });
    }
    out
}

/// The network an `ip4:`/`ip6:` value names (a host for a bare address).
fn spf_net(v: &str) -> Option<ipnet::IpNet> {
    v.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| v.parse::<IpAddr>().ok().map(ipnet::IpNet::from))
}

/// What SPF rewriting decided for one TXT record.
#[derive(Debug, Default)]
pub(crate) struct SpfOutcome {
    /// Edits of the joined SPF text: byte range → replacement, reason.
    pub edits: Vec<(Range<usize>, String, String)>,
    pub findings: Vec<Finding>,
    pub warnings: Vec<Notice>,
    /// A positive mechanism names an old address (the RRset moves).
    pub moved: bool,
}

/// Decides the SPF edits for one TXT text (strings joined). `place` names
/// where the record is, for messages (`/etc/bind/db.x:7`, a zone).
/// Findings carry `target`. Without a rewriter only findings are made.
pub(crate) fn spf_edits(
    text: &str,
    owner: &str,
    place: &str,
    target: &Target,
    ctx_matcher: &crate::addr::Matcher,
    rewriter: Option<&crate::policy::Rewriter>,
    surface: Surface,
) -> SpfOutcome {
    let mut out = SpfOutcome::default();
    if !ctx_matcher.may_match(text) || ctx_matcher.find(text).is_empty() {
        return out;
    }
    if !is_spf(text) {
        out.findings
            .extend(find(ctx_matcher, surface, target, text));
        out.warnings.push(Notice::new(
            Code::ZoneTxtUnchanged,
            format!(
                "{place}: the TXT record of {owner} mentions an old address but is not SPF; change it by hand if it matters"
            ),
        ));
        return out;
    }
    let terms = spf_terms(text);
    // Networks authorized by positive ip4:/ip6: mechanisms that do not
    // hold an old address: a new entry they already cover is not added.
    let mut covered: Vec<ipnet::IpNet> = terms
        .iter()
        .filter(|t| t.positive() && ctx_matcher.find(t.value).is_empty())
        .filter_map(|t| spf_net(t.value))
        .collect();
    for term in &terms {
        let found = find(ctx_matcher, surface, target, term.value);
        if found.is_empty() {
            continue;
        }
        out.findings.extend(found.into_iter().map(|mut f| {
            f.context = text.to_string();
            f
        }));
        let Some(rw) = rewriter else {
            continue;
        };
        if !term.positive() {
            let (code, what) = if term.qualifier == "?" {
                (Code::ZoneSpfNeutralUnchanged, "is neutral about")
            } else {
                (Code::ZoneSpfDenyUnchanged, "denies")
            };
            out.warnings.push(Notice::new(
                code,
                format!(
                    "{place}: `{}` in the SPF record of {owner} {what} the old address; it is left as it is, never turned against the new one",
                    term.text
                ),
            ));
            continue;
        }
        let res = rw.rewrite(&[term.value], ValueKind::TrustList { loopback: false });
        out.warnings.extend(at(res.notes, target));
        if !res.changed {
            continue;
        }
        out.moved = true;
        let mut parts = Vec::new();
        let mut reasons = res.reasons.clone();
        for p in res.after.iter().flat_map(|v| v.split_whitespace()) {
            if p != term.value
                && let Some(n) = spf_net(p)
            {
                if let Some(by) = covered.iter().find(|c| c.contains(&n)) {
                    reasons.push(format!("{p} is already authorized by {by}"));
                    continue;
                }
                covered.push(n);
            }
            parts.push(format!("{}{}{p}", term.qualifier, term.mechanism));
        }
        let mut range = term.range.clone();
        if parts.is_empty() && range.start > 0 {
            // The mechanism goes away: take its leading space with it.
            range.start -= 1;
        }
        out.edits.push((
            range,
            parts.join(" "),
            format!("SPF of {owner}: {}", reasons.join("; ")),
        ));
    }
    out
}

/// Applies edits of the joined text to the strings it was joined from:
/// a replacement goes into the string where the edited range starts, the
/// rest of the range is removed from whichever strings held it.
pub(crate) fn edit_strings(
    strings: &[Vec<u8>],
    edits: &[(Range<usize>, String, String)],
) -> Vec<Vec<u8>> {
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

fn txt_record(r: &Record, ctx: &Ctx, mode: Mode, out: &mut Out) -> bool {
    let Some((text, map)) = txt_text(r) else {
        return false;
    };
    let line = r.rdata.first().map(|t| t.line).unwrap_or(r.line);
    let tgt = target(&r.file, line);
    let place = format!("{}:{line}", r.file);
    let spf = spf_edits(
        &text,
        &r.owner,
        &place,
        &tgt,
        ctx.matcher,
        ctx.rewriter,
        Surface::Zonefile,
    );
    out.findings.extend(spf.findings);
    out.warnings.extend(spf.warnings);
    let (edits, moved) = (spf.edits, spf.moved);
    if mode != Mode::Move || edits.is_empty() {
        return moved;
    }
    // Each string must stay within 255 bytes.
    let mut sizes: Vec<usize> = r.rdata.iter().map(|t| t.value().len()).collect();
    let mut line_edits = Vec::new();
    for (range, repl, reason) in &edits {
        let covered = &map[range.clone()];
        let Some((first_tok, _)) = covered.first() else {
            continue;
        };
        for (k, tok) in r.rdata.iter().enumerate() {
            let bytes: Vec<&Range<usize>> = covered
                .iter()
                .filter(|(t, _)| *t == k)
                .map(|(_, rng)| rng)
                .collect();
            let (Some(a), Some(b)) = (bytes.first(), bytes.last()) else {
                continue;
            };
            let text = if k == *first_tok {
                repl.clone()
            } else {
                String::new()
            };
            sizes[k] = sizes[k] + text.len() - bytes.len();
            line_edits.push((tok.line, a.start..b.end, text, reason.clone()));
        }
    }
    if let Some(k) = sizes.iter().position(|s| *s > MAX_TXT_STRING) {
        out.warnings.push(Notice::new(
            Code::ZoneTxtTooLong,
            format!(
                "{}:{}: the SPF record of {} would hold a string of {} bytes after the change (at most {MAX_TXT_STRING}); split that string in two by hand and plan again",
                r.file, r.rdata[k].line, r.owner, sizes[k]
            ),
        ));
        return moved;
    }
    for (line, span, text, reason) in line_edits {
        out.edit(&r.file, line, span, text, reason);
    }
    moved
}

/// Why a record cannot be taken out of its file by commenting its line.
fn unmovable(r: &Record, next: Option<&Record>) -> Option<String> {
    if r.rdata.iter().any(|t| t.line != r.line) {
        return Some("it spans several lines".into());
    }
    if r.owner_tok.is_some() && next.is_some_and(|n| n.owner_tok.is_none()) {
        return Some(format!(
            "the record on line {} inherits its owner name",
            next.map(|n| n.line).unwrap_or(0)
        ));
    }
    None
}

/// The zone serving `name`: the longest zone name holding it, in the same
/// view when there are views.
fn zone_for<'a>(name: &str, universe: &'a [Zone], view: Option<&str>) -> Option<&'a Zone> {
    universe
        .iter()
        .filter(|z| in_zone(name, &z.name))
        .filter(|z| view.is_none() || z.view.is_none() || z.view.as_deref() == view)
        .max_by_key(|z| (z.name.len(), z.view.as_deref() == view))
}

#[allow(clippy::too_many_arguments)]
fn ptr_record(
    zone: &Zone,
    r: &Record,
    next: Option<&Record>,
    loaded: &Loaded,
    universe: &[Zone],
    ctx: &Ctx,
    mode: Mode,
    out: &mut Out,
) -> bool {
    let Some(ip) = reverse_addr(&r.owner) else {
        return false;
    };
    if !ctx.matcher.targets().contains(&ip) {
        return false;
    }
    let line = r.owner_tok.as_ref().map(|t| t.line).unwrap_or(r.line);
    let line_text = loaded.line(&r.file, line);
    out.findings.push(Finding {
        surface: Surface::Zonefile,
        target: target(&r.file, line),
        matched: r.owner.clone(),
        kind: MatchKind::ReverseName,
        context: line_text.to_string(),
    });
    let Some(pair) = ctx.rewriter.and_then(|rw| rw.pair_for(ip)) else {
        return false;
    };
    if mode != Mode::Move {
        return true;
    }
    let ptr_target = r
        .rdata
        .first()
        .and_then(|t| absolute(&t.raw, &r.origin))
        .unwrap_or_default();
    let new_name = format!("{}.", reverse_name(pair.new));
    let dest = zone_for(&new_name, universe, zone.view.as_deref());
    match dest {
        Some(d) if d.file == zone.file => {
            // Same zone: rename the owner in place.
            let Some(t) = &r.owner_tok else {
                out.warnings.push(Notice::new(
                    Code::ZonePtrUnchanged,
                    format!(
                        "{}:{line}: the PTR of {ip} inherits its owner name from the record before it; move it to {new_name} by hand",
                        r.file
                    ),
                ));
                return true;
            };
            if next.is_some_and(|n| n.owner_tok.is_none()) {
                out.warnings.push(Notice::new(
                    Code::ZonePtrUnchanged,
                    format!(
                        "{}:{line}: records after the PTR of {ip} inherit its owner name; move the PTR to {new_name} by hand",
                        r.file
                    ),
                ));
                return true;
            }
            let spelled = if t.raw.ends_with('.') {
                new_name.clone()
            } else {
                relative_to(&new_name, &r.origin)
            };
            out.edit(
                &r.file,
                t.line,
                t.span.clone(),
                spelled,
                format!("PTR {ptr_target} moves from {} to {new_name}", r.owner),
            );
        }
        Some(d) if d.blocked.is_none() => match unmovable(r, next) {
            Some(why) => out.warnings.push(Notice::new(
                Code::ZonePtrUnchanged,
                format!(
                    "{}:{line}: the PTR of {ip} cannot be moved to zone {} because {why}; move it by hand",
                    r.file, d.name
                ),
            )),
            None => {
                let end = line_text.len();
                out.edit(
                    &r.file,
                    line,
                    0..end,
                    format!("; {line_text} ; moved by zmreip to {new_name} in {}", d.file),
                    format!("PTR {ptr_target} moves to {new_name} in zone {}", d.name),
                );
            }
        },
        _ => out.warnings.push(Notice::new(
            Code::ZonePtrNotServed,
            format!(
                "{}:{line}: the reverse zone of {} is not served here: ask its provider for PTR {new_name} → {ptr_target}; the old PTR {} stays until the old address is handed back",
                r.file, pair.new, r.owner
            ),
        )),
    }
    true
}

/// PTR records that move into `zone` from another zone served here.
fn incoming_ptrs(
    zone: &Zone,
    loaded: &Loaded,
    universe: &[Zone],
    ctx: &Ctx,
    out: &mut Out,
) -> Result<()> {
    let Some(rw) = ctx.rewriter else {
        return Ok(());
    };
    let mut lines = Vec::new();
    for pair in rw.pairs() {
        let new_name = format!("{}.", reverse_name(pair.new));
        let old_name = format!("{}.", reverse_name(pair.old));
        if zone_for(&new_name, universe, zone.view.as_deref()).map(|z| &z.file) != Some(&zone.file)
        {
            continue;
        }
        let Some(src) = zone_for(&old_name, universe, zone.view.as_deref()) else {
            continue;
        };
        if src.file == zone.file || src.blocked.is_some() {
            continue;
        }
        let Some(text) = ctx.host.read(&src.file)? else {
            continue;
        };
        let src_loaded = load(ctx.host, src, &text)?;
        for (i, r) in src_loaded.records.iter().enumerate() {
            if r.rtype != "PTR" || r.owner != old_name {
                continue;
            }
            let next = src_loaded.records.get(i + 1).filter(|n| n.file == r.file);
            if unmovable(r, next).is_some() {
                continue;
            }
            let Some(ptr_target) = r.rdata.first().and_then(|t| absolute(&t.raw, &r.origin)) else {
                continue;
            };
            let exists = loaded.records.iter().any(|x| {
                x.rtype == "PTR"
                    && x.owner == new_name
                    && x.rdata
                        .first()
                        .and_then(|t| absolute(&t.raw, &x.origin))
                        .as_deref()
                        == Some(ptr_target.as_str())
            });
            if exists {
                continue;
            }
            let ttl = r.ttl.map(|t| format!("{t}\t")).unwrap_or_default();
            lines.push((
                format!("{new_name}\t{ttl}IN\tPTR\t{ptr_target}"),
                format!(
                    "PTR {ptr_target} moves here from {} ({})",
                    r.owner, src.file
                ),
            ));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    let text = loaded.texts.first().map(|(_, t)| t.as_str()).unwrap_or("");
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let Some((n, last)) = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .last()
    else {
        return Ok(());
    };
    let added: String = lines.iter().map(|(l, _)| format!("{eol}{l}")).collect();
    let reason = lines
        .iter()
        .map(|(_, r)| r.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    out.edit(&zone.file, n + 1, last.len()..last.len(), added, reason);
    Ok(())
}

fn other_record(r: &Record, ctx: &Ctx, loaded: &Loaded, out: &mut Out) {
    for t in &r.rdata {
        let found = find(
            ctx.matcher,
            Surface::Zonefile,
            &target(&r.file, t.line),
            &t.raw,
        );
        if found.is_empty() {
            continue;
        }
        out.findings.extend(found);
        out.warnings.push(Notice::new(
            Code::ZoneRecordUnchanged,
            format!(
                "{}:{}: the {} record of {} holds an old address (`{}`); zmreip changes only A, AAAA, SPF and PTR records, change it by hand",
                r.file,
                t.line,
                r.rtype,
                r.owner,
                loaded.line(&r.file, t.line).trim()
            ),
        ));
    }
}

/// `--lower-ttl`: every record of a moving RRset gets a TTL of at most
/// `secs` (all records of an RRset share one TTL, RFC 2181 §5.2).
fn lower_ttls(loaded: &Loaded, moving: &[(String, String)], secs: u32, out: &mut Out) {
    for r in &loaded.records {
        if !moving.iter().any(|(o, t)| *o == r.owner && *t == r.rtype) {
            continue;
        }
        if r.ttl.is_some_and(|t| t <= secs) {
            continue;
        }
        let was = r
            .ttl
            .map(|t| t.to_string())
            .unwrap_or_else(|| "unset".into());
        let reason = format!(
            "TTL of {} {} lowered from {was} to {secs} ahead of the move",
            r.owner, r.rtype
        );
        match &r.ttl_tok {
            Some(t) => out.edit(&r.file, t.line, t.span.clone(), secs.to_string(), reason),
            None => {
                let t = &r.after_owner;
                out.edit(
                    &r.file,
                    t.line,
                    t.span.start..t.span.start,
                    format!("{secs} "),
                    reason,
                );
            }
        }
    }
}

fn bump_serial(zone: &Zone, loaded: &Loaded, today: Date, out: &mut Out) {
    let soa = loaded
        .records
        .iter()
        .find(|r| r.rtype == "SOA" && r.owner == zone.name);
    let Some((file, t)) = soa.and_then(|s| s.rdata.get(2).map(|t| (&s.file, t))) else {
        out.warnings.push(Notice::new(
            Code::ZoneNoSoa,
            format!(
                "{} has no SOA record for {}, so no serial was raised; raise the serial of the zone that includes it by hand",
                zone.file, zone.name
            ),
        ));
        return;
    };
    let Ok(old) = t.raw.parse::<u32>() else {
        out.warnings.push(Notice::new(
            Code::ZoneSerialUnchanged,
            format!(
                "{file}:{}: the SOA serial `{}` is not a number; raise it by hand",
                t.line, t.raw
            ),
        ));
        return;
    };
    let new = next_serial(old, today);
    // The SOA may come from an $INCLUDEd file.
    out.edit(
        file,
        t.line,
        t.span.clone(),
        new.to_string(),
        format!(
            "SOA serial of {} raised so secondaries transfer the change",
            zone.name
        ),
    );
}

/// Turns the edits into one change per line.
fn finish(loaded: &Loaded, out: Out) -> Report {
    let mut report = Report {
        findings: out.findings,
        changes: Vec::new(),
        warnings: out.warnings,
    };
    for ((file, line), mut edits) in out.edits {
        edits.sort_by_key(|e| e.span.start);
        let before = loaded.line(&file, line);
        let mut after = String::with_capacity(before.len() + 16);
        let mut last = 0;
        let mut reasons: Vec<String> = Vec::new();
        for e in &edits {
            if e.span.start < last {
                // Two readings of one span (cannot happen for well-formed
                // records); keep the first.
                continue;
            }
            after.push_str(&before[last..e.span.start]);
            after.push_str(&e.text);
            last = e.span.end;
            if !reasons.contains(&e.reason) {
                reasons.push(e.reason.clone());
            }
        }
        after.push_str(&before[last..]);
        if after == before {
            continue;
        }
        report.changes.push(Change {
            id: String::new(),
            surface: Surface::Zonefile,
            target: target(&file, line),
            before: Value::One(before.to_string()),
            after: Value::One(after),
            reason: reasons.join("; "),
        });
    }
    report
}

/// The reverse name of an address with its trailing dot.
pub fn reverse_fqdn(a: IpAddr) -> String {
    format!("{}.", reverse_name(a))
}
