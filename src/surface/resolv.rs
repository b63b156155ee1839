//! Surface `resolv` (stub, to be written).

use super::{Ctx, Surface};
use crate::error::Result;
use crate::host::Host;
use crate::model::Report;

/// The `resolv` surface.
pub struct Resolv;

impl Surface for Resolv {
    fn name(&self) -> &'static str {
        "resolv"
    }

    fn files(&self, _host: &Host) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn analyze(&self, _path: &str, _text: &str, _ctx: &Ctx) -> Result<Report> {
        Ok(Report::default())
    }
}
