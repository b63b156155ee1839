//! BIND's configuration as zmreip reads it: named.conf and the files it
//! includes ([`configs`]), the zones named serves from files ([`zones`]),
//! what each option's addresses are ([`options`]) and the checks
//! `named-checkconf` makes that zmreip can make as soundly ([`check`]).
//! Relative file names are resolved against `options { directory }`
//! (BIND's working directory), includes against the including file.
//!
//! The syntax (named.conf(5)) is in [`syntax`]: every word keeps its
//! place, so the `namedconf` surface edits addresses in place.

use crate::error::{Error, Result};
use crate::host::Host;

pub mod check;
pub mod options;
pub mod syntax;

pub use syntax::{Stmt, Word};

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
    /// How named signs the zone itself, when it does (`inline-signing
    /// yes`, `dnssec-policy NAME`, set on the zone, its view or the
    /// options): then `file` is the unsigned source and named keeps the
    /// signed copy beside it.
    pub signed_by_named: Option<String>,
    /// Where it is declared (`/etc/bind/named.conf.local:12`).
    pub declared_at: String,
}

/// The configuration files BIND reads first.
pub const MAIN_FILES: &[&str] = &["/etc/bind/named.conf", "/etc/named.conf"];

/// rndc's configuration (rndc.conf(5), the same syntax): where named's
/// control channel is.
pub const RNDC_FILES: &[&str] = &["/etc/bind/rndc.conf", "/etc/rndc.conf"];

/// Includes nested deeper than this are a loop.
const MAX_DEPTH: usize = 16;

/// One BIND configuration: a main file with every include spliced in
/// where it is written (each statement keeps the file it comes from).
#[derive(Debug, Clone)]
pub struct Config {
    /// Host path of the main file.
    pub main: String,
    pub stmts: Vec<Stmt>,
    /// Host paths of every file read, the main file first.
    pub files: Vec<String>,
    /// BIND's working directory: `options { directory }`, else the
    /// directory of the main file.
    pub directory: String,
}

impl Config {
    /// Reads the configuration whose main file is `main`; `None` when it
    /// does not exist. Statements `named-checkconf` refuses and zmreip
    /// can tell apart soundly are errors ([`check::config`]).
    pub fn load(host: &Host, main: &str) -> Result<Option<Config>> {
        if !host.exists(main) {
            return Ok(None);
        }
        let mut files = Vec::new();
        let stmts = load(host, main, 0, &mut Vec::new(), &mut files)?;
        check::config(&stmts)?;
        let directory = stmts
            .iter()
            .filter(|s| s.keyword() == Some("options"))
            .find_map(|s| s.option("directory"))
            .and_then(|s| s.arg(1))
            .map(str::to_string)
            .unwrap_or_else(|| parent(main).to_string());
        Ok(Some(Config {
            main: main.to_string(),
            stmts,
            files,
            directory,
        }))
    }
}

/// Every BIND configuration on `host` (one per main file that exists).
pub fn configs(host: &Host) -> Result<Vec<Config>> {
    load_all(host, MAIN_FILES)
}

/// rndc's configurations on `host`.
pub fn rndc_configs(host: &Host) -> Result<Vec<Config>> {
    load_all(host, RNDC_FILES)
}

