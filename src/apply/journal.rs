//! The journal of one run, under `<root>/var/lib/zmreip/runs/<run-id>/`
//! (mode 0700, every file 0600):
//!
//! | file | what |
//! |---|---|
//! | `plan.json` | the plan applied, as given |
//! | `run.json` | run id, time, options and the steps, written before the first step |
//! | `services.toml` | the `--services` file used, so rollback and resume run the same commands |
//! | `directory-before.ldif` | the directory values the plan changes, as they were |
//! | `changes.ldif` | the directory edits as `ldapmodify` change records |
//! | `backups/K.data`, `backups/K.json` | the file step K writes, before its first write: bytes; owner, mode, symlink |
//! | `log` | one event a line, appended and fsynced before and after every step |
//! | `state` | `running`, `applied`, `failed`, `rolling-back` or `rolled-back` |
//! | `services.log` | output of the service commands |
//!
//! Log events, one a line after the UTC time it was written
//! (`2026-11-28T12:34:56.789Z begin 3`): `begin K`, `done K
//! [sha256:HEX]`, `fail K MESSAGE`, `resume`, `rollback`, `undo K`,
//! `undone K`, `rerun K`, `rerun-done K`. Lines of journals written before
//! the time was added read as well. A crash can tear the last line; a
//! line without its newline is ignored.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::fsops;
use crate::confine::Root;
use crate::error::{Error, Result};

/// A kind of journaled run: where its runs live under the root, the file
/// that marks a run as recorded, and the lock that keeps two processes
/// from changing runs of this kind at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runs {
    pub dir: &'static str,
    pub marker: &'static str,
    pub lock: &'static str,
}

/// The runs of this host (`apply`, `rollback`, `resume`).
pub const RUNS: Runs = Runs {
    dir: "var/lib/zmreip/runs",
    marker: "run.json",
    lock: "var/lib/zmreip/lock",
};

/// The multi-server runs this host coordinated (`apply --cluster`): a
/// lock of their own, as a cluster run drives this host's own runs.
pub const CLUSTER_RUNS: Runs = Runs {
    dir: "var/lib/zmreip/cluster",
    marker: "cluster.json",
    lock: "var/lib/zmreip/cluster.lock",
};

/// The state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Steps are being applied, or the process stopped while applying.
    Running,
    Applied,
    /// A step failed and the run was left as it was (`--no-rollback`), or
    /// a rollback could not finish.
    Failed,
    /// A rollback started (and, if the state stays so, did not finish).
    RollingBack,
    RolledBack,
}

