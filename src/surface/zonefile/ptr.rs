//! PTR records: renamed in place when the new address's PTR belongs in
//! the same zone, commented out and added to the other zone when that
//! zone is served here, else a hand-off. Where a PTR belongs is
//! [`Reverse`](crate::dns::zone::reverse::Reverse)'s answer, so RFC 2317
//! classless zones (`35.32/28.77.22.172.in-addr.arpa.`) count like any
//! other; a served parent zone's CNAME into a classless zone follows its
//! PTR (`35 CNAME 35.32/28` becomes `40 CNAME 40.32/28`).

use std::net::IpAddr;

use super::{Out, ZoneRun, target};
use crate::addr::{MatchKind, reverse_name};
use crate::dns::zone::dnssec;
use crate::dns::zone::parse::{Record, absolute, relative_to, reverse_addr};
use crate::dns::zone::reverse::classless;
use crate::dns::zone::{self, Zone};
use crate::error::Result;
use crate::host::Host;
use crate::model::Finding;
use crate::notice::{Code, Notice};
use crate::surface::{Mode, Surface};

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

/// Whether a zone's file may be edited for a record coming from another
/// zone: not blocked, and not signed data.
fn editable(host: &Host, z: &Zone) -> Result<bool> {
    if z.blocked.is_some() {
        return Ok(false);
    }
    let Some(text) = host.read(&z.file)? else {
        return Ok(false);
    };
    Ok(!dnssec::holds_signatures(
        &zone::load(host, z, &text)?.records,
    ))
}

/// The finding of a record whose owner stands for an old address.
fn owner_finding(zr: &ZoneRun, r: &Record, line: usize) -> Finding {
    Finding {
        surface: Surface::Zonefile,
        target: target(&r.file, line),
        matched: r.owner.clone(),
        kind: MatchKind::ReverseName,
        context: zr.loaded.line(&r.file, line).to_string(),
    }
}

/// A PTR record: found when its owner stands for an old address; then
/// moved (see the module doc). Returns whether the RRset moves.
pub(super) fn ptr_record(
    zr: &ZoneRun,
    r: &Record,
    next: Option<&Record>,
    out: &mut Out,
) -> Result<bool> {
    let ctx = zr.ctx;
    let Some(ip) = zr.reverse.addr_of(&r.owner) else {
        return Ok(false);
    };
    if !ctx.matcher.targets().contains(&ip) {
        return Ok(false);
    }
    let line = r.owner_tok.as_ref().map(|t| t.line).unwrap_or(r.line);
    out.findings.push(owner_finding(zr, r, line));
    let Some(pair) = ctx.rewriter.and_then(|rw| rw.pair_for(ip)) else {
        return Ok(false);
    };
    if ctx.mode != Mode::Move {
        return Ok(true);
    }
    let ptr_target = r
        .rdata
        .first()
        .and_then(|t| absolute(&t.raw, &r.origin))
        .unwrap_or_default();
    let view = zr.zone.view.as_deref();
    match zr.reverse.place_of(pair.new, view) {
        Some((d, new_name)) if d.file == zr.zone.file => {
            rename_in_place(r, next, (ip, line), &new_name, &ptr_target, out);
        }
        Some((d, new_name)) if editable(ctx.host, d)? => match unmovable(r, next) {
            Some(why) => out.warnings.push(Notice::new(
                Code::ZonePtrUnchanged,
                format!(
                    "{}:{line}: the PTR of {ip} cannot be moved to zone {} because {why}; move it by hand",
                    r.file, d.name
                ),
            )),
            None => {
                let line_text = zr.loaded.line(&r.file, line);
                out.edit(
                    &r.file,
                    line,
                    0..line_text.len(),
                    format!("; {line_text} ; moved by zmreip to {new_name} in {}", d.file),
                    format!("PTR {ptr_target} moves to {new_name} in zone {}", d.name),
                );
            }
        },
        _ => {
            let new_name = format!("{}.", reverse_name(pair.new));
            out.warnings.push(Notice::new(
                Code::ZonePtrNotServed,
                format!(
                    "{}:{line}: the reverse zone of {} is not served here: ask its provider for PTR {new_name} → {ptr_target}; the old PTR {} stays until the old address is handed back",
                    r.file, pair.new, r.owner
                ),
            ));
        }
    }
    if let Some((label, _)) = classless(&zr.zone.name) {
        classless_parent_note(zr, pair.new, label, out);
    }
    Ok(true)
}

/// The PTR moved within a classless zone whose parent is served
/// elsewhere: the parent must point the new address's reverse name into
/// the zone (RFC 2317 §4), which providers usually do for the whole block.
fn classless_parent_note(zr: &ZoneRun, new: IpAddr, label: &str, out: &mut Out) {
    let canonical = format!("{}.", reverse_name(new));
    let Some((d, name)) = zr.reverse.place_of(new, zr.zone.view.as_deref()) else {
        return;
    };
    if d.file != zr.zone.file || zr.reverse.has_cname(&canonical) {
        return;
    }
    let parent_served = zone::reverse::zone_for(&canonical, zr.universe, zr.zone.view.as_deref())
        .is_some_and(|p| p.file != zr.zone.file);
    if parent_served {
        return;
    }
    out.warnings.push(Notice::new(
        Code::ZonePtrNotServed,
        format!(
            "the PTR of {new} is {name} in the classless zone {} ({label}); the zone above it is not served here: ask its provider to make sure {canonical} is a CNAME to {name} (RFC 2317), as it usually is for the whole block",
            zr.zone.name
        ),
    ));
}

