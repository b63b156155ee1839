//! The change report (`plan --format markdown`): what a change board
//! reads and signs. It names the host, its Zimbra version and the plan's
//! checksum (so the approved report is tied to the plan file that is
//! applied), says what users notice and for how long, the checks before
//! and after, the order of the steps (and when the OS address moves), and
//! what a rollback covers and what it does not. It speaks of files and
//! directory attributes, not of zmreip's internal terms.

use std::fmt::Write as _;
use std::path::Path;

use super::Plan;
use super::render::{diff_lines, groups, plural};
use crate::directory::{is_global_config, is_server};
use crate::discover::Sources;
use crate::model::{Change, Target};
use crate::services::{Service, impact};
use crate::surface::Surface;

/// What the report says besides the plan: found on the host when it is
/// read, else left out ("not known").
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The server's host name (localconfig's `zimbra_server_hostname`).
    pub host: Option<String>,
    /// Its Zimbra version (the server entry's `zimbraServerVersion`).
    pub zimbra_version: Option<String>,
    /// The default mail domain (`zimbraDefaultDomainName`), whose SPF
    /// `check` evaluates.
    pub domain: Option<String>,
    /// When the report was made (RFC 3339, UTC).
    pub date: String,
    /// The plan file saved with the report (`--out`), as given.
    pub plan_file: Option<String>,
}

impl Facts {
    /// Reads what the report names from the host and its directory. A
    /// directory that cannot be read leaves the version unknown: the
    /// report is still made.
    pub fn gather(src: &mut Sources, _plan: &Plan, plan_file: Option<&Path>) -> Facts {
        let host = crate::surface::localconfig::server_hostname(&src.host);
        let mut facts = Facts {
            host,
            date: crate::clock::rfc3339(crate::clock::now()),
            plan_file: plan_file.map(|p| p.display().to_string()),
            ..Facts::default()
        };
        let Some(dir) = src.directory.as_mut() else {
            return facts;
        };
        let Ok(entries) = dir.topology() else {
            return facts;
        };
        for e in &entries {
            let first = |name: &str| e.get(name).and_then(|v| v.first()).cloned();
            if is_global_config(e) {
                facts.domain = first("zimbraDefaultDomainName");
            } else if is_server(e)
                && facts.host.as_deref().is_some_and(|h| {
                    first("zimbraServiceHostname").is_some_and(|n| n.eq_ignore_ascii_case(h))
                })
            {
                facts.zimbra_version = first("zimbraServerVersion");
            }
        }
        facts
    }

    /// For a node of a multi-server plan, planned elsewhere.
    pub fn node(name: &str) -> Facts {
        Facts {
            host: Some(name.to_string()),
            date: crate::clock::rfc3339(crate::clock::now()),
            ..Facts::default()
        }
    }
}

/// What the change does, in one line: a move, or a bind's services and
/// address (a bind plan has no old and new address).
fn title(plan: &Plan, facts: &Facts) -> String {
    let server = facts
        .host
        .as_deref()
        .map(|h| format!("the Zimbra server {}", md(h)))
        .unwrap_or_else(|| "the Zimbra server".to_string());
    let Some(bind) = &plan.bind else {
        return format!(
            "move {server} from {} to {}",
            plan.from.join(", "),
            plan.to.join(", ")
        );
    };
    let services = bound_services(bind);
    match &bind.address {
        Some(address) => format!("bind {services} of {server} to {}", md(address)),
        None => format!("unbind {services} of {server} (all interfaces)"),
    }
}

fn bound_services(bind: &super::Bind) -> String {
    md(&bind.service_names().join(", "))
}

