//! What the tests share: the real binary ([`Zmreip`]), snapshots, the
//! servers they start (slapd, named, dnsmasq, sshd) and the fixture host
//! they apply plans to.

mod bin;
pub mod dns;
pub mod lab;
pub mod netns;
pub mod slapd;
pub mod snapshot;
pub mod sshd;

pub use bin::{BIN, Output, Zmreip};

use std::path::{Path, PathBuf};

/// A path under the repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Copies a directory tree (files and directories).
pub fn copy_tree(from: &Path, to: &Path) {
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

/// Whether the tests run as root (owners can be set, mounts made).
pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether a server binary can be run. Missing: the test is skipped with
/// a message, except on CI (`CI=true`), where it fails, so a broken CI
/// image cannot pass by skipping everything.
pub fn available(bin: &str, packages: &str) -> bool {
    let found = if bin.starts_with('/') {
        Path::new(bin).exists()
    } else {
        ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(bin).exists())
    };
    if found {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("`{bin}` is not installed on CI; scripts/debian-packages.txt must list {packages}");
    }
    eprintln!("skipped: `{bin}` is not installed (apt-get install {packages})");
    false
}
