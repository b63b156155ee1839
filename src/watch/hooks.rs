//! `hooks.after_change`: commands run when the address changes, with the
//! old and new addresses in the environment:
//!
//! | variable | value |
//! |---|---|
//! | `ZMREIP_OLD_IPV4`, `ZMREIP_NEW_IPV4` | the IPv4 address before and now (empty when unknown) |
//! | `ZMREIP_OLD_IPV6`, `ZMREIP_NEW_IPV6` | the same for IPv6 |
//! | `ZMREIP_CHANGED` | the families that changed: `ipv4`, `ipv6` or `ipv4 ipv6` |
//!
//! Each command is a target of its own: retried with backoff when it
//! fails, run again only when the address changes again. The first
//! address ever seen is the starting point, not a change. Output goes to
//! `watch-hooks.log` beside the state file; a failure quotes its tail.

use std::path::PathBuf;
use std::time::Duration;

use super::state::Record;
use super::target::{Job, Outcome, Updater};
use super::{Family, log};
use crate::services::{self, Cmd};

/// One `after_change` command.
pub struct Hook {
    cmd: Cmd,
    timeout: Duration,
    log: PathBuf,
}

impl Hook {
    pub fn new(cmd: Cmd, timeout: Duration, log: PathBuf) -> Hook {
        Hook { cmd, timeout, log }
    }
}

impl Updater for Hook {
    fn id(&self) -> String {
        format!("hook {}", self.cmd)
    }

    fn baseline_first(&self) -> bool {
        true
    }

    fn update(&self, job: &Job) -> Outcome {
        let prev = job.prev.clone().unwrap_or_default();
        let mut env: Vec<(String, String)> = Vec::new();
        let mut changed = Vec::new();
        for family in [Family::V4, Family::V6] {
            let old = prev.addr(family).map(|a| a.to_string()).unwrap_or_default();
            let new = job
                .want
                .get(&family)
                .map(|s| s.addr.to_string())
                .unwrap_or(old.clone());
            if old != new {
                changed.push(family.to_string());
            }
            let upper = family.to_string().to_ascii_uppercase();
            env.push((format!("ZMREIP_OLD_{upper}"), old));
            env.push((format!("ZMREIP_NEW_{upper}"), new));
        }
        env.push(("ZMREIP_CHANGED".into(), changed.join(" ")));
        let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if job.dry_run {
            log::info(&format!(
                "{}: would run with {}",
                self.id(),
                shown.join(" ")
            ));
            return Outcome::DryRun;
        }
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let log = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .mode(0o600)
                .open(&self.log)
        };
        let log = match log {
            Ok(f) => f,
            Err(e) => {
                return Outcome::Retry(format!(
                    "{}: cannot write {}: {e}",
                    self.id(),
                    self.log.display()
                ));
            }
        };
        match services::run(&self.cmd, self.timeout, (log, &self.log), &pairs) {
            Ok(()) => {
                log::info(&format!("{}: ran with {}", self.id(), shown.join(" ")));
                Outcome::Done(Record::holding(&job.want))
            }
            Err(e) => Outcome::Retry(format!("{}: {e}", self.id())),
        }
    }

    fn fingerprint(&self) -> String {
        self.id()
    }
}
