//! Make-before-break moves (`zmreip window`, DESIGN.md principle 12).
//!
//! `apply` moves a host at once: while services restart on the new
//! address, and while DNS caches still hold the old one, clients are
//! refused. A window cuts the same move into three phases, each an
//! ordinary journaled run (its own plan, preconditions, backups, service
//! actions, verify and rollback):
//!
//! 1. **open**: the host serves on both addresses. The new address is
//!    added beside the old one at runtime and in the OS network files,
//!    trust lists gain the new entries beside the old ones, listeners that
//!    take several addresses listen on both, and the TTLs of the published
//!    records that will move are lowered. Nothing clients find the server
//!    by changes.
//! 2. **switch**: names move (the hosts file, zone files, RFC 2136 zones,
//!    dnsmasq, localconfig URLs) and so do the listeners that take one
//!    address; the TTLs open lowered come back. Refused until the longest
//!    TTL before open has passed since open (caches may hold the old record
//!    that long), unless `--force`.
//! 3. **close**: the old address is retired everywhere (the own move of
//!    what is left), and removed from the interface last. Refused until
//!    the records' TTL has passed since the switch, and then waits until
//!    no connection has arrived on the old address for a quiet period
//!    ([`quiet`]), unless `--force`.
//!
//! The roles of the policy ([`crate::policy::Role::Window`]) decide what
//! each phase changes; the three together write exactly what `apply`
//! writes (zone serials aside: each phase that changes a zone raises its
//! serial). Inside each phase the service actions are ordered so that no
//! listener is down while a client may use it ([`plan::finish`]), and
//! slapd restarts with new connections held ([`hold`]).
//!
//! What the later phases need is in the state file ([`state`]).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::apply::{self, Outcome, Prepared, journal};
use crate::directory::ldap::Overrides;
use crate::discover::{DirectoryArgs, SourceArgs, Sources};
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::plan::build::Request;
use crate::policy::Phase;
use crate::services::Service;
use crate::spec::AddrArg;
use crate::surface::Extra;

pub mod hold;
pub mod plan;
pub mod quiet;
pub mod runtime;
pub mod state;

pub use state::{Settings, State, Where};

/// What `window open` is asked.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    pub from: Vec<AddrArg>,
    pub to: Vec<AddrArg>,
    /// The TTL the published records that will move get, in seconds.
    pub lower_ttl: u32,
    pub settings: Settings,
}

/// How `window close` waits for the old address to fall quiet.
#[derive(Debug, Clone, Copy)]
pub struct Quiet {
    /// No connection for this long.
    pub period: Duration,
    /// Give up after this long.
    pub limit: Duration,
}

/// A phase planned and checked against the host, waiting to run.
pub struct Pending {
    pub phase: Phase,
    pub prepared: Prepared,
    /// Lines for people about the phase (gates passed, runtime changes).
    pub notes: Vec<String>,
    opts: apply::Options,
    root: PathBuf,
    state: State,
    _lock: state::Lock,
}

impl Pending {
    /// The plan the phase runs.
    pub fn plan(&self) -> &Plan {
        &self.prepared.plan
    }
}

/// Plans `window open`: refused while another window is open.
pub fn open(root: &Path, req: OpenRequest, progress: &mut dyn FnMut(&str)) -> Result<Pending> {
    let lock = state::lock(root)?;
    if let Some(mut st) = state::load(root)? {
        settle(root, &mut st)?;
        match st.phase(root)? {
            Where::NotOpen => {}
            Where::At(Phase::Close, _) => {
                state::retire(root, &st)?;
            }
            Where::At(p, _) => {
                return Err(Error::usage(
                    format!(
                        "a window {} → {} is already open on this host ({} done)",
                        st.from.join(", "),
                        st.to.join(", "),
                        p.as_str()
                    ),
                    "finish it (`zmreip window status` says what comes next) or roll its runs back",
                ));
            }
        }
    }
    let settings = absolute(req.settings)?;
    let mut sources = Sources::open(&source_args(root, &settings)?)?;
    let request = Request {
        from: req.from.clone(),
        to: req.to.clone(),
        gateways: settings.gateways.clone(),
        ..Request::default()
    };
    let (built, ttl) = plan::open(&mut sources, &request, req.lower_ttl, progress)?;
    let pairs = crate::plan::build::resolve_pairs(&sources, &req.from, &req.to);
    let (runtime, notes) = if acts_here(root, &settings) {
        runtime::plan(&pairs, runtime::kernel_address)?
    } else {
        (Vec::new(), Vec::new())
    };
    let mut built = plan::finish(built, Phase::Open, &runtime);
    built.warnings.extend(notes);
    built.seal();
    let st = State {
        schema: state::SCHEMA.to_string(),
        from: built.from.clone(),
        to: built.to.clone(),
        settings,
        runtime,
        ttl,
        runs: Vec::new(),
        pending: None,
    };
    let mut notes = Vec::new();
    if st.ttl.longest > 0 {
        notes.push(format!(
            "the records that move had a TTL of up to {} s; the switch is safe that long after this run",
            st.ttl.longest
        ));
    }
    pending(root, Phase::Open, built, st, notes, lock)
}

