//! The service controller: which command performs a plan's service action
//! on this host, and running it with a timeout.
//!
//! Defaults are the documented Zimbra control scripts, run as the Zimbra
//! user through a login shell (`su - zimbra -c 'zmmtactl reload'`) so they
//! get Zimbra's environment, plus the system tools for dnsmasq, BIND and
//! the OS network stack. A TOML file (`--services FILE`) maps any
//! `service.action` to another command, for other layouts and test labs:
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
//! TOML. Services: `ldap`, `mta`, `mailbox`, `proxy`, `memcached`,
//! `dnsmasq`, `named`, `network`, `all`; actions: `reload`, `restart`,
//! `flush` (mailbox).
//! An action with no command of its own falls back to the service's
//! `restart` command (a restart does everything a reload does).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::{Change, Target};
use crate::zimbra::{Action, Service};

/// Default time a command may take: `zmcontrol restart` on a loaded
/// server takes minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(900);

/// A command: a shell line (run with `sh -c`) or an argument vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cmd {
    Shell(String),
    Argv(Vec<String>),
}

impl fmt::Display for Cmd {
    /// As an admin would type it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cmd::Shell(s) => f.write_str(s),
            Cmd::Argv(v) => {
                let words: Vec<String> = v.iter().map(|w| shell_quote(w)).collect();
                f.write_str(&words.join(" "))
            }
        }
    }
}

/// `word` quoted for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:=@%+-,".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Zimbra's control scripts per service and action, run as the Zimbra
/// user. Services without a `reload` here fall back to `restart`.
const ZIMBRA_SCRIPTS: &[(Service, Action, &str)] = &[
    (Service::Ldap, Action::Restart, "ldap restart"),
    (Service::Mta, Action::Reload, "zmmtactl reload"),
    (Service::Mta, Action::Restart, "zmmtactl restart"),
    (Service::Mailbox, Action::Restart, "zmmailboxdctl restart"),
    // The entry caches a changed value can live in (zimbra-config-model.md
    // §9.2); zmprov asks this host's mailboxd.
    (
        Service::Mailbox,
        Action::Flush,
        "zmprov flushCache config,server,domain,cos,account",
    ),
    (Service::Proxy, Action::Reload, "zmproxyctl reload"),
    (Service::Proxy, Action::Restart, "zmproxyctl restart"),
    (
        Service::Memcached,
        Action::Restart,
        "zmmemcachedctl restart",
    ),
    (Service::All, Action::Restart, "zmcontrol restart"),
];

/// System services, run as root. dnsmasq re-reads its configuration only
/// on a restart; a reload (SIGHUP) re-reads the hosts files.
const SYSTEM_COMMANDS: &[(Service, Action, &str)] = &[
    (Service::Dnsmasq, Action::Reload, "systemctl reload dnsmasq"),
    (
        Service::Dnsmasq,
        Action::Restart,
        "systemctl restart dnsmasq",
    ),
    (Service::Named, Action::Reload, "rndc reload"),
    (Service::Named, Action::Restart, "systemctl restart named"),
];

/// Which commands perform service actions here.
#[derive(Debug, Clone)]
pub struct Controller {
    pub timeout: Duration,
    /// The Zimbra user (`zimbra`, or `zextras` on Carbonio).
    pub user: String,
    overrides: BTreeMap<(Service, Action), Cmd>,
    /// The command that brings the new network configuration up, derived
    /// from the OS network files the plan changes.
    network: Option<Cmd>,
}

impl Controller {
    /// The defaults for a host whose Zimbra lives at `zimbra_home`.
    pub fn new(zimbra_home: &str) -> Controller {
        Controller {
            timeout: DEFAULT_TIMEOUT,
            user: if zimbra_home == "/opt/zextras" {
                "zextras".into()
            } else {
                "zimbra".into()
            },
            overrides: BTreeMap::new(),
            network: None,
        }
    }

