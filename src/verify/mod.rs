//! Verify: proves that the host works on its new address, the last stage
//! of the pipeline (DESIGN.md). Apply runs it at the end and rolls back
//! when a check fails; `zmreip verify` runs it on its own.
//!
//! Every check looks at the running host from the outside where it can:
//! it connects, talks SMTP, asks the resolver and the split-DNS server,
//! and reads the files Zimbra regenerates. Each check reports `pass`,
//! `fail` or `skip` with the evidence it saw, so a failure says what was
//! expected and what answered instead.
//!
//! | family | what it proves |
//! |---|---|
//! | `listeners` | the new address is up; every service that should answer on it (SMTP ports of master.cf, LDAP when `ldap_bind_url` names this host, IMAP/POP/HTTP where something listens) accepts connections; nothing still listens on the old address |
//! | `smtp` | the SMTP banner and EHLO name are the server's host name |
//! | `relay` | relaying is accepted from the server's own new address and refused (`Relay access denied`) from an address outside mynetworks |
//! | `names` | the host name resolves to the new address through the host's resolver and the split-DNS server |
//! | `derived` | postfix `mynetworks` holds the new address and not the old one; no regenerated file still names the old address |
//! | `rescan` | no source of truth still refers to the old address |
//! | `reach` | (a peer, `--peer NAME`) the moved node's services answer at its new address from here |
//!
//! With `--peer NAME` the host is verified as another node of a
//! multi-server deployment whose node NAME moved (see [`peer`]): its own
//! listeners and SMTP answer on its own address, NAME resolves to the new
//! address here, the moved node's services answer there, and nothing
//! here refers to the old address but the trust networks that stay.
//!
//! # JSON output, schema `zmreip.verify/v1`
//!
//! ```json
//! {
//!   "schema": "zmreip.verify/v1",
//!   "ip": ["10.40.7.131"], "old": ["172.20.14.25"],
//!   "hostname": "mail.corp.example",
//!   "checks": [
//!     {"id": "listeners.smtp", "family": "listeners", "status": "pass",
//!      "summary": "10.40.7.131:25 accepts connections",
//!      "evidence": ["master.cf line 12: smtp inet", "listening on 0.0.0.0:25"]}
//!   ],
//!   "passed": 11, "failed": 0, "skipped": 1
//! }
//! ```
//!
//! `id` is stable (`family.name`, with the port or address where a family
//! has several); `status` is `pass`, `fail` or `skip`; `evidence` lines are
//! for people and may change wording. Secrets never appear in evidence.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::discover::SourceArgs;
use crate::host::Host;
use crate::spec::AddrArg;

pub mod derived;
pub mod directory;
pub mod listeners;
pub mod names;
pub mod peer;
pub mod postfix;
pub mod rescan;
pub mod smtp;

/// The schema name of verify JSON output.
pub const SCHEMA: &str = "zmreip.verify/v1";

/// Recipient of the relay probes. A reserved domain (RFC 2606), never a
/// local one; the probes stop before DATA, so nothing is ever sent.
pub const RELAY_PROBE_RECIPIENT: &str = "zmreip-relay-probe@example.com";

/// What to verify and how.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    /// The host's files (`/` for this host, or the root the change was
    /// applied to), its Zimbra home and directory, and the files named
    /// besides (`--include`): what the rescan reads, as `scan` does.
    pub sources: SourceArgs,
    /// The new addresses, with their prefix when known (then mynetworks
    /// is also expected to hold the new interface network).
    pub new: Vec<AddrArg>,
    /// The old addresses: nothing may still listen on or refer to them.
    /// Empty: those checks are skipped.
    pub old: Vec<AddrArg>,
    /// The server's host name; default: localconfig
    /// `zimbra_server_hostname`.
    pub hostname: Option<String>,
    /// The split-DNS server; default: dnsmasq's `listen-address` and
    /// `port` from the host's dnsmasq configuration.
    pub dns_server: Option<SocketAddr>,
    /// An address of this host outside mynetworks, to prove relaying is
    /// refused. `None`: that check is skipped.
    pub outside_source: Option<IpAddr>,
    /// Regenerated files the plan listed (host paths), checked besides
    /// the ones Zimbra is known to regenerate.
    pub derived: Vec<String>,
    /// Recipient of the relay probes.
    pub relay_recipient: String,
    /// Timeout of each connection attempt, reply and DNS query.
    pub timeout: Duration,
    /// `--peer NAME`: this host is another node of the deployment, and
    /// NAME is the node whose address moved.
    pub peer: Option<String>,
    /// `--reach PORT`: ports of the moved node's services that must answer
    /// at its new address (with `peer`).
    pub reach: Vec<u16>,
    /// `--staying ADDR`: addresses of the deployment's nodes that stay; a
    /// trust network holding one is expected to stay.
    pub staying: Vec<IpAddr>,
    /// Families not checked, each with why (a window's open leaves the
    /// names to its switch).
    pub skip: Vec<(&'static str, String)>,
}

