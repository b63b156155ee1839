//! The services file (`apply --services FILE`): TOML mapping any
//! `service.action` to another command, for other layouts and test labs.
//!
//! ```toml
//! timeout = 120                      # seconds per command (default 900)
//! user = "zimbra"                    # who runs the Zimbra scripts
//!
//! [mta]
//! reload = "su - zimbra -c 'zmmtactl reload'"   # a string runs with sh -c
//! [mailbox]
//! restart = ["/usr/local/bin/lab-ctl", "mailbox", "restart"]  # an array is argv
//! ```
//!
//! Top-level dotted keys (`mta.reload = "..."`) are the same thing in
//! TOML. Services and actions are named as in plans
//! ([`Service`], [`Action`]).

use std::path::Path;
use std::time::Duration;

use super::{Action, Cmd, Controller, Service};
use crate::error::{Error, Result};

const FORMAT_HELP: &str = "a services file maps SERVICE.ACTION to a command, e.g. `[mta]` then `reload = \"su - zimbra -c 'zmmtactl reload'\"`; optional `timeout = SECONDS` and `user = NAME`";

impl Controller {
    /// Reads a services file (format in the module doc) over the defaults.
    /// `path` is shown in errors.
    pub fn load(mut self, path: &Path, text: &str) -> Result<Controller> {
        let shown = path.display().to_string();
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(1);
            Error::Parse {
                path: shown.clone(),
                line,
                message: format!("not valid TOML: {}", e.message()),
                help: Some(FORMAT_HELP.into()),
            }
        })?;
        let bad = |msg: String| Error::Parse {
            path: shown.clone(),
            line: 1,
            message: msg,
            help: Some(FORMAT_HELP.into()),
        };
        for (key, value) in &table {
            match key.as_str() {
                "timeout" => {
                    let secs = value.as_integer().filter(|s| *s > 0).ok_or_else(|| {
                        bad("`timeout` must be a positive number of seconds".into())
                    })?;
                    self.timeout = Duration::from_secs(secs as u64);
                }
                "user" => {
                    self.user = value
                        .as_str()
                        .filter(|u| !u.is_empty())
                        .ok_or_else(|| bad("`user` must be a user name".into()))?
                        .to_string();
                }
                name => {
                    let service = name
                        .parse::<Service>()
                        .map_err(|_| bad(format!("unknown service `{name}`")))?;
                    let actions = value
                        .as_table()
                        .ok_or_else(|| bad(format!("`{name}` must be a table of actions")))?;
                    for (action, cmd) in actions {
                        let action = action
                            .parse::<Action>()
                            .map_err(|_| bad(format!("unknown action `{name}.{action}`")))?;
                        let cmd = parse_cmd(cmd).ok_or_else(|| {
                            bad(format!(
                                "`{name}.{}` must be a command string or a non-empty array of strings",
                                action.as_str()
                            ))
                        })?;
                        self.overrides.insert((service, action), cmd);
                    }
                }
            }
        }
        Ok(self)
    }
}

fn parse_cmd(v: &toml::Value) -> Option<Cmd> {
    match v {
        toml::Value::String(s) if !s.trim().is_empty() => Some(Cmd::Shell(s.clone())),
        toml::Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Cmd::Argv),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctl() -> Controller {
        Controller::new("/opt/zimbra")
    }

    #[test]
    fn services_file_overrides_and_falls_back_to_restart() {
        let text = "timeout = 7\nuser = \"zmlab\"\nmta.reload = \"echo mta\"\n[mailbox]\nrestart = [\"/bin/echo\", \"a b\"]\n[network]\nrestart = \"true\"\n";
        let c = ctl().load(Path::new("s.toml"), text).unwrap();
        assert_eq!(c.timeout, Duration::from_secs(7));
        assert_eq!(
            c.command(Service::Mta, Action::Reload),
            Some(Cmd::Shell("echo mta".into()))
        );
        // Not overridden: the default, with the configured user.
        assert_eq!(
            c.command(Service::Mta, Action::Restart)
                .unwrap()
                .to_string(),
            "su - zmlab -c 'zmmtactl restart'"
        );
        // mailbox.reload is not set: mailbox.restart covers it.
        assert_eq!(
            c.command(Service::Mailbox, Action::Reload)
                .unwrap()
                .to_string(),
            "/bin/echo 'a b'"
        );
        assert_eq!(
            c.command(Service::Network, Action::Restart),
            Some(Cmd::Shell("true".into()))
        );
    }

    #[test]
    fn services_file_errors_name_the_problem() {
        let cases = [
            ("mtaa.reload = \"x\"", "unknown service `mtaa`"),
            ("mta.relaod = \"x\"", "unknown action `mta.relaod`"),
            ("mta.reload = 3", "must be a command string"),
            ("mta.reload = []", "must be a command string"),
            ("mta = \"x\"", "must be a table of actions"),
            ("timeout = 0", "positive number"),
            ("[mta\nreload = 1", "not valid TOML"),
        ];
        for (text, want) in cases {
            let e = ctl()
                .load(Path::new("/x/s.toml"), text)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(want) && e.starts_with("/x/s.toml:"),
                "{text}: {e}"
            );
        }
    }
}
