//! The combined plan of a multi-server move, `zmreip.cluster-plan/v1`: the
//! nodes, each node's own `zmreip.plan/v1`, the order of the phases, and
//! a checksum over all of it. A public contract like the plan: fields are
//! added, never removed or changed in meaning (README, "The cluster plan
//! as JSON").

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::nodes::Endpoint;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::policy::Role;
use crate::services::{Action, Service};

/// The schema name written into every cluster plan.
pub const SCHEMA: &str = "zmreip.cluster-plan/v1";

/// A multi-server plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterPlan {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Old addresses with prefix, as in every node's plan.
    pub from: Vec<String>,
    /// New addresses with prefix.
    pub to: Vec<String>,
    /// The node whose address moves.
    pub moving: String,
    /// Who changes the shared directory, once.
    pub directory: DirectoryRef,
    /// Every node planned, the moving node first.
    pub nodes: Vec<ClusterNode>,
    /// Nodes left out with `--skip-node`: hand-offs.
    pub skipped: Vec<Skipped>,
    /// The phases of `apply`, in order.
    pub order: Vec<OrderStep>,
    /// `sha256:` and the hex SHA-256 of the canonical JSON with this field
    /// set to `""`, computed as for `zmreip.plan/v1` (each node's plan
    /// keeps its own checksum inside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// How the directory is reached for its one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryRef {
    /// The node that plans and changes it (the one zmreip ran on).
    pub node: String,
    /// The LDAP URLs written to, tried in order (the master by its
    /// address, before and after a move of its own); empty when the
    /// node's localconfig says where.
    pub urls: Vec<String>,
}

/// One node of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterNode {
    /// `zimbraServiceHostname`, also the ssh destination.
    pub name: String,
    /// `own` for the moving node, `peer` for the others.
    pub role: Role,
    /// `zimbraServiceEnabled`.
    pub services: Vec<String>,
    /// Where the other nodes reach its services.
    pub endpoints: Vec<Endpoint>,
    /// The node's addresses as the planning host resolved its name.
    pub addresses: Vec<String>,
    /// `local` (the node zmreip ran on) or `ssh`.
    pub via: String,
    /// The zmreip version on the node.
    pub zmreip: String,
    /// The node's own plan.
    pub plan: Plan,
}

/// A node left out of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
    /// What to run on it later.
    pub command: String,
}

/// A phase of apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The node's files (and DNS records), not the directory.
    Files,
    /// The directory changes (on the directory node).
    Directory,
    /// One service action.
    Service,
    /// `zmreip verify` on the node.
    Verify,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Files => "files",
            Phase::Directory => "directory",
            Phase::Service => "service",
            Phase::Verify => "verify",
        }
    }
}

/// One step of the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStep {
    pub node: String,
    pub phase: Phase,
    /// For a service phase: which service and action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

impl OrderStep {
    /// The kind of step, for timings: the phase, or the service.
    pub fn kind(&self) -> String {
        match (self.phase, self.service) {
            (Phase::Service, Some(s)) => s.as_str().to_string(),
            (p, _) => p.as_str().to_string(),
        }
    }

    /// One line for people: `mta1.example.com: mta reload`.
    pub fn describe(&self) -> String {
        match (self.phase, self.service, self.action) {
            (Phase::Service, Some(s), Some(a)) => {
                format!("{}: {} {}", self.node, s.as_str(), a.as_str())
            }
            (Phase::Files, ..) => format!("{}: write its files", self.node),
            (Phase::Directory, ..) => format!("{}: change the directory", self.node),
            (Phase::Verify, ..) => format!("{}: verify", self.node),
            (Phase::Service, ..) => format!("{}: service action", self.node),
        }
    }
}

