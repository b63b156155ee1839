//! SPF `check_host()` (RFC 7208 §4) over one resolver: mechanisms `all`,
//! `include`, `a`, `mx`, `ptr`, `ip4`, `ip6`, `exists`, the `redirect`
//! modifier, macros (§7), the limit of 10 DNS-querying terms (§4.6.4),
//! at most 10 MX or PTR names per mechanism and at most 2 void lookups.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::dns::{Answer, Rdata, RecordType, Resolver, fqdn, spf};

/// The result of `check_host()` (RFC 7208 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    Softfail,
    Temperror,
    Permerror,
}

impl SpfResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::Softfail => "softfail",
            SpfResult::Temperror => "temperror",
            SpfResult::Permerror => "permerror",
        }
    }
}

/// How an evaluation ended: the result, the mechanism that decided it
/// (`ip4:192.0.2.0/24`, `-all`, `include:_spf.example.net`), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub result: SpfResult,
    pub mechanism: Option<String>,
    pub reason: String,
    /// DNS-querying terms used (at most 10).
    pub lookups: usize,
}

/// Most DNS-querying terms one evaluation may use (RFC 7208 §4.6.4).
const MAX_LOOKUPS: usize = 10;
/// Most lookups that may find nothing (§4.6.4).
const MAX_VOID: usize = 2;
/// Most MX or PTR names looked at per mechanism (§4.6.4).
const MAX_NAMES: usize = 10;

/// The SPF record of `domain`, if it has exactly one.
pub fn record(res: &Resolver, domain: &str) -> Result<Option<String>, Outcome> {
    let a = res.lookup(&fqdn(domain), RecordType::TXT);
    let recs: Vec<String> = match &a {
        Answer::Failed(why) | Answer::Unreachable(why) => {
            return Err(done(
                SpfResult::Temperror,
                None,
                format!("TXT of {domain}: {why}"),
                0,
            ));
        }
        _ => a
            .records()
            .iter()
            .filter_map(|r| r.data.txt_joined())
            .filter(|t| spf::is_spf(t))
            .collect(),
    };
    match recs.len() {
        0 => Ok(None),
        1 => Ok(recs.into_iter().next()),
        n => Err(done(
            SpfResult::Permerror,
            None,
            format!("{domain} has {n} SPF records (RFC 7208 §4.5 allows one)"),
            0,
        )),
    }
}

fn done(result: SpfResult, mechanism: Option<String>, reason: String, lookups: usize) -> Outcome {
    Outcome {
        result,
        mechanism,
        reason,
        lookups,
    }
}

/// `check_host(ip, domain, sender)`.
pub fn check_host(res: &Resolver, ip: IpAddr, domain: &str, sender: &str) -> Outcome {
    let (local, sdomain) = match sender.rsplit_once('@') {
        Some((l, d)) if !l.is_empty() => (l.to_string(), d.to_string()),
        Some((_, d)) => ("postmaster".to_string(), d.to_string()),
        None => ("postmaster".to_string(), sender.to_string()),
    };
    let mut ev = Eval {
        res,
        ip,
        local,
        sender_domain: sdomain,
        lookups: 0,
        void: 0,
    };
    let r = ev.run(&domain.trim_end_matches('.').to_ascii_lowercase(), 0);
    Outcome {
        lookups: ev.lookups,
        ..r
    }
}

struct Eval<'a> {
    res: &'a Resolver,
    ip: IpAddr,
    local: String,
    sender_domain: String,
    lookups: usize,
    void: usize,
}

/// A mechanism being evaluated: the record's domain, the mechanism
/// without its qualifier, and its domain-spec when it has one.
struct Term<'a> {
    domain: &'a str,
    body: &'a str,
    spec: Option<&'a str>,
}

/// A mechanism matched, did not, or the evaluation stops.
enum Step {
    Match,
    NoMatch,
    Stop(Outcome),
}

