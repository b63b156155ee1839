//! File operations of a transaction, every one inside the root
//! ([`crate::confine`]): resolving a file's symlinks, capturing its state
//! (bytes, owner, mode, extended attributes) before its first write,
//! atomic replacement that keeps owner, mode, ACLs and extended
//! attributes, and restoring a captured state byte for byte.
//!
//! A replacement is a temporary file in the same directory, fsynced,
//! renamed over the file, then the directory fsynced: a crash leaves the
//! old file or the new one, never a mix. Two kinds of file cannot be
//! renamed over and are rewritten in place instead (their journal backup
//! covers the short window in which they are incomplete): a file that is
//! itself a mount point (a bind-mounted /etc/hosts in a container: EBUSY),
//! and a file with hard links (a rename would leave the other names with
//! the old content).
//!
//! Extended attributes, and with them POSIX ACLs
//! (`system.posix_acl_access`) and SELinux labels, are copied to the new
//! file; a restore puts back exactly those the backup recorded.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::confine::{self, Root};

/// The largest file a step reads whole (an LDIF export may be large;
/// beyond this it is a mistake or an attack).
pub const CAPTURE_CAP: u64 = 4 << 30;

/// The two roots a run's files live in: the host's (`--root`) and this
/// machine's `/` (an LDIF export given with `--ldif` is a local file).
#[derive(Debug)]
pub struct Roots {
    pub host: Root,
    pub local: Root,
}

impl Roots {
    pub fn open(root: &Path) -> io::Result<Roots> {
        Ok(Roots {
            host: Root::open(root)?,
            local: Root::open(Path::new("/"))?,
        })
    }
}

/// One extended attribute: name and value.
pub type Xattr = (String, Vec<u8>);

/// Who owns a file, its mode and its extended attributes: what a write
/// keeps and a restore puts back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits including setuid, setgid and sticky (`0o7777`).
    pub mode: u32,
    /// The extended attributes to set (ACLs among them); `None`: those
    /// the file has now.
    pub xattrs: Option<Vec<Xattr>>,
}

/// A file as it was: enough to put it back exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub bytes: Vec<u8>,
    pub owner: Owner,
}

/// Where a path leads: the file that holds the bytes and, when the path
/// itself is a symlink, what the link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The host path of the regular file to read and write, every symlink
    /// resolved inside the root (the path itself when it is no symlink).
    pub file: String,
    /// The link text of the path (`readlink`), when it is a symlink.
    pub link: Option<PathBuf>,
}

/// Follows symlinks from host path `path` the way the host would see
/// them, inside the root.
pub fn resolve(root: &Root, path: &str) -> io::Result<Resolved> {
    Ok(Resolved {
        link: root.read_link(path)?,
        file: root.canonical(path)?,
    })
}

/// Reads a regular file's bytes, owner, mode and extended attributes
/// (following symlinks inside the root). A FIFO, a device or a file
/// larger than [`CAPTURE_CAP`] is refused.
pub fn capture(root: &Root, file: &str) -> io::Result<FileState> {
    let (mut f, st) = root
        .open_regular(file, CAPTURE_CAP)?
        .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    let mut bytes = Vec::with_capacity(st.size() as usize);
    f.read_to_end(&mut bytes)?;
    Ok(FileState {
        bytes,
        owner: Owner {
            uid: st.uid(),
            gid: st.gid(),
            mode: st.mode(),
            xattrs: Some(xattrs(&f)?),
        },
    })
}

/// Checks without changing anything that `file` could be written: it
/// opens for writing (an immutable file, a read-only mount or missing
/// permission fail here, before any step runs).
pub fn check_writable(root: &Root, file: &str) -> io::Result<()> {
    let st = root
        .stat(file)?
        .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    if !st.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("is {}, not a regular file", st.kind()),
        ));
    }
    root.open_at(file, libc::O_WRONLY | libc::O_NONBLOCK)
        .map(drop)
}

/// How a file was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Temporary file renamed over the old one (atomic).
    Renamed,
    /// Rewritten in place: the file is a mount point (EBUSY), or has
    /// hard links.
    InPlace,
}

