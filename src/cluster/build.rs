//! Building the combined plan: the node list from the directory, a plan
//! from every node in its role, the directory planned once, the service
//! actions every node needs for it, and the order of the phases.

use std::collections::BTreeMap;
use std::net::{IpAddr, ToSocketAddrs};

use super::nodes::{self, Node};
use super::plan::{ClusterNode, ClusterPlan, DirectoryRef, OrderStep, Phase, SCHEMA, Skipped};
use super::transport::{Link, SshOptions};
use super::{Connect, PLAN_TIMEOUT, Session};
use crate::directory::ldap::{Overrides, Settings};
use crate::discover::Sources;
use crate::error::{Error, Result};
use crate::model::{Change, Target};
use crate::plan::build as single;
use crate::plan::{Plan, PlannedAction};
use crate::policy::{Rewriter, Role, Staying, ValueKind};
use crate::services::{Action, Service};
use crate::spec::{self, AddrArg, Pair};
use crate::zimbra;

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The plan of this host (addresses, `--gateway`, `--restart all`,
    /// zone files, DNS). The role and the other nodes are filled in here.
    pub plan: single::Request,
    /// `--node`: the nodes to include (all when empty; this host always).
    pub nodes: Vec<String>,
    /// `--node-moving`: the node whose address moves [default: this host].
    pub moving: Option<String>,
    /// `--skip-node`: nodes left out, as hand-offs.
    pub skip: Vec<String>,
    pub ssh: SshOptions,
    /// `--push-binary`.
    pub push_binary: bool,
    /// How this host reaches the directory (`--ldap-url` and friends),
    /// to write it where it was read.
    pub ldap: Overrides,
    /// `--ldif`: the directory is an export on this host.
    pub ldif: bool,
}

/// A plan and the connections it was made over (apply reuses them).
pub struct Planned {
    pub plan: ClusterPlan,
    pub session: Session,
}

