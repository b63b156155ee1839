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
//! The same file is read by ifupdown2 and ifupdown-ng, which accept more,
//! and so does this parser: `iface NAME` without address family and
//! method (both), ifupdown-ng's `interface` (the same as `iface`) and
//! `template` stanzas, ifupdown2's `vlan` stanzas, and `inherits PARENT`
//! anywhere on the `iface` line. What every one of them rejects is an
//! error here too: an `iface` line without a name, `inherits` without the
//! interface to inherit from. ifupdown2 renders a file holding a `%`
//! through its template engine (Mako) first; the template's own lines
//! (`%for`, `<%def ...>`, `${...}` expressions) are not configuration:
//! they are never read or edited, and a warning names them
//! (`ifupdown-template`).
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
use super::netcfg::{Doc, Role, iproute};
use super::{Ctx, FileSurface, IfaceAddr, Surface, find};
use crate::error::Result;
use crate::model::{Report, Target};
use crate::notice::{Code, Notice};
use crate::policy::ValueKind;

/// The `ifupdown` surface.
pub struct Ifupdown;

const MAIN: &str = "/etc/network/interfaces";
const DROP_IN: &str = "/etc/network/interfaces.d/*";

/// Words that start a new stanza (and end the current one).
const STANZAS: &[&str] = &[
    "iface",
    "interface",
    "template",
    "vlan",
    "mapping",
    "auto",
    "rename",
    "source",
    "source-dir",
    "source-directory",
    "no-auto-down",
    "no-scripts",
];

/// Stanzas that hold an interface's options: Debian's `iface`,
/// ifupdown-ng's `interface` (the same) and `template` (options other
/// stanzas inherit), ifupdown2's `vlan` (a VLAN of a VLAN-aware bridge).
const IFACE_STANZAS: &[&str] = &["iface", "interface", "template", "vlan"];

/// Stanzas that name one interface `ifup`/`ifdown` bring up and down.
const UP_STANZAS: &[&str] = &["iface", "interface"];

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
        let parsed = parse(path, text)?;
        let mut report = parsed.doc.analyze(Surface::Ifupdown, ctx);
        report.extend(templates(&parsed, ctx));
        Ok(report)
    }

    fn interfaces(&self, path: &str, text: &str) -> Result<Vec<IfaceAddr>> {
        Ok(parse(path, text)?.doc.interfaces())
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
/// global addresses are flushed by hand. A line outside any stanza, or in
/// a stanza that is not one interface (an ifupdown-ng `template` others
/// inherit, an ifupdown2 bridge `vlan`), restarts the whole networking
/// service.
pub fn bring_up(_file: &str, text: &str, line: usize) -> String {
    let lines = syntax::lines(text);
    let stanza = stanza_lines(&lines)
        .into_iter()
        .take_while(|l| l.first().is_some_and(|(n, _)| *n <= line))
        .filter_map(|l| {
            let ws = line_words(&lines, &l);
            let word = |k: usize| ws.get(k).map(|(n, r)| &lines[n - 1][r.clone()]);
            word(0)
                .filter(|w| STANZAS.contains(w) || w.starts_with("allow-"))
                .map(|w| (w, word(1)))
        })
        .last();
    let iface = stanza
        .filter(|(kw, _)| UP_STANZAS.contains(kw))
        .and_then(|(_, name)| name);
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

/// A file read: its values, and the lines of template code that were not
/// read (1-based).
struct Parsed<'a> {
    doc: Doc<'a>,
    template: Vec<usize>,
}

fn parse<'a>(path: &'a str, text: &'a str) -> Result<Parsed<'a>> {
    let mut doc = Doc::new(path, text);
    let template = template_lines(doc.lines());
    // Template lines are read as blank lines: they hold no configuration.
    let lines: Vec<&str> = doc
        .lines()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if template.binary_search(&(i + 1)).is_ok() {
                ""
            } else {
                *l
            }
        })
        .collect();
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
            if IFACE_STANZAS.contains(&kw) {
                let words: Vec<&str> = ws.iter().map(|(n, r)| &lines[n - 1][r.clone()]).collect();
                check_iface_line(path, n0, &words)?;
                blocks += 1;
                stanza = Some(Stanza::Iface(Iface {
                    block: blocks,
                    bare: None,
                    first: None,
                    linked: Vec::new(),
                    gateways: Vec::new(),
                    peers: Vec::new(),
                }));
            } else if kw == "mapping" {
                stanza = Some(Stanza::Mapping);
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
    Ok(Parsed { doc, template })
}

