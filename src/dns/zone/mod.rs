//! BIND zones as zmreip reads them: which zones this host serves
//! (`named.conf` and the files named with `--zone-file`, [`universe`]),
//! their master files with every `$INCLUDE` ([`load`], [`parse`]), SOA
//! serials ([`serial`]) and DNSSEC signing ([`dnssec`], [`Signing`]).
//! Nothing here decides what changes: that is the `zonefile` surface's
//! job ([`crate::surface::zonefile`]).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::host::Host;

pub mod dnssec;
pub mod generate;
pub mod namedconf;
pub mod parse;
pub mod reverse;
pub mod serial;
#[cfg(test)]
pub(crate) mod tests;

use parse::{Item, Record, Tok};

/// A zone zmreip looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Absolute, lower case, with the trailing dot.
    pub name: String,
    /// Host path of the zone file.
    pub file: String,
    /// The BIND view it is in, if any.
    pub view: Option<String>,
    /// Why the file must not be edited, if so.
    pub blocked: Option<String>,
    /// How the zone's data is signed.
    pub signing: Signing,
}

/// How a zone's data is signed (DNSSEC), which decides where an edit
/// goes. A file that holds signatures is never edited, whatever this
/// says ([`dnssec::holds_signatures`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Signing {
    /// named does not sign it (its file may still be `dnssec-signzone`
    /// output, which shows when it is read).
    #[default]
    Unsigned,
    /// named signs it (`inline-signing yes`, `dnssec-policy`): the file
    /// is the unsigned source, and named signs what changes when it
    /// reloads.
    ByNamed(String),
    /// The file is `dnssec-signzone` output, signed from `source`.
    Signed { source: String },
    /// The file is the unsigned source of the signed file `signed`, which
    /// is what named serves.
    SourceOf { signed: String },
}

/// A zone file named on the command line: `PATH` or `ZONE=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFileArg {
    pub zone: Option<String>,
    /// Host path.
    pub path: String,
}

impl std::fmt::Display for ZoneFileArg {
    /// As given on the command line (it parses back to the same).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.zone {
            Some(z) => write!(f, "{z}={}", self.path),
            None => f.write_str(&self.path),
        }
    }
}

impl std::str::FromStr for ZoneFileArg {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<ZoneFileArg, String> {
        let (zone, path) = match s.split_once('=') {
            Some((z, p)) => (Some(z.trim().to_string()), p.trim()),
            None => (None, s.trim()),
        };
        if !path.starts_with('/') {
            return Err(format!(
                "`{path}` is not an absolute path (give the path on the host, e.g. /etc/bind/db.example.test)"
            ));
        }
        if zone.as_deref() == Some("") {
            return Err("the zone name before `=` is empty".into());
        }
        Ok(ZoneFileArg {
            zone,
            path: path.to_string(),
        })
    }
}

/// Every zone zmreip looks at: primary text zones from named.conf, then
/// the files named with `--zone-file`.
pub fn universe(host: &Host, extra: &[ZoneFileArg]) -> Result<Vec<Zone>> {
    let mut out: Vec<Zone> = Vec::new();
    for d in namedconf::zones(host)? {
        if !d.primary || d.binary {
            continue;
        }
        let blocked = d.dynamic.then(|| {
            format!(
                "zone {} is dynamic ({}): named owns its file and journal while it runs; update it with RFC 2136 (--dns-config), or run `rndc freeze {}` before editing and `rndc thaw` after",
                d.name.trim_end_matches('.'),
                d.declared_at,
                d.name.trim_end_matches('.')
            )
        });
        let signing = match d.signed_by_named {
            Some(how) => Signing::ByNamed(how),
            None => Signing::Unsigned,
        };
        if signing == Signing::Unsigned
            && let Some(source) = unsigned_source(host, &d.name, &d.file)?
        {
            out.push(Zone {
                name: d.name.clone(),
                file: source.clone(),
                view: d.view.clone(),
                blocked: blocked.clone(),
                signing: Signing::SourceOf {
                    signed: d.file.clone(),
                },
            });
            out.push(Zone {
                name: d.name,
                file: d.file,
                view: d.view,
                blocked,
                signing: Signing::Signed { source },
            });
            continue;
        }
        out.push(Zone {
            name: d.name,
            file: d.file,
            view: d.view,
            blocked,
            signing,
        });
    }
    for a in extra {
        if out.iter().any(|z| z.file == a.path) {
            continue;
        }
        let Some(text) = host.read(&a.path)? else {
            return Err(Error::usage(
                format!("--zone-file `{}` does not exist", a.path),
                "give the host path of a zone file (under --root)",
            ));
        };
        let name = match &a.zone {
            Some(z) => {
                let mut z = z.to_ascii_lowercase();
                if !z.ends_with('.') {
                    z.push('.');
                }
                z
            }
            None => guess_origin(&a.path, &text)?,
        };
        out.push(Zone {
            name,
            file: a.path.clone(),
            view: None,
            blocked: None,
            signing: Signing::Unsigned,
        });
    }
    // A file named by several zones is a template (db.empty): editing it
    // for one zone changes the others.
    let mut count: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for z in &out {
        count
            .entry(z.file.clone())
            .or_default()
            .push(z.name.clone());
    }
    for z in &mut out {
        let names = &count[&z.file];
        if names.len() > 1 && z.blocked.is_none() {
            z.blocked = Some(format!(
                "{} is the file of several zones ({}); edit it by hand",
                z.file,
                names.join(", ")
            ));
        }
    }
    Ok(out)
}

