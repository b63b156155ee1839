//! `zmreip bind`: a plan that binds services of this host to one of its
//! addresses (or, unbound, back to all of them), in the
//! [`Role::Bound`](crate::policy::Role::Bound) role: no address moves.
//!
//! Where each service's address is kept is data
//! ([`zimbra::listeners`], [`zimbra::outbound`]); this module reads the
//! current values and writes the changes:
//!
//! * a directory attribute of this host's server entry (`ldap`), and the
//!   localconfig key that overrides it when set;
//! * a localconfig listen URL (`ldap_bind_url`);
//! * `inet_interfaces` of Postfix's `main.cf`, which keeps its loopback
//!   entries (Zimbra's tools and mailboxd send through localhost);
//! * for `--outbound`, a `-o smtp_bind_address=` (IPv6:
//!   `smtp_bind_address6`) option of each transport of `master.cf.in`
//!   that delivers off the host.
//!
//! The plan is an ordinary `zmreip.plan/v1` plan (empty `from` and `to`)
//! with its intent in [`Bind`], so apply, rollback and history handle it
//! like any other.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{Bind, BoundService, Plan, SCHEMA, ServiceAction};
use crate::directory::{self, Entry};
use crate::discover::{self, Sources};
use crate::error::{Error, Result};
use crate::model::{Change, Target, Value};
use crate::notice::{Code, Notice};
use crate::policy::{Role, bind_values};
use crate::surface::{Surface, localconfig, postfix};
use crate::zimbra::{self, BindSetting, Listener, PortFrom};

/// What `zmreip bind` was asked.
#[derive(Debug, Clone)]
pub struct Request {
    /// The address to bind to; `None` unbinds (all interfaces).
    pub address: Option<IpAddr>,
    /// `--outbound`: mail leaves from the address.
    pub outbound: bool,
    /// `--listen`: these listeners bind to it.
    pub listen: Vec<&'static Listener>,
    /// Where to check PTR and SPF for `--outbound` (`None`: not checked,
    /// said in a warning).
    pub resolver: Option<SocketAddr>,
    /// The mail domains whose SPF must pass the outbound address.
    pub domains: Vec<String>,
    /// Per DNS question, and for reading the kernel's interface list.
    pub timeout: Duration,
}

/// Parses `--listen`: names of [`zimbra::listeners`], comma-separated, or
/// `all`.
pub fn parse_listen(arg: &str) -> Result<Vec<&'static Listener>> {
    let mut out: Vec<&'static Listener> = Vec::new();
    for name in arg.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let name = name.to_ascii_lowercase();
        if name == "all" {
            for l in zimbra::listeners() {
                if !out.iter().any(|o| o.name == l.name) {
                    out.push(l);
                }
            }
            continue;
        }
        let Some(l) = zimbra::listener(&name) else {
            let known: Vec<&str> = zimbra::listeners().iter().map(|l| l.name).collect();
            return Err(Error::usage(
                format!("--listen: no service `{name}`"),
                format!("name one or more of {}, or all", known.join(", ")),
            ));
        };
        if !out.iter().any(|o| o.name == l.name) {
            out.push(l);
        }
    }
    Ok(out)
}