/// Plans `window switch`: refused before the longest TTL open lowered
/// has passed since open, unless `force`. `progress` hears what is read.
pub fn switch(root: &Path, force: bool, progress: &mut dyn FnMut(&str)) -> Result<Pending> {
    let lock = state::lock(root)?;
    let mut st = current(root)?;
    let opened = match st.phase(root)? {
        Where::At(Phase::Open, done) => done,
        w => return Err(wrong_phase(&st, w, Phase::Switch)),
    };
    let mut notes = Vec::new();
    let safe = opened + u64::from(st.ttl.longest);
    gate(
        safe,
        force,
        &format!(
            "caches may still hold the records as they were before the window (TTL up to {} s)",
            st.ttl.longest
        ),
        "zmreip window switch",
        &mut notes,
    )?;
    settle(root, &mut st)?;
    let mut sources = Sources::open(&source_args(root, &st.settings)?)?;
    let built = plan::switch(&mut sources, &request(&st)?, &st.ttl, progress)?;
    let built = plan::finish(built, Phase::Switch, &st.runtime);
    pending(root, Phase::Switch, built, st, notes, lock)
}

/// Plans `window close`: refused before the records' TTL has passed
/// since the switch (unless `force`), then waits for the old address to
/// be quiet (unless `force`), saying so through `report`. `progress`
/// hears what is read.
pub fn close(
    root: &Path,
    force: bool,
    quiet: Quiet,
    report: &mut dyn FnMut(&str),
    progress: &mut dyn FnMut(&str),
) -> Result<Pending> {
    let lock = state::lock(root)?;
    let mut st = current(root)?;
    let switched = match st.phase(root)? {
        Where::At(Phase::Switch, done) => done,
        w => return Err(wrong_phase(&st, w, Phase::Close)),
    };
    let mut notes = Vec::new();
    let ttl = st.ttl.lowered_to.unwrap_or(st.ttl.longest);
    gate(
        switched + u64::from(ttl),
        force,
        &format!("caches may still hold the old records (TTL {ttl} s since the switch)"),
        "zmreip window close",
        &mut notes,
    )?;
    let olds = old_addrs(&st)?;
    if force {
        notes.push("closed without waiting for quiet on the old address (--force)".into());
    } else if acts_here(root, &st.settings) {
        quiet::wait(&olds, quiet.period, quiet.limit, report)?;
        notes.push(format!(
            "no connection arrived on the old address for {} s",
            quiet.period.as_secs()
        ));
    } else {
        notes.push(format!(
            "--root {} is not this host: its connections cannot be watched",
            root.display()
        ));
    }
    settle(root, &mut st)?;
    let mut sources = Sources::open(&source_args(root, &st.settings)?)?;
    let built = plan::close(&mut sources, &request(&st)?, progress)?;
    let built = plan::finish(built, Phase::Close, &st.runtime);
    pending(root, Phase::Close, built, st, notes, lock)
}

/// Runs a planned phase and records it in the state file.
pub fn run(p: Pending, report: &mut dyn FnMut(&str)) -> Result<Outcome> {
    let Pending {
        phase,
        prepared,
        notes,
        opts,
        root,
        mut state,
        _lock,
    } = p;
    state.pending = Some(state::Started {
        phase,
        after: journal::list(&root, &journal::RUNS)?.pop(),
    });
    state::save(&root, &state)?;
    let out = apply::run::apply(&prepared, &opts, report);
    settle(&root, &mut state)?;
    let mut out = out?;
    out.lines.splice(0..0, notes);
    out.lines.extend(next_lines(&root, &state)?);
    Ok(out)
}

