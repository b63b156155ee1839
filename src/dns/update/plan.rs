//! Planning RFC 2136 updates: the RRsets of each configured zone that hold
//! an old address, read from its server, become changes of surface `dns`.

use super::{UpdateConfig, ZoneConfig};

use crate::addr::{Matcher, reverse_name};
use crate::dns::spf;
use crate::dns::zone::parse::in_zone;
use crate::dns::{Answer, Rdata, RecordType, Resolver, Rr, fqdn};
use crate::error::{Error, Result};
use crate::model::{Change, Finding, Report, Target, Value};
use crate::notice::{Code, Notice};
use crate::policy::Rewriter;
use crate::spec::Pair;
use crate::surface::Mode;
use crate::surface::Surface;

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
        let zp = ZonePlan {
            cfg,
            z,
            res: Resolver::new(z.server, z.timeout)?,
            rw,
            matcher: &matcher,
            hostname,
            mode,
        };
        if is_reverse(&z.name) {
            zp.reverse(&mut report)?;
        } else {
            zp.forward(&mut report)?;
        }
    }
    Ok(report)
}

fn is_reverse(zone: &str) -> bool {
    zone.ends_with(".in-addr.arpa.") || zone.ends_with(".ip6.arpa.")
}

/// The RRset at `name`/`rtype` on the zone's server. Records of other
/// owners (a CNAME target) are not part of it.
pub(super) fn rrset(
    z: &ZoneConfig,
    res: &Resolver,
    name: &str,
    rtype: RecordType,
) -> Result<Vec<Rr>> {
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

/// One zone being planned: its configuration and server, the move, and
/// what the plan is for.
struct ZonePlan<'a> {
    cfg: &'a UpdateConfig,
    z: &'a ZoneConfig,
    res: Resolver,
    rw: &'a Rewriter,
    matcher: &'a Matcher,
    hostname: Option<&'a str>,
    mode: Mode,
}

impl ZonePlan<'_> {
    /// The RRset `name`/`rtype` the zone's server holds now.
    fn rrset(&self, name: &str, rtype: RecordType) -> Result<Vec<Rr>> {
        rrset(self.z, &self.res, name, rtype)
    }

    fn push(&self, report: &mut Report, p: Planned) {
        push_change(report, self.z, self.mode, p);
    }

    /// A forward zone: the apex, the server's host name (when it is in
    /// the zone) and the configured names, for A, AAAA and SPF TXT.
    fn forward(&self, report: &mut Report) -> Result<()> {
        let z = self.z;
        let mut names = vec![z.name.clone()];
        if let Some(h) = self.hostname.map(fqdn)
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
                self.addresses(&name, rtype, report)?;
            }
            self.txt(&name, report)?;
        }
        Ok(())
    }

    /// The A or AAAA RRset of `name`: old addresses become new ones.
    fn addresses(&self, name: &str, rtype: RecordType, report: &mut Report) -> Result<()> {
        let before = self.rrset(name, rtype)?;
        let target = target_of(self.z, name, &rtype.to_string());
        let mut after: Vec<Rr> = Vec::new();
        let mut reasons = Vec::new();
        for r in &before {
            report
                .findings
                .extend(findings(self.matcher, &target, &r.data.to_string()));
            let moved = r
                .data
                .addr()
                .and_then(|a| self.rw.pair_for(a))
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
        self.push(
            report,
            Planned {
                name,
                rtype: &rtype.to_string(),
                before: &before,
                after,
                reason: reasons.join("; "),
            },
        );
        Ok(())
    }

    /// The TXT RRset of `name`: SPF mechanisms naming an old address move
    /// as in zone files ([`spf::plan_edits`]).
    fn txt(&self, name: &str, report: &mut Report) -> Result<()> {
        let before = self.rrset(name, RecordType::TXT)?;
        let target = target_of(self.z, name, "TXT");
        let place = format!("{name} TXT on {}", self.z.server);
        let mut after = Vec::new();
        let mut reasons = Vec::new();
        for r in &before {
            let Rdata::Txt(strings) = &r.data else {
                after.push(r.clone());
                continue;
            };
            let text = r.data.txt_joined().unwrap_or_default();
            let spf = spf::plan_edits(
                &text,
                &spf::Place {
                    owner: name,
                    shown: &place,
                    target: &target,
                    surface: Surface::Dns,
                },
                self.matcher,
                Some(self.rw),
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
        self.push(
            report,
            Planned {
                name,
                rtype: "TXT",
                before: &before,
                after,
                reason: reasons.join("; "),
            },
        );
        Ok(())
    }

    /// A reverse zone: the PTR of each old address it holds moves to the
    /// new reverse name (a deletion here, a creation where that name's
    /// zone is configured), else the plan warns and leaves it.
    fn reverse(&self, report: &mut Report) -> Result<()> {
        for p in self.rw.pairs() {
            let old_ptrs = self.old_ptr(p, report)?;
            self.new_ptr(p, &old_ptrs, report)?;
        }
        Ok(())
    }

    /// The PTR of the old address, when this zone holds it: deleted when
    /// the new reverse name's zone is configured (or its TTL lowered).
    fn old_ptr(&self, p: &Pair, report: &mut Report) -> Result<Vec<Rr>> {
        let (z, mode) = (self.z, self.mode);
        let old_name = format!("{}.", reverse_name(p.old));
        let new_name = format!("{}.", reverse_name(p.new));
        if self
            .cfg
            .zone_for(&old_name)
            .is_none_or(|s| s.name != z.name)
        {
            return Ok(Vec::new());
        }
        let before = self.rrset(&old_name, RecordType::PTR)?;
        let target = target_of(z, &old_name, "PTR");
        report
            .findings
            .extend(findings(self.matcher, &target, &old_name));
        if before.is_empty() {
            return Ok(before);
        }
        match (mode, self.cfg.zone_for(&new_name)) {
            (Mode::LowerTtl(_), _) | (Mode::Move, Some(_)) => self.push(
                report,
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
        Ok(before)
    }

    /// The PTR of the new address, when this zone holds its name: it
    /// names what the old PTR named (read from the old address's zone,
    /// or `old_ptrs` when that is this one), else the server's host name.
    fn new_ptr(&self, p: &Pair, old_ptrs: &[Rr], report: &mut Report) -> Result<()> {
        let z = self.z;
        let old_name = format!("{}.", reverse_name(p.old));
        let new_name = format!("{}.", reverse_name(p.new));
        let dest = self.cfg.zone_for(&new_name);
        if self.mode != Mode::Move || dest.is_none_or(|d| d.name != z.name) {
            return Ok(());
        }
        let targets: Vec<(String, u32)> = match self.cfg.zone_for(&old_name) {
            Some(s) if s.name == z.name => old_ptrs.iter().map(ptr_target).collect(),
            Some(s) => {
                let r = Resolver::new(s.server, s.timeout)?;
                rrset(s, &r, &old_name, RecordType::PTR)?
                    .iter()
                    .map(ptr_target)
                    .collect()
            }
            None => self.hostname.map(|h| (fqdn(h), 3600)).into_iter().collect(),
        };
        let before = self.rrset(&new_name, RecordType::PTR)?;
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
        self.push(
            report,
            Planned {
                name: &new_name,
                rtype: "PTR",
                before: &before,
                after,
                reason: format!("PTR of the new address {}", p.new),
            },
        );
        Ok(())
    }
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
