//! Surface `ifcfg`: RHEL-family `/etc/sysconfig/network-scripts/ifcfg-*`.
//!
//! Format (initscripts' sysconfig.txt, NetworkManager's ifcfg-rh): shell
//! variable assignments `KEY=value`, one a line, the value bare,
//! `'single'` or `"double"` quoted; `#` comment lines; a `#` after a
//! blank ends a bare value. Anything else (an unclosed quote, text after
//! the closing quote, a line that is not an assignment) is an error at its
//! line: the scripts source the file with a shell and would fail too, or
//! do something zmreip cannot follow.
//!
//! Values read (the whole file is one interface, one block):
//!
//! * `IPADDR`, `IPADDRn` are interface addresses; `PREFIX`/`PREFIXn`
//!   (length) and `NETMASK`/`NETMASKn` (dotted) are their prefixes,
//!   `NETWORK`/`NETWORKn` and `BROADCAST`/`BROADCASTn` their network and
//!   broadcast addresses (matched by the same suffix);
//! * `IPV6ADDR=A/N` and each entry of `IPV6ADDR_SECONDARIES="A/N B/N"` are
//!   interface addresses;
//! * `GATEWAY` and `IPV6_DEFAULTGW` (`G[%dev]`) are default gateways;
//! * `DNS1`, `DNS2`, ... are other hosts; `SRCADDR` is this host's address;
//! * any other value is text, except secrets (`WPA_PSK`, `*PASSWORD*`),
//!   never read.
//!
//! Files ending like editor or package backups (`.bak`, `~`, `.orig`,
//! `.rpmnew`, `.rpmsave`) are skipped, as the network scripts skip them.

use std::ops::Range;

use super::netcfg::syntax::{self, parse_error, words};
use super::netcfg::{Doc, Role};
use super::{Ctx, FileSurface, IfaceAddr, Surface};
use crate::error::Result;
use crate::model::Report;
use crate::policy::ValueKind;

/// The `ifcfg` surface.
pub struct Ifcfg;

const GLOB: &str = "/etc/sysconfig/network-scripts/ifcfg-*";

/// Suffixes of files the network scripts ignore.
const IGNORED: &[&str] = &[".orig", ".rpmnew", ".rpmsave", ".rpmorig"];

const BLOCK: usize = 1;

impl FileSurface for Ifcfg {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let host = ctx.host;
        Ok(host
            .glob(GLOB)?
            .into_iter()
            .filter(|p| !IGNORED.iter().any(|s| p.ends_with(s)))
            .collect())
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        Ok(parse(path, text)?.analyze(Surface::Ifcfg, ctx))
    }

    fn interfaces(&self, path: &str, text: &str) -> Result<Vec<IfaceAddr>> {
        Ok(parse(path, text)?.interfaces())
    }
}

/// How a changed ifcfg file comes up: NetworkManager (which reads ifcfg
/// files on RHEL 7 and later) reloads and activates the connection again,
/// named by `NAME`, else `DEVICE`, else the file name after `ifcfg-`.
pub fn bring_up(file: &str, text: &str, _line: usize) -> String {
    let value = |want: &str| {
        text.lines().enumerate().find_map(|(i, line)| {
            let (key, span) = assignment(file, i + 1, line).ok()??;
            (key == want && !span.is_empty()).then(|| line[span].to_string())
        })
    };
    let name = value("NAME")
        .or_else(|| value("DEVICE"))
        .or_else(|| syntax::file_stem(file).map(|s| s.trim_start_matches("ifcfg-").to_string()));
    match name {
        Some(n) => format!(
            "nmcli connection reload && nmcli connection up id {}",
            crate::services::shell_quote(&n)
        ),
        None => "nmcli connection reload".into(),
    }
}

/// Keys whose value is one address of another kind.
const KINDS: &[(&str, ValueKind)] = &[("SRCADDR", ValueKind::OwnAddress)];

/// An IPv4 address's companion keys, linked by index suffix.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Companion {
    Mask,
    Network,
    Broadcast,
}

/// `KEY` split into a base from `bases` and an index suffix of digits
/// (`IPADDR1` → (`IPADDR`, `1`)).
fn indexed<'k>(key: &'k str, bases: &[&'static str]) -> Option<(&'static str, &'k str)> {
    bases.iter().find_map(|b| {
        key.strip_prefix(b)
            .filter(|n| n.bytes().all(|c| c.is_ascii_digit()))
            .map(|n| (*b, n))
    })
}

