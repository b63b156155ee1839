//! The watch configuration: one TOML file (README "Watch" and `zmreip help
//! watch` document every key).
//!
//! Reading is two steps: serde checks the shape (unknown keys, types),
//! then [`load`] checks the meaning (addresses, URLs, files) with the
//! span of each value at hand. Every error names the file, the line and
//! the key, and is a usage error (exit status 2): nothing runs on a
//! configuration that does not read.

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::directory::ldap::{Overrides, Secret};
use crate::discover::{DirectoryArgs, SourceArgs};
use crate::dns::RecordType;
use crate::dns::update::{self, ZoneConfig};
use crate::dns::zone::ZoneFileArg;
use crate::error::{Error, Result};
use crate::services::Cmd;
use crate::surface::Extra;

use super::Family;

/// Where the state lives unless `state` says otherwise.
pub const DEFAULT_STATE: &str = "/var/lib/zmreip/watch.json";
/// Where the Zimbra hand-over writes plans unless `plan_dir` says so.
pub const DEFAULT_PLAN_DIR: &str = "/var/lib/zmreip/watch-plans";
/// The configuration read when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/zmreip/watch.toml";

const DEFAULT_INTERVAL: u64 = 300;
const DEFAULT_VERIFY_INTERVAL: u64 = 600;
const DEFAULT_METHOD_TIMEOUT: u64 = 10;
const DEFAULT_DNS_TIMEOUT: u64 = 5;
const DEFAULT_HTTP_TIMEOUT: u64 = 20;
const DEFAULT_HOOK_TIMEOUT: u64 = 60;
/// A DDNS record should expire soon after the address moves.
const DEFAULT_TTL: u32 = 60;
/// Events come in bursts (an address replaced is a delete and an add; a
/// DHCP renewal several messages): act on the state once they stop.
const DEFAULT_SETTLE: f64 = 0.2;

/// The whole configuration, checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub state: PathBuf,
    /// Between two polls of the public-address methods (jitter is added).
    pub interval: Duration,
    /// Between two checks of the published DNS; `None`: never.
    pub verify_interval: Option<Duration>,
    /// Rewrite a published record that no longer holds the address.
    pub repair: bool,
    /// Quiet time after an interface event before acting.
    pub settle: Duration,
    /// The families watched and how.
    pub watch: Vec<Watch>,
    pub rfc2136: Vec<Rfc2136>,
    pub dyndns2: Vec<Dyndns2>,
    pub zimbra: Zimbra,
    pub hooks: Hooks,
    /// Things worth saying at start (plain HTTP, ...), one line each.
    pub notes: Vec<String>,
}

/// One address family and where its address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub family: Family,
    pub source: Source,
}

/// Where an address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The global address of an interface (`None`: the interface of the
    /// default route), followed through rtnetlink events.
    Interface(Option<String>),
    /// The public address behind NAT: methods tried in order, polled.
    Public(Vec<Method>),
}

/// A way to learn the public address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    pub kind: MethodKind,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodKind {
    /// An HTTP(S) URL answering the address as text.
    Url(String),
    /// A DNS question asked of one server (`myip.opendns.com` A at
    /// 208.67.222.222, a TXT name at a provider's server).
    Dns {
        name: String,
        rtype: RecordType,
        server: SocketAddr,
    },
    /// A command printing the address.
    Command(Cmd),
}

impl std::fmt::Display for MethodKind {
    /// Short, secret-free: a URL's host only (its path or query may hold
    /// a token).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MethodKind::Url(u) => write!(f, "url {}", url_host(u)),
            MethodKind::Dns {
                name,
                rtype,
                server,
            } => write!(f, "dns {name} {rtype} at {server}"),
            MethodKind::Command(c) => write!(f, "command `{c}`"),
        }
    }
}

/// One zone updated with RFC 2136.
#[derive(Debug, Clone)]
pub struct Rfc2136 {
    pub zone: ZoneConfig,
    /// Absolute names whose A/AAAA RRsets hold the address.
    pub names: Vec<String>,
    pub ttl: u32,
}