/// The line starting an interface stanza (`iface NAME [FAMILY [METHOD]]
/// [inherits PARENT]`, and its synonyms): what no implementation reads.
/// Debian's ifupdown also wants the family and method, which ifupdown2
/// and ifupdown-ng do not.
fn check_iface_line(path: &str, line: usize, words: &[&str]) -> Result<()> {
    let kw = words[0];
    if words.len() < 2 {
        return Err(parse_error(
            path,
            line,
            format!("`{kw}` needs the name of an interface"),
            format!("write it as `{kw} eth0 inet static` (or inet6, dhcp, manual...)"),
        ));
    }
    if words.last() == Some(&"inherits") {
        return Err(parse_error(
            path,
            line,
            "`inherits` needs the interface to inherit from",
            "name the stanza to inherit from after `inherits`, or remove the word (ifup rejects the file as it is)",
        ));
    }
    Ok(())
}

/// The lines of template code in a file ifupdown2 renders through Mako
/// (one holding a `%`), 1-based: control lines (`% for ...:`, `%endfor`),
/// tags (`<%def ...>`, `</%def>`, `<%namespace .../>`, over as many lines
/// as the tag takes), Python blocks (`<% ... %>`, `<%! ... %>`), `<%doc>`
/// blocks, and lines that start with an expression (`${...}`). `%%` is a
/// literal `%`.
fn template_lines(lines: &[&str]) -> Vec<usize> {
    let mut out = Vec::new();
    if !lines.iter().any(|l| l.contains('%')) {
        return out;
    }
    // The text that closes a construct spanning lines.
    let mut until: Option<&str> = None;
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        if let Some(end) = until {
            // A blank line holds nothing, whatever reads it.
            if !t.is_empty() {
                out.push(i + 1);
            }
            if l.contains(end) {
                until = None;
            }
            continue;
        }
        if t.starts_with("%%") {
            continue;
        }
        if t.starts_with('%') || t.starts_with("${") {
            out.push(i + 1);
            continue;
        }
        let Some(rest) = t.strip_prefix("<%").or_else(|| t.strip_prefix("</%")) else {
            continue;
        };
        out.push(i + 1);
        let end = if rest.starts_with("doc") && t.starts_with("<%") {
            "</%doc>"
        } else if rest.is_empty() || rest.starts_with('!') || rest.starts_with(char::is_whitespace)
        {
            "%>"
        } else {
            ">"
        };
        if !rest.contains(end) {
            until = Some(end);
        }
    }
    out
}