fn parse<'a>(path: &'a str, text: &'a str) -> Result<Doc<'a>> {
    let mut doc = Doc::new(path, text);
    let lines = doc.lines().to_vec();
    // (suffix, item) of each IPADDR; (suffix, line, span, what) of each
    // companion, linked once all are read (either may come first).
    let mut v4: Vec<(&str, usize)> = Vec::new();
    let mut companions: Vec<(&str, usize, Range<usize>, Companion)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let Some((key, span)) = assignment(path, n, line)? else {
            continue;
        };
        if syntax::is_secret_key(key) {
            continue;
        }
        if let Some((base, suffix)) = indexed(
            key,
            &["IPADDR", "PREFIX", "NETMASK", "NETWORK", "BROADCAST"],
        ) {
            if base == "IPADDR" {
                if let Some(item) = doc.push(n, span, Role::Address, BLOCK) {
                    v4.push((suffix, item));
                }
                continue;
            }
            let what = match base {
                "PREFIX" | "NETMASK" => Companion::Mask,
                "NETWORK" => Companion::Network,
                _ => Companion::Broadcast,
            };
            companions.push((suffix, n, span, what));
            continue;
        }
        match key {
            "IPV6ADDR" => {
                doc.push(n, span, Role::Address, BLOCK);
            }
            "IPV6ADDR_SECONDARIES" => {
                for w in words(line, span) {
                    doc.push(n, w, Role::Address, BLOCK);
                }
            }
            "GATEWAY" | "IPV6_DEFAULTGW" => {
                doc.push(n, span, Role::Gateway { default: true }, BLOCK);
            }
            _ if indexed(key, &["DNS"]).is_some_and(|(_, s)| !s.is_empty()) => {
                doc.push(n, span, Role::Value(ValueKind::OtherHost), BLOCK);
            }
            _ => {
                let kind = KINDS
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| *v)
                    .unwrap_or(ValueKind::Text);
                doc.push(n, span, Role::Value(kind), BLOCK);
            }
        }
    }
    for (suffix, n, span, what) in companions {
        let Some(&(_, of)) = v4.iter().find(|(s, _)| *s == suffix) else {
            continue;
        };
        let role = match what {
            Companion::Mask => Role::Mask { of },
            Companion::Network => Role::Network {
                of,
                broadcast: false,
            },
            Companion::Broadcast => Role::Network {
                of,
                broadcast: true,
            },
        };
        doc.push(n, span, role, BLOCK);
    }
    doc.check()?;
    Ok(doc)
}

