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

use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::udp::UdpClientStream;
use hickory_net::{DnsError, NetError};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordSet, TSigner};

use super::resolver::code_name;
use super::zone::parse::in_zone;
use super::{RecordType, Resolver, Rr, fqdn, to_hickory};
use crate::error::{Error, Result};
use crate::model::{Change, Target, Value};

mod config;
mod plan;

pub use config::{TsigKey, UpdateConfig, ZoneConfig, read_key};
pub use plan::plan;
use plan::rrset;

/// TSIG fudge (RFC 8945 §10: 300 seconds recommended).
const FUDGE: u16 = 300;

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
    read_rrset(z, &name, rtype)
}

/// The RRset `name`/`rtype` (`name` absolute) as the zone's server has it
/// now.
pub fn read_rrset(z: &ZoneConfig, name: &str, rtype: RecordType) -> Result<Vec<Rr>> {
    let res = Resolver::new(z.server, z.timeout)?;
    rrset(z, &res, name, rtype)
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
    match replace_rrset(z, &name, rtype, &expect, &want)? {
        Replaced::Done => Ok(()),
        Replaced::Drifted => Err(Error::other(
            format!(
                "{name} {rtype} on {} is no longer what the plan expects (it changed since planning); the update was refused and nothing changed",
                z.server
            ),
            "run zmreip plan again to see the current records",
        )),
    }
}

/// What [`replace_rrset`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// The server replaced the RRset.
    Done,
    /// The RRset was no longer `expect`: the server refused the update
    /// (RFC 2136 prerequisite) and nothing changed.
    Drifted,
}

/// Sends one UPDATE to the zone's primary, signed with its key: if the
/// RRset `name`/`rtype` (absolute name) is exactly `expect` (RFC 2136
/// §2.4.2; "does not exist", §2.4.3, when `expect` is empty), it becomes
/// `want`. Every other refusal or failure is an error. Used by `apply`
/// (through a plan's change) and by `zmreip watch` (the RRset it wrote
/// last).
pub fn replace_rrset(
    z: &ZoneConfig,
    name: &str,
    rtype: RecordType,
    expect: &[Rr],
    want: &[Rr],
) -> Result<Replaced> {
    if expect.is_empty() && want.is_empty() {
        return Ok(Replaced::Done);
    }
    let bad_name = |e: hickory_proto::ProtoError| {
        Error::other(format!("`{name}` is not a domain name: {e}"), "plan again")
    };
    let owner = Name::from_ascii(name).map_err(bad_name)?;
    let origin = Name::from_ascii(&z.name).map_err(bad_name)?;
    let key_name = Name::from_ascii(&z.key.name).map_err(bad_name)?;
    let signer = TSigner::new(
        z.key.secret.clone(),
        z.key.algorithm.clone(),
        key_name,
        FUDGE,
    )
    .map_err(|_| tsig_failed(z))?;
    let current = record_set(&owner, rtype, expect)?;
    let new = record_set(&owner, rtype, want)?;
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
        ResponseCode::NoError => Ok(Replaced::Done),
        ResponseCode::NXRRSet | ResponseCode::YXRRSet | ResponseCode::NXDomain => {
            Ok(Replaced::Drifted)
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
