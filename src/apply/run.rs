//! Running, rolling back and resuming a journaled run.
//!
//! The protocol of a file step k: take the backup (data, then its
//! metadata file, each fsynced) if the file has none in this run; log
//! `begin k`; write the file atomically; log `done k sha256:…`. A service
//! step logs `begin k`, runs the command, logs `done k`.
//!
//! Undoing a file step restores its backup (symlink, bytes, owner, mode)
//! unless the file already is that backup; so undo and redo can be
//! repeated after any crash with the same result.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::drift::{rrset_live, rrset_of, write_problem};
use super::journal::{self, Event, Journal, State};
use super::ldif::{LdifFile, parse_ldif, prior_ldif, value_edits, values_in};
use super::step::{AttrEdit, FileRef, LiveServer, Step};
use super::{Outcome, Part, Prepared, RunInfo, selects};
use super::{crash, fsops};
use crate::directory::ldap::{LdapWriter, Overrides, Settings, rollback_edits};
use crate::directory::{DirectoryWriter, Entry};
use crate::dns::update::UpdateConfig;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::services::Service;

/// What a backup's metadata file (`backups/K.json`) records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BackupMeta {
    /// The path the plan names.
    file: FileRef,
    /// The regular file the bytes came from (the symlink's target when
    /// `file` is a symlink).
    target: FileRef,
    /// What the symlink said (`readlink`), when `file` is one.
    link: Option<PathBuf>,
    uid: u32,
    gid: u32,
    mode: u32,
    size: usize,
    sha256: String,
}

fn sha256(bytes: &[u8]) -> String {
    let mut s = String::from("sha256:");
    for b in Sha256::digest(bytes).iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let a: BTreeSet<&String> = a.iter().collect();
    let b: BTreeSet<&String> = b.iter().collect();
    a == b
}

/// Reads `run.json`.
pub fn read_info(j: &Journal) -> Result<RunInfo> {
    let raw = j
        .read_file("run.json")?
        .ok_or_else(|| damaged(j, "run.json is missing"))?;
    serde_json::from_slice(&raw).map_err(|e| damaged(j, &format!("run.json does not read: {e}")))
}

fn damaged(j: &Journal, what: &str) -> Error {
    Error::other(
        format!("run {}: {what}", j.id),
        format!(
            "the run directory {} is damaged; inspect it by hand",
            j.dir.display()
        ),
    )
}

/// The step log, summarized.
struct Progress {
    begun: BTreeSet<usize>,
    /// Step → hash of the file it wrote (empty for service steps).
    done: BTreeMap<usize, String>,
    /// Service steps re-run by the rollback under way (a rollback never
    /// begins a step, so: since the last `begin`).
    rerun: BTreeSet<usize>,
}

impl Progress {
    fn read(j: &Journal) -> Result<Progress> {
        let mut p = Progress {
            begun: BTreeSet::new(),
            done: BTreeMap::new(),
            rerun: BTreeSet::new(),
        };
        for e in j.events()? {
            match e {
                Event::Begin(k) => {
                    p.begun.insert(k);
                    p.rerun.clear();
                }
                Event::Done(k, h) => {
                    p.done.insert(k, h.unwrap_or_default());
                }
                Event::RerunDone(k) => {
                    p.rerun.insert(k);
                }
                _ => {}
            }
        }
        Ok(p)
    }
}

/// When only some parts of a run were asked for (`--only`) and steps of
/// other parts remain, the outcome that leaves the run waiting for them.
fn waiting(j: &Journal, info: &RunInfo, only: &[Part]) -> Result<Option<Outcome>> {
    if only.is_empty() {
        return Ok(None);
    }
    let prog = Progress::read(j)?;
    let left = (1..=info.steps.len())
        .filter(|k| !prog.done.contains_key(k))
        .count();
    if left == 0 {
        return Ok(None);
    }
    let parts: Vec<String> = only.iter().map(Part::to_string).collect();
    Ok(Some(Outcome {
        run_id: j.id.clone(),
        state: State::Running,
        changed: true,
        lines: vec![format!(
            "run {}: {} done; {left} of {} step(s) wait (`zmreip resume {}`)",
            j.id,
            parts.join(", "),
            info.steps.len(),
            j.id
        )],
    }))
}

