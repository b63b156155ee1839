//! Discovery: runs every surface over the host, its directory and the DNS
//! zones held elsewhere, and collects what they found and propose. Shared
//! by `scan`, `plan` and verify's rescan.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::addr::Matcher;
use crate::directory::Directory;
use crate::directory::ldap::{LdapDirectory, Overrides, Settings};
use crate::dns::update::UpdateConfig;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::Report;
use crate::notice::{Code, Notice};
use crate::policy::{Rewriter, Scope};
use crate::surface::{self, Ctx, Extra, IfaceAddr, Mode, derived::DerivedHit};

/// Where to look, as the command line says it.
#[derive(Debug, Clone, Default)]
pub struct SourceArgs {
    /// `--root`: the host's files (`/`, or a snapshot).
    pub root: PathBuf,
    /// `--zimbra-home`, when given.
    pub zimbra_home: Option<String>,
    /// Which directory to read.
    pub directory: DirectoryArgs,
    /// Files named besides the host's own (`--include`, `--zone-file`).
    pub extra: Extra,
    /// `--dns-config`: zones held elsewhere, updated with RFC 2136.
    pub dns_config: Option<PathBuf>,
}

impl SourceArgs {
    /// The sources of the host at `root`, with defaults for the rest.
    pub fn new(root: impl Into<PathBuf>) -> SourceArgs {
        SourceArgs {
            root: root.into(),
            ..SourceArgs::default()
        }
    }
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

/// Where to look, opened.
pub struct Sources {
    pub host: Host,
    /// The Zimbra directory (LDIF export or live LDAP), if given.
    pub directory: Option<Box<dyn Directory>>,
    /// Files named besides the host's own.
    pub extra: Extra,
    /// Zones held elsewhere, planned with RFC 2136 (planning only: a
    /// scan does not ask DNS servers).
    pub dns: Option<UpdateConfig>,
}

impl Sources {
    /// Opens the host and its directory: the LDIF export when given; else
    /// the live directory when a connection flag is given or the host's
    /// localconfig.xml sets `ldap_url` (connecting now, so an unreachable
    /// server fails before any work); else none (a host or snapshot
    /// without Zimbra's localconfig). Reads `--dns-config` now too.
    pub fn open(args: &SourceArgs) -> Result<Sources> {
        let host = Host::open(&args.root, args.zimbra_home.as_deref())?;
        let dir = &args.directory;
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
        let dns = match &args.dns_config {
            Some(p) => Some(UpdateConfig::load(p)?),
            None => None,
        };
        Ok(Sources {
            host,
            directory,
            extra: args.extra.clone(),
            dns,
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
    /// Every file that could not be listed, read or parsed, each error
    /// naming its file (and line): one bad file does not hide the rest.
    pub unreadable: Vec<Error>,
}

/// Reads the interface addresses configured in the host's OS network
/// configuration (to learn prefixes and gateways). A file that cannot be
/// read is passed over: [`run`] reports every one of them.
pub fn interfaces(sources: &Sources) -> Vec<IfaceAddr> {
    let matcher = Matcher::new(&[]);
    let ctx = Ctx::new(&sources.host, &matcher, None).with_extra(&sources.extra);
    let mut out = Vec::new();
    for (_, s) in surface::all() {
        for path in s.files(&ctx).unwrap_or_default() {
            if let Ok(Some(text)) = sources.host.read(&path)
                && let Ok(ifaces) = s.interfaces(&path, &text)
            {
                out.extend(ifaces);
            }
        }
    }
    out
}

/// The host paths of the OS network configuration files on the host.
pub fn network_files(sources: &Sources) -> Result<Vec<String>> {
    let matcher = Matcher::new(&[]);
    let ctx = Ctx::new(&sources.host, &matcher, None).with_extra(&sources.extra);
    let mut out = Vec::new();
    for (surface, s) in surface::all() {
        if surface.scope() == crate::policy::Scope::HostNetwork {
            out.extend(s.files(&ctx)?);
        }
    }
    Ok(out)
}

/// A warning for every place a file the role leaves alone holds an old
/// address (a peer's own network configuration naming the moved node).
fn kept_notices(report: &Report, rw: &Rewriter) -> Vec<Notice> {
    let mut out: Vec<Notice> = Vec::new();
    for f in &report.findings {
        let n = Notice::new(
            Code::NetworkConfigKept,
            format!(
                "{} holds {} in this host's network configuration; in the {} role zmreip never changes it: edit it by hand if it should follow the move",
                f.target,
                f.matched,
                rw.role().as_str()
            ),
        );
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Runs every surface. `rewriter` is `None` for a scan. A file that
/// cannot be listed, read or parsed is recorded in
/// [`Discovered::unreadable`] and the others are read all the same; the
/// directory and DNS servers are not files, and their errors end the run.
pub fn run(
    sources: &mut Sources,
    targets: &[IpAddr],
    rewriter: Option<&Rewriter>,
    mode: Mode,
    progress: &mut dyn FnMut(&str),
) -> Result<Discovered> {
    let matcher = Matcher::new(targets);
    let ctx = Ctx::new(&sources.host, &matcher, rewriter)
        .with_mode(mode)
        .with_extra(&sources.extra);
    // Files of a scope the rewriter's role does not change are searched
    // as for a scan, and what they hold is reported.
    let mut out = Discovered::default();
    for (surface, s) in surface::all() {
        let scope = surface.scope();
        let kept = rewriter.filter(|rw| !rw.role().changes(scope));
        let scoped = rewriter.map(|rw| rw.for_scope(scope));
        let ctx = Ctx {
            rewriter: if kept.is_some() {
                None
            } else {
                scoped.as_ref()
            },
            ..ctx
        };
        let files = match s.files(&ctx) {
            Ok(f) => f,
            // The command line is wrong (an `--include` that matches
            // nothing): no file is at fault.
            Err(e @ Error::Usage { .. }) => return Err(e),
            Err(e) => {
                out.unreadable.push(e);
                continue;
            }
        };
        for path in files {
            progress(&path);
            let read = sources
                .host
                .read(&path)
                .and_then(|text| text.map(|t| s.analyze(&path, &t, &ctx)).transpose());
            match read {
                Ok(Some(report)) => {
                    // Only this host's own network configuration is worth
                    // a word when it stays (a peer's); a window's
                    // published records simply wait for its switch.
                    if let Some(rw) = kept.filter(|_| scope == Scope::HostNetwork) {
                        out.report.warnings.extend(kept_notices(&report, rw));
                    }
                    out.report.extend(report);
                    out.files_read += 1;
                }
                Ok(None) => {}
                Err(e) => out.unreadable.push(e),
            }
        }
    }
    out.derived = surface::derived::scan(&ctx)?;
    if let Some(dir) = sources.directory.as_mut() {
        progress(&dir.describe());
        dir.narrow(targets);
        let shared = rewriter.map(Rewriter::for_directory);
        let ctx = Ctx {
            rewriter: shared.as_ref(),
            ..ctx
        };
        let mut entries = 0usize;
        let report = &mut out.report;
        dir.for_each(&mut |entry| {
            entries += 1;
            report.extend(crate::directory::analyze(&entry, &ctx));
            Ok(())
        })?;
        out.entries_read = entries + dir.left_out();
    }
    let dns_rw = rewriter
        .filter(|rw| rw.role().changes(Scope::Dns))
        .map(|rw| rw.for_scope(Scope::Dns));
    if let (Some(cfg), Some(rw)) = (&sources.dns, &dns_rw) {
        progress("DNS zones held elsewhere");
        let hostname = surface::localconfig::server_hostname(&sources.host);
        out.report.extend(crate::dns::update::plan(
            cfg,
            rw,
            hostname.as_deref(),
            mode,
        )?);
    }
    Ok(out)
}
