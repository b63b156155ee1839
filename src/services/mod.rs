//! The services zmreip acts on, which command performs a plan's service
//! action on this host ([`Controller`]), and running it ([`run`]).
//!
//! Defaults are the documented Zimbra control scripts, run as the Zimbra
//! user through a login shell (`su - zimbra -c 'zmmtactl reload'`) so they
//! get Zimbra's environment, plus the system tools for dnsmasq, BIND and
//! the OS network stack. A services file (`--services FILE`, see [`file`])
//! maps any `service.action` to another command, for other layouts and
//! test labs.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::host::Host;
use crate::model::{Change, Target};

pub mod file;
pub mod impact;
mod run;

pub use run::run;

named_enum! {
    /// A service zmreip can reload or restart. The variants are in the
    /// order a plan's actions run (their `Ord`): the network first
    /// (services bind to the new address), then LDAP (everything else
    /// reads it), then name service, then the rest; memcached is flushed
    /// before the proxy restarts so it does not refill stale routes.
    /// `all` is the documented full restart, alone in its plan.
    pub enum Service {
        /// The OS network configuration (bring the new address up).
        Network = "network",
        Ldap = "ldap",
        Dnsmasq = "dnsmasq",
        Named = "named",
        Mta = "mta",
        Mailbox = "mailbox",
        Memcached = "memcached",
        Proxy = "proxy",
        /// Every Zimbra service (`zmcontrol restart`).
        All = "all",
    }
}

named_enum! {
    /// Reload (re-read config, keep serving), restart (stop and start), or
    /// flush (drop the service's cached directory entries, keep serving).
    pub enum Action {
        Reload = "reload",
        Restart = "restart",
        /// mailboxd only (`zmprov flushCache`): enough on a mailbox server
        /// whose own listeners do not move, for a value it reads per
        /// request from a cached entry ([`crate::zimbra::flushable`]).
        Flush = "flush",
    }
}

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

/// How a service's documented control commands run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defaults {
    /// Zimbra's control scripts, run as the Zimbra user. A service
    /// without a `reload` is restarted instead.
    Zimbra {
        reload: Option<&'static str>,
        restart: &'static str,
        /// How to drop its caches without a restart, if it has a way.
        flush: Option<&'static str>,
    },
    /// System tools, run as root.
    System {
        reload: Option<&'static str>,
        restart: &'static str,
    },
    /// Made from the plan: the OS network files it changes decide how the
    /// new address comes up ([`network_command`]).
    FromPlan,
}

impl Service {
    /// The name of the Zimbra service behind this one, as
    /// `zimbraServiceEnabled` lists it; `None` for what every host has
    /// (the network, dnsmasq, named) and for `all`.
    pub fn zimbra_name(self) -> Option<&'static str> {
        match self {
            Service::Ldap => Some("ldap"),
            Service::Mta => Some("mta"),
            Service::Mailbox => Some("mailbox"),
            Service::Proxy => Some("proxy"),
            Service::Memcached => Some("memcached"),
            Service::Dnsmasq | Service::Named | Service::Network | Service::All => None,
        }
    }

    /// The documented commands of each service.
    fn defaults(self) -> Defaults {
        use Defaults::{FromPlan, System, Zimbra};
        match self {
            Service::Network => FromPlan,
            Service::Ldap => Zimbra {
                reload: None,
                restart: "ldap restart",
                flush: None,
            },
            Service::Mta => Zimbra {
                reload: Some("zmmtactl reload"),
                restart: "zmmtactl restart",
                flush: None,
            },
            Service::Mailbox => Zimbra {
                reload: None,
                restart: "zmmailboxdctl restart",
                // The entry caches a changed value can live in
                // (zimbra-config-model.md §9.2); zmprov asks this host's
                // mailboxd.
                flush: Some("zmprov flushCache config,server,domain,cos,account"),
            },
            Service::Proxy => Zimbra {
                reload: Some("zmproxyctl reload"),
                restart: "zmproxyctl restart",
                flush: None,
            },
            Service::Memcached => Zimbra {
                reload: None,
                restart: "zmmemcachedctl restart",
                flush: None,
            },
            // dnsmasq re-reads its configuration only on a restart; a
            // reload (SIGHUP) re-reads the hosts files.
            Service::Dnsmasq => System {
                reload: Some("systemctl reload dnsmasq"),
                restart: "systemctl restart dnsmasq",
            },
            Service::Named => System {
                reload: Some("rndc reload"),
                restart: "systemctl restart named",
            },
            Service::All => Zimbra {
                reload: None,
                restart: "zmcontrol restart",
                flush: None,
            },
        }
    }
}

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

    /// The command for an action, or `None` when there is none (a network
    /// action when no OS network file changes, and no override). An
    /// action with no command of its own falls back to the service's
    /// `restart` command (a restart does everything a reload does).
    pub fn command(&self, service: Service, action: Action) -> Option<Cmd> {
        for a in [action, Action::Restart] {
            if let Some(c) = self.overrides.get(&(service, a)) {
                return Some(c.clone());
            }
        }
        let pick = |reload: Option<&'static str>,
                    restart: &'static str,
                    flush: Option<&'static str>| match action {
            Action::Reload => reload.unwrap_or(restart),
            Action::Restart => restart,
            Action::Flush => flush.unwrap_or(restart),
        };
        match service.defaults() {
            Defaults::FromPlan => self.network.clone(),
            Defaults::Zimbra {
                reload,
                restart,
                flush,
            } => Some(Cmd::Argv(vec![
                "su".into(),
                "-".into(),
                self.user.clone(),
                "-c".into(),
                pick(reload, restart, flush).to_string(),
            ])),
            Defaults::System { reload, restart } => {
                Some(Cmd::Shell(pick(reload, restart, None).to_string()))
            }
        }
    }
}

