//! The root is a jail (DESIGN principle 10): every path zmreip reads or
//! writes on a host resolves inside `--root`, every component of it,
//! symlinks included, as the host itself would resolve it. A snapshot's
//! `/opt/zimbra -> /elsewhere/zimbra`, `/etc/hosts -> /run/hosts` or
//! `conf-file=../../etc/shadow` leads to the snapshot's own
//! `/elsewhere/zimbra`, `/run/hosts` and `/etc/shadow`, never to this
//! machine's: an absolute link starts again at the root and `..` stops
//! there.
//!
//! Files are opened with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`
//! where the kernel has it (Linux 5.6); elsewhere, and wherever zmreip must
//! see the links themselves (a write keeps a symlink and replaces its
//! target), the same resolution is a walk, one component at a time, each
//! opened relative to the directory before it without following links
//! (`O_NOFOLLOW`), so that a link swapped in half-way fails instead of
//! leading out.
//!
//! Input may be hostile: [`Root::read`] opens without blocking, reads
//! regular files only (a FIFO would hang, `/dev/zero` never ends, and
//! opening a device can have effects, so the file's kind is checked on a
//! handle that cannot have any, `O_PATH`, before it is opened for
//! reading) and at most a cap of bytes.

use std::collections::VecDeque;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The most bytes a configuration file may have. Real ones are far
/// smaller; a larger one is a mistake or an attack (a sparse file of
/// terabytes), and reading it would exhaust memory.
pub const READ_CAP: u64 = 64 << 20;

/// Symlinks followed in one resolution before giving up (the kernel's
/// limit).
const MAX_LINKS: usize = 40;

/// Set once the kernel said it has no `openat2` (older than 5.6, or a
/// seccomp filter that refuses it): the walk is used from then on.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a regular file: what it is instead (`a FIFO`, `a directory`).
    NotRegular(&'static str),
    /// Larger than the cap.
    TooLarge { size: u64, cap: u64 },
    /// Replaced by another file between the check and the open.
    Changed,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotRegular(kind) => write!(f, "is {kind}, not a regular file"),
            Refusal::TooLarge { size, cap } => write!(
                f,
                "is {} MiB, more than the {} MiB zmreip reads of a configuration file",
                size.div_ceil(1 << 20),
                cap >> 20
            ),
            Refusal::Changed => f.write_str("was replaced while zmreip opened it"),
        }
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// The refusal an I/O error carries, if it is one.
    pub fn of(e: &io::Error) -> Option<&Refusal> {
        e.get_ref().and_then(|x| x.downcast_ref::<Refusal>())
    }

    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            Refusal::NotRegular(_) => {
                "zmreip reads regular files only (never FIFOs, devices or sockets); put the real file there, or leave it out"
            }
            Refusal::TooLarge { .. } => {
                "a configuration file this large is a mistake; look at it, and remove or shorten it"
            }
            Refusal::Changed => "something is changing the files; run zmreip again when it is done",
        }
    }
}

/// A file's metadata, as `fstat` gives it.
#[derive(Debug, Clone, Copy)]
pub struct Stat(libc::stat);

impl Stat {
    pub fn is_file(&self) -> bool {
        self.0.st_mode & libc::S_IFMT == libc::S_IFREG
    }
    pub fn is_dir(&self) -> bool {
        self.0.st_mode & libc::S_IFMT == libc::S_IFDIR
    }
    pub fn is_symlink(&self) -> bool {
        self.0.st_mode & libc::S_IFMT == libc::S_IFLNK
    }
    pub fn size(&self) -> u64 {
        self.0.st_size as u64
    }
    pub fn uid(&self) -> u32 {
        self.0.st_uid
    }
    pub fn gid(&self) -> u32 {
        self.0.st_gid
    }
    /// Permission bits with setuid, setgid and sticky.
    pub fn mode(&self) -> u32 {
        self.0.st_mode & 0o7777
    }
    pub fn nlink(&self) -> u64 {
        self.0.st_nlink
    }
    /// Device and inode: the file's identity.
    pub fn id(&self) -> (u64, u64) {
        (self.0.st_dev, self.0.st_ino)
    }