/// Builds the cluster plan for `req`, `sources` being this host and its
/// directory.
pub fn build(
    sources: &mut Sources,
    req: &Request,
    progress: &mut dyn FnMut(&str),
) -> Result<Planned> {
    spec::check_pairs(&req.plan.from, &req.plan.to)?;
    let Some(dir) = sources.directory.as_mut() else {
        return Err(Error::usage(
            "a cluster plan reads the nodes from the directory, and this host has none",
            "run on a node of the deployment (its localconfig names the directory), or give --ldap-url URL or --ldif FILE",
        ));
    };
    progress(&dir.describe());
    let topology = dir.topology()?;
    let all = nodes::from_topology(&topology)?;
    let local = local_node(sources, &all)?;
    let moving = match &req.moving {
        Some(m) => nodes::find(&all, m, "--node-moving")?.name.clone(),
        None => local.clone(),
    };
    for s in &req.skip {
        let n = nodes::find(&all, s, "--skip-node")?;
        if n.name == moving || n.name == local {
            return Err(Error::usage(
                format!(
                    "--skip-node {}: the node that moves and the node zmreip runs on cannot be left out",
                    n.name
                ),
                "leave out other nodes only",
            ));
        }
    }
    let mut chosen = nodes::select(&all, &req.nodes, "--node")?;
    for must in [&local, &moving] {
        if !chosen.iter().any(|n| &n.name == must) {
            chosen.push(nodes::find(&all, must, "--node")?.clone());
        }
    }
    // The moving node first, then this host, then the rest by name.
    chosen.sort_by_key(|n| (n.name != moving, n.name != local, n.name.clone()));
    let skipped_names: Vec<String> = req.skip.iter().map(|s| s.to_ascii_lowercase()).collect();
    let (planned, left_out): (Vec<Node>, Vec<Node>) = chosen
        .into_iter()
        .partition(|n| !skipped_names.contains(&n.name));

    // Every name resolved, and every node connected, at once.
    let names: Vec<String> = planned.iter().map(|n| n.name.clone()).collect();
    let remote: Vec<String> = names.iter().filter(|n| **n != local).cloned().collect();
    progress("connecting to the nodes");
    let (session, addresses) = std::thread::scope(|s| {
        let resolving = s.spawn(|| resolve_all(&names));
        let session = Session::open(Connect {
            local: &local,
            root: sources.host.root().to_path_buf(),
            zimbra_home: Some(sources.host.zimbra_home().to_string()),
            remote: remote.clone(),
            ssh: &req.ssh,
            push_binary: req.push_binary,
        });
        (session, resolving.join().expect("resolving does not panic"))
    });
    let session = session?;

    // The moves, prefixes resolved where the moving node knows them.
    let moving_plan_remote = (moving != local).then(|| {
        progress(&format!("planning {moving}"));
        remote_plan(
            &session,
            &moving,
            Role::Own,
            &req.plan.from,
            &req.plan.to,
            req,
        )
    });
    let moving_plan_remote = moving_plan_remote.transpose()?;
    let (from, to) = match &moving_plan_remote {
        Some(p) => (args_of(&p.from)?, args_of(&p.to)?),
        None => {
            // Whether the old address is this host's is the own plan's
            // to decide (plan::own), from every evidence the host has.
            let pairs = single::resolve_pairs(sources, &req.plan.from, &req.plan.to);
            (
                pairs
                    .iter()
                    .map(|p| addr_arg(p.old, p.old_prefix, p.old_prefix_source))
                    .collect(),
                pairs
                    .iter()
                    .map(|p| addr_arg(p.new, p.new_prefix, p.new_prefix_source))
                    .collect(),
            )
        }
    };
    let olds: Vec<IpAddr> = from.iter().map(|a| a.addr).collect();
    let staying = staying(&planned, &moving, &addresses, &olds);

    // This host in its role, with the directory, beside every remote peer.
    let local_role = if local == moving {
        Role::Own
    } else {
        Role::Peer
    };
    let mut local_req = req.plan.clone();
    local_req.from = from.clone();
    local_req.to = to.clone();
    local_req.role = local_role;
    local_req.staying = staying;
    let peers: Vec<&str> = remote
        .iter()
        .filter(|n| **n != moving)
        .map(String::as_str)
        .collect();
    progress("planning every node");
    let (local_plan, peer_plans) = std::thread::scope(|s| {
        let handles: Vec<_> = peers
            .iter()
            .map(|name| {
                let (session, from, to) = (&session, &from, &to);
                s.spawn(move || remote_plan(session, name, Role::Peer, from, to, req))
            })
            .collect();
        let local_plan = single::build(sources, &local_req, &mut |_| {});
        let peer_plans: Vec<Result<Plan>> = handles
            .into_iter()
            .map(|h| h.join().expect("a planning thread does not panic"))
            .collect();
        (local_plan, peer_plans)
    });
    let mut plans: BTreeMap<String, Plan> = BTreeMap::new();
    plans.insert(local.clone(), local_plan?);
    if let Some(p) = moving_plan_remote {
        plans.insert(moving.clone(), p);
    }
    for (name, p) in peers.iter().zip(peer_plans) {
        plans.insert(name.to_string(), p?);
    }

    let urls = directory_urls(sources, req, &from, &to)?;
    let mut cluster_nodes: Vec<ClusterNode> = planned
        .iter()
        .map(|n| {
            ClusterNode {
                name: n.name.clone(),
                role: if n.name == moving {
                    Role::Own
                } else {
                    Role::Peer
                },
                services: n.services.clone(),
                endpoints: n.endpoints.clone(),
                addresses: addresses
                    .get(&n.name)
                    .map(|a| a.iter().map(IpAddr::to_string).collect())
                    .unwrap_or_default(),
                via: session.via(&n.name).to_string(),
                // Session::open checked every node runs this version.
                zmreip: env!("CARGO_PKG_VERSION").to_string(),
                plan: plans.remove(&n.name).expect("every node was planned"),
            }
        })
        .collect();
    distribute_directory_actions(&mut cluster_nodes, &planned, &local);
    for n in &mut cluster_nodes {
        n.plan.seal();
    }
    let master_moves = urls.iter().any(|u| olds.iter().any(|o| url_names(u, *o)))
        || planned
            .iter()
            .any(|n| n.name == moving && n.services.iter().any(|s| s == "ldap"));
    let order = order(&cluster_nodes, &moving, &local, master_moves);
    let from_text: Vec<String> = from.iter().map(ToString::to_string).collect();
    let to_text: Vec<String> = to.iter().map(ToString::to_string).collect();
    let skipped = left_out
        .iter()
        .map(|n| Skipped {
            name: n.name.clone(),
            reason: "--skip-node".into(),
            command: handoff_command(&from_text, &to_text),
        })
        .collect();
    let mut plan = ClusterPlan {
        schema: SCHEMA.to_string(),
        from: from_text,
        to: to_text,
        moving,
        directory: DirectoryRef { node: local, urls },
        nodes: cluster_nodes,
        skipped,
        order,
        checksum: None,
    };
    plan.seal();
    Ok(Planned { plan, session })
}

