//! The shared engine of line-oriented surfaces: a parser says which byte
//! ranges of a line hold values and what kind each is; this finds the
//! searched addresses there, asks the rewriter, and makes one change per
//! changed line.

use std::ops::Range;

use super::{Ctx, Surface};
use crate::addr::Matcher;
use crate::error::Result;
use crate::model::{Change, Finding, Report, Target, Value};
use crate::notice::Notice;
use crate::policy::ValueKind;

/// One value inside a line: its byte range in the line and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub span: Range<usize>,
    pub kind: ValueKind,
    /// What joins an entry the rewriter adds beside the field's value:
    /// a space, or a comma for a comma-separated list of fields.
    pub sep: &'static str,
}

impl Field {
    pub fn new(span: Range<usize>, kind: ValueKind) -> Field {
        Field {
            span,
            kind,
            sep: " ",
        }
    }

    /// One field of a comma-separated list: an added entry joins it with
    /// a comma.
    pub fn in_comma_list(span: Range<usize>, kind: ValueKind) -> Field {
        Field {
            span,
            kind,
            sep: ",",
        }
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
        if !ctx.matcher.may_match(line) {
            // Still let the parser see the line (it may track sections).
            fields(n, line)?;
            continue;
        }
        let fs = fields(n, line)?;
        let target = Target::Line {
            file: path.to_string(),
            line: n,
        };
        let mut after = String::new();
        let mut last = 0;
        let mut reasons = Vec::new();
        for f in &fs {
            let value = &line[f.span.clone()];
            report
                .findings
                .extend(find(ctx.matcher, surface, &target, value));
            if let Some(rw) = ctx.rewriter {
                let out = rw.rewrite(&[value], f.kind);
                after.push_str(&line[last..f.span.start]);
                // A list may gain an entry as a value of its own; inside
                // one line it joins the field as the field's list does.
                after.push_str(&out.after.join(f.sep));
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