impl VerifyRequest {
    /// Whether a trust network holding an old address stays by design: on
    /// a peer every network does (the moved address is another node's),
    /// on the moving node one that a node that stays lives in.
    pub fn network_stays(&self, net: ipnet::IpNet) -> bool {
        self.peer.is_some() || self.staying.iter().any(|a| net.contains(a))
    }
}

impl VerifyRequest {
    /// A request with defaults for everything but the root and the new
    /// addresses.
    pub fn new(root: impl Into<PathBuf>, new: Vec<AddrArg>) -> VerifyRequest {
        VerifyRequest {
            sources: SourceArgs::new(root),
            new,
            old: Vec::new(),
            hostname: None,
            dns_server: None,
            outside_source: None,
            derived: Vec::new(),
            relay_recipient: RELAY_PROBE_RECIPIENT.to_string(),
            timeout: Duration::from_secs(3),
            peer: None,
            reach: Vec::new(),
            staying: Vec::new(),
            skip: Vec::new(),
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier, `family.name` (`listeners.smtp`, `relay.outside`).
    pub id: String,
    /// The family (`listeners`, `smtp`, `relay`, `names`, `derived`,
    /// `rescan`).
    pub family: &'static str,
    pub status: Status,
    /// One line: what was proven, or what is wrong, or why skipped.
    pub summary: String,
    /// What was seen: replies, file lines, socket states.
    pub evidence: Vec<String>,
}

impl Check {
    fn new(family: &'static str, name: &str, status: Status, summary: String) -> Check {
        Check {
            id: format!("{family}.{name}"),
            family,
            status,
            summary,
            evidence: Vec::new(),
        }
    }

    pub fn pass(family: &'static str, name: &str, summary: impl Into<String>) -> Check {
        Check::new(family, name, Status::Pass, summary.into())
    }

    pub fn fail(family: &'static str, name: &str, summary: impl Into<String>) -> Check {
        Check::new(family, name, Status::Fail, summary.into())
    }

    pub fn skip(family: &'static str, name: &str, summary: impl Into<String>) -> Check {
        Check::new(family, name, Status::Skip, summary.into())
    }

    /// Adds evidence lines.
    pub fn with(mut self, evidence: impl IntoIterator<Item = String>) -> Check {
        self.evidence.extend(evidence);
        self
    }
}

/// Every check of one verify run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    /// The new addresses.
    pub ip: Vec<String>,
    /// The old addresses.
    pub old: Vec<String>,
    /// The host name the checks expected (`None` when unknown).
    pub hostname: Option<String>,
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }

    /// The failed checks, in order.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    /// Number of checks with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }
}

/// What the families share: the host, its host name and settings read
/// once.
pub struct Ctx<'a> {
    pub req: &'a VerifyRequest,
    /// `None` when the root cannot be opened (every file check fails).
    pub host: Option<Host>,
    pub hostname: Option<String>,
    /// Where the host name came from, for evidence.
    pub hostname_source: String,
    /// localconfig.xml: host path and text, when present.
    pub localconfig: Option<(String, String)>,
    pub new: Vec<IpAddr>,
    pub old: Vec<IpAddr>,
}

impl Ctx<'_> {
    /// A localconfig value (expanded), when the file and key exist.
    pub fn lc(&self, key: &str) -> Option<String> {
        let (path, text) = self.localconfig.as_ref()?;
        crate::surface::localconfig::value(path, text, key)
            .ok()
            .flatten()
    }
}

/// One family of checks.
type Family = fn(&Ctx) -> Vec<Check>;

/// Runs every check. Never fails as a whole: a check that cannot run
/// reports `fail` (or `skip` when it does not apply) with the reason.
pub fn run(req: &VerifyRequest) -> Report {
    if let Some(moved) = &req.peer {
        return peer::run(req, moved);
    }
    let mut checks = Vec::new();
    let mut ctx = Ctx::open(req, &mut checks);
    let families: [(&str, Family); 5] = [
        ("listeners", listeners::check),
        ("smtp", smtp::check),
        ("names", names::check),
        ("derived", derived::check),
        ("rescan", rescan::check),
    ];
    for (family, check) in families {
        match req.skip.iter().find(|(f, _)| *f == family) {
            Some((f, why)) => checks.push(Check::skip(f, "all", why.clone())),
            None => checks.extend(check(&ctx)),
        }
    }
    Report {
        schema: SCHEMA,
        ip: req.new.iter().map(|a| a.addr.to_string()).collect(),
        old: req.old.iter().map(|a| a.addr.to_string()).collect(),
        hostname: ctx.hostname.take(),
        checks,
    }
}

