//! The plan: every change with its precondition, the derived files that
//! will be regenerated, the service actions, warnings and hand-offs.
//!
//! [`Plan`] serializes to the public `zmreip.plan/v1` JSON contract
//! (DESIGN.md; every field documented in the README). Extend, never break.

use serde::{Deserialize, Serialize};

use crate::model::Change;
use crate::notice::Notice;
use crate::services::{Action, Service};

pub mod bind;
pub mod build;
pub mod own;
pub mod render;
pub mod report;

/// The schema name written into every plan.
pub const SCHEMA: &str = "zmreip.plan/v1";

/// A complete plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Old addresses with prefix (`172.20.14.25/24`).
    pub from: Vec<String>,
    /// New addresses with prefix.
    pub to: Vec<String>,
    /// Changes, in order of application.
    pub changes: Vec<Change>,
    /// Files Zimbra regenerates that hold an old address.
    pub derived: Vec<DerivedFile>,
    /// Service actions, in the order they must run.
    pub actions: Vec<PlannedAction>,
    pub warnings: Vec<Notice>,
    pub handoffs: Vec<Notice>,
    /// What `zmreip bind` asked for; absent from every other plan (whose
    /// `from` and `to` say what moves; a bind's are empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<Bind>,
    /// `sha256:<hex>` of the plan's canonical JSON with this field set to
    /// `""` (see [`checksum`]). `apply --plan` refuses a plan without it
    /// or whose content no longer matches it. Absent from plans written
    /// before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

impl Plan {
    /// Whether applying the plan would do anything: a change, or a
    /// service action (a regeneration only a derived file needs).
    pub fn is_pending(&self) -> bool {
        !self.changes.is_empty() || !self.actions.is_empty()
    }

    /// Sets [`Plan::checksum`] to the checksum of the plan's content.
    pub fn seal(&mut self) {
        self.checksum = None;
        let value = serde_json::to_value(&*self).expect("a plan always serializes");
        self.checksum = Some(checksum(&value));
    }
}

/// The checksum of a plan given as JSON: `sha256:` and the hex SHA-256 of
/// its canonical form, which is the compact JSON (no whitespace, object
/// keys sorted by code point, strings escaped as serde_json does) of the
/// document with `checksum` set to `""`. Any tool can recompute it; fields
/// added to the schema later are covered without a change here.
pub fn checksum(plan: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    let mut doc = plan.clone();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("checksum".into(), serde_json::Value::String(String::new()));
    }
    let canonical = serde_json::to_string(&sort_keys(doc)).expect("JSON values serialize");
    let digest = Sha256::digest(canonical.as_bytes());
    let mut out = String::from("sha256:");
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The same value with every object's keys in sorted order (serde_json
/// keeps insertion order when a dependency enables `preserve_order`).
fn sort_keys(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// The intent of a `zmreip bind` plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bind {
    /// The address bound to; `null` for `--unbind` (all interfaces).
    pub address: Option<String>,
    /// Every service the plan binds (or unbinds), in the order asked.
    pub services: Vec<BoundService>,
}

impl Bind {
    /// The services bound, each once, in the order asked (a service may
    /// hold several settings: outbound has one per family).
    pub fn service_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for sv in &self.services {
            if !names.contains(&sv.name.as_str()) {
                names.push(&sv.name);
            }
        }
        names
    }
}

/// One service of a bind, with the setting that binds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundService {
    /// `outbound`, or a `--listen` name (`imap`, `smtp`, ...).
    pub name: String,
    /// The attribute, localconfig key or Postfix parameter.
    pub setting: String,
    /// Where the setting is kept: `ldap`, `localconfig` or `postfix`.
    pub place: String,
    /// What makes the service use it.
    pub actions: Vec<ServiceAction>,
}

/// A reload or restart of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAction {
    pub service: Service,
    pub action: Action,
}

/// A regenerated file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DerivedFile {
    /// Host path.
    pub file: String,
    /// The service whose action regenerates it.
    pub regenerated_by: Service,
}

/// One reload or restart and the changes that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    pub service: Service,
    pub action: Action,
    /// Change ids (`c3`); for a regeneration needed only by a derived file,
    /// that file's host path.
    pub because: Vec<String>,
}
