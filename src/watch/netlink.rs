//! Interface addresses, followed through rtnetlink events (RTM_NEWADDR,
//! RTM_DELADDR, and link and route changes when the interface is the one
//! of the default route): nothing is polled.
//!
//! An event only says that something changed. After a burst of events
//! has been quiet for the settle time, the kernel's tables are read once
//! (a dump) and the address is chosen again from them ([`choose`]); so a
//! lost or reordered event cannot leave a stale view, and a flap (A → B →
//! A inside the settle time) is never seen at all.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use futures::StreamExt;
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressScope};
use netlink_packet_route::link::LinkAttribute;
use netlink_packet_route::route::{RouteAttribute, RouteHeader, RouteType};
use rtnetlink::{Handle, MulticastGroup, RouteMessageBuilder};
use tokio::sync::mpsc;

use super::{Detected, Family, Seen, log};

/// One address of an interface, as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix: u8,
    /// Universe (global) scope: the only one published.
    pub global: bool,
    /// IFA_F_* flags.
    pub flags: AddressFlags,
}

/// The kernel's view, read at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Interface index → name.
    pub links: BTreeMap<u32, String>,
    /// Addresses in the kernel's order.
    pub addrs: Vec<IfAddr>,
    /// The interface of the default route, per family.
    pub default_v4: Option<u32>,
    pub default_v6: Option<u32>,
}

/// Which interface a family follows: by name, or that of the default
/// route.
pub type Spec = (Family, Option<String>);

/// Whether an address may be published: global scope, not link-local,
/// usable (not tentative, failed or deprecated) and, for IPv6, not a
/// temporary (privacy) address, which the kernel flags as "secondary".
fn usable(a: &IfAddr) -> bool {
    let link_local = match a.addr {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    };
    let bad = AddressFlags::Tentative | AddressFlags::Dadfailed | AddressFlags::Deprecated;
    let temporary = a.addr.is_ipv6() && a.flags.contains(AddressFlags::Secondary);
    a.global && !link_local && !a.addr.is_loopback() && !a.flags.intersects(bad) && !temporary
}

/// A private address (RFC 1918, shared 100.64/10, IPv6 ULA): published
/// only when the interface has no other.
fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private() || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => v6.is_unique_local(),
    }
}

/// The interface a spec means now, by index and name.
pub fn interface(snap: &Snapshot, family: Family, name: Option<&str>) -> Option<(u32, String)> {
    let index = match name {
        Some(n) => {
            return snap
                .links
                .iter()
                .find(|(_, l)| *l == n)
                .map(|(i, l)| (*i, l.clone()));
        }
        None => match family {
            Family::V4 => snap.default_v4.or(snap.default_v6),
            Family::V6 => snap.default_v6.or(snap.default_v4),
        },
    }?;
    snap.links.get(&index).map(|n| (index, n.clone()))
}

/// The address of `family` to publish for the interface `name` (`None`:
/// that of the default route). The address chosen before (`prev`) stays
/// while it is usable, so adding a new address before removing the old
/// one moves nothing until the old one goes. Otherwise: public before
/// private, an IPv4 primary before a secondary, then the kernel's order.
pub fn choose(
    snap: &Snapshot,
    family: Family,
    name: Option<&str>,
    prev: Option<IpAddr>,
) -> Option<Seen> {
    let (index, ifname) = interface(snap, family, name)?;
    let candidates: Vec<&IfAddr> = snap
        .addrs
        .iter()
        .filter(|a| a.index == index && Family::of(a.addr) == family && usable(a))
        .collect();
    let best = candidates
        .iter()
        .find(|a| Some(a.addr) == prev)
        .or_else(|| {
            candidates.iter().min_by_key(|a| {
                (
                    private(a.addr),
                    a.addr.is_ipv4() && a.flags.contains(AddressFlags::Secondary),
                )
            })
        })?;
    Some(Seen {
        addr: best.addr,
        prefix: Some(best.prefix),
        via: format!("interface {ifname}"),
        local: true,
    })
}

