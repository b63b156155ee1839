//! Rendering a plan for people: a diff grouped by surface (coloured on a
//! terminal); the Markdown change report is [`super::report`]. JSON is
//! the [`Plan`]'s serde form (see [`json`]).

use std::fmt::Write as _;

use owo_colors::OwoColorize;

use super::Plan;
use crate::model::{Change, Target, Value};
use crate::surface::Surface;

/// The plan as pretty-printed `zmreip.plan/v1` JSON (with a final newline).
pub fn json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).expect("a plan always serializes");
    s.push('\n');
    s
}

/// Surfaces in the order changes are grouped, with a heading each.
pub(crate) fn groups(plan: &Plan) -> Vec<(Surface, Vec<&Change>)> {
    let mut out: Vec<(Surface, Vec<&Change>)> = Vec::new();
    for c in &plan.changes {
        match out.iter_mut().find(|(s, _)| *s == c.surface) {
            Some((_, v)) => v.push(c),
            None => out.push((c.surface, vec![c])),
        }
    }
    out
}

fn lines(v: &Value) -> Vec<&str> {
    match v {
        Value::One(s) => vec![s.as_str()],
        Value::Many(vs) => vs.iter().map(String::as_str).collect(),
    }
}

/// The `-`/`+` lines of one change. For multi-valued attributes, values
/// that stay are shown as context (` `).
pub(crate) fn diff_lines(c: &Change) -> Vec<(char, String)> {
    let before = lines(&c.before);
    let after = lines(&c.after);
    let mut out = Vec::new();
    match (&c.before, &c.after) {
        (Value::Many(_), Value::Many(_)) => {
            for b in &before {
                out.push(if after.contains(b) {
                    (' ', b.to_string())
                } else {
                    ('-', b.to_string())
                });
            }
            for a in &after {
                if !before.contains(a) {
                    out.push(('+', a.to_string()));
                }
            }
        }
        _ => {
            // A line that gains lines after it shows each as added.
            out.extend(before.iter().map(|b| ('-', b.to_string())));
            out.extend(
                after
                    .iter()
                    .flat_map(|a| a.split('\n'))
                    .map(|a| ('+', a.to_string())),
            );
        }
    }
    out
}

/// The plan with every text that came from the host escaped for a
/// terminal ([`crate::shown`]): what the renderers for people show.
fn terminal_safe(plan: &Plan) -> Plan {
    let e = |s: &str| crate::shown::escape(s).into_owned();
    let value = |v: &Value| match v {
        Value::One(s) => Value::One(e(s)),
        Value::Many(list) => Value::Many(list.iter().map(|s| e(s)).collect()),
    };
    let target = |t: &Target| match t {
        Target::Line { file, line } => Target::Line {
            file: e(file),
            line: *line,
        },
        Target::LocalconfigKey { file, key } => Target::LocalconfigKey {
            file: e(file),
            key: e(key),
        },
        Target::Ldap { dn, attribute } => Target::Ldap {
            dn: e(dn),
            attribute: e(attribute),
        },
        Target::Dns { zone, name, rtype } => Target::Dns {
            zone: e(zone),
            name: e(name),
            rtype: e(rtype),
        },
    };
    let notices = |list: &[crate::notice::Notice]| {
        list.iter()
            .map(|n| crate::notice::Notice::new(n.code, e(&n.message)))
            .collect()
    };
    let mut p = plan.clone();
    p.from = plan.from.iter().map(|s| e(s)).collect();
    p.to = plan.to.iter().map(|s| e(s)).collect();
    for c in &mut p.changes {
        c.target = target(&c.target);
        c.before = value(&c.before);
        c.after = value(&c.after);
        c.reason = e(&c.reason);
    }
    for d in &mut p.derived {
        d.file = e(&d.file);
    }
    p.warnings = notices(&plan.warnings);
    p.handoffs = notices(&plan.handoffs);
    p
}