    /// What a file of this kind is called in messages.
    pub fn kind(&self) -> &'static str {
        match self.0.st_mode & libc::S_IFMT {
            libc::S_IFREG => "a regular file",
            libc::S_IFDIR => "a directory",
            libc::S_IFLNK => "a symlink",
            libc::S_IFIFO => "a FIFO",
            libc::S_IFCHR => "a character device",
            libc::S_IFBLK => "a block device",
            libc::S_IFSOCK => "a socket",
            _ => "a special file",
        }
    }
}

fn cstr(s: impl AsRef<OsStr>) -> io::Result<CString> {
    CString::new(s.as_ref().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"))
}

fn fd_result(r: libc::c_int) -> io::Result<OwnedFd> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: a non-negative result of an open call is a new fd that
        // nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(r) })
    }
}

fn unit(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `fstat` of an open file.
pub fn fstat(fd: &impl AsRawFd) -> io::Result<Stat> {
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the fd is open and `st` is a valid out pointer.
    unit(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(Stat(st))
}

/// The components of a host path, in order (empty and `.` ones dropped;
/// `..` kept: the resolution decides where it leads).
fn components(path: &Path) -> impl Iterator<Item = &OsStr> {
    path.as_os_str()
        .as_bytes()
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(OsStr::from_bytes)
}

/// A directory inside a root, open, with its host path: what a write
/// needs to create, rename and remove names in it, and to see whether a
/// name is a symlink without following it.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    /// Its host path, symlinks resolved (`/` for the root itself).
    host: String,
}

impl Dir {
    /// The directory's host path, every symlink resolved.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host path of `name` in this directory.
    pub fn host_of(&self, name: &str) -> String {
        if self.host == "/" {
            format!("/{name}")
        } else {
            format!("{}/{name}", self.host)
        }
    }

    /// `lstat` of `name`: `None` when it does not exist.
    pub fn lstat(&self, name: &str) -> io::Result<Option<Stat>> {
        let c = cstr(name)?;
        // SAFETY: as in `fstat`.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: the fd is open, `c` is NUL-terminated, `st` is valid.
        let r = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        match unit(r) {
            Ok(()) => Ok(Some(Stat(st))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What the symlink `name` says.
    pub fn read_link(&self, name: &str) -> io::Result<PathBuf> {
        let c = cstr(name)?;
        let mut buf = vec![0u8; libc::PATH_MAX as usize];
        // SAFETY: the buffer's length is passed; the fd is open.
        let n = unsafe {
            libc::readlinkat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(n as usize);
        Ok(PathBuf::from(OsStr::from_bytes(&buf)))
    }

    /// Opens `name` in this directory, never following a symlink there.
    pub fn open(&self, name: &str, flags: libc::c_int, mode: u32) -> io::Result<File> {
        let c = cstr(name)?;
        let flags = if flags & libc::O_PATH != 0 {
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC
        } else {
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY
        };
        // SAFETY: the fd is open and `c` NUL-terminated.
        let fd = fd_result(unsafe {
            libc::openat(self.fd.as_raw_fd(), c.as_ptr(), flags, mode as libc::c_uint)
        })?;
        Ok(File::from(fd))
    }

    /// Renames `from` to `to`, both in this directory (replacing `to`).
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (a, b) = (cstr(from)?, cstr(to)?);
        let fd = self.fd.as_raw_fd();
        // SAFETY: the fd is open and both names NUL-terminated.
        unit(unsafe { libc::renameat(fd, a.as_ptr(), fd, b.as_ptr()) })
    }

    /// Removes the file `name`.
    pub fn unlink(&self, name: &str) -> io::Result<()> {
        let c = cstr(name)?;
        // SAFETY: the fd is open and `c` NUL-terminated.
        unit(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) })
    }

    /// Creates the symlink `name` saying `target`.
    pub fn symlink(&self, target: &Path, name: &str) -> io::Result<()> {
        let (t, n) = (cstr(target)?, cstr(name)?);
        // SAFETY: the fd is open and both strings NUL-terminated.
        unit(unsafe { libc::symlinkat(t.as_ptr(), self.fd.as_raw_fd(), n.as_ptr()) })
    }

    /// Creates the directory `name` with `mode`; an existing directory is
    /// no error.
    pub fn mkdir(&self, name: &str, mode: u32) -> io::Result<bool> {
        let c = cstr(name)?;
        // SAFETY: the fd is open and `c` NUL-terminated.
        match unit(unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), mode) }) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match self.lstat(name)? {
                Some(st) if st.is_dir() => Ok(false),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Makes the directory's entries (a rename, a new file) durable.
    pub fn sync(&self) -> io::Result<()> {
        self.reopen()?.sync_all()
    }

    /// The directory opened for reading (the walk holds `O_PATH` handles,
    /// which can neither be listed nor synced).
    fn reopen(&self) -> io::Result<File> {
        // SAFETY: the fd is open; "." is NUL-terminated.
        let fd = fd_result(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c".".as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        Ok(File::from(fd))
    }

    /// The names in the directory (without `.` and `..`), sorted.
    pub fn names(&self) -> io::Result<Vec<String>> {
        list_fd(self.reopen()?.into())
    }
}

/// The names of the directory open at `fd`, sorted.
fn list_fd(fd: OwnedFd) -> io::Result<Vec<String>> {
    use std::os::fd::IntoRawFd;
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` is an open directory fd whose ownership passes to the
    // stream (closedir closes it).
    let dirp = unsafe { libc::fdopendir(raw) };
    if dirp.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so `raw` is still ours to close.
        unsafe { libc::close(raw) };
        return Err(e);
    }
    let mut out = Vec::new();
    loop {
        // SAFETY: `dirp` is a valid stream until closedir below.
        let ent = unsafe { libc::readdir(dirp) };
        if ent.is_null() {
            break;
        }
        // SAFETY: readdir returned a valid entry whose name is
        // NUL-terminated.
        let name = unsafe { std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()) };
        let name = String::from_utf8_lossy(name.to_bytes()).into_owned();
        if name != "." && name != ".." {
            out.push(name);
        }
    }
    // SAFETY: `dirp` came from fdopendir and is closed once.
    unsafe { libc::closedir(dirp) };
    out.sort();
    Ok(out)
}

/// A host path resolved by a walk: the directory that holds the last
/// component, and that component (`None` when the path is the root).
#[derive(Debug)]
pub struct Walked {
    pub dir: Dir,
    pub name: Option<String>,
}

impl Walked {
    /// The host path it leads to.
    pub fn host(&self) -> String {
        match &self.name {
            Some(n) => self.dir.host_of(n),
            None => self.dir.host.clone(),
        }
    }
}

/// The host's file system under `--root`, open.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    /// Opens the directory `path` as a root.
    pub fn open(path: &Path) -> io::Result<Root> {
        let c = cstr(path)?;
        // SAFETY: `c` is NUL-terminated.
        let fd = fd_result(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The root as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Another handle on the same root.
    pub fn try_clone(&self) -> io::Result<Root> {
        Ok(Root {
            fd: self.fd.try_clone()?,
            path: self.path.clone(),
        })
    }

    /// Whether this root is this machine's own `/` (the same directory,
    /// however it was named).
    pub fn is_system_root(&self) -> bool {
        let slash = Root::open(Path::new("/")).and_then(|r| fstat(&r.fd));
        match (fstat(&self.fd), slash) {
            (Ok(a), Ok(b)) => a.id() == b.id(),
            _ => false,
        }
    }

    /// The path on this machine a host path names, for messages and for
    /// programs given a path (no symlink of it resolved: do not open it).
    pub fn shown(&self, host: &str) -> PathBuf {
        self.path.join(host.trim_start_matches('/'))
    }

    /// Opens a host path with `flags`, following every symlink inside the
    /// root.
    pub fn open_at(&self, host: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
        // openat2 refuses flags that mean nothing to an O_PATH handle.
        let flags = if flags & libc::O_PATH != 0 {
            flags | libc::O_CLOEXEC
        } else {
            flags | libc::O_CLOEXEC | libc::O_NOCTTY
        };
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            match self.openat2(host, flags) {
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                }
                // A rename elsewhere on the file system raced with the
                // resolution; the walk does not care.
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
                r => return r,
            }
        }
        self.open_walking(host, flags)
    }

    fn openat2(&self, host: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
        let rel = host.trim_start_matches('/');
        let c = cstr(if rel.is_empty() { "." } else { rel })?;
        // SAFETY: open_how is plain integers; all-zero is its default.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = flags as u64;
        how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
        // SAFETY: the fd is open, `c` NUL-terminated, `how` a valid
        // open_how whose size is passed.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        fd_result(r as libc::c_int)
    }

    /// [`Root::open_at`] by the walk.
    pub fn open_walking(&self, host: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
        let w = self.walk(host, true)?;
        let name = w.name.as_deref().unwrap_or(".");
        w.dir.open(name, flags, 0).map(OwnedFd::from)
    }

    /// Resolves a host path one component at a time inside the root:
    /// every directory on the way opened relative to the one before,
    /// never following a link by the kernel; a symlink's text is read and
    /// resolved in its place (absolute: from the root). The last
    /// component's symlinks are followed when `follow_last`. The last
    /// component need not exist.
    pub fn walk(&self, host: &str, follow_last: bool) -> io::Result<Walked> {
        self.walk_making(host, follow_last, None)
    }

    /// Makes the directory at a host path and every missing one on the
    /// way (`mkdir -p`, symlinks followed inside the root): the missing
    /// ones on the way get mode 0755, the last one `mode`. Returns it.
    pub fn create_dirs(&self, host: &str, mode: u32) -> io::Result<Dir> {
        let w = self.walk_making(host, true, Some(0o755))?;
        let Some(name) = w.name else {
            return Ok(w.dir);
        };
        if w.dir.mkdir(&name, mode)? {
            use std::os::unix::fs::PermissionsExt;
            let f = w.dir.open(&name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
            f.set_permissions(std::fs::Permissions::from_mode(mode))?;
            w.dir.sync()?;
        }
        let f = w.dir.open(&name, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        Ok(Dir {
            fd: f.into(),
            host: w.dir.host_of(&name),
        })
    }

    /// [`Root::walk`], making missing directories on the way with mode
    /// `make` when given.
    fn walk_making(&self, host: &str, follow_last: bool, make: Option<u32>) -> io::Result<Walked> {
        let dup = |fd: &OwnedFd| fd.try_clone();
        let mut stack: Vec<(OwnedFd, String)> = vec![(dup(&self.fd)?, String::new())];
        let mut todo: VecDeque<String> = components(Path::new(host))
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let mut links = 0;
        let mut last: Option<String> = None;
        while let Some(c) = todo.pop_front() {
            last = None;
            if c == ".." {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            let top = Dir {
                fd: dup(&stack.last().expect("the root stays").0)?,
                host: String::new(),
            };
            let is_last = todo.is_empty();
            match top.lstat(&c)? {
                None if is_last => {
                    last = Some(c);
                    break;
                }
                None => match make {
                    Some(mode) => {
                        top.mkdir(&c, mode)?;
                        let f = top.open(&c, libc::O_PATH | libc::O_DIRECTORY, 0)?;
                        stack.push((f.into(), c));
                    }
                    None => return Err(io::Error::from(io::ErrorKind::NotFound)),
                },
                Some(st) if st.is_symlink() && (follow_last || !is_last) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let target = top.read_link(&c)?;
                    if target.is_absolute() {
                        stack.truncate(1);
                    }
                    for part in components(&target).collect::<Vec<_>>().into_iter().rev() {
                        todo.push_front(part.to_string_lossy().into_owned());
                    }
                }
                Some(_) if is_last => {
                    last = Some(c);
                    break;
                }
                Some(st) if !st.is_dir() => {
                    return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
                }
                Some(_) => {
                    let f = top.open(&c, libc::O_PATH | libc::O_DIRECTORY, 0)?;
                    stack.push((f.into(), c));
                }
            }
        }
        let host = {
            let names: Vec<&str> = stack[1..].iter().map(|(_, n)| n.as_str()).collect();
            format!("/{}", names.join("/"))
        };
        let (fd, _) = stack.pop().expect("the root stays");
        Ok(Walked {
            dir: Dir { fd, host },
            name: last,
        })
    }

    /// The directory holding a host path's last component (resolved) and
    /// that component (not followed).
    pub fn parent(&self, host: &str) -> io::Result<(Dir, String)> {
        let w = self.walk(host, false)?;
        match w.name {
            Some(n) => Ok((w.dir, n)),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "names a directory, not a file",
            )),
        }
    }

    /// The host path a host path leads to, every symlink resolved.
    pub fn canonical(&self, host: &str) -> io::Result<String> {
        Ok(self.walk(host, true)?.host())
    }

    /// The metadata of what a host path leads to; `None` when nothing is
    /// there (or a symlink on the way is dangling).
    pub fn stat(&self, host: &str) -> io::Result<Option<Stat>> {
        match self.open_at(host, libc::O_PATH) {
            Ok(fd) => fstat(&fd).map(Some),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// What a host path's symlink says; `None` when it is not a symlink
    /// or does not exist.
    pub fn read_link(&self, host: &str) -> io::Result<Option<PathBuf>> {
        let (dir, name) = match self.parent(host) {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match dir.lstat(&name)? {
            Some(st) if st.is_symlink() => dir.read_link(&name).map(Some),
            _ => Ok(None),
        }
    }

    /// The names in a host directory, sorted; `None` when it does not
    /// exist.
    pub fn list(&self, host: &str) -> io::Result<Option<Vec<String>>> {
        match self.open_at(host, libc::O_RDONLY | libc::O_DIRECTORY) {
            Ok(fd) => list_fd(fd).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens a regular file for reading, without blocking; refuses
    /// anything else ([`Refusal`]) before opening it for reading, and a
    /// file larger than `cap`. `None` when it does not exist.
    pub fn open_regular(&self, host: &str, cap: u64) -> io::Result<Option<(File, Stat)>> {
        let probe = match self.open_at(host, libc::O_PATH) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let st = fstat(&probe)?;
        check_regular(&st, cap)?;
        let f = File::from(self.open_at(host, libc::O_RDONLY | libc::O_NONBLOCK)?);
        let again = fstat(&f)?;
        if again.id() != st.id() {
            return Err(Refusal::Changed.into_io());
        }
        Ok(Some((f, again)))
    }

    /// A regular file's bytes (at most `cap`); `None` when it does not
    /// exist. See [`Root::open_regular`].
    pub fn read(&self, host: &str, cap: u64) -> io::Result<Option<Vec<u8>>> {
        match self.open_regular(host, cap)? {
            Some((f, st)) => read_capped(f, st.size(), cap).map(Some),
            None => Ok(None),
        }
    }
}

/// Refuses what is not a regular file or is larger than `cap`.
fn check_regular(st: &Stat, cap: u64) -> io::Result<()> {
    if st.is_dir() {
        return Err(io::Error::from(io::ErrorKind::IsADirectory));
    }
    if !st.is_file() {
        return Err(Refusal::NotRegular(st.kind()).into_io());
    }
    if st.size() > cap {
        return Err(Refusal::TooLarge {
            size: st.size(),
            cap,
        }
        .into_io());
    }
    Ok(())
}

/// Reads at most `cap` bytes: a file that grows past it while read is
/// refused too.
fn read_capped(f: File, size: u64, cap: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(size.min(cap) as usize);
    f.take(cap + 1).read_to_end(&mut out)?;
    if out.len() as u64 > cap {
        return Err(Refusal::TooLarge {
            size: out.len() as u64,
            cap,
        }
        .into_io());
    }
    Ok(out)
}

/// Opens a file of this machine that the admin named (`--plan`,
/// `--services`, a password or key file, an LDIF export) as
/// [`Root::open_regular`] does: a FIFO or a device is refused, never
/// waited on.
pub fn open_local(path: &Path, cap: u64) -> io::Result<(File, Stat)> {
    let abs = std::path::absolute(path)?;
    let root = Root::open(Path::new("/"))?;
    root.open_regular(&abs.to_string_lossy(), cap)?
        .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
}

/// Reads such a file whole (at most `cap` bytes).
pub fn read_local(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let (f, st) = open_local(path, cap)?;
    read_capped(f, st.size(), cap)
}

/// Reads such a file as text.
pub fn read_local_text(path: &Path, cap: u64) -> io::Result<String> {
    String::from_utf8(read_local(path, cap)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not valid UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A root with the traps of hostile snapshots, and a directory beside
    /// it standing for the rest of this machine.
    fn traps() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        let outside = d.path().join("outside");
        for p in ["etc", "opt", "elsewhere/zimbra/conf", "run", "var/lib"] {
            std::fs::create_dir_all(root.join(p)).unwrap();
        }
        std::fs::create_dir_all(outside.join("zimbra/conf")).unwrap();
        std::fs::write(outside.join("secret"), "outside\n").unwrap();
        std::fs::write(outside.join("zimbra/conf/localconfig.xml"), "outside\n").unwrap();
        std::fs::write(root.join("etc/passwd"), "inside passwd\n").unwrap();
        std::fs::write(root.join("run/hosts"), "inside hosts\n").unwrap();
        std::fs::write(
            root.join("elsewhere/zimbra/conf/localconfig.xml"),
            "inside lc\n",
        )
        .unwrap();
        // A directory link with an absolute target: the snapshot's own.
        symlink("/elsewhere/zimbra", root.join("opt/zimbra")).unwrap();
        // The same, but naming this machine's real path: it must be read
        // as a path of the snapshot (where it does not exist).
        symlink(outside.join("zimbra"), root.join("opt/real-zimbra")).unwrap();
        symlink("/run/hosts", root.join("etc/hosts")).unwrap();
        symlink("../../../../outside/secret", root.join("etc/climb")).unwrap();
        symlink("loop2", root.join("etc/loop1")).unwrap();
        symlink("loop1", root.join("etc/loop2")).unwrap();
        symlink("/proc/self/root/etc/hostname", root.join("etc/magic")).unwrap();
        symlink("/", root.join("var/lib/zmreip")).unwrap();
        (d, root, outside)
    }

    fn read(root: &Root, host: &str) -> Result<Option<String>, String> {
        root.read(host, READ_CAP)
            .map(|b| b.map(|b| String::from_utf8(b).unwrap()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_component_resolves_inside_the_root() {
        let (_d, root_dir, _outside) = traps();
        let root = Root::open(&root_dir).unwrap();
        // (host path, what is read: Ok(Some(text)), Ok(None) missing)
        let cases: &[(&str, Option<&str>)] = &[
            ("/etc/passwd", Some("inside passwd\n")),
            ("/etc/hosts", Some("inside hosts\n")),
            ("/opt/zimbra/conf/localconfig.xml", Some("inside lc\n")),
            // `..` stops at the root, as on the host itself.
            ("/../../../../etc/passwd", Some("inside passwd\n")),
            ("/etc/../../etc/passwd", Some("inside passwd\n")),
            ("etc/passwd", Some("inside passwd\n")),
            ("/etc/climb", None),
            ("/opt/real-zimbra/conf/localconfig.xml", None),
            ("/var/lib/zmreip/etc/passwd", Some("inside passwd\n")),
            ("/nothing/here", None),
        ];
        for (host, want) in cases {
            let got = read(&root, host);
            assert_eq!(got, Ok(want.map(str::to_string)), "{host}");
            // The walk, as used without openat2, agrees.
            let walked = root
                .open_walking(host, libc::O_RDONLY)
                .map(|fd| {
                    let mut s = String::new();
                    File::from(fd).read_to_string(&mut s).unwrap();
                    s
                })
                .ok();
            assert_eq!(walked.as_deref(), *want, "walk: {host}");
        }
        let loop_err = read(&root, "/etc/loop1").unwrap_err();
        assert!(loop_err.contains("symbolic links"), "{loop_err}");
        assert!(root.open_walking("/etc/loop1", libc::O_RDONLY).is_err());
        // A link into /proc is a path of the snapshot (which has none).
        assert_eq!(read(&root, "/etc/magic"), Ok(None));
        // /proc's magic links, which jump anywhere, are refused.
        let slash = Root::open(Path::new("/")).unwrap();
        let e = slash.openat2("/proc/self/root/etc/passwd", libc::O_RDONLY);
        assert_eq!(e.unwrap_err().raw_os_error(), Some(libc::ELOOP));
    }

    #[test]
    fn canonical_paths_and_parents() {
        let (_d, root_dir, _outside) = traps();
        let root = Root::open(&root_dir).unwrap();
        let cases = [
            (
                "/opt/zimbra/conf/localconfig.xml",
                "/elsewhere/zimbra/conf/localconfig.xml",
            ),
            ("/etc/hosts", "/run/hosts"),
            ("/var/lib/zmreip/runs", "/runs"),
            ("/../etc/./passwd", "/etc/passwd"),
            ("/", "/"),
        ];
        for (host, want) in cases {
            assert_eq!(root.canonical(host).unwrap(), want, "{host}");
        }
        // The parent is resolved, the last component is not followed.
        let (dir, name) = root.parent("/opt/zimbra/conf/localconfig.xml").unwrap();
        assert_eq!(
            (dir.host(), name.as_str()),
            ("/elsewhere/zimbra/conf", "localconfig.xml")
        );
        let (dir, name) = root.parent("/etc/hosts").unwrap();
        assert_eq!((dir.host(), name.as_str()), ("/etc", "hosts"));
        assert!(dir.lstat("hosts").unwrap().unwrap().is_symlink());
        assert_eq!(
            root.read_link("/etc/hosts").unwrap(),
            Some("/run/hosts".into())
        );
        assert_eq!(root.read_link("/etc/passwd").unwrap(), None);
    }

    #[test]
    fn hostile_files_are_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        let fifo = cstr(r.join("etc/hosts")).unwrap();
        // SAFETY: the path is NUL-terminated.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        symlink("/dev/zero", r.join("etc/zero")).unwrap();
        std::fs::create_dir(r.join("etc/dir")).unwrap();
        let big = File::create(r.join("etc/big")).unwrap();
        big.set_len(READ_CAP + 1).unwrap();
        std::fs::write(r.join("etc/small"), "12345").unwrap();
        let root = Root::open(r).unwrap();
        let refusal = |host: &str, cap: u64| {
            let e = root.read(host, cap).unwrap_err();
            (Refusal::of(&e).cloned(), e.kind())
        };
        assert_eq!(
            refusal("/etc/hosts", READ_CAP).0,
            Some(Refusal::NotRegular("a FIFO"))
        );
        // /dev/zero of the snapshot (absent here), never this machine's.
        assert_eq!(root.read("/etc/zero", READ_CAP).unwrap(), None);
        assert_eq!(refusal("/etc/dir", READ_CAP).1, io::ErrorKind::IsADirectory);
        assert_eq!(
            refusal("/etc/big", READ_CAP).0,
            Some(Refusal::TooLarge {
                size: READ_CAP + 1,
                cap: READ_CAP
            })
        );
        assert_eq!(
            refusal("/etc/small", 4).0,
            Some(Refusal::TooLarge { size: 5, cap: 4 })
        );
        assert_eq!(root.read("/etc/small", 5).unwrap().unwrap(), b"12345");
        // This machine's /dev/zero named directly is a device: refused.
        let e = read_local(Path::new("/dev/zero"), READ_CAP).unwrap_err();
        assert_eq!(
            Refusal::of(&e),
            Some(&Refusal::NotRegular("a character device"))
        );
        let e = read_local(&r.join("etc/hosts"), READ_CAP).unwrap_err();
        assert_eq!(Refusal::of(&e), Some(&Refusal::NotRegular("a FIFO")));
    }

    #[test]
    fn directories_are_listed_and_written_inside_the_root() {
        let (_d, root_dir, outside) = traps();
        let root = Root::open(&root_dir).unwrap();
        assert_eq!(
            root.list("/opt/zimbra/conf").unwrap().unwrap(),
            ["localconfig.xml"]
        );
        assert_eq!(root.list("/opt/real-zimbra/conf").unwrap(), None);
        // A write through a directory link lands inside the root.
        let (dir, name) = root.parent("/var/lib/zmreip/new-file").unwrap();
        assert_eq!(dir.host(), "/");
        let mut f = dir
            .open(&name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600)
            .unwrap();
        std::io::Write::write_all(&mut f, b"x").unwrap();
        assert!(root_dir.join("new-file").is_file());
        assert!(!outside.join("new-file").exists());
        assert!(Root::open(Path::new("/")).unwrap().is_system_root());
        assert!(!root.is_system_root());
    }
}
