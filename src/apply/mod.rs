//! Apply: a plan carried out as one crash-safe transaction (DESIGN.md
//! principles 5–8).
//!
//! 1. [`prepare`] turns the plan into steps — one per file (all its changes
//!    in one new version; an LDIF export given with `--ldif` is such a
//!    file), one per attribute of a live directory, one per DNS RRset held
//!    elsewhere (RFC 2136), one per service action — and checks every
//!    change's precondition against the host, the directory and the DNS
//!    servers, listing every drifted target. Nothing is written before all
//!    of them hold.
//! 2. [`run::apply`] records the run in a [`journal`] (plan, steps,
//!    backups of every file before its first write, the directory's prior
//!    values) and runs the steps, logging `begin k` and `done k` (fsynced)
//!    around each. Files are replaced atomically ([`fsops`]).
//! 3. A failing step rolls back what was done. A crash at any instant
//!    leaves the old state or a journal from which [`run::rollback`] or
//!    [`run::resume`] finishes; both are idempotent.
//!
//! The crash tests abort the process at chosen instants through the
//! test-only hooks of [`crash`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::directory::ldap::{LdapWriter, Overrides, Settings};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::Target;
use crate::plan::{Plan, SCHEMA};
use crate::services::{self, Cmd, Controller};
use crate::services::{Action, Service};

pub mod crash;
pub mod drift;
pub mod fsops;
pub mod journal;
pub mod ldif;
pub mod run;
pub mod step;
pub mod steps;
pub mod trust;

pub use drift::Problem;
pub use journal::State;
pub use step::Step;

/// How to apply.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The host's root (`/`, or a snapshot).
    pub root: PathBuf,
    /// Zimbra's home on the host, when given (else found under the root).
    pub zimbra_home: Option<String>,
    /// The LDIF export to write directory changes to.
    pub ldif: Option<PathBuf>,
    /// Do not run service actions; say what to run.
    pub no_restart: bool,
    /// Also run the `network` action.
    pub restart_network: bool,
    /// Leave a failed run as it is instead of rolling back.
    pub no_rollback: bool,
    /// A services file (see [`crate::services`]).
    pub services: Option<PathBuf>,
    /// How to reach the live directory when no `ldif` is given.
    pub ldap: Overrides,
    /// `--no-directory`: a plan with directory changes is refused.
    pub no_directory: bool,
    /// `--dns-config`: the servers and keys of DNS zones held elsewhere.
    pub dns_config: Option<PathBuf>,
    /// Verify the host after the last step; a failed check rolls the run
    /// back (unless `no_rollback`). `None`: not verified.
    pub verify: Option<crate::verify::VerifyRequest>,
    /// `--only`: run only these parts of the steps (all when empty) and
    /// leave the run waiting for the rest (`resume --only`).
    pub only: Vec<Part>,
    /// The `network` action's command, and the one that undoes it,
    /// instead of bringing the plan's OS network files up: a window adds
    /// or removes an address at runtime (see [`crate::window`]).
    pub network: Option<(Cmd, Cmd)>,
    /// Services whose restart runs with new TCP connections to these
    /// ports held rather than refused ([`crate::window::hold`]).
    pub held: Vec<(Service, Vec<u16>)>,
}

/// A part of a run's steps. A multi-server apply runs a node's run part
/// by part, in the order of the deployment (`--only`), and rolls it back
/// the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Every write but the directory's: files, and DNS records held
    /// elsewhere.
    Files,
    /// The directory's values (live, or in an LDIF export).
    Directory,
    /// One service's actions.
    Service(Service),
}

impl Part {
    /// Whether step `s` is of this part.
    pub fn holds(self, s: &Step) -> bool {
        match (self, s) {
            (Part::Files, Step::Lines { .. } | Step::Localconfig { .. } | Step::Dns { .. }) => true,
            (Part::Directory, Step::Ldif { .. } | Step::Directory { .. }) => true,
            (Part::Service(want), Step::Service { service, .. }) => want == *service,
            _ => false,
        }
    }
}