/// Carries out steps of one run.
struct Exec<'a> {
    j: &'a Journal,
    root: &'a Path,
    info: &'a RunInfo,
    phase: &'static str,
    report: &'a mut dyn FnMut(&str),
    /// The live directory, connected on first use.
    ldap: Option<LdapWriter>,
    /// The RFC 2136 configuration, read on first use.
    dns: Option<UpdateConfig>,
}

impl Exec<'_> {
    /// The live directory writer, connecting with the run's server and
    /// the password from its file or localconfig.
    fn writer(&mut self, server: &LiveServer) -> Result<&mut LdapWriter> {
        if self.ldap.is_none() {
            let host = Host::open(self.root, Some(&self.info.zimbra_home))?;
            let overrides = Overrides {
                urls: server.urls.clone(),
                bind_dn: Some(server.bind_dn.clone()),
                password_file: server.password_file.clone(),
                deep: false,
            };
            let settings = Settings::resolve(&host, &overrides)?.ok_or_else(|| {
                Error::other(
                    "cannot reach the directory this run changed",
                    "check localconfig.xml's zimbra_ldap_password",
                )
            })?;
            self.ldap = Some(LdapWriter::open(&settings)?);
        }
        Ok(self.ldap.as_mut().expect("connected above"))
    }

    /// The DNS update configuration (servers and keys), read once.
    fn dns_config(&mut self, path: &Path) -> Result<&UpdateConfig> {
        if self.dns.is_none() {
            self.dns = Some(UpdateConfig::load(path)?);
        }
        Ok(self.dns.as_ref().expect("loaded above"))
    }

    /// What the edited attribute holds now, and the entries as they were
    /// before the run (from the journal).
    fn directory_state(
        &mut self,
        server: &LiveServer,
        edit: &AttrEdit,
    ) -> Result<(Vec<String>, Vec<Entry>)> {
        let scratch = self.j.dir.clone();
        let text = self.writer(server)?.prior_ldif(&[edit.value_edit()])?;
        let now = parse_ldif(&text, &scratch)?;
        let prior = match self.j.read_file("directory-before.ldif")? {
            Some(bytes) => parse_ldif(&String::from_utf8_lossy(&bytes), &scratch)?,
            None => return Err(damaged(self.j, "directory-before.ldif is missing")),
        };
        Ok((values_in(&now, &edit.dn, &edit.attribute), prior))
    }

    fn step(&self, k: usize) -> &Step {
        &self.info.steps[k - 1]
    }

    fn backup_name(k: usize) -> (String, String) {
        (format!("backups/{k}.data"), format!("backups/{k}.json"))
    }

    fn read_backup(&self, k: usize) -> Result<Option<(BackupMeta, Vec<u8>)>> {
        let (data, meta) = Self::backup_name(k);
        let Some(raw) = self.j.read_file(&meta)? else {
            return Ok(None);
        };
        let meta: BackupMeta = serde_json::from_slice(&raw)
            .map_err(|e| damaged(self.j, &format!("backup {k} metadata does not read: {e}")))?;
        let bytes = self.j.read_file(&data)?.unwrap_or_default();
        if sha256(&bytes) != meta.sha256 {
            return Err(damaged(
                self.j,
                &format!(
                    "the backup of {} does not match its checksum",
                    meta.file.shown()
                ),
            ));
        }
        Ok(Some((meta, bytes)))
    }

    /// Takes the backup of step k's file as it is now; the metadata file
    /// is written last, so a backup without it does not exist.
    fn take_backup(&self, k: usize, file: &FileRef) -> Result<BackupMeta> {
        let (data, meta_name) = Self::backup_name(k);
        let real = file.real(self.root);
        let resolved = fsops::resolve(file.link_root(self.root), &real)
            .map_err(|e| Error::io("read", &real, e))?;
        let st =
            fsops::capture(&resolved.file).map_err(|e| Error::io("read", &resolved.file, e))?;
        let meta = BackupMeta {
            file: file.clone(),
            target: file.of_real(self.root, &resolved.file),
            link: resolved.link,
            uid: st.uid,
            gid: st.gid,
            mode: st.mode,
            size: st.bytes.len(),
            sha256: sha256(&st.bytes),
        };
        let _ = std::fs::remove_file(self.j.path(&meta_name));
        let json = serde_json::to_vec_pretty(&meta).expect("backup metadata serializes");
        for (name, bytes) in [(&data, &st.bytes), (&meta_name, &json)] {
            let p = self.j.path(name);
            fsops::replace_private(&p, bytes).map_err(|e| Error::io("write", &p, e))?;
        }
        Ok(meta)
    }

    /// Runs step k forward. `fresh`: the step has not begun, so the
    /// backup is taken (again) from the file as it is now.
    fn forward(&mut self, k: usize, fresh: bool) -> Result<()> {
        let n = self.info.steps.len();
        let step = self.step(k).clone();
        (self.report)(&format!("[{k}/{n}] {}", step.describe()));
        if let Step::Dns { config, change } = &step {
            self.j.log(&Event::Begin(k))?;
            crate::dns::update::apply(self.dns_config(config)?, change)?;
            crash::point(crash::BEFORE_DONE, k);
            self.j.log(&Event::Done(k, None))?;
            crash::point(crash::AFTER_STEP, k);
            return Ok(());
        }
        if let Step::Directory { server, edit, .. } = &step {
            self.j.log(&Event::Begin(k))?;
            self.writer(server)?.apply(&[edit.value_edit()])?;
            crash::point(crash::BEFORE_DONE, k);
            self.j.log(&Event::Done(k, None))?;
            crash::point(crash::AFTER_STEP, k);
            return Ok(());
        }
        match step.file() {
            Some(file) => {
                let meta = match (fresh, self.read_backup(k)?) {
                    (false, Some((m, _))) => m,
                    _ => self.take_backup(k, file)?,
                };
                self.j.log(&Event::Begin(k))?;
                let target = meta.target.real(self.root);
                let st = fsops::FileState {
                    bytes: Vec::new(),
                    uid: meta.uid,
                    gid: meta.gid,
                    mode: meta.mode,
                };
                match &step {
                    Step::Ldif { edits, .. } => LdifFile {
                        real: target.clone(),
                        shown: file.shown(),
                        state: &st,
                    }
                    .apply(&value_edits(edits))?,
                    _ => {
                        let current =
                            std::fs::read(&target).map_err(|e| Error::io("read", &target, e))?;
                        let new = step.transform(&current)?;
                        fsops::write_atomic(&target, &new, meta.uid, meta.gid, meta.mode).map_err(
                            |e| {
                                Error::other(
                                    format!("{}: {}", file.shown(), write_problem(&e)),
                                    "nothing of this file was changed",
                                )
                            },
                        )?;
                    }
                }
                let written = std::fs::read(&target).map_err(|e| Error::io("read", &target, e))?;
                crash::point(crash::BEFORE_DONE, k);
                self.j.log(&Event::Done(k, Some(sha256(&written))))?;
            }
            None => {
                self.j.log(&Event::Begin(k))?;
                self.run_service(k, false)?;
                crash::point(crash::BEFORE_DONE, k);
                self.j.log(&Event::Done(k, None))?;
            }
        }
        crash::point(crash::AFTER_STEP, k);
        Ok(())
    }

    /// Runs service step k's command, or, when `undoing` and the step
    /// has one, the command that undoes it.
    fn run_service(&self, k: usize, undoing: bool) -> Result<()> {
        let Step::Service {
            service,
            action,
            command,
            undo,
            hold,
            ..
        } = self.step(k)
        else {
            return Ok(());
        };
        let command = match undo {
            Some(u) if undoing => u,
            _ => command,
        };
        let log = self.j.path("services.log");
        // Released when the command is done, whatever its outcome.
        let _held = crate::window::hold::begin(hold, &log);
        crate::services::run(
            command,
            Duration::from_secs(self.info.timeout),
            &log,
            &[
                ("ZMREIP_RUN_ID", &self.j.id),
                ("ZMREIP_PHASE", self.phase),
                ("ZMREIP_SERVICE", service.as_str()),
                ("ZMREIP_ACTION", action.as_str()),
            ],
        )
    }

    /// Undoes step k: a file back as its backup recorded it, a directory
    /// attribute back to its prior values. Returns whether anything had
    /// to change.
    fn undo(&mut self, k: usize) -> Result<bool> {
        if let Step::Dns { config, change } = self.step(k).clone() {
            let cfg = self.dns_config(&config)?;
            if rrset_live(cfg, &change)? == rrset_of(&change.before)? {
                return Ok(false);
            }
            crate::dns::update::rollback(cfg, &change)?;
            return Ok(true);
        }
        if let Step::Directory { server, edit, .. } = self.step(k).clone() {
            let (now, prior) = self.directory_state(&server, &edit)?;
            let was = values_in(&prior, &edit.dn, &edit.attribute);
            if same_set(&now, &was) {
                return Ok(false);
            }
            let back = rollback_edits(&prior, &[edit.value_edit()]);
            self.writer(&server)?.apply(&back)?;
            return Ok(true);
        }
        self.undo_file(k)
    }

    fn undo_file(&self, k: usize) -> Result<bool> {
        let Some((meta, bytes)) = self.read_backup(k)? else {
            // The backup comes before `begin`: no backup, no write.
            return Ok(false);
        };
        let mut changed = false;
        if let Some(link) = &meta.link {
            let path = meta.file.real(self.root);
            if std::fs::read_link(&path).ok().as_ref() != Some(link) {
                fsops::set_symlink(&path, link)
                    .map_err(|e| Error::io("restore the symlink", &path, e))?;
                changed = true;
            }
        }
        let target = meta.target.real(self.root);
        let same = fsops::capture(&target).is_ok_and(|st| {
            st.bytes == bytes && st.uid == meta.uid && st.gid == meta.gid && st.mode == meta.mode
        });
        if !same {
            fsops::write_atomic(&target, &bytes, meta.uid, meta.gid, meta.mode).map_err(|e| {
                Error::other(
                    format!(
                        "cannot restore {}: {}",
                        meta.target.shown(),
                        write_problem(&e)
                    ),
                    format!(
                        "its backup is {}",
                        self.j.path(&format!("backups/{k}.data")).display()
                    ),
                )
            })?;
            changed = true;
        }
        Ok(changed)
    }
}

