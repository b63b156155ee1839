//! Shell variable assignments, as the network scripts read them (they
//! source the file with bash) and as NetworkManager's ifcfg-rh reader
//! does (line by line, ignoring what it cannot read).
//!
//! An assignment is `NAME=WORD` at the start of a line (after blanks). The
//! word is read as bash reads it: unquoted text with backslash escapes
//! (`a\ b`; a backslash at the end of a line continues it), `'single'`
//! quotes (nothing special inside, `'\''` joins two of them around a
//! quote), `"double"` quotes (`\"`, `\\`, `\$`, `` \` `` escaped) and
//! ANSI-C `$'...'` quotes, in any sequence; quotes may span lines. The
//! word ends at an unquoted blank, `;` or line end; after it may come
//! blanks, one `;` and a `#` comment.
//!
//! A line that is not such an assignment (a command, text after the
//! value, a quote never closed) is [`Ignored`], as NetworkManager ignores
//! it: bash would run it as a command or fail there, and zmreip cannot
//! follow either. Reading goes on at the next line.

use std::ops::Range;

/// One assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment<'a> {
    pub key: &'a str,
    /// 1-based line of the key.
    pub line: usize,
    /// The value's raw text on each line it covers, without the quotes
    /// that open and close it (escapes and inner quotes kept, so an edit
    /// of an address inside keeps every other byte): `(line, span)`.
    pub pieces: Vec<(usize, Range<usize>)>,
    /// The value as bash reads it.
    pub value: String,
}

impl Assignment<'_> {
    /// Whether the value is written plainly on one line: its raw text is
    /// the value itself (no escapes, no quotes inside).
    pub fn is_plain(&self, lines: &[&str]) -> bool {
        match self.pieces.as_slice() {
            [(n, r)] => lines[n - 1][r.clone()] == self.value,
            [] => self.value.is_empty(),
            _ => false,
        }
    }
}

/// A line that is not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// 1-based.
    pub line: usize,
    pub why: String,
}

/// Reads every assignment of a file, and the lines that are not one.
pub fn read<'a>(lines: &[&'a str]) -> (Vec<Assignment<'a>>, Vec<Ignored>) {
    let mut out = Vec::new();
    let mut ignored = Vec::new();
    let mut li = 0;
    while li < lines.len() {
        let line = lines[li];
        let t = line.trim_start_matches([' ', '\t']);
        if t.is_empty() || t.starts_with('#') {
            li += 1;
            continue;
        }
        let start = line.len() - t.len();
        let name_len = t
            .bytes()
            .enumerate()
            .take_while(|&(k, b)| {
                b == b'_' || b.is_ascii_alphabetic() || (k > 0 && b.is_ascii_digit())
            })
            .count();
        if name_len == 0 || t.as_bytes().get(name_len) != Some(&b'=') {
            ignored.push(Ignored {
                line: li + 1,
                why: format!("`{}` is not a KEY=value assignment", t.trim_end()),
            });
            li += 1;
            continue;
        }
        let key = &t[..name_len];
        match word(lines, li, start + name_len + 1) {
            Err(why) => {
                ignored.push(Ignored {
                    line: li + 1,
                    why: format!("the value of {key} {why}"),
                });
                li += 1;
            }
            Ok(w) => {
                let rest = &lines[w.end_line][w.end..];
                if trailer_ok(rest) {
                    out.push(Assignment {
                        key,
                        line: li + 1,
                        pieces: w.pieces,
                        value: w.value,
                    });
                    li = w.end_line + 1;
                } else {
                    // Read again line by line from the next one, as
                    // NetworkManager reads.
                    ignored.push(Ignored {
                        line: li + 1,
                        why: format!("unexpected `{}` after the value of {key}", rest.trim()),
                    });
                    li += 1;
                }
            }
        }
    }
    (out, ignored)
}

/// What may follow a value on its line: blanks, one `;`, a `#` comment.
fn trailer_ok(rest: &str) -> bool {
    let r = rest.trim_start_matches([' ', '\t']);
    let r = r
        .strip_prefix(';')
        .unwrap_or(r)
        .trim_start_matches([' ', '\t']);
    r.is_empty() || (r.starts_with('#') && (r.len() < rest.len() || rest.is_empty()))
}

/// A word read: where it ends (0-based line, byte after it), its raw
/// pieces and its value.
struct Word {
    end_line: usize,
    end: usize,
    pieces: Vec<(usize, Range<usize>)>,
    value: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
    Ansi,
}

