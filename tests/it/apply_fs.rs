//! Apply against awkward files: a symlinked /etc/hosts, a bind-mounted
//! /etc/hosts (rename fails with EBUSY), an immutable file, a directory
//! where a file was expected, a full disk. Each ends with a clear error or
//! a correct write, nothing half-written, and a rollback that restores
//! the tree.
//!
//! Mount cases run inside `unshare -m` (a private mount namespace that
//! disappears with the shell) and need root; without it they say so and
//! pass without checking.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use crate::support::lab::*;

/// Whether `unshare -m` works here (root, and the tool present).
fn can_unshare() -> bool {
    is_root()
        && Command::new("unshare")
            .args(["-m", "--propagation", "private", "true"])
            .status()
            .is_ok_and(|s| s.success())
}

/// Runs a shell script in a private mount namespace; returns its output.
fn in_namespace(script: &str) -> Output {
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-euc", script])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Output::of("unshare -m sh -euc SCRIPT", &out)
}

fn q(p: &Path) -> String {
    zmreip::services::shell_quote(p.to_str().unwrap())
}

#[test]
fn symlinked_hosts_keeps_the_link_and_writes_its_target() {
    let lab = Lab::new();
    // /etc/hosts -> /etc/hosts.d/real (absolute: resolved inside --root,
    // never on this machine).
    let real = lab.host("/etc/hosts.d/real");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::rename(lab.host("/etc/hosts"), &real).unwrap();
    std::os::unix::fs::symlink("/etc/hosts.d/real", lab.host("/etc/hosts")).unwrap();
    let reference = lab.snapshot();
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    assert_eq!(
        std::fs::read_link(lab.host("/etc/hosts")).unwrap(),
        Path::new("/etc/hosts.d/real")
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.contains("10.40.7.131\tmail.corp.example"), "{text}");
    lab.rollback().ok();
    assert_same(&reference, &lab.snapshot(), "symlinked hosts, rolled back");

    // An editor that replaced the link with a file: rollback puts the
    // link back.
    lab.apply(&plan).ok();
    std::fs::remove_file(lab.host("/etc/hosts")).unwrap();
    std::fs::write(lab.host("/etc/hosts"), "edited by hand\n").unwrap();
    lab.rollback().arg("--force").ok();
    assert_same(
        &reference,
        &lab.snapshot(),
        "link replaced by a file, rolled back",
    );
}

#[test]
fn a_directory_where_a_file_was_expected_is_refused() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    std::fs::remove_file(lab.host("/etc/dnsmasq.conf")).unwrap();
    std::fs::create_dir(lab.host("/etc/dnsmasq.conf")).unwrap();
    let before = lab.snapshot();
    let out = lab.apply(&plan).fails(1);
    assert!(
        out.stderr
            .contains("/etc/dnsmasq.conf: is a directory where a file was expected"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    assert_same(&before, &lab.snapshot(), "after the refusal");
    assert!(lab.runs().is_empty());
}

#[test]
fn an_immutable_file_is_refused_before_anything_is_written() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    let target = lab.host("/etc/netplan/50-cloud-init.yaml");
    let set = Command::new("chattr").arg("+i").arg(&target).output();
    if !set.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "SKIPPED: chattr +i does not work here (not root, or the file system has no immutable flag)"
        );
        return;
    }
    let before = lab.snapshot();
    let out = lab.apply(&plan).run();
    let _ = Command::new("chattr").arg("-i").arg(&target).status();
    let out = out.status(1);
    assert!(
        out.stderr.contains(
            "/etc/netplan/50-cloud-init.yaml: cannot be written: Operation not permitted"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("immutable"), "{}", out.stderr);
    assert_same(&before, &lab.snapshot(), "after the refusal");
    assert!(lab.runs().is_empty());
}

#[test]
fn a_read_only_mount_is_refused_before_anything_is_written() {
    if !can_unshare() {
        eprintln!("SKIPPED: needs root and unshare -m for a read-only bind mount");
        return;
    }
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    let before = lab.snapshot();
    let netplan = lab.host("/etc/netplan");
    let script = format!(
        "mount --bind {n} {n}; mount -o remount,bind,ro {n}; {bin} apply --plan {plan} --yes --root {root} --ldif {ldif} --services {svc} --restart-network",
        n = q(&netplan),
        bin = q(Path::new(BIN)),
        plan = q(&plan),
        root = q(&lab.root()),
        ldif = q(&lab.ldif()),
        svc = q(&lab.services()),
    );
    let out = in_namespace(&script).status(1);
    assert!(
        out.stderr
            .contains("/etc/netplan/50-cloud-init.yaml: cannot be written")
            && out.stderr.contains("read-only"),
        "{}",
        out.stderr
    );
    assert_same(&before, &lab.snapshot(), "after the refusal");
    assert!(lab.runs().is_empty());
}