    /// Sets the command for the `network` action (see [`network_command`]).
    pub fn with_network(mut self, cmd: Option<Cmd>) -> Controller {
        self.network = cmd;
        self
    }

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
                    let service = parse_service(name)
                        .ok_or_else(|| bad(format!("unknown service `{name}`")))?;
                    let actions = value
                        .as_table()
                        .ok_or_else(|| bad(format!("`{name}` must be a table of actions")))?;
                    for (action, cmd) in actions {
                        let action = match action.as_str() {
                            "reload" => Action::Reload,
                            "restart" => Action::Restart,
                            "flush" => Action::Flush,
                            other => {
                                return Err(bad(format!("unknown action `{name}.{other}`")));
                            }
                        };
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

    /// The command for an action, or `None` when there is none (a network
    /// action when no OS network file changes, and no override).
    pub fn command(&self, service: Service, action: Action) -> Option<Cmd> {
        for a in [action, Action::Restart] {
            if let Some(c) = self.overrides.get(&(service, a)) {
                return Some(c.clone());
            }
        }
        if service == Service::Network {
            return self.network.clone();
        }
        for a in [action, Action::Restart] {
            if let Some((_, _, s)) = ZIMBRA_SCRIPTS
                .iter()
                .find(|(sv, ac, _)| *sv == service && *ac == a)
            {
                return Some(Cmd::Argv(vec![
                    "su".into(),
                    "-".into(),
                    self.user.clone(),
                    "-c".into(),
                    s.to_string(),
                ]));
            }
            if let Some((_, _, s)) = SYSTEM_COMMANDS
                .iter()
                .find(|(sv, ac, _)| *sv == service && *ac == a)
            {
                return Some(Cmd::Shell(s.to_string()));
            }
        }
        None
    }
}

const FORMAT_HELP: &str = "a services file maps SERVICE.ACTION to a command, e.g. `[mta]` then `reload = \"su - zimbra -c 'zmmtactl reload'\"`; optional `timeout = SECONDS` and `user = NAME`";

fn parse_service(name: &str) -> Option<Service> {
    [
        Service::Ldap,
        Service::Mta,
        Service::Mailbox,
        Service::Proxy,
        Service::Memcached,
        Service::Dnsmasq,
        Service::Named,
        Service::Network,
        Service::All,
    ]
    .into_iter()
    .find(|s| s.as_str() == name)
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

/// How each OS network-config surface brings a changed file's addresses
/// up. `name` is the interface or connection the changed lines belong to.
fn bring_up(surface: &str, name: Option<&str>) -> Option<String> {
    Some(match (surface, name) {
        ("netplan", _) => "netplan apply".into(),
        ("networkd", _) => "systemctl restart systemd-networkd".into(),
        // ifdown with the edited file cannot remove the old address (it
        // no longer knows it), so global addresses are flushed by hand.
        ("ifupdown", Some(i)) => {
            let i = shell_quote(i);
            format!("{{ ifdown --force {i}; ip addr flush dev {i} scope global; ifup {i}; }}")
        }
        ("ifupdown", None) => "systemctl restart networking".into(),
        ("nmconnection" | "ifcfg", Some(c)) => {
            format!(
                "nmcli connection reload && nmcli connection up id {}",
                shell_quote(c)
            )
        }
        ("nmconnection" | "ifcfg", None) => "nmcli connection reload".into(),
        _ => return None,
    })
}

/// The command that brings up the new addresses of the OS network files
/// `changes` edit, read from the files as they are before the change.
/// `None` when no OS network file changes.
pub fn network_command(host: &Host, changes: &[Change]) -> Result<Option<Cmd>> {
    let mut parts: Vec<String> = Vec::new();
    for c in changes {
        let Target::Line { file, line } = &c.target else {
            continue;
        };
        if bring_up(&c.surface, None).is_none() {
            continue;
        }
        let text = host.read(file)?.unwrap_or_default();
        let name = match c.surface.as_str() {
            "ifupdown" => ifupdown_iface(&text, *line),
            "nmconnection" => key_value(&text, "id").or_else(|| file_stem(file)),
            "ifcfg" => key_value(&text, "NAME")
                .or_else(|| key_value(&text, "DEVICE"))
                .or_else(|| file_stem(file).map(|s| s.trim_start_matches("ifcfg-").to_string())),
            _ => None,
        };
        if let Some(p) = bring_up(&c.surface, name.as_deref())
            && !parts.contains(&p)
        {
            parts.push(p);
        }
    }
    Ok((!parts.is_empty()).then(|| Cmd::Shell(parts.join(" && "))))
}

/// The interface of the `iface` stanza that holds line `line` (1-based).
fn ifupdown_iface(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("iface")).then(|| w.next().map(str::to_string))?
        })
        .last()
}

