//! `zmreip check NEW-ADDRESS`: would moving to this address hurt mail?
//!
//! Asks one resolver (`--resolver IP:PORT`; the system's resolver
//! configuration is never read) about:
//!
//! * DNS blocklists ([`dnsbl`]), and whether the resolver rewrites
//!   non-existent names (which makes blocklist answers meaningless);
//! * the PTR of the address, forward-confirmed, and whether it names the
//!   server ([`ptr`]);
//! * the mail domain's SPF for the address ([`spf`]), with the record
//!   change that would make it pass;
//! * the records that will change and their TTLs ([`ttl`]).
//!
//! # JSON (`--format json`, schema `zmreip.check/v1`)
//!
//! ```text
//! {"schema", "address", "resolver",
//!  "dnsbl": [{"zone", "status", "answer": [..], "reason", "meaning"}],
//!  "ptr": {"name", "status", "ptr", "forward": [{"name", "addresses", "confirms"}],
//!          "fcrdns", "hostname", "matches_hostname", "reason", "request"},
//!  "spf": null | {"domain", "record", "result", "mechanism", "reason",
//!                 "lookups", "suggested": null | {"name", "before", "after"}},
//!  "ttl": [{"name", "type", "ttl", "values", "reason"}],
//!  "earliest_safe_move": null | {"seconds", "at"},
//!  "problems": ["..."], "warnings": [{"code", "message"}]}
//! ```
//!
//! `status` of a list is `listed`, `not-listed`, `error` or `unknown`;
//! `ptr.status` is `ok`, `missing`, `not-confirmed`, `mismatch` or
//! `error`; `spf.result` is an RFC 7208 result. `problems` lists what
//! would hurt mail: a listing, no FCrDNS, an SPF fail, softfail or
//! permerror. Exit status: 0 when `problems` is empty, 3 when not, 1 when
//! the check could not be made.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

use crate::dns::{Resolver, fqdn};
use crate::error::{Error, Result};
use crate::notice::{Code, Notice};

pub mod dnsbl;
pub mod ptr;
pub mod spf;
pub mod ttl;

/// The schema name of check JSON output.
pub const SCHEMA: &str = "zmreip.check/v1";

/// Exit status when the move would hurt mail.
pub const EXIT_HURTS_MAIL: u8 = crate::error::exit::HURTS_MAIL;

/// What to check.
#[derive(Debug, Clone)]
pub struct Request {
    /// The new address.
    pub address: IpAddr,
    /// The server's host name (for the PTR and its A record).
    pub hostname: Option<String>,
    /// The mail domain (for SPF and MX).
    pub domain: Option<String>,
    /// The address being left, if known (which records will change).
    pub from: Option<IpAddr>,
    /// The resolver asked; nothing else is.
    pub resolver: SocketAddr,
    /// Blocklist zones; empty means [`dnsbl::DEFAULT_ZONES`].
    pub dnsbl: Vec<String>,
    /// Per question.
    pub timeout: Duration,
}

/// Everything `check` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub address: String,
    pub resolver: String,
    pub dnsbl: Vec<dnsbl::DnsblResult>,
    pub ptr: ptr::PtrResult,
    pub spf: Option<SpfReport>,
    pub ttl: Vec<ttl::TtlEntry>,
    pub earliest_safe_move: Option<ttl::SafeMove>,
    /// What would hurt mail (empty: exit 0).
    pub problems: Vec<String>,
    pub warnings: Vec<Notice>,
}

/// The SPF part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct SpfReport {
    pub domain: String,
    /// The domain's SPF record (null when it has none).
    pub record: Option<String>,
    pub result: spf::SpfResult,
    /// The mechanism that decided the result.
    pub mechanism: Option<String>,
    pub reason: String,
    pub lookups: usize,
    /// The record change that would make the result `pass`.
    pub suggested: Option<Suggestion>,
}