impl<'a> Ctx<'a> {
    /// The host of `req`, its localconfig and host name (`--hostname`,
    /// else localconfig's); a host that cannot be opened is a failed
    /// check pushed to `checks`.
    pub fn open(req: &'a VerifyRequest, checks: &mut Vec<Check>) -> Ctx<'a> {
        let host = match Host::open(&req.sources.root, req.sources.zimbra_home.as_deref()) {
            Ok(h) => Some(h),
            Err(e) => {
                checks.push(Check::fail(
                    "host",
                    "root",
                    format!("cannot open the host: {e}"),
                ));
                None
            }
        };
        let localconfig = host.as_ref().and_then(|h| {
            let path = h.zimbra_path("conf/localconfig.xml");
            match h.read(&path) {
                Ok(Some(text)) => Some((path, text)),
                _ => None,
            }
        });
        let mut ctx = Ctx {
            req,
            host,
            hostname: None,
            hostname_source: String::new(),
            localconfig,
            new: req.new.iter().map(|a| a.addr).collect(),
            old: req.old.iter().map(|a| a.addr).collect(),
        };
        if let Some(h) = &req.hostname {
            ctx.hostname = Some(h.trim_end_matches('.').to_string());
            ctx.hostname_source = "--hostname".into();
        } else if let Some(h) = ctx.lc("zimbra_server_hostname").filter(|h| !h.is_empty()) {
            ctx.hostname = Some(h);
            ctx.hostname_source = match &ctx.localconfig {
                Some((path, _)) => format!("{path} key zimbra_server_hostname"),
                None => String::new(),
            };
        }

        ctx
    }
}

/// The report for people: one line per check, evidence indented below
/// failures and skips (and below passes when `verbose`).
pub fn text(r: &Report, verbosity: crate::Verbosity) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "verify {} on {}{}",
        r.hostname.as_deref().unwrap_or("(host name unknown)"),
        r.ip.join(", "),
        if r.old.is_empty() {
            String::new()
        } else {
            format!(" (was {})", r.old.join(", "))
        }
    );
    let width = r.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    for c in &r.checks {
        if verbosity == crate::Verbosity::Quiet && c.status != Status::Fail {
            continue;
        }
        let _ = writeln!(
            s,
            "  {:<4}  {:<width$}  {}",
            c.status.as_str(),
            c.id,
            c.summary
        );
        if verbosity == crate::Verbosity::Verbose || c.status != Status::Pass {
            for e in &c.evidence {
                let _ = writeln!(s, "  {:<4}  {:<width$}    {e}", "", "");
            }
        }
    }
    let _ = writeln!(
        s,
        "{} checks: {} passed, {} failed, {} skipped",
        r.checks.len(),
        r.count(Status::Pass),
        r.count(Status::Fail),
        r.count(Status::Skip)
    );
    s
}

/// The `zmreip.verify/v1` JSON document.
pub fn json(r: &Report) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        #[serde(flatten)]
        report: &'a Report,
        passed: usize,
        failed: usize,
        skipped: usize,
    }
    let doc = Doc {
        report: r,
        passed: r.count(Status::Pass),
        failed: r.count(Status::Fail),
        skipped: r.count(Status::Skip),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("verify reports serialize");
    s.push('\n');
    s
}

/// The `zmreip verify` command that runs `req` again, for messages.
pub fn command_line(req: &VerifyRequest) -> String {
    let mut words = vec!["zmreip".to_string(), "verify".to_string()];
    if req.sources.root != std::path::Path::new("/") {
        words.push("--root".into());
        words.push(crate::services::shell_quote(
            &req.sources.root.to_string_lossy(),
        ));
    }
    for a in &req.new {
        words.push(format!("--to {a}"));
    }
    for a in &req.old {
        words.push(format!("--from {a}"));
    }
    let q = |p: &std::path::Path| crate::services::shell_quote(&p.to_string_lossy());
    let dir = &req.sources.directory;
    if let Some(p) = &dir.ldif {
        words.push(format!("--ldif {}", q(p)));
    }
    for u in &dir.ldap.urls {
        words.push(format!("--ldap-url {}", crate::services::shell_quote(u)));
    }
    if let Some(dn) = &dir.ldap.bind_dn {
        words.push(format!("--bind-dn {}", crate::services::shell_quote(dn)));
    }
    if let Some(p) = &dir.ldap.password_file {
        words.push(format!("--bind-password-file {}", q(p)));
    }
    if dir.none {
        words.push("--no-directory".into());
    }
    if let Some(h) = &req.hostname {
        words.push(format!("--hostname {}", crate::services::shell_quote(h)));
    }
    if let Some(s) = req.dns_server {
        words.push(format!("--dns-server {s}"));
    }
    if let Some(s) = req.outside_source {
        words.push(format!("--outside-source {s}"));
    }
    if let Some(p) = &req.peer {
        words.push(format!("--peer {}", crate::services::shell_quote(p)));
    }
    for p in &req.reach {
        words.push(format!("--reach {p}"));
    }
    for a in &req.staying {
        words.push(format!("--staying {a}"));
    }
    words.join(" ")
}

