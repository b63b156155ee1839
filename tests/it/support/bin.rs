//! The real `zmreip` binary, run the way a test says: arguments, root,
//! LDIF, environment, working directory (and a timeout); then its exit status
//! checked and its output read, parsed or compared with a snapshot.
//!
//! ```ignore
//! Zmreip::new(["plan", "--from", OLD, "--to", NEW])
//!     .root(&root)
//!     .ldif(&ldif)
//!     .ok()
//!     .stdout_matches("single-server.plan.txt");
//! ```

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::snapshot;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_zmreip");

/// How long a run may take unless a test says otherwise.
const TIMEOUT: Duration = Duration::from_secs(300);

/// One run of the binary being set up.
#[must_use = "a Zmreip does nothing until it is run"]
pub struct Zmreip {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
}

impl Zmreip {
    /// `zmreip ARGS` with stdin closed, no colour, no backtraces and no
    /// `ZMREIP_ROOT` or `ZMREIP_GENERATE_DOCS` from the environment the
    /// tests run in.
    pub fn new<I, S>(args: I) -> Zmreip
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Zmreip {
            args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
            env: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Zmreip {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Zmreip
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// `--root DIR`.
    pub fn root(self, dir: impl AsRef<Path>) -> Zmreip {
        self.arg("--root").arg(dir.as_ref())
    }

    /// `--ldif FILE`.
    pub fn ldif(self, file: impl AsRef<Path>) -> Zmreip {
        self.arg("--ldif").arg(file.as_ref())
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Zmreip {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Zmreip {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Runs it, whatever its exit status. A run that outlives its timeout
    /// is killed and fails the test.
    pub fn run(self) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(&self.args)
            .env("RUST_BACKTRACE", "0")
            .env("NO_COLOR", "1")
            .env_remove("ZMREIP_ROOT")
            .env_remove(zmreip::manual::ENV)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(d) = &self.cwd {
            cmd.current_dir(d);
        }
        let shown = self.shown();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
        let read = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        let stdout = read(Box::new(child.stdout.take().expect("piped")));
        let stderr = read(Box::new(child.stderr.take().expect("piped")));
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait for zmreip") {
                break s;
            }
            if start.elapsed() > TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{shown} did not finish within {TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Output {
            command: shown,
            code: status.code(),
            signal: status.signal(),
            stdout: stdout.join().expect("read stdout"),
            stderr: stderr.join().expect("read stderr"),
        }
    }

    /// Runs it and asserts it succeeded.
    pub fn ok(self) -> Output {
        self.run().status(0)
    }

    /// Runs it and asserts it exited with `code`.
    pub fn fails(self, code: i32) -> Output {
        self.run().status(code)
    }

    /// The command line, for messages.
    fn shown(&self) -> String {
        let mut s = String::from("zmreip");
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    pub code: Option<i32>,
    /// The signal that ended it (a crash hook aborts).
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The output of another process (a script that runs zmreip).
    pub fn of(command: &str, out: &std::process::Output) -> Output {
        Output {
            command: command.to_string(),
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the exit status.
    pub fn status(self, code: i32) -> Output {
        assert_eq!(
            self.code,
            Some(code),
            "{}: expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.command,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts the process aborted (a crash hook): SIGABRT, no exit code.
    pub fn aborted(self) -> Output {
        assert_eq!(
            self.signal,
            Some(libc::SIGABRT),
            "{}: expected an abort\n--- stdout\n{}\n--- stderr\n{}",
            self.command,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Whether it panicked (exit 101, or a panic message).
    pub fn panicked(&self) -> bool {
        self.code == Some(101) || self.stderr.contains("panicked")
    }

    /// The exit status and the first lines of stderr, for a report.
    pub fn brief(&self) -> String {
        let e: Vec<&str> = self.stderr.lines().take(3).collect();
        format!("exit {:?}: {}", self.code, e.join(" / "))
    }

    /// Standard output as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not JSON ({e}):\n{}",
                self.command, self.stdout
            )
        })
    }

    /// Standard output and error together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The same output with every `text` replaced by `placeholder` (a
    /// temporary directory, a run id), so a snapshot holds what does not
    /// change between runs.
    pub fn redact(mut self, text: &str, placeholder: &str) -> Output {
        self.stdout = self.stdout.replace(text, placeholder);
        self.stderr = self.stderr.replace(text, placeholder);
        self
    }

    /// Asserts standard output equals the snapshot `tests/golden/NAME`.
    pub fn stdout_matches(&self, name: &str) -> &Output {
        snapshot::assert_matches(name, &self.stdout);
        self
    }

    /// Asserts standard error equals the snapshot `tests/golden/NAME`.
    pub fn stderr_matches(&self, name: &str) -> &Output {
        snapshot::assert_matches(name, &self.stderr);
        self
    }
}
