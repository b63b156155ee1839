//! Surface `netplan`: `/etc/netplan/*.yaml` (and `*.yml`).
//!
//! Netplan files are YAML, but zmreip never re-serializes them: a YAML
//! library would drop comments, reorder keys and requote values. This
//! reader walks the lines instead and records where each scalar sits, so
//! an edit replaces the bytes of one value and everything else stays
//! byte-identical.
//!
//! The YAML read: block mappings (`key: value`, keys plain or quoted),
//! block sequences (`- item`, also at the parent key's indentation), flow
//! sequences and mappings (`[a, "b"]`, `{to: default, via: G}`), also over
//! several lines, plain and quoted scalars, `#` comments, block scalars
//! (`|`, `>`; skipped), document markers. YAML forbids tabs in
//! indentation; a tab there, a line indented to no level of its parent's
//! (`  a:` then ` b:`), a plain value starting with a reserved indicator
//! (`%`, `@`, `` ` ``) or an alias or anchor without a name, a flow
//! collection never closed, a quoted value never closed or text after a
//! closing bracket is an error at its line. So are the shape errors and
//! address errors netplan reports that zmreip can tell soundly
//! ([`shape`]): `network:` not a mapping, `addresses:` not a list, an
//! interface address without its prefix length.
//!
//! Values read, under `network: <devices>: <name>:` (`ethernets`, `bonds`,
//! `bridges`, `vlans`, `wifis`, `tunnels`, ...; each interface is a block):
//!
//! * `addresses:` items are interface addresses (also in the form
//!   `- 10.0.0.5/24: {lifetime: 0}`, where the key is the address);
//! * `gateway4:`/`gateway6:` are default gateways; in `routes:` items,
//!   `via:` is a gateway, the default one when `to:` is `default`,
//!   `0.0.0.0/0` or `::/0`, and never checked against the new network
//!   with `on-link: true`; `to:` is another network, `from:` this host's
//!   address;
//! * `nameservers: addresses:` are other hosts; a tunnel's `local:` is this
//!   host's address and `remote:` another host;
//! * any other scalar is text, except secrets (`password`, ...), never read.

use std::collections::BTreeMap;
use std::ops::Range;

use super::netcfg::syntax::{self, parse_error};
use super::netcfg::{Doc, Role, Sibling};
use super::{Ctx, FileSurface, IfaceAddr, Surface};
use crate::error::{Error, Result};
use crate::model::Report;
use crate::policy::ValueKind;
use shape::Shape;

mod shape;

/// The `netplan` surface.
pub struct Netplan;

const GLOBS: &[&str] = &["/etc/netplan/*.yaml", "/etc/netplan/*.yml"];

/// Keys under `network:` that hold interfaces by name.
const DEVICE_TYPES: &[&str] = &[
    "ethernets",
    "wifis",
    "bonds",
    "bridges",
    "vlans",
    "tunnels",
    "modems",
    "vrfs",
    "dummy-devices",
    "virtual-ethernets",
    "nm-devices",
];

impl FileSurface for Netplan {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let host = ctx.host;
        let mut out = Vec::new();
        for g in GLOBS {
            out.extend(host.glob(g)?);
        }
        out.sort();
        Ok(out)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        Ok(parse(path, text)?.analyze(Surface::Netplan, ctx))
    }

    fn interfaces(&self, path: &str, text: &str) -> Result<Vec<IfaceAddr>> {
        Ok(parse(path, text)?.interfaces())
    }
}

/// How a changed netplan file comes up: netplan renders every file again.
pub fn bring_up(_file: &str, _text: &str, _line: usize) -> String {
    "netplan apply".into()
}

fn parse<'a>(path: &'a str, text: &'a str) -> Result<Doc<'a>> {
    let doc = Doc::new(path, text);
    let lines = doc.lines().to_vec();
    Parser {
        doc,
        lines,
        stack: Vec::new(),
        root_indent: None,
        next_item: 0,
        blocks: Vec::new(),
        routes: BTreeMap::new(),
        block_scalar: None,
    }
    .run()
}

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    /// A sequence item, numbered in file order.
    Item(usize),
}

/// An open block-context node.
struct Frame {
    /// Column of the key or the dash.
    indent: usize,
    seg: Seg,
    /// A key whose value was on its own line (a scalar or flow): deeper
    /// lines continue that value rather than open children.
    has_value: bool,
    /// The column of its children in block context, once one is read:
    /// every other child must start there.
    child_indent: Option<usize>,
}

/// What a scalar at some path is.
enum Class {
    Role(Role),
    /// `via:` of route item `n`.
    RouteVia(usize),
    /// `to:` of route item `n`.
    RouteTo(usize),
    /// `on-link:` of route item `n`.
    RouteOnLink(usize),
}

/// A route item: its gateways and whether it is the default route.
#[derive(Default)]
struct Route {
    vias: Vec<usize>,
    default: bool,
    on_link: bool,
}

struct Parser<'a> {
    doc: Doc<'a>,
    lines: Vec<&'a str>,
    stack: Vec<Frame>,
    /// The column of the document's top-level nodes.
    root_indent: Option<usize>,
    next_item: usize,
    /// `devices/name` of each interface; its index + 1 is its block.
    blocks: Vec<String>,
    routes: BTreeMap<usize, Route>,
    /// Inside a block scalar whose parent sits at this column.
    block_scalar: Option<usize>,
}

/// A position in a flow collection, which may run over several lines.
struct Cursor {
    /// 1-based line.
    n: usize,
    col: usize,
    /// Line where the outermost bracket opened.
    open: usize,
    /// Continuation lines must be indented more than this.
    min_indent: usize,
}

