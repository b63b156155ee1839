//! The phase state file: `<root>/var/lib/zmreip/window.json` (mode 0600,
//! schema `zmreip.window/v1`), written atomically after each phase.
//!
//! It holds what the later phases need that the command line of
//! `window switch` and `window close` does not repeat: the move, how the
//! host was planned and applied (paths made absolute; never a secret,
//! only the path of a password file), the addresses to add and remove at
//! runtime, what open lowered the TTLs from, and every phase's run.
//!
//! The phase the host is in is not stored: it is read from the runs'
//! journals ([`State::phase`]), so a phase rolled back with `zmreip
//! rollback RUN` is undone here too.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::apply::fsops;
use crate::apply::journal::{self, Journal, RUNS};
use crate::confine::Root;
use crate::error::{Error, Result};
use crate::policy::Phase;

/// The schema name of the state file.
pub const SCHEMA: &str = "zmreip.window/v1";

/// Where the state file is, under the root.
pub const FILE: &str = "var/lib/zmreip/window.json";

/// The lock that keeps two window commands apart.
const LOCK: &str = "var/lib/zmreip/window.lock";

/// The state file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Old addresses with prefix, as the plans say them.
    pub from: Vec<String>,
    /// New addresses with prefix.
    pub to: Vec<String>,
    /// How the phases are planned and applied.
    pub settings: Settings,
    /// Addresses added to (open) and removed from (close) interfaces at
    /// runtime.
    pub runtime: Vec<RuntimeAddr>,
    /// The DNS TTLs open lowered and what they were.
    pub ttl: Ttl,
    /// Every phase run, in the order they ran (a phase rolled back and run
    /// again appears twice).
    pub runs: Vec<PhaseRun>,
    /// A phase whose run began and is not recorded yet (zmreip stopped
    /// while it ran): its run is the first one after `after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Started>,
}

/// A phase that began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub phase: Phase,
    /// The latest run id when it began.
    pub after: Option<String>,
}

/// The options of `window open` the later phases use again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub zimbra_home: Option<String>,
    pub include: Vec<String>,
    /// `--zone-file` arguments as given (`[ZONE=]PATH`, host paths).
    pub zone_files: Vec<String>,
    pub dns_config: Option<PathBuf>,
    pub ldif: Option<PathBuf>,
    pub ldap_urls: Vec<String>,
    pub bind_dn: Option<String>,
    /// The file the bind password is read from (the password never is
    /// stored).
    pub bind_password_file: Option<PathBuf>,
    pub no_directory: bool,
    pub gateways: Vec<std::net::IpAddr>,
    pub services: Option<PathBuf>,
    pub restart_network: bool,
    pub no_restart: bool,
    pub no_verify: bool,
    pub hostname: Option<String>,
    pub outside_source: Option<std::net::IpAddr>,
    pub dns_server: Option<std::net::SocketAddr>,
    pub probe_timeout: Option<f64>,
}

/// An address the window changes at runtime on an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeAddr {
    pub interface: String,
    /// `ADDR/PREFIX` as the kernel holds it.
    pub old: String,
    /// `ADDR/PREFIX` to add beside it.
    pub new: String,
}

/// The TTLs of the published records that move.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ttl {
    /// What open lowered them to (`None`: nothing was lowered).
    pub lowered_to: Option<u32>,
    /// The longest TTL before open lowered it: caches may hold a record
    /// that long after open.
    pub longest: u32,
    /// Zone-file lines open lowered, to be written back at the switch.
    pub zone_lines: Vec<ZoneLine>,
    /// RRsets held elsewhere whose TTL open lowered.
    pub rrsets: Vec<RrsetTtl>,
}

/// A zone-file line as it was before open and as open left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneLine {
    pub file: String,
    pub line: usize,
    pub original: String,
    pub lowered: String,
}

/// The TTL an RRset held elsewhere had before open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrsetTtl {
    pub zone: String,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub ttl: u32,
}

/// One phase's run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRun {
    pub phase: Phase,
    /// The run id (`zmreip history`).
    pub run: String,
    /// When it finished, Unix seconds.
    pub done: u64,
}

/// Where the host is in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// The last phase that holds, and when it finished.
    At(Phase, u64),
    /// Every phase was rolled back: the host is as before the window.
    NotOpen,
}

