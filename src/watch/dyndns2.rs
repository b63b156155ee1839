//! dyndns2 providers (Dyn, ChangeIP, No-IP and any dyndns2 server): `GET
//! /nic/update?hostname=H&myip=V4&myipv6=V6` with basic authentication,
//! over HTTPS unless the configuration names a plain `http://` URL.
//!
//! The answer is read as the protocol asks ([`ANSWERS`]): `good` and
//! `nochg` are success; `911` and `dnserr` mean "come back later" (not
//! before 30 minutes, as No-IP requires); every other answer is fatal:
//! the provider is not asked again until its configuration changes (a
//! repeated bad update gets the host blocked). zmreip sends an update only
//! when the address differs from the one it last sent, so it never
//! provokes the `nochg` that providers count as abuse.

use std::time::Duration;

use super::config::{Dyndns2, url_host};
use super::http::{self, USER_AGENT};
use super::state::Record;
use super::target::{Job, Outcome, Updater, Verdict, describe};
use super::{Addrs, Family, log};
use crate::dns::{Answer, Resolver};

/// How an answer is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Success,
    /// Try again later, not before [`WAIT`].
    Wait,
    /// Do not ask again until the configuration changes.
    Fatal,
}

/// The protocol's return codes, what they mean and how they are treated.
pub const ANSWERS: &[(&str, Kind, &str)] = &[
    ("good", Kind::Success, "updated"),
    ("nochg", Kind::Success, "it already held the address"),
    ("badauth", Kind::Fatal, "the user name or password is wrong"),
    (
        "!donator",
        Kind::Fatal,
        "the account lacks the feature this update asks for",
    ),
    (
        "notfqdn",
        Kind::Fatal,
        "the host name is not a fully qualified name",
    ),
    (
        "nohost",
        Kind::Fatal,
        "the host name does not exist in this account",
    ),
    ("numhost", Kind::Fatal, "too many host names in one update"),
    ("abuse", Kind::Fatal, "the host name is blocked for abuse"),
    ("badagent", Kind::Fatal, "the provider refuses this client"),
    ("dnserr", Kind::Wait, "the provider's DNS failed"),
    (
        "911",
        Kind::Wait,
        "the provider has a problem or is in maintenance",
    ),
];

/// The least time to wait after `911` or `dnserr`.
pub const WAIT: Duration = Duration::from_secs(30 * 60);

/// What an answer means: kind, code and words.
pub fn classify(body: &str) -> (Kind, String, String) {
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let code = line.split_whitespace().next().unwrap_or("");
        match ANSWERS.iter().find(|(c, _, _)| *c == code) {
            Some((_, Kind::Success, _)) => continue,
            Some((c, kind, words)) => return (*kind, (*c).to_string(), (*words).to_string()),
            None => {
                let shown: String = line.chars().take(80).collect();
                return (
                    Kind::Fatal,
                    shown,
                    "an answer the dyndns2 protocol does not define".into(),
                );
            }
        }
    }
    let first = body.split_whitespace().next().unwrap_or("");
    match ANSWERS.iter().find(|(c, _, _)| *c == first) {
        Some((c, kind, words)) => (*kind, (*c).to_string(), (*words).to_string()),
        None => (Kind::Fatal, String::new(), "an empty answer".into()),
    }
}

/// One host name at one provider.
pub struct Provider {
    cfg: Dyndns2,
}

impl Provider {
    pub fn new(cfg: Dyndns2) -> Provider {
        Provider { cfg }
    }

    fn query(&self, want: &Addrs) -> Vec<(&'static str, String)> {
        let mut q = vec![("hostname", self.cfg.hostname.clone())];
        if let Some(s) = want.get(&Family::V4) {
            q.push(("myip", s.addr.to_string()));
        }
        if let Some(s) = want.get(&Family::V6) {
            q.push(("myipv6", s.addr.to_string()));
        }
        q
    }

    fn what(&self) -> String {
        format!(
            "dyndns2 {} at {}",
            self.cfg.hostname,
            url_host(&self.cfg.url)
        )
    }
}

impl Updater for Provider {
    fn id(&self) -> String {
        format!("dyndns2 {} {}", url_host(&self.cfg.url), self.cfg.hostname)
    }