impl<'a> Parser<'a> {
    fn run(mut self) -> Result<Doc<'a>> {
        let mut i = 0;
        while i < self.lines.len() {
            i = self.line(i)?;
        }
        for (i, it) in self.doc.items().iter().enumerate() {
            if it.role == Role::Address
                && let Some(why) = shape::bad_address(self.doc.value(i))
            {
                return Err(self.err(it.line, why));
            }
        }
        for route in self.routes.values() {
            for &v in &route.vias {
                self.doc.set_role(
                    v,
                    Role::Gateway {
                        default: route.default,
                    },
                );
                if route.on_link {
                    self.doc.set_on_link(v);
                }
            }
        }
        self.doc.check()?;
        Ok(self.doc)
    }

    fn err(&self, n: usize, msg: impl Into<String>) -> Error {
        parse_error(
            self.doc.path(),
            n,
            msg,
            "fix the YAML (`netplan get` or `netplan generate` shows what netplan reads), then run zmreip again",
        )
    }

    /// Reads line `i` (0-based); returns the index of the next line to read.
    fn line(&mut self, i: usize) -> Result<usize> {
        let line = self.lines[i];
        let n = i + 1;
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = &line[indent..];
        let bare = content.trim_start_matches([' ', '\t']);
        if let Some(parent) = self.block_scalar {
            if bare.is_empty() || indent > parent {
                return Ok(i + 1);
            }
            self.block_scalar = None;
        }
        if bare.is_empty() || bare.starts_with('#') {
            return Ok(i + 1);
        }
        if content.starts_with('\t') {
            return Err(self.err(
                n,
                "tab in the indentation: YAML allows spaces only (netplan rejects this file)",
            ));
        }
        if indent == 0
            && (["---", "..."].iter().any(|m| content.starts_with(m)) || content.starts_with('%'))
        {
            self.stack.clear();
            self.root_indent = None;
            return Ok(i + 1);
        }
        let dash = is_dash(content);
        while let Some(top) = self.stack.last() {
            let compact_seq =
                dash && indent == top.indent && matches!(top.seg, Seg::Key(_)) && !top.has_value;
            if indent > top.indent || compact_seq {
                break;
            }
            self.stack.pop();
        }
        if self
            .stack
            .last()
            .is_some_and(|t| t.has_value && matches!(t.seg, Seg::Key(_)))
        {
            // The continuation of a multi-line plain scalar.
            return Ok(i + 1);
        }
        let mut col = indent;
        while is_dash(&line[col..]) {
            self.shape(n, Shape::Sequence)?;
            let id = self.item_id();
            self.push_frame(
                n,
                Frame {
                    indent: col,
                    seg: Seg::Item(id),
                    has_value: false,
                    child_indent: None,
                },
            )?;
            col += 1;
            col += line[col..].len() - line[col..].trim_start_matches([' ', '\t']).len();
        }
        let rest = &line[col..];
        if rest.is_empty() || rest.starts_with('#') {
            return Ok(i + 1);
        }
        self.node(n, col, indent)
    }

    /// The node starting at `col` of line `n` (block context): a key with
    /// its value, a flow collection, a block scalar or a scalar.
    fn node(&mut self, n: usize, col: usize, indent: usize) -> Result<usize> {
        let line = self.lines[n - 1];
        match line.as_bytes()[col] {
            b'[' | b'{' => return self.flow(self.path(), n, col, indent),
            b'|' | b'>' => {
                self.shape(n, Shape::Scalar)?;
                self.block_scalar = Some(indent);
                return Ok(n);
            }
            _ => {}
        }
        let (span, after, key) = self.scalar_or_key(n, col)?;
        let path = self.path();
        if !key {
            self.shape(n, Shape::Scalar)?;
            self.emit(&path, n, span);
            return Ok(n);
        }
        self.shape(n, Shape::Mapping)?;
        self.emit_key(&path, n, span.clone());
        let name = unquote(&line[span]);
        let mut vcol =
            after + line[after..].len() - line[after..].trim_start_matches([' ', '\t']).len();
        vcol += properties(&line[vcol..]);
        let value = &line[vcol..];
        let has_value = !value.is_empty() && !value.starts_with('#');
        self.push_frame(
            n,
            Frame {
                indent: col,
                seg: Seg::Key(name),
                has_value,
                child_indent: None,
            },
        )?;
        if !has_value {
            return Ok(n);
        }
        let path = self.path();
        match value.as_bytes()[0] {
            b'[' | b'{' => self.flow(path, n, vcol, indent),
            b'|' | b'>' => {
                self.shape(n, Shape::Scalar)?;
                // Its lines are deeper than the key; none is a value.
                self.stack.pop();
                self.block_scalar = Some(col);
                Ok(n)
            }
            // An alias repeats a node read before: nothing new here.
            b'*' => {
                self.plain_start(n, value)?;
                Ok(n)
            }
            _ => {
                let (span, _, _) = self.scalar_or_key(n, vcol)?;
                self.shape(n, Shape::Scalar)?;
                self.emit(&path, n, span);
                Ok(n)
            }
        }
    }

    /// A scalar at `col` (block context): its span (quotes excluded), the
    /// byte after it (after the `:` for a key), and whether it is a key.
    fn scalar_or_key(&self, n: usize, col: usize) -> Result<(Range<usize>, usize, bool)> {
        let line = self.lines[n - 1];
        let b = line.as_bytes();
        if b[col] == b'"' || b[col] == b'\'' {
            let end = closing_quote(line, col)
                .ok_or_else(|| self.err(n, "quoted value is not closed on its line"))?;
            let span = col + 1..end;
            let mut j = end + 1;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            }
            if j < b.len()
                && b[j] == b':'
                && (j + 1 == b.len() || b[j + 1] == b' ' || b[j + 1] == b'\t')
            {
                return Ok((span, j + 1, true));
            }
            if j < b.len() && !(b[j] == b'#' && j > end + 1) {
                return Err(self.err(
                    n,
                    format!("unexpected `{}` after the quoted value", &line[j..]),
                ));
            }
            return Ok((span, j, false));
        }
        self.plain_start(n, &line[col..])?;
        let limit = comment_start(line, col);
        for j in col..limit {
            if b[j] == b':' && (j + 1 == limit || b[j + 1] == b' ' || b[j + 1] == b'\t') {
                let key = syntax::trim(line, col..j);
                return Ok((key, j + 1, true));
            }
        }
        Ok((syntax::trim(line, col..limit), limit, false))
    }

    /// Reads a flow collection opening at `col` of line `n`; returns the
    /// index of the line after it.
    fn flow(&mut self, path: Vec<Seg>, n: usize, col: usize, indent: usize) -> Result<usize> {
        let mut cur = Cursor {
            n,
            col,
            open: n,
            min_indent: indent,
        };
        self.flow_node(&mut cur, &path)?;
        let line = self.lines[cur.n - 1];
        let rest = line[cur.col..].trim_start();
        if !rest.is_empty() && !rest.starts_with('#') {
            return Err(self.err(
                cur.n,
                format!("unexpected `{rest}` after the closing bracket"),
            ));
        }
        Ok(cur.n)
    }

    /// Skips blanks and comments, onto following lines while inside a
    /// flow collection.
    fn skip(&self, cur: &mut Cursor) -> Result<()> {
        loop {
            let line = self.lines[cur.n - 1];
            let b = line.as_bytes();
            let start = cur.col;
            while cur.col < b.len() && (b[cur.col] == b' ' || b[cur.col] == b'\t') {
                cur.col += 1;
            }
            let comment = cur.col < b.len()
                && b[cur.col] == b'#'
                && (cur.col == 0 || cur.col > start || b[cur.col - 1].is_ascii_whitespace());
            if cur.col < b.len() && !comment {
                return Ok(());
            }
            cur.n += 1;
            cur.col = 0;
            let unclosed = || {
                self.err(
                    cur.open,
                    "the flow collection (`[` or `{`) opened on this line is not closed",
                )
            };
            let Some(next) = self.lines.get(cur.n - 1) else {
                return Err(unclosed());
            };
            let t = next.trim_start();
            let ind = next.len() - next.trim_start_matches(' ').len();
            if !t.is_empty() && !t.starts_with('#') && ind <= cur.min_indent {
                return Err(unclosed());
            }
        }
    }

    fn peek(&self, cur: &Cursor) -> u8 {
        self.lines[cur.n - 1]
            .as_bytes()
            .get(cur.col)
            .copied()
            .unwrap_or(b'\n')
    }

    fn flow_node(&mut self, cur: &mut Cursor, path: &[Seg]) -> Result<()> {
        self.skip(cur)?;
        match self.peek(cur) {
            b'[' => {
                self.shape_at(path, cur.n, Shape::Sequence)?;
                cur.col += 1;
                loop {
                    self.skip(cur)?;
                    if self.peek(cur) == b']' {
                        cur.col += 1;
                        return Ok(());
                    }
                    let mut p = path.to_vec();
                    p.push(Seg::Item(self.item_id()));
                    self.flow_node(cur, &p)?;
                    self.skip(cur)?;
                    match self.peek(cur) {
                        b',' => cur.col += 1,
                        b']' => {
                            cur.col += 1;
                            return Ok(());
                        }
                        c => {
                            return Err(self.err(
                                cur.n,
                                format!(
                                    "expected `,` or `]` in a flow list, found `{}`",
                                    c as char
                                ),
                            ));
                        }
                    }
                }
            }
            b'{' => {
                self.shape_at(path, cur.n, Shape::Mapping)?;
                cur.col += 1;
                loop {
                    self.skip(cur)?;
                    if self.peek(cur) == b'}' {
                        cur.col += 1;
                        return Ok(());
                    }
                    let (kn, kspan) = self.flow_scalar(cur, true)?;
                    self.emit_key(path, kn, kspan.clone());
                    let mut p = path.to_vec();
                    p.push(Seg::Key(unquote(&self.lines[kn - 1][kspan])));
                    self.skip(cur)?;
                    if self.peek(cur) == b':' {
                        cur.col += 1;
                        self.skip(cur)?;
                        if !matches!(self.peek(cur), b',' | b'}') {
                            self.flow_node(cur, &p)?;
                            self.skip(cur)?;
                        }
                    }
                    match self.peek(cur) {
                        b',' => cur.col += 1,
                        b'}' => {
                            cur.col += 1;
                            return Ok(());
                        }
                        c => {
                            return Err(self.err(
                                cur.n,
                                format!(
                                    "expected `,` or `}}` in a flow mapping, found `{}`",
                                    c as char
                                ),
                            ));
                        }
                    }
                }
            }
            _ => {
                let (n, span) = self.flow_scalar(cur, false)?;
                self.shape_at(path, n, Shape::Scalar)?;
                self.emit(path, n, span);
                Ok(())
            }
        }
    }

    /// A scalar inside a flow collection; a key stops at `:`.
    fn flow_scalar(&self, cur: &mut Cursor, key: bool) -> Result<(usize, Range<usize>)> {
        let line = self.lines[cur.n - 1];
        let b = line.as_bytes();
        if b[cur.col] == b'"' || b[cur.col] == b'\'' {
            let end = closing_quote(line, cur.col)
                .ok_or_else(|| self.err(cur.n, "quoted value is not closed on its line"))?;
            let span = cur.col + 1..end;
            cur.col = end + 1;
            return Ok((cur.n, span));
        }
        let start = cur.col;
        self.plain_start(cur.n, &line[start..])?;
        let limit = comment_start(line, start);
        let mut j = start;
        while j < limit {
            let c = b[j];
            let next = b.get(j + 1).copied().unwrap_or(b' ');
            if matches!(c, b',' | b']' | b'}')
                || (key && c == b':' && matches!(next, b' ' | b'\t' | b',' | b']' | b'}'))
            {
                break;
            }
            j += 1;
        }
        cur.col = j;
        Ok((cur.n, syntax::trim(line, start..j)))
    }

    /// Pushes a block-context frame; its column must be that of its
    /// siblings (YAML has no other indentation for them).
    fn push_frame(&mut self, n: usize, frame: Frame) -> Result<()> {
        let slot = match self.stack.last_mut() {
            Some(parent) => &mut parent.child_indent,
            None => &mut self.root_indent,
        };
        match *slot {
            Some(c) if c != frame.indent => {
                return Err(self.err(
                    n,
                    format!(
                        "this line is indented by {} where its siblings are indented by {c}: YAML cannot tell what it belongs to (netplan rejects this file)",
                        frame.indent
                    ),
                ));
            }
            Some(_) => {}
            None => *slot = Some(frame.indent),
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Checks that the node at the current block path (read on line `n`)
    /// has the shape netplan wants there.
    fn shape(&self, n: usize, got: Shape) -> Result<()> {
        self.shape_at(&self.path(), n, got)
    }

    fn shape_at(&self, path: &[Seg], n: usize, got: Shape) -> Result<()> {
        match shape::wanted(path) {
            Some((want, name)) if want != got => {
                Err(self.err(n, shape::mismatch(&name, want, got)))
            }
            _ => Ok(()),
        }
    }

    /// A plain (unquoted) scalar may not start with an indicator YAML
    /// reserves, and an alias or anchor needs a name.
    fn plain_start(&self, n: usize, s: &str) -> Result<()> {
        let first = s.chars().next().unwrap_or(' ');
        if matches!(first, '%' | '@' | '`') {
            let shown = if first == '`' {
                "`` ` ``".to_string()
            } else {
                format!("`{first}`")
            };
            return Err(self.err(
                n,
                format!("YAML reserves {shown} at the start of a plain value: quote the value"),
            ));
        }
        let named = s[first.len_utf8()..]
            .chars()
            .next()
            .is_some_and(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'));
        if matches!(first, '*' | '&') && !named {
            let what = if first == '*' {
                "an alias"
            } else {
                "an anchor"
            };
            return Err(self.err(
                n,
                format!("`{first}` starts {what} but no name follows: quote the value if `{first}` is meant"),
            ));
        }
        Ok(())
    }

    fn item_id(&mut self) -> usize {
        self.next_item += 1;
        self.next_item
    }

    fn path(&self) -> Vec<Seg> {
        self.stack.iter().map(|f| f.seg.clone()).collect()
    }

    /// The interface a path is under (its block) and the rest of the path.
    fn device<'p>(&mut self, path: &'p [Seg]) -> Option<(usize, &'p [Seg])> {
        let [Seg::Key(net), Seg::Key(kind), Seg::Key(name), rest @ ..] = path else {
            return None;
        };
        if net != "network" || !DEVICE_TYPES.contains(&kind.as_str()) {
            return None;
        }
        let id = format!("{kind}/{name}");
        let block = match self.blocks.iter().position(|b| *b == id) {
            Some(p) => p + 1,
            None => {
                self.blocks.push(id);
                self.blocks.len()
            }
        };
        Some((block, rest))
    }

    fn classify(&mut self, path: &[Seg]) -> Option<(usize, Class)> {
        let last_key = path.iter().rev().find_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Item(_) => None,
        });
        if last_key.is_some_and(syntax::is_secret_key) {
            return None;
        }
        let text = Class::Role(Role::Value(ValueKind::Text));
        let Some((block, rest)) = self.device(path) else {
            return Some((0, text));
        };
        let key = |s: &Seg, k: &str| matches!(s, Seg::Key(x) if x == k);
        let class = match rest {
            [a, Seg::Item(_)] if key(a, "addresses") => Class::Role(Role::Address),
            [g] if key(g, "gateway4") || key(g, "gateway6") => {
                Class::Role(Role::Gateway { default: true })
            }
            [r, Seg::Item(id), k] if key(r, "routes") => match k {
                Seg::Key(k) if k == "via" => Class::RouteVia(*id),
                Seg::Key(k) if k == "to" => Class::RouteTo(*id),
                Seg::Key(k) if k == "on-link" => Class::RouteOnLink(*id),
                Seg::Key(k) if k == "from" => Class::Role(Role::Value(ValueKind::OwnAddress)),
                _ => text,
            },
            [ns, a] | [ns, a, Seg::Item(_)] if key(ns, "nameservers") && key(a, "addresses") => {
                Class::Role(Role::Value(ValueKind::OtherHost))
            }
            [k] if key(k, "local") => Class::Role(Role::Value(ValueKind::OwnAddress)),
            [k] if key(k, "remote") => Class::Role(Role::Value(ValueKind::OtherHost)),
            _ => text,
        };
        Some((block, class))
    }

    /// A scalar value at `path`.
    fn emit(&mut self, path: &[Seg], n: usize, span: Range<usize>) {
        let Some((block, class)) = self.classify(path) else {
            return;
        };
        match class {
            Class::Role(role) => {
                let sibling = sibling(self.lines[n - 1], &span);
                if let Some(i) = self.doc.push(n, span, role, block)
                    && role == Role::Address
                {
                    self.doc.set_sibling(i, sibling);
                }
            }
            Class::RouteVia(id) => {
                if let Some(i) = self
                    .doc
                    .push(n, span, Role::Gateway { default: false }, block)
                {
                    self.routes.entry(id).or_default().vias.push(i);
                }
            }
            Class::RouteTo(id) => {
                let dest = &self.lines[n - 1][span.clone()];
                if matches!(dest, "default" | "0.0.0.0/0" | "::/0") {
                    self.routes.entry(id).or_default().default = true;
                }
                self.doc
                    .push(n, span, Role::Value(ValueKind::OtherHost), block);
            }
            Class::RouteOnLink(id) => {
                let v = &self.lines[n - 1][span];
                if matches!(v, "true" | "yes" | "on" | "True" | "TRUE") {
                    self.routes.entry(id).or_default().on_link = true;
                }
            }
        }
    }

    /// A mapping key under `path`: an address when it is an `addresses:`
    /// item written with options (`- 10.0.0.5/24: {lifetime: 0}`).
    fn emit_key(&mut self, path: &[Seg], n: usize, span: Range<usize>) {
        if let Some((block, Class::Role(Role::Address))) = self.classify(path) {
            let sibling = sibling(self.lines[n - 1], &span);
            if let Some(i) = self.doc.push(n, span, Role::Address, block) {
                self.doc.set_sibling(i, sibling);
            }
        }
    }
}