/// A TXT record change.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub name: String,
    pub before: Option<String>,
    pub after: String,
}

impl Report {
    /// The exit status: 0 fine, [`EXIT_HURTS_MAIL`] when something would
    /// hurt mail.
    pub fn exit_code(&self) -> u8 {
        if self.problems.is_empty() {
            0
        } else {
            EXIT_HURTS_MAIL
        }
    }
}

/// Runs every check.
pub fn run(req: &Request) -> Result<Report> {
    let res = Resolver::new(req.resolver, req.timeout)?;
    let zones: Vec<String> = if req.dnsbl.is_empty() {
        dnsbl::DEFAULT_ZONES
            .iter()
            .map(ToString::to_string)
            .collect()
    } else {
        req.dnsbl.clone()
    };
    let mut warnings = Vec::new();
    let probe = rewrite_probe(&res, &zones)?;
    if let Some(w) = &probe {
        warnings.push(w.clone());
    }
    let lists = dnsbl::check(&res, req.address, &zones);
    let ptr = ptr::check(&res, req.address, req.hostname.as_deref());
    if ptr.status == ptr::PtrStatus::Error
        && !lists.is_empty()
        && lists.iter().all(|l| l.status == dnsbl::Status::Error)
    {
        return Err(Error::other(
            format!(
                "the resolver {} gave no usable answer ({})",
                req.resolver, ptr.reason
            ),
            "check --resolver: it must be a recursive resolver (IP:PORT) that answers this host",
        ));
    }
    let spf = req.domain.as_deref().map(|d| spf_report(&res, req, d));
    let (ttl, w) = ttl::check(
        &res,
        req.address,
        req.from,
        req.hostname.as_deref(),
        req.domain.as_deref(),
        spf.as_ref().map(|s| s.result == spf::SpfResult::Pass),
    );
    warnings.extend(w);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let earliest_safe_move = ttl::safe_move(&ttl, now);

    let mut problems = Vec::new();
    judge_lists(req.address, &lists, &mut problems, &mut warnings);
    if ptr.status.hurts_mail() {
        problems.push(format!("no FCrDNS: {}", ptr.reason));
    }
    if ptr.status == ptr::PtrStatus::Mismatch {
        warnings.push(Notice::new(Code::PtrMismatch, ptr.reason.clone()));
    }
    if let Some(s) = &spf {
        judge_spf(s, &mut problems, &mut warnings);
    }
    if probe.is_some() && problems.iter().any(|p| p.contains(" is listed in ")) {
        warnings.push(Notice::new(
            Code::DnsblUnreliable,
            "the listings above come through a resolver that rewrites non-existent names; check them with a resolver that does not",
        ));
    }
    Ok(Report {
        schema: SCHEMA,
        address: req.address.to_string(),
        resolver: req.resolver.to_string(),
        dnsbl: lists,
        ptr,
        spf,
        ttl,
        earliest_safe_move,
        problems,
        warnings,
    })
}

/// Listings are problems; lists that could not answer are warnings.
fn judge_lists(
    address: IpAddr,
    lists: &[dnsbl::DnsblResult],
    problems: &mut Vec<String>,
    warnings: &mut Vec<Notice>,
) {
    for l in lists {
        match l.status {
            dnsbl::Status::Listed => problems.push(format!(
                "{address} is listed in {} ({}{})",
                l.zone,
                l.answer.join(", "),
                l.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )),
            dnsbl::Status::Error | dnsbl::Status::Unknown => warnings.push(Notice::new(
                if l.status == dnsbl::Status::Error {
                    Code::DnsblError
                } else {
                    Code::DnsblUnknown
                },
                format!(
                    "{}: {}",
                    l.zone,
                    l.reason.as_deref().unwrap_or("no usable answer")
                ),
            )),
            dnsbl::Status::NotListed => {}
        }
    }
}

