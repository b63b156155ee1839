//! BIND's `$GENERATE` directive, expanded to the records it stands for:
//! `$GENERATE START-STOP[/STEP] LHS [TTL] [CLASS] TYPE RHS`, where `$` in
//! LHS and RHS is the iterator, `${OFFSET[,WIDTH[,BASE]]}` the iterator
//! with an offset, zero-padded to a width, in base `d`, `o`, `x` or `X`,
//! and `\$` a dollar sign (BIND 9 ARM, "The $GENERATE Directive").
//!
//! zmreip never edits a `$GENERATE` line; it reads one to know the
//! CNAMEs of an RFC 2317 classless delegation (`$GENERATE 32-47 $ CNAME
//! $.32/28`).

use super::Generate;
use super::parse::{absolute, ttl};

/// Ranges longer than this are not expanded (a reverse zone's classless
/// CNAMEs are at most 256).
const MAX_RECORDS: u64 = 65_536;

/// One generated record: absolute owner, type in upper case, data as
/// written after expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub owner: String,
    pub rtype: String,
    pub rdata: String,
}

/// The records a `$GENERATE` line makes; `None` when zmreip cannot tell
/// (a malformed line, a nibble modifier, too many records).
pub fn expand(g: &Generate) -> Option<Vec<Generated>> {
    let t: Vec<&str> = g.toks.iter().map(|t| t.raw.as_str()).collect();
    let (range, lhs) = (t.get(1)?, t.get(2)?);
    let (span, step) = match range.split_once('/') {
        Some((r, s)) => (r, s.parse::<u64>().ok().filter(|s| *s > 0)?),
        None => (*range, 1),
    };
    let (start, stop) = span.split_once('-')?;
    let (start, stop) = (start.parse::<u64>().ok()?, stop.parse::<u64>().ok()?);
    if start > stop || (stop - start) / step >= MAX_RECORDS {
        return None;
    }
    // Optional TTL and class, in either order, then the type and RHS.
    let mut i = 3;
    while let Some(w) = t.get(i) {
        let class = ["IN", "CH", "HS"].iter().any(|c| c.eq_ignore_ascii_case(w));
        if class || ttl(w).is_some() {
            i += 1;
        } else {
            break;
        }
    }
    let rtype = t.get(i)?.to_ascii_uppercase();
    let rhs = t.get(i + 1)?;
    if t.len() != i + 2 {
        return None;
    }
    let mut out = Vec::new();
    let mut n = start;
    while n <= stop {
        out.push(Generated {
            owner: absolute(&substitute(lhs, n)?, &g.origin)?,
            rtype: rtype.clone(),
            rdata: substitute(rhs, n)?,
        });
        n += step;
    }
    Some(out)
}

/// `text` with the iterator `n` put in for each `$` and `${...}`.
fn substitute(text: &str, n: u64) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 4);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1) == Some(&b'$') => {
                out.push('$');
                i += 2;
            }
            b'$' if b.get(i + 1) == Some(&b'{') => {
                let end = text[i..].find('}')? + i;
                out.push_str(&modified(&text[i + 2..end], n)?);
                i = end + 1;
            }
            b'$' => {
                out.push_str(&n.to_string());
                i += 1;
            }
            _ => {
                let c = text[i..].chars().next()?;
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    Some(out)
}

/// `OFFSET[,WIDTH[,BASE]]` applied to `n`.
fn modified(spec: &str, n: u64) -> Option<String> {
    let mut parts = spec.split(',');
    let offset: i64 = parts.next()?.trim().parse().ok()?;
    let width: usize = match parts.next() {
        Some(w) => w.trim().parse().ok()?,
        None => 0,
    };
    let base = parts.next().map_or("d", str::trim);
    if parts.next().is_some() {
        return None;
    }
    let v = u64::try_from(i64::try_from(n).ok()?.checked_add(offset)?).ok()?;
    Some(match base {
        "d" => format!("{v:0width$}"),
        "o" => format!("{v:0width$o}"),
        "x" => format!("{v:0width$x}"),
        "X" => format!("{v:0width$X}"),
        // Nibble forms (`n`, `N`) write reverse IPv6 names: not needed
        // for classless IPv4 delegations, and not guessed.
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse::Tok;
    use super::*;

    fn generate(line: &str, origin: &str) -> Generate {
        let toks = line
            .split_whitespace()
            .map(|w| Tok {
                line: 1,
                span: 0..w.len(),
                raw: w.to_string(),
                quoted: false,
            })
            .collect();
        Generate {
            file: "/f".into(),
            line: 1,
            toks,
            origin: origin.into(),
        }
    }

    /// Owner, type and data of each record.
    type Records = Vec<(String, String, String)>;

    fn owners_and_data(line: &str) -> Option<Records> {
        expand(&generate(line, "77.22.172.in-addr.arpa."))
            .map(|v| v.into_iter().map(|g| (g.owner, g.rtype, g.rdata)).collect())
    }

    #[test]
    fn expansions() {
        let o = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        let table: &[(&str, Option<Records>)] = &[
            (
                "$GENERATE 32-34 $ CNAME $.32/28",
                Some(vec![
                    o("32.77.22.172.in-addr.arpa.", "CNAME", "32.32/28"),
                    o("33.77.22.172.in-addr.arpa.", "CNAME", "33.32/28"),
                    o("34.77.22.172.in-addr.arpa.", "CNAME", "34.32/28"),
                ]),
            ),
            (
                "$GENERATE 0-4/2 host${10,3,d} 300 IN A 10.0.0.$",
                Some(vec![
                    o("host010.77.22.172.in-addr.arpa.", "A", "10.0.0.0"),
                    o("host012.77.22.172.in-addr.arpa.", "A", "10.0.0.2"),
                    o("host014.77.22.172.in-addr.arpa.", "A", "10.0.0.4"),
                ]),
            ),
            (
                "$GENERATE 10-11 h${0,2,x}\\$ IN 60 ptr x$.test.",
                Some(vec![
                    o("h0a$.77.22.172.in-addr.arpa.", "PTR", "x10.test."),
                    o("h0b$.77.22.172.in-addr.arpa.", "PTR", "x11.test."),
                ]),
            ),
            ("$GENERATE 1-1 ${-2} CNAME x", None),
            ("$GENERATE 5-1 $ CNAME x", None),
            ("$GENERATE 1-2 $ CNAME", None),
            ("$GENERATE 1-2 ${0,2,n} CNAME x", None),
            ("$GENERATE 0-100000 $ CNAME x", None),
            ("$GENERATE 1-2/0 $ CNAME x", None),
        ];
        for (line, want) in table {
            assert_eq!(&owners_and_data(line), want, "{line}");
        }
    }
}
