//! LDIF (RFC 2849) reader (stub).

use std::path::{Path, PathBuf};

use super::{Directory, Entry};
use crate::error::Result;

/// A directory read from an LDIF file.
pub struct LdifDirectory {
    path: PathBuf,
}

impl LdifDirectory {
    /// Opens an LDIF file (checked for readability now, read when iterated).
    pub fn open(path: &Path) -> Result<LdifDirectory> {
        Ok(LdifDirectory {
            path: path.to_path_buf(),
        })
    }
}

impl Directory for LdifDirectory {
    fn describe(&self) -> String {
        format!("LDIF {}", self.path.display())
    }

    fn for_each(&mut self, visit: &mut dyn FnMut(Entry) -> Result<()>) -> Result<()> {
        let _ = visit;
        Ok(())
    }
}
