//! Harness of the apply tests: a temporary copy of the fixture host
//! (`tests/apply_fixture`), the real binary, and a byte-level snapshot of
//! the tree (content, mode, owner, symlink text).
//!
//! Service actions go through a `--services` file that maps every action
//! to a line appended to a log: it stands in for Zimbra's control scripts
//! (`zmmtactl`, `zmmailboxdctl`, ...) and `netplan apply`, so no Zimbra is
//! needed and the order of actions can be checked.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub use super::{BIN, Output, Zmreip, copy_tree, is_root};

pub fn fixture() -> PathBuf {
    super::repo("tests/apply_fixture")
}

/// The uid/gid the fixture's Zimbra files get when the tests run as root
/// (as on a real host, where localconfig.xml belongs to zimbra).
pub const ZIMBRA_ID: u32 = 999;

/// A copy of the fixture host in a temporary directory.
pub struct Lab {
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Lab {
        let dir = tempfile::Builder::new()
            .prefix("zmreip-apply-")
            .tempdir()
            .unwrap();
        let lab = Lab { dir };
        copy_tree(&fixture().join("root"), &lab.root());
        std::fs::copy(fixture().join("zimbra.ldif"), lab.ldif()).unwrap();
        // Present before the first snapshot, as on a real host.
        std::fs::create_dir_all(lab.root().join("var/lib")).unwrap();
        lab.set_mode("etc/netplan/50-cloud-init.yaml", 0o600);
        lab.set_mode("opt/zimbra/conf/localconfig.xml", 0o640);
        if is_root() {
            std::os::unix::fs::chown(
                lab.root().join("opt/zimbra/conf/localconfig.xml"),
                Some(ZIMBRA_ID),
                Some(ZIMBRA_ID),
            )
            .unwrap();
            std::os::unix::fs::chown(lab.ldif(), Some(ZIMBRA_ID), Some(ZIMBRA_ID)).unwrap();
        }
        let log = lab.service_log();
        let line = |what: &str| {
            format!(
                "\"echo \\\"$ZMREIP_PHASE {what}\\\" >> '{}'\"",
                log.display()
            )
        };
        let mut toml = String::from(
            "# Stands in for Zimbra's control scripts and netplan: each action\n# appends a line to a log.\ntimeout = 20\n",
        );
        for (s, a) in [
            ("network", "restart"),
            ("ldap", "restart"),
            ("dnsmasq", "restart"),
            ("mta", "reload"),
            ("mailbox", "restart"),
            ("memcached", "restart"),
            ("proxy", "restart"),
            ("all", "restart"),
        ] {
            toml.push_str(&format!("{s}.{a} = {}\n", line(&format!("{s}.{a}"))));
        }
        std::fs::write(lab.services(), toml).unwrap();
        lab
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn root(&self) -> PathBuf {
        self.path().join("root")
    }

    pub fn ldif(&self) -> PathBuf {
        self.path().join("zimbra.ldif")
    }

    pub fn services(&self) -> PathBuf {
        self.path().join("services.toml")
    }

    pub fn service_log(&self) -> PathBuf {
        self.path().join("services.log")
    }

    /// The lines the stand-in services logged.
    pub fn service_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.service_log())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn host(&self, host_path: &str) -> PathBuf {
        self.root().join(host_path.trim_start_matches('/'))
    }

    pub fn set_mode(&self, rel: &str, mode: u32) {
        std::fs::set_permissions(self.root().join(rel), std::fs::Permissions::from_mode(mode))
            .unwrap();
    }

    /// The fixture plan (hand-written in the planner's format: hosts,
    /// dnsmasq, netplan lines, localconfig keys, directory values, seven
    /// actions), sealed with its checksum, saved in the lab.
    pub fn fixture_plan(&self) -> PathBuf {
        let text = std::fs::read_to_string(fixture().join("plan.json")).unwrap();
        let mut plan: zmreip::plan::Plan = serde_json::from_str(&text).unwrap();
        plan.seal();
        let p = self.path().join("plan.json");
        std::fs::write(&p, zmreip::plan::render::json(&plan)).unwrap();
        p
    }

