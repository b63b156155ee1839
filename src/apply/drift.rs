//! Before anything is written: every change's precondition checked
//! against the host's files, the live directory and the DNS servers, and
//! every problem listed (a drifted target, a file that is gone, not a
//! file or cannot be written).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::fsops::{self, FileState, Roots};
use super::ldif::{parse_ldif, values_in};
use super::step::{
    AttrEdit, FileRef, KeyEdit, LineEdit, Step, show_found_line, split_terminator, truncate, utf8,
};
use crate::addr::Matcher;
use crate::directory::{Directory, ValueEdit, ldif};
use crate::error::Result;
use crate::model::{Change, Value};
use crate::zimbra;

/// Something on the host that stops the plan: a drifted target, a file
/// that is gone, not a file or cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub target: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.target, self.message)
    }
}

/// Checks every file step against the host without writing: each
/// change's `before` holds, each file is a regular file that can be
/// written, no two steps reach the same file through symlinks, and the
/// new content can be made. Returns every problem found.
pub fn check(steps: &[Step], roots: &Roots, old: &Matcher) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut reached: BTreeMap<(bool, String), String> = BTreeMap::new();
    for step in steps {
        let Some(file) = step.file() else { continue };
        let shown = file.shown();
        let problem = |message: String| Problem {
            target: shown.clone(),
            message,
        };
        let (root, _) = file.place(roots);
        let (real, state) = match open(file, roots) {
            Ok(x) => x,
            Err(m) => {
                problems.push(problem(m));
                continue;
            }
        };
        let local = matches!(file, FileRef::Local(_));
        if let Some(other) = reached.insert((local, real.clone()), shown.clone()) {
            problems.push(problem(format!(
                "is the same file as {other} (through a symlink); the plan would write it twice"
            )));
        }
        let before = problems.len();
        match step {
            Step::Lines { edits, .. } => problems.extend(check_lines(&shown, &state.bytes, edits)),
            Step::Localconfig { edits, .. } => {
                problems.extend(check_keys(&shown, &state.bytes, edits));
            }
            Step::Ldif { edits, .. } => {
                problems.extend(check_ldif(&root.shown(&real), &shown, edits, old));
            }
            Step::Directory { .. } | Step::Dns { .. } | Step::Service { .. } => {}
        }
        if let Err(e) = fsops::check_writable(root, &real) {
            problems.push(problem(write_problem(&e)));
        }
        if problems.len() == before
            && let Err(e) = step.transform(&state.bytes)
        {
            problems.push(problem(e.to_string()));
        }
    }
    problems
}

/// Resolves a step's file (inside its root) and reads it, or says why
/// not in words. Returns the resolved path in the file's root.
pub fn open(file: &FileRef, roots: &Roots) -> std::result::Result<(String, FileState), String> {
    let (root, path) = file.place(roots);
    let resolved =
        fsops::resolve(root, &path).map_err(|e| format!("cannot follow its symlink: {e}"))?;
    match fsops::capture(root, &resolved.file) {
        Ok(st) => Ok((resolved.file, st)),
        Err(e) => Err(match e.kind() {
            _ if crate::confine::Refusal::of(&e).is_some() => e.to_string(),
            std::io::ErrorKind::NotFound if resolved.link.is_some() => {
                "is a symlink to a file that does not exist".into()
            }
            std::io::ErrorKind::NotFound => "does not exist any more".into(),
            std::io::ErrorKind::IsADirectory => "is a directory where a file was expected".into(),
            _ => format!("cannot be read: {e}"),
        }),
    }
}

/// Why a file cannot be written, with what to check.
pub fn write_problem(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ReadOnlyFilesystem => {
            format!("cannot be written: {e} (a read-only mount; remount it read-write)")
        }
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot be written: {e} (run as root; if you are root, the file may be immutable: `lsattr` shows `i`, `chattr -i` clears it)"
        ),
        std::io::ErrorKind::StorageFull => {
            format!("cannot be written: {e} (free space on its file system)")
        }
        _ => format!("cannot be written: {e}"),
    }
}

fn check_lines(shown: &str, bytes: &[u8], edits: &[LineEdit]) -> Vec<Problem> {
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    edits
        .iter()
        .filter_map(|e| {
            let target = format!("{shown}:{}", e.line);
            let message = match lines.get(e.line - 1) {
                None => format!(
                    "the file has {} lines now; the plan expected `{}`",
                    lines.len(),
                    e.before
                ),
                Some(raw) => {
                    let (body, _) = split_terminator(raw);
                    if body == e.before.as_bytes() {
                        return None;
                    }
                    format!(
                        "reads {}, the plan expected `{}`",
                        show_found_line(body),
                        e.before
                    )
                }
            };
            Some(Problem { target, message })
        })
        .collect()
}

