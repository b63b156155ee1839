//! What the server's schema allows in a filter, and the filters built from
//! it.
//!
//! A substring filter on an attribute type without a SUBSTR matching rule
//! is Undefined and matches nothing, so the scan uses one only where the
//! server's subschema (RFC 4512 `attributeTypes`, SUBSTR possibly inherited
//! through SUP) says it works, and a presence filter elsewhere.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::policy::ValueKind;

/// Matching facts of one attribute type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct AttrType {
    sup: Option<String>,
    substr: bool,
}

/// The attribute types the server knows, by lower-case name or alias.
#[derive(Debug, Default)]
pub struct Schema {
    types: HashMap<String, AttrType>,
}

impl Schema {
    /// Reads `attributeTypes` values; definitions that do not parse are
    /// skipped (the attribute then counts as unknown).
    pub fn parse<'a>(defs: impl IntoIterator<Item = &'a str>) -> Schema {
        let mut types = HashMap::new();
        for def in defs {
            if let Some((names, t)) = parse_type(def) {
                for n in names {
                    types.insert(n.to_ascii_lowercase(), t.clone());
                }
            }
        }
        Schema { types }
    }

    /// Whether the server knows the attribute type.
    pub fn knows(&self, name: &str) -> bool {
        self.types.contains_key(&name.to_ascii_lowercase())
    }

    /// Whether a substring filter works on the attribute (its own SUBSTR
    /// rule or one inherited from a supertype).
    pub fn has_substr(&self, name: &str) -> bool {
        let mut cur = name.to_ascii_lowercase();
        // A SUP chain is short; the bound stops a cycle in a broken schema.
        for _ in 0..16 {
            let Some(t) = self.types.get(&cur) else {
                return false;
            };
            if t.substr {
                return true;
            }
            match &t.sup {
                Some(s) => cur = s.to_ascii_lowercase(),
                None => return false,
            }
        }
        false
    }
}

/// Splits an RFC 4512 description into tokens: `(`, `)`, quoted strings
/// (without quotes) and bare words.
fn tokens(def: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = def.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            '(' | ')' => {
                out.push(c.to_string());
                chars.next();
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    s.push(c);
                }
                out.push(s);
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '\'' {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(s);
            }
        }
    }
    out
}

