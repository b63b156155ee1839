//! Surfaces: the kinds of places an address lives on a host.
//!
//! [`Surface`] names each one; it is what plans, scans and reports say
//! (`"surface": "hosts"`). Everything zmreip knows about a surface as a
//! whole is an exhaustive `match` on it here: the module that reads its
//! files ([`Surface::reader`]), the service actions a change needs
//! ([`Surface::actions`], [`Surface::actions_in`] for a peer node), which
//! part of the host its files are ([`Surface::scope`]) and, where the
//! changed file decides it, the command that makes it take effect
//! ([`Surface::apply_command`]: how an OS network file comes up, which
//! tool loads saved firewall rules). A new surface is a variant, a module,
//! and the arms the compiler asks for.
//!
//! A file surface knows which files it owns and how to read them
//! ([`FileSurface`]); the [`Rewriter`](crate::policy::Rewriter) decides
//! what changes. Parsers take text, never paths: opening files and
//! `--root` live in [`Host`].

use std::net::IpAddr;

use crate::addr::Matcher;
use crate::dns::zone::ZoneFileArg;
use crate::error::Result;
use crate::host::Host;
use crate::model::{Change, Report};
use crate::policy::{Rewriter, Role, Scope};
use crate::services::{Action, Service};

pub mod derived;
pub mod dnsmasq;
mod edits;
mod firewall;
pub mod firewalld;
pub mod hosts;
pub mod ifcfg;
pub mod ifupdown;
pub mod iptables;
pub mod keepalived;
mod lines;
pub mod localconfig;
pub mod namedconf;
pub mod netcfg;
pub mod netplan;
pub mod networkd;
pub mod nftables;
pub mod nmconnection;
pub mod postfix;
pub mod resolv;
pub mod service_discover;
#[cfg(test)]
pub(crate) mod testutil;
pub mod text;
pub mod ufw;
pub mod videoserver;
pub mod zonefile;

pub use lines::{Field, analyze_lines, analyze_text, at, find};

named_enum! {
    /// A kind of place where addresses live, as plans and scans name it.
    /// Discovery reads the surfaces in this order, so it is the order of
    /// a plan's changes.
    pub enum Surface {
        /// `/etc/hosts`.
        Hosts = "hosts",
        /// `/etc/resolv.conf` and resolvconf's sources.
        Resolv = "resolv",
        /// dnsmasq's configuration and every file it reads.
        Dnsmasq = "dnsmasq",
        /// Debian's `/etc/network/interfaces`.
        Ifupdown = "ifupdown",
        /// netplan YAML.
        Netplan = "netplan",
        /// NetworkManager keyfiles.
        NmConnection = "nmconnection",
        /// RHEL's `ifcfg-*` files.
        Ifcfg = "ifcfg",
        /// systemd-networkd `.network` and `.netdev` files.
        Networkd = "networkd",
        /// Saved iptables/ip6tables rules.
        Iptables = "iptables",
        /// The nftables ruleset file and its includes.
        Nftables = "nftables",
        /// ufw's rules files.
        Ufw = "ufw",
        /// firewalld's zones, policies, ipsets and direct rules.
        Firewalld = "firewalld",
        /// keepalived's configuration and its includes.
        Keepalived = "keepalived",
        /// Carbonio's service mesh agent configuration.
        ServiceDiscover = "service-discover",
        /// Carbonio's video server (Janus) configuration.
        Videoserver = "videoserver",
        /// Zimbra's localconfig.xml.
        Localconfig = "localconfig",
        /// Postfix settings Zimbra does not manage: `main.cf`'s
        /// `inet_interfaces`, the `-o smtp_bind_address=` options of
        /// `master.cf.in`.
        Postfix = "postfix",
        /// BIND's configuration: named.conf and its includes.
        NamedConf = "namedconf",
        /// BIND zone files served here.
        Zonefile = "zonefile",
        /// Files the admin named with `--include`.
        Text = "text",
        /// Files Zimbra regenerates: found, never changed.
        Derived = "derived",
        /// The Zimbra directory (live LDAP or an LDIF export).
        Ldap = "ldap",
        /// DNS zones held elsewhere, updated with RFC 2136.
        Dns = "dns",
    }
}

