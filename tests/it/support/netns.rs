//! Network namespaces a test creates for itself (as root), so that a
//! server can listen on addresses the host does not have; deleted when
//! dropped. Names start with `zmrns-` and are unique per test process.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A network namespace with its loopback up.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// A fresh namespace; `None` (the test is skipped, with a message)
    /// when not running as root. On CI the tests run as root, so a
    /// namespace that cannot be made fails the test there.
    pub fn new() -> Option<Netns> {
        static N: AtomicUsize = AtomicUsize::new(0);
        if !super::is_root() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("the tests run as root on CI");
            }
            eprintln!("skipped: a network namespace needs root");
            return None;
        }
        let name = format!(
            "zmrns-{}-{}",
            std::process::id() % 100_000,
            N.fetch_add(1, Ordering::Relaxed)
        );
        let ns = Netns { name };
        ns.run(&["netns", "add", &ns.name]);
        ns.ip(&["link", "set", "lo", "up"]);
        Some(ns)
    }

    /// `ip -n NAME ARGS`, which must succeed.
    pub fn ip(&self, args: &[&str]) {
        let mut a = vec!["-n", self.name.as_str()];
        a.extend_from_slice(args);
        self.run(&a);
    }

    fn run(&self, args: &[&str]) {
        let st = Command::new("ip").args(args).status().expect("run ip");
        assert!(st.success(), "ip {} failed", args.join(" "));
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