/// Applies a prepared plan as a new run. On a failing step, rolls back
/// (unless the plan's options say not to) and returns the error.
pub fn apply(p: &Prepared, opts: &super::Options, report: &mut dyn FnMut(&str)) -> Result<Outcome> {
    let root = opts.root.as_path();
    let _lock = journal::lock(root, &journal::RUNS)?;
    let j = Journal::create(root, &journal::RUNS)?;
    let info = RunInfo {
        id: j.id.clone(),
        created: journal::rfc3339(journal::now()),
        version: env!("CARGO_PKG_VERSION").to_string(),
        zimbra_home: p.zimbra_home.clone(),
        from: p.plan.from.clone(),
        to: p.plan.to.clone(),
        bind: p
            .plan
            .bind
            .is_some()
            .then(|| crate::plan::render::title(&p.plan)),
        changes: p.plan.changes.len(),
        no_rollback: opts.no_rollback,
        timeout: p.timeout,
        steps: p.steps.clone(),
        manual: p.manual.clone(),
    };
    j.create_file("plan.json", p.plan_json.as_bytes())?;
    if let Some(t) = &p.services_text {
        j.create_file("services.toml", t.as_bytes())?;
    }
    let mut dir_edits = Vec::new();
    for s in &p.steps {
        match s {
            Step::Ldif { edits, .. } => {
                j.create_file("directory-before.ldif", prior_ldif(edits).as_bytes())?;
                dir_edits.extend(value_edits(edits));
            }
            Step::Directory { edit, .. } => dir_edits.push(edit.value_edit()),
            _ => {}
        }
    }
    if let Some(prior) = &p.directory_prior {
        j.create_file("directory-before.ldif", prior.as_bytes())?;
    }
    if !dir_edits.is_empty() {
        let records = crate::directory::ldif::change_records(&dir_edits);
        j.create_file("changes.ldif", records.as_bytes())?;
    }
    j.set_state(State::Running)?;
    let json = serde_json::to_vec_pretty(&info).expect("run info serializes");
    j.create_file("run.json", &json)?;
    report(&format!("run {} ({})", j.id, j.dir.display()));
    let mut ex = Exec {
        j: &j,
        root,
        info: &info,
        phase: "apply",
        report,
        ldap: None,
        dns: None,
    };
    for k in 1..=info.steps.len() {
        if !selects(&opts.only, ex.step(k)) {
            continue;
        }
        if let Err(e) = ex.forward(k, true) {
            return Err(failed(&mut ex, k, e));
        }
    }
    if let Some(out) = waiting(&j, &info, &opts.only)? {
        return Ok(out);
    }
    let verified = match &opts.verify {
        Some(req) => verify_after(&mut ex, req, opts.no_restart)?,
        // verify proves a move (the new address serves, the old one is
        // gone); a bind moves nothing.
        None if p.plan.bind.is_some() => vec![
            "not verified: `zmreip verify` checks a move; check a bind's listeners with `ss -ltn` and a sent message's Received header".to_string(),
        ],
        None => Vec::new(),
    };
    let mut out = finish(&j, &info)?;
    out.lines.splice(1..1, verified);
    if !p.plan.handoffs.is_empty() {
        out.lines.push("still to do off this host:".into());
        out.lines.extend(
            p.plan
                .handoffs
                .iter()
                .map(|h| format!("    [{}] {}", h.code, h.message)),
        );
    }
    Ok(out)
}

