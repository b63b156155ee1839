//! Applying a cluster plan: every node's run journaled on the node, the
//! phases in the plan's order, a cluster journal on this host naming each
//! node's run; a failure rolls every node back in reverse order.
//!
//! The cluster journal lives under `<root>/var/lib/zmreip/cluster/<id>/`
//! (mode 0700): `cluster-plan.json` (the plan applied), `cluster.json`
//! (the nodes, how they are reached and their run ids, rewritten as runs
//! are made), `log` (`begin K`, `done K`, `fail K MESSAGE` for step K of
//! the order; `rollback`) and `state`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::plan::{self, ClusterNode, ClusterPlan, OrderStep, Phase};
use super::{PHASE_TIMEOUT, Session};
use crate::apply::journal::{self, CLUSTER_RUNS, Event, Journal, State};
use crate::error::{Error, Result};
use crate::notice::Code;
use crate::policy::Role;
use crate::services::Service;

/// How to apply a cluster plan.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// This host's root (the cluster journal lives under it).
    pub root: PathBuf,
    /// `--services FILE`: the same path on every node.
    pub services: Option<PathBuf>,
    /// `--no-restart`: write the changes, run no service action.
    pub no_restart: bool,
    /// `--no-verify`.
    pub no_verify: bool,
    /// `--no-rollback`: leave every node as it is when a step fails.
    pub no_rollback: bool,
    /// How this host reaches the directory: `--ldif`, `--bind-dn`,
    /// `--bind-password-file` (the URLs come from the plan).
    pub ldif: Option<PathBuf>,
    pub bind_dn: Option<String>,
    pub password_file: Option<PathBuf>,
    /// `--probe-timeout` of verify, in seconds.
    pub probe_timeout: Option<f64>,
}

/// What `cluster.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterRun {
    pub id: String,
    pub created: String,
    pub version: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub moving: String,
    pub nodes: Vec<NodeRun>,
}

/// One node of a cluster run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeRun {
    pub name: String,
    pub via: String,
    /// The node's run id, once its first phase made it.
    pub run: Option<String>,
}

/// What a node's `apply`, `resume` or `rollback` answers with
/// `--format json` (the fields of `zmreip.outcome/v1` a cluster run
/// reads). `run` is `null` when the node had nothing to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeOutcome {
    pub run: Option<String>,
    pub state: Option<String>,
    pub lines: Vec<String>,
}

/// How long a node's finishing or rollback command may take.
const NODE_TIMEOUT: Duration = PHASE_TIMEOUT;

struct Ctx<'a> {
    plan: &'a ClusterPlan,
    session: &'a Session,
    opts: &'a Options,
    j: &'a Journal,
    run: ClusterRun,
    report: &'a mut dyn FnMut(&str),
    /// Nodes whose run a phase finished (every step done).
    finished: Vec<String>,
}

