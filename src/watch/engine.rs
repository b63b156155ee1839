//! The daemon's loop: detectors report addresses, targets are brought in
//! step one job at a time each (jobs run on blocking threads, never on
//! the loop), results go to the state file, signals reload or stop.
//!
//! Coalescing: while a target's job runs, newer addresses only change
//! what it should hold; when the job ends the loop compares again and
//! sends one more update if needed. With the detectors' settle time this
//! keeps a flapping address from causing an update storm.
//!
//! Failures: `Retry` backs off exponentially (2 s, 4 s, ... up to 10
//! minutes); `Wait` and `Stop` are remembered in the state file; `Hold`
//! waits for a new address or a reload. Nothing wakes the loop but an
//! event, a job's end, a signal, a backoff or deferral ending, a public
//! poll or the verification timer.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::config::{Config, Mode, Source};
use super::state::{Record, State, Stopped, Store};
use super::target::{Job, Outcome, Updater, Verdict, describe};
use super::{
    Addrs, Detected, Family, Options, dyndns2, hooks, log, netlink, public, rfc2136, zimbra,
};
use crate::apply::journal::{now, rfc3339};
use crate::error::{Error, Result};

/// The first retry after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The delay before retry number `n` (1-based), with up to a tenth more
/// at random.
pub fn backoff(n: u32) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1u32 << n.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    base.mul_f64(1.0 + public::jitter_fraction() / 10.0)
}

/// Builds the targets of a configuration.
pub fn targets(cfg: &Config) -> Vec<Arc<dyn Updater>> {
    let families: Vec<Family> = cfg.watch.iter().map(|w| w.family).collect();
    let mut out: Vec<Arc<dyn Updater>> = Vec::new();
    for z in &cfg.rfc2136 {
        for t in rfc2136::targets(z, &families, cfg.repair) {
            out.push(Arc::new(t));
        }
    }
    for d in &cfg.dyndns2 {
        out.push(Arc::new(dyndns2::Provider::new(d.clone())));
    }
    if cfg.zimbra.mode != Mode::Off {
        out.push(Arc::new(zimbra::ZimbraTarget::new(cfg.zimbra.clone())));
    }
    let hook_log = cfg.state.with_file_name("watch-hooks.log");
    for c in &cfg.hooks.after_change {
        out.push(Arc::new(hooks::Hook::new(
            c.clone(),
            cfg.hooks.timeout,
            hook_log.clone(),
        )));
    }
    let mut seen = BTreeSet::new();
    out.retain(|t| {
        let fresh = seen.insert(t.id());
        if !fresh {
            log::warn(&format!(
                "{} is configured twice; the first one is used",
                t.id()
            ));
        }
        fresh
    });
    out
}

/// One target and how it is doing.
struct Slot {
    up: Arc<dyn Updater>,
    running: bool,
    failures: u32,
    not_before: Option<Instant>,
    /// Not tried again while it should hold these addresses.
    held_for: Option<Addrs>,
    /// Verification found the published data wrong.
    force: bool,
    /// `--once`: jobs started (a forced repair may add one).
    attempts: u32,
}

impl Slot {
    fn new(up: Arc<dyn Updater>) -> Slot {
        Slot {
            up,
            running: false,
            failures: 0,
            not_before: None,
            held_for: None,
            force: false,
            attempts: 0,
        }
    }
}

/// A job's end.
enum Finished {
    Update(String, Addrs, Outcome),
    Verify(String, Addrs, Option<Verdict>),
}

/// Whether two address sets hold the same addresses.
fn same_addrs(a: &Addrs, b: &Addrs) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(f, s)| b.get(f).is_some_and(|o| o.addr == s.addr))
}

struct Engine {
    cfg: Config,
    opts: Options,
    store: Store,
    state: State,
    slots: Vec<Slot>,
    current: Addrs,
    reported: BTreeSet<Family>,
    detectors: Vec<JoinHandle<()>>,
    tx: mpsc::UnboundedSender<Detected>,
    rx: mpsc::UnboundedReceiver<Detected>,
    jobs: JoinSet<Finished>,
    next_verify: Option<Instant>,
    ready: bool,
    /// `--once`: the verification round was started.
    verified: bool,
    /// `--once`: an update failed.
    failed: bool,
}