/// A step failed: journal it, roll back unless told not to, and say what
/// happened.
fn failed(ex: &mut Exec, k: usize, e: Error) -> Error {
    let desc = ex.step(k).describe();
    let n = ex.info.steps.len();
    let _ = ex.j.log(&Event::Fail(k, e.to_string()));
    let head = format!("step {k} of {n} ({desc}) failed: {e}");
    (ex.report)(&format!("step {k} failed; rolling back"));
    roll_back_after(ex, head)
}

/// Verifies the host once every step is done (DESIGN.md: a failed check
/// rolls the run back unless told not to). Returns lines for the outcome.
/// Skipped, with the command to run later, when the services were not
/// restarted or no new address is up on this host yet (the admin brings
/// it up after apply).
fn verify_after(
    ex: &mut Exec,
    req: &crate::verify::VerifyRequest,
    no_restart: bool,
) -> Result<Vec<String>> {
    let later = crate::verify::command_line(req);
    if no_restart {
        return Ok(vec![format!(
            "not verified: the services were not restarted; once they are, run `{later}`"
        )]);
    }
    if !req.new.iter().any(|a| crate::verify::is_local(a.addr)) {
        let new: Vec<String> = req.new.iter().map(|a| a.addr.to_string()).collect();
        return Ok(vec![format!(
            "not verified: {} is not up on this host yet; once it is, run `{later}`",
            new.join(", ")
        )]);
    }
    (ex.report)("verifying the host on the new address");
    let report = crate::verify::run(req);
    let _ =
        ex.j.create_file("verify.json", crate::verify::json(&report).as_bytes());
    if !report.failed() {
        use crate::verify::Status;
        return Ok(vec![format!(
            "verified: {} checks passed, {} skipped (`{later}` runs them again)",
            report.count(Status::Pass),
            report.count(Status::Skip)
        )]);
    }
    let n = ex.info.steps.len();
    let ids: Vec<&str> = report.failures().map(|c| c.id.as_str()).collect();
    let _ = ex.j.log(&Event::Fail(
        n,
        format!("verify failed: {}", ids.join(", ")),
    ));
    let mut head = format!("verify failed after all {n} steps: {}", ids.join(", "));
    for c in report.failures() {
        head.push_str(&format!("\n    {}: {}", c.id, c.summary));
        for e in crate::verify::rescan::capped(c.evidence.clone())
            .iter()
            .take(6)
        {
            head.push_str(&format!("\n        {e}"));
        }
    }
    (ex.report)("verify failed; rolling back");
    Err(roll_back_after(ex, head))
}

