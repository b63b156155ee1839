//! PTR records: renamed in place when the new reverse name is in the
//! same zone, commented out and added to the other zone when that zone is
//! served here, else a hand-off.

use std::net::IpAddr;

use super::{Out, ZoneRun, target};
use crate::addr::{MatchKind, reverse_name};
use crate::dns::zone::parse::{Record, absolute, in_zone, relative_to, reverse_addr};
use crate::dns::zone::{self, Zone};
use crate::error::Result;
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

/// The zone serving `name`: the longest zone name holding it, in the same
/// view when there are views.
fn zone_for<'a>(name: &str, universe: &'a [Zone], view: Option<&str>) -> Option<&'a Zone> {
    universe
        .iter()
        .filter(|z| in_zone(name, &z.name))
        .filter(|z| view.is_none() || z.view.is_none() || z.view.as_deref() == view)
        .max_by_key(|z| (z.name.len(), z.view.as_deref() == view))
}

/// A PTR record: found when its owner is the reverse name of an old
/// address; then moved (see the module doc). Returns whether the RRset
/// moves.
pub(super) fn ptr_record(zr: &ZoneRun, r: &Record, next: Option<&Record>, out: &mut Out) -> bool {
    let ctx = zr.ctx;
    let Some(ip) = reverse_addr(&r.owner) else {
        return false;
    };
    if !ctx.matcher.targets().contains(&ip) {
        return false;
    }
    let line = r.owner_tok.as_ref().map(|t| t.line).unwrap_or(r.line);
    let line_text = zr.loaded.line(&r.file, line);
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
    if ctx.mode != Mode::Move {
        return true;
    }
    let ptr_target = r
        .rdata
        .first()
        .and_then(|t| absolute(&t.raw, &r.origin))
        .unwrap_or_default();
    let new_name = format!("{}.", reverse_name(pair.new));
    let dest = zone_for(&new_name, zr.universe, zr.zone.view.as_deref());
    match dest {
        Some(d) if d.file == zr.zone.file => {
            rename_in_place(r, next, (ip, line), &new_name, &ptr_target, out);
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

/// The new reverse name is in the same zone: the owner is renamed where
/// it is written, unless records around it share the owner.
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
    let spelled = if t.raw.ends_with('.') {
        new_name.to_string()
    } else {
        relative_to(new_name, &r.origin)
    };
    out.edit(
        &r.file,
        t.line,
        t.span.clone(),
        spelled,
        format!("PTR {ptr_target} moves from {} to {new_name}", r.owner),
    );
}

/// PTR records that move into `zone` from another zone served here.
pub(super) fn incoming_ptrs(zr: &ZoneRun, out: &mut Out) -> Result<()> {
    let (zone, loaded, universe, ctx) = (zr.zone, zr.loaded, zr.universe, zr.ctx);
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