/// Builds the bind plan.
pub fn build(sources: &mut Sources, req: &Request) -> Result<Plan> {
    if !req.outbound && req.listen.is_empty() {
        return Err(Error::usage(
            "nothing to bind: neither --outbound nor --listen was given",
            "add --outbound (mail leaves from the address) and/or --listen SERVICE,... (services listen on it)",
        ));
    }
    if let Some(a) = req.address {
        check_configured(sources, a, req.timeout)?;
    }
    let bound = req.address;
    let mut changes = Vec::new();
    let mut services = Vec::new();
    let mut warnings = Vec::new();
    let mut by_name: Vec<String> = Vec::new();
    let host = &sources.host;
    let lc_path = host.zimbra_path(localconfig::FILE);
    let lc_text = host.read(&lc_path)?.unwrap_or_default();

    if req.outbound {
        let (c, s) = outbound(sources, bound)?;
        changes.extend(c);
        services.extend(s);
        if let Some(a) = bound {
            warnings.extend(outbound_dns(sources, req, a));
        }
    }
    let needs_directory = req
        .listen
        .iter()
        .any(|l| matches!(l.setting, BindSetting::Attribute { .. }));
    let (server, global) = if needs_directory {
        server_entry(sources)?
    } else {
        (Entry::default(), Entry::default())
    };
    for l in &req.listen {
        let setting = l.setting;
        let place = match setting {
            BindSetting::Attribute {
                name,
                overridden_by,
            } => {
                changes.extend(attribute_change(&server, name, bound));
                if let Some(key) = overridden_by {
                    changes.extend(key_change(&lc_path, &lc_text, key, bound, None)?);
                }
                changes.extend(local_bind(l, &server, &global, bound));
                if let Some(flag) = l.enabled_by
                    && value(&server, &global, flag)
                        .is_some_and(|v| v.eq_ignore_ascii_case("FALSE"))
                {
                    warnings.push(Notice::new(
                        Code::BindDisabled,
                        format!(
                            "{} is switched off ({flag} is FALSE): the bind takes effect when it is switched on",
                            l.what
                        ),
                    ));
                }
                "ldap"
            }
            BindSetting::LocalconfigUrl { key, scheme } => {
                let port = match l.port {
                    PortFrom::Localconfig(k, default) => localconfig::value(&lc_path, &lc_text, k)?
                        .and_then(|v| v.trim().parse::<u16>().ok())
                        .unwrap_or(default),
                    PortFrom::Attribute(_, p) | PortFrom::Fixed(p) => p,
                };
                let url = bound.map(|a| format!("{scheme}://{}:{port}", bracketed(a)));
                changes.extend(key_change(&lc_path, &lc_text, key, bound, url)?);
                "localconfig"
            }
            BindSetting::Postfix { parameter } => {
                changes.extend(inet_interfaces(sources, parameter, bound)?);
                "postfix"
            }
        };
        if l.by_name {
            by_name.push(if l.proxied {
                format!("{} (zimbra-proxy's upstream too)", l.what)
            } else {
                l.what.to_string()
            });
        }
        services.push(BoundService {
            name: l.name.to_string(),
            setting: setting.name().to_string(),
            place: place.to_string(),
            actions: actions_of(setting.rule().actions),
        });
    }

    if let (Some(a), false) = (bound, by_name.is_empty()) {
        let name = localconfig::server_hostname(&sources.host)
            .unwrap_or_else(|| "the server's host name".into());
        warnings.push(Notice::new(
            Code::BindByName,
            format!(
                "other servers and Zimbra's own processes reach {} by {name}: it must resolve to {a} (DNS, and /etc/hosts of every server)",
                by_name.join(", ")
            ),
        ));
    }
    for (i, c) in changes.iter_mut().enumerate() {
        c.id = format!("c{}", i + 1);
    }
    let actions = super::build::actions(
        &changes,
        &[],
        false,
        super::build::Facts::default(),
        Role::Bound,
    );
    let mut plan = Plan {
        schema: SCHEMA.to_string(),
        from: Vec::new(),
        to: Vec::new(),
        changes,
        derived: Vec::new(),
        actions,
        warnings,
        handoffs: Vec::new(),
        bind: Some(Bind {
            address: bound.map(|a| a.to_string()),
            services,
        }),
        checksum: None,
    };
    plan.seal();
    Ok(plan)
}

/// Refuses an address that no interface has: the kernel's list (of the
/// network namespace zmreip runs in) and the OS network configuration
/// under `--root` are read; a service bound to an address the host does
/// not have would not start.
fn check_configured(sources: &Sources, a: IpAddr, timeout: Duration) -> Result<()> {
    let configured = discover::interfaces(sources);
    if configured.iter().any(|i| i.addr == a) {
        return Ok(());
    }
    let kernel = crate::watch::netlink::kernel_addresses(timeout);
    if kernel.as_ref().is_ok_and(|k| k.contains(&a)) {
        return Ok(());
    }
    let why = match kernel {
        Ok(_) => "no interface has it".to_string(),
        Err(e) => format!("the OS network configuration does not name it, and {e}"),
    };
    Err(Error::usage(
        format!("--address {a} is not configured on this host: {why}"),
        "bring the address up on an interface first (ip addr add, or the OS network configuration), then bind",
    ))
}

