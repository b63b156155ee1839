//! What every target (RFC 2136 RRset, dyndns2 host, Zimbra, hook) is to
//! the engine: a blocking `update` that makes it hold the addresses, an
//! optional `verify` that checks it still does, and how a failure is to
//! be treated.

use std::time::Duration;

use super::state::Record;
use super::{Addrs, Seen};

/// One update to make.
#[derive(Debug, Clone)]
pub struct Job {
    /// The addresses to hold (the families this target follows).
    pub want: Addrs,
    /// What the target last achieved, from the state file.
    pub prev: Option<Record>,
    /// Say what would be sent; send nothing.
    pub dry_run: bool,
    /// Verification found the published data wrong: update even if the
    /// record says it is in step.
    pub force: bool,
}

/// How an update ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It holds `want` now; the record to keep.
    Done(Record),
    /// Dry run: nothing was sent (what would have been is logged).
    DryRun,
    /// A failure worth retrying soon (a server down, a timeout): retried
    /// with exponential backoff.
    Retry(String),
    /// The other side asked to wait (dyndns2 `911`): not asked again for
    /// this long, even across restarts.
    Wait(String, Duration),
    /// Retrying the same thing cannot help (a record changed by someone
    /// else with `repair = false`, a Zimbra apply rolled back): tried
    /// again when the address changes or the configuration is reloaded.
    Hold(String),
    /// Refused until the configuration changes (dyndns2 `badauth`,
    /// `abuse`, ...), even across restarts.
    Stop(String),
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The published data holds the address.
    Holds,
    /// It does not: what was found instead.
    Differs(String),
    /// The check could not be made (the server did not answer).
    Unknown(String),
}

/// A target kept in step with the address.
pub trait Updater: Send + Sync {
    /// Stable name: the key of its state, and how logs name it.
    fn id(&self) -> String;

    /// Whether it follows this address (Zimbra follows only the host's
    /// own addresses, not a public one behind NAT).
    fn follows(&self, seen: &Seen) -> bool {
        let _ = seen;
        true
    }

    /// Whether the first address ever seen is only recorded, not acted
    /// on: Zimbra and hooks take it as the starting point, while DNS is
    /// made to hold it.
    fn baseline_first(&self) -> bool {
        false
    }

    /// Makes the target hold `job.want` (blocking; runs off the event
    /// path).
    fn update(&self, job: &Job) -> Outcome;

    /// Checks the published data against `want` (blocking). `None`: this
    /// target has nothing to check.
    fn verify(&self, want: &Addrs) -> Option<Verdict> {
        let _ = want;
        None
    }

    /// Changes whenever its configuration does (a stop is lifted then).
    fn fingerprint(&self) -> String;
}

/// `ipv4 192.0.2.10, ipv6 2001:db8::10`.
pub fn describe(addrs: &Addrs) -> String {
    addrs
        .iter()
        .map(|(f, s)| format!("{f} {}", s.addr))
        .collect::<Vec<_>>()
        .join(", ")
}