impl std::str::FromStr for Part {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Part, String> {
        match s {
            "files" => Ok(Part::Files),
            "directory" => Ok(Part::Directory),
            other => other.parse::<Service>().map(Part::Service).map_err(|_| {
                format!("`{other}` is not a part of a run: files, directory, or a service (ldap, mta, mailbox, ...)")
            }),
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Files => f.write_str("files"),
            Part::Directory => f.write_str("directory"),
            Part::Service(s) => f.write_str(s.as_str()),
        }
    }
}

/// Whether `parts` (empty: every part) selects step `s`.
pub fn selects(parts: &[Part], s: &Step) -> bool {
    parts.is_empty() || parts.iter().any(|p| p.holds(s))
}

/// A service action that is not run by zmreip: the admin runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manual {
    pub service: Service,
    pub action: Action,
    /// The command to run, when zmreip knows one.
    pub command: Option<Cmd>,
    /// Why it was not run.
    pub note: String,
}

/// What the run directory's `run.json` holds: everything rollback and
/// resume need, fixed before the first step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: String,
    pub created: String,
    pub version: String,
    /// Zimbra's home on the host (to find localconfig again).
    pub zimbra_home: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    /// A bind plan's title (`bind: outbound → 10.40.7.132`); absent for a
    /// move and in runs recorded before binds existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    pub changes: usize,
    pub no_rollback: bool,
    /// Seconds each service command may take.
    pub timeout: u64,
    pub steps: Vec<Step>,
    pub manual: Vec<Manual>,
}

/// A plan made ready to run: steps checked against the host.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub plan: Plan,
    /// The plan as recorded in the journal.
    pub plan_json: String,
    pub steps: Vec<Step>,
    pub manual: Vec<Manual>,
    /// The services file's text, kept in the journal.
    pub services_text: Option<String>,
    pub timeout: u64,
    /// Zimbra's home on the host.
    pub zimbra_home: String,
    /// The live directory's values before the change, as LDIF.
    pub directory_prior: Option<String>,
}

/// Reads a saved plan and validates it: JSON, the `zmreip.plan/v1`
/// schema, and the checksum over its content.
pub fn load_plan(path: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    parse_plan(&path.display().to_string(), &text)
}

