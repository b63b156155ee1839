//! What the user asked for: old and new addresses with optional prefixes.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use crate::error::{Error, Result};

/// An address as given on the command line: `172.20.14.25` or
/// `172.20.14.25/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrArg {
    pub addr: IpAddr,
    pub prefix: Option<u8>,
}

impl FromStr for AddrArg {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<AddrArg, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = addr.parse().map_err(|_| {
            format!("`{s}` is not an IP address (expected e.g. 10.40.7.131/24 or 2001:db8::25/64)")
        })?;
        let prefix = match prefix {
            None => None,
            Some(p) => {
                let max = if addr.is_ipv4() { 32 } else { 128 };
                match p.parse::<u8>() {
                    Ok(n) if n <= max => Some(n),
                    _ => {
                        return Err(format!(
                            "`/{p}` is not a valid prefix length for {addr} (0 to {max})"
                        ));
                    }
                }
            }
        };
        if addr.is_unspecified() || addr.is_multicast() {
            return Err(format!("`{addr}` cannot be a server address"));
        }
        Ok(AddrArg { addr, prefix })
    }
}

impl std::fmt::Display for AddrArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.prefix {
            Some(p) => write!(f, "{}/{}", self.addr, p),
            None => write!(f, "{}", self.addr),
        }
    }
}

/// Where a prefix length came from, so the plan can say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixSource {
    /// Given on the command line.
    Given,
    /// Read from the host's OS network configuration.
    OsConfig,
    /// Unknown: the address is treated as a host address (/32, /128).
    Host,
}

/// One old → new move, with prefixes resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub old: IpAddr,
    pub new: IpAddr,
    pub old_prefix: u8,
    pub new_prefix: u8,
    pub old_prefix_source: PrefixSource,
    pub new_prefix_source: PrefixSource,
}

impl Pair {
    /// The old address's interface network (host bits cleared).
    pub fn old_net(&self) -> IpNet {
        IpNet::new(self.old, self.old_prefix)
            .expect("prefix validated")
            .trunc()
    }

    /// The new address's interface network (host bits cleared).
    pub fn new_net(&self) -> IpNet {
        IpNet::new(self.new, self.new_prefix)
            .expect("prefix validated")
            .trunc()
    }

    /// The full host prefix of this family (32 or 128).
    pub fn host_prefix(&self) -> u8 {
        if self.old.is_ipv4() { 32 } else { 128 }
    }

    /// `old/prefix` as given or discovered, for output.
    pub fn from_text(&self) -> String {
        format!("{}/{}", self.old, self.old_prefix)
    }

    /// `new/prefix` as given or discovered, for output.
    pub fn to_text(&self) -> String {
        format!("{}/{}", self.new, self.new_prefix)
    }
}

/// Checks the `--from`/`--to` lists: same length, same family per pair,
/// old ≠ new, no address moved twice.
pub fn check_pairs(from: &[AddrArg], to: &[AddrArg]) -> Result<()> {
    if from.is_empty() {
        return Err(Error::usage(
            "no address to move",
            "give --from OLD --to NEW (e.g. --from 172.20.14.25/24 --to 10.40.7.131/24)",
        ));
    }
    if from.len() != to.len() {
        return Err(Error::usage(
            format!("{} --from but {} --to", from.len(), to.len()),
            "give one --to for every --from, in the same order",
        ));
    }
    for (i, (f, t)) in from.iter().zip(to).enumerate() {
        if f.addr.is_ipv4() != t.addr.is_ipv4() {
            return Err(Error::usage(
                format!(
                    "--from {f} and --to {t} (pair {}) are of different families",
                    i + 1
                ),
                "an IPv4 address must move to an IPv4 address and an IPv6 to an IPv6; give one pair per family",
            ));
        }
        if f.addr == t.addr {
            return Err(Error::usage(
                format!("--from and --to are both {} (pair {})", f.addr, i + 1),
                "the new address must differ from the old one",
            ));
        }
        for (j, g) in from.iter().enumerate().skip(i + 1) {
            if g.addr == f.addr {
                return Err(Error::usage(
                    format!(
                        "--from {} is given twice (pairs {} and {})",
                        f.addr,
                        i + 1,
                        j + 1
                    ),
                    "move each address once",
                ));
            }
        }
        if from.iter().any(|g| g.addr == t.addr) {
            return Err(Error::usage(
                format!("--to {} is also an old address", t.addr),
                "chained moves are not supported; run zmreip once per step",
            ));
        }
    }
    Ok(())
}