/// Reads links, addresses and (when `routes`) default routes.
pub async fn snapshot(handle: &Handle, routes: bool) -> Result<Snapshot, rtnetlink::Error> {
    let mut snap = Snapshot::default();
    let mut links = handle.link().get().execute();
    while let Some(l) = links.next().await {
        let l = l?;
        if let Some(name) = l.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        }) {
            snap.links.insert(l.header.index, name);
        }
    }
    let mut addrs = handle.address().get().execute();
    while let Some(a) = addrs.next().await {
        let a = a?;
        let mut addr = None;
        let mut local = None;
        let mut flags = AddressFlags::from_bits_retain(u32::from(a.header.flags.bits()));
        for attr in &a.attributes {
            match attr {
                AddressAttribute::Address(ip) => addr = Some(*ip),
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Flags(f) => flags = *f,
                _ => {}
            }
        }
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the
        // peer's on point-to-point links (PPP, the usual dynamic case).
        if let Some(ip) = local.or(addr) {
            snap.addrs.push(IfAddr {
                index: a.header.index,
                addr: ip,
                prefix: a.header.prefix_len,
                global: a.header.scope == AddressScope::Universe,
                flags,
            });
        }
    }
    if routes {
        snap.default_v4 = default_route(
            handle,
            RouteMessageBuilder::<std::net::Ipv4Addr>::new().build(),
        )
        .await?;
        snap.default_v6 = default_route(
            handle,
            RouteMessageBuilder::<std::net::Ipv6Addr>::new().build(),
        )
        .await?;
    }
    Ok(snap)
}

/// The output interface of the best default route in the main table.
async fn default_route(
    handle: &Handle,
    query: netlink_packet_route::route::RouteMessage,
) -> Result<Option<u32>, rtnetlink::Error> {
    let mut best: Option<(u32, u32)> = None;
    let mut routes = handle.route().get(query).execute();
    while let Some(r) = routes.next().await {
        let r = r?;
        let table = r
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(u32::from(r.header.table));
        if r.header.destination_prefix_length != 0
            || table != u32::from(RouteHeader::RT_TABLE_MAIN)
            || r.header.kind != RouteType::Unicast
        {
            continue;
        }
        let mut oif = None;
        let mut metric = 0;
        for a in &r.attributes {
            match a {
                RouteAttribute::Oif(i) => oif = Some(*i),
                RouteAttribute::Priority(p) => metric = *p,
                RouteAttribute::MultiPath(hops) => {
                    oif = oif.or(hops.first().map(|h| h.interface_index));
                }
                _ => {}
            }
        }
        if let Some(i) = oif
            && best.is_none_or(|(m, _)| metric < m)
        {
            best = Some((metric, i));
        }
    }
    Ok(best.map(|(_, i)| i))
}

/// Every address the kernel has on an interface of the network namespace
/// zmreip runs in (one rtnetlink dump, bounded by `timeout`).
pub fn kernel_addresses(timeout: Duration) -> Result<Vec<IpAddr>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the netlink reader: {e}"))?;
    rt.block_on(async {
        let (conn, handle, _) = rtnetlink::new_connection()
            .map_err(|e| format!("cannot open a netlink socket: {e}"))?;
        let task = tokio::spawn(conn);
        let snap = tokio::time::timeout(timeout, snapshot(&handle, false)).await;
        task.abort();
        match snap {
            Ok(Ok(s)) => Ok(s.addrs.into_iter().map(|a| a.addr).collect()),
            Ok(Err(e)) => Err(format!("cannot read the interfaces: {e}")),
            Err(_) => Err("the kernel did not list the interfaces in time".into()),
        }
    })
}

/// Reads the kernel's tables once and chooses each spec's address.
pub async fn detect_once(specs: &[Spec]) -> Result<Vec<Detected>, String> {
    let (conn, handle, _) =
        rtnetlink::new_connection().map_err(|e| format!("cannot open a netlink socket: {e}"))?;
    let task = tokio::spawn(conn);
    let routes = specs.iter().any(|(_, n)| n.is_none());
    let snap = snapshot(&handle, routes).await;
    task.abort();
    let snap = snap.map_err(|e| format!("cannot read the interfaces: {e}"))?;
    Ok(specs
        .iter()
        .map(|(family, name)| Detected {
            family: *family,
            seen: choose(&snap, *family, name.as_deref(), None),
            note: missing_note(&snap, *family, name.as_deref()),
        })
        .collect())
}

/// Why nothing was found, when nothing was.
fn missing_note(snap: &Snapshot, family: Family, name: Option<&str>) -> Option<String> {
    match (interface(snap, family, name), name) {
        (None, Some(n)) => Some(format!("interface {n} does not exist (yet)")),
        (None, None) => Some("there is no default route".into()),
        (Some((_, n)), _) => Some(format!("interface {n} has no global {family} address")),
    }
}

