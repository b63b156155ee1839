//! Building a plan: resolve prefixes, run discovery with a rewriter, then
//! number the changes and derive the least set of service actions from
//! the surfaces and the Zimbra tables.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{DerivedFile, Plan, PlannedAction, SCHEMA};
use crate::discover::{self, Sources};
use crate::error::Result;
use crate::model::{Change, Target};
use crate::notice::{Code, Notice};
use crate::policy::{Phase, Rewriter, Role, Staying};
use crate::services::{Action, Service};
use crate::spec::{self, AddrArg, Pair, PrefixSource};
use crate::surface::IfaceAddr;
use crate::surface::{Actions, Mode, Surface, localconfig};
use crate::zimbra;

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub from: Vec<AddrArg>,
    pub to: Vec<AddrArg>,
    /// `--gateway`: the new default gateways (at most one per address
    /// family), used where the old one is outside the new network.
    pub gateways: Vec<IpAddr>,
    /// `--restart all`: one documented full restart instead of the least set.
    pub restart_all: bool,
    /// `--lower-ttl`: plan only the TTL reductions of the DNS records that
    /// will move (the first step of a migration window).
    pub lower_ttl: Option<u32>,
    /// `--role`: whether the address is this host's (`own`) or another
    /// node's (`peer`).
    pub role: Role,
    /// The deployment's other nodes, in a multi-server plan.
    pub staying: Staying,
    /// `--assume-own`: plan the own role even when no evidence on the
    /// host says the old address is this host's (a snapshot without its
    /// OS network configuration).
    pub assume_own: bool,
}

/// Whether a finding in a file Zimbra regenerates goes away when the file
/// is regenerated: an old address does, and so does a network no wider
/// than its interface network (it moves with it). A wider network that
/// merely contains the address stays in the directory's trust lists
/// (`trust-network-kept`) and so in the regenerated file: counting it
/// would leave a host already moved pending for ever, its service action
/// planned on every run.
fn stale(f: &crate::model::Finding, pairs: &[Pair]) -> bool {
    if f.kind != crate::addr::MatchKind::NetworkContains {
        return true;
    }
    let Ok(net) = f.matched.replace(['[', ']'], "").parse::<ipnet::IpNet>() else {
        return true;
    };
    pairs
        .iter()
        .any(|p| net.contains(&p.old) && net.prefix_len() >= p.old_prefix)
}