/// How an `addresses:` item at `span` of `line` holds another address
/// beside it: a block sequence item alone on its line (`- ADDR`, also
/// `- ADDR: {options}`) is repeated; an item of a flow sequence (`[a, b]`)
/// gains an entry after it.
fn sibling(line: &str, span: &Range<usize>) -> Sibling {
    let head = line[..span.start].trim_end_matches(['"', '\'']).trim_end();
    if head.trim_start() == "-" {
        Sibling::Line
    } else if head.ends_with('[') || head.ends_with(',') {
        Sibling::Inline
    } else {
        Sibling::None
    }
}

/// The length of the node properties (`&anchor`, `!tag`) that start a
/// value, with the blanks after them: the node itself follows (on the next
/// line when nothing does).
fn properties(value: &str) -> usize {
    let mut rest = value;
    while rest.starts_with(['&', '!']) && rest.len() > 1 && !rest[1..].starts_with([' ', '\t']) {
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        rest = rest[end..].trim_start_matches([' ', '\t']);
    }
    value.len() - rest.len()
}

/// `-` alone or followed by a blank starts a sequence item.
fn is_dash(s: &str) -> bool {
    s == "-" || s.starts_with("- ") || s.starts_with("-\t")
}

/// Where a `#` comment starts on `line` at or after `from` (a `#` after a
/// blank), else the line's end.
fn comment_start(line: &str, from: usize) -> usize {
    let b = line.as_bytes();
    (from..b.len())
        .find(|&j| b[j] == b'#' && (j == from || b[j - 1] == b' ' || b[j - 1] == b'\t'))
        .unwrap_or(b.len())
}