/// Follows the specs until the receiver goes away: sends each family's
/// address at start and whenever it changes.
pub async fn follow(specs: Vec<Spec>, settle: Duration, tx: mpsc::UnboundedSender<Detected>) {
    let routes = specs.iter().any(|(_, n)| n.is_none());
    let mut groups = vec![
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
        MulticastGroup::Link,
    ];
    if routes {
        groups.extend([MulticastGroup::Ipv4Route, MulticastGroup::Ipv6Route]);
    }
    let mut chosen: BTreeMap<Family, Option<Seen>> = BTreeMap::new();
    let mut failures = 0u32;
    loop {
        let (conn, handle, mut events) = match rtnetlink::new_multicast_connection(&groups) {
            Ok(c) => c,
            Err(e) => {
                log::error(&format!(
                    "netlink: cannot subscribe to address events: {e}; trying again"
                ));
                failures += 1;
                tokio::time::sleep(Duration::from_secs(u64::from(failures.min(30)))).await;
                continue;
            }
        };
        let task = tokio::spawn(conn);
        log::debug("netlink: subscribed to address, link and route events");
        loop {
            match snapshot(&handle, routes).await {
                Ok(snap) => {
                    failures = 0;
                    for (family, name) in &specs {
                        let prev = chosen.get(family).and_then(|s| s.as_ref().map(|s| s.addr));
                        let seen = choose(&snap, *family, name.as_deref(), prev);
                        if chosen.get(family) != Some(&seen) {
                            let note = seen
                                .is_none()
                                .then(|| missing_note(&snap, *family, name.as_deref()))
                                .flatten();
                            chosen.insert(*family, seen.clone());
                            if tx
                                .send(Detected {
                                    family: *family,
                                    seen,
                                    note,
                                })
                                .is_err()
                            {
                                task.abort();
                                return;
                            }
                        }
                    }
                }
                Err(e) => log::error(&format!("netlink: cannot read the interfaces: {e}")),
            }
            // Wait for an event, then for the burst to end.
            let Some((first, _)) = events.next().await else {
                break;
            };
            log::debug(&format!("netlink: {}", describe(&first.payload)));
            while let Ok(Some((m, _))) = tokio::time::timeout(settle, events.next()).await {
                log::debug(&format!("netlink: {}", describe(&m.payload)));
            }
        }
        task.abort();
        failures += 1;
        log::error("netlink: the event socket closed; subscribing again");
        tokio::time::sleep(Duration::from_secs(u64::from(failures.min(30)))).await;
    }
}