fn check_keys(shown: &str, bytes: &[u8], edits: &[KeyEdit]) -> Vec<Problem> {
    let entries = match utf8(shown, bytes).and_then(|t| crate::surface::localconfig::read(shown, t))
    {
        Ok(e) => e,
        Err(e) => {
            return vec![Problem {
                target: shown.to_string(),
                message: e.to_string(),
            }];
        }
    };
    edits
        .iter()
        .filter_map(|e| {
            let target = format!("{shown} key {}", e.key);
            let found = entries.iter().rev().find(|x| x.key == e.key);
            let message = match found {
                None => format!("is no longer set; the plan expected `{}`", e.before),
                Some(x) if x.value == e.before => return None,
                Some(_) if zimbra::is_secret_key(&e.key) => {
                    "holds another value (not shown: a secret)".into()
                }
                Some(x) => format!(
                    "holds `{}`, the plan expected `{}`",
                    truncate(&x.value, 200),
                    e.before
                ),
            };
            Some(Problem { target, message })
        })
        .collect()
}

fn check_ldif(real: &Path, shown: &str, edits: &[AttrEdit], old: &Matcher) -> Vec<Problem> {
    let wanted: BTreeSet<String> = edits.iter().map(|e| e.dn.to_ascii_lowercase()).collect();
    let mut found: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut present: BTreeSet<String> = BTreeSet::new();
    let read = ldif::LdifDirectory::open(real).and_then(|mut d| {
        d.for_each(&mut |entry| {
            let dn = entry.dn.to_ascii_lowercase();
            if wanted.contains(&dn) {
                for e in edits
                    .iter()
                    .filter(|e| e.dn.eq_ignore_ascii_case(&entry.dn))
                {
                    let vals = entry
                        .get(&e.attribute)
                        .map(<[String]>::to_vec)
                        .unwrap_or_default();
                    found.insert((dn.clone(), e.attribute.to_ascii_lowercase()), vals);
                }
                present.insert(dn);
            }
            Ok(())
        })
    });
    if let Err(e) = read {
        return vec![Problem {
            target: shown.to_string(),
            message: e.to_string(),
        }];
    }
    edits
        .iter()
        .filter_map(|e| {
            let target = format!("{} {}", e.dn, e.attribute);
            let dn = e.dn.to_ascii_lowercase();
            if !present.contains(&dn) {
                return Some(Problem {
                    target,
                    message: format!("the entry is not in {shown} any more"),
                });
            }
            let cur = found
                .get(&(dn, e.attribute.to_ascii_lowercase()))
                .cloned()
                .unwrap_or_default();
            attr_drift(e, &cur, old).map(|message| Problem { target, message })
        })
        .collect()
}

/// Why an attribute holding `current` no longer fits the edit, or `None`.
///
/// The concurrent-edit rule (README, "Apply, rollback, resume"): edits
/// are value-level, so every value the plan read (`before`) must still be
/// there and none it adds may be there yet; a value someone else added
/// since the plan stays as it is, unless it holds one of the moved
/// addresses (`old`): the plan never decided about it, and keeping it
/// could leave the old address trusted.
fn attr_drift(e: &AttrEdit, current: &[String], old: &Matcher) -> Option<String> {
    let cur: BTreeSet<&str> = current.iter().map(String::as_str).collect();
    let before: BTreeSet<&str> = e.before.iter().map(String::as_str).collect();
    let after: BTreeSet<&str> = e.after.iter().map(String::as_str).collect();
    let missing: Vec<&str> = before.difference(&cur).copied().collect();
    let present: Vec<&str> = after
        .difference(&before)
        .filter(|v| cur.contains(*v))
        .copied()
        .collect();
    let gained: Vec<&str> = cur
        .difference(&before)
        .filter(|v| !after.contains(*v) && !old.find(v).is_empty())
        .copied()
        .collect();
    if missing.is_empty() && present.is_empty() && gained.is_empty() {
        return None;
    }
    Some(if zimbra::is_secret_attribute(&e.attribute) {
        "holds other values (not shown: a secret)".into()
    } else if !missing.is_empty() {
        format!("no longer holds {missing:?}, which the plan read")
    } else if !present.is_empty() {
        format!("holds {present:?} already, which the plan adds")
    } else {
        format!(
            "gained {gained:?} since the plan was made: it holds an address being moved, and the plan never decided about it"
        )
    })
}

