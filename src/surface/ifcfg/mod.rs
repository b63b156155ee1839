//! Surface `ifcfg`: RHEL-family network scripts' configuration:
//! `/etc/sysconfig/network-scripts/ifcfg-*` (one interface each), the
//! static routes of an interface in `route-IFACE` and `route6-IFACE`
//! beside them ([`route`]), and the global `/etc/sysconfig/network`.
//!
//! Format (initscripts' sysconfig.txt, NetworkManager's ifcfg-rh): shell
//! variable assignments `KEY=value`, read as bash reads them ([`shell`]:
//! quotes, escapes, values over several lines). A line that is not an
//! assignment is ignored, as NetworkManager ignores it, with an
//! `ifcfg-line-ignored` warning naming it (and a finding when it holds a
//! searched address, which zmreip then leaves for the admin to change).
//!
//! Values read from an `ifcfg-*` file (the whole file is one interface,
//! one block):
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
//!   never read. A value written with escapes or inner quotes, or over
//!   several lines, is text whatever its key: its address, if any, is
//!   replaced in place, byte for byte.
//!
//! `/etc/sysconfig/network` holds the host's default gateways (`GATEWAY`,
//! `IPV6_DEFAULTGW`), used by interfaces that have none of their own:
//! they are checked against the addresses of every `ifcfg-*` file.
//!
//! Files ending like editor or package backups (`.bak`, `~`, `.orig`,
//! `.rpmnew`, `.rpmsave`) are skipped, as the network scripts skip them.

use std::net::IpAddr;
use std::ops::Range;

use super::netcfg::syntax::{self, words};
use super::netcfg::{Doc, Role};
use super::{Ctx, FileSurface, IfaceAddr, Surface, find};
use crate::error::Result;
use crate::model::{Report, Target};
use crate::notice::{Code, Notice};
use crate::policy::ValueKind;

pub mod route;
pub mod shell;

/// The `ifcfg` surface.
pub struct Ifcfg;

const IFCFG: &str = "/etc/sysconfig/network-scripts/ifcfg-*";
const ROUTES: &[&str] = &[
    "/etc/sysconfig/network-scripts/route-*",
    "/etc/sysconfig/network-scripts/route6-*",
];
const NETWORK: &str = "/etc/sysconfig/network";

/// Suffixes of files the network scripts ignore.
const IGNORED: &[&str] = &[".orig", ".rpmnew", ".rpmsave", ".rpmorig"];

const BLOCK: usize = 1;

/// The kinds of files of the surface, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum File<'a> {
    /// `ifcfg-NAME`.
    Ifcfg,
    /// `route-IFACE` or `route6-IFACE`: the interface.
    Route(&'a str),
    /// `/etc/sysconfig/network`.
    Network,
}

fn file_kind(path: &str) -> File<'_> {
    if path == NETWORK {
        return File::Network;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    match name
        .strip_prefix("route6-")
        .or_else(|| name.strip_prefix("route-"))
    {
        Some(iface) => File::Route(iface),
        None => File::Ifcfg,
    }
}

impl FileSurface for Ifcfg {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let host = ctx.host;
        let mut out = Vec::new();
        for pattern in std::iter::once(&IFCFG).chain(ROUTES) {
            out.extend(host.glob(pattern)?);
        }
        if host.exists(NETWORK) {
            out.push(NETWORK.to_string());
        }
        out.retain(|p| !IGNORED.iter().any(|s| p.ends_with(s)));
        out.sort();
        Ok(out)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let parsed = match file_kind(path) {
            File::Ifcfg => parse(path, text)?,
            File::Route(iface) => {
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                let linked = linked(ctx, &[format!("{dir}/ifcfg-{iface}")])?;
                route::parse(path, text, linked)?
            }
            File::Network => {
                let linked = linked(ctx, &ctx.host.glob(IFCFG)?)?;
                network(path, text, linked)?
            }
        };
        let mut report = parsed.doc.analyze(Surface::Ifcfg, ctx);
        report.extend(ignored(&parsed, ctx));
        Ok(report)
    }

    fn interfaces(&self, path: &str, text: &str) -> Result<Vec<IfaceAddr>> {
        match file_kind(path) {
            File::Ifcfg => Ok(parse(path, text)?.doc.interfaces()),
            File::Route(_) | File::Network => Ok(Vec::new()),
        }
    }
}

