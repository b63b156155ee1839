//! Test fixtures shared by the surface tests: a host on a temporary root,
//! a matcher and a rewriter for a move, and a compact view of a report.

use std::net::IpAddr;

use tempfile::TempDir;

use super::{Ctx, FileSurface};
use crate::addr::Matcher;
use crate::host::Host;
use crate::model::{Report, Target, Value};
use crate::policy::Rewriter;
use crate::spec::{Pair, PrefixSource};

/// The move most tests use: a /24 to another /24.
pub(crate) const V4: &[(&str, &str)] = &[("192.168.2.1/24", "10.40.7.131/24")];

/// An IPv4 and an IPv6 move.
pub(crate) const DUAL: &[(&str, &str)] = &[
    ("192.168.2.1/24", "10.40.7.131/24"),
    ("2001:db8:14::25/64", "2001:db8:7::131/64"),
];

/// `old[/len]` → `new[/len]`; a missing prefix is unknown (host prefix).
pub(crate) fn pair(old: &str, new: &str) -> Pair {
    let parse = |s: &str| -> (IpAddr, Option<u8>) {
        match s.split_once('/') {
            Some((a, p)) => (a.parse().unwrap(), Some(p.parse().unwrap())),
            None => (s.parse().unwrap(), None),
        }
    };
    let (o, op) = parse(old);
    let (n, np) = parse(new);
    let host = if o.is_ipv4() { 32 } else { 128 };
    let src = |p: Option<u8>| match p {
        Some(_) => PrefixSource::Given,
        None => PrefixSource::Host,
    };
    Pair {
        old: o,
        new: n,
        old_prefix: op.unwrap_or(host),
        new_prefix: np.unwrap_or(host),
        old_prefix_source: src(op),
        new_prefix_source: src(np),
    }
}

/// A host on a temporary root with a matcher and a rewriter for `moves`.
pub(crate) struct Fixture {
    /// Kept so the root lives as long as the fixture.
    _dir: TempDir,
    pub host: Host,
    pub matcher: Matcher,
    pub rewriter: Rewriter,
}

impl Fixture {
    pub fn new(moves: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::open(dir.path(), None).unwrap();
        let pairs: Vec<Pair> = moves.iter().map(|(o, n)| pair(o, n)).collect();
        let olds: Vec<IpAddr> = pairs.iter().map(|p| p.old).collect();
        Fixture {
            _dir: dir,
            host,
            matcher: Matcher::new(&olds),
            rewriter: Rewriter::new(pairs, Vec::new()),
        }
    }

    /// The same fixture with `--gateway` given.
    pub fn with_gateway(mut self, gateway: Option<&str>) -> Fixture {
        let pairs = self.rewriter.pairs().to_vec();
        self.rewriter = Rewriter::new(
            pairs,
            gateway.map(|g| g.parse().unwrap()).into_iter().collect(),
        );
        self
    }

    /// Writes a host file (parents created).
    pub fn write(&self, host_path: &str, text: &str) {
        let real = self.host.shown(host_path);
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(real, text).unwrap();
    }

    /// A context for planning.
    pub fn plan(&self) -> Ctx<'_> {
        Ctx::new(&self.host, &self.matcher, Some(&self.rewriter))
    }

    /// A context for a scan (no rewriter).
    pub fn scan(&self) -> Ctx<'_> {
        Ctx::new(&self.host, &self.matcher, None)
    }
}

/// The files a surface lists on `host` (nothing named besides).
pub(crate) fn listed(s: &dyn FileSurface, host: &Host) -> crate::error::Result<Vec<String>> {
    s.files(&Ctx::new(host, &Matcher::new(&[]), None))
}

/// The changes of a report as `(line, before, after)`.
pub(crate) fn changes(r: &Report) -> Vec<(usize, String, String)> {
    r.changes
        .iter()
        .map(|c| {
            let Target::Line { line, .. } = c.target else {
                panic!("not a line target: {:?}", c.target);
            };
            let (Value::One(b), Value::One(a)) = (&c.before, &c.after) else {
                panic!("not one value: {c:?}");
            };
            (line, b.clone(), a.clone())
        })
        .collect()
}

/// The findings of a report as `(line, matched text)`.
pub(crate) fn found(r: &Report) -> Vec<(usize, String)> {
    r.findings
        .iter()
        .map(|f| {
            let Target::Line { line, .. } = f.target else {
                panic!("not a line target: {:?}", f.target);
            };
            (line, f.matched.clone())
        })
        .collect()
}
