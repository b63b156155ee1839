//! The plain data that flows between stages: findings (scan), changes
//! and the warnings that come with them (plan; see [`crate::notice`]).

use serde::{Deserialize, Serialize};

use crate::addr::MatchKind;
use crate::notice::Notice;
use crate::surface::Surface;

/// Where a finding or a change lives. Paths are paths on the host, never
/// prefixed by `--root`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Target {
    /// A line of a text file (1-based).
    Line { file: String, line: usize },
    /// A key of Zimbra's localconfig.xml.
    LocalconfigKey { file: String, key: String },
    /// An attribute of a directory entry.
    Ldap { dn: String, attribute: String },
    /// An RRset held by a DNS server zmreip updates with RFC 2136:
    /// `{"zone", "name", "type"}`, names absolute with the trailing dot.
    Dns {
        zone: String,
        name: String,
        #[serde(rename = "type")]
        rtype: String,
    },
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Line { file, line } => write!(f, "{file}:{line}"),
            Target::LocalconfigKey { file, key } => write!(f, "{file} key {key}"),
            Target::Ldap { dn, attribute } => write!(f, "{dn} {attribute}"),
            Target::Dns { zone, name, rtype } => write!(f, "{name} {rtype} (zone {zone})"),
        }
    }
}

/// A value before or after a change: one line/value, or every value of a
/// multi-valued directory attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    One(String),
    Many(Vec<String>),
}

/// One place where a searched address occurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Where it was found (`hosts`, `dnsmasq`, `ldap`, `derived`, ...).
    pub surface: Surface,
    /// Where.
    pub target: Target,
    /// The matched text (e.g. `[172.20.14.25]:25`).
    pub matched: String,
    /// How the address occurs.
    pub kind: MatchKind,
    /// The whole line or value the match sits in (secrets never appear:
    /// values of secret keys are not scanned).
    pub context: String,
}

/// A planned change of one line, localconfig value or directory attribute.
/// `before` is its precondition: apply refuses if it no longer holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `c1`, `c2`, ... assigned by the plan in output order.
    pub id: String,
    pub surface: Surface,
    pub target: Target,
    pub before: Value,
    pub after: Value,
    /// Why, in words an admin reads in a diff.
    pub reason: String,
}

/// What one surface found in one file (or entry, or key) and what it
/// proposes to change there.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Changes with an empty `id`; the plan numbers them.
    pub changes: Vec<Change>,
    pub warnings: Vec<Notice>,
}

impl Report {
    /// Appends another report.
    pub fn extend(&mut self, other: Report) {
        self.findings.extend(other.findings);
        self.changes.extend(other.changes);
        self.warnings.extend(other.warnings);
    }
}
