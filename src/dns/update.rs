//! Authoritative DNS held elsewhere: plan and send RFC 2136 updates,
//! signed with TSIG (RFC 8945).
//!
//! # Configuration (`--dns-config FILE`, TOML)
//!
//! ```toml
//! [[zone]]
//! name = "example.test"                 # the zone (its SOA owner)
//! server = "192.0.2.53:53"              # primary server accepting updates
//! key_file = "/etc/zmreip/example.key"  # as written by `tsig-keygen`
//! # key = "ddns-key"                    # which key, if the file has several
//! # names = ["mail", "smtp"]            # names to look at besides the apex
//! #                                     # and the server's host name
//! # timeout = 5                         # seconds per question
//! ```
//!
//! A relative `key_file` is taken from the directory of the config file.
//! The secret is read from the key file only; it never appears in a plan,
//! a message or an error.
//!
//! # Planning
//!
//! For each forward zone, the apex, the server's host name (when it is in
//! the zone) and the listed names are asked for A, AAAA and TXT at the
//! zone's server. RRsets holding an old address become changes of surface
//! `dns` with target `{"zone", "name", "type"}` and the whole RRset before
//! and after, one record per value in presentation form
//! (`mail.example.test. 300 IN A 192.0.2.10`). SPF TXT records change only
//! in the `ip4:`/`ip6:` mechanism naming the old address, like zone files.
//! In reverse zones, the PTR of an old address moves to the new reverse
//! name when that name's zone is configured too (a deletion and a
//! creation), else the plan warns and leaves it.
//!
//! # Applying (for the apply stage)
//!
//! [`apply`] sends one UPDATE per change whose prerequisite is that the
//! RRset is still exactly `before` (RFC 2136 §2.4.2; "does not exist",
//! §2.4.3, when `before` is empty): if anyone changed it since planning,
//! the server refuses (NXRRSET) and nothing changes. The update then
//! replaces the RRset with `after`. [`rollback`] is the same the other way
//! round: it requires `after` and restores `before`. [`live`] reads the
//! RRset back for verification.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::udp::UdpClientStream;
use hickory_net::{DnsError, NetError};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, RecordSet, TSigner};
use serde::Deserialize;

use super::resolver::code_name;
use super::spf;
use super::zone::parse::{absolute, in_zone};
use super::{Answer, Rdata, RecordType, Resolver, Rr, fqdn, to_hickory};
use crate::addr::{Matcher, reverse_name};
use crate::error::{Error, Result};
use crate::model::{Change, Finding, Report, Target, Value};
use crate::notice::{Code, Notice};
use crate::policy::Rewriter;
use crate::surface::Mode;
use crate::surface::Surface;

/// How long a question or an update may take unless configured.
const DEFAULT_TIMEOUT: u64 = 5;

/// TSIG fudge (RFC 8945 §10: 300 seconds recommended).
const FUDGE: u16 = 300;

/// A TSIG key. The secret is never shown: `Debug` redacts it.
#[derive(Clone)]
pub struct TsigKey {
    /// Key name (absolute, lower case).
    pub name: String,
    pub algorithm: TsigAlgorithm,
    secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// One zone zmreip may update.
#[derive(Debug, Clone)]
pub struct ZoneConfig {
    /// Absolute, lower case, with the trailing dot.
    pub name: String,
    pub server: SocketAddr,
    pub key: TsigKey,
    /// Absolute names to look at besides the apex and the host name.
    pub names: Vec<String>,
    pub timeout: Duration,
}

/// The RFC 2136 section of the configuration.
#[derive(Debug, Clone, Default)]
pub struct UpdateConfig {
    pub zones: Vec<ZoneConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    zone: Vec<RawZone>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    name: String,
    server: String,
    key_file: String,
    key: Option<String>,
    #[serde(default)]
    names: Vec<String>,
    timeout: Option<u64>,
}

impl UpdateConfig {
    /// Reads the configuration and the key files it names.
    pub fn load(path: &Path) -> Result<UpdateConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        let shown = path.display().to_string();
        let raw: RawConfig = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(1);
            Error::Parse {
                path: shown.clone(),
                line,
                message: e.message().to_string(),
                help: Some(
                    "each zone is a [[zone]] table with name, server and key_file (see `zmreip plan --help`)".into(),
                ),
            }
        })?;
        if raw.zone.is_empty() {
            return Err(Error::other(
                format!("`{shown}` names no zone"),
                "add a [[zone]] table with name, server and key_file",
            ));
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut zones = Vec::new();
        for z in raw.zone {
            let name = fqdn(&z.name);
            let server = super::parse_server(&z.server)
                .map_err(|m| Error::other(format!("{shown}: zone {name}: {m}"), "fix `server`"))?;
            let key_path = dir.join(&z.key_file);
            let key = read_key(&key_path, z.key.as_deref())?;
            let names = z
                .names
                .iter()
                // Relative to the zone unless absolute; `name` is never
                // empty, so every name resolves.
                .filter_map(|n| absolute(n.trim(), &name))
                .collect();
            zones.push(ZoneConfig {
                name,
                server,
                key,
                names,
                timeout: Duration::from_secs(z.timeout.unwrap_or(DEFAULT_TIMEOUT).max(1)),
            });
        }
        Ok(UpdateConfig { zones })
    }

    /// The configured zone named `zone`.
    pub fn zone(&self, zone: &str) -> Option<&ZoneConfig> {
        let z = fqdn(zone);
        self.zones.iter().find(|c| c.name == z)
    }

    /// The most specific configured zone holding `name`.
    fn zone_for(&self, name: &str) -> Option<&ZoneConfig> {
        self.zones
            .iter()
            .filter(|z| in_zone(name, &z.name))
            .max_by_key(|z| z.name.len())
    }
}

