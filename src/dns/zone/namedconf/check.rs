//! Checks `named-checkconf` makes that zmreip can make as soundly: where
//! named would refuse the configuration, zmreip refuses it too (naming
//! `file:line`) rather than plan against something named never runs.
//! Only checks whose rule is plain are here; the grammar of options
//! zmreip does not read is left to named-checkconf.
//!
//! * `query-source` and `query-source-v6` (BIND's `parse_querysource`):
//!   `[address] (ADDRESS | * | none) [port (N | *)] [dscp N]`, the
//!   address of the option's family; `none` not in a `server` statement,
//!   and not for both families at once (lib/isccfg/check.c).
//! * `dnssec-policy` key `tag-range MIN MAX`: both at most 65535 and
//!   MIN below MAX (lib/isccfg/kaspconf.c).

use std::net::IpAddr;

use super::syntax::{Stmt, Word};
use crate::error::{Error, Result};

fn err(s: &Stmt, line: usize, message: impl Into<String>, help: &str) -> Error {
    Error::Parse {
        path: s.file.clone(),
        line,
        message: message.into(),
        help: Some(help.to_string()),
    }
}

/// Checks every statement of a configuration (includes spliced in).
pub fn config(stmts: &[Stmt]) -> Result<()> {
    walk(stmts, None)
}

/// `within`: the keyword of the statement whose block this is.
fn walk(stmts: &[Stmt], within: Option<&str>) -> Result<()> {
    for s in stmts {
        match s.keyword() {
            Some("key") => continue,
            Some(k @ ("query-source" | "query-source-v6")) => {
                query_source(s, k == "query-source-v6", within == Some("server"))?;
            }
            Some("dnssec-policy") if within.is_none() => {
                if let Some(keys) = s.option("keys") {
                    for k in keys.block.iter().flatten() {
                        tag_range(k)?;
                    }
                }
            }
            _ => {}
        }
        if matches!(s.keyword(), Some("options" | "view")) {
            both_none(s)?;
        }
        if let Some(block) = &s.block {
            walk(block, s.keyword())?;
        }
    }
    Ok(())
}

const QUERY_SOURCE_HELP: &str = "write it as `query-source [address] (ADDRESS | *) [port PORT];` (see named.conf(5)), then check with `named-checkconf`";

/// One `query-source` or `query-source-v6` option.
fn query_source(s: &Stmt, v6: bool, in_server: bool) -> Result<()> {
    let name = if v6 {
        "query-source-v6"
    } else {
        "query-source"
    };
    let family = if v6 { "an IPv6" } else { "an IPv4" };
    let words: &[Word] = &s.words[1..];
    let mut i = 0;
    let mut address = false;
    let bad = |w: &Word, what: String| Err(err(s, w.line, what, QUERY_SOURCE_HELP));
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        match t {
            "address" if address => {
                return bad(w, format!("{name} names its address twice"));
            }
            "address" => {
                let Some(a) = words.get(i + 1) else {
                    return bad(
                        w,
                        format!("{name} `address` needs an address, `*` or `none`"),
                    );
                };
                source_address(s, a, name, family, v6, in_server)?;
                address = true;
                i += 2;
            }
            "port" | "dscp" => {
                let ok = words.get(i + 1).is_some_and(|v| {
                    (t == "port" && v.text == "*") || v.text.parse::<u16>().is_ok()
                });
                if !ok {
                    return bad(w, format!("{name} `{t}` needs a number"));
                }
                i += 2;
            }
            _ if !address => {
                source_address(s, w, name, family, v6, in_server)?;
                address = true;
                i += 1;
            }
            _ if is_address(t) || t == "*" || t == "none" => {
                return bad(w, format!("{name} names its address twice"));
            }
            _ => return bad(w, format!("`{t}` is not part of {name}")),
        }
    }
    Ok(())
}

fn source_address(
    s: &Stmt,
    w: &Word,
    name: &str,
    family: &str,
    v6: bool,
    in_server: bool,
) -> Result<()> {
    match w.text.as_str() {
        "*" => Ok(()),
        "none" if in_server => Err(err(
            s,
            w.line,
            format!("{name} none is not allowed in a `server` statement"),
            "remove the option from the server statement, or give it an address",
        )),
        "none" => Ok(()),
        t => match t.parse::<IpAddr>() {
            Ok(a) if a.is_ipv6() == v6 => Ok(()),
            _ => Err(err(
                s,
                w.line,
                format!("{name} needs {family} address or `*`, not `{t}`"),
                QUERY_SOURCE_HELP,
            )),
        },
    }
}

fn is_address(t: &str) -> bool {
    t.parse::<IpAddr>().is_ok()
}