/// After a failure described by `head`: roll back unless told not to, and
/// say what happened.
fn roll_back_after(ex: &mut Exec, head: String) -> Error {
    let id = ex.j.id.clone();
    if ex.info.no_rollback {
        let _ = ex.j.set_state(State::Failed);
        return Error::other(
            format!("{head}\nnothing was rolled back (--no-rollback)"),
            format!(
                "fix the cause, then `zmreip resume {id}` to finish or `zmreip rollback {id}` to undo"
            ),
        );
    }
    ex.phase = "rollback";
    // The service steps may have restarted the directory server: the
    // connection apply opened is gone, so undoing connects afresh.
    ex.ldap = None;
    match undo_all(ex, true, &[]) {
        Ok(lines) => Error::other(
            format!("{head}\nrolled back: {}", lines.join("; ")),
            format!(
                "the host is as before; the journal is {}",
                ex.j.dir.display()
            ),
        ),
        Err(e2) => Error::other(
            format!("{head}\nthe rollback failed too: {e2}"),
            format!("fix that, then run `zmreip rollback {id}` again"),
        ),
    }
}

fn finish(j: &Journal, info: &RunInfo) -> Result<Outcome> {
    j.set_state(State::Applied)?;
    let mut lines = vec![format!(
        "applied run {}: {} change(s) in {} step(s)",
        j.id,
        info.changes,
        info.steps.len()
    )];
    lines.extend(super::manual_lines(&info.manual, "to finish, run"));
    lines.push(format!("undo with `zmreip rollback {}`", j.id));
    Ok(Outcome {
        run_id: j.id.clone(),
        state: State::Applied,
        changed: true,
        lines,
    })
}

