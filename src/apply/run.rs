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

use base64::prelude::{BASE64_STANDARD, Engine as _};

use super::drift::{rrset_live, rrset_of, write_problem};
use super::fsops::Roots;
use super::journal::{self, Event, Journal, State};
use super::ldif::{LdifFile, parse_ldif, prior_ldif, value_edits, values_in};
use super::step::{AttrEdit, FileRef, LiveServer, Step};
use super::{Outcome, Part, Prepared, RunInfo, selects};
use super::{crash, fsops};
use crate::directory::DirectoryWriter;
use crate::directory::ldap::{LdapWriter, Overrides, Settings};
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
    /// The extended attributes (ACLs, SELinux label, user attributes):
    /// name and base64 value. Absent in journals of zmreip before 0.1
    /// kept them: a restore then keeps the file's current ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    xattrs: Option<Vec<(String, String)>>,
    size: usize,
    sha256: String,
}

impl BackupMeta {
    /// Owner, mode and extended attributes to put back.
    fn owner(&self) -> fsops::Owner {
        fsops::Owner {
            uid: self.uid,
            gid: self.gid,
            mode: self.mode,
            xattrs: self.xattrs.as_ref().map(|x| {
                x.iter()
                    .filter_map(|(n, v)| Some((n.clone(), BASE64_STANDARD.decode(v).ok()?)))
                    .collect()
            }),
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    let mut s = String::from("sha256:");
    for b in Sha256::digest(bytes).iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
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
    /// Steps whose last attempt failed (and was not begun again since).
    failed: BTreeSet<usize>,
}

impl Progress {
    fn read(j: &Journal) -> Result<Progress> {
        let mut p = Progress {
            begun: BTreeSet::new(),
            done: BTreeMap::new(),
            rerun: BTreeSet::new(),
            failed: BTreeSet::new(),
        };
        for e in j.events()? {
            match e {
                Event::Begin(k) => {
                    p.begun.insert(k);
                    p.rerun.clear();
                    p.failed.remove(&k);
                }
                Event::Done(k, h) => {
                    p.done.insert(k, h.unwrap_or_default());
                    p.failed.remove(&k);
                }
                Event::Fail(k, _) => {
                    p.failed.insert(k);
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

/// What `rollback` and `resume` are told on their command line besides
/// the run. A journal under a `--root` that is not this machine's `/` (a
/// copied snapshot) is data, never instructions (DESIGN principle 10):
/// none of its commands is run unless `--services` maps them, no file of
/// this machine it names is written unless `--ldif` names it too, and
/// no password file or DNS key it names is read.
#[derive(Debug, Clone, Default)]
pub struct Again {
    pub root: PathBuf,
    /// The run (the latest when `None`).
    pub id: Option<String>,
    /// `--services`: the commands of the service actions.
    pub services: Option<PathBuf>,
    /// `--ldap-url`, `--bind-dn`, `--bind-password-file`: how to reach the
    /// directory when what the run recorded is gone (or not trusted).
    pub ldap: Overrides,
    /// `--ldif`: the LDIF export the run changed.
    pub ldif: Option<PathBuf>,
    /// `--dns-config`: the servers and keys of the zones it updated.
    pub dns_config: Option<PathBuf>,
    /// `--only`: these parts only.
    pub only: Vec<Part>,
    /// `rollback --force`.
    pub force: bool,
}

/// How far a run's own journal is believed.
struct Trust {
    /// The root is this machine's own `/`: its journal was written by
    /// zmreip as root in a directory only root can write.
    own: bool,
    /// The commands to run for service steps instead of the journal's,
    /// when `--services` is given.
    commands: Option<crate::services::Controller>,
    ldap: Overrides,
    ldif: Option<PathBuf>,
    dns_config: Option<PathBuf>,
    root: PathBuf,
}

impl Trust {
    /// For a run `apply` makes now: every step comes from this command
    /// line.
    fn of_apply(opts: &super::Options) -> Trust {
        Trust {
            own: true,
            commands: None,
            ldap: Overrides::default(),
            ldif: None,
            dns_config: None,
            root: opts.root.clone(),
        }
    }

    /// For `rollback` and `resume` of a recorded run.
    fn of_again(a: &Again, info: &RunInfo, host: &Host) -> Result<Trust> {
        let commands = match &a.services {
            Some(p) => {
                let text = crate::host::read_local("--services", p)?;
                Some(crate::services::Controller::new(&info.zimbra_home).load(p, &text)?)
            }
            None => None,
        };
        Ok(Trust {
            own: host.is_system_root(),
            commands,
            ldap: a.ldap.clone(),
            ldif: a.ldif.clone(),
            dns_config: a.dns_config.clone(),
            root: a.root.clone(),
        })
    }

    /// Why this run cannot be undone or finished from a journal that is
    /// not trusted, before anything is done: a file of this machine
    /// outside the root that `--ldif` does not name.
    fn check(&self, info: &RunInfo) -> Result<()> {
        if self.own {
            return Ok(());
        }
        for s in &info.steps {
            let Some(super::step::FileRef::Local(p)) = s.file() else {
                continue;
            };
            let same = self.ldif.as_ref().is_some_and(|given| {
                match (std::fs::canonicalize(given), std::fs::canonicalize(p)) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => false,
                }
            });
            if !same {
                return Err(Error::usage(
                    format!(
                        "the run changed `{}`, a file outside --root {}, and a journal under a root other than / is not trusted to name files of this machine",
                        p.display(),
                        self.root.display()
                    ),
                    format!(
                        "give --ldif {} if that is the export the run changed",
                        p.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Why step `step` is not run here, and the command to run by hand.
    fn manual(&self, step: &Step) -> Option<(String, Option<crate::services::Cmd>)> {
        let Step::Service {
            service,
            action,
            command,
            ..
        } = step
        else {
            return None;
        };
        match &self.commands {
            Some(ctl) => match ctl.command(*service, *action) {
                Some(_) => None,
                None => Some((
                    "--services maps no command for it".into(),
                    Some(command.clone()),
                )),
            },
            None if self.own => None,
            None => Some((
                format!(
                    "--root {} is not this host's /, so the commands in its journal are not run; --services FILE runs them",
                    self.root.display()
                ),
                Some(command.clone()),
            )),
        }
    }

    /// The command of a service step: `--services`'s when given, else the
    /// journal's.
    fn command(&self, step: &Step) -> Option<crate::services::Cmd> {
        let Step::Service {
            service,
            action,
            command,
            ..
        } = step
        else {
            return None;
        };
        match &self.commands {
            Some(ctl) => ctl.command(*service, *action),
            None => Some(command.clone()),
        }
    }

    /// How to reach the directory a step changed: the command line's
    /// options first, else what the run recorded (its password file only
    /// when the journal is trusted).
    fn server(&self, server: &LiveServer) -> Overrides {
        Overrides {
            urls: if self.ldap.urls.is_empty() {
                server.urls.clone()
            } else {
                self.ldap.urls.clone()
            },
            bind_dn: self
                .ldap
                .bind_dn
                .clone()
                .or_else(|| Some(server.bind_dn.clone())),
            password_file: self
                .ldap
                .password_file
                .clone()
                .or_else(|| server.password_file.clone().filter(|_| self.own)),
            deep: false,
        }
    }

    /// The `--dns-config` of a DNS step.
    fn dns_config(&self, recorded: &Path) -> Result<PathBuf> {
        match &self.dns_config {
            Some(p) => Ok(p.clone()),
            None if self.own => Ok(recorded.to_path_buf()),
            None => Err(Error::usage(
                format!(
                    "the run updated DNS zones held elsewhere with `{}`; a journal under a root other than / is not trusted to name it",
                    recorded.display()
                ),
                "give --dns-config FILE (the servers and keys to use)",
            )),
        }
    }
}

/// Carries out steps of one run.
struct Exec<'a> {
    j: &'a Journal,
    roots: &'a Roots,
    info: &'a RunInfo,
    trust: Trust,
    phase: &'static str,
    report: &'a mut dyn FnMut(&str),
    /// The live directory, connected on first use.
    ldap: Option<LdapWriter>,
    /// The RFC 2136 configuration, read on first use.
    dns: Option<UpdateConfig>,
    /// What the outcome says besides (actions left to the admin, copies
    /// kept).
    notes: Vec<String>,
}

impl Exec<'_> {
    /// The live directory writer, connecting as the run's server says
    /// (or the command line's options) with the password from the file
    /// or localconfig.
    fn writer(&mut self, server: &LiveServer) -> Result<&mut LdapWriter> {
        if self.ldap.is_none() {
            let host = Host::open(&self.trust.root, Some(&self.info.zimbra_home))?;
            let settings =
                Settings::resolve(&host, &self.trust.server(server))?.ok_or_else(|| {
                    Error::other(
                        "cannot reach the directory this run changed",
                        "give --ldap-url, --bind-dn and --bind-password-file",
                    )
                })?;
            self.ldap = Some(LdapWriter::open(&settings)?);
        }
        Ok(self.ldap.as_mut().expect("connected above"))
    }

    /// The DNS update configuration (servers and keys), read once.
    fn dns_config(&mut self, recorded: &Path) -> Result<&UpdateConfig> {
        if self.dns.is_none() {
            let path = self.trust.dns_config(recorded)?;
            self.dns = Some(UpdateConfig::load(&path)?);
        }
        Ok(self.dns.as_ref().expect("loaded above"))
    }

    /// What the edited attribute holds now.
    fn directory_now(&mut self, server: &LiveServer, edit: &AttrEdit) -> Result<Vec<String>> {
        let text = self.writer(server)?.prior_ldif(&[edit.value_edit()])?;
        let now = parse_ldif(&text, "the directory")?;
        Ok(values_in(&now, &edit.dn, &edit.attribute))
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
        let (root, path) = file.place(self.roots);
        let resolved =
            fsops::resolve(root, &path).map_err(|e| crate::host::read_error(&file.shown(), e))?;
        let st = fsops::capture(root, &resolved.file)
            .map_err(|e| crate::host::read_error(&resolved.file, e))?;
        let meta = BackupMeta {
            file: file.clone(),
            target: file.with_path(&resolved.file),
            link: resolved.link,
            uid: st.owner.uid,
            gid: st.owner.gid,
            mode: st.owner.mode,
            xattrs: st.owner.xattrs.as_ref().map(|x| {
                x.iter()
                    .map(|(n, v)| (n.clone(), BASE64_STANDARD.encode(v)))
                    .collect()
            }),
            size: st.bytes.len(),
            sha256: sha256(&st.bytes),
        };
        self.j.remove_file(&meta_name)?;
        let json = serde_json::to_vec_pretty(&meta).expect("backup metadata serializes");
        self.j.replace_file(&data, &st.bytes)?;
        self.j.replace_file(&meta_name, &json)?;
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
            crash::pause(crash::BEFORE_WRITE, k);
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
                crash::pause(crash::BEFORE_WRITE, k);
                let (root, target) = meta.target.place(self.roots);
                let owner = meta.owner();
                let shown = file.shown();
                match &step {
                    Step::Ldif { edits, .. } => LdifFile {
                        root,
                        file: target.clone(),
                        shown: shown.clone(),
                        owner: &owner,
                    }
                    .apply(&value_edits(edits))?,
                    _ => {
                        let current = fsops::capture(root, &target)
                            .map_err(|e| crate::host::read_error(&shown, e))?;
                        let new = step.transform(&current.bytes)?;
                        fsops::write_atomic(root, &target, &new, &owner).map_err(|e| {
                            Error::other(
                                format!("{shown}: {}", write_problem(&e)),
                                "nothing of this file was changed",
                            )
                        })?;
                    }
                }
                let written = fsops::capture(root, &target)
                    .map_err(|e| crate::host::read_error(&shown, e))?;
                crash::point(crash::BEFORE_DONE, k);
                self.j.log(&Event::Done(k, Some(sha256(&written.bytes))))?;
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
    /// has one, the command that undoes it; when it is not run here,
    /// notes the command to run by hand.
    fn run_service(&mut self, k: usize, undoing: bool) -> Result<()> {
        let step = self.step(k).clone();
        let Step::Service {
            service,
            action,
            undo,
            hold,
            ..
        } = &step
        else {
            return Ok(());
        };
        let command = match undo {
            // An undo command (a window's runtime address) is the
            // journal's own; --services has no name for it.
            Some(u) if undoing => {
                if !self.trust.own {
                    self.notes.push(format!(
                        "not run (--root {} is not this host's /, so the commands in its journal are not run); run by hand: {u}",
                        self.trust.root.display()
                    ));
                    return Ok(());
                }
                u.clone()
            }
            _ => {
                if let Some((why, cmd)) = self.trust.manual(&step) {
                    let cmd = cmd.map(|c| c.to_string()).unwrap_or_default();
                    self.notes
                        .push(format!("not run ({why}); run by hand: {cmd}"));
                    return Ok(());
                }
                let Some(command) = self.trust.command(&step) else {
                    return Ok(());
                };
                command
            }
        };
        let log_path = self.j.path("services.log");
        // Ports held on this machine's firewall only for its own journal.
        let hold: &[u16] = if self.trust.own { hold } else { &[] };
        // Released when the command is done, whatever its outcome.
        let _held = crate::window::hold::begin(hold, &log_path);
        let log = self.j.append("services.log")?;
        crate::services::run(
            &command,
            Duration::from_secs(self.info.timeout),
            (log, &log_path),
            &[
                ("ZMREIP_RUN_ID", &self.j.id),
                ("ZMREIP_PHASE", self.phase),
                ("ZMREIP_SERVICE", service.as_str()),
                ("ZMREIP_ACTION", action.as_str()),
            ],
        )
    }

    /// Undoes step k: a file back as its backup recorded it, a directory
    /// attribute's values back value by value (other values stay), a DNS
    /// RRset back to `before`. Returns whether anything had to change.
    /// `keep_later`: the content a file got after the run wrote it is
    /// kept in the journal first (`rollback --force`).
    fn undo(&mut self, k: usize, keep_later: Option<&str>) -> Result<bool> {
        if let Step::Dns { config, change } = self.step(k).clone() {
            let cfg = self.dns_config(&config)?;
            if rrset_live(cfg, &change)? == rrset_of(&change.before)? {
                return Ok(false);
            }
            crate::dns::update::rollback(cfg, &change)?;
            return Ok(true);
        }
        if let Step::Directory { server, edit, .. } = self.step(k).clone() {
            let now = self.directory_now(&server, &edit)?;
            let Some(back) = undo_edit(&edit, &now) else {
                return Ok(false);
            };
            self.writer(&server)?.apply(&[back])?;
            return Ok(true);
        }
        self.undo_file(k, keep_later)
    }

    fn undo_file(&mut self, k: usize, keep_later: Option<&str>) -> Result<bool> {
        let Some((meta, bytes)) = self.read_backup(k)? else {
            // The backup comes before `begin`: no backup, no write.
            return Ok(false);
        };
        let mut changed = false;
        if let Some(link) = &meta.link {
            let (root, path) = meta.file.place(self.roots);
            if root.read_link(&path).ok().flatten().as_ref() != Some(link) {
                fsops::set_symlink(root, &path, link)
                    .map_err(|e| Error::io("restore the symlink", root.shown(&path), e))?;
                changed = true;
            }
        }
        let (root, target) = meta.target.place(self.roots);
        let owner = meta.owner();
        if fsops::same_state(root, &target, &bytes, &owner) {
            return Ok(changed);
        }
        if let Some(written) = keep_later
            && let Ok(now) = fsops::capture(root, &target)
        {
            let hash = sha256(&now.bytes);
            if hash != written && hash != meta.sha256 {
                let name = format!("backups/{k}.later");
                self.j.replace_file(&name, &now.bytes)?;
                self.notes.push(format!(
                    "the content {} had after the run wrote it is kept in {}",
                    meta.target.shown(),
                    self.j.path(&name).display()
                ));
            }
        }
        fsops::write_atomic(root, &target, &bytes, &owner).map_err(|e| {
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
        Ok(true)
    }

    /// Removes the temporary files an interrupted zmreip left beside the
    /// run's files and in its journal.
    fn remove_stale_temps(&mut self) -> Result<()> {
        let mut removed = Vec::new();
        for k in 1..=self.info.steps.len() {
            let Some(file) = self.step(k).file().cloned() else {
                continue;
            };
            let mut paths = vec![file.clone()];
            if let Some((meta, _)) = self.read_backup(k)? {
                paths.push(meta.target);
            }
            for f in paths {
                let (root, path) = f.place(self.roots);
                if let Ok(r) = fsops::remove_stale_temps(root, &path) {
                    removed.extend(r);
                }
            }
        }
        removed.extend(self.j.remove_stale_temps()?);
        removed.sort();
        removed.dedup();
        for r in removed {
            self.notes
                .push(format!("removed {r}, left by an interrupted zmreip"));
        }
        Ok(())
    }
}

/// The value-level edit that undoes `edit` on an attribute holding `now`:
/// the values the run added that are there are deleted, the values it
/// removed that are missing are added back; every other value (another
/// admin's) stays. `None` when nothing of the run is there (it wrote
/// nothing, or it was undone already).
fn undo_edit(edit: &AttrEdit, now: &[String]) -> Option<crate::directory::ValueEdit> {
    let added: Vec<String> = edit
        .after
        .iter()
        .filter(|v| !edit.before.contains(v) && now.contains(v))
        .cloned()
        .collect();
    let removed: Vec<String> = edit
        .before
        .iter()
        .filter(|v| !edit.after.contains(v) && !now.contains(v))
        .cloned()
        .collect();
    if added.is_empty() && removed.is_empty() {
        return None;
    }
    Some(crate::directory::ValueEdit {
        dn: edit.dn.clone(),
        attribute: edit.attribute.clone(),
        before: added,
        after: removed,
    })
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
    let roots = Roots::open(root).map_err(|e| Error::io("open", root, e))?;
    let mut ex = Exec {
        j: &j,
        roots: &roots,
        info: &info,
        trust: Trust::of_apply(opts),
        phase: "apply",
        report,
        ldap: None,
        dns: None,
        notes: Vec::new(),
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
        for e in crate::verify::rescan::capped(c.evidence.clone(), 6) {
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

/// Undoes every begun write step (last first) and re-runs the service
/// steps that had begun, of the parts `only` names (all when empty);
/// service steps this rollback re-ran already are not run again. A
/// directory or DNS step that failed wrote nothing (each is one atomic
/// operation) and is not undone. `force` skips the check that what the
/// run wrote is still as it left it, and keeps a copy of each file's later
/// content in the journal.
fn undo_all(ex: &mut Exec, force: bool, only: &[Part]) -> Result<Vec<String>> {
    let prog = Progress::read(ex.j)?;
    let undoable: Vec<usize> = prog
        .begun
        .iter()
        .copied()
        .filter(|k| !ex.step(*k).is_service() && selects(only, ex.step(*k)))
        .filter(|k| !(prog.failed.contains(k) && ex.step(*k).file().is_none()))
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
                format!(
                    "look at them first; `zmreip rollback {} --force` restores them anyway and keeps each file's later content in the journal (directory values are undone value by value: other values stay)",
                    ex.j.id
                ),
            ));
        }
    }
    ex.j.set_state(State::RollingBack)?;
    ex.j.log(&Event::Rollback)?;
    let mut undone = 0;
    for &k in undoable.iter().rev() {
        ex.j.log(&Event::Undo(k))?;
        let keep = if force {
            prog.done.get(&k).map(String::as_str)
        } else {
            None
        };
        if ex.undo(k, keep)? {
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
        let before = ex.notes.len();
        let msg = match ex.step(k) {
            Step::Service {
                undo: Some(u),
                service,
                ..
            } if ex.trust.own => Some(format!("undo {}: {u}", service.as_str())),
            Step::Service { undo: Some(_), .. } => None,
            s if ex.trust.manual(s).is_none() => Some(format!("re-run {}", s.describe())),
            _ => None,
        };
        if let Some(msg) = msg {
            (ex.report)(&msg);
        }
        ex.j.log(&Event::Rerun(k))?;
        ex.run_service(k, true).map_err(|e| {
            Error::other(
                format!("files restored, but re-running a service failed: {e}"),
                format!("fix it, then `zmreip rollback {}` again", ex.j.id),
            )
        })?;
        ex.j.log(&Event::RerunDone(k))?;
        if ex.notes.len() == before
            && let Step::Service {
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
        // Value level, as the undo: only the values the run added and
        // removed count; others (another admin's) stay either way.
        let now = ex.directory_now(&server, &edit)?;
        let added = edit.after.iter().filter(|v| !edit.before.contains(v));
        let removed = edit.before.iter().filter(|v| !edit.after.contains(v));
        let applied =
            added.clone().all(|v| now.contains(v)) && !removed.clone().any(|v| now.contains(v));
        let undone =
            !added.clone().any(|v| now.contains(v)) && removed.clone().all(|v| now.contains(v));
        return Ok((!applied && !undone).then(|| format!("{} {}", edit.dn, edit.attribute)));
    }
    let Some((meta, _)) = ex.read_backup(k)? else {
        return Ok(None);
    };
    let (root, target) = meta.target.place(ex.roots);
    let now = fsops::capture(root, &target)
        .map(|st| sha256(&st.bytes))
        .unwrap_or_default();
    Ok((now != *hash && now != meta.sha256).then(|| meta.file.shown()))
}

/// Opens the run `again` names: the given one, or the latest run that
/// is not damaged (a damaged one, whose `run.json` does not read, never
/// began a step: it is skipped with a warning).
fn open_run(again: &Again) -> Result<(Journal, RunInfo, Vec<String>)> {
    if let Some(id) = &again.id {
        let j = Journal::open(&again.root, &journal::RUNS, Some(id))?;
        let info = read_info(&j)?;
        return Ok((j, info, Vec::new()));
    }
    let mut warnings = Vec::new();
    for id in journal::list(&again.root, &journal::RUNS)?.iter().rev() {
        let j = Journal::open(&again.root, &journal::RUNS, Some(id))?;
        match read_info(&j).and_then(|info| j.state().map(|_| info)) {
            Ok(info) => return Ok((j, info, warnings)),
            Err(e) => warnings.push(format!("warning: skipped damaged run {id}: {e}")),
        }
    }
    // Nothing readable: the usual error for no run at all.
    let j = Journal::open(&again.root, &journal::RUNS, None)?;
    let info = read_info(&j)?;
    Ok((j, info, warnings))
}

/// The executor of a recorded run, for `rollback` and `resume`.
fn exec_again<'a>(
    j: &'a Journal,
    info: &'a RunInfo,
    roots: &'a Roots,
    again: &Again,
    phase: &'static str,
    report: &'a mut dyn FnMut(&str),
) -> Result<Exec<'a>> {
    let host = Host::open(&again.root, Some(&info.zimbra_home))?;
    let trust = Trust::of_again(again, info, &host)?;
    trust.check(info)?;
    Ok(Exec {
        j,
        roots,
        info,
        trust,
        phase,
        report,
        ldap: None,
        dns: None,
        notes: Vec::new(),
    })
}

/// Rolls back the run `again` names (the latest when `None`).
/// Idempotent: a run already rolled back is left as it is.
/// With `only`, undoes and re-runs only those parts and leaves the run
/// rolling back: a multi-server rollback goes part by part, and a plain
/// rollback finishes it.
pub fn rollback(again: &Again, report: &mut dyn FnMut(&str)) -> Result<Outcome> {
    let _lock = journal::lock(&again.root, &journal::RUNS)?;
    let (j, info, warnings) = open_run(again)?;
    if j.state()? == State::RolledBack {
        let mut lines = warnings;
        lines.push(format!(
            "run {} is already rolled back; nothing to do",
            j.id
        ));
        return Ok(Outcome {
            run_id: j.id.clone(),
            state: State::RolledBack,
            changed: false,
            lines,
        });
    }
    let roots = Roots::open(&again.root).map_err(|e| Error::io("open", &again.root, e))?;
    let mut ex = exec_again(&j, &info, &roots, again, "rollback", report)?;
    ex.remove_stale_temps()?;
    let only = &again.only;
    let mut lines = warnings;
    if !only.is_empty() {
        let parts: Vec<String> = only.iter().map(Part::to_string).collect();
        lines.push(format!("run {}: rolled back {}", j.id, parts.join(", ")));
        lines.extend(undo_all(&mut ex, again.force, only)?);
        lines.append(&mut ex.notes);
        return Ok(Outcome {
            run_id: j.id.clone(),
            state: State::RollingBack,
            changed: true,
            lines,
        });
    }
    lines.push(format!("rolled back run {}", j.id));
    lines.extend(undo_all(&mut ex, again.force, &[])?);
    lines.append(&mut ex.notes);
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

/// Finishes the run `again` names (the latest when `None`) that stopped
/// half-way: a step that began and did not finish is undone and done
/// again, steps not begun are done. Idempotent: an applied run is left as
/// it is. With `only`, does so for those parts and leaves the run waiting
/// for the others.
pub fn resume(again: &Again, report: &mut dyn FnMut(&str)) -> Result<Outcome> {
    let _lock = journal::lock(&again.root, &journal::RUNS)?;
    let (j, info, warnings) = open_run(again)?;
    match j.state()? {
        State::Applied => {
            let mut lines = warnings;
            lines.push(format!("run {} is already applied; nothing to do", j.id));
            return Ok(Outcome {
                run_id: j.id.clone(),
                state: State::Applied,
                changed: false,
                lines,
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
    let roots = Roots::open(&again.root).map_err(|e| Error::io("open", &again.root, e))?;
    let only = &again.only;
    let mut ex = exec_again(&j, &info, &roots, again, "resume", report)?;
    ex.remove_stale_temps()?;
    let prog = Progress::read(&j)?;
    j.log(&Event::Resume)?;
    j.set_state(State::Running)?;
    for k in 1..=info.steps.len() {
        if prog.done.contains_key(&k) || !selects(only, ex.step(k)) {
            continue;
        }
        let begun = prog.begun.contains(&k);
        let r = if begun && !ex.step(k).is_service() {
            ex.undo(k, None).and_then(|_| ex.forward(k, false))
        } else {
            ex.forward(k, true)
        };
        if let Err(e) = r {
            return Err(failed(&mut ex, k, e));
        }
    }
    let notes = std::mem::take(&mut ex.notes);
    if let Some(mut out) = waiting(&j, &info, only)? {
        out.lines.splice(0..0, warnings);
        out.lines.extend(notes);
        return Ok(out);
    }
    let mut out = finish(&j, &info)?;
    out.lines[0] = format!("resumed and {}", out.lines[0]);
    out.lines.splice(0..0, warnings);
    out.lines.extend(notes);
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