/// Replaces the regular file at host path `file` (no symlink: give the
/// resolved path) with `bytes`, kept as `owner` says, atomically (see the
/// module doc). On error the file is unchanged (or, for the in-place
/// fallback, possibly incomplete: the caller restores it from its backup)
/// and no temporary file is left behind.
pub fn write_atomic(root: &Root, file: &str, bytes: &[u8], owner: &Owner) -> io::Result<Written> {
    let (dir, name) = root.parent(file)?;
    let current = match dir.lstat(&name)? {
        Some(st) if st.is_file() => Some(st),
        Some(st) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("is {}, not a regular file", st.kind()),
            ));
        }
        None => None,
    };
    let xattrs = match &owner.xattrs {
        Some(x) => x.clone(),
        None if current.is_some() => {
            xattrs(&dir.open(&name, libc::O_RDONLY | libc::O_NONBLOCK, 0)?)?
        }
        None => Vec::new(),
    };
    if current.is_some_and(|st| st.nlink() > 1) {
        write_in_place(&dir, &name, bytes, owner, &xattrs)?;
        return Ok(Written::InPlace);
    }
    let tmp = temp_name(&name);
    let result =
        write_temp(&dir, &tmp, bytes, owner, &xattrs).and_then(|()| dir.rename(&tmp, &name));
    match result {
        Ok(()) => {
            dir.sync()?;
            Ok(Written::Renamed)
        }
        Err(e) => {
            let _ = dir.unlink(&tmp);
            if e.kind() == io::ErrorKind::ResourceBusy {
                write_in_place(&dir, &name, bytes, owner, &xattrs)?;
                Ok(Written::InPlace)
            } else {
                Err(e)
            }
        }
    }
}

/// Rewrites a file through its existing inode: write from the start, cut
/// to length, fsync. Used only where rename is impossible or wrong.
fn write_in_place(
    dir: &confine::Dir,
    name: &str,
    bytes: &[u8],
    owner: &Owner,
    xattrs: &[Xattr],
) -> io::Result<()> {
    let mut f = dir.open(name, libc::O_WRONLY | libc::O_NONBLOCK, 0)?;
    f.write_all(bytes)?;
    f.set_len(bytes.len() as u64)?;
    set_owner_mode(&f, owner)?;
    set_xattrs(&f, xattrs, true)?;
    f.sync_all()
}

fn write_temp(
    dir: &confine::Dir,
    tmp: &str,
    bytes: &[u8],
    owner: &Owner,
    xattrs: &[Xattr],
) -> io::Result<()> {
    let mut f = dir.open(tmp, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600)?;
    f.write_all(bytes)?;
    set_owner_mode(&f, owner)?;
    set_xattrs(&f, xattrs, false)?;
    f.sync_all()
}

/// Owner first: chown clears setuid/setgid bits, so the mode comes after.
fn set_owner_mode(f: &File, owner: &Owner) -> io::Result<()> {
    let st = confine::fstat(f)?;
    if st.uid() != owner.uid || st.gid() != owner.gid {
        std::os::unix::fs::fchown(f, Some(owner.uid), Some(owner.gid))?;
    }
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(owner.mode))
}

/// The extended attributes of an open file (ACLs, SELinux label, user
/// attributes).
pub fn xattrs(f: &File) -> io::Result<Vec<Xattr>> {
    let fd = f.as_raw_fd();
    // SAFETY: a null buffer of size 0 asks for the size.
    let n = unsafe { libc::flistxattr(fd, std::ptr::null_mut(), 0) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if unsupported(&e) {
            Ok(Vec::new())
        } else {
            Err(e)
        };
    }
    let mut names = vec![0u8; n as usize];
    // SAFETY: the buffer's length is passed.
    let n = unsafe { libc::flistxattr(fd, names.as_mut_ptr().cast(), names.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    names.truncate(n as usize);
    let mut out = Vec::new();
    for raw in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = CString::new(raw).expect("split at NUL");
        // SAFETY: as above, asking for the size.
        let len = unsafe { libc::fgetxattr(fd, name.as_ptr(), std::ptr::null_mut(), 0) };
        if len < 0 {
            continue;
        }
        let mut value = vec![0u8; len as usize];
        // SAFETY: the buffer's length is passed.
        let len =
            unsafe { libc::fgetxattr(fd, name.as_ptr(), value.as_mut_ptr().cast(), value.len()) };
        if len < 0 {
            continue;
        }
        value.truncate(len as usize);
        out.push((String::from_utf8_lossy(raw).into_owned(), value));
    }
    out.sort();
    Ok(out)
}

fn unsupported(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOTSUP) || e.raw_os_error() == Some(libc::EOPNOTSUPP)
}