impl Ctx<'_> {
    fn save(&self) -> Result<()> {
        let json = serde_json::to_vec_pretty(&self.run).expect("cluster runs serialize");
        self.j.replace_file("cluster.json", &json)
    }

    fn node_run(&self, node: &str) -> Option<String> {
        self.run
            .nodes
            .iter()
            .find(|n| n.name == node)
            .and_then(|n| n.run.clone())
    }

    fn set_node_run(&mut self, node: &str, id: &str) -> Result<()> {
        if let Some(n) = self.run.nodes.iter_mut().find(|n| n.name == node) {
            n.run = Some(id.to_string());
        }
        self.save()
    }

    /// The node's plan and how it is given on the command line.
    fn node(&self, name: &str) -> Result<&ClusterNode> {
        self.plan.node(name).ok_or_else(|| {
            Error::other(
                format!("the cluster plan has no node {name}"),
                "make the plan again with `zmreip plan --cluster`",
            )
        })
    }

    fn apply_args(&self, node: &str, extra: &[&str]) -> Vec<String> {
        apply_args(self.plan, self.session, self.opts, node, extra)
    }

    fn plan_json(&self, node: &str) -> Result<Vec<u8>> {
        Ok(crate::plan::render::json(&self.node(node)?.plan).into_bytes())
    }

    /// Runs one phase on a node: the node's first phase makes its run
    /// (`apply --only`), later ones continue it (`resume --only`).
    fn phase(&mut self, node: &str, only: &str) -> Result<()> {
        let outcome: NodeOutcome = match self.node_run(node) {
            None => {
                let args = self.apply_args(
                    node,
                    &[
                        "--only",
                        only,
                        "--yes",
                        "--no-rollback",
                        "--no-verify",
                        "--format",
                        "json",
                    ],
                );
                let plan = self.plan_json(node)?;
                let o: NodeOutcome = self.session.json(node, &args, Some(&plan), PHASE_TIMEOUT)?;
                if let Some(run) = &o.run {
                    self.set_node_run(node, run)?;
                }
                o
            }
            Some(run) => {
                let mut args = vec![
                    "resume".to_string(),
                    run,
                    "--only".into(),
                    only.into(),
                    "--format".into(),
                    "json".into(),
                ];
                args.extend(self.session.root_args(node, false));
                args.extend(again_args(self.plan, self.opts, node));
                self.session.json(node, &args, None, PHASE_TIMEOUT)?
            }
        };
        for l in &outcome.lines {
            (self.report)(&format!("    {node}: {l}"));
        }
        if outcome.state.as_deref() == Some("applied") {
            self.finished.push(node.to_string());
        }
        Ok(())
    }

    /// `zmreip verify` on a node: the moving node on its new address, a
    /// peer for the moved node's name and services.
    fn verify(&mut self, node: &str) -> Result<()> {
        let n = self.node(node)?;
        let mut args = vec!["verify".to_string()];
        for t in &self.plan.to {
            args.extend(["--to".into(), t.clone()]);
        }
        for f in &self.plan.from {
            args.extend(["--from".into(), f.clone()]);
        }
        match n.role {
            // A cluster plan never has a window or bound node: the moving
            // node verifies as in the own role (a bind is one host's).
            Role::Own | Role::Window(_) | Role::Bound => {}
            Role::Peer => {
                args.extend(["--peer".into(), self.plan.moving.clone()]);
                if let Some(m) = self.plan.node(&self.plan.moving) {
                    for ep in &m.endpoints {
                        args.extend(["--reach".into(), ep.port.to_string()]);
                    }
                }
            }
        }
        // The nodes that stay keep the networks they live in.
        for other in self
            .plan
            .nodes
            .iter()
            .filter(|o| o.name != self.plan.moving)
        {
            for a in &other.addresses {
                args.extend(["--staying".into(), a.clone()]);
            }
        }
        if let Some(t) = self.opts.probe_timeout {
            args.extend(["--probe-timeout".into(), t.to_string()]);
        }
        args.extend(self.session.root_args(node, true));
        args.extend(directory_args(self.plan, self.opts, node));
        args.extend(["--format".into(), "json".into()]);
        let reply = self.session.run(node, &args, None, PHASE_TIMEOUT)?;
        let report: serde_json::Value = serde_json::from_slice(&reply.stdout)
            .map_err(|_| super::node_failed(node, &args, &reply))?;
        let failed: Vec<String> = report["checks"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter(|c| c["status"] == "fail")
                    .map(|c| {
                        format!(
                            "{}: {}",
                            c["id"].as_str().unwrap_or("?"),
                            c["summary"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        if failed.is_empty() {
            (self.report)(&format!(
                "    {node}: verified ({} checks passed, {} skipped)",
                report["passed"], report["skipped"]
            ));
            return Ok(());
        }
        Err(Error::other(
            format!("verify failed on {node}:\n    {}", failed.join("\n    ")),
            format!("run the same `zmreip verify` on {node} to see the evidence"),
        ))
    }

    fn step(&mut self, s: &OrderStep) -> Result<()> {
        match s.phase {
            Phase::Files => self.phase(&s.node, "files"),
            Phase::Directory => self.phase(&s.node, "directory"),
            Phase::Service => {
                let service = s.service.map(Service::as_str).unwrap_or("all");
                self.phase(&s.node, service)
            }
            Phase::Verify => self.verify(&s.node),
        }
    }
}

/// The directory arguments of a node's commands: `--no-directory` but on
/// the node that changes the directory, which reaches it as planned.
fn directory_args(plan: &ClusterPlan, opts: &Options, node: &str) -> Vec<String> {
    let mut args = Vec::new();
    if node != plan.directory.node {
        args.push("--no-directory".into());
        return args;
    }
    if let Some(l) = &opts.ldif {
        args.extend(["--ldif".into(), l.display().to_string()]);
        return args;
    }
    if !plan.directory.urls.is_empty() {
        args.extend(["--ldap-url".into(), plan.directory.urls.join(" ")]);
    }
    if let Some(dn) = &opts.bind_dn {
        args.extend(["--bind-dn".into(), dn.clone()]);
    }
    if let Some(p) = &opts.password_file {
        let p = std::path::absolute(p).unwrap_or_else(|_| p.clone());
        args.extend(["--bind-password-file".into(), p.display().to_string()]);
    }
    args
}

/// `apply --plan -` on a node (the plan on standard input), with `extra`.
fn apply_args(
    plan: &ClusterPlan,
    session: &Session,
    opts: &Options,
    node: &str,
    extra: &[&str],
) -> Vec<String> {
    let mut args = vec!["apply".to_string(), "--plan".into(), "-".into()];
    args.extend(extra.iter().map(ToString::to_string));
    args.extend(session.root_args(node, true));
    args.extend(directory_args(plan, opts, node));
    args.extend(services_args(opts));
    args
}

/// What `resume` and `rollback` of a node's run are told: the services
/// file, and on the directory's node the LDIF export (a node whose root
/// is not its `/` trusts its journal with neither).
fn again_args(plan: &ClusterPlan, opts: &Options, node: &str) -> Vec<String> {
    let mut args = services_args(opts);
    if node == plan.directory.node
        && let Some(l) = &opts.ldif
    {
        args.extend(["--ldif".into(), l.display().to_string()]);
    }
    args
}

/// `--services FILE` when the cluster run was given one: every node's
/// apply, resume and rollback run those commands (a node whose root is
/// not its `/` runs no other).
fn services_args(opts: &Options) -> Vec<String> {
    match &opts.services {
        Some(s) => vec!["--services".into(), s.display().to_string()],
        None => Vec::new(),
    }
}

/// Checks every node's plan against the node (`apply --check`): nothing
/// is written anywhere unless every precondition on every node holds.
fn check_all(plan: &ClusterPlan, session: &Session, opts: &Options) -> Result<()> {
    let errors: Vec<Error> = std::thread::scope(|s| {
        let handles: Vec<_> = plan
            .nodes
            .iter()
            .filter(|n| !n.plan.changes.is_empty() || !n.plan.actions.is_empty())
            .map(|n| {
                let args = apply_args(plan, session, opts, &n.name, &["--check"]);
                let body = crate::plan::render::json(&n.plan).into_bytes();
                s.spawn(move || {
                    let reply = session.run(&n.name, &args, Some(&body), PHASE_TIMEOUT)?;
                    if reply.success() {
                        Ok(())
                    } else {
                        Err(super::node_failed(&n.name, &args, &reply))
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("a checking thread does not panic").err())
            .collect()
    });
    if errors.is_empty() {
        return Ok(());
    }
    Err(Error::other(
        format!(
            "{} node(s) do not match the plan; nothing was written on any node:\n{}",
            errors.len(),
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
        "make the plan again with `zmreip plan --cluster` and review it",
    ))
}

/// Where the time of an apply went, by kind of step, in order.
#[derive(Default)]
struct Timings(Vec<(String, Duration)>);

impl Timings {
    fn add(&mut self, kind: &str, since: Instant) {
        let d = since.elapsed();
        match self.0.iter_mut().find(|(k, _)| k == kind) {
            Some((_, t)) => *t += d,
            None => self.0.push((kind.to_string(), d)),
        }
    }

    fn text(&self) -> String {
        let total: Duration = self.0.iter().map(|(_, d)| *d).sum();
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, d)| format!("{k} {:.2} s", d.as_secs_f64()))
            .collect();
        format!("{:.2} s ({})", total.as_secs_f64(), parts.join(", "))
    }
}

/// What a finished cluster apply or rollback reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    /// The cluster run's state afterwards.
    pub state: State,
    /// Whether this command changed the nodes (false for a run already
    /// rolled back).
    pub changed: bool,
    pub lines: Vec<String>,
}

/// Applies `plan` over `session`. On a failing step, rolls every node
/// back (unless `--no-rollback`) and returns the error.
pub fn apply(
    plan: &ClusterPlan,
    session: &Session,
    opts: &Options,
    report: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    report("checking every node's plan against the node");
    let mut times = Timings::default();
    let started = Instant::now();
    check_all(plan, session, opts)?;
    times.add("check", started);
    let root = opts.root.as_path();
    let _lock = journal::lock(root, &CLUSTER_RUNS)?;
    let j = Journal::create(root, &CLUSTER_RUNS)?;
    j.create_file("cluster-plan.json", plan::json(plan).as_bytes())?;
    let run = ClusterRun {
        id: j.id.clone(),
        created: journal::rfc3339(journal::now()),
        version: env!("CARGO_PKG_VERSION").to_string(),
        from: plan.from.clone(),
        to: plan.to.clone(),
        moving: plan.moving.clone(),
        nodes: plan
            .nodes
            .iter()
            .map(|n| NodeRun {
                name: n.name.clone(),
                via: n.via.clone(),
                run: None,
            })
            .collect(),
    };
    j.set_state(State::Running)?;
    let mut ctx = Ctx {
        plan,
        session,
        opts,
        j: &j,
        run,
        report,
        finished: Vec::new(),
    };
    ctx.save()?;
    (ctx.report)(&format!("cluster run {} ({})", j.id, j.dir.display()));
    let steps: Vec<(usize, &OrderStep)> = plan
        .order
        .iter()
        .enumerate()
        .map(|(i, s)| (i + 1, s))
        .filter(|(_, s)| s.phase != Phase::Verify)
        .filter(|(_, s)| !(opts.no_restart && s.phase == Phase::Service))
        .collect();
    let n = plan.order.len();
    for (k, s) in &steps {
        (ctx.report)(&format!("[{k}/{n}] {}", s.describe()));
        let started = Instant::now();
        j.log(&Event::Begin(*k))?;
        if let Err(e) = ctx.step(s) {
            return Err(failed(&mut ctx, *k, s, e));
        }
        j.log(&Event::Done(*k, None))?;
        times.add(&s.kind(), started);
    }
    let started = Instant::now();
    // Every node's run finished: the steps no phase named (a network
    // action run by hand) are listed by the node.
    for node in plan.nodes.iter().map(|n| n.name.clone()) {
        let Some(run) = ctx.node_run(&node) else {
            continue;
        };
        if ctx.finished.contains(&node) {
            continue;
        }
        let mut args = vec!["resume".to_string(), run, "--format".into(), "json".into()];
        if opts.no_restart {
            args.extend([
                "--only".into(),
                "files".into(),
                "--only".into(),
                "directory".into(),
            ]);
        }
        args.extend(session.root_args(&node, false));
        args.extend(again_args(plan, opts, &node));
        match session.json::<NodeOutcome>(&node, &args, None, NODE_TIMEOUT) {
            Ok(o) => {
                for l in &o.lines {
                    (ctx.report)(&format!("    {node}: {l}"));
                }
            }
            Err(e) => {
                let s = OrderStep {
                    node: node.clone(),
                    phase: Phase::Service,
                    service: None,
                    action: None,
                };
                return Err(failed(&mut ctx, n, &s, e));
            }
        }
    }
    times.add("finish", started);
    let mut verified = Vec::new();
    if !opts.no_verify && !opts.no_restart {
        for (k, s) in plan
            .order
            .iter()
            .enumerate()
            .map(|(i, s)| (i + 1, s))
            .filter(|(_, s)| s.phase == Phase::Verify)
        {
            (ctx.report)(&format!("[{k}/{n}] {}", s.describe()));
            let started = Instant::now();
            j.log(&Event::Begin(k))?;
            if let Err(e) = ctx.step(s) {
                return Err(failed(&mut ctx, k, s, e));
            }
            j.log(&Event::Done(k, None))?;
            times.add("verify", started);
            verified.push(s.node.clone());
        }
    }
    j.set_state(State::Applied)?;
    let mut lines = vec![format!(
        "applied cluster run {} on {} node(s): {}",
        j.id,
        plan.nodes.len(),
        ctx.run
            .nodes
            .iter()
            .map(|n| format!(
                "{} run {}",
                n.name,
                n.run.as_deref().unwrap_or("(nothing to do)")
            ))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    if verified.is_empty() {
        lines.push("not verified (--no-verify or --no-restart)".into());
    } else {
        lines.push(format!("verified on every node: {}", verified.join(", ")));
    }
    let handoffs: Vec<String> = plan
        .nodes
        .iter()
        .flat_map(|n| {
            n.plan
                .handoffs
                .iter()
                .map(|h| format!("    [{}] {}", h.code, h.message))
        })
        .chain(
            plan.skipped
                .iter()
                .map(|k| format!("    [{}] on {}: {}", Code::SkippedNode, k.name, k.command)),
        )
        .collect();
    if !handoffs.is_empty() {
        lines.push("still to do off these nodes:".into());
        lines.extend(handoffs);
    }
    lines.push(format!("time spent: {}", times.text()));
    lines.push(format!("undo with `zmreip rollback --cluster {}`", j.id));
    Ok(Outcome {
        id: j.id.clone(),
        state: State::Applied,
        changed: true,
        lines,
    })
}

/// Step `k` failed: journal it, roll back unless told not to.
fn failed(ctx: &mut Ctx, k: usize, s: &OrderStep, e: Error) -> Error {
    let _ = ctx.j.log(&Event::Fail(k, e.to_string()));
    let head = format!("step {k} ({}) failed: {e}", s.describe());
    let id = ctx.j.id.clone();
    if ctx.opts.no_rollback {
        let _ = ctx.j.set_state(State::Failed);
        return Error::other(
            format!("{head}\nnothing was rolled back (--no-rollback)"),
            format!("undo every node with `zmreip rollback --cluster {id}`"),
        );
    }
    (ctx.report)(&format!("step {k} failed; rolling back every node"));
    match roll_back(ctx) {
        Ok(lines) => Error::other(
            format!("{head}\nrolled back: {}", lines.join("; ")),
            format!(
                "every node is as before; the cluster journal is {}",
                ctx.j.dir.display()
            ),
        ),
        Err(e2) => Error::other(
            format!("{head}\nthe rollback failed too: {e2}"),
            format!("fix that, then run `zmreip rollback --cluster {id}` again"),
        ),
    }
}

/// Rolls every node with a run back: first each node's writes, the nodes
/// in reverse order (the last changed first, the directory's node last
/// when it came first), then the service actions that had run, service by
/// service (ldap first, so the others find the directory), then each run
/// is closed. Goes on past a node that fails, and names every failure.
fn roll_back(ctx: &mut Ctx) -> Result<Vec<String>> {
    ctx.j.set_state(State::RollingBack)?;
    ctx.j.log(&Event::Rollback)?;
    let with_runs: Vec<(String, String)> = ctx
        .plan
        .nodes
        .iter()
        .filter_map(|n| ctx.node_run(&n.name).map(|r| (n.name.clone(), r)))
        .collect();
    let mut errors: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    let mut call = |ctx: &mut Ctx, node: &str, run: &str, only: &[&str]| -> bool {
        let mut args = vec![
            "rollback".to_string(),
            run.to_string(),
            "--yes".into(),
            "--format".into(),
            "json".into(),
        ];
        for o in only {
            args.extend(["--only".into(), o.to_string()]);
        }
        args.extend(ctx.session.root_args(node, false));
        args.extend(again_args(ctx.plan, ctx.opts, node));
        match ctx
            .session
            .json::<NodeOutcome>(node, &args, None, NODE_TIMEOUT)
        {
            Ok(o) => {
                for l in &o.lines {
                    (ctx.report)(&format!("    {node}: {l}"));
                }
                true
            }
            Err(e) => {
                errors.push(e.to_string());
                false
            }
        }
    };
    for (node, run) in with_runs.iter().rev() {
        (ctx.report)(&format!("undoing the writes of {node}"));
        if call(ctx, node, run, &["files", "directory"]) {
            lines.push(format!("{node} restored"));
        }
    }
    for service in Service::ALL {
        for (node, run) in &with_runs {
            let ran = ctx
                .node(node)
                .is_ok_and(|n| n.plan.actions.iter().any(|a| a.service == *service));
            if ran {
                call(ctx, node, run, &[service.as_str()]);
            }
        }
    }
    for (node, run) in with_runs.iter().rev() {
        call(ctx, node, run, &[]);
    }
    if errors.is_empty() {
        ctx.j.set_state(State::RolledBack)?;
        Ok(lines)
    } else {
        ctx.j.set_state(State::Failed)?;
        Err(Error::other(
            errors.join("\n"),
            "fix the nodes named, then run `zmreip rollback --cluster` again",
        ))
    }
}

/// A recorded cluster run: its plan and its nodes' runs.
pub struct Recorded {
    pub plan: ClusterPlan,
    pub run: ClusterRun,
    journal: Journal,
}

/// Opens cluster run `id` (the latest when `None`) under the root.
pub fn open(root: &Path, id: Option<&str>) -> Result<Recorded> {
    let j = Journal::open(root, &CLUSTER_RUNS, id)?;
    let damaged = |what: String| {
        Error::other(
            format!("cluster run {}: {what}", j.id),
            format!(
                "the run directory {} is damaged; inspect it by hand",
                j.dir.display()
            ),
        )
    };
    let raw = j
        .read_file("cluster.json")?
        .ok_or_else(|| damaged("cluster.json is missing".into()))?;
    let run: ClusterRun = serde_json::from_slice(&raw)
        .map_err(|e| damaged(format!("cluster.json does not read: {e}")))?;
    let raw = j
        .read_file("cluster-plan.json")?
        .ok_or_else(|| damaged("cluster-plan.json is missing".into()))?;
    let value: serde_json::Value = serde_json::from_slice(&raw)
        .map_err(|e| damaged(format!("cluster-plan.json does not read: {e}")))?;
    let plan = plan::load(&j.path("cluster-plan.json"), value)?;
    Ok(Recorded {
        plan,
        run,
        journal: j,
    })
}

impl Recorded {
    /// The nodes with a run, which a rollback reaches.
    pub fn nodes_with_runs(&self) -> Vec<String> {
        self.run
            .nodes
            .iter()
            .filter(|n| n.run.is_some())
            .map(|n| n.name.clone())
            .collect()
    }
}

/// `rollback --cluster`: rolls every node of a recorded run back, over
/// `session`. Idempotent: each node's rollback is.
pub fn rollback(
    rec: &Recorded,
    session: &Session,
    opts: &Options,
    report: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    let _lock = journal::lock(&opts.root, &CLUSTER_RUNS)?;
    if rec.journal.state()? == State::RolledBack {
        return Ok(Outcome {
            id: rec.journal.id.clone(),
            state: State::RolledBack,
            changed: false,
            lines: vec![format!(
                "cluster run {} is already rolled back; nothing to do",
                rec.journal.id
            )],
        });
    }
    let mut ctx = Ctx {
        plan: &rec.plan,
        session,
        opts,
        j: &rec.journal,
        run: rec.run.clone(),
        report,
        finished: Vec::new(),
    };
    let mut lines = vec![format!("rolled back cluster run {}", rec.journal.id)];
    lines.extend(roll_back(&mut ctx)?);
    Ok(Outcome {
        id: rec.journal.id.clone(),
        state: rec.journal.state()?,
        changed: true,
        lines,
    })
}

/// One cluster run as `history --cluster` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: String,
    pub state: String,
    pub created: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub moving: String,
    /// Node → its run id (`null` when no phase ran there).
    pub nodes: BTreeMap<String, Option<String>>,
    /// The failure of the last failed step, if any.
    pub failed: Option<String>,
    pub dir: String,
}

/// Every cluster run under the root, oldest first.
pub fn history(root: &Path) -> Result<Vec<Summary>> {
    let locked = journal::is_locked(root, &CLUSTER_RUNS);
    let ids = journal::list(root, &CLUSTER_RUNS)?;
    let latest = ids.last().cloned();
    let mut out = Vec::new();
    for id in ids {
        let rec = open(root, Some(&id))?;
        let failed = rec.journal.events()?.iter().rev().find_map(|e| match e {
            Event::Fail(k, m) => Some(format!("step {k}: {m}")),
            _ => None,
        });
        let live = locked && latest.as_ref() == Some(&id);
        let state = match rec.journal.state()? {
            State::Running | State::RollingBack if !live => "interrupted".to_string(),
            s => s.as_str().to_string(),
        };
        out.push(Summary {
            id: id.clone(),
            state,
            created: rec.run.created.clone(),
            from: rec.run.from.clone(),
            to: rec.run.to.clone(),
            moving: rec.run.moving.clone(),
            nodes: rec
                .run
                .nodes
                .iter()
                .map(|n| (n.name.clone(), n.run.clone()))
                .collect(),
            failed,
            dir: rec.journal.dir.display().to_string(),
        });
    }
    Ok(out)
}

/// `history --cluster` for people.
pub fn history_text(runs: &[Summary]) -> String {
    if runs.is_empty() {
        return "no zmreip cluster runs coordinated from this host\n".into();
    }
    let mut s = String::new();
    for r in runs {
        s.push_str(&format!(
            "{}  {:<12} {}  {} moves {} -> {}\n",
            r.id,
            r.state,
            r.created,
            r.moving,
            r.from.join(","),
            r.to.join(",")
        ));
        for (node, run) in &r.nodes {
            s.push_str(&format!(
                "    {node}: {}\n",
                run.as_deref()
                    .map_or("no run (nothing done there)".to_string(), |r| format!(
                        "run {r}"
                    ))
            ));
        }
        if let Some(f) = &r.failed {
            s.push_str(&format!("    failed at {f}\n"));
        }
        if r.state == "interrupted" || r.state == "failed" {
            s.push_str(&format!(
                "    undo it: `zmreip rollback --cluster {}`\n",
                r.id
            ));
        }
    }
    s
}

/// Writes the line of a cluster `command` (`apply`, `rollback`) on
/// cluster run `id` to the system log ([`crate::audit`]); its steps are
/// the nodes that have a run, of all the nodes. Each node writes its own
/// runs' lines on its own host.
pub fn audit(command: &'static str, root: &Path, id: &str, failed: bool) {
    let Ok(rec) = open(root, Some(id)) else {
        return;
    };
    let state = rec.journal.state().map_or("unknown", State::as_str);
    let changes = rec.plan.nodes.iter().map(|n| n.plan.changes.len()).sum();
    let with_runs = rec.run.nodes.iter().filter(|n| n.run.is_some()).count();
    crate::audit::record(&crate::audit::Entry {
        command: if command == "apply" {
            "cluster-apply"
        } else {
            "cluster-rollback"
        },
        run: id,
        from: &rec.run.from,
        to: &rec.run.to,
        changes,
        steps: (with_runs, rec.run.nodes.len()),
        result: state,
        failed,
    });
}