impl serde::Serialize for State {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Applied => "applied",
            State::Failed => "failed",
            State::RollingBack => "rolling-back",
            State::RolledBack => "rolled-back",
        }
    }

    fn parse(s: &str) -> Option<State> {
        [
            State::Running,
            State::Applied,
            State::Failed,
            State::RollingBack,
            State::RolledBack,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// One line of the step log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Begin(usize),
    /// With the SHA-256 of the written file, for file steps.
    Done(usize, Option<String>),
    Fail(usize, String),
    Resume,
    Rollback,
    Undo(usize),
    Undone(usize),
    Rerun(usize),
    RerunDone(usize),
}

impl Event {
    fn line(&self) -> String {
        match self {
            Event::Begin(k) => format!("begin {k}"),
            Event::Done(k, None) => format!("done {k}"),
            Event::Done(k, Some(h)) => format!("done {k} {h}"),
            Event::Fail(k, m) => format!("fail {k} {}", m.replace(['\n', '\r'], " ")),
            Event::Resume => "resume".into(),
            Event::Rollback => "rollback".into(),
            Event::Undo(k) => format!("undo {k}"),
            Event::Undone(k) => format!("undone {k}"),
            Event::Rerun(k) => format!("rerun {k}"),
            Event::RerunDone(k) => format!("rerun-done {k}"),
        }
    }

    /// The line as the log holds it: the time, then the event.
    fn stamped(&self) -> String {
        format!("{} {}", crate::clock::stamp(), self.line())
    }

    /// Reads a log line, with or without its leading time.
    fn parse(line: &str) -> Option<Event> {
        let line = match line.split_once(' ') {
            Some((first, rest)) if crate::clock::is_stamp(first) => rest,
            _ => line,
        };
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let (num, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        let k = num.parse::<usize>();
        Some(match word {
            "resume" => Event::Resume,
            "rollback" => Event::Rollback,
            "begin" => Event::Begin(k.ok()?),
            "done" => Event::Done(k.ok()?, (!tail.is_empty()).then(|| tail.to_string())),
            "fail" => Event::Fail(k.ok()?, tail.to_string()),
            "undo" => Event::Undo(k.ok()?),
            "undone" => Event::Undone(k.ok()?),
            "rerun" => Event::Rerun(k.ok()?),
            "rerun-done" => Event::RerunDone(k.ok()?),
            _ => return None,
        })
    }
}

/// An open run directory, inside the root: every file of it is opened
/// through the root ([`crate::confine`]), so a snapshot whose
/// `/var/lib/zmreip` is a symlink keeps its journal inside itself.
pub struct Journal {
    pub id: String,
    /// Where it is on this machine (for people: the root's path joined
    /// with its host path).
    pub dir: PathBuf,
    /// Its host path, symlinks resolved inside the root.
    host: String,
    root: Root,
}

/// Held while a run is being changed; released when dropped.
pub struct Lock {
    _file: File,
}

fn open_root(root: &Path) -> Result<Root> {
    Root::open(root).map_err(|e| Error::io("open", root, e))
}

/// Takes the lock of the root's runs, or fails at once naming the reason:
/// two zmreip processes must never change one host at the same time.
pub fn lock(root: &Path, runs: &Runs) -> Result<Lock> {
    let r = open_root(root)?;
    ensure_dirs(&r, runs)?;
    let shown = r.shown(runs.lock);
    let file = r
        .parent(runs.lock)
        .and_then(|(dir, name)| dir.open(&name, libc::O_RDWR | libc::O_CREAT, 0o600))
        .map_err(|e| Error::io("open", &shown, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(Error::other(
            "another zmreip apply, rollback or resume is running on this host",
            "wait for it to finish; `zmreip history` shows the runs",
        )),
        Err(fs::TryLockError::Error(e)) => Err(Error::io("lock", &shown, e)),
    }
}

/// Whether a process holds the lock now (for `history`).
pub fn is_locked(root: &Path, runs: &Runs) -> bool {
    let Ok(r) = Root::open(root) else {
        return false;
    };
    match r.open_at(runs.lock, libc::O_RDONLY | libc::O_NONBLOCK) {
        Ok(fd) => matches!(
            File::from(fd).try_lock_shared(),
            Err(fs::TryLockError::WouldBlock)
        ),
        Err(_) => false,
    }
}

/// Creates the runs' directory under the root: `var/lib` as any system
/// directory, zmreip's own ones 0700; all of it inside the root (a
/// snapshot's `/var/lib/zmreip` linking elsewhere leads to its own
/// elsewhere).
fn ensure_dirs(root: &Root, runs: &Runs) -> Result<()> {
    root.create_dirs("var/lib", 0o755)
        .map_err(|e| Error::io("create", root.shown("var/lib"), e))?;
    for d in ["var/lib/zmreip", runs.dir] {
        root.create_dirs(d, 0o700)
            .map_err(|e| Error::io("create", root.shown(d), e))?;
    }
    Ok(())
}

impl Journal {
    /// Creates a new run directory with a fresh, sortable id.
    pub fn create(root: &Path, kind: &Runs) -> Result<Journal> {
        let r = open_root(root)?;
        ensure_dirs(&r, kind)?;
        let last = list(root, kind)?.pop();
        let runs = r
            .canonical(kind.dir)
            .map_err(|e| Error::io("open", r.shown(kind.dir), e))?;
        for _ in 0..16 {
            let id = after(new_id(), last.as_deref());
            let host = format!("{runs}/{id}");
            let shown = r.shown(&host);
            let (parent, name) = r
                .parent(&host)
                .map_err(|e| Error::io("create", &shown, e))?;
            match parent.mkdir(&name, 0o700) {
                Ok(true) => {
                    fsops::create_private_dir(&r, &format!("{host}/backups"))
                        .and_then(|()| {
                            use std::os::unix::fs::PermissionsExt;
                            parent
                                .open(&name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?
                                .set_permissions(fs::Permissions::from_mode(0o700))
                        })
                        .and_then(|()| parent.sync())
                        .map_err(|e| Error::io("create", &shown, e))?;
                    return Ok(Journal {
                        id,
                        dir: shown,
                        host,
                        root: r,
                    });
                }
                Ok(false) => continue,
                Err(e) => return Err(Error::io("create", &shown, e)),
            }
        }
        Err(Error::other(
            format!(
                "cannot find a free run id under {}",
                r.shown(&runs).display()
            ),
            "check the directory",
        ))
    }

    /// Opens run `id`, or the latest run when `None`.
    pub fn open(root: &Path, kind: &Runs, id: Option<&str>) -> Result<Journal> {
        let ids = list(root, kind)?;
        let history = if *kind == CLUSTER_RUNS {
            "`zmreip history --cluster`"
        } else {
            "`zmreip history`"
        };
        let id = match id {
            Some(id) => ids.iter().find(|i| *i == id).cloned().ok_or_else(|| {
                Error::usage(
                    format!("no run `{id}` under {}", root.join(kind.dir).display()),
                    format!("{history} lists the runs"),
                )
            })?,
            None => ids.last().cloned().ok_or_else(|| {
                Error::usage(
                    format!("no zmreip run under {}", root.join(kind.dir).display()),
                    "check --root; runs are recorded by `zmreip apply`",
                )
            })?,
        };
        Journal::at(root, kind, &id)
    }

    /// The run `id` (which exists).
    fn at(root: &Path, kind: &Runs, id: &str) -> Result<Journal> {
        let r = open_root(root)?;
        let host = r
            .canonical(&format!("{}/{id}", kind.dir))
            .map_err(|e| Error::io("open", root.join(kind.dir).join(id), e))?;
        Ok(Journal {
            id: id.to_string(),
            dir: r.shown(&host),
            host,
            root: r,
        })
    }

    /// Where a file of the run is on this machine, for people.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn host_of(&self, name: &str) -> String {
        format!("{}/{name}", self.host)
    }

    /// Writes a new private file of the run, whole or not at all.
    pub fn create_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        fsops::create_private(&self.root, &self.host_of(name), bytes)
            .map_err(|e| Error::io("write", self.path(name), e))
    }

    /// Replaces a private file of the run atomically.
    pub fn replace_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        fsops::replace_private(&self.root, &self.host_of(name), bytes)
            .map_err(|e| Error::io("write", self.path(name), e))
    }

    /// Removes a file of the run, if it is there.
    pub fn remove_file(&self, name: &str) -> Result<()> {
        let host = self.host_of(name);
        let r = self
            .root
            .parent(&host)
            .and_then(|(dir, n)| match dir.unlink(&n) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                r => r,
            });
        r.map_err(|e| Error::io("remove", self.path(name), e))
    }

    /// Reads a file of the run; `None` when it does not exist.
    pub fn read_file(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.root
            .read(&self.host_of(name), fsops::CAPTURE_CAP)
            .map_err(|e| Error::io("read", self.path(name), e))
    }

    /// Opens a file of the run for appending (created 0600).
    pub fn append(&self, name: &str) -> Result<File> {
        self.root
            .parent(&self.host_of(name))
            .and_then(|(dir, n)| dir.open(&n, libc::O_RDWR | libc::O_APPEND | libc::O_CREAT, 0o600))
            .map_err(|e| Error::io("write", self.path(name), e))
    }

    /// Removes the temporary files an interrupted zmreip left in the run
    /// directory (a journal file half-written at a `kill -9`). Returns
    /// where they were, for people.
    pub fn remove_stale_temps(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for d in [self.host.clone(), self.host_of("backups")] {
            let removed = fsops::remove_temps_in(&self.root, &d)
                .map_err(|e| Error::io("clean", self.root.shown(&d), e))?;
            out.extend(
                removed
                    .iter()
                    .map(|h| self.root.shown(h).display().to_string()),
            );
        }
        Ok(out)
    }

    /// Appends an event to the log and fsyncs it before returning.
    pub fn log(&self, event: &Event) -> Result<()> {
        let mut f = self.append("log")?;
        let mut line = event.stamped();
        line.push('\n');
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io("write", self.path("log"), e))?;
        Ok(())
    }

    /// Every complete event of the log, in order.
    pub fn events(&self) -> Result<Vec<Event>> {
        let text = self.read_file("log")?.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let complete = match text.rfind('\n') {
            Some(i) => &text[..i],
            None => "",
        };
        Ok(complete.lines().filter_map(Event::parse).collect())
    }

    pub fn state(&self) -> Result<State> {
        let raw = self.read_file("state")?.unwrap_or_default();
        let s = String::from_utf8_lossy(&raw);
        State::parse(s.trim()).ok_or_else(|| {
            Error::other(
                format!("run {} has no valid state file", self.id),
                "the run directory is damaged; inspect it by hand",
            )
        })
    }

    pub fn set_state(&self, state: State) -> Result<()> {
        let text = format!("{}\n", state.as_str());
        self.replace_file("state", text.as_bytes())
    }
}