/// The phase's runs after a run: the pending phase's run (the first run
/// after the one that was latest when it started) is recorded; one that
/// never began is forgotten.
fn settle(root: &Path, st: &mut State) -> Result<()> {
    let Some(p) = st.pending.take() else {
        return Ok(());
    };
    let ids = journal::list(root, &journal::RUNS)?;
    let run = ids
        .into_iter()
        .find(|id| p.after.as_ref().is_none_or(|a| id > a));
    if let Some(run) = run {
        st.runs.push(state::PhaseRun {
            phase: p.phase,
            run,
            done: journal::now(),
        });
    }
    state::save(root, st)
}

/// The state of the open window, its pending phase settled.
fn current(root: &Path) -> Result<State> {
    let mut st = state::load(root)?.ok_or_else(|| {
        Error::usage(
            format!("no window is open on {}", root.display()),
            "open one with `zmreip window open --from OLD --to NEW`",
        )
    })?;
    settle(root, &mut st)?;
    Ok(st)
}

fn wrong_phase(st: &State, at: Where, want: Phase) -> Error {
    let now = match at {
        Where::NotOpen => "not open (its open was rolled back)".to_string(),
        Where::At(p, _) => format!("at its {} phase", p.as_str()),
    };
    let next = match at {
        Where::NotOpen => "open it again with `zmreip window open`".to_string(),
        Where::At(Phase::Open, _) => "run `zmreip window switch` first".to_string(),
        Where::At(Phase::Switch, _) => "run `zmreip window close`".to_string(),
        Where::At(Phase::Close, _) => "the window is closed; nothing is left to do".to_string(),
    };
    Error::usage(
        format!(
            "the window {} → {} is {now}, so it cannot {}",
            st.from.join(", "),
            st.to.join(", "),
            want.as_str()
        ),
        next,
    )
}

/// Whether the host is this machine, whose kernel (interfaces,
/// connections) the window acts on: its root is `/`, or a services file
/// says how its services run (as `apply` decides whether to run them).
fn acts_here(root: &Path, s: &Settings) -> bool {
    s.services.is_some() || apply::is_slash(root)
}

/// Refuses before `safe` (Unix seconds) unless `force`, saying when.
fn gate(safe: u64, force: bool, why: &str, again: &str, notes: &mut Vec<String>) -> Result<()> {
    let now = journal::now();
    if now >= safe {
        return Ok(());
    }
    let when = journal::rfc3339(safe);
    if force {
        notes.push(format!(
            "run before {when} (--force): {why}, so some clients may still use the old address"
        ));
        return Ok(());
    }
    Err(Error::other(
        format!(
            "too early: {why}; safe from {when} (in {})",
            duration(safe - now)
        ),
        format!("run `{again}` again then, or now with --force"),
    ))
}

