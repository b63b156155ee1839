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
use std::ops::Range;

use super::{Ctx, FileSurface, Mode, Surface, at, find};
use crate::dns::zone::parse::{Record, in_zone};
use crate::dns::zone::serial::{Date, next_serial};
use crate::dns::zone::{self, Loaded, Zone};
use crate::error::Result;
use crate::model::{Change, Finding, Report, Target, Value};
use crate::notice::{Code, Notice};
use crate::policy::ValueKind;

mod ptr;
#[cfg(test)]
mod tests;
mod txt;

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

/// One zone being analyzed, with what its records are read against.
struct ZoneRun<'a> {
    zone: &'a Zone,
    loaded: &'a Loaded,
    /// Every zone served here (to find where a PTR moves).
    universe: &'a [Zone],
    ctx: &'a Ctx<'a>,
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
    let zr = ZoneRun {
        zone,
        loaded: &loaded,
        universe,
        ctx,
    };
    let delegations = delegations(zone, &loaded.records);
    // RRsets (owner, type) that move: what --lower-ttl lowers.
    let mut moving: Vec<(String, String)> = Vec::new();
    for (i, r) in loaded.records.iter().enumerate() {
        let next = loaded.records.get(i + 1).filter(|n| n.file == r.file);
        let moved = match r.rtype.as_str() {
            "A" | "AAAA" => address_record(r, &delegations, ctx, mode, &mut out),
            "TXT" | "SPF" => txt::txt_record(r, ctx, mode, &mut out),
            "PTR" => ptr::ptr_record(&zr, r, next, &mut out),
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
        ptr::incoming_ptrs(&zr, &mut out)?;
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
            None => address_reason(&r.rtype, &r.owner),
        };
        out.edit(&r.file, t.line, t.span.clone(), res.after.concat(), reason);
    }
    true
}

/// Why an address record of a zone served here changes (not glue): the
/// reason of its change, and how [`moves_record`] recognizes it.
fn address_reason(rtype: &str, owner: &str) -> String {
    format!("{rtype} record of {owner} moves to the new address")
}

/// Whether change `c` moves the `rtype` record of `name` (absolute, with
/// or without the final dot) in a zone served here: the plan then does
/// what a hand-off would ask of the DNS elsewhere.
pub fn moves_record(c: &Change, name: &str, rtype: &str) -> bool {
    let owner = format!("{}.", name.trim_end_matches('.'));
    c.surface == Surface::Zonefile
        && c.reason
            .split("; ")
            .any(|r| r.eq_ignore_ascii_case(&address_reason(rtype, &owner)))
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