/// Reads the word starting at byte `at` of line `li` (0-based). `Err`
/// says why it is unreadable.
fn word(lines: &[&str], li: usize, at: usize) -> Result<Word, &'static str> {
    let mut value = String::new();
    let mut pieces = Vec::new();
    let mut n = li;
    let mut i = at;
    let mut piece_start = at;
    let mut q = Quote::None;
    // Whether the last thing read closed a quote (the word may end there).
    let mut closed = false;
    loop {
        let b = lines[n].as_bytes();
        if i >= b.len() {
            if q == Quote::None {
                break;
            }
            // A newline inside quotes is part of the value.
            pieces.push((n + 1, piece_start..b.len()));
            value.push('\n');
            n += 1;
            if n == lines.len() {
                return Err("opens a quote that is never closed");
            }
            i = 0;
            piece_start = 0;
            continue;
        }
        let c = b[i];
        if q == Quote::None && matches!(c, b' ' | b'\t' | b';') {
            break;
        }
        closed = false;
        match q {
            Quote::None => match c {
                b'|' | b'&' | b'(' | b')' | b'<' | b'>' => {
                    return Err("holds a shell operator outside quotes");
                }
                b'\\' if i + 1 == b.len() => {
                    // Backslash-newline: the word goes on on the next line.
                    pieces.push((n + 1, piece_start..i));
                    n += 1;
                    if n == lines.len() {
                        return Err("ends in a backslash on the last line");
                    }
                    i = 0;
                    piece_start = 0;
                }
                b'\\' => {
                    i += 1;
                    i += push_char(&mut value, &lines[n][i..]);
                }
                b'\'' => {
                    q = Quote::Single;
                    i += 1;
                }
                b'"' => {
                    q = Quote::Double;
                    i += 1;
                }
                b'$' if b.get(i + 1) == Some(&b'\'') => {
                    q = Quote::Ansi;
                    i += 2;
                }
                _ => i += push_char(&mut value, &lines[n][i..]),
            },
            Quote::Single => {
                if c == b'\'' {
                    q = Quote::None;
                    closed = true;
                    i += 1;
                } else {
                    i += push_char(&mut value, &lines[n][i..]);
                }
            }
            Quote::Double => match c {
                b'"' => {
                    q = Quote::None;
                    closed = true;
                    i += 1;
                }
                b'\\' if i + 1 == b.len() => {
                    // Backslash-newline inside double quotes joins lines.
                    pieces.push((n + 1, piece_start..i));
                    n += 1;
                    if n == lines.len() {
                        return Err("opens a quote that is never closed");
                    }
                    i = 0;
                    piece_start = 0;
                }
                b'\\' if matches!(b[i + 1], b'"' | b'\\' | b'$' | b'`') => {
                    value.push(b[i + 1] as char);
                    i += 2;
                }
                _ => i += push_char(&mut value, &lines[n][i..]),
            },
            Quote::Ansi => match c {
                b'\'' => {
                    q = Quote::None;
                    closed = true;
                    i += 1;
                }
                b'\\' if i + 1 < b.len() => {
                    // Quotes, backslashes and the common control
                    // characters; other escapes (octal, hex, Unicode) stay
                    // as written, which only a name could hold.
                    let ch = match b[i + 1] {
                        b'\'' | b'"' | b'\\' | b'?' => Some(b[i + 1] as char),
                        b'n' => Some('\n'),
                        b't' => Some('\t'),
                        b'r' => Some('\r'),
                        _ => None,
                    };
                    match ch {
                        Some(ch) => {
                            value.push(ch);
                            i += 2;
                        }
                        None => {
                            value.push('\\');
                            i += 1;
                        }
                    }
                }
                _ => i += push_char(&mut value, &lines[n][i..]),
            },
        }
    }
    pieces.push((n + 1, piece_start..i));
    unquote_ends(lines, &mut pieces, closed);
    Ok(Word {
        end_line: n,
        end: i,
        pieces,
        value,
    })
}

/// Pushes the first character of `s`; returns its length (0 for an
/// empty `s`).
fn push_char(value: &mut String, s: &str) -> usize {
    match s.chars().next() {
        Some(ch) => {
            value.push(ch);
            ch.len_utf8()
        }
        None => 0,
    }
}