/// Checks the live directory steps by the concurrent-edit rule (see
/// `attr_drift`). Returns the prior values as LDIF (for the journal) and
/// every drifted attribute.
pub fn check_live(
    writer: &mut crate::directory::ldap::LdapWriter,
    steps: &[Step],
    old: &Matcher,
) -> Result<(String, Vec<Problem>)> {
    let edits: Vec<&AttrEdit> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Directory { edit, .. } => Some(edit),
            _ => None,
        })
        .collect();
    if edits.is_empty() {
        return Ok((String::new(), Vec::new()));
    }
    let ves: Vec<ValueEdit> = edits.iter().map(|e| e.value_edit()).collect();
    let prior = writer.prior_ldif(&ves)?;
    let entries = parse_ldif(&prior, "the directory")?;
    let problems = edits
        .iter()
        .filter_map(|e| {
            attr_drift(e, &values_in(&entries, &e.dn, &e.attribute), old).map(|message| Problem {
                target: format!("{} {}", e.dn, e.attribute),
                message,
            })
        })
        .collect();
    Ok((prior, problems))
}

/// An RRset as the set of (owner, data) it holds: the update's
/// prerequisite (RFC 2136 §2.4.2) compares records without their TTL.
pub type RrSet = BTreeSet<(String, crate::dns::Rdata)>;

/// The records of a change's `before` or `after`.
pub fn rrset_of(v: &Value) -> Result<RrSet> {
    let lines: Vec<&str> = match v {
        Value::One(s) if s.is_empty() => Vec::new(),
        Value::One(s) => vec![s.as_str()],
        Value::Many(v) => v.iter().map(String::as_str).collect(),
    };
    lines
        .into_iter()
        .map(|l| crate::dns::Rr::parse(l).map(|r| (r.name.to_ascii_lowercase(), r.data)))
        .collect()
}

/// The records the zone's server holds now for a change's RRset.
pub fn rrset_live(cfg: &crate::dns::update::UpdateConfig, change: &Change) -> Result<RrSet> {
    Ok(crate::dns::update::live(cfg, change)?
        .into_iter()
        .map(|r| (r.name.to_ascii_lowercase(), r.data))
        .collect())
}

/// Checks every DNS step: the server holds exactly `before`.
pub fn check_dns(cfg: &crate::dns::update::UpdateConfig, steps: &[Step]) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for s in steps {
        let Step::Dns { change, .. } = s else {
            continue;
        };
        let now = rrset_live(cfg, change)?;
        if now != rrset_of(&change.before)? {
            let shown: Vec<String> = now
                .iter()
                .map(|(n, d)| format!("{n} {} {d}", d.type_name()))
                .collect();
            problems.push(Problem {
                target: change.target.to_string(),
                message: format!(
                    "the server holds [{}], not the plan's `before`",
                    shown.join("; ")
                ),
            });
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::steps::tests::{change, line, one, plan_with};
    use crate::apply::steps::write_steps;

    #[test]
    fn check_lists_every_problem() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("etc/dir.conf")).unwrap();
        std::fs::write(
            root.join("etc/hosts"),
            "127.0.0.1 localhost\n172.20.14.25 mail\n",
        )
        .unwrap();
        let plan = plan_with(vec![
            change(
                "c1",
                line("/etc/hosts", 1),
                one("127.0.0.1 localhost"),
                one("127.0.0.1 localhost"),
            ),
            change(
                "c2",
                line("/etc/hosts", 2),
                one("172.20.14.26 mail"),
                one("x"),
            ),
            change("c3", line("/etc/dir.conf", 1), one("a"), one("b")),
            change("c4", line("/etc/gone", 1), one("a"), one("b")),
        ]);
        let steps = write_steps(&plan, None, None, None).unwrap();
        let problems: Vec<String> = check(&steps, &Roots::open(root).unwrap(), &Matcher::new(&[]))
            .iter()
            .map(Problem::to_string)
            .collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("/etc/hosts:2: reads `172.20.14.25 mail`"),
            "{problems:?}"
        );
        assert_eq!(
            problems[1],
            "/etc/dir.conf: is a directory where a file was expected"
        );
        assert_eq!(problems[2], "/etc/gone: does not exist any more");
    }
}