/// Names (NAME 'a' or NAME ( 'a' 'b' )), SUP and whether SUBSTR is given.
fn parse_type(def: &str) -> Option<(Vec<String>, AttrType)> {
    let toks = tokens(def);
    if toks.first().map(String::as_str) != Some("(") {
        return None;
    }
    let mut names = Vec::new();
    let mut t = AttrType::default();
    let mut i = 2; // past "(" and the OID
    while i < toks.len() {
        match toks[i].to_ascii_uppercase().as_str() {
            "NAME" => {
                if toks.get(i + 1).map(String::as_str) == Some("(") {
                    i += 2;
                    while i < toks.len() && toks[i] != ")" {
                        names.push(toks[i].clone());
                        i += 1;
                    }
                } else if let Some(n) = toks.get(i + 1) {
                    names.push(n.clone());
                    i += 1;
                }
            }
            "SUP" => {
                t.sup = toks.get(i + 1).cloned();
                i += 1;
            }
            "SUBSTR" => {
                t.substr = true;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    if names.is_empty() {
        return None;
    }
    Some((names, t))
}

/// Escapes a value for a filter (RFC 4515): `*`, `(`, `)`, `\` and NUL.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// Filter terms that select the entries where attribute `name` (of `kind`)
/// may hold one of `targets`.
///
/// Kinds whose values may be networks (trust lists, exact lists, own
/// addresses) take a presence filter: a network that contains the address
/// shares no fixed text with it. Other kinds hold the address spelled out:
/// every spelling the matcher recognizes for IPv4 `a.b.c.d` (plain,
/// regex-escaped, `::ffff:`-mapped, `host:port`, URL host) holds the four
/// numbers in order, and a reverse name holds them backwards, so
/// `*a*b*c*d*` and `*d*c*b*a*` select a superset that the matcher then
/// narrows. IPv6 spellings vary too much (compression, leading zeros,
/// case, nibbles) for a substring, so any IPv6 target means presence.
pub fn terms(name: &str, kind: ValueKind, substr: bool, targets: &[IpAddr]) -> Vec<String> {
    let networks = matches!(
        kind,
        ValueKind::TrustList { .. } | ValueKind::ExactList | ValueKind::OwnAddress
    );
    if networks || !substr || targets.is_empty() || targets.iter().any(IpAddr::is_ipv6) {
        return vec![format!("({name}=*)")];
    }
    let mut out = Vec::new();
    for t in targets {
        let IpAddr::V4(v4) = t else { continue };
        let o = v4.octets();
        out.push(format!("({name}=*{}*{}*{}*{}*)", o[0], o[1], o[2], o[3]));
        out.push(format!("({name}=*{}*{}*{}*{}*)", o[3], o[2], o[1], o[0]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFS: &[&str] = &[
        "( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
        "( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s) for which the entity is known by' SUP name )",
        "( 1.3.6.1.4.1.99999.1.1 NAME 'zimbraMtaMyNetworks' EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{10240} )",
        "( 1.3.6.1.4.1.99999.1.2 NAME 'zimbraMailTransport' DESC 'has ( parens ) and SUBSTR in quotes' EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} SINGLE-VALUE )",
        "( 1.3.6.1.4.1.99999.1.3 NAME 'loopA' SUP loopB )",
        "( 1.3.6.1.4.1.99999.1.4 NAME 'loopB' SUP loopA )",
        "garbage",
        "( 1.2.3 DESC 'no name' )",
    ];

    #[test]
    fn substring_support_follows_the_schema() {
        let s = Schema::parse(DEFS.iter().copied());
        // (attribute, known, substr)
        let cases = [
            ("name", true, true),
            ("cn", true, true),
            ("commonName", true, true),
            ("CN", true, true),
            ("zimbraMtaMyNetworks", true, false),
            ("zimbramailtransport", true, true),
            ("loopA", true, false),
            ("zimbraVirtualIPAddress", false, false),
            ("garbage", false, false),
        ];
        for (a, known, substr) in cases {
            assert_eq!(s.knows(a), known, "{a}");
            assert_eq!(s.has_substr(a), substr, "{a}");
        }
    }

    #[test]
    fn terms_by_kind_and_family() {
        let v4: Vec<IpAddr> = vec!["172.20.14.25".parse().unwrap()];
        let both: Vec<IpAddr> = vec![
            "172.20.14.25".parse().unwrap(),
            "2001:db8:14::25".parse().unwrap(),
        ];
        let two4: Vec<IpAddr> = vec!["172.20.14.25".parse().unwrap(), "10.0.0.5".parse().unwrap()];
        let url = ValueKind::Url;
        let cases: &[(ValueKind, bool, &[IpAddr], &[&str])] = &[
            (
                url,
                true,
                &v4,
                &["(a=*172*20*14*25*)", "(a=*25*14*20*172*)"],
            ),
            (url, false, &v4, &["(a=*)"]),
            (ValueKind::HostPort, true, &both, &["(a=*)"]),
            (
                ValueKind::TrustList { loopback: true },
                true,
                &v4,
                &["(a=*)"],
            ),
            (ValueKind::ExactList, true, &v4, &["(a=*)"]),
            (ValueKind::OwnAddress, true, &v4, &["(a=*)"]),
            (ValueKind::Regex, true, &[], &["(a=*)"]),
            (
                ValueKind::OtherHost,
                true,
                &two4,
                &[
                    "(a=*10*0*0*5*)",
                    "(a=*5*0*0*10*)",
                    "(a=*172*20*14*25*)",
                    "(a=*25*14*20*172*)",
                ],
            ),
        ];
        for (kind, substr, targets, want) in cases {
            let mut t = targets.to_vec();
            t.sort();
            assert_eq!(terms("a", *kind, *substr, &t), *want, "{kind:?} {substr}");
        }
    }

    /// Every spelling the matcher finds for an IPv4 target, outside
    /// networks, is selected by the substring terms: checked by evaluating
    /// the terms as the server would (ordered, case-insensitive pieces).
    #[test]
    fn substring_terms_select_every_spelling_the_matcher_finds() {
        let target: IpAddr = "172.20.14.25".parse().unwrap();
        let matcher = crate::addr::Matcher::new(&[target]);
        let values = [
            "lmtp:172.20.14.25:7025",
            "smtp:[172.20.14.25]:25",
            "http://172.20.14.25:7780/aspell.php",
            r"^172\.20\.14\.25$",
            r"^172\\.20\\.14\\.25$",
            "::ffff:172.20.14.25",
            "25.14.20.172.in-addr.arpa",
            "ldap://[::FFFF:172.20.14.25]:389",
        ];
        let t = terms("a", ValueKind::Url, true, &[target]);
        for v in values {
            assert!(!matcher.find(v).is_empty(), "matcher misses {v}");
            assert!(
                t.iter().any(|term| substring_matches(term, v)),
                "{v} escapes {t:?}"
            );
        }
        // And a near miss the server may select is left to the matcher.
        let near = "172.20.14.250";
        assert!(t.iter().any(|term| substring_matches(term, near)));
        assert!(matcher.find(near).is_empty());
    }

    /// `(a=*p1*p2*...*)` against a value, as caseIgnoreSubstringsMatch.
    fn substring_matches(term: &str, value: &str) -> bool {
        let inner = term.trim_start_matches("(a=").trim_end_matches(')');
        let mut rest = value.to_ascii_lowercase();
        for piece in inner.split('*').filter(|p| !p.is_empty()) {
            match rest.find(piece) {
                Some(i) => rest = rest[i + piece.len()..].to_string(),
                None => return false,
            }
        }
        true
    }

    #[test]
    fn escapes_filter_specials() {
        assert_eq!(escape(r"a*b(c)d\e"), r"a\2ab\28c\29d\5ce");
        assert_eq!(escape("172.20.14.25/32"), "172.20.14.25/32");
        assert_eq!(escape("x\0y"), "x\\00y");
    }
}