/// Reads a BIND key file (`key "name" { algorithm hmac-sha256; secret
/// "..."; };`, as `tsig-keygen` writes it).
fn read_key(path: &Path, want: Option<&str>) -> Result<TsigKey> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let stmts = super::zone::namedconf::parse_conf(&shown, &text)?;
    let keys: Vec<_> = stmts
        .iter()
        .filter(|s| s.words.first().map(String::as_str) == Some("key") && s.block.is_some())
        .collect();
    let chosen = match want {
        Some(w) => keys
            .iter()
            .find(|k| k.words.get(1).is_some_and(|n| fqdn(n) == fqdn(w))),
        None if keys.len() == 1 => keys.first(),
        None => None,
    };
    let Some(k) = chosen else {
        let names: Vec<&str> = keys
            .iter()
            .filter_map(|k| k.words.get(1).map(String::as_str))
            .collect();
        return Err(Error::other(
            match want {
                Some(w) => format!("`{shown}` has no key `{w}` (it has: {})", names.join(", ")),
                None => format!(
                    "`{shown}` holds {} keys ({}); say which",
                    names.len(),
                    names.join(", ")
                ),
            },
            "set `key = \"NAME\"` in the [[zone]] table, or point key_file at a file with one key",
        ));
    };
    let name = k.words.get(1).cloned().unwrap_or_default();
    let block = k.block.as_deref().unwrap_or(&[]);
    let field = |f: &str| {
        block
            .iter()
            .find(|s| s.words.first().map(String::as_str) == Some(f))
            .and_then(|s| s.words.get(1))
    };
    let alg = field("algorithm").map(|a| a.to_ascii_lowercase());
    let algorithm = match alg.as_deref() {
        Some("hmac-sha256") => TsigAlgorithm::HmacSha256,
        Some("hmac-sha384") => TsigAlgorithm::HmacSha384,
        Some("hmac-sha512") => TsigAlgorithm::HmacSha512,
        other => {
            return Err(Error::parse(
                &shown,
                k.line,
                format!(
                    "key `{name}`: algorithm {} is not supported (use hmac-sha256, hmac-sha384 or hmac-sha512)",
                    other.unwrap_or("(none)")
                ),
            ));
        }
    };
    // The secret's text never goes into an error.
    let secret = field("secret")
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::parse(
                &shown,
                k.line,
                format!("key `{name}` has no valid base64 `secret`"),
            )
        })?;
    Ok(TsigKey {
        name: fqdn(&name),
        algorithm,
        secret,
    })
}

/// Plans RFC 2136 changes for every configured zone. `hostname` is the
/// server's host name, when known. In [`Mode::LowerTtl`] the RRsets that
/// would move only get their TTL lowered.
pub fn plan(
    cfg: &UpdateConfig,
    rw: &Rewriter,
    hostname: Option<&str>,
    mode: Mode,
) -> Result<Report> {
    let olds: Vec<std::net::IpAddr> = rw.pairs().iter().map(|p| p.old).collect();
    let matcher = Matcher::new(&olds);
    let mut report = Report::default();
    for z in &cfg.zones {
        let res = Resolver::new(z.server, z.timeout)?;
        if is_reverse(&z.name) {
            plan_reverse(cfg, z, &res, rw, &matcher, hostname, mode, &mut report)?;
        } else {
            plan_forward(z, &res, rw, &matcher, hostname, mode, &mut report)?;
        }
    }
    Ok(report)
}

