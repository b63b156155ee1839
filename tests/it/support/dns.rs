//! Real DNS servers for tests: BIND `named` and `dnsmasq`, each started
//! in the foreground from a private config in a temp dir, listening only
//! on 127.0.0.1 at a free port, and killed when dropped.
//!
//! When a server binary is missing, tests skip with a message; on CI
//! (`CI=true`) a missing server fails the test instead, so a broken CI
//! image cannot pass by skipping everything.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `bin` (named, dnsmasq and their tools) can be run (see
/// [`super::available`]).
pub fn available(bin: &str) -> bool {
    super::available(bin, "bind9 bind9-utils bind9-dnsutils dnsmasq-base")
}

/// A port free for both UDP and TCP on 127.0.0.1.
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port on loopback");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1");
}

/// A running server process, killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Holds the config, zone files and log; removed with the server.
    _dir: tempfile::TempDir,
    log: PathBuf,
    what: &'static str,
}

impl Server {
    /// The server's process id (to stop and continue it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGHUP (named and dnsmasq reload on it) and waits for `line`
    /// to appear in the log once more than before.
    pub fn reload(&self, line: &str) {
        let before = self.log().matches(line).count();
        let ok = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -HUP {} failed", self.what);
        let t0 = Instant::now();
        while self.log().matches(line).count() <= before {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "{} did not log `{line}` after SIGHUP:\n{}",
                self.what,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (bounded) until the log holds `line` more than `before`
    /// times: named logs "reloading zones succeeded" when a reload starts
    /// and loads each zone after it.
    pub fn wait_more(&self, line: &str, before: usize) {
        let t0 = Instant::now();
        while self.log().matches(line).count() <= before {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "{} did not log `{line}` again:\n{}",
                self.what,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for(mut self, ready: &str) -> Server {
        let t0 = Instant::now();
        loop {
            if self.log().contains(ready) {
                return self;
            }
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!(
                    "{} exited ({st}) before it was ready:\n{}",
                    self.what,
                    self.log()
                );
            }
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "{} not ready after 15 s:\n{}",
                self.what,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(cmd: &mut Command, log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// A TSIG key made with `tsig-keygen`: the file's text and the secret.
pub struct Key {
    pub name: String,
    pub file_text: String,
    pub secret: String,
}

pub fn tsig_keygen(name: &str) -> Key {
    let out = Command::new("tsig-keygen")
        .args(["-a", "hmac-sha256", name])
        .output()
        .expect("run tsig-keygen");
    assert!(out.status.success(), "tsig-keygen failed");
    let text = String::from_utf8(out.stdout).unwrap();
    let secret = text
        .split("secret \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a secret in tsig-keygen output")
        .to_string();
    Key {
        name: name.to_string(),
        file_text: text,
        secret,
    }
}

/// A zone served by the test named.
pub struct Zone<'a> {
    pub name: &'a str,
    /// Zone file text.
    pub text: &'a str,
    /// Key name allowed to update it, if dynamic.
    pub update_key: Option<&'a str>,
}

/// Starts named on 127.0.0.1 with these zones and keys (key file texts
/// as written by tsig-keygen); zone files are written into its dir.
pub fn named(zones: &[Zone], keys: &[&Key]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let files = write_zones(&dir, zones);
    named_files(dir, &files, keys)
}

/// Writes each zone's file into `dir`: (zone, file, update key).
fn write_zones(dir: &tempfile::TempDir, zones: &[Zone]) -> Vec<(String, PathBuf, Option<String>)> {
    zones
        .iter()
        .map(|z| {
            let file = dir.path().join(format!("{}.zone", z.name));
            std::fs::write(&file, z.text).unwrap();
            (z.name.to_string(), file, z.update_key.map(str::to_string))
        })
        .collect()
}

/// Starts named serving zone files where they are: (zone, file, key
/// allowed to update it).
pub fn named_files(
    dir: tempfile::TempDir,
    zones: &[(String, PathBuf, Option<String>)],
    keys: &[&Key],
) -> Server {
    start_named(dir, zones, keys, None)
}

/// Starts named inside the network namespace `netns` (created by the
/// test), on the namespace's 127.0.0.1 port 5353.
pub fn named_in(netns: &str, zones: &[Zone], keys: &[&Key]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let files = write_zones(&dir, zones);
    start_named(dir, &files, keys, Some(netns))
}

fn start_named(
    dir: tempfile::TempDir,
    zones: &[(String, PathBuf, Option<String>)],
    keys: &[&Key],
    netns: Option<&str>,
) -> Server {
    let d = dir.path().display().to_string();
    // A namespace of the test's own has every port free.
    let port = if netns.is_some() { 5353 } else { free_port() };
    let mut conf = String::new();
    for k in keys {
        let p = format!("{d}/{}.key", k.name);
        std::fs::write(&p, &k.file_text).unwrap();
        conf.push_str(&format!("include \"{p}\";\n"));
    }
    conf.push_str(&format!(
        "options {{
  directory \"{d}\";
  pid-file \"{d}/named.pid\";
  session-keyfile \"{d}/session.key\";
  managed-keys-directory \"{d}\";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  notify no;
  allow-query {{ 127.0.0.1; }};
  dnssec-validation no;
}};
controls {{ }};
"
    ));
    for (name, file, key) in zones {
        let update = key
            .as_ref()
            .map(|k| format!(" allow-update {{ key \"{k}\"; }};"))
            .unwrap_or_default();
        conf.push_str(&format!(
            "zone \"{name}\" {{ type primary; file \"{}\";{update} }};\n",
            file.display()
        ));
    }
    let conf_path = format!("{d}/named.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let check = Command::new("named-checkconf")
        .arg(&conf_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "named-checkconf: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let log = dir.path().join("named.log");
    // -g: foreground, log to stderr; -n 1: one worker thread.
    let mut cmd = match netns {
        // `ip netns exec` execs named: the child is named itself.
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "named"]);
            c
        }
        None => Command::new("named"),
    };
    let child = spawn(cmd.args(["-c", &conf_path, "-g", "-n", "1"]), &log);
    Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        _dir: dir,
        log,
        what: "named",
    }
    .wait_for("running")
}

/// Starts named from a configuration written by the test (`conf`, which
/// must keep named to loopback or to `netns`, a namespace the test made),
/// answering at `addr`, in the directory of `conf` (relative includes are
/// read from there); `dir` holds named's log and goes with the server.
pub fn named_conf(
    dir: tempfile::TempDir,
    conf: &Path,
    addr: SocketAddr,
    netns: Option<&super::netns::Netns>,
) -> Server {
    let cwd = conf.parent().expect("a config file in a directory");
    let check = Command::new("named-checkconf")
        .arg(conf)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "named-checkconf: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let log = dir.path().join("named.log");
    let mut cmd = match netns {
        Some(ns) => ns.command("named"),
        None => Command::new("named"),
    };
    let child = spawn(
        cmd.arg("-c")
            .arg(conf)
            .args(["-g", "-n", "1"])
            .current_dir(cwd),
        &log,
    );
    Server {
        child,
        addr,
        _dir: dir,
        log,
        what: "named",
    }
    .wait_for("running")
}

/// What the `options` statement of a test's named needs besides its own
/// options: its working directory `work` (where relative names point,
/// also on a reload), its pid and key files in `state`, no recursion, no
/// validation, no IPv6.
pub fn named_options(work: &Path, state: &Path) -> String {
    let (w, d) = (work.display(), state.display());
    format!(
        "directory \"{w}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  managed-keys-directory \"{d}\";\n  recursion no;\n  notify no;\n  dnssec-validation no;\n  listen-on-v6 {{ none; }};\n"
    )
}

/// Starts dnsmasq on 127.0.0.1 with these extra config lines.
pub fn dnsmasq(lines: &[String]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let port = free_port();
    let mut conf = format!(
        "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-poll\nno-hosts\npid-file={d}/dnsmasq.pid\nlog-queries\n"
    );
    for l in lines {
        conf.push_str(l);
        conf.push('\n');
    }
    let conf_path = format!("{d}/dnsmasq.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let log = dir.path().join("dnsmasq.log");
    let child = spawn(
        Command::new("dnsmasq").args([
            "--no-daemon",
            "-C",
            &conf_path,
            "--user=root",
            "--log-facility=-",
        ]),
        &log,
    );
    Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        _dir: dir,
        log,
        what: "dnsmasq",
    }
    .wait_for("started")
}

/// Runs a command and returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