/// `4 min 12 s`.
pub fn duration(secs: u64) -> String {
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// The old addresses of the window.
fn old_addrs(st: &State) -> Result<Vec<IpAddr>> {
    st.from
        .iter()
        .map(|f| {
            f.parse::<AddrArg>().map(|a| a.addr).map_err(|e| {
                Error::other(
                    format!("the window's address `{f}` does not read: {e}"),
                    "the state file is damaged",
                )
            })
        })
        .collect()
}

/// The move of the window, as the later phases plan it.
fn request(st: &State) -> Result<Request> {
    let parse = |l: &[String]| crate::verify::plan_addrs(l);
    Ok(Request {
        from: parse(&st.from)?,
        to: parse(&st.to)?,
        gateways: st.settings.gateways.clone(),
        ..Request::default()
    })
}

/// Paths of the settings made absolute, so the later phases find them
/// from any directory.
fn absolute(mut s: Settings) -> Result<Settings> {
    let abs = |p: &mut Option<PathBuf>| -> Result<()> {
        if let Some(path) = p {
            *path = std::path::absolute(&*path).map_err(|e| Error::io("read", &*path, e))?;
        }
        Ok(())
    };
    abs(&mut s.dns_config)?;
    abs(&mut s.ldif)?;
    abs(&mut s.bind_password_file)?;
    abs(&mut s.services)?;
    Ok(s)
}

/// Where the phases read the host from.
fn source_args(root: &Path, s: &Settings) -> Result<SourceArgs> {
    let zone_files = s
        .zone_files
        .iter()
        .map(|z| z.parse())
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(|e| {
            Error::other(
                format!("the window's --zone-file does not read: {e}"),
                "the state file is damaged",
            )
        })?;
    Ok(SourceArgs {
        root: root.to_path_buf(),
        zimbra_home: s.zimbra_home.clone(),
        directory: DirectoryArgs {
            ldif: s.ldif.clone(),
            ldap: overrides(s),
            none: s.no_directory,
        },
        extra: Extra {
            include: s.include.clone(),
            zone_files,
        },
        dns_config: s.dns_config.clone(),
    })
}

fn overrides(s: &Settings) -> Overrides {
    Overrides {
        urls: s.ldap_urls.clone(),
        bind_dn: s.bind_dn.clone(),
        password_file: s.bind_password_file.clone(),
        deep: false,
    }
}

/// The phase checked against the host, ready to run.
fn pending(
    root: &Path,
    phase: Phase,
    built: Plan,
    state: State,
    notes: Vec<String>,
    lock: state::Lock,
) -> Result<Pending> {
    let s = &state.settings;
    let network = match phase {
        Phase::Open if !state.runtime.is_empty() => Some(runtime::add(&state.runtime)),
        Phase::Close if !state.runtime.is_empty() => Some(runtime::remove(&state.runtime)),
        Phase::Open | Phase::Switch | Phase::Close => None,
    };
    let mut opts = apply::Options {
        root: root.to_path_buf(),
        zimbra_home: s.zimbra_home.clone(),
        ldif: s.ldif.clone(),
        no_restart: s.no_restart,
        restart_network: s.restart_network,
        no_rollback: false,
        services: s.services.clone(),
        ldap: overrides(s),
        no_directory: s.no_directory,
        dns_config: s.dns_config.clone(),
        verify: None,
        only: Vec::new(),
        network,
        // slapd cannot take a new listener without a restart.
        held: vec![(Service::Ldap, ldap_ports(root, s)?)],
    };
    let prepared = apply::prepare(built, &opts)?;
    if !s.no_verify {
        opts.verify = Some(verify_request(root, &state, phase, &prepared)?);
    }
    Ok(Pending {
        phase,
        prepared,
        notes,
        opts,
        root: root.to_path_buf(),
        state,
        _lock: lock,
    })
}

/// The TCP ports slapd listens on: those of `ldap_bind_url`, else the
/// first `ldap_url` (389 for `ldap://`, 636 for `ldaps://`).
fn ldap_ports(root: &Path, s: &Settings) -> Result<Vec<u16>> {
    let host = crate::host::Host::open(root, s.zimbra_home.as_deref())?;
    let path = host.zimbra_path("conf/localconfig.xml");
    let Some(text) = host.read(&path)? else {
        return Ok(vec![389]);
    };
    let value = |k: &str| {
        crate::surface::localconfig::value(&path, &text, k)
            .ok()
            .flatten()
            .filter(|v| !v.trim().is_empty())
    };
    let urls = value("ldap_bind_url")
        .or_else(|| value("ldap_url").and_then(|u| u.split_whitespace().next().map(String::from)))
        .unwrap_or_default();
    let mut ports: Vec<u16> = urls
        .split_whitespace()
        .filter_map(|u| crate::verify::listeners::ldap_url_host_port(u).map(|(_, p)| p))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        ports.push(389);
    }
    Ok(ports)
}

/// What verify proves after each phase: the new address serves (open:
/// the names still point to the old one); after the switch the names
/// point to the new one; after close, everything `apply` verifies.
fn verify_request(
    root: &Path,
    st: &State,
    phase: Phase,
    prepared: &Prepared,
) -> Result<crate::verify::VerifyRequest> {
    let s = &st.settings;
    let mut req = crate::verify::VerifyRequest::new(root, crate::verify::plan_addrs(&st.to)?);
    req.sources = source_args(root, s)?;
    req.hostname = s.hostname.clone();
    req.dns_server = s.dns_server;
    req.outside_source = s.outside_source;
    if let Some(t) = s.probe_timeout {
        req.timeout = Duration::from_secs_f64(t);
    }
    req.derived = prepared
        .plan
        .derived
        .iter()
        .map(|d| d.file.clone())
        .collect();
    match phase {
        Phase::Open => req.skip.push((
            "names",
            "the window is open: names point to the new address only after the switch".into(),
        )),
        Phase::Switch => {}
        Phase::Close => req.old = crate::verify::plan_addrs(&st.from)?,
    }
    Ok(req)
}

