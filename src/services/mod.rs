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
    /// (services bind to the new address), the firewall and keepalived
    /// rules for it next, then LDAP (everything else reads it), Carbonio's
    /// service mesh (which reads LDAP at start), then name service, then
    /// the rest; memcached is flushed before the proxy restarts so it does
    /// not refill stale routes. `all` is the documented full restart of
    /// Zimbra, last.
    pub enum Service {
        /// The OS network configuration (bring the new address up).
        Network = "network",
        /// Saved iptables/ip6tables rules (`/etc/iptables`, RHEL's
        /// `/etc/sysconfig/iptables`).
        Iptables = "iptables",
        /// The nftables ruleset.
        Nftables = "nftables",
        /// ufw's rules.
        Ufw = "ufw",
        /// firewalld's permanent configuration.
        Firewalld = "firewalld",
        /// keepalived (VRRP addresses, LVS).
        Keepalived = "keepalived",
        Ldap = "ldap",
        /// Carbonio's service mesh agent (Consul).
        ServiceDiscover = "service-discover",
        Dnsmasq = "dnsmasq",
        Named = "named",
        Mta = "mta",
        Mailbox = "mailbox",
        Memcached = "memcached",
        Proxy = "proxy",
        /// Carbonio's video server (Janus).
        Videoserver = "videoserver",
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
    /// Made from the plan: the files it changes decide the command (how
    /// the new address comes up, which tool loads saved firewall rules;
    /// [`plan_commands`]).
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
            Service::Dnsmasq
            | Service::Named
            | Service::Network
            | Service::Iptables
            | Service::Nftables
            | Service::Ufw
            | Service::Firewalld
            | Service::Keepalived
            | Service::ServiceDiscover
            | Service::Videoserver
            | Service::All => None,
        }
    }

    /// Whether running this service's action can cut the admin's SSH
    /// session: bringing the new address up, and loading firewall rules
    /// or VRRP addresses written for it before it is up (or while the
    /// session still runs over the old one). apply runs these only with
    /// `--restart-network`, or, but the network itself, when the new
    /// address is already up on the host; otherwise it prints them to run
    /// from a console.
    pub fn may_cut_ssh(self) -> bool {
        match self {
            Service::Network
            | Service::Iptables
            | Service::Nftables
            | Service::Ufw
            | Service::Firewalld
            | Service::Keepalived => true,
            Service::Ldap
            | Service::ServiceDiscover
            | Service::Dnsmasq
            | Service::Named
            | Service::Mta
            | Service::Mailbox
            | Service::Memcached
            | Service::Proxy
            | Service::Videoserver
            | Service::All => false,
        }
    }

    /// The documented commands of each service.
    fn defaults(self) -> Defaults {
        use Defaults::{FromPlan, System, Zimbra};
        match self {
            // Which tool loads the rules depends on the files: Debian's
            // netfilter-persistent or RHEL's iptables-restore of
            // /etc/sysconfig; nft loads the main file that includes the
            // changed one.
            Service::Network | Service::Iptables | Service::Nftables => FromPlan,
            Service::Ufw => System {
                reload: Some("ufw reload"),
                restart: "systemctl restart ufw",
            },
            // The permanent configuration becomes the runtime one; a
            // plain reload keeps established connections.
            Service::Firewalld => System {
                reload: Some("firewall-cmd --reload"),
                restart: "systemctl restart firewalld",
            },
            // SIGHUP: keepalived re-reads its configuration and moves the
            // addresses it manages.
            Service::Keepalived => System {
                reload: Some("systemctl reload keepalived"),
                restart: "systemctl restart keepalived",
            },
            // Consul takes a new bind address only at start (its reload
            // re-reads services and checks).
            Service::ServiceDiscover => System {
                reload: None,
                restart: "systemctl restart service-discover",
            },
            // Janus reads janus.jcfg at start only.
            Service::Videoserver => System {
                reload: None,
                restart: "systemctl restart carbonio-videoserver",
            },
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
    /// The commands of the services whose command the plan's files decide
    /// ([`plan_commands`]).
    from_plan: BTreeMap<Service, Cmd>,
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
            from_plan: BTreeMap::new(),
        }
    }

    /// Sets the commands the plan's files decide (see [`plan_commands`]).
    pub fn with_plan_commands(mut self, commands: BTreeMap<Service, Cmd>) -> Controller {
        self.from_plan = commands;
        self
    }

    /// The command for an action, or `None` when there is none (a service
    /// whose command the plan's files decide when none of them changes,
    /// and no override). An
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
            Defaults::FromPlan => self.from_plan.get(&service).cloned(),
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

