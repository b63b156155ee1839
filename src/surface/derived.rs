//! Surface `derived`: files Zimbra regenerates (stub).

use super::Ctx;
use crate::error::Result;
use crate::model::Finding;

/// A derived file that holds a searched address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedHit {
    pub file: String,
    pub regenerated_by: crate::zimbra::Service,
    pub findings: Vec<Finding>,
}

/// Scans every derived file present on the host.
pub fn scan(ctx: &Ctx) -> Result<Vec<DerivedHit>> {
    let _ = ctx;
    Ok(Vec::new())
}
