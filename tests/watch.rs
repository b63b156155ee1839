//! `zmreip watch` against real parts: network namespaces the tests
//! create, address changes made with `ip addr`, BIND named with TSIG, a
//! dyndns2 server in the test (standing in for a provider, none being
//! reachable), the binary run as a daemon and with `--once`.

// Tests say what they skip and measure.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "lab/dns_servers.rs"]
mod servers;

mod watch {
    pub mod daemon;
    pub mod dyndns2;
    pub mod netlink;
    pub mod support;
    pub mod zimbra;
}
