//! Surface `ifupdown`: Debian's `/etc/network/interfaces`, the files it
//! includes, and `/etc/network/interfaces.d/*`.
//!
//! Format (interfaces(5)): lines starting with `#` are comments (no
//! end-of-line comments); a line ending in a backslash continues on the
//! next. Stanzas start with `iface NAME FAMILY METHOD`, `mapping`, `auto`,
//! `allow-*`, `rename`, `source PATTERN` and `source-directory DIR`;
//! options (`address`, `netmask`, `gateway`, `dns-nameservers`, `up`, ...)
//! belong to the `iface` or `mapping` stanza above them, and ifupdown
//! rejects an option anywhere else ("misplaced option"), as this parser
//! does.
//!
//! Values read:
//!
//! * `address A[/N]` is an interface address; `netmask M` (dotted or a
//!   length) is the prefix of the stanza's first address written without
//!   `/N`; `network` and `broadcast` belong to that address too;
//! * `gateway G` is the stanza's default gateway, on-link when it is also
//!   the stanza's `pointopoint` peer;
//! * `up`/`down`/`pre-up`/`post-up`/`pre-down`/`post-down` commands are
//!   read word by word: `ip addr add A/N` is an interface address,
//!   `ip route ... via G` and `route add ... gw G` are gateways (default
//!   when the route is `default`, `0.0.0.0/0` or `::/0`), `src S` is this
//!   host's address, other words are text;
//! * `dns-nameservers`, `pointopoint`, `endpoint`, `dstaddr` are other
//!   hosts; `local` is this host's address (tunnels);
//! * any other option's words are text, except options holding secrets
//!   (`wpa-psk`, ...), which are never read.
//!
//! Files: the main file, everything it includes (`source` globs and
//! `source-directory` directories, relative paths taken from the including
//! file's directory, followed recursively), and `interfaces.d/*` even when
//! not included: a stale copy of the old address there is worth seeing.

use std::collections::BTreeSet;
use std::ops::Range;

use super::netcfg::syntax::{self, logical_lines, parse_error, words};
use super::netcfg::{Doc, Role};
use super::{Ctx, FileSurface, IfaceAddr, Surface};
use crate::error::Result;
use crate::model::Report;
use crate::policy::ValueKind;

/// The `ifupdown` surface.
pub struct Ifupdown;

const MAIN: &str = "/etc/network/interfaces";
const DROP_IN: &str = "/etc/network/interfaces.d/*";

/// Words that start a new stanza (and end the current one).
const STANZAS: &[&str] = &[
    "iface",
    "mapping",
    "auto",
    "rename",
    "source",
    "source-dir",
    "source-directory",
    "no-auto-down",
    "no-scripts",
];

/// Options whose words are addresses of other hosts or of this host.
const OPTION_KINDS: &[(&str, ValueKind)] = &[
    ("dns-nameservers", ValueKind::OtherHost),
    ("dns-nameserver", ValueKind::OtherHost),
    ("endpoint", ValueKind::OtherHost),
    ("dstaddr", ValueKind::OtherHost),
    ("local", ValueKind::OwnAddress),
];

/// Options whose value is a shell command.
const COMMANDS: &[&str] = &["up", "down", "pre-up", "post-up", "pre-down", "post-down"];

impl FileSurface for Ifupdown {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let host = ctx.host;
        let mut queue: Vec<String> = Vec::new();
        if host.exists(MAIN) {
            queue.push(MAIN.to_string());
        }
        queue.extend(host.glob(DROP_IN)?);
        let mut seen = BTreeSet::new();
        while let Some(path) = queue.pop() {
            if !seen.insert(path.clone()) {
                continue;
            }
            let Some(text) = host.read(&path)? else {
                continue;
            };
            for inc in includes(&path, &text) {
                match inc {
                    Include::Files(pattern) => queue.extend(host.glob(&pattern)?),
                    Include::Dir(dir) => queue.extend(
                        host.glob(&format!("{}/*", dir.trim_end_matches('/')))?
                            .into_iter()
                            .filter(|p| run_parts_name(p.rsplit('/').next().unwrap_or(""))),
                    ),
                }
            }
        }
        Ok(seen.into_iter().collect())
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        Ok(parse(path, text)?.analyze(Surface::Ifupdown, ctx))
    }

    fn interfaces(&self, path: &str, text: &str) -> Result<Vec<IfaceAddr>> {
        Ok(parse(path, text)?.interfaces())
    }
}