/// Validates a plan read as JSON: the `zmreip.plan/v1` schema and the
/// checksum over its content. `shown` names it in errors.
pub fn plan_of(shown: &str, value: serde_json::Value) -> Result<Plan> {
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != SCHEMA {
        return Err(Error::other(
            format!("{shown}: schema `{schema}` is not {SCHEMA}"),
            "give a plan written by `zmreip plan --out FILE`",
        ));
    }
    let Some(sum) = value.get("checksum").and_then(|s| s.as_str()) else {
        return Err(Error::other(
            format!(
                "{shown}: the plan has no checksum, so zmreip cannot tell whether it was changed after it was made"
            ),
            "make the plan again with `zmreip plan --out FILE` (this zmreip writes a checksum), review it, and apply that",
        ));
    };
    if crate::plan::checksum(&value) != sum {
        return Err(Error::other(
            format!(
                "{shown}: the checksum does not match the content: the plan was changed after it was made"
            ),
            "make the plan again with `zmreip plan --out FILE`; plans are not edited by hand",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        Error::other(
            format!("{shown}: not a valid {SCHEMA} plan: {e}"),
            "give a plan written by `zmreip plan --out FILE`",
        )
    })
}

/// Makes the steps of `plan` and checks them against the host. Fails,
/// listing every problem, if any change's precondition does not hold or
/// a file cannot be written; nothing is written either way.
pub fn prepare(plan: Plan, opts: &Options) -> Result<Prepared> {
    let broken = trust::check(&plan);
    if !broken.is_empty() {
        let list: Vec<String> = broken.iter().map(|p| format!("  {p}")).collect();
        return Err(Error::other(
            format!(
                "the plan breaks zmreip's trust rules at {} place(s); nothing was written:\n{}",
                broken.len(),
                list.join("\n")
            ),
            "zmreip's rules never make such a plan (was it edited? its checksum proves only that it was not damaged): make it again with `zmreip plan --out FILE`",
        ));
    }
    prepare_trusted(plan, opts)
}

/// [`prepare`] for a plan whose trust rules were checked (or that is only
/// a probe and never runs, as in [`applied_as`]).
fn prepare_trusted(plan: Plan, opts: &Options) -> Result<Prepared> {
    let host = Host::open(&opts.root, opts.zimbra_home.as_deref())?;
    let live = live_directory(&plan, &host, opts)?;
    let server = live.as_ref().map(|s| step::LiveServer {
        urls: s.write_urls.clone(),
        bind_dn: s.bind_dn.clone(),
        password_file: opts
            .ldap
            .password_file
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
    });
    let mut steps = steps::write_steps(
        &plan,
        opts.ldif.as_deref(),
        server.as_ref(),
        opts.dns_config.as_deref(),
    )?;
    let roots = fsops::Roots::open(&opts.root).map_err(|e| Error::io("open", &opts.root, e))?;
    let old = crate::addr::Matcher::new(&plan_addresses(&plan.from));
    let mut problems = drift::check(&steps, &roots, &old);
    let mut directory_prior = None;
    if let Some(settings) = &live {
        let mut writer = LdapWriter::open(settings)?;
        let (prior, drift) = drift::check_live(&mut writer, &steps, &old)?;
        problems.extend(drift);
        directory_prior = Some(prior);
    }
    if steps.iter().any(|s| matches!(s, Step::Dns { .. }))
        && let Some(path) = &opts.dns_config
    {
        let cfg = crate::dns::update::UpdateConfig::load(path)?;
        problems.extend(drift::check_dns(&cfg, &steps)?);
    }
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        return Err(Error::other(
            format!(
                "the host does not match the plan at {} place(s); nothing was written:\n{}",
                problems.len(),
                list.join("\n")
            ),
            "run `zmreip plan` again and review the new plan (or fix the files listed)",
        ));
    }
    let services_text = match &opts.services {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| Error::io("read", p, e))?),
        None => None,
    };
    let mut commands = services::plan_commands(&host, &plan.changes)?;
    // A window changes the address at runtime instead of bringing the
    // network files up.
    if let Some((cmd, _)) = &opts.network {
        commands.insert(Service::Network, cmd.clone());
    }
    let mut ctl = Controller::new(host.zimbra_home()).with_plan_commands(commands);
    if let (Some(p), Some(t)) = (&opts.services, &services_text) {
        ctl = ctl.load(p, t)?;
    }
    let (service_steps, manual) = service_steps(&plan, &ctl, opts);
    steps.extend(service_steps);
    Ok(Prepared {
        plan_json: crate::plan::render::json(&plan),
        plan,
        steps,
        manual,
        services_text,
        timeout: ctl.timeout.as_secs().max(1),
        zimbra_home: host.zimbra_home().to_string(),
        directory_prior,
    })
}

/// The addresses of a plan's `from` or `to` (`ADDR/PREFIX`); one that
/// does not read is left out (the plan's checks refuse it).
fn plan_addresses(list: &[String]) -> Vec<std::net::IpAddr> {
    list.iter()
        .filter_map(|a| crate::addr::parse_with_prefix(a).map(|(ip, _)| ip))
        .collect()
}