/// Where the window is, for `window status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub schema: &'static str,
    /// `not-open`, `open`, `switched` or `closed`.
    pub state: &'static str,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub runs: Vec<state::PhaseRun>,
    /// When the switch is safe (RFC 3339), while open.
    pub switch_after: Option<String>,
    /// When close is safe (RFC 3339), once switched.
    pub close_after: Option<String>,
    /// Whether the connections were looked at: the host is this machine
    /// and the window is open or switched (a copied snapshot's are not
    /// this machine's).
    pub watching: bool,
    /// Connections to the old address now (live or recently ended).
    pub connections: Vec<quiet::Conn>,
    /// Seconds since the last connection to the old address, as far as
    /// the kernel remembers.
    pub quiet_secs: Option<u64>,
    /// What to run next.
    pub next: Option<String>,
}

/// The schema of `window status --format json`.
pub const STATUS_SCHEMA: &str = "zmreip.window-status/v1";

/// Where the window of the host at `root` is.
pub fn status(root: &Path) -> Result<Option<Status>> {
    let Some(mut st) = state::load(root)? else {
        return Ok(None);
    };
    let _lock = state::lock(root)?;
    settle(root, &mut st)?;
    let at = st.phase(root)?;
    let (state, switch_after, close_after, next) = match at {
        Where::NotOpen => (
            "not-open",
            None,
            None,
            Some("zmreip window open (its open was rolled back)".to_string()),
        ),
        Where::At(Phase::Open, done) => (
            "open",
            Some(journal::rfc3339(done + u64::from(st.ttl.longest))),
            None,
            Some("zmreip window switch".to_string()),
        ),
        Where::At(Phase::Switch, done) => (
            "switched",
            None,
            Some(journal::rfc3339(
                done + u64::from(st.ttl.lowered_to.unwrap_or(st.ttl.longest)),
            )),
            Some("zmreip window close".to_string()),
        ),
        Where::At(Phase::Close, _) => ("closed", None, None, None),
    };
    let watch =
        matches!(at, Where::At(Phase::Open | Phase::Switch, _)) && acts_here(root, &st.settings);
    let connections = if watch {
        quiet::now(&old_addrs(&st)?)?
    } else {
        Vec::new()
    };
    Ok(Some(Status {
        schema: STATUS_SCHEMA,
        state,
        quiet_secs: quiet::quiet_for(&connections).map(|d| d.as_secs()),
        from: st.from.clone(),
        to: st.to.clone(),
        runs: st.runs.clone(),
        switch_after,
        close_after,
        watching: watch,
        connections,
        next,
    }))
}

/// `window status` for people.
pub fn status_text(s: Option<&Status>) -> String {
    let Some(s) = s else {
        return "no window on this host\n".into();
    };
    let mut out = format!(
        "window {} → {}: {}\n",
        s.from.join(", "),
        s.to.join(", "),
        s.state
    );
    for r in &s.runs {
        out.push_str(&format!(
            "  {:<6} run {}  done {}\n",
            r.phase.as_str(),
            r.run,
            journal::rfc3339(r.done)
        ));
    }
    for (label, at) in [("switch", &s.switch_after), ("close", &s.close_after)] {
        if let Some(t) = at {
            out.push_str(&format!("  {label} safe from {t}\n"));
        }
    }
    if matches!(s.state, "open" | "switched") && !s.watching {
        out.push_str(
            "  connections on the old address: not looked at (the root is not this machine)\n",
        );
    }
    if s.watching {
        match (
            &s.quiet_secs,
            s.connections
                .iter()
                .filter(|c| c.ended_secs_ago.is_none())
                .count(),
        ) {
            (_, n) if n > 0 => {
                out.push_str(&format!("  connections on the old address now: {n}\n"));
                for c in s.connections.iter().take(10) {
                    out.push_str(&format!("    {c}\n"));
                }
            }
            (Some(q), _) => out.push_str(&format!(
                "  no connection on the old address now; the last one ended {q} s ago\n"
            )),
            (None, _) => out.push_str("  no connection on the old address in the last minute\n"),
        }
    }
    if let Some(n) = &s.next {
        out.push_str(&format!("  next: {n}\n"));
    }
    out
}