/// The new PTR belongs in the same zone: the owner is renamed where it is
/// written, unless records around it share the owner.
fn rename_in_place(
    r: &Record,
    next: Option<&Record>,
    (ip, line): (IpAddr, usize),
    new_name: &str,
    ptr_target: &str,
    out: &mut Out,
) {
    let Some(t) = &r.owner_tok else {
        out.warnings.push(Notice::new(
            Code::ZonePtrUnchanged,
            format!(
                "{}:{line}: the PTR of {ip} inherits its owner name from the record before it; move it to {new_name} by hand",
                r.file
            ),
        ));
        return;
    };
    if next.is_some_and(|n| n.owner_tok.is_none()) {
        out.warnings.push(Notice::new(
            Code::ZonePtrUnchanged,
            format!(
                "{}:{line}: records after the PTR of {ip} inherit its owner name; move the PTR to {new_name} by hand",
                r.file
            ),
        ));
        return;
    }
    out.edit(
        &r.file,
        t.line,
        t.span.clone(),
        spelled(&t.raw, new_name, &r.origin),
        format!("PTR {ptr_target} moves from {} to {new_name}", r.owner),
    );
}

/// `name` written like `like`: absolute when `like` is, else relative to
/// `origin`.
fn spelled(like: &str, name: &str, origin: &str) -> String {
    if like.ends_with('.') {
        name.to_string()
    } else {
        relative_to(name, origin)
    }
}

/// A CNAME at an old address's reverse name pointing into a classless
/// zone served here (the parent's side of RFC 2317): found, and where the
/// new address's PTR lands in the same classless zone and no CNAME names
/// it yet, renamed to the new address with its target. Returns whether
/// the record was such a CNAME.
pub(super) fn cname_record(zr: &ZoneRun, r: &Record, next: Option<&Record>, out: &mut Out) -> bool {
    let ctx = zr.ctx;
    let Some(ip) = reverse_addr(&r.owner) else {
        return false;
    };
    let Some(target_tok) = r.rdata.first() else {
        return false;
    };
    let Some(target_name) = absolute(&target_tok.raw, &r.origin) else {
        return false;
    };
    let view = zr.zone.view.as_deref();
    let Some(into) = zone::reverse::zone_for(&target_name, zr.universe, view)
        .filter(|z| classless(&z.name).is_some())
    else {
        return false;
    };
    if !ctx.matcher.targets().contains(&ip) {
        return true;
    }
    let line = r.owner_tok.as_ref().map(|t| t.line).unwrap_or(r.line);
    out.findings.push(owner_finding(zr, r, line));
    let Some(pair) = ctx.rewriter.and_then(|rw| rw.pair_for(ip)) else {
        return true;
    };
    if ctx.mode != Mode::Move {
        return true;
    }
    let (IpAddr::V4(old), IpAddr::V4(new)) = (pair.old, pair.new) else {
        return true;
    };
    let canonical = format!("{}.", reverse_name(pair.new));
    let same_block = zr
        .reverse
        .place_of(pair.new, view)
        .is_some_and(|(z, _)| z.file == into.file);
    if !same_block || zr.reverse.has_cname(&canonical) {
        // Outside the block the CNAME stays with the old address until it
        // is handed back; a CNAME for the new address is there already.
        return true;
    }
    let (Some(owner_tok), None) = (&r.owner_tok, unmovable(r, next)) else {
        out.warnings.push(Notice::new(
            Code::ZonePtrUnchanged,
            format!(
                "{}:{line}: the CNAME of {old} into {} cannot be renamed in place; make {canonical} a CNAME to the new PTR by hand",
                r.file, into.name
            ),
        ));
        return true;
    };
    let reason = format!(
        "CNAME of {old} into classless zone {} follows its PTR to {new}",
        into.name
    );
    out.edit(
        &r.file,
        owner_tok.line,
        owner_tok.span.clone(),
        spelled(&owner_tok.raw, &canonical, &r.origin),
        reason.clone(),
    );
    // `35.32/28` → `40.32/28`: the target's first label is the last
    // octet, by RFC 2317's convention; another target is left as it is.
    let old_octet = old.octets()[3].to_string();
    if target_tok.raw.split('.').next() == Some(old_octet.as_str()) {
        let s = target_tok.span.start;
        out.edit(
            &r.file,
            target_tok.line,
            s..s + old_octet.len(),
            new.octets()[3].to_string(),
            reason,
        );
    }
    true
}

/// PTR records that move into `zone` from another zone served here.
pub(super) fn incoming_ptrs(zr: &ZoneRun, out: &mut Out) -> Result<()> {
    let (zone, loaded, ctx) = (zr.zone, zr.loaded, zr.ctx);
    let Some(rw) = ctx.rewriter else {
        return Ok(());
    };
    let view = zone.view.as_deref();
    let mut lines = Vec::new();
    for pair in rw.pairs() {
        let Some((dest, new_name)) = zr.reverse.place_of(pair.new, view) else {
            continue;
        };
        if dest.file != zone.file {
            continue;
        }
        let Some((src, old_name)) = zr.reverse.place_of(pair.old, view) else {
            continue;
        };
        if src.file == zone.file || !editable(ctx.host, src)? {
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
