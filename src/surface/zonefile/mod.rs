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

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Range;

use super::{Ctx, FileSurface, Mode, Surface, at, find};
use crate::addr::{MatchKind, reverse_name};
use crate::dns::spf;
use crate::dns::zone::parse::{Record, absolute, in_zone, relative_to, reverse_addr};
use crate::dns::zone::serial::{Date, next_serial};
use crate::dns::zone::{self, Loaded, Zone};
use crate::error::Result;
use crate::model::{Change, Finding, Report, Target, Value};
use crate::notice::{Code, Notice};
use crate::policy::ValueKind;

#[cfg(test)]
mod tests;

/// The `zonefile` surface.
pub struct Zonefile;

/// Longest character-string in a TXT record (RFC 1035 §3.3).
const MAX_TXT_STRING: usize = 255;

impl FileSurface for Zonefile {
    /// The files of the zones served here: primary zones of named.conf
    /// and the `--zone-file`s.
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let mut files: Vec<String> = zone::universe(ctx.host, &ctx.extra.zone_files)?
            .into_iter()
            .map(|z| z.file)
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let zones = zone::universe(ctx.host, &ctx.extra.zone_files)?;
        match zones.iter().find(|z| z.file == path) {
            Some(z) => analyze_zone(z, text, &zones, ctx, Date::today()),
            None => Ok(Report::default()),
        }
    }
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
    today: Date,
) -> Result<Report> {
    let mode = ctx.mode;
    let loaded = zone::load(ctx.host, zone, text)?;
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

fn txt_record(r: &Record, ctx: &Ctx, mode: Mode, out: &mut Out) -> bool {
    let Some((text, map)) = txt_text(r) else {
        return false;
    };
    let line = r.rdata.first().map(|t| t.line).unwrap_or(r.line);
    let tgt = target(&r.file, line);
    let place = format!("{}:{line}", r.file);
    let spf = spf::plan_edits(
        &text,
        &spf::Place {
            owner: &r.owner,
            shown: &place,
            target: &tgt,
            surface: Surface::Zonefile,
        },
        ctx.matcher,
        ctx.rewriter,
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
        let src_loaded = zone::load(ctx.host, src, &text)?;
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