/// One dyndns2 account and host name.
#[derive(Debug, Clone)]
pub struct Dyndns2 {
    /// The update endpoint (`https://members.dyndns.org/nic/update`).
    pub url: String,
    pub hostname: String,
    pub username: String,
    pub password: Secret,
    /// The provider's authoritative server, to check the published name.
    pub verify_server: Option<SocketAddr>,
    pub timeout: Duration,
    /// Changes when the entry or its password file changes: a provider
    /// that refused us (badauth, abuse) is asked again only then.
    pub fingerprint: String,
}

/// What to do for Zimbra when a local address moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    Plan,
    Apply,
}

/// The `[zimbra]` table.
#[derive(Debug, Clone)]
pub struct Zimbra {
    pub mode: Mode,
    pub apply_with_warnings: bool,
    /// The host (`root`, `zimbra_home`), its directory (`ldap_url`,
    /// `bind_dn`, `bind_password_file`) and the files named besides
    /// (`include`, `zone_files`), as `plan` takes them.
    pub sources: SourceArgs,
    pub services: Option<PathBuf>,
    pub plan_dir: PathBuf,
    pub outside_source: Option<IpAddr>,
}

/// The `[hooks]` table.
#[derive(Debug, Clone)]
pub struct Hooks {
    pub after_change: Vec<Cmd>,
    pub timeout: Duration,
}

