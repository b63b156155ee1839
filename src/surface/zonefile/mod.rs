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
//! * PTR records: when the new address's PTR belongs in the same zone,
//!   the owner is renamed; when it belongs in another zone served here,
//!   the old record is commented out and the record is added to the new
//!   zone; when the new reverse zone is served elsewhere, the PTR is a
//!   hand-off. RFC 2317 classless zones count like any other (see
//!   the `ptr` module).
//! * The SOA serial goes up once per changed zone, keeping the date form
//!   YYYYMMDDnn where used (today + 00, or +1 when already today or later).
//!
//! DNSSEC-signed data (a file holding RRSIG, NSEC or NSEC3 records) is
//! never edited: where its unsigned source is known (`X` beside
//! `X.signed`), the source is edited and a `dnssec` hand-off gives the
//! `dnssec-signzone` command that signs it again; otherwise the hand-off
//! says what to change in the source. A zone named signs itself
//! (`inline-signing`, `dnssec-policy`) is edited in its unsigned source,
//! and named signs the change when it reloads.
//!
//! Secondary zones are copies and raw/map zone files are not text: both
//! are left out. A dynamic zone (`allow-update`, `update-policy`) is
//! owned by named and its journal while named runs: zmreip reports what it
//! found there and asks for RFC 2136 (`--dns-config`) instead of editing.
//! A file shared by several zones is never edited.
//!
//! Edits are in place: every other byte of a file stays as it is.

use std::ops::Range;

use super::edits::LineEdits;
use super::{Ctx, FileSurface, Mode, Surface, at, find};
use crate::dns::zone::dnssec::{self, Resign};
use crate::dns::zone::parse::{Record, in_zone};
use crate::dns::zone::reverse::Reverse;
use crate::dns::zone::serial::{Date, next_serial};
use crate::dns::zone::{self, Loaded, Signing, Zone};
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
    /// Where each address's PTR lives (RFC 2317 included).
    reverse: &'a Reverse<'a>,
    ctx: &'a Ctx<'a>,
}

/// Edits and the rest of the outcome of one zone.
#[derive(Default)]
struct Out {
    edits: LineEdits,
    findings: Vec<Finding>,
    warnings: Vec<Notice>,
}

impl Out {
    fn edit(&mut self, file: &str, line: usize, span: Range<usize>, text: String, reason: String) {
        self.edits.add(file, line, span, text, reason);
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
    let reverse = Reverse::new(ctx.host, universe)?;
    let zr = ZoneRun {
        zone,
        loaded: &loaded,
        universe,
        reverse: &reverse,
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
            "PTR" => ptr::ptr_record(&zr, r, next, &mut out)?,
            "CNAME" if ptr::cname_record(&zr, r, next, &mut out) => false,
            _ => {
                other_record(r, ctx, &loaded, &mut out);
                false
            }
        };
        if moved {
            moving.push((r.owner.clone(), r.rtype.clone()));
        }
    }
    for zone::Generate {
        file, line, toks, ..
    } in &loaded.generates
    {
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
        } else if dnssec::holds_signatures(&loaded.records) {
            signed_data(ctx, zone, &loaded, &mut out);
        } else {
            bump_serial(zone, &loaded, today, &mut out);
            signed_elsewhere(ctx, zone, &mut out)?;
        }
    }
    Ok(finish(&loaded, out))
}

/// The file holds DNSSEC signatures (dnssec-signzone output): an edit
/// would break them, so nothing is edited. Where the unsigned source is
/// known, it is edited instead (and says how to sign again); else the
/// hand-off lists what to change in it.
fn signed_data(ctx: &Ctx, zone: &Zone, loaded: &Loaded, out: &mut Out) {
    let planned = std::mem::take(&mut out.edits)
        .into_changes(Surface::Zonefile, |file, line| loaded.line(file, line));
    let name = zone.name.trim_end_matches('.');
    if let Signing::Signed { source } = &zone.signing {
        out.warnings.push(Notice::new(
            Code::ZoneSigned,
            format!(
                "{} is DNSSEC-signed (dnssec-signzone output), so zmreip never edits it; it edits the unsigned source {source} of zone {name} instead",
                zone.file
            ),
        ));
        return;
    }
    let what: Vec<String> = planned
        .iter()
        .map(|c| {
            let (Value::One(b), Value::One(a)) = (&c.before, &c.after) else {
                return c.reason.clone();
            };
            let squeeze = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{} (`{}` → `{}`)", c.reason, squeeze(b), squeeze(a))
        })
        .collect();
    const SOURCE: &str = "UNSIGNED-SOURCE";
    let r = Resign::read(ctx.host, &zone.name, &zone.file, SOURCE, &loaded.records);
    out.warnings.push(Notice::new(
        Code::ZoneResign,
        format!(
            "zone {name} is served from {}, which is DNSSEC-signed (dnssec-signzone output): zmreip never edits signed data, and its unsigned source is not known. In the unsigned source: {}; raise its SOA serial, then sign it again the way it was signed (same keys, denial of existence and validity) and reload it: `{}`, {SOURCE} being that file{}",
            zone.file,
            what.join("; "),
            r.command(),
            keys_note(&r)
        ),
    ));
}

/// Where the signing keys are, when the hand-off cannot say.
fn keys_note(r: &Resign) -> String {
    match (&r.key_dir, r.keys.is_empty()) {
        (Some(_), _) => String::new(),
        (None, true) => " (no signature names its key: give the keys' directory with -K)".into(),
        (None, false) => format!(
            " (the private keys {} are not beside the signed file: give their directory with -K)",
            r.keys.join(", ")
        ),
    }
}

/// The zone's file is edited and signed data is made from it: by named
/// itself (nothing to do but the reload the plan has), or by hand with
/// dnssec-signzone (the hand-off gives the command).
fn signed_elsewhere(ctx: &Ctx, zone: &Zone, out: &mut Out) -> Result<()> {
    match &zone.signing {
        Signing::ByNamed(how) => {
            out.warnings.push(Notice::new(
                Code::ZoneSignedByNamed,
                format!(
                    "zone {} is signed by named ({how}): {} is its unsigned source, and named signs the change when it reloads",
                    zone.name.trim_end_matches('.'),
                    zone.file
                ),
            ));
        }
        Signing::SourceOf { signed } => {
            let Some(text) = ctx.host.read(signed)? else {
                return Ok(());
            };
            let signed_zone = Zone {
                file: signed.clone(),
                signing: Signing::Signed {
                    source: zone.file.clone(),
                },
                ..zone.clone()
            };
            let loaded = zone::load(ctx.host, &signed_zone, &text)?;
            let r = Resign::read(ctx.host, &zone.name, signed, &zone.file, &loaded.records);
            out.warnings.push(Notice::new(
                Code::ZoneResign,
                format!(
                    "zone {} is served from the DNSSEC-signed {signed}, signed by hand from {}, which this plan edits: after apply, sign it again the way it was signed (same keys, denial of existence and validity) and reload it: `{}`{}",
                    r.zone,
                    zone.file,
                    r.command(),
                    keys_note(&r)
                ),
            ));
        }
        Signing::Unsigned | Signing::Signed { .. } => {}
    }
    Ok(())
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
    Report {
        findings: out.findings,
        changes: out
            .edits
            .into_changes(Surface::Zonefile, |file, line| loaded.line(file, line)),
        warnings: out.warnings,
    }
}