/// An include line.
#[derive(Debug, PartialEq, Eq)]
enum Include {
    /// `source PATTERN`: a glob of files.
    Files(String),
    /// `source-directory DIR`.
    Dir(String),
}

/// The include lines of a file, paths made absolute.
fn includes(path: &str, text: &str) -> Vec<Include> {
    let lines = syntax::lines(text);
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let mut out = Vec::new();
    for logical in stanza_lines(&lines) {
        let ws: Vec<&str> = line_words(&lines, &logical)
            .into_iter()
            .map(|(n, r)| &lines[n - 1][r])
            .collect();
        let Some((kw, args)) = ws.split_first() else {
            continue;
        };
        // ifup expands the rest of the line like a shell would, so
        // several patterns may follow.
        for arg in args {
            let abs = if arg.starts_with('/') {
                arg.to_string()
            } else {
                format!("{dir}/{arg}")
            };
            match *kw {
                "source" => out.push(Include::Files(abs)),
                "source-dir" | "source-directory" => out.push(Include::Dir(abs)),
                _ => {}
            }
        }
    }
    out
}

/// `source-directory` reads files named like run-parts does:
/// letters, digits, `_` and `-` only.
fn run_parts_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// How a changed interfaces file comes up: the interface of the `iface`
/// stanza holding line `line` goes down and up again. `ifdown` with the
/// edited file cannot remove the old address (it no longer knows it), so
/// global addresses are flushed by hand. A line outside any stanza
/// restarts the whole networking service.
pub fn bring_up(_file: &str, text: &str, line: usize) -> String {
    let lines = syntax::lines(text);
    let iface = stanza_lines(&lines)
        .into_iter()
        .take_while(|l| l.first().is_some_and(|(n, _)| *n <= line))
        .filter_map(|l| {
            let ws = line_words(&lines, &l);
            let word = |k: usize| ws.get(k).map(|(n, r)| &lines[n - 1][r.clone()]);
            (word(0) == Some("iface")).then(|| word(1)).flatten()
        })
        .last();
    match iface {
        Some(i) => {
            let i = crate::services::shell_quote(i);
            format!("{{ ifdown --force {i}; ip addr flush dev {i} scope global; ifup {i}; }}")
        }
        None => "systemctl restart networking".into(),
    }
}

/// The logical lines of an interfaces file: `#` starts a comment only at
/// the start of a line (after blanks), and a comment line is never
/// continued; a continued line takes the next one whatever it holds.
fn stanza_lines(lines: &[&str]) -> Vec<syntax::Logical> {
    logical_lines(lines, &|l| l.trim_start().starts_with('#'), true, false)
}

/// Words of a logical line with their physical line numbers.
fn line_words(lines: &[&str], logical: &syntax::Logical) -> Vec<(usize, Range<usize>)> {
    logical
        .iter()
        .flat_map(|(n, r)| {
            words(lines[n - 1], r.clone())
                .into_iter()
                .map(move |w| (*n, w))
        })
        .collect()
}

/// The stanza being read.
enum Stanza {
    Iface(Iface),
    /// `mapping`: its options (`script`, `map`) hold no addresses.
    Mapping,
}