impl Eval<'_> {
    fn stop(&self, result: SpfResult, reason: String) -> Step {
        Step::Stop(done(result, None, reason, self.lookups))
    }

    fn count_lookup(&mut self, term: &str) -> Option<Step> {
        self.lookups += 1;
        (self.lookups > MAX_LOOKUPS).then(|| {
            self.stop(
                SpfResult::Permerror,
                format!("more than {MAX_LOOKUPS} DNS lookups (at `{term}`, RFC 7208 §4.6.4)"),
            )
        })
    }

    /// Records of one lookup; NXDOMAIN and NODATA count as void.
    fn query(&mut self, name: &str, rtype: RecordType) -> Result<Vec<Rdata>, Step> {
        match self.res.lookup(&fqdn(name), rtype) {
            Answer::Records(r) => Ok(r.into_iter().map(|r| r.data).collect()),
            Answer::NoData | Answer::NxDomain => {
                self.void += 1;
                if self.void > MAX_VOID {
                    return Err(self.stop(
                        SpfResult::Permerror,
                        format!("more than {MAX_VOID} lookups found nothing (at {name} {rtype}, RFC 7208 §4.6.4)"),
                    ));
                }
                Ok(Vec::new())
            }
            Answer::Failed(why) | Answer::Unreachable(why) => {
                Err(self.stop(SpfResult::Temperror, format!("{name} {rtype}: {why}")))
            }
        }
    }

    fn run(&mut self, domain: &str, depth: usize) -> Outcome {
        let text = match record(self.res, domain) {
            Ok(Some(t)) => t,
            Ok(None) => {
                return done(
                    SpfResult::None,
                    None,
                    format!("{domain} has no SPF record"),
                    self.lookups,
                );
            }
            Err(o) => {
                return Outcome {
                    lookups: self.lookups,
                    ..o
                };
            }
        };
        let mut redirect = None;
        for term in spf::terms(&text) {
            if let Some((name, value)) = term.modifier() {
                if name.eq_ignore_ascii_case("redirect") {
                    if redirect.is_some() {
                        return done(
                            SpfResult::Permerror,
                            None,
                            format!("{domain}: two redirect= modifiers"),
                            self.lookups,
                        );
                    }
                    redirect = Some(value.to_string());
                }
                continue;
            }
            let result = match term.qualifier {
                "-" => SpfResult::Fail,
                "~" => SpfResult::Softfail,
                "?" => SpfResult::Neutral,
                _ => SpfResult::Pass,
            };
            match self.mechanism(domain, term.body, depth) {
                Step::Match => {
                    return done(
                        result,
                        Some(term.text.to_string()),
                        format!(
                            "{} matched `{}` in the SPF record of {domain}",
                            self.ip, term.text
                        ),
                        self.lookups,
                    );
                }
                Step::NoMatch => {}
                Step::Stop(o) => return o,
            }
        }
        if let Some(target) = redirect {
            if let Some(s) = self.count_lookup("redirect") {
                return stopped(s);
            }
            let target = match self.expand(&target, domain) {
                Ok(t) => t,
                Err(o) => return o,
            };
            if depth >= MAX_LOOKUPS {
                return done(
                    SpfResult::Permerror,
                    None,
                    "redirect loop".into(),
                    self.lookups,
                );
            }
            let o = self.run(&target, depth + 1);
            if o.result == SpfResult::None {
                return done(
                    SpfResult::Permerror,
                    None,
                    format!("redirect={target} has no SPF record"),
                    self.lookups,
                );
            }
            return o;
        }
        done(
            SpfResult::Neutral,
            None,
            format!("nothing in the SPF record of {domain} matched {}", self.ip),
            self.lookups,
        )
    }

    /// Evaluates one mechanism (`body`, without its qualifier) of the
    /// record of `domain`.
    fn mechanism(&mut self, domain: &str, body: &str, depth: usize) -> Step {
        let (name, arg) = match body.find([':', '/']) {
            Some(i) => (&body[..i], &body[i..]),
            None => (body, ""),
        };
        let name = name.to_ascii_lowercase();
        let (spec, cidr) = match arg.strip_prefix(':') {
            Some(s) => match s.find('/') {
                Some(i) => (Some(&s[..i]), &s[i..]),
                None => (Some(s), ""),
            },
            None => (None, arg),
        };
        let term = Term { domain, body, spec };
        match name.as_str() {
            "all" => Step::Match,
            // `ip4` alone has no value: not a valid mechanism.
            "ip4" | "ip6" => self.ip(&name, body, body.get(4..).unwrap_or("")),
            "include" => self.include(&term, depth),
            "a" => self.a_or_mx(&term, cidr, false),
            "mx" => self.a_or_mx(&term, cidr, true),
            "ptr" => self.ptr(&term),
            "exists" => self.exists(&term),
            _ => self.stop(SpfResult::Permerror, format!("unknown mechanism `{body}`")),
        }
    }

    /// The domain a mechanism's domain-spec names, macros expanded; the
    /// current domain without one.
    fn target(&self, term: &Term) -> Result<String, Outcome> {
        match term.spec {
            Some(s) => self.expand(s, term.domain),
            None => Ok(term.domain.to_string()),
        }
    }

    /// `ip4:NETWORK`, `ip6:NETWORK` (§5.6).
    fn ip(&self, name: &str, body: &str, value: &str) -> Step {
        match spf::network(name == "ip6", value) {
            Some(n) if n.contains(&self.ip) => Step::Match,
            Some(_) => Step::NoMatch,
            None => self.stop(
                SpfResult::Permerror,
                format!("`{body}` is not a valid {name} mechanism"),
            ),
        }
    }

    /// `include:DOMAIN` (§5.2): matches when DOMAIN's record passes.
    fn include(&mut self, term: &Term, depth: usize) -> Step {
        if let Some(s) = self.count_lookup(term.body) {
            return s;
        }
        if term.spec.is_none() {
            return self.stop(SpfResult::Permerror, "include needs a domain".into());
        }
        let t = match self.target(term) {
            Ok(t) => t,
            Err(o) => return Step::Stop(o),
        };
        if depth >= MAX_LOOKUPS {
            return self.stop(SpfResult::Permerror, "include loop".into());
        }
        let o = self.run(&t, depth + 1);
        match o.result {
            SpfResult::Pass => Step::Match,
            SpfResult::Fail | SpfResult::Softfail | SpfResult::Neutral => Step::NoMatch,
            SpfResult::Temperror => Step::Stop(o),
            SpfResult::Permerror | SpfResult::None => self.stop(
                SpfResult::Permerror,
                format!("include:{t} gave {} ({})", o.result.as_str(), o.reason),
            ),
        }
    }

    /// `a[:DOMAIN][/CIDR]` (§5.3) and `mx[:DOMAIN][/CIDR]` (§5.4): the
    /// address is in the network of one of the host's (or MX hosts')
    /// addresses.
    fn a_or_mx(&mut self, term: &Term, cidr: &str, mx: bool) -> Step {
        if let Some(s) = self.count_lookup(term.body) {
            return s;
        }
        let t = match self.target(term) {
            Ok(t) => t,
            Err(o) => return Step::Stop(o),
        };
        let Some(len) = cidr_len(cidr, self.ip) else {
            return self.stop(
                SpfResult::Permerror,
                format!("`{}` has a bad prefix length", term.body),
            );
        };
        let hosts = if mx {
            match self.mx_hosts(&t) {
                Ok(h) => h,
                Err(s) => return s,
            }
        } else {
            vec![t]
        };
        let rtype = self.address_type();
        for h in hosts {
            let addrs = match self.query(&h, rtype) {
                Ok(a) => a,
                Err(s) => return s,
            };
            for a in addrs.iter().filter_map(Rdata::addr) {
                if IpNet::new(a, len).is_ok_and(|n| n.trunc().contains(&self.ip)) {
                    return Step::Match;
                }
            }
        }
        Step::NoMatch
    }

    /// The MX hosts of `domain`, at most [`MAX_NAMES`].
    fn mx_hosts(&mut self, domain: &str) -> Result<Vec<String>, Step> {
        let mx = self.query(domain, RecordType::MX)?;
        if mx.len() > MAX_NAMES {
            return Err(self.stop(
                SpfResult::Permerror,
                format!("{domain} has more than {MAX_NAMES} MX records"),
            ));
        }
        Ok(mx
            .into_iter()
            .filter_map(|d| match d {
                Rdata::Mx(_, n) => Some(n),
                _ => None,
            })
            .collect())
    }

    /// A or AAAA: the records of the evaluated address's family.
    fn address_type(&self) -> RecordType {
        if self.ip.is_ipv4() {
            RecordType::A
        } else {
            RecordType::AAAA
        }
    }

    /// `ptr[:DOMAIN]` (§5.5): a validated name of the address (PTR that
    /// resolves back to it) is DOMAIN or below it.
    fn ptr(&mut self, term: &Term) -> Step {
        if let Some(s) = self.count_lookup(term.body) {
            return s;
        }
        let t = match self.target(term) {
            Ok(t) => t,
            Err(o) => return Step::Stop(o),
        };
        let rev = format!("{}.", crate::addr::reverse_name(self.ip));
        let names: Vec<String> = match self.res.lookup(&rev, RecordType::PTR) {
            Answer::Records(r) => r
                .into_iter()
                .filter_map(|r| match r.data {
                    Rdata::Ptr(n) => Some(n),
                    _ => None,
                })
                .take(MAX_NAMES)
                .collect(),
            _ => Vec::new(),
        };
        let rtype = self.address_type();
        let want = fqdn(&t);
        for n in names {
            if !(n == want || n.ends_with(&format!(".{want}"))) {
                continue;
            }
            if self
                .res
                .lookup(&n, rtype)
                .records()
                .iter()
                .any(|r| r.data.addr() == Some(self.ip))
            {
                return Step::Match;
            }
        }
        Step::NoMatch
    }

    /// `exists:DOMAIN` (§5.7): DOMAIN has an A record.
    fn exists(&mut self, term: &Term) -> Step {
        if let Some(s) = self.count_lookup(term.body) {
            return s;
        }
        let t = match self.target(term) {
            Ok(t) => t,
            Err(o) => return Step::Stop(o),
        };
        match self.query(&t, RecordType::A) {
            Ok(a) if !a.is_empty() => Step::Match,
            Ok(_) => Step::NoMatch,
            Err(s) => s,
        }
    }

    /// Expands the macros of a domain-spec (RFC 7208 §7).
    fn expand(&self, spec: &str, domain: &str) -> Result<String, Outcome> {
        let bad = |why: &str| {
            done(
                SpfResult::Permerror,
                None,
                format!("bad macro in `{spec}`: {why}"),
                self.lookups,
            )
        };
        let mut out = String::new();
        let mut chars = spec.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some('_') => out.push(' '),
                Some('-') => out.push_str("%20"),
                Some('{') => {
                    let mut body = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(x) => body.push(x),
                            None => return Err(bad("`%{` is not closed")),
                        }
                    }
                    out.push_str(&self.macro_value(&body, domain).ok_or_else(|| bad(&body))?);
                }
                _ => return Err(bad("`%` must be followed by `{`, `%`, `_` or `-`")),
            }
        }
        Ok(out.trim_end_matches('.').to_string())
    }

    fn macro_value(&self, body: &str, domain: &str) -> Option<String> {
        let mut it = body.chars();
        let letter = it.next()?.to_ascii_lowercase();
        let rest: String = it.collect();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let rest = &rest[digits.len()..];
        let (reverse, delims) = match rest.strip_prefix(['r', 'R']) {
            Some(d) => (true, d),
            None => (false, rest),
        };
        if !delims.chars().all(|c| ".-+,/_=".contains(c)) {
            return None;
        }
        let value = match letter {
            's' => format!("{}@{}", self.local, self.sender_domain),
            'l' => self.local.clone(),
            'o' => self.sender_domain.clone(),
            'd' | 'h' => domain.to_string(),
            'i' => match self.ip {
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(_) => {
                    let rev = crate::addr::reverse_name(self.ip);
                    let nib: Vec<&str> = rev.trim_end_matches(".ip6.arpa").split('.').collect();
                    nib.into_iter().rev().collect::<Vec<_>>().join(".")
                }
            },
            'v' => if self.ip.is_ipv4() { "in-addr" } else { "ip6" }.to_string(),
            _ => return None,
        };
        let delims = if delims.is_empty() { "." } else { delims };
        let mut parts: Vec<&str> = value.split(|c| delims.contains(c)).collect();
        if reverse {
            parts.reverse();
        }
        if !digits.is_empty() {
            let n: usize = digits.parse().ok()?;
            if n == 0 {
                return None;
            }
            let skip = parts.len().saturating_sub(n);
            parts = parts[skip..].to_vec();
        }
        Some(parts.join("."))
    }
}

