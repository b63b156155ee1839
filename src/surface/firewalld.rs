//! stub
use super::{Ctx, FileSurface};
use crate::error::Result;
use crate::model::Report;
pub struct Firewalld;
impl FileSurface for Firewalld {
    fn files(&self, _ctx: &Ctx) -> Result<Vec<String>> { Ok(Vec::new()) }
    fn analyze(&self, _path: &str, _text: &str, _ctx: &Ctx) -> Result<Report> { Ok(Report::default()) }
}
