//! One step of a run: what it writes (a file's lines or localconfig keys,
//! an LDIF export's values, one live directory attribute, one DNS RRset)
//! or runs (a service action), and how a step makes a file's new content
//! from its current one, refusing when a precondition no longer holds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::fsops;
use crate::confine::Root;
use crate::directory::{ValueEdit, ldif};
use crate::error::{Error, Result};
use crate::model::Change;
use crate::services::{Action, Cmd, Service};

/// A file a step writes: a host path (under `--root`) or, for an LDIF
/// export given with `--ldif`, a path on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileRef {
    Host(String),
    Local(PathBuf),
}

impl FileRef {
    /// The root the file lives in and its path there: a host file in the
    /// host's root, a local file in this machine's.
    pub fn place<'a>(&self, roots: &'a fsops::Roots) -> (&'a Root, String) {
        match self {
            FileRef::Host(h) => (&roots.host, h.clone()),
            FileRef::Local(p) => (
                &roots.local,
                std::path::absolute(p)
                    .unwrap_or_else(|_| p.clone())
                    .to_string_lossy()
                    .into_owned(),
            ),
        }
    }

    /// The same kind of reference for another path of its root (a
    /// resolved symlink target).
    pub fn with_path(&self, path: &str) -> FileRef {
        match self {
            FileRef::Host(_) => FileRef::Host(path.to_string()),
            FileRef::Local(_) => FileRef::Local(PathBuf::from(path)),
        }
    }

    /// As shown to people: the host path, or the local path.
    pub fn shown(&self) -> String {
        match self {
            FileRef::Host(h) => h.clone(),
            FileRef::Local(p) => p.display().to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineEdit {
    pub line: usize,
    pub before: String,
    pub after: String,
    /// The line goes, terminator and all (`after` is then empty).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEdit {
    pub key: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrEdit {
    pub dn: String,
    pub attribute: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

impl AttrEdit {
    pub fn value_edit(&self) -> ValueEdit {
        ValueEdit {
            dn: self.dn.clone(),
            attribute: self.attribute.clone(),
            before: self.before.clone(),
            after: self.after.clone(),
        }
    }
}

/// How to reach the live directory again for this run's rollback and
/// resume: the servers written to and who binds. The password is never
/// stored; it is read again from the password file or localconfig.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveServer {
    pub urls: Vec<String>,
    pub bind_dn: String,
    pub password_file: Option<PathBuf>,
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    /// Lines of a text file.
    Lines {
        file: FileRef,
        changes: Vec<String>,
        edits: Vec<LineEdit>,
    },
    /// Keys of a localconfig.xml.
    Localconfig {
        file: FileRef,
        changes: Vec<String>,
        edits: Vec<KeyEdit>,
    },
    /// Directory values in an LDIF export (`--ldif`).
    Ldif {
        file: FileRef,
        changes: Vec<String>,
        edits: Vec<AttrEdit>,
    },
    /// One attribute of the live directory (one modify operation, so a
    /// crash leaves it either done or not).
    Directory {
        server: LiveServer,
        change: String,
        edit: AttrEdit,
    },
    /// One RRset at a DNS server zmreip updates with RFC 2136 and TSIG
    /// (`--dns-config`): one UPDATE whose prerequisite is `before`.
    Dns {
        /// The `--dns-config` file (keys are read from it again, never
        /// stored).
        config: PathBuf,
        change: Change,
    },
    /// A service action.
    Service {
        service: Service,
        action: Action,
        command: Cmd,
        because: Vec<String>,
        /// What a rollback runs instead of running `command` again: a
        /// window's runtime address change is undone, not repeated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<Cmd>,
        /// TCP ports whose new connections are held, not refused, while
        /// the command runs ([`crate::window::hold`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hold: Vec<u16>,
    },
}

impl Step {
    /// The file the step writes, if it is a file step.
    pub fn file(&self) -> Option<&FileRef> {
        match self {
            Step::Lines { file, .. } | Step::Localconfig { file, .. } | Step::Ldif { file, .. } => {
                Some(file)
            }
            Step::Directory { .. } | Step::Dns { .. } | Step::Service { .. } => None,
        }
    }

    /// Whether the step is a service action (re-run, not undone, by a
    /// rollback).
    pub fn is_service(&self) -> bool {
        matches!(self, Step::Service { .. })
    }

    /// One line for people: `write /etc/hosts (c1, c2)`.
    pub fn describe(&self) -> String {
        match self {
            Step::Lines { file, changes, .. }
            | Step::Localconfig { file, changes, .. }
            | Step::Ldif { file, changes, .. } => {
                format!("write {} ({})", file.shown(), changes.join(", "))
            }
            Step::Directory { change, edit, .. } => {
                format!("directory: {} {} ({change})", edit.dn, edit.attribute)
            }
            Step::Dns { change, .. } => format!("dns: {} ({})", change.target, change.id),
            Step::Service {
                service,
                action,
                command,
                hold,
                ..
            } if !hold.is_empty() => {
                let ports: Vec<String> = hold.iter().map(u16::to_string).collect();
                format!(
                    "{} {} (new connections to port {} held meanwhile): {command}",
                    service.as_str(),
                    action.as_str(),
                    ports.join(", ")
                )
            }
            Step::Service {
                service,
                action,
                command,
                ..
            } => format!("{} {}: {command}", service.as_str(), action.as_str()),
        }
    }

    /// The step's file content made from `current` (the file before the
    /// step). Fails if a precondition does not hold.
    pub fn transform(&self, current: &[u8]) -> Result<Vec<u8>> {
        match self {
            Step::Lines { file, edits, .. } => set_lines(&file.shown(), current, edits),
            Step::Localconfig { file, edits, .. } => {
                let shown = file.shown();
                let text = utf8(&shown, current)?;
                let tuples: Vec<(String, String, String)> = edits
                    .iter()
                    .map(|e| (e.key.clone(), e.before.clone(), e.after.clone()))
                    .collect();
                Ok(crate::surface::localconfig::set_values(&shown, text, &tuples)?.into_bytes())
            }
            Step::Ldif { file, edits, .. } => {
                let mut out = Vec::with_capacity(current.len() + 256);
                let v: Vec<ValueEdit> = edits.iter().map(AttrEdit::value_edit).collect();
                ldif::rewrite_values(&file.shown(), current, &mut out, &v)?;
                Ok(out)
            }
            Step::Directory { .. } | Step::Dns { .. } | Step::Service { .. } => Err(Error::other(
                "this step has no file content",
                "this is a bug in zmreip",
            )),
        }
    }
}

pub(super) fn utf8<'a>(shown: &str, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Error::parse(shown, line, "not valid UTF-8 text")
    })
}

