//! Surface `text`: files the user lists with `--include GLOB` (stub).

use super::Ctx;
use crate::error::Result;
use crate::model::Report;

/// Analyzes a user-listed file: every line is a value of unknown kind.
pub fn analyze(path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
    let _ = (path, text, ctx);
    Ok(Report::default())
}
