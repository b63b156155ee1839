//! What the OS network configuration surfaces (ifupdown, netplan,
//! NetworkManager keyfiles, ifcfg, systemd-networkd) share: a model of a
//! parsed file and the rules that make these files more than line edits
//! (here), and the text syntax their parsers are built from ([`syntax`]).
//!
//! Each parser reads its format into a [`Doc`]: the file's physical lines
//! and the values on them ([`Item`]s), each with its [`Role`] and the block
//! it belongs to (an ifupdown stanza, a netplan interface, a whole keyfile,
//! ifcfg or `.network` file). [`Doc::analyze`] then applies, for every
//! format alike:
//!
//! * an interface address moves with the rewriter as
//!   [`ValueKind::Interface`] (its written `/N` becomes the new prefix when
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
//! In a window's open phase ([`crate::policy::Treatment::Add`]) an
//! interface address keeps the old address and gains the new one beside
//! it where the format holds one address per line (a netplan block
//! sequence item, a networkd `[Network]` `Address=`: the line is repeated
//! with the new address) or a list on one line (a netplan flow sequence:
//! the new address follows the old one); elsewhere the new address is
//! added at runtime only and the warning `window-address-runtime-only`
//! says so. Where an old address moves to one its block already lists
//! (close, or an address added by hand), the old one's line or list entry
//! goes instead of leaving the address twice.
//!
//! Every changed line is one [`Change`] whose `before`/`after` are the whole
//! physical line without its terminator, so comments and formatting stay
//! byte-identical; a repeated line follows it in `after`, and a line that
//! goes has an empty list as `after`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Range;

use ipnet::IpNet;

use super::{Ctx, IfaceAddr, Surface, at, find};
use crate::addr::MatchKind;
use crate::error::Result;
use crate::model::{Change, Report, Target, Value};
use crate::notice::{Code, Notice};
use crate::policy::{Rewriter, Treatment, ValueKind};
use crate::spec::{Pair, PrefixSource};

pub mod iproute;
pub mod syntax;
#[cfg(test)]
pub mod testing;

use syntax::{dotted_mask, lines, parse_addr, parse_error, parse_mask};

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
    /// How the format lists a second address beside this one.
    pub sibling: Sibling,
}

/// How an address item's format holds another address beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sibling {
    /// Not in this format (or not without renumbering keys).
    None,
    /// One address per line: the line repeated with the other address.
    Line,
    /// A list on one line (`[a, b]`): `, ` and the other address, quoted
    /// as this one is.
    Inline,
}