/// SPF failing the address is a problem; SPF not passing it, a warning.
fn judge_spf(s: &SpfReport, problems: &mut Vec<String>, warnings: &mut Vec<Notice>) {
    let said = format!(
        "SPF of {} gives {}: {}",
        s.domain,
        s.result.as_str(),
        s.reason
    );
    match s.result {
        spf::SpfResult::Fail | spf::SpfResult::Softfail | spf::SpfResult::Permerror => {
            problems.push(said);
        }
        spf::SpfResult::Temperror | spf::SpfResult::None | spf::SpfResult::Neutral => {
            warnings.push(Notice::new(Code::SpfNotPass, said));
        }
        spf::SpfResult::Pass => {}
    }
}

/// Asks for names that cannot exist; an address in reply means the
/// resolver rewrites NXDOMAIN (ISP "search help" pages, ad blockers), so
/// blocklist answers through it mean nothing. No reply at all means the
/// resolver is not there: an error, before asking anything else.
fn rewrite_probe(res: &Resolver, zones: &[String]) -> Result<Option<Notice>> {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ std::process::id())
        .unwrap_or(0);
    // Names under the lists themselves: a list never holds a label like
    // this, and special-use names (`.invalid`) never reach the resolver.
    let names: Vec<String> = zones
        .iter()
        .take(2)
        .map(|z| {
            format!(
                "zmreip-nxdomain-probe-{nonce:08x}.{}.",
                z.trim_end_matches('.')
            )
        })
        .collect();
    let questions: Vec<_> = names
        .iter()
        .map(|n| (n.clone(), crate::dns::RecordType::A))
        .collect();
    let answers = res.lookup_all(&questions);
    if let Some(crate::dns::Answer::Unreachable(why)) = answers.first()
        && answers
            .iter()
            .all(|a| matches!(a, crate::dns::Answer::Unreachable(_)))
    {
        return Err(Error::other(
            format!(
                "the resolver {} gave no usable answer ({why})",
                res.server()
            ),
            "check --resolver: it must be a recursive resolver (IP:PORT) that answers this host",
        ));
    }
    for (n, a) in names.iter().zip(answers) {
        if let Some(r) = a.records().first() {
            return Ok(Some(Notice::new(
                Code::ResolverRewritesNxdomain,
                format!(
                    "the resolver {} answers {} for {n}, a name that cannot exist: it rewrites NXDOMAIN, so blocklist results through it are unreliable; use a resolver that does not (your own unbound or BIND)",
                    res.server(),
                    r.data
                ),
            )));
        }
    }
    Ok(None)
}

fn spf_report(res: &Resolver, req: &Request, domain: &str) -> SpfReport {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    // Only a record read alone is amended: where there are several, adding
    // one more would not help (RFC 7208 §4.5 allows one).
    let record = spf::record(res, &domain);
    let o = spf::check_host(res, req.address, &domain, &format!("postmaster@{domain}"));
    let suggested = record
        .as_ref()
        .ok()
        .filter(|_| o.result != spf::SpfResult::Pass && o.result != spf::SpfResult::Temperror)
        .map(|r| suggest(r.as_deref(), &domain, req.address, req.from));
    let record = record.ok().flatten();
    SpfReport {
        domain,
        record,
        result: o.result,
        mechanism: o.mechanism,
        reason: o.reason,
        lookups: o.lookups,
        suggested,
    }
}