/// The unsigned source of the zone file `file` when it is
/// `dnssec-signzone` output named `SOURCE.signed` (the tool's default
/// name) and `SOURCE` beside it holds the same zone unsigned.
fn unsigned_source(host: &Host, zone: &str, file: &str) -> Result<Option<String>> {
    let Some(source) = file.strip_suffix(".signed") else {
        return Ok(None);
    };
    let (Some(signed_text), Some(source_text)) = (host.read(file)?, host.read(source)?) else {
        return Ok(None);
    };
    let records = |path: &str, text: &str| -> Option<Vec<Record>> {
        let mut state = parse::State {
            origin: zone.to_string(),
            ..Default::default()
        };
        let items = parse::parse(path, text, &mut state).ok()?;
        Some(
            items
                .into_iter()
                .filter_map(|i| match i {
                    Item::Record(r) => Some(*r),
                    _ => None,
                })
                .collect(),
        )
    };
    // A file that does not read as a zone is not taken for the source;
    // the signed zone's own reading says what is wrong with it.
    let (Some(signed), Some(unsigned)) =
        (records(file, &signed_text), records(source, &source_text))
    else {
        return Ok(None);
    };
    let same_zone = unsigned.iter().any(|r| r.rtype == "SOA" && r.owner == zone);
    Ok(
        (dnssec::holds_signatures(&signed) && !dnssec::holds_signatures(&unsigned) && same_zone)
            .then(|| source.to_string()),
    )
}

/// The origin of a zone file given without a zone name: its first
/// `$ORIGIN`, else an absolute SOA owner.
fn guess_origin(path: &str, text: &str) -> Result<String> {
    for e in parse::entries(path, text)? {
        let first = &e.toks[0];
        if first.raw.eq_ignore_ascii_case("$ORIGIN")
            && let Some(o) = e.toks.get(1)
            && o.raw.ends_with('.')
        {
            return Ok(o.raw.to_ascii_lowercase());
        }
        if !e.blank_owner
            && first.raw.ends_with('.')
            && e.toks.iter().any(|t| t.raw.eq_ignore_ascii_case("SOA"))
        {
            return Ok(first.raw.to_ascii_lowercase());
        }
    }
    Err(Error::usage(
        format!("cannot tell which zone `{path}` is (no $ORIGIN and no absolute SOA owner)"),
        format!("name the zone: --zone-file example.test={path}"),
    ))
}

/// A `$GENERATE` line of a zone (BIND's extension to RFC 1035 §5.1).
#[derive(Debug, Clone)]
pub struct Generate {
    /// Host path of the file it is in.
    pub file: String,
    pub line: usize,
    /// Its tokens, `$GENERATE` first.
    pub toks: Vec<Tok>,
    /// The origin in effect on the line.
    pub origin: String,
}

/// A zone's records with the texts of its files (main file first).
#[derive(Debug)]
pub struct Loaded {
    /// Every record, in file order, `$INCLUDE`d files in place.
    pub records: Vec<Record>,
    /// `$GENERATE` lines, not expanded.
    pub generates: Vec<Generate>,
    /// (host path, text) of each file read.
    pub texts: Vec<(String, String)>,
}

impl Loaded {
    /// Line `line` (1-based) of `file`, without its terminator.
    pub fn line(&self, file: &str, line: usize) -> &str {
        self.texts
            .iter()
            .find(|(f, _)| f == file)
            .and_then(|(_, t)| t.split('\n').nth(line - 1))
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or("")
    }
}

/// Reads a zone: `text` is its main file, `$INCLUDE`d files are read
/// through `host` (relative to the including file, origins as RFC 1035
/// §5.1 says).
pub fn load(host: &Host, zone: &Zone, text: &str) -> Result<Loaded> {
    let mut loaded = Loaded {
        records: Vec::new(),
        generates: Vec::new(),
        texts: Vec::new(),
    };
    let mut state = parse::State {
        origin: zone.name.clone(),
        ..Default::default()
    };
    load_file(
        host,
        &zone.file,
        text.to_string(),
        &mut state,
        &mut loaded,
        0,
    )?;
    Ok(loaded)
}

fn load_file(
    host: &Host,
    path: &str,
    text: String,
    state: &mut parse::State,
    out: &mut Loaded,
    depth: usize,
) -> Result<()> {
    if depth > 8 || out.texts.iter().any(|(f, _)| f == path) {
        return Err(Error::other(
            format!("`{path}` is $INCLUDEd in a loop"),
            "remove the $INCLUDE loop from the zone",
        ));
    }
    let items = parse::parse(path, &text, state)?;
    out.texts.push((path.to_string(), text));
    for item in items {
        match item {
            Item::Record(r) => out.records.push(*r),
            Item::Generate { line, toks, origin } => out.generates.push(Generate {
                file: path.to_string(),
                line,
                toks,
                origin,
            }),
            Item::Include { line, file, origin } => {
                let inc = if file.starts_with('/') {
                    file
                } else {
                    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                    format!("{dir}/{file}")
                };
                let Some(t) = host.read(&inc)? else {
                    return Err(Error::parse(
                        path,
                        line,
                        format!("$INCLUDE file `{inc}` does not exist"),
                    ));
                };
                // RFC 1035 §5.1: the origin returns to what it was after
                // the included file.
                let mut inner = parse::State {
                    origin,
                    ..state.clone()
                };
                load_file(host, &inc, t, &mut inner, out, depth + 1)?;
            }
        }
    }
    Ok(())
}