/// Replaces whole lines, keeping each line's terminator (LF or CRLF) and
/// every other byte. Line N must read `before` (without its terminator).
fn set_lines(shown: &str, current: &[u8], edits: &[LineEdit]) -> Result<Vec<u8>> {
    let mut lines: Vec<&[u8]> = current.split_inclusive(|&b| b == b'\n').collect();
    let mut replaced: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    for e in edits {
        let Some(raw) = e.line.checked_sub(1).and_then(|i| lines.get(i)) else {
            return Err(drift_error(format!(
                "{shown}:{}: the file has {} lines now; the plan expected `{}`",
                e.line,
                lines.len(),
                e.before
            )));
        };
        let (body, end) = split_terminator(raw);
        if body != e.before.as_bytes() {
            return Err(drift_error(format!(
                "{shown}:{}: reads {}, the plan expected `{}`",
                e.line,
                show_found_line(body),
                e.before
            )));
        }
        if e.remove {
            replaced.insert(e.line - 1, Vec::new());
            continue;
        }
        let mut new = e.after.as_bytes().to_vec();
        new.extend_from_slice(end);
        replaced.insert(e.line - 1, new);
    }
    let mut out = Vec::with_capacity(current.len() + 64);
    for (i, l) in lines.iter_mut().enumerate() {
        match replaced.get(&i) {
            Some(n) => out.extend_from_slice(n),
            None => out.extend_from_slice(l),
        }
    }
    Ok(out)
}

