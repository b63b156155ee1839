//! `zmreip watch`: follow a dynamic address.
//!
//! The daemon learns the address of each watched family from a detector
//! — the global address of an interface, followed through rtnetlink
//! events ([`netlink`]), or the public address behind NAT, polled with
//! configured methods ([`public`]) — and keeps a set of targets in step
//! with it ([`engine`]): DNS zones updated with RFC 2136 ([`rfc2136`]),
//! dyndns2 providers ([`dyndns2`]), Zimbra itself through the usual plan
//! and journaled apply ([`zimbra`]), and commands ([`hooks`]). Each target
//! is independent: it is retried with backoff, and one that is down never
//! holds the others back. What each target last achieved is kept in the
//! state file ([`state`]), written atomically after a success, so a
//! restart resumes without a redundant update.
//!
//! Configuration: [`config`] (README "Watch", `zmreip help watch`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::dns::RecordType;

pub mod config;
pub mod dyndns2;
pub mod engine;
pub mod hooks;
pub mod http;
pub mod log;
pub mod netlink;
pub mod public;
pub mod rfc2136;
pub mod state;
pub mod target;
pub mod zimbra;

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    #[serde(rename = "ipv4")]
    V4,
    #[serde(rename = "ipv6")]
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }

    /// A for IPv4, AAAA for IPv6.
    pub fn record_type(self) -> RecordType {
        match self {
            Family::V4 => RecordType::A,
            Family::V6 => RecordType::AAAA,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        })
    }
}

/// An address as a detector saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub addr: IpAddr,
    /// The prefix, when the address is an interface's.
    pub prefix: Option<u8>,
    /// Where it was seen (`interface eth0`, `url api.ipify.org`).
    pub via: String,
    /// The host's own address (an interface's), which Zimbra's
    /// configuration holds; public addresses behind NAT are not.
    pub local: bool,
}

impl Seen {
    /// `addr/prefix`, or the bare address.
    pub fn text(&self) -> String {
        match self.prefix {
            Some(p) => format!("{}/{p}", self.addr),
            None => self.addr.to_string(),
        }
    }
}

/// A detector's report for one family: the address, or none (with why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub family: Family,
    pub seen: Option<Seen>,
    pub note: Option<String>,
}

/// The addresses a target should hold, per family.
pub type Addrs = BTreeMap<Family, Seen>;

/// How the daemon was started.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: PathBuf,
    /// One detection and one round of updates, then exit.
    pub once: bool,
    /// Say what would be sent; change nothing, write no state.
    pub dry_run: bool,
    /// Debug lines too (every netlink event) with `Verbose`; warnings and
    /// errors only with `Quiet`.
    pub verbosity: crate::Verbosity,
}

/// Runs the daemon (or one round with `--once`) until SIGTERM/SIGINT.
/// Returns whether every update of the round succeeded (`--once`), or
/// `true` after a clean stop.
pub fn run(opts: &Options) -> crate::Result<bool> {
    log::init(opts.verbosity);
    let cfg = config::load(&opts.config)?;
    engine::run(cfg, opts)
}
