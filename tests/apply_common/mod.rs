//! Harness of the apply tests: a temporary copy of the fixture host
//! (`tests/apply_fixture`), the real binary, and a byte-level snapshot of
//! the tree (content, mode, owner, symlink text).
//!
//! Service actions go through a `--services` file that maps every action
//! to a line appended to a log: it stands in for Zimbra's control scripts
//! (`zmmtactl`, `zmmailboxdctl`, ...) and `netplan apply`, so no Zimbra is
//! needed and the order of actions can be checked.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_zmreip");

pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apply_fixture")
}

/// Whether the tests run as root (owners can be set, mounts made).
pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
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

    /// Runs zmreip with `--root` (and the lab's env).
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        run_bin(args, env)
    }

    /// `apply --plan P --yes --root R --ldif L --services S --restart-network`
    /// plus `extra`.
    pub fn apply_plan(&self, plan: &Path, extra: &[&str], env: &[(&str, &str)]) -> Out {
        let root = self.root();
        let ldif = self.ldif();
        let services = self.services();
        let mut args = vec![
            "apply",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "--root",
            root.to_str().unwrap(),
            "--ldif",
            ldif.to_str().unwrap(),
            "--services",
            services.to_str().unwrap(),
            "--restart-network",
        ];
        args.extend_from_slice(extra);
        run_bin(&args, env)
    }

    pub fn rollback(&self, env: &[(&str, &str)]) -> Out {
        let root = self.root();
        run_bin(
            &["rollback", "--yes", "--root", root.to_str().unwrap()],
            env,
        )
    }

    pub fn resume(&self) -> Out {
        let root = self.root();
        run_bin(&["resume", "--root", root.to_str().unwrap()], &[])
    }

    /// The tree (host root and LDIF) without zmreip's own journal and the
    /// lab's service stand-ins.
    pub fn snapshot(&self) -> Tree {
        let mut t = Tree::new();
        walk(self.path(), self.path(), &mut t);
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

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// A finished zmreip process.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(self) -> Out {
        assert_eq!(
            self.code,
            Some(0),
            "zmreip failed\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn fails_with(self, code: i32) -> Out {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The process aborted (the crash hook): SIGABRT, no exit code.
    pub fn aborted(self) -> Out {
        assert_eq!(
            self.signal,
            Some(libc::SIGABRT),
            "expected an abort\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

pub fn run_bin(args: &[&str], env: &[(&str, &str)]) -> Out {
    let out = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("ZMREIP_ROOT")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Out {
        code: out.status.code(),
        signal: out.status.signal(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
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
