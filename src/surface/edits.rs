//! In-place edits of lines, for surfaces that know the byte range of each
//! value they change (zone files, named.conf): edits are gathered per
//! line, then each changed line becomes one [`Change`] whose `before` and
//! `after` are the whole line, every byte outside the edits kept.

use std::collections::BTreeMap;
use std::ops::Range;

use super::Surface;
use crate::model::{Change, Target, Value};

/// One edit of a line: the byte range it replaces (empty to insert) and
/// why.
#[derive(Debug, Clone)]
pub struct Edit {
    pub span: Range<usize>,
    pub text: String,
    pub reason: String,
}

/// Edits of the lines of some files, by (host path, 1-based line).
#[derive(Debug, Clone, Default)]
pub struct LineEdits {
    edits: BTreeMap<(String, usize), Vec<Edit>>,
}

impl LineEdits {
    /// Replaces `span` of line `line` of `file` with `text`.
    pub fn add(
        &mut self,
        file: &str,
        line: usize,
        span: Range<usize>,
        text: String,
        reason: String,
    ) {
        self.edits
            .entry((file.to_string(), line))
            .or_default()
            .push(Edit { span, text, reason });
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Forgets every edit.
    pub fn clear(&mut self) {
        self.edits.clear();
    }

    /// The (file, line) pairs edited, in order.
    pub fn lines(&self) -> impl Iterator<Item = (&str, usize)> {
        self.edits.keys().map(|(f, l)| (f.as_str(), *l))
    }

    /// Drops the edits of one line.
    pub fn forget(&mut self, file: &str, line: usize) {
        self.edits.remove(&(file.to_string(), line));
    }

    /// One change per edited line; `line_of(file, line)` is the line's
    /// text without its terminator. A line whose edits leave it as it was
    /// makes no change. Where two edits overlap (two readings of one
    /// value), the first one stays.
    pub fn into_changes<'a>(
        self,
        surface: Surface,
        line_of: impl Fn(&str, usize) -> &'a str,
    ) -> Vec<Change> {
        let mut out = Vec::new();
        for ((file, line), mut edits) in self.edits {
            // Stable: of two edits at one place, the one added first stays.
            edits.sort_by_key(|e| e.span.start);
            let before = line_of(&file, line);
            let mut after = String::with_capacity(before.len() + 16);
            let mut last = 0;
            let mut reasons: Vec<String> = Vec::new();
            for e in &edits {
                if e.span.start < last || e.span.end > before.len() {
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
            out.push(Change {
                id: String::new(),
                surface,
                target: Target::Line {
                    file: file.clone(),
                    line,
                },
                before: Value::One(before.to_string()),
                after: Value::One(after),
                reason: reasons.join("; "),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(c: &Change) -> (&str, &str) {
        match (&c.before, &c.after) {
            (Value::One(b), Value::One(a)) => (b, a),
            _ => panic!("{c:?}"),
        }
    }

    #[test]
    fn edits_apply_in_place_in_order_and_overlaps_keep_the_first() {
        let text = "listen-on { 10.0.0.1; 10.0.0.0/8; };";
        let mut e = LineEdits::default();
        // Given out of order: an insertion after the second entry's `;`,
        // then the first entry.
        e.add("/f", 1, 33..33, " 10.9.9.9;".into(), "added".into());
        e.add("/f", 1, 12..20, "10.9.9.9".into(), "moved".into());
        e.add("/f", 1, 12..14, "xx".into(), "overlap".into());
        let changes = e.into_changes(Surface::NamedConf, |_, _| text);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            one(&changes[0]),
            (text, "listen-on { 10.9.9.9; 10.0.0.0/8; 10.9.9.9; };")
        );
        assert_eq!(changes[0].reason, "moved; added");
    }

    #[test]
    fn an_edit_that_changes_nothing_makes_no_change() {
        let mut e = LineEdits::default();
        e.add("/f", 2, 0..1, "a".into(), "same".into());
        assert!(e.into_changes(Surface::NamedConf, |_, _| "abc").is_empty());
    }
}