/// Run ids under the root, oldest first (ids sort by time).
pub fn list(root: &Path, kind: &Runs) -> Result<Vec<String>> {
    let r = open_root(root)?;
    let names = match r.list(kind.dir) {
        Ok(Some(n)) => n,
        Ok(None) => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read", r.shown(kind.dir), e)),
    };
    let mut ids: Vec<String> = names
        .into_iter()
        .filter(|n| is_id(n))
        .filter(|n| matches!(r.stat(&format!("{}/{n}/{}", kind.dir, kind.marker)), Ok(Some(st)) if st.is_file()))
        .collect();
    ids.sort();
    Ok(ids)
}

/// `20261128T123456Z-1a2b`.
fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 21
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
        && b[17..].iter().all(u8::is_ascii_hexdigit)
}

/// `id`, or when it would not sort after the latest run `last` (two runs
/// in one second, a clock set back), the id right after `last`: history
/// and "the latest run" go by this order.
fn after(id: String, last: Option<&str>) -> String {
    let Some(last) = last.filter(|l| *l >= id.as_str()) else {
        return id;
    };
    let n = u16::from_str_radix(&last[17..], 16).unwrap_or(0);
    // 65536 runs in one second cannot happen; the fresh id is then kept.
    match n.checked_add(1) {
        Some(n) => format!("{}{n:04x}", &last[..17]),
        None => id,
    }
}