/// The server entry of this host (its `cn` or `zimbraServiceHostname` is
/// localconfig's `zimbra_server_hostname`) and the global config entry.
fn server_entry(sources: &mut Sources) -> Result<(Entry, Entry)> {
    let Some(name) = localconfig::server_hostname(&sources.host) else {
        return Err(Error::other(
            "cannot tell which server entry is this host's: localconfig.xml has no zimbra_server_hostname",
            "give --root the host's files (with opt/zimbra/conf/localconfig.xml)",
        ));
    };
    let Some(dir) = sources.directory.as_mut() else {
        return Err(Error::usage(
            "--listen of a mailboxd service needs the Zimbra directory",
            "run it on the Zimbra host (the live directory of localconfig's ldap_url), or give --ldif FILE",
        ));
    };
    let entries = dir.topology()?;
    let global = entries
        .iter()
        .find(|e| directory::is_global_config(e))
        .cloned()
        .unwrap_or_default();
    let named = |e: &&Entry| {
        ["cn", "zimbraServiceHostname"].iter().any(|a| {
            e.get(a)
                .is_some_and(|v| v.iter().any(|v| v.eq_ignore_ascii_case(&name)))
        })
    };
    let server = entries
        .iter()
        .filter(|e| directory::is_server(e))
        .find(named)
        .cloned()
        .ok_or_else(|| {
            Error::other(
                format!("the directory has no server entry for {name}"),
                "check zimbra_server_hostname in localconfig.xml and the directory given",
            )
        })?;
    Ok((server, global))
}

/// The value of `attr` on the server entry, else in global config (how
/// Zimbra inherits server attributes).
fn value<'a>(server: &'a Entry, global: &'a Entry, attr: &str) -> Option<&'a str> {
    server
        .get(attr)
        .or_else(|| global.get(attr))
        .and_then(|v| v.first())
        .map(String::as_str)
}

/// The change of a bind attribute of the server entry.
fn attribute_change(server: &Entry, attr: &str, bound: Option<IpAddr>) -> Option<Change> {
    let values: Vec<String> = server.get(attr).map(<[String]>::to_vec).unwrap_or_default();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let kind = zimbra::attribute(attr).map(|r| r.kind)?;
    let out = bind_values(&refs, kind, bound.map(|a| a.to_string()).as_deref());
    out.changed.then(|| Change {
        id: String::new(),
        surface: Surface::Ldap,
        target: Target::Ldap {
            dn: server.dn.clone(),
            attribute: attr.to_string(),
        },
        before: Value::Many(values),
        after: Value::Many(out.after),
        reason: out.reasons.join("; "),
    })
}

/// `zimbraMailLocalBind` / `zimbraAdminLocalBind` as Zimbra's `LocalBind`
/// callback would set them for the new HTTP or admin bind address (a
/// direct directory edit runs no callback).
fn local_bind(
    l: &Listener,
    server: &Entry,
    global: &Entry,
    bound: Option<IpAddr>,
) -> Option<Change> {
    let addr = bound.map(|a| a.to_string());
    let (flag, want) = match l.setting.name() {
        "zimbraMailBindAddress" => (
            "zimbraMailLocalBind",
            zimbra::mail_local_bind(value(server, global, "zimbraMailMode"), addr.as_deref()),
        ),
        "zimbraAdminBindAddress" => (
            "zimbraAdminLocalBind",
            zimbra::admin_local_bind(addr.as_deref()),
        ),
        _ => return None,
    };
    let want = if want { "TRUE" } else { "FALSE" };
    let values: Vec<String> = server.get(flag).map(<[String]>::to_vec).unwrap_or_default();
    let now = values.first().map_or("FALSE", String::as_str);
    (!now.eq_ignore_ascii_case(want)).then(|| Change {
        id: String::new(),
        surface: Surface::Ldap,
        target: Target::Ldap {
            dn: server.dn.clone(),
            attribute: flag.to_string(),
        },
        before: Value::Many(values),
        after: Value::Many(vec![want.to_string()]),
        reason: format!(
            "{} also listens on localhost when bound elsewhere (Zimbra's LocalBind rule)",
            l.what
        ),
    })
}

/// The change of a localconfig key: to `spelled` (or the bare address),
/// or empty when unbound. A key the file does not set is left alone when
/// unbinding and refused when binding (the key must be set before it can
/// be changed in place).
fn key_change(
    path: &str,
    text: &str,
    key: &str,
    bound: Option<IpAddr>,
    spelled: Option<String>,
) -> Result<Option<Change>> {
    let Some(entry) = localconfig::read(path, text)?
        .into_iter()
        .rev()
        .find(|e| e.key == key)
    else {
        if bound.is_none() {
            return Ok(None);
        }
        return Err(Error::other(
            format!("{path}: localconfig has no key `{key}` to bind with"),
            format!("set it first (`zmlocalconfig -e {key}=...`), then run zmreip bind again"),
        ));
    };
    let kind =
        zimbra::localconfig_key(key).map_or(crate::policy::ValueKind::OwnAddress, |r| r.kind);
    let current: Vec<&str> = Some(entry.value.as_str())
        .filter(|v| !v.is_empty())
        .into_iter()
        .collect();
    let spelled = spelled.or_else(|| bound.map(|a| a.to_string()));
    let out = bind_values(&current, kind, spelled.as_deref());
    Ok(out.changed.then(|| Change {
        id: String::new(),
        surface: Surface::Localconfig,
        target: Target::LocalconfigKey {
            file: path.to_string(),
            key: key.to_string(),
        },
        before: Value::One(entry.value.clone()),
        after: Value::One(out.after.join(" ")),
        reason: out.reasons.join("; "),
    }))
}