/// The plan's service actions: steps for those zmreip runs, and those
/// the admin runs by hand, with why (`--no-restart`, a snapshot's root,
/// the network, firewall and keepalived without `--restart-network`, no
/// known command).
fn service_steps(plan: &Plan, ctl: &Controller, opts: &Options) -> (Vec<Step>, Vec<Manual>) {
    let mut steps = Vec::new();
    let snapshot = opts.services.is_none() && !is_slash(&opts.root);
    let mut manual = Vec::new();
    // Rules written for a new address that is already up on this host
    // (moved first by the admin, or followed by `zmreip watch`) cut
    // nothing that has not moved already: they load at once.
    let new_up = !plan.to.is_empty()
        && plan.to.iter().all(|t| {
            let a = t.split('/').next().unwrap_or(t);
            a.parse().is_ok_and(crate::verify::is_local)
        });
    for a in &plan.actions {
        let waits = a.service.may_cut_ssh()
            && !opts.restart_network
            && (a.service == Service::Network || !new_up);
        let command = ctl.command(a.service, a.action);
        let skip = if opts.no_restart {
            Some("--no-restart".to_string())
        } else if snapshot {
            Some(format!(
                "--root {} is not this host's /, so its services are not this machine's; --services FILE runs commands anyway",
                opts.root.display()
            ))
        } else if waits {
            Some("bringing the new address up, and loading firewall rules or VRRP addresses for it, can cut your SSH session: run these from a console, in this order, or apply with --restart-network".to_string())
        } else if command.is_none() {
            Some(
                "zmreip knows no command for it on this host; map it in --services FILE"
                    .to_string(),
            )
        } else {
            None
        };
        let undo = match (a.service, &opts.network) {
            (Service::Network, Some((_, undo))) => Some(undo.clone()),
            _ => None,
        };
        let hold = match (a.action, opts.held.iter().find(|(s, _)| *s == a.service)) {
            (Action::Restart, Some((_, ports))) => ports.clone(),
            _ => Vec::new(),
        };
        match (skip, command) {
            (None, Some(command)) => steps.push(Step::Service {
                service: a.service,
                action: a.action,
                command,
                because: a.because.clone(),
                undo,
                hold,
            }),
            (note, command) => manual.push(Manual {
                service: a.service,
                action: a.action,
                command,
                note: note.unwrap_or_default(),
            }),
        }
    }
    (steps, manual)
}

/// The live directory to write the plan's directory changes to: `None`
/// when the plan has none or an LDIF export is given.
fn live_directory(plan: &Plan, host: &Host, opts: &Options) -> Result<Option<Settings>> {
    let changes_directory = plan
        .changes
        .iter()
        .any(|c| matches!(c.target, Target::Ldap { .. }));
    if !changes_directory || opts.ldif.is_some() {
        return Ok(None);
    }
    if opts.no_directory {
        return Err(Error::usage(
            "the plan changes the directory, and --no-directory leaves it out",
            "drop --no-directory, or give --ldif FILE to change an export instead",
        ));
    }
    Settings::resolve(host, &opts.ldap)
}

/// When `plan` does not apply because it is applied already: the host
/// holds every change's `after` (the plan with `before` and `after`
/// swapped passes every check) and a recorded run of this very plan (same
/// checksum) is applied. The outcome says so and names the run.
pub fn applied_as(plan: &Plan, opts: &Options) -> Option<Outcome> {
    let sum = plan.checksum.as_ref()?;
    let id = journal::list(&opts.root, &journal::RUNS)
        .ok()?
        .into_iter()
        .rev()
        .find(|id| {
            let Ok(j) = journal::Journal::open(&opts.root, &journal::RUNS, Some(id)) else {
                return false;
            };
            let recorded = j
                .read_file("plan.json")
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
            j.state().ok() == Some(State::Applied)
                && recorded.is_some_and(|v| v["checksum"].as_str() == Some(sum))
        })?;
    // The inverse only probes the host (it is never run), so the trust
    // rules, which it breaks by design (it adds the old address back),
    // are not asked of it; the plan itself passed them.
    if !trust::check(plan).is_empty() {
        return None;
    }
    let mut inverse = plan.clone();
    std::mem::swap(&mut inverse.from, &mut inverse.to);
    for c in &mut inverse.changes {
        std::mem::swap(&mut c.before, &mut c.after);
    }
    inverse.actions.clear();
    prepare_trusted(inverse, opts).ok()?;
    Some(Outcome {
        run_id: id.clone(),
        state: State::Applied,
        changed: false,
        lines: vec![format!(
            "already applied (run {id}): the host holds every change of this plan; nothing to do"
        )],
    })
}

