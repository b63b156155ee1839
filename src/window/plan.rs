//! The plans of a window's phases, built by the ordinary planner in the
//! window's roles ([`Role::Window`]), then made into phases:
//!
//! * **open**: the plan in the open role (serve on both; nothing clients
//!   find the server by changes) plus the TTL reduction of the published
//!   records that will move (the plan `--lower-ttl` makes, read without
//!   the directory), with what the TTLs were recorded for the switch;
//! * **switch**: the plan in the switch role (names, published records
//!   and single listeners move), every TTL open lowered written back as it
//!   was;
//! * **close**: the plan in the close role (the own move of what is left:
//!   the old address goes).
//!
//! Then each phase's service actions are ordered so that no listener is
//! down while a client may use it: the new address comes up first at
//! open and the old one goes last at close (after every service that
//! used it moved); a mailbox server whose listeners stay is flushed
//! instead of restarted where that is enough ([`crate::zimbra::flushable`]).

use crate::discover::Sources;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::{Change, Target, Value};
use crate::notice::Code;
use crate::plan::build::{self, Request};
use crate::plan::{Plan, PlannedAction};
use crate::policy::{Phase, Role};
use crate::services::{Action, Service};
use crate::surface::{Extra, Surface};

use super::state::{RrsetTtl, RuntimeAddr, Ttl, ZoneLine};

/// The open phase's plan, and the TTLs it lowers.
pub fn open(
    sources: &mut Sources,
    req: &Request,
    lower_ttl: u32,
    progress: &mut dyn FnMut(&str),
) -> Result<(Plan, Ttl)> {
    let serve = build::build(
        sources,
        &Request {
            role: Role::Window(Phase::Open),
            lower_ttl: None,
            ..req.clone()
        },
        progress,
    )?;
    // Only published records get a TTL: the directory is not read again.
    let directory = sources.directory.take();
    let lowered = build::build(
        sources,
        &Request {
            role: Role::Own,
            lower_ttl: Some(lower_ttl),
            ..req.clone()
        },
        progress,
    );
    sources.directory = directory;
    let mut lowered = lowered?;
    lowered
        .warnings
        .retain(|w| w.code != Code::LowerTtlFirstStep);
    let ttl = ttls(&sources.host, &sources.extra, &lowered, lower_ttl)?;
    Ok((merge(serve, lowered), ttl))
}

/// The switch phase's plan: every TTL open lowered is written back.
pub fn switch(
    sources: &mut Sources,
    req: &Request,
    ttl: &Ttl,
    progress: &mut dyn FnMut(&str),
) -> Result<Plan> {
    let mut plan = build::build(
        sources,
        &Request {
            role: Role::Window(Phase::Switch),
            ..req.clone()
        },
        progress,
    )?;
    restore_ttls(&mut plan, ttl)?;
    Ok(plan)
}

/// The close phase's plan.
pub fn close(sources: &mut Sources, req: &Request, progress: &mut dyn FnMut(&str)) -> Result<Plan> {
    build::build(
        sources,
        &Request {
            role: Role::Window(Phase::Close),
            ..req.clone()
        },
        progress,
    )
}

/// Makes a phase of `plan`: the runtime address change as the network
/// action, the services in the order the phase needs, a flush for a
/// mailbox server whose listeners stay, and the checksum.
pub fn finish(mut plan: Plan, phase: Phase, runtime: &[RuntimeAddr]) -> Plan {
    if phase != Phase::Close {
        // Regenerated files keep the old address while the host serves on
        // both; close regenerates them. An action only they asked for
        // would change nothing.
        plan.derived.clear();
        for a in &mut plan.actions {
            a.because.retain(|b| !b.starts_with('/'));
        }
        plan.actions.retain(|a| !a.because.is_empty());
    }
    if phase != Phase::Switch {
        // The address changes at runtime; the OS network files changed
        // only so that a restart finds it.
        plan.actions.retain(|a| a.service != Service::Network);
        if !runtime.is_empty() {
            let because = runtime
                .iter()
                .map(|r| match phase {
                    Phase::Open => format!("add {} to {}", r.new, r.interface),
                    _ => format!("remove {} from {}", r.old, r.interface),
                })
                .collect();
            plan.actions.push(PlannedAction {
                service: Service::Network,
                action: Action::Reload,
                because,
            });
        }
        flush_mailbox(&mut plan);
    }
    plan.actions.sort_by_key(|a| match (phase, a.service) {
        // The old address goes when nothing needs it any more.
        (Phase::Close, Service::Network) => (1, a.service),
        _ => (0, a.service),
    });
    plan.seal();
    plan
}

