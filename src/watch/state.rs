//! The state file (`/var/lib/zmreip/watch.json` by default): what each
//! target last achieved, so a restart resumes without a redundant update.
//!
//! A target's record changes only after its update succeeded, and the
//! file is replaced atomically (temp file, fsync, rename; mode 0600):
//! a crash leaves the old file or the new one, never a record of an
//! update that did not happen. Besides the records, the file remembers
//! providers that must not be asked again until the configuration
//! changes (dyndns2 `badauth`, `abuse`, ...) or before a time they asked
//! for (`911`).
//!
//! ```json
//! {
//!   "schema": "zmreip.watch-state/v1",
//!   "targets": {
//!     "rfc2136 example.com. mail.example.com. A": {
//!       "addresses": {"ipv4": "198.51.100.7"},
//!       "rrset": ["mail.example.com. 60 IN A 198.51.100.7"],
//!       "updated": "2026-12-07T19:28:01Z"
//!     },
//!     "zimbra": {"addresses": {"ipv4": "10.0.0.5/24"}, "run": "20261207T192801Z-3f2a", "updated": "..."}
//!   },
//!   "stopped": {"dyndns2 members.dyndns.org mail.example.com": {"reason": "badauth: ...", "fingerprint": "...", "since": "..."}},
//!   "deferred": {"dyndns2 ...": 1796668081}
//! }
//! ```

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Addrs, Family};
use crate::error::{Error, Result};

/// The schema name of the file.
pub const SCHEMA: &str = "zmreip.watch-state/v1";

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub schema: String,
    #[serde(default)]
    pub targets: BTreeMap<String, Record>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stopped: BTreeMap<String, Stopped>,
    /// Target → Unix time before which it is not asked again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deferred: BTreeMap<String, u64>,
}

impl Default for State {
    fn default() -> State {
        State {
            schema: SCHEMA.into(),
            targets: BTreeMap::new(),
            stopped: BTreeMap::new(),
            deferred: BTreeMap::new(),
        }
    }
}

/// What a target last achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The addresses it holds, per family (`addr` or `addr/prefix`).
    pub addresses: BTreeMap<Family, String>,
    /// RFC 2136: the RRset written, in presentation form (the
    /// prerequisite of the next update).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rrset: Vec<String>,
    /// Zimbra: the addresses Zimbra's configuration holds, when they
    /// differ from `addresses` (a plan was written and not yet applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured: Option<BTreeMap<Family, String>>,
    /// Zimbra: the journaled run that applied the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Zimbra: the plan file written for review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    pub updated: String,
}

impl Record {
    /// A record holding `addrs`, stamped now.
    pub fn holding(addrs: &Addrs) -> Record {
        Record {
            addresses: addrs.iter().map(|(f, s)| (*f, s.text())).collect(),
            updated: crate::apply::journal::rfc3339(crate::apply::journal::now()),
            ..Record::default()
        }
    }

    /// The address held for `family` (without the prefix).
    pub fn addr(&self, family: Family) -> Option<std::net::IpAddr> {
        address_of(self.addresses.get(&family)?)
    }

    /// Whether it holds every address of `want`.
    pub fn holds(&self, want: &Addrs) -> bool {
        want.iter().all(|(f, s)| self.addr(*f) == Some(s.addr))
    }
}

/// The address of `addr` or `addr/prefix`.
pub fn address_of(text: &str) -> Option<std::net::IpAddr> {
    text.split('/').next()?.parse().ok()
}

/// A target that must not be asked again until its configuration
/// changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stopped {
    pub reason: String,
    /// The target's fingerprint when it stopped.
    pub fingerprint: String,
    pub since: String,
}

/// The state file, locked for this process.
pub struct Store {
    path: PathBuf,
    _lock: File,
}

impl Store {
    /// Takes the lock beside the file (`watch.json.lock`), creating the
    /// directory (0700) when needed: two daemons never share one state.
    pub fn open(path: &Path) -> Result<Store> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
            }
            crate::apply::fsops::create_private_dir_local(dir)
                .map_err(|e| Error::io("create", dir, e))?;
        }
        let lock_path = PathBuf::from(format!("{}.lock", path.display()));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io("open", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::other(
                    format!(
                        "another zmreip watch uses the state file {}",
                        path.display()
                    ),
                    "stop it first (systemctl stop zmreip-watch), or give this one its own `state`",
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &lock_path, e)),
        }
        Ok(Store {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// Reads the state; a missing file is an empty state.
    pub fn load(&self) -> Result<State> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
        let state: State = serde_json::from_str(&text).map_err(|e| Error::Parse {
            path: self.path.display().to_string(),
            line: e.line(),
            message: format!("the watch state does not read: {e}"),
            help: Some("move the file away: zmreip watch then starts afresh (it reads the published records again)".into()),
        })?;
        if state.schema != SCHEMA {
            return Err(Error::other(
                format!(
                    "{}: schema `{}` is not {SCHEMA}",
                    self.path.display(),
                    state.schema
                ),
                "move the file away: zmreip watch then starts afresh",
            ));
        }
        Ok(state)
    }

    /// Replaces the file atomically (mode 0600).
    pub fn save(&self, state: &State) -> Result<()> {
        let mut text = serde_json::to_string_pretty(state).expect("the state serializes");
        text.push('\n');
        crate::apply::fsops::replace_private_local(&self.path, text.as_bytes())
            .map_err(|e| Error::io("write", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::Seen;

    #[test]
    fn round_trip_and_lock() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub/watch.json");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.load().unwrap(), State::default());
        let mut s = State::default();
        let want: Addrs = [(
            Family::V4,
            Seen {
                addr: "192.0.2.10".parse().unwrap(),
                prefix: Some(24),
                via: "interface eth0".into(),
                local: true,
            },
        )]
        .into();
        let mut r = Record::holding(&want);
        r.rrset = vec!["mail.example.test. 60 IN A 192.0.2.10".into()];
        s.targets.insert("t".into(), r.clone());
        s.deferred.insert("d".into(), 42);
        store.save(&s).unwrap();
        assert_eq!(store.load().unwrap(), s);
        use std::os::unix::fs::PermissionsExt;
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(r.addresses[&Family::V4], "192.0.2.10/24");
        assert!(r.holds(&want));
        // 192.0.2.1 is not 192.0.2.10.
        let mut other = want.clone();
        other.get_mut(&Family::V4).unwrap().addr = "192.0.2.1".parse().unwrap();
        assert!(!r.holds(&other));
        // A second daemon on the same state is refused.
        let e = Store::open(&path).err().expect("locked").to_string();
        assert!(e.contains("another zmreip watch"), "{e}");
        drop(store);
        assert!(Store::open(&path).is_ok());
    }

    #[test]
    fn damaged_file_names_itself() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("watch.json");
        std::fs::write(&path, "{\n \"schema\": 3\n}").unwrap();
        let e = Store::open(&path).unwrap().load().unwrap_err().to_string();
        assert!(e.contains("watch.json:"), "{e}");
        std::fs::write(&path, "{\"schema\": \"other/v9\"}").unwrap();
        let e = Store::open(&path).unwrap().load().unwrap_err().to_string();
        assert!(e.contains("other/v9"), "{e}");
    }
}
