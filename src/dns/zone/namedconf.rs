//! Which zone files BIND serves: `zone "x" { type primary; file "y"; }`
//! statements in named.conf and the files it includes, inside views or
//! not, with relative file names resolved against `options { directory }`
//! (BIND's working directory).
//!
//! Syntax (named.conf(5)): statements end with `;`, blocks are `{ ... }`,
//! strings are `"..."`, comments are `//`, `#` and `/* ... */`.

use crate::error::{Error, Result};
use crate::host::Host;

/// A zone served from a file, as named.conf declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneDecl {
    /// Absolute, lower case, with the trailing dot.
    pub name: String,
    /// Host path of the zone file.
    pub file: String,
    /// The view it is in (split DNS), if any.
    pub view: Option<String>,
    /// `type primary` (or `master`): the file is the source of truth.
    pub primary: bool,
    /// `allow-update` or `update-policy`: named owns the file (and its
    /// journal) while it runs, so the file is not edited by hand.
    pub dynamic: bool,
    /// `masterfile-format raw|map`: not text.
    pub binary: bool,
    /// Where it is declared (`/etc/bind/named.conf.local:12`).
    pub declared_at: String,
}

/// The configuration files BIND reads first.
pub const MAIN_FILES: &[&str] = &["/etc/bind/named.conf", "/etc/named.conf"];

/// Includes nested deeper than this are a loop.
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    Semi,
}

/// A statement: words, then optionally a block. `line` is where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    pub(crate) words: Vec<String>,
    pub(crate) block: Option<Vec<Stmt>>,
    pub(crate) file: String,
    pub(crate) line: usize,
}

/// Parses text in named.conf syntax (also the syntax of TSIG key files)
/// into statements, without following includes.
pub(crate) fn parse_conf(path: &str, text: &str) -> Result<Vec<Stmt>> {
    let toks = lex(path, text)?;
    let mut pos = 0;
    statements(path, &toks, &mut pos, false)
}

fn lex(path: &str, text: &str) -> Result<Vec<(usize, Tok)>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
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
                        return Err(Error::parse(path, start, "`/*` comment is never closed"));
                    }
                    if b[i] == b'*' && b[i + 1] == b'/' {
                        i += 2;
                        break;
                    }
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            b'{' => {
                out.push((line, Tok::Open));
                i += 1;
            }
            b'}' => {
                out.push((line, Tok::Close));
                i += 1;
            }
            b';' => {
                out.push((line, Tok::Semi));
                i += 1;
            }
            b'"' => {
                let start = line;
                let mut s = Vec::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => {
                            return Err(Error::parse(path, start, "string is never closed"));
                        }
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
                                line += 1;
                            }
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Str(String::from_utf8_lossy(&s).into_owned())));
            }
            _ => {
                let start = i;
                while i < b.len()
                    && !matches!(
                        b[i],
                        b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b';' | b'"' | b'#'
                    )
                    && !(b[i] == b'/' && matches!(b.get(i + 1), Some(b'/' | b'*')))
                {
                    i += 1;
                }
                out.push((line, Tok::Word(text[start..i].to_string())));
            }
        }
    }
    Ok(out)
}

fn statements(
    path: &str,
    toks: &[(usize, Tok)],
    pos: &mut usize,
    nested: bool,
) -> Result<Vec<Stmt>> {
    let mut out = Vec::new();
    let mut words = Vec::new();
    let mut start = 0;
    while *pos < toks.len() {
        let (line, t) = &toks[*pos];
        *pos += 1;
        if words.is_empty() {
            start = *line;
        }
        match t {
            Tok::Word(w) | Tok::Str(w) => words.push(w.clone()),
            Tok::Semi => {
                if !words.is_empty() {
                    out.push(Stmt {
                        words: std::mem::take(&mut words),
                        block: None,
                        file: path.to_string(),
                        line: start,
                    });
                }
            }
            Tok::Open => {
                let block = statements(path, toks, pos, true)?;
                out.push(Stmt {
                    words: std::mem::take(&mut words),
                    block: Some(block),
                    file: path.to_string(),
                    line: start,
                });
                // The `;` after `}` is required by BIND; accept it missing.
                if let Some((_, Tok::Semi)) = toks.get(*pos) {
                    *pos += 1;
                }
            }
            Tok::Close => {
                if !nested {
                    return Err(Error::parse(path, *line, "`}` without a matching `{`"));
                }
                if !words.is_empty() {
                    return Err(Error::parse(
                        path,
                        *line,
                        format!("`{}` is missing its `;`", words.join(" ")),
                    ));
                }
                return Ok(out);
            }
        }
    }
    if nested {
        let line = toks.last().map(|(l, _)| *l).unwrap_or(1);
        return Err(Error::parse(path, line, "a `{` is never closed"));
    }
    if !words.is_empty() {
        return Err(Error::parse(
            path,
            start,
            format!("`{}` is missing its `;`", words.join(" ")),
        ));
    }
    Ok(out)
}

