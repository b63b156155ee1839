//! Where the PTR record of an address lives among the zones served here,
//! RFC 2317 classless delegations included.
//!
//! A provider that hands out less than a /24 delegates a zone named for
//! the block (`32/28.77.22.172.in-addr.arpa`, also spelled `32-28`,
//! `32-47` or `sub32`), and its /24 zone holds a CNAME for each address
//! of the block pointing into it (`35 CNAME 35.32/28`, usually written
//! with `$GENERATE`). The PTR of 172.22.77.35 is then
//! `35.32/28.77.22.172.in-addr.arpa.`. The CNAMEs say so where the /24
//! zone is served here; where it is not, RFC 2317's convention does: the
//! first label is the address's last octet, and the block is what the
//! zone's label says.

use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;

use super::generate;
use super::parse::{absolute, in_zone, reverse_addr};
use super::{Zone, load};
use crate::addr::reverse_name;
use crate::error::Result;
use crate::host::Host;

/// The zone serving `name`: the longest zone name holding it, in the same
/// view when there are views. A signed copy is never where records go:
/// its unsigned source is.
pub fn zone_for<'a>(name: &str, universe: &'a [Zone], view: Option<&str>) -> Option<&'a Zone> {
    universe
        .iter()
        .filter(|z| in_zone(name, &z.name))
        .filter(|z| !matches!(z.signing, super::Signing::Signed { .. }))
        .filter(|z| view.is_none() || z.view.is_none() || z.view.as_deref() == view)
        .max_by_key(|z| (z.name.len(), z.view.as_deref() == view))
}

/// A classless zone name: its first label and the /24 reverse name under
/// it (`("32/28", [172, 22, 77])` for `32/28.77.22.172.in-addr.arpa.`).
pub fn classless(zone: &str) -> Option<(&str, [u8; 3])> {
    let rest = zone.strip_suffix(".in-addr.arpa.")?;
    let labels: Vec<&str> = rest.split('.').collect();
    let [label, c, b, a] = labels.as_slice() else {
        return None;
    };
    if octet(label).is_some() || label.is_empty() {
        return None;
    }
    Some((label, [octet(a)?, octet(b)?, octet(c)?]))
}

/// A decimal octet as a reverse name writes it (no leading zero).
fn octet(s: &str) -> Option<u8> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

/// The last octets a classless label names, when it says: `N/P` and
/// `N-P` (RFC 2317 §4's block of prefix P starting at N), `N-M` (the
/// octets N to M). Where `N-M` reads both ways (`0-26`: the octets 0 to
/// 26, or the /26 from 0), only the octets both readings hold count.
pub fn label_range(label: &str) -> Option<RangeInclusive<u8>> {
    let (sep, (a, b)) = ['/', '-']
        .iter()
        .find_map(|s| label.split_once(*s).map(|p| (*s, p)))?;
    let (a, b) = (octet(a)?, octet(b)?);
    let block = (25..=32).contains(&b).then(|| {
        let size = 1u16 << (32 - b);
        (u16::from(a) % size == 0)
            .then(|| a..=u8::try_from(u16::from(a) + size - 1).unwrap_or(u8::MAX))
    });
    match (sep, block.flatten()) {
        ('/', block) => block,
        (_, Some(block)) if b <= a => Some(block),
        (_, Some(block)) => Some(a..=b.min(*block.end())),
        (_, None) if b > a => Some(a..=b),
        _ => None,
    }
}

/// PTR placement over the zones served here.
pub struct Reverse<'a> {
    universe: &'a [Zone],
    /// CNAMEs of the served zones above classless zones, written or
    /// `$GENERATE`d: (owner, target), absolute, lower case.
    cnames: Vec<(String, String)>,
}

