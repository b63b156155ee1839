//! The parts watch tests are made of: a network namespace of the test's
//! own with an interface whose address the test changes, the daemon run
//! inside it (or on the host), and small helpers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Whether the test may create network namespaces (root). Not root: the
/// test is skipped with a message; on CI (`CI=true`) it fails instead.
pub fn root() -> bool {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("watch tests need root on CI (network namespaces)");
    }
    eprintln!("skipping: network namespace tests need root");
    false
}

/// Runs a command, bounded, and panics with its output unless it succeeds.
pub fn sh(cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace created for one test, with one interface `wd0`
/// whose addresses the test changes. `wd0` is a dummy interface where the
/// kernel has the driver, else one end of a veth pair (its peer `wp0` is
/// in the same namespace): the address events are the same. Removed on
/// drop with everything in it.
pub struct Netns {
    pub name: String,
    pub kind: &'static str,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl Netns {
    pub fn new() -> Netns {
        let name = format!(
            "watch{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        sh(Command::new("ip").args(["netns", "add", &name]));
        let mut ns = Netns {
            name,
            kind: "dummy",
        };
        ns.ip(&["link", "set", "lo", "up"]);
        let dummy = Command::new("ip")
            .args(["-n", &ns.name, "link", "add", "wd0", "type", "dummy"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !dummy {
            eprintln!("no dummy driver in this kernel: wd0 is one end of a veth pair");
            ns.ip(&["link", "add", "wd0", "type", "veth", "peer", "name", "wp0"]);
            ns.ip(&["link", "set", "wp0", "up"]);
            ns.kind = "veth";
        }
        // Deleting a primary must not take same-subnet secondaries along
        // (test-components.md §4).
        ns.exec(&["sysctl", "-qw", "net.ipv4.conf.wd0.promote_secondaries=1"]);
        ns.ip(&["link", "set", "wd0", "up"]);
        ns
    }

    /// `ip -n NS ARGS`.
    pub fn ip(&self, args: &[&str]) {
        sh(Command::new("ip").arg("-n").arg(&self.name).args(args));
    }

    /// Runs a command inside the namespace; returns its stdout.
    pub fn exec(&self, args: &[&str]) -> String {
        sh(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args))
    }

    /// Adds an address to wd0 (`nodad` for IPv6 unless `dad`).
    pub fn add(&self, cidr: &str) {
        let mut a = vec!["addr", "add", cidr, "dev", "wd0"];
        if cidr.contains(':') {
            a.push("nodad");
        }
        self.ip(&a);
    }

    pub fn del(&self, cidr: &str) {
        self.ip(&["addr", "del", cidr, "dev", "wd0"]);
    }

    /// What the namespace's named answers for `name` `rtype`.
    pub fn dig(&self, name: &str, rtype: &str) -> String {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.name,
                "dig",
                "@127.0.0.1",
                "-p",
                "5353",
                name,
                rtype,
            ])
            .args(["+short", "+time=1", "+tries=1"])
            .output()
            .expect("run dig");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits (bounded) until dig answers `want`; the time it took.
    pub fn wait_answer(&self, name: &str, rtype: &str, want: &str, limit: Duration) -> Duration {
        let t0 = Instant::now();
        loop {
            let got = self.dig(name, rtype);
            if got == want {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < limit,
                "{name} {rtype}: still `{got}` after {limit:?}, want `{want}`"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The zone's SOA serial: it grows by one per accepted update.
    pub fn serial(&self, zone: &str) -> u64 {
        let soa = self.dig(zone, "SOA");
        soa.split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no SOA serial in `{soa}`"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A running `zmreip watch`, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Daemon {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `zmreip watch --config CONFIG ARGS` inside `netns` (or on
    /// the host), stderr to `log`.
    pub fn start(
        netns: Option<&Netns>,
        config: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        log: &Path,
    ) -> Daemon {
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &ns.name])
                    .arg(env!("CARGO_BIN_EXE_zmreip"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_zmreip")),
        };
        cmd.args(["watch", "--config"]).arg(config).args(args);
        cmd.env("RUST_BACKTRACE", "0")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM");
        cmd.envs(env.iter().copied());
        let err = std::fs::File::create(log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(err.try_clone().unwrap())
            .stderr(err)
            .spawn()
            .expect("start zmreip watch");
        Daemon {
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log holds `needle` at least `n` times; fails at
    /// once when the daemon exits.
    pub fn wait_for(&mut self, needle: &str, n: usize, limit: Duration) {
        let t0 = Instant::now();
        while self.log().matches(needle).count() < n {
            assert!(
                t0.elapsed() < limit,
                "`{needle}` ×{n} not logged within {limit:?}:\n{}",
                self.log()
            );
            if let Some(st) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "zmreip watch exited ({st}) before logging `{needle}`:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }

    pub fn signal(&self, sig: i32) {
        let pid = self.child.as_ref().expect("running").id();
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(pid as i32, sig) };
    }

    /// SIGTERM, then waits (bounded) for the exit.
    pub fn stop(mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        let mut child = self.child.take().expect("running");
        let t0 = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("zmreip watch did not stop within 30 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let t0 = Instant::now();
            while c.try_wait().ok().flatten().is_none() && t0.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `zmreip watch --once` (bounded): exit code and everything printed.
pub fn once(config: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zmreip"))
        .args(["watch", "--once", "--config"])
        .arg(config)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .output()
        .expect("run zmreip watch --once");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// The state file as JSON.
pub fn state(path: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// One request the test provider received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A dyndns2 server on 127.0.0.1, standing in for a provider (no public
/// provider is reachable from the tests, and none may be asked). It
/// records every request and answers `/nic/update` with the scripted
/// answers in order (then `good`), and `/ip` with `ip_body`.
pub struct Provider {
    pub port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<Request>>>,
    answers: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(u16, String)>>>,
    pub ip_body: std::sync::Arc<std::sync::Mutex<String>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Provider {
    pub fn start() -> Provider {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let answers = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let ip_body = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (rq, an, ib, st) = (
            requests.clone(),
            answers.clone(),
            ip_body.clone(),
            stop.clone(),
        );
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 2048];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16384 {
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&buf).into_owned();
                let mut lines = text.split("\r\n");
                let first: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
                let (path, query) = first
                    .get(1)
                    .copied()
                    .unwrap_or("")
                    .split_once('?')
                    .unwrap_or((first.get(1).copied().unwrap_or(""), ""));
                let req = Request {
                    method: first.first().copied().unwrap_or("").to_string(),
                    path: path.to_string(),
                    query: query
                        .split('&')
                        .filter(|p| !p.is_empty())
                        .map(|p| {
                            let (k, v) = p.split_once('=').unwrap_or((p, ""));
                            (decode(k), decode(v))
                        })
                        .collect(),
                    headers: lines
                        .take_while(|l| !l.is_empty())
                        .filter_map(|l| {
                            l.split_once(':')
                                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        })
                        .collect(),
                };
                let (status, body) = if req.path == "/ip" {
                    (200, ib.lock().unwrap().clone())
                } else {
                    let a = an
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or((200, "good".into()));
                    rq.lock().unwrap().push(req);
                    a
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Provider {
            port,
            requests,
            answers,
            ip_body,
            stop,
            thread: Some(thread),
        }
    }

    /// Answers for the next updates (status, body).
    pub fn answer(&self, status: u16, body: &str) {
        self.answers
            .lock()
            .unwrap()
            .push_back((status, body.to_string()));
    }

    /// Update requests so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/nic/update", self.port)
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Percent-decoding of a query component.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits (bounded) until the state file satisfies `ok`: the daemon writes
/// it once the engine has a job's outcome, a moment after the job logged
/// and the server answered.
pub fn wait_state(path: &Path, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        if path.exists() {
            let st = state(path);
            if ok(&st) {
                return st;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{} never held what was expected",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