/// The command to run later on a node left out of the plan.
pub fn handoff_command(from: &[String], to: &[String]) -> String {
    let mut args = vec!["apply".to_string(), "--role".into(), "peer".into()];
    for (f, t) in from.iter().zip(to) {
        args.extend(["--from".into(), f.clone(), "--to".into(), t.clone()]);
    }
    args.push("--no-directory".into());
    Link::command_line(&args)
}

/// This host's node: the server entry named by localconfig's
/// `zimbra_server_hostname`.
fn local_node(sources: &Sources, all: &[Node]) -> Result<String> {
    let name = this_node(&sources.host)?;
    nodes::find(all, &name, "zimbra_server_hostname")
        .map(|n| n.name.clone())
        .map_err(|_| {
            Error::usage(
                format!("this host ({name}, localconfig zimbra_server_hostname) is no server of the directory"),
                "run zmreip --cluster on a node of the deployment",
            )
        })
}

/// This host's node name: localconfig's `zimbra_server_hostname`.
pub fn this_node(host: &crate::host::Host) -> Result<String> {
    let path = host.zimbra_path("conf/localconfig.xml");
    let name = match host.read(&path)? {
        Some(text) => crate::surface::localconfig::value(&path, &text, "zimbra_server_hostname")?,
        None => None,
    };
    name.filter(|n| !n.is_empty())
        .map(|n| n.to_ascii_lowercase())
        .ok_or_else(|| {
            Error::usage(
                format!(
                    "{path} names no zimbra_server_hostname, so zmreip cannot tell which node this host is"
                ),
                "run zmreip --cluster on a node of the deployment (or give --root the node's files)",
            )
        })
}

/// A saved cluster plan is applied (or rolled back) from the node that
/// made it: the one that changes the directory and runs as `local`.
pub fn check_this_node(host: &crate::host::Host, plan: &ClusterPlan) -> Result<()> {
    let me = this_node(host)?;
    if me == plan.directory.node {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "this host is {me}, and the cluster plan was made on {} (which changes the directory and coordinates the nodes)",
            plan.directory.node
        ),
        format!(
            "run it on {}, or make a plan here with `zmreip plan --cluster`",
            plan.directory.node
        ),
    ))
}

/// A resolved address as every node is given it: with its prefix where
/// it is known (else each node tells its own prefix-unknown warning).
fn addr_arg(addr: IpAddr, prefix: u8, source: spec::PrefixSource) -> AddrArg {
    AddrArg {
        addr,
        prefix: (source != spec::PrefixSource::Host).then_some(prefix),
    }
}

fn args_of(list: &[String]) -> Result<Vec<AddrArg>> {
    list.iter()
        .map(|s| {
            s.parse::<AddrArg>().map_err(|e| {
                Error::other(format!("the moving node's plan: {e}"), "check its zmreip")
            })
        })
        .collect()
}

/// The addresses every name resolves to here (none when it does not).
fn resolve_all(names: &[String]) -> BTreeMap<String, Vec<IpAddr>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|n| {
                s.spawn(move || {
                    let mut addrs: Vec<IpAddr> = (n.as_str(), 0u16)
                        .to_socket_addrs()
                        .map(|it| it.map(|a| a.ip()).collect())
                        .unwrap_or_default();
                    addrs.sort();
                    addrs.dedup();
                    (n.clone(), addrs)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("resolving does not panic"))
            .collect()
    })
}

