//! What the OS network configuration surfaces (ifupdown, netplan,
//! NetworkManager keyfiles, ifcfg, systemd-networkd) share: a model of a
//! parsed file and the rules that make these files more than line edits.
//!
//! Each parser reads its format into a [`Doc`]: the file's physical lines
//! and the values on them ([`Item`]s), each with its [`Role`] and the block
//! it belongs to (an ifupdown stanza, a netplan interface, a whole keyfile,
//! ifcfg or `.network` file). [`Doc::analyze`] then applies, for every
//! format alike:
//!
//! * an interface address moves with the rewriter as
//!   [`ValueKind::OwnAddress`] (its written `/N` becomes the new prefix when
//!   that is known; when it is not, the written prefix stays and a
//!   `prefix-unknown` warning asks for `--to ADDR/PREFIX`);
//! * a separate netmask or prefix length, network address or broadcast
//!   address of a moved address follows the new network;
//! * gateways are never guessed. The network a moved address will be in
//!   (its *effective* network: the new prefix when known, else the prefix
//!   the file keeps) decides: a gateway inside it, or inside the network of
//!   another address of the block that stays, is left alone; a default
//!   gateway outside it becomes `--gateway` when given, else the warning
//!   `gateway-outside-network` names the file, line, gateway and network.
//!   When the effective network cannot be known (no prefix anywhere), a
//!   given `--gateway` is written (the admin named the new router) and
//!   otherwise the warning `gateway-unchecked` says so. A non-default
//!   route's gateway outside the new network is never changed: the
//!   warning `route-via-outside-network` names it. An IPv6 link-local
//!   gateway (`fe80::/10`), and one the file declares on-link, is
//!   reachable whatever the prefix.
//! * other hosts (DNS servers, route destinations, peers) change only
//!   where they *are* an old address, never for sharing its subnet.
//!
//! Every changed line is one [`Change`] whose `before`/`after` are the whole
//! physical line without its terminator, so comments and formatting stay
//! byte-identical.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;

use ipnet::IpNet;

use super::{Ctx, IfaceAddr, Surface, at, find};
use crate::addr::MatchKind;
use crate::error::{Error, Result};
use crate::model::{Change, Report, Target, Value};
use crate::notice::{Code, Notice};
use crate::policy::{Rewriter, ValueKind};
use crate::spec::{Pair, PrefixSource};

/// What a value in a network configuration file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An address configured on an interface: `A` or `A/N`.
    Address,
    /// The prefix of address item `of`, as a length (`24`) or a dotted
    /// netmask (`255.255.255.0`).
    Mask { of: usize },
    /// The network address (or, with `broadcast`, the broadcast address)
    /// of address item `of`'s network.
    Network { of: usize, broadcast: bool },
    /// The gateway of a route; `default` for the default route.
    Gateway { default: bool },
    /// Any other value, changed by the rewriter as `kind` says.
    Value(ValueKind),
}

/// One value: where it is and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// 1-based physical line.
    pub line: usize,
    /// Byte range of the value in that line (quotes outside).
    pub span: Range<usize>,
    pub role: Role,
    /// The stanza, interface or file the value belongs to: gateways are
    /// checked against the addresses of their own block.
    pub block: usize,
    /// A gateway declared on-link (netplan `on-link: true`, networkd
    /// `GatewayOnLink=yes`, ifupdown `pointopoint` equal to the gateway):
    /// reachable outside any network, as on /32 hosting setups.
    pub on_link: bool,
}

/// A parsed network configuration file.
#[derive(Debug)]
pub struct Doc<'a> {
    path: &'a str,
    lines: Vec<&'a str>,
    items: Vec<Item>,
}

/// An address item read from its text, with the prefix that applies.
#[derive(Debug, Clone, Copy)]
struct Addr {
    ip: IpAddr,
    /// Written `/N`, else the first mask item's.
    prefix: Option<u8>,
    /// The line holding that prefix (the address line or the mask's).
    prefix_line: usize,
}

