//! The syntax of named.conf(5), also that of TSIG key files and
//! rndc.conf: statements end with `;`, blocks are `{ ... }`, strings are
//! `"..."`, comments are `//`, `#` and `/* ... */`.
//!
//! Every word keeps its line and byte range, and every statement where
//! its `;` is, so that an address can be edited in place and an entry
//! added after another one, every other byte of the file staying as it
//! is.

use std::ops::Range;

use crate::error::{Error, Result};

/// A word of a statement: a bare word or a quoted string, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// What it says: a string without its quotes, `\X` read as X.
    pub text: String,
    /// Written as a `"quoted string"`.
    pub quoted: bool,
    /// 1-based line of its first byte.
    pub line: usize,
    /// Byte range in that line (quotes included). A string continued over
    /// several lines ends with its first line.
    pub span: Range<usize>,
}

/// A statement: words, then optionally a block of statements.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub words: Vec<Word>,
    pub block: Option<Vec<Stmt>>,
    /// Host path of the file it is written in.
    pub file: String,
    /// Line of its first word (or of its `{`).
    pub line: usize,
    /// Where its terminating `;` is: line and byte offset in that line.
    pub semi: Option<(usize, usize)>,
}

impl Stmt {
    /// The first word, which names the statement or option.
    pub fn keyword(&self) -> Option<&str> {
        self.arg(0)
    }

    /// Word `i` (0 is the keyword).
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i).map(|w| w.text.as_str())
    }

    /// The first statement of the block whose keyword is `key`.
    pub fn option(&self, key: &str) -> Option<&Stmt> {
        self.block
            .as_deref()?
            .iter()
            .find(|s| s.keyword() == Some(key))
    }
}

#[derive(Debug, Clone)]
enum Tok {
    Word(Word),
    Open,
    Close,
    Semi,
}

/// A token with its line and byte offset in the line.
type At = (usize, usize, Tok);

fn err(path: &str, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_string(),
        line,
        message: message.into(),
        help: Some(format!(
            "check the configuration with `named-checkconf {path}`"
        )),
    }
}

/// Parses text in named.conf syntax into statements, without following
/// includes. Errors name `path:line`.
pub fn parse(path: &str, text: &str) -> Result<Vec<Stmt>> {
    let toks = lex(path, text)?;
    let mut pos = 0;
    statements(path, &toks, &mut pos, false)
}

/// The words of a piece of named.conf text (one line), braces and `;`
/// left out; `None` when it does not lex on its own (an open string or
/// comment).
pub fn words(text: &str) -> Option<Vec<Word>> {
    let toks = lex("", text).ok()?;
    Some(
        toks.into_iter()
            .filter_map(|(_, _, t)| match t {
                Tok::Word(w) => Some(w),
                _ => None,
            })
            .collect(),
    )
}