impl State {
    /// The phase the host is in: the last phase whose run is applied,
    /// every phase before it applied too. A phase rolled back out of
    /// order (open while the switch holds) is an error saying what to
    /// roll back.
    pub fn phase(&self, root: &Path) -> Result<Where> {
        let mut at = Where::NotOpen;
        for phase in [Phase::Open, Phase::Switch, Phase::Close] {
            let Some(r) = self.run_of(root, phase)? else {
                continue;
            };
            let follows = match at {
                Where::NotOpen => phase == Phase::Open,
                Where::At(before, _) => Some(before) == previous(phase),
            };
            if !follows {
                return Err(Error::other(
                    format!(
                        "the window's {} run {} is applied, but the phase before it was rolled back",
                        phase.as_str(),
                        r.run
                    ),
                    format!(
                        "roll it back too (`zmreip rollback {}`), then see `zmreip window status`",
                        r.run
                    ),
                ));
            }
            at = Where::At(phase, r.done);
        }
        Ok(at)
    }

    /// The latest applied run of `phase`.
    pub fn run_of(&self, root: &Path, phase: Phase) -> Result<Option<&PhaseRun>> {
        for r in self.runs.iter().rev() {
            if r.phase == phase && run_applied(root, &r.run)? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

/// The phase before `phase`.
fn previous(phase: Phase) -> Option<Phase> {
    match phase {
        Phase::Open => None,
        Phase::Switch => Some(Phase::Open),
        Phase::Close => Some(Phase::Switch),
    }
}

/// Whether run `id` is applied (per its journal).
fn run_applied(root: &Path, id: &str) -> Result<bool> {
    let j = Journal::open(root, &RUNS, Some(id))?;
    Ok(j.state()? == journal::State::Applied)
}

/// The state file of the host at `root`, if there is one.
pub fn load(root: &Path) -> Result<Option<State>> {
    let path = root.join(FILE);
    // Read inside the root, as every file of a host (crate::confine).
    let text = match jail(root)?.read(FILE, crate::confine::READ_CAP) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(None) => return Ok(None),
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Parse {
        path: path.display().to_string(),
        line: e.line(),
        message: format!("not JSON: {e}"),
        help: Some(
            "the window's state file is damaged; `zmreip history` still lists its runs".into(),
        ),
    })?;
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != SCHEMA {
        return Err(Error::other(
            format!("{}: schema `{schema}` is not {SCHEMA}", path.display()),
            "it was written by another zmreip; use that one to finish its window",
        ));
    }
    serde_json::from_value(value).map(Some).map_err(|e| {
        Error::other(
            format!("{}: not a window state file: {e}", path.display()),
            "the window's state file is damaged; `zmreip history` still lists its runs",
        )
    })
}

/// Writes the state file atomically, mode 0600.
pub fn save(root: &Path, state: &State) -> Result<()> {
    let path = root.join(FILE);
    let mut json = serde_json::to_vec_pretty(state).expect("window state serializes");
    json.push(b'\n');
    fsops::replace_private(&jail(root)?, FILE, &json).map_err(|e| Error::io("write", &path, e))
}

/// The root as a jail: every path of the window's files resolves inside it.
fn jail(root: &Path) -> Result<Root> {
    Root::open(root).map_err(|e| Error::io("open", root, e))
}

/// A state file of a window that is over keeps its name with the open
/// run's id, so a new window can start: `window-<run>.json`.
pub fn retire(root: &Path, state: &State) -> Result<PathBuf> {
    let open = state.runs.first().map_or("unknown", |r| r.run.as_str());
    let to = format!("var/lib/zmreip/window-{open}.json");
    let from = root.join(FILE);
    let (dir, name) = jail(root)?
        .parent(FILE)
        .map_err(|e| Error::io("rename", &from, e))?;
    dir.rename(&name, &format!("window-{open}.json"))
        .map_err(|e| Error::io("rename", &from, e))?;
    Ok(root.join(to))
}

/// Held while a window command runs; released when dropped.
pub struct Lock {
    _file: File,
}

/// Takes the window lock, or fails at once.
pub fn lock(root: &Path) -> Result<Lock> {
    // Made inside the root: a snapshot's /var/lib/zmreip linking
    // elsewhere leads to its own elsewhere.
    let r = jail(root)?;
    for (d, mode) in [("var/lib", 0o755), ("var/lib/zmreip", 0o700)] {
        r.create_dirs(d, mode)
            .map_err(|e| Error::io("create", root.join(d), e))?;
    }
    let path = root.join(LOCK);
    let file = r
        .parent(LOCK)
        .and_then(|(dir, name)| dir.open(&name, libc::O_RDWR | libc::O_CREAT, 0o600))
        .map_err(|e| Error::io("open", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::other(
            "another zmreip window command is running on this host",
            "wait for it to finish; `zmreip window status` shows where the window is",
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}