/// The nodes that stay, by address; unknown when one of them does not
/// resolve here (any network may then hold it).
fn staying(
    planned: &[Node],
    moving: &str,
    addresses: &BTreeMap<String, Vec<IpAddr>>,
    olds: &[IpAddr],
) -> Staying {
    let mut out = Vec::new();
    for n in planned.iter().filter(|n| n.name != moving) {
        let addrs: Vec<IpAddr> = addresses
            .get(&n.name)
            .map(|a| a.iter().copied().filter(|a| !olds.contains(a)).collect())
            .unwrap_or_default();
        if addrs.is_empty() {
            return Staying::Unknown;
        }
        out.extend(addrs);
    }
    Staying::Known(out)
}

/// A remote node's own plan (`zmreip plan --role ROLE ... --format json`).
fn remote_plan(
    session: &Session,
    name: &str,
    role: Role,
    from: &[AddrArg],
    to: &[AddrArg],
    req: &Request,
) -> Result<Plan> {
    let mut args = vec!["plan".to_string(), "--role".into(), role.as_str().into()];
    for (f, t) in from.iter().zip(to) {
        args.extend(["--from".into(), f.to_string(), "--to".into(), t.to_string()]);
    }
    if role == Role::Own {
        for g in &req.plan.gateways {
            args.extend(["--gateway".into(), g.to_string()]);
        }
        if req.plan.restart_all {
            args.extend(["--restart".into(), "all".into()]);
        }
        if req.plan.assume_own {
            args.push("--assume-own".into());
        }
    }
    args.extend(["--no-directory".into(), "--format".into(), "json".into()]);
    let plan: Plan = session.json(name, &args, None, PLAN_TIMEOUT)?;
    let value = serde_json::to_value(&plan).expect("a plan serializes");
    if plan.schema != crate::plan::SCHEMA
        || plan.checksum.as_deref() != Some(crate::plan::checksum(&value).as_str())
    {
        return Err(Error::other(
            format!(
                "node {name}: its plan is not a sealed {} document",
                crate::plan::SCHEMA
            ),
            format!("check the zmreip installed on {name}"),
        ));
    }
    Ok(plan)
}

/// The LDAP URLs the directory is written to: as given with
/// `--ldap-url`; none with `--ldif` or when the master does not move
/// (each run reads localconfig); else the master by its old address and
/// its new one, tried in order, so that the directory is reached whether
/// or not the master's files or slapd have moved yet (also by a rollback).
fn directory_urls(
    sources: &Sources,
    req: &Request,
    from: &[AddrArg],
    to: &[AddrArg],
) -> Result<Vec<String>> {
    if req.ldif {
        return Ok(Vec::new());
    }
    if !req.ldap.urls.is_empty() {
        return Ok(req
            .ldap
            .urls
            .iter()
            .flat_map(|u| u.split_whitespace().map(String::from))
            .collect());
    }
    let Some(settings) = Settings::resolve(&sources.host, &req.ldap)? else {
        return Ok(Vec::new());
    };
    let pairs: Vec<Pair> = from
        .iter()
        .zip(to)
        .map(|(f, t)| Pair {
            old: f.addr,
            new: t.addr,
            old_prefix: f.prefix.unwrap_or(32),
            new_prefix: t.prefix.unwrap_or(32),
            old_prefix_source: spec::PrefixSource::Given,
            new_prefix_source: spec::PrefixSource::Given,
        })
        .collect();
    let rw = Rewriter::new(pairs, Vec::new()).with_role(Role::Peer);
    let olds: Vec<IpAddr> = from.iter().map(|a| a.addr).collect();
    let mut out = Vec::new();
    let mut moves = false;
    for url in &settings.write_urls {
        let Some(pinned) = pin(url) else {
            out.push(url.clone());
            continue;
        };
        for &ip in &pinned.addrs {
            let at = pinned.at(ip);
            if olds.contains(&ip) {
                moves = true;
                let new = rw.rewrite(&[at.as_str()], ValueKind::Url).after.remove(0);
                out.push(at);
                out.push(new);
            } else {
                out.push(at);
            }
        }
    }
    out.dedup();
    Ok(if moves { out } else { Vec::new() })
}

/// An `ldap://` or `ldaps://` URL taken apart: its host's addresses
/// (resolved here) and the URL again with another host.
struct Pinned {
    addrs: Vec<IpAddr>,
    scheme: String,
    port: u16,
    path: String,
}