/// `inet_interfaces` of main.cf: the bound address beside the loopback
/// entries already there (else `127.0.0.1`), or `all` when unbound.
fn inet_interfaces(
    sources: &Sources,
    parameter: &str,
    bound: Option<IpAddr>,
) -> Result<Option<Change>> {
    let host = &sources.host;
    let path = host.zimbra_path(postfix::MAIN_CF);
    let Some(text) = host.read(&path)? else {
        return Err(Error::other(
            format!("{path} does not exist"),
            "--listen smtp binds Postfix, which this host does not have; leave smtp out",
        ));
    };
    let current = postfix::main_cf_definition(&text, parameter);
    if let Some(d) = current.as_ref().filter(|d| d.continued) {
        return Err(Error::other(
            format!("{path}:{}: {parameter} continues on the next lines", d.line),
            format!("join {parameter} onto one line (`postconf -e '{parameter}=...'`), then bind"),
        ));
    }
    let now = current.as_ref().map_or("all", |d| d.value.as_str());
    let Some(want) = interfaces_value(now, bound) else {
        return Ok(None);
    };
    let reason = match bound {
        Some(a) => format!("smtpd listens on {a} (and loopback) only (was {now})"),
        None => format!("unbound: smtpd listens on all interfaces (was {now})"),
    };
    let change = match current {
        Some(d) => {
            let prefix = &d.text[..d.text.trim_end().len() - d.value.len()];
            let after = format!("{prefix}{want}");
            Change {
                id: String::new(),
                surface: Surface::Postfix,
                target: Target::Line {
                    file: path,
                    line: d.line,
                },
                before: Value::One(d.text.clone()),
                after: Value::One(after),
                reason,
            }
        }
        // Not set: Postfix's default `all`; the setting is appended.
        None => {
            if bound.is_none() {
                return Ok(None);
            }
            let Some((n, last)) = postfix::last_line(&text) else {
                return Err(Error::other(
                    format!("{path} is empty"),
                    "this is not a Postfix main.cf Zimbra wrote; check --root",
                ));
            };
            Change {
                id: String::new(),
                surface: Surface::Postfix,
                target: Target::Line {
                    file: path,
                    line: n,
                },
                before: Value::One(last.to_string()),
                after: Value::One(format!("{last}\n{parameter} = {want}")),
                reason,
            }
        }
    };
    Ok(Some(change))
}

/// The `inet_interfaces` value for `bound` given the value `now`: the
/// loopback entries of `now` (else `127.0.0.1`) and the bound address, or
/// `all` when unbound. `None` when `now` already says that (entries
/// separated by commas or white space, in that order).
fn interfaces_value(now: &str, bound: Option<IpAddr>) -> Option<String> {
    let entries: Vec<&str> = now
        .split([',', ' ', '\t'])
        .filter(|e| !e.is_empty())
        .collect();
    let want: Vec<String> = match bound {
        None => vec!["all".to_string()],
        Some(a) => {
            let mut keep: Vec<String> = entries
                .iter()
                .filter(|e| is_loopback(e))
                .map(ToString::to_string)
                .collect();
            if keep.is_empty() {
                keep.push("127.0.0.1".into());
            }
            if !keep
                .iter()
                .any(|k| k.trim_matches(['[', ']']).parse() == Ok(a))
            {
                keep.push(a.to_string());
            }
            keep
        }
    };
    let same = want.iter().map(String::as_str).eq(entries.iter().copied());
    (!same).then(|| want.join(", "))
}