/// The whole report.
pub fn markdown(plan: &Plan, facts: &Facts) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Change request: {}\n", title(plan, facts));
    summary(&mut s, plan, facts);
    impact_section(&mut s, plan);
    before(&mut s, plan, facts);
    order(&mut s, plan, facts);
    changes(&mut s, plan);
    after(&mut s, plan, facts);
    rollback(&mut s, plan);
    if !plan.handoffs.is_empty() {
        let _ = writeln!(s, "## To do outside this host\n");
        for h in &plan.handoffs {
            let _ = writeln!(s, "- [ ] **{}**: {}", h.code, md(&h.message));
        }
        let _ = writeln!(s);
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(s, "## Risks and warnings\n");
        for w in &plan.warnings {
            let _ = writeln!(s, "- **{}**: {}", w.code, md(&w.message));
        }
        let _ = writeln!(s);
    }
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}

fn known(v: Option<&str>) -> String {
    v.map_or_else(|| "not known".to_string(), md)
}

/// The table at the head: what, where, when, with which plan.
fn summary(s: &mut String, plan: &Plan, facts: &Facts) {
    let _ = writeln!(s, "## Summary\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| Host | {} |", known(facts.host.as_deref()));
    let _ = writeln!(
        s,
        "| Zimbra version | {} |",
        known(facts.zimbra_version.as_deref())
    );
    match &plan.bind {
        None => {
            let _ = writeln!(s, "| Old address | {} |", plan.from.join(", "));
            let _ = writeln!(s, "| New address | {} |", plan.to.join(", "));
        }
        Some(bind) => {
            let _ = writeln!(
                s,
                "| Bound address | {} |",
                bind.address
                    .as_deref()
                    .map_or_else(|| "none (all interfaces)".to_string(), md)
            );
            let _ = writeln!(s, "| Bound services | {} |", bound_services(bind));
        }
    }
    let _ = writeln!(s, "| Report made | {} |", facts.date);
    let _ = writeln!(s, "| Made with | zmreip {} |", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(
        s,
        "| Plan checksum | `{}` |",
        plan.checksum.as_deref().unwrap_or("none")
    );
    if let Some(f) = &facts.plan_file {
        let _ = writeln!(s, "| Plan file | `{}` |", md(f));
    }
    let what: Vec<String> = groups(plan)
        .iter()
        .map(|(surface, v)| format!("{} ({})", surface.title(), v.len()))
        .collect();
    let _ = writeln!(
        s,
        "| What changes | {} |",
        if what.is_empty() {
            "nothing".into()
        } else {
            what.join(", ")
        }
    );
    let _ = writeln!(
        s,
        "| Services | {} |",
        if plan.actions.is_empty() {
            "none restarted".into()
        } else {
            plan.actions
                .iter()
                .map(|a| format!("{} {}", a.service.as_str(), a.action.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let _ = writeln!(s, "| Warnings | {} |\n", plan.warnings.len());
    let _ = writeln!(
        s,
        "The checksum identifies this plan: `zmreip apply --plan FILE` refuses a plan file whose checksum differs, so the plan applied is the plan approved.\n"
    );
}

/// Which services restart, what users notice, for how long.
fn impact_section(s: &mut String, plan: &Plan) {
    let _ = writeln!(s, "## Impact\n");
    if plan.actions.is_empty() {
        let _ = writeln!(s, "No service restarts or reloads: users notice nothing.\n");
        return;
    }
    let _ = writeln!(
        s,
        "| Service | Action | What users notice | For how long |\n|---|---|---|---|"
    );
    for a in &plan.actions {
        let i = impact::of(a.service, a.action);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            a.service.as_str(),
            a.action.as_str(),
            i.notice,
            i.duration
        );
    }
    let _ = writeln!(s);
}

/// `zmreip check` of every new address, and the plan's preconditions.
fn before(s: &mut String, plan: &Plan, facts: &Facts) {
    let _ = writeln!(s, "## Before the change\n");
    let _ = writeln!(s, "Run on the server, as root:\n");
    let _ = writeln!(s, "```sh");
    for (old, new) in plan.from.iter().zip(&plan.to) {
        let mut cmd = format!("zmreip check {}", bare(new));
        if let Some(h) = &facts.host {
            cmd.push_str(&format!(" --hostname {h}"));
        }
        if let Some(d) = &facts.domain {
            cmd.push_str(&format!(" --domain {d}"));
        }
        cmd.push_str(&format!(" --from {}", bare(old)));
        let _ = writeln!(s, "{cmd}");
    }
    let file = facts.plan_file.as_deref().unwrap_or("plan.json");
    let _ = writeln!(s, "zmreip apply --plan {file} --check");
    let _ = writeln!(s, "```\n");
    let _ = writeln!(
        s,
        "`check` must exit 0: the new address is on no DNS blocklist, its reverse DNS (PTR) names the host and resolves back to it, and the mail domain's SPF allows it (exit 3 says what would hurt mail). `apply --check` confirms that every file and directory attribute still holds what this plan expects; it writes nothing.\n"
    );
}

/// When each thing happens, including the OS address.
fn order(s: &mut String, plan: &Plan, facts: &Facts) {
    let _ = writeln!(s, "## Order of steps\n");
    let mut n = 0;
    let mut step = |s: &mut String, text: String| {
        n += 1;
        let _ = writeln!(s, "{n}. {text}");
    };
    let network = plan.actions.iter().any(|a| a.service == Service::Network);
    if network {
        step(
            s,
            "Move the OS address, from a console (an SSH session over the old address drops): this plan rewrites the OS network configuration (listed under Changes), and the services restart on the new address, so it must be up before they do. Either bring it up by hand first, or apply with `--restart-network`, which restarts the network as the first service action.".into(),
        );
    } else {
        step(
            s,
            "The new address must already be configured on the server (by DHCP, the hosting provider or by hand): this plan does not change the OS network configuration, and the services restart on the new address.".into(),
        );
    }
    let file = facts.plan_file.as_deref().unwrap_or("plan.json");
    let files = count_files(plan);
    let attrs = plan
        .changes
        .iter()
        .filter(|c| matches!(c.target, Target::Ldap { .. }))
        .count();
    step(
        s,
        format!(
            "`zmreip apply --plan {file}`: checks every precondition again (nothing is written if one fails), keeps a backup of each file and the directory's values in its journal, then writes {files} file{} and {attrs} directory attribute{}.",
            plural(files),
            plural(attrs)
        ),
    );
    if !plan.actions.is_empty() {
        let acts: Vec<String> = plan
            .actions
            .iter()
            .map(|a| format!("{} {}", a.service.as_str(), a.action.as_str()))
            .collect();
        step(
            s,
            format!(
                "The services reload or restart, in this order: {} (see Impact).",
                acts.join(", ")
            ),
        );
    }
    step(
        s,
        "zmreip verifies the server on the new address (the checks under After the change) and rolls everything back by itself if one fails.".into(),
    );
    if !plan.handoffs.is_empty() {
        step(
            s,
            "Outside this host: the items under To do outside this host (DNS elsewhere, reverse DNS, other servers and partners).".into(),
        );
    }
    let _ = writeln!(s);
}

/// Files the plan writes (each once).
fn count_files(plan: &Plan) -> usize {
    let mut files: Vec<&str> = plan
        .changes
        .iter()
        .filter_map(|c| match &c.target {
            Target::Line { file, .. } | Target::LocalconfigKey { file, .. } => Some(file.as_str()),
            Target::Ldap { .. } | Target::Dns { .. } => None,
        })
        .collect();
    files.sort_unstable();
    files.dedup();
    files.len()
}

/// Every change with its precondition, by kind of place.
fn changes(s: &mut String, plan: &Plan) {
    let _ = writeln!(s, "## Changes\n");
    if plan.changes.is_empty() {
        let _ = writeln!(s, "None.\n");
    }
    for (surface, list) in groups(plan) {
        let _ = writeln!(s, "### {}\n", surface.title());
        for c in list {
            let _ = writeln!(s, "**{}** {}: {}\n", c.id, place(c), md(&c.reason));
            let _ = writeln!(s, "```diff");
            for (tag, line) in diff_lines(c) {
                let _ = writeln!(s, "{tag}{line}");
            }
            let _ = writeln!(s, "```\n");
        }
    }
    if !plan.derived.is_empty() {
        let _ = writeln!(s, "### {} (not edited)\n", Surface::Derived.title());
        for d in &plan.derived {
            let _ = writeln!(
                s,
                "- `{}`, written again by the {} action",
                d.file,
                d.regenerated_by.as_str()
            );
        }
        let _ = writeln!(s);
    }
}

/// Where a change is, in plain words.
fn place(c: &Change) -> String {
    match &c.target {
        Target::Line { file, line } => format!("file `{file}`, line {line}"),
        Target::LocalconfigKey { file, key } => format!("file `{file}`, key `{key}`"),
        Target::Ldap { dn, attribute } => {
            format!("directory attribute `{attribute}` of `{dn}`")
        }
        Target::Dns { zone, name, rtype } => {
            format!("DNS record `{name}` {rtype} in zone `{zone}`")
        }
    }
}

/// `zmreip verify` on the new address.
fn after(s: &mut String, plan: &Plan, facts: &Facts) {
    let _ = writeln!(s, "## After the change\n");
    if plan.bind.is_some() {
        // `verify` checks a move; apply says so for a bind and names these.
        let _ = writeln!(
            s,
            "`apply` does not verify a bind. Check the listeners with `ss -ltn` (each bound service listens on the bound address only, or on all interfaces after an unbind) and the outbound address in the `Received` header of a message sent to an outside mailbox.\n"
        );
        return;
    }
    let mut cmd = String::from("zmreip verify");
    for t in &plan.to {
        cmd.push_str(&format!(" --to {t}"));
    }
    for f in &plan.from {
        cmd.push_str(&format!(" --from {f}"));
    }
    if let Some(h) = &facts.host {
        cmd.push_str(&format!(" --hostname {h}"));
    }
    let _ = writeln!(s, "```sh\n{cmd}\n```\n");
    let _ = writeln!(
        s,
        "`apply` runs these checks itself at its end; run them again at any time. They prove the new address is up and every service answers on it, nothing still listens on the old one, SMTP greets with the host name, relaying is refused from outside, the host name resolves to the new address, and no file or directory attribute still holds the old address.\n"
    );
}

/// What `zmreip rollback` undoes, and what it cannot.
fn rollback(s: &mut String, plan: &Plan) {
    let _ = writeln!(s, "## Rollback\n");
    let _ = writeln!(
        s,
        "`zmreip rollback` (the latest run; `zmreip history` lists them) restores from the run's journal:\n"
    );
    let _ = writeln!(
        s,
        "- every file listed under Changes, byte for byte, with its owner, mode and symbolic links;"
    );
    if plan
        .changes
        .iter()
        .any(|c| matches!(c.target, Target::Ldap { .. }))
    {
        let _ = writeln!(
            s,
            "- every directory attribute listed, to the values it held before;"
        );
    }
    if plan.changes.iter().any(|c| c.surface == Surface::Dns) {
        let _ = writeln!(
            s,
            "- the DNS records updated on other servers, to the records they held before;"
        );
    }
    let _ = writeln!(
        s,
        "- then runs the service actions again, so every service reads the old settings.\n"
    );
    let _ = writeln!(s, "It does not undo:\n");
    if !plan.handoffs.is_empty() {
        let _ = writeln!(
            s,
            "- what was done outside this host (To do outside this host: DNS served elsewhere, reverse DNS at the address's provider, other servers, firewalls and partners): ask for each to be undone;"
        );
    }
    if plan.actions.iter().any(|a| a.service == Service::Network) {
        let _ = writeln!(
            s,
            "- the address on the network interface, when it was moved by hand: the configuration files come back, the address is moved back from a console;"
        );
    }
    let _ = writeln!(
        s,
        "- answers cached elsewhere: resolvers and clients keep the new address until its DNS TTL expires;"
    );
    let _ = writeln!(
        s,
        "- edits made after the apply to the same files or attributes: rollback refuses to overwrite them and names them (`--force` restores files anyway);"
    );
    let _ = writeln!(s, "- mail that arrived in between: it stays delivered.\n");
}

/// An address without its prefix (`check` takes the bare address).
fn bare(a: &str) -> &str {
    a.split('/').next().unwrap_or(a)
}

/// Escapes `|`, which would end a table cell. Messages quote names in
/// backticks, where other Markdown syntax is inert.
fn md(s: &str) -> String {
    s.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        serde_json::from_str(
            r#"{"schema":"zmreip.plan/v1","from":["172.20.14.25/24"],"to":["10.40.7.131/24"],
            "changes":[{"id":"c1","surface":"hosts","target":{"file":"/etc/hosts","line":2},
            "before":"172.20.14.25 mail","after":"10.40.7.131 mail","reason":"r | s"}],
            "derived":[],"actions":[{"service":"network","action":"restart","because":["c1"]}],
            "warnings":[],"handoffs":[],"checksum":"sha256:00"}"#,
        )
        .unwrap()
    }

    fn bind_plan(address: Option<&str>) -> Plan {
        let mut p = plan();
        p.from.clear();
        p.to.clear();
        p.bind = Some(super::super::Bind {
            address: address.map(str::to_string),
            // Outbound holds one setting per family: named once.
            services: ["outbound", "outbound", "imap"]
                .iter()
                .map(|n| super::super::BoundService {
                    name: n.to_string(),
                    setting: "s".into(),
                    place: "ldap".into(),
                    actions: vec![],
                })
                .collect(),
        });
        p
    }

    /// A bind plan has no old and new address: the report says what is
    /// bound where, never "move from  to ".
    #[test]
    fn a_bind_plan_is_reported_as_a_bind() {
        let facts = Facts {
            host: Some("mail.example.test".into()),
            ..Facts::default()
        };
        let r = markdown(&bind_plan(Some("172.20.14.26")), &facts);
        assert!(
            r.starts_with(
                "# Change request: bind outbound, imap of the Zimbra server mail.example.test to 172.20.14.26\n"
            ),
            "{r}"
        );
        assert!(r.contains("| Bound address | 172.20.14.26 |"), "{r}");
        assert!(r.contains("| Bound services | outbound, imap |"), "{r}");
        assert!(!r.contains("| Old address"), "{r}");
        assert!(!r.contains("move the Zimbra"), "{r}");
        let r = markdown(&bind_plan(None), &facts);
        assert!(
            r.starts_with(
                "# Change request: unbind outbound, imap of the Zimbra server mail.example.test (all interfaces)\n"
            ),
            "{r}"
        );
        assert!(
            r.contains("| Bound address | none (all interfaces) |"),
            "{r}"
        );
        assert!(r.contains("`apply` does not verify a bind"), "{r}");
        assert!(!r.contains("zmreip verify"), "{r}");
    }

    #[test]
    fn facts_unknown_are_said_so_and_commands_use_the_plan() {
        let facts = Facts {
            date: "2026-12-07T12:00:00Z".into(),
            ..Facts::default()
        };
        let r = markdown(&plan(), &facts);
        assert!(r.contains("| Host | not known |"), "{r}");
        assert!(r.contains("| Plan checksum | `sha256:00` |"), "{r}");
        assert!(
            r.contains("zmreip check 10.40.7.131 --from 172.20.14.25\n"),
            "{r}"
        );
        assert!(
            r.contains("zmreip verify --to 10.40.7.131/24 --from 172.20.14.25/24\n"),
            "{r}"
        );
        // The OS address moves first, from a console.
        assert!(r.contains("1. Move the OS address, from a console"), "{r}");
        assert!(r.contains("r \\| s"), "{r}");
        // No internal terms.
        assert!(!r.to_lowercase().contains("surface"), "{r}");
    }
}
