//! DNS against real servers on loopback: `zmreip check` (blocklists,
//! FCrDNS, SPF, TTLs) against named and dnsmasq, RFC 2136 updates with
//! TSIG against named, and zone file edits that named must accept.
//!
//! Every query goes to a server the test started on 127.0.0.1 at a free
//! port; `--resolver` is always given.

// Tests say what they skipped and benchmarks print their figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "lab/dns_servers.rs"]
mod servers;

mod dns {
    pub mod check;
    pub mod update;
    pub mod zonefile;
}

use std::process::Command;

/// The zmreip binary with a clean environment for comparing output.
pub fn zmreip() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zmreip"));
    c.env("RUST_BACKTRACE", "0").env("NO_COLOR", "1");
    c
}