/// The index of the quote closing the one at `open` (`\"` escapes in
/// double quotes, `''` in single quotes).
fn closing_quote(line: &str, open: usize) -> Option<usize> {
    let b = line.as_bytes();
    let q = b[open];
    let mut j = open + 1;
    while j < b.len() {
        if q == b'"' && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == q {
            if q == b'\'' && b.get(j + 1) == Some(&b'\'') {
                j += 2;
                continue;
            }
            return Some(j);
        }
        j += 1;
    }
    None
}

/// A key's text without quotes.
fn unquote(s: &str) -> String {
    s.trim_matches(['"', '\'']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use crate::surface::netcfg;
    use crate::surface::netcfg::testing::{Case, apply, check, never_panics, plan, scan};

    const PATH: &str = "/etc/netplan/50-cloud-init.yaml";
    const V4: &[(&str, &str)] = &[("172.20.14.25/24", "10.40.7.131/24")];
    const V6: &[(&str, &str)] = &[("2001:db8:14::25/64", "2001:db8:7::131/64")];

    const BLOCK: &str = "\
# Zimbra host 172.20.14.25 (do not edit by hand)
network:
  version: 2
  ethernets:
    eth0:
      addresses:
        - 172.20.14.25/24   # primary, was 172.20.14.25 before too
        - \"2001:db8:14::25/64\"
        - 172.20.14.250/32
      gateway4: 172.20.14.1
      gateway6: 2001:db8:14::1
      nameservers:
        search: [corp.example]
        addresses: [172.20.14.2, '172.20.14.25']
      routes:
        - to: 192.0.2.0/24
          via: 172.20.14.254
";

    /// `text` with the changes of its plan applied by apply's own steps,
    /// which check every `before` against the file.
    fn apply_steps(text: &str, moves: &[(&str, &str)]) -> String {
        let report = plan(Surface::Netplan, PATH, text, moves, None).unwrap();
        assert!(!report.changes.is_empty(), "{text:?} plans no change");
        let plan = crate::plan::Plan {
            schema: crate::plan::SCHEMA.into(),
            from: vec![],
            to: vec![],
            changes: report.changes,
            derived: vec![],
            actions: vec![],
            warnings: vec![],
            handoffs: vec![],
            bind: None,
            checksum: None,
        };
        let mut bytes = text.as_bytes().to_vec();
        for step in crate::apply::steps::write_steps(&plan, None, None, None).unwrap() {
            bytes = step.transform(&bytes).unwrap();
        }
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_file_ending_in_a_bare_cr_applies() {
        // Fuzzing (crash-0c795ebb): the reader cut the last `\r`, apply
        // keeps it (only `\n` and `\r\n` end a line), so the planned
        // `before` never held on the file it was planned from.
        let text = "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.25/24] # was\r";
        assert_eq!(
            apply_steps(text, V4),
            "network:\n  ethernets:\n    eth0:\n      addresses: [10.40.7.131/24] # was\r"
        );
        let text = "x: 172.20.14.25\r";
        assert_eq!(apply_steps(text, V4), "x: 10.40.7.131\r");
    }

    #[test]
    fn plans() {
        let cases = &[
            Case {
                name: "block list: address moves, comments kept, .250 and DNS .2 stay, gateways warned",
                text: BLOCK,
                moves: V4,
                gateway: None,
                changes: &[
                    (
                        7,
                        "        - 10.40.7.131/24   # primary, was 172.20.14.25 before too",
                    ),
                    (14, "        addresses: [172.20.14.2, '10.40.7.131']"),
                ],
                warnings: &["gateway-outside-network", "route-via-outside-network"],
            },
            Case {
                name: "--gateway replaces gateway4 only, never a route's via",
                text: BLOCK,
                moves: V4,
                gateway: Some("10.40.7.1"),
                changes: &[
                    (
                        7,
                        "        - 10.40.7.131/24   # primary, was 172.20.14.25 before too",
                    ),
                    (10, "      gateway4: 10.40.7.1"),
                    (14, "        addresses: [172.20.14.2, '10.40.7.131']"),
                ],
                warnings: &["route-via-outside-network"],
            },
            Case {
                name: "IPv6 in double quotes; IPv4 gateways untouched",
                text: BLOCK,
                moves: V6,
                gateway: Some("2001:db8:7::1"),
                changes: &[
                    (8, "        - \"2001:db8:7::131/64\""),
                    (11, "      gateway6: 2001:db8:7::1"),
                ],
                warnings: &[],
            },
            Case {
                name: "flow list with a comment, mixed quoting",
                text: "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.25/24, \"2001:db8:14::25/64\"]  # 172.20.14.25\n      gateway4: 172.20.14.1\n",
                moves: &[
                    ("172.20.14.25/24", "172.20.14.26/24"),
                    ("2001:db8:14::25/64", "2001:db8:14::26/64"),
                ],
                gateway: None,
                changes: &[(
                    4,
                    "      addresses: [172.20.14.26/24, \"2001:db8:14::26/64\"]  # 172.20.14.25",
                )],
                warnings: &[],
            },
            Case {
                name: "192.168.2.1 is not 192.168.2.10",
                text: "network:\n  ethernets:\n    eth0:\n      addresses:\n      - 192.168.2.10/24\n      - '192.168.2.1/24'\n      gateway4: 192.168.2.254\n",
                moves: &[("192.168.2.1/24", "192.168.2.2/24")],
                gateway: None,
                changes: &[(6, "      - '192.168.2.2/24'")],
                warnings: &[],
            },
            Case {
                name: "default route (via before to) takes --gateway; a new prefix is written",
                text: "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.25/24]\n      routes:\n      - via: 172.20.14.1\n        to: 0.0.0.0/0\n",
                moves: &[("172.20.14.25/24", "10.40.6.131/23")],
                gateway: Some("10.40.6.1"),
                changes: &[
                    (4, "      addresses: [10.40.6.131/23]"),
                    (6, "      - via: 10.40.6.1"),
                ],
                warnings: &[],
            },
            Case {
                name: "on-link default gateway (a /32 hosting setup) is reachable",
                text: "network:\n  ethernets:\n    eth0:\n      addresses: [203.0.113.5/32]\n      routes:\n        - to: default\n          via: 172.31.1.1\n          on-link: true\n",
                moves: &[("203.0.113.5/32", "198.51.100.7/32")],
                gateway: None,
                changes: &[(4, "      addresses: [198.51.100.7/32]")],
                warnings: &[],
            },
            Case {
                name: "the same without on-link is outside",
                text: "network:\n  ethernets:\n    eth0:\n      addresses: [203.0.113.5/32]\n      routes:\n        - to: default\n          via: 172.31.1.1\n          on-link: false\n",
                moves: &[("203.0.113.5/32", "198.51.100.7/32")],
                gateway: None,
                changes: &[(4, "      addresses: [198.51.100.7/32]")],
                warnings: &["gateway-outside-network"],
            },
            Case {
                name: "default route in a flow mapping, no --gateway",
                text: "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.25/24]\n      routes: [{to: default, via: 172.20.14.1}]\n",
                moves: V4,
                gateway: None,
                changes: &[(4, "      addresses: [10.40.7.131/24]")],
                warnings: &["gateway-outside-network"],
            },
            Case {
                name: "default route in a flow mapping with --gateway",
                text: "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.25/24]\n      routes: [{to: default, via: 172.20.14.1}]\n",
                moves: V4,
                gateway: Some("10.40.7.1"),
                changes: &[
                    (4, "      addresses: [10.40.7.131/24]"),
                    (5, "      routes: [{to: default, via: 10.40.7.1}]"),
                ],
                warnings: &[],
            },
            Case {
                name: "gateway inside the new network stays",
                text: BLOCK,
                moves: &[("172.20.14.25/24", "172.20.14.40/24")],
                gateway: Some("172.20.14.9"),
                changes: &[
                    (
                        7,
                        "        - 172.20.14.40/24   # primary, was 172.20.14.25 before too",
                    ),
                    (14, "        addresses: [172.20.14.2, '172.20.14.40']"),
                ],
                warnings: &[],
            },
            Case {
                name: "address with options as a key",
                text: "network:\n  ethernets:\n    eth0:\n      addresses:\n        - 172.20.14.25/24:\n            lifetime: 0\n            label: \"eth0:mail\"\n        - \"172.20.14.26/24\": {lifetime: forever}\n",
                moves: V4,
                gateway: None,
                changes: &[(5, "        - 10.40.7.131/24:")],
                warnings: &[],
            },
            Case {
                name: "multi-line flow list with comments",
                text: "network:\n  ethernets:\n    eth0:\n      addresses: [\n        192.0.2.30/24,   # other\n        172.20.14.25/24 ]\n      gateway4: 172.20.14.1\n",
                moves: V4,
                gateway: Some("10.40.7.1"),
                changes: &[
                    (6, "        10.40.7.131/24 ]"),
                    (7, "      gateway4: 10.40.7.1"),
                ],
                warnings: &[],
            },
            Case {
                name: "second interface is its own block; CRLF",
                text: "network:\r\n  ethernets:\r\n    eth0:\r\n      addresses: [172.20.14.25/24]\r\n    eth1:\r\n      addresses: [192.0.2.5/24]\r\n      gateway4: 192.0.2.1\r\n",
                moves: V4,
                gateway: None,
                changes: &[(4, "      addresses: [10.40.7.131/24]")],
                warnings: &[],
            },
            Case {
                name: "unknown new prefix keeps /24 and warns",
                text: "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.25/24]\n      gateway4: 172.20.14.1\n",
                moves: &[("172.20.14.25/24", "172.20.14.40")],
                gateway: None,
                changes: &[(4, "      addresses: [172.20.14.40/24]")],
                warnings: &["prefix-unknown"],
            },
            Case {
                name: "tunnel local moves, remote in the subnet stays; block scalar skipped; secret never read",
                text: "network:\n  tunnels:\n    gre1:\n      mode: gre\n      local: 172.20.14.25\n      remote: 172.20.14.26\n      description: |\n        was 172.20.14.25\n  wifis:\n    wlan0:\n      access-points:\n        corp:\n          password: \"172.20.14.25\"\n",
                moves: V4,
                gateway: None,
                changes: &[(5, "      local: 10.40.7.131")],
                warnings: &[],
            },
        ];
        check(Surface::Netplan, PATH, cases);
    }

    #[test]
    fn window_adds_the_new_address_beside_the_old_one() {
        // (file, after open)
        let cases: &[(&str, &str)] = &[
            // A block item is repeated, comment and all.
            (
                BLOCK,
                &BLOCK.replace(
                    "        - 172.20.14.25/24   # primary, was 172.20.14.25 before too\n",
                    "        - 172.20.14.25/24   # primary, was 172.20.14.25 before too\n        - 10.40.7.131/24   # primary, was 172.20.14.25 before too\n",
                ),
            ),
            // A flow list gains an entry after the old one, quoted alike.
            (
                "network:\n  ethernets:\n    eth0:\n      addresses: [\"172.20.14.25/24\", 172.20.14.250/32]\n",
                "network:\n  ethernets:\n    eth0:\n      addresses: [\"172.20.14.25/24\", \"10.40.7.131/24\", 172.20.14.250/32]\n",
            ),
            (
                "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.250/32, 172.20.14.25/24]\n",
                "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.250/32, 172.20.14.25/24, 10.40.7.131/24]\n",
            ),
            // An item with options is repeated whole.
            (
                "network:\n  ethernets:\n    eth0:\n      addresses:\n        - 172.20.14.25/24: {label: main}\n",
                "network:\n  ethernets:\n    eth0:\n      addresses:\n        - 172.20.14.25/24: {label: main}\n        - 10.40.7.131/24: {label: main}\n",
            ),
            // Trap: the neighbour .250 is not the old address.
            (
                "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.250/24]\n",
                "network:\n  ethernets:\n    eth0:\n      addresses: [172.20.14.250/24]\n",
            ),
        ];
        for (text, opened) in cases {
            assert_eq!(
                netcfg::testing::window(Surface::Netplan, PATH, text, V4),
                *opened,
                "{text}"
            );
        }
    }

    #[test]
    fn edits_keep_the_file_byte_identical_elsewhere() {
        let r = plan(Surface::Netplan, PATH, BLOCK, V4, Some("10.40.7.1")).unwrap();
        let want = BLOCK
            .replacen("- 172.20.14.25/24", "- 10.40.7.131/24", 1)
            .replace("gateway4: 172.20.14.1", "gateway4: 10.40.7.1")
            .replace("'172.20.14.25'", "'10.40.7.131'");
        assert_eq!(apply(BLOCK, &r), want);
    }

    #[test]
    fn malformed_input_names_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("network:\n\tethernets:\n", 2, "tab in the indentation"),
            (
                "network:\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24\n    eth1:\n      dhcp4: true\n",
                4,
                "not closed",
            ),
            (
                "network:\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24,\n",
                4,
                "not closed",
            ),
            (
                "network:\n  ethernets:\n    eth0:\n      addresses:\n        - \"10.0.0.5/24\n",
                5,
                "not closed",
            ),
            (
                "network:\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24] x\n",
                4,
                "after the closing bracket",
            ),
            (
                "network:\n  ethernets:\n    eth0:\n      routes: [{to: default} {via: 10.0.0.1}]\n",
                4,
                "expected",
            ),
            // What netplan's own tests reject (tests/generator/test_errors.py).
            ("network:\n  version: %&\n", 2, "reserves `%`"),
            (
                "network:\n  version: 2\n foo: *\n",
                3,
                "indented by 1 where its siblings are indented by 2",
            ),
            ("network:\n  version: 2\n  foo: *\n", 3, "alias"),
            ("network:\n  foo: @x\n", 2, "reserves `@`"),
            ("network:\n  foo: [a, `x]\n", 2, "reserves `` ` ``"),
            ("network:\n  version\n", 2, "`network` must be a mapping"),
            (
                "network:\n  version: {}\n",
                2,
                "`network.version` must be a single value",
            ),
            (
                "network:\n  bridges:\n    br0:\n      interfaces: {}\n",
                4,
                "`network.bridges.br0.interfaces` must be a list",
            ),
            (
                "network:\n  ethernets:\n    eth0:\n      addresses: 10.0.0.5/24\n",
                4,
                "must be a list",
            ),
            (
                "network:\n  ethernets:\n    eth0:\n      addresses:\n        - 192.168.14.1/\n",
                5,
                "not an address with a prefix length",
            ),
            (
                "network:\n  ethernets:\n    eth0:\n      addresses:\n        - 10.0.0.4/24\n        - 192.168.14.1\n",
                6,
                "has no prefix length",
            ),
            (
                "network:\n  ethernets:\n    eth0:\n      addresses: [\"2001::1/129\"]\n",
                4,
                "at most 128",
            ),
            (
                "network:\n  ethernets:\n    eth0:\n      addresses:\n      - 0.0.0.0.0/24:\n          lifetime: 0\n",
                5,
                "not an address",
            ),
        ];
        for (text, line, msg) in cases {
            let err = plan(Surface::Netplan, PATH, text, V4, None).unwrap_err();
            let s = err.to_string();
            assert!(s.starts_with(&format!("{PATH}:{line}: ")), "{s}");
            assert!(s.contains(msg), "{s}");
            assert!(err.help().is_some());
            assert!(Netplan.interfaces(PATH, text).is_err());
        }
    }

    #[test]
    fn valid_yaml_that_looks_odd_is_read() {
        for text in [
            // Quoted reserved indicators, anchors and aliases with names.
            "network:\n  version: \"%x\"\n  renderer: '@x'\n",
            "network:\n  ethernets:\n    eth0: &base\n      dhcp4: true\n    eth1: *base\n    eth2: !!map\n      dhcp4: true\n",
            // A device type's default renderer is not an interface.
            "network:\n  ethernets:\n    renderer: networkd\n    eth0:\n      addresses: [10.0.0.5/24]\n",
            // Nameservers are hosts, not interface addresses: no prefix.
            "network:\n  ethernets:\n    eth0:\n      nameservers:\n        addresses: [10.0.0.1]\n",
            // Empty values are netplan's to judge; an empty list is a list.
            "network:\n  ethernets:\n    eth0:\n      addresses:\n      routes: []\n",
            // Deeper siblings of a sequence item; compact sequences.
            "network:\n  ethernets:\n    eth0:\n      routes:\n      - to: default\n        via: 10.0.0.1\n      - to: 10.1.0.0/16\n        via: 10.0.0.2\n",
            // A second document starts over.
            "network:\n  version: 2\n---\n  network:\n    version: 2\n",
        ] {
            plan(Surface::Netplan, PATH, text, V4, None)
                .unwrap_or_else(|e| panic!("{text:?}: {e}"));
        }
    }

    #[test]
    fn odd_yaml_never_panics() {
        never_panics(Surface::Netplan, PATH, BLOCK);
        never_panics(
            Surface::Netplan,
            PATH,
            "network:\n  ethernets:\n    \"eth0\":\n      addresses: [ \"172.20.14.25/24\", {\"a\": [1, 'b''c']} ]  # x\n      routes:\n      - - to: default\n      -\n        via: \"é\"\n      x: |\n        172.20.14.25\n---\n",
        );
    }

    #[test]
    fn interfaces_learn_prefixes_and_gateways() {
        let got: Vec<(String, Option<u8>, Option<String>, usize)> = Netplan
            .interfaces(PATH, BLOCK)
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
                    7
                ),
                (
                    "2001:db8:14::25".into(),
                    Some(64),
                    Some("2001:db8:14::1".into()),
                    8
                ),
                (
                    "172.20.14.250".into(),
                    Some(32),
                    Some("172.20.14.1".into()),
                    9
                ),
            ]
        );
        let routed = "network:\n  bonds:\n    bond0:\n      addresses: [10.0.0.5/24]\n      routes:\n        - to: default\n          via: 10.0.0.1\n";
        let got = Netplan.interfaces(PATH, routed).unwrap();
        assert_eq!(got[0].gateway, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn scan_finds_values_not_comments() {
        let r = scan(Surface::Netplan, PATH, BLOCK, &["172.20.14.25"]);
        let lines: Vec<String> = r.findings.iter().map(|f| f.target.to_string()).collect();
        assert_eq!(lines, [format!("{PATH}:7"), format!("{PATH}:14")]);
    }

    #[test]
    fn files_are_yaml_and_yml() {
        let dir = tempfile::TempDir::new().unwrap();
        let d = dir.path().join("etc/netplan");
        std::fs::create_dir_all(&d).unwrap();
        for f in ["01-a.yaml", "02-b.yml", "03-c.yaml.bak", "README"] {
            std::fs::write(d.join(f), "").unwrap();
        }
        let host = Host::open(dir.path(), None).unwrap();
        assert_eq!(
            crate::surface::testutil::listed(&Netplan, &host).unwrap(),
            ["/etc/netplan/01-a.yaml", "/etc/netplan/02-b.yml"]
        );
    }
}
