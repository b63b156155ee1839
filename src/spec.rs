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

/// Why `addr` (in the network of `prefix`, when known) cannot be a
/// server's new address, or `None`. Each reason says what the address is.
pub fn unusable_new(addr: IpAddr, prefix: Option<u8>) -> Option<String> {
    if let Some(why) = unusable(addr) {
        return Some(why);
    }
    let why = match addr {
        IpAddr::V4(v) => {
            let o = v.octets();
            if v.is_link_local() {
                "a link-local address (169.254.0.0/16): it is not routed, so nothing off the link reaches the server there"
            } else if v.is_broadcast() {
                "the limited broadcast address"
            } else if o[0] >= 240 {
                "reserved (240.0.0.0/4): no host may use it"
            } else if o[0] == 0 {
                "in 0.0.0.0/8 (\"this network\"): no host may use it"
            } else {
                return in_network(addr, prefix);
            }
        }
        IpAddr::V6(v) => {
            if v.is_unicast_link_local() {
                "a link-local address (fe80::/10): it is not routed, so nothing off the link reaches the server there"
            } else if v.to_ipv4_mapped().is_some() {
                "an IPv4-mapped IPv6 address (::ffff:0:0/96): give the IPv4 address itself"
            } else {
                return in_network(addr, prefix);
            }
        }
    };
    Some(why.to_string())
}

/// Why `addr` cannot be moved away from, or `None`.
pub fn unusable_old(addr: IpAddr, prefix: Option<u8>) -> Option<String> {
    unusable(addr).or_else(|| zero_prefix(prefix))
}

/// Addresses neither old nor new: loopback stays where it is.
fn unusable(addr: IpAddr) -> Option<String> {
    addr.is_loopback().then(|| {
        format!(
            "a loopback address ({}): it never leaves this host, every Zimbra service trusts it, and zmreip never moves it (moving it would drop it from trust lists such as zimbraMtaMyNetworks)",
            if addr.is_ipv4() { "127.0.0.0/8" } else { "::1" }
        )
    })
}

fn zero_prefix(prefix: Option<u8>) -> Option<String> {
    (prefix == Some(0)).then(|| {
        "a /0 prefix: its network would be every address there is, and trust lists would follow it".to_string()
    })
}

/// The network or broadcast address of its own network, or a /0.
fn in_network(addr: IpAddr, prefix: Option<u8>) -> Option<String> {
    if let Some(z) = zero_prefix(prefix) {
        return Some(z);
    }
    let p = prefix?;
    let net = ipnet::IpNet::new(addr, p).ok()?.trunc();
    match net {
        ipnet::IpNet::V4(n) if p <= 30 && addr == IpAddr::V4(n.network()) => {
            Some(format!("the network address of {net}, not a host's"))
        }
        ipnet::IpNet::V4(n) if p <= 30 && addr == IpAddr::V4(n.broadcast()) => {
            Some(format!("the broadcast address of {net}, not a host's"))
        }
        ipnet::IpNet::V6(n) if p <= 126 && addr == IpAddr::V6(n.network()) => Some(format!(
            "the subnet-router anycast address of {net}, not a host's"
        )),
        _ => None,
    }
}

/// Refuses a move whose old or new address cannot be one (see
/// [`unusable_new`], [`unusable_old`]): `--from`/`--to` as given, or a
/// plan's `from`/`to` (`what` names which).
pub fn check_usable(
    what: (&str, &str),
    old: (IpAddr, Option<u8>),
    new: (IpAddr, Option<u8>),
) -> Result<()> {
    let bad = |flag: &str, a: IpAddr, p: Option<u8>, why: String| {
        let shown = match p {
            Some(p) => format!("{a}/{p}"),
            None => a.to_string(),
        };
        Error::usage(
            format!("{flag} {shown} is {why}"),
            "give the address the server has (--from) and the one it will have (--to) on its network, with the network's prefix",
        )
    };
    if let Some(why) = unusable_old(old.0, old.1) {
        return Err(bad(what.0, old.0, old.1, why));
    }
    if let Some(why) = unusable_new(new.0, new.1) {
        return Err(bad(what.1, new.0, new.1, why));
    }
    Ok(())
}