/// What a file's template lines mean for the move: a warning naming them
/// (zmreip reads neither them nor what they produce), and for each one
/// holding a searched address, the finding and a warning to change it by
/// hand.
fn templates(parsed: &Parsed, ctx: &Ctx) -> Report {
    let mut report = Report::default();
    let Some(&first) = parsed.template.first() else {
        return report;
    };
    let path = parsed.doc.path();
    let n = parsed.template.len();
    report.warnings.push(Notice::new(
        Code::IfupdownTemplate,
        format!(
            "{path}:{first}: {n} line{} of ifupdown2 template code (Mako: `%` lines, `<%...>` tags, `${{...}}` expressions) {} not read, nor the configuration {} produce{}; zmreip never edits them: check them by hand",
            if n == 1 { "" } else { "s" },
            if n == 1 { "is" } else { "are" },
            if n == 1 { "it" } else { "they" },
            if n == 1 { "s" } else { "" },
        ),
    ));
    for &line in &parsed.template {
        let target = Target::Line {
            file: path.to_string(),
            line,
        };
        let found = find(
            ctx.matcher,
            Surface::Ifupdown,
            &target,
            parsed.doc.lines()[line - 1],
        );
        if let Some(f) = found.first() {
            report.warnings.push(Notice::new(
                Code::IfupdownTemplate,
                format!(
                    "{path}:{line}: a line of ifupdown2 template code holds {}; zmreip does not edit templates: change it by hand",
                    f.matched
                ),
            ));
        }
        report.findings.extend(found);
    }
    report
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
            "ip" => iproute::ip_command(&words),
            "route" => iproute::route_command(&words),
            _ => vec![Role::Value(ValueKind::Text); words.len()],
        };
        for (w, role) in cmd.iter().zip(roles).skip(1) {
            doc.push(w.0, w.1.clone(), role, block);
        }
    }
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
            Case {
                name: "ifupdown2/ifupdown-ng: `iface NAME` without family and method; both families in one stanza",
                text: "auto eth0\niface eth0\n    address 172.20.14.25/24\n    address 2001:db8:14::25/64\n    gateway 172.20.14.1\n",
                moves: V4,
                gateway: None,
                changes: &[(3, "    address 10.40.7.131/24")],
                warnings: &["gateway-outside-network"],
            },
            Case {
                name: "ifupdown-ng `interface`, `template` and `inherits`: each stanza's address is its own",
                text: "template base\n address 172.20.14.25/24\n\ninterface eth1 inherits base\n address 172.20.14.250/24\n\niface eth2 inet static inherits base\n address 192.168.2.10/24\n",
                moves: V4,
                gateway: None,
                changes: &[(2, " address 10.40.7.131/24")],
                warnings: &[],
            },
            Case {
                name: "ifupdown2 `vlan` stanza options are read; an unknown option's address is text",
                text: "vlan vlan10\n    bridge-igmp-querier-src 172.20.14.25\n    vlan-id 10\n",
                moves: V4,
                gateway: None,
                changes: &[(2, "    bridge-igmp-querier-src 10.40.7.131")],
                warnings: &[],
            },
            Case {
                name: "the old network's broadcast follows, also for a /14 kept by an unknown new prefix",
                text: "iface eth1 inet static\n  address 1.2.3.4/14\n  broadcast 1.3.255.255\n",
                moves: &[("1.2.3.4", "10.254.99.77")],
                gateway: None,
                changes: &[
                    (2, "  address 10.254.99.77/14"),
                    (3, "  broadcast 10.255.255.255"),
                ],
                warnings: &["prefix-unknown"],
            },
            Case {
                name: "a custom broadcast (not the old network's, even the old address) and `broadcast -` stay",
                text: "iface eth2 inet static\n  address 172.20.14.25/24\n  broadcast 172.20.14.127\n\niface eth3 inet static\n  address 172.20.14.25/24\n  broadcast -\n\niface eth4 inet static\n  address 172.20.14.25/24\n  broadcast 172.20.14.25\n",
                moves: V4,
                gateway: None,
                changes: &[
                    (2, "  address 10.40.7.131/24"),
                    (6, "  address 10.40.7.131/24"),
                    (10, "  address 10.40.7.131/24"),
                ],
                warnings: &[],
            },
            Case {
                name: "ifupdown2 Mako template lines are neither read nor edited; the stanzas around them are",
                text: "%for v in range(10, 12):\nauto vlan-${v}\niface vlan-${v} inet static\n    address 172.20.14.25/24\n%endfor\n<%def name=\"br(addr)\">\niface br0\n    address ${addr}\n</%def>\n${br(\"172.20.14.25/24\")}\n",
                moves: V4,
                gateway: None,
                changes: &[(4, "    address 10.40.7.131/24")],
                warnings: &["ifupdown-template", "ifupdown-template"],
            },
        ];
        check(Surface::Ifupdown, PATH, cases);
    }

    #[test]
    fn malformed_input_names_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("address 10.0.0.5\n", 1, "misplaced option"),
            ("auto eth0\n\niface\n", 3, "`iface` needs the name"),
            ("interface \\\n\n", 1, "`interface` needs the name"),
            (
                "iface eth0 inet static\n    address 1.2.3.4/24\n\niface eth3 inet static inherits\n",
                4,
                "`inherits` needs",
            ),
            (
                "iface eth4 inherits\n address 10.0.0.5\n",
                1,
                "`inherits` needs",
            ),
            // Not a template: the file has no `%`, so `${x}` is an option
            // outside any stanza.
            ("${x}\niface eth0\n", 1, "misplaced option"),
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
    fn template_code_lines() {
        // (text, template lines)
        let cases: &[(&str, &[usize])] = &[
            ("iface eth0\n address 10.0.0.5/24\n", &[]),
            // No `%` anywhere: ifupdown2 does not render the file.
            ("${x}\n", &[]),
            ("% for i in x:\n a\n  %endfor\n%% literal\n", &[1, 3]),
            ("<%\n x = 1\n%>\niface a\n", &[1, 2, 3]),
            ("<%! import os %>\n<% y = 2 %>\niface a\n", &[1, 2]),
            ("<%doc>\n iface x\n</%doc>\niface a\n", &[1, 2, 3]),
            (
                "<%namespace name=\"b\"\n   file=\"/t\"/>\n${b.makebr(1)}\n  ${x} y\n",
                &[1, 2, 3, 4],
            ),
            ("<%def name=\"f()\">\niface ${v}\n</%def>\n", &[1, 3]),
            // An expression inside a line is a value, not a template line.
            (
                "iface vlan-${v} inet static\n address 10.0.${v}.1/24 # %\n",
                &[],
            ),
            // Never closed: the rest of the file is template code.
            ("<%\niface a\n address 10.0.0.5\n", &[1, 2, 3]),
        ];
        for (text, want) in cases {
            assert_eq!(
                &super::template_lines(&syntax::lines(text)),
                want,
                "{text:?}"
            );
        }
    }

    #[test]
    fn template_warnings_name_the_lines() {
        let text =
            "# %\n%for v in range(1, 3):\niface eth${v}\n%endfor\n${mk(\"172.20.14.25/24\")}\n";
        let r = plan(Surface::Ifupdown, PATH, text, V4, None).unwrap();
        assert!(r.changes.is_empty(), "{:?}", r.changes);
        let msgs: Vec<&str> = r.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(msgs.len(), 2, "{msgs:#?}");
        assert!(
            msgs[0].starts_with(&format!("{PATH}:2: 3 lines of ifupdown2 template code")),
            "{}",
            msgs[0]
        );
        assert!(
            msgs[1].starts_with(&format!("{PATH}:5: ")) && msgs[1].contains("172.20.14.25"),
            "{}",
            msgs[1]
        );
        let s = scan(Surface::Ifupdown, PATH, text, &["172.20.14.25"]);
        let lines: Vec<String> = s.findings.iter().map(|f| f.target.to_string()).collect();
        assert_eq!(lines, [format!("{PATH}:5")]);
        // 172.20.14.25 is not inside 172.20.14.250 on a template line
        // either: no finding, only the general warning.
        let text = "%for v in x:\n${mk(\"172.20.14.250\")}\n%endfor\n";
        let s = scan(Surface::Ifupdown, PATH, text, &["172.20.14.25"]);
        assert!(s.findings.is_empty(), "{:?}", s.findings);
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn bring_up_per_stanza() {
        let text = "auto eth0\niface eth0\n address 10.0.0.5/24\ntemplate base\n address 10.0.0.6/24\ninterface eth1\n address 10.0.0.7/24\nauto eth2\n";
        let up = |line| bring_up(PATH, text, line);
        assert!(up(3).contains("ifup eth0"), "{}", up(3));
        assert_eq!(up(5), "systemctl restart networking");
        assert!(up(7).contains("ifup eth1"), "{}", up(7));
        assert_eq!(up(1), "systemctl restart networking");
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
