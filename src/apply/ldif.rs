//! The directory as LDIF in a run: prior values kept in the journal as
//! content records, LDIF text read back into entries, and an LDIF export
//! (`--ldif`) changed as a directory writer.

use std::path::{Path, PathBuf};

use super::drift::write_problem;
use super::fsops::{self, FileState};
use super::step::AttrEdit;
use crate::directory::{Directory, DirectoryWriter, ValueEdit, ldif};
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

/// Entries of an LDIF text, read through the LDIF reader by way of a
/// private file in `dir` (removed afterwards).
pub fn parse_ldif(text: &str, dir: &Path) -> Result<Vec<crate::directory::Entry>> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!(".zmreip-read-{}-{n}.ldif", std::process::id()));
    fsops::create_private(&path, text.as_bytes()).map_err(|e| Error::io("write", &path, e))?;
    let mut out = Vec::new();
    let r = ldif::LdifDirectory::open(&path).and_then(|mut d| {
        d.for_each(&mut |e| {
            out.push(e);
            Ok(())
        })
    });
    let _ = std::fs::remove_file(&path);
    r.map(|()| out)
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
/// keeping its owner and mode.
pub struct LdifFile<'a> {
    /// The resolved file to write.
    pub real: PathBuf,
    pub shown: String,
    /// Owner and mode to keep.
    pub state: &'a FileState,
}

impl DirectoryWriter for LdifFile<'_> {
    fn apply(&mut self, edits: &[ValueEdit]) -> Result<()> {
        let current = std::fs::read(&self.real).map_err(|e| Error::io("read", &self.real, e))?;
        let mut out = Vec::with_capacity(current.len() + 256);
        ldif::rewrite_values(&self.shown, &current[..], &mut out, edits)?;
        fsops::write_atomic(
            &self.real,
            &out,
            self.state.uid,
            self.state.gid,
            self.state.mode,
        )
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
