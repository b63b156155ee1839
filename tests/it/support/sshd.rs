//! Throwaway OpenSSH servers for tests: Debian's sshd on 127.0.0.1 at a
//! free port each, host keys and one client key generated for the test
//! (never ~/.ssh), an ssh client configuration naming each server by a
//! host name of its own, and a known_hosts file with their keys. Each
//! server gives its sessions `ZMREIP_ROOT` (a node's files), as a node of
//! a deployment has its own `/`, and a `TMPDIR` of its own under it.
//! Dropping a server kills it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

/// Whether sshd can run here as it must: installed (else skipped, but a
/// failure on CI) and run as root, to let root log in.
pub fn available() -> bool {
    if !super::available(SSHD, "openssh-server") {
        return false;
    }
    if !super::is_root() {
        eprintln!("skipped: sshd lets root log in only when it runs as root");
        return false;
    }
    true
}

/// The keys and client files of one test's servers.
pub struct Ssh {
    pub dir: tempfile::TempDir,
    servers: Vec<(String, u16)>,
}

impl Ssh {
    /// A client key and an empty known_hosts.
    pub fn new() -> Ssh {
        let dir = tempfile::Builder::new()
            .prefix("zmreip-sshd-")
            .tempdir()
            .unwrap();
        keygen(&dir.path().join("client_key"));
        std::fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        std::fs::write(dir.path().join("known_hosts"), "").unwrap();
        Ssh {
            dir,
            servers: Vec::new(),
        }
    }

    /// The ssh client configuration (`-F`): every server by its name.
    pub fn config(&self) -> PathBuf {
        let d = self.dir.path();
        let mut c = String::new();
        for (name, port) in &self.servers {
            c.push_str(&format!(
                "Host {name}\n    HostName 127.0.0.1\n    Port {port}\n    HostKeyAlias {name}\n"
            ));
        }
        c.push_str(&format!(
            "Host *\n    User root\n    IdentityFile {d}/client_key\n    IdentitiesOnly yes\n    UserKnownHostsFile {d}/known_hosts\n    GlobalKnownHostsFile /dev/null\n    StrictHostKeyChecking yes\n    ConnectTimeout 5\n",
            d = d.display()
        ));
        let p = d.join("ssh_config");
        std::fs::write(&p, c).unwrap();
        p
    }

    /// A name that refuses connections (a node whose sshd is down): a
    /// port that was free a moment ago.
    pub fn dead(&mut self, name: &str) {
        self.servers.push((name.to_string(), free_port()));
    }

    /// Starts an sshd for the node `name` whose sessions see `root` as
    /// ZMREIP_ROOT.
    pub fn start(&mut self, name: &str, root: &Path) -> Sshd {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("host_key");
        keygen(&key);
        let pubkey = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        let known = pubkey
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let mut kh = std::fs::read_to_string(self.dir.path().join("known_hosts")).unwrap();
        kh.push_str(&format!("{name} {known}\n"));
        std::fs::write(self.dir.path().join("known_hosts"), kh).unwrap();
        // The node's own temporary directory (where --push-binary puts
        // its copy).
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        // sshd's privilege separation directory (Debian's service makes it).
        std::fs::create_dir_all("/run/sshd").unwrap();
        for _ in 0..5 {
            let port = free_port();
            let conf = dir.join("sshd_config");
            std::fs::write(
                &conf,
                format!(
                    "ListenAddress 127.0.0.1\nPort {port}\nHostKey {key}\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {auth}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nPrintMotd no\nSetEnv ZMREIP_ROOT={root} TMPDIR={tmp}\n",
                    key = key.display(),
                    d = dir.display(),
                    auth = self.dir.path().join("authorized_keys").display(),
                    root = root.display(),
                    tmp = tmp.display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start sshd");
            if wait_ready(&mut child, port) {
                self.servers.push((name.to_string(), port));
                return Sshd { child };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "sshd did not start:\n{}",
            std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
        );
    }
}

/// A running sshd.
pub struct Sshd {
    child: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "zmreip-test", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "ssh-keygen failed");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_ready(child: &mut Child, port: u16) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
