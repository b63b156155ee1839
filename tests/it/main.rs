//! zmreip's integration tests: one binary that runs the real `zmreip`
//! (through [`support::Zmreip`]) against example hosts, copies of them,
//! and real servers the tests start on loopback or in namespaces they
//! create (slapd, named, dnsmasq, sshd: [`support`]).
//!
//! | module | what |
//! |---|---|
//! | `example` | the single-server example: the golden plan, every trap of its README |
//! | `cli` | help, text and Markdown output pinned as snapshots |
//! | `cluster` | multi-server plans, apply and rollback over real sshd |
//! | `confine` | the root is a jail: symlinks, `..` and includes of a snapshot, its journal, hostile files |
//! | `apply`, `apply_fs` | apply, rollback, resume, history on a copy of a fixture host; crashes at every step; file-system traps |
//! | `bind` | `zmreip bind`: plan, apply, rollback, unbind, refusals, a later re-address |
//! | `apply_ldap`, `apply_dns` | the same against a live slapd and a named taking RFC 2136 updates |
//! | `ldap`, `ldap_bench` | the live directory backend against slapd |
//! | `dns` | `check`, RFC 2136 and zone files against named and dnsmasq |
//! | `rerun` | re-applying an applied plan, empty applies, damaged runs, stale temporary files |
//! | `secrets` | lines carrying credentials in `--include` files are neither shown nor changed |
//! | `targets` | wrong targets and impossible addresses: own-address evidence, loopback, no Zimbra, a resealed plan past the trust rules |
//! | `corpus` | every upstream configuration file of `tests/corpus/` |
//! | `firewall` | firewalls, keepalived, Carbonio: the real tools read what zmreip writes; reloads; a peer |
//! | `manual` | man pages and completions the binary writes, against its help |
//! | `watch` | `zmreip watch`: netlink events in namespaces, RFC 2136, dyndns2, Zimbra hand-over, daemon life |
//! | `window` | `zmreip window`: the three phases against `apply`, rollback of each phase, gates, the state file |
//!
//! Snapshots (`tests/golden/`) are refreshed with `ZMREIP_BLESS=1`.

// Tests say what they skipped, benchmarks and the corpus print their
// figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod apply;
mod apply_dns;
mod apply_fs;
mod apply_ldap;
mod bind;
mod cli;
mod cluster;
mod confine;
mod corpus;
mod dns;
mod example;
mod firewall;
mod ldap;
mod ldap_bench;
mod manual;
mod rerun;
mod secrets;
mod support;
mod targets;
mod watch;
mod window;