/// Runs the daemon; see [`super::run`].
pub fn run(cfg: Config, opts: &Options) -> Result<bool> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::other(
                format!("cannot start the event loop: {e}"),
                "this is a bug in zmreip or a broken system",
            )
        })?;
    rt.block_on(async {
        let mut engine = Engine::new(cfg, opts.clone())?;
        engine.main().await
    })
}

impl Engine {
    fn new(cfg: Config, opts: Options) -> Result<Engine> {
        let store = Store::open(&cfg.state)?;
        let state = store.load()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let slots = targets(&cfg).into_iter().map(Slot::new).collect();
        Ok(Engine {
            cfg,
            opts,
            store,
            state,
            slots,
            current: Addrs::new(),
            reported: BTreeSet::new(),
            detectors: Vec::new(),
            tx,
            rx,
            jobs: JoinSet::new(),
            next_verify: None,
            ready: false,
            verified: false,
            failed: false,
        })
    }

    fn announce(&self) {
        for n in &self.cfg.notes {
            log::warn(n);
        }
        let watch: Vec<String> = self
            .cfg
            .watch
            .iter()
            .map(|w| match &w.source {
                Source::Interface(Some(i)) => {
                    format!("{} on interface {i} (netlink events)", w.family)
                }
                Source::Interface(None) => format!(
                    "{} on the interface of the default route (netlink events)",
                    w.family
                ),
                Source::Public(m) => format!(
                    "public {} ({}; every {} s)",
                    w.family,
                    m.iter()
                        .map(|m| m.kind.to_string())
                        .collect::<Vec<_>>()
                        .join(", then "),
                    self.cfg.interval.as_secs()
                ),
            })
            .collect();
        let ids: Vec<String> = self.slots.iter().map(|s| s.up.id()).collect();
        log::info(&format!(
            "zmreip watch {}{}: watching {}; targets: {}",
            env!("CARGO_PKG_VERSION"),
            if self.opts.dry_run {
                " (dry run: nothing is sent, no state written)"
            } else {
                ""
            },
            watch.join("; "),
            if ids.is_empty() {
                "none".into()
            } else {
                ids.join(", ")
            }
        ));
    }

    /// The families that follow an interface.
    fn interface_specs(&self) -> Vec<netlink::Spec> {
        self.cfg
            .watch
            .iter()
            .filter_map(|w| match &w.source {
                Source::Interface(name) => Some((w.family, name.clone())),
                Source::Public(_) => None,
            })
            .collect()
    }

    fn start_detectors(&mut self) {
        let specs = self.interface_specs();
        if !specs.is_empty() {
            self.detectors.push(tokio::spawn(netlink::follow(
                specs,
                self.cfg.settle,
                self.tx.clone(),
            )));
        }
        for w in &self.cfg.watch {
            if let Source::Public(methods) = &w.source {
                self.detectors.push(tokio::spawn(public::follow(
                    w.family,
                    methods.clone(),
                    self.cfg.interval,
                    self.tx.clone(),
                )));
            }
        }
    }

    fn stop_detectors(&mut self) {
        for d in self.detectors.drain(..) {
            d.abort();
        }
    }

    /// `--once`: every family detected once, straight away.
    async fn detect_once(&mut self) -> Result<()> {
        let specs = self.interface_specs();
        if !specs.is_empty() {
            let found = netlink::detect_once(&specs)
                .await
                .map_err(|e| Error::other(e, "run zmreip watch as root on a Linux host"))?;
            for d in found {
                self.detected(d);
            }
        }
        for w in self.cfg.watch.clone() {
            if let Source::Public(methods) = &w.source {
                let d = public::detect(w.family, methods).await;
                self.detected(d);
            }
        }
        Ok(())
    }

    fn detected(&mut self, d: Detected) {
        let first = self.reported.insert(d.family);
        match d.seen {
            Some(seen) => {
                if first || self.current.get(&d.family) != Some(&seen) {
                    log::info(&format!("{}: {} ({})", d.family, seen.text(), seen.via));
                }
                self.current.insert(d.family, seen);
            }
            None => {
                log::warn(&format!(
                    "{}: no address ({}); what is published stays as it is",
                    d.family,
                    d.note.as_deref().unwrap_or("nothing found")
                ));
                self.current.remove(&d.family);
            }
        }
    }