/// An event in words, for debug lines.
fn describe(p: &NetlinkPayload<RouteNetlinkMessage>) -> String {
    let addr = |m: &netlink_packet_route::address::AddressMessage| {
        m.attributes
            .iter()
            .find_map(|a| match a {
                AddressAttribute::Local(ip) | AddressAttribute::Address(ip) => Some(*ip),
                _ => None,
            })
            .map(|ip| format!("{ip}/{} on index {}", m.header.prefix_len, m.header.index))
            .unwrap_or_default()
    };
    match p {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => {
            format!("new address {}", addr(m))
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) => {
            format!("deleted address {}", addr(m))
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => {
            format!("link {} changed", m.header.index)
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(m)) => {
            format!("link {} removed", m.header.index)
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(_)) => "route added".into(),
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelRoute(_)) => "route removed".into(),
        NetlinkPayload::Overrun(_) => "overrun (events lost; the tables are read again)".into(),
        _ => "other message".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(index: u32, addr: &str, prefix: u8, flags: AddressFlags) -> IfAddr {
        IfAddr {
            index,
            addr: addr.parse().unwrap(),
            prefix,
            global: true,
            flags,
        }
    }

    fn snap(addrs: Vec<IfAddr>) -> Snapshot {
        Snapshot {
            links: [
                (1, "lo".to_string()),
                (2, "eth0".to_string()),
                (3, "eth1".to_string()),
            ]
            .into(),
            addrs,
            default_v4: Some(2),
            default_v6: None,
        }
    }

    fn pick(s: &Snapshot, f: Family, name: Option<&str>, prev: Option<&str>) -> Option<String> {
        choose(s, f, name, prev.map(|p| p.parse().unwrap()))
            .map(|s| format!("{}/{} {}", s.addr, s.prefix.unwrap(), s.via))
    }

    const NONE: AddressFlags = AddressFlags::empty();

    #[test]
    fn choice_table() {
        let mut link_local = a(2, "fe80::1", 64, NONE);
        link_local.global = false;
        let mut host_scope = a(2, "192.0.2.99", 32, NONE);
        host_scope.global = false;
        let s = snap(vec![
            a(1, "127.0.0.1", 8, NONE),
            a(2, "10.0.0.5", 24, NONE),
            a(2, "192.0.2.10", 24, NONE),
            a(2, "192.0.2.11", 24, AddressFlags::Secondary),
            host_scope,
            a(2, "169.254.3.4", 16, NONE),
            link_local,
            a(2, "fd00::5", 64, NONE),
            // A temporary (privacy) address: IFA_F_SECONDARY on IPv6.
            a(2, "2001:db8::1", 64, AddressFlags::Secondary),
            a(2, "2001:db8::dead", 64, AddressFlags::Tentative),
            a(2, "2001:db8::beef", 64, AddressFlags::Deprecated),
            a(2, "2001:db8::10", 64, AddressFlags::Permanent),
            a(3, "198.51.100.7", 24, NONE),
        ]);
        // (family, interface, previous choice, expected choice)
        type Row<'a> = (Family, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let table: &[Row] = &[
            // Public before private; a primary before a secondary.
            (Family::V4, None, None, Some("192.0.2.10/24 interface eth0")),
            // The previous choice stays while usable (make before break).
            (
                Family::V4,
                None,
                Some("10.0.0.5"),
                Some("10.0.0.5/24 interface eth0"),
            ),
            (
                Family::V4,
                None,
                Some("192.0.2.11"),
                Some("192.0.2.11/24 interface eth0"),
            ),
            // A previous address that is gone does not stay.
            (
                Family::V4,
                None,
                Some("192.0.2.1"),
                Some("192.0.2.10/24 interface eth0"),
            ),
            // 192.0.2.1 is not 192.0.2.10's prefix: no textual matching.
            (
                Family::V4,
                Some("eth1"),
                Some("192.0.2.10"),
                Some("198.51.100.7/24 interface eth1"),
            ),
            // Temporary, tentative, link-local and ULA lose to the stable one.
            (
                Family::V6,
                Some("eth0"),
                None,
                Some("2001:db8::10/64 interface eth0"),
            ),
            (
                Family::V6,
                Some("eth0"),
                Some("2001:db8::1"),
                Some("2001:db8::10/64 interface eth0"),
            ),
            (
                Family::V6,
                Some("eth0"),
                Some("2001:db8::dead"),
                Some("2001:db8::10/64 interface eth0"),
            ),
            (
                Family::V6,
                Some("eth0"),
                Some("2001:db8::beef"),
                Some("2001:db8::10/64 interface eth0"),
            ),
            (Family::V6, Some("eth1"), None, None),
            (Family::V4, Some("eth9"), None, None),
            (Family::V4, Some("lo"), None, None),
            // No IPv6 default route: the IPv4 one's interface.
            (
                Family::V6,
                None,
                None,
                Some("2001:db8::10/64 interface eth0"),
            ),
        ];
        for (f, name, prev, want) in table {
            assert_eq!(
                pick(&s, *f, *name, *prev).as_deref(),
                *want,
                "{f} {name:?} prev {prev:?}"
            );
        }
    }

    #[test]
    fn private_only_interface_publishes_its_private_address() {
        let s = snap(vec![
            a(2, "10.77.1.25", 24, NONE),
            a(2, "fd00::25", 64, NONE),
            a(2, "169.254.0.9", 16, NONE),
        ]);
        assert_eq!(
            pick(&s, Family::V4, Some("eth0"), None).as_deref(),
            Some("10.77.1.25/24 interface eth0")
        );
        assert_eq!(
            pick(&s, Family::V6, Some("eth0"), None).as_deref(),
            Some("fd00::25/64 interface eth0")
        );
        // 100.64/10 is shared address space; 100.128.0.1 is not in it.
        let s = snap(vec![
            a(2, "100.64.0.1", 10, NONE),
            a(2, "100.128.0.1", 24, NONE),
        ]);
        assert_eq!(
            pick(&s, Family::V4, None, None).as_deref(),
            Some("100.128.0.1/24 interface eth0")
        );
    }

    #[test]
    fn no_default_route() {
        let mut s = snap(vec![a(2, "192.0.2.10", 24, NONE)]);
        s.default_v4 = None;
        assert_eq!(pick(&s, Family::V4, None, None), None);
        assert_eq!(
            missing_note(&s, Family::V4, None).as_deref(),
            Some("there is no default route")
        );
        assert_eq!(
            missing_note(&s, Family::V4, Some("eth9")).as_deref(),
            Some("interface eth9 does not exist (yet)")
        );
        assert_eq!(
            missing_note(&s, Family::V6, Some("eth0")).as_deref(),
            Some("interface eth0 has no global ipv6 address")
        );
    }
}
