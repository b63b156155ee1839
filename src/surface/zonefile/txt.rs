//! TXT records: only an SPF mechanism naming an old address changes
//! ([`spf::plan_edits`]), in the strings it is written in, each kept
//! within 255 bytes.

use std::ops::Range;

use super::{MAX_TXT_STRING, Out, target};
use crate::dns::spf;
use crate::dns::zone::parse::Record;
use crate::notice::{Code, Notice};
use crate::surface::{Ctx, Mode, Surface};

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

pub(super) fn txt_record(r: &Record, ctx: &Ctx, mode: Mode, out: &mut Out) -> bool {
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
