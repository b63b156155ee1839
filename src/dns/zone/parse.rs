//! The master file format of RFC 1035 §5.1 as BIND reads it: `$ORIGIN`,
//! `$TTL` (RFC 2308), `$INCLUDE`, BIND's `$GENERATE`, `@`, relative names,
//! omitted owners, TTL and class in either order, TTL units (`1h30m`),
//! quoted strings with `\"` and `\DDD` escapes, comments after `;`, and
//! parentheses that continue a record over several lines.
//!
//! Every token keeps its line and byte range, so edits are made in place
//! and the rest of the file stays byte for byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use crate::error::{Error, Result};

/// One token of a zone file: where it is and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tok {
    /// 1-based line.
    pub line: usize,
    /// Byte range in that line (without the line terminator), quotes
    /// included for a quoted string.
    pub span: Range<usize>,
    /// The text as written (quotes and escapes kept).
    pub raw: String,
    /// Written as a `"quoted string"`.
    pub quoted: bool,
}

impl Tok {
    /// The text a token stands for: quotes removed, `\X` and `\DDD`
    /// escapes decoded, as bytes (a TXT string may hold any byte).
    pub fn value(&self) -> Vec<u8> {
        decode(self.raw_inner()).0
    }

    /// The raw text between the quotes (or all of it when unquoted).
    fn raw_inner(&self) -> &str {
        if self.quoted {
            &self.raw[1..self.raw.len() - 1]
        } else {
            &self.raw
        }
    }

    /// For each decoded byte, its byte range in the line. Edits inside a
    /// string are made through this map, so escapes around them survive.
    pub fn value_map(&self) -> Vec<Range<usize>> {
        let base = self.span.start + usize::from(self.quoted);
        decode(self.raw_inner())
            .1
            .into_iter()
            .map(|r| r.start + base..r.end + base)
            .collect()
    }
}

/// Decodes RFC 1035 escapes: `\X` is X, `\DDD` is the byte DDD.
/// Returns the bytes and, per byte, its range in `s`.
fn decode(s: &str) -> (Vec<u8>, Vec<Range<usize>>) {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut map = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let d = &b[i + 1..b.len().min(i + 4)];
            if d.len() == 3 && d.iter().all(u8::is_ascii_digit) {
                let v = d.iter().fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(u8::MAX));
                map.push(i..i + 4);
                i += 4;
            } else {
                out.push(b[i + 1]);
                map.push(i..i + 2);
                i += 2;
            }
        } else {
            out.push(b[i]);
            map.push(i..i + 1);
            i += 1;
        }
    }
    (out, map)
}

/// One logical entry: a directive or a record, possibly continued over
/// several lines inside parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Line the entry starts on.
    pub line: usize,
    /// The line started with white space: the owner is the previous one.
    pub blank_owner: bool,
    pub toks: Vec<Tok>,
}

/// Splits a zone file into entries. Errors name `path:line`.
pub fn entries(path: &str, text: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut cur: Option<Entry> = None;
    let mut depth = 0usize;
    let mut paren_line = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let n = i + 1;
        let b = line.as_bytes();
        let mut p = 0;
        if depth == 0 {
            if let Some(e) = cur.take()
                && !e.toks.is_empty()
            {
                out.push(e);
            }
            cur = Some(Entry {
                line: n,
                blank_owner: b.first().is_some_and(|c| *c == b' ' || *c == b'\t'),
                toks: Vec::new(),
            });
        }
        let entry = cur.as_mut().expect("an entry is open on every line");
        while p < b.len() {
            match b[p] {
                b' ' | b'\t' | b'\r' => p += 1,
                b';' => break,
                b'(' => {
                    if depth == 0 {
                        paren_line = n;
                    }
                    depth += 1;
                    p += 1;
                }
                b')' => {
                    if depth == 0 {
                        return Err(parse_err(path, n, "`)` without a matching `(`"));
                    }
                    depth -= 1;
                    p += 1;
                }
                b'"' => {
                    let start = p;
                    p += 1;
                    loop {
                        match b.get(p) {
                            None => {
                                return Err(parse_err(
                                    path,
                                    n,
                                    "unterminated quoted string (a `\"` is missing)",
                                ));
                            }
                            Some(b'\\') => p += 2,
                            Some(b'"') => {
                                p += 1;
                                break;
                            }
                            Some(_) => p += 1,
                        }
                    }
                    let p = p.min(b.len());
                    entry.toks.push(Tok {
                        line: n,
                        span: start..p,
                        raw: line[start..p].to_string(),
                        quoted: true,
                    });
                }
                _ => {
                    let start = p;
                    while p < b.len() {
                        match b[p] {
                            b'\\' => p = (p + 2).min(b.len()),
                            b' ' | b'\t' | b'\r' | b';' | b'(' | b')' | b'"' => break,
                            _ => p += 1,
                        }
                    }
                    entry.toks.push(Tok {
                        line: n,
                        span: start..p,
                        raw: line[start..p].to_string(),
                        quoted: false,
                    });
                }
            }
        }
    }
    if depth > 0 {
        return Err(parse_err(
            path,
            paren_line,
            "`(` is never closed (a `)` is missing)",
        ));
    }
    if let Some(e) = cur
        && !e.toks.is_empty()
    {
        out.push(e);
    }
    Ok(out)
}