fn stopped(s: Step) -> Outcome {
    match s {
        Step::Stop(o) => o,
        _ => done(SpfResult::Permerror, None, "internal".into(), 0),
    }
}

/// The prefix length of `a`/`mx` for this address family: `/24`,
/// `//64` or `/24//64`.
fn cidr_len(cidr: &str, ip: IpAddr) -> Option<u8> {
    let (v4, v6) = match cidr.split_once("//") {
        Some((a, b)) => (a.strip_prefix('/'), Some(b)),
        None => (cidr.strip_prefix('/'), None),
    };
    let v4 = v4.filter(|s| !s.is_empty());
    let parse = |s: Option<&str>, max: u8| -> Option<u8> {
        match s {
            None => Some(max),
            Some(s) => s.parse::<u8>().ok().filter(|n| *n <= max),
        }
    };
    if ip.is_ipv4() {
        parse(v4, 32)
    } else {
        parse(v6, 128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_lengths() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let table: &[(&str, IpAddr, Option<u8>)] = &[
            ("", v4, Some(32)),
            ("", v6, Some(128)),
            ("/24", v4, Some(24)),
            ("/24", v6, Some(128)),
            ("//64", v6, Some(64)),
            ("//64", v4, Some(32)),
            ("/24//64", v4, Some(24)),
            ("/24//64", v6, Some(64)),
            ("/33", v4, None),
            ("//129", v6, None),
            ("/x", v4, None),
        ];
        for (c, ip, want) in table {
            assert_eq!(cidr_len(c, *ip), *want, "{c} {ip}");
        }
    }

    /// RFC 7208 §7.4's examples. The resolver is never asked (macro
    /// expansion needs no DNS); it points at the discard port anyway.
    #[test]
    fn macros() {
        let res = Resolver::new(
            "127.0.0.1:9".parse().unwrap(),
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        let ev = |ip: &str| Eval {
            res: &res,
            ip: ip.parse().unwrap(),
            local: "strong-bad".into(),
            sender_domain: "email.example.com".into(),
            lookups: 0,
            void: 0,
        };
        let d = "email.example.com";
        let table: &[(&str, &str, Option<&str>)] = &[
            ("192.0.2.3", "%{s}", Some("strong-bad@email.example.com")),
            ("192.0.2.3", "%{o}", Some("email.example.com")),
            ("192.0.2.3", "%{d}", Some("email.example.com")),
            ("192.0.2.3", "%{d4}", Some("email.example.com")),
            ("192.0.2.3", "%{d3}", Some("email.example.com")),
            ("192.0.2.3", "%{d2}", Some("example.com")),
            ("192.0.2.3", "%{d1}", Some("com")),
            ("192.0.2.3", "%{dr}", Some("com.example.email")),
            ("192.0.2.3", "%{d2r}", Some("example.email")),
            ("192.0.2.3", "%{l}", Some("strong-bad")),
            ("192.0.2.3", "%{l-}", Some("strong.bad")),
            ("192.0.2.3", "%{lr}", Some("strong-bad")),
            ("192.0.2.3", "%{lr-}", Some("bad.strong")),
            ("192.0.2.3", "%{l1r-}", Some("strong")),
            (
                "192.0.2.3",
                "%{ir}.%{v}._spf.%{d2}",
                Some("3.2.0.192.in-addr._spf.example.com"),
            ),
            (
                "192.0.2.3",
                "%{lr-}.lp._spf.%{d2}",
                Some("bad.strong.lp._spf.example.com"),
            ),
            (
                "2001:db8::cb01",
                "%{ir}.%{v}._spf.%{d2}",
                Some(
                    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com",
                ),
            ),
            ("192.0.2.3", "a%%b%_c%-d", Some("a%b c%20d")),
            ("192.0.2.3", "%{x}", None),
            ("192.0.2.3", "%{d0}", None),
            ("192.0.2.3", "%{d", None),
            ("192.0.2.3", "%x", None),
        ];
        for (ip, spec, want) in table {
            let got = ev(ip).expand(spec, d).ok();
            assert_eq!(got.as_deref(), *want, "{spec}");
        }
    }
}
