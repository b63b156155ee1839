//! Running a service command: stdin closed, output appended to the run's
//! log, the whole process group stopped after a timeout.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Cmd;
use crate::error::{Error, Result};

/// Runs a command with stdin closed and its output appended to the log
/// `out` (open for reading and appending; `log` names it for people).
/// After `timeout` the whole process group is terminated (then killed)
/// and the run fails. `env` is added to the command's environment.
pub fn run(
    cmd: &Cmd,
    timeout: Duration,
    (mut out, log): (File, &Path),
    env: &[(&str, &str)],
) -> Result<()> {
    // The journal's logs carry the time of every step line (the audit
    // trail): the command's start here, its end below.
    let _ = writeln!(out, "{} $ {cmd}", crate::clock::stamp());
    let tail_of = out.try_clone().map_err(|e| Error::io("write", log, e))?;
    let err = out.try_clone().map_err(|e| Error::io("write", log, e))?;
    let mut command = match cmd {
        Cmd::Shell(s) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(s);
            c
        }
        Cmd::Argv(v) => {
            let mut c = Command::new(&v[0]);
            c.args(&v[1..]);
            c
        }
    };
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .envs(env.iter().copied())
        .process_group(0);
    let mut child = command.spawn().map_err(|e| {
        Error::other(
            format!("cannot start `{cmd}`: {e}"),
            "check the command (see --services) and that it is installed",
        )
    })?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() >= timeout => {
                kill_group(child.id());
                let _ = child.wait();
                return Err(Error::other(
                    format!(
                        "`{cmd}` did not finish within {} s and was stopped",
                        timeout.as_secs()
                    ),
                    format!(
                        "see {} for its output; raise `timeout` in the services file if it needs longer",
                        log.display()
                    ),
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(Error::other(format!("cannot wait for `{cmd}`: {e}"), "")),
        }
    };
    // The log as opened (inside the root), not reopened by its path.
    if let Ok(mut end) = tail_of.try_clone() {
        let _ = writeln!(
            end,
            "{} {status} after {:.1} s",
            crate::clock::stamp(),
            start.elapsed().as_secs_f64()
        );
    }
    if status.success() {
        return Ok(());
    }
    let tail = log_tail(&tail_of, 5);
    Err(Error::other(
        format!(
            "`{cmd}` failed ({status}){}",
            if tail.is_empty() {
                String::new()
            } else {
                format!(":\n{tail}")
            }
        ),
        format!("the full output is in {}", log.display()),
    ))
}

/// SIGTERM to the group, a grace period, then SIGKILL.
fn kill_group(pid: u32) {
    let pgid = -(pid as libc::pid_t);
    // SAFETY: plain signal sends to the group this function's caller
    // created with process_group(0).
    unsafe { libc::kill(pgid, libc::SIGTERM) };
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: as above.
    unsafe { libc::kill(pgid, libc::SIGKILL) };
}

/// The last `n` lines of a log (of its last 64 KiB), indented.
fn log_tail(log: &File, n: usize) -> String {
    let size = log.metadata().map(|m| m.len()).unwrap_or(0);
    let from = size.saturating_sub(64 << 10);
    let mut buf = vec![0u8; (size - from) as usize];
    let got = log.read_at(&mut buf, from).unwrap_or(0);
    buf.truncate(got);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_logs_output_reports_failure_and_times_out() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("services.log");
        let open = || {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .mode(0o600)
                .open(&log)
                .unwrap();
            (f, log.as_path())
        };
        run(
            &Cmd::Shell("echo hello $ZMREIP_SERVICE".into()),
            Duration::from_secs(10),
            open(),
            &[("ZMREIP_SERVICE", "mta")],
        )
        .unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[1], "hello mta");
        // The command's start and end carry the time.
        for (line, tail) in [
            (lines[0], "$ echo hello $ZMREIP_SERVICE"),
            (lines[2], "exit status: 0 after"),
        ] {
            let (time, rest) = line.split_once(' ').unwrap();
            assert!(crate::clock::is_stamp(time), "{line}");
            assert!(rest.starts_with(tail), "{line}");
        }
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&log).unwrap().mode() & 0o777, 0o600);
        let e = run(
            &Cmd::Shell("echo broken >&2; exit 3".into()),
            Duration::from_secs(10),
            open(),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("failed") && e.contains("broken"), "{e}");
        let e = run(
            &Cmd::Argv(vec!["/no/such/tool".into()]),
            Duration::from_secs(10),
            open(),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("cannot start"), "{e}");
        let start = Instant::now();
        // The child of the shell must die with the group, or this would
        // hold the test for 30 s.
        let e = run(
            &Cmd::Shell("sleep 30 & wait".into()),
            Duration::from_millis(300),
            open(),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("did not finish within"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