/// The value of the first `key=value` line, unquoted.
fn key_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches(['"', '\'']).to_string())
        })
        .filter(|v| !v.is_empty())
}

fn file_stem(file: &str) -> Option<String> {
    Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
}

/// Runs a command with stdin closed and its output appended to `log`.
/// After `timeout` the whole process group is terminated (then killed)
/// and the run fails. `env` is added to the command's environment.
pub fn run(cmd: &Cmd, timeout: Duration, log: &Path, env: &[(&str, &str)]) -> Result<()> {
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(log)
        .map_err(|e| Error::io("write", log, e))?;
    let _ = writeln!(out, "$ {cmd}");
    let err = out.try_clone().map_err(|e| Error::io("write", log, e))?;
    let mut command = match cmd {
        Cmd::Shell(s) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(s);
            c
        }
        Cmd::Argv(v) => {
            let mut c = Command::new(&v[0]);
            c.args(&v[1..]);
            c
        }
    };
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .envs(env.iter().copied())
        .process_group(0);
    let mut child = command.spawn().map_err(|e| {
        Error::other(
            format!("cannot start `{cmd}`: {e}"),
            "check the command (see --services) and that it is installed",
        )
    })?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() >= timeout => {
                kill_group(child.id());
                let _ = child.wait();
                return Err(Error::other(
                    format!(
                        "`{cmd}` did not finish within {} s and was stopped",
                        timeout.as_secs()
                    ),
                    format!(
                        "see {} for its output; raise `timeout` in the services file if it needs longer",
                        log.display()
                    ),
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(Error::other(format!("cannot wait for `{cmd}`: {e}"), "")),
        }
    };
    if status.success() {
        return Ok(());
    }
    let tail = log_tail(log, 5);
    Err(Error::other(
        format!(
            "`{cmd}` failed ({status}){}",
            if tail.is_empty() {
                String::new()
            } else {
                format!(":\n{tail}")
            }
        ),
        format!("the full output is in {}", log.display()),
    ))
}

/// SIGTERM to the group, a grace period, then SIGKILL.
fn kill_group(pid: u32) {
    let pgid = -(pid as libc::pid_t);
    // SAFETY: plain signal sends to the group this function's caller
    // created with process_group(0).
    unsafe { libc::kill(pgid, libc::SIGTERM) };
    std::thread::sleep(Duration::from_secs(2));
    unsafe { libc::kill(pgid, libc::SIGKILL) };
}