fn parse_err(path: &str, line: usize, msg: &str) -> Error {
    Error::Parse {
        path: path.to_string(),
        line,
        message: msg.to_string(),
        help: Some("check the zone file with `named-checkzone ZONE FILE`".into()),
    }
}

/// A record of a zone file, with names made absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Host path of the file it is in.
    pub file: String,
    pub line: usize,
    /// Absolute owner, lower case, with the trailing dot.
    pub owner: String,
    /// The owner token, when written on the entry (not inherited).
    pub owner_tok: Option<Tok>,
    /// The TTL token, when written.
    pub ttl_tok: Option<Tok>,
    /// The TTL in effect: written, else `$TTL`, else the previous record's.
    pub ttl: Option<u32>,
    /// Type in upper case (`A`, `AAAA`, `TXT`, `TYPE65534`).
    pub rtype: String,
    pub rdata: Vec<Tok>,
    /// The origin in effect for this record (to resolve relative names in
    /// its data).
    pub origin: String,
    /// The record's first token that is not the owner (TTL, class or
    /// type): a TTL is inserted before it.
    pub after_owner: Tok,
}

/// What a zone file holds besides records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Record(Box<Record>),
    /// `$INCLUDE file [origin]`: the file (as written) and the origin the
    /// included file starts with.
    Include {
        line: usize,
        file: String,
        origin: String,
    },
    /// A `$GENERATE` line: records zmreip does not edit.
    Generate {
        line: usize,
        toks: Vec<Tok>,
        /// The origin in effect on the line.
        origin: String,
    },
}

/// Parser state carried from one file into the files it includes.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub origin: String,
    pub default_ttl: Option<u32>,
    pub last_ttl: Option<u32>,
    pub last_owner: Option<String>,
}

/// Parses a zone file whose origin is `origin` (absolute, with the dot).
pub fn parse(path: &str, text: &str, state: &mut State) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    for e in entries(path, text)? {
        let first = &e.toks[0];
        if !e.blank_owner && first.raw.starts_with('$') {
            let args = &e.toks[1..];
            let need = |k: usize, what: &str| -> Result<()> {
                if args.len() < k {
                    return Err(parse_err(
                        path,
                        e.line,
                        &format!("{} needs {what}", first.raw),
                    ));
                }
                Ok(())
            };
            match first.raw.to_ascii_uppercase().as_str() {
                "$ORIGIN" => {
                    need(1, "a domain name")?;
                    state.origin = absolute(&args[0].raw, &state.origin)
                        .ok_or_else(|| relative_err(path, e.line, &args[0].raw))?;
                }
                "$TTL" => {
                    need(1, "a TTL")?;
                    let t = ttl(&args[0].raw).ok_or_else(|| {
                        parse_err(path, e.line, &format!("`{}` is not a TTL", args[0].raw))
                    })?;
                    state.default_ttl = Some(t);
                }
                "$INCLUDE" => {
                    need(1, "a file name")?;
                    let origin = match args.get(1) {
                        Some(o) => absolute(&o.raw, &state.origin)
                            .ok_or_else(|| relative_err(path, e.line, &o.raw))?,
                        None => state.origin.clone(),
                    };
                    out.push(Item::Include {
                        line: e.line,
                        file: String::from_utf8_lossy(&args[0].value()).into_owned(),
                        origin,
                    });
                }
                "$GENERATE" => out.push(Item::Generate {
                    line: e.line,
                    toks: e.toks.clone(),
                    origin: state.origin.clone(),
                }),
                other => {
                    return Err(parse_err(
                        path,
                        e.line,
                        &format!("unknown directive `{other}`"),
                    ));
                }
            }
            continue;
        }
        out.push(Item::Record(Box::new(record(path, &e, state)?)));
    }
    Ok(out)
}

fn relative_err(path: &str, line: usize, name: &str) -> Error {
    parse_err(
        path,
        line,
        &format!("`{name}` is relative but no $ORIGIN is known here"),
    )
}

