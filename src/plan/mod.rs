//! The plan: every change with its precondition, the derived files that
//! will be regenerated, the service actions, warnings and hand-offs.
//!
//! [`Plan`] serializes to the public `zmreip.plan/v1` JSON contract
//! (DESIGN.md; every field documented in the README). Extend, never break.

use serde::{Deserialize, Serialize};

use crate::model::{Change, Notice};
use crate::zimbra::{Action, Service};

pub mod build;
pub mod render;

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
