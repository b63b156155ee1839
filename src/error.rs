//! One error type for the library. The CLI prints it once, as
//! `zmreip: error: ...` followed by `help: ...` when there is advice, and
//! maps it to an exit status (2 for bad usage, 1 for everything else).

use std::path::PathBuf;

/// Everything that can go wrong, with the place at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line is wrong (exit status 2).
    #[error("{message}")]
    Usage {
        message: String,
        help: Option<String>,
    },

    /// A file could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// A file does not parse. `path` is the path on the host.
    #[error("{path}:{line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
        help: Option<String>,
    },

    /// Anything else, with advice.
    #[error("{message}")]
    Other {
        message: String,
        help: Option<String>,
    },

    /// Files that could not be read or do not parse, every one of them
    /// (each names its file and line): a plan is not proposed on a host
    /// zmreip could read only in part.
    #[error("{} file{} could not be read, so nothing was planned", errors.len(), if errors.len() == 1 { "" } else { "s" })]
    Unreadable { errors: Vec<Error> },
}

impl Error {
    /// A usage error with advice.
    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            help: Some(help.into()),
        }
    }

    /// A parse error at `path:line`.
    pub fn parse(path: &str, line: usize, message: impl Into<String>) -> Error {
        Error::Parse {
            path: path.to_string(),
            line,
            message: message.into(),
            help: None,
        }
    }

    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Any other error, with advice.
    pub fn other(message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::Other {
            message: message.into(),
            help: Some(help.into()),
        }
    }

    /// The advice to print after the error, if any.
    pub fn help(&self) -> Option<&str> {
        match self {
            Error::Usage { help, .. } | Error::Parse { help, .. } | Error::Other { help, .. } => {
                help.as_deref()
            }
            Error::Unreadable { .. } => Some(
                "fix each file named above (or move it out of the way if it is not in use), then run zmreip again",
            ),
            Error::Io { source, .. } => Some(match source.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    "run zmreip as root, or fix the file's permissions"
                }
                std::io::ErrorKind::NotFound => "check the path and --root",
                _ => "check the file and the file system it is on",
            }),
        }
    }

    /// The errors to print, in order: those of every unreadable file,
    /// then this one; otherwise this one alone.
    pub fn all(&self) -> Vec<&Error> {
        match self {
            Error::Unreadable { errors } => errors.iter().chain(std::iter::once(self)).collect(),
            _ => vec![self],
        }
    }

    /// The exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } => exit::USAGE,
            _ => exit::FAILURE,
        }
    }
}

/// The exit statuses zmreip documents: one meaning each, whatever the
/// command (README, "Exit status").
pub mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// Failed (a check failed, a step failed, a file did not parse).
    pub const FAILURE: u8 = 1;
    /// The command line is wrong; nothing was done.
    pub const USAGE: u8 = 2;
    /// `check`: the new address would hurt mail.
    pub const HURTS_MAIL: u8 = 3;
    /// `plan --detailed-exitcode`: the plan has something to apply.
    pub const CHANGES_PENDING: u8 = 4;
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
