//! The hand-over to Zimbra: when the host's own address moves, build the
//! same plan `zmreip plan --from OLD/P --to NEW/P` builds (prefixes from
//! the kernel) and, with `mode = "apply"`, run it as the usual journaled
//! transaction: preconditions checked, every file and directory value
//! backed up, service actions, `verify` at the end and automatic rollback
//! when it fails. With `mode = "plan"`, or when the plan has warnings and
//! `apply_with_warnings` is not set, the plan is written for review
//! (`zmreip apply --plan FILE` applies it) and nothing changes.
//!
//! The address Zimbra is configured for is remembered in the state: the
//! first one seen is taken as it, and it moves only when a run applied.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::config::{Mode, Zimbra};
use super::state::{Record, address_of};
use super::target::{Job, Outcome, Updater};
use super::{Family, Seen, log};
use crate::apply::{self, fsops};
use crate::discover::{SourceArgs, Sources};
use crate::plan::{Plan, build, render};
use crate::spec::AddrArg;
use crate::verify::VerifyRequest;

/// Zimbra on this host.
pub struct ZimbraTarget {
    cfg: Zimbra,
}

impl ZimbraTarget {
    pub fn new(cfg: Zimbra) -> ZimbraTarget {
        ZimbraTarget { cfg }
    }

    /// The host as watch reads it. The OS address has already moved
    /// when watch acts, and localconfig's `ldap_url` names a host that
    /// still resolves to the old address: unless `ldap_url` is set,
    /// Zimbra's slapd is reached on its local socket when it has one.
    fn sources(&self) -> SourceArgs {
        let mut s = self.cfg.sources.clone();
        if s.directory.ldap.urls.is_empty() {
            let home = s.zimbra_home.as_deref().unwrap_or("/opt/zimbra");
            // Resolved inside the root: the URL names the socket itself.
            let socket = crate::confine::Root::open(&s.root).and_then(|r| {
                let c = r.canonical(&format!("{home}/data/ldap/state/run/ldapi"))?;
                Ok(r.shown(&c))
            });
            use std::os::unix::fs::FileTypeExt;
            if let Ok(socket) = socket
                && std::fs::symlink_metadata(&socket).is_ok_and(|m| m.file_type().is_socket())
            {
                s.directory.ldap.urls = vec![format!(
                    "ldapi://{}",
                    socket.display().to_string().replace('/', "%2F")
                )];
            }
        }
        s
    }

    /// The addresses Zimbra's configuration holds: the record's, or,
    /// when a plan written for review has since been applied (`zmreip
    /// history` shows the run), the plan's.
    fn configured(&self, prev: &Record) -> BTreeMap<Family, String> {
        let Some(configured) = &prev.configured else {
            return prev.addresses.clone();
        };
        let from: Vec<&String> = configured.values().collect();
        let to: Vec<&String> = prev.addresses.values().collect();
        let applied = apply::history(&self.cfg.sources.root).is_ok_and(|runs| {
            runs.iter().any(|r| {
                r.state == "applied"
                    && r.from.iter().collect::<Vec<_>>() == from
                    && r.to.iter().collect::<Vec<_>>() == to
            })
        });
        if applied {
            prev.addresses.clone()
        } else {
            configured.clone()
        }
    }

    fn plan(&self, pairs: &[(AddrArg, AddrArg)]) -> crate::Result<Plan> {
        let mut src = Sources::open(&self.sources())?;
        let req = build::Request {
            from: pairs.iter().map(|p| p.0).collect(),
            to: pairs.iter().map(|p| p.1).collect(),
            // Watch saw the old address on this machine's interface: that
            // is the evidence (the interface has moved on since).
            assume_own: true,
            ..build::Request::default()
        };
        build::build(&mut src, &req, &mut |_| {})
    }