/// A line's text and its terminator (`\n`, `\r\n` or nothing).
pub(super) fn split_terminator(raw: &[u8]) -> (&[u8], &[u8]) {
    let cut = if raw.ends_with(b"\r\n") {
        2
    } else if raw.ends_with(b"\n") {
        1
    } else {
        0
    };
    raw.split_at(raw.len() - cut)
}

fn drift_error(message: String) -> Error {
    Error::other(
        message,
        "the host changed since the plan was made; run `zmreip plan` again",
    )
}

/// A line found on the host, quoted for a message, unless it may hold a
/// secret (it is not in the plan, so nobody reviewed it).
pub(super) fn show_found_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if crate::zimbra::holds_secret(&text) {
        return "something else (not shown: it may hold a secret)".into();
    }
    format!("`{}`", truncate(&text, 200))
}

pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(line: usize, before: &str, after: &str) -> LineEdit {
        LineEdit {
            line,
            before: before.into(),
            after: after.into(),
            remove: false,
        }
    }

    fn removal(line: usize, before: &str) -> LineEdit {
        LineEdit {
            line,
            before: before.into(),
            after: String::new(),
            remove: true,
        }
    }

    #[test]
    fn set_lines_keeps_terminators_and_other_bytes() {
        let cases: &[(&str, &[LineEdit], &str)] = &[
            ("a\nb\nc\n", &[edit(2, "b", "B")], "a\nB\nc\n"),
            (
                "a\r\nb\r\nc",
                &[edit(2, "b", "B"), edit(3, "c", "C")],
                "a\r\nB\r\nC",
            ),
            // Mixed endings stay mixed.
            ("a\r\nb\nc", &[edit(1, "a", "A")], "A\r\nb\nc"),
            ("only", &[edit(1, "only", "x")], "x"),
            // An empty `after` keeps the line (and its terminator).
            ("a\nb\n", &[edit(1, "a", "")], "\nb\n"),
            // A multi-line `after` (an appended record) keeps the original
            // numbering for the other edits.
            (
                "a\nb\nc\n",
                &[edit(2, "b", "b\nb2"), edit(3, "c", "C")],
                "a\nb\nb2\nC\n",
            ),
            // A removed line goes with its terminator; numbering of the
            // other edits stays the original one.
            ("a\nb\nc\n", &[removal(1, "a"), edit(3, "c", "C")], "b\nC\n"),
            ("a\r\nb\r\n", &[removal(2, "b")], "a\r\n"),
            // The last line without a terminator: the one before keeps its.
            ("a\nb", &[removal(2, "b")], "a\n"),
            // Trap: removing and appending on neighbouring lines.
            (
                "x\nold\nnew\n",
                &[edit(1, "x", "x\nold2"), removal(2, "old")],
                "x\nold2\nnew\n",
            ),
        ];
        for (input, edits, want) in cases {
            let got = set_lines("/f", input.as_bytes(), edits).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), *want, "{input:?}");
        }
    }

    #[test]
    fn set_lines_refuses_drift() {
        let cases: &[(&str, LineEdit, &str)] = &[
            (
                "192.168.2.10 mail\n",
                edit(1, "192.168.2.1 mail", "x"),
                "/f:1: reads `192.168.2.10 mail`",
            ),
            ("a\n", edit(3, "a", "x"), "/f:3: the file has 1 lines now"),
            // The line matches only with its CR: it is not the same line.
            ("a \r\n", edit(1, "a", "x"), "/f:1: reads `a `"),
            ("password=172.20.14.25\n", edit(1, "x", "y"), "not shown"),
        ];
        for (input, e, want) in cases {
            let err = set_lines("/f", input.as_bytes(), std::slice::from_ref(e))
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{input:?}: {err}");
        }
        let err = set_lines("/f", b"password=secret1\n", &[edit(1, "x", "y")])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret1"), "{err}");
    }
}
