//! File operations of a transaction: resolving symlinks inside `--root`,
//! capturing a file's state (bytes, owner, mode, symlink) before its first
//! write, atomic replacement that keeps owner and mode, and restoring a
//! captured state byte for byte.
//!
//! A replacement is a temporary file in the same directory, fsynced,
//! renamed over the file, then the directory fsynced: a crash leaves the
//! old file or the new one, never a mix. A file that is itself a mount
//! point (a bind-mounted /etc/hosts in a container) cannot be renamed over
//! (EBUSY); it is rewritten in place instead, and the journal's backup
//! covers the short window in which it is incomplete.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Symlink hops followed before giving up (the kernel's limit).
const MAX_LINKS: usize = 40;

/// A file as it was: enough to put it back exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub bytes: Vec<u8>,
    pub uid: u32,
    pub gid: u32,
    /// Permission bits including setuid, setgid and sticky (`0o7777`).
    pub mode: u32,
}

/// Where a path leads: the file that holds the bytes and, when the path
/// itself is a symlink, what the link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The regular file to read and write (the path itself when it is not
    /// a symlink).
    pub file: PathBuf,
    /// The link text of the path (`readlink`), when it is a symlink.
    pub link: Option<PathBuf>,
}

/// Follows symlinks from `path` the way the host would see them: an
/// absolute link target is taken relative to `root` (a snapshot's
/// `/etc/hosts -> /run/hosts` must not escape into this machine's /run).
pub fn resolve(root: &Path, path: &Path) -> io::Result<Resolved> {
    let mut cur = path.to_path_buf();
    let mut first_link = None;
    for _ in 0..MAX_LINKS {
        let meta = match fs::symlink_metadata(&cur) {
            Ok(m) => m,
            // A dangling link or a missing file: the caller reports it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Resolved {
                    file: cur,
                    link: first_link,
                });
            }
            Err(e) => return Err(e),
        };
        if !meta.file_type().is_symlink() {
            return Ok(Resolved {
                file: cur,
                link: first_link,
            });
        }
        let target = fs::read_link(&cur)?;
        if first_link.is_none() {
            first_link = Some(target.clone());
        }
        cur = if target.is_absolute() {
            under_root(root, &target)
        } else {
            cur.parent().unwrap_or(Path::new("/")).join(&target)
        };
    }
    Err(io::Error::other(format!(
        "more than {MAX_LINKS} symlinks in a row"
    )))
}

/// `target` (absolute, a host path) as a path under `root`.
pub fn under_root(root: &Path, target: &Path) -> PathBuf {
    let mut out = root.to_path_buf();
    for c in target.components() {
        if let Component::Normal(n) = c {
            out.push(n);
        }
    }
    out
}

/// Reads a regular file's bytes, owner and mode (following symlinks).
pub fn capture(file: &Path) -> io::Result<FileState> {
    let meta = fs::metadata(file)?;
    if meta.is_dir() {
        return Err(io::Error::from(io::ErrorKind::IsADirectory));
    }
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(FileState {
        bytes: fs::read(file)?,
        uid: meta.uid(),
        gid: meta.gid(),
        mode: meta.mode() & 0o7777,
    })
}

/// Checks without changing anything that `file` could be written: it
/// opens for writing (an immutable file, a read-only mount or missing
/// permission fail here, before any step runs).
pub fn check_writable(file: &Path) -> io::Result<()> {
    OpenOptions::new().write(true).open(file).map(drop)
}

/// How a file was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Temporary file renamed over the old one (atomic).
    Renamed,
    /// Rewritten in place because the file is a mount point (EBUSY).
    InPlace,
}

/// Replaces `file` with `bytes`, owned by `uid:gid` with `mode`, atomically
/// (see the module doc). On error the file is unchanged (or, for the
/// in-place fallback, possibly incomplete: the caller restores it from its
/// backup) and no temporary file is left behind.
pub fn write_atomic(
    file: &Path,
    bytes: &[u8],
    uid: u32,
    gid: u32,
    mode: u32,
) -> io::Result<Written> {
    let dir = parent(file);
    let tmp = temp_name(file);
    let result =
        write_temp(&tmp, file, bytes, uid, gid, mode).and_then(|()| fs::rename(&tmp, file));
    match result {
        Ok(()) => {
            sync_dir(&dir)?;
            Ok(Written::Renamed)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            if e.kind() == io::ErrorKind::ResourceBusy {
                write_in_place(file, bytes, uid, gid, mode)?;
                Ok(Written::InPlace)
            } else {
                Err(e)
            }
        }
    }
}

/// Rewrites a file through its existing inode: write from the start, cut
/// to length, fsync. Used only where rename is impossible.
fn write_in_place(file: &Path, bytes: &[u8], uid: u32, gid: u32, mode: u32) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(file)?;
    f.write_all(bytes)?;
    f.set_len(bytes.len() as u64)?;
    set_owner_mode(&f, uid, gid, mode)?;
    f.sync_all()
}

fn write_temp(
    tmp: &Path,
    file: &Path,
    bytes: &[u8],
    uid: u32,
    gid: u32,
    mode: u32,
) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)?;
    f.write_all(bytes)?;
    set_owner_mode(&f, uid, gid, mode)?;
    copy_selinux_label(file, &f);
    f.sync_all()
}

/// Owner first: chown clears setuid/setgid bits, so the mode comes after.
fn set_owner_mode(f: &File, uid: u32, gid: u32, mode: u32) -> io::Result<()> {
    let meta = f.metadata()?;
    if meta.uid() != uid || meta.gid() != gid {
        std::os::unix::fs::fchown(f, Some(uid), Some(gid))?;
    }
    f.set_permissions(fs::Permissions::from_mode(mode))
}

