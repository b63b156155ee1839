//! DNS on the wire: a [`Resolver`](resolver::Resolver) that asks exactly
//! one server (`IP:PORT`, never the system's resolver configuration), and
//! RFC 2136 dynamic updates signed with TSIG ([`update`]).
//!
//! Records travel through zmreip as [`Rr`] values and are written in the
//! master-file presentation form (`mail.example.test. 300 IN A 192.0.2.10`),
//! which is also how plans hold whole RRsets.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{Error, Result};
use zone::parse;

pub mod resolver;
pub mod spf;
pub mod update;
pub mod zone;

pub use hickory_proto::rr::RecordType;
pub use resolver::{Answer, Resolver};

/// Parses a server given as `IP`, `IP:PORT` or `[IPv6]:PORT` (port 53
/// when not given).
pub fn parse_server(s: &str) -> std::result::Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "`{s}` is not a server address (expected IP, IP:PORT or [IPv6]:PORT, e.g. 127.0.0.1:5353)"
    ))
}

/// A resource record: owner (absolute, lower case, with the trailing
/// dot), TTL and data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rr {
    pub name: String,
    pub ttl: u32,
    pub data: Rdata,
}

/// Record data of the types zmreip reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rdata {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// The character-strings of a TXT record, as bytes.
    Txt(Vec<Vec<u8>>),
    /// An absolute name.
    Ptr(String),
    Cname(String),
    Mx(u16, String),
    /// Anything else: type name and presentation form (read only).
    Other(String, String),
}

impl Rdata {
    /// The record type's name (`A`, `AAAA`, `TXT`, ...).
    pub fn type_name(&self) -> &str {
        match self {
            Rdata::A(_) => "A",
            Rdata::Aaaa(_) => "AAAA",
            Rdata::Txt(_) => "TXT",
            Rdata::Ptr(_) => "PTR",
            Rdata::Cname(_) => "CNAME",
            Rdata::Mx(..) => "MX",
            Rdata::Other(t, _) => t,
        }
    }

    /// The address of an A or AAAA record.
    pub fn addr(&self) -> Option<IpAddr> {
        match self {
            Rdata::A(a) => Some(IpAddr::V4(*a)),
            Rdata::Aaaa(a) => Some(IpAddr::V6(*a)),
            _ => None,
        }
    }

    /// A TXT record's strings joined (RFC 7208 §3.3), if it is UTF-8.
    pub fn txt_joined(&self) -> Option<String> {
        match self {
            Rdata::Txt(parts) => String::from_utf8(parts.concat()).ok(),
            _ => None,
        }
    }
}

impl fmt::Display for Rdata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rdata::A(a) => write!(f, "{a}"),
            Rdata::Aaaa(a) => write!(f, "{a}"),
            Rdata::Ptr(n) | Rdata::Cname(n) => write!(f, "{n}"),
            Rdata::Mx(p, n) => write!(f, "{p} {n}"),
            Rdata::Other(_, s) => write!(f, "{s}"),
            Rdata::Txt(parts) => {
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    f.write_str("\"")?;
                    for &b in p {
                        match b {
                            b'"' | b'\\' => write!(f, "\\{}", char::from(b))?,
                            0x20..=0x7e => write!(f, "{}", char::from(b))?,
                            _ => write!(f, "\\{b:03}")?,
                        }
                    }
                    f.write_str("\"")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Rr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} IN {} {}",
            self.name,
            self.ttl,
            self.data.type_name(),
            self.data
        )
    }
}

impl Rr {
    /// Reads a record in presentation form with an absolute owner and an
    /// explicit TTL: `mail.example.test. 300 IN A 192.0.2.10`.
    pub fn parse(s: &str) -> Result<Rr> {
        let bad = |why: &str| {
            Error::other(
                format!("`{s}` is not a record zmreip can send: {why}"),
                "write records as `NAME. TTL IN TYPE DATA` with an absolute name (this is how plans hold them)",
            )
        };
        let entries = parse::entries("record", s).map_err(|_| bad("it does not parse"))?;
        let [entry] = entries.as_slice() else {
            return Err(bad("expected exactly one record"));
        };
        let t = &entry.toks;
        if entry.blank_owner || t.len() < 4 {
            return Err(bad("owner, TTL, class, type and data are all needed"));
        }
        let name = t[0].raw.to_ascii_lowercase();
        if !name.ends_with('.') {
            return Err(bad("the owner name must be absolute (end with a dot)"));
        }
        let ttl = parse::ttl(&t[1].raw).ok_or_else(|| bad("the TTL is missing"))?;
        if !t[2].raw.eq_ignore_ascii_case("IN") {
            return Err(bad("only class IN is supported"));
        }
        let rtype = t[3].raw.to_ascii_uppercase();
        let rd = &t[4..];
        let one = || -> Result<&str> {
            match rd {
                [x] => Ok(x.raw.as_str()),
                _ => Err(bad("expected one data field")),
            }
        };
        let abs = |n: &str| -> Result<String> {
            let n = n.to_ascii_lowercase();
            if n.ends_with('.') {
                Ok(n)
            } else {
                Err(bad("names in the data must be absolute"))
            }
        };
        let data = match rtype.as_str() {
            "A" => Rdata::A(one()?.parse().map_err(|_| bad("not an IPv4 address"))?),
            "AAAA" => Rdata::Aaaa(one()?.parse().map_err(|_| bad("not an IPv6 address"))?),
            "PTR" => Rdata::Ptr(abs(one()?)?),
            "CNAME" => Rdata::Cname(abs(one()?)?),
            "MX" => match rd {
                [p, n] => Rdata::Mx(
                    p.raw.parse().map_err(|_| bad("not an MX preference"))?,
                    abs(&n.raw)?,
                ),
                _ => return Err(bad("MX needs a preference and a name")),
            },
            "TXT" => {
                if rd.is_empty() {
                    return Err(bad("TXT needs at least one string"));
                }
                Rdata::Txt(rd.iter().map(parse::Tok::value).collect())
            }
            other => return Err(bad(&format!("type {other} is not supported"))),
        };
        Ok(Rr { name, ttl, data })
    }
}