#[test]
fn a_full_disk_fails_the_step_and_rolls_back() {
    if !can_unshare() {
        eprintln!("SKIPPED: needs root, unshare -m and tmpfs for a full file system");
        return;
    }
    let lab = Lab::new();
    let reference = lab.snapshot();
    let plan = lab.fixture_plan();
    let netplan = lab.host("/etc/netplan");
    let seen = lab.path().join("netplan-seen");
    // A 64 KiB tmpfs over /etc/netplan holding the same file, then filled
    // up: hosts and dnsmasq.conf (steps 1, 2) are written, netplan (step
    // 3) hits ENOSPC. What the namespace's netplan dir holds afterwards is
    // copied out (cp -a keeps mode and owner) to be compared.
    let script = format!(
        "mkdir -p {seen}; cp -a {n}/. {seen}.orig; mount -t tmpfs -o size=64k tmpfs {n}; cp -a {seen}.orig/. {n}/; \
         dd if=/dev/zero of={n}/zz-fill bs=1k count=1024 2>/dev/null || true; \
         rc=0; {bin} apply --plan {plan} --yes --root {root} --ldif {ldif} --services {svc} --restart-network || rc=$?; \
         rm -f {n}/zz-fill; cp -a {n}/. {seen}/; rm -rf {seen}.orig; exit $rc",
        seen = q(&seen),
        n = q(&netplan),
        bin = q(Path::new(BIN)),
        plan = q(&plan),
        root = q(&lab.root()),
        ldif = q(&lab.ldif()),
        svc = q(&lab.services()),
    );
    let out = in_namespace(&script).status(1);
    assert!(
        out.stderr
            .contains("step 3 of 12 (write /etc/netplan/50-cloud-init.yaml (c4, c5)) failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("No space left on device"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("rolled back: 2 step(s) undone"),
        "{}",
        out.stderr
    );
    // Outside the namespace: hosts and dnsmasq.conf restored, the rest as
    // before.
    let mut now = lab.snapshot();
    let mut want = reference.clone();
    now.retain(|k, _| !k.starts_with("netplan-seen"));
    want.retain(|k, _| !k.starts_with("netplan-seen"));
    assert_same(&want, &now, "after the failed apply");
    // Inside: the netplan file untouched, no temporary file left.
    let names: Vec<String> = std::fs::read_dir(&seen)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["50-cloud-init.yaml"]);
    let orig = lab.host("/etc/netplan/50-cloud-init.yaml");
    let copy = seen.join("50-cloud-init.yaml");
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&orig).unwrap());
    let (a, b) = (
        std::fs::metadata(&copy).unwrap(),
        std::fs::metadata(&orig).unwrap(),
    );
    assert_eq!((a.mode(), a.uid(), a.gid()), (b.mode(), b.uid(), b.gid()));
    // No service ran: the failure came before them.
    assert!(lab.service_calls().is_empty());
}

#[test]
fn a_bind_mounted_hosts_is_written_in_place() {
    if !can_unshare() {
        eprintln!("SKIPPED: needs root and unshare -m for a bind-mounted /etc/hosts");
        return;
    }
    let lab = Lab::new();
    // As in a container: the runtime's file is bind-mounted over
    // /etc/hosts, so renaming over it fails with EBUSY.
    let outer = lab.path().join("container-hosts");
    std::fs::copy(lab.host("/etc/hosts"), &outer).unwrap();
    let inode = std::fs::metadata(&outer).unwrap().ino();
    let reference = lab.snapshot();
    let plan = lab.fixture_plan();
    let hosts = lab.host("/etc/hosts");
    let after_apply = lab.path().join("hosts-after-apply");
    let script = format!(
        "mount --bind {outer} {hosts}; \
         {bin} apply --plan {plan} --yes --root {root} --ldif {ldif} --services {svc} --restart-network; \
         cp {outer} {after}; \
         {bin} rollback --yes --root {root} --ldif {ldif} --services {svc}",
        outer = q(&outer),
        hosts = q(&hosts),
        after = q(&after_apply),
        bin = q(Path::new(BIN)),
        plan = q(&plan),
        root = q(&lab.root()),
        ldif = q(&lab.ldif()),
        svc = q(&lab.services()),
    );
    in_namespace(&script).status(0);
    let applied = std::fs::read_to_string(&after_apply).unwrap();
    assert!(
        applied.contains("10.40.7.131\tmail.corp.example"),
        "{applied}"
    );
    // Written through the mount, into the same inode, then restored.
    assert_eq!(std::fs::metadata(&outer).unwrap().ino(), inode);
    assert_eq!(
        std::fs::read(&outer).unwrap(),
        std::fs::read(fixture().join("root/etc/hosts")).unwrap()
    );
    let mut now = lab.snapshot();
    now.retain(|k, _| k != "hosts-after-apply");
    assert_same(
        &reference,
        &now,
        "bind-mounted hosts, applied and rolled back",
    );
}

