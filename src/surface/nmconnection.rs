//! Surface `nmconnection`: NetworkManager keyfiles,
//! `/etc/NetworkManager/system-connections/*.nmconnection`.
//!
//! Format (nm-settings-keyfile(5)): a GLib key file: `[section]` headers,
//! `key=value` lines, `#` comment lines; lists end each entry with `;`.
//! A line that is none of these makes NetworkManager reject the file, and
//! is an error here too.
//!
//! Values read, in `[ipv4]` and `[ipv6]` (one block per file; the family of
//! each address decides which gateway belongs to it):
//!
//! * `address1=A/N[,GW]` (also `address`, `addresses`, `addressesN`; a list
//!   of `;`-separated entries) is an interface address, with the default
//!   gateway after the comma; the legacy `addresses1=A;N;GW;` form is read
//!   as address, prefix and gateway;
//! * `gateway=G` is the default gateway;
//! * `dns=a;b;` are other hosts;
//! * `routeN=NET/N[,GW[,METRIC]]`: the destination is another network, the
//!   gateway is the default one when the destination is `0.0.0.0/0` or
//!   `::/0`.
//!
//! Any other value is text, except secrets (`psk`, `password`, ...), which
//! are never read. `method=` is not consulted: NetworkManager adds static
//! addresses to automatic ones too.

use super::netcfg::syntax::{self, Ini, ini, split};
use super::netcfg::{Doc, Role};
use super::{Ctx, FileSurface, IfaceAddr, Surface};
use crate::error::Result;
use crate::model::Report;
use crate::policy::ValueKind;

/// The `nmconnection` surface.
pub struct NmConnection;

const GLOB: &str = "/etc/NetworkManager/system-connections/*.nmconnection";

/// The whole file is one block: a keyfile is one connection.
const BLOCK: usize = 1;

impl FileSurface for NmConnection {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let host = ctx.host;
        host.glob(GLOB)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        Ok(parse(path, text)?.analyze(Surface::NmConnection, ctx))
    }

    fn interfaces(&self, path: &str, text: &str) -> Result<Vec<IfaceAddr>> {
        Ok(parse(path, text)?.interfaces())
    }
}

/// How a changed keyfile comes up: NetworkManager reloads its files and
/// activates the connection again, named by its `[connection] id` (else
/// NetworkManager names it after the file).
pub fn bring_up(file: &str, text: &str, _line: usize) -> String {
    let lines = syntax::lines(text);
    let mut section = String::new();
    let id = ini(file, &lines, &['#'], false)
        .unwrap_or_default()
        .into_iter()
        .find_map(|e| match e {
            Ini::Section { name, .. } => {
                section = name;
                None
            }
            Ini::Pair { key, value } if section == "connection" && key == "id" => {
                let (n, r) = value.first()?.clone();
                Some(lines[n - 1][r].to_string())
            }
            Ini::Pair { .. } => None,
        })
        .filter(|id| !id.is_empty())
        .or_else(|| syntax::file_stem(file));
    match id {
        Some(id) => format!(
            "nmcli connection reload && nmcli connection up id {}",
            crate::services::shell_quote(&id)
        ),
        None => "nmcli connection reload".into(),
    }
}

/// `key` is `base` followed by nothing or digits (`address`, `address1`).
fn numbered(key: &str, base: &str) -> bool {
    key.strip_prefix(base)
        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
}

fn parse<'a>(path: &'a str, text: &'a str) -> Result<Doc<'a>> {
    let mut doc = Doc::new(path, text);
    let lines = doc.lines().to_vec();
    let mut ip_section = false;
    for entry in ini(path, &lines, &['#'], false)? {
        let (key, n, range) = match entry {
            Ini::Section { name, .. } => {
                ip_section = name == "ipv4" || name == "ipv6";
                continue;
            }
            Ini::Pair { key, value } => (key, value[0].0, value[0].1.clone()),
        };
        let line = lines[n - 1];
        if syntax::is_secret_key(&key) {
            continue;
        }
        let ip = ip_section;
        if ip && (numbered(&key, "address") || numbered(&key, "addresses")) {
            addresses(&mut doc, n, line, range);
        } else if ip && key == "gateway" {
            doc.push(n, range, Role::Gateway { default: true }, BLOCK);
        } else if ip && key == "dns" {
            for r in split(line, range, &[';']) {
                doc.push(n, r, Role::Value(ValueKind::OtherHost), BLOCK);
            }
        } else if ip && numbered(&key, "route") {
            let parts = split(line, range, &[',']);
            let default = parts
                .first()
                .is_some_and(|r| matches!(&line[r.clone()], "0.0.0.0/0" | "::/0"));
            for (k, r) in parts.into_iter().enumerate().take(2) {
                let role = if k == 0 {
                    Role::Value(ValueKind::OtherHost)
                } else {
                    Role::Gateway { default }
                };
                doc.push(n, r, role, BLOCK);
            }
        } else {
            doc.push(n, range, Role::Value(ValueKind::Text), BLOCK);
        }
    }
    doc.check()?;
    Ok(doc)
}