/// When a prepared plan has no step to run (no change, and its service
/// actions all left to the admin): what to say instead of recording an
/// empty run.
pub fn nothing_to_run(p: &Prepared) -> Option<Vec<String>> {
    if !p.steps.is_empty() {
        return None;
    }
    let mut lines =
        vec!["nothing to run: the plan changes nothing here, so no run is recorded".to_string()];
    lines.extend(manual_lines(&p.manual, "run by hand"));
    Some(lines)
}

/// After a run that wrote the directory's changes into an LDIF export
/// (`--ldif`): that the live directory was not changed, and the command
/// that changes it with the run's `changes.ldif` (no password on the
/// command line: ldapmodify asks for it).
pub fn ldif_note(p: &Prepared, root: &Path, run_dir: &Path) -> Vec<String> {
    let Some(file) = p.steps.iter().find_map(|s| match s {
        Step::Ldif { file, .. } => Some(file.shown()),
        _ => None,
    }) else {
        return Vec::new();
    };
    let host = Host::open(root, Some(&p.zimbra_home)).ok();
    let lc = |key: &str, or: &str| {
        host.as_ref()
            .and_then(|h| crate::surface::localconfig::setting(h, key))
            .map_or_else(|| or.to_string(), |v| services::shell_quote(&v))
    };
    let url = lc(
        "ldap_master_url",
        "\"$(su - zimbra -c 'zmlocalconfig -m nokey ldap_master_url')\"",
    );
    let dn = lc("zimbra_ldap_userdn", "uid=zimbra,cn=admins,cn=zimbra");
    vec![
        format!(
            "the directory changes went into the LDIF export {file} only: the live directory was not changed"
        ),
        format!(
            "to change the live directory too, run as root (ldapmodify asks for the password `zmlocalconfig -s zimbra_ldap_password` shows): {}/common/bin/ldapmodify -x -H {url} -D {dn} -W -f {}",
            p.zimbra_home,
            services::shell_quote(&run_dir.join("changes.ldif").to_string_lossy())
        ),
    ]
}

/// The command of the service step a step line (`[K/N] ...`) announces,
/// for `--verbose`.
pub fn command_of(p: &Prepared, line: &str) -> Option<String> {
    let k: usize = line.strip_prefix('[')?.split('/').next()?.parse().ok()?;
    match p.steps.get(k.checked_sub(1)?)? {
        Step::Service { command, .. } => Some(command.to_string()),
        _ => None,
    }
}

/// What apply will do, for the confirmation question.
pub fn summary(p: &Prepared) -> String {
    let mut s = String::from("\nzmreip will, journaling each step so it can be undone:\n");
    for (i, step) in p.steps.iter().enumerate() {
        s.push_str(&format!("  {}. {}\n", i + 1, step.describe()));
    }
    for line in manual_lines(&p.manual, "run by hand") {
        s.push_str(&format!("  {line}\n"));
    }
    s
}

/// The actions the admin runs by hand, grouped by why.
pub(crate) fn manual_lines(manual: &[Manual], lead: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut notes: Vec<&str> = Vec::new();
    for m in manual {
        if !notes.contains(&m.note.as_str()) {
            notes.push(&m.note);
        }
    }
    for note in notes {
        out.push(format!("not run ({note}); {lead}:"));
        for m in manual.iter().filter(|m| m.note == note) {
            out.push(match &m.command {
                Some(c) => format!("    {c}"),
                None => format!(
                    "    ({} {}: no known command)",
                    m.service.as_str(),
                    m.action.as_str()
                ),
            });
        }
    }
    out
}