/// The last `n` lines of a log, indented.
fn log_tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctl() -> Controller {
        Controller::new("/opt/zimbra")
    }

    #[test]
    fn defaults_run_zimbra_scripts_as_zimbra() {
        let table: &[(Service, Action, &str)] = &[
            (
                Service::Ldap,
                Action::Restart,
                "su - zimbra -c 'ldap restart'",
            ),
            // ldap has no reload: the restart is used.
            (
                Service::Ldap,
                Action::Reload,
                "su - zimbra -c 'ldap restart'",
            ),
            (
                Service::Mta,
                Action::Reload,
                "su - zimbra -c 'zmmtactl reload'",
            ),
            (
                Service::Mailbox,
                Action::Restart,
                "su - zimbra -c 'zmmailboxdctl restart'",
            ),
            (
                Service::Proxy,
                Action::Restart,
                "su - zimbra -c 'zmproxyctl restart'",
            ),
            (
                Service::Memcached,
                Action::Reload,
                "su - zimbra -c 'zmmemcachedctl restart'",
            ),
            (
                Service::All,
                Action::Restart,
                "su - zimbra -c 'zmcontrol restart'",
            ),
            (
                Service::Dnsmasq,
                Action::Restart,
                "systemctl restart dnsmasq",
            ),
            (Service::Dnsmasq, Action::Reload, "systemctl reload dnsmasq"),
            (Service::Named, Action::Reload, "rndc reload"),
        ];
        for (s, a, want) in table {
            let got = ctl().command(*s, *a).map(|c| c.to_string());
            assert_eq!(got.as_deref(), Some(*want), "{s:?} {a:?}");
        }
        assert_eq!(ctl().command(Service::Network, Action::Restart), None);
        let carbonio = Controller::new("/opt/zextras").command(Service::Mta, Action::Reload);
        assert_eq!(
            carbonio.unwrap().to_string(),
            "su - zextras -c 'zmmtactl reload'"
        );
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

    #[test]
    fn quoting() {
        for (w, q) in [
            ("plain-word_1.2", "plain-word_1.2"),
            ("two words", "'two words'"),
            ("it's", r"'it'\''s'"),
            ("", "''"),
            ("$HOME", "'$HOME'"),
        ] {
            assert_eq!(shell_quote(w), q);
        }
    }

    #[test]
    fn network_bring_up_per_surface() {
        let d = tempfile::tempdir().unwrap();
        let files = [
            (
                "etc/network/interfaces",
                "auto lo\niface lo inet loopback\n\nauto ens3\niface ens3 inet static\n    address 172.20.14.25/24\n",
            ),
            (
                "etc/NetworkManager/system-connections/wired.nmconnection",
                "[connection]\nid=Wired one\n[ipv4]\naddress1=172.20.14.25/24\n",
            ),
            (
                "etc/sysconfig/network-scripts/ifcfg-eth0",
                "DEVICE=eth0\nIPADDR=172.20.14.25\n",
            ),
        ];
        for (p, t) in files {
            let real = d.path().join(p);
            std::fs::create_dir_all(real.parent().unwrap()).unwrap();
            std::fs::write(real, t).unwrap();
        }
        let host = Host::open(d.path(), None).unwrap();
        let change = |surface: &str, file: &str, line: usize| Change {
            id: "c1".into(),
            surface: surface.into(),
            target: Target::Line {
                file: file.into(),
                line,
            },
            before: crate::model::Value::One(String::new()),
            after: crate::model::Value::One(String::new()),
            reason: String::new(),
        };
        let cases = [
            (
                change("ifupdown", "/etc/network/interfaces", 6),
                "{ ifdown --force ens3; ip addr flush dev ens3 scope global; ifup ens3; }",
            ),
            (
                change("netplan", "/etc/netplan/50.yaml", 3),
                "netplan apply",
            ),
            (
                change(
                    "nmconnection",
                    "/etc/NetworkManager/system-connections/wired.nmconnection",
                    4,
                ),
                "nmcli connection reload && nmcli connection up id 'Wired one'",
            ),
            (
                change("ifcfg", "/etc/sysconfig/network-scripts/ifcfg-eth0", 2),
                "nmcli connection reload && nmcli connection up id eth0",
            ),
            (
                change("networkd", "/etc/systemd/network/10.network", 3),
                "systemctl restart systemd-networkd",
            ),
        ];
        for (c, want) in &cases {
            let got = network_command(&host, std::slice::from_ref(c))
                .unwrap()
                .unwrap();
            assert_eq!(got.to_string(), *want);
        }
        assert_eq!(
            network_command(&host, &[change("hosts", "/etc/hosts", 1)]).unwrap(),
            None
        );
        // Two changes in one netplan file: one command.
        let two = [
            change("netplan", "/etc/netplan/50.yaml", 3),
            change("netplan", "/etc/netplan/50.yaml", 4),
        ];
        assert_eq!(
            network_command(&host, &two).unwrap().unwrap().to_string(),
            "netplan apply"
        );
    }

    #[test]
    fn run_logs_output_reports_failure_and_times_out() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("services.log");
        run(
            &Cmd::Shell("echo hello $ZMREIP_SERVICE".into()),
            Duration::from_secs(10),
            &log,
            &[("ZMREIP_SERVICE", "mta")],
        )
        .unwrap();
        assert!(std::fs::read_to_string(&log).unwrap().contains("hello mta"));
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&log).unwrap().mode() & 0o777, 0o600);
        let e = run(
            &Cmd::Shell("echo broken >&2; exit 3".into()),
            Duration::from_secs(10),
            &log,
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("failed") && e.contains("broken"), "{e}");
        let e = run(
            &Cmd::Argv(vec!["/no/such/tool".into()]),
            Duration::from_secs(10),
            &log,
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("cannot start"), "{e}");
        let start = Instant::now();
        // The child of the shell must die with the group, or this would
        // hold the test for 30 s.
        let e = run(
            &Cmd::Shell("sleep 30 & wait".into()),
            Duration::from_millis(300),
            &log,
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("did not finish within"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
