//! A throwaway OpenLDAP slapd for tests: Debian's binary on 127.0.0.1 at a
//! free port, a private config and database in a temporary directory, the
//! project's own test schema (tests/lab/schema/zimbra-subset.schema) and a
//! fixture loaded with slapadd before start. Dropping the handle kills
//! slapd, also when the test panics.
//!
//! The Zimbra admin `uid=zimbra,cn=admins,cn=zimbra` is an ordinary entry of
//! the fixture (not the rootdn), so size limits and access rules apply to
//! it as they do on a Zimbra server.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SLAPD: &str = "/usr/sbin/slapd";
pub const ADMIN_DN: &str = "uid=zimbra,cn=admins,cn=zimbra";

/// How to set the server up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// LDIF loaded before start (content records).
    pub fixture: Option<PathBuf>,
    /// Refuse every write, as a read-only replica without a referral does.
    pub readonly: bool,
    /// A size limit for everyone but the rootdn.
    pub sizelimit: Option<u32>,
}

pub struct Slapd {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

/// Whether slapd can run here (see [`super::available`]).
pub fn available() -> bool {
    super::available(SLAPD, "slapd and ldap-utils")
}

/// The project's Zimbra-subset test schema.
pub fn schema() -> PathBuf {
    super::repo("tests/lab/schema/zimbra-subset.schema")
}

/// The directory the slapd tests load: a small Zimbra deployment.
pub fn fixture() -> PathBuf {
    super::repo("tests/lab/ldap/zimbra.ldif")
}

impl Slapd {
    /// Starts slapd, or `None` when it is missing (see [`available`]).
    pub fn start(opts: &Options) -> Option<Slapd> {
        if !available() {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = dir.path().join("slapd.conf");
        std::fs::create_dir(dir.path().join("db")).unwrap();
        std::fs::write(&conf, config(dir.path(), opts)).unwrap();
        if let Some(f) = &opts.fixture {
            run_ok(
                Command::new("/usr/sbin/slapadd")
                    .args(["-q", "-f"])
                    .arg(&conf)
                    .arg("-l")
                    .arg(f),
                "slapadd",
            );
        }
        // A free port can be taken between probing and slapd's bind; try a
        // few.
        for _ in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("slapd.log")).unwrap();
            let mut child = Command::new(SLAPD)
                .arg("-f")
                .arg(&conf)
                .args(["-h", &format!("ldap://127.0.0.1:{port}/"), "-d", "0"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start slapd");
            if wait_ready(&mut child, port) {
                return Some(Slapd { dir, child, port });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "slapd did not start:\n{}",
            std::fs::read_to_string(dir.path().join("slapd.log")).unwrap_or_default()
        );
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// A file holding `password`, for `-y` of the OpenLDAP tools and
    /// `--bind-password-file`.
    pub fn password_file(&self, password: &str) -> PathBuf {
        let p = self.dir.path().join(format!("pw-{}", password.len()));
        std::fs::write(&p, password).unwrap();
        p
    }

    /// Runs `ldapmodify` as the Zimbra admin; panics on failure.
    pub fn ldapmodify(&self, password: &str, ldif: &str) {
        let mut child = Command::new("ldapmodify")
            .args(["-x", "-H", &self.url(), "-D", ADMIN_DN, "-y"])
            .arg(self.password_file(password))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ldapmodify");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ldapmodify failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Every entry with every user attribute, as the Zimbra admin sees
    /// it, in LDIF (`ldapsearch -LLL`).
    pub fn dump(&self, password: &str) -> String {
        let out = Command::new("ldapsearch")
            .args([
                "-x",
                "-LLL",
                "-o",
                "ldif-wrap=no",
                "-H",
                &self.url(),
                "-D",
                ADMIN_DN,
                "-y",
            ])
            .arg(self.password_file(password))
            .args(["-b", "", "-s", "sub", "(objectClass=*)", "*"])
            .output()
            .expect("ldapsearch");
        assert!(
            out.status.success(),
            "ldapsearch failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(dir: &Path, opts: &Options) -> String {
    let d = dir.display();
    let mut c = format!(
        "include /etc/ldap/schema/core.schema
include {schema}
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
",
        schema = schema().display()
    );
    if let Some(n) = opts.sizelimit {
        c.push_str(&format!("sizelimit {n}\n"));
    }
    c.push_str(&format!(
        r#"access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="{ADMIN_DN}" write by * none
database mdb
maxsize 4294967296
suffix ""
rootdn "cn=root"
rootpw {root}
directory {d}/db
dbnosync
index objectClass eq
"#,
        root = random_password()
    ));
    if opts.readonly {
        c.push_str("readonly on\n");
    }
    c
}

fn random_password() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("root-{t:x}-{}", std::process::id())
}

/// Polls until slapd accepts connections; false when it exits or takes
/// longer than 10 s.
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port nothing listens on (for unreachable-server tests).
pub fn closed_port() -> u16 {
    free_port()
}

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