/// Whether an `inet_interfaces` entry is a loopback one.
fn is_loopback(e: &str) -> bool {
    let bare = e.trim_matches(['[', ']']);
    bare.eq_ignore_ascii_case("localhost")
        || bare.eq_ignore_ascii_case("loopback-only")
        || bare.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// `--outbound`: the `-o smtp_bind_address[6]=` option of each transport
/// that delivers off the host, in `master.cf.in`.
fn outbound(sources: &Sources, bound: Option<IpAddr>) -> Result<(Vec<Change>, Vec<BoundService>)> {
    let ob = zimbra::outbound();
    let host = &sources.host;
    let path = host.zimbra_path(ob.template);
    let Some(text) = host.read(&path)? else {
        return Err(Error::other(
            format!("{path} does not exist"),
            "--outbound binds Zimbra's MTA, which this host does not have (or give --zimbra-home)",
        ));
    };
    let entries = postfix::master_entries(&text);
    // Binding sets the family's option; unbinding removes both.
    let params: Vec<&str> = match bound {
        Some(IpAddr::V4(_)) => vec![ob.parameter_v4],
        Some(IpAddr::V6(_)) => vec![ob.parameter_v6],
        None => vec![ob.parameter_v4, ob.parameter_v6],
    };
    let mut changes = Vec::new();
    for t in ob.transports {
        let Some(e) = entries.iter().find(|e| e.service == *t && e.kind == "unix") else {
            return Err(Error::other(
                format!("{path}: no `{t} unix` service entry"),
                "this is not Zimbra's master.cf.in; check --root and --zimbra-home",
            ));
        };
        for p in &params {
            let opt = e.options.iter().rev().find(|o| o.name == *p);
            let change = match (opt, bound) {
                (Some(o), Some(a)) if o.value == a.to_string() => None,
                (Some(o), _) => {
                    let after = option_line(&o.text, &o.name, &o.value, bound);
                    Some((o.line, o.text.clone(), after))
                }
                (None, Some(a)) => Some((
                    e.last,
                    e.last_text.clone(),
                    format!("{}\n\t-o {p}={a}", e.last_text),
                )),
                (None, None) => None,
            };
            let Some((line, before, after)) = change else {
                continue;
            };
            let reason = match bound {
                Some(a) => format!("mail the {t} transport delivers leaves from {a}"),
                None => format!("unbound: the {t} transport sends from the address of its route"),
            };
            changes.push(Change {
                id: String::new(),
                surface: Surface::Postfix,
                target: Target::Line {
                    file: path.clone(),
                    line,
                },
                before: Value::One(before),
                after: Value::One(after),
                reason,
            });
        }
    }
    let services = params
        .iter()
        .map(|p| BoundService {
            name: "outbound".into(),
            setting: (*p).to_string(),
            place: "postfix".into(),
            actions: actions_of(
                zimbra::postfix_parameter(p)
                    .expect("the outbound parameters are in the Postfix table (tables test)")
                    .actions,
            ),
        })
        .collect();
    Ok((changes, services))
}

/// A `master.cf.in` line holding the option `-o name=value`, with the
/// option's value `bound`, or without the option when unbound (a line
/// left empty is a blank line, which Postfix ignores).
fn option_line(text: &str, name: &str, value: &str, bound: Option<IpAddr>) -> String {
    let from = format!("{name}={value}");
    match bound {
        Some(a) => text.replacen(&from, &format!("{name}={a}"), 1),
        None => {
            let gone = text.replacen(&format!("-o {from}"), "", 1);
            if gone.trim().is_empty() {
                String::new()
            } else {
                gone.trim_end().to_string()
            }
        }
    }
}

/// PTR and SPF of the outbound address, as `check` finds them.
fn outbound_dns(sources: &Sources, req: &Request, a: IpAddr) -> Vec<Notice> {
    let host = &sources.host;
    let main = host.zimbra_path(postfix::MAIN_CF);
    let myhostname = host
        .read(&main)
        .ok()
        .flatten()
        .and_then(|t| postfix::main_cf_definition(&t, "myhostname").map(|d| d.value))
        .filter(|v| !v.is_empty() && !v.contains('$'))
        .or_else(|| localconfig::server_hostname(host));
    let Some(name) = myhostname else {
        return vec![Notice::new(
            Code::BindDnsUnchecked,
            format!(
                "the PTR and SPF of {a} were not checked: neither main.cf's myhostname nor localconfig's zimbra_server_hostname names the MTA"
            ),
        )];
    };
    let Some(resolver) = req.resolver else {
        return vec![Notice::new(
            Code::BindDnsUnchecked,
            format!(
                "the PTR and SPF of {a} were not checked (no resolver); run `zmreip check {a} --hostname {name}`"
            ),
        )];
    };
    let domains = if req.domains.is_empty() {
        name.split_once('.')
            .map(|(_, d)| vec![d.to_string()])
            .unwrap_or_default()
    } else {
        req.domains.clone()
    };
    crate::check::outbound_notices(resolver, req.timeout, a, &name, &domains)
}

/// The actions of a rule, as the plan's intent names them.
fn actions_of(
    actions: &[(crate::services::Service, crate::services::Action)],
) -> Vec<ServiceAction> {
    actions
        .iter()
        .map(|(service, action)| ServiceAction {
            service: *service,
            action: *action,
        })
        .collect()
}

/// An address as a URL host (`[2001:db8::1]` for IPv6).
fn bracketed(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_interfaces_keeps_loopback_and_binds_one_address() {
        let a: IpAddr = "192.168.2.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::26".parse().unwrap();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        // (now, bound, new value or None)
        let cases: &[(&str, Option<IpAddr>, Option<&str>)] = &[
            ("all", Some(a), Some("127.0.0.1, 192.168.2.1")),
            ("localhost", Some(a), Some("localhost, 192.168.2.1")),
            (
                "127.0.0.1 [::1]",
                Some(a),
                Some("127.0.0.1, [::1], 192.168.2.1"),
            ),
            (
                "loopback-only",
                Some(v6),
                Some("loopback-only, 2001:db8::26"),
            ),
            // Trap: 192.168.2.10 is another address: it goes.
            (
                "127.0.0.1, 192.168.2.10",
                Some(a),
                Some("127.0.0.1, 192.168.2.1"),
            ),
            // Trap: 127.0.0.10 is loopback too: it stays.
            ("127.0.0.10", Some(a), Some("127.0.0.10, 192.168.2.1")),
            // Already so, however separated.
            ("127.0.0.1, 192.168.2.1", Some(a), None),
            ("127.0.0.1 192.168.2.1", Some(a), None),
            ("127.0.0.1,\t192.168.2.1", Some(a), None),
            // Binding to loopback itself does not repeat it.
            ("all", Some(lo), Some("127.0.0.1")),
            ("127.0.0.1", Some(lo), None),
            // Unbound: all, Postfix's default.
            ("127.0.0.1, 192.168.2.1", None, Some("all")),
            ("all", None, None),
        ];
        for (now, bound, want) in cases {
            assert_eq!(
                interfaces_value(now, *bound).as_deref(),
                *want,
                "{now:?} -> {bound:?}"
            );
        }
    }

    #[test]
    fn master_options_change_or_go() {
        let a: IpAddr = "10.40.7.132".parse().unwrap();
        // (line, value there, bound, line after)
        let cases: &[(&str, &str, Option<IpAddr>, &str)] = &[
            (
                "\t-o smtp_bind_address=10.0.0.1",
                "10.0.0.1",
                Some(a),
                "\t-o smtp_bind_address=10.40.7.132",
            ),
            ("\t-o smtp_bind_address=10.0.0.1", "10.0.0.1", None, ""),
            // Another option on the same line stays.
            (
                "  -o smtp_helo_name=mx -o smtp_bind_address=10.0.0.1",
                "10.0.0.1",
                None,
                "  -o smtp_helo_name=mx",
            ),
            (
                "  -o smtp_bind_address=10.0.0.1 -o smtp_helo_name=mx",
                "10.0.0.1",
                None,
                "   -o smtp_helo_name=mx",
            ),
            // An empty value (unset) becomes the address.
            (
                "\t-o smtp_bind_address=",
                "",
                Some(a),
                "\t-o smtp_bind_address=10.40.7.132",
            ),
        ];
        for (line, value, bound, want) in cases {
            assert_eq!(
                option_line(line, "smtp_bind_address", value, *bound),
                *want,
                "{line:?} -> {bound:?}"
            );
        }
    }

    #[test]
    fn listen_names() {
        let names = |arg: &str| -> Vec<&str> {
            parse_listen(arg).unwrap().iter().map(|l| l.name).collect()
        };
        assert_eq!(names("imap,IMAPS, smtp"), ["imap", "imaps", "smtp"]);
        assert_eq!(names("imap,imap"), ["imap"]);
        assert_eq!(names("all").len(), zimbra::listeners().len());
        assert_eq!(names("smtp,all")[0], "smtp");
        assert!(names("").is_empty());
        for bad in ["imap4", "imap;pop3", "http s"] {
            let e = parse_listen(bad).unwrap_err().to_string();
            assert!(e.contains("--listen: no service"), "{bad}: {e}");
        }
    }
}
