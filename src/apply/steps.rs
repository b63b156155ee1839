//! From a plan to steps: every file the plan changes becomes one step
//! (all its changes in one new version of the file; an LDIF export is a
//! file), each attribute of a live directory one step (one modify), each
//! DNS RRset held elsewhere one step (one RFC 2136 update), each service
//! action one more. Before anything is written every change's
//! precondition is checked, and every drifted target is listed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsops::{self, FileState};
use crate::directory::{Directory, DirectoryWriter, ValueEdit, ldif};
use crate::error::{Error, Result};
use crate::model::{Change, Target, Value};
use crate::plan::Plan;
use crate::services::Cmd;
use crate::services::{Action, Service};
use crate::zimbra;

/// A file a step writes: a host path (under `--root`) or, for an LDIF
/// export given with `--ldif`, a path on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileRef {
    Host(String),
    Local(PathBuf),
}

impl FileRef {
    /// The path on this machine.
    pub fn real(&self, root: &Path) -> PathBuf {
        match self {
            FileRef::Host(h) => fsops::under_root(root, Path::new(h)),
            FileRef::Local(p) => p.clone(),
        }
    }

    /// The root symlinks resolve in: the host's for host files, this
    /// machine's for a local file.
    pub fn link_root<'a>(&self, root: &'a Path) -> &'a Path {
        match self {
            FileRef::Host(_) => root,
            FileRef::Local(_) => Path::new("/"),
        }
    }

    /// The same kind of reference for a path on this machine (a resolved
    /// symlink target).
    pub fn of_real(&self, root: &Path, real: &Path) -> FileRef {
        match self {
            FileRef::Host(_) => FileRef::Host(match real.strip_prefix(root) {
                Ok(rel) => format!("/{}", rel.display()),
                Err(_) => real.display().to_string(),
            }),
            FileRef::Local(_) => FileRef::Local(real.to_path_buf()),
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

fn utf8<'a>(shown: &str, bytes: &'a [u8]) -> Result<&'a str> {
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
fn split_terminator(raw: &[u8]) -> (&[u8], &[u8]) {
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
fn show_found_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    if ["pass", "secret", "key", "token", "credential"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return "something else (not shown: it may hold a secret)".into();
    }
    format!("`{}`", truncate(&text, 200))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push('…');
    t
}

/// The write steps of a plan: files in the order the plan lists their
/// first change, then the directory (the `ldif` export as one file step,
/// else one step per attribute of the `live` directory), then DNS RRsets
/// (needing `dns_config`). Refuses a plan that is not self-consistent.
pub fn write_steps(
    plan: &Plan,
    ldif: Option<&Path>,
    live: Option<&LiveServer>,
    dns_config: Option<&Path>,
) -> Result<Vec<Step>> {
    let invalid = |msg: String| {
        Error::other(
            msg,
            "the plan is not one zmreip wrote; make a new one with `zmreip plan --out FILE`",
        )
    };
    let mut steps: Vec<Step> = Vec::new();
    let mut attrs: Vec<AttrEdit> = Vec::new();
    let mut attr_ids: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut dns: Vec<Change> = Vec::new();
    for c in &plan.changes {
        if !seen.insert(c.target.to_string().to_ascii_lowercase()) {
            return Err(invalid(format!(
                "change {} repeats the target {}",
                c.id, c.target
            )));
        }
        match &c.target {
            Target::Line { file, line } => {
                let (Value::One(before), Value::One(after)) = (&c.before, &c.after) else {
                    return Err(invalid(format!(
                        "change {} on {file}:{line} must have one line before and after",
                        c.id
                    )));
                };
                // `before` is one line; only a surface that appends lines
                // may have several in `after`: set_lines writes it verbatim
                // in place of that line, and later edits address original
                // line numbers.
                let appends = c.surface.appends_lines();
                if *line == 0 || before.contains('\n') || (after.contains('\n') && !appends) {
                    return Err(invalid(format!(
                        "change {} on {file}:{line} is not one line",
                        c.id
                    )));
                }
                let edit = LineEdit {
                    line: *line,
                    before: before.clone(),
                    after: after.clone(),
                };
                match find_step(&mut steps, file) {
                    Some(Step::Lines { changes, edits, .. }) => {
                        changes.push(c.id.clone());
                        edits.push(edit);
                    }
                    Some(_) => return Err(mixed(file)),
                    None => steps.push(Step::Lines {
                        file: FileRef::Host(file.clone()),
                        changes: vec![c.id.clone()],
                        edits: vec![edit],
                    }),
                }
            }
            Target::LocalconfigKey { file, key } => {
                let (Value::One(before), Value::One(after)) = (&c.before, &c.after) else {
                    return Err(invalid(format!(
                        "change {} of key {key} must have one value before and after",
                        c.id
                    )));
                };
                let edit = KeyEdit {
                    key: key.clone(),
                    before: before.clone(),
                    after: after.clone(),
                };
                match find_step(&mut steps, file) {
                    Some(Step::Localconfig { changes, edits, .. }) => {
                        changes.push(c.id.clone());
                        edits.push(edit);
                    }
                    Some(_) => return Err(mixed(file)),
                    None => steps.push(Step::Localconfig {
                        file: FileRef::Host(file.clone()),
                        changes: vec![c.id.clone()],
                        edits: vec![edit],
                    }),
                }
            }
            Target::Dns { .. } => dns.push(c.clone()),
            Target::Ldap { dn, attribute } => {
                attrs.push(AttrEdit {
                    dn: dn.clone(),
                    attribute: attribute.clone(),
                    before: values(&c.before),
                    after: values(&c.after),
                });
                attr_ids.push(c.id.clone());
            }
        }
    }
    let dns_steps = dns_steps(dns, dns_config)?;
    if !attrs.is_empty()
        && ldif.is_none()
        && let Some(server) = live
    {
        for (edit, change) in attrs.into_iter().zip(attr_ids) {
            steps.push(Step::Directory {
                server: server.clone(),
                change,
                edit,
            });
        }
        steps.extend(dns_steps);
        return Ok(steps);
    }
    if !attrs.is_empty() {
        let Some(path) = ldif else {
            return Err(Error::usage(
                format!(
                    "the plan changes {} directory attribute(s) ({}) and no directory to write was given",
                    attrs.len(),
                    attr_ids.join(", ")
                ),
                "pass --ldif FILE with the LDIF export the plan was made from, or reach the live directory (localconfig's ldap_url, or --ldap-url)",
            ));
        };
        let abs = std::path::absolute(path).map_err(|e| Error::io("read", path, e))?;
        steps.push(Step::Ldif {
            file: FileRef::Local(abs),
            changes: attr_ids,
            edits: attrs,
        });
    }
    steps.extend(dns_steps);
    Ok(steps)
}

/// One step per DNS change; they need the `--dns-config` that holds the
/// servers and keys.
fn dns_steps(changes: Vec<Change>, config: Option<&Path>) -> Result<Vec<Step>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let Some(config) = config else {
        let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
        return Err(Error::usage(
            format!(
                "the plan updates {} DNS record set(s) held elsewhere ({}) and no --dns-config was given",
                changes.len(),
                ids.join(", ")
            ),
            "pass the --dns-config FILE the plan was made with",
        ));
    };
    let config = std::path::absolute(config).map_err(|e| Error::io("read", config, e))?;
    Ok(changes
        .into_iter()
        .map(|change| Step::Dns {
            config: config.clone(),
            change,
        })
        .collect())
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

fn mixed(file: &str) -> Error {
    Error::other(
        format!("the plan edits {file} both as lines and as localconfig keys"),
        "make a new plan without listing localconfig.xml in --include",
    )
}

fn find_step<'a>(steps: &'a mut [Step], host_path: &str) -> Option<&'a mut Step> {
    steps
        .iter_mut()
        .find(|s| s.file() == Some(&FileRef::Host(host_path.to_string())))
}