/// Undoes every begun file step (last first) and re-runs the service
/// steps that had begun, of the parts `only` names (all when empty);
/// service steps this rollback re-ran already are not run again. `force`
/// skips the check that files are still as the run left them.
fn undo_all(ex: &mut Exec, force: bool, only: &[Part]) -> Result<Vec<String>> {
    let prog = Progress::read(ex.j)?;
    let undoable: Vec<usize> = prog
        .begun
        .iter()
        .copied()
        .filter(|k| !ex.step(*k).is_service() && selects(only, ex.step(*k)))
        .collect();
    if !force {
        let mut problems = Vec::new();
        for &k in &undoable {
            if let Some(p) = changed_since(ex, k, &prog)? {
                problems.push(format!("  {p}"));
            }
        }
        if !problems.is_empty() {
            return Err(Error::other(
                format!(
                    "these changed after run {} wrote them; restoring would lose those edits:\n{}",
                    ex.j.id,
                    problems.join("\n")
                ),
                "look at them first; `zmreip rollback --force` restores the files anyway (directory values are never forced)",
            ));
        }
    }
    ex.j.set_state(State::RollingBack)?;
    ex.j.log(&Event::Rollback)?;
    let mut undone = 0;
    for &k in undoable.iter().rev() {
        ex.j.log(&Event::Undo(k))?;
        if ex.undo(k)? {
            undone += 1;
            let msg = format!("undone: {}", ex.step(k).describe());
            (ex.report)(&msg);
        }
        ex.j.log(&Event::Undone(k))?;
        crash::point(crash::AFTER_UNDO, k);
    }
    let mut lines = Vec::new();
    if !undoable.is_empty() || only.is_empty() {
        lines.push(format!("{undone} step(s) undone"));
    }
    // Services start again in their start order, the network first: a
    // window's close removes the old address last, and its rollback must
    // bring it back before anything binds it.
    let mut services: Vec<usize> = prog
        .begun
        .iter()
        .copied()
        .filter(|k| ex.step(*k).is_service() && selects(only, ex.step(*k)))
        .filter(|k| !prog.rerun.contains(k))
        .collect();
    services.sort_by_key(|k| match ex.step(*k) {
        Step::Service { service, .. } => (*service, *k),
        _ => (Service::All, *k),
    });
    let mut rerun = Vec::new();
    for k in services {
        let msg = match ex.step(k) {
            Step::Service {
                undo: Some(u),
                service,
                ..
            } => format!("undo {}: {u}", service.as_str()),
            s => format!("re-run {}", s.describe()),
        };
        (ex.report)(&msg);
        ex.j.log(&Event::Rerun(k))?;
        ex.run_service(k, true).map_err(|e| {
            Error::other(
                format!("files restored, but re-running a service failed: {e}"),
                format!("fix it, then `zmreip rollback {}` again", ex.j.id),
            )
        })?;
        ex.j.log(&Event::RerunDone(k))?;
        if let Step::Service {
            service, action, ..
        } = ex.step(k)
        {
            rerun.push(format!("{} {}", service.as_str(), action.as_str()));
        }
    }
    if !rerun.is_empty() {
        lines.push(format!("re-ran {}", rerun.join(", ")));
    }
    if only.is_empty() {
        ex.j.set_state(State::RolledBack)?;
    }
    Ok(lines)
}

