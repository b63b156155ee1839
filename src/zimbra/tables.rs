//! The tables behind [`super`]. (Filled in by the zimbra-knowledge work.)

use super::{Action, Derived, Rule, Service};

pub(super) static ATTRIBUTES: &[Rule] = &[];
pub(super) static LOCALCONFIG: &[Rule] = &[];
pub(super) static SECRET_KEYS: &[&str] = &[];
pub(super) static DERIVED: &[Derived] = &[];
pub(super) static SURFACE_ACTIONS: &[(&str, &[(Service, Action)])] = &[];