    fn update(&self, job: &Job) -> Outcome {
        let query = self.query(&job.want);
        if job.dry_run {
            let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            log::info(&format!(
                "{}: would send GET {}?{} (basic authentication as {}, User-Agent: {USER_AGENT})",
                self.what(),
                self.cfg.url,
                q.join("&"),
                self.cfg.username
            ));
            return Outcome::DryRun;
        }
        let resp = match http::get(
            &self.cfg.url,
            &query,
            Some((&self.cfg.username, &self.cfg.password)),
            self.cfg.timeout,
        ) {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(e),
        };
        let (kind, code, words) = classify(&resp.body);
        if kind == Kind::Fatal && code.is_empty() {
            // No dyndns2 answer at all: judge by the HTTP status.
            return match resp.status {
                401 | 403 => Outcome::Stop(format!(
                    "{}: HTTP {}: the user name or password is wrong",
                    self.what(),
                    resp.status
                )),
                s if s >= 500 || s == 429 => Outcome::Retry(format!("{}: HTTP {s}", self.what())),
                s => Outcome::Stop(format!(
                    "{}: HTTP {s} with {words}: check `server`",
                    self.what()
                )),
            };
        }
        match kind {
            Kind::Success => {
                // "good 127.0.0.1" for another address: the provider
                // ignored the update because it refuses the client.
                let ignored = resp.body.split_whitespace().nth(1) == Some("127.0.0.1")
                    && !job.want.values().any(|s| s.addr.is_loopback());
                if ignored {
                    return Outcome::Stop(format!(
                        "{}: answered `good 127.0.0.1`: the update was ignored because the provider refuses this client",
                        self.what()
                    ));
                }
                log::info(&format!(
                    "{}: {code}: {words} ({})",
                    self.what(),
                    describe(&job.want)
                ));
                Outcome::Done(Record::holding(&job.want))
            }
            Kind::Wait => Outcome::Wait(format!("{}: `{code}`: {words}", self.what()), WAIT),
            Kind::Fatal => Outcome::Stop(format!("{}: `{code}`: {words}", self.what())),
        }
    }

    fn verify(&self, want: &Addrs) -> Option<Verdict> {
        let server = self.cfg.verify_server?;
        let res = match Resolver::new(server, Duration::from_secs(5)) {
            Ok(r) => r,
            Err(e) => return Some(Verdict::Unknown(e.to_string())),
        };
        let mut wrong = Vec::new();
        for (family, seen) in want {
            match res.lookup(&self.cfg.hostname, family.record_type()) {
                Answer::Records(rrs) if rrs.len() == 1 && rrs[0].data.addr() == Some(seen.addr) => {
                }
                Answer::Records(rrs) => wrong.push(format!(
                    "{} {} at {server} holds {}",
                    self.cfg.hostname,
                    family.record_type(),
                    rrs.iter()
                        .map(|r| r.data.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Answer::NoData | Answer::NxDomain => wrong.push(format!(
                    "{} has no {} record at {server}",
                    self.cfg.hostname,
                    family.record_type()
                )),
                Answer::Failed(why) | Answer::Unreachable(why) => {
                    return Some(Verdict::Unknown(why));
                }
            }
        }
        Some(if wrong.is_empty() {
            Verdict::Holds
        } else {
            Verdict::Differs(wrong.join("; "))
        })
    }

    fn fingerprint(&self) -> String {
        self.cfg.fingerprint.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        let table: &[(&str, Kind, &str)] = &[
            ("good 198.51.100.7", Kind::Success, "good"),
            ("good 198.51.100.7\n", Kind::Success, "good"),
            ("nochg 198.51.100.7", Kind::Success, "nochg"),
            ("good 198.51.100.7\ngood 2001:db8::7", Kind::Success, "good"),
            ("badauth", Kind::Fatal, "badauth"),
            ("badauth\n", Kind::Fatal, "badauth"),
            ("!donator", Kind::Fatal, "!donator"),
            ("notfqdn", Kind::Fatal, "notfqdn"),
            ("nohost", Kind::Fatal, "nohost"),
            ("numhost", Kind::Fatal, "numhost"),
            ("abuse", Kind::Fatal, "abuse"),
            ("badagent", Kind::Fatal, "badagent"),
            ("dnserr", Kind::Wait, "dnserr"),
            ("911", Kind::Wait, "911"),
            // A success for one line and a failure for the next: the
            // failure decides.
            ("good 198.51.100.7\nabuse", Kind::Fatal, "abuse"),
            ("nochg 198.51.100.7\n911", Kind::Wait, "911"),
            // Not the protocol: never taken as success.
            ("goodbye", Kind::Fatal, "goodbye"),
            ("<html>500</html>", Kind::Fatal, "<html>500</html>"),
            ("9111", Kind::Fatal, "9111"),
            ("", Kind::Fatal, ""),
        ];
        for (body, kind, code) in table {
            let (k, c, _) = classify(body);
            assert_eq!((k, c.as_str()), (*kind, *code), "{body:?}");
        }
    }
}