/// The interface addresses of the `ifcfg-*` files `paths` (those that
/// exist and read; one that does not read gets its own error when it is
/// analyzed).
fn linked(ctx: &Ctx, paths: &[String]) -> Result<Vec<(IpAddr, Option<u8>)>> {
    let mut out = Vec::new();
    for p in paths {
        if IGNORED.iter().any(|s| p.ends_with(s)) {
            continue;
        }
        if let Some(text) = ctx.host.read(p)?
            && let Ok(ifaces) = Ifcfg.interfaces(p, &text)
        {
            out.extend(ifaces.into_iter().map(|i| (i.addr, i.prefix)));
        }
    }
    Ok(out)
}

/// A file read: its values, and the lines that were not read.
pub struct Parsed<'a> {
    pub doc: Doc<'a>,
    pub ignored: Vec<shell::Ignored>,
}

/// A warning for every line that was not read, and for one holding a
/// searched address, its finding.
fn ignored(parsed: &Parsed, ctx: &Ctx) -> Report {
    let mut report = Report::default();
    let path = parsed.doc.path();
    for ig in &parsed.ignored {
        let target = Target::Line {
            file: path.to_string(),
            line: ig.line,
        };
        let found = find(
            ctx.matcher,
            Surface::Ifcfg,
            &target,
            parsed.doc.lines()[ig.line - 1],
        );
        let holds = found
            .first()
            .map(|f| {
                format!(
                    "; it holds {}: change it by hand if it must follow the move",
                    f.matched
                )
            })
            .unwrap_or_default();
        report.warnings.push(Notice::new(
            Code::IfcfgLineIgnored,
            format!(
                "{path}:{}: {}; NetworkManager ignores this line and zmreip leaves it as it is{holds}",
                ig.line, ig.why
            ),
        ));
        report.findings.extend(found);
    }
    report
}