/// A mailbox restart becomes a cache flush when every change that asked
/// for it is a value mailboxd reads per request: its listeners stay in
/// open and close.
fn flush_mailbox(plan: &mut Plan) {
    let changes = &plan.changes;
    for a in &mut plan.actions {
        if a.service != Service::Mailbox || a.action != Action::Restart {
            continue;
        }
        let flushable = a.because.iter().all(|id| {
            changes.iter().any(|c| {
                &c.id == id
                    && matches!(&c.target, Target::Ldap { attribute, .. } if crate::zimbra::flushable(attribute))
            })
        });
        if flushable {
            a.action = Action::Flush;
        }
    }
}

/// `a` and `b` as one plan: `b`'s changes follow `a`'s, renumbered, and
/// the actions of both merged (a restart covers a reload and a flush).
fn merge(mut a: Plan, b: Plan) -> Plan {
    let offset = a.changes.len();
    let renumber = |id: &str| match id.strip_prefix('c').and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => format!("c{}", n + offset),
        None => id.to_string(),
    };
    for mut c in b.changes {
        c.id = renumber(&c.id);
        a.changes.push(c);
    }
    for act in b.actions {
        add_action(
            &mut a.actions,
            act.service,
            act.action,
            act.because.iter().map(|b| renumber(b)).collect(),
        );
    }
    for d in b.derived {
        if !a.derived.contains(&d) {
            a.derived.push(d);
        }
    }
    for w in b.warnings {
        if !a.warnings.contains(&w) {
            a.warnings.push(w);
        }
    }
    a.seal();
    a
}

/// Adds an action: a restart covers a reload and a flush.
fn add_action(
    actions: &mut Vec<PlannedAction>,
    service: Service,
    action: Action,
    because: Vec<String>,
) {
    match actions.iter_mut().find(|a| a.service == service) {
        Some(a) => {
            if action == Action::Restart {
                a.action = Action::Restart;
            }
            for b in because {
                if !a.because.contains(&b) {
                    a.because.push(b);
                }
            }
        }
        None => actions.push(PlannedAction {
            service,
            action,
            because,
        }),
    }
    actions.sort_by_key(|a| a.service);
}

/// What open's TTL plan lowers: zone-file lines (not the SOA serial
/// line) and RRsets held elsewhere, with the longest TTL they had.
fn ttls(host: &Host, extra: &Extra, lowered: &Plan, secs: u32) -> Result<Ttl> {
    let mut ttl = Ttl {
        lowered_to: Some(secs),
        ..Ttl::default()
    };
    let zones = crate::dns::zone::universe(host, &extra.zone_files)?;
    for c in &lowered.changes {
        match (&c.target, &c.before, &c.after) {
            (Target::Line { file, line }, Value::One(before), Value::One(after))
                if c.surface == Surface::Zonefile =>
            {
                let Some(zone) = zones.iter().find(|z| &z.file == file) else {
                    continue;
                };
                let text = host.read(file)?.unwrap_or_default();
                let loaded = crate::dns::zone::load(host, zone, &text)?;
                let serial = loaded.records.iter().any(|r| {
                    r.rtype == "SOA"
                        && &r.file == file
                        && r.rdata.get(2).is_some_and(|t| t.line == *line)
                });
                if serial {
                    continue;
                }
                for r in loaded.records.iter().filter(|r| {
                    &r.file == file
                        && r.ttl_tok.as_ref().map_or(r.after_owner.line, |t| t.line) == *line
                }) {
                    ttl.longest = ttl.longest.max(r.ttl.unwrap_or(0));
                }
                ttl.zone_lines.push(ZoneLine {
                    file: file.clone(),
                    line: *line,
                    original: before.clone(),
                    lowered: after.clone(),
                });
            }
            (Target::Dns { zone, name, rtype }, Value::Many(before), _) => {
                let was = before
                    .iter()
                    .filter_map(|r| r.split_whitespace().nth(1)?.parse::<u32>().ok())
                    .max()
                    .unwrap_or(0);
                ttl.longest = ttl.longest.max(was);
                ttl.rrsets.push(RrsetTtl {
                    zone: zone.clone(),
                    name: name.clone(),
                    rtype: rtype.clone(),
                    ttl: was,
                });
            }
            _ => {}
        }
    }
    if ttl.zone_lines.is_empty() && ttl.rrsets.is_empty() {
        // Nothing published here moves: DNS held elsewhere (a hand-off)
        // keeps its own TTLs, which the window does not know.
        ttl.lowered_to = None;
    }
    Ok(ttl)
}

