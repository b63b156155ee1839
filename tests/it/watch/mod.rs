//! `zmreip watch` against real parts: network namespaces the tests
//! create, address changes made with `ip addr`, BIND named with TSIG, a
//! dyndns2 server in the test (standing in for a provider: none is
//! reachable, and none may be asked), the binary run as a daemon and with
//! `--once`.

mod daemon;
mod dyndns2;
mod netlink;
mod support;
mod zimbra;