/// Builds the plan for `req` on `sources`.
pub fn build(sources: &mut Sources, req: &Request, progress: &mut dyn FnMut(&str)) -> Result<Plan> {
    spec::check_pairs(&req.from, &req.to)?;
    check_gateways(&req.gateways, &req.to)?;
    zimbra_found(sources)?;
    let ifaces = discover::interfaces(sources);
    let mut warnings = Vec::new();
    let pairs: Vec<Pair> = req
        .from
        .iter()
        .zip(&req.to)
        .map(|(f, t)| resolve_pair(*f, *t, &ifaces, &mut warnings))
        .collect();
    for p in &pairs {
        // With the prefixes found: the OS configuration may give a /0, or
        // a network whose network or broadcast address the new one is.
        let named = |flag: &'static str, src: PrefixSource| match src {
            PrefixSource::OsConfig => {
                if flag == "--from" {
                    "--from (its prefix from the OS network configuration)"
                } else {
                    "--to (its prefix from the OS network configuration)"
                }
            }
            PrefixSource::Given | PrefixSource::Host => flag,
        };
        spec::check_usable(
            (
                named("--from", p.old_prefix_source),
                named("--to", p.new_prefix_source),
            ),
            (p.old, Some(p.old_prefix)),
            (p.new, Some(p.new_prefix)),
        )?;
    }
    let rewriter = Rewriter::new(pairs.clone(), req.gateways.clone())
        .with_role(req.role)
        .with_staying(req.staying.clone());
    let olds: Vec<IpAddr> = pairs.iter().map(|p| p.old).collect();
    let mode = req.lower_ttl.map_or(Mode::Move, Mode::LowerTtl);
    let found = discover::run(sources, &olds, Some(&rewriter), mode, progress)?;
    if !found.unreadable.is_empty() {
        return Err(crate::Error::Unreadable {
            errors: found.unreadable,
        });
    }
    let hostname = localconfig::server_hostname(&sources.host);
    // Only a plan that changes something can rewrite another host's
    // address as ours (a move done already finds nothing to change).
    if req.role == Role::Own && !req.assume_own && !found.report.changes.is_empty() {
        super::own::Looked {
            host: &sources.host,
            ifaces: &ifaces,
            os_files: &discover::network_files(sources)?,
            findings: &found.report.findings,
            directory: sources.directory.is_some(),
            hostname: hostname.as_deref(),
        }
        .check(&olds)?;
    }
    let mut report = found.report;
    if mode != Mode::Move {
        // The first step of a window changes DNS only.
        report
            .changes
            .retain(|c| matches!(c.surface, Surface::Zonefile | Surface::Dns));
    }

    let mut changes = report.changes;
    for (i, c) in changes.iter_mut().enumerate() {
        c.id = format!("c{}", i + 1);
    }
    let derived: Vec<DerivedFile> = found
        .derived
        .iter()
        .filter(|d| d.findings.iter().any(|f| stale(f, &pairs)))
        .map(|d| DerivedFile {
            file: d.file.clone(),
            regenerated_by: d.regenerated_by,
        })
        .collect();
    // dnsmasq answers from /etc/hosts too (unless `no-hosts`); a SIGHUP
    // (reload) makes it re-read the file.
    let dnsmasq_serves_hosts = sources.host.exists("/etc/dnsmasq.conf");
    let host = Facts {
        dnsmasq_serves_hosts,
        slapd_listens_by_name: slapd_listens_by_name(&sources.host),
    };
    let actions = actions(&changes, &derived, req.restart_all, host, req.role);
    warnings.extend(report.warnings);
    if let Some(secs) = req.lower_ttl {
        warnings.push(Notice::new(
            Code::LowerTtlFirstStep,
            format!("this plan only lowers the TTLs of the DNS records that will move, to {secs} s; apply it, wait at least as long as the longest old TTL, then plan the move itself"),
        ));
    }
    dedup(&mut warnings);
    let mut handoffs = match (req.role, &req.staying) {
        // The moving node's plan says what must happen off the deployment.
        (Role::Peer, _) => Vec::new(),
        // A bind moves no address (its own planner says what to ask for).
        (Role::Bound, _) => Vec::new(),
        // A window asks for each hand-off in the phase it belongs to:
        // partners and the new PTR before anyone uses the new address,
        // DNS held elsewhere when names move.
        (Role::Window(phase), _) => {
            let mut h = handoffs(&pairs, hostname.as_deref(), &changes);
            h.retain(|n| match phase {
                Phase::Open => matches!(n.code, Code::Ptr | Code::Peers | Code::OtherNodes),
                Phase::Switch => n.code == Code::Dns,
                Phase::Close => false,
            });
            h
        }
        (Role::Own, Staying::Alone) => handoffs(&pairs, hostname.as_deref(), &changes),
        // A multi-server plan covers the other nodes itself.
        (Role::Own, Staying::Known(_) | Staying::Unknown) => {
            let mut h = handoffs(&pairs, hostname.as_deref(), &changes);
            h.retain(|n| n.code != Code::OtherNodes);
            h
        }
    };
    // A PTR in a reverse zone served elsewhere is a request to its
    // provider, naming the exact record: it replaces the generic one.
    let (ptr, rest): (Vec<Notice>, Vec<Notice>) = warnings
        .into_iter()
        .partition(|w| matches!(w.code, Code::ZonePtrNotServed | Code::DnsPtrNotServed));
    if !ptr.is_empty() {
        handoffs.retain(|h| h.code != Code::Ptr);
        handoffs.extend(ptr.into_iter().map(|w| Notice::new(Code::Ptr, w.message)));
    }
    // Signed zone data zmreip does not edit is signed again by hand.
    let (resign, warnings): (Vec<Notice>, Vec<Notice>) =
        rest.into_iter().partition(|w| w.code == Code::ZoneResign);
    handoffs.extend(
        resign
            .into_iter()
            .map(|w| Notice::new(Code::Dnssec, w.message)),
    );

    let mut plan = Plan {
        schema: SCHEMA.to_string(),
        from: pairs.iter().map(Pair::from_text).collect(),
        to: pairs.iter().map(Pair::to_text).collect(),
        changes,
        derived,
        actions,
        warnings,
        handoffs,
        bind: None,
        checksum: None,
    };
    plan.seal();
    Ok(plan)
}