// ------------------------------------------------------------ the shape

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    state: Option<Spanned<String>>,
    interval: Option<Spanned<u64>>,
    verify_interval: Option<Spanned<u64>>,
    repair: Option<bool>,
    settle: Option<Spanned<f64>>,
    ipv4: Option<Spanned<RawFamily>>,
    ipv6: Option<Spanned<RawFamily>>,
    #[serde(default)]
    dns: RawDns,
    zimbra: Option<RawZimbra>,
    hooks: Option<RawHooks>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFamily {
    interface: Option<Spanned<String>>,
    public: Option<Spanned<Vec<Spanned<RawMethod>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMethod {
    url: Option<Spanned<String>>,
    dns: Option<Spanned<String>>,
    server: Option<Spanned<String>>,
    #[serde(rename = "type")]
    rtype: Option<Spanned<String>>,
    command: Option<Spanned<Cmd>>,
    timeout: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDns {
    #[serde(default)]
    rfc2136: Vec<Spanned<RawRfc2136>>,
    #[serde(default)]
    dyndns2: Vec<Spanned<RawDyndns2>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRfc2136 {
    zone: Spanned<String>,
    server: Spanned<String>,
    key_file: Spanned<String>,
    key: Option<Spanned<String>>,
    names: Spanned<Vec<Spanned<String>>>,
    ttl: Option<Spanned<u32>>,
    timeout: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDyndns2 {
    server: Spanned<String>,
    hostname: Spanned<String>,
    username: Spanned<String>,
    password_file: Spanned<String>,
    verify_server: Option<Spanned<String>>,
    timeout: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZimbra {
    mode: Option<Spanned<String>>,
    apply_with_warnings: Option<bool>,
    root: Option<Spanned<String>>,
    zimbra_home: Option<Spanned<String>>,
    ldap_url: Option<Spanned<Vec<String>>>,
    bind_dn: Option<String>,
    bind_password_file: Option<Spanned<String>>,
    services: Option<Spanned<String>>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    zone_files: Vec<Spanned<String>>,
    plan_dir: Option<Spanned<String>>,
    outside_source: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHooks {
    #[serde(default)]
    after_change: Vec<Spanned<Cmd>>,
    timeout: Option<Spanned<u64>>,
}

// ---------------------------------------------------------- the meaning

/// Reads and checks the configuration at `path`, with the key and
/// password files it names (relative paths are taken from the file's
/// directory).
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::usage(
            format!(
                "cannot read the watch configuration `{}`: {e}",
                path.display()
            ),
            "give the file with --config (see `zmreip help watch` for its keys)",
        )
    })?;
    parse(path, &text)
}

/// Checks configuration `text` as read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Config> {
    let cx = Cx {
        file: path.display().to_string(),
        dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        text,
    };
    let raw: Raw = toml::from_str(text).map_err(|e| cx.serde_error(e))?;
    let mut notes = Vec::new();

    let state = raw
        .state
        .map(|s| cx.path_value(&s))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE));
    let interval = seconds(&cx, "interval", raw.interval.as_ref(), DEFAULT_INTERVAL, 1)?;
    let verify_interval = match raw.verify_interval {
        Some(v) if *v.get_ref() == 0 => None,
        v => Some(seconds(
            &cx,
            "verify_interval",
            v.as_ref(),
            DEFAULT_VERIFY_INTERVAL,
            1,
        )?),
    };
    let settle = match raw.settle {
        None => Duration::from_secs_f64(DEFAULT_SETTLE),
        Some(s) if (0.0..=10.0).contains(s.get_ref()) => Duration::from_secs_f64(*s.get_ref()),
        Some(s) => {
            return Err(cx.error(
                "settle",
                s.span(),
                "must be between 0 and 10 seconds",
                "write e.g. `settle = 0.2`",
            ));
        }
    };

    let mut watch = Vec::new();
    for (family, raw_family) in [(Family::V4, raw.ipv4), (Family::V6, raw.ipv6)] {
        if let Some(f) = raw_family {
            watch.push(watch_family(&cx, family, f, &mut notes)?);
        }
    }
    if watch.is_empty() {
        return Err(cx.error(
            "ipv4",
            0..0,
            "no address family is watched",
            "add an [ipv4] or [ipv6] table (an empty one follows the interface of the default route)",
        ));
    }

    let mut rfc2136 = Vec::new();
    for (i, z) in raw.dns.rfc2136.into_iter().enumerate() {
        rfc2136.push(zone(&cx, i, z.into_inner())?);
    }
    let mut dyndns2 = Vec::new();
    for (i, d) in raw.dns.dyndns2.into_iter().enumerate() {
        dyndns2.push(provider(&cx, i, d, &mut notes)?);
    }
    let asks_a_service = watch.iter().any(|w| match &w.source {
        Source::Public(m) => m.iter().any(|m| !matches!(m.kind, MethodKind::Command(_))),
        Source::Interface(_) => false,
    });
    if asks_a_service && interval < Duration::from_secs(60) {
        notes.push(format!(
            "interval = {}: public address services expect a minute or more between polls",
            interval.as_secs()
        ));
    }
    let zimbra = zimbra(&cx, raw.zimbra)?;
    if zimbra.mode != Mode::Off
        && !watch
            .iter()
            .any(|w| matches!(w.source, Source::Interface(_)))
    {
        notes.push(
            "zimbra: no family follows an interface, so Zimbra is never re-addressed (behind NAT its own address does not change)".into(),
        );
    }
    let hooks = match raw.hooks {
        None => Hooks {
            after_change: Vec::new(),
            timeout: Duration::from_secs(DEFAULT_HOOK_TIMEOUT),
        },
        Some(h) => {
            let mut after_change = Vec::new();
            for (i, c) in h.after_change.into_iter().enumerate() {
                after_change.push(command(&cx, &format!("hooks.after_change[{i}]"), c)?);
            }
            Hooks {
                after_change,
                timeout: seconds(
                    &cx,
                    "hooks.timeout",
                    h.timeout.as_ref(),
                    DEFAULT_HOOK_TIMEOUT,
                    1,
                )?,
            }
        }
    };
    Ok(Config {
        path: path.to_path_buf(),
        state,
        interval,
        verify_interval,
        repair: raw.repair.unwrap_or(true),
        settle,
        watch,
        rfc2136,
        dyndns2,
        zimbra,
        hooks,
        notes,
    })
}

/// What errors need: the file, its directory and text.
struct Cx<'a> {
    file: String,
    dir: PathBuf,
    text: &'a str,
}