/// Takes the quote that opens the word off its first piece and, when the
/// word ends by closing a quote (`closed`), that quote off its last; drops
/// empty pieces.
fn unquote_ends(lines: &[&str], pieces: &mut Vec<(usize, Range<usize>)>, closed: bool) {
    if let Some((n, r)) = pieces.first_mut() {
        let t = &lines[*n - 1][r.clone()];
        if t.starts_with("$'") {
            r.start += 2;
        } else if t.starts_with(['\'', '"']) {
            r.start += 1;
        }
    }
    if closed && let Some((_, r)) = pieces.last_mut() {
        // The opening quote may be the closing one's neighbour (`''`).
        r.end = r.end.saturating_sub(1).max(r.start);
    }
    pieces.retain(|(_, r)| !r.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::netcfg::syntax::lines;

    /// `(key, value, raw pieces as text)` of every assignment, and the
    /// lines ignored.
    type Read = (Vec<(String, String, Vec<String>)>, Vec<usize>);

    fn read_text(text: &str) -> Read {
        let ls = lines(text);
        let (assigned, ignored) = read(&ls);
        (
            assigned
                .iter()
                .map(|a| {
                    (
                        a.key.to_string(),
                        a.value.clone(),
                        a.pieces
                            .iter()
                            .map(|(n, r)| ls[n - 1][r.clone()].to_string())
                            .collect(),
                    )
                })
                .collect(),
            ignored.iter().map(|i| i.line).collect(),
        )
    }

    fn one(key: &str, value: &str, pieces: &[&str]) -> (String, String, Vec<String>) {
        (
            key.into(),
            value.into(),
            pieces.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn values_as_bash_reads_them() {
        // (text, (key, value, raw pieces))
        let cases: &[(&str, &str, &str, &[&str])] = &[
            ("A=10.0.0.5", "A", "10.0.0.5", &["10.0.0.5"]),
            ("  A=\"10.0.0.5\" # c", "A", "10.0.0.5", &["10.0.0.5"]),
            ("A='10.0.0.5';", "A", "10.0.0.5", &["10.0.0.5"]),
            ("A=", "A", "", &[]),
            ("A='' # empty", "A", "", &[]),
            ("A=\"\"", "A", "", &[]),
            ("A=a#b", "A", "a#b", &["a#b"]),
            (
                "ESSID=\"foo\\\"bar\\\\\"",
                "ESSID",
                "foo\"bar\\",
                &["foo\\\"bar\\\\"],
            ),
            ("A='it'\\''s'", "A", "it's", &["it'\\''s"]),
            ("A=a\\ b", "A", "a b", &["a\\ b"]),
            ("A=\"a\\nb\"", "A", "a\\nb", &["a\\nb"]),
            ("A=\"a'b\"", "A", "a'b", &["a'b"]),
            ("A='a\"b'", "A", "a\"b", &["a\"b"]),
            (
                "A=$'a\\'b\\tc\\x41'",
                "A",
                "a'b\tc\\x41",
                &["a\\'b\\tc\\x41"],
            ),
            ("A=\"x\"'y'z", "A", "xyz", &["x\"'y'z"]),
            ("A=10.0.0.5;#c", "A", "10.0.0.5", &["10.0.0.5"]),
            ("_a1=v", "_a1", "v", &["v"]),
            ("A=é", "A", "é", &["é"]),
        ];
        for (text, key, value, pieces) in cases {
            let (got, ignored) = read_text(text);
            assert_eq!(got, [one(key, value, pieces)], "{text:?}");
            assert!(ignored.is_empty(), "{text:?}: {ignored:?}");
        }
    }

    #[test]
    fn values_over_lines() {
        let (got, ignored) = read_text("A='x\n  B=3'\nC=\"1\\\n2\"\nD=a\\\nb\nE=5\n");
        assert_eq!(
            got,
            [
                one("A", "x\n  B=3", &["x", "  B=3"]),
                one("C", "12", &["1", "2"]),
                one("D", "ab", &["a", "b"]),
                one("E", "5", &["5"]),
            ]
        );
        assert!(ignored.is_empty());
        // Every line covered: NetworkManager's own test file.
        let (got, ignored) = read_text(
            "FOO='val\n  bar=3'\nwrong line\n  F2=b\n  F3='b\nXXA=adf'\n  XXA2=val2\n'\n",
        );
        let keys: Vec<&str> = got.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(keys, ["FOO", "F2", "F3", "XXA2"]);
        assert_eq!(ignored, [3, 8]);
    }

    #[test]
    fn what_bash_or_networkmanager_cannot_read_is_ignored_line_by_line() {
        // (text, keys read, lines ignored)
        let cases: &[(&str, &[&str], &[usize])] = &[
            ("NAME=\"\n\nZONE='\n", &[], &[1, 3]),
            ("FOO='\nBAR=a\n'\n", &["FOO"], &[]),
            ("FOO='\nBAR=\"\n'\n", &["FOO"], &[]),
            ("IPADDR='\nIPADDR=l4x\n'\nIPADDR2='bad\n", &["IPADDR"], &[4]),
            ("A=1 B=2\nC=3\n", &["C"], &[1]),
            ("NAME=U Can't Touch This\nONBOOT=yes\n", &["ONBOOT"], &[1]),
            ("echo hi\n", &[], &[1]),
            ("=x\n9A=x\nA-B=x\nA =x\n", &[], &[1, 2, 3, 4]),
            ("A=x&\nB=(y)\n", &[], &[1, 2]),
            ("A=x\\", &[], &[1]),
            // A quote closed on the last line, then text after it.
            ("A='x\ny' z\nB=1\n", &["B"], &[1, 2]),
        ];
        for (text, keys, ignored) in cases {
            let (got, ig) = read_text(text);
            let got: Vec<&str> = got.iter().map(|(k, _, _)| k.as_str()).collect();
            assert_eq!(&got, keys, "{text:?}");
            assert_eq!(&ig, ignored, "{text:?}");
        }
    }
}