impl ClusterPlan {
    /// Sets [`ClusterPlan::checksum`] to the checksum of the content.
    pub fn seal(&mut self) {
        self.checksum = None;
        let value = serde_json::to_value(&*self).expect("a cluster plan always serializes");
        self.checksum = Some(crate::plan::checksum(&value));
    }

    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&ClusterNode> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

/// Whether a JSON plan document is a cluster plan.
pub fn is_cluster_plan(value: &serde_json::Value) -> bool {
    value.get("schema").and_then(|s| s.as_str()) == Some(SCHEMA)
}

/// Reads a saved cluster plan and validates it: the schema, the checksum
/// over the whole document, and every node plan's own checksum.
pub fn load(path: &Path, value: serde_json::Value) -> Result<ClusterPlan> {
    let shown = path.display().to_string();
    let again =
        "make the plan again with `zmreip plan --cluster --out FILE`; plans are not edited by hand"
            .to_string();
    let Some(sum) = value.get("checksum").and_then(|s| s.as_str()) else {
        return Err(Error::other(
            format!("{shown}: the cluster plan has no checksum"),
            again,
        ));
    };
    if crate::plan::checksum(&value) != sum {
        return Err(Error::other(
            format!(
                "{shown}: the checksum does not match the content: the plan was changed after it was made"
            ),
            again,
        ));
    }
    let plan: ClusterPlan = serde_json::from_value(value).map_err(|e| {
        Error::other(
            format!("{shown}: not a valid {SCHEMA} plan: {e}"),
            again.clone(),
        )
    })?;
    for n in &plan.nodes {
        let v = serde_json::to_value(&n.plan).expect("a plan always serializes");
        if n.plan.checksum.as_deref() != Some(crate::plan::checksum(&v).as_str()) {
            return Err(Error::other(
                format!(
                    "{shown}: the plan of node {} does not match its checksum",
                    n.name
                ),
                again,
            ));
        }
    }
    Ok(plan)
}

/// The cluster plan as pretty-printed JSON (with a final newline).
pub fn json(plan: &ClusterPlan) -> String {
    let mut s = serde_json::to_string_pretty(plan).expect("a cluster plan always serializes");
    s.push('\n');
    s
}

fn node_line(n: &ClusterNode, moving: &str) -> String {
    format!(
        "{} ({}{}; {}; {})",
        n.name,
        n.role.as_str(),
        if n.name == moving { ", moves" } else { "" },
        if n.services.is_empty() {
            "no services".to_string()
        } else {
            n.services.join(", ")
        },
        if n.via == "local" {
            "this host".to_string()
        } else {
            format!("ssh, zmreip {}", n.zmreip)
        }
    )
}

/// The plan for people: the nodes, each node's plan as `zmreip plan`
/// prints it, the order, and the nodes left out.
pub fn text(plan: &ClusterPlan, color: bool) -> String {
    // Node names and URLs come from the directory: shown escaped, as the
    // node plans' text is by their renderer.
    let safe = |t: String| crate::shown::escape(&t).into_owned();
    let mut head = String::new();
    let _ = writeln!(
        head,
        "zmreip cluster plan: {} moves {} → {}",
        plan.moving,
        plan.from.join(", "),
        plan.to.join(", ")
    );
    let _ = writeln!(head, "nodes:");
    for n in &plan.nodes {
        let _ = writeln!(head, "  {}", node_line(n, &plan.moving));
    }
    let _ = writeln!(
        head,
        "directory: planned and changed once, by {}{}",
        plan.directory.node,
        if plan.directory.urls.is_empty() {
            String::new()
        } else {
            format!(" at {}", plan.directory.urls.join(" or "))
        }
    );
    let mut s = safe(head);
    for n in &plan.nodes {
        s.push_str(&safe(format!(
            "\n######## node {} ({}) ########\n\n",
            n.name,
            n.role.as_str()
        )));
        s.push_str(&crate::plan::render::text(&n.plan, color));
    }
    let mut tail = String::new();
    let _ = writeln!(tail, "\n######## order ########\n");
    for (i, o) in plan.order.iter().enumerate() {
        let _ = writeln!(tail, "  {}. {}", i + 1, o.describe());
    }
    let flushes = flush_lines(plan);
    if !flushes.is_empty() {
        let _ = writeln!(tail, "\ncache flush instead of a restart:");
        for f in flushes {
            let _ = writeln!(tail, "  {f}");
        }
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(tail, "\nleft out (--skip-node); run there later:");
        for k in &plan.skipped {
            let _ = writeln!(tail, "  {} ({}):\n    {}", k.name, k.reason, k.command);
        }
    }
    s.push_str(&safe(tail));
    s
}

/// Where a mailbox cache flush replaces a restart, and why.
fn flush_lines(plan: &ClusterPlan) -> Vec<String> {
    let mut out = Vec::new();
    for n in &plan.nodes {
        for a in &n.plan.actions {
            if a.action == Action::Flush {
                out.push(format!(
                    "{}: {} flush (its listeners stay; the changed values are read per request: {})",
                    n.name,
                    a.service.as_str(),
                    a.because.join(", ")
                ));
            }
        }
    }
    out
}

/// A change report per node for a change board.
pub fn markdown(plan: &ClusterPlan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Change request: move {} from {} to {} (multi-server)\n",
        plan.moving,
        plan.from.join(", "),
        plan.to.join(", ")
    );
    let _ = writeln!(s, "## Nodes\n");
    let _ = writeln!(
        s,
        "| Node | Role | Services | Reached | Changes | Actions |\n|---|---|---|---|---|---|"
    );
    for n in &plan.nodes {
        let acts: Vec<String> = n
            .plan
            .actions
            .iter()
            .map(|a| format!("{} {}", a.service.as_str(), a.action.as_str()))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {}{} | {} | {} | {} | {} |",
            n.name,
            n.role.as_str(),
            if n.name == plan.moving {
                " (moves)"
            } else {
                ""
            },
            n.services.join(", "),
            if n.via == "local" { "this host" } else { "ssh" },
            n.plan.changes.len(),
            if acts.is_empty() {
                "none".into()
            } else {
                acts.join(", ")
            }
        );
    }
    let _ = writeln!(
        s,
        "\nThe directory is planned and changed once, by {}.\n",
        plan.directory.node
    );
    let _ = writeln!(s, "## Order\n");
    for (i, o) in plan.order.iter().enumerate() {
        let _ = writeln!(s, "{}. {}", i + 1, o.describe());
    }
    let _ = writeln!(
        s,
        "\nA failure on a node rolls back every node done so far, in reverse order (`zmreip rollback --cluster`).\n"
    );
    let flushes = flush_lines(plan);
    if !flushes.is_empty() {
        let _ = writeln!(s, "Cache flushes instead of restarts:\n");
        for f in flushes {
            let _ = writeln!(s, "- {f}");
        }
        let _ = writeln!(s);
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(s, "## Left out (to do later)\n");
        for k in &plan.skipped {
            let _ = writeln!(s, "- [ ] **{}** ({}): `{}`", k.name, k.reason, k.command);
        }
        let _ = writeln!(s);
    }
    for n in &plan.nodes {
        let _ = writeln!(s, "## Node {} ({})\n", n.name, n.role.as_str());
        // The node's own report, one heading level down.
        let facts = crate::plan::report::Facts::node(&n.name);
        for line in crate::plan::report::markdown(&n.plan, &facts).lines() {
            if line.starts_with('#') {
                let _ = writeln!(s, "##{line}");
            } else {
                let _ = writeln!(s, "{line}");
            }
        }
    }
    s
}