/// Refuses a host with no Zimbra: no localconfig.xml under Zimbra's home
/// and no directory given. Planning it would say there is nothing to
/// change, as if the move were done.
fn zimbra_found(sources: &Sources) -> Result<()> {
    let host = &sources.host;
    let lc = host.zimbra_path("conf/localconfig.xml");
    if sources.directory.is_some() || host.exists(&lc) {
        return Ok(());
    }
    Err(crate::Error::usage(
        format!(
            "no Zimbra found under --root {}: {lc} does not exist{}",
            host.root().display(),
            if host.zimbra_home() == "/opt/zimbra" {
                " (nor /opt/zextras/conf/localconfig.xml)"
            } else {
                ""
            }
        ),
        "give --root DIR holding the host's files (`/` for this host), --zimbra-home PATH where Zimbra is installed, or the directory with --ldif FILE or --ldap-url URL",
    ))
}

/// `--gateway` is given at most once per address family, and only for a
/// family some new address has.
fn check_gateways(gateways: &[IpAddr], to: &[AddrArg]) -> Result<()> {
    for (i, g) in gateways.iter().enumerate() {
        if !to.iter().any(|t| t.addr.is_ipv4() == g.is_ipv4()) {
            return Err(crate::Error::usage(
                format!("--gateway {g} is of a family no --to address has"),
                "give a gateway of the same family as the new address",
            ));
        }
        if let Some(other) = gateways[..i].iter().find(|o| o.is_ipv4() == g.is_ipv4()) {
            let family = if g.is_ipv4() { "IPv4" } else { "IPv6" };
            return Err(crate::Error::usage(
                format!("--gateway is given twice for {family} ({other} and {g})"),
                "give one --gateway per address family: the new IPv4 router and the new IPv6 router",
            ));
        }
    }
    Ok(())
}

/// The moves of `from` and `to` on the host of `sources`, prefixes filled
/// in as [`build`] fills them (its warnings aside).
pub fn resolve_pairs(sources: &Sources, from: &[AddrArg], to: &[AddrArg]) -> Vec<Pair> {
    let ifaces = discover::interfaces(sources);
    let mut warnings = Vec::new();
    from.iter()
        .zip(to)
        .map(|(f, t)| resolve_pair(*f, *t, &ifaces, &mut warnings))
        .collect()
}

/// Fills in prefixes the user did not give: from the OS network config
/// when the address is configured there, else a host prefix (and says so).
fn resolve_pair(
    from: AddrArg,
    to: AddrArg,
    ifaces: &[IfaceAddr],
    warnings: &mut Vec<Notice>,
) -> Pair {
    let host_len = if from.addr.is_ipv4() { 32 } else { 128 };
    let mut lookup = |arg: AddrArg, flag: &str| -> (u8, PrefixSource) {
        if let Some(p) = arg.prefix {
            return (p, PrefixSource::Given);
        }
        if let Some(i) = ifaces
            .iter()
            .find(|i| i.addr == arg.addr && i.prefix.is_some())
        {
            return (i.prefix.unwrap_or(host_len), PrefixSource::OsConfig);
        }
        warnings.push(Notice::new(
            Code::PrefixUnknown,
            format!(
                "the prefix of {} was not given and is not in the OS network config; it is treated as a host address (/{host_len}), so trust lists get host entries only. Pass {flag} {}/PREFIX to move its network too",
                arg.addr, arg.addr
            ),
        ));
        (host_len, PrefixSource::Host)
    };
    let (old_prefix, old_src) = lookup(from, "--from");
    let (new_prefix, new_src) = lookup(to, "--to");
    // A given prefix the OS configuration contradicts: one of them is
    // wrong, and the trust lists follow the given one.
    if let Some(given) = from.prefix
        && let Some(i) = ifaces
            .iter()
            .find(|i| i.addr == from.addr && i.prefix.is_some_and(|p| p != given))
    {
        warnings.push(Notice::new(
            Code::PrefixDiffers,
            format!(
                "--from {}/{given}, but {}:{} configures {}/{}: trust lists follow /{given} as given; check which is right",
                from.addr,
                i.file,
                i.line,
                from.addr,
                i.prefix.unwrap_or(given)
            ),
        ));
    }
    Pair {
        old: from.addr,
        new: to.addr,
        old_prefix,
        new_prefix,
        old_prefix_source: old_src,
        new_prefix_source: new_src,
    }
}