/// An address key's value: `A/N[,GW];...` or the legacy `A;N;GW;`.
fn addresses(doc: &mut Doc, n: usize, line: &str, range: std::ops::Range<usize>) {
    let entries = split(line, range.clone(), &[';']);
    let legacy = !line[range].contains(['/', ','])
        && entries
            .get(1)
            .is_some_and(|r| line[r.clone()].parse::<u8>().is_ok());
    if legacy {
        let addr = doc.push(n, entries[0].clone(), Role::Address, BLOCK);
        if let Some(of) = addr {
            doc.push(n, entries[1].clone(), Role::Mask { of }, BLOCK);
        }
        if let Some(gw) = entries.get(2) {
            doc.push(n, gw.clone(), Role::Gateway { default: true }, BLOCK);
        }
        return;
    }
    for e in entries {
        let parts = split(line, e, &[',']);
        for (k, r) in parts.into_iter().enumerate().take(2) {
            let role = if k == 0 {
                Role::Address
            } else {
                Role::Gateway { default: true }
            };
            doc.push(n, r, role, BLOCK);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::netcfg::testing::{Case, apply, check, never_panics, plan, scan};

    const PATH: &str = "/etc/NetworkManager/system-connections/eth0.nmconnection";
    const V4: &[(&str, &str)] = &[("172.20.14.25/24", "10.40.7.131/24")];

    const FILE: &str = "\
[connection]
id=Wired connection 1
type=ethernet
interface-name=eth0
# was 172.20.14.25 until 2024

[ipv4]
address1=172.20.14.25/24,172.20.14.1
address2=172.20.14.250/32
dns=172.20.14.2;172.20.14.25;
dns-search=corp.example;
method=manual
route1=192.0.2.0/24,172.20.14.254,100

[ipv6]
addr-gen-mode=stable-privacy
address1=2001:db8:14::25/64
gateway=2001:db8:14::1
method=manual

[wifi-security]
psk=172.20.14.25
";

    #[test]
    fn plans() {
        let cases = &[
            Case {
                name: "address moves, .250 and DNS .2 stay, DNS .25 moves, gateways warned",
                text: FILE,
                moves: V4,
                gateway: None,
                changes: &[
                    (8, "address1=10.40.7.131/24,172.20.14.1"),
                    (10, "dns=172.20.14.2;10.40.7.131;"),
                ],
                warnings: &["gateway-outside-network", "route-via-outside-network"],
            },
            Case {
                name: "--gateway: address and gateway on one line are one change",
                text: FILE,
                moves: V4,
                gateway: Some("10.40.7.1"),
                changes: &[
                    (8, "address1=10.40.7.131/24,10.40.7.1"),
                    (10, "dns=172.20.14.2;10.40.7.131;"),
                ],
                warnings: &["route-via-outside-network"],
            },
            Case {
                name: "gateway inside the new network stays",
                text: FILE,
                moves: &[("172.20.14.25/24", "172.20.14.40/24")],
                gateway: Some("172.20.14.9"),
                changes: &[
                    (8, "address1=172.20.14.40/24,172.20.14.1"),
                    (10, "dns=172.20.14.2;172.20.14.40;"),
                ],
                warnings: &[],
            },
            Case {
                name: "IPv6: [ipv6] address and gateway=, IPv4 untouched",
                text: FILE,
                moves: &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
                gateway: Some("2001:db8:7::1"),
                changes: &[
                    (17, "address1=2001:db8:7::131/64"),
                    (18, "gateway=2001:db8:7::1"),
                ],
                warnings: &[],
            },
            Case {
                name: "192.168.2.1 is not 192.168.2.10; CRLF; default route via routeN",
                text: "[ipv4]\r\naddress1=192.168.2.10/24\r\naddress2=192.168.2.1/24\r\nroute1=0.0.0.0/0,192.168.2.254\r\n",
                moves: &[("192.168.2.1/24", "192.168.9.1/24")],
                gateway: Some("192.168.9.254"),
                changes: &[(3, "address2=192.168.9.1/24")],
                warnings: &[],
            },
            Case {
                name: "default route via routeN outside every remaining network",
                text: "[ipv4]\naddress1=192.168.2.1/24\nroute1=0.0.0.0/0,192.168.2.254\n",
                moves: &[("192.168.2.1/24", "192.168.9.1/24")],
                gateway: Some("192.168.9.254"),
                changes: &[
                    (2, "address1=192.168.9.1/24"),
                    (3, "route1=0.0.0.0/0,192.168.9.254"),
                ],
                warnings: &[],
            },
            Case {
                name: "legacy addresses1=A;N;GW; form: the prefix follows",
                text: "[ipv4]\naddresses1=172.20.14.25;24;172.20.14.1;\n",
                moves: &[("172.20.14.25/24", "10.40.6.131/23")],
                gateway: Some("10.40.6.1"),
                changes: &[(2, "addresses1=10.40.6.131;23;10.40.6.1;")],
                warnings: &[],
            },
            Case {
                name: "unknown new prefix keeps the written one and warns",
                text: "[ipv4]\naddress1=172.20.14.25/24,172.20.14.1\n",
                moves: &[("172.20.14.25/24", "172.20.14.40")],
                gateway: None,
                changes: &[(2, "address1=172.20.14.40/24,172.20.14.1")],
                warnings: &["prefix-unknown"],
            },
        ];
        check(Surface::NmConnection, PATH, cases);
    }

    #[test]
    fn malformed_input_names_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "[ipv4]\naddress1=10.0.0.5/24\nthis is not a key\n",
                3,
                "neither",
            ),
            ("[ipv4\naddress1=10.0.0.5/24\n", 1, "closing `]`"),
            ("[ipv4]\n=10.0.0.5\n", 2, "no key"),
            (
                "[ipv4]\naddresses1=10.0.0.5;33;10.0.0.1;\n",
                2,
                "not a netmask",
            ),
        ];
        for (text, line, msg) in cases {
            let err = plan(Surface::NmConnection, PATH, text, V4, None).unwrap_err();
            let s = err.to_string();
            assert!(s.starts_with(&format!("{PATH}:{line}: ")), "{s}");
            assert!(s.contains(msg), "{s}");
            assert!(err.help().is_some());
        }
        never_panics(Surface::NmConnection, PATH, FILE);
    }

    #[test]
    fn interfaces_learn_prefixes_and_gateways() {
        let got: Vec<(String, Option<u8>, Option<String>, usize)> = NmConnection
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
        assert_eq!(
            got,
            vec![
                (
                    "172.20.14.25".into(),
                    Some(24),
                    Some("172.20.14.1".into()),
                    8
                ),
                (
                    "172.20.14.250".into(),
                    Some(32),
                    Some("172.20.14.1".into()),
                    9
                ),
                (
                    "2001:db8:14::25".into(),
                    Some(64),
                    Some("2001:db8:14::1".into()),
                    17
                ),
            ]
        );
    }

    #[test]
    fn scan_skips_comments_and_secrets() {
        let r = scan(Surface::NmConnection, PATH, FILE, &["172.20.14.25"]);
        let lines: Vec<String> = r.findings.iter().map(|f| f.target.to_string()).collect();
        assert_eq!(lines, [format!("{PATH}:8"), format!("{PATH}:10")]);
    }

    #[test]
    fn a_move_never_turns_a_dash_into_a_range() {
        // Fuzzing: in `fd01::aaa-2.0.2.1` the quad was glued to the dash
        // but the IPv6 address moved; that made `…::77-2.0.2.1`, a range
        // to the matcher then, so the next plan moved the quad too. The
        // ends of a range are of one family: neither spelling is one.
        let moves = &[
            ("192.168.2.1", "10.40.7.131"),
            ("fd01::aaa", "2001:db8:7::131"),
        ];
        for text in [
            "[connection]\nuuid=x;fd01::aaa-192.168.2.1/16\n",
            "[connection]\nuuid=x;2001:db8:7::131-192.168.2.1/16\n",
        ] {
            let r = plan(Surface::NmConnection, PATH, text, moves, None).unwrap();
            assert!(r.changes.is_empty(), "{text:?}: {:?}", r.changes);
        }
        // A range of one family moves its end.
        let text = "[connection]\nuuid=x;fd01::1-fd01::aaa/16\n";
        let r = plan(Surface::NmConnection, PATH, text, moves, None).unwrap();
        assert_eq!(
            apply(text, &r),
            "[connection]\nuuid=x;fd01::1-2001:db8:7::131/16\n"
        );
    }
}