fn values(v: &Value) -> Vec<String> {
    match v {
        Value::One(s) => vec![s.clone()],
        Value::Many(vs) => vs.clone(),
    }
}

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
pub fn check(steps: &[Step], root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut reached: BTreeMap<PathBuf, String> = BTreeMap::new();
    for step in steps {
        let Some(file) = step.file() else { continue };
        let shown = file.shown();
        let problem = |message: String| Problem {
            target: shown.clone(),
            message,
        };
        let (real, state) = match open(file, root) {
            Ok(x) => x,
            Err(m) => {
                problems.push(problem(m));
                continue;
            }
        };
        if let Some(other) = reached.insert(real.clone(), shown.clone()) {
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
            Step::Ldif { edits, .. } => problems.extend(check_ldif(&real, &shown, edits)),
            Step::Directory { .. } | Step::Dns { .. } | Step::Service { .. } => {}
        }
        if let Err(e) = fsops::check_writable(&real) {
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

/// Resolves a step's file and reads it, or says why not in words.
pub fn open(file: &FileRef, root: &Path) -> std::result::Result<(PathBuf, FileState), String> {
    let real = file.real(root);
    let resolved = fsops::resolve(file.link_root(root), &real)
        .map_err(|e| format!("cannot follow its symlink: {e}"))?;
    match fsops::capture(&resolved.file) {
        Ok(st) => Ok((resolved.file, st)),
        Err(e) => Err(match e.kind() {
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

fn check_ldif(real: &Path, shown: &str, edits: &[AttrEdit]) -> Vec<Problem> {
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
            attr_drift(e, &cur).map(|message| Problem { target, message })
        })
        .collect()
}

/// Why an attribute holding `current` does not fit the edit's `before`
/// (compared as sets), or `None`.
fn attr_drift(e: &AttrEdit, current: &[String]) -> Option<String> {
    let cur_set: BTreeSet<&str> = current.iter().map(String::as_str).collect();
    let want: BTreeSet<&str> = e.before.iter().map(String::as_str).collect();
    if cur_set == want {
        return None;
    }
    Some(if zimbra::is_secret_attribute(&e.attribute) {
        "holds other values (not shown: a secret)".into()
    } else {
        format!("holds {cur_set:?}, the plan expected {want:?}")
    })
}

/// Checks the live directory steps: every attribute holds exactly its
/// `before` values. Returns the prior values as LDIF (for the journal)
/// and every drifted attribute. `scratch` is a directory for reading the
/// LDIF back.
pub fn check_live(
    writer: &mut crate::directory::ldap::LdapWriter,
    steps: &[Step],
    scratch: &Path,
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
    let entries = parse_ldif(&prior, scratch)?;
    let problems = edits
        .iter()
        .filter_map(|e| {
            attr_drift(e, &values_in(&entries, &e.dn, &e.attribute)).map(|message| Problem {
                target: format!("{} {}", e.dn, e.attribute),
                message,
            })
        })
        .collect();
    Ok((prior, problems))
}

/// The values of `attribute` of entry `dn` among `entries`.
pub fn values_in(entries: &[crate::directory::Entry], dn: &str, attribute: &str) -> Vec<String> {
    entries
        .iter()
        .find(|p| p.dn.eq_ignore_ascii_case(dn))
        .and_then(|p| p.get(attribute))
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}

/// Entries of an LDIF text, read through the LDIF reader by way of a
/// private file in `dir` (removed afterwards).
pub fn parse_ldif(text: &str, dir: &Path) -> Result<Vec<crate::directory::Entry>> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!(".zmreip-read-{}-{n}.ldif", std::process::id()));
    fsops::create_private(&path, text.as_bytes()).map_err(|e| Error::io("write", &path, e))?;
    let mut out = Vec::new();
    let r = ldif::LdifDirectory::open(&path).and_then(|mut d| {
        d.for_each(&mut |e| {
            out.push(e);
            Ok(())
        })
    });
    let _ = std::fs::remove_file(&path);
    r.map(|()| out)
}

/// The directory values a step changes, as they were, as LDIF content
/// records (for the journal and for people): one record per entry, with
/// only the edited attributes.
pub fn prior_ldif(edits: &[AttrEdit]) -> String {
    let mut by_dn: Vec<(&str, Vec<&AttrEdit>)> = Vec::new();
    for e in edits {
        match by_dn
            .iter_mut()
            .find(|(dn, _)| dn.eq_ignore_ascii_case(&e.dn))
        {
            Some((_, v)) => v.push(e),
            None => by_dn.push((&e.dn, vec![e])),
        }
    }
    let mut out =
        String::from("# The directory values zmreip changed, as they were before.\nversion: 1\n\n");
    for (dn, es) in by_dn {
        ldif::push_line(&mut out, "dn", dn);
        for e in es {
            for v in &e.before {
                ldif::push_line(&mut out, &e.attribute, v);
            }
        }
        out.push('\n');
    }
    out
}

/// The directory writer of an LDIF export: the file is rewritten with
/// the values changed (every other byte kept) and replaced atomically,
/// keeping its owner and mode.
pub struct LdifFile<'a> {
    /// The resolved file to write.
    pub real: PathBuf,
    pub shown: String,
    /// Owner and mode to keep.
    pub state: &'a FileState,
}

impl DirectoryWriter for LdifFile<'_> {
    fn apply(&mut self, edits: &[ValueEdit]) -> Result<()> {
        let current = std::fs::read(&self.real).map_err(|e| Error::io("read", &self.real, e))?;
        let mut out = Vec::with_capacity(current.len() + 256);
        ldif::rewrite_values(&self.shown, &current[..], &mut out, edits)?;
        fsops::write_atomic(
            &self.real,
            &out,
            self.state.uid,
            self.state.gid,
            self.state.mode,
        )
        .map(drop)
        .map_err(|e| {
            Error::other(
                format!("{}: {}", self.shown, write_problem(&e)),
                "nothing of this file was changed",
            )
        })
    }
}

/// The value edits of an LDIF step (for the writer and change records).
pub fn value_edits(edits: &[AttrEdit]) -> Vec<ValueEdit> {
    edits.iter().map(AttrEdit::value_edit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::Surface;

    fn edit(line: usize, before: &str, after: &str) -> LineEdit {
        LineEdit {
            line,
            before: before.into(),
            after: after.into(),
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

    fn plan_with(changes: Vec<Change>) -> Plan {
        Plan {
            schema: crate::plan::SCHEMA.into(),
            from: vec![],
            to: vec![],
            changes,
            derived: vec![],
            actions: vec![],
            warnings: vec![],
            handoffs: vec![],
            checksum: None,
        }
    }

    fn change(id: &str, target: Target, before: Value, after: Value) -> Change {
        Change {
            id: id.into(),
            surface: Surface::Hosts,
            target,
            before,
            after,
            reason: String::new(),
        }
    }

    fn line(file: &str, line: usize) -> Target {
        Target::Line {
            file: file.into(),
            line,
        }
    }

    fn one(s: &str) -> Value {
        Value::One(s.into())
    }

    #[test]
    fn changes_group_per_file_in_plan_order() {
        let plan = plan_with(vec![
            change("c1", line("/etc/hosts", 2), one("a"), one("b")),
            change("c2", line("/etc/dnsmasq.conf", 1), one("a"), one("b")),
            change("c3", line("/etc/hosts", 5), one("a"), one("b")),
            change(
                "c4",
                Target::Ldap {
                    dn: "cn=config,cn=zimbra".into(),
                    attribute: "zimbraMtaMyNetworks".into(),
                },
                Value::Many(vec!["x".into()]),
                Value::Many(vec!["y".into()]),
            ),
        ]);
        let steps = write_steps(&plan, Some(Path::new("/tmp/z.ldif")), None, None).unwrap();
        let shown: Vec<String> = steps.iter().map(Step::describe).collect();
        assert_eq!(
            shown,
            [
                "write /etc/hosts (c1, c3)",
                "write /etc/dnsmasq.conf (c2)",
                "write /tmp/z.ldif (c4)"
            ]
        );
        let e = write_steps(&plan, None, None, None).unwrap_err();
        // With a live directory: one step per attribute.
        let live = LiveServer {
            urls: vec!["ldap://127.0.0.1:389".into()],
            bind_dn: "uid=zimbra,cn=admins,cn=zimbra".into(),
            password_file: None,
        };
        let steps = write_steps(&plan, None, Some(&live), None).unwrap();
        assert_eq!(
            steps.last().unwrap().describe(),
            "directory: cn=config,cn=zimbra zimbraMtaMyNetworks (c4)"
        );
        assert!(e.to_string().contains("c4") && e.exit_code() == 2, "{e}");
    }

    #[test]
    fn a_zone_file_change_may_append_lines() {
        let mut c = change(
            "c1",
            line("/etc/bind/db.10", 9),
            one("@ IN NS ns1."),
            one("@ IN NS ns1.\n131.7 IN PTR mail.corp.example."),
        );
        c.surface = Surface::Zonefile;
        assert!(write_steps(&plan_with(vec![c.clone()]), None, None, None).is_ok());
        // The same change from a surface that never appends is inconsistent.
        c.surface = Surface::Hosts;
        assert!(write_steps(&plan_with(vec![c]), None, None, None).is_err());
    }

    #[test]
    fn inconsistent_plans_are_refused() {
        let bad = [
            vec![
                change("c1", line("/etc/hosts", 2), one("a"), one("b")),
                change("c2", line("/etc/hosts", 2), one("a"), one("c")),
            ],
            vec![change(
                "c1",
                line("/etc/hosts", 2),
                Value::Many(vec![]),
                one("b"),
            )],
            vec![change("c1", line("/etc/hosts", 0), one("a"), one("b"))],
            vec![change("c1", line("/etc/hosts", 1), one("a"), one("b\nc"))],
            vec![
                change(
                    "c1",
                    line("/opt/zimbra/conf/localconfig.xml", 3),
                    one("a"),
                    one("b"),
                ),
                change(
                    "c2",
                    Target::LocalconfigKey {
                        file: "/opt/zimbra/conf/localconfig.xml".into(),
                        key: "k".into(),
                    },
                    one("a"),
                    one("b"),
                ),
            ],
        ];
        for changes in bad {
            assert!(
                write_steps(&plan_with(changes.clone()), None, None, None).is_err(),
                "{changes:?}"
            );
        }
    }

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
        let problems: Vec<String> = check(&steps, root).iter().map(Problem::to_string).collect();
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

    #[test]
    fn prior_values_as_ldif() {
        let edits = [
            AttrEdit {
                dn: "cn=config,cn=zimbra".into(),
                attribute: "zimbraMtaMyNetworks".into(),
                before: vec!["127.0.0.0/8 172.20.14.0/24".into()],
                after: vec![],
            },
            AttrEdit {
                dn: "cn=config,cn=zimbra".into(),
                attribute: "zimbraHttpThrottleSafeIPs".into(),
                before: vec!["172.20.14.25".into(), "10.0.0.1".into()],
                after: vec![],
            },
        ];
        assert_eq!(
            prior_ldif(&edits),
            "# The directory values zmreip changed, as they were before.\nversion: 1\n\ndn: cn=config,cn=zimbra\nzimbraMtaMyNetworks: 127.0.0.0/8 172.20.14.0/24\nzimbraHttpThrottleSafeIPs: 172.20.14.25\nzimbraHttpThrottleSafeIPs: 10.0.0.1\n\n"
        );
    }
}
