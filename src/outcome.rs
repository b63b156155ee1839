//! What `apply`, `rollback`, `resume` and `history` print for programs
//! (`--format json`): one JSON document each, with a `schema` and a
//! `changed` field, so automation (Ansible, scripts) can tell "done, the
//! host changed" from "nothing to do" without reading prose. Public
//! contracts like `zmreip.plan/v1`: fields are added, never removed or
//! changed in meaning (README: "Automation").
//!
//! `zmreip.outcome/v1`, for `apply`, `rollback` and `resume` (also with
//! `--cluster`):
//!
//! ```json
//! {"schema": "zmreip.outcome/v1", "command": "apply",
//!  "run": "20261128T123456Z-1a2b", "state": "applied", "changed": true,
//!  "lines": ["applied run 20261128T123456Z-1a2b: 20 change(s) in 9 step(s)", "..."]}
//! ```
//!
//! A failed command prints the same document (on standard output, while
//! the error goes to standard error as always) with `error` set to
//! `{"message", "help"}`, the run it left (if one was made) and its state.

use serde::Serialize;

use crate::apply::{Outcome, RunSummary};
use crate::cluster::run::Summary;
use crate::error::Error;

/// The schema of an apply, rollback or resume outcome.
pub const OUTCOME: &str = "zmreip.outcome/v1";
/// The schema of `history --format json`.
pub const HISTORY: &str = "zmreip.history/v1";
/// The schema of `history --cluster --format json`.
pub const CLUSTER_HISTORY: &str = "zmreip.cluster-history/v1";

/// `zmreip.outcome/v1`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always [`OUTCOME`].
    pub schema: &'static str,
    /// `apply`, `rollback`, `resume`, or `window` (a window phase).
    pub command: &'static str,
    /// Whether it was a multi-server run (`--cluster`, or a cluster plan).
    pub cluster: bool,
    /// The run's id; `null` when no run was recorded (nothing to do, or
    /// refused before anything was written).
    pub run: Option<String>,
    /// The run's state afterwards (`running`, `applied`, `failed`,
    /// `rolling-back`, `rolled-back`); `null` without a run.
    pub state: Option<String>,
    /// Whether the command left the host different from before it: false
    /// for nothing to do, a plan already applied, a run already rolled
    /// back, `--check`, and a failed apply that rolled itself back.
    pub changed: bool,
    /// What a person would read, line by line.
    pub lines: Vec<String>,
    /// Why the command failed (its exit status is then not 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// A failure in an outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub message: String,
    pub help: Option<String>,
}

impl Report {
    /// The outcome of `command` that ran (or finished) a run.
    pub fn of(command: &'static str, out: &Outcome) -> Report {
        Report {
            schema: OUTCOME,
            command,
            cluster: false,
            run: Some(out.run_id.clone()),
            state: Some(out.state.as_str().to_string()),
            changed: out.changed,
            lines: out.lines.clone(),
            error: None,
        }
    }

    /// An outcome without a run: `lines` say why nothing was done.
    pub fn unchanged(command: &'static str, lines: Vec<String>) -> Report {
        Report {
            schema: OUTCOME,
            command,
            cluster: false,
            run: None,
            state: None,
            changed: false,
            lines,
            error: None,
        }
    }

    /// The outcome of a command that failed with `e`, leaving `run` in
    /// `state` (when a run is concerned).
    pub fn failed(
        command: &'static str,
        run: Option<String>,
        state: Option<String>,
        changed: bool,
        e: &Error,
    ) -> Report {
        let message = e
            .all()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        Report {
            schema: OUTCOME,
            command,
            cluster: false,
            run,
            state,
            changed,
            lines: Vec::new(),
            error: Some(Failure {
                message,
                help: e.help().map(str::to_string),
            }),
        }
    }

    /// The document, with a final newline.
    pub fn json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("outcomes serialize");
        s.push('\n');
        s
    }
}

/// `zmreip.history/v1` (`zmreip.cluster-history/v1` with `--cluster`):
/// the runs, oldest first, as `history` lists them. Reading history
/// changes nothing: `changed` is always false.
#[derive(Debug, Clone, Serialize)]
pub struct History<'a, R: Serialize> {
    pub schema: &'static str,
    pub changed: bool,
    pub runs: &'a [R],
}

/// The history of this host's runs.
pub fn history(runs: &[RunSummary]) -> String {
    pretty(&History {
        schema: HISTORY,
        changed: false,
        runs,
    })
}

/// The history of the cluster runs this host coordinated.
pub fn cluster_history(runs: &[Summary]) -> String {
    pretty(&History {
        schema: CLUSTER_HISTORY,
        changed: false,
        runs,
    })
}

fn pretty<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("histories serialize");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::State;

    #[test]
    fn outcomes_carry_schema_changed_and_the_run() {
        let out = Outcome {
            run_id: "20261128T123456Z-1a2b".into(),
            state: State::Applied,
            changed: true,
            lines: vec!["applied".into()],
        };
        let v: serde_json::Value = serde_json::from_str(&Report::of("apply", &out).json()).unwrap();
        assert_eq!(v["schema"], OUTCOME);
        assert_eq!(v["command"], "apply");
        assert_eq!(v["run"], "20261128T123456Z-1a2b");
        assert_eq!(v["state"], "applied");
        assert_eq!(v["changed"], true);
        assert!(v.get("error").is_none(), "{v}");

        let v: serde_json::Value =
            serde_json::from_str(&Report::unchanged("apply", vec!["nothing".into()]).json())
                .unwrap();
        assert_eq!(v["run"], serde_json::Value::Null);
        assert_eq!(v["state"], serde_json::Value::Null);
        assert_eq!(v["changed"], false);

        let e = Error::other("step 3 failed", "fix it");
        let r = Report::failed(
            "apply",
            Some("r".into()),
            Some("rolled-back".into()),
            false,
            &e,
        );
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["error"]["message"], "step 3 failed");
        assert_eq!(v["error"]["help"], "fix it");
        assert_eq!(v["changed"], false);
    }
}