/// The service actions a change on a surface needs.
#[derive(Debug, Clone, Copy)]
pub enum Actions {
    /// The same for every change of the surface.
    Fixed(&'static [(Service, Action)]),
    /// Those of the changed setting's rule in the Zimbra tables (a
    /// localconfig key, a directory attribute).
    OfSetting,
    /// Decided by the surface from the change itself.
    OfChange(fn(&Change) -> &'static [(Service, Action)]),
}

/// The command that makes a changed file take effect (brings an OS
/// network file's addresses up, loads saved firewall rules): called with
/// the file's host path, its text before the change and the 1-based line
/// that changes.
pub type FileCommand = fn(file: &str, text: &str, line: usize) -> String;

const NETWORK: &[(Service, Action)] = &[(Service::Network, Action::Restart)];
/// Read again by whoever uses it next; no process holds it.
const NONE: &[(Service, Action)] = &[];

impl Surface {
    /// The module that lists and reads this surface's files; `None` for
    /// surfaces that are not files (the directory, DNS servers) or never
    /// change (regenerated files).
    pub fn reader(self) -> Option<&'static dyn FileSurface> {
        Some(match self {
            Surface::Hosts => &hosts::Hosts,
            Surface::Resolv => &resolv::Resolv,
            Surface::Dnsmasq => &dnsmasq::Dnsmasq,
            Surface::Ifupdown => &ifupdown::Ifupdown,
            Surface::Netplan => &netplan::Netplan,
            Surface::NmConnection => &nmconnection::NmConnection,
            Surface::Ifcfg => &ifcfg::Ifcfg,
            Surface::Networkd => &networkd::Networkd,
            Surface::Iptables => &iptables::Iptables,
            Surface::Nftables => &nftables::Nftables,
            Surface::Ufw => &ufw::Ufw,
            Surface::Firewalld => &firewalld::Firewalld,
            Surface::Keepalived => &keepalived::Keepalived,
            Surface::ServiceDiscover => &service_discover::ServiceDiscover,
            Surface::Videoserver => &videoserver::Videoserver,
            Surface::Localconfig => &localconfig::Localconfig,
            Surface::Postfix => &postfix::Postfix,
            Surface::NamedConf => &namedconf::NamedConf,
            Surface::Zonefile => &zonefile::Zonefile,
            Surface::Text => &text::Text,
            Surface::Derived | Surface::Ldap | Surface::Dns => return None,
        })
    }

    /// The least service actions a change on this surface needs
    /// (DESIGN principle 7; facts from zimbra-config-model.md §9.4).
    pub fn actions(self) -> Actions {
        Actions::Fixed(match self {
            // Names keep resolving, to the new address, but nothing in
            // zmconfigd notices: slapd resolves its listen URL at start,
            // nginx wrote resolved addresses at generation, mailboxd's
            // DoSFilter resolved server names at start, and memcached holds
            // routes with old addresses.
            Surface::Hosts => &[
                (Service::Ldap, Action::Restart),
                (Service::Mailbox, Action::Restart),
                (Service::Proxy, Action::Restart),
                (Service::Memcached, Action::Restart),
            ],
            // dnsmasq re-reads its configuration only on a restart.
            Surface::Dnsmasq => &[(Service::Dnsmasq, Action::Restart)],
            // The resolver library re-reads resolv.conf on its own.
            Surface::Resolv => NONE,
            Surface::Ifupdown
            | Surface::Netplan
            | Surface::NmConnection
            | Surface::Ifcfg
            | Surface::Networkd => NETWORK,
            Surface::Zonefile => &[(Service::Named, Action::Reload)],
            // Saved rules do nothing until loaded again.
            Surface::Iptables => &[(Service::Iptables, Action::Reload)],
            Surface::Nftables => &[(Service::Nftables, Action::Reload)],
            Surface::Ufw => &[(Service::Ufw, Action::Reload)],
            Surface::Firewalld => &[(Service::Firewalld, Action::Reload)],
            Surface::Keepalived => &[(Service::Keepalived, Action::Reload)],
            Surface::ServiceDiscover => &[(Service::ServiceDiscover, Action::Restart)],
            Surface::Videoserver => &[(Service::Videoserver, Action::Restart)],
            // A reload, or a restart for a moved control channel.
            Surface::NamedConf => return Actions::OfChange(namedconf::actions),
            Surface::Localconfig | Surface::Ldap => return Actions::OfSetting,
            Surface::Postfix => return Actions::OfChange(postfix::actions_of),
            // Files the admin listed with --include belong to software
            // zmreip does not know; guessing a restart would be wrong, so
            // the admin reloads their owner (the plan says the change is a
            // literal replacement).
            Surface::Text => NONE,
            // Never changed: the action of the service that regenerates
            // the file is planned from the derived list.
            Surface::Derived => NONE,
            // The server that holds the zone serves the update at once.
            Surface::Dns => NONE,
        })
    }

    /// The actions a change on this surface needs on a host in `role`:
    /// where a peer differs from the moving host ([`Role::Peer`]), its own
    /// set, else [`Surface::actions`].
    pub fn actions_in(self, role: Role) -> Actions {
        match (role, self) {
            // The moved node's name now resolves to its new address; what
            // on this node connects to it: postfix's LDAP maps and LMTP
            // deliveries (`zmmtactl reload` renews them), mailboxd's
            // DoSFilter whitelist of server addresses (built at start) and
            // its LDAP connections, nginx's generation-time upstream
            // addresses and memcached's routes (zimbra-config-model.md
            // §5.2, §5.3, §9.4). This node's own slapd listens on its own
            // URL: no restart.
            (Role::Peer, Surface::Hosts) => Actions::Fixed(&[
                (Service::Mta, Action::Reload),
                (Service::Mailbox, Action::Restart),
                (Service::Proxy, Action::Restart),
                (Service::Memcached, Action::Restart),
            ]),
            _ => self.actions(),
        }
    }

    /// Which part of the host the surface's files belong to; the role of
    /// the policy decides whether they change ([`Role::changes`]).
    pub fn scope(self) -> Scope {
        match self {
            Surface::Ifupdown
            | Surface::Netplan
            | Surface::NmConnection
            | Surface::Ifcfg
            | Surface::Networkd => Scope::HostNetwork,
            Surface::Zonefile | Surface::Dns => Scope::Dns,
            // Firewall rules and VRRP addresses name other nodes too: on a
            // peer, exact references to the moved node swap and its
            // trusted networks gain the new address, as in any other file.
            Surface::Hosts
            | Surface::Resolv
            | Surface::Dnsmasq
            | Surface::Iptables
            | Surface::Nftables
            | Surface::Ufw
            | Surface::Firewalld
            | Surface::Keepalived
            | Surface::ServiceDiscover
            | Surface::Videoserver
            | Surface::Localconfig
            | Surface::Postfix
            | Surface::NamedConf
            | Surface::Text
            | Surface::Derived
            | Surface::Ldap => Scope::Host,
        }
    }

    /// The service whose command a changed file of this surface decides,
    /// and how: for OS network files, the command that brings the new
    /// address up; for saved firewall rules, the tool that loads them.
    /// `None` where the service's command is the same whatever changed.
    pub fn apply_command(self) -> Option<(Service, FileCommand)> {
        let network = |f: FileCommand| Some((Service::Network, f));
        match self {
            Surface::Netplan => network(netplan::bring_up),
            Surface::Networkd => network(networkd::bring_up),
            Surface::Ifupdown => network(ifupdown::bring_up),
            Surface::NmConnection => network(nmconnection::bring_up),
            Surface::Ifcfg => network(ifcfg::bring_up),
            Surface::Iptables => Some((Service::Iptables, iptables::load)),
            Surface::Nftables => Some((Service::Nftables, nftables::load)),
            Surface::Hosts
            | Surface::Resolv
            | Surface::Dnsmasq
            | Surface::Ufw
            | Surface::Firewalld
            | Surface::Keepalived
            | Surface::ServiceDiscover
            | Surface::Videoserver
            | Surface::Localconfig
            | Surface::Postfix
            | Surface::NamedConf
            | Surface::Zonefile
            | Surface::Text
            | Surface::Derived
            | Surface::Ldap
            | Surface::Dns => None,
        }
    }

    /// What the surface is, in words for people who do not know
    /// zmreip's terms (the change-board report).
    pub fn title(self) -> &'static str {
        match self {
            Surface::Hosts => "Hosts file",
            Surface::Resolv => "DNS resolver configuration",
            Surface::Dnsmasq => "dnsmasq (the host's local DNS)",
            Surface::Ifupdown => "OS network configuration (ifupdown)",
            Surface::Netplan => "OS network configuration (netplan)",
            Surface::NmConnection => "OS network configuration (NetworkManager)",
            Surface::Ifcfg => "OS network configuration (ifcfg)",
            Surface::Networkd => "OS network configuration (systemd-networkd)",
            Surface::Iptables => "Firewall rules (iptables)",
            Surface::Nftables => "Firewall rules (nftables)",
            Surface::Ufw => "Firewall rules (ufw)",
            Surface::Firewalld => "Firewall rules (firewalld)",
            Surface::Keepalived => "Virtual addresses and load balancing (keepalived)",
            Surface::ServiceDiscover => "Carbonio's service discovery agent (Consul)",
            Surface::Videoserver => "Carbonio's video server (Janus)",
            Surface::Localconfig => "Zimbra's local configuration (localconfig.xml)",
            Surface::Postfix => "Postfix settings Zimbra does not manage (main.cf, master.cf.in)",
            Surface::NamedConf => "DNS server configuration (BIND's named.conf)",
            Surface::Zonefile => "DNS zones this host serves",
            Surface::Text => "Files named with --include",
            Surface::Derived => "Files Zimbra regenerates",
            Surface::Ldap => "Zimbra directory attributes",
            Surface::Dns => "DNS records held on another server (RFC 2136 updates)",
        }
    }