/// Converts hickory record data to ours.
pub(crate) fn from_hickory(r: &hickory_proto::rr::Record) -> Rr {
    use hickory_proto::rr::RData;
    let data = match &r.data {
        RData::A(a) => Rdata::A(a.0),
        RData::AAAA(a) => Rdata::Aaaa(a.0),
        RData::TXT(t) => Rdata::Txt(t.txt_data.iter().map(|s| s.to_vec()).collect()),
        RData::PTR(p) => Rdata::Ptr(p.0.to_ascii().to_ascii_lowercase()),
        RData::CNAME(c) => Rdata::Cname(c.0.to_ascii().to_ascii_lowercase()),
        RData::MX(m) => Rdata::Mx(m.preference, m.exchange.to_ascii().to_ascii_lowercase()),
        other => Rdata::Other(r.record_type().to_string(), other.to_string()),
    };
    Rr {
        name: r.name.to_ascii().to_ascii_lowercase(),
        ttl: r.ttl,
        data,
    }
}

/// Converts our record data to hickory's (types zmreip writes only).
pub(crate) fn to_hickory(d: &Rdata) -> Result<hickory_proto::rr::RData> {
    use hickory_proto::rr::{RData, rdata};
    let name = |n: &str| {
        hickory_proto::rr::Name::from_ascii(n)
            .map_err(|e| Error::other(format!("`{n}` is not a domain name: {e}"), "check the plan"))
    };
    Ok(match d {
        Rdata::A(a) => RData::A(rdata::A(*a)),
        Rdata::Aaaa(a) => RData::AAAA(rdata::AAAA(*a)),
        Rdata::Txt(parts) => RData::TXT(rdata::TXT::from_bytes(
            parts.iter().map(Vec::as_slice).collect(),
        )),
        Rdata::Ptr(n) => RData::PTR(rdata::PTR(name(n)?)),
        Rdata::Cname(n) => RData::CNAME(rdata::CNAME(name(n)?)),
        Rdata::Mx(p, n) => RData::MX(rdata::MX::new(*p, name(n)?)),
        Rdata::Other(t, _) => {
            return Err(Error::other(
                format!("zmreip does not write {t} records"),
                "change that record by hand",
            ));
        }
    })
}

/// An absolute, lower-case name with the trailing dot.
pub fn fqdn(name: &str) -> String {
    let mut n = name.trim().to_ascii_lowercase();
    if !n.ends_with('.') {
        n.push('.');
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers() {
        let table: &[(&str, Option<&str>)] = &[
            ("127.0.0.1:5353", Some("127.0.0.1:5353")),
            ("127.0.0.1", Some("127.0.0.1:53")),
            ("[::1]:5300", Some("[::1]:5300")),
            ("::1", Some("[::1]:53")),
            ("[::1]", Some("[::1]:53")),
            ("localhost:53", None),
            ("127.0.0.1:99999", None),
            ("", None),
        ];
        for (s, want) in table {
            assert_eq!(
                parse_server(s).ok().map(|a| a.to_string()).as_deref(),
                *want,
                "{s}"
            );
        }
    }

    #[test]
    fn records_round_trip() {
        let table = [
            "mail.example.test. 300 IN A 192.0.2.10",
            "mail.example.test. 300 IN AAAA 2001:db8::10",
            "example.test. 3600 IN TXT \"v=spf1 ip4:192.0.2.10 \" \"-all\"",
            "example.test. 60 IN TXT \"quote \\\" and \\\\ and \\009\"",
            "10.2.0.192.in-addr.arpa. 86400 IN PTR mail.example.test.",
            "example.test. 300 IN MX 10 mail.example.test.",
            "www.example.test. 300 IN CNAME mail.example.test.",
        ];
        for s in table {
            let rr = Rr::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(rr.to_string(), s);
            let h = to_hickory(&rr.data).unwrap();
            let back = hickory_proto::rr::Record::from_rdata(
                hickory_proto::rr::Name::from_ascii(&rr.name).unwrap(),
                rr.ttl,
                h,
            );
            assert_eq!(from_hickory(&back), rr, "{s}");
        }
    }

    #[test]
    fn bad_records() {
        let table: &[(&str, &str)] = &[
            ("mail 300 IN A 192.0.2.10", "absolute"),
            ("mail. IN A 192.0.2.10", "TTL"),
            ("mail. 300 CH A 192.0.2.10", "class IN"),
            ("mail. 300 IN A 2001:db8::1", "IPv4"),
            ("mail. 300 IN PTR relative", "absolute"),
            ("mail. 300 IN SRV 0 0 25 x.", "not supported"),
            ("mail. 300 IN TXT", "at least one string"),
            ("mail. 300 IN", "owner, TTL"),
            ("a. 1 IN A 1.2.3.4\nb. 1 IN A 1.2.3.4", "exactly one"),
        ];
        for (s, msg) in table {
            let e = Rr::parse(s).unwrap_err().to_string();
            assert!(e.contains(msg), "{s}: {e}");
        }
    }
}