impl<'a> Reverse<'a> {
    /// Reads the CNAMEs of every served zone that holds the /24 of a
    /// served classless zone.
    pub fn new(host: &Host, universe: &'a [Zone]) -> Result<Reverse<'a>> {
        let mut cnames = Vec::new();
        let mut read: Vec<&str> = Vec::new();
        for z in universe {
            let Some((_, [a, b, c])) = classless(&z.name) else {
                continue;
            };
            let parent_name = format!("{c}.{b}.{a}.in-addr.arpa.");
            let Some(parent) = zone_for(&parent_name, universe, z.view.as_deref()) else {
                continue;
            };
            if read.contains(&parent.file.as_str()) || classless(&parent.name).is_some() {
                continue;
            }
            read.push(&parent.file);
            let Some(text) = host.read(&parent.file)? else {
                continue;
            };
            let loaded = load(host, parent, &text)?;
            for r in loaded.records.iter().filter(|r| r.rtype == "CNAME") {
                if let Some(t) = r.rdata.first().and_then(|t| absolute(&t.raw, &r.origin)) {
                    cnames.push((r.owner.clone(), t));
                }
            }
            for g in &loaded.generates {
                for r in generate::expand(g).unwrap_or_default() {
                    if r.rtype == "CNAME"
                        && let Some(t) = absolute(&r.rdata, &g.origin)
                    {
                        cnames.push((r.owner, t.to_ascii_lowercase()));
                    }
                }
            }
        }
        Ok(Reverse { universe, cnames })
    }

    /// The address a PTR owner name stands for: a full reverse name, the
    /// target of a served CNAME of one, or a name in a classless zone
    /// whose first label is the last octet.
    pub fn addr_of(&self, owner: &str) -> Option<IpAddr> {
        if let Some(a) = reverse_addr(owner) {
            return Some(a);
        }
        if let Some((o, _)) = self.cnames.iter().find(|(_, t)| t == owner) {
            return reverse_addr(o);
        }
        let (first, zone) = owner.split_once('.')?;
        let (label, [a, b, c]) = classless(zone)?;
        let d = octet(first)?;
        if label_range(label).is_some_and(|r| !r.contains(&d)) {
            return None;
        }
        Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
    }

    /// Where the PTR of `addr` belongs among the zones served here (in
    /// `view`): the zone and the owner name. Through a served CNAME when
    /// there is one, else in a classless zone whose block holds the
    /// address, else at the address's own reverse name.
    pub fn place_of(&self, addr: IpAddr, view: Option<&str>) -> Option<(&'a Zone, String)> {
        let canonical = format!("{}.", reverse_name(addr));
        if let Some((_, t)) = self.cnames.iter().find(|(o, _)| *o == canonical) {
            return zone_for(t, self.universe, view).map(|z| (z, t.clone()));
        }
        if let IpAddr::V4(v) = addr {
            let o = v.octets();
            let block = self.universe.iter().find(|z| {
                classless(&z.name).is_some_and(|(label, parent)| {
                    parent == [o[0], o[1], o[2]]
                        && label_range(label).is_some_and(|r| r.contains(&o[3]))
                }) && zone_for(&z.name, self.universe, view).is_some_and(|f| f.file == z.file)
            });
            if let Some(z) = block {
                return Some((z, format!("{}.{}", o[3], z.name)));
            }
        }
        zone_for(&canonical, self.universe, view).map(|z| (z, canonical))
    }

    /// Whether a served CNAME (written or generated) exists at `owner`.
    pub fn has_cname(&self, owner: &str) -> bool {
        self.cnames.iter().any(|(o, _)| o == owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classless zone's label and /24.
    type Block<'a> = Option<(&'a str, [u8; 3])>;

    #[test]
    fn classless_names_and_their_blocks() {
        let table: &[(&str, Block)] = &[
            (
                "32/28.77.22.172.in-addr.arpa.",
                Some(("32/28", [172, 22, 77])),
            ),
            (
                "sub32.77.22.172.in-addr.arpa.",
                Some(("sub32", [172, 22, 77])),
            ),
            ("77.22.172.in-addr.arpa.", None),
            ("35.77.22.172.in-addr.arpa.", None),
            ("32/28.77.22.in-addr.arpa.", None),
            ("32/28.077.22.172.in-addr.arpa.", None),
            ("x.32/28.77.22.172.in-addr.arpa.", None),
            ("32/28.77.22.172.ip6.arpa.", None),
        ];
        for (name, want) in table {
            assert_eq!(classless(name), *want, "{name}");
        }
        let table: &[(&str, Option<RangeInclusive<u8>>)] = &[
            ("32/28", Some(32..=47)),
            ("32-28", Some(32..=47)),
            ("128/25", Some(128..=255)),
            ("0/26", Some(0..=63)),
            ("32-47", Some(32..=47)),
            // Both readings: octets 0 to 26, or the /26 from 0.
            ("0-26", Some(0..=26)),
            // Not aligned to its prefix: only the range reading.
            ("33/28", None),
            ("40-30", Some(40..=43)),
            ("sub32", None),
            ("32/24", None),
            ("32/33", None),
        ];
        for (label, want) in table {
            assert_eq!(label_range(label), *want, "{label}");
        }
    }
}
