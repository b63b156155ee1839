//! Reaching a node: this host directly, every other node with the
//! system's OpenSSH client.
//!
//! A remote node is reached with `ssh -o BatchMode=yes` (the user's keys,
//! agent and `~/.ssh/config`, or `--ssh-config FILE`; `--ssh-option`
//! passes `-o` options through). Every command to one node goes over one
//! connection: the first command opens an OpenSSH master
//! (`ControlMaster=auto`) whose socket lives in a private 0700 directory
//! made for this zmreip process, the later ones reuse it, and
//! [`Link::close`] ends it (`ssh -O exit`). The connection set-up, by far
//! the largest cost of a remote command, is paid once per node.
//!
//! A command runs the node's own `zmreip` with arguments; ssh hands the
//! remote shell one line, so every argument is quoted for it. Each
//! command has a timeout after which ssh (and with it the session) is
//! killed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::services::shell_quote;

/// ssh's own exit status for a failure of ssh itself (connection,
/// authentication, host key), as opposed to the remote command's.
const SSH_FAILED: i32 = 255;

/// The exit status of a shell for a command it cannot find.
const NOT_FOUND: i32 = 127;

/// How a command ended and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The exit status; `None` when killed by a signal.
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Reply {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// Standard output as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// How to reach remote nodes (the `--ssh-*` options).
#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    /// `--ssh-config FILE`: ssh's `-F`, instead of `~/.ssh/config`.
    pub config: Option<PathBuf>,
    /// `--ssh-option OPT`: ssh `-o OPT`, in order.
    pub options: Vec<String>,
}

/// The private directory holding the connections' control sockets,
/// removed when dropped.
#[derive(Debug)]
pub struct ControlDir {
    path: PathBuf,
}