/// Whether `root` is this machine's `/`.
pub fn is_slash(root: &Path) -> bool {
    std::fs::canonicalize(root)
        .map(|p| p == Path::new("/"))
        .unwrap_or(false)
}

/// What a finished apply, rollback or resume reports (`--format json`
/// writes it as [`crate::outcome::Report`]).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub run_id: String,
    pub state: State,
    /// Whether this command changed the host (false when the run was
    /// already where it was asked to go).
    pub changed: bool,
    /// Lines for people, in order.
    pub lines: Vec<String>,
}

/// Reads a plan given as text (`--plan -` reads standard input) and
/// validates it as [`load_plan`] does; `shown` names it in errors.
pub fn parse_plan(shown: &str, text: &str) -> Result<Plan> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Parse {
        path: shown.to_string(),
        line: e.line(),
        message: format!("not JSON: {e}"),
        help: Some("give a plan written by `zmreip plan --out FILE`".into()),
    })?;
    plan_of(shown, value)
}

/// One run as `history` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub id: String,
    /// The recorded state; `interrupted` for a run whose process stopped
    /// while running or rolling back; `damaged` for a run whose journal
    /// does not read (it is skipped by a plain `rollback` and `resume`).
    pub state: String,
    pub created: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    /// What a bind run bound (`bind: outbound → 10.40.7.132`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    pub changes: usize,
    pub steps: usize,
    pub steps_done: usize,
    /// The failure message of the last failed step, if any (for a
    /// damaged run: what is damaged).
    pub failed: Option<String>,
    /// The command that finishes an interrupted or failed run, or undoes
    /// it, when there is one to run.
    pub next: Vec<String>,
    pub dir: String,
}

/// Every run under the root, oldest first. A run whose journal does not
/// read is listed as `damaged`, not an error: one bad run must not hide
/// the others.
pub fn history(root: &Path) -> Result<Vec<RunSummary>> {
    let locked = journal::is_locked(root, &journal::RUNS);
    let mut out = Vec::new();
    let ids = journal::list(root, &journal::RUNS)?;
    let latest = ids.last().cloned();
    for id in ids {
        let j = journal::Journal::open(root, &journal::RUNS, Some(&id))?;
        let read = run::read_info(&j).and_then(|info| Ok((info, j.events()?, j.state()?)));
        let (info, events, st) = match read {
            Ok(x) => x,
            Err(e) => {
                out.push(RunSummary {
                    id,
                    state: "damaged".into(),
                    created: String::new(),
                    from: Vec::new(),
                    to: Vec::new(),
                    bind: None,
                    changes: 0,
                    steps: 0,
                    steps_done: 0,
                    failed: Some(e.to_string()),
                    next: Vec::new(),
                    dir: j.dir.display().to_string(),
                });
                continue;
            }
        };
        let steps_done = (1..=info.steps.len())
            .filter(|k| {
                events
                    .iter()
                    .any(|e| matches!(e, journal::Event::Done(d, _) if d == k))
            })
            .count();
        let failed = events.iter().rev().find_map(|e| match e {
            journal::Event::Fail(k, m) => Some(format!("step {k}: {m}")),
            _ => None,
        });
        let live = locked && latest.as_ref() == Some(&id);
        let state = match st {
            State::Running | State::RollingBack if !live => "interrupted".to_string(),
            s => s.as_str().to_string(),
        };
        // What works from here: a run stopped while rolling back can only
        // be rolled back (resume refuses it).
        let next = match st {
            _ if live => Vec::new(),
            State::Running | State::Failed => vec![
                format!("zmreip resume {id}"),
                format!("zmreip rollback {id}"),
            ],
            State::RollingBack => vec![format!("zmreip rollback {id}")],
            State::Applied | State::RolledBack => Vec::new(),
        };
        out.push(RunSummary {
            id,
            state,
            created: info.created,
            from: info.from,
            to: info.to,
            bind: info.bind,
            changes: info.changes,
            steps: info.steps.len(),
            steps_done,
            failed,
            next,
            dir: j.dir.display().to_string(),
        });
    }
    Ok(out)
}

