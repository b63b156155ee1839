//! Surface `nftables`: the ruleset nft loads at boot, `/etc/nftables.conf`
//! (Debian) or `/etc/sysconfig/nftables.conf` (RHEL), and every file they
//! `include` (globs allowed; a relative path is taken from `/etc`, nft's
//! default include directory, `./path` from `/`).
//!
//! The file is read as nft(8) scans it: words, `"strings"`, `{ } ; , =`,
//! `#` comments to the end of the line, a backslash before a line end
//! joining two lines. Blocks are `table`, and inside one `chain`, `set`,
//! `map` and the other named objects; a statement ends at a line end or
//! `;` outside braces (so an anonymous set spans lines). Rules are read
//! in chains and after `add rule`/`insert rule`; set elements in a set's
//! `elements = { ... }` and after `add element`; `define NAME = VALUE`
//! gives a variable.
//!
//! In a rule, what follows `saddr` is a source, `daddr` a destination,
//! and everything after `dnat`, `snat`, `dup`, `fwd` or `tproxy` a target;
//! `!=` negates; the verdict is `accept`, `drop`/`reject`, or a `jump`/
//! `goto` (to the admin's chain: accepting), and in a verdict map each
//! element's own. What each means is [`super::firewall`]'s. A named set or
//! a variable is an allow-list when every rule that uses it (`@name`,
//! `$name`, in every file of the ruleset) lets its sources in; otherwise
//! its elements are matched as written. In braces a network that stays
//! gains the new host beside it (`{ 10.0.0.0/8, NEW }`); a single value
//! (`ip saddr 10.0.0.0/8`) cannot, and a warning says so. Strings
//! (comments) never change.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;

use super::firewall::{self, Place, Verdict};
use super::{Ctx, Field, FileSurface, Surface, analyze_text};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::Report;

/// The `nftables` surface.
pub struct Nftables;

/// Debian's and RHEL's main files.
const DEBIAN: &str = "/etc/nftables.conf";
const RHEL: &str = "/etc/sysconfig/nftables.conf";

impl FileSurface for Nftables {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let mut files = ruleset(ctx.host)?;
        files.sort();
        Ok(files)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        // Sets and variables are used across files: what the whole
        // ruleset does with them decides what their elements are.
        // Another file that cannot be read is reported when it is
        // analyzed itself; here it only adds no uses.
        let mut uses = Uses::default();
        for f in ruleset(ctx.host)? {
            if f == path {
                continue;
            }
            if let Ok(Some(t)) = ctx.host.read(&f)
                && let Ok(doc) = read(&f, &t)
            {
                uses.extend(doc.uses);
            }
        }
        let doc = read(path, text)?;
        uses.extend(doc.uses.clone());
        analyze_text(Surface::Nftables, path, text, ctx, doc.fields(text, &uses))
    }
}

/// The command that loads the ruleset again, as the distribution's
/// service does: Debian's `nft -f /etc/nftables.conf` (the file starts by
/// flushing the ruleset), RHEL's flush and include of its main file.
pub fn load(file: &str, _text: &str, _line: usize) -> String {
    if file == RHEL || file.starts_with("/etc/nftables/") {
        format!("nft 'flush ruleset; include \"{RHEL}\";'")
    } else {
        format!("nft -f {DEBIAN}")
    }
}

