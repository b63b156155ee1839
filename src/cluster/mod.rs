//! Multi-server moves: one plan and one transaction across every node of
//! a Zimbra deployment (DESIGN.md, "Where the next capabilities live").
//!
//! zmreip runs on one node (the *coordinator*, normally the node whose
//! address moves). It reads the node list from the directory
//! ([`nodes`]), reaches every other node with the system's OpenSSH client
//! ([`transport`]) and has each node plan its own files with the zmreip
//! installed there, in the role the policy gives it ([`crate::policy::Role`]:
//! `own` for the moving node, `peer` for the others). The directory is
//! shared: the coordinator plans and changes it once. [`build`] makes the
//! combined plan ([`plan`], `zmreip.cluster-plan/v1`); [`run`] applies it
//! phase by phase with a journaled run on every node and a cluster journal
//! naming them, rolls every node back in reverse order when one fails,
//! and verifies every node at the end.
//!
//! Every node is driven through zmreip's own command line, the same on
//! this host (a child process) as over ssh: `plan --role peer`,
//! `apply --plan - --only PHASE`, `resume RUN --only PHASE`,
//! `rollback RUN --only PHASE`, `verify`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

pub mod build;
pub mod nodes;
pub mod plan;
pub mod run;
pub mod transport;

use transport::{ControlDir, Link, Reply, SshOptions};

/// How long a node's planning may take (a large host's files).
pub const PLAN_TIMEOUT: Duration = Duration::from_secs(600);

/// How long one phase on a node may take: its service commands have
/// their own timeout (the services file's, 900 s by default).
pub const PHASE_TIMEOUT: Duration = Duration::from_secs(1800);

/// The connections to the nodes of one cluster plan or run: this host
/// directly, the others over ssh, each checked to run this zmreip's
/// version. Dropping it ends every connection and removes binaries pushed
/// with `--push-binary`.
pub struct Session {
    links: BTreeMap<String, Link>,
    /// The node zmreip runs on.
    pub local: String,
    /// `--root` and `--zimbra-home` of this host, for the commands run on
    /// it.
    local_root: PathBuf,
    local_zimbra_home: Option<String>,
    // Dropped after the links are closed (see Drop).
    _control: ControlDir,
}

/// Who the session connects to and how.
pub struct Connect<'a> {
    /// The node zmreip runs on.
    pub local: &'a str,
    /// Its root and Zimbra home as given.
    pub root: PathBuf,
    pub zimbra_home: Option<String>,
    /// The other nodes.
    pub remote: Vec<String>,
    pub ssh: &'a SshOptions,
    /// `--push-binary`: copy this zmreip to each remote node for the run.
    pub push_binary: bool,
}