/// An `iface` stanza: its block and the values that are linked to its
/// first address at its end.
struct Iface {
    block: usize,
    /// Index of the first `address` written without `/N`.
    bare: Option<usize>,
    /// Index of the first `address`.
    first: Option<usize>,
    /// `netmask`, `network`, `broadcast` values: (line, span, what).
    linked: Vec<(usize, Range<usize>, &'static str)>,
    /// `gateway` items, and the `pointopoint` values: a gateway that is
    /// the point-to-point peer is on-link (the usual /32 setup).
    gateways: Vec<usize>,
    peers: Vec<String>,
}

fn parse<'a>(path: &'a str, text: &'a str) -> Result<Doc<'a>> {
    let mut doc = Doc::new(path, text);
    let lines: Vec<&str> = doc.lines().to_vec();
    let mut stanza: Option<Stanza> = None;
    let mut blocks = 0;
    for logical in stanza_lines(&lines) {
        let ws = line_words(&lines, &logical);
        let Some((n0, r0)) = ws.first().cloned() else {
            continue;
        };
        let kw = &lines[n0 - 1][r0];
        if STANZAS.contains(&kw) || kw.starts_with("allow-") {
            if let Some(Stanza::Iface(iface)) = stanza.take() {
                finish(&mut doc, iface);
            }
            match kw {
                "iface" if ws.len() < 4 => {
                    return Err(parse_error(
                        path,
                        n0,
                        "`iface` needs a name, an address family and a method",
                        "write it as `iface eth0 inet static` (or inet6, dhcp, manual...)",
                    ));
                }
                "iface" => {
                    blocks += 1;
                    stanza = Some(Stanza::Iface(Iface {
                        block: blocks,
                        bare: None,
                        first: None,
                        linked: Vec::new(),
                        gateways: Vec::new(),
                        peers: Vec::new(),
                    }));
                }
                "mapping" => stanza = Some(Stanza::Mapping),
                _ => {}
            }
            continue;
        }
        let iface = match stanza.as_mut() {
            None => {
                return Err(parse_error(
                    path,
                    n0,
                    format!("misplaced option `{kw}`: options belong under an `iface` stanza"),
                    "move the option below its `iface` line (ifup rejects this file as it is)",
                ));
            }
            Some(Stanza::Mapping) => continue,
            Some(Stanza::Iface(iface)) => iface,
        };
        let args = &ws[1..];
        if args.is_empty() {
            return Err(parse_error(
                path,
                n0,
                format!("option `{kw}` has no value"),
                "give the option a value or remove the line (ifup rejects it as it is)",
            ));
        }
        option(&mut doc, iface, kw, args, &lines);
    }
    if let Some(Stanza::Iface(iface)) = stanza {
        finish(&mut doc, iface);
    }
    doc.check()?;
    Ok(doc)
}

/// One option line of an `iface` stanza.
fn option(
    doc: &mut Doc,
    iface: &mut Iface,
    kw: &str,
    args: &[(usize, Range<usize>)],
    lines: &[&str],
) {
    let block = iface.block;
    let (n, r) = args.first().cloned().unwrap_or((0, 0..0));
    match kw {
        "address" => {
            let i = doc.push(n, r.clone(), Role::Address, block);
            if iface.first.is_none() {
                iface.first = i;
            }
            if iface.bare.is_none() && !lines[n - 1][r].contains('/') {
                iface.bare = i;
            }
        }
        "netmask" | "network" | "broadcast" => {
            let what = match kw {
                "netmask" => "netmask",
                "network" => "network",
                _ => "broadcast",
            };
            iface.linked.push((n, r, what));
        }
        "gateway" => {
            iface
                .gateways
                .extend(doc.push(n, r, Role::Gateway { default: true }, block));
        }
        "pointopoint" => {
            iface.peers.push(lines[n - 1][r.clone()].to_string());
            doc.push(n, r, Role::Value(ValueKind::OtherHost), block);
        }
        _ if COMMANDS.contains(&kw) => command(doc, block, args, lines),
        _ if syntax::is_secret_key(kw) => {}
        _ => {
            let kind = OPTION_KINDS
                .iter()
                .find(|(k, _)| *k == kw)
                .map(|(_, v)| *v)
                .unwrap_or(ValueKind::Text);
            for (n, r) in args {
                doc.push(*n, r.clone(), Role::Value(kind), block);
            }
        }
    }
}

/// Links the stanza's netmask, network and broadcast values to its address.
fn finish(doc: &mut Doc, iface: Iface) {
    for &g in &iface.gateways {
        if iface.peers.iter().any(|p| p == doc.value(g)) {
            doc.set_on_link(g);
        }
    }
    for (n, r, what) in iface.linked {
        let role = match what {
            "netmask" => iface.bare.map(|of| Role::Mask { of }),
            w => iface.first.map(|of| Role::Network {
                of,
                broadcast: w == "broadcast",
            }),
        };
        if let Some(role) = role {
            doc.push(n, r, role, iface.block);
        }
    }
}

/// Words that separate simple commands in a shell command line.
const SEPARATORS: &[&str] = &[";", "&&", "||", "|"];

/// A command option: split into simple commands, each read by its program.
fn command(doc: &mut Doc, block: usize, args: &[(usize, Range<usize>)], lines: &[&str]) {
    let text = |w: &(usize, Range<usize>)| &lines[w.0 - 1][w.1.clone()];
    for cmd in args.split(|w| SEPARATORS.contains(&text(w))) {
        let Some(first) = cmd.first() else { continue };
        let program = text(first).rsplit('/').next().unwrap_or("");
        let words: Vec<&str> = cmd.iter().map(text).collect();
        let roles = match program {
            "ip" => ip_roles(&words),
            "route" => route_roles(&words),
            _ => vec![Role::Value(ValueKind::Text); words.len()],
        };
        for (w, role) in cmd.iter().zip(roles).skip(1) {
            doc.push(w.0, w.1.clone(), role, block);
        }
    }
}

fn is_default_dest(w: &str) -> bool {
    matches!(w, "default" | "0.0.0.0/0" | "::/0")
}

/// Roles of the words of an `ip` command (word 0 is `ip`).
fn ip_roles(words: &[&str]) -> Vec<Role> {
    let text = Role::Value(ValueKind::Text);
    let mut roles = vec![text; words.len()];
    let mut i = 1;
    // Global options: `-4`, `-6`, `-f inet`, `-family inet6`, ...
    while i < words.len() && words[i].starts_with('-') {
        i += if matches!(words[i], "-f" | "-family") {
            2
        } else {
            1
        };
    }
    let object = words.get(i).copied().unwrap_or("");
    // `ip` takes any prefix of an object name: `a`, `addr`, `r`, `ro`.
    let is_addr = !object.is_empty() && "address".starts_with(object);
    let is_route = !object.is_empty() && "route".starts_with(object);
    i += 2; // object and verb
    if is_addr {
        if words.get(i) == Some(&"local") {
            i += 1;
        }
        if i < words.len() {
            roles[i] = Role::Address;
        }
        for j in i + 1..words.len() {
            if words[j - 1] == "peer" {
                roles[j] = Role::Value(ValueKind::OtherHost);
            }
        }
    } else if is_route {
        let via = words.iter().position(|w| *w == "via");
        let default = words[i.min(words.len())..via.unwrap_or(words.len())]
            .iter()
            .any(|w| is_default_dest(w));
        for j in i..words.len() {
            match words[j - 1] {
                "via" => roles[j] = Role::Gateway { default },
                "src" => roles[j] = Role::Value(ValueKind::OwnAddress),
                _ => {}
            }
        }
    }
    roles
}

/// Roles of the words of a net-tools `route` command.
fn route_roles(words: &[&str]) -> Vec<Role> {
    let default = words.iter().any(|w| is_default_dest(w));
    (0..words.len())
        .map(|j| {
            if j > 0 && words[j - 1] == "gw" {
                Role::Gateway { default }
            } else {
                Role::Value(ValueKind::Text)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use crate::surface::netcfg::testing::{Case, apply, check, never_panics, plan, scan};

    const PATH: &str = "/etc/network/interfaces";
    const V4: &[(&str, &str)] = &[("172.20.14.25/24", "10.40.7.131/24")];

    const BASIC: &str = "\
# The primary network interface: 172.20.14.25
auto eth0
iface eth0 inet static
    address 172.20.14.25/24
    gateway 172.20.14.1
    dns-nameservers 172.20.14.2 172.20.14.250
";

    #[test]
    fn plans() {
        let cases = &[
            Case {
                name: "address moves, comment kept, DNS in the subnet kept, gateway outside warned",
                text: BASIC,
                moves: V4,
                gateway: None,
                changes: &[(4, "    address 10.40.7.131/24")],
                warnings: &["gateway-outside-network"],
            },
            Case {
                name: "--gateway replaces the outside gateway",
                text: BASIC,
                moves: V4,
                gateway: Some("10.40.7.1"),
                changes: &[
                    (4, "    address 10.40.7.131/24"),
                    (5, "    gateway 10.40.7.1"),
                ],
                warnings: &[],
            },
            Case {
                name: "gateway inside the new network stays",
                text: BASIC,
                moves: &[("172.20.14.25/24", "172.20.14.40/24")],
                gateway: Some("172.20.14.254"),
                changes: &[(4, "    address 172.20.14.40/24")],
                warnings: &[],
            },
            Case {
                name: "192.168.2.1 is not 192.168.2.10; the DNS server that is the old address moves",
                text: "iface eth0 inet static\n address 192.168.2.10\n netmask 255.255.255.0\n gateway 192.168.2.254\n dns-nameservers 192.168.2.1 192.168.2.11\n",
                moves: &[("192.168.2.1/24", "192.168.3.1/24")],
                gateway: None,
                changes: &[(5, " dns-nameservers 192.168.3.1 192.168.2.11")],
                warnings: &[],
            },
            Case {
                name: "netmask (dotted) follows a new prefix",
                text: "iface eth0 inet static\n netmask 255.255.255.0\n address 172.20.14.25\n gateway 172.20.14.1\n broadcast 172.20.14.255\n network 172.20.14.0\n",
                moves: &[("172.20.14.25/24", "10.40.6.131/23")],
                gateway: Some("10.40.6.1"),
                changes: &[
                    (2, " netmask 255.255.254.0"),
                    (3, " address 10.40.6.131"),
                    (4, " gateway 10.40.6.1"),
                    (5, " broadcast 10.40.7.255"),
                    (6, " network 10.40.6.0"),
                ],
                warnings: &[],
            },
            Case {
                name: "netmask as a length stays a length; same prefix means no change",
                text: "iface eth0 inet static\n address 172.20.14.25\n netmask 24\n",
                moves: V4,
                gateway: None,
                changes: &[(2, " address 10.40.7.131")],
                warnings: &[],
            },
            Case {
                name: "unknown new prefix: written prefix kept, warned; gateway checked against it",
                text: BASIC,
                moves: &[("172.20.14.25/24", "172.20.14.40")],
                gateway: None,
                changes: &[(4, "    address 172.20.14.40/24")],
                warnings: &["prefix-unknown"],
            },
            Case {
                name: "unknown new prefix, kept /24 puts the gateway outside",
                text: BASIC,
                moves: &[("172.20.14.25", "10.40.7.131")],
                gateway: None,
                changes: &[(4, "    address 10.40.7.131/24")],
                warnings: &["prefix-unknown", "gateway-outside-network"],
            },
            Case {
                name: "no prefix anywhere: gateway unchecked",
                text: "iface eth0 inet static\n address 172.20.14.25\n gateway 172.20.14.1\n",
                moves: &[("172.20.14.25", "10.40.7.131")],
                gateway: None,
                changes: &[(2, " address 10.40.7.131")],
                warnings: &["gateway-unchecked"],
            },
            Case {
                name: "IPv4 and IPv6 stanzas: only the IPv6 one moves, IPv4 gateway untouched",
                text: "iface eth0 inet static\n address 172.20.14.25/24\n gateway 172.20.14.1\n\niface eth0 inet6 static\n address 2001:db8:14::25\n netmask 64\n gateway 2001:db8:14::1\n",
                moves: &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
                gateway: Some("2001:db8:7::1"),
                changes: &[
                    (6, " address 2001:db8:7::131"),
                    (8, " gateway 2001:db8:7::1"),
                ],
                warnings: &[],
            },
            Case {
                name: "a gateway that is the pointopoint peer is on-link",
                text: "iface eth0 inet static\n address 203.0.113.5/32\n gateway 172.31.1.1\n pointopoint 172.31.1.1\n",
                moves: &[("203.0.113.5/32", "198.51.100.7/32")],
                gateway: None,
                changes: &[(2, " address 198.51.100.7/32")],
                warnings: &[],
            },
            Case {
                name: "IPv6 link-local gateway is on-link",
                text: "iface eth0 inet6 static\n address 2001:db8:14::25/64\n gateway fe80::1\n",
                moves: &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
                gateway: None,
                changes: &[(2, " address 2001:db8:7::131/64")],
                warnings: &[],
            },
            Case {
                name: "continuation lines: changes on the physical line; a staying address keeps the route's gateway reachable",
                text: "iface eth0 inet static\n address 172.20.14.25/24\n post-up ip addr add 172.20.14.26/24 dev eth0 && \\\n   ip route add 192.0.2.0/24 via 172.20.14.254 src 172.20.14.25\n",
                moves: V4,
                gateway: None,
                changes: &[
                    (2, " address 10.40.7.131/24"),
                    (
                        4,
                        "   ip route add 192.0.2.0/24 via 172.20.14.254 src 10.40.7.131",
                    ),
                ],
                warnings: &[],
            },
            Case {
                name: "up ip addr add is an interface address; a second address stays",
                text: "iface eth0 inet static\n address 172.20.14.30/24\n gateway 172.20.14.1\n up ip -4 addr add 172.20.14.25/24 dev eth0 label eth0:1\n",
                moves: V4,
                gateway: None,
                changes: &[(4, " up ip -4 addr add 10.40.7.131/24 dev eth0 label eth0:1")],
                warnings: &[],
            },
            Case {
                name: "default route via in a command with --gateway",
                text: "iface eth0 inet static\n address 172.20.14.25/24\n up ip route add default via 172.20.14.1\n up route add -net 192.0.2.0 netmask 255.255.255.0 gw 172.20.14.9\n",
                moves: V4,
                gateway: Some("10.40.7.1"),
                changes: &[
                    (2, " address 10.40.7.131/24"),
                    (3, " up ip route add default via 10.40.7.1"),
                ],
                warnings: &["route-via-outside-network"],
            },
            Case {
                name: "CRLF lines and a secret option never read",
                text: "iface wlan0 inet static\r\n address 172.20.14.25/24\r\n wpa-psk 172.20.14.25\r\n",
                moves: V4,
                gateway: None,
                changes: &[(2, " address 10.40.7.131/24")],
                warnings: &[],
            },
            Case {
                name: "tunnel local moves, endpoint in the subnet stays",
                text: "iface tun0 inet static\n address 10.9.0.1/30\n mode gre\n local 172.20.14.25\n endpoint 172.20.14.26\n",
                moves: V4,
                gateway: None,
                changes: &[(4, " local 10.40.7.131")],
                warnings: &[],
            },
            Case {
                name: "a comment is never continued; a continued line takes a `#` line as text",
                text: "iface eth0 inet static\n# old: 172.20.14.25 \\\n address 172.20.14.25/24\n up echo \\\n# 172.20.14.25\n",
                moves: V4,
                gateway: None,
                changes: &[(3, " address 10.40.7.131/24"), (5, "# 10.40.7.131")],
                warnings: &[],
            },
        ];
        check(Surface::Ifupdown, PATH, cases);
    }

    #[test]
    fn malformed_input_names_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("address 10.0.0.5\n", 1, "misplaced option"),
            ("auto eth0\n\niface eth0 inet\n", 3, "`iface` needs"),
            ("iface eth0 inet static\n address\n", 2, "has no value"),
            (
                "iface eth0 inet static\n address 10.0.0.5\n netmask 255.0.255.0\n",
                3,
                "not a netmask",
            ),
            (
                "iface eth0 inet static\n address 10.0.0.5\nauto eth0\n gateway 10.0.0.1\n",
                4,
                "misplaced option",
            ),
        ];
        for (text, line, msg) in cases {
            let err = plan(Surface::Ifupdown, PATH, text, V4, None).unwrap_err();
            let s = err.to_string();
            assert!(s.starts_with(&format!("{PATH}:{line}: ")), "{s}");
            assert!(s.contains(msg), "{s}");
            assert!(err.help().is_some());
            assert!(Ifupdown.interfaces(PATH, text).is_err());
        }
        never_panics(
            Surface::Ifupdown,
            PATH,
            "iface eth0 inet static\n address 172.20.14.25\n netmask 255.255.255.0\n up ip -f inet route add default via 172.20.14.1 ; ip a add 172.20.14.25 \\\n  dev eth0\n",
        );
    }

    #[test]
    fn interfaces_learn_prefixes_and_gateways() {
        let text = "\
iface eth0 inet static
    address 172.20.14.25
    netmask 255.255.255.0
    gateway 172.20.14.1
iface eth0 inet6 static
    address 2001:db8:14::25/64
    gateway 2001:db8:14::1
    up ip addr add 2001:db8:14::26 dev eth0
iface eth1 inet static
    address 192.0.2.7/28
";
        let got: Vec<(String, Option<u8>, Option<String>, usize)> = Ifupdown
            .interfaces(PATH, text)
            .unwrap()
            .into_iter()
            .map(|i| {
                assert_eq!(i.file, PATH);
                (
                    i.addr.to_string(),
                    i.prefix,
                    i.gateway.map(|g| g.to_string()),
                    i.line,
                )
            })
            .collect();
        let want = vec![
            (
                "172.20.14.25".into(),
                Some(24),
                Some("172.20.14.1".into()),
                2,
            ),
            (
                "2001:db8:14::25".into(),
                Some(64),
                Some("2001:db8:14::1".into()),
                6,
            ),
            (
                "2001:db8:14::26".into(),
                None,
                Some("2001:db8:14::1".into()),
                8,
            ),
            ("192.0.2.7".into(), Some(28), None, 10),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn scan_finds_values_not_comments() {
        let r = scan(Surface::Ifupdown, PATH, BASIC, &["172.20.14.25"]);
        let lines: Vec<String> = r.findings.iter().map(|f| f.target.to_string()).collect();
        assert_eq!(lines, [format!("{PATH}:4")]);
        assert!(r.changes.is_empty() && r.warnings.is_empty());
    }

    #[test]
    fn unchanged_lines_stay_byte_identical() {
        let r = plan(Surface::Ifupdown, PATH, BASIC, V4, Some("10.40.7.1")).unwrap();
        assert_eq!(
            apply(BASIC, &r),
            BASIC
                .replace("address 172.20.14.25/24", "address 10.40.7.131/24")
                .replace("gateway 172.20.14.1", "gateway 10.40.7.1")
        );
    }

    #[test]
    fn files_follow_includes() {
        let dir = tempfile::TempDir::new().unwrap();
        let root = dir.path();
        let w = |p: &str, s: &str| {
            let real = root.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(real.parent().unwrap()).unwrap();
            std::fs::write(real, s).unwrap();
        };
        w(
            "/etc/network/interfaces",
            "source /etc/network/extra/*.cfg\nsource-directory more\nsource rel.conf\n",
        );
        w(
            "/etc/network/extra/a.cfg",
            "source /etc/network/interfaces\n",
        );
        w("/etc/network/extra/b.txt", "");
        w("/etc/network/more/eth1", "");
        w("/etc/network/more/eth1.cfg", "");
        w("/etc/network/rel.conf", "");
        w("/etc/network/interfaces.d/eth2", "");
        w("/etc/network/interfaces.d/eth2.bak", "");
        let host = Host::open(root, None).unwrap();
        assert_eq!(
            crate::surface::testutil::listed(&Ifupdown, &host).unwrap(),
            [
                "/etc/network/extra/a.cfg",
                "/etc/network/interfaces",
                "/etc/network/interfaces.d/eth2",
                "/etc/network/more/eth1",
                "/etc/network/rel.conf",
            ]
        );
        let empty = tempfile::TempDir::new().unwrap();
        let host = Host::open(empty.path(), None).unwrap();
        assert!(
            crate::surface::testutil::listed(&Ifupdown, &host)
                .unwrap()
                .is_empty()
        );
    }
}