/// The main files present and everything they include, in the order
/// found.
fn ruleset(host: &Host) -> Result<Vec<String>> {
    let mut queue: VecDeque<String> = [DEBIAN, RHEL].iter().map(ToString::to_string).collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) || !host.is_file(&path) {
            continue;
        }
        let Some(text) = host.read(&path)? else {
            continue;
        };
        out.push(path.clone());
        // Includes are read cheaply: a broken file is reported when it is
        // analyzed, not here.
        let Ok(toks) = tokens(&path, &text) else {
            continue;
        };
        for w in toks.windows(2) {
            if w[0].is_word(&text, "include") && w[1].kind == Tok::Str {
                let target = w[1].text(&text).trim_matches('"');
                let abs = match target.strip_prefix("./") {
                    Some(rest) => super::keepalived::join("/", rest),
                    None => super::keepalived::join("/etc", target),
                };
                if abs.contains(['*', '?', '[']) {
                    queue.extend(host.glob(&abs)?);
                } else {
                    queue.push_back(abs);
                }
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- tokens

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Word,
    Str,
    Open,
    Close,
    /// `;`
    Semi,
    Comma,
    /// A lone `=`.
    Eq,
    Newline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    kind: Tok,
    span: Range<usize>,
}

impl Token {
    fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.span.clone()]
    }

    fn is_word(&self, src: &str, w: &str) -> bool {
        self.kind == Tok::Word && self.text(src) == w
    }
}

/// Scans a file as nft does (see the module doc). `Err` names the line of
/// a string never closed.
fn tokens(path: &str, text: &str) -> Result<Vec<Token>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let line_of = |i: usize| text[..i].matches('\n').count() + 1;
    while i < b.len() {
        let c = b[i];
        let one = |kind| Token {
            kind,
            span: i..i + 1,
        };
        match c {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' => {
                out.push(one(Tok::Newline));
                i += 1;
            }
            b'\\'
                if text[i + 1..]
                    .trim_start_matches([' ', '\t', '\r'])
                    .starts_with('\n') =>
            {
                // A continued line: the line end is a blank.
                i = i + 1 + text[i + 1..].find('\n').unwrap_or(0) + 1;
            }
            b'#' => i += text[i..].find('\n').unwrap_or(b.len() - i),
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' && b[j] != b'\n' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                if j >= b.len() || b[j] != b'"' {
                    return Err(Error::Parse {
                        path: path.to_string(),
                        line: line_of(i),
                        message: "this string is never closed".into(),
                        help: Some(HELP.into()),
                    });
                }
                out.push(Token {
                    kind: Tok::Str,
                    span: i..j + 1,
                });
                i = j + 1;
            }
            b'{' => {
                out.push(one(Tok::Open));
                i += 1;
            }
            b'}' => {
                out.push(one(Tok::Close));
                i += 1;
            }
            b';' => {
                out.push(one(Tok::Semi));
                i += 1;
            }
            b',' => {
                out.push(one(Tok::Comma));
                i += 1;
            }
            b'=' if !matches!(b.get(i + 1), Some(b'=')) => {
                out.push(one(Tok::Eq));
                i += 1;
            }
            _ => {
                let s = i;
                while i < b.len() {
                    let d = b[i];
                    if d.is_ascii_whitespace() || b"{};,\"#".contains(&d) {
                        break;
                    }
                    // `=` ends a word unless it is part of an operator.
                    if d == b'='
                        && i > s
                        && !b"!<>=".contains(&b[i - 1])
                        && b.get(i + 1) != Some(&b'=')
                    {
                        break;
                    }
                    i += 1;
                }
                out.push(Token {
                    kind: Tok::Word,
                    span: s..i,
                });
            }
        }
    }
    Ok(out)
}

const HELP: &str =
    "fix the file (`nft -c -f FILE` checks it), or move it away if nft does not load it";

// ------------------------------------------------------------- structure

/// An address value found in the file.
#[derive(Debug, Clone)]
struct Addr {
    span: Range<usize>,
    /// In braces, among other plain elements: entries can be added.
    list: bool,
    use_: Use,
}

/// What decides an address's kind.
#[derive(Debug, Clone)]
enum Use {
    /// It stands in a rule at this place, with this verdict.
    Rule(Place, Verdict),
    /// It is an element of a named set or a variable, decided by the
    /// rules that use it.
    Named(String),
}