/// For a done step: what changed since the run wrote it (a file whose
/// content is neither the run's nor the backup's, an attribute holding
/// neither the plan's values nor the prior ones), named for people.
fn changed_since(ex: &mut Exec, k: usize, prog: &Progress) -> Result<Option<String>> {
    let Some(hash) = prog.done.get(&k) else {
        return Ok(None);
    };
    if let Step::Dns { config, change } = ex.step(k).clone() {
        let cfg = ex.dns_config(&config)?;
        let now = rrset_live(cfg, &change)?;
        let moved = now != rrset_of(&change.after)? && now != rrset_of(&change.before)?;
        return Ok(moved.then(|| change.target.to_string()));
    }
    if let Step::Directory { server, edit, .. } = ex.step(k).clone() {
        let (now, prior) = ex.directory_state(&server, &edit)?;
        let was = values_in(&prior, &edit.dn, &edit.attribute);
        let moved = !same_set(&now, &edit.after) && !same_set(&now, &was);
        return Ok(moved.then(|| format!("{} {}", edit.dn, edit.attribute)));
    }
    let Some((meta, _)) = ex.read_backup(k)? else {
        return Ok(None);
    };
    let now = std::fs::read(meta.target.real(ex.root))
        .map(|b| sha256(&b))
        .unwrap_or_default();
    Ok((now != *hash && now != meta.sha256).then(|| meta.file.shown()))
}