/// Reads one line: `None` for blank and comment lines, else the key and
/// the value's span (quotes excluded).
fn assignment<'l>(path: &str, n: usize, line: &'l str) -> Result<Option<(&'l str, Range<usize>)>> {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let start = line.len() - t.len();
    let err = |msg: String| {
        parse_error(
            path,
            n,
            msg,
            "ifcfg files hold shell assignments KEY=value, one a line; fix the line, then run zmreip again",
        )
    };
    let eq = t.find('=').filter(|&e| {
        e > 0
            && t[..e]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !t.as_bytes()[0].is_ascii_digit()
    });
    let Some(eq) = eq else {
        return Err(err(format!("`{t}` is not a KEY=value assignment")));
    };
    let key = &t[..eq];
    let vstart = start + eq + 1;
    let b = line.as_bytes();
    let (span, after) = match b.get(vstart) {
        Some(&q @ (b'"' | b'\'')) => {
            let close = line[vstart + 1..]
                .find(q as char)
                .map(|c| vstart + 1 + c)
                .ok_or_else(|| err(format!("the quoted value of {key} is not closed")))?;
            (vstart + 1..close, close + 1)
        }
        _ => {
            let end = line[vstart..]
                .find([' ', '\t'])
                .map(|e| vstart + e)
                .unwrap_or(line.len());
            (vstart..end, end)
        }
    };
    let rest = line[after..].trim_start();
    // A shell comment needs a blank before its `#`.
    let comment = rest.starts_with('#') && rest.len() < line[after..].len();
    if !rest.is_empty() && !comment {
        return Err(err(format!("unexpected `{rest}` after the value of {key}")));
    }
    Ok(Some((key, span)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use crate::surface::netcfg::testing::{Case, check, never_panics, plan, scan};

    const PATH: &str = "/etc/sysconfig/network-scripts/ifcfg-eth0";
    const V4: &[(&str, &str)] = &[("172.20.14.25/24", "10.40.7.131/24")];

    const FILE: &str = "\
# Zimbra mail host, was 172.20.14.25
DEVICE=eth0
BOOTPROTO=none
ONBOOT=yes
IPADDR=\"172.20.14.25\"
NETMASK=255.255.255.0
IPADDR1='172.20.14.250'
PREFIX1=32
GATEWAY=172.20.14.1
DNS1=172.20.14.2
DNS2=172.20.14.25 # also a resolver
IPV6INIT=yes
IPV6ADDR=2001:db8:14::25/64
IPV6ADDR_SECONDARIES=\"2001:db8:14::26/64 2001:db8:14::250/64\"
IPV6_DEFAULTGW=2001:db8:14::1%eth0
";

    #[test]
    fn plans() {
        let cases = &[
            Case {
                name: "quoted address moves, netmask unchanged (same prefix), DNS .2 stays, gateway warned",
                text: FILE,
                moves: V4,
                gateway: None,
                changes: &[
                    (5, "IPADDR=\"10.40.7.131\""),
                    (11, "DNS2=10.40.7.131 # also a resolver"),
                ],
                warnings: &["gateway-outside-network"],
            },
            Case {
                name: "--gateway, and a new prefix written as a dotted netmask",
                text: FILE,
                moves: &[("172.20.14.25/24", "10.40.6.131/23")],
                gateway: Some("10.40.6.1"),
                changes: &[
                    (5, "IPADDR=\"10.40.6.131\""),
                    (6, "NETMASK=255.255.254.0"),
                    (9, "GATEWAY=10.40.6.1"),
                    (11, "DNS2=10.40.6.131 # also a resolver"),
                ],
                warnings: &[],
            },
            Case {
                name: "gateway inside the new network stays",
                text: FILE,
                moves: &[("172.20.14.25/24", "172.20.14.40/24")],
                gateway: Some("172.20.14.9"),
                changes: &[
                    (5, "IPADDR=\"172.20.14.40\""),
                    (11, "DNS2=172.20.14.40 # also a resolver"),
                ],
                warnings: &[],
            },
            Case {
                name: "the secondary (single-quoted) moves; PREFIX1 as a length follows",
                text: FILE,
                moves: &[("172.20.14.250/32", "10.40.7.250/24")],
                gateway: None,
                changes: &[(7, "IPADDR1='10.40.7.250'"), (8, "PREFIX1=24")],
                warnings: &[],
            },
            Case {
                name: "IPv6: IPV6ADDR moves, secondaries .26 and .250 stay and keep the zoned gateway reachable",
                text: FILE,
                moves: &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
                gateway: Some("2001:db8:7::1"),
                changes: &[(13, "IPV6ADDR=2001:db8:7::131/64")],
                warnings: &[],
            },
            Case {
                name: "IPv6 secondary in a quoted list; zoned default gateway replaced",
                text: "IPV6ADDR_SECONDARIES=\"2001:db8:14::26/64 2001:db8:14::25/64\"\nIPV6_DEFAULTGW=2001:db8:14::1%eth0\n",
                moves: &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
                gateway: Some("2001:db8:7::1"),
                changes: &[(
                    1,
                    "IPV6ADDR_SECONDARIES=\"2001:db8:14::26/64 2001:db8:7::131/64\"",
                )],
                warnings: &[],
            },
            Case {
                name: "zoned default gateway outside the new network",
                text: "IPV6ADDR=2001:db8:14::25/64\nIPV6_DEFAULTGW=2001:db8:14::1%eth0\n",
                moves: &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
                gateway: Some("2001:db8:7::1"),
                changes: &[
                    (1, "IPV6ADDR=2001:db8:7::131/64"),
                    (2, "IPV6_DEFAULTGW=2001:db8:7::1"),
                ],
                warnings: &[],
            },
            Case {
                name: "192.168.2.1 is not 192.168.2.10; NETWORK and BROADCAST follow; CRLF",
                text: "IPADDR0=192.168.2.10\r\nPREFIX0=24\r\nIPADDR=192.168.2.1\r\nPREFIX=24\r\nNETWORK=192.168.2.0\r\nBROADCAST=192.168.2.255\r\n",
                moves: &[("192.168.2.1/24", "192.168.8.1/22")],
                gateway: None,
                changes: &[
                    (3, "IPADDR=192.168.8.1"),
                    (4, "PREFIX=22"),
                    (5, "NETWORK=192.168.8.0"),
                    (6, "BROADCAST=192.168.11.255"),
                ],
                warnings: &[],
            },
            Case {
                name: "unknown new prefix: NETMASK kept and warned; gateway checked against it",
                text: "IPADDR=172.20.14.25\nNETMASK=255.255.255.0\nGATEWAY=172.20.14.1\n",
                moves: &[("172.20.14.25", "10.40.7.131")],
                gateway: None,
                changes: &[(1, "IPADDR=10.40.7.131")],
                warnings: &["prefix-unknown", "gateway-outside-network"],
            },
            Case {
                name: "no prefix anywhere: gateway unchecked, --gateway written",
                text: "IPADDR=172.20.14.25\nGATEWAY=172.20.14.1\n",
                moves: &[("172.20.14.25", "10.40.7.131")],
                gateway: Some("10.40.7.1"),
                changes: &[(1, "IPADDR=10.40.7.131"), (2, "GATEWAY=10.40.7.1")],
                warnings: &[],
            },
            Case {
                name: "secrets are never read",
                text: "IPADDR=172.20.14.25\nWPA_PSK='172.20.14.25'\n",
                moves: V4,
                gateway: None,
                changes: &[(1, "IPADDR=10.40.7.131")],
                warnings: &[],
            },
        ];
        check(Surface::Ifcfg, PATH, cases);
    }

    #[test]
    fn malformed_input_names_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("DEVICE=eth0\nIPADDR=\"10.0.0.5\n", 2, "not closed"),
            (
                "DEVICE=eth0\n\nip addr add 10.0.0.5\n",
                3,
                "not a KEY=value",
            ),
            ("IPADDR='10.0.0.5'x\n", 1, "unexpected"),
            ("IPADDR=10.0.0.5 PREFIX=24\n", 1, "unexpected"),
            ("IPADDR=10.0.0.5\nNETMASK=255.0.255.0\n", 2, "not a netmask"),
            ("1KEY=x\n", 1, "not a KEY=value"),
        ];
        for (text, line, msg) in cases {
            let err = plan(Surface::Ifcfg, PATH, text, V4, None).unwrap_err();
            let s = err.to_string();
            assert!(s.starts_with(&format!("{PATH}:{line}: ")), "{s}");
            assert!(s.contains(msg), "{s}");
            assert!(err.help().is_some());
        }
        never_panics(Surface::Ifcfg, PATH, FILE);
    }

    #[test]
    fn interfaces_learn_prefixes_and_gateways() {
        let got: Vec<(String, Option<u8>, Option<String>, usize)> = Ifcfg
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
        let gw6 = Some("2001:db8:14::1".to_string());
        assert_eq!(
            got,
            vec![
                ("172.20.14.25".into(), Some(24), gw4.clone(), 5),
                ("172.20.14.250".into(), Some(32), gw4, 7),
                ("2001:db8:14::25".into(), Some(64), gw6.clone(), 13),
                ("2001:db8:14::26".into(), Some(64), gw6.clone(), 14),
                ("2001:db8:14::250".into(), Some(64), gw6, 14),
            ]
        );
    }

    #[test]
    fn scan_skips_comments() {
        let r = scan(Surface::Ifcfg, PATH, FILE, &["172.20.14.25"]);
        let lines: Vec<String> = r.findings.iter().map(|f| f.target.to_string()).collect();
        assert_eq!(lines, [format!("{PATH}:5"), format!("{PATH}:11")]);
    }

    #[test]
    fn files_skip_backups() {
        let dir = tempfile::TempDir::new().unwrap();
        let d = dir.path().join("etc/sysconfig/network-scripts");
        std::fs::create_dir_all(&d).unwrap();
        for f in [
            "ifcfg-eth0",
            "ifcfg-eth0.rpmnew",
            "ifcfg-eth0.bak",
            "ifcfg-lo",
            "route-eth0",
        ] {
            std::fs::write(d.join(f), "").unwrap();
        }
        let host = Host::open(dir.path(), None).unwrap();
        assert_eq!(
            crate::surface::testutil::listed(&Ifcfg, &host).unwrap(),
            [
                "/etc/sysconfig/network-scripts/ifcfg-eth0",
                "/etc/sysconfig/network-scripts/ifcfg-lo"
            ]
        );
    }
}
