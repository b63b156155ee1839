//! The host being worked on: a root directory (the live `/` or a copied
//! snapshot) and where Zimbra lives under it. All file access of discovery
//! goes through here, confined to the root ([`crate::confine`]), so every
//! path shown to the user is the path on the host, never prefixed by
//! `--root`, and no path of a snapshot leads out of it.

use std::path::{Path, PathBuf};

use crate::confine::{self, READ_CAP, Refusal, Root};
use crate::error::{Error, Result};

/// The host's file system, seen through `--root`.
#[derive(Debug)]
pub struct Host {
    root: Root,
    zimbra_home: String,
}

impl Clone for Host {
    fn clone(&self) -> Host {
        Host {
            root: self
                .root
                .try_clone()
                .expect("duplicating an open directory handle"),
            zimbra_home: self.zimbra_home.clone(),
        }
    }
}

/// The error for a host path that could not be read: what it is instead
/// of a file, or what the system said.
pub fn read_error(host_path: &str, e: std::io::Error) -> Error {
    if let Some(r) = Refusal::of(&e) {
        return Error::other(format!("`{host_path}` {r}"), r.help());
    }
    match e.kind() {
        std::io::ErrorKind::IsADirectory => Error::other(
            format!("`{host_path}` is a directory where a file was expected"),
            "move the directory away or check --root",
        ),
        _ if e.raw_os_error() == Some(libc::ELOOP) => Error::other(
            format!("`{host_path}`: too many levels of symbolic links (a symlink loop)"),
            "fix the symlinks on the way to it",
        ),
        _ => Error::io("read", host_path, e),
    }
}