/// Sets exactly `xattrs` on an open file; with `remove_others`, removes
/// the attributes it has besides them (an in-place write or restore).
/// A file system without extended attributes has none to keep; a
/// security label the kernel refuses to set (no SELinux here) is left to
/// the kernel's default.
fn set_xattrs(f: &File, xattrs: &[Xattr], remove_others: bool) -> io::Result<()> {
    let fd = f.as_raw_fd();
    if remove_others {
        for (name, _) in self::xattrs(f)? {
            if xattrs.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let c = CString::new(name.as_bytes()).map_err(io::Error::other)?;
            // SAFETY: the fd is open and `c` NUL-terminated.
            if unsafe { libc::fremovexattr(fd, c.as_ptr()) } < 0 {
                let e = io::Error::last_os_error();
                if !name.starts_with("security.") && !unsupported(&e) {
                    return Err(e);
                }
            }
        }
    }
    for (name, value) in xattrs {
        let c = CString::new(name.as_bytes()).map_err(io::Error::other)?;
        // SAFETY: the fd is open, `c` NUL-terminated, the value's length
        // is passed.
        let r = unsafe { libc::fsetxattr(fd, c.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if !name.starts_with("security.") && !unsupported(&e) {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot keep the extended attribute {name}: {e}"),
                ));
            }
        }
    }
    Ok(())
}