/// A new run id: UTC time to the second and 4 random hex digits (two runs
/// in one second still differ).
fn new_id() -> String {
    let mut rnd = [0u8; 2];
    let got = File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut rnd))
        .is_ok();
    if !got {
        let n = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
            ^ std::process::id();
        rnd = [(n >> 8) as u8, n as u8];
    }
    format!(
        "{}-{:02x}{:02x}",
        crate::clock::compact(now()),
        rnd[0],
        rnd[1]
    )
}

pub use crate::clock::{now, rfc3339};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_recognized_and_sortable() {
        let id = new_id();
        assert!(is_id(&id), "{id}");
        for bad in [
            "20261128T123456Z-1a2",
            "20261128T123456Z_1a2b",
            "2026112xT123456Z-1a2b",
            "lock",
        ] {
            assert!(!is_id(bad), "{bad}");
        }
        assert!("20261128T123456Z-ffff" < "20261128T123457Z-0000");
        // Within one second (or with the clock set back) ids still sort by
        // creation.
        let last = "20261128T123456Z-c0de";
        assert_eq!(
            after("20261128T123456Z-0001".into(), Some(last)),
            "20261128T123456Z-c0df"
        );
        assert_eq!(
            after("20261128T120000Z-9999".into(), Some(last)),
            "20261128T123456Z-c0df"
        );
        assert_eq!(
            after("20261128T123457Z-0001".into(), Some(last)),
            "20261128T123457Z-0001"
        );
        assert_eq!(
            after("20261128T123457Z-0001".into(), None),
            "20261128T123457Z-0001"
        );
    }

    #[test]
    fn events_round_trip_and_torn_lines_are_ignored() {
        let events = [
            Event::Begin(1),
            Event::Done(1, Some("sha256:ab".into())),
            Event::Done(2, None),
            Event::Fail(3, "cannot write `/etc/hosts`: No space left".into()),
            Event::Resume,
            Event::Rollback,
            Event::Undo(3),
            Event::Undone(3),
            Event::Rerun(4),
            Event::RerunDone(4),
        ];
        for e in &events {
            // As written now (with the time), and as journals written
            // before the time was added hold it.
            assert_eq!(
                Event::parse(&e.stamped()).as_ref(),
                Some(e),
                "{}",
                e.stamped()
            );
            assert_eq!(Event::parse(&e.line()).as_ref(), Some(e), "{}", e.line());
        }
        // A failure message that itself starts like a time stays whole.
        let fail = Event::Fail(2, "2026-11-28T12:34:56Z was when it broke".into());
        assert_eq!(Event::parse(&fail.stamped()), Some(fail));
        assert_eq!(
            Event::parse(&Event::Fail(1, "two\nlines".into()).line()),
            Some(Event::Fail(1, "two lines".into()))
        );
        let d = tempfile::tempdir().unwrap();
        let j = Journal::create(d.path(), &RUNS).unwrap();
        j.log(&Event::Begin(1)).unwrap();
        j.log(&Event::Done(1, None)).unwrap();
        // Every line carries the time it was written.
        let log = std::fs::read_to_string(j.path("log")).unwrap();
        for line in log.lines() {
            let first = line.split(' ').next().unwrap();
            assert!(crate::clock::is_stamp(first), "{line}");
        }
        // A crash in the middle of an append.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(j.path("log"))
            .unwrap();
        f.write_all(b"begi").unwrap();
        assert_eq!(
            j.events().unwrap(),
            vec![Event::Begin(1), Event::Done(1, None)]
        );
    }

    #[test]
    fn run_dirs_are_private_and_found_again() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let a = Journal::create(d.path(), &RUNS).unwrap();
        a.create_file("run.json", b"{}").unwrap();
        a.set_state(State::Running).unwrap();
        assert_eq!(a.state().unwrap(), State::Running);
        a.set_state(State::Applied).unwrap();
        assert_eq!(a.state().unwrap(), State::Applied);
        for p in [
            a.dir.clone(),
            a.path("backups"),
            d.path().join("var/lib/zmreip"),
        ] {
            assert_eq!(
                fs::metadata(&p).unwrap().mode() & 0o777,
                0o700,
                "{}",
                p.display()
            );
        }
        a.log(&Event::Resume).unwrap();
        for f in ["run.json", "state", "log"] {
            assert_eq!(
                fs::metadata(a.path(f)).unwrap().mode() & 0o777,
                0o600,
                "{f}"
            );
        }
        assert_eq!(Journal::open(d.path(), &RUNS, None).unwrap().id, a.id);
        assert_eq!(
            Journal::open(d.path(), &RUNS, Some(&a.id)).unwrap().dir,
            a.dir
        );
        assert!(Journal::open(d.path(), &RUNS, Some("20000101T000000Z-0000")).is_err());
    }

    #[test]
    fn lock_is_exclusive() {
        let d = tempfile::tempdir().unwrap();
        let l = lock(d.path(), &RUNS).unwrap();
        assert!(is_locked(d.path(), &RUNS));
        assert!(lock(d.path(), &RUNS).is_err());
        // A cluster run drives this host's own runs: its lock is another.
        let c = lock(d.path(), &CLUSTER_RUNS).unwrap();
        assert!(is_locked(d.path(), &CLUSTER_RUNS));
        drop(l);
        assert!(!is_locked(d.path(), &RUNS));
        assert!(lock(d.path(), &RUNS).is_ok());
        drop(c);
        assert!(!is_locked(d.path(), &CLUSTER_RUNS));
    }

    #[test]
    fn cluster_runs_live_apart_from_the_hosts_runs() {
        let d = tempfile::tempdir().unwrap();
        let a = Journal::create(d.path(), &RUNS).unwrap();
        a.create_file("run.json", b"{}").unwrap();
        let c = Journal::create(d.path(), &CLUSTER_RUNS).unwrap();
        c.create_file("cluster.json", b"{}").unwrap();
        assert!(c.dir.starts_with(d.path().join("var/lib/zmreip/cluster")));
        assert_eq!(list(d.path(), &RUNS).unwrap(), vec![a.id.clone()]);
        assert_eq!(list(d.path(), &CLUSTER_RUNS).unwrap(), vec![c.id.clone()]);
        let Err(e) = Journal::open(d.path(), &CLUSTER_RUNS, Some(&a.id)) else {
            panic!("a host run is no cluster run");
        };
        assert!(e.help().unwrap().contains("history --cluster"), "{e}");
    }
}
