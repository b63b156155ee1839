//! DNS blocklists (RFC 5782) and what their answers mean.
//!
//! An address is looked up as `<reversed address>.<zone>`. Only A answers
//! inside 127.0.0.0/8 mean anything (RFC 5782 §2.1). 127.0.0.1 is never a
//! listing: RFC 5782 §5 forbids lists to hold it, and a list answering
//! for it lists the whole Internet (a dead list, or a resolver rewriting
//! answers). Spamhaus answers in 127.255.255.0/24 are errors *of the
//! query* (a public resolver, too many queries, a typo), never listings:
//! tools that took them for listings rejected all mail (haraka#3106,
//! mox#354, mailserver#90). Anything else is shown raw as `unknown`.
//!
//! Each zone is also asked for 127.0.0.1 (`1.0.0.127.<zone>`), which must
//! not exist: a zone that answers it cannot be trusted.

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use crate::addr::reverse_name;
use crate::dns::{Answer, RecordType, Resolver};

/// The lists asked when none are given. Barracuda (needs registration)
/// and SORBS (closed in 2024) are left out on purpose.
pub const DEFAULT_ZONES: &[&str] = &[
    "zen.spamhaus.org",
    "bl.spamcop.net",
    "psbl.surriel.com",
    "bl.mailspike.net",
    "dnsbl-1.uceprotect.net",
];

/// Spamhaus ZEN return codes (https://www.spamhaus.org/faqs/dnsbl-usage/).
const SPAMHAUS_CODES: &[(u8, &str)] = &[
    (2, "SBL: a known spam source or spam operation"),
    (3, "SBL CSS: a snowshoe spam source"),
    (4, "XBL: an infected or exploited host (CBL)"),
    (5, "XBL: an infected or exploited host"),
    (6, "XBL: an infected or exploited host"),
    (7, "XBL: an infected or exploited host"),
    (9, "SBL DROP: a hijacked or spam-only network"),
    (
        10,
        "PBL: an end-user range the ISP says should not send mail directly",
    ),
    (
        11,
        "PBL: a range Spamhaus believes should not send mail directly",
    ),
];

/// Spamhaus query-error codes in 127.255.255.0/24.
const SPAMHAUS_ERRORS: &[(u8, &str)] = &[
    (252, "the DNSBL name has a typo"),
    (
        254,
        "queried through a public or open resolver: Spamhaus does not answer those (use your own resolver or a free DQS key)",
    ),
    (255, "too many queries: Spamhaus rate-limits this resolver"),
];

/// What a zone said about the address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsblResult {
    pub zone: String,
    /// `listed`, `not-listed`, `error` or `unknown`.
    pub status: Status,
    /// The raw A answers (empty when there were none).
    pub answer: Vec<String>,
    /// The list's TXT reason when listed; otherwise why the status is
    /// what it is (null for a plain not-listed).
    pub reason: Option<String>,
    /// What the answer code means, for lists with documented codes.
    pub meaning: Option<String>,
}

/// The status of one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Listed,
    NotListed,
    Error,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Listed => "listed",
            Status::NotListed => "not-listed",
            Status::Error => "error",
            Status::Unknown => "unknown",
        }
    }
}

/// Whether a zone follows Spamhaus's return codes (public mirrors and
/// Data Query Service zones alike).
fn is_spamhaus(zone: &str) -> bool {
    let z = zone.trim_end_matches('.').to_ascii_lowercase();
    z.ends_with("spamhaus.org") || z.ends_with("spamhaus.net")
}

/// The name to ask for `addr` in `zone`.
pub fn query_name(addr: IpAddr, zone: &str) -> String {
    let rev = reverse_name(addr);
    let labels = rev
        .strip_suffix(".in-addr.arpa")
        .or_else(|| rev.strip_suffix(".ip6.arpa"))
        .unwrap_or(&rev);
    format!("{labels}.{}.", zone.trim_end_matches('.'))
}