fn lex(path: &str, text: &str) -> Result<Vec<At>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut line_start = 0;
    let newline = |i: usize, line: &mut usize, line_start: &mut usize| {
        *line += 1;
        *line_start = i + 1;
    };
    while i < b.len() {
        let col = i - line_start;
        match b[i] {
            b'\n' => {
                newline(i, &mut line, &mut line_start);
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            // named's lexer refuses a NUL outside a string (inside one,
            // the string ends there, as a C string does).
            0 => {
                return Err(err(
                    path,
                    line,
                    "the file holds a NUL byte outside a string",
                ));
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = line;
                i += 2;
                loop {
                    if i + 1 >= b.len() {
                        return Err(err(path, start, "`/*` comment is never closed"));
                    }
                    if b[i] == b'*' && b[i + 1] == b'/' {
                        i += 2;
                        break;
                    }
                    if b[i] == b'\n' {
                        newline(i, &mut line, &mut line_start);
                    }
                    i += 1;
                }
            }
            b'{' => {
                out.push((line, col, Tok::Open));
                i += 1;
            }
            b'}' => {
                out.push((line, col, Tok::Close));
                i += 1;
            }
            b';' => {
                out.push((line, col, Tok::Semi));
                i += 1;
            }
            b'"' => {
                let (start, start_col) = (line, col);
                let mut end_col = None;
                let mut s = Vec::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(err(path, start, "string is never closed")),
                        Some(b'\\') if i + 1 < b.len() => {
                            s.push(b[i + 1]);
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            if c == b'\n' {
                                end_col.get_or_insert(i - line_start);
                                newline(i, &mut line, &mut line_start);
                            }
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                let end = end_col.unwrap_or(i - line_start);
                if let Some(nul) = s.iter().position(|c| *c == 0) {
                    s.truncate(nul);
                }
                out.push((
                    start,
                    start_col,
                    Tok::Word(Word {
                        text: String::from_utf8_lossy(&s).into_owned(),
                        quoted: true,
                        line: start,
                        span: start_col..end,
                    }),
                ));
            }
            _ => {
                let start = i;
                while i < b.len()
                    && !matches!(
                        b[i],
                        b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b';' | b'"' | b'#' | 0
                    )
                    && !(b[i] == b'/' && matches!(b.get(i + 1), Some(b'/' | b'*')))
                {
                    i += 1;
                }
                out.push((
                    line,
                    col,
                    Tok::Word(Word {
                        text: text[start..i].to_string(),
                        quoted: false,
                        line,
                        span: col..col + (i - start),
                    }),
                ));
            }
        }
    }
    Ok(out)
}

fn statements(path: &str, toks: &[At], pos: &mut usize, nested: bool) -> Result<Vec<Stmt>> {
    let mut out = Vec::new();
    let mut words: Vec<Word> = Vec::new();
    let mut start = 0;
    while *pos < toks.len() {
        let (line, col, t) = &toks[*pos];
        *pos += 1;
        if words.is_empty() {
            start = *line;
        }
        match t {
            Tok::Word(w) => words.push(w.clone()),
            Tok::Semi => {
                if !words.is_empty() {
                    out.push(Stmt {
                        words: std::mem::take(&mut words),
                        block: None,
                        file: path.to_string(),
                        line: start,
                        semi: Some((*line, *col)),
                    });
                }
            }
            Tok::Open => {
                let block = statements(path, toks, pos, true)?;
                // The `;` after `}` is required by BIND; accept it missing.
                let semi = match toks.get(*pos) {
                    Some((l, c, Tok::Semi)) => {
                        *pos += 1;
                        Some((*l, *c))
                    }
                    _ => None,
                };
                out.push(Stmt {
                    words: std::mem::take(&mut words),
                    block: Some(block),
                    file: path.to_string(),
                    line: start,
                    semi,
                });
            }
            Tok::Close => {
                if !nested {
                    return Err(err(path, *line, "`}` without a matching `{`"));
                }
                if !words.is_empty() {
                    return Err(err(path, *line, missing_semi(&words)));
                }
                return Ok(out);
            }
        }
    }
    if nested {
        let line = toks.last().map(|(l, _, _)| *l).unwrap_or(1);
        return Err(err(path, line, "a `{` is never closed"));
    }
    if !words.is_empty() {
        return Err(err(path, start, missing_semi(&words)));
    }
    Ok(out)
}

/// The error of a statement without its `;`, showing its words up to a
/// `secret` (whose value never goes into an error).
fn missing_semi(words: &[Word]) -> String {
    let mut shown: Vec<&str> = Vec::new();
    for w in words {
        if w.text == "secret" {
            shown.push("secret …");
            break;
        }
        shown.push(&w.text);
    }
    format!("`{}` is missing its `;`", shown.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_place() {
        let text = "options {\n\tlisten-on port 53 { 10.0.0.1; };\n\tdirectory \"/var/\\\"x\\\"\"; # c\n};\n";
        let s = parse("/f", text).unwrap();
        let opts = &s[0];
        assert_eq!(opts.keyword(), Some("options"));
        assert_eq!(opts.semi, Some((4, 1)));
        let listen = opts.option("listen-on").unwrap();
        let addr = &listen.block.as_ref().unwrap()[0];
        assert_eq!(addr.words[0].text, "10.0.0.1");
        assert_eq!(addr.words[0].line, 2);
        assert_eq!(addr.words[0].span, 21..29);
        assert_eq!(addr.semi, Some((2, 29)));
        let dir = &opts.option("directory").unwrap().words[1];
        assert_eq!(dir.text, "/var/\"x\"");
        assert!(dir.quoted);
        assert_eq!(
            &text.lines().nth(2).unwrap()[dir.span.clone()],
            "\"/var/\\\"x\\\"\""
        );
    }

    #[test]
    fn nul_bytes_and_errors() {
        // Inside a string a NUL ends the string; outside it is refused.
        let s = parse("/f", "options { directory \".\0\"; };").unwrap();
        assert_eq!(s[0].option("directory").unwrap().arg(1), Some("."));
        let table: &[(&str, usize, &str)] = &[
            ("options {};\n\0 // x\n", 2, "NUL byte"),
            ("zone \"a\" {\n type primary;\n", 2, "never closed"),
            ("options { directory \"/x\" };\n", 1, "missing its `;`"),
            ("};\n", 1, "without a matching"),
            ("/* open\n\n", 1, "never closed"),
            ("zone \"a\" { file \"x }; };\n", 1, "never closed"),
        ];
        for (text, line, msg) in table {
            match parse("/etc/named.conf", text) {
                Err(Error::Parse {
                    line: l,
                    message,
                    help,
                    ..
                }) => {
                    assert_eq!(l, *line, "{text:?}");
                    assert!(message.contains(msg), "{text:?}: {message}");
                    assert!(help.unwrap().contains("named-checkconf"), "{text:?}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_secret_never_goes_into_an_error() {
        let e = parse(
            "/k",
            "key \"k\" { algorithm hmac-sha256; secret \"c2VjcmV0\" };",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("missing its `;`"), "{e}");
        assert!(!e.contains("c2VjcmV0"), "{e}");
    }

    #[test]
    fn words_of_a_line() {
        let w = words("\tinet 10.0.0.1 port 953 allow { any; }; // 10.0.0.2").unwrap();
        let t: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(t, ["inet", "10.0.0.1", "port", "953", "allow", "any"]);
        assert!(words("\"open").is_none());
    }
}
