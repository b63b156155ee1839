//! Discovery: runs every surface over the host and the directory, and
//! collects what they found and propose. Shared by `scan` and `plan`.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::addr::Matcher;
use crate::directory::Directory;
use crate::directory::ldap::{LdapDirectory, Overrides, Settings};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::Report;
use crate::policy::Rewriter;
use crate::surface::{self, Ctx, IfaceAddr, derived::DerivedHit};

/// Where to look: the host and, optionally, its directory and extra files.
pub struct Sources {
    pub host: Host,
    /// The Zimbra directory (LDIF export or live LDAP), if given.
    pub directory: Option<Box<dyn Directory>>,
    /// Extra files (`--include GLOB`, host paths).
    pub include: Vec<String>,
}

/// Which Zimbra directory to read.
#[derive(Debug, Clone, Default)]
pub struct DirectoryArgs {
    /// `--ldif`: an export, read offline.
    pub ldif: Option<PathBuf>,
    /// Connection flags and `--deep` for the live directory.
    pub ldap: Overrides,
    /// `--no-directory`: leave the directory out.
    pub none: bool,
}

impl Sources {
    /// Opens the host at `root` and its directory: the LDIF export when
    /// given; else the live directory when a connection flag is given or
    /// the host's localconfig.xml sets `ldap_url` (connecting now, so an
    /// unreachable server fails before any work); else none (a host or
    /// snapshot without Zimbra's localconfig).
    pub fn open(
        root: &std::path::Path,
        zimbra_home: Option<&str>,
        dir: &DirectoryArgs,
        include: &[String],
    ) -> Result<Sources> {
        let host = Host::open(root, zimbra_home)?;
        let directory: Option<Box<dyn Directory>> = if dir.none {
            None
        } else if let Some(p) = &dir.ldif {
            Some(Box::new(crate::directory::ldif::LdifDirectory::open(p)?))
        } else {
            match Settings::resolve(&host, &dir.ldap)? {
                Some(s) => Some(Box::new(LdapDirectory::open(&s)?)),
                None => None,
            }
        };
        Ok(Sources {
            host,
            directory,
            include: include.to_vec(),
        })
    }
}

/// Everything discovery produced.
#[derive(Debug, Default)]
pub struct Discovered {
    pub report: Report,
    pub derived: Vec<DerivedHit>,
    /// Number of files read and directory entries visited (for progress
    /// and the summary line).
    pub files_read: usize,
    pub entries_read: usize,
}

/// Reads the interface addresses configured in the host's OS network
/// configuration (to learn prefixes and gateways).
pub fn interfaces(host: &Host) -> Result<Vec<IfaceAddr>> {
    let mut out = Vec::new();
    for (_, s) in surface::all() {
        for path in s.files(host)? {
            if let Some(text) = host.read(&path)? {
                out.extend(s.interfaces(&path, &text)?);
            }
        }
    }
    Ok(out)
}

/// Runs every surface. `rewriter` is `None` for a scan.
pub fn run(
    sources: &mut Sources,
    targets: &[IpAddr],
    rewriter: Option<&Rewriter>,
    progress: &mut dyn FnMut(&str),
) -> Result<Discovered> {
    let matcher = Matcher::new(targets);
    let ctx = Ctx {
        host: &sources.host,
        matcher: &matcher,
        rewriter,
    };
    let mut out = Discovered::default();
    for (_, s) in surface::all() {
        for path in s.files(&sources.host)? {
            progress(&path);
            if let Some(text) = sources.host.read(&path)? {
                out.report.extend(s.analyze(&path, &text, &ctx)?);
                out.files_read += 1;
            }
        }
    }
    for pattern in &sources.include {
        let files = sources.host.glob(pattern)?;
        if files.is_empty() {
            return Err(Error::usage(
                format!("--include `{pattern}` matches no file under the root"),
                "give a glob of host paths, e.g. --include '/etc/myapp/*.conf'",
            ));
        }
        for path in files {
            progress(&path);
            if let Some(text) = sources.host.read(&path)? {
                out.report
                    .extend(surface::text::analyze(&path, &text, &ctx)?);
                out.files_read += 1;
            }
        }
    }
    out.derived = surface::derived::scan(&ctx)?;
    if let Some(dir) = sources.directory.as_mut() {
        progress(&dir.describe());
        dir.narrow(targets);
        let mut entries = 0usize;
        let report = &mut out.report;
        dir.for_each(&mut |entry| {
            entries += 1;
            report.extend(crate::directory::analyze(&entry, &ctx));
            Ok(())
        })?;
        out.entries_read = entries + dir.left_out();
    }
    Ok(out)
}