/// named sends no query at all when both families are `none`.
fn both_none(s: &Stmt) -> Result<()> {
    let none = |k: &str| {
        s.option(k)
            .filter(|o| o.words[1..].iter().any(|w| w.text == "none"))
    };
    if let (Some(v4), Some(v6)) = (none("query-source"), none("query-source-v6")) {
        // At the one written second.
        let last = if v4.line > v6.line { v4 } else { v6 };
        return Err(err(
            last,
            last.line,
            "query-source and query-source-v6 cannot both be `none`: named could send no query",
            "let one of them have an address or `*`",
        ));
    }
    Ok(())
}

/// `tag-range MIN MAX` of a dnssec-policy key.
fn tag_range(k: &Stmt) -> Result<()> {
    let Some(i) = k.words.iter().position(|w| w.text == "tag-range") else {
        return Ok(());
    };
    let w = &k.words[i];
    let help = "give `tag-range MIN MAX` with 0 <= MIN < MAX <= 65535";
    let num = |j: usize| k.words.get(i + j).and_then(|v| v.text.parse::<u32>().ok());
    let (Some(min), Some(max)) = (num(1), num(2)) else {
        return Err(err(k, w.line, "tag-range needs two numbers", help));
    };
    let problem = if min > 0xffff {
        Some(format!("tag-range minimum {min} is above 65535"))
    } else if max > 0xffff {
        Some(format!("tag-range maximum {max} is above 65535"))
    } else if min >= max {
        Some(format!(
            "tag-range minimum {min} is not below its maximum {max}"
        ))
    } else {
        None
    };
    match problem {
        Some(p) => Err(err(k, w.line, p, help)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::syntax;
    use super::*;

    /// What the check says: `Ok`, or the error's line and a part of its
    /// message.
    type Want = std::result::Result<(), (usize, &'static str)>;

    #[test]
    fn query_sources_and_tag_ranges() {
        let table: &[(&str, Want)] = &[
            ("options { query-source address 10.0.0.1; };", Ok(())),
            ("options { query-source 10.0.0.1; };", Ok(())),
            ("options { query-source address * port 5353; };", Ok(())),
            // BIND 9.18 still takes a port without an address.
            ("options { query-source port 5353; };", Ok(())),
            (
                "options { query-source address 10.0.0.1 bogus; };",
                Err((1, "`bogus` is not part of query-source")),
            ),
            (
                "options { query-source address 10.0.0.1 port * dscp 3; };",
                Ok(()),
            ),
            ("options { query-source-v6 address fd00::1; };", Ok(())),
            ("options { query-source none; };", Ok(())),
            (
                "server 1.2.3.4 {\n query-source 10.10.10.10 address 10.10.10.11;\n};",
                Err((2, "names its address twice")),
            ),
            (
                "server 1.2.3.4 {\n query-source none;\n};",
                Err((2, "not allowed in a `server`")),
            ),
            (
                "options {\n query-source none;\n query-source-v6 none;\n};",
                Err((3, "cannot both be `none`")),
            ),
            (
                "view v {\n query-source-v6 none;\n query-source address none;\n};",
                Err((3, "cannot both be `none`")),
            ),
            (
                "options { query-source address fd00::1; };",
                Err((1, "needs an IPv4 address")),
            ),
            (
                "options { query-source-v6 10.0.0.1; };",
                Err((1, "needs an IPv6 address")),
            ),
            (
                "options { query-source address 10.0.0.1 port; };",
                Err((1, "`port` needs a number")),
            ),
            (
                "dnssec-policy p { keys { csk lifetime unlimited algorithm 13 tag-range 0 1000; }; };",
                Ok(()),
            ),
            (
                "dnssec-policy p {\n keys {\n  csk lifetime unlimited algorithm rsasha256 tag-range 32767 0 2048;\n };\n};",
                Err((3, "not below its maximum")),
            ),
            (
                "dnssec-policy p { keys { ksk key-directory lifetime unlimited algorithm 13 tag-range 65536 0; }; };",
                Err((1, "above 65535")),
            ),
            (
                "dnssec-policy p { keys { zsk lifetime P90D algorithm 13 tag-range 0 65536; }; };",
                Err((1, "above 65535")),
            ),
            (
                "dnssec-policy p { keys { csk lifetime unlimited algorithm 13 tag-range 7 7; }; };",
                Err((1, "not below its maximum")),
            ),
            // A zone that names a policy is not a policy.
            ("zone \"x\" { dnssec-policy p; };", Ok(())),
            // Keys are never read.
            ("key \"query-source\" { secret \"x\"; };", Ok(())),
        ];
        for (text, want) in table {
            let stmts = syntax::parse("/etc/bind/named.conf", text).unwrap();
            match (config(&stmts), want) {
                (Ok(()), Ok(())) => {}
                (
                    Err(Error::Parse {
                        path,
                        line,
                        message,
                        help,
                    }),
                    Err((l, m)),
                ) => {
                    assert_eq!(path, "/etc/bind/named.conf");
                    assert_eq!(line, *l, "{text}: {message}");
                    assert!(message.contains(m), "{text}: {message}");
                    assert!(help.is_some(), "{text}");
                }
                (got, _) => panic!("{text}: {got:?}, want {want:?}"),
            }
        }
    }
}