    /// Whether a change's `after` may hold more lines than its `before`:
    /// a zone file gains a record (a PTR moved into another zone served
    /// here follows the zone's last line), and netplan and networkd repeat
    /// an interface address's line for a second address (a window's
    /// open), and a bind adds a Postfix setting after the line it belongs
    /// with (an option after its service entry, a parameter after main.cf's
    /// last line).
    pub fn appends_lines(self) -> bool {
        matches!(
            self,
            Surface::Zonefile | Surface::Netplan | Surface::Networkd | Surface::Postfix
        )
    }
}

/// What the analysis is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Move to the new addresses.
    Move,
    /// Only lower the TTL of every DNS record that will move to at most
    /// this many seconds (`plan --lower-ttl`): the first step of a
    /// migration window.
    LowerTtl(u32),
}

/// Files the admin names besides those the host's own configuration
/// lists.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// `--include GLOB`: host path globs, read as text.
    pub include: Vec<String>,
    /// `--zone-file [ZONE=]PATH`: zone files served here besides
    /// named.conf's.
    pub zone_files: Vec<ZoneFileArg>,
}

/// Nothing named besides the host's configuration.
static NO_EXTRA: Extra = Extra {
    include: Vec::new(),
    zone_files: Vec::new(),
};

/// What a surface needs to list and analyze files.
pub struct Ctx<'a> {
    pub host: &'a Host,
    /// Finds the searched (old) addresses.
    pub matcher: &'a Matcher,
    /// Present when planning; `None` for a scan.
    pub rewriter: Option<&'a Rewriter>,
    pub mode: Mode,
    pub extra: &'a Extra,
}