/// Parses one named.conf-syntax file into statements, splicing in the
/// files it includes (at any level).
fn load(host: &Host, path: &str, depth: usize, stack: &mut Vec<String>) -> Result<Vec<Stmt>> {
    if depth > MAX_DEPTH || stack.iter().any(|p| p == path) {
        return Err(Error::other(
            format!("`{path}` includes itself (through {})", stack.join(" → ")),
            "remove the include loop from the BIND configuration",
        ));
    }
    let Some(text) = host.read(path)? else {
        return Ok(Vec::new());
    };
    let stmts = parse_conf(path, &text)?;
    stack.push(path.to_string());
    let out = splice(host, path, stmts, depth, stack)?;
    stack.pop();
    Ok(out)
}

fn splice(
    host: &Host,
    path: &str,
    stmts: Vec<Stmt>,
    depth: usize,
    stack: &mut Vec<String>,
) -> Result<Vec<Stmt>> {
    let mut out = Vec::new();
    for mut s in stmts {
        if s.words.first().map(String::as_str) == Some("include") && s.block.is_none() {
            let Some(target) = s.words.get(1) else {
                return Err(Error::parse(path, s.line, "`include` needs a file name"));
            };
            let target = resolve(path, target);
            for inc in host.glob(&target)? {
                out.extend(load(host, &inc, depth + 1, stack)?);
            }
            continue;
        }
        if let Some(block) = s.block.take() {
            s.block = Some(splice(host, path, block, depth, stack)?);
        }
        out.push(s);
    }
    Ok(out)
}

/// A path as named.conf writes it, made absolute: relative names are
/// taken from the directory of the file naming them.
fn resolve(from: &str, p: &str) -> String {
    if p.starts_with('/') {
        return p.to_string();
    }
    let dir = from.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    format!("{dir}/{p}")
}

/// Every zone with a file that BIND on `host` serves.
pub fn zones(host: &Host) -> Result<Vec<ZoneDecl>> {
    let mut out = Vec::new();
    for main in MAIN_FILES {
        let stmts = load(host, main, 0, &mut Vec::new())?;
        let directory = stmts
            .iter()
            .filter(|s| s.words.first().map(String::as_str) == Some("options"))
            .filter_map(|s| s.block.as_ref())
            .flatten()
            .find(|s| s.words.first().map(String::as_str) == Some("directory"))
            .and_then(|s| s.words.get(1).cloned());
        let dir = directory.unwrap_or_else(|| {
            main.rsplit_once('/')
                .map(|(d, _)| d.to_string())
                .unwrap_or_default()
        });
        collect(&stmts, &dir, None, &mut out)?;
    }
    // A file named by two zones (a shared template such as db.empty)
    // keeps both declarations; the surface refuses to edit it.
    Ok(out)
}

fn collect(stmts: &[Stmt], dir: &str, view: Option<&str>, out: &mut Vec<ZoneDecl>) -> Result<()> {
    for s in stmts {
        let kw = s.words.first().map(String::as_str);
        match (kw, &s.block) {
            (Some("view"), Some(block)) => {
                collect(block, dir, s.words.get(1).map(String::as_str), out)?;
            }
            (Some("zone"), Some(block)) => {
                let Some(name) = s.words.get(1) else {
                    return Err(Error::parse(&s.file, s.line, "`zone` needs a name"));
                };
                let opt = |k: &str| {
                    block
                        .iter()
                        .find(|o| o.words.first().map(String::as_str) == Some(k))
                };
                let Some(file) = opt("file").and_then(|o| o.words.get(1)) else {
                    continue;
                };
                let ty = opt("type")
                    .and_then(|o| o.words.get(1))
                    .map(|t| t.to_ascii_lowercase())
                    .unwrap_or_default();
                let mut name = name.to_ascii_lowercase();
                if !name.ends_with('.') {
                    name.push('.');
                }
                let file = if file.starts_with('/') {
                    file.clone()
                } else {
                    format!("{}/{file}", dir.trim_end_matches('/'))
                };
                out.push(ZoneDecl {
                    name,
                    file,
                    view: view.map(str::to_string),
                    primary: ty == "primary" || ty == "master",
                    dynamic: opt("allow-update").is_some_and(|o| !allows_none(o))
                        || opt("update-policy").is_some(),
                    binary: opt("masterfile-format")
                        .and_then(|o| o.words.get(1))
                        .is_some_and(|f| f != "text"),
                    declared_at: format!("{}:{}", s.file, s.line),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// `allow-update { none; };` is the same as no allow-update.
fn allows_none(s: &Stmt) -> bool {
    s.block
        .as_ref()
        .is_some_and(|b| b.iter().all(|x| x.words == ["none"]))
}