/// `history` as a table for people.
pub fn history_text(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "no zmreip runs on this host\n".into();
    }
    let mut s = String::new();
    for r in runs {
        if r.state == "damaged" {
            s.push_str(&format!(
                "{}  damaged: its journal does not read; `rollback` and `resume` skip it\n    {}\n    inspect {} by hand\n",
                r.id,
                r.failed.as_deref().unwrap_or_default(),
                r.dir
            ));
            continue;
        }
        let what = match &r.bind {
            Some(b) => b.clone(),
            None => format!("{} -> {}", r.from.join(","), r.to.join(",")),
        };
        s.push_str(&format!(
            "{}  {:<12} {}  {what}  {} change(s), {}/{} step(s) done\n",
            r.id, r.state, r.created, r.changes, r.steps_done, r.steps
        ));
        if let Some(f) = &r.failed {
            s.push_str(&format!("    failed at {f}\n"));
        }
        match r.next.as_slice() {
            [resume, rollback] => s.push_str(&format!(
                "    finish it: `{resume}` or undo it: `{rollback}`\n"
            )),
            [rollback] => s.push_str(&format!(
                "    a rollback of it stopped half-way; finish it: `{rollback}`\n"
            )),
            _ => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(plan: &mut Plan, dir: &Path) -> PathBuf {
        let p = dir.join("plan.json");
        std::fs::write(&p, crate::plan::render::json(plan)).unwrap();
        p
    }

    fn plan() -> Plan {
        serde_json::from_str(
            r#"{"schema":"zmreip.plan/v1","from":["172.20.14.25/24"],"to":["10.40.7.131/24"],
            "changes":[{"id":"c1","surface":"hosts","target":{"file":"/etc/hosts","line":2},
            "before":"172.20.14.25 mail","after":"10.40.7.131 mail","reason":"r"}],
            "derived":[],"actions":[],"warnings":[],"handoffs":[]}"#,
        )
        .unwrap()
    }

    #[test]
    fn saved_plans_are_validated() {
        let d = tempfile::tempdir().unwrap();
        let mut p = plan();
        p.seal();
        let sum = p.checksum.clone().unwrap();
        assert!(sum.starts_with("sha256:") && sum.len() == 7 + 64, "{sum}");
        let path = saved(&mut p, d.path());
        assert_eq!(load_plan(&path).unwrap(), p);

        // Resealing gives the same sum: it does not cover itself.
        let mut again = p.clone();
        again.seal();
        assert_eq!(again.checksum, p.checksum);

        let text = std::fs::read_to_string(&path).unwrap();
        let cases = [
            (
                text.replace("10.40.7.131 mail", "10.40.7.132 mail"),
                "was changed after it was made",
            ),
            (
                text.replace("zmreip.plan/v1", "zmreip.plan/v2"),
                "is not zmreip.plan/v1",
            ),
            (
                text.replace(&format!(",\n  \"checksum\": \"{sum}\""), ""),
                "has no checksum",
            ),
            ("{not json".to_string(), "not JSON"),
        ];
        for (body, want) in cases {
            std::fs::write(&path, &body).unwrap();
            let e = load_plan(&path).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn checksum_ignores_key_order_and_whitespace() {
        let mut p = plan();
        p.seal();
        let v = serde_json::to_value(&p).unwrap();
        let compact = serde_json::to_string(&v).unwrap();
        let reparsed: serde_json::Value = serde_json::from_str(&compact).unwrap();
        assert_eq!(
            crate::plan::checksum(&reparsed),
            p.checksum.clone().unwrap()
        );
        // A field a later zmreip adds is covered too.
        let mut extended = v.clone();
        extended["notes"] = serde_json::json!("x");
        assert_ne!(crate::plan::checksum(&extended), p.checksum.unwrap());
    }
}