/// How the ruleset uses each set and variable (`@name`, `$name`): whether
/// every use lets its sources in.
#[derive(Debug, Clone, Default)]
struct Uses {
    /// name → (used, every use lets sources in)
    by_name: BTreeMap<String, (bool, bool)>,
}

impl Uses {
    fn add(&mut self, name: &str, lets_in: bool) {
        let e = self
            .by_name
            .entry(name.to_string())
            .or_insert((false, true));
        e.0 = true;
        e.1 &= lets_in;
    }

    fn extend(&mut self, other: Uses) {
        for (name, (used, lets_in)) in other.by_name {
            if used {
                self.add(&name, lets_in);
            }
        }
    }

    fn lets_in(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(|(used, l)| *used && *l)
    }
}

/// What one file holds.
#[derive(Debug, Default)]
struct Doc {
    addrs: Vec<Addr>,
    uses: Uses,
}

impl Doc {
    fn fields(&self, text: &str, uses: &Uses) -> Vec<Field> {
        self.addrs
            .iter()
            .map(|a| {
                let value = &text[a.span.clone()];
                let kind = match &a.use_ {
                    Use::Rule(place, verdict) => firewall::kind(*place, *verdict, value, a.list),
                    Use::Named(name) if uses.lets_in(name) => firewall::kind(
                        Place::Source { negated: false },
                        Verdict::Accept,
                        value,
                        a.list,
                    ),
                    Use::Named(_) => {
                        firewall::kind(Place::Destination, Verdict::Other, value, a.list)
                    }
                };
                Field::new(a.span.clone(), kind).joined(", ")
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Top,
    Table,
    Chain,
    /// A named set or map.
    Set(String),
    /// Any other named object.
    Other,
}

/// Words that start a rule's verdict.
fn verdict_of(word: &str) -> Option<Verdict> {
    match word {
        "accept" | "jump" | "goto" => Some(Verdict::Accept),
        "drop" | "reject" => Some(Verdict::Deny),
        "return" | "queue" | "continue" => Some(Verdict::Other),
        _ => None,
    }
}

const FAMILIES: &[&str] = &["ip", "ip6", "inet", "arp", "bridge", "netdev"];

/// Objects whose definition is a block (`add chain t c { ... }`).
const OBJECTS: &[&str] = &[
    "table",
    "chain",
    "set",
    "map",
    "flowtable",
    "counter",
    "quota",
    "limit",
    "ct",
    "secmark",
    "synproxy",
    "tunnel",
];

/// Reads a file's addresses and its uses of sets and variables.
fn read(path: &str, text: &str) -> Result<Doc> {
    let toks = tokens(path, text)?;
    let mut doc = Doc::default();
    let mut stack = vec![Block::Top];
    // Where each open block's `{` is.
    let mut opened: Vec<usize> = Vec::new();
    let line_of = |i: usize| text[..i].matches('\n').count() + 1;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        match t.kind {
            Tok::Newline | Tok::Semi | Tok::Comma => {
                i += 1;
                continue;
            }
            Tok::Close => {
                if stack.len() == 1 {
                    return Err(Error::Parse {
                        path: path.to_string(),
                        line: line_of(t.span.start),
                        message: "this `}` closes nothing".into(),
                        help: Some(HELP.into()),
                    });
                }
                stack.pop();
                opened.pop();
                i += 1;
                continue;
            }
            _ => {}
        }
        let block = stack.last().cloned().unwrap_or(Block::Top);
        let first = t.text(text);
        // A block opens where a definition's `{` is.
        let opens = match block {
            Block::Top => {
                first == "table"
                    || (matches!(first, "add" | "create")
                        && toks.get(i + 1).is_some_and(|n| {
                            OBJECTS.contains(&n.text(text)) && n.kind == Tok::Word
                        }))
            }
            Block::Table => true,
            _ => false,
        };
        if opens && first != "define" && first != "redefine" && first != "include" {
            let mut j = i;
            while j < toks.len() && !matches!(toks[j].kind, Tok::Newline | Tok::Semi | Tok::Open) {
                j += 1;
            }
            if toks.get(j).is_some_and(|t| t.kind == Tok::Open) {
                let words: Vec<&str> = toks[i..j].iter().map(|t| t.text(text)).collect();
                let kind = words
                    .iter()
                    .find(|w| !matches!(**w, "add" | "create"))
                    .copied()
                    .unwrap_or("");
                stack.push(match kind {
                    "table" => Block::Table,
                    "chain" => Block::Chain,
                    "set" | "map" => Block::Set(words.last().unwrap_or(&"").to_string()),
                    _ => Block::Other,
                });
                opened.push(toks[j].span.start);
                i = j + 1;
                continue;
            }
        }
        // One statement: up to a line end or `;` outside braces, or the
        // `}` that closes the block.
        let start = i;
        let mut depth = 0usize;
        while i < toks.len() {
            match toks[i].kind {
                Tok::Newline | Tok::Semi if depth == 0 => break,
                Tok::Open => depth += 1,
                Tok::Close if depth == 0 => break,
                Tok::Close => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        let stmt = &toks[start..i];
        if depth > 0 {
            let at = stmt.first().map_or(text.len(), |t| t.span.start);
            return Err(Error::Parse {
                path: path.to_string(),
                line: line_of(at),
                message: "a `{` here is never closed".into(),
                help: Some(HELP.into()),
            });
        }
        statement(text, stmt, &block, &mut doc);
    }
    if let Some(&at) = opened.last() {
        return Err(Error::Parse {
            path: path.to_string(),
            line: line_of(at),
            message: "the block opened here is never closed: a `}` is missing".into(),
            help: Some(HELP.into()),
        });
    }
    Ok(doc)
}

/// Reads one statement in `block`.
fn statement(text: &str, stmt: &[Token], block: &Block, doc: &mut Doc) {
    let Some(first) = stmt.first().filter(|t| t.kind == Tok::Word) else {
        return;
    };
    let w = |k: usize| stmt.get(k).map(|t| t.text(text)).unwrap_or("");
    match (block, first.text(text)) {
        (_, "define" | "redefine") => {
            let name = format!("${}", w(1));
            let value = stmt
                .iter()
                .position(|t| t.kind == Tok::Eq)
                .map_or(&stmt[stmt.len()..], |e| &stmt[e + 1..]);
            elements(text, value, &Use::Named(name), doc);
        }
        (Block::Chain, "type" | "policy" | "comment" | "devices" | "device" | "flags") => {}
        (Block::Chain, _) => rule(text, stmt, doc),
        (Block::Set(name), "elements") => {
            let value = stmt
                .iter()
                .position(|t| t.kind == Tok::Eq)
                .map_or(&stmt[stmt.len()..], |e| &stmt[e + 1..]);
            elements(text, value, &Use::Named(format!("@{name}")), doc);
        }
        (Block::Top, "add" | "insert" | "replace" | "create" | "delete" | "destroy") => {
            let object = w(1);
            // `add rule [family] TABLE CHAIN [handle N | position N | index N] RULE`
            let mut k = 2;
            if FAMILIES.contains(&w(k)) {
                k += 1;
            }
            k += 2;
            match object {
                "rule" => {
                    while matches!(w(k), "handle" | "position" | "index") {
                        k += 2;
                    }
                    rule(text, stmt.get(k..).unwrap_or(&[]), doc);
                }
                "element" => {
                    let name = format!("@{}", w(k - 1));
                    elements(text, stmt.get(k..).unwrap_or(&[]), &Use::Named(name), doc);
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// Whether a word holds an address (`10.0.0.1`, `10.0.0.0/8`,
/// `10.0.0.1-10.0.0.9`, `10.0.0.1:80`, `[2001:db8::1]:80`).
fn holds_address(word: &str) -> bool {
    let t = word.trim_start_matches('[');
    let core = t.split(['/', ']']).next().unwrap_or(t);
    core.split('-').any(|p| {
        p.parse::<IpAddr>().is_ok()
            || p.rsplit_once(':').is_some_and(|(a, port)| {
                a.parse::<Ipv4Addr>().is_ok() && port.bytes().all(|d| d.is_ascii_digit())
            })
    })
}

/// The address values of a list of elements (a set's, a variable's, or
/// an `add element`'s), used as `use_` says. Elements that are plain
/// addresses and networks in braces form a list entries can be added to.
fn elements(text: &str, toks: &[Token], use_: &Use, doc: &mut Doc) {
    let plain = toks.iter().all(|t| match t.kind {
        Tok::Word => {
            let v = t.text(text);
            holds_address(v) && !firewall::is_range(v) && !v.contains(['[', ']'])
        }
        Tok::Open | Tok::Close | Tok::Comma | Tok::Newline => true,
        _ => false,
    });
    let braced = toks.first().is_some_and(|t| t.kind == Tok::Open);
    for t in toks {
        if t.kind == Tok::Word && holds_address(t.text(text)) {
            doc.addrs.push(Addr {
                span: t.span.clone(),
                list: plain && braced,
                use_: use_.clone(),
            });
        } else if t.kind == Tok::Word && t.text(text).starts_with('$') {
            // A variable inside another is not followed further: its
            // elements are matched as written.
            doc.uses.add(t.text(text), false);
        }
    }
}

/// Reads one rule: where each address stands, and the uses of sets and
/// variables.
fn rule(text: &str, toks: &[Token], doc: &mut Doc) {
    #[derive(Clone, Copy, PartialEq)]
    enum At {
        None,
        Source,
        Dest,
        Target,
    }
    let words: Vec<&str> = toks.iter().map(|t| t.text(text)).collect();
    let verdict = toks
        .iter()
        .zip(&words)
        .filter(|(t, _)| t.kind == Tok::Word)
        .find_map(|(_, w)| verdict_of(w))
        .unwrap_or(Verdict::Other);
    let mut at = At::None;
    let mut negated = false;
    let mut nat = false;
    let mut depth = 0usize;
    // (index of the token, place) of each address.
    let mut found: Vec<(usize, Place)> = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let w = words[k];
        match t.kind {
            Tok::Open => {
                depth += 1;
                continue;
            }
            Tok::Close => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Tok::Word => {}
            _ => continue,
        }
        let place = match at {
            At::Source => Place::Source { negated },
            At::Target => Place::Target,
            At::None | At::Dest => Place::Destination,
        };
        match w {
            "saddr" if !nat => {
                at = At::Source;
                negated = false;
            }
            "daddr" if !nat => {
                at = At::Dest;
                negated = false;
            }
            "dnat" | "snat" | "dup" | "fwd" | "tproxy" => {
                nat = true;
                at = At::Target;
            }
            "!=" | "!" => negated = true,
            "==" | "ip" | "ip6" | "to" | "map" | "vmap" | "." | ":" | "-" | "addr" => {}
            _ if w.starts_with('@') || w.starts_with('$') => {
                let lets_in = firewall::lets_in(place, verdict);
                doc.uses.add(w, lets_in);
            }
            _ if holds_address(w) => found.push((k, place)),
            _ if depth == 0 => {
                at = if nat { At::Target } else { At::None };
                negated = false;
            }
            _ => {}
        }
    }
    for (idx, place) in found {
        // Plain braces around it: every token between `{` and `}` an
        // address or a comma.
        let open = toks[..idx]
            .iter()
            .rposition(|t| matches!(t.kind, Tok::Open | Tok::Close));
        let braced = open.is_some_and(|o| toks[o].kind == Tok::Open);
        let list = braced && {
            let o = open.unwrap_or(0);
            let close = toks[idx..]
                .iter()
                .position(|t| matches!(t.kind, Tok::Open | Tok::Close))
                .map(|c| idx + c);
            close.is_some_and(|c| toks[c].kind == Tok::Close)
                && toks[o + 1..close.unwrap_or(o + 1)]
                    .iter()
                    .all(|t| match t.kind {
                        Tok::Word => {
                            let v = t.text(text);
                            holds_address(v) && !firewall::is_range(v) && !v.contains(['[', ']'])
                        }
                        Tok::Comma | Tok::Newline => true,
                        _ => false,
                    })
        };
        // In a verdict map, an element's own verdict: `ADDR : accept`.
        let own = toks[idx + 1..]
            .iter()
            .filter(|t| t.kind == Tok::Word)
            .take(2)
            .map(|t| t.text(text))
            .collect::<Vec<_>>();
        let verdict = match own.as_slice() {
            [":", v] => verdict_of(v).unwrap_or(verdict),
            _ => verdict,
        };
        doc.addrs.push(Addr {
            span: toks[idx].span.clone(),
            list,
            use_: Use::Rule(place, verdict),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes};

    const PATH: &str = DEBIAN;

    /// Plans `text` as /etc/nftables.conf: (line, after) and warning codes.
    fn plan(moves: &[(&str, &str)], text: &str) -> (Vec<(usize, String)>, Vec<String>) {
        let fx = Fixture::new(moves);
        fx.write(PATH, text);
        let r = Nftables.analyze(PATH, text, &fx.plan()).unwrap();
        let ch = changes(&r).into_iter().map(|(n, _, a)| (n, a)).collect();
        (ch, r.warnings.iter().map(|w| w.code.to_string()).collect())
    }

    /// `(rule in a chain, after or None, warning codes)`.
    type Case = (&'static str, Option<&'static str>, &'static [&'static str]);

    fn check(moves: &[(&str, &str)], cases: &[Case]) {
        for (rule, after, codes) in cases {
            let text = format!("table inet filter {{\n\tchain input {{\n\t\t{rule}\n\t}}\n}}\n");
            let (ch, got) = plan(moves, &text);
            let want: Vec<(usize, String)> =
                after.iter().map(|a| (3, format!("\t\t{a}"))).collect();
            assert_eq!(ch, want, "{rule}");
            assert_eq!(got, *codes, "warnings of {rule}");
        }
    }

    #[test]
    fn rules() {
        check(
            V4,
            &[
                (
                    "ip daddr 192.168.2.1 tcp dport { 25, 465, 587 } accept",
                    Some("ip daddr 10.40.7.131 tcp dport { 25, 465, 587 } accept"),
                    &[],
                ),
                ("ip daddr 192.168.2.10 accept", None, &[]),
                // The interface network follows; a single value cannot
                // gain an entry, braces can.
                (
                    "ip saddr 192.168.2.0/24 tcp dport 7071 accept",
                    Some("ip saddr 10.40.7.0/24 tcp dport 7071 accept"),
                    &[],
                ),
                (
                    "ip saddr 192.168.0.0/16 accept",
                    None,
                    &["trust-rule-needed"],
                ),
                (
                    "ip saddr { 10.9.0.0/16, 192.168.0.0/16 } accept",
                    Some("ip saddr { 10.9.0.0/16, 192.168.0.0/16, 10.40.7.131 } accept"),
                    &["trust-network-kept"],
                ),
                (
                    "ip saddr { 192.168.2.1, 192.168.2.10 } counter accept",
                    Some("ip saddr { 10.40.7.131, 192.168.2.10 } counter accept"),
                    &[],
                ),
                // Dropped sources are matched as written.
                ("ip saddr 192.168.0.0/16 drop", None, &["network-unchanged"]),
                (
                    "ip saddr != 192.168.2.0/24 tcp dport 389 drop",
                    Some("ip saddr != 10.40.7.0/24 tcp dport 389 drop"),
                    &[],
                ),
                // NAT targets swap where they are the old address.
                (
                    "ip daddr 203.0.113.40 tcp dport 25 dnat to 192.168.2.1",
                    Some("ip daddr 203.0.113.40 tcp dport 25 dnat to 10.40.7.131"),
                    &[],
                ),
                (
                    "dnat ip to 192.168.2.1:25",
                    Some("dnat ip to 10.40.7.131:25"),
                    &[],
                ),
                ("snat to 192.168.2.10", None, &[]),
                (
                    "oifname eth0 snat to 192.168.2.1-192.168.2.5",
                    None,
                    &["range-unchanged"],
                ),
                (
                    "ip saddr 192.168.1.1-192.168.3.1 accept",
                    None,
                    &["range-unchanged"],
                ),
                // Strings and comments never change.
                (
                    "ip saddr 192.168.2.1 accept comment \"192.168.2.1\" # 192.168.2.1",
                    Some("ip saddr 10.40.7.131 accept comment \"192.168.2.1\" # 192.168.2.1"),
                    &[],
                ),
                // A verdict map: each element its own verdict.
                (
                    "ip saddr vmap { 192.168.0.0/16 : accept, 192.168.2.0/25 : drop }",
                    None,
                    &["trust-rule-needed", "network-unchanged"],
                ),
                // A concatenation is matched as written.
                (
                    "ip saddr . tcp dport { 192.168.2.1 . 22, 192.168.0.0/16 . 80 } accept",
                    Some("ip saddr . tcp dport { 10.40.7.131 . 22, 192.168.0.0/16 . 80 } accept"),
                    &["network-unchanged"],
                ),
            ],
        );
    }

    #[test]
    fn ipv6_in_sets() {
        check(
            DUAL,
            &[
                (
                    "ip6 daddr 2001:db8:14::25 tcp dport 25 accept",
                    Some("ip6 daddr 2001:db8:7::131 tcp dport 25 accept"),
                    &[],
                ),
                (
                    "ip6 saddr { 2001:db8:14::/64, ::1 } accept",
                    Some("ip6 saddr { 2001:db8:7::/64, ::1 } accept"),
                    &[],
                ),
                ("ip6 daddr 2001:db8:14::250 accept", None, &[]),
                (
                    "dnat ip6 to [2001:db8:14::25]:25",
                    Some("dnat ip6 to [2001:db8:7::131]:25"),
                    &[],
                ),
            ],
        );
    }

    #[test]
    fn named_sets_and_variables_follow_their_uses() {
        let text = "#!/usr/sbin/nft -f\n\
flush ruleset\n\
define admins = { 192.168.0.0/16, 10.1.1.1 }\n\
define blocked = 192.168.0.0/16\n\
table inet filter {\n\
\tset trusted { type ipv4_addr; flags interval; elements = { 192.168.0.0/16,\n\
\t\t\t172.16.0.0/12 } }\n\
\tset bad {\n\
\t\ttype ipv4_addr; flags interval\n\
\t\telements = { 192.168.0.0/16 }\n\
\t}\n\
\tset unused { type ipv4_addr; elements = { 192.168.2.1 } }\n\
\tchain input {\n\
\t\ttype filter hook input priority 0; policy drop;\n\
\t\tip saddr @trusted accept\n\
\t\tip saddr $admins tcp dport 22 accept\n\
\t\tip saddr @bad drop\n\
\t\tip saddr $blocked drop\n\
\t}\n\
}\n\
add element inet filter trusted { 192.168.2.0/24 }\n";
        let (ch, codes) = plan(V4, text);
        assert_eq!(
            ch,
            vec![
                (3, "define admins = { 192.168.0.0/16, 10.40.7.131, 10.1.1.1 }".into()),
                (
                    6,
                    "\tset trusted { type ipv4_addr; flags interval; elements = { 192.168.0.0/16, 10.40.7.131,".into()
                ),
                (12, "\tset unused { type ipv4_addr; elements = { 10.40.7.131 } }".into()),
                (21, "add element inet filter trusted { 10.40.7.0/24 }".into()),
            ]
        );
        assert_eq!(
            codes,
            [
                "trust-network-kept",
                "network-unchanged",
                "trust-network-kept",
                "network-unchanged"
            ]
        );
    }

    #[test]
    fn sets_used_in_another_file() {
        let fx = Fixture::new(V4);
        fx.write(PATH, "flush ruleset\ninclude \"nftables.d/*.nft\"\n");
        fx.write(
            "/etc/nftables.d/10-sets.nft",
            "table inet f {\n set admins { type ipv4_addr; flags interval; elements = { 192.168.0.0/16 } }\n}\n",
        );
        fx.write(
            "/etc/nftables.d/20-rules.nft",
            "table inet f {\n chain input {\n  ip saddr @admins accept\n }\n}\n",
        );
        assert_eq!(
            Nftables.files(&fx.scan()).unwrap(),
            [
                "/etc/nftables.conf",
                "/etc/nftables.d/10-sets.nft",
                "/etc/nftables.d/20-rules.nft"
            ]
        );
        let p = "/etc/nftables.d/10-sets.nft";
        let text = fx.host.read(p).unwrap().unwrap();
        let r = Nftables.analyze(p, &text, &fx.plan()).unwrap();
        assert_eq!(
            changes(&r)[0].2,
            " set admins { type ipv4_addr; flags interval; elements = { 192.168.0.0/16, 10.40.7.131 } }"
        );
    }

    #[test]
    fn continuation_lines_and_inline_blocks() {
        let text = "table ip nat {\n\tchain pre { type nat hook prerouting priority -100; ip daddr 203.0.113.40 \\\n\t\ttcp dport 25 dnat to 192.168.2.1; }\n}\n";
        let (ch, _) = plan(V4, text);
        assert_eq!(
            ch,
            vec![(3, "\t\ttcp dport 25 dnat to 10.40.7.131; }".into())]
        );
        // `add rule` at the top level.
        let (ch, _) = plan(
            V4,
            "add rule inet filter input ip daddr 192.168.2.1 tcp dport 993 accept\n",
        );
        assert_eq!(
            ch,
            vec![(
                1,
                "add rule inet filter input ip daddr 10.40.7.131 tcp dport 993 accept".into()
            )]
        );
    }

    #[test]
    fn broken_files_are_errors_at_their_line() {
        let fx = Fixture::new(V4);
        for (text, line, what) in [
            (
                "table inet f {\n chain c {\n  ip saddr 1.2.3.4 accept\n }\n",
                1,
                "a `}` is missing",
            ),
            (
                "table inet f {\n chain c {\n  ip saddr { 1.2.3.4, accept\n }\n}\n",
                1,
                "a `}` is missing",
            ),
            ("table inet f {\n}\n}\n", 3, "closes nothing"),
            (
                "table inet f {\n chain c {\n  accept comment \"open\n }\n}\n",
                3,
                "never closed",
            ),
        ] {
            let e = Nftables.analyze(PATH, text, &fx.scan()).unwrap_err();
            let s = e.to_string();
            assert!(
                s.starts_with(&format!("{PATH}:{line}: ")) && s.contains(what),
                "{text:?}: {s}"
            );
            assert!(e.help().is_some());
        }
    }

    #[test]
    fn load_commands() {
        assert_eq!(load(DEBIAN, "", 1), "nft -f /etc/nftables.conf");
        assert_eq!(
            load("/etc/nftables.d/x.nft", "", 1),
            "nft -f /etc/nftables.conf"
        );
        assert_eq!(
            load("/etc/nftables/main.nft", "", 1),
            "nft 'flush ruleset; include \"/etc/sysconfig/nftables.conf\";'"
        );
    }
}