impl Host {
    /// Opens a host at `root`. `zimbra_home` is a host path; when `None`,
    /// `/opt/zimbra` is used, or `/opt/zextras` (Carbonio) when only that
    /// exists under the root.
    pub fn open(root: &Path, zimbra_home: Option<&str>) -> Result<Host> {
        let root = Root::open(root).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::usage(
                format!("--root `{}` does not exist", root.display()),
                "give the directory that holds the host's files (`/` for this host)",
            ),
            std::io::ErrorKind::NotADirectory => Error::usage(
                format!("--root `{}` is not a directory", root.display()),
                "give the directory that holds the host's files (`/` for this host)",
            ),
            _ => Error::io("read", root, e),
        })?;
        let mut host = Host {
            root,
            zimbra_home: String::new(),
        };
        host.zimbra_home = match zimbra_home {
            Some(z) => {
                if !z.starts_with('/') {
                    return Err(Error::usage(
                        format!("--zimbra-home `{z}` is not an absolute path"),
                        "give the path on the host, e.g. /opt/zimbra",
                    ));
                }
                z.trim_end_matches('/').to_string()
            }
            None if !host.exists("/opt/zimbra") && host.exists("/opt/zextras") => {
                "/opt/zextras".into()
            }
            None => "/opt/zimbra".into(),
        };
        Ok(host)
    }

    /// The root directory given with `--root`.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The root, open: every access inside it.
    pub fn jail(&self) -> &Root {
        &self.root
    }

    /// Whether the root is this machine's own `/`.
    pub fn is_system_root(&self) -> bool {
        self.root.is_system_root()
    }

    /// Zimbra's home as a host path (`/opt/zimbra` or `/opt/zextras`).
    pub fn zimbra_home(&self) -> &str {
        &self.zimbra_home
    }

    /// A path under Zimbra's home, as a host path.
    pub fn zimbra_path(&self, rel: &str) -> String {
        format!("{}/{}", self.zimbra_home, rel.trim_start_matches('/'))
    }

    /// Where a host path is on this machine, for messages only: opening
    /// it would follow its symlinks out of the root.
    pub fn shown(&self, host_path: &str) -> PathBuf {
        self.root.shown(host_path)
    }

    /// Whether a host path exists (following symlinks inside the root).
    pub fn exists(&self, host_path: &str) -> bool {
        matches!(self.root.stat(host_path), Ok(Some(_)))
    }

    /// Whether a host path is a directory.
    pub fn is_dir(&self, host_path: &str) -> bool {
        matches!(self.root.stat(host_path), Ok(Some(st)) if st.is_dir())
    }

    /// Whether a host path is a regular file.
    pub fn is_file(&self, host_path: &str) -> bool {
        matches!(self.root.stat(host_path), Ok(Some(st)) if st.is_file())
    }

    /// What a host path's symlink says, when it is one.
    pub fn read_link(&self, host_path: &str) -> Option<PathBuf> {
        self.root.read_link(host_path).ok().flatten()
    }

    /// The names in a host directory, sorted; empty when it does not
    /// exist.
    pub fn list(&self, host_path: &str) -> Result<Vec<String>> {
        match self.root.list(host_path) {
            Ok(names) => Ok(names.unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(Vec::new()),
            Err(e) => Err(Error::io("read", host_path, e)),
        }
    }

    /// Reads a host file's bytes. `Ok(None)` when it does not exist; an
    /// error when it exists but is not a regular file, is larger than
    /// [`READ_CAP`] or cannot be read.
    pub fn read_bytes(&self, host_path: &str) -> Result<Option<Vec<u8>>> {
        match self.root.read(host_path, READ_CAP) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(None),
            Err(e) => Err(read_error(host_path, e)),
        }
    }

    /// Reads a host file as text. `Ok(None)` when it does not exist;
    /// an error when it exists but cannot be read or is not UTF-8.
    pub fn read(&self, host_path: &str) -> Result<Option<String>> {
        let Some(bytes) = self.read_bytes(host_path)? else {
            return Ok(None);
        };
        text(host_path, bytes).map(Some)
    }

    /// Host paths of the regular files matching a glob of host paths
    /// (`/etc/dnsmasq.d/*`), sorted. Hidden files and editor backups
    /// (`~`, `.bak`, `.dpkg-*`) are skipped, as the daemons skip them.
    /// Each directory is listed inside the root.
    pub fn glob(&self, pattern: &str) -> Result<Vec<String>> {
        let bad = |e: glob::PatternError| {
            Error::usage(
                format!("`{pattern}` is not a valid file pattern: {}", e.msg),
                "use shell-style patterns like /etc/app/*.conf",
            )
        };
        let mut found: Vec<String> = vec![String::new()];
        for part in pattern.split('/').filter(|p| !p.is_empty() && *p != ".") {
            let mut next = Vec::new();
            if part.contains(['*', '?', '[']) {
                let pat = glob::Pattern::new(part).map_err(bad)?;
                for dir in &found {
                    let shown = if dir.is_empty() { "/" } else { dir };
                    for name in self.list(shown)? {
                        if pat.matches(&name) {
                            next.push(format!("{dir}/{name}"));
                        }
                    }
                }
            } else {
                next = found.iter().map(|d| format!("{d}/{part}")).collect();
            }
            found = next;
        }
        let mut out: Vec<String> = found
            .into_iter()
            .filter(|p| {
                let name = p.rsplit('/').next().unwrap_or_default();
                !(name.starts_with('.')
                    || name.ends_with('~')
                    || name.ends_with(".bak")
                    || name.contains(".dpkg-"))
                    && self.is_file(p)
            })
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// A file's bytes as text, or the line where it stops being UTF-8. A
/// UTF-8 byte order mark is refused, saying so: the daemons reading these
/// files take it for part of the first line (XML, which allows one, is
/// read as it is).
pub fn text(host_path: &str, bytes: Vec<u8>) -> Result<String> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf")
        && !rest.trim_ascii_start().starts_with(b"<")
    {
        return Err(Error::Parse {
            path: host_path.to_string(),
            line: 1,
            message: "the file starts with a UTF-8 byte order mark (BOM), which the software reading it takes for part of its first line".into(),
            help: Some(format!(
                "remove it: sed -i '1s/^\\xEF\\xBB\\xBF//' {host_path}"
            )),
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        Error::Parse {
            path: host_path.to_string(),
            line,
            message: "not valid UTF-8 text".into(),
            help: Some(
                "zmreip edits text files only; convert the file to UTF-8 or leave it out".into(),
            ),
        }
    })
}

/// Reads a file of this machine the admin named (`--services`, a
/// password or key file): a regular file, at most [`READ_CAP`] bytes,
/// never waited on. `what` names the option in the error.
pub fn read_local(what: &str, path: &Path) -> Result<String> {
    let bytes = confine::read_local(path, READ_CAP).map_err(|e| {
        if let Some(r) = Refusal::of(&e) {
            return Error::other(format!("{what} `{}` {r}", path.display()), r.help());
        }
        Error::io("read", path, e)
    })?;
    text(&path.display().to_string(), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_said_so_except_in_xml() {
        let bom = |t: &str| [b"\xef\xbb\xbf".as_slice(), t.as_bytes()].concat();
        let e = text("/etc/hosts", bom("127.0.0.1 localhost\n")).unwrap_err();
        let shown = format!("{e} {}", e.help().unwrap_or_default());
        assert!(
            shown.starts_with("/etc/hosts:1: the file starts with a UTF-8 byte order mark"),
            "{shown}"
        );
        assert!(shown.contains("sed -i"), "{shown}");
        let xml = text(
            "/opt/zimbra/conf/localconfig.xml",
            bom("<?xml version=\"1.0\"?>\n<localconfig/>"),
        )
        .unwrap();
        assert!(xml.starts_with('\u{feff}'));
        assert_eq!(text("/etc/hosts", b"x\n".to_vec()).unwrap(), "x\n");
    }
}