/// The extended attributes of a file: name → value.
fn xattrs_of(p: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let mut names = vec![0u8; 4096];
    // SAFETY: the path is NUL-terminated; the buffer's length is passed.
    let n = unsafe { libc::listxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    assert!(n >= 0, "listxattr: {}", std::io::Error::last_os_error());
    names.truncate(n as usize);
    let mut out = std::collections::BTreeMap::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let cn = std::ffi::CString::new(name).unwrap();
        let mut v = vec![0u8; 4096];
        // SAFETY: as above.
        let len =
            unsafe { libc::getxattr(c.as_ptr(), cn.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
        assert!(len >= 0);
        v.truncate(len as usize);
        out.insert(String::from_utf8_lossy(name).into_owned(), v);
    }
    out
}

/// Sets an extended attribute; false when the file system has none.
fn set_xattr(p: &Path, name: &str, value: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    // SAFETY: both strings are NUL-terminated; the value's length is passed.
    unsafe {
        libc::setxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        ) == 0
    }
}

/// A POSIX ACL as the kernel stores it (`system.posix_acl_access`): the
/// owner rw, user 4242 r, the group r, mask r, others nothing.
fn acl() -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 4, 4242),
        (0x04, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}

#[test]
fn acls_xattrs_and_hard_links_survive_apply_and_rollback() {
    let lab = Lab::new();
    let hosts = lab.host("/etc/hosts");
    let link = lab.host("/etc/hosts.hardlink");
    std::fs::hard_link(&hosts, &link).unwrap();
    if !set_xattr(&hosts, "user.zmreip-test", b"kept") {
        eprintln!(
            "SKIPPED: the file system of {} has no extended attributes",
            hosts.display()
        );
        return;
    }
    let with_acl = set_xattr(&hosts, "system.posix_acl_access", &acl());
    if !with_acl {
        eprintln!("note: no POSIX ACLs on this file system; user attributes only");
    }
    let before = xattrs_of(&hosts);
    let reference = lab.snapshot();
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    // Written through its inode: both names see the new content, the
    // attributes and ACL stay.
    let now = std::fs::read_to_string(&hosts).unwrap();
    assert!(now.contains("10.40.7.131\tmail.corp.example"), "{now}");
    assert_eq!(std::fs::read_to_string(&link).unwrap(), now);
    assert_eq!(std::fs::metadata(&hosts).unwrap().nlink(), 2);
    assert_eq!(xattrs_of(&hosts), before);
    if with_acl {
        assert!(before.contains_key("system.posix_acl_access"), "{before:?}");
    }
    // Other files (renamed over) keep theirs too.
    let lc = lab.host("/opt/zimbra/conf/localconfig.xml");
    lab.rollback().ok();
    assert_same(&reference, &lab.snapshot(), "rolled back");
    assert_eq!(xattrs_of(&hosts), before);
    assert_eq!(std::fs::metadata(&link).unwrap().nlink(), 2);

    // A file renamed over keeps its attributes, and rollback restores
    // exactly the recorded ones.
    assert!(set_xattr(&lc, "user.zmreip-test", b"lc"));
    let lc_before = xattrs_of(&lc);
    lab.apply(&plan).ok();
    assert_eq!(xattrs_of(&lc), lc_before);
    assert!(set_xattr(&lc, "user.added-later", b"x"));
    lab.rollback().arg("--force").ok();
    assert_eq!(xattrs_of(&lc), lc_before);
}
