//! DNSSEC-signed zone files (RFC 4034): telling `dnssec-signzone` output
//! from its unsigned source, and the `dnssec-signzone` command that signs
//! the source again the way the signed file was signed: the same keys
//! (found by smart signing, `-S`, in the directory that holds them), the
//! same denial of existence (NSEC, or NSEC3 with its salt, iterations and
//! opt-out) and the same signature validity.

use std::collections::BTreeSet;

use super::parse::Record;
use crate::host::Host;

/// Record types only signed data holds: a file with one of them is
/// signed, and an edit of any other record breaks a signature or a
/// denial-of-existence chain.
const SIGNED_TYPES: &[&str] = &["RRSIG", "NSEC", "NSEC3"];

/// Whether records are signed data.
pub fn holds_signatures(records: &[Record]) -> bool {
    records
        .iter()
        .any(|r| SIGNED_TYPES.contains(&r.rtype.as_str()))
}

/// How to sign a zone's unsigned source again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resign {
    /// The zone, without its trailing dot.
    pub zone: String,
    /// Host path of the signed file.
    pub signed: String,
    /// Host path of the unsigned source.
    pub source: String,
    /// Key file names (`Kzone.+013+12345`) of the keys the signatures
    /// were made with.
    pub keys: Vec<String>,
    /// The directory holding those keys' `.private` files, if found.
    pub key_dir: Option<String>,
    /// NSEC3 parameters, when the zone is denied with NSEC3.
    pub nsec3: Option<Nsec3>,
    /// Seconds from inception to expiration of the SOA's signature.
    pub validity: Option<u64>,
}

/// NSEC3 parameters (RFC 5155 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsec3 {
    /// Hex, `-` for none.
    pub salt: String,
    pub iterations: u16,
    pub opt_out: bool,
}

impl Resign {
    /// Reads how `signed` (the records of the signed file of `zone`,
    /// absolute with the dot) was signed.
    pub fn read(host: &Host, zone: &str, signed: &str, source: &str, records: &[Record]) -> Resign {
        let zone = zone.trim_end_matches('.').to_string();
        let mut keys = BTreeSet::new();
        let mut validity = None;
        for r in records.iter().filter(|r| r.rtype == "RRSIG") {
            let f: Vec<&str> = r.rdata.iter().map(|t| t.raw.as_str()).collect();
            let (Some(alg), Some(tag)) = (
                f.get(1).and_then(|a| algorithm(a)),
                f.get(6).and_then(|t| t.parse::<u16>().ok()),
            ) else {
                continue;
            };
            keys.insert(format!("K{zone}.+{alg:03}+{tag:05}"));
            if f.first().is_some_and(|t| t.eq_ignore_ascii_case("SOA")) {
                validity = match (
                    f.get(4).and_then(|t| time(t)),
                    f.get(5).and_then(|t| time(t)),
                ) {
                    (Some(exp), Some(inc)) if exp > inc => Some(exp - inc),
                    _ => None,
                };
            }
        }
        let keys: Vec<String> = keys.into_iter().collect();
        let dir = parent(signed);
        let key_dir = (!keys.is_empty()
            && keys
                .iter()
                .all(|k| host.exists(&format!("{dir}/{k}.private"))))
        .then(|| dir.to_string());
        let nsec3 = records
            .iter()
            .find(|r| r.rtype == "NSEC3PARAM")
            .and_then(|p| {
                let f: Vec<&str> = p.rdata.iter().map(|t| t.raw.as_str()).collect();
                Some(Nsec3 {
                    iterations: f.get(2)?.parse().ok()?,
                    salt: (*f.get(3)?).to_string(),
                    // Opt-out is a flag of the NSEC3 records themselves.
                    opt_out: records.iter().any(|r| {
                        r.rtype == "NSEC3"
                            && r.rdata
                                .get(1)
                                .and_then(|t| t.raw.parse::<u8>().ok())
                                .is_some_and(|flags| flags & 1 == 1)
                    }),
                })
            });
        Resign {
            zone,
            signed: signed.to_string(),
            source: source.to_string(),
            keys,
            key_dir,
            nsec3,
            validity,
        }
    }

    /// The command, run from the signed file's directory, then the reload
    /// that serves what it wrote.
    pub fn command(&self) -> String {
        let dir = parent(&self.signed);
        let rel = |p: &str| {
            p.strip_prefix(dir)
                .and_then(|r| r.strip_prefix('/'))
                .unwrap_or(p)
                .to_string()
        };
        let mut c = format!(
            "cd {dir} && dnssec-signzone -S -K {} -o {}",
            self.key_dir.as_deref().unwrap_or(dir),
            self.zone
        );
        if let Some(n) = &self.nsec3 {
            c.push_str(&format!(" -3 {} -H {}", n.salt, n.iterations));
            if n.opt_out {
                c.push_str(" -A");
            }
        }
        if let Some(v) = self.validity {
            c.push_str(&format!(" -e +{v}"));
        }
        c.push_str(&format!(
            " -f {} {} && rndc reload {}",
            rel(&self.signed),
            rel(&self.source),
            self.zone
        ));
        c
    }
}