/// A parsed network configuration file.
#[derive(Debug)]
pub struct Doc<'a> {
    path: &'a str,
    lines: Vec<&'a str>,
    items: Vec<Item>,
    /// Addresses of the interfaces this file's routes and gateways serve,
    /// configured in other files (RHEL's `route-IFACE` beside
    /// `ifcfg-IFACE`): gateways of every block are checked against them
    /// as against the block's own addresses.
    linked: Vec<(IpAddr, Option<u8>)>,
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
            linked: Vec::new(),
        }
    }

    /// Links the addresses (with their prefixes, when known) of the
    /// interfaces this file's gateways serve, read from other files.
    pub fn link(&mut self, addrs: impl IntoIterator<Item = (IpAddr, Option<u8>)>) {
        self.linked.extend(addrs);
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
            sibling: Sibling::None,
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

    /// Says how address item `i` holds another address beside it.
    pub fn set_sibling(&mut self, i: usize, sibling: Sibling) {
        self.items[i].sibling = sibling;
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
        // Whether this role moves interface addresses now (else it keeps
        // them, or serves on both: masks and gateways stay).
        let moving = rw.role().treatment(ValueKind::Interface) == Treatment::Move;
        let moves = Moves {
            moved: addrs
                .iter()
                .map(|a| a.and_then(|a| rw.pair_for(a.ip)).filter(|_| moving))
                .collect(),
            addrs,
        };
        let mut edits = Edits::default();
        for (i, it) in self.items.iter().enumerate() {
            match it.role {
                Role::Address => {
                    if moves.moved[i].is_some() {
                        self.move_address(i, &moves, ctx, &mut edits, &mut report);
                        self.warn_prefix_kept(i, &moves, &mut report);
                    } else if !moving && moves.addrs[i].is_some_and(|a| rw.pair_for(a.ip).is_some())
                    {
                        self.add_address(i, ctx, &mut edits, &mut report);
                    }
                }
                Role::Value(kind) => self.literal(i, kind, ctx, &mut edits, &mut report),
                Role::Gateway { .. } => {
                    self.literal(i, ValueKind::OtherHost, ctx, &mut edits, &mut report);
                }
                Role::Mask { of } => self.mask(i, of, &moves, &mut edits),
                Role::Network { of, broadcast } => {
                    self.network(i, of, broadcast, &moves, &mut edits);
                }
            }
        }
        if moving {
            for (gi, g) in self.items.iter().enumerate() {
                if let Role::Gateway { default } = g.role {
                    self.gateway(gi, default, rw, &moves, &mut edits, &mut report);
                }
            }
        }
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

    /// Moves address item `i`. Where its block already lists the address
    /// it moves to (a window served on both), the old one goes instead:
    /// its line, or its entry of a list on one line.
    fn move_address(
        &self,
        i: usize,
        moves: &Moves,
        ctx: &Ctx,
        edits: &mut Edits,
        report: &mut Report,
    ) {
        let it = &self.items[i];
        let Some(rw) = ctx.rewriter else { return };
        let out = rw.rewrite(&[self.value(i)], ValueKind::Interface);
        report.warnings.extend(at(out.notes, &self.target(it.line)));
        let Some(new) = out.after.first().filter(|_| out.changed) else {
            return;
        };
        let listed = parse_addr(new).is_some_and(|n| {
            (0..self.items.len()).any(|j| {
                j != i
                    && self.items[j].block == it.block
                    && moves.moved[j].is_none()
                    && self.items[j].role == Role::Address
                    && parse_addr(self.value(j)) == Some(n)
            })
        });
        let reason = out.reasons.join("; ");
        match (listed, it.sibling) {
            (true, Sibling::Line) => edits.remove_line(it.line, reason),
            (true, Sibling::Inline) => {
                let span = self.list_entry(it);
                edits.add_span(it.line, span, String::new(), reason);
            }
            _ => edits.add(it, new.clone(), reason),
        }
    }

    /// Serves on both: address item `i` stays and the new address is added
    /// beside it as the format allows (the module documentation).
    fn add_address(&self, i: usize, ctx: &Ctx, edits: &mut Edits, report: &mut Report) {
        let it = &self.items[i];
        let Some(rw) = ctx.rewriter else { return };
        let out = rw.rewrite(&[self.value(i)], ValueKind::Interface);
        report.warnings.extend(at(out.notes, &self.target(it.line)));
        let Some(new) = out.after.get(1).filter(|_| out.changed) else {
            return;
        };
        let reason = out.reasons.join("; ");
        let line = self.lines[it.line - 1];
        match it.sibling {
            Sibling::Line => {
                let repeated = format!(
                    "{}{new}{}",
                    &line[..it.span.start],
                    &line[it.span.end..]
                );
                edits.append_line(it.line, repeated, reason);
            }
            Sibling::Inline => {
                let q = quote_of(line, &it.span);
                let end = it.span.end + q.len();
                edits.add_span(it.line, end..end, format!(", {q}{new}{q}"), reason);
            }
            Sibling::None => report.warnings.push(Notice::new(
                Code::WindowAddressRuntimeOnly,
                format!(
                    "{}:{}: this file holds one address here, so {new} is added beside {} at runtime only until the window closes (then it is written here); if the host may restart before that, add it by hand",
                    self.path,
                    it.line,
                    self.value(i)
                ),
            )),
        }
    }

    /// The bytes of list entry `it` on its line with the separator that
    /// follows it (or, for the last entry, the one before it): what goes
    /// when the entry goes.
    fn list_entry(&self, it: &Item) -> Range<usize> {
        let line = self.lines[it.line - 1];
        let b = line.as_bytes();
        let q = quote_of(line, &it.span).len();
        let (start, end) = (it.span.start - q, it.span.end + q);
        let mut j = end;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        if j < b.len() && b[j] == b',' {
            j += 1;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            }
            return start..j;
        }
        let mut k = start;
        while k > 0 && (b[k - 1] == b' ' || b[k - 1] == b'\t') {
            k -= 1;
        }
        if k > 0 && b[k - 1] == b',' {
            return k - 1..end;
        }
        start..end
    }

    /// A moved address whose new prefix is unknown keeps the prefix
    /// written with it, and says so.
    fn warn_prefix_kept(&self, i: usize, moves: &Moves, report: &mut Report) {
        if let (Some(p), Some(a)) = (moves.moved[i], moves.addrs[i])
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

    /// A netmask or prefix length (item `i`) of address item `of`: it
    /// follows the new prefix, in the same spelling.
    fn mask(&self, i: usize, of: usize, moves: &Moves, edits: &mut Edits) {
        let (Some(p), Some(a)) = (moves.moved[of], moves.addrs[of]) else {
            return;
        };
        if p.new_prefix_source == PrefixSource::Host {
            return;
        }
        let Some((len, dotted)) = parse_mask(self.value(i), a.ip.is_ipv6()) else {
            return;
        };
        if len == p.new_prefix {
            return;
        }
        let new = if dotted {
            dotted_mask(p.new_prefix)
        } else {
            p.new_prefix.to_string()
        };
        edits.add(
            &self.items[i],
            new,
            format!(
                "prefix of {} follows the new network {}",
                p.new,
                p.new_net()
            ),
        );
    }

    /// A network or broadcast address (item `i`) of address item `of`: it
    /// follows the new network where it was the old one's.
    fn network(&self, i: usize, of: usize, broadcast: bool, moves: &Moves, edits: &mut Edits) {
        let (Some(p), Some(a)) = (moves.moved[of], moves.addrs[of]) else {
            return;
        };
        let (Some(len), Some(new_net)) = (a.prefix, effective_net(p, a.prefix)) else {
            return;
        };
        let Ok(old_net) = IpNet::new(p.old, len) else {
            return;
        };
        let Some((written, _)) = parse_addr(self.value(i)) else {
            return;
        };
        let (old, new, what) = if broadcast {
            (old_net.broadcast(), new_net.broadcast(), "broadcast")
        } else {
            (old_net.network(), new_net.network(), "network")
        };
        if written == old && old != new {
            edits.add(
                &self.items[i],
                new.to_string(),
                format!("{what} address follows the new network {new_net}"),
            );
        }
    }

    /// The gateway rule for gateway item `gi`, when its block has a moved
    /// address: a gateway inside the effective new network, or the
    /// network of an address of the block that stays, is left alone;
    /// otherwise see [`Doc::outside_gateway`].
    fn gateway(
        &self,
        gi: usize,
        default: bool,
        rw: &Rewriter,
        moves: &Moves,
        edits: &mut Edits,
        report: &mut Report,
    ) {
        let g = &self.items[gi];
        let Some((gw, _)) = parse_addr(self.value(gi)) else {
            return;
        };
        if rw.pair_for(gw).is_some() || is_link_local(gw) || g.on_link {
            // A gateway that is an old address moved literally; a
            // link-local or on-link one is reachable on any prefix.
            return;
        }
        let same = |i: usize| {
            self.items[i].block == g.block
                && moves.addrs[i].is_some_and(|a| a.ip.is_ipv4() == gw.is_ipv4())
        };
        // The block's addresses and the linked ones, with their moves.
        let addrs: Vec<(IpAddr, Option<u8>, Option<&Pair>)> = (0..self.items.len())
            .filter(|&i| same(i))
            .filter_map(|i| moves.addrs[i].map(|a| (a.ip, a.prefix, moves.moved[i])))
            .chain(
                self.linked
                    .iter()
                    .filter(|(ip, _)| ip.is_ipv4() == gw.is_ipv4())
                    .map(|&(ip, prefix)| (ip, prefix, rw.pair_for(ip))),
            )
            .collect();
        let movers: Vec<(&Pair, Option<IpNet>)> = addrs
            .iter()
            .filter_map(|&(_, prefix, p)| p.map(|p| (p, effective_net(p, prefix))))
            .collect();
        if movers.is_empty() {
            return;
        }
        let staying = addrs.iter().filter_map(|&(ip, prefix, p)| {
            p.is_none()
                .then(|| IpNet::new(ip, prefix?).ok().map(|n| n.trunc()))
                .flatten()
        });
        let known: Vec<IpNet> = movers.iter().filter_map(|(_, n)| *n).collect();
        if known
            .iter()
            .copied()
            .chain(staying)
            .any(|n| n.contains(&gw))
        {
            return;
        }
        let outside = Outside {
            gw,
            item: g,
            default,
            new: movers[0].0.new,
            nets: known,
            unknown: movers.iter().any(|(_, n)| n.is_none()),
        };
        self.outside_gateway(&outside, rw, edits, report);
    }

    /// A gateway outside every network of its block after the move: a
    /// default gateway becomes `--gateway` when given, else a warning; a
    /// route's gateway is never changed, only named.
    fn outside_gateway(&self, o: &Outside, rw: &Rewriter, edits: &mut Edits, report: &mut Report) {
        let gw = o.gw;
        let place = format!("{}:{}", self.path, o.item.line);
        let nets = o
            .nets
            .iter()
            .map(IpNet::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if !o.default {
            if !o.unknown {
                report.warnings.push(Notice::new(
                    Code::RouteViaOutsideNetwork,
                    format!(
                        "{place}: the route via {gw} is outside the new network {nets} and would not work after the move; zmreip changes only the default gateway, so fix this route by hand"
                    ),
                ));
            }
            return;
        }
        match rw.gateway_for(gw) {
            Some(n) if n == gw => {}
            Some(n) => {
                let why = if o.unknown {
                    format!(
                        "default gateway {gw} becomes {n} as given with --gateway (the new network is not known)"
                    )
                } else {
                    format!(
                        "default gateway {gw} is outside the new network {nets}; {n} as given with --gateway"
                    )
                };
                edits.add(o.item, n.to_string(), why);
            }
            None if o.unknown => {
                let new = o.new;
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
                    "{place}: the gateway {gw} is outside the new network {nets}; zmreip does not guess gateways: pass --gateway ADDR with the new network's router (one --gateway per address family)"
                ),
            )),
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
/// The address items of a file read, and the move of those that move
/// (by item index; `None` for other items).
struct Moves<'a> {
    addrs: Vec<Option<Addr>>,
    moved: Vec<Option<&'a Pair>>,
}

/// A gateway outside the networks of its block after the move.
struct Outside<'d> {
    gw: IpAddr,
    item: &'d Item,
    default: bool,
    /// The new address of the first moved address of the block.
    new: IpAddr,
    /// The effective new networks that are known.
    nets: Vec<IpNet>,
    /// Whether some moved address's new network is not known.
    unknown: bool,
}

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

/// The quote written around `span` on `line` (`"` or `'`), or nothing.
fn quote_of<'l>(line: &'l str, span: &Range<usize>) -> &'l str {
    let b = line.as_bytes();
    match (span.start.checked_sub(1).map(|i| b[i]), b.get(span.end)) {
        (Some(o), Some(c)) if o == *c && (o == b'"' || o == b'\'') => &line[span.end..span.end + 1],
        _ => "",
    }
}