impl Pinned {
    /// The URL with `ip` as its host.
    fn at(&self, ip: IpAddr) -> String {
        let host = match ip {
            IpAddr::V4(v) => v.to_string(),
            IpAddr::V6(v) => format!("[{v}]"),
        };
        format!("{}://{host}:{}{}", self.scheme, self.port, self.path)
    }
}

/// `None` for URLs without a host (`ldapi://`) or that do not read.
fn pin(url: &str) -> Option<Pinned> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("ldap") && !scheme.eq_ignore_ascii_case("ldaps") {
        return None;
    }
    let end = rest.find('/').unwrap_or(rest.len());
    let (hostport, path) = rest.split_at(end);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, p) = v6.split_once(']')?;
        (h, p.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port: u16 = match port {
        Some(p) => p.parse().ok()?,
        None if scheme.eq_ignore_ascii_case("ldaps") => 636,
        None => 389,
    };
    let mut addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => (host, port)
            .to_socket_addrs()
            .ok()?
            .map(|a| a.ip())
            .collect(),
    };
    addrs.sort();
    addrs.dedup();
    Some(Pinned {
        addrs,
        scheme: scheme.to_string(),
        port,
        path: path.to_string(),
    })
}

/// Whether `url` names the address `ip` as its host.
fn url_names(url: &str, ip: IpAddr) -> bool {
    crate::addr::Matcher::new(&[ip])
        .find(url)
        .iter()
        .any(|m| m.kind != crate::addr::MatchKind::NetworkContains)
}

/// The nodes a directory entry's values concern: its own node for a
/// server entry, every node for shared entries (global config, domains,
/// classes of service, accounts).
fn concerned<'a>(dn: &str, nodes: &'a [Node]) -> Vec<&'a Node> {
    let lower = dn.to_ascii_lowercase();
    let server = lower
        .strip_suffix(&format!(",{}", crate::directory::SERVERS_BASE))
        .and_then(|rdn| rdn.strip_prefix("cn="));
    match server {
        Some(name) => nodes.iter().filter(|n| n.name == name).collect(),
        None => nodes.iter().collect(),
    }
}

/// The directory changes once, but every node that runs a service reading
/// a changed value needs that service's action: the directory node's
/// plan drops the actions its directory changes asked for on services it
/// does not run, and every node gets the actions of the changes that
/// concern it, as `NODE:cN` (a mailbox server whose own listeners stay
/// gets a cache flush where [`zimbra::flushable`] says that is enough).
/// Last, every node's actions are limited to the services it runs.
fn distribute_directory_actions(nodes: &mut [ClusterNode], planned: &[Node], dir_node: &str) {
    let Some(dir) = nodes.iter().find(|n| n.name == dir_node) else {
        return;
    };
    let directory: Vec<Change> = dir
        .plan
        .changes
        .iter()
        .filter(|c| matches!(c.target, Target::Ldap { .. }))
        .cloned()
        .collect();
    let ids: Vec<String> = directory.iter().map(|c| c.id.clone()).collect();
    // The directory node's own actions, without what only the directory
    // asked for; they come back below like every node's.
    for n in nodes.iter_mut().filter(|n| n.name == dir_node) {
        for a in &mut n.plan.actions {
            a.because.retain(|b| !ids.contains(b));
        }
        n.plan.actions.retain(|a| !a.because.is_empty());
    }
    for n in nodes.iter_mut() {
        let Some(node) = planned.iter().find(|p| p.name == n.name) else {
            continue;
        };
        let mut needs: BTreeMap<Service, (Action, Vec<String>, bool)> = BTreeMap::new();
        for c in &directory {
            let Target::Ldap { dn, attribute } = &c.target else {
                continue;
            };
            if !concerned(dn, planned).iter().any(|p| p.name == n.name) {
                continue;
            }
            let why = if n.name == dir_node {
                c.id.clone()
            } else {
                format!("{dir_node}:{}", c.id)
            };
            for (service, action) in single::actions_for(c, Role::Own) {
                let e = needs.entry(*service).or_insert((*action, Vec::new(), true));
                if *action == Action::Restart {
                    e.0 = Action::Restart;
                }
                e.2 &= zimbra::flushable(attribute);
                if !e.1.contains(&why) {
                    e.1.push(why.clone());
                }
            }
        }
        let own_listeners_move = n.role == Role::Own;
        for (service, (action, because, all_flushable)) in needs {
            let action = if service == Service::Mailbox
                && action == Action::Restart
                && all_flushable
                && !own_listeners_move
            {
                Action::Flush
            } else {
                action
            };
            merge(&mut n.plan.actions, service, action, because);
        }
        n.plan.actions.retain(|a| node.runs(a.service));
        n.plan.actions.sort_by_key(|a| a.service);
    }
}