fn is_reverse(zone: &str) -> bool {
    zone.ends_with(".in-addr.arpa.") || zone.ends_with(".ip6.arpa.")
}

/// The RRset at `name`/`rtype` on the zone's server. Records of other
/// owners (a CNAME target) are not part of it.
fn rrset(z: &ZoneConfig, res: &Resolver, name: &str, rtype: RecordType) -> Result<Vec<Rr>> {
    match res.lookup(name, rtype) {
        Answer::Records(r) => Ok(r.into_iter().filter(|r| r.name == name).collect()),
        Answer::NoData | Answer::NxDomain => Ok(Vec::new()),
        Answer::Failed(why) | Answer::Unreachable(why) => Err(Error::other(
            format!(
                "cannot read {name} {rtype} from {} (zone {}): {why}",
                z.server, z.name
            ),
            "check that the server in --dns-config answers for the zone",
        )),
    }
}

fn change(
    z: &ZoneConfig,
    name: &str,
    rtype: &str,
    before: &[Rr],
    after: &[Rr],
    reason: String,
) -> Change {
    // Servers rotate RRsets; sorted records keep plans reproducible.
    let lines = |v: &[Rr]| {
        let mut v = v.to_vec();
        v.sort();
        Value::Many(v.iter().map(ToString::to_string).collect())
    };
    Change {
        id: String::new(),
        surface: Surface::Dns,
        target: Target::Dns {
            zone: z.name.clone(),
            name: name.to_string(),
            rtype: rtype.to_string(),
        },
        before: lines(before),
        after: lines(after),
        reason,
    }
}

fn lowered(before: &[Rr], secs: u32) -> Option<Vec<Rr>> {
    if before.iter().all(|r| r.ttl <= secs) {
        return None;
    }
    Some(
        before
            .iter()
            .map(|r| Rr {
                ttl: r.ttl.min(secs),
                ..r.clone()
            })
            .collect(),
    )
}

/// One RRset change being planned.
struct Planned<'a> {
    name: &'a str,
    rtype: &'a str,
    before: &'a [Rr],
    after: Vec<Rr>,
    reason: String,
}

