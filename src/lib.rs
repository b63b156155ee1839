//! zmreip: change the IP address of a Zimbra mail server safely.
//!
//! The pipeline (see DESIGN.md): discover → match → plan → apply → act →
//! verify. Each stage is a module with one plain data type flowing to the
//! next. The binary (`src/main.rs`) only parses the command line.

#[macro_use]
mod macros;

pub mod addr;
pub mod apply;
pub mod audit;
pub mod check;
pub mod clock;
pub mod cluster;
pub mod confine;
pub mod directory;
pub mod discover;
pub mod dns;
pub mod error;
pub mod host;
pub mod ifaddrs;
pub mod manual;
pub mod model;
pub mod notice;
pub mod outcome;
pub mod plan;
pub mod policy;
pub mod scan;
pub mod services;
pub mod shown;
pub mod spec;
pub mod surface;
pub mod verify;
pub mod watch;
pub mod window;
pub mod zimbra;

pub use error::{Error, Result};

/// How much a command says (`--quiet`, `--verbose`), decided once by the
/// command line and passed to what prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Errors only (and, where a command reports checks, those that fail).
    Quiet,
    #[default]
    Normal,
    /// Details besides: evidence of passing checks, debug events.
    Verbose,
}
