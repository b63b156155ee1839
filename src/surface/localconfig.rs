//! Surface `localconfig` (stub, to be written).

use super::{Ctx, Surface};
use crate::error::Result;
use crate::host::Host;
use crate::model::Report;

/// The `localconfig` surface.
pub struct Localconfig;

impl Surface for Localconfig {
    fn name(&self) -> &'static str {
        "localconfig"
    }

    fn files(&self, _host: &Host) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn analyze(&self, _path: &str, _text: &str, _ctx: &Ctx) -> Result<Report> {
        Ok(Report::default())
    }
}

/// One key of localconfig.xml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LcEntry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Reads every key and value (stub).
pub fn read(path: &str, text: &str) -> Result<Vec<LcEntry>> {
    let _ = (path, text);
    Ok(Vec::new())
}