/// After a phase: where the window is now and what comes next.
fn next_lines(root: &Path, st: &State) -> Result<Vec<String>> {
    let mut out = Vec::new();
    match st.phase(root)? {
        Where::At(Phase::Open, done) => out.push(format!(
            "window open: the host serves on {} and {}; `zmreip window switch` from {}",
            st.from.join(", "),
            st.to.join(", "),
            journal::rfc3339(done + u64::from(st.ttl.longest))
        )),
        Where::At(Phase::Switch, done) => out.push(format!(
            "window switched: names point to {}; `zmreip window close` from {} once nothing uses {} (`zmreip window status` shows its connections)",
            st.to.join(", "),
            journal::rfc3339(done + u64::from(st.ttl.lowered_to.unwrap_or(st.ttl.longest))),
            st.from.join(", ")
        )),
        Where::At(Phase::Close, _) => out.push(format!(
            "window closed: the host is on {} alone",
            st.to.join(", ")
        )),
        Where::NotOpen => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(local: &str, remote: &str, ended: Option<u64>) -> quiet::Conn {
        quiet::Conn {
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            state: if ended.is_some() {
                "TIME_WAIT"
            } else {
                "ESTABLISHED"
            },
            ended_secs_ago: ended,
        }
    }

    fn status(state: &'static str, watching: bool, connections: Vec<quiet::Conn>) -> Status {
        Status {
            schema: STATUS_SCHEMA,
            state,
            from: vec!["172.20.14.25/24".into()],
            to: vec!["10.40.7.131/24".into()],
            runs: vec![state::PhaseRun {
                phase: Phase::Open,
                run: "20261207T232052Z-1af5".into(),
                done: 1_796_685_652,
            }],
            switch_after: (state == "open").then(|| "2026-12-07T23:20:52Z".into()),
            close_after: (state == "switched").then(|| "2026-12-07T23:25:52Z".into()),
            quiet_secs: quiet::quiet_for(&connections).map(|d| d.as_secs()),
            watching,
            connections,
            next: Some("zmreip window switch".into()),
        }
    }

    #[test]
    fn status_text_says_the_phase_when_safe_and_who_is_on_the_old_address() {
        assert_eq!(status_text(None), "no window on this host\n");
        let live = status(
            "open",
            true,
            vec![
                conn("172.20.14.25:25", "198.51.100.7:40112", None),
                conn("172.20.14.25:143", "198.51.100.9:51000", Some(12)),
            ],
        );
        assert_eq!(
            status_text(Some(&live)),
            "window 172.20.14.25/24 → 10.40.7.131/24: open\n\
             \x20 open   run 20261207T232052Z-1af5  done 2026-12-07T23:20:52Z\n\
             \x20 switch safe from 2026-12-07T23:20:52Z\n\
             \x20 connections on the old address now: 1\n\
             \x20   172.20.14.25:25 from 198.51.100.7:40112 (ESTABLISHED)\n\
             \x20   172.20.14.25:143 from 198.51.100.9:51000 (ended 12 s ago)\n\
             \x20 next: zmreip window switch\n"
        );
        // Only ended connections: quiet since the latest ended.
        let ended = status(
            "switched",
            true,
            vec![
                conn("172.20.14.25:25", "198.51.100.7:40112", Some(40)),
                conn("172.20.14.25:25", "198.51.100.7:40114", Some(7)),
            ],
        );
        let text = status_text(Some(&ended));
        assert!(
            text.contains("  close safe from 2026-12-07T23:25:52Z\n"),
            "{text}"
        );
        assert!(
            text.contains("no connection on the old address now; the last one ended 7 s ago\n"),
            "{text}"
        );
        let quiet = status("switched", true, Vec::new());
        assert!(
            status_text(Some(&quiet))
                .contains("no connection on the old address in the last minute"),
        );
        // Trap: a copied root's connections were not looked at; saying
        // "none" would be a lie.
        let copy = status("open", false, Vec::new());
        let text = status_text(Some(&copy));
        assert!(text.contains("not looked at"), "{text}");
        assert!(!text.contains("no connection"), "{text}");
        // Closed: nothing about connections.
        let closed = status("closed", false, Vec::new());
        assert!(!status_text(Some(&closed)).contains("connection"));
    }
}