/// What the host's configuration says about who reads a changed file
/// (the default: nothing beyond the files' own services).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Facts {
    /// dnsmasq answers from /etc/hosts.
    dnsmasq_serves_hosts: bool,
    /// slapd's listen URL names a host (resolved when it starts), rather
    /// than literal addresses: a hosts-file change moves its listener.
    slapd_listens_by_name: bool,
}

/// Whether slapd listens on a host name: `ldap_bind_url`, else the first
/// `ldap_url` (as Zimbra's `ldap start` chooses), names one; unknown
/// counts as a name.
fn slapd_listens_by_name(host: &crate::host::Host) -> bool {
    let path = host.zimbra_path("conf/localconfig.xml");
    let Ok(Some(text)) = host.read(&path) else {
        return true;
    };
    let value = |k: &str| {
        localconfig::value(&path, &text, k)
            .ok()
            .flatten()
            .filter(|v| !v.trim().is_empty())
    };
    let urls = value("ldap_bind_url")
        .or_else(|| value("ldap_url").and_then(|u| u.split_whitespace().next().map(String::from)));
    let Some(urls) = urls else { return true };
    urls.split_whitespace().any(|u| {
        crate::verify::listeners::ldap_url_host_port(u)
            .is_none_or(|(h, _)| h.parse::<IpAddr>().is_err())
    })
}

/// The least set of actions: each change's table entry, merged per service
/// (a restart covers a reload), in the order of [`Service`]. With
/// `--restart all`, one `zmcontrol restart` stands for every Zimbra
/// service's action; what zmcontrol does not run (the network, dnsmasq,
/// named, firewalls, keepalived, Carbonio's mesh and video server) keeps
/// its own.
pub(super) fn actions(
    changes: &[Change],
    derived: &[DerivedFile],
    restart_all: bool,
    host: Facts,
    role: Role,
) -> Vec<PlannedAction> {
    let least = least_actions(changes, derived, host, role);
    if !restart_all {
        return least;
    }
    if changes.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<PlannedAction> = least
        .into_iter()
        .filter(|a| a.service.zimbra_name().is_none())
        .collect();
    out.push(PlannedAction {
        service: Service::All,
        action: Action::Restart,
        because: changes.iter().map(|c| c.id.clone()).collect(),
    });
    out
}

/// Each change's actions, merged per service.
fn least_actions(
    changes: &[Change],
    derived: &[DerivedFile],
    host: Facts,
    role: Role,
) -> Vec<PlannedAction> {
    let mut by_service: BTreeMap<Service, (Action, Vec<String>)> = BTreeMap::new();
    let need = |by_service: &mut BTreeMap<Service, (Action, Vec<String>)>,
                service: Service,
                action: Action,
                why: &str| {
        let e = by_service.entry(service).or_insert((action, Vec::new()));
        if action == Action::Restart {
            e.0 = Action::Restart;
        }
        if !e.1.iter().any(|w| w == why) {
            e.1.push(why.to_string());
        }
    };
    for c in changes {
        if host.dnsmasq_serves_hosts && c.surface == Surface::Hosts {
            need(&mut by_service, Service::Dnsmasq, Action::Reload, &c.id);
        }
        for (s, a) in actions_for(c, role) {
            // slapd resolves a listen URL that names this host when it
            // starts; one of literal addresses does not care.
            if *s == Service::Ldap && c.surface == Surface::Hosts && !host.slapd_listens_by_name {
                continue;
            }
            need(&mut by_service, *s, *a, &c.id);
        }
    }
    for d in derived {
        let action = if d.regenerated_by == Service::Mta {
            Action::Reload
        } else {
            Action::Restart
        };
        if !by_service.contains_key(&d.regenerated_by) {
            need(&mut by_service, d.regenerated_by, action, &d.file);
        }
    }
    by_service
        .into_iter()
        .map(|(service, (action, because))| PlannedAction {
            service,
            action,
            because,
        })
        .collect()
}