    /// Writes the plan (JSON, for `zmreip apply --plan`) and its text
    /// beside it; returns the JSON's path.
    fn save(&self, plan: &Plan) -> Result<PathBuf, String> {
        let dir = &self.cfg.plan_dir;
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fsops::create_private_dir_local(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let stamp = crate::clock::compact(crate::clock::now());
        let to = plan.to.join("+").replace(['/', ':'], "_");
        let mut base = format!("plan-{stamp}-to-{to}");
        let mut n = 1;
        while dir.join(format!("{base}.json")).exists() {
            n += 1;
            base = format!("plan-{stamp}-to-{to}-{n}");
        }
        let json = dir.join(format!("{base}.json"));
        let text = dir.join(format!("{base}.txt"));
        fsops::replace_private_local(&json, render::json(plan).as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
        fsops::replace_private_local(&text, render::text(plan, false).as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", text.display()))?;
        Ok(json)
    }

    /// Applies the plan; `record` is what to keep when it succeeded.
    fn apply(&self, plan: Plan, pairs: &[(AddrArg, AddrArg)], mut record: Record) -> Outcome {
        let sources = self.sources();
        let mut opts = apply::Options {
            root: sources.root.clone(),
            zimbra_home: sources.zimbra_home.clone(),
            services: self.cfg.services.clone(),
            ldap: sources.directory.ldap.clone(),
            ..apply::Options::default()
        };
        // Nothing is written when a precondition fails: worth a retry.
        let prepared = match apply::prepare(plan, &opts) {
            Ok(p) => p,
            Err(e) => return Outcome::Retry(format!("zimbra: {}", with_help(&e))),
        };
        let mut req = VerifyRequest::new(&sources.root, pairs.iter().map(|p| p.1).collect());
        req.sources = sources;
        req.old = pairs.iter().map(|p| p.0).collect();
        req.outside_source = self.cfg.outside_source;
        req.derived = prepared
            .plan
            .derived
            .iter()
            .map(|d| d.file.clone())
            .collect();
        opts.verify = Some(req);
        let mut report = |line: &str| log::info(&format!("zimbra: {line}"));
        let latest = || {
            apply::journal::list(&opts.root, &apply::journal::RUNS)
                .ok()
                .and_then(|mut ids| ids.pop())
        };
        let before = latest();
        let result = apply::run::apply(&prepared, &opts, &mut report);
        // The audit trail in the system log, as for `zmreip apply`.
        match (&result, latest()) {
            (Ok(out), _) => apply::run::audit("apply", &opts.root, &out.run_id, false),
            (Err(_), Some(id)) if Some(&id) != before.as_ref() => {
                apply::run::audit("apply", &opts.root, &id, true);
            }
            (Err(_), _) => {}
        }
        match result {
            Ok(out) => {
                for line in &out.lines {
                    log::info(&format!("zimbra: {line}"));
                }
                log::info(&format!(
                    "zimbra: applied and verified (run {})",
                    out.run_id
                ));
                record.run = Some(out.run_id);
                Outcome::Done(record)
            }
            Err(e) => Outcome::Hold(format!(
                "zimbra: the apply failed: {} (rolled back unless it says otherwise; `zmreip history` shows the run); it is tried again when the address changes or on reload",
                with_help(&e)
            )),
        }
    }
}

fn with_help(e: &crate::Error) -> String {
    match e.help() {
        Some(h) if !h.is_empty() => format!("{e} (help: {h})"),
        _ => e.to_string(),
    }
}

fn summary(plan: &Plan) -> String {
    let actions: Vec<String> = plan
        .actions
        .iter()
        .map(|a| format!("{} {}", a.service.as_str(), a.action.as_str()))
        .collect();
    format!(
        "{} -> {}: {} change(s), actions: {}, {} warning(s)",
        plan.from.join(","),
        plan.to.join(","),
        plan.changes.len(),
        if actions.is_empty() {
            "none".into()
        } else {
            actions.join(", ")
        },
        plan.warnings.len()
    )
}

impl Updater for ZimbraTarget {
    fn id(&self) -> String {
        "zimbra".into()
    }

    fn follows(&self, seen: &Seen) -> bool {
        seen.local
    }

    fn baseline_first(&self) -> bool {
        true
    }

    fn update(&self, job: &Job) -> Outcome {
        let Some(prev) = &job.prev else {
            return Outcome::Done(Record::holding(&job.want));
        };
        let configured = self.configured(prev);
        let mut pairs = Vec::new();
        for (family, seen) in &job.want {
            let Some(old) = configured.get(family) else {
                continue;
            };
            if address_of(old) == Some(seen.addr) {
                continue;
            }
            match (old.parse::<AddrArg>(), seen.text().parse::<AddrArg>()) {
                (Ok(from), Ok(to)) => pairs.push((from, to)),
                _ => {
                    return Outcome::Hold(format!(
                        "zimbra: cannot read the recorded address `{old}`"
                    ));
                }
            }
        }
        let mut record = Record::holding(&job.want);
        if pairs.is_empty() {
            return Outcome::Done(record);
        }
        let plan = match self.plan(&pairs) {
            Ok(p) => p,
            Err(e) => return Outcome::Retry(format!("zimbra: cannot plan: {}", with_help(&e))),
        };
        log::info(&format!("zimbra: plan {}", summary(&plan)));
        if job.dry_run {
            log::info(&format!(
                "zimbra: would {} this plan (dry run: nothing written)",
                if self.cfg.mode == Mode::Apply {
                    "apply"
                } else {
                    "write"
                }
            ));
            return Outcome::DryRun;
        }
        let warned = !plan.warnings.is_empty() && !self.cfg.apply_with_warnings;
        if self.cfg.mode == Mode::Plan || warned {
            let path = match self.save(&plan) {
                Ok(p) => p,
                Err(e) => return Outcome::Retry(format!("zimbra: {e}")),
            };
            if warned && self.cfg.mode == Mode::Apply {
                let codes: Vec<&str> = plan.warnings.iter().map(|w| w.code.as_str()).collect();
                log::error(&format!(
                    "zimbra: the plan has warnings ({}), so it was not applied; review {} and run `zmreip apply --plan {}` (or set apply_with_warnings = true)",
                    codes.join(", "),
                    path.display(),
                    path.display()
                ));
            } else {
                log::warn(&format!(
                    "zimbra: the address moved; the plan is in {} (nothing was changed): review it and run `zmreip apply --plan {}`",
                    path.display(),
                    path.display()
                ));
            }
            record.configured = Some(configured);
            record.plan = Some(path.display().to_string());
            return Outcome::Done(record);
        }
        self.apply(plan, &pairs, record)
    }

    fn fingerprint(&self) -> String {
        format!("{:?} {}", self.cfg.mode, self.cfg.sources.root.display())
    }
}