    fn all_reported(&self) -> bool {
        self.cfg
            .watch
            .iter()
            .all(|w| self.reported.contains(&w.family))
    }

    fn want_for(&self, up: &dyn Updater) -> Addrs {
        self.current
            .iter()
            .filter(|(_, s)| up.follows(s))
            .map(|(f, s)| (*f, s.clone()))
            .collect()
    }

    fn save(&self) {
        if self.opts.dry_run {
            return;
        }
        if let Err(e) = self.store.save(&self.state) {
            log::error_with_help("cannot write the state", &e);
        }
    }

    /// Starts every job that is due.
    fn schedule(&mut self) {
        if !self.all_reported() {
            return;
        }
        let now_i = Instant::now();
        let now_u = now();
        let mut dirty = false;
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            if slot.running {
                continue;
            }
            let id = slot.up.id();
            if let Some(st) = self.state.stopped.get(&id) {
                if st.fingerprint == slot.up.fingerprint() {
                    continue;
                }
                log::info(&format!(
                    "{id}: its configuration changed since it was stopped; asking again"
                ));
                self.state.stopped.remove(&id);
                dirty = true;
            }
            if let Some(t) = self.state.deferred.get(&id) {
                if *t > now_u {
                    continue;
                }
                self.state.deferred.remove(&id);
                dirty = true;
            }
            let want = self.want_for(slot.up.as_ref());
            if want.is_empty() {
                continue;
            }
            let prev = self.state.targets.get(&id).cloned();
            let slot = &mut self.slots[i];
            if prev.as_ref().is_some_and(|p| p.holds(&want)) && !slot.force {
                continue;
            }
            if slot.held_for.as_ref().is_some_and(|h| same_addrs(h, &want)) && !slot.force {
                continue;
            }
            if slot.not_before.is_some_and(|t| t > now_i) {
                continue;
            }
            if self.opts.once && slot.attempts > u32::from(slot.force) {
                continue;
            }
            if prev.is_none() && slot.up.baseline_first() {
                log::info(&format!(
                    "{id}: starting from {} (no state yet: taken as the current address, nothing to do)",
                    describe(&want)
                ));
                self.state.targets.insert(id, Record::holding(&want));
                dirty = true;
                continue;
            }
            slot.running = true;
            slot.attempts += 1;
            let job = Job {
                want: want.clone(),
                prev,
                dry_run: self.opts.dry_run,
                force: slot.force,
            };
            if slot.force {
                log::info(&format!("{id}: repairing: should hold {}", describe(&want)));
            } else {
                log::info(&format!("{id}: updating to {}", describe(&want)));
            }
            let up = slot.up.clone();
            self.jobs.spawn_blocking(move || {
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| up.update(&job)))
                    .unwrap_or_else(|_| {
                        Outcome::Retry("the update panicked; this is a bug in zmreip".into())
                    });
                Finished::Update(id, want, outcome)
            });
        }
        if dirty {
            self.save();
        }
    }

    /// Starts a check of every target that is in step.
    fn start_verify(&mut self) {
        for slot in &self.slots {
            let id = slot.up.id();
            if slot.running
                || self.state.stopped.contains_key(&id)
                || self.state.deferred.contains_key(&id)
            {
                continue;
            }
            let want = self.want_for(slot.up.as_ref());
            if want.is_empty() || !self.state.targets.get(&id).is_some_and(|r| r.holds(&want)) {
                continue;
            }
            let up = slot.up.clone();
            self.jobs.spawn_blocking(move || {
                let verdict = std::panic::catch_unwind(AssertUnwindSafe(|| up.verify(&want)))
                    .unwrap_or_else(|_| {
                        Some(Verdict::Unknown(
                            "the check panicked; this is a bug in zmreip".into(),
                        ))
                    });
                Finished::Verify(id, want, verdict)
            });
        }
    }

    fn slot(&mut self, id: &str) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.up.id() == id)
    }

    fn finished(&mut self, f: Finished) {
        match f {
            Finished::Update(id, want, outcome) => self.updated(&id, want, outcome),
            Finished::Verify(id, want, verdict) => self.verdict(&id, &want, verdict),
        }
    }

    fn updated(&mut self, id: &str, want: Addrs, outcome: Outcome) {
        let once = self.opts.once;
        let Some(fingerprint) = self.slot(id).map(|s| s.up.fingerprint()) else {
            // Its target left the configuration while it ran.
            return;
        };
        let slot = self.slot(id).expect("found above");
        slot.running = false;
        let forced = std::mem::take(&mut slot.force);
        match outcome {
            Outcome::Done(record) => {
                slot.failures = 0;
                slot.not_before = None;
                slot.held_for = None;
                self.state.targets.insert(id.to_string(), record);
                self.state.deferred.remove(id);
                self.save();
            }
            Outcome::DryRun => slot.held_for = Some(want),
            Outcome::Retry(why) => {
                slot.failures += 1;
                if once {
                    log::error(&format!("{why}; the state is unchanged"));
                } else {
                    let delay = backoff(slot.failures);
                    slot.not_before = Some(Instant::now() + delay);
                    log::error(&format!(
                        "{why}; the state is unchanged; retry {} in {} s",
                        slot.failures,
                        delay.as_secs().max(1)
                    ));
                }
                slot.force = forced;
                self.failed = true;
            }
            Outcome::Wait(why, d) => {
                let until = now() + d.as_secs();
                log::error(&format!("{why}; not asked again before {}", rfc3339(until)));
                self.state.deferred.insert(id.to_string(), until);
                self.failed = true;
                self.save();
            }
            Outcome::Hold(why) => {
                slot.held_for = Some(want);
                log::error(&why);
                self.failed = true;
            }
            Outcome::Stop(why) => {
                log::error(&format!(
                    "{why}; not asked again until its configuration (or a file it names) changes, then reload"
                ));
                self.state.stopped.insert(
                    id.to_string(),
                    Stopped {
                        reason: why,
                        fingerprint,
                        since: rfc3339(now()),
                    },
                );
                self.failed = true;
                self.save();
            }
        }
    }

    fn verdict(&mut self, id: &str, want: &Addrs, verdict: Option<Verdict>) {
        let repair = self.cfg.repair;
        match verdict {
            None | Some(Verdict::Holds) => {
                log::debug(&format!("{id}: published data holds {}", describe(want)));
            }
            Some(Verdict::Unknown(why)) => {
                log::warn(&format!("{id}: cannot check the published data: {why}"));
            }
            Some(Verdict::Differs(what)) if repair => {
                log::warn(&format!(
                    "{id}: the published data no longer holds {}: {what}",
                    describe(want)
                ));
                if let Some(slot) = self.slot(id) {
                    slot.force = true;
                }
            }
            Some(Verdict::Differs(what)) => log::warn(&format!(
                "{id}: the published data no longer holds {}: {what}; not repaired (repair = false)",
                describe(want)
            )),
        }
    }

    fn status(&self) -> String {
        let addrs = if self.current.is_empty() {
            "no address".into()
        } else {
            describe(&self.current)
        };
        let failing = self
            .slots
            .iter()
            .filter(|s| {
                s.failures > 0
                    || s.held_for.is_some()
                    || self.state.stopped.contains_key(&s.up.id())
            })
            .count();
        format!("{addrs}; {} target(s), {failing} failing", self.slots.len())
    }

    fn notify(&self, states: &[NotifyState]) {
        if self.opts.once {
            return;
        }
        let status = self.status();
        let mut all = states.to_vec();
        all.push(NotifyState::Status(&status));
        let _ = sd_notify::notify(&all);
    }

    /// The next time something is due without an event.
    fn next_wake(&self) -> Option<Instant> {
        let now_u = now();
        let now_i = Instant::now();
        let mut wake = self.next_verify;
        let mut earlier = |t: Instant| {
            if wake.is_none_or(|w| t < w) {
                wake = Some(t);
            }
        };
        for s in &self.slots {
            if let Some(t) = s.not_before
                && !s.running
            {
                earlier(t);
            }
            if let Some(until) = self.state.deferred.get(&s.up.id()) {
                earlier(now_i + Duration::from_secs(until.saturating_sub(now_u)));
            }
        }
        wake
    }

    fn reload(&mut self) {
        log::info(&format!("reloading {}", self.cfg.path.display()));
        let _ = sd_notify::notify(&[NotifyState::Reloading]);
        match super::config::load(&self.cfg.path) {
            Err(e) => log::error_with_help(
                "the new configuration does not read; the running one stays",
                &e,
            ),
            Ok(cfg) => {
                if cfg.state != self.cfg.state {
                    log::warn("a new `state` path takes effect at the next start");
                }
                let mut old: BTreeMap<String, Slot> =
                    self.slots.drain(..).map(|s| (s.up.id(), s)).collect();
                self.slots = targets(&cfg)
                    .into_iter()
                    .map(|up| match old.remove(&up.id()) {
                        Some(mut s) => {
                            // Same target: keep a running job's slot, and
                            // try held and backed-off ones again now.
                            s.up = up;
                            s.held_for = None;
                            s.not_before = None;
                            s.failures = 0;
                            s
                        }
                        None => Slot::new(up),
                    })
                    .collect();
                let ids: BTreeSet<String> = self.slots.iter().map(|s| s.up.id()).collect();
                self.state.targets.retain(|k, _| ids.contains(k));
                self.state.stopped.retain(|k, _| ids.contains(k));
                self.state.deferred.retain(|k, _| ids.contains(k));
                let detectors_changed = cfg.watch != self.cfg.watch
                    || cfg.settle != self.cfg.settle
                    || cfg.interval != self.cfg.interval;
                self.cfg = cfg;
                self.announce();
                if detectors_changed {
                    self.stop_detectors();
                    self.reported.clear();
                    self.current.clear();
                    self.start_detectors();
                }
                // Check the published data again soon after a reload.
                self.next_verify = self.cfg.verify_interval.map(|_| Instant::now());
            }
        }
        let _ = sd_notify::notify(&[NotifyState::Ready]);
    }

    async fn main(&mut self) -> Result<bool> {
        self.announce();
        let mut hup = signal(SignalKind::hangup()).map_err(signal_error)?;
        let mut term = signal(SignalKind::terminate()).map_err(signal_error)?;
        let mut int = signal(SignalKind::interrupt()).map_err(signal_error)?;
        if self.opts.once {
            self.detect_once().await?;
        } else {
            self.start_detectors();
        }
        loop {
            self.schedule();
            if self.all_reported() && !self.ready {
                self.ready = true;
                if !self.opts.once {
                    self.next_verify = self.cfg.verify_interval.map(|_| Instant::now());
                    self.notify(&[NotifyState::Ready]);
                }
            }
            if self.opts.once && self.jobs.is_empty() {
                if !self.verified {
                    self.verified = true;
                    self.start_verify();
                    if !self.jobs.is_empty() {
                        continue;
                    }
                }
                self.schedule();
                if self.jobs.is_empty() {
                    return Ok(!self.failed);
                }
            }
            if let Some(t) = self.next_verify
                && t <= Instant::now()
                && self.ready
            {
                self.next_verify = self.cfg.verify_interval.map(|d| Instant::now() + d);
                self.start_verify();
            }
            let wake = self.next_wake();
            tokio::select! {
                Some(d) = self.rx.recv() => {
                    self.detected(d);
                    self.notify(&[]);
                }
                Some(done) = self.jobs.join_next(), if !self.jobs.is_empty() => {
                    match done {
                        Ok(f) => self.finished(f),
                        Err(e) => log::error(&format!("a job ended abnormally: {e}; this is a bug in zmreip")),
                    }
                    self.notify(&[]);
                }
                _ = hup.recv() => self.reload(),
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = sleep_until(wake) => {}
            }
        }
        log::info("stopping");
        let _ = sd_notify::notify(&[NotifyState::Stopping]);
        self.stop_detectors();
        if !self.jobs.is_empty() {
            log::info(&format!("waiting for {} job(s) in flight", self.jobs.len()));
        }
        while let Some(done) = self.jobs.join_next().await {
            if let Ok(f) = done {
                self.finished(f);
            }
        }
        log::info("stopped");
        Ok(true)
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

fn signal_error(e: std::io::Error) -> Error {
    Error::other(
        format!("cannot listen for signals: {e}"),
        "this is a bug in zmreip or a broken system",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        let secs: Vec<u64> = (1..=12).map(|n| backoff(n).as_secs()).collect();
        let want = [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600];
        for (got, want) in secs.iter().zip(want) {
            assert!(*got >= want && *got <= want + want / 10 + 1, "{secs:?}");
        }
        assert!(backoff(u32::MAX).as_secs() <= 661);
    }
}
