//! The host being worked on: a root directory (the live `/` or a copied
//! snapshot) and where Zimbra lives under it. All file access of discovery
//! goes through here, so every path shown to the user is the path on the
//! host, never prefixed by `--root`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The host's file system, seen through `--root`.
#[derive(Debug, Clone)]
pub struct Host {
    root: PathBuf,
    zimbra_home: String,
}

impl Host {
    /// Opens a host at `root`. `zimbra_home` is a host path; when `None`,
    /// `/opt/zimbra` is used, or `/opt/zextras` (Carbonio) when only that
    /// exists under the root.
    pub fn open(root: &Path, zimbra_home: Option<&str>) -> Result<Host> {
        let meta = std::fs::metadata(root).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::usage(
                format!("--root `{}` does not exist", root.display()),
                "give the directory that holds the host's files (`/` for this host)",
            ),
            _ => Error::io("read", root, e),
        })?;
        if !meta.is_dir() {
            return Err(Error::usage(
                format!("--root `{}` is not a directory", root.display()),
                "give the directory that holds the host's files (`/` for this host)",
            ));
        }
        let mut host = Host {
            root: root.to_path_buf(),
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
        &self.root
    }

    /// Zimbra's home as a host path (`/opt/zimbra` or `/opt/zextras`).
    pub fn zimbra_home(&self) -> &str {
        &self.zimbra_home
    }

    /// A path under Zimbra's home, as a host path.
    pub fn zimbra_path(&self, rel: &str) -> String {
        format!("{}/{}", self.zimbra_home, rel.trim_start_matches('/'))
    }

    /// The real path of a host path.
    pub fn real(&self, host_path: &str) -> PathBuf {
        self.root.join(host_path.trim_start_matches('/'))
    }

    /// Whether a host path exists.
    pub fn exists(&self, host_path: &str) -> bool {
        self.real(host_path).exists()
    }

    /// Reads a host file as text. `Ok(None)` when it does not exist;
    /// an error when it exists but cannot be read or is not UTF-8.
    pub fn read(&self, host_path: &str) -> Result<Option<String>> {
        let real = self.real(host_path);
        match std::fs::read(&real) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => Ok(Some(s)),
                Err(e) => {
                    let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
                    Err(Error::Parse {
                        path: host_path.to_string(),
                        line,
                        message: "not valid UTF-8 text".into(),
                        help: Some("zmreip edits text files only; convert the file to UTF-8 or leave it out".into()),
                    })
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Err(Error::other(
                format!("`{host_path}` is a directory where a file was expected"),
                "move the directory away or check --root",
            )),
            Err(e) => Err(Error::io("read", host_path, e)),
        }
    }

    /// Host paths of the regular files matching a glob of host paths
    /// (`/etc/dnsmasq.d/*`), sorted. Hidden files and editor backups
    /// (`~`, `.bak`, `.dpkg-*`) are skipped, as the daemons skip them.
    pub fn glob(&self, pattern: &str) -> Result<Vec<String>> {
        let root = self.root.to_string_lossy();
        let root = root.trim_end_matches('/');
        let full = format!(
            "{}/{}",
            glob::Pattern::escape(root),
            pattern.trim_start_matches('/')
        );
        let paths = glob::glob(&full).map_err(|e| {
            Error::usage(
                format!("`{pattern}` is not a valid file pattern: {}", e.msg),
                "use shell-style patterns like /etc/app/*.conf",
            )
        })?;
        let mut out = Vec::new();
        for p in paths.flatten() {
            if !p.is_file() {
                continue;
            }
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.')
                || name.ends_with('~')
                || name.ends_with(".bak")
                || name.contains(".dpkg-")
            {
                continue;
            }
            if let Ok(rel) = p.strip_prefix(&self.root) {
                out.push(format!("/{}", rel.to_string_lossy()));
            }
        }
        out.sort();
        Ok(out)
    }
}