    /// `apply --plan P --yes --root R --ldif L --services S
    /// --restart-network`.
    pub fn apply(&self, plan: &Path) -> Zmreip {
        Zmreip::new(["apply", "--plan"])
            .arg(plan)
            .arg("--yes")
            .root(self.root())
            .ldif(self.ldif())
            .arg("--services")
            .arg(self.services())
            .arg("--restart-network")
    }

    /// `rollback --yes --root R --services S [--ldif L]`: the root is not
    /// this machine's `/`, so the journal's commands run only through
    /// `--services`, and the export outside the root is restored only
    /// when named.
    pub fn rollback(&self) -> Zmreip {
        self.again(Zmreip::new(["rollback", "--yes"]))
    }

    /// `resume --root R --services S [--ldif L]`.
    pub fn resume(&self) -> Zmreip {
        self.again(Zmreip::new(["resume"]))
    }

    fn again(&self, z: Zmreip) -> Zmreip {
        let z = z.root(self.root()).arg("--services").arg(self.services());
        if self.ldif().exists() {
            z.ldif(self.ldif())
        } else {
            z
        }
    }

    /// The tree (host root and LDIF) without zmreip's own journal and the
    /// lab's service stand-ins.
    pub fn snapshot(&self) -> Tree {
        let mut t = tree(self.path());
        t.retain(|k, _| {
            !(k.starts_with("root/var/lib/zmreip")
                || k == "services.toml"
                || k == "services.log"
                || k == "plan.json")
        });
        t
    }

    /// Ids of the runs in the journal.
    pub fn runs(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root().join("var/lib/zmreip/runs"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

/// What a path is, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

pub type Tree = BTreeMap<String, Meta>;

/// Every path under `dir` (relative), byte for byte.
pub fn tree(dir: &Path) -> Tree {
    let mut t = Tree::new();
    walk(dir, dir, &mut t);
    t
}

fn walk(base: &Path, dir: &Path, out: &mut Tree) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let p = e.path();
        let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
        let m = std::fs::symlink_metadata(&p).unwrap();
        let kind = if m.file_type().is_symlink() {
            Kind::Link(std::fs::read_link(&p).unwrap())
        } else if m.is_dir() {
            Kind::Dir
        } else {
            Kind::File(std::fs::read(&p).unwrap())
        };
        out.insert(
            rel,
            Meta {
                kind: kind.clone(),
                mode: m.mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
            },
        );
        if kind == Kind::Dir {
            walk(base, &p, out);
        }
    }
}

/// Panics with the paths that differ, shown readably.
pub fn assert_same(a: &Tree, b: &Tree, what: &str) {
    if a == b {
        return;
    }
    let mut diffs = Vec::new();
    for k in a
        .keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (x, y) = (a.get(k), b.get(k));
        if x != y {
            let show = |m: Option<&Meta>| match m {
                None => "absent".to_string(),
                Some(m) => format!(
                    "{} mode {:o} owner {}:{}",
                    match &m.kind {
                        Kind::Dir => "dir".to_string(),
                        Kind::Link(t) => format!("link -> {}", t.display()),
                        Kind::File(b) => format!("file {:?}", String::from_utf8_lossy(b)),
                    },
                    m.mode,
                    m.uid,
                    m.gid
                ),
            };
            diffs.push(format!(
                "  {k}:\n    expected {}\n    found    {}",
                show(x),
                show(y)
            ));
        }
    }
    panic!("{what}: trees differ\n{}", diffs.join("\n"));
}

/// The number of steps of the latest run (from its `run.json`).
pub fn steps_of_latest(lab: &Lab) -> usize {
    let id = lab.runs().pop().expect("a run");
    let info: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            lab.root()
                .join("var/lib/zmreip/runs")
                .join(id)
                .join("run.json"),
        )
        .unwrap(),
    )
    .unwrap();
    info["steps"].as_array().unwrap().len()
}
