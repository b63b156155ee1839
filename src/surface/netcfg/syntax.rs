//! What the five formats share at the level of text: physical and
//! logical (continued) lines, words and separated fields, INI sections,
//! and the values every format spells alike (masks, prefixes, secret
//! keys).

use std::net::Ipv4Addr;
use std::ops::Range;

use crate::error::{Error, Result};

/// The physical lines of `text` without `\n` or `\r\n`: as apply reads
/// them, so that a change's `before` is the line apply finds. A `\r` with
/// no `\n` after it (at the end of the file) stays in the line (fuzzing:
/// netplan crash-0c795ebb, a file ending in `\r`, planned a `before`
/// without it that apply then refused as drift).
pub fn lines(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = text.split('\n').collect();
    let last = out.len() - 1;
    for l in &mut out[..last] {
        *l = l.strip_suffix('\r').unwrap_or(l);
    }
    out
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
        "preshared",
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
    use std::net::IpAddr;

    #[test]
    fn lines_end_where_apply_ends_them() {
        assert_eq!(lines("a\r\nb\nc"), ["a", "b", "c"]);
        assert_eq!(lines("a\r\n"), ["a", ""]);
        // A `\r` without `\n` ends no line: apply keeps it in the body.
        assert_eq!(lines("a\rb\r\nc\r"), ["a\rb", "c\r"]);
    }

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
            "PresharedKey",
            "PrivateKey",
            "pin",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["address1", "dns", "IPADDR", "gateway", "mapping", "ping"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