/// The SPF record that would authorize `new`: the `ip4:`/`ip6:`
/// mechanism naming `old` moves (as zone files move it), else the new
/// address is authorized right after `v=spf1`.
pub fn suggest(record: Option<&str>, domain: &str, new: IpAddr, old: Option<IpAddr>) -> Suggestion {
    let mech = if new.is_ipv4() { "ip4" } else { "ip6" };
    let name = fqdn(domain);
    let Some(rec) = record else {
        return Suggestion {
            name,
            before: None,
            after: format!("v=spf1 mx {mech}:{new} ~all"),
        };
    };
    if let Some(old) = old.filter(|o| o.is_ipv4() == new.is_ipv4()) {
        let prefix = if new.is_ipv4() { 32 } else { 128 };
        let pair = crate::spec::Pair {
            old,
            new,
            old_prefix: prefix,
            new_prefix: prefix,
            old_prefix_source: crate::spec::PrefixSource::Host,
            new_prefix_source: crate::spec::PrefixSource::Host,
        };
        let rw = crate::policy::Rewriter::new(vec![pair], Vec::new());
        let matcher = crate::addr::Matcher::new(&[old]);
        let target = crate::model::Target::Dns {
            zone: name.clone(),
            name: name.clone(),
            rtype: "TXT".into(),
        };
        let place = crate::dns::spf::Place {
            owner: &name,
            shown: &name,
            target: &target,
            // Only the edits are used: no finding leaves this function.
            surface: crate::surface::Surface::Dns,
        };
        let out = crate::dns::spf::plan_edits(rec, &place, &matcher, Some(&rw));
        if !out.edits.is_empty() {
            let after = crate::dns::spf::edit_strings(&[rec.as_bytes().to_vec()], &out.edits);
            return Suggestion {
                name,
                before: Some(rec.to_string()),
                after: String::from_utf8_lossy(&after.concat()).into_owned(),
            };
        }
    }
    let after = match rec.split_once(' ') {
        Some((v, rest)) => format!("{v} {mech}:{new} {rest}"),
        None => format!("{rec} {mech}:{new}"),
    };
    Suggestion {
        name,
        before: Some(rec.to_string()),
        after,
    }
}

/// What `zmreip bind --outbound` warns about before mail leaves from
/// `address`: its PTR must be forward-confirmed and name `hostname` (the
/// MTA's `myhostname`), and SPF of each mail domain must pass it. Each
/// warning names the exact record needed. A question the resolver does
/// not answer gives `bind-dns-unchecked` for that check (no verdict); a
/// resolver that does not answer the PTR question gives one, and is not
/// asked more.
pub fn outbound_notices(
    resolver: SocketAddr,
    timeout: Duration,
    address: IpAddr,
    hostname: &str,
    domains: &[String],
) -> Vec<Notice> {
    let res = match Resolver::new(resolver, timeout) {
        Ok(r) => r,
        Err(e) => {
            return vec![Notice::new(
                Code::BindDnsUnchecked,
                format!("the PTR and SPF of {address} were not checked: {e}"),
            )];
        }
    };
    let mut out = Vec::new();
    let p = ptr::check(&res, address, Some(hostname));
    if p.status == ptr::PtrStatus::Error {
        out.push(Notice::new(
            Code::BindDnsUnchecked,
            format!(
                "the PTR of {address} was not checked (resolver {resolver}: {}); run `zmreip check {address} --hostname {hostname}` when it answers",
                p.reason
            ),
        ));
        // No PTR answer at all: the resolver is not there, and asking it
        // about SPF would only wait again.
        if p.ptr.is_empty() {
            return out;
        }
    } else if p.status != ptr::PtrStatus::Ok || p.matches_hostname == Some(false) {
        out.push(Notice::new(
            Code::BindPtr,
            format!(
                "mail will leave from {address}, whose PTR does not resolve back to {hostname} ({}); {}",
                p.reason,
                p.request.clone().unwrap_or_else(|| format!(
                    "ask the provider of {address} to set PTR {} → {}",
                    p.name,
                    hostname.trim_end_matches('.')
                )),
            ),
        ));
    }
    for d in domains {
        let req = Request {
            address,
            hostname: Some(hostname.to_string()),
            domain: Some(d.clone()),
            from: None,
            resolver,
            dnsbl: Vec::new(),
            timeout,
        };
        let s = spf_report(&res, &req, d);
        match s.result {
            spf::SpfResult::Pass => continue,
            spf::SpfResult::Temperror => {
                out.push(Notice::new(
                    Code::BindDnsUnchecked,
                    format!(
                        "the SPF of {} for {address} was not checked ({}); run `zmreip check {address} --domain {}` when it answers",
                        s.domain, s.reason, s.domain
                    ),
                ));
                continue;
            }
            _ => {}
        }
        let mech = if address.is_ipv4() { "ip4" } else { "ip6" };
        let record = match &s.suggested {
            Some(g) => format!("; publish `{} TXT \"{}\"`", g.name, g.after),
            None => format!(
                "; publish one SPF record at {} in their place, authorizing {mech}:{address}",
                fqdn(&s.domain)
            ),
        };
        out.push(Notice::new(
            Code::BindSpf,
            format!(
                "SPF of {} gives {} for {address} ({}){record}",
                s.domain,
                s.result.as_str(),
                s.reason
            ),
        ));
    }
    out
}