/// Rolls back run `id` (the latest when `None`). Idempotent: a run
/// already rolled back is left as it is.
/// With `only`, undoes and re-runs only those parts and leaves the run
/// rolling back: a multi-server rollback goes part by part, and a plain
/// rollback finishes it.
pub fn rollback(
    root: &Path,
    id: Option<&str>,
    force: bool,
    only: &[Part],
    report: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    let _lock = journal::lock(root, &journal::RUNS)?;
    let j = Journal::open(root, &journal::RUNS, id)?;
    let info = read_info(&j)?;
    if j.state()? == State::RolledBack {
        return Ok(Outcome {
            run_id: j.id.clone(),
            state: State::RolledBack,
            changed: false,
            lines: vec![format!(
                "run {} is already rolled back; nothing to do",
                j.id
            )],
        });
    }
    let mut ex = Exec {
        j: &j,
        root,
        info: &info,
        phase: "rollback",
        report,
        ldap: None,
        dns: None,
    };
    if !only.is_empty() {
        let parts: Vec<String> = only.iter().map(Part::to_string).collect();
        let mut lines = vec![format!("run {}: rolled back {}", j.id, parts.join(", "))];
        lines.extend(undo_all(&mut ex, force, only)?);
        return Ok(Outcome {
            run_id: j.id.clone(),
            state: State::RollingBack,
            changed: true,
            lines,
        });
    }
    let mut lines = vec![format!("rolled back run {}", j.id)];
    lines.extend(undo_all(&mut ex, force, &[])?);
    lines.extend(super::manual_lines(
        &info.manual,
        "if you ran these by hand, run them again now",
    ));
    Ok(Outcome {
        run_id: j.id.clone(),
        state: State::RolledBack,
        changed: true,
        lines,
    })
}

/// Finishes run `id` (the latest when `None`) that stopped half-way:
/// a step that began and did not finish is undone and done again, steps
/// not begun are done. Idempotent: an applied run is left as it is.
/// With `only`, does so for those parts and leaves the run waiting for
/// the others.
pub fn resume(
    root: &Path,
    id: Option<&str>,
    only: &[Part],
    report: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    let _lock = journal::lock(root, &journal::RUNS)?;
    let j = Journal::open(root, &journal::RUNS, id)?;
    let info = read_info(&j)?;
    match j.state()? {
        State::Applied => {
            return Ok(Outcome {
                run_id: j.id.clone(),
                state: State::Applied,
                changed: false,
                lines: vec![format!("run {} is already applied; nothing to do", j.id)],
            });
        }
        State::RollingBack | State::RolledBack => {
            return Err(Error::usage(
                format!(
                    "run {} was rolled back (or a rollback of it began); it cannot be resumed",
                    j.id
                ),
                format!(
                    "finish the rollback with `zmreip rollback {}`, then apply again",
                    j.id
                ),
            ));
        }
        State::Running | State::Failed => {}
    }
    let prog = Progress::read(&j)?;
    j.log(&Event::Resume)?;
    j.set_state(State::Running)?;
    let mut ex = Exec {
        j: &j,
        root,
        info: &info,
        phase: "resume",
        report,
        ldap: None,
        dns: None,
    };
    for k in 1..=info.steps.len() {
        if prog.done.contains_key(&k) || !selects(only, ex.step(k)) {
            continue;
        }
        let begun = prog.begun.contains(&k);
        let r = if begun && !ex.step(k).is_service() {
            ex.undo(k).and_then(|_| ex.forward(k, false))
        } else {
            ex.forward(k, true)
        };
        if let Err(e) = r {
            return Err(failed(&mut ex, k, e));
        }
    }
    if let Some(out) = waiting(&j, &info, only)? {
        return Ok(out);
    }
    let mut out = finish(&j, &info)?;
    out.lines[0] = format!("resumed and {}", out.lines[0]);
    Ok(out)
}

/// Writes the line of `command` (`apply`, `rollback`, `resume`) on run
/// `id` to the system log ([`crate::audit`]), from what the run's journal
/// says now. `failed`: the command failed.
pub fn audit(command: &'static str, root: &Path, id: &str, failed: bool) {
    let Ok(j) = Journal::open(root, &journal::RUNS, Some(id)) else {
        return;
    };
    let Ok(info) = read_info(&j) else {
        return;
    };
    let done = Progress::read(&j).map_or(0, |p| p.done.len());
    let state = j.state().map_or("unknown", State::as_str);
    crate::audit::record(&crate::audit::Entry {
        command,
        run: id,
        from: &info.from,
        to: &info.to,
        changes: info.changes,
        steps: (done, info.steps.len()),
        result: state,
        failed,
    });
}