impl Cx<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text[..end].matches('\n').count() + 1
    }

    /// `FILE:LINE: key `KEY`: WHAT` and the advice, as a usage error.
    fn error(&self, key: &str, span: Range<usize>, what: &str, help: &str) -> Error {
        Error::usage(
            format!("{}:{}: key `{key}`: {what}", self.file, self.line(&span)),
            help,
        )
    }

    /// A serde error: its span gives the line; its key path (shown by
    /// toml when the error carries no input) gives the key.
    fn serde_error(&self, mut e: toml::de::Error) -> Error {
        let span = e.span().unwrap_or(0..0);
        e.set_input(None);
        let shown = e.to_string();
        let mut lines = shown.lines();
        let message = lines.next().unwrap_or("does not read").to_string();
        let path = lines.find_map(|l| l.strip_prefix("in `").and_then(|k| k.strip_suffix('`')));
        // "unknown field `x`": the key at fault is x, inside the path.
        let unknown = message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next());
        let key = match (path, unknown) {
            (Some(p), Some(u)) => format!("{p}.{u}"),
            (None, Some(u)) => u.to_string(),
            (Some(p), None) => p.to_string(),
            (None, None) => key_at(self.text, &span).unwrap_or_else(|| "(top level)".into()),
        };
        self.error(
            &key,
            span,
            &message,
            "fix the key (every key is listed in `zmreip help watch`)",
        )
    }

    /// A path from the file: relative paths are taken from its directory.
    fn path_value(&self, s: &Spanned<String>) -> PathBuf {
        self.dir.join(s.get_ref())
    }
}

/// The key written at the start of the line holding `span`, when the
/// line has the form `key = value`.
fn key_at(text: &str, span: &Range<usize>) -> Option<String> {
    let start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

fn seconds(
    cx: &Cx,
    key: &str,
    v: Option<&Spanned<u64>>,
    default: u64,
    min: u64,
) -> Result<Duration> {
    match v {
        None => Ok(Duration::from_secs(default)),
        Some(s) if *s.get_ref() >= min && *s.get_ref() <= 86_400 * 7 => {
            Ok(Duration::from_secs(*s.get_ref()))
        }
        Some(s) => Err(cx.error(
            key,
            s.span(),
            &format!("{} seconds is out of range ({min} to 604800)", s.get_ref()),
            &format!("give a number of seconds, e.g. `{key} = {default}`"),
        )),
    }
}

fn watch_family(
    cx: &Cx,
    family: Family,
    raw: Spanned<RawFamily>,
    notes: &mut Vec<String>,
) -> Result<Watch> {
    let raw = raw.into_inner();
    let key = family.to_string();
    let source = match (raw.interface, raw.public) {
        (Some(_), Some(p)) => {
            return Err(cx.error(
                &format!("{key}.public"),
                p.span(),
                "an address family follows either an interface or public methods, not both",
                &format!("keep `{key}.interface` for the address of an interface, or `{key}.public` for the address seen from outside (behind NAT)"),
            ));
        }
        (Some(i), None) => {
            let name = i.get_ref().trim();
            if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
                return Err(cx.error(
                    &format!("{key}.interface"),
                    i.span(),
                    &format!("`{name}` is not an interface name"),
                    "give the name `ip link` shows (at most 15 characters), or leave the key out for the interface of the default route",
                ));
            }
            Source::Interface(Some(name.to_string()))
        }
        (None, Some(p)) => {
            let p_span = p.span();
            let list = p.into_inner();
            if list.is_empty() {
                return Err(cx.error(
                    &format!("{key}.public"),
                    p_span,
                    "the list of methods is empty",
                    "give at least one method, e.g. `public = [{ url = \"https://api.ipify.org\" }]`",
                ));
            }
            let mut methods = Vec::new();
            for (i, m) in list.into_iter().enumerate() {
                methods.push(method(cx, family, &format!("{key}.public[{i}]"), m, notes)?);
            }
            Source::Public(methods)
        }
        (None, None) => Source::Interface(None),
    };
    Ok(Watch { family, source })
}

