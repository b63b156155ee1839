//! Surface `networkd`: systemd-networkd's `/etc/systemd/network/*.network`
//! (interfaces' addresses and routes) and `*.netdev` (virtual devices:
//! tunnels' and VXLAN's ends, WireGuard peers).
//!
//! Format (systemd.syntax(7), systemd.network(5)): `[Section]` headers,
//! `Key=Value` lines, comment lines starting with `#` or `;`; a line
//! ending in a backslash continues on the next (comment lines between are
//! ignored). A line that is none of these is an error at its line.
//!
//! Values read (the whole file is one block):
//!
//! * `[Network] Address=` and `[Address] Address=` are interface
//!   addresses; `[Address] Broadcast=` is the broadcast address of the
//!   section's address and `Peer=` another host;
//! * `[Network] Gateway=` is the default gateway; `[Route] Gateway=` is a
//!   route's gateway, the default one when the section's `Destination=` is
//!   missing, `0.0.0.0/0` or `::/0` (with `GatewayOnLink=yes` it is
//!   reachable whatever the prefix); `Destination=` is another network and
//!   `PreferredSource=` this host's address;
//! * `DNS=` and `NTP=` (space-separated) are other hosts;
//! * in a `.netdev` file, the device's own end (`[Tunnel]`, `[L2TP]`,
//!   `[VXLAN]`, `[FooOverUDP]` `Local=`) is this host's address and the
//!   far end (`Remote=`, `Peer=`, `Group=`, `[WireGuardPeer] Endpoint=`
//!   as `host:port`, `AllowedIPs=`) other hosts'; a tunnel's keys
//!   (`Key=`, `InputKey=`, `OutputKey=`, which may be written like IPv4
//!   addresses) are never read, nor are secrets;
//! * any other value is text.

use std::ops::Range;

use super::netcfg::syntax::{self, Ini, ini, words};
use super::netcfg::{Doc, Role, Sibling};
use super::{Ctx, FileSurface, IfaceAddr, Surface};
use crate::error::Result;
use crate::model::Report;
use crate::policy::ValueKind;

/// The `networkd` surface.
pub struct Networkd;

const GLOBS: &[&str] = &[
    "/etc/systemd/network/*.network",
    "/etc/systemd/network/*.netdev",
];

const BLOCK: usize = 1;

/// `(section, key, kind)` of plain values of a `.network` file; every
/// word is one value.
const KINDS: &[(&str, &str, ValueKind)] = &[
    ("Network", "DNS", ValueKind::OtherHost),
    ("Network", "NTP", ValueKind::OtherHost),
    ("Address", "Peer", ValueKind::OtherHost),
    ("Route", "Destination", ValueKind::OtherHost),
    ("Route", "PreferredSource", ValueKind::OwnAddress),
];

/// `(section, key, kind)` of the values of a `.netdev` file
/// (systemd.netdev(5)); `None`: never an address, never read.
const NETDEV_KINDS: &[(&str, &str, Option<ValueKind>)] = &[
    ("Tunnel", "Local", Some(ValueKind::OwnAddress)),
    ("Tunnel", "Remote", Some(ValueKind::OtherHost)),
    ("Tunnel", "Key", None),
    ("Tunnel", "InputKey", None),
    ("Tunnel", "OutputKey", None),
    ("L2TP", "Local", Some(ValueKind::OwnAddress)),
    ("L2TP", "Remote", Some(ValueKind::OtherHost)),
    ("VXLAN", "Local", Some(ValueKind::OwnAddress)),
    ("VXLAN", "Remote", Some(ValueKind::OtherHost)),
    ("VXLAN", "Group", Some(ValueKind::OtherHost)),
    ("GENEVE", "Remote", Some(ValueKind::OtherHost)),
    ("FooOverUDP", "Local", Some(ValueKind::OwnAddress)),
    ("FooOverUDP", "Peer", Some(ValueKind::OtherHost)),
    ("WireGuardPeer", "Endpoint", Some(ValueKind::HostPort)),
    ("WireGuardPeer", "AllowedIPs", Some(ValueKind::OtherHost)),
];

