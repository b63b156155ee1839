//! RFC 2136 targets: one A or AAAA RRset of a name, updated through
//! [`crate::dns::update`] (TSIG-signed) with the prerequisite that the
//! RRset is still the one zmreip wrote last. If someone changed it since,
//! the server refuses, nothing changes, and the difference is logged; it
//! is then replaced only when `repair = true`, naming what was there.

use std::net::IpAddr;

use super::config::Rfc2136;
use super::state::Record;
use super::target::{Job, Outcome, Updater, Verdict};
use super::{Addrs, Family, Seen, log};
use crate::dns::update::{self, Replaced, ZoneConfig};
use crate::dns::{Rdata, Rr};

/// One name's RRset of one family.
pub struct RrsetTarget {
    zone: ZoneConfig,
    name: String,
    family: Family,
    ttl: u32,
    repair: bool,
}

/// The targets of a `[[dns.rfc2136]]` table: each name, each family.
pub fn targets(z: &Rfc2136, families: &[Family], repair: bool) -> Vec<RrsetTarget> {
    let mut out = Vec::new();
    for name in &z.names {
        for family in families {
            out.push(RrsetTarget {
                zone: z.zone.clone(),
                name: name.clone(),
                family: *family,
                ttl: z.ttl,
                repair,
            });
        }
    }
    out
}

fn show(rrs: &[Rr]) -> String {
    if rrs.is_empty() {
        "nothing".into()
    } else {
        rrs.iter()
            .map(|r| r.data.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl RrsetTarget {
    fn rtype(&self) -> crate::dns::RecordType {
        self.family.record_type()
    }

    fn wanted(&self, addr: IpAddr) -> Vec<Rr> {
        let data = match addr {
            IpAddr::V4(a) => Rdata::A(a),
            IpAddr::V6(a) => Rdata::Aaaa(a),
        };
        vec![Rr {
            name: self.name.clone(),
            ttl: self.ttl,
            data,
        }]
    }

    fn what(&self) -> String {
        format!("{} {} on {}", self.name, self.rtype(), self.zone.server)
    }

    fn live(&self) -> Result<Vec<Rr>, String> {
        update::read_rrset(&self.zone, &self.name, self.rtype()).map_err(|e| e.to_string())
    }

    fn done(&self, want: &Addrs, rrs: &[Rr]) -> Outcome {
        let mut r = Record::holding(want);
        r.rrset = rrs.iter().map(Rr::to_string).collect();
        Outcome::Done(r)
    }

    fn send(&self, expect: &[Rr], want: &[Rr]) -> Result<Replaced, String> {
        update::replace_rrset(&self.zone, &self.name, self.rtype(), expect, want).map_err(|e| {
            match e.help() {
                Some(h) if !h.is_empty() => format!("{e} (help: {h})"),
                _ => e.to_string(),
            }
        })
    }
}

impl Updater for RrsetTarget {
    fn id(&self) -> String {
        format!("rfc2136 {} {} {}", self.zone.name, self.name, self.rtype())
    }

    fn follows(&self, seen: &Seen) -> bool {
        Family::of(seen.addr) == self.family
    }

    fn update(&self, job: &Job) -> Outcome {
        let Some(seen) = job.want.get(&self.family) else {
            return Outcome::Retry(format!("no {} address to publish", self.family));
        };
        let want = self.wanted(seen.addr);
        // The prerequisite: what zmreip wrote last, or (never written)
        // what the server holds now.
        let last: Option<Vec<Rr>> = job
            .prev
            .as_ref()
            .filter(|p| !p.rrset.is_empty())
            .map(|p| p.rrset.iter().filter_map(|l| Rr::parse(l).ok()).collect());
        let expect = match last {
            Some(l) => l,
            None => match self.live() {
                Ok(l) => l,
                Err(e) => return Outcome::Retry(e),
            },
        };
        if expect == want && !job.force {
            log::info(&format!("{}: already holds {}", self.what(), show(&want)));
            return self.done(&job.want, &want);
        }
        if job.dry_run {
            log::info(&format!(
                "{}: would send a TSIG-signed UPDATE of zone {} (key {}): require {} {}, replace it with {}",
                self.what(),
                self.zone.name,
                self.zone.key.name.trim_end_matches('.'),
                self.rtype(),
                show(&expect),
                want.iter()
                    .map(Rr::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return Outcome::DryRun;
        }
        match self.send(&expect, &want) {
            Ok(Replaced::Done) => {
                log::info(&format!(
                    "{}: updated {} → {}",
                    self.what(),
                    show(&expect),
                    show(&want)
                ));
                return self.done(&job.want, &want);
            }
            Ok(Replaced::Drifted) => {}
            Err(e) => return Outcome::Retry(e),
        }
        // Someone changed the RRset since zmreip wrote it.
        let live = match self.live() {
            Ok(l) => l,
            Err(e) => return Outcome::Retry(e),
        };
        if live == want {
            log::info(&format!(
                "{}: already holds {} (set by someone else)",
                self.what(),
                show(&want)
            ));
            return self.done(&job.want, &want);
        }
        let found = format!(
            "{} was changed behind zmreip's back: it holds {}, zmreip last wrote {}",
            self.what(),
            show(&live),
            show(&expect)
        );
        if !self.repair {
            return Outcome::Hold(format!(
                "{found}; not overwritten (repair = false): fix the record, or set repair = true"
            ));
        }
        log::warn(&format!(
            "{found}; replacing it with {} (repair = true)",
            show(&want)
        ));
        match self.send(&live, &want) {
            Ok(Replaced::Done) => {
                log::info(&format!(
                    "{}: repaired {} → {}",
                    self.what(),
                    show(&live),
                    show(&want)
                ));
                self.done(&job.want, &want)
            }
            Ok(Replaced::Drifted) => Outcome::Retry(format!(
                "{} changed again while being repaired",
                self.what()
            )),
            Err(e) => Outcome::Retry(e),
        }
    }

    fn verify(&self, want: &Addrs) -> Option<Verdict> {
        let seen = want.get(&self.family)?;
        Some(match self.live() {
            Err(e) => Verdict::Unknown(e),
            Ok(live) if live.len() == 1 && live[0].data.addr() == Some(seen.addr) => Verdict::Holds,
            Ok(live) => Verdict::Differs(format!("{} holds {}", self.what(), show(&live))),
        })
    }

    fn fingerprint(&self) -> String {
        format!(
            "{} {} {} {}",
            self.zone.server, self.zone.key.name, self.name, self.ttl
        )
    }
}