/// One answer code classified.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Code {
    Listed(Option<&'static str>),
    QueryError(&'static str),
    /// Not a listing; the reason says why.
    Odd(String),
}

fn classify_code(zone: &str, a: Ipv4Addr) -> Code {
    let o = a.octets();
    if o[0] != 127 {
        return Code::Odd(format!(
            "{a} is outside 127.0.0.0/8, so it is not a DNSBL answer (RFC 5782 §2.1); a resolver that rewrites non-existent names answers like this"
        ));
    }
    if a == Ipv4Addr::new(127, 0, 0, 1) {
        return Code::Odd(
            "127.0.0.1 is never a listing (RFC 5782 §5 forbids it); the list is broken or lists every address".into(),
        );
    }
    if is_spamhaus(zone) {
        if o[1] == 255 && o[2] == 255 {
            let why = SPAMHAUS_ERRORS
                .iter()
                .find(|(c, _)| *c == o[3])
                .map(|(_, w)| *w)
                .unwrap_or("a Spamhaus query error (127.255.255.0/24)");
            return Code::QueryError(why);
        }
        if o[1] == 0
            && o[2] == 0
            && let Some((_, m)) = SPAMHAUS_CODES.iter().find(|(c, _)| *c == o[3])
        {
            return Code::Listed(Some(m));
        }
        return Code::Odd(format!(
            "{a} is not a documented Spamhaus code (127.0.0.2 to 127.0.0.11)"
        ));
    }
    if o[1] == 255 && o[2] == 255 {
        return Code::Odd(format!(
            "{a} is in 127.255.255.0/24, the query-error range of Spamhaus-style lists; check this list's documentation"
        ));
    }
    Code::Listed(None)
}

/// Classifies the A answers of one zone; `txt` is the list's TXT reason.
pub fn classify(zone: &str, answers: &[Ipv4Addr], txt: Option<String>) -> DnsblResult {
    let codes: Vec<Code> = answers.iter().map(|a| classify_code(zone, *a)).collect();
    let mut r = DnsblResult {
        zone: zone.trim_end_matches('.').to_string(),
        status: Status::NotListed,
        answer: answers.iter().map(ToString::to_string).collect(),
        reason: None,
        meaning: None,
    };
    if let Some(why) = codes.iter().find_map(|c| match c {
        Code::QueryError(w) => Some(*w),
        _ => None,
    }) {
        r.status = Status::Error;
        r.reason = Some(why.to_string());
        return r;
    }
    let meanings: Vec<&str> = codes
        .iter()
        .filter_map(|c| match c {
            Code::Listed(m) => Some(m.unwrap_or("")),
            _ => None,
        })
        .collect();
    if !meanings.is_empty() {
        r.status = Status::Listed;
        r.reason = txt;
        let m: Vec<&str> = meanings.into_iter().filter(|m| !m.is_empty()).collect();
        r.meaning = (!m.is_empty()).then(|| m.join("; "));
        return r;
    }
    if let Some(Code::Odd(why)) = codes.first() {
        r.status = Status::Unknown;
        r.reason = Some(why.clone());
    }
    r
}

/// Asks every zone about `addr` (and about 127.0.0.1, which must not be
/// listed) through `res`.
pub fn check(res: &Resolver, addr: IpAddr, zones: &[String]) -> Vec<DnsblResult> {
    let canary = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut questions = Vec::new();
    for z in zones {
        questions.push((query_name(addr, z), RecordType::A));
        questions.push((query_name(canary, z), RecordType::A));
    }
    let answers = res.lookup_all(&questions);
    let mut out = Vec::new();
    for (i, z) in zones.iter().enumerate() {
        let (main, probe) = (&answers[2 * i], &answers[2 * i + 1]);
        let mut r = match main {
            Answer::NxDomain | Answer::NoData => classify(z, &[], None),
            Answer::Failed(why) | Answer::Unreachable(why) => DnsblResult {
                zone: z.trim_end_matches('.').to_string(),
                status: Status::Error,
                answer: Vec::new(),
                reason: Some(format!("the query failed: {why}")),
                meaning: None,
            },
            Answer::Records(recs) => {
                let ips: Vec<Ipv4Addr> = recs
                    .iter()
                    .filter_map(|r| match r.data {
                        crate::dns::Rdata::A(a) => Some(a),
                        _ => None,
                    })
                    .collect();
                let first = classify(z, &ips, None);
                if first.status == Status::Listed {
                    let txt = res.lookup(&query_name(addr, z), RecordType::TXT);
                    let reason = txt
                        .records()
                        .iter()
                        .filter_map(|r| r.data.txt_joined())
                        .collect::<Vec<_>>()
                        .join(" ");
                    classify(z, &ips, (!reason.is_empty()).then_some(reason))
                } else {
                    first
                }
            }
        };
        // A zone that lists 127.0.0.1 (outside its query-error range)
        // lists everything: its listing of `addr` means nothing.
        if let Answer::Records(recs) = probe
            && r.status == Status::Listed
        {
            let broken = recs.iter().any(|rec| match rec.data {
                crate::dns::Rdata::A(a) => !matches!(classify_code(z, a), Code::QueryError(_)),
                _ => false,
            });
            if broken {
                r.status = Status::Unknown;
                r.reason = Some(format!(
                    "the list answers for 127.0.0.1 ({}), which RFC 5782 §5 forbids: it lists every address (a dead list) or the resolver rewrites answers",
                    recs.iter()
                        .map(|x| x.data.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                r.meaning = None;
            }
        }
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names() {
        let table: &[(&str, &str, &str)] = &[
            (
                "198.51.100.7",
                "zen.spamhaus.org",
                "7.100.51.198.zen.spamhaus.org.",
            ),
            ("127.0.0.2", "bl.test.", "2.0.0.127.bl.test."),
            (
                "2001:db8::1",
                "zen.spamhaus.org",
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org.",
            ),
        ];
        for (a, z, want) in table {
            assert_eq!(query_name(a.parse().unwrap(), z), *want);
        }
    }

    #[test]
    fn answers_are_classified_per_list() {
        use Status::*;
        let table: &[(&str, &[&str], Status, Option<&str>)] = &[
            ("zen.spamhaus.org", &[], NotListed, None),
            ("zen.spamhaus.org", &["127.0.0.2"], Listed, Some("SBL")),
            (
                "zen.spamhaus.org",
                &["127.0.0.4", "127.0.0.10"],
                Listed,
                Some("PBL"),
            ),
            (
                "zen.spamhaus.org",
                &["127.255.255.254"],
                Error,
                Some("public or open resolver"),
            ),
            (
                "zen.spamhaus.org",
                &["127.255.255.255"],
                Error,
                Some("too many"),
            ),
            (
                "zen.spamhaus.org",
                &["127.255.255.1"],
                Error,
                Some("query error"),
            ),
            (
                "zen.spamhaus.org",
                &["127.0.0.2", "127.255.255.254"],
                Error,
                Some("public"),
            ),
            (
                "zen.spamhaus.org",
                &["127.0.0.1"],
                Unknown,
                Some("never a listing"),
            ),
            (
                "zen.spamhaus.org",
                &["127.0.0.12"],
                Unknown,
                Some("not a documented"),
            ),
            (
                "key.zen.dq.spamhaus.net",
                &["127.0.0.3"],
                Listed,
                Some("CSS"),
            ),
            ("bl.test", &["127.0.0.2"], Listed, None),
            ("bl.test", &["127.0.0.1"], Unknown, Some("never a listing")),
            ("bl.test", &["127.1.0.5"], Listed, None),
            (
                "bl.test",
                &["127.255.255.254"],
                Unknown,
                Some("query-error range"),
            ),
            (
                "bl.test",
                &["198.51.100.1"],
                Unknown,
                Some("outside 127.0.0.0/8"),
            ),
            ("bl.test", &["10.0.0.2"], Unknown, Some("outside")),
        ];
        for (zone, answers, status, text) in table {
            let ips: Vec<Ipv4Addr> = answers.iter().map(|a| a.parse().unwrap()).collect();
            let r = classify(zone, &ips, None);
            assert_eq!(r.status, *status, "{zone} {answers:?}");
            if let Some(t) = text {
                let all = format!("{:?} {:?}", r.reason, r.meaning);
                assert!(all.contains(t), "{zone} {answers:?}: {all}");
            }
            assert_eq!(
                r.answer,
                answers.iter().map(ToString::to_string).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn listed_keeps_the_lists_reason() {
        let r = classify(
            "bl.test",
            &["127.0.0.2".parse().unwrap()],
            Some("listed for spam, see https://bl.test/why".into()),
        );
        assert_eq!(r.status, Status::Listed);
        assert_eq!(
            r.reason.as_deref(),
            Some("listed for spam, see https://bl.test/why")
        );
    }
}