impl<'a> Ctx<'a> {
    /// A context for moving (with a rewriter) or scanning (without) the
    /// host's own files.
    pub fn new(host: &'a Host, matcher: &'a Matcher, rewriter: Option<&'a Rewriter>) -> Ctx<'a> {
        Ctx {
            host,
            matcher,
            rewriter,
            mode: Mode::Move,
            extra: &NO_EXTRA,
        }
    }

    /// The same context for `mode`.
    pub fn with_mode(self, mode: Mode) -> Ctx<'a> {
        Ctx { mode, ..self }
    }

    /// The same context with files the admin named.
    pub fn with_extra(self, extra: &'a Extra) -> Ctx<'a> {
        Ctx { extra, ..self }
    }
}

/// An address configured on an interface, as read from OS network config.
/// Used to learn prefixes and gateways the user did not give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceAddr {
    pub addr: IpAddr,
    pub prefix: Option<u8>,
    pub gateway: Option<IpAddr>,
    /// Host path and 1-based line of the address.
    pub file: String,
    pub line: usize,
}

/// A surface made of files on the host.
pub trait FileSurface: Sync {
    /// Host paths of this surface's files that exist on the host (and
    /// those of `ctx.extra` it reads), sorted.
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>>;

    /// Findings and proposed changes for one file. `path` is the host path.
    /// A file that does not parse is an error naming `path:line`.
    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report>;