/// Adds a planned RRset change: in [`Mode::Move`] the new RRset, in
/// [`Mode::LowerTtl`] the old one with a lowered TTL.
fn push_change(report: &mut Report, z: &ZoneConfig, mode: Mode, p: Planned) {
    match mode {
        Mode::Move => {
            if p.after != p.before {
                report
                    .changes
                    .push(change(z, p.name, p.rtype, p.before, &p.after, p.reason));
            }
        }
        Mode::LowerTtl(secs) => {
            // Only RRsets the move will change.
            if p.after == p.before {
                return;
            }
            if let Some(l) = lowered(p.before, secs) {
                report.changes.push(change(
                    z,
                    p.name,
                    p.rtype,
                    p.before,
                    &l,
                    format!(
                        "TTL of {} {} lowered to {secs} ahead of the move",
                        p.name, p.rtype
                    ),
                ));
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_forward(
    z: &ZoneConfig,
    res: &Resolver,
    rw: &Rewriter,
    matcher: &Matcher,
    hostname: Option<&str>,
    mode: Mode,
    report: &mut Report,
) -> Result<()> {
    let mut names = vec![z.name.clone()];
    if let Some(h) = hostname.map(fqdn)
        && in_zone(&h, &z.name)
    {
        names.push(h);
    }
    names.extend(z.names.iter().cloned());
    names.dedup();
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name.clone()) {
            continue;
        }
        for rtype in [RecordType::A, RecordType::AAAA] {
            let before = rrset(z, res, &name, rtype)?;
            let mut after: Vec<Rr> = Vec::new();
            let mut reasons = Vec::new();
            for r in &before {
                let target = target_of(z, &name, &rtype.to_string());
                report
                    .findings
                    .extend(findings(matcher, &target, &r.data.to_string()));
                let moved = r
                    .data
                    .addr()
                    .and_then(|a| rw.pair_for(a))
                    .map(|p| (p.old, p.new));
                let data = match moved {
                    Some((old, new)) => {
                        reasons.push(format!("{rtype} record of {name}: {old} becomes {new}"));
                        match new {
                            std::net::IpAddr::V4(a) => Rdata::A(a),
                            std::net::IpAddr::V6(a) => Rdata::Aaaa(a),
                        }
                    }
                    None => r.data.clone(),
                };
                let rr = Rr { data, ..r.clone() };
                if !after.contains(&rr) {
                    after.push(rr);
                }
            }
            push_change(
                report,
                z,
                mode,
                Planned {
                    name: &name,
                    rtype: &rtype.to_string(),
                    before: &before,
                    after,
                    reason: reasons.join("; "),
                },
            );
        }
        let before = rrset(z, res, &name, RecordType::TXT)?;
        let target = target_of(z, &name, "TXT");
        let mut after = Vec::new();
        let mut reasons = Vec::new();
        for r in &before {
            let Rdata::Txt(strings) = &r.data else {
                after.push(r.clone());
                continue;
            };
            let text = r.data.txt_joined().unwrap_or_default();
            let place = format!("{name} TXT on {}", z.server);
            let spf = spf::plan_edits(
                &text,
                &spf::Place {
                    owner: &name,
                    shown: &place,
                    target: &target,
                    surface: Surface::Dns,
                },
                matcher,
                Some(rw),
            );
            report.findings.extend(spf.findings);
            report.warnings.extend(spf.warnings);
            if spf.edits.is_empty() {
                after.push(r.clone());
                continue;
            }
            let new = spf::edit_strings(strings, &spf.edits);
            if let Some(long) = new.iter().find(|s| s.len() > 255) {
                report.warnings.push(Notice::new(
                    Code::DnsTxtTooLong,
                    format!(
                        "the SPF record of {name} would hold a string of {} bytes after the change (at most 255); split it and plan again",
                        long.len()
                    ),
                ));
                after.push(r.clone());
                continue;
            }
            reasons.extend(spf.edits.iter().map(|(_, _, why)| why.clone()));
            after.push(Rr {
                data: Rdata::Txt(new),
                ..r.clone()
            });
        }
        push_change(
            report,
            z,
            mode,
            Planned {
                name: &name,
                rtype: "TXT",
                before: &before,
                after,
                reason: reasons.join("; "),
            },
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn plan_reverse(
    cfg: &UpdateConfig,
    z: &ZoneConfig,
    res: &Resolver,
    rw: &Rewriter,
    matcher: &Matcher,
    hostname: Option<&str>,
    mode: Mode,
    report: &mut Report,
) -> Result<()> {
    for p in rw.pairs() {
        let old_name = format!("{}.", reverse_name(p.old));
        let new_name = format!("{}.", reverse_name(p.new));
        let dest = cfg.zone_for(&new_name);
        let src = cfg.zone_for(&old_name);
        // The PTR of the old address, in this zone.
        let old_ptrs = if src.is_some_and(|s| s.name == z.name) {
            let before = rrset(z, res, &old_name, RecordType::PTR)?;
            let target = target_of(z, &old_name, "PTR");
            report
                .findings
                .extend(findings(matcher, &target, &old_name));
            if !before.is_empty() {
                match (mode, dest) {
                    (Mode::LowerTtl(_), _) | (Mode::Move, Some(_)) => push_change(
                        report,
                        z,
                        mode,
                        Planned {
                            name: &old_name,
                            rtype: "PTR",
                            before: &before,
                            after: Vec::new(),
                            reason: format!("PTR of {} moves to {new_name}", p.old),
                        },
                    ),
                    (Mode::Move, None) => report.warnings.push(Notice::new(
                        Code::DnsPtrNotServed,
                        format!(
                            "the reverse zone of {} is not in --dns-config: ask its provider for PTR {new_name} → {}; the old PTR {old_name} stays",
                            p.new,
                            before.iter().map(|r| r.data.to_string()).collect::<Vec<_>>().join(", ")
                        ),
                    )),
                }
            }
            before
        } else {
            Vec::new()
        };
        // The PTR of the new address, when this zone holds it.
        if mode != Mode::Move || dest.is_none_or(|d| d.name != z.name) {
            continue;
        }
        let targets: Vec<(String, u32)> = match src {
            Some(s) if s.name == z.name => old_ptrs.iter().map(ptr_target).collect(),
            Some(s) => {
                let r = Resolver::new(s.server, s.timeout)?;
                rrset(s, &r, &old_name, RecordType::PTR)?
                    .iter()
                    .map(ptr_target)
                    .collect()
            }
            None => hostname.map(|h| (fqdn(h), 3600)).into_iter().collect(),
        };
        let before = rrset(z, res, &new_name, RecordType::PTR)?;
        let mut after = before.clone();
        for (t, ttl) in targets {
            let data = Rdata::Ptr(t);
            if !after.iter().any(|r| r.data == data) {
                let ttl = before.first().map(|r| r.ttl).unwrap_or(ttl);
                after.push(Rr {
                    name: new_name.clone(),
                    ttl,
                    data,
                });
            }
        }
        push_change(
            report,
            z,
            mode,
            Planned {
                name: &new_name,
                rtype: "PTR",
                before: &before,
                after,
                reason: format!("PTR of the new address {}", p.new),
            },
        );
    }
    Ok(())
}

fn ptr_target(r: &Rr) -> (String, u32) {
    (r.data.to_string(), r.ttl)
}

fn target_of(z: &ZoneConfig, name: &str, rtype: &str) -> Target {
    Target::Dns {
        zone: z.name.clone(),
        name: name.to_string(),
        rtype: rtype.to_string(),
    }
}

fn findings(matcher: &Matcher, target: &Target, text: &str) -> Vec<Finding> {
    crate::surface::find(matcher, Surface::Dns, target, text)
}

/// Sends the change: requires `before`, writes `after`.
pub fn apply(cfg: &UpdateConfig, change: &Change) -> Result<()> {
    send(cfg, change, &change.before, &change.after)
}

/// Undoes an applied change: requires `after`, restores `before`.
pub fn rollback(cfg: &UpdateConfig, change: &Change) -> Result<()> {
    send(cfg, change, &change.after, &change.before)
}

/// The RRset a change targets, as the zone's server has it now.
pub fn live(cfg: &UpdateConfig, change: &Change) -> Result<Vec<Rr>> {
    let (z, name, rtype) = locate(cfg, change)?;
    let res = Resolver::new(z.server, z.timeout)?;
    rrset(z, &res, &name, rtype)
}

fn locate<'a>(
    cfg: &'a UpdateConfig,
    change: &Change,
) -> Result<(&'a ZoneConfig, String, RecordType)> {
    let Target::Dns { zone, name, rtype } = &change.target else {
        return Err(Error::other(
            format!(
                "change {} is not a DNS change (target {})",
                change.id, change.target
            ),
            "this is a bug in zmreip",
        ));
    };
    let z = cfg.zone(zone).ok_or_else(|| {
        Error::usage(
            format!(
                "change {} is for zone {zone}, which is not in --dns-config",
                change.id
            ),
            "give the same --dns-config the plan was made with",
        )
    })?;
    let rt: RecordType = rtype.parse().map_err(|_| {
        Error::other(
            format!("change {}: `{rtype}` is not a record type", change.id),
            "the plan file is damaged; plan again",
        )
    })?;
    let name = fqdn(name);
    if !in_zone(&name, &z.name) {
        return Err(Error::other(
            format!("change {}: {name} is not in zone {}", change.id, z.name),
            "the plan file is damaged; plan again",
        ));
    }
    Ok((z, name, rt))
}

fn records(change: &Change, v: &Value, name: &str, rtype: RecordType) -> Result<Vec<Rr>> {
    let lines: Vec<&str> = match v {
        Value::Many(v) => v.iter().map(String::as_str).collect(),
        Value::One(s) if s.is_empty() => Vec::new(),
        Value::One(s) => vec![s.as_str()],
    };
    let mut out = Vec::new();
    for l in lines {
        let r = Rr::parse(l)?;
        if r.name != name || r.data.type_name() != rtype.to_string() {
            return Err(Error::other(
                format!(
                    "change {}: record `{l}` is not a {rtype} record of {name}",
                    change.id
                ),
                "the plan file is damaged; plan again",
            ));
        }
        out.push(r);
    }
    Ok(out)
}

fn record_set(name: &Name, rtype: RecordType, rrs: &[Rr]) -> Result<RecordSet> {
    let mut set = RecordSet::with_ttl(name.clone(), rtype, rrs.first().map(|r| r.ttl).unwrap_or(0));
    for r in rrs {
        set.add_rdata(to_hickory(&r.data)?);
    }
    Ok(set)
}

fn send(cfg: &UpdateConfig, change: &Change, expect: &Value, want: &Value) -> Result<()> {
    let (z, name, rtype) = locate(cfg, change)?;
    let expect = records(change, expect, &name, rtype)?;
    let want = records(change, want, &name, rtype)?;
    if expect.is_empty() && want.is_empty() {
        return Ok(());
    }
    let bad_name = |e: hickory_proto::ProtoError| {
        Error::other(format!("`{name}` is not a domain name: {e}"), "plan again")
    };
    let owner = Name::from_ascii(&name).map_err(bad_name)?;
    let origin = Name::from_ascii(&z.name).map_err(bad_name)?;
    let key_name = Name::from_ascii(&z.key.name).map_err(bad_name)?;
    let signer = TSigner::new(
        z.key.secret.clone(),
        z.key.algorithm.clone(),
        key_name,
        FUDGE,
    )
    .map_err(|_| tsig_failed(z))?;
    let current = record_set(&owner, rtype, &expect)?;
    let new = record_set(&owner, rtype, &want)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::other(
                format!("cannot start the DNS client: {e}"),
                "this is a bug in zmreip",
            )
        })?;
    let result = rt.block_on(async {
        let stream = UdpClientStream::builder(z.server, TokioRuntimeProvider::default())
            .with_timeout(Some(z.timeout))
            .with_signer(Some(signer))
            .build();
        let (mut client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
        let bg = tokio::spawn(bg);
        let r = if expect.is_empty() {
            // RFC 2136 §2.4.3: the RRset must not exist yet.
            client.create(new, origin).await
        } else {
            // §2.4.2: the RRset must be exactly `expect`; then it is
            // deleted record by record and `want` is added.
            client.compare_and_swap(current, new, origin).await
        };
        bg.abort();
        r
    });
    let code = match result {
        Ok(resp) => resp.response_code,
        Err(NetError::Dns(DnsError::ResponseCode(c))) => c,
        Err(e) => return Err(net_error(z, &e)),
    };
    match code {
        ResponseCode::NoError => Ok(()),
        ResponseCode::NXRRSet | ResponseCode::YXRRSet | ResponseCode::NXDomain => {
            Err(Error::other(
                format!(
                    "{name} {rtype} on {} is no longer what the plan expects (it changed since planning); the update was refused and nothing changed",
                    z.server
                ),
                "run zmreip plan again to see the current records",
            ))
        }
        ResponseCode::NotAuth
        | ResponseCode::BADSIG
        | ResponseCode::BADKEY
        | ResponseCode::BADTIME => Err(tsig_failed(z)),
        ResponseCode::Refused => Err(Error::other(
            format!(
                "{} refused the update of zone {} (REFUSED)",
                z.server, z.name
            ),
            format!(
                "allow key {} to update the zone (allow-update or update-policy in named.conf)",
                z.key.name.trim_end_matches('.')
            ),
        )),
        ResponseCode::NotZone => Err(Error::other(
            format!("{name} is not in zone {} on {} (NOTZONE)", z.name, z.server),
            "check the zone name in --dns-config",
        )),
        other => Err(Error::other(
            format!(
                "{} answered {} to the update of {name} {rtype}",
                z.server,
                code_name(other)
            ),
            "check the server's log",
        )),
    }
}

fn tsig_failed(z: &ZoneConfig) -> Error {
    Error::other(
        format!(
            "TSIG verification failed for key {}",
            z.key.name.trim_end_matches('.')
        ),
        format!(
            "check that {} has the same key name, algorithm and secret as the server, and that both clocks agree within {FUDGE} seconds",
            "key_file"
        ),
    )
}

/// Network errors; hickory reports a server's BADSIG answer (sent with an
/// empty MAC) as a complaint about truncated HMACs, which is a TSIG
/// failure.
fn net_error(z: &ZoneConfig, e: &NetError) -> Error {
    let text = e.to_string();
    if text.contains("truncated HMAC") || text.contains("TSIG") || text.contains("tsig") {
        return tsig_failed(z);
    }
    if matches!(e, NetError::Timeout) {
        return Error::other(
            format!(
                "no answer from {} within {}s to the update of zone {}",
                z.server,
                z.timeout.as_secs(),
                z.name
            ),
            "check the server address and that it accepts updates over UDP",
        );
    }
    Error::other(
        format!(
            "the update of zone {} on {} failed: {text}",
            z.name, z.server
        ),
        "check the server and its log",
    )
}