/// Checks the `--from`/`--to` lists: same length, same family per pair,
/// old ≠ new, no address moved twice, no address that cannot be one.
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
        check_usable(("--from", "--to"), (f.addr, f.prefix), (t.addr, t.prefix))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(s: &str) -> AddrArg {
        s.parse().unwrap()
    }

    #[test]
    fn impossible_new_addresses_are_refused_with_the_reason() {
        // (--to, what the refusal says; None: accepted)
        let cases: &[(&str, Option<&str>)] = &[
            ("10.40.7.131/24", None),
            ("10.40.7.131", None),
            ("10.40.7.1/24", None),
            ("10.40.7.254/24", None),
            ("127.0.0.5", Some("loopback")),
            ("127.255.255.254/8", Some("loopback")),
            ("::1", Some("loopback")),
            ("169.254.10.1/16", Some("link-local")),
            ("fe80::1/64", Some("link-local")),
            ("240.0.0.1", Some("reserved (240.0.0.0/4)")),
            ("255.255.255.254", Some("reserved")),
            ("255.255.255.255", Some("limited broadcast")),
            ("0.1.2.3", Some("0.0.0.0/8")),
            ("10.40.7.0/24", Some("the network address of 10.40.7.0/24")),
            (
                "10.40.7.255/24",
                Some("the broadcast address of 10.40.7.0/24"),
            ),
            ("10.40.7.131/0", Some("a /0 prefix")),
            ("::ffff:10.40.7.131", Some("IPv4-mapped")),
            (
                "2001:db8:7::/64",
                Some("subnet-router anycast address of 2001:db8:7::/64"),
            ),
            ("2001:db8:7::131/64", None),
            ("2001:db8:7::/127", None),
            // /31 and /32 have no network or broadcast address.
            ("10.40.7.130/31", None),
            ("10.40.7.131/31", None),
            ("10.40.7.0/32", None),
            // The trap: .1 of a /24 is fine, .0 of a /23's upper half too.
            ("10.40.7.0/23", None),
            ("10.40.6.0/23", Some("network address")),
        ];
        for (to, want) in cases {
            let a = arg(to);
            let got = check_usable(
                ("--from", "--to"),
                ("172.20.14.25".parse().unwrap(), Some(24)),
                (a.addr, a.prefix),
            );
            match want {
                None => assert!(got.is_ok(), "{to}: {got:?}"),
                Some(w) => {
                    let e = got.unwrap_err();
                    assert!(
                        e.to_string().starts_with(&format!("--to {to} is ")),
                        "{to}: {e}"
                    );
                    assert!(e.to_string().contains(w), "{to}: {e}");
                    assert_eq!(e.exit_code(), 2);
                }
            }
        }
    }

    #[test]
    fn loopback_and_zero_prefixes_are_never_moved_away_from() {
        let new = ("10.40.7.131".parse().unwrap(), Some(24));
        for (from, want) in [
            ("127.0.0.1", Some("loopback")),
            ("127.20.0.11/24", Some("loopback")),
            ("::1", Some("loopback")),
            ("172.20.14.25/0", Some("a /0 prefix")),
            ("172.20.14.25/24", None),
            // A link-local old address may be left for a routed one.
            ("169.254.3.4/16", None),
        ] {
            let a = arg(from);
            let got = check_usable(("--from", "--to"), (a.addr, a.prefix), new);
            match want {
                None => assert!(got.is_ok(), "{from}: {got:?}"),
                Some(w) => {
                    let e = got.unwrap_err().to_string();
                    assert!(
                        e.starts_with(&format!("--from {from} is ")) && e.contains(w),
                        "{e}"
                    );
                }
            }
        }
        // Unspecified and multicast are no address at all.
        assert!("0.0.0.0".parse::<AddrArg>().is_err());
        assert!("ff02::1".parse::<AddrArg>().is_err());
    }
}