impl Session {
    /// Connects to every remote node at once (one ssh connection each)
    /// and checks its zmreip. Fails naming every node that cannot be
    /// reached or runs another version.
    pub fn open(c: Connect) -> Result<Session> {
        let control = ControlDir::new()?;
        let exe = std::env::current_exe().map_err(|e| {
            Error::other(
                format!("cannot tell where this zmreip binary is: {e}"),
                "run zmreip by its path",
            )
        })?;
        let mine = env!("CARGO_PKG_VERSION");
        let results: Vec<(String, Result<Link>)> = std::thread::scope(|s| {
            let handles: Vec<_> = c
                .remote
                .iter()
                .map(|name| {
                    let (control, exe, ssh) = (&control, &exe, c.ssh);
                    let push = c.push_binary;
                    s.spawn(move || {
                        let mut link = Link::ssh(name, ssh, control);
                        let checked = (|| {
                            if push {
                                link.push_binary(name, exe)?;
                            }
                            let theirs = link.version(name)?;
                            if theirs != mine {
                                return Err(Error::other(
                                    format!(
                                        "node {name} runs zmreip {theirs}, this one is {mine}; a cluster plan needs the same version everywhere"
                                    ),
                                    format!(
                                        "install zmreip {mine} on {name}, or give --push-binary to copy this one there for the run"
                                    ),
                                ));
                            }
                            Ok(())
                        })();
                        match checked {
                            Ok(()) => (name.clone(), Ok(link)),
                            Err(e) => {
                                link.close();
                                (name.clone(), Err(e))
                            }
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a connecting thread does not panic"))
                .collect()
        });
        let mut links = BTreeMap::new();
        links.insert(c.local.to_string(), Link::local(exe));
        let mut errors = Vec::new();
        for (name, r) in results {
            match r {
                Ok(link) => {
                    links.insert(name, link);
                }
                Err(e) => errors.push(e),
            }
        }
        let session = Session {
            links,
            local: c.local.to_string(),
            local_root: c.root,
            local_zimbra_home: c.zimbra_home,
            _control: control,
        };
        match errors.len() {
            0 => Ok(session),
            1 => Err(errors.remove(0)),
            _ => {
                let helps: Vec<String> = errors
                    .iter()
                    .filter_map(|e| e.help().map(String::from))
                    .collect();
                Err(Error::other(
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n"),
                    helps.join("\n      "),
                ))
            }
        }
    }

    fn link(&self, node: &str) -> Result<&Link> {
        self.links.get(node).ok_or_else(|| {
            Error::other(
                format!("node {node} is not connected"),
                "this is a bug in zmreip",
            )
        })
    }

    /// How a node is reached: `local` or `ssh`.
    pub fn via(&self, node: &str) -> &'static str {
        match self.links.get(node) {
            Some(l) if l.is_local() => "local",
            _ => "ssh",
        }
    }

    /// The `--root` (and `--zimbra-home`) arguments for a command on
    /// `node`: this host's as given, none for the others (their own).
    pub fn root_args(&self, node: &str, zimbra_home: bool) -> Vec<String> {
        if node != self.local {
            return Vec::new();
        }
        let mut args = vec!["--root".to_string(), self.local_root.display().to_string()];
        if let (true, Some(z)) = (zimbra_home, &self.local_zimbra_home) {
            args.push("--zimbra-home".into());
            args.push(z.clone());
        }
        args
    }

    /// Runs zmreip with `args` on `node`.
    pub fn run(
        &self,
        node: &str,
        args: &[String],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Reply> {
        self.link(node)?.zmreip(args, stdin, timeout)
    }

    /// Runs zmreip with `args` on `node` and reads its JSON answer; a
    /// failure is an error naming the node and what it said.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        node: &str,
        args: &[String],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<T> {
        let reply = self.run(node, args, stdin, timeout)?;
        if !reply.success() {
            return Err(node_failed(node, args, &reply));
        }
        serde_json::from_slice(&reply.stdout).map_err(|e| {
            Error::other(
                format!(
                    "node {node}: `{}` answered with something that is not what zmreip writes: {e}",
                    Link::command_line(args)
                ),
                format!("check the zmreip installed on {node}"),
            )
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for link in self.links.values_mut() {
            link.close();
        }
    }
}

/// The error for a command that failed on a node: its own error lines.
pub fn node_failed(node: &str, args: &[String], reply: &Reply) -> Error {
    let said: Vec<&str> = reply
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let (errors, helps): (Vec<&str>, Vec<&str>) =
        said.iter().partition(|l| !l.starts_with("help: "));
    let what = errors
        .iter()
        .map(|l| l.trim_start_matches("zmreip: error: "))
        .collect::<Vec<_>>();
    let shown: Vec<&str> = what[what.len().saturating_sub(12)..].to_vec();
    Error::other(
        format!(
            "node {node}: `{}` failed{}{}",
            Link::command_line(args),
            match reply.status {
                Some(c) => format!(" (exit status {c})"),
                None => " (killed)".to_string(),
            },
            if shown.is_empty() {
                String::new()
            } else {
                format!(":\n    {}", shown.join("\n    "))
            }
        ),
        match helps.last() {
            Some(h) => format!("on {node}: {}", h.trim_start_matches("help: ")),
            None => format!("look at {node} and run the command there by hand to see more"),
        },
    )
}