/// The commands of the services whose command depends on the files the
/// plan changes (the network, iptables, nftables): each changed file says
/// how it takes effect ([`crate::surface::Surface::apply_command`], read
/// from the file as it is before the change), and a service runs each
/// distinct command once, in the order of the changes.
pub fn plan_commands(host: &Host, changes: &[Change]) -> Result<BTreeMap<Service, Cmd>> {
    let mut parts: BTreeMap<Service, Vec<String>> = BTreeMap::new();
    for c in changes {
        let Target::Line { file, line } = &c.target else {
            continue;
        };
        let Some((service, command)) = c.surface.apply_command() else {
            continue;
        };
        let text = host.read(file)?.unwrap_or_default();
        let p = command(file, &text, *line);
        let list = parts.entry(service).or_default();
        if !list.contains(&p) {
            list.push(p);
        }
    }
    Ok(parts
        .into_iter()
        .map(|(s, p)| (s, Cmd::Shell(p.join(" && "))))
        .collect())
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
            (Service::Ufw, Action::Reload, "ufw reload"),
            (Service::Firewalld, Action::Reload, "firewall-cmd --reload"),
            (
                Service::Keepalived,
                Action::Reload,
                "systemctl reload keepalived",
            ),
            // Consul and Janus read their addresses at start only.
            (
                Service::ServiceDiscover,
                Action::Reload,
                "systemctl restart service-discover",
            ),
            (
                Service::Videoserver,
                Action::Restart,
                "systemctl restart carbonio-videoserver",
            ),
        ];
        for (s, a, want) in table {
            let got = ctl().command(*s, *a).map(|c| c.to_string());
            assert_eq!(got.as_deref(), Some(*want), "{s:?} {a:?}");
        }
        let from_plan = [Service::Network, Service::Iptables, Service::Nftables];
        for s in from_plan {
            assert_eq!(ctl().command(s, Action::Restart), None, "{s}");
        }
        let carbonio = Controller::new("/opt/zextras").command(Service::Mta, Action::Reload);
        assert_eq!(
            carbonio.unwrap().to_string(),
            "su - zextras -c 'zmmtactl reload'"
        );
        // Every service has a documented command, but those whose
        // command the plan's files decide.
        for s in Service::ALL {
            for a in Action::ALL {
                assert_eq!(
                    ctl().command(*s, *a).is_some(),
                    !from_plan.contains(s),
                    "{s} {a}"
                );
            }
        }
        // The plan's commands, when given, are theirs.
        let mut cmds = BTreeMap::new();
        cmds.insert(
            Service::Iptables,
            Cmd::Shell("netfilter-persistent reload".into()),
        );
        let c = ctl().with_plan_commands(cmds);
        assert_eq!(
            c.command(Service::Iptables, Action::Reload)
                .unwrap()
                .to_string(),
            "netfilter-persistent reload"
        );
        assert_eq!(c.command(Service::Nftables, Action::Reload), None);
    }

    #[test]
    fn what_may_cut_an_ssh_session() {
        let cut: Vec<Service> = Service::ALL
            .iter()
            .copied()
            .filter(|s| s.may_cut_ssh())
            .collect();
        assert_eq!(
            cut,
            [
                Service::Network,
                Service::Iptables,
                Service::Nftables,
                Service::Ufw,
                Service::Firewalld,
                Service::Keepalived
            ]
        );
    }

    #[test]
    fn services_run_in_their_order() {
        let mut sorted = Service::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, Service::ALL);
        let pos = |s: Service| Service::ALL.iter().position(|x| *x == s).unwrap();
        assert_eq!(pos(Service::Network), 0);
        // Rules for the new address right after it is up.
        assert!(pos(Service::Iptables) < pos(Service::Ldap));
        assert!(pos(Service::Keepalived) < pos(Service::Ldap));
        // service-discoverd reads LDAP at start.
        assert!(pos(Service::Ldap) < pos(Service::ServiceDiscover));
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
    fn commands_from_the_changed_files() {
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
            (
                change(Surface::Iptables, "/etc/iptables/rules.v4", 7),
                "netfilter-persistent reload",
            ),
        ];
        for (c, want) in &cases {
            let got = plan_commands(&host, std::slice::from_ref(c)).unwrap();
            let service = if c.surface == Surface::Iptables {
                Service::Iptables
            } else {
                Service::Network
            };
            assert_eq!(got.len(), 1, "{c:?}");
            assert_eq!(got[&service].to_string(), *want);
        }
        assert!(
            plan_commands(&host, &[change(Surface::Hosts, "/etc/hosts", 1)])
                .unwrap()
                .is_empty()
        );
        // Two changes in one netplan file: one command.
        let two = [
            change(Surface::Netplan, "/etc/netplan/50.yaml", 3),
            change(Surface::Netplan, "/etc/netplan/50.yaml", 4),
        ];
        assert_eq!(
            plan_commands(&host, &two).unwrap()[&Service::Network].to_string(),
            "netplan apply"
        );
        // Each service gets its own command; two files of one service
        // run one after the other.
        let mixed = [
            change(Surface::Netplan, "/etc/netplan/50.yaml", 3),
            change(Surface::Iptables, "/etc/sysconfig/iptables", 4),
            change(Surface::Iptables, "/etc/sysconfig/ip6tables", 4),
        ];
        let got = plan_commands(&host, &mixed).unwrap();
        assert_eq!(got[&Service::Network].to_string(), "netplan apply");
        assert_eq!(
            got[&Service::Iptables].to_string(),
            "iptables-restore < /etc/sysconfig/iptables && ip6tables-restore < /etc/sysconfig/ip6tables"
        );
    }
}