/// How a changed file comes up: NetworkManager (which reads ifcfg files
/// on RHEL 7 and later) reloads and activates the connection again: of an
/// `ifcfg-*` file, the one named by `NAME`, else `DEVICE`, else the file
/// name after `ifcfg-`; of a route file, its interface's; a changed
/// global gateway restarts NetworkManager.
pub fn bring_up(file: &str, text: &str, _line: usize) -> String {
    let name = match file_kind(file) {
        File::Network => {
            return "nmcli connection reload && systemctl restart NetworkManager".into();
        }
        File::Route(iface) => {
            return format!(
                "nmcli connection reload && nmcli connection up ifname {}",
                crate::services::shell_quote(iface)
            );
        }
        File::Ifcfg => {
            let lines = syntax::lines(text);
            let (assigned, _) = shell::read(&lines);
            let value = |want: &str| {
                assigned
                    .iter()
                    .find(|a| a.key == want && !a.value.is_empty())
                    .map(|a| a.value.clone())
            };
            value("NAME").or_else(|| value("DEVICE")).or_else(|| {
                syntax::file_stem(file).map(|s| s.trim_start_matches("ifcfg-").to_string())
            })
        }
    };
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

/// Every piece of a value that is not plain, as text.
fn push_text(doc: &mut Doc, a: &shell::Assignment) {
    for (n, r) in &a.pieces {
        doc.push(*n, r.clone(), Role::Value(ValueKind::Text), BLOCK);
    }
}

fn parse<'a>(path: &'a str, text: &'a str) -> Result<Parsed<'a>> {
    let mut doc = Doc::new(path, text);
    let lines = doc.lines().to_vec();
    let (assigned, ignored) = shell::read(&lines);
    // (suffix, item) of each IPADDR; (suffix, line, span, what) of each
    // companion, linked once all are read (either may come first).
    let mut v4: Vec<(&str, usize)> = Vec::new();
    let mut companions: Vec<(&str, usize, Range<usize>, Companion)> = Vec::new();
    for a in &assigned {
        let key = a.key;
        if syntax::is_secret_key(key) {
            continue;
        }
        let plain = a.is_plain(&lines);
        let Some((n, span)) = a.pieces.first().cloned().filter(|_| plain) else {
            push_text(&mut doc, a);
            continue;
        };
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
                for w in words(lines[n - 1], span) {
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
    Ok(Parsed { doc, ignored })
}

/// `/etc/sysconfig/network`: the default gateways of interfaces that have
/// none of their own, checked against `linked` (every interface's
/// addresses); other values are text.
fn network<'a>(
    path: &'a str,
    text: &'a str,
    linked: Vec<(IpAddr, Option<u8>)>,
) -> Result<Parsed<'a>> {
    let mut doc = Doc::new(path, text);
    let lines = doc.lines().to_vec();
    let (assigned, ignored) = shell::read(&lines);
    for a in &assigned {
        if syntax::is_secret_key(a.key) {
            continue;
        }
        match a.pieces.first().cloned() {
            Some((n, span))
                if a.is_plain(&lines) && matches!(a.key, "GATEWAY" | "IPV6_DEFAULTGW") =>
            {
                doc.push(n, span, Role::Gateway { default: true }, BLOCK);
            }
            _ => push_text(&mut doc, a),
        }
    }
    doc.link(linked);
    Ok(Parsed { doc, ignored })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use crate::surface::netcfg::testing::{Case, check, never_panics, plan, scan};
    use crate::surface::testutil::Fixture;

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
        let err = plan(
            Surface::Ifcfg,
            PATH,
            "IPADDR=10.0.0.5\nNETMASK=255.0.255.0\n",
            V4,
            None,
        )
        .unwrap_err();
        let s = err.to_string();
        assert!(s.starts_with(&format!("{PATH}:2: ")), "{s}");
        assert!(s.contains("not a netmask"), "{s}");
        assert!(err.help().is_some());
        never_panics(Surface::Ifcfg, PATH, FILE);
        never_panics(
            Surface::Ifcfg,
            PATH,
            "A='x\nIPADDR=\"172.20.14.25\\\n\" # c\nB=$'\\'' C=a\\ b;\n",
        );
        never_panics(
            Surface::Ifcfg,
            ROUTE,
            "ADDRESS0=0.0.0.0\nGATEWAY0=172.20.14.1\nOPTIONS0=\"src 172.20.14.25 via\"\n",
        );
        never_panics(
            Surface::Ifcfg,
            ROUTE,
            "default via 172.20.14.1 src 172.20.14.25\nvia inet6\n",
        );
        never_panics(
            Surface::Ifcfg,
            NETWORK,
            "GATEWAY=172.20.14.1\nIPV6_DEFAULTGW=fe80::1%eth0\n",
        );
    }

    #[test]
    fn lines_networkmanager_ignores_warn_and_the_rest_is_read() {
        // (text, line of the warning, words of its message)
        let cases: &[(&str, usize, &str)] = &[
            ("DEVICE=eth0\nIPADDR=\"10.0.0.5\n", 2, "never closed"),
            (
                "DEVICE=eth0\n\nip addr add 10.0.0.5\n",
                3,
                "not a KEY=value",
            ),
            ("IPADDR='10.0.0.5'x y\n", 1, "unexpected `y`"),
            ("IPADDR=10.0.0.5 PREFIX=24\n", 1, "unexpected `PREFIX=24`"),
            ("1KEY=x\n", 1, "not a KEY=value"),
            ("NAME=U Can't Touch This\n", 1, "unexpected"),
            ("export IPADDR=10.0.0.5\n", 1, "not a KEY=value"),
            ("A=b|c\n", 1, "shell operator"),
        ];
        for (text, line, msg) in cases {
            let r = plan(Surface::Ifcfg, PATH, text, V4, None).unwrap();
            assert!(r.changes.is_empty(), "{text:?}: {:?}", r.changes);
            let w: Vec<&Notice> = r.warnings.iter().collect();
            assert_eq!(w.len(), 1, "{text:?}: {w:?}");
            assert_eq!(w[0].code, Code::IfcfgLineIgnored);
            assert!(
                w[0].message.starts_with(&format!("{PATH}:{line}: ")) && w[0].message.contains(msg),
                "{text:?}: {}",
                w[0].message
            );
        }
        // An ignored line holding the old address is found, named, and
        // left alone; the lines after it are read.
        let text = "IPADDR=172.20.14.25 PREFIX=24\nDNS1=172.20.14.25\n";
        let r = plan(Surface::Ifcfg, PATH, text, V4, None).unwrap();
        assert_eq!(r.changes.len(), 1);
        assert!(
            r.warnings[0].message.contains("holds 172.20.14.25"),
            "{}",
            r.warnings[0].message
        );
        let s = scan(Surface::Ifcfg, PATH, text, &["172.20.14.25"]);
        let lines: Vec<String> = s.findings.iter().map(|f| f.target.to_string()).collect();
        assert_eq!(lines, [format!("{PATH}:2"), format!("{PATH}:1")]);
    }

    #[test]
    fn shell_quoting_edits_in_place() {
        let cases = &[
            Case {
                name: "escaped quotes inside double quotes (NetworkManager's TEAM_CONFIG): the address in the JSON moves, every byte else stays",
                text: "TEAM_CONFIG=\"{\\\"runner\\\": {\\\"name\\\": \\\"lacp\\\"}, \\\"link_watch\\\": {\\\"target_host\\\": \\\"172.20.14.25\\\"}}\"\nIPADDR=172.20.14.25\n",
                moves: V4,
                gateway: None,
                changes: &[
                    (
                        1,
                        "TEAM_CONFIG=\"{\\\"runner\\\": {\\\"name\\\": \\\"lacp\\\"}, \\\"link_watch\\\": {\\\"target_host\\\": \\\"10.40.7.131\\\"}}\"",
                    ),
                    (2, "IPADDR=10.40.7.131"),
                ],
                warnings: &[],
            },
            Case {
                name: "a value over several lines: the address on its second line moves",
                text: "TEAM_CONFIG='{\n  \"runner\": {\"name\": \"activebackup\"},\n  \"link_watch\": {\"source_host\": \"172.20.14.25\"}\n}'\nIPADDR=172.20.14.25\n",
                moves: V4,
                gateway: None,
                changes: &[
                    (3, "  \"link_watch\": {\"source_host\": \"10.40.7.131\"}"),
                    (5, "IPADDR=10.40.7.131"),
                ],
                warnings: &[],
            },
            Case {
                name: "'\\'' joins and escaped blanks; 172.20.14.2 is not 172.20.14.25",
                text: "NAME='it'\\''s 172.20.14.25'\nDESC=host\\ 172.20.14.25\\ here\nDNS1=172.20.14.2\n",
                moves: V4,
                gateway: None,
                changes: &[
                    (1, "NAME='it'\\''s 10.40.7.131'"),
                    (2, "DESC=host\\ 10.40.7.131\\ here"),
                ],
                warnings: &[],
            },
            Case {
                name: "an address written with quotes inside is text: it moves, its prefix logic does not apply",
                text: "IPADDR=\"172.20.14\".25\nIPADDR1=\"172.20.14.25\"\nPREFIX1=24\n",
                moves: &[("172.20.14.25/24", "10.40.6.131/23")],
                gateway: None,
                changes: &[(2, "IPADDR1=\"10.40.6.131\""), (3, "PREFIX1=23")],
                warnings: &[],
            },
            Case {
                name: "a trailing `;` and a comment after it",
                text: "IPADDR=172.20.14.25; # main\n",
                moves: V4,
                gateway: None,
                changes: &[(1, "IPADDR=10.40.7.131; # main")],
                warnings: &[],
            },
        ];
        check(Surface::Ifcfg, PATH, cases);
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
    fn files_skip_backups_and_take_routes_and_the_global_file() {
        let dir = tempfile::TempDir::new().unwrap();
        let d = dir.path().join("etc/sysconfig/network-scripts");
        std::fs::create_dir_all(&d).unwrap();
        for f in [
            "ifcfg-eth0",
            "ifcfg-eth0.rpmnew",
            "ifcfg-eth0.bak",
            "ifcfg-lo",
            "route-eth0",
            "route6-eth0",
            "route-eth0.rpmsave",
            "rule-eth0",
        ] {
            std::fs::write(d.join(f), "").unwrap();
        }
        let host = Host::open(dir.path(), None).unwrap();
        let scripts = "/etc/sysconfig/network-scripts";
        assert_eq!(
            crate::surface::testutil::listed(&Ifcfg, &host).unwrap(),
            [
                format!("{scripts}/ifcfg-eth0"),
                format!("{scripts}/ifcfg-lo"),
                format!("{scripts}/route-eth0"),
                format!("{scripts}/route6-eth0"),
            ]
        );
        std::fs::write(dir.path().join("etc/sysconfig/network"), "").unwrap();
        assert!(
            crate::surface::testutil::listed(&Ifcfg, &host)
                .unwrap()
                .contains(&NETWORK.to_string())
        );
    }

    const ROUTE: &str = "/etc/sysconfig/network-scripts/route-eth0";
    const IFCFG_ETH0: &str = "/etc/sysconfig/network-scripts/ifcfg-eth0";

    /// Plans `text` at `path` on a host whose ifcfg-eth0 is `ifcfg`.
    fn plan_beside(
        path: &str,
        ifcfg: &str,
        text: &str,
        moves: &[(&str, &str)],
        gateway: Option<&str>,
    ) -> Report {
        let f = Fixture::new(moves).with_gateway(gateway);
        f.write(IFCFG_ETH0, ifcfg);
        Ifcfg.analyze(path, text, &f.plan()).unwrap()
    }

    #[test]
    fn route_files() {
        use crate::surface::testutil::changes;
        let ifcfg = "IPADDR=172.20.14.25\nPREFIX=24\n";
        let codes =
            |r: &Report| -> Vec<&str> { r.warnings.iter().map(|w| w.code.as_str()).collect() };
        // (name, route file, changes (line, after), warning codes)
        type Want<'a> = (&'a str, &'a str, &'a [(usize, &'a str)], &'a [&'a str]);
        let cases: &[Want] = &[
            (
                "ip route lines: src moves, a via in the old network is warned, not changed",
                "# routes\n10.9.0.0/16 via 172.20.14.1 src 172.20.14.25 metric 3\n192.0.2.0/24 via 172.20.14.250\n",
                &[(2, "10.9.0.0/16 via 172.20.14.1 src 10.40.7.131 metric 3")],
                &["route-via-outside-network", "route-via-outside-network"],
            ),
            (
                "the default route follows --gateway",
                "default via 172.20.14.1 dev eth0\n",
                &[(1, "default via 10.40.7.1 dev eth0")],
                &[],
            ),
            (
                "routes to the old address itself move; a via that is not 172.20.14.25 stays",
                "172.20.14.25/32 via 172.20.14.250\nlocal 172.20.14.25\n",
                &[
                    (1, "10.40.7.131/32 via 172.20.14.250"),
                    (2, "local 10.40.7.131"),
                ],
                &["route-via-outside-network"],
            ),
            (
                "assignments: GATEWAYn of a route, OPTIONSn src; ADDRESS0=0.0.0.0 is the default",
                "ADDRESS0=0.0.0.0\nNETMASK0=0.0.0.0\nGATEWAY0=172.20.14.1\n\nADDRESS1=44.55.66.77\nNETMASK1=255.255.255.255\nGATEWAY1=172.20.14.7\nOPTIONS1=\"mtu 9000 src 172.20.14.25\"\n",
                &[
                    (3, "GATEWAY0=10.40.7.1"),
                    (8, "OPTIONS1=\"mtu 9000 src 10.40.7.131\""),
                ],
                &["route-via-outside-network"],
            ),
        ];
        for (name, text, want, warn) in cases {
            let r = plan_beside(ROUTE, ifcfg, text, V4, Some("10.40.7.1"));
            let got: Vec<(usize, String)> =
                changes(&r).into_iter().map(|(l, _, a)| (l, a)).collect();
            let want: Vec<(usize, String)> =
                want.iter().map(|(l, a)| (*l, a.to_string())).collect();
            assert_eq!(got, want, "{name}");
            assert_eq!(&codes(&r), warn, "{name}: {:#?}", r.warnings);
        }
        // A route's gateway inside the new network, or inside a network of
        // the interface that stays, is fine.
        let r = plan_beside(
            ROUTE,
            "IPADDR=172.20.14.25\nPREFIX=24\nIPADDR1=192.168.5.5\nPREFIX1=24\n",
            "10.9.0.0/16 via 10.40.7.9\n10.8.0.0/16 via 192.168.5.1\n",
            V4,
            None,
        );
        assert!(r.changes.is_empty() && r.warnings.is_empty(), "{r:#?}");
        // IPv6 routes: the interface's IPv6 address decides.
        let r = plan_beside(
            "/etc/sysconfig/network-scripts/route6-eth0",
            "IPV6ADDR=2001:db8:14::25/64\n",
            "9876::/96 via 2001:db8:14::7 metric 2\ndefault via fe80::1\nabbe::cafe/64 metric 7 src 2001:db8:14::25\n",
            &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
            None,
        );
        assert_eq!(
            changes(&r)
                .into_iter()
                .map(|(l, _, a)| (l, a))
                .collect::<Vec<_>>(),
            [(3, "abbe::cafe/64 metric 7 src 2001:db8:7::131".to_string())]
        );
        assert_eq!(codes(&r), ["route-via-outside-network"]);
        // Without ifcfg-eth0, nothing is known of the network: only
        // literal moves.
        let f = Fixture::new(V4);
        let r = Ifcfg
            .analyze(
                ROUTE,
                "10.9.0.0/16 via 172.20.14.1 src 172.20.14.25\n",
                &f.plan(),
            )
            .unwrap();
        assert_eq!(r.changes.len(), 1);
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn the_global_gateway_is_checked_against_every_interface() {
        use crate::surface::testutil::changes;
        let text = "NETWORKING=yes\nGATEWAY=172.20.14.1\nGATEWAYDEV=eth0\nIPV6_DEFAULTGW=2001:db8:14::1%eth0\n";
        let ifcfg = "IPADDR=172.20.14.25\nPREFIX=24\nIPV6ADDR=2001:db8:14::25/64\n";
        let r = plan_beside(NETWORK, ifcfg, text, V4, Some("10.40.7.1"));
        assert_eq!(
            changes(&r),
            [(
                2,
                "GATEWAY=172.20.14.1".to_string(),
                "GATEWAY=10.40.7.1".to_string()
            )]
        );
        let r = plan_beside(NETWORK, ifcfg, text, V4, None);
        assert!(r.changes.is_empty());
        assert_eq!(r.warnings[0].code, Code::GatewayOutsideNetwork);
        assert!(
            r.warnings[0]
                .message
                .starts_with("/etc/sysconfig/network:2: ")
        );
        // Another interface still in the gateway's network keeps it.
        let f = Fixture::new(V4);
        f.write(IFCFG_ETH0, ifcfg);
        f.write(
            "/etc/sysconfig/network-scripts/ifcfg-eth1",
            "IPADDR=172.20.14.26\nPREFIX=24\n",
        );
        let r = Ifcfg.analyze(NETWORK, text, &f.plan()).unwrap();
        assert!(r.changes.is_empty() && r.warnings.is_empty(), "{r:#?}");
        let s = scan(Surface::Ifcfg, NETWORK, text, &["172.20.14.1"]);
        assert_eq!(s.findings.len(), 1);
    }

    #[test]
    fn bring_up_per_file() {
        assert_eq!(
            bring_up(PATH, "DEVICE=eth0\nNAME=\"System eth0\"\n", 1),
            "nmcli connection reload && nmcli connection up id 'System eth0'"
        );
        assert_eq!(
            bring_up(PATH, "NAME='it'\\''s'\n", 1),
            "nmcli connection reload && nmcli connection up id 'it'\\''s'"
        );
        assert_eq!(
            bring_up(PATH, "IPADDR=1.2.3.4\n", 1),
            "nmcli connection reload && nmcli connection up id eth0"
        );
        assert_eq!(
            bring_up(ROUTE, "default via 1.2.3.1\n", 1),
            "nmcli connection reload && nmcli connection up ifname eth0"
        );
        assert_eq!(
            bring_up(NETWORK, "GATEWAY=1.2.3.1\n", 1),
            "nmcli connection reload && systemctl restart NetworkManager"
        );
    }
}
