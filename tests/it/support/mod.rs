//! What the tests share: the servers they start and the fixture host
//! they apply plans to.

pub mod dns;
pub mod lab;
pub mod slapd;
