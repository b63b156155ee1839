//! Test helpers shared by the five network configuration surfaces (on top
//! of [`crate::surface::testutil`]): planning cases with `--gateway`,
//! whole-file application of changes, and the no-panic sweep.

use std::net::IpAddr;

use crate::addr::Matcher;
use crate::host::Host;
use crate::model::{Report, Target, Value};
use crate::policy::{Phase, Rewriter, Role};
use crate::spec::Pair;
use crate::surface::testutil::pair;
use crate::surface::{Ctx, Surface};

/// One planning case over one file.
pub struct Case {
    pub name: &'static str,
    pub text: &'static str,
    /// `(old, new)` moves.
    pub moves: &'static [(&'static str, &'static str)],
    pub gateway: Option<&'static str>,
    /// `(line, after)` of every change, in order.
    pub changes: &'static [(usize, &'static str)],
    /// Warning codes, in order.
    pub warnings: &'static [&'static str],
}

/// Runs `analyze` with a rewriter for `moves`.
pub fn plan(
    s: Surface,
    path: &str,
    text: &str,
    moves: &[(&str, &str)],
    gateway: Option<&str>,
) -> crate::error::Result<Report> {
    let dir = tempfile::TempDir::new().unwrap();
    let host = Host::open(dir.path(), None).unwrap();
    let pairs: Vec<Pair> = moves.iter().map(|(o, n)| pair(o, n)).collect();
    let olds: Vec<IpAddr> = pairs.iter().map(|p| p.old).collect();
    let matcher = Matcher::new(&olds);
    let rw = Rewriter::new(
        pairs,
        gateway.map(|g| g.parse().unwrap()).into_iter().collect(),
    );
    let ctx = Ctx::new(&host, &matcher, Some(&rw));
    s.reader().unwrap().analyze(path, text, &ctx)
}

/// Runs `analyze` with a rewriter for `moves` in `role`.
pub fn plan_in(
    s: Surface,
    path: &str,
    text: &str,
    moves: &[(&str, &str)],
    role: Role,
) -> crate::error::Result<Report> {
    let dir = tempfile::TempDir::new().unwrap();
    let host = Host::open(dir.path(), None).unwrap();
    let pairs: Vec<Pair> = moves.iter().map(|(o, n)| pair(o, n)).collect();
    let olds: Vec<IpAddr> = pairs.iter().map(|p| p.old).collect();
    let matcher = Matcher::new(&olds);
    let rw = Rewriter::new(pairs, Vec::new()).with_role(role);
    let ctx = Ctx::new(&host, &matcher, Some(&rw));
    s.reader().unwrap().analyze(path, text, &ctx)
}

/// A window over `text`: what open leaves, and that switch then close
/// leave exactly what the own move writes.
pub fn window(s: Surface, path: &str, text: &str, moves: &[(&str, &str)]) -> String {
    let step = |t: &str, role: Role| apply(t, &plan_in(s, path, t, moves, role).unwrap());
    let opened = step(text, Role::Window(Phase::Open));
    let switched = step(&opened, Role::Window(Phase::Switch));
    let closed = step(&switched, Role::Window(Phase::Close));
    assert_eq!(
        closed,
        step(text, Role::Own),
        "{path}: open, switch, close = own"
    );
    opened
}

/// Runs `analyze` without a rewriter (a scan for `ips`).
pub fn scan(s: Surface, path: &str, text: &str, ips: &[&str]) -> Report {
    let dir = tempfile::TempDir::new().unwrap();
    let host = Host::open(dir.path(), None).unwrap();
    let ips: Vec<IpAddr> = ips.iter().map(|i| i.parse().unwrap()).collect();
    let matcher = Matcher::new(&ips);
    let ctx = Ctx::new(&host, &matcher, None);
    s.reader().unwrap().analyze(path, text, &ctx).unwrap()
}

/// Checks every case: changes (line, whole-line before and after),
/// surface name, warning codes, and that warnings name the file.
pub fn check(s: Surface, path: &str, cases: &[Case]) {
    for c in cases {
        let report =
            plan(s, path, c.text, c.moves, c.gateway).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let lines: Vec<&str> = super::syntax::lines(c.text);
        let got: Vec<(usize, String)> = report
            .changes
            .iter()
            .map(|ch| {
                let Target::Line { file, line } = &ch.target else {
                    panic!("{}: target {:?}", c.name, ch.target)
                };
                assert_eq!(file, path, "{}", c.name);
                assert_eq!(ch.surface, s, "{}", c.name);
                assert_eq!(
                    ch.before,
                    Value::One(lines[line - 1].to_string()),
                    "{}: before of line {line}",
                    c.name
                );
                assert!(!ch.reason.is_empty(), "{}: reason of line {line}", c.name);
                let Value::One(after) = &ch.after else {
                    panic!("{}", c.name)
                };
                (*line, after.clone())
            })
            .collect();
        let want: Vec<(usize, String)> =
            c.changes.iter().map(|(l, a)| (*l, a.to_string())).collect();
        assert_eq!(got, want, "{}: changes", c.name);
        let codes: Vec<&str> = report.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(
            codes, c.warnings,
            "{}: warnings {:#?}",
            c.name, report.warnings
        );
        for w in &report.warnings {
            assert!(w.message.contains(path), "{}: {}", c.name, w.message);
        }
    }
}

/// Every truncation of `text` and every text with one byte removed
/// parses or fails with an error, never a panic.
pub fn never_panics(s: Surface, path: &str, text: &str) {
    let mut variants: Vec<String> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .map(|i| text[..i].to_string())
        .collect();
    for (i, c) in text.char_indices() {
        variants.push(format!("{}{}", &text[..i], &text[i + c.len_utf8()..]));
    }
    let dir = tempfile::TempDir::new().unwrap();
    let host = Host::open(dir.path(), None).unwrap();
    let p = pair("172.20.14.25/24", "10.40.7.131/24");
    let matcher = Matcher::new(&[p.old]);
    let rw = Rewriter::new(vec![p], vec!["10.40.7.1".parse().unwrap()]);
    let ctx = Ctx::new(&host, &matcher, Some(&rw));
    let r = s.reader().unwrap();
    for v in variants {
        let _ = r.analyze(path, &v, &ctx);
        let _ = r.interfaces(path, &v);
    }
}

/// `text` with the changes of `report` applied (line terminators kept).
pub fn apply(text: &str, report: &Report) -> String {
    let mut out = String::new();
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let change = report
            .changes
            .iter()
            .find(|c| matches!(&c.target, Target::Line { line, .. } if *line == i + 1));
        match change.map(|c| &c.after) {
            Some(Value::One(after)) => {
                let body = raw.trim_end_matches(['\n', '\r']);
                out.push_str(after);
                out.push_str(&raw[body.len()..]);
            }
            // The line goes.
            Some(Value::Many(none)) if none.is_empty() => {}
            Some(other) => panic!("a line change to {other:?}"),
            None => out.push_str(raw),
        }
    }
    out
}