/// The kind of value `key` of section `sec` holds, `None` when it is never
/// read.
fn kind_of(netdev: bool, sec: &str, key: &str) -> Option<ValueKind> {
    if netdev {
        return NETDEV_KINDS
            .iter()
            .find(|(s, k, _)| *s == sec && *k == key)
            .map_or(Some(ValueKind::Text), |(_, _, v)| *v);
    }
    Some(
        KINDS
            .iter()
            .find(|(s, k, _)| *s == sec && *k == key)
            .map_or(ValueKind::Text, |(_, _, v)| *v),
    )
}

impl FileSurface for Networkd {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for g in GLOBS {
            out.extend(ctx.host.glob(g)?);
        }
        out.sort();
        Ok(out)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        Ok(parse(path, text)?.analyze(Surface::Networkd, ctx))
    }

    fn interfaces(&self, path: &str, text: &str) -> Result<Vec<IfaceAddr>> {
        Ok(parse(path, text)?.interfaces())
    }
}

/// A section read so far: its name and the values linked at its end.
#[derive(Default)]
struct Section {
    name: String,
    /// `[Address]`: the address item and the `Broadcast=` values.
    address: Option<usize>,
    broadcasts: Vec<(usize, Range<usize>)>,
    /// `[Route]`: the gateway items and whether the route is the default.
    gateways: Vec<usize>,
    destination: Option<bool>,
    on_link: bool,
}

/// How a changed file comes up: networkd reads every `.network` file
/// again on a restart; an existing device keeps its old `.netdev`
/// settings until it is deleted (systemd.netdev(5)), so a changed
/// `.netdev` deletes its device first.
pub fn bring_up(file: &str, text: &str, _line: usize) -> String {
    let restart = "systemctl restart systemd-networkd";
    if !file.ends_with(".netdev") {
        return restart.into();
    }
    let lines = syntax::lines(text);
    let mut section = String::new();
    let mut name = None;
    for entry in ini(file, &lines, &['#', ';'], true).unwrap_or_default() {
        match entry {
            Ini::Section { name: s, .. } => section = s,
            Ini::Pair { key, value } if section == "NetDev" && key == "Name" => {
                name = value
                    .first()
                    .map(|(n, r)| lines[n - 1][r.clone()].to_string())
                    .filter(|v| !v.is_empty());
            }
            Ini::Pair { .. } => {}
        }
    }
    match name {
        Some(n) => format!(
            "{{ networkctl delete {}; {restart}; }}",
            crate::services::shell_quote(&n)
        ),
        None => restart.into(),
    }
}

fn parse<'a>(path: &'a str, text: &'a str) -> Result<Doc<'a>> {
    let netdev = path.ends_with(".netdev");
    let mut doc = Doc::new(path, text);
    let lines = doc.lines().to_vec();
    let mut sec = Section::default();
    for entry in ini(path, &lines, &['#', ';'], true)? {
        let (key, value) = match entry {
            Ini::Section { name, .. } => {
                finish(&mut doc, std::mem::take(&mut sec));
                sec.name = name;
                continue;
            }
            Ini::Pair { key, value } => (key, value),
        };
        // Words never span a continuation: systemd joins lines with a blank.
        let ws: Vec<(usize, Range<usize>)> = value
            .iter()
            .flat_map(|(n, r)| {
                words(lines[n - 1], r.clone())
                    .into_iter()
                    .map(move |w| (*n, w))
            })
            .collect();
        if syntax::is_secret_key(&key) {
            continue;
        }
        match (sec.name.as_str(), key.as_str()) {
            _ if netdev => {
                if let Some(kind) = kind_of(true, &sec.name, &key) {
                    for (n, r) in ws {
                        doc.push(n, r, Role::Value(kind), BLOCK);
                    }
                }
            }
            ("Network" | "Address", "Address") => {
                // `[Network]` takes `Address=` again for another address
                // (an `[Address]` section holds one).
                let alone = ws.len() == 1 && sec.name == "Network";
                for (n, r) in ws {
                    let i = doc.push(n, r, Role::Address, BLOCK);
                    if sec.name == "Address" {
                        sec.address = sec.address.or(i);
                    }
                    if let Some(i) = i.filter(|_| alone) {
                        doc.set_sibling(i, Sibling::Line);
                    }
                }
            }
            ("Address", "Broadcast") => sec.broadcasts.extend(ws),
            ("Network", "Gateway") => {
                for (n, r) in ws {
                    doc.push(n, r, Role::Gateway { default: true }, BLOCK);
                }
            }
            ("Route", "Gateway") => {
                for (n, r) in ws {
                    if let Some(i) = doc.push(n, r, Role::Gateway { default: false }, BLOCK) {
                        sec.gateways.push(i);
                    }
                }
            }
            (s, k) => {
                if s == "Route" && k.eq_ignore_ascii_case("GatewayOnLink") {
                    sec.on_link = ws.iter().any(|(n, r)| {
                        matches!(&lines[n - 1][r.clone()], "yes" | "true" | "1" | "on")
                    });
                }
                if (s, k) == ("Route", "Destination") {
                    sec.destination =
                        Some(ws.iter().any(|(n, r)| {
                            matches!(&lines[n - 1][r.clone()], "0.0.0.0/0" | "::/0")
                        }));
                }
                let kind = kind_of(false, s, k).unwrap_or(ValueKind::Text);
                for (n, r) in ws {
                    doc.push(n, r, Role::Value(kind), BLOCK);
                }
            }
        }
    }
    finish(&mut doc, sec);
    doc.check()?;
    Ok(doc)
}