fn method(
    cx: &Cx,
    family: Family,
    key: &str,
    raw: Spanned<RawMethod>,
    notes: &mut Vec<String>,
) -> Result<Method> {
    let span = raw.span();
    let m = raw.into_inner();
    let timeout = seconds(
        cx,
        &format!("{key}.timeout"),
        m.timeout.as_ref(),
        DEFAULT_METHOD_TIMEOUT,
        1,
    )?;
    let given = [m.url.is_some(), m.dns.is_some(), m.command.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if given != 1 {
        return Err(cx.error(
            key,
            span,
            "a method is exactly one of `url`, `dns` or `command`",
            "write e.g. { url = \"https://api.ipify.org\" }, { dns = \"myip.opendns.com\", server = \"208.67.222.222\" } or { command = [\"/usr/local/bin/wan-ip\"] }",
        ));
    }
    let dns_only = [("server", m.server.as_ref()), ("type", m.rtype.as_ref())];
    if m.dns.is_none()
        && let Some((k, Some(v))) = dns_only.iter().find(|(_, v)| v.is_some())
    {
        return Err(cx.error(
            &format!("{key}.{k}"),
            v.span(),
            &format!("`{k}` belongs to a `dns` method"),
            "remove it, or make this a dns method",
        ));
    }
    let kind = if let Some(u) = m.url {
        let url = http_url(cx, &format!("{key}.url"), &u)?;
        if url.starts_with("http://") {
            notes.push(format!(
                "{key}: {} is asked over plain HTTP (as configured): anyone on the path could answer a wrong address",
                url_host(&url)
            ));
        }
        MethodKind::Url(url)
    } else if let Some(name) = m.dns {
        let server = m.server.ok_or_else(|| {
            cx.error(
                &format!("{key}.server"),
                name.span(),
                "a dns method needs the server to ask",
                "add `server = \"IP[:PORT]\"` (e.g. 208.67.222.222 for myip.opendns.com)",
            )
        })?;
        let server_addr = crate::dns::parse_server(server.get_ref()).map_err(|m| {
            cx.error(
                &format!("{key}.server"),
                server.span(),
                &m,
                "give IP or IP:PORT",
            )
        })?;
        let rtype = match m.rtype.as_ref().map(|t| t.get_ref().to_ascii_uppercase()) {
            None => family.record_type(),
            Some(t) if t == "TXT" => RecordType::TXT,
            Some(t) if t == family.record_type().to_string() => family.record_type(),
            Some(_) => {
                let t = m.rtype.as_ref().expect("matched Some");
                return Err(cx.error(
                    &format!("{key}.type"),
                    t.span(),
                    &format!("`{}` cannot answer an {family} address", t.get_ref()),
                    &format!(
                        "use \"{}\" or \"TXT\" (the default is {})",
                        family.record_type(),
                        family.record_type()
                    ),
                ));
            }
        };
        MethodKind::Dns {
            name: crate::dns::fqdn(name.get_ref()),
            rtype,
            server: server_addr,
        }
    } else {
        let c = m.command.expect("exactly one method key is given");
        MethodKind::Command(command(cx, &format!("{key}.command"), c)?)
    };
    Ok(Method { kind, timeout })
}

fn command(cx: &Cx, key: &str, c: Spanned<Cmd>) -> Result<Cmd> {
    let empty = match c.get_ref() {
        Cmd::Shell(s) => s.trim().is_empty(),
        Cmd::Argv(v) => v.first().is_none_or(String::is_empty),
    };
    if empty {
        return Err(cx.error(
            key,
            c.span(),
            "the command is empty",
            "give a shell line (\"...\") or an argument list ([\"/path/to/program\", \"arg\"])",
        ));
    }
    Ok(c.into_inner())
}

/// An `http://` or `https://` URL without a query: anything else is an
/// error naming `key`.
fn http_url(cx: &Cx, key: &str, u: &Spanned<String>) -> Result<String> {
    let url = u.get_ref().trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) => {
            Ok(url.to_string())
        }
        _ => Err(cx.error(
            key,
            u.span(),
            &format!("`{url}` is not an http:// or https:// URL"),
            "write the whole URL, e.g. \"https://api.ipify.org\"",
        )),
    }
}