    /// Interface addresses configured in one file (OS network config
    /// surfaces only).
    fn interfaces(&self, path: &str, text: &str) -> Result<Vec<IfaceAddr>> {
        let _ = (path, text);
        Ok(Vec::new())
    }
}

/// Every file surface with its reader, in output order. The directory
/// (LDAP/LDIF, [`crate::directory`]), zones held elsewhere
/// ([`crate::dns::update`]) and regenerated files ([`derived`]) are not
/// file surfaces.
pub fn all() -> impl Iterator<Item = (Surface, &'static dyn FileSurface)> {
    Surface::ALL
        .iter()
        .filter_map(|s| s.reader().map(|r| (*s, r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_as_plans_write_them() {
        for s in Surface::ALL {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Surface>(&json).unwrap(), *s);
            assert_eq!(s.as_str().parse::<Surface>(), Ok(*s));
        }
        assert_eq!(Surface::NmConnection.as_str(), "nmconnection");
        assert!("no-such-surface".parse::<Surface>().is_err());
    }

    #[test]
    fn actions_per_surface() {
        let fixed = |s: Surface| match s.actions() {
            Actions::Fixed(a) => a,
            Actions::OfSetting | Actions::OfChange(_) => {
                panic!("{s} has per-setting or per-change actions")
            }
        };
        assert_eq!(
            fixed(Surface::Dnsmasq),
            &[(Service::Dnsmasq, Action::Restart)]
        );
        assert_eq!(fixed(Surface::Netplan), NETWORK);
        assert_eq!(
            fixed(Surface::Zonefile),
            &[(Service::Named, Action::Reload)]
        );
        assert!(fixed(Surface::Resolv).is_empty());
        assert!(fixed(Surface::Text).is_empty());
        for s in [
            Service::Ldap,
            Service::Mailbox,
            Service::Proxy,
            Service::Memcached,
        ] {
            assert!(
                fixed(Surface::Hosts).contains(&(s, Action::Restart)),
                "hosts needs {s}"
            );
        }
        assert!(matches!(Surface::Localconfig.actions(), Actions::OfSetting));
        assert!(matches!(Surface::Ldap.actions(), Actions::OfSetting));
        assert!(matches!(Surface::NamedConf.actions(), Actions::OfChange(_)));
        assert!(matches!(Surface::Postfix.actions(), Actions::OfChange(_)));
        // Every surface whose changes bring an address up needs the
        // network action, and the other way round; a surface that decides
        // its service's command needs exactly that service.
        for s in Surface::ALL {
            let network = matches!(s.actions(), Actions::Fixed(a) if a == NETWORK);
            let command = s.apply_command();
            assert_eq!(
                command.is_some_and(|(svc, _)| svc == Service::Network),
                network,
                "{s}: bring-up and network action disagree"
            );
            if let Some((svc, _)) = command {
                assert!(
                    matches!(s.actions(), Actions::Fixed([(a, _)]) if *a == svc),
                    "{s}: its command is {svc}'s, its action is not"
                );
            }
        }
    }
}