/// Writes back the TTLs open lowered: on a zone-file line the switch
/// changes, the TTL open wrote becomes the original one again; a line
/// the switch leaves gets its original text back; an RRset held
/// elsewhere gets its original TTL.
fn restore_ttls(plan: &mut Plan, ttl: &Ttl) -> Result<()> {
    let mut added = Vec::new();
    for z in &ttl.zone_lines {
        let target = Target::Line {
            file: z.file.clone(),
            line: z.line,
        };
        match plan.changes.iter_mut().find(|c| c.target == target) {
            Some(c) => {
                let (Value::One(before), Value::One(after)) = (&c.before, &c.after) else {
                    continue;
                };
                if before != &z.lowered {
                    return Err(drifted(z));
                }
                let restored = restore_line(after, &z.lowered, &z.original).ok_or_else(|| {
                    Error::other(
                        format!(
                            "{}:{}: the switch changes the TTL of `{}` itself, so the TTL open lowered cannot be written back",
                            z.file, z.line, z.lowered
                        ),
                        "restore the line to what it was before the window by hand, then run the switch again",
                    )
                })?;
                c.after = Value::One(restored);
                c.reason.push_str("; TTL as it was before the window");
            }
            None => added.push(z),
        }
    }
    for z in added {
        let id = format!("c{}", plan.changes.len() + 1);
        plan.changes.push(Change {
            id: id.clone(),
            surface: Surface::Zonefile,
            target: Target::Line {
                file: z.file.clone(),
                line: z.line,
            },
            before: Value::One(z.lowered.clone()),
            after: Value::One(z.original.clone()),
            reason: "TTL as it was before the window".into(),
        });
        add_action(&mut plan.actions, Service::Named, Action::Reload, vec![id]);
    }
    for r in &ttl.rrsets {
        let Some(c) = plan.changes.iter_mut().find(|c| {
            matches!(&c.target, Target::Dns { zone, name, rtype }
                if *zone == r.zone && *name == r.name && *rtype == r.rtype)
        }) else {
            continue;
        };
        if let Value::Many(records) = &mut c.after {
            for rec in records.iter_mut() {
                *rec = with_ttl(rec, r.ttl);
            }
            c.reason.push_str("; TTL as it was before the window");
        }
    }
    plan.seal();
    Ok(())
}

fn drifted(z: &ZoneLine) -> Error {
    Error::other(
        format!(
            "{}:{} changed since the window opened: it should read `{}`",
            z.file, z.line, z.lowered
        ),
        "restore it, or roll the window back (`zmreip window status` lists its runs)",
    )
}

/// `after` (a line made from `lowered`) with the part that differs
/// between `original` and `lowered` (the TTL open wrote) as it was in
/// `original`; `None` when `after` changed that part too.
pub fn restore_line(after: &str, lowered: &str, original: &str) -> Option<String> {
    let prefix = lowered
        .bytes()
        .zip(original.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = lowered[prefix..]
        .bytes()
        .rev()
        .zip(original[prefix..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let l_end = lowered.len() - suffix;
    let o_mid = &original[prefix..original.len() - suffix];
    if !lowered.is_char_boundary(prefix)
        || !lowered.is_char_boundary(l_end)
        || !after.starts_with(&lowered[..l_end])
    {
        return None;
    }
    Some(format!("{}{o_mid}{}", &original[..prefix], &after[l_end..]))
}

/// An RRset record (`name ttl IN type data`) with another TTL.
fn with_ttl(record: &str, ttl: u32) -> String {
    let mut words: Vec<&str> = record.splitn(3, ' ').collect();
    let t = ttl.to_string();
    if words.len() == 3 && words[1].parse::<u32>().is_ok() {
        words[1] = &t;
        return words.join(" ");
    }
    record.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_come_back_around_the_switch_edit() {
        // (line the switch made from the lowered one, lowered, original,
        // expected)
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            // An inherited TTL: open inserted one, it goes again.
            (
                "mail\t300 IN A 10.40.7.131",
                "mail\t300 IN A 172.20.14.25",
                "mail\tIN A 172.20.14.25",
                Some("mail\tIN A 10.40.7.131"),
            ),
            // An explicit one: trap, 3600 and 300 share the leading 3.
            (
                "mail 300 IN A 10.40.7.131",
                "mail 300 IN A 172.20.14.25",
                "mail 3600 IN A 172.20.14.25",
                Some("mail 3600 IN A 10.40.7.131"),
            ),
            // A line the switch leaves as it is.
            (
                "www 300 IN A 192.0.2.7",
                "www 300 IN A 192.0.2.7",
                "www 86400 IN A 192.0.2.7",
                Some("www 86400 IN A 192.0.2.7"),
            ),
            // The switch touched the TTL too: refused.
            (
                "mail 60 IN A 10.40.7.131",
                "mail 300 IN A 172.20.14.25",
                "mail 3600 IN A 172.20.14.25",
                None,
            ),
        ];
        for (after, lowered, original, want) in cases {
            assert_eq!(
                restore_line(after, lowered, original).as_deref(),
                *want,
                "{after}"
            );
        }
    }

    #[test]
    fn rrset_records_get_their_ttl_back() {
        assert_eq!(
            with_ttl("mail.corp.example. 300 IN A 10.40.7.131", 3600),
            "mail.corp.example. 3600 IN A 10.40.7.131"
        );
        assert_eq!(
            with_ttl("@ 300 IN TXT \"v=spf1 ip4:10.40.7.131 -all\"", 600),
            "@ 600 IN TXT \"v=spf1 ip4:10.40.7.131 -all\""
        );
    }
}