/// The directory part of a host path.
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// A DNSSEC algorithm number, written as a number or a mnemonic
/// (RFC 8624 §3.1).
fn algorithm(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    const NAMES: &[(&str, u8)] = &[
        ("RSAMD5", 1),
        ("DSA", 3),
        ("RSASHA1", 5),
        ("DSA-NSEC3-SHA1", 6),
        ("NSEC3RSASHA1", 7),
        ("RSASHA256", 8),
        ("RSASHA512", 10),
        ("ECC-GOST", 12),
        ("ECDSAP256SHA256", 13),
        ("ECDSAP384SHA384", 14),
        ("ED25519", 15),
        ("ED448", 16),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, v)| *v)
}

/// An RRSIG time (RFC 4034 §3.2): `YYYYMMDDHHmmSS` UTC, or seconds since
/// the epoch.
fn time(s: &str) -> Option<u64> {
    if s.len() != 14 {
        return s.parse().ok();
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u64>().ok();
    let (y, mo, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (h, mi, se) = (n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d)? * 86_400 + h * 3600 + mi * 60 + se)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// algorithm), for dates from 1970 on.
fn days_from_civil(y: u64, m: u64, d: u64) -> Option<u64> {
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::super::parse::{self, Item};
    use super::*;

    /// The shapes of dnssec-signzone output: RRSIGs over several lines
    /// and on one, NSEC3 with opt-out, an algorithm written as a name.
    const SIGNED: &str = "corp.example.\t300\tIN SOA\tmail.corp.example. hm.corp.example. (
\t\t\t\t\t2024010100 ; serial
\t\t\t\t\t3600 900 604800 300 )
\t\t\t300\tRRSIG\tSOA 13 2 300 (
\t\t\t\t\t20240301000000 20240131000000 1683 corp.example.
\t\t\t\t\twJyWi7Lvcp0IUmc5JtJiY7LP3X46+OFCQa0d )
\t\t\t0\tNSEC3PARAM 1 0 10 ABCD
mail.corp.example. 300 IN A 192.0.2.10
mail.corp.example. 300 IN RRSIG A ECDSAP256SHA256 3 300 20240301000000 20240131000000 1683 corp.example. AAAA
corp.example. 300 IN RRSIG DNSKEY 13 2 300 20240301000000 20240131000000 2760 corp.example. AAAA
x.corp.example. 300 IN NSEC3 1 1 10 ABCD 0123 A RRSIG
";

    fn records(text: &str) -> Vec<Record> {
        let mut st = parse::State {
            origin: "corp.example.".into(),
            ..Default::default()
        };
        parse::parse("/etc/bind/db.signed", text, &mut st)
            .unwrap()
            .into_iter()
            .filter_map(|i| match i {
                Item::Record(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn how_a_zone_was_signed() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::open(dir.path(), None).unwrap();
        let recs = records(SIGNED);
        assert!(holds_signatures(&recs));
        assert!(!holds_signatures(&records(
            "@ 300 IN SOA a. b. 1 2 3 4 5\nmail A 192.0.2.10\n"
        )));
        let r = Resign::read(
            &host,
            "corp.example.",
            "/etc/bind/db.signed",
            "/etc/bind/db.src",
            &recs,
        );
        assert_eq!(
            r.keys,
            ["Kcorp.example.+013+01683", "Kcorp.example.+013+02760"]
        );
        assert_eq!(r.key_dir, None);
        assert_eq!(
            r.nsec3,
            Some(Nsec3 {
                salt: "ABCD".into(),
                iterations: 10,
                opt_out: true
            })
        );
        assert_eq!(r.validity, Some(30 * 86_400));
        assert_eq!(
            r.command(),
            "cd /etc/bind && dnssec-signzone -S -K /etc/bind -o corp.example -3 ABCD -H 10 -A -e +2592000 -f db.signed db.src && rndc reload corp.example"
        );
        // The keys beside the signed file are found there.
        for k in &r.keys {
            let p = dir.path().join(format!("etc/bind/{k}.private"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let r = Resign::read(
            &host,
            "corp.example.",
            "/etc/bind/db.signed",
            "/var/lib/bind/src",
            &recs,
        );
        assert_eq!(r.key_dir.as_deref(), Some("/etc/bind"));
        assert!(
            r.command().contains(" -f db.signed /var/lib/bind/src && "),
            "{}",
            r.command()
        );
    }

    #[test]
    fn rrsig_times() {
        for (s, want) in [
            ("19700101000000", Some(0)),
            ("20000301000000", Some(951_868_800)),
            ("20240229120000", Some(1_709_208_000)),
            ("20340101000000", Some(2_019_686_400)),
            ("1709208000", Some(1_709_208_000)),
            ("20241301000000", None),
            ("2024022912000x", None),
            ("", None),
        ] {
            assert_eq!(time(s), want, "{s}");
        }
    }

    #[test]
    fn algorithms() {
        assert_eq!(algorithm("13"), Some(13));
        assert_eq!(algorithm("ecdsap256sha256"), Some(13));
        assert_eq!(algorithm("RSASHA256"), Some(8));
        assert_eq!(algorithm("nope"), None);
    }
}
