//! The shared engine of line-oriented surfaces: a parser says which byte
//! ranges of a line hold values and what kind each is; this finds the
//! searched addresses there, asks the rewriter, and makes one change per
//! changed line.

use std::ops::Range;

use super::{Ctx, Surface};
use crate::addr::{MatchKind, Matcher};
use crate::error::Result;
use crate::model::{Change, Finding, Report, Target, Value};
use crate::notice::Notice;
use crate::policy::ValueKind;

/// One value inside a line: its byte range in the line and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub span: Range<usize>,
    pub kind: ValueKind,
    /// What joins an entry the policy adds as a value of its own (the new
    /// host beside a trusted network that stays) to the field: a blank
    /// unless the syntax says otherwise (`,` in an iptables address list).
    pub join: &'static str,
}

impl Field {
    pub fn new(span: Range<usize>, kind: ValueKind) -> Field {
        Field {
            span,
            kind,
            join: " ",
        }
    }

    /// The same field, whose added entries are joined with `join`.
    pub fn joined(self, join: &'static str) -> Field {
        Field { join, ..self }
    }
}

/// The shared engine of line-oriented surfaces. `fields` is called for
/// every line (1-based number, text without the line terminator) and
/// returns the fields that hold values; text outside fields (comments,
/// keys) is never matched or changed. Each changed line becomes one
/// [`Change`] whose `before`/`after` are the whole line.
pub fn analyze_lines<F>(
    surface: Surface,
    path: &str,
    text: &str,
    ctx: &Ctx,
    mut fields: F,
) -> Result<Report>
where
    F: FnMut(usize, &str) -> Result<Vec<Field>>,
{
    let mut report = Report::default();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let n = i + 1;
        // The parser sees every line (it may track sections); a line
        // without the address is skipped, unless a range on it may hold
        // the address between its ends.
        let fs = fields(n, line)?;
        if !ctx.matcher.may_match(line) && !fs.iter().any(|f| f.kind == ValueKind::Range) {
            continue;
        }
        let target = Target::Line {
            file: path.to_string(),
            line: n,
        };
        let mut after = String::new();
        let mut last = 0;
        let mut reasons = Vec::new();
        for f in &fs {
            let value = &line[f.span.clone()];
            if f.kind == ValueKind::Range {
                report
                    .findings
                    .extend(in_range(ctx.matcher, surface, &target, value));
            } else {
                report
                    .findings
                    .extend(find(ctx.matcher, surface, &target, value));
            }
            if let Some(rw) = ctx.rewriter {
                let out = rw.rewrite(&[value], f.kind);
                after.push_str(&line[last..f.span.start]);
                // A trust list may gain an entry as a value of its own,
                // joined as the field's syntax says.
                after.push_str(&out.after.join(f.join));
                last = f.span.end;
                reasons.extend(out.reasons);
                report.warnings.extend(at(out.notes, &target));
            }
        }
        after.push_str(&line[last..]);
        if ctx.rewriter.is_some() && after != line {
            report.changes.push(Change {
                id: String::new(),
                surface,
                target,
                before: Value::One(line.to_string()),
                after: Value::One(after),
                reason: reasons.join("; "),
            });
        }
    }
    Ok(report)
}

/// [`analyze_lines`] for parsers that read a file as a whole (a block or
/// a list spans lines): `fields` hold byte ranges of `text`, and each is
/// handed to the line it lies on. A field that crosses a line end is left
/// out, as lines are the unit of change.
pub fn analyze_text(
    surface: Surface,
    path: &str,
    text: &str,
    ctx: &Ctx,
    fields: Vec<Field>,
) -> Result<Report> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let mut per_line: Vec<Vec<Field>> = vec![Vec::new(); starts.len()];
    for f in fields {
        let i = starts.partition_point(|&s| s <= f.span.start) - 1;
        let end = starts.get(i + 1).map_or(text.len(), |&s| s - 1);
        if f.span.end <= end && !f.span.is_empty() {
            let base = starts[i];
            per_line[i].push(Field {
                span: f.span.start - base..f.span.end - base,
                ..f
            });
        }
    }
    for line in &mut per_line {
        line.sort_by_key(|f| f.span.start);
        line.dedup_by(|b, a| b.span.start < a.span.end);
    }
    analyze_lines(surface, path, text, ctx, |n, _| {
        Ok(std::mem::take(&mut per_line[n - 1]))
    })
}

/// Findings for every match of `matcher` in `value`.
pub fn find(matcher: &Matcher, surface: Surface, target: &Target, value: &str) -> Vec<Finding> {
    if !matcher.may_match(value) {
        return Vec::new();
    }
    matcher
        .find(value)
        .into_iter()
        .map(|m| Finding {
            surface,
            target: target.clone(),
            matched: value[m.span.clone()].to_string(),
            kind: m.kind,
            context: value.to_string(),
        })
        .collect()
}

/// A finding for each searched address an address range holds (at an end
/// or inside it), as a `network-contains` match of the whole range: a
/// range, like a network, is kept and only reported.
fn in_range(matcher: &Matcher, surface: Surface, target: &Target, value: &str) -> Vec<Finding> {
    let Some((a, b)) = crate::addr::parse_range(value) else {
        return Vec::new();
    };
    matcher
        .targets()
        .iter()
        .filter(|t| a <= **t && **t <= b)
        .map(|_| Finding {
            surface,
            target: target.clone(),
            matched: value.to_string(),
            kind: MatchKind::NetworkContains,
            context: value.to_string(),
        })
        .collect()
}

/// Notes of a rewrite, with the place they apply to appended.
pub fn at(notes: Vec<Notice>, target: &Target) -> Vec<Notice> {
    notes
        .into_iter()
        .map(|mut n| {
            n.message = format!("{} (at {target})", n.message);
            n
        })
        .collect()
}
