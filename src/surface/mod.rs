//! Surfaces: the kinds of places an address lives on a host, one module
//! each. A surface knows which files it owns and how to read them; the
//! [`Rewriter`](crate::policy::Rewriter) decides what changes.
//!
//! Parsers take text, never paths: opening files and `--root` live in
//! [`Host`](crate::host::Host).

use std::net::IpAddr;
use std::ops::Range;

use crate::addr::Matcher;
use crate::error::Result;
use crate::host::Host;
use crate::model::{Change, Finding, Report, Target, Value};
use crate::policy::{Rewriter, Scope, ValueKind};

pub mod derived;
pub mod dnsmasq;
pub mod hosts;
pub mod ifcfg;
pub mod ifupdown;
pub mod localconfig;
pub mod netcfg;
pub mod netplan;
pub mod networkd;
pub mod nmconnection;
pub mod resolv;
#[cfg(test)]
pub(crate) mod testutil;
pub mod text;
pub mod zonefile;

/// What a surface needs to analyze a file.
pub struct Ctx<'a> {
    pub host: &'a Host,
    /// Finds the searched (old) addresses.
    pub matcher: &'a Matcher,
    /// Present when planning; `None` for a scan.
    pub rewriter: Option<&'a Rewriter>,
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

/// A kind of place where addresses live.
pub trait Surface: Sync {
    /// The surface name used in output (`hosts`, `dnsmasq`, `netplan`, ...).
    fn name(&self) -> &'static str;

    /// Host paths of this surface's files that exist on the host, sorted.
    fn files(&self, host: &Host) -> Result<Vec<String>>;

    /// Findings and proposed changes for one file. `path` is the host path.
    /// A file that does not parse is an error naming `path:line`.
    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report>;

    /// Which part of the host the surface's files belong to: the roles of
    /// the policy decide whether they change ([`Role::changes`]).
    ///
    /// [`Role::changes`]: crate::policy::Role::changes
    fn scope(&self) -> Scope {
        Scope::Host
    }

    /// Interface addresses configured in one file (OS network config
    /// surfaces only).
    fn interfaces(&self, path: &str, text: &str) -> Result<Vec<IfaceAddr>> {
        let _ = (path, text);
        Ok(Vec::new())
    }
}

/// Every file surface, in output order. The directory (LDAP/LDIF) is not a
/// file surface; see [`crate::directory`].
pub fn all() -> Vec<&'static dyn Surface> {
    vec![
        &hosts::Hosts,
        &resolv::Resolv,
        &dnsmasq::Dnsmasq,
        &ifupdown::Ifupdown,
        &netplan::Netplan,
        &nmconnection::NmConnection,
        &ifcfg::Ifcfg,
        &networkd::Networkd,
        &localconfig::Localconfig,
        &zonefile::Zonefile,
    ]
}

/// One value inside a line: its byte range in the line and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub span: Range<usize>,
    pub kind: ValueKind,
}

impl Field {
    pub fn new(span: Range<usize>, kind: ValueKind) -> Field {
        Field { span, kind }
    }
}

/// The shared engine of line-oriented surfaces. `fields` is called for
/// every line (1-based number, text without the line terminator) and
/// returns the fields that hold values; text outside fields (comments,
/// keys) is never matched or changed. Each changed line becomes one
/// [`Change`] whose `before`/`after` are the whole line.
pub fn analyze_lines<F>(
    surface: &str,
    path: &str,
    text: &str,
    ctx: &Ctx,
    mut fields: F,
) -> Result<Report>
where
    F: FnMut(usize, &str) -> Result<Vec<Field>>,
{
    let mut report = Report::default();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let n = i + 1;
        if !ctx.matcher.may_match(line) {
            // Still let the parser see the line (it may track sections).
            fields(n, line)?;
            continue;
        }
        let fs = fields(n, line)?;
        let target = Target::Line {
            file: path.to_string(),
            line: n,
        };
        let mut after = String::new();
        let mut last = 0;
        let mut reasons = Vec::new();
        for f in &fs {
            let value = &line[f.span.clone()];
            report
                .findings
                .extend(find(ctx.matcher, surface, &target, value));
            if let Some(rw) = ctx.rewriter {
                let out = rw.rewrite(&[value], f.kind);
                after.push_str(&line[last..f.span.start]);
                // A trust list may gain an entry as a value of its own;
                // inside one line, entries are joined with a space.
                after.push_str(&out.after.join(" "));
                last = f.span.end;
                reasons.extend(out.reasons);
                report.warnings.extend(at(out.notes, &target));
            }
        }
        after.push_str(&line[last..]);
        if ctx.rewriter.is_some() && after != line {
            report.changes.push(Change {
                id: String::new(),
                surface: surface.to_string(),
                target,
                before: Value::One(line.to_string()),
                after: Value::One(after),
                reason: reasons.join("; "),
            });
        }
    }
    Ok(report)
}

/// Findings for every match of `matcher` in `value`.
pub fn find(matcher: &Matcher, surface: &str, target: &Target, value: &str) -> Vec<Finding> {
    if !matcher.may_match(value) {
        return Vec::new();
    }
    matcher
        .find(value)
        .into_iter()
        .map(|m| Finding {
            surface: surface.to_string(),
            target: target.clone(),
            matched: value[m.span.clone()].to_string(),
            kind: m.kind,
            context: value.to_string(),
        })
        .collect()
}

/// Notes of a rewrite, with the place they apply to appended.
pub fn at(notes: Vec<crate::model::Notice>, target: &Target) -> Vec<crate::model::Notice> {
    notes
        .into_iter()
        .map(|mut n| {
            n.message = format!("{} (at {target})", n.message);
            n
        })
        .collect()
}