/// The host (and port) of a URL, for messages.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let hostport = &rest[..end];
    // Credentials in a URL (user:pass@host) are never shown.
    hostport.rsplit('@').next().unwrap_or(hostport)
}

fn zone(cx: &Cx, i: usize, z: RawRfc2136) -> Result<Rfc2136> {
    let key = format!("dns.rfc2136[{i}]");
    let zone_name = crate::dns::fqdn(z.zone.get_ref());
    if zone_name == "." || zone_name.contains(' ') {
        return Err(cx.error(
            &format!("{key}.zone"),
            z.zone.span(),
            &format!("`{}` is not a zone name", z.zone.get_ref()),
            "give the zone (its SOA owner), e.g. \"example.com\"",
        ));
    }
    let server = crate::dns::parse_server(z.server.get_ref()).map_err(|m| {
        cx.error(
            &format!("{key}.server"),
            z.server.span(),
            &m,
            "give IP or IP:PORT of the primary server",
        )
    })?;
    let key_path = cx.path_value(&z.key_file);
    let tsig =
        update::read_key(&key_path, z.key.as_ref().map(|k| k.get_ref().as_str())).map_err(|e| {
            cx.error(
                &format!("{key}.key_file"),
                z.key_file.span(),
                &e.to_string(),
                e.help()
                    .unwrap_or("give a key file as written by `tsig-keygen`"),
            )
        })?;
    let names_span = z.names.span();
    let mut names = Vec::new();
    for n in z.names.into_inner() {
        let raw = n.get_ref().trim().to_ascii_lowercase();
        let abs = if raw == "@" {
            zone_name.clone()
        } else if raw.ends_with('.') {
            raw.clone()
        } else {
            format!("{raw}.{zone_name}")
        };
        let inside = abs == zone_name || abs.ends_with(&format!(".{zone_name}"));
        if raw.is_empty() || raw.contains(' ') || !inside {
            return Err(cx.error(
                &format!("{key}.names"),
                n.span(),
                &format!("`{}` is not a name in zone {zone_name}", n.get_ref()),
                "give names relative to the zone (\"mail\", \"@\") or absolute inside it",
            ));
        }
        if !names.contains(&abs) {
            names.push(abs);
        }
    }
    if names.is_empty() {
        return Err(cx.error(
            &format!("{key}.names"),
            names_span,
            "no name to update",
            "list the names whose A/AAAA records hold the address, e.g. names = [\"mail\"]",
        ));
    }
    let ttl = match z.ttl {
        None => DEFAULT_TTL,
        Some(t) if (1..=86_400).contains(t.get_ref()) => *t.get_ref(),
        Some(t) => {
            return Err(cx.error(
                &format!("{key}.ttl"),
                t.span(),
                "must be between 1 and 86400 seconds",
                "a dynamic address wants a short TTL, e.g. ttl = 60",
            ));
        }
    };
    let timeout = seconds(
        cx,
        &format!("{key}.timeout"),
        z.timeout.as_ref(),
        DEFAULT_DNS_TIMEOUT,
        1,
    )?;
    Ok(Rfc2136 {
        zone: ZoneConfig {
            name: zone_name,
            server,
            key: tsig,
            names: Vec::new(),
            timeout,
        },
        names,
        ttl,
    })
}