/// Reads one record entry.
fn record(path: &str, e: &Entry, state: &mut State) -> Result<Record> {
    let mut i = 0;
    let (owner, owner_tok) = if e.blank_owner {
        let o = state.last_owner.clone().ok_or_else(|| {
            parse_err(
                path,
                e.line,
                "the record has no owner name and none came before it",
            )
        })?;
        (o, None)
    } else {
        i = 1;
        let t = &e.toks[0];
        let o =
            absolute(&t.raw, &state.origin).ok_or_else(|| relative_err(path, e.line, &t.raw))?;
        (o, Some(t.clone()))
    };
    let mut ttl_tok = None;
    let mut class = false;
    while let Some(t) = e.toks.get(i) {
        if ttl_tok.is_none() && !t.quoted && ttl(&t.raw).is_some() {
            ttl_tok = Some(t.clone());
        } else if !class && is_class(&t.raw) {
            class = true;
        } else {
            break;
        }
        i += 1;
    }
    let Some(type_tok) = e.toks.get(i) else {
        return Err(parse_err(path, e.line, "the record has no type"));
    };
    let after_owner = e.toks[if e.blank_owner { 0 } else { 1 }.min(i)].clone();
    let rtype = type_tok.raw.to_ascii_uppercase();
    if rtype.is_empty()
        || !rtype
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-')
    {
        return Err(parse_err(
            path,
            type_tok.line,
            &format!("`{}` is not a record type", type_tok.raw),
        ));
    }
    let explicit = ttl_tok.as_ref().and_then(|t| ttl(&t.raw));
    let ttl = explicit.or(state.default_ttl).or(state.last_ttl);
    if explicit.is_some() {
        state.last_ttl = explicit;
    }
    let rdata: Vec<Tok> = e.toks[i + 1..].to_vec();
    let mut ttl = ttl;
    if rtype == "SOA" {
        // RFC 1035: without $TTL the SOA minimum is the default (BIND
        // warns and does the same).
        if ttl.is_none() {
            ttl = rdata.get(6).and_then(|t| self::ttl(&t.raw));
        }
        if state.default_ttl.is_none() && state.last_ttl.is_none() {
            state.last_ttl = ttl;
        }
    }
    state.last_owner = Some(owner.clone());
    Ok(Record {
        file: path.to_string(),
        line: e.line,
        owner,
        owner_tok,
        ttl_tok,
        ttl,
        rtype,
        rdata,
        origin: state.origin.clone(),
        after_owner,
    })
}

fn is_class(s: &str) -> bool {
    ["IN", "CH", "HS", "CS"]
        .iter()
        .any(|c| c.eq_ignore_ascii_case(s))
}

/// A TTL: seconds, or BIND's units (`1w2d3h4m5s`, any case).
pub fn ttl(s: &str) -> Option<u32> {
    if s.is_empty() || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    if s.bytes().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in s.bytes() {
        if c.is_ascii_digit() {
            num = Some(num.unwrap_or(0).checked_mul(10)? + u64::from(c - b'0'));
            continue;
        }
        let mult = match c.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86400,
            b'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(mult)?)?;
    }
    if let Some(n) = num {
        total = total.checked_add(n)?;
    }
    u32::try_from(total).ok()
}

/// An absolute, lower-case name with trailing dot: `@` is the origin,
/// a name without a final dot is relative to it. `None` when relative
/// and no origin is known.
pub fn absolute(name: &str, origin: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    if lower == "@" {
        return (!origin.is_empty()).then(|| origin.to_string());
    }
    if ends_with_unescaped_dot(&lower) {
        return Some(lower);
    }
    if origin.is_empty() {
        return None;
    }
    if origin == "." {
        return Some(format!("{lower}."));
    }
    Some(format!("{lower}.{origin}"))
}

fn ends_with_unescaped_dot(s: &str) -> bool {
    let b = s.as_bytes();
    if b.last() != Some(&b'.') {
        return false;
    }
    let backslashes = b[..b.len() - 1]
        .iter()
        .rev()
        .take_while(|c| **c == b'\\')
        .count();
    backslashes % 2 == 0
}

/// Whether `name` is `zone` or below it (both absolute, lower case).
pub fn in_zone(name: &str, zone: &str) -> bool {
    zone == "." || name == zone || name.ends_with(&format!(".{zone}"))
}

/// The address a full reverse name stands for (`10.2.0.192.in-addr.arpa.`
/// or 32 ip6.arpa nibbles); `None` for a partial or other name.
pub fn reverse_addr(name: &str) -> Option<IpAddr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(rest) = name.strip_suffix(".in-addr.arpa") {
        let labels: Vec<&str> = rest.split('.').collect();
        if labels.len() != 4 {
            return None;
        }
        let mut o = [0u8; 4];
        for (k, l) in labels.iter().rev().enumerate() {
            if l.is_empty() || l.len() > 3 || !l.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            if l.len() > 1 && l.starts_with('0') {
                return None;
            }
            o[k] = l.parse().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(o)));
    }
    if let Some(rest) = name.strip_suffix(".ip6.arpa") {
        let labels: Vec<&str> = rest.split('.').collect();
        if labels.len() != 32 {
            return None;
        }
        let mut v: u128 = 0;
        for l in labels.iter().rev() {
            if l.len() != 1 {
                return None;
            }
            v = (v << 4) | u128::from(char::from(l.as_bytes()[0]).to_digit(16)?);
        }
        return Some(IpAddr::V6(Ipv6Addr::from(v)));
    }
    None
}

/// `name` relative to `origin` when it lies below it (`mail` for
/// `mail.example.test.` in `example.test.`), `@` for the origin itself,
/// else the absolute name.
pub fn relative_to(name: &str, origin: &str) -> String {
    if name == origin {
        return "@".into();
    }
    match name.strip_suffix(&format!(".{origin}")) {
        Some(rel) if !origin.is_empty() && origin != "." => rel.to_string(),
        _ => name.to_string(),
    }
}