/// The actions one change needs: its surface's, or for a setting
/// (localconfig key, directory attribute) its rule's in the Zimbra tables.
pub fn actions_for(c: &Change, role: Role) -> &'static [(Service, Action)] {
    match c.surface.actions_in(role) {
        Actions::Fixed(actions) => actions,
        Actions::OfChange(of) => of(c),
        Actions::OfSetting => {
            let rule = match &c.target {
                Target::LocalconfigKey { key, .. } => zimbra::localconfig_key(key),
                Target::Ldap { attribute, .. } => zimbra::attribute(attribute),
                Target::Line { .. } | Target::Dns { .. } => None,
            };
            rule.map_or(zimbra::UNKNOWN_SETTING_ACTIONS, |r| r.actions)
        }
    }
}

/// What must happen off this host.
fn handoffs(pairs: &[Pair], hostname: Option<&str>, changes: &[Change]) -> Vec<Notice> {
    let name = hostname.unwrap_or("the server's host name");
    let mut out = Vec::new();
    for p in pairs {
        if is_public(p.new) {
            out.push(Notice::new(
                Code::Ptr,
                format!("ask the provider of {} for a PTR record {} → {name} (mail servers check that it matches)", p.new, p.new),
            ));
        }
        let rr = if p.new.is_ipv4() { "A" } else { "AAAA" };
        // The plan moves the record itself (a zone served here, or one
        // updated with RFC 2136): nothing to ask elsewhere.
        if hostname.is_some_and(|h| plan_moves_record(changes, h, rr)) {
            out.push(Notice::new(
                Code::Peers,
                format!("tell other servers, relay hosts, firewalls and partners that trust or relay to {} about {} (they are not on this host)", p.old, p.new),
            ));
            continue;
        }
        out.push(Notice::new(
            Code::Dns,
            format!("change the {rr} record of {name} (and any MX target or SPF ip{}: mechanism naming {}) to {} at the DNS that serves it outside this host", if p.new.is_ipv4() { 4 } else { 6 }, p.old, p.new),
        ));
        out.push(Notice::new(
            Code::Peers,
            format!("tell other servers, relay hosts, firewalls and partners that trust or relay to {} about {} (they are not on this host)", p.old, p.new),
        ));
    }
    if changes.iter().any(|c| c.surface == Surface::Ldap) {
        out.push(Notice::new(
            Code::OtherNodes,
            "on a multi-server deployment, run zmreip on every other node too: each keeps its own /etc/hosts and localconfig",
        ));
    }
    out
}

/// Whether a change of the plan moves the `rtype` record of `name`: in a
/// zone file served here, or by an RFC 2136 update.
fn plan_moves_record(changes: &[Change], name: &str, rtype: &str) -> bool {
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    changes.iter().any(|c| {
        crate::surface::zonefile::moves_record(c, name, rtype)
            || matches!(&c.target, Target::Dns { name: n, rtype: t, .. }
                if n.eq_ignore_ascii_case(&fqdn) && t == rtype)
    })
}

/// Whether an address is globally routable (a PTR request makes sense).
fn is_public(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            !(v.is_private() || v.is_loopback() || v.is_link_local() || v.is_documentation())
        }
        // 2001:db8::/32 is the documentation range (RFC 3849).
        IpAddr::V6(v) => {
            !(v.is_loopback()
                || v.is_unique_local()
                || v.is_unicast_link_local()
                || v.segments()[..2] == [0x2001, 0xdb8])
        }
    }
}

fn dedup(v: &mut Vec<Notice>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|n| seen.insert((n.code, n.message.clone())));
}
