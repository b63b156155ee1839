//! DNS against real servers on loopback: `zmreip check` (blocklists,
//! FCrDNS, SPF, TTLs) against named and dnsmasq, RFC 2136 updates with
//! TSIG against named, and zone file edits that named must accept.
//!
//! Every query goes to a server the test started on 127.0.0.1 at a free
//! port; `--resolver` is always given.

mod check;
mod classless;
mod dnssec;
mod namedconf;
mod update;
mod zonefile;

use crate::support::Zmreip;

/// Runs zmreip: its exit status (-1 when a signal ended it), stdout and
/// stderr.
fn run(z: Zmreip) -> (i32, String, String) {
    let o = z.run();
    (o.code.unwrap_or(-1), o.stdout, o.stderr)
}