/// The command that brings up the new addresses of the OS network files
/// `changes` edit, read from the files as they are before the change
/// (each surface says how, [`crate::surface::Surface::bring_up`]). `None`
/// when no OS network file changes.
pub fn network_command(host: &Host, changes: &[Change]) -> Result<Option<Cmd>> {
    let mut parts: Vec<String> = Vec::new();
    for c in changes {
        let Target::Line { file, line } = &c.target else {
            continue;
        };
        let Some(bring_up) = c.surface.bring_up() else {
            continue;
        };
        let text = host.read(file)?.unwrap_or_default();
        let p = bring_up(file, &text, *line);
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    Ok((!parts.is_empty()).then(|| Cmd::Shell(parts.join(" && "))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::Surface;

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
            (
                Service::Mailbox,
                Action::Flush,
                "su - zimbra -c 'zmprov flushCache config,server,domain,cos,account'",
            ),
            // Only mailboxd can be flushed; a restart does it elsewhere.
            (
                Service::Proxy,
                Action::Flush,
                "su - zimbra -c 'zmproxyctl restart'",
            ),
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
        // Every service but the network has a documented command.
        for s in Service::ALL {
            for a in Action::ALL {
                assert_eq!(
                    ctl().command(*s, *a).is_some(),
                    *s != Service::Network,
                    "{s} {a}"
                );
            }
        }
    }

    #[test]
    fn services_run_in_their_order() {
        let mut sorted = Service::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, Service::ALL);
        let pos = |s: Service| Service::ALL.iter().position(|x| *x == s).unwrap();
        assert_eq!(pos(Service::Network), 0);
        assert!(pos(Service::Ldap) < pos(Service::Mta));
        assert!(pos(Service::Memcached) < pos(Service::Proxy));
        assert_eq!(pos(Service::All), Service::ALL.len() - 1);
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
        let change = |surface: Surface, file: &str, line: usize| Change {
            id: "c1".into(),
            surface,
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
                change(Surface::Ifupdown, "/etc/network/interfaces", 6),
                "{ ifdown --force ens3; ip addr flush dev ens3 scope global; ifup ens3; }",
            ),
            (
                change(Surface::Netplan, "/etc/netplan/50.yaml", 3),
                "netplan apply",
            ),
            (
                change(
                    Surface::NmConnection,
                    "/etc/NetworkManager/system-connections/wired.nmconnection",
                    4,
                ),
                "nmcli connection reload && nmcli connection up id 'Wired one'",
            ),
            (
                change(
                    Surface::Ifcfg,
                    "/etc/sysconfig/network-scripts/ifcfg-eth0",
                    2,
                ),
                "nmcli connection reload && nmcli connection up id eth0",
            ),
            (
                change(Surface::Networkd, "/etc/systemd/network/10.network", 3),
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
            network_command(&host, &[change(Surface::Hosts, "/etc/hosts", 1)]).unwrap(),
            None
        );
        // Two changes in one netplan file: one command.
        let two = [
            change(Surface::Netplan, "/etc/netplan/50.yaml", 3),
            change(Surface::Netplan, "/etc/netplan/50.yaml", 4),
        ];
        assert_eq!(
            network_command(&host, &two).unwrap().unwrap().to_string(),
            "netplan apply"
        );
    }
}