/// Links a finished section's values: `[Address] Broadcast=` to its
/// address, `[Route] Gateway=` as default when the route is.
fn finish(doc: &mut Doc, sec: Section) {
    if let Some(of) = sec.address {
        for (n, r) in sec.broadcasts {
            doc.push(
                n,
                r,
                Role::Network {
                    of,
                    broadcast: true,
                },
                BLOCK,
            );
        }
    }
    let default = sec.destination.unwrap_or(true);
    for g in sec.gateways {
        doc.set_role(g, Role::Gateway { default });
        if sec.on_link {
            doc.set_on_link(g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::netcfg;
    use crate::surface::netcfg::testing::{Case, check, never_panics, plan, scan, window};

    const PATH: &str = "/etc/systemd/network/10-eth0.network";
    const V4: &[(&str, &str)] = &[("172.20.14.25/24", "10.40.7.131/24")];

    const FILE: &str = "\
[Match]
Name=eth0

[Network]
# mail host, was 172.20.14.25
Address=172.20.14.25/24
Address=2001:db8:14::25/64
Gateway=172.20.14.1
Gateway=2001:db8:14::1
DNS=172.20.14.2 172.20.14.25 \\
    2001:db8:14::53

[Address]
Address=172.20.14.250/32
Broadcast=172.20.14.255

[Route]
Gateway=172.20.14.254
Destination=192.0.2.0/24
PreferredSource=172.20.14.25
";

    #[test]
    fn window_repeats_a_network_address_line() {
        let opened = window(Surface::Networkd, PATH, FILE, V4);
        assert_eq!(
            opened,
            FILE.replace(
                "Address=172.20.14.25/24\n",
                "Address=172.20.14.25/24\nAddress=10.40.7.131/24\n"
            )
        );
        // An [Address] section holds one address: runtime only, said so.
        let text = "[Address]\nAddress=172.20.14.25/24\n";
        assert_eq!(window(Surface::Networkd, PATH, text, V4), text);
        let r = netcfg::testing::plan_in(
            Surface::Networkd,
            PATH,
            text,
            V4,
            crate::policy::Role::Window(crate::policy::Phase::Open),
        )
        .unwrap();
        assert_eq!(r.warnings[0].code.as_str(), "window-address-runtime-only");
    }

    #[test]
    fn plans() {
        let cases = &[
            Case {
                name: "address moves; DNS .2 stays, .25 moves (continued line); gateways warned",
                text: FILE,
                moves: V4,
                gateway: None,
                changes: &[
                    (6, "Address=10.40.7.131/24"),
                    (10, "DNS=172.20.14.2 10.40.7.131 \\"),
                    (20, "PreferredSource=10.40.7.131"),
                ],
                warnings: &["gateway-outside-network", "route-via-outside-network"],
            },
            Case {
                name: "--gateway replaces [Network] Gateway only",
                text: FILE,
                moves: V4,
                gateway: Some("10.40.7.1"),
                changes: &[
                    (6, "Address=10.40.7.131/24"),
                    (8, "Gateway=10.40.7.1"),
                    (10, "DNS=172.20.14.2 10.40.7.131 \\"),
                    (20, "PreferredSource=10.40.7.131"),
                ],
                warnings: &["route-via-outside-network"],
            },
            Case {
                name: "gateway inside the new network stays",
                text: FILE,
                moves: &[("172.20.14.25/24", "172.20.14.40/24")],
                gateway: Some("172.20.14.9"),
                changes: &[
                    (6, "Address=172.20.14.40/24"),
                    (10, "DNS=172.20.14.2 172.20.14.40 \\"),
                    (20, "PreferredSource=172.20.14.40"),
                ],
                warnings: &[],
            },
            Case {
                name: "IPv6 address and gateway; DNS in the subnet stays",
                text: FILE,
                moves: &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
                gateway: Some("2001:db8:7::1"),
                changes: &[
                    (7, "Address=2001:db8:7::131/64"),
                    (9, "Gateway=2001:db8:7::1"),
                ],
                warnings: &[],
            },
            Case {
                name: "[Address] section with Broadcast; 192.168.2.1 is not 192.168.2.10",
                text: "[Network]\nAddress=192.168.2.10/24\n\n[Address]\nAddress=192.168.2.1/24\nBroadcast=192.168.2.255\n",
                moves: &[("192.168.2.1/24", "192.168.8.1/22")],
                gateway: None,
                changes: &[
                    (5, "Address=192.168.8.1/22"),
                    (6, "Broadcast=192.168.11.255"),
                ],
                warnings: &[],
            },
            Case {
                name: "[Route] without Destination is the default route; CRLF",
                text: "[Network]\r\nAddress=172.20.14.25/24\r\n[Route]\r\nGateway=172.20.14.1\r\n",
                moves: V4,
                gateway: Some("10.40.7.1"),
                changes: &[(2, "Address=10.40.7.131/24"), (4, "Gateway=10.40.7.1")],
                warnings: &[],
            },
            Case {
                name: "[Route] to 0.0.0.0/0 written before its Gateway, no --gateway",
                text: "[Network]\nAddress=172.20.14.25/24\n[Route]\nDestination=0.0.0.0/0\nGateway=172.20.14.1\n",
                moves: V4,
                gateway: None,
                changes: &[(2, "Address=10.40.7.131/24")],
                warnings: &["gateway-outside-network"],
            },
            Case {
                name: "GatewayOnLink=yes: a /32 host's gateway is reachable",
                text: "[Network]\nAddress=203.0.113.5/32\n[Route]\nGateway=172.31.1.1\nGatewayOnLink=yes\n",
                moves: &[("203.0.113.5/32", "198.51.100.7/32")],
                gateway: Some("198.51.100.1"),
                changes: &[(2, "Address=198.51.100.7/32")],
                warnings: &[],
            },
            Case {
                name: "unknown new prefix keeps /24 and warns",
                text: "[Network]\nAddress=172.20.14.25/24\nGateway=172.20.14.1\n",
                moves: &[("172.20.14.25/24", "172.20.14.40")],
                gateway: None,
                changes: &[(2, "Address=172.20.14.40/24")],
                warnings: &["prefix-unknown"],
            },
        ];
        check(Surface::Networkd, PATH, cases);
    }

    const NETDEV: &str = "/etc/systemd/network/25-gre.netdev";

    #[test]
    fn netdev_ends() {
        let cases = &[
            Case {
                name: "a tunnel's own end moves; its far end in the subnet and its keys stay",
                text: "[NetDev]\nName=gre1\nKind=gre\n\n[Tunnel]\nLocal=172.20.14.25\nRemote=172.20.14.26\nInputKey=172.20.14.25\nKey=172.20.14.25\n",
                moves: V4,
                gateway: None,
                changes: &[(6, "Local=10.40.7.131")],
                warnings: &[],
            },
            Case {
                name: "L2TP and VXLAN: Local moves, Remote (another host) stays; `static` is no address",
                text: "[L2TP]\nLocal=static\nRemote=192.168.30.101\n[VXLAN]\nLocal=172.20.14.25\nRemote=172.20.14.250\nGroup=239.1.1.1\n",
                moves: V4,
                gateway: None,
                changes: &[(5, "Local=10.40.7.131")],
                warnings: &[],
            },
            Case {
                name: "WireGuard: an endpoint that is the old address moves with its port; keys never read",
                text: "[WireGuard]\nPrivateKey=172.20.14.25\n[WireGuardPeer]\nPresharedKey=172.20.14.25\nEndpoint=172.20.14.25:51820\nAllowedIPs=172.20.14.0/24, 10.9.0.2/32\n",
                moves: V4,
                gateway: None,
                changes: &[(5, "Endpoint=10.40.7.131:51820")],
                warnings: &[],
            },
            Case {
                name: "IPv6 tunnel ends; 2001:db8:14::2 is not 2001:db8:14::25",
                text: "[Tunnel]\nMode=ip6ip6\nLocal=2001:db8:14::25\nRemote=2001:db8:14::2\n",
                moves: &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
                gateway: None,
                changes: &[(3, "Local=2001:db8:7::131")],
                warnings: &[],
            },
        ];
        check(Surface::Networkd, NETDEV, cases);
        never_panics(
            Surface::Networkd,
            NETDEV,
            "[NetDev]\nName=gre1\n[Tunnel]\nLocal=172.20.14.25\nRemote=172.20.14.26\n[WireGuardPeer]\nEndpoint=[2001:db8::1]:51820\n",
        );
        let r = scan(
            Surface::Networkd,
            NETDEV,
            "[Tunnel]\nRemote=172.20.14.25\nOutputKey=172.20.14.25\n",
            &["172.20.14.25"],
        );
        let lines: Vec<String> = r.findings.iter().map(|f| f.target.to_string()).collect();
        assert_eq!(lines, [format!("{NETDEV}:2")]);
        assert!(
            Networkd
                .interfaces(NETDEV, "[Tunnel]\nLocal=172.20.14.25\n")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bring_up_deletes_a_changed_netdev() {
        assert_eq!(
            bring_up(PATH, FILE, 6),
            "systemctl restart systemd-networkd"
        );
        assert_eq!(
            bring_up(
                NETDEV,
                "[NetDev]\nKind=gre\nName=gre 1\n[Tunnel]\nLocal=10.0.0.5\n",
                5
            ),
            "{ networkctl delete 'gre 1'; systemctl restart systemd-networkd; }"
        );
        assert_eq!(
            bring_up(NETDEV, "[Tunnel]\nLocal=10.0.0.5\n", 2),
            "systemctl restart systemd-networkd"
        );
    }

    #[test]
    fn malformed_input_names_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "[Network]\nAddress=10.0.0.5/24\nGateway 10.0.0.1\n",
                3,
                "neither",
            ),
            ("[Network\nAddress=10.0.0.5/24\n", 1, "closing `]`"),
            ("[Network]\n = x\n", 2, "no key"),
        ];
        for (text, line, msg) in cases {
            let err = plan(Surface::Networkd, PATH, text, V4, None).unwrap_err();
            let s = err.to_string();
            assert!(s.starts_with(&format!("{PATH}:{line}: ")), "{s}");
            assert!(s.contains(msg), "{s}");
            assert!(err.help().is_some());
        }
        never_panics(Surface::Networkd, PATH, FILE);
    }

    #[test]
    fn interfaces_learn_prefixes_and_gateways() {
        let got: Vec<(String, Option<u8>, Option<String>, usize)> = Networkd
            .interfaces(PATH, FILE)
            .unwrap()
            .into_iter()
            .map(|i| {
                (
                    i.addr.to_string(),
                    i.prefix,
                    i.gateway.map(|g| g.to_string()),
                    i.line,
                )
            })
            .collect();
        let gw4 = Some("172.20.14.1".to_string());
        assert_eq!(
            got,
            vec![
                ("172.20.14.25".into(), Some(24), gw4.clone(), 6),
                (
                    "2001:db8:14::25".into(),
                    Some(64),
                    Some("2001:db8:14::1".into()),
                    7
                ),
                ("172.20.14.250".into(), Some(32), gw4, 14),
            ]
        );
    }

    #[test]
    fn scan_skips_comments() {
        let r = scan(Surface::Networkd, PATH, FILE, &["172.20.14.25"]);
        let lines: Vec<String> = r.findings.iter().map(|f| f.target.to_string()).collect();
        assert_eq!(
            lines,
            [
                format!("{PATH}:6"),
                format!("{PATH}:10"),
                format!("{PATH}:20")
            ]
        );
    }
}