fn load_all(host: &Host, mains: &[&str]) -> Result<Vec<Config>> {
    let mut out = Vec::new();
    for main in mains {
        if let Some(c) = Config::load(host, main)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// Text in named.conf syntax (a TSIG key file) as statements, without
/// following includes.
pub fn parse_conf(path: &str, text: &str) -> Result<Vec<Stmt>> {
    syntax::parse(path, text)
}

/// Parses one named.conf-syntax file into statements, splicing in the
/// files it includes (at any level).
fn load(
    host: &Host,
    path: &str,
    depth: usize,
    stack: &mut Vec<String>,
    files: &mut Vec<String>,
) -> Result<Vec<Stmt>> {
    if depth > MAX_DEPTH || stack.iter().any(|p| p == path) {
        return Err(Error::other(
            format!("`{path}` includes itself (through {})", stack.join(" → ")),
            "remove the include loop from the BIND configuration",
        ));
    }
    let Some(text) = host.read(path)? else {
        return Ok(Vec::new());
    };
    if !files.iter().any(|f| f == path) {
        files.push(path.to_string());
    }
    let stmts = syntax::parse(path, &text)?;
    stack.push(path.to_string());
    let out = splice(host, path, stmts, depth, stack, files)?;
    stack.pop();
    Ok(out)
}

fn splice(
    host: &Host,
    path: &str,
    stmts: Vec<Stmt>,
    depth: usize,
    stack: &mut Vec<String>,
    files: &mut Vec<String>,
) -> Result<Vec<Stmt>> {
    let mut out = Vec::new();
    for mut s in stmts {
        if s.keyword() == Some("include") && s.block.is_none() {
            let Some(target) = s.arg(1) else {
                return Err(Error::parse(path, s.line, "`include` needs a file name"));
            };
            let target = resolve(path, target);
            for inc in host.glob(&target)? {
                out.extend(load(host, &inc, depth + 1, stack, files)?);
            }
            continue;
        }
        if let Some(block) = s.block.take() {
            s.block = Some(splice(host, path, block, depth, stack, files)?);
        }
        out.push(s);
    }
    Ok(out)
}

/// The directory part of a host path.
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// A path as named.conf writes it, made absolute: relative names are
/// taken from the directory of the file naming them.
fn resolve(from: &str, p: &str) -> String {
    if p.starts_with('/') {
        return p.to_string();
    }
    format!("{}/{p}", parent(from))
}

/// Every zone with a file that BIND on `host` serves.
pub fn zones(host: &Host) -> Result<Vec<ZoneDecl>> {
    let mut out = Vec::new();
    for config in configs(host)? {
        let options = config.stmts.iter().find(|s| s.keyword() == Some("options"));
        let scope = Scope {
            dir: &config.directory,
            view: None,
            inherited: signing(options, None),
        };
        collect(&config.stmts, &scope, &mut out)?;
    }
    // A file named by two zones (a shared template such as db.empty)
    // keeps both declarations; the surface refuses to edit it.
    Ok(out)
}

/// Where a zone statement stands: BIND's directory, its view, and how
/// the view or the options sign zones.
struct Scope<'a> {
    dir: &'a str,
    view: Option<&'a str>,
    inherited: Option<String>,
}

fn collect(stmts: &[Stmt], scope: &Scope, out: &mut Vec<ZoneDecl>) -> Result<()> {
    for s in stmts {
        match (s.keyword(), &s.block) {
            (Some("view"), Some(block)) => {
                let inner = Scope {
                    dir: scope.dir,
                    view: s.arg(1),
                    inherited: signing(Some(s), scope.inherited.clone()),
                };
                collect(block, &inner, out)?;
            }
            (Some("zone"), Some(_)) => {
                let Some(name) = s.arg(1) else {
                    return Err(Error::parse(&s.file, s.line, "`zone` needs a name"));
                };
                let Some(file) = s.option("file").and_then(|o| o.arg(1)) else {
                    continue;
                };
                let ty = s
                    .option("type")
                    .and_then(|o| o.arg(1))
                    .map(str::to_ascii_lowercase)
                    .unwrap_or_default();
                let mut name = name.to_ascii_lowercase();
                if !name.ends_with('.') {
                    name.push('.');
                }
                let file = if file.starts_with('/') {
                    file.to_string()
                } else {
                    format!("{}/{file}", scope.dir.trim_end_matches('/'))
                };
                out.push(ZoneDecl {
                    name,
                    file,
                    view: scope.view.map(str::to_string),
                    primary: ty == "primary" || ty == "master",
                    dynamic: s.option("allow-update").is_some_and(|o| !allows_none(o))
                        || s.option("update-policy").is_some(),
                    binary: s
                        .option("masterfile-format")
                        .and_then(|o| o.arg(1))
                        .is_some_and(|f| f != "text"),
                    signed_by_named: signing(Some(s), scope.inherited.clone()),
                    declared_at: format!("{}:{}", s.file, s.line),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// How the statement `s` (options, a view or a zone) has named sign its
/// zones, given what it inherits: `inline-signing yes` or a
/// `dnssec-policy` other than `none` (BIND 9.16's `auto-dnssec maintain`
/// signs only a dynamic zone or with inline-signing).
fn signing(s: Option<&Stmt>, inherited: Option<String>) -> Option<String> {
    let Some(s) = s else {
        return inherited;
    };
    let policy = s.option("dnssec-policy").and_then(|o| o.arg(1));
    let inline = s.option("inline-signing").and_then(|o| o.arg(1));
    match (policy, inline) {
        (_, Some(v)) if is_yes(v) => Some("inline-signing".into()),
        (Some("none"), _) => None,
        (Some(p), _) => Some(format!("dnssec-policy {p}")),
        (None, _) => inherited,
    }
}

fn is_yes(v: &str) -> bool {
    ["yes", "true", "1"]
        .iter()
        .any(|y| y.eq_ignore_ascii_case(v))
}

/// `allow-update { none; };` is the same as no allow-update.
fn allows_none(s: &Stmt) -> bool {
    s.block.as_ref().is_some_and(|b| {
        b.iter()
            .all(|x| x.words.len() == 1 && x.arg(0) == Some("none"))
    })
}
