//! The directory as LDIF in a run: prior values kept in the journal as
//! content records, LDIF text read back into entries, and an LDIF export
//! (`--ldif`) changed as a directory writer.

use super::drift::write_problem;
use super::fsops::{self, Owner};
use super::step::AttrEdit;
use crate::confine::Root;
use crate::directory::{DirectoryWriter, ValueEdit, ldif};
use crate::error::{Error, Result};

/// The values of `attribute` of entry `dn` among `entries`.
pub fn values_in(entries: &[crate::directory::Entry], dn: &str, attribute: &str) -> Vec<String> {
    entries
        .iter()
        .find(|p| p.dn.eq_ignore_ascii_case(dn))
        .and_then(|p| p.get(attribute))
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}

/// Entries of an LDIF text (a journal's prior values, a directory's
/// read-back); `shown` names it in errors.
pub fn parse_ldif(text: &str, shown: &str) -> Result<Vec<crate::directory::Entry>> {
    ldif::parse_text(shown, text)
}

/// The directory values a step changes, as they were, as LDIF content
/// records (for the journal and for people): one record per entry, with
/// only the edited attributes.
pub fn prior_ldif(edits: &[AttrEdit]) -> String {
    let mut by_dn: Vec<(&str, Vec<&AttrEdit>)> = Vec::new();
    for e in edits {
        match by_dn
            .iter_mut()
            .find(|(dn, _)| dn.eq_ignore_ascii_case(&e.dn))
        {
            Some((_, v)) => v.push(e),
            None => by_dn.push((&e.dn, vec![e])),
        }
    }
    let mut out =
        String::from("# The directory values zmreip changed, as they were before.\nversion: 1\n\n");
    for (dn, es) in by_dn {
        ldif::push_line(&mut out, "dn", dn);
        for e in es {
            for v in &e.before {
                ldif::push_line(&mut out, &e.attribute, v);
            }
        }
        out.push('\n');
    }
    out
}

/// The directory writer of an LDIF export: the file is rewritten with
/// the values changed (every other byte kept) and replaced atomically,
/// keeping its owner, mode and extended attributes.
pub struct LdifFile<'a> {
    pub root: &'a Root,
    /// The resolved file to write, in `root`.
    pub file: String,
    pub shown: String,
    /// Owner and mode to keep.
    pub owner: &'a Owner,
}

impl DirectoryWriter for LdifFile<'_> {
    fn apply(&mut self, edits: &[ValueEdit]) -> Result<()> {
        let current = fsops::capture(self.root, &self.file)
            .map_err(|e| crate::host::read_error(&self.shown, e))?
            .bytes;
        let mut out = Vec::with_capacity(current.len() + 256);
        ldif::rewrite_values(&self.shown, &current[..], &mut out, edits)?;
        fsops::write_atomic(self.root, &self.file, &out, self.owner)
            .map(drop)
            .map_err(|e| {
                Error::other(
                    format!("{}: {}", self.shown, write_problem(&e)),
                    "nothing of this file was changed",
                )
            })
    }
}

/// The value edits of an LDIF step (for the writer and change records).
pub fn value_edits(edits: &[AttrEdit]) -> Vec<ValueEdit> {
    edits.iter().map(AttrEdit::value_edit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prior_values_as_ldif() {
        let edits = [
            AttrEdit {
                dn: "cn=config,cn=zimbra".into(),
                attribute: "zimbraMtaMyNetworks".into(),
                before: vec!["127.0.0.0/8 172.20.14.0/24".into()],
                after: vec![],
            },
            AttrEdit {
                dn: "cn=config,cn=zimbra".into(),
                attribute: "zimbraHttpThrottleSafeIPs".into(),
                before: vec!["172.20.14.25".into(), "10.0.0.1".into()],
                after: vec![],
            },
        ];
        assert_eq!(
            prior_ldif(&edits),
            "# The directory values zmreip changed, as they were before.\nversion: 1\n\ndn: cn=config,cn=zimbra\nzimbraMtaMyNetworks: 127.0.0.0/8 172.20.14.0/24\nzimbraHttpThrottleSafeIPs: 172.20.14.25\nzimbraHttpThrottleSafeIPs: 10.0.0.1\n\n"
        );
    }
}