fn provider(
    cx: &Cx,
    i: usize,
    raw: Spanned<RawDyndns2>,
    notes: &mut Vec<String>,
) -> Result<Dyndns2> {
    let key = format!("dns.dyndns2[{i}]");
    let d = raw.into_inner();
    let server = d.server.get_ref().trim();
    let url = if server.contains("://") {
        http_url(cx, &format!("{key}.server"), &d.server)?
    } else if !server.is_empty() && !server.contains(['/', ' ', '?']) {
        format!("https://{server}/nic/update")
    } else {
        return Err(cx.error(
            &format!("{key}.server"),
            d.server.span(),
            &format!("`{server}` is neither a host name nor a URL"),
            "give the provider's update host (\"members.dyndns.org\") or its whole update URL",
        ));
    };
    if url.contains('?') {
        return Err(cx.error(
            &format!("{key}.server"),
            d.server.span(),
            "the URL holds a query; zmreip adds hostname and myip itself",
            "give the URL up to the path, e.g. \"https://nic.changeip.com/nic/update\"",
        ));
    }
    if url.starts_with("http://") {
        notes.push(format!(
            "{key}: {} is updated over plain HTTP (as configured): the password travels in clear",
            url_host(&url)
        ));
    }
    let hostname = d
        .hostname
        .get_ref()
        .trim()
        .trim_end_matches('.')
        .to_string();
    if hostname.is_empty() || !hostname.contains('.') || hostname.contains([' ', ',', '/']) {
        return Err(cx.error(
            &format!("{key}.hostname"),
            d.hostname.span(),
            &format!(
                "`{}` is not a fully qualified host name",
                d.hostname.get_ref()
            ),
            "give the name as the provider knows it, e.g. \"mail.example.com\"",
        ));
    }
    let username = d.username.get_ref().to_string();
    if username.is_empty() || username.contains(':') {
        return Err(cx.error(
            &format!("{key}.username"),
            d.username.span(),
            "the user name is empty or holds `:`",
            "give the account's user name",
        ));
    }
    let pw_path = cx.path_value(&d.password_file);
    let pw_key = format!("{key}.password_file");
    let (password, mtime) = read_password(&pw_path).map_err(|what| {
        cx.error(
            &pw_key,
            d.password_file.span(),
            &what,
            "put the password alone on the first line of a file readable only by root (chmod 600)",
        )
    })?;
    let verify_server = match &d.verify_server {
        None => None,
        Some(v) => Some(crate::dns::parse_server(v.get_ref()).map_err(|m| {
            cx.error(
                &format!("{key}.verify_server"),
                v.span(),
                &m,
                "give the IP[:PORT] of a server authoritative for the host name",
            )
        })?),
    };
    let timeout = seconds(
        cx,
        &format!("{key}.timeout"),
        d.timeout.as_ref(),
        DEFAULT_HTTP_TIMEOUT,
        1,
    )?;
    let mut h = Sha256::new();
    for part in [
        &url,
        &hostname,
        &username,
        &pw_path.display().to_string(),
        &format!("{verify_server:?} {mtime}"),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let fingerprint: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Dyndns2 {
        url,
        hostname,
        username,
        password,
        verify_server,
        timeout,
        fingerprint,
    })
}