/// Gives the new file the SELinux label of the one it replaces (a file
/// created in /etc gets `etc_t`, but /etc/hosts is `net_conf_t`). Hosts
/// without SELinux have no label; nothing to do then.
fn copy_selinux_label(from: &Path, to: &File) {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    const NAME: &[u8] = b"security.selinux\0";
    let Ok(path) = CString::new(from.as_os_str().as_bytes()) else {
        return;
    };
    let mut buf = [0u8; 256];
    // SAFETY: both strings are NUL-terminated; the buffer length is passed.
    let n = unsafe {
        libc::getxattr(
            path.as_ptr(),
            NAME.as_ptr().cast(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n > 0 {
        // SAFETY: the fd is open; `n` bytes of `buf` were filled above.
        unsafe {
            libc::fsetxattr(
                to.as_raw_fd(),
                NAME.as_ptr().cast(),
                buf.as_ptr().cast(),
                n as usize,
                0,
            );
        }
    }
}

/// Writes a new file of the journal (fails if it exists), mode 0600,
/// fsynced with its directory.
pub fn create_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    sync_dir(&parent(path))
}

/// Replaces a journal file atomically, mode 0600, owned by this process.
pub fn replace_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    write_atomic(path, bytes, uid, gid, 0o600).map(drop)
}

/// Creates one directory (its parent must exist) with mode 0700 and
/// fsyncs the parent so the new entry survives a crash. An existing
/// directory is left as it is.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    match fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => return Ok(()),
        Err(e) => return Err(e),
    }
    // The umask may have taken bits away; 0700 is what principle 8 asks.
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    sync_dir(&parent(path))
}

/// Makes a directory's entries (a rename, a new file) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.NAME.zmreip-PID-N.tmp` beside the file: hidden, and skipped by the
/// daemons that read whole directories (dnsmasq.d, netplan want `*.yaml`).
fn temp_name(file: &Path) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = N.fetch_add(1, Ordering::Relaxed);
    parent(file).join(format!(".{name}.zmreip-{}-{n}.tmp", std::process::id()))
}

/// Makes `path` a symlink saying `target`, replacing whatever is there
/// atomically.
pub fn set_symlink(path: &Path, target: &Path) -> io::Result<()> {
    if fs::read_link(path).ok().as_deref() == Some(target) {
        return Ok(());
    }
    let tmp = temp_name(path);
    std::os::unix::fs::symlink(target, &tmp)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(&parent(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(p: &Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn atomic_write_keeps_mode_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("hosts");
        fs::write(&f, "old\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
        let st = capture(&f).unwrap();
        assert_eq!(st.mode, 0o640);
        let how = write_atomic(&f, b"new\n", st.uid, st.gid, st.mode).unwrap();
        assert_eq!(how, Written::Renamed);
        assert_eq!(fs::read(&f).unwrap(), b"new\n");
        assert_eq!(mode_of(&f), 0o640);
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn setuid_bit_survives_owner_change() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x");
        fs::write(&f, "a").unwrap();
        let st = capture(&f).unwrap();
        write_atomic(&f, b"b", st.uid, st.gid, 0o4755).unwrap();
        assert_eq!(mode_of(&f), 0o4755);
    }

    #[test]
    fn resolve_follows_relative_and_root_relative_links() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(root.join("run")).unwrap();
        fs::write(root.join("run/hosts"), "x").unwrap();
        std::os::unix::fs::symlink("/run/hosts", root.join("etc/hosts")).unwrap();
        std::os::unix::fs::symlink("hosts", root.join("etc/hosts2")).unwrap();
        let r = resolve(root, &root.join("etc/hosts")).unwrap();
        assert_eq!(r.file, root.join("run/hosts"));
        assert_eq!(r.link.as_deref(), Some(Path::new("/run/hosts")));
        // A chain: hosts2 -> hosts -> /run/hosts; the first link is kept.
        let r = resolve(root, &root.join("etc/hosts2")).unwrap();
        assert_eq!(r.file, root.join("run/hosts"));
        assert_eq!(r.link.as_deref(), Some(Path::new("hosts")));
        let r = resolve(root, &root.join("run/hosts")).unwrap();
        assert_eq!(r.link, None);
    }

    #[test]
    fn link_loop_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("b", d.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a", d.path().join("b")).unwrap();
        assert!(resolve(d.path(), &d.path().join("a")).is_err());
    }

    #[test]
    fn capture_refuses_a_directory() {
        let d = tempfile::tempdir().unwrap();
        let e = capture(d.path()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::IsADirectory);
    }

    #[test]
    fn set_symlink_replaces_a_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("hosts");
        fs::write(&p, "plain file").unwrap();
        set_symlink(&p, Path::new("hosts.real")).unwrap();
        assert_eq!(fs::read_link(&p).unwrap(), Path::new("hosts.real"));
    }

    #[test]
    fn private_dirs_and_files_are_0700_and_0600() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("runs");
        create_private_dir(&dir).unwrap();
        create_private_dir(&dir).unwrap();
        assert_eq!(mode_of(&dir), 0o700);
        assert!(create_private_dir(&d.path().join("no/such")).is_err());
        let f = dir.join("state");
        create_private(&f, b"running\n").unwrap();
        assert_eq!(mode_of(&f), 0o600);
        assert!(
            create_private(&f, b"again").is_err(),
            "create_private must not overwrite"
        );
        replace_private(&f, b"applied\n").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"applied\n");
        assert_eq!(mode_of(&f), 0o600);
    }
}