impl<'a> Doc<'a> {
    /// A document over `text` with no items yet.
    pub fn new(path: &'a str, text: &'a str) -> Doc<'a> {
        Doc {
            path,
            lines: lines(text),
            items: Vec::new(),
        }
    }

    /// The physical lines, without terminators.
    pub fn lines(&self) -> &[&'a str] {
        &self.lines
    }

    /// The host path.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// Adds an item; returns its index (for [`Role::Mask`] links). Empty
    /// spans are not values and are skipped (`None`).
    pub fn push(
        &mut self,
        line: usize,
        span: Range<usize>,
        role: Role,
        block: usize,
    ) -> Option<usize> {
        if span.is_empty() {
            return None;
        }
        self.items.push(Item {
            line,
            span,
            role,
            block,
            on_link: false,
        });
        Some(self.items.len() - 1)
    }

    /// Changes the role of item `i` (a route found to be the default one
    /// after its gateway was read).
    pub fn set_role(&mut self, i: usize, role: Role) {
        self.items[i].role = role;
    }

    /// Marks gateway item `i` as on-link.
    pub fn set_on_link(&mut self, i: usize) {
        self.items[i].on_link = true;
    }

    /// The items so far.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The text of item `i`.
    pub fn value(&self, i: usize) -> &'a str {
        let it = &self.items[i];
        &self.lines[it.line - 1][it.span.clone()]
    }

    /// Checks what the model relies on: every mask is a valid prefix for
    /// its address's family. Called by each parser when done.
    pub fn check(&self) -> Result<()> {
        for (i, it) in self.items.iter().enumerate() {
            if let Role::Mask { of } = it.role {
                let v6 = self.addr(of).is_some_and(|a| a.ip.is_ipv6());
                let text = self.value(i);
                if parse_mask(text, v6).is_none() {
                    let expect = if v6 {
                        "a prefix length from 0 to 128"
                    } else {
                        "a dotted netmask like 255.255.255.0 or a length from 0 to 32"
                    };
                    return Err(parse_error(
                        self.path,
                        it.line,
                        format!("`{text}` is not a netmask: expected {expect}"),
                        "fix the netmask, then run zmreip again",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every interface address with its prefix and its block's default
    /// gateway of the same family.
    pub fn interfaces(&self) -> Vec<IfaceAddr> {
        let mut out = Vec::new();
        for (i, it) in self.items.iter().enumerate() {
            if it.role != Role::Address {
                continue;
            }
            let Some(a) = self.addr(i) else { continue };
            let gateway = self.items.iter().enumerate().find_map(|(j, g)| {
                (g.block == it.block && g.role == (Role::Gateway { default: true }))
                    .then(|| parse_addr(self.value(j)))
                    .flatten()
                    .map(|(ip, _)| ip)
                    .filter(|ip| ip.is_ipv4() == a.ip.is_ipv4())
            });
            out.push(IfaceAddr {
                addr: a.ip,
                prefix: a.prefix,
                gateway,
                file: self.path.to_string(),
                line: it.line,
            });
        }
        out
    }

    /// Findings for every value; with a rewriter, the changes and warnings
    /// of the rules in the module documentation.
    pub fn analyze(&self, surface: Surface, ctx: &Ctx) -> Report {
        let mut report = Report::default();
        for (i, it) in self.items.iter().enumerate() {
            let mut found = find(ctx.matcher, surface, &self.target(it.line), self.value(i));
            if it.role == Role::Address {
                // `172.20.14.26/24` configures an address, it does not
                // name a network holding the searched one.
                found.retain(|f| f.kind != MatchKind::NetworkContains);
            }
            report.findings.extend(found);
        }
        let Some(rw) = ctx.rewriter else {
            return report;
        };
        let addrs: Vec<Option<Addr>> = (0..self.items.len())
            .map(|i| {
                (self.items[i].role == Role::Address)
                    .then(|| self.addr(i))
                    .flatten()
            })
            .collect();
        let moved: Vec<Option<&Pair>> = addrs
            .iter()
            .map(|a| a.and_then(|a| rw.pair_for(a.ip)))
            .collect();
        let mut edits = Edits::default();
        for (i, it) in self.items.iter().enumerate() {
            match it.role {
                Role::Address => {
                    if moved[i].is_some() {
                        self.literal(i, ValueKind::OwnAddress, ctx, &mut edits, &mut report);
                    }
                    if let (Some(p), Some(a)) = (moved[i], addrs[i])
                        && p.new_prefix_source == PrefixSource::Host
                        && let Some(len) = a.prefix
                    {
                        report.warnings.push(Notice::new(
                            Code::PrefixUnknown,
                            format!(
                                "{}:{}: the prefix of the new address {} is not known, so the written /{len} of {} is kept; pass --to {}/PREFIX if the new network differs",
                                self.path, a.prefix_line, p.new, p.old, p.new
                            ),
                        ));
                    }
                }
                Role::Value(kind) => self.literal(i, kind, ctx, &mut edits, &mut report),
                Role::Gateway { .. } => {
                    self.literal(i, ValueKind::OtherHost, ctx, &mut edits, &mut report);
                }
                Role::Mask { of } => {
                    let (Some(p), Some(a)) = (moved[of], addrs[of]) else {
                        continue;
                    };
                    if p.new_prefix_source == PrefixSource::Host {
                        continue;
                    }
                    let text = self.value(i);
                    let Some((len, dotted)) = parse_mask(text, a.ip.is_ipv6()) else {
                        continue;
                    };
                    if len != p.new_prefix {
                        let new = if dotted {
                            dotted_mask(p.new_prefix)
                        } else {
                            p.new_prefix.to_string()
                        };
                        edits.add(
                            it,
                            new,
                            format!(
                                "prefix of {} follows the new network {}",
                                p.new,
                                p.new_net()
                            ),
                        );
                    }
                }
                Role::Network { of, broadcast } => {
                    let (Some(p), Some(a)) = (moved[of], addrs[of]) else {
                        continue;
                    };
                    let (Some(len), Some(new_net)) = (a.prefix, effective_net(p, a.prefix)) else {
                        continue;
                    };
                    let Ok(old_net) = IpNet::new(p.old, len) else {
                        continue;
                    };
                    let Some((written, _)) = parse_addr(self.value(i)) else {
                        continue;
                    };
                    let (old, new, what) = if broadcast {
                        (old_net.broadcast(), new_net.broadcast(), "broadcast")
                    } else {
                        (old_net.network(), new_net.network(), "network")
                    };
                    if written == old && old != new {
                        edits.add(
                            it,
                            new.to_string(),
                            format!("{what} address follows the new network {new_net}"),
                        );
                    }
                }
            }
        }
        self.gateways(rw, &addrs, &moved, &mut edits, &mut report);
        report.changes.extend(edits.changes(surface, self));
        report
    }

    /// Rewrites item `i` as `kind` says.
    fn literal(
        &self,
        i: usize,
        kind: ValueKind,
        ctx: &Ctx,
        edits: &mut Edits,
        report: &mut Report,
    ) {
        let Some(rw) = ctx.rewriter else { return };
        let value = self.value(i);
        if !ctx.matcher.may_match(value) {
            return;
        }
        let it = &self.items[i];
        let out = rw.rewrite(&[value], kind);
        report.warnings.extend(at(out.notes, &self.target(it.line)));
        if out.changed {
            edits.add(it, out.after.join(" "), out.reasons.join("; "));
        }
    }

    /// The gateway rule for every block with a moved address.
    fn gateways(
        &self,
        rw: &Rewriter,
        addrs: &[Option<Addr>],
        moved: &[Option<&Pair>],
        edits: &mut Edits,
        report: &mut Report,
    ) {
        for (gi, g) in self.items.iter().enumerate() {
            let Role::Gateway { default } = g.role else {
                continue;
            };
            let text = self.value(gi);
            let Some((gw, _)) = parse_addr(text) else {
                continue;
            };
            if rw.pair_for(gw).is_some() || is_link_local(gw) || g.on_link {
                // A gateway that is an old address moved literally; a
                // link-local or on-link one is reachable on any prefix.
                continue;
            }
            let same = |i: usize| {
                self.items[i].block == g.block
                    && addrs[i].is_some_and(|a| a.ip.is_ipv4() == gw.is_ipv4())
            };
            let movers: Vec<(&Pair, Option<IpNet>)> = (0..self.items.len())
                .filter(|&i| same(i))
                .filter_map(|i| {
                    let p = moved[i]?;
                    Some((p, effective_net(p, addrs[i]?.prefix)))
                })
                .collect();
            if movers.is_empty() {
                continue;
            }
            let staying = (0..self.items.len())
                .filter(|&i| same(i) && moved[i].is_none())
                .filter_map(|i| {
                    let a = addrs[i]?;
                    IpNet::new(a.ip, a.prefix?).ok().map(|n| n.trunc())
                });
            let known: Vec<IpNet> = movers.iter().filter_map(|(_, n)| *n).collect();
            if known
                .iter()
                .copied()
                .chain(staying)
                .any(|n| n.contains(&gw))
            {
                continue;
            }
            let place = format!("{}:{}", self.path, g.line);
            let unknown = known.len() < movers.len();
            let given = rw.gateway().filter(|n| n.is_ipv4() == gw.is_ipv4());
            let nets = known
                .iter()
                .map(IpNet::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            if !default {
                if !unknown {
                    report.warnings.push(Notice::new(
                        Code::RouteViaOutsideNetwork,
                        format!(
                            "{place}: the route via {gw} is outside the new network {nets} and would not work after the move; zmreip changes only the default gateway, so fix this route by hand"
                        ),
                    ));
                }
                continue;
            }
            match given {
                Some(n) if n == gw => {}
                Some(n) => {
                    let why = if unknown {
                        format!(
                            "default gateway {gw} becomes {n} as given with --gateway (the new network is not known)"
                        )
                    } else {
                        format!(
                            "default gateway {gw} is outside the new network {nets}; {n} as given with --gateway"
                        )
                    };
                    edits.add(g, n.to_string(), why);
                }
                None if unknown => {
                    let new = movers[0].0.new;
                    report.warnings.push(Notice::new(
                        Code::GatewayUnchecked,
                        format!(
                            "{place}: no prefix is known for the new address {new}, so zmreip cannot tell whether the gateway {gw} is in its network; pass --to {new}/PREFIX, and --gateway ADDR if the router changes"
                        ),
                    ));
                }
                None => report.warnings.push(Notice::new(
                    Code::GatewayOutsideNetwork,
                    format!(
                        "{place}: the gateway {gw} is outside the new network {nets}; zmreip does not guess gateways: pass --gateway ADDR with the new network's router"
                    ),
                )),
            }
        }
    }

    /// Address item `i` read: address and the prefix that applies.
    fn addr(&self, i: usize) -> Option<Addr> {
        let (ip, written) = parse_addr(self.value(i))?;
        let line = self.items[i].line;
        if let Some(p) = written {
            return Some(Addr {
                ip,
                prefix: Some(p),
                prefix_line: line,
            });
        }
        let mask = self.items.iter().enumerate().find_map(|(j, m)| {
            (m.role == Role::Mask { of: i })
                .then(|| parse_mask(self.value(j), ip.is_ipv6()))
                .flatten()
                .map(|(len, _)| (len, m.line))
        });
        Some(Addr {
            ip,
            prefix: mask.map(|(len, _)| len),
            prefix_line: mask.map(|(_, l)| l).unwrap_or(line),
        })
    }

    fn target(&self, line: usize) -> Target {
        Target::Line {
            file: self.path.to_string(),
            line,
        }
    }
}

/// The network a moved address will be in: the new prefix when known, else
/// the prefix the file keeps (`prefix`), else unknown.
fn effective_net(p: &Pair, prefix: Option<u8>) -> Option<IpNet> {
    if p.new_prefix_source != PrefixSource::Host {
        return Some(p.new_net());
    }
    IpNet::new(p.new, prefix?).ok().map(|n| n.trunc())
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

/// Replacements gathered per line, turned into one change per line.
#[derive(Default)]
struct Edits {
    by_line: BTreeMap<usize, Vec<(Range<usize>, String, String)>>,
}

impl Edits {
    fn add(&mut self, it: &Item, new: String, reason: String) {
        self.by_line
            .entry(it.line)
            .or_default()
            .push((it.span.clone(), new, reason));
    }

    fn changes(mut self, surface: Surface, doc: &Doc) -> Vec<Change> {
        let mut out = Vec::new();
        for (line, mut edits) in std::mem::take(&mut self.by_line) {
            edits.sort_by_key(|(span, _, _)| span.start);
            let before = doc.lines[line - 1];
            let mut after = String::with_capacity(before.len() + 8);
            let mut last = 0;
            let mut reasons: Vec<String> = Vec::new();
            for (span, new, reason) in edits {
                after.push_str(&before[last..span.start]);
                after.push_str(&new);
                last = span.end;
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
            after.push_str(&before[last..]);
            if after != before {
                out.push(Change {
                    id: String::new(),
                    surface,
                    target: doc.target(line),
                    before: Value::One(before.to_string()),
                    after: Value::One(after),
                    reason: reasons.join("; "),
                });
            }
        }
        out
    }
}

/// The physical lines of `text` without `\n` or `\r\n`.
pub fn lines(text: &str) -> Vec<&str> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

pub use crate::addr::parse_with_prefix as parse_addr;

/// Reads a netmask: a length (`24`, `64`) or, for IPv4, a dotted mask with
/// contiguous ones. Returns the length and whether it was dotted.
pub fn parse_mask(s: &str, v6: bool) -> Option<(u8, bool)> {
    if s.contains('.') {
        if v6 {
            return None;
        }
        let bits = u32::from(s.parse::<Ipv4Addr>().ok()?);
        let len = bits.leading_ones();
        // Contiguous: nothing left once the leading ones are shifted out.
        let rest = bits.checked_shl(len).unwrap_or(0);
        return (rest == 0).then_some((len as u8, true));
    }
    let max = if v6 { 128 } else { 32 };
    let n: u8 = s.parse().ok()?;
    (n <= max).then_some((n, false))
}

/// `24` → `255.255.255.0`.
pub fn dotted_mask(len: u8) -> String {
    let bits = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    Ipv4Addr::from(bits).to_string()
}

/// The file name of a host path without its extension.
pub fn file_stem(file: &str) -> Option<String> {
    std::path::Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
}

/// Whether a setting holds a secret (Wi-Fi keys, 802.1X and VPN passwords):
/// such values are never matched, so they never reach a finding or output.
pub fn is_secret_key(key: &str) -> bool {
    const WORDS: &[&str] = &[
        "psk",
        "password",
        "passwd",
        "secret",
        "passphrase",
        "private",
        "wep-key",
        "wep_key",
        "wepkey",
    ];
    let k = key.to_ascii_lowercase();
    WORDS.iter().any(|w| k.contains(w)) || k == "pin" || k.ends_with("-pin") || k.ends_with("_pin")
}

/// Byte ranges of the whitespace-separated words of `line[range]`.
pub fn words(line: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = range.start;
    while i < range.end {
        while i < range.end && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let s = i;
        while i < range.end && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if s < i {
            out.push(s..i);
        }
    }
    out
}

/// Byte ranges of the entries of `line[range]` split on any of `seps`,
/// trimmed, empty entries dropped (`a;b;` → `a`, `b`).
pub fn split(line: &str, range: Range<usize>, seps: &[char]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = range.start;
    let piece = &line[range.clone()];
    let mut push = |s: usize, e: usize| {
        let t = &line[s..e];
        let lead = t.len() - t.trim_start().len();
        let trail = t.len() - t.trim_end().len();
        if s + lead < e - trail {
            out.push(s + lead..e - trail);
        }
    };
    for (i, c) in piece.char_indices() {
        if seps.contains(&c) {
            push(start, range.start + i);
            start = range.start + i + c.len_utf8();
        }
    }
    push(start, range.end);
    out
}

/// `range` with surrounding whitespace removed.
pub fn trim(line: &str, range: Range<usize>) -> Range<usize> {
    let t = &line[range.clone()];
    let lead = t.len() - t.trim_start().len();
    let trail = t.len() - t.trim_end().len();
    if lead == t.len() {
        return range.start..range.start;
    }
    range.start + lead..range.end - trail
}

/// A logical line made of physical lines joined by a trailing backslash
/// (ifupdown, systemd): each piece is a physical line number and the range
/// of its text, backslash excluded. Values never span pieces, as both
/// readers turn backslash-newline into a separator.
pub type Logical = Vec<(usize, Range<usize>)>;

/// Groups `lines` into logical lines. A comment line (`comment`) outside
/// a continuation is dropped and never continued; inside one it is dropped
/// when `skip_inner_comments` (systemd: "the comment block is ignored") and
/// taken as text otherwise (ifupdown checks for `#` only at a line's
/// start). With `continuation` false every line stands alone.
pub fn logical_lines(
    lines: &[&str],
    comment: &dyn Fn(&str) -> bool,
    continuation: bool,
    skip_inner_comments: bool,
) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut cur: Logical = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if comment(l) && (cur.is_empty() || skip_inner_comments) {
            continue;
        }
        match l.strip_suffix('\\').filter(|_| continuation) {
            Some(body) => cur.push((i + 1, 0..body.len())),
            None => {
                cur.push((i + 1, 0..l.len()));
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A parse error with advice.
pub fn parse_error(
    path: &str,
    line: usize,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Error {
    Error::Parse {
        path: path.to_string(),
        line,
        message: message.into(),
        help: Some(help.into()),
    }
}

/// One meaningful line of an INI-style file (NetworkManager keyfiles,
/// systemd units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ini {
    /// `[name]` on `line`.
    Section { line: usize, name: String },
    /// `key=value`: the key and the value's pieces (one per physical line
    /// when continued with a backslash), trimmed.
    Pair { key: String, value: Logical },
}

/// Reads an INI-style file: `[section]`, `key=value`, comment lines
/// starting with one of `comments`, blank lines. `continuation` joins lines
/// ending in a backslash (systemd). Anything else is an error at its line.
pub fn ini(path: &str, lines: &[&str], comments: &[char], continuation: bool) -> Result<Vec<Ini>> {
    let is_comment = |l: &str| l.trim_start().starts_with(comments);
    let mut out = Vec::new();
    for pieces in logical_lines(lines, &is_comment, continuation, true) {
        let (n, first) = pieces[0].clone();
        let line = lines[n - 1];
        let text = line[first.clone()].trim();
        if text.is_empty() {
            continue;
        }
        if let Some(rest) = text.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err(parse_error(
                    path,
                    n,
                    format!("section header `{text}` lacks its closing `]`"),
                    "write the section as [name] on a line of its own",
                ));
            };
            out.push(Ini::Section {
                line: n,
                name: name.trim().to_string(),
            });
            continue;
        }
        let Some(eq) = line[first.clone()].find('=') else {
            return Err(parse_error(
                path,
                n,
                format!("`{text}` is neither a [section], a key=value line nor a comment"),
                "fix or comment out the line, then run zmreip again",
            ));
        };
        let key = line[first.start..first.start + eq].trim();
        if key.is_empty() {
            return Err(parse_error(
                path,
                n,
                format!("`{text}` has no key before `=`"),
                "fix or comment out the line, then run zmreip again",
            ));
        }
        let mut value = vec![(n, trim(line, first.start + eq + 1..first.end))];
        value.extend(
            pieces[1..]
                .iter()
                .map(|(m, r)| (*m, trim(lines[m - 1], r.clone()))),
        );
        out.push(Ini::Pair {
            key: key.to_string(),
            value,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        // (text, v6, expected)
        type Mask = Option<(u8, bool)>;
        let cases: &[(&str, bool, Mask)] = &[
            ("255.255.255.0", false, Some((24, true))),
            ("255.255.254.0", false, Some((23, true))),
            ("255.255.255.255", false, Some((32, true))),
            ("0.0.0.0", false, Some((0, true))),
            ("255.0.255.0", false, None),
            ("255.255.255.1", false, None),
            ("24", false, Some((24, false))),
            ("33", false, None),
            ("64", true, Some((64, false))),
            ("129", true, None),
            ("255.255.255.0", true, None),
            ("", false, None),
            ("x", false, None),
        ];
        for (text, v6, want) in cases {
            assert_eq!(parse_mask(text, *v6), *want, "{text}");
        }
        for len in [0u8, 1, 8, 23, 24, 31, 32] {
            assert_eq!(parse_mask(&dotted_mask(len), false), Some((len, true)));
        }
    }

    #[test]
    fn addresses() {
        type Parsed<'a> = Option<(&'a str, Option<u8>)>;
        let cases: &[(&str, Parsed)] = &[
            ("192.168.2.1", Some(("192.168.2.1", None))),
            ("192.168.2.1/24", Some(("192.168.2.1", Some(24)))),
            ("192.168.2.1/33", None),
            ("2001:db8::5/64", Some(("2001:db8::5", Some(64)))),
            ("fe80::1%eth0", Some(("fe80::1", None))),
            ("[2001:db8::5]/64", Some(("2001:db8::5", Some(64)))),
            ("mail.example.com", None),
            ("$IP", None),
        ];
        for (text, want) in cases {
            let want = want.map(|(a, p)| (a.parse::<IpAddr>().unwrap(), p));
            assert_eq!(parse_addr(text), want, "{text}");
        }
    }

    #[test]
    fn splitting() {
        let l = "dns=8.8.8.8; 1.1.1.1;;";
        let got: Vec<&str> = split(l, 4..l.len(), &[';'])
            .into_iter()
            .map(|r| &l[r])
            .collect();
        assert_eq!(got, ["8.8.8.8", "1.1.1.1"]);
        let l = "  up ip  addr add ";
        let got: Vec<&str> = words(l, 0..l.len()).into_iter().map(|r| &l[r]).collect();
        assert_eq!(got, ["up", "ip", "addr", "add"]);
    }

    #[test]
    fn continuation() {
        let hash = |l: &str| l.starts_with('#');
        let ls = ["a \\", "b\\", "c", "#x \\", "d", "e\\", "# f", "g"];
        // ifupdown: a comment is never continued; inside a continuation
        // it is text.
        assert_eq!(
            logical_lines(&ls, &hash, true, false),
            vec![
                vec![(1, 0..2), (2, 0..1), (3, 0..1)],
                vec![(5, 0..1)],
                vec![(6, 0..1), (7, 0..3)],
                vec![(8, 0..1)],
            ]
        );
        // systemd: comment blocks inside a continuation are skipped.
        assert_eq!(
            logical_lines(&ls, &hash, true, true)[2],
            vec![(6, 0..1), (8, 0..1)]
        );
        assert_eq!(logical_lines(&ls, &hash, false, false).len(), 6);
    }

    #[test]
    fn ini_errors_name_the_line() {
        let text = "[ipv4]\naddress1=10.0.0.5/24\nbogus line\n";
        let err = ini("/f", &lines(text), &['#'], false).unwrap_err();
        assert_eq!(err.to_string().split(": ").next(), Some("/f:3"));
        let err = ini("/f", &lines("[ipv4\n"), &['#'], false).unwrap_err();
        assert!(err.to_string().starts_with("/f:1: "), "{err}");
        let ok = ini(
            "/f",
            &lines("# c\n; c\n\n[a]\nk = v \\\n w\n"),
            &['#', ';'],
            true,
        )
        .unwrap();
        assert_eq!(
            ok,
            vec![
                Ini::Section {
                    line: 4,
                    name: "a".into()
                },
                Ini::Pair {
                    key: "k".into(),
                    value: vec![(5, 4..5), (6, 1..2)]
                }
            ]
        );
    }

    #[test]
    fn secrets() {
        for k in [
            "psk",
            "wpa-psk",
            "WPA_PSK",
            "password",
            "leap-password",
            "private-key",
            "wep-key0",
            "pin",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["address1", "dns", "IPADDR", "gateway", "mapping", "ping"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}

/// Test helpers shared by the five network configuration surfaces (on top
/// of [`crate::surface::testutil`]): planning cases with `--gateway`,
/// whole-file application of changes, and the no-panic sweep.
#[cfg(test)]
pub mod testing {
    use std::net::IpAddr;

    use crate::addr::Matcher;
    use crate::host::Host;
    use crate::model::{Report, Target, Value};
    use crate::policy::Rewriter;
    use crate::spec::Pair;
    use crate::surface::testutil::pair;
    use crate::surface::{Ctx, Surface};

    /// One planning case over one file.
    pub struct Case {
        pub name: &'static str,
        pub text: &'static str,
        /// `(old, new)` moves.
        pub moves: &'static [(&'static str, &'static str)],
        pub gateway: Option<&'static str>,
        /// `(line, after)` of every change, in order.
        pub changes: &'static [(usize, &'static str)],
        /// Warning codes, in order.
        pub warnings: &'static [&'static str],
    }

    /// Runs `analyze` with a rewriter for `moves`.
    pub fn plan(
        s: Surface,
        path: &str,
        text: &str,
        moves: &[(&str, &str)],
        gateway: Option<&str>,
    ) -> crate::error::Result<Report> {
        let dir = tempfile::TempDir::new().unwrap();
        let host = Host::open(dir.path(), None).unwrap();
        let pairs: Vec<Pair> = moves.iter().map(|(o, n)| pair(o, n)).collect();
        let olds: Vec<IpAddr> = pairs.iter().map(|p| p.old).collect();
        let matcher = Matcher::new(&olds);
        let rw = Rewriter::new(pairs, gateway.map(|g| g.parse().unwrap()));
        let ctx = Ctx::new(&host, &matcher, Some(&rw));
        s.reader().unwrap().analyze(path, text, &ctx)
    }

    /// Runs `analyze` without a rewriter (a scan for `ips`).
    pub fn scan(s: Surface, path: &str, text: &str, ips: &[&str]) -> Report {
        let dir = tempfile::TempDir::new().unwrap();
        let host = Host::open(dir.path(), None).unwrap();
        let ips: Vec<IpAddr> = ips.iter().map(|i| i.parse().unwrap()).collect();
        let matcher = Matcher::new(&ips);
        let ctx = Ctx::new(&host, &matcher, None);
        s.reader().unwrap().analyze(path, text, &ctx).unwrap()
    }

    /// Checks every case: changes (line, whole-line before and after),
    /// surface name, warning codes, and that warnings name the file.
    pub fn check(s: Surface, path: &str, cases: &[Case]) {
        for c in cases {
            let report = plan(s, path, c.text, c.moves, c.gateway)
                .unwrap_or_else(|e| panic!("{}: {e}", c.name));
            let lines: Vec<&str> = super::lines(c.text);
            let got: Vec<(usize, String)> = report
                .changes
                .iter()
                .map(|ch| {
                    let Target::Line { file, line } = &ch.target else {
                        panic!("{}: target {:?}", c.name, ch.target)
                    };
                    assert_eq!(file, path, "{}", c.name);
                    assert_eq!(ch.surface, s, "{}", c.name);
                    assert_eq!(
                        ch.before,
                        Value::One(lines[line - 1].to_string()),
                        "{}: before of line {line}",
                        c.name
                    );
                    assert!(!ch.reason.is_empty(), "{}: reason of line {line}", c.name);
                    let Value::One(after) = &ch.after else {
                        panic!("{}", c.name)
                    };
                    (*line, after.clone())
                })
                .collect();
            let want: Vec<(usize, String)> =
                c.changes.iter().map(|(l, a)| (*l, a.to_string())).collect();
            assert_eq!(got, want, "{}: changes", c.name);
            let codes: Vec<&str> = report.warnings.iter().map(|w| w.code.as_str()).collect();
            assert_eq!(
                codes, c.warnings,
                "{}: warnings {:#?}",
                c.name, report.warnings
            );
            for w in &report.warnings {
                assert!(w.message.contains(path), "{}: {}", c.name, w.message);
            }
        }
    }

    /// Every truncation of `text` and every text with one byte removed
    /// parses or fails with an error, never a panic.
    pub fn never_panics(s: Surface, path: &str, text: &str) {
        let mut variants: Vec<String> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .map(|i| text[..i].to_string())
            .collect();
        for (i, c) in text.char_indices() {
            variants.push(format!("{}{}", &text[..i], &text[i + c.len_utf8()..]));
        }
        let dir = tempfile::TempDir::new().unwrap();
        let host = Host::open(dir.path(), None).unwrap();
        let p = pair("172.20.14.25/24", "10.40.7.131/24");
        let matcher = Matcher::new(&[p.old]);
        let rw = Rewriter::new(vec![p], Some("10.40.7.1".parse().unwrap()));
        let ctx = Ctx::new(&host, &matcher, Some(&rw));
        let r = s.reader().unwrap();
        for v in variants {
            let _ = r.analyze(path, &v, &ctx);
            let _ = r.interfaces(path, &v);
        }
    }

    /// `text` with the changes of `report` applied (line terminators kept).
    pub fn apply(text: &str, report: &Report) -> String {
        let mut out = String::new();
        for (i, raw) in text.split_inclusive('\n').enumerate() {
            let change = report
                .changes
                .iter()
                .find(|c| matches!(&c.target, Target::Line { line, .. } if *line == i + 1));
            match change {
                Some(c) => {
                    let Value::One(after) = &c.after else {
                        panic!()
                    };
                    let body = raw.trim_end_matches(['\n', '\r']);
                    out.push_str(after);
                    out.push_str(&raw[body.len()..]);
                }
                None => out.push_str(raw),
            }
        }
        out
    }
}