/// The first line of a password file, and the file's modification time
/// (nanoseconds) so that a new password counts as a changed
/// configuration. The password never enters an error.
fn read_password(path: &Path) -> std::result::Result<(Secret, i128), String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    if !meta.is_file() {
        return Err(format!("`{shown}` is not a regular file"));
    }
    if meta.len() > 4096 {
        return Err(format!("`{shown}` is too large to hold a password"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let pw = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if pw.is_empty() {
        return Err(format!(
            "`{shown}` is empty (the password is its first line)"
        ));
    }
    let mtime = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
    Ok((Secret::new(pw), mtime))
}

fn zimbra(cx: &Cx, raw: Option<RawZimbra>) -> Result<Zimbra> {
    let Some(z) = raw else {
        return Ok(Zimbra {
            mode: Mode::Off,
            apply_with_warnings: false,
            sources: SourceArgs::new("/"),
            services: None,
            plan_dir: PathBuf::from(DEFAULT_PLAN_DIR),
            outside_source: None,
        });
    };
    let mode = match z.mode.as_ref().map(|m| m.get_ref().as_str()) {
        None | Some("off") => Mode::Off,
        Some("plan") => Mode::Plan,
        Some("apply") => Mode::Apply,
        Some(other) => {
            let m = z.mode.as_ref().expect("matched Some");
            return Err(cx.error(
                "zimbra.mode",
                m.span(),
                &format!("`{other}` is not a mode"),
                "use \"apply\" (plan and apply), \"plan\" (write the plan only) or \"off\"",
            ));
        }
    };
    let abs = |key: &str, v: &Spanned<String>| -> Result<String> {
        if v.get_ref().starts_with('/') {
            Ok(v.get_ref().trim_end_matches('/').to_string())
        } else {
            Err(cx.error(
                key,
                v.span(),
                &format!("`{}` is not an absolute path", v.get_ref()),
                "give the path on the host, e.g. /opt/zimbra",
            ))
        }
    };
    let zimbra_home = z
        .zimbra_home
        .as_ref()
        .map(|h| abs("zimbra.zimbra_home", h))
        .transpose()?;
    let mut zone_files = Vec::new();
    for f in &z.zone_files {
        zone_files.push(f.get_ref().parse::<ZoneFileArg>().map_err(|m| {
            cx.error(
                "zimbra.zone_files",
                f.span(),
                &m,
                "give [ZONE=]PATH with a host path",
            )
        })?);
    }
    let outside_source = match &z.outside_source {
        None => None,
        Some(o) => Some(o.get_ref().parse::<IpAddr>().map_err(|_| {
            cx.error(
                "zimbra.outside_source",
                o.span(),
                &format!("`{}` is not an IP address", o.get_ref()),
                "give an address of this host outside mynetworks (or leave the key out)",
            )
        })?),
    };
    let ldap_urls = z
        .ldap_url
        .as_ref()
        .map(|u| u.get_ref().clone())
        .unwrap_or_default();
    if let Some(u) = &z.ldap_url
        && let Some(bad) = u.get_ref().iter().find(|s| {
            !["ldap://", "ldaps://", "ldapi://"]
                .iter()
                .any(|p| s.starts_with(p))
        })
    {
        return Err(cx.error(
            "zimbra.ldap_url",
            u.span(),
            &format!("`{bad}` is not an ldap://, ldaps:// or ldapi:// URL"),
            "give the directory's URLs as a list, e.g. [\"ldapi://%2Fopt%2Fzimbra%2Fdata%2Fldap%2Fstate%2Frun%2Fldapi\"]",
        ));
    }
    let root = z
        .root
        .as_ref()
        .map(|r| cx.path_value(r))
        .unwrap_or_else(|| PathBuf::from("/"));
    if !root.is_dir() {
        return Err(cx.error(
            "zimbra.root",
            z.root.as_ref().map_or(0..0, Spanned::span),
            &format!("`{}` is not a directory", root.display()),
            "give the directory holding the host's files (`/` for this host)",
        ));
    }
    let existing = |key: &str, v: &Spanned<String>| -> Result<PathBuf> {
        let p = cx.path_value(v);
        if p.is_file() {
            Ok(p)
        } else {
            Err(cx.error(
                key,
                v.span(),
                &format!("`{}` is not a readable file", p.display()),
                "give an existing file (relative paths are taken from the configuration's directory)",
            ))
        }
    };
    let password_file = z
        .bind_password_file
        .as_ref()
        .map(|p| existing("zimbra.bind_password_file", p))
        .transpose()?;
    Ok(Zimbra {
        mode,
        apply_with_warnings: z.apply_with_warnings.unwrap_or(false),
        sources: SourceArgs {
            root,
            zimbra_home,
            directory: DirectoryArgs {
                ldif: None,
                ldap: Overrides {
                    urls: ldap_urls,
                    bind_dn: z.bind_dn.clone(),
                    password_file,
                    deep: false,
                },
                none: false,
            },
            extra: Extra {
                include: z.include.clone(),
                zone_files,
            },
            dns_config: None,
        },
        services: z
            .services
            .as_ref()
            .map(|p| existing("zimbra.services", p))
            .transpose()?,
        plan_dir: z
            .plan_dir
            .as_ref()
            .map(|p| cx.path_value(p))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PLAN_DIR)),
        outside_source,
    })
}

#[cfg(test)]
mod tests;