/// What becomes of one line.
#[derive(Default)]
struct LineEdits {
    replacements: Vec<(Range<usize>, String, String)>,
    /// Lines written after it.
    appended: Vec<(String, String)>,
    /// The line goes (and why).
    removed: Option<String>,
}

/// Edits gathered per line, turned into one change per line.
#[derive(Default)]
struct Edits {
    by_line: BTreeMap<usize, LineEdits>,
}

impl Edits {
    fn add(&mut self, it: &Item, new: String, reason: String) {
        self.add_span(it.line, it.span.clone(), new, reason);
    }

    fn add_span(&mut self, line: usize, span: Range<usize>, new: String, reason: String) {
        self.by_line
            .entry(line)
            .or_default()
            .replacements
            .push((span, new, reason));
    }

    fn append_line(&mut self, line: usize, text: String, reason: String) {
        self.by_line
            .entry(line)
            .or_default()
            .appended
            .push((text, reason));
    }

    fn remove_line(&mut self, line: usize, reason: String) {
        self.by_line.entry(line).or_default().removed = Some(reason);
    }

    fn changes(mut self, surface: Surface, doc: &Doc) -> Vec<Change> {
        let mut out = Vec::new();
        for (line, mut e) in std::mem::take(&mut self.by_line) {
            let before = doc.lines[line - 1];
            let mut reasons: Vec<String> = Vec::new();
            let mut note = |r: &String| {
                if !reasons.contains(r) {
                    reasons.push(r.clone());
                }
            };
            if let Some(why) = &e.removed {
                note(why);
                out.push(Change {
                    id: String::new(),
                    surface,
                    target: doc.target(line),
                    before: Value::One(before.to_string()),
                    after: Value::Many(Vec::new()),
                    reason: reasons.join("; "),
                });
                continue;
            }
            e.replacements.sort_by_key(|(span, _, _)| span.start);
            let mut after = String::with_capacity(before.len() + 8);
            let mut last = 0;
            for (span, new, reason) in &e.replacements {
                after.push_str(&before[last..span.start]);
                after.push_str(new);
                last = span.end;
                note(reason);
            }
            after.push_str(&before[last..]);
            for (text, reason) in &e.appended {
                after.push('\n');
                after.push_str(text);
                note(reason);
            }
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