/// The human plan: a diff per surface, then derived files, actions,
/// warnings and hand-offs. Text from the host is shown escaped.
pub fn text(plan: &Plan, color: bool) -> String {
    let plan = &terminal_safe(plan);
    let mut s = String::new();
    let bold = |t: &str| {
        if color {
            t.bold().to_string()
        } else {
            t.to_string()
        }
    };
    let _ = writeln!(s, "{}", bold(&format!("zmreip {}", title(plan))));
    if let Some(b) = &plan.bind {
        for sv in &b.services {
            let actions: Vec<String> = sv
                .actions
                .iter()
                .map(|a| format!("{} {}", a.service.as_str(), a.action.as_str()))
                .collect();
            let _ = writeln!(
                s,
                "  {:<9} {} ({}; {})",
                sv.name,
                sv.setting,
                sv.place,
                actions.join(", ")
            );
        }
        if plan.changes.is_empty() {
            let _ = writeln!(s, "\nNo changes: every setting is already as asked.");
        }
    } else if plan.changes.is_empty() {
        let _ = writeln!(s, "\n{}", no_changes(plan));
    }
    diff_by_surface(&mut s, plan, color);
    if !plan.derived.is_empty() {
        let _ = writeln!(s, "\n{}", bold("== regenerated by Zimbra (never edited)"));
        for d in &plan.derived {
            let _ = writeln!(s, "  {} (by {})", d.file, d.regenerated_by.as_str());
        }
    }
    if !plan.actions.is_empty() {
        let _ = writeln!(s, "\n{}", bold("== service actions, in order"));
        for a in &plan.actions {
            let _ = writeln!(
                s,
                "  {} {}  (because {})",
                a.service.as_str(),
                a.action.as_str(),
                a.because.join(", ")
            );
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(s, "\n{}", bold("== warnings"));
        for w in &plan.warnings {
            let code = format!("[{}]", w.code);
            let code = if color {
                code.yellow().to_string()
            } else {
                code
            };
            let _ = writeln!(s, "  {code} {}", w.message);
        }
    }
    if !plan.handoffs.is_empty() {
        let _ = writeln!(s, "\n{}", bold("== hand-offs (to do off this host)"));
        for h in &plan.handoffs {
            let _ = writeln!(s, "  [{}] {}", h.code, h.message);
        }
    }
    let _ = writeln!(
        s,
        "\n{} change{}, {} derived file{}, {} action{}, {} warning{}, {} hand-off{}",
        plan.changes.len(),
        plural(plan.changes.len()),
        plan.derived.len(),
        plural(plan.derived.len()),
        plan.actions.len(),
        plural(plan.actions.len()),
        plan.warnings.len(),
        plural(plan.warnings.len()),
        plan.handoffs.len(),
        plural(plan.handoffs.len()),
    );
    s
}

/// What a plan does, in one line: `plan: OLD → NEW`, or for a bind
/// `bind: outbound, imap → 10.40.7.132` (`bind: ... → all interfaces`).
pub fn title(plan: &Plan) -> String {
    match &plan.bind {
        Some(b) => format!(
            "bind: {} → {}",
            b.service_names().join(", "),
            b.address.as_deref().unwrap_or("all interfaces")
        ),
        None => format!("plan: {} → {}", plan.from.join(", "), plan.to.join(", ")),
    }
}

/// What a plan without changes says: "nothing refers to it any more"
/// only when that is so; warnings and regenerated files that still hold
/// the address are counted instead.
fn no_changes(plan: &Plan) -> String {
    let from = plan.from.join(", ");
    let mut still = Vec::new();
    let w = plan.warnings.len();
    if w > 0 {
        still.push(format!(
            "{w} warning{} below name{} what zmreip leaves as it is",
            plural(w),
            if w == 1 { "s" } else { "" }
        ));
    }
    let d = plan.derived.len();
    if d > 0 {
        still.push(format!(
            "{d} file{} Zimbra regenerates still hold{} it (the service actions below regenerate {})",
            plural(d),
            if d == 1 { "s" } else { "" },
            if d == 1 { "it" } else { "them" }
        ));
    }
    if still.is_empty() {
        format!("No changes: nothing on this host refers to {from} any more.")
    } else {
        format!(
            "No changes are planned for {from}, but it is not gone: {}.",
            still.join("; ")
        )
    }
}

/// Every change as a diff, grouped by surface.
fn diff_by_surface(s: &mut String, plan: &Plan, color: bool) {
    for (surface, changes) in groups(plan) {
        let head = format!(
            "== {surface} ({} change{})",
            changes.len(),
            plural(changes.len())
        );
        let _ = writeln!(
            s,
            "\n{}",
            if color { head.bold().to_string() } else { head }
        );
        for c in changes {
            let head = format!("[{}] {}", c.id, c.target);
            let _ = writeln!(s, "{}", if color { head.cyan().to_string() } else { head });
            for (tag, line) in diff_lines(c) {
                let l = format!("{tag} {line}");
                let l = match (color, tag) {
                    (true, '-') => l.red().to_string(),
                    (true, '+') => l.green().to_string(),
                    _ => l,
                };
                let _ = writeln!(s, "  {l}");
            }
            let _ = writeln!(s, "  # {}", c.reason);
        }
    }
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