impl ControlDir {
    /// A fresh directory, mode 0700, under the system's temporary
    /// directory (short, as socket paths must be).
    pub fn new() -> Result<ControlDir> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        for attempt in 0..16u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = base.join(format!(
                "zmreip-ssh.{}.{:08x}",
                std::process::id(),
                nanos.wrapping_add(attempt)
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(ControlDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io("create", &path, e)),
            }
        }
        Err(Error::other(
            format!("cannot make a private directory under {}", base.display()),
            "check the temporary directory (TMPDIR)",
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// How one node is reached.
#[derive(Debug, Clone)]
enum Via {
    /// This host: the running zmreip binary.
    Local { exe: PathBuf },
    /// Another host, by ssh destination.
    Ssh { dest: String, args: Vec<String> },
}

/// One node's connection.
#[derive(Debug, Clone)]
pub struct Link {
    via: Via,
    /// The zmreip to run there: `zmreip` from the remote PATH, or the
    /// path a [`Link::push_binary`] put it at.
    program: String,
    /// The directory a pushed binary lives in, removed by
    /// [`Link::close`].
    pushed: Option<String>,
}

impl Link {
    /// This host, running `exe` (the current zmreip).
    pub fn local(exe: PathBuf) -> Link {
        Link {
            program: exe.display().to_string(),
            via: Via::Local { exe },
            pushed: None,
        }
    }

    /// A remote node reached as `dest` (its host name) over ssh, its
    /// master connection's socket in `control`.
    pub fn ssh(dest: &str, opts: &SshOptions, control: &ControlDir) -> Link {
        let control_path = control.path().join("%C");
        // ssh keeps the first value it reads for an option: what zmreip
        // relies on comes first, then the user's, then zmreip's defaults.
        let mut args: Vec<String> = [
            "BatchMode=yes".to_string(),
            "ControlMaster=auto".to_string(),
            format!("ControlPath={}", control_path.display()),
            // The master outlives a coordinator killed before `close` by a
            // minute at most.
            "ControlPersist=60".to_string(),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_string(), o])
        .collect();
        if let Some(cfg) = &opts.config {
            args.push("-F".into());
            args.push(cfg.display().to_string());
        }
        for o in &opts.options {
            args.push("-o".into());
            args.push(o.clone());
        }
        for o in [
            "ConnectTimeout=10",
            "ServerAliveInterval=15",
            "ServerAliveCountMax=4",
        ] {
            args.push("-o".into());
            args.push(o.into());
        }
        Link {
            via: Via::Ssh {
                dest: dest.to_string(),
                args,
            },
            program: "zmreip".into(),
            pushed: None,
        }
    }

    /// Whether the node is this host.
    pub fn is_local(&self) -> bool {
        matches!(self.via, Via::Local { .. })
    }

    /// How the node is reached, for people: `this host` or `ssh NAME`.
    pub fn describe(&self) -> String {
        match &self.via {
            Via::Local { .. } => "this host".into(),
            Via::Ssh { dest, .. } => format!("ssh {dest}"),
        }
    }

    /// The command line that runs zmreip with `args` on the node, as an
    /// admin would type it there (for hand-offs and messages).
    pub fn command_line(args: &[String]) -> String {
        let mut words = vec!["zmreip".to_string()];
        words.extend(args.iter().map(|a| shell_quote(a)));
        words.join(" ")
    }

    /// Runs the node's zmreip with `args`, feeding `stdin`.
    pub fn zmreip(
        &self,
        args: &[String],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Reply> {
        match &self.via {
            Via::Local { exe } => {
                let mut c = Command::new(exe);
                c.args(args).env("RUST_BACKTRACE", "0");
                run(c, stdin, timeout, &self.describe())
            }
            Via::Ssh { .. } => {
                let mut words = vec![shell_quote(&self.program)];
                words.extend(args.iter().map(|a| shell_quote(a)));
                self.remote(
                    &format!("RUST_BACKTRACE=0 {}", words.join(" ")),
                    stdin,
                    timeout,
                )
            }
        }
    }

    /// Runs a shell line on a remote node (on this host: refused, as
    /// nothing but zmreip is run here).
    fn remote(&self, line: &str, stdin: Option<&[u8]>, timeout: Duration) -> Result<Reply> {
        let Via::Ssh { dest, args } = &self.via else {
            return Err(Error::other(
                "a remote command was asked of this host",
                "this is a bug in zmreip",
            ));
        };
        let mut c = Command::new("ssh");
        c.args(args).arg("--").arg(dest).arg(line);
        let reply = run(c, stdin, timeout, &self.describe())?;
        if reply.status == Some(SSH_FAILED) {
            return Err(unreachable(dest, &reply.stderr));
        }
        Ok(reply)
    }

    /// The version of the node's zmreip (`0.1.0`). Fails, naming the node,
    /// when it cannot be reached or has no zmreip.
    pub fn version(&self, name: &str) -> Result<String> {
        let reply = self.zmreip(&["--version".into()], None, Duration::from_secs(30))?;
        if reply.status == Some(NOT_FOUND) {
            return Err(Error::other(
                format!(
                    "node {name} has no zmreip in its PATH ({}: {})",
                    self.describe(),
                    first_line(&reply.stderr)
                ),
                format!(
                    "install zmreip {} on {name}, or give --push-binary to copy this one there for the run",
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        let text = reply.text();
        match text.trim().strip_prefix("zmreip ") {
            Some(v) if reply.success() => Ok(v.trim().to_string()),
            _ => Err(Error::other(
                format!(
                    "node {name}: `zmreip --version` did not answer as zmreip does ({}{})",
                    first_line(&text),
                    first_line(&reply.stderr)
                ),
                format!("check the zmreip installed on {name}, or give --push-binary"),
            )),
        }
    }

    /// Copies `exe` (this zmreip) to a private temporary directory on
    /// the node (under its `$TMPDIR`, else /tmp) over the node's
    /// connection; later commands run it, and [`Link::close`] removes it.
    pub fn push_binary(&mut self, name: &str, exe: &Path) -> Result<()> {
        if self.is_local() {
            return Ok(());
        }
        let bytes = std::fs::read(exe).map_err(|e| Error::io("read", exe, e))?;
        let line = "umask 077 && d=$(mktemp -d \"${TMPDIR:-/tmp}/zmreip-push.XXXXXX\") && cat > \"$d/zmreip\" && chmod 700 \"$d/zmreip\" && echo \"$d\"";
        let reply = self.remote(line, Some(&bytes), Duration::from_secs(300))?;
        let dir = reply.text().trim().to_string();
        if !reply.success() || !dir.starts_with('/') || !dir.contains("/zmreip-push.") {
            return Err(Error::other(
                format!(
                    "cannot copy zmreip to node {name}: {}",
                    first_line(&reply.stderr)
                ),
                format!("check free space in /tmp on {name}, or install zmreip there"),
            ));
        }
        self.program = format!("{dir}/zmreip");
        self.pushed = Some(dir);
        Ok(())
    }

    /// Removes a pushed binary and ends the node's master connection.
    /// Errors are ignored: the master ends by itself a minute later.
    pub fn close(&mut self) {
        let Via::Ssh { dest, args } = &self.via else {
            return;
        };
        if let Some(dir) = self.pushed.take() {
            let _ = self.remote(
                &format!("rm -rf {}", shell_quote(&dir)),
                None,
                Duration::from_secs(10),
            );
        }
        let mut c = Command::new("ssh");
        c.args(args).args(["-O", "exit", "--"]).arg(dest);
        let _ = run(c, None, Duration::from_secs(10), dest);
    }
}

/// The error for a node ssh cannot reach.
fn unreachable(dest: &str, stderr: &str) -> Error {
    let why: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Error::other(
        format!(
            "cannot reach node {dest} over ssh: {}",
            if why.is_empty() {
                "ssh failed without saying why".to_string()
            } else {
                why.join("; ")
            }
        ),
        format!(
            "check that `ssh {dest} true` works without a password prompt (zmreip runs ssh with BatchMode=yes; --ssh-option and --ssh-config pass settings), or go on without it: --skip-node {dest}"
        ),
    )
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// Runs `cmd` with `stdin`, collecting its output; kills it (its whole
/// process group) after `timeout`.
fn run(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration, what: &str) -> Result<Reply> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let mut child = cmd.spawn().map_err(|e| {
        Error::other(
            format!("cannot start the command for {what}: {e}"),
            "check that OpenSSH's client (`ssh`) is installed",
        )
    })?;
    let pid = child.id();
    let input = child.stdin.take();
    let mut out = child.stdout.take().expect("piped above");
    let mut err = child.stderr.take().expect("piped above");
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::scope(|s| {
        if let (Some(mut pipe), Some(bytes)) = (input, stdin) {
            // A command that exits early closes its end: not an error here,
            // its status says what happened.
            s.spawn(move || {
                let _ = pipe.write_all(bytes);
            });
        }
        let stdout = s.spawn(move || {
            let mut b = Vec::new();
            let _ = out.read_to_end(&mut b);
            b
        });
        let stderr = s.spawn(move || {
            let mut b = Vec::new();
            let _ = err.read_to_end(&mut b);
            b
        });
        s.spawn(move || {
            let _ = done_tx.send(child.wait());
        });
        let status = match done_rx.recv_timeout(timeout) {
            Ok(status) => status
                .map_err(|e| Error::other(format!("cannot wait for {what}: {e}"), "try again"))?,
            Err(_) => {
                // SAFETY: a signal to the process group this function
                // created (process_group(0) above).
                unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
                let _ = done_rx.recv();
                return Err(Error::other(
                    format!(
                        "{what} did not answer within {} s; the command was stopped",
                        timeout.as_secs()
                    ),
                    "check the node and the network to it, then run again",
                ));
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        Ok(Reply {
            status: status.code(),
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_options_put_zmreips_first_and_defaults_last() {
        let dir = ControlDir::new().unwrap();
        let mode = std::fs::metadata(dir.path()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o700);
        let opts = SshOptions {
            config: Some("/etc/lab/ssh_config".into()),
            options: vec!["ConnectTimeout=3".into(), "BatchMode=no".into()],
        };
        let link = Link::ssh("mta1.lab.example", &opts, &dir);
        let Via::Ssh { dest, args } = &link.via else {
            panic!("not ssh")
        };
        assert_eq!(dest, "mta1.lab.example");
        let pos = |s: &str| args.iter().position(|a| a == s).unwrap_or(usize::MAX);
        // BatchMode is zmreip's and comes before the user's attempt to
        // turn it off; the user's timeout comes before zmreip's default.
        assert!(pos("BatchMode=yes") < pos("BatchMode=no"));
        assert!(pos("ConnectTimeout=3") < pos("ConnectTimeout=10"));
        assert!(pos("-F") < pos("ConnectTimeout=3"));
        let control = format!("ControlPath={}/%C", dir.path().display());
        assert!(args.contains(&control), "{args:?}");
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists(), "the control directory is removed");
    }

    #[test]
    fn command_lines_are_quoted_for_the_remote_shell() {
        let args: Vec<String> = [
            "plan",
            "--from",
            "10.0.0.1/24",
            "--hostname",
            "a b; rm -rf /",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            Link::command_line(&args),
            "zmreip plan --from 10.0.0.1/24 --hostname 'a b; rm -rf /'"
        );
    }

    #[test]
    fn local_commands_run_with_output_status_and_timeout() {
        let link = Link::local("/bin/sh".into());
        let args: Vec<String> = vec![
            "-c".into(),
            "cat; printf \"%s\" \"$RUST_BACKTRACE\" >&2; exit 3".into(),
        ];
        let r = link
            .zmreip(&args, Some(b"from stdin"), Duration::from_secs(10))
            .unwrap();
        assert_eq!(r.status, Some(3));
        assert_eq!(r.text(), "from stdin");
        assert_eq!(r.stderr, "0", "no backtraces in what a node says");

        let slow: Vec<String> = vec!["-c".into(), "sleep 30".into()];
        let t = std::time::Instant::now();
        let e = link
            .zmreip(&slow, None, Duration::from_millis(200))
            .unwrap_err();
        assert!(e.to_string().contains("did not answer within"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
