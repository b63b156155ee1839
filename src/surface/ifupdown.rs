//! Surface `ifupdown` (stub, to be written).

use super::{Ctx, Surface};
use crate::error::Result;
use crate::host::Host;
use crate::model::Report;

/// The `ifupdown` surface.
pub struct Ifupdown;

impl Surface for Ifupdown {
    fn name(&self) -> &'static str {
        "ifupdown"
    }

    fn files(&self, _host: &Host) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn analyze(&self, _path: &str, _text: &str, _ctx: &Ctx) -> Result<Report> {
        Ok(Report::default())
    }
}