/// Adds an action to a plan's list: a restart covers a reload and a
/// flush; a reload or a flush does not cover a restart.
fn merge(actions: &mut Vec<PlannedAction>, service: Service, action: Action, because: Vec<String>) {
    match actions.iter_mut().find(|a| a.service == service) {
        Some(a) => {
            if action == Action::Restart {
                a.action = Action::Restart;
            } else if a.action == Action::Flush && action == Action::Reload {
                a.action = Action::Reload;
            }
            for b in because {
                if !a.because.contains(&b) {
                    a.because.push(b);
                }
            }
        }
        None => actions.push(PlannedAction {
            service,
            action,
            because,
        }),
    }
}

/// The phases in order: the moving node's files first when it holds the
/// LDAP master (so that the other nodes still find the directory where
/// they look for it until their own files change), then the directory,
/// then every other node's files, then the service actions service by
/// service (ldap, mta, mailbox, proxy, ...) and node by node, then verify
/// on every node.
fn order(
    nodes: &[ClusterNode],
    moving: &str,
    dir_node: &str,
    master_moves: bool,
) -> Vec<OrderStep> {
    let step = |node: &str, phase: Phase| OrderStep {
        node: node.to_string(),
        phase,
        service: None,
        action: None,
    };
    let has_files = |n: &ClusterNode| {
        n.plan
            .changes
            .iter()
            .any(|c| !matches!(c.target, Target::Ldap { .. }))
    };
    let mut out = Vec::new();
    let moving_first = master_moves && nodes.iter().any(|n| n.name == moving && has_files(n));
    if moving_first {
        out.push(step(moving, Phase::Files));
    }
    if nodes.iter().any(|n| {
        n.name == dir_node
            && n.plan
                .changes
                .iter()
                .any(|c| matches!(c.target, Target::Ldap { .. }))
    }) {
        out.push(step(dir_node, Phase::Directory));
    }
    for n in nodes {
        if has_files(n) && !(moving_first && n.name == moving) {
            out.push(step(&n.name, Phase::Files));
        }
    }
    for service in Service::ALL {
        for n in nodes {
            for a in n.plan.actions.iter().filter(|a| a.service == *service) {
                out.push(OrderStep {
                    node: n.name.clone(),
                    phase: Phase::Service,
                    service: Some(a.service),
                    action: Some(a.action),
                });
            }
        }
    }
    for n in nodes {
        out.push(step(&n.name, Phase::Verify));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;

    fn change(id: &str, dn: &str, attribute: &str) -> Change {
        Change {
            id: id.into(),
            surface: crate::surface::Surface::Ldap,
            target: Target::Ldap {
                dn: dn.into(),
                attribute: attribute.into(),
            },
            before: Value::Many(vec!["a".into()]),
            after: Value::Many(vec!["b".into()]),
            reason: String::new(),
        }
    }

    fn hosts_change(id: &str) -> Change {
        Change {
            id: id.into(),
            surface: crate::surface::Surface::Hosts,
            target: Target::Line {
                file: "/etc/hosts".into(),
                line: 3,
            },
            before: Value::One("a".into()),
            after: Value::One("b".into()),
            reason: String::new(),
        }
    }

    fn empty_plan() -> Plan {
        Plan {
            schema: crate::plan::SCHEMA.into(),
            from: vec!["10.0.0.11/24".into()],
            to: vec!["10.9.0.11/24".into()],
            changes: Vec::new(),
            derived: Vec::new(),
            actions: Vec::new(),
            warnings: Vec::new(),
            handoffs: Vec::new(),
            bind: None,
            checksum: None,
        }
    }

    fn node(name: &str, services: &[&str]) -> Node {
        Node {
            name: name.into(),
            services: services.iter().map(ToString::to_string).collect(),
            endpoints: Vec::new(),
        }
    }

    fn cnode(n: &Node, role: Role, plan: Plan) -> ClusterNode {
        ClusterNode {
            name: n.name.clone(),
            role,
            services: n.services.clone(),
            endpoints: Vec::new(),
            addresses: Vec::new(),
            via: "ssh".into(),
            zmreip: "0".into(),
            plan,
        }
    }

    fn acts(n: &ClusterNode) -> Vec<String> {
        n.plan
            .actions
            .iter()
            .map(|a| {
                format!(
                    "{} {} ({})",
                    a.service.as_str(),
                    a.action.as_str(),
                    a.because.join(",")
                )
            })
            .collect()
    }

    #[test]
    fn directory_actions_reach_the_nodes_that_read_the_values() {
        let planned = vec![
            node("mbox1", &["ldap", "mailbox"]),
            node("mbox2", &["mailbox"]),
            node("mta1", &["mta"]),
            node("proxy1", &["proxy", "memcached"]),
        ];
        let mut dir_plan = empty_plan();
        dir_plan.changes = vec![
            hosts_change("c1"),
            // The moving server's own listener: its node only.
            change(
                "c2",
                "cn=mbox1,cn=servers,cn=zimbra",
                "zimbraImapBindAddress",
            ),
            // Global mynetworks: every MTA.
            change("c3", "cn=config,cn=zimbra", "zimbraMtaMyNetworks"),
            // Read per request by every mailbox: a flush where enough.
            change("c4", "cn=config,cn=zimbra", "zimbraMailTrustedIP"),
        ];
        // What the single-server build asked for on the directory node.
        dir_plan.actions = vec![
            PlannedAction {
                service: Service::Ldap,
                action: Action::Restart,
                because: vec!["c1".into()],
            },
            PlannedAction {
                service: Service::Mta,
                action: Action::Reload,
                because: vec!["c3".into()],
            },
            PlannedAction {
                service: Service::Mailbox,
                action: Action::Restart,
                because: vec!["c1".into(), "c2".into(), "c4".into()],
            },
            PlannedAction {
                service: Service::Proxy,
                action: Action::Restart,
                because: vec!["c1".into()],
            },
        ];
        let mut mbox2 = empty_plan();
        mbox2.changes = vec![hosts_change("c1")];
        let mut nodes = vec![
            cnode(&planned[0], Role::Own, dir_plan),
            cnode(&planned[1], Role::Peer, mbox2),
            cnode(&planned[2], Role::Peer, empty_plan()),
            cnode(&planned[3], Role::Peer, empty_plan()),
        ];
        distribute_directory_actions(&mut nodes, &planned, "mbox1");
        assert_eq!(
            acts(&nodes[0]),
            ["ldap restart (c1)", "mailbox restart (c1,c2,c4)"],
            "no mta and no proxy on mbox1"
        );
        assert_eq!(acts(&nodes[1]), ["mailbox flush (mbox1:c4)"]);
        assert_eq!(acts(&nodes[2]), ["mta reload (mbox1:c3)"]);
        assert!(acts(&nodes[3]).is_empty(), "{:?}", acts(&nodes[3]));

        // A value mailboxd reads at start only needs a restart everywhere.
        let mut dir_plan = empty_plan();
        dir_plan.changes = vec![change(
            "c1",
            "cn=config,cn=zimbra",
            "zimbraHttpThrottleSafeIPs",
        )];
        let mut nodes = vec![
            cnode(&planned[0], Role::Own, dir_plan),
            cnode(&planned[1], Role::Peer, empty_plan()),
        ];
        distribute_directory_actions(&mut nodes, &planned, "mbox1");
        assert_eq!(acts(&nodes[1]), ["mailbox restart (mbox1:c1)"]);
        // A restart the node needs anyway covers the flush.
        let mut dir_plan = empty_plan();
        dir_plan.changes = vec![change("c1", "cn=config,cn=zimbra", "zimbraMailTrustedIP")];
        let mut peer = empty_plan();
        peer.actions = vec![PlannedAction {
            service: Service::Mailbox,
            action: Action::Restart,
            because: vec!["c1".into()],
        }];
        let mut nodes = vec![
            cnode(&planned[0], Role::Own, dir_plan),
            cnode(&planned[1], Role::Peer, peer),
        ];
        distribute_directory_actions(&mut nodes, &planned, "mbox1");
        assert_eq!(acts(&nodes[1]), ["mailbox restart (c1,mbox1:c1)"]);
    }

    #[test]
    fn the_order_puts_a_moving_master_first_and_services_by_service() {
        let planned = [
            node("mbox1", &["ldap", "mailbox"]),
            node("mta1", &["mta"]),
            node("proxy1", &["proxy"]),
        ];
        let mut p1 = empty_plan();
        p1.changes = vec![hosts_change("c1"), change("c2", "cn=config,cn=zimbra", "x")];
        p1.actions = vec![
            PlannedAction {
                service: Service::Ldap,
                action: Action::Restart,
                because: vec!["c1".into()],
            },
            PlannedAction {
                service: Service::Mailbox,
                action: Action::Restart,
                because: vec!["c1".into()],
            },
        ];
        let mut p2 = empty_plan();
        p2.changes = vec![hosts_change("c1")];
        p2.actions = vec![PlannedAction {
            service: Service::Mta,
            action: Action::Reload,
            because: vec!["c1".into()],
        }];
        let mut p3 = empty_plan();
        p3.changes = vec![hosts_change("c1")];
        p3.actions = vec![PlannedAction {
            service: Service::Proxy,
            action: Action::Restart,
            because: vec!["c1".into()],
        }];
        let nodes = vec![
            cnode(&planned[0], Role::Own, p1),
            cnode(&planned[1], Role::Peer, p2),
            cnode(&planned[2], Role::Peer, p3),
        ];
        let got: Vec<String> = order(&nodes, "mbox1", "mbox1", true)
            .iter()
            .map(OrderStep::describe)
            .collect();
        assert_eq!(
            got,
            [
                "mbox1: write its files",
                "mbox1: change the directory",
                "mta1: write its files",
                "proxy1: write its files",
                "mbox1: ldap restart",
                "mta1: mta reload",
                "mbox1: mailbox restart",
                "proxy1: proxy restart",
                "mbox1: verify",
                "mta1: verify",
                "proxy1: verify",
            ]
        );
        // A master that stays: the directory first.
        let got: Vec<String> = order(&nodes, "mbox1", "mbox1", false)
            .iter()
            .take(2)
            .map(OrderStep::describe)
            .collect();
        assert_eq!(
            got,
            ["mbox1: change the directory", "mbox1: write its files"]
        );
    }

    #[test]
    fn urls_are_pinned_to_their_addresses() {
        let p = pin("ldap://10.0.0.11:389").unwrap();
        assert_eq!(p.addrs, vec!["10.0.0.11".parse::<IpAddr>().unwrap()]);
        assert_eq!(p.at("10.9.0.1".parse().unwrap()), "ldap://10.9.0.1:389");
        let p = pin("ldaps://[2001:db8::11]/").unwrap();
        assert_eq!(p.addrs, vec!["2001:db8::11".parse::<IpAddr>().unwrap()]);
        assert_eq!(
            p.at("2001:db8::9".parse().unwrap()),
            "ldaps://[2001:db8::9]:636/"
        );
        assert_eq!(pin("LDAP://10.0.0.11").unwrap().port, 389);
        assert!(pin("ldap://10.0.0.11:99999").is_none());
        assert!(pin("ldapi:///").is_none());
        assert!(pin("ldap://:389").is_none());
        assert!(url_names(
            "ldap://10.0.0.11:389",
            "10.0.0.11".parse().unwrap()
        ));
        assert!(!url_names(
            "ldap://10.0.0.110:389",
            "10.0.0.11".parse().unwrap()
        ));
    }

    #[test]
    fn the_handoff_command_is_a_peer_apply_without_the_directory() {
        assert_eq!(
            handoff_command(&["10.0.0.11/24".into()], &["10.9.0.11/24".into()]),
            "zmreip apply --role peer --from 10.0.0.11/24 --to 10.9.0.11/24 --no-directory"
        );
    }
}