/// The resolver `check` asks by default: the first `nameserver` of this
/// machine's /etc/resolv.conf that is an address, so that the resolver
/// asked is always one address, shown in the report.
pub fn system_resolver() -> Result<SocketAddr> {
    let path = "/etc/resolv.conf";
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    crate::surface::resolv::nameservers(&text)
        .into_iter()
        .find_map(|ns| crate::dns::parse_server(ns).ok())
        .ok_or_else(|| {
            Error::usage(
                "no nameserver in /etc/resolv.conf",
                "give the resolver to ask: --resolver IP:PORT",
            )
        })
}

/// The report for people.
pub fn text(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "zmreip check {} (resolver {})", r.address, r.resolver);
    let _ = writeln!(s, "\nDNS blocklists:");
    for l in &r.dnsbl {
        let _ = write!(s, "  {:<28} {}", l.zone, l.status.as_str());
        if !l.answer.is_empty() {
            let _ = write!(s, " ({})", l.answer.join(", "));
        }
        if let Some(m) = &l.meaning {
            let _ = write!(s, " {m}");
        }
        if let Some(why) = &l.reason {
            let _ = write!(s, " — {why}");
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "\nReverse DNS: {} — {}",
        r.ptr.status.as_str(),
        r.ptr.reason
    );
    if let Some(req) = &r.ptr.request {
        let _ = writeln!(s, "  hand-off: {req}");
    }
    match &r.spf {
        None => {
            let _ = writeln!(s, "\nSPF: not checked (give --domain)");
        }
        Some(p) => {
            let _ = writeln!(
                s,
                "\nSPF of {}: {} — {}",
                p.domain,
                p.result.as_str(),
                p.reason
            );
            if let Some(sg) = &p.suggested {
                let _ = writeln!(s, "  change TXT {}:", sg.name);
                if let Some(b) = &sg.before {
                    let _ = writeln!(s, "  - \"{b}\"");
                }
                let _ = writeln!(s, "  + \"{}\"", sg.after);
            }
        }
    }
    if !r.ttl.is_empty() {
        let _ = writeln!(s, "\nRecords that will change:");
        for t in &r.ttl {
            let _ = writeln!(
                s,
                "  {} {} TTL {}s: {} ({})",
                t.name,
                t.rtype,
                t.ttl,
                t.values.join(", "),
                t.reason
            );
        }
        if let Some(m) = &r.earliest_safe_move {
            let _ = writeln!(
                s,
                "  lower these TTLs first (zmreip plan --lower-ttl 300); the move is safe from {} ({}s after they are lowered)",
                m.at, m.seconds
            );
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(s, "\nWarnings:");
        for w in &r.warnings {
            let _ = writeln!(s, "  [{}] {}", w.code, w.message);
        }
    }
    if r.problems.is_empty() {
        let _ = writeln!(s, "\nNothing found that would hurt mail.");
    } else {
        let _ = writeln!(s, "\nThis move would hurt mail:");
        for p in &r.problems {
            let _ = writeln!(s, "  - {p}");
        }
    }
    s
}
