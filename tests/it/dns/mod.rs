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

/// Makes `root` a Zimbra host (an empty localconfig.xml unless it has one) whose zones are
/// the test's: a snapshot without OS network configuration, so the old
/// address is planned as its own with `--assume-own`.
fn zimbra_host(root: &std::path::Path) {
    let lc = root.join("opt/zimbra/conf/localconfig.xml");
    if lc.exists() {
        // The test's own localconfig.xml stays.
        return;
    }
    std::fs::create_dir_all(lc.parent().unwrap()).unwrap();
    std::fs::write(
        lc,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<localconfig>\n</localconfig>\n",
    )
    .unwrap();
}