/// Addresses as a plan writes them (`172.20.14.25/24`).
pub fn plan_addrs(list: &[String]) -> crate::Result<Vec<AddrArg>> {
    list.iter()
        .map(|s| {
            s.parse().map_err(|e: String| {
                crate::Error::other(
                    format!("the plan's address `{s}` does not read: {e}"),
                    "make the plan again with `zmreip plan`",
                )
            })
        })
        .collect()
}

/// Whether `ip` is an address of this host (in the current network
/// namespace): configured on one of its interfaces (see
/// [`crate::ifaddrs`]: binding it is no test).
pub use crate::ifaddrs::is_local;

#[cfg(test)]
mod tests {
    use super::*;

    fn report(statuses: &[Status]) -> Report {
        Report {
            schema: SCHEMA,
            ip: vec!["10.40.7.131".into()],
            old: vec!["172.20.14.25".into()],
            hostname: Some("mail.corp.example".into()),
            checks: statuses
                .iter()
                .enumerate()
                .map(|(i, s)| Check::new("listeners", &format!("c{i}"), *s, format!("check {i}")))
                .collect(),
        }
    }

    #[test]
    fn failed_only_when_a_check_fails() {
        assert!(!report(&[]).failed());
        assert!(!report(&[Status::Pass, Status::Skip]).failed());
        assert!(report(&[Status::Pass, Status::Fail, Status::Skip]).failed());
        let r = report(&[Status::Fail, Status::Pass, Status::Fail]);
        let ids: Vec<_> = r.failures().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["listeners.c0", "listeners.c2"]);
    }

    #[test]
    fn json_has_schema_counts_and_lowercase_status() {
        let mut r = report(&[Status::Pass, Status::Fail, Status::Skip, Status::Pass]);
        r.checks[1]
            .evidence
            .push("<<< 554 5.7.1 Relay access denied".into());
        let v: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(v["schema"], "zmreip.verify/v1");
        assert_eq!(v["passed"], 2);
        assert_eq!(v["failed"], 1);
        assert_eq!(v["skipped"], 1);
        assert_eq!(v["ip"][0], "10.40.7.131");
        assert_eq!(v["old"][0], "172.20.14.25");
        assert_eq!(v["hostname"], "mail.corp.example");
        assert_eq!(v["checks"][1]["status"], "fail");
        assert_eq!(v["checks"][1]["id"], "listeners.c1");
        assert_eq!(v["checks"][1]["family"], "listeners");
        assert_eq!(
            v["checks"][1]["evidence"][0],
            "<<< 554 5.7.1 Relay access denied"
        );
    }

    #[test]
    fn text_shows_evidence_of_failures_only_unless_verbose_and_quiet_only_failures() {
        let mut r = report(&[Status::Pass, Status::Fail]);
        r.checks[0].evidence.push("seen-on-pass".into());
        r.checks[1].evidence.push("seen-on-fail".into());
        let t = text(&r, crate::Verbosity::Normal);
        assert!(t.starts_with("verify mail.corp.example on 10.40.7.131 (was 172.20.14.25)\n"));
        assert!(t.contains("fail  listeners.c1  check 1\n"), "{t}");
        assert!(t.contains("seen-on-fail"));
        assert!(!t.contains("seen-on-pass"));
        assert!(t.ends_with("2 checks: 1 passed, 1 failed, 0 skipped\n"));
        assert!(text(&r, crate::Verbosity::Verbose).contains("seen-on-pass"));
        let q = text(&r, crate::Verbosity::Quiet);
        assert!(q.contains("fail  listeners.c1  check 1\n  "), "{q}");
        assert!(!q.contains("listeners.c0"), "{q}");
        assert!(
            q.ends_with("2 checks: 1 passed, 1 failed, 0 skipped\n"),
            "{q}"
        );
    }

    #[test]
    fn command_line_to_run_again() {
        let mut req = VerifyRequest::new("/", vec!["10.40.7.131/24".parse().unwrap()]);
        req.old = vec!["172.20.14.25/24".parse().unwrap()];
        assert_eq!(
            command_line(&req),
            "zmreip verify --to 10.40.7.131/24 --from 172.20.14.25/24"
        );
        req.sources.root = "/srv/snap shot".into();
        req.outside_source = Some("198.51.100.9".parse().unwrap());
        req.dns_server = Some("127.0.0.1:5353".parse().unwrap());
        assert_eq!(
            command_line(&req),
            "zmreip verify --root '/srv/snap shot' --to 10.40.7.131/24 --from 172.20.14.25/24 --dns-server 127.0.0.1:5353 --outside-source 198.51.100.9"
        );
        req.sources.root = "/".into();
        req.dns_server = None;
        req.outside_source = None;
        req.sources.directory.ldap.urls = vec!["ldapi://%2Frun%2Fldapi".into()];
        req.sources.directory.ldap.bind_dn = Some("uid=zimbra,cn=admins,cn=zimbra".into());
        req.sources.directory.ldap.password_file = Some("/root/ldap.pw".into());
        assert_eq!(
            command_line(&req),
            "zmreip verify --to 10.40.7.131/24 --from 172.20.14.25/24 --ldap-url ldapi://%2Frun%2Fldapi --bind-dn uid=zimbra,cn=admins,cn=zimbra --bind-password-file /root/ldap.pw"
        );
        assert_eq!(
            plan_addrs(&["172.20.14.25/24".into(), "2001:db8::25".into()])
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["172.20.14.25/24", "2001:db8::25"]
        );
        assert!(plan_addrs(&["nonsense".into()]).is_err());
    }

    /// A host root that kept the old address in /etc/hosts, in
    /// postfix's mynetworks and in a regenerated LDAP map.
    fn stale_root() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let w = |p: &str, t: &str| {
            let f = d.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, t).unwrap();
        };
        w(
            "etc/hosts",
            "127.0.0.1 localhost\n192.0.2.25 mail.corp.example mail\n",
        );
        w(
            "opt/zimbra/common/conf/main.cf",
            "myhostname = mail.corp.example\nmynetworks = 127.0.0.0/8 192.0.2.0/24\n",
        );
        w(
            "opt/zimbra/common/conf/master.cf",
            "[127.0.0.1]:10025 inet n - n - - smtpd\n",
        );
        w(
            "opt/zimbra/conf/ldap-vmm.cf",
            "server_host = ldap://192.0.2.25:389\nbind_pw = s3cret\n",
        );
        d
    }

    #[test]
    fn a_host_left_on_the_old_address_fails_where_it_should() {
        let d = stale_root();
        let mut req = VerifyRequest::new(d.path(), vec!["127.0.0.1/8".parse().unwrap()]);
        req.old = vec!["192.0.2.25/24".parse().unwrap()];
        req.hostname = Some("mail.corp.example".into());
        req.timeout = Duration::from_millis(500);
        let r = run(&req);
        let status = |id: &str| {
            r.checks
                .iter()
                .find(|c| c.id == id)
                .unwrap_or_else(|| panic!("no check {id} in {r:#?}"))
                .status
        };
        assert_eq!(r.hostname.as_deref(), Some("mail.corp.example"));
        assert_eq!(status("listeners.address"), Status::Pass);
        // No public SMTP service in master.cf, and the split-DNS server is
        // unknown: skipped, not failed.
        assert_eq!(status("names.split-dns"), Status::Skip);
        assert_eq!(status("names.resolver"), Status::Fail);
        assert_eq!(status("derived.mynetworks"), Status::Fail);
        assert_eq!(status("derived.files"), Status::Fail);
        assert_eq!(status("rescan.sources"), Status::Fail);
        assert!(r.failed());
        let files = r.checks.iter().find(|c| c.id == "derived.files").unwrap();
        assert_eq!(
            files.evidence,
            [
                "/opt/zimbra/common/conf/main.cf:2: 192.0.2.0/24 (network-contains)",
                "/opt/zimbra/conf/ldap-vmm.cf:1: 192.0.2.25:389 (url-host)",
            ]
        );
        // Evidence names places and matches, never whole lines.
        let all = json(&r);
        assert!(!all.contains("s3cret"), "{all}");
        let resolver = r.checks.iter().find(|c| c.id == "names.resolver").unwrap();
        assert_eq!(
            resolver.summary,
            "mail.corp.example still resolves to the old address 192.0.2.25 in /etc/hosts"
        );
    }
}