/// Writes a new private file (a journal's; fails if it exists), mode
/// 0600: written whole to a temporary name, fsynced, then linked into
/// place without replacing anything, so that a crash or a full disk
/// leaves the file complete or absent, never truncated.
pub fn create_private(root: &Root, path: &str, bytes: &[u8]) -> io::Result<()> {
    let (dir, name) = root.parent(path)?;
    if dir.lstat(&name)?.is_some() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    let tmp = temp_name(&name);
    let result = (|| {
        let mut f = dir.open(&tmp, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        rename_noreplace(&dir, &tmp, &name)
    })();
    if result.is_err() {
        let _ = dir.unlink(&tmp);
    }
    result?;
    dir.sync()
}

/// `renameat2(RENAME_NOREPLACE)`: fails if `to` exists.
fn rename_noreplace(dir: &confine::Dir, from: &str, to: &str) -> io::Result<()> {
    let (a, b) = (
        CString::new(from).map_err(io::Error::other)?,
        CString::new(to).map_err(io::Error::other)?,
    );
    let fd = dir_fd(dir)?;
    // SAFETY: the fd is open and both names NUL-terminated.
    let r = unsafe {
        libc::renameat2(
            fd.as_raw_fd(),
            a.as_ptr(),
            fd.as_raw_fd(),
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A directory's handle, for calls [`confine::Dir`] does not wrap.
fn dir_fd(dir: &confine::Dir) -> io::Result<File> {
    dir.open(".", libc::O_PATH | libc::O_DIRECTORY, 0)
}

/// Replaces a journal file atomically, mode 0600, owned by this process.
pub fn replace_private(root: &Root, path: &str, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let owner = Owner {
        uid,
        gid,
        mode: 0o600,
        xattrs: Some(Vec::new()),
    };
    write_atomic(root, path, bytes, &owner).map(drop)
}

/// [`replace_private`] for a file of this machine named by a local path
/// (zmreip's own state and plan files, outside any `--root`).
pub fn replace_private_local(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_private(&Root::open(Path::new("/"))?, &local(path)?, bytes)
}

/// [`create_private_dir`] for a directory of this machine.
pub fn create_private_dir_local(path: &Path) -> io::Result<()> {
    create_private_dir(&Root::open(Path::new("/"))?, &local(path)?)
}

/// A local path as a path in this machine's root.
fn local(path: &Path) -> io::Result<String> {
    Ok(std::path::absolute(path)?.to_string_lossy().into_owned())
}

/// Creates one directory (its parent must exist) with mode 0700 and
/// fsyncs the parent so the new entry survives a crash. An existing
/// directory is left as it is.
pub fn create_private_dir(root: &Root, path: &str) -> io::Result<()> {
    let (dir, name) = root.parent(path)?;
    if !dir.mkdir(&name, 0o700)? {
        return Ok(());
    }
    // The umask may have taken bits away; 0700 is what principle 8 asks.
    let f = dir.open(&name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o700))?;
    dir.sync()
}

/// The prefix of every temporary file zmreip makes beside a file:
/// `.NAME.zmreip-PID-N.tmp`, hidden and skipped by the daemons that read
/// whole directories (dnsmasq.d, netplan want `*.yaml`).
fn temp_name(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(".{name}.zmreip-{}-{n}.tmp", std::process::id())
}

/// Whether `candidate` is one of zmreip's temporary files for `name`.
fn is_temp_of(candidate: &str, name: &str) -> bool {
    candidate
        .strip_prefix('.')
        .and_then(|c| c.strip_prefix(name))
        .is_some_and(temp_tail)
}

/// Whether `candidate` is a temporary file of zmreip for any name.
fn is_temp(candidate: &str) -> bool {
    candidate.strip_prefix('.').is_some_and(|c| {
        c.match_indices(".zmreip-")
            .any(|(i, _)| i > 0 && temp_tail(&c[i..]))
    })
}

/// `.zmreip-PID-N.tmp`.
fn temp_tail(rest: &str) -> bool {
    let Some(rest) = rest
        .strip_prefix(".zmreip-")
        .and_then(|c| c.strip_suffix(".tmp"))
    else {
        return false;
    };
    let mut parts = rest.split('-');
    let (Some(pid), Some(n), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    [pid, n]
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes the temporary files an interrupted zmreip (`kill -9`, a power
/// cut) left beside the file at host path `file`; the caller holds the
/// lock, so no running zmreip owns them. Returns their host paths.
pub fn remove_stale_temps(root: &Root, file: &str) -> io::Result<Vec<String>> {
    let (dir, name) = match root.parent(file) {
        Ok(x) => x,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for candidate in dir.names()? {
        if is_temp_of(&candidate, &name)
            && dir
                .lstat(&candidate)?
                .is_some_and(|st| st.is_file() || st.is_symlink())
        {
            dir.unlink(&candidate)?;
            removed.push(dir.host_of(&candidate));
        }
    }
    if !removed.is_empty() {
        dir.sync()?;
    }
    Ok(removed)
}

/// Removes every temporary file of zmreip in the directory at host path
/// `dir` (a run's journal directory). Returns their host paths.
pub fn remove_temps_in(root: &Root, dir: &str) -> io::Result<Vec<String>> {
    let w = root.walk(dir, true)?;
    let d = match w.name {
        Some(name) => match w.dir.lstat(&name)? {
            Some(st) if st.is_dir() => {
                let (d, _) = root.parent(&format!("{}/x", w.dir.host_of(&name)))?;
                d
            }
            _ => return Ok(Vec::new()),
        },
        None => w.dir,
    };
    let mut removed = Vec::new();
    for candidate in d.names()? {
        if is_temp(&candidate)
            && d.lstat(&candidate)?
                .is_some_and(|st| st.is_file() || st.is_symlink())
        {
            d.unlink(&candidate)?;
            removed.push(d.host_of(&candidate));
        }
    }
    Ok(removed)
}

/// Makes host path `path` a symlink saying `target`, replacing whatever
/// is there atomically.
pub fn set_symlink(root: &Root, path: &str, target: &Path) -> io::Result<()> {
    let (dir, name) = root.parent(path)?;
    if dir.lstat(&name)?.is_some_and(|st| st.is_symlink()) && dir.read_link(&name)? == target {
        return Ok(());
    }
    let tmp = temp_name(&name);
    dir.symlink(target, &tmp)?;
    if let Err(e) = dir.rename(&tmp, &name) {
        let _ = dir.unlink(&tmp);
        return Err(e);
    }
    dir.sync()
}

/// The state of a file compared with a captured one, for an undo: same
/// bytes, owner, mode and (when recorded) extended attributes.
pub fn same_state(root: &Root, file: &str, bytes: &[u8], owner: &Owner) -> bool {
    capture(root, file).is_ok_and(|st| {
        st.bytes == bytes
            && st.owner.uid == owner.uid
            && st.owner.gid == owner.gid
            && st.owner.mode == owner.mode
            && owner
                .xattrs
                .as_ref()
                .is_none_or(|x| st.owner.xattrs.as_ref() == Some(x))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;

    fn mode_of(p: &Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o7777
    }

    fn root(d: &Path) -> Root {
        Root::open(d).unwrap()
    }

    #[test]
    fn atomic_write_keeps_mode_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("hosts");
        fs::write(&f, "old\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
        let r = root(d.path());
        let st = capture(&r, "/hosts").unwrap();
        assert_eq!(st.owner.mode, 0o640);
        let how = write_atomic(&r, "/hosts", b"new\n", &st.owner).unwrap();
        assert_eq!(how, Written::Renamed);
        assert_eq!(fs::read(&f).unwrap(), b"new\n");
        assert_eq!(mode_of(&f), 0o640);
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn setuid_bit_survives_owner_change() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("x"), "a").unwrap();
        let r = root(d.path());
        let mut st = capture(&r, "/x").unwrap();
        st.owner.mode = 0o4755;
        write_atomic(&r, "/x", b"b", &st.owner).unwrap();
        assert_eq!(mode_of(&d.path().join("x")), 0o4755);
    }

    #[test]
    fn extended_attributes_and_hard_links_are_kept() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("hosts");
        fs::write(&f, "old\n").unwrap();
        fs::hard_link(&f, d.path().join("hosts.link")).unwrap();
        let r = root(d.path());
        let file = fs::File::open(&f).unwrap();
        let name = CString::new("user.zmreip-test").unwrap();
        // SAFETY: the fd is open and the strings NUL-terminated.
        let set = unsafe {
            libc::fsetxattr(file.as_raw_fd(), name.as_ptr(), b"v1".as_ptr().cast(), 2, 0)
        };
        let has_xattrs = set == 0;
        let before = capture(&r, "/hosts").unwrap();
        // A hard-linked file is written in place: both names see it.
        let how = write_atomic(
            &r,
            "/hosts",
            b"new\n",
            &Owner {
                xattrs: None,
                ..before.owner.clone()
            },
        )
        .unwrap();
        assert_eq!(how, Written::InPlace);
        assert_eq!(fs::read(d.path().join("hosts.link")).unwrap(), b"new\n");
        fs::remove_file(d.path().join("hosts.link")).unwrap();
        // Renamed now (one link left); the attributes come along.
        let how = write_atomic(
            &r,
            "/hosts",
            b"newer\n",
            &Owner {
                xattrs: None,
                ..before.owner.clone()
            },
        )
        .unwrap();
        assert_eq!(how, Written::Renamed);
        let after = capture(&r, "/hosts").unwrap();
        assert_eq!(after.owner.xattrs, before.owner.xattrs);
        if has_xattrs {
            assert!(
                after
                    .owner
                    .xattrs
                    .as_ref()
                    .unwrap()
                    .iter()
                    .any(|(n, v)| n == "user.zmreip-test" && v == b"v1"),
                "{:?}",
                after.owner.xattrs
            );
            // A restore sets exactly what was recorded.
            let none = Owner {
                xattrs: Some(Vec::new()),
                ..before.owner.clone()
            };
            write_atomic(&r, "/hosts", b"x", &none).unwrap();
            assert_eq!(
                capture(&r, "/hosts").unwrap().owner.xattrs,
                Some(Vec::new())
            );
            assert!(!same_state(&r, "/hosts", b"x", &before.owner));
            assert!(same_state(&r, "/hosts", b"x", &none));
        }
    }

    #[test]
    fn resolve_follows_relative_and_root_relative_links() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        fs::create_dir_all(dir.join("etc")).unwrap();
        fs::create_dir_all(dir.join("run")).unwrap();
        fs::write(dir.join("run/hosts"), "x").unwrap();
        std::os::unix::fs::symlink("/run/hosts", dir.join("etc/hosts")).unwrap();
        std::os::unix::fs::symlink("hosts", dir.join("etc/hosts2")).unwrap();
        let r = root(dir);
        let got = resolve(&r, "/etc/hosts").unwrap();
        assert_eq!(got.file, "/run/hosts");
        assert_eq!(got.link.as_deref(), Some(Path::new("/run/hosts")));
        // A chain: hosts2 -> hosts -> /run/hosts; the first link is kept.
        let got = resolve(&r, "/etc/hosts2").unwrap();
        assert_eq!(got.file, "/run/hosts");
        assert_eq!(got.link.as_deref(), Some(Path::new("hosts")));
        let got = resolve(&r, "/run/hosts").unwrap();
        assert_eq!(got.link, None);
    }

    #[test]
    fn link_loop_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("b", d.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a", d.path().join("b")).unwrap();
        assert!(resolve(&root(d.path()), "/a").is_err());
    }

    #[test]
    fn capture_refuses_a_directory_and_a_fifo() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("dir")).unwrap();
        let fifo = CString::new(d.path().join("fifo").as_os_str().as_bytes()).unwrap();
        // SAFETY: the path is NUL-terminated.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let r = root(d.path());
        let e = capture(&r, "/dir").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::IsADirectory);
        let e = capture(&r, "/fifo").unwrap_err();
        assert!(confine::Refusal::of(&e).is_some(), "{e}");
        assert!(check_writable(&r, "/fifo").is_err());
    }

    #[test]
    fn set_symlink_replaces_a_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("hosts");
        fs::write(&p, "plain file").unwrap();
        set_symlink(&root(d.path()), "/hosts", Path::new("hosts.real")).unwrap();
        assert_eq!(fs::read_link(&p).unwrap(), Path::new("hosts.real"));
    }

    #[test]
    fn private_dirs_and_files_are_0700_and_0600() {
        let d = tempfile::tempdir().unwrap();
        let r = root(d.path());
        create_private_dir(&r, "/runs").unwrap();
        create_private_dir(&r, "/runs").unwrap();
        assert_eq!(mode_of(&d.path().join("runs")), 0o700);
        assert!(create_private_dir(&r, "/no/such").is_err());
        create_private(&r, "/runs/state", b"running\n").unwrap();
        let f = d.path().join("runs/state");
        assert_eq!(mode_of(&f), 0o600);
        assert!(
            create_private(&r, "/runs/state", b"again").is_err(),
            "create_private must not overwrite"
        );
        replace_private(&r, "/runs/state", b"applied\n").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"applied\n");
        assert_eq!(mode_of(&f), 0o600);
        assert_eq!(fs::read_dir(d.path().join("runs")).unwrap().count(), 1);
    }

    #[test]
    fn stale_temporary_files_are_recognised_and_removed() {
        let cases = [
            (".hosts.zmreip-123-0.tmp", true),
            (".hosts.zmreip-1-17.tmp", true),
            (".hosts.zmreip-x-0.tmp", false),
            (".hosts.zmreip-1-0-2.tmp", false),
            (".hosts.zmreip--0.tmp", false),
            (".hosts2.zmreip-1-0.tmp", false),
            ("hosts.zmreip-1-0.tmp", false),
            (".hosts.zmreip-1-0.tmp~", false),
        ];
        for (name, want) in cases {
            assert_eq!(is_temp_of(name, "hosts"), want, "{name}");
        }
        let d = tempfile::tempdir().unwrap();
        for (name, _) in cases {
            fs::write(d.path().join(name), "x").unwrap();
        }
        fs::write(d.path().join("hosts"), "x").unwrap();
        let removed = remove_stale_temps(&root(d.path()), "/hosts").unwrap();
        assert_eq!(
            removed,
            ["/.hosts.zmreip-1-17.tmp", "/.hosts.zmreip-123-0.tmp"]
        );
        let left = fs::read_dir(d.path()).unwrap().count();
        assert_eq!(left, cases.len() - 2 + 1);
    }
}
