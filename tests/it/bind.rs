//! `zmreip bind` on a copy of the fixture host (its address 172.20.14.25
//! is in the host's netplan), through the real binary: the plan's changes
//! and intent, apply and rollback byte for byte, unbind, the refusal of
//! an address the host does not have, and a later re-address that moves
//! the bindings with the address.

use crate::support::lab::*;

const ADDR: &str = "172.20.14.25";

const MAIN_CF: &str = "myhostname = mail.corp.example\n\
    inet_interfaces = all\n\
    mynetworks = 127.0.0.0/8 172.20.14.25/32\n";

/// An excerpt of Zimbra's master.cf.in: the public listener, the two
/// transports that deliver off the host, a commented option, and an
/// internal listener on loopback (which must stay unbound).
const MASTER_CF_IN: &str = "smtp      inet  n       -       n       -       1       postscreen\n\
    smtp      unix  -       -       n       -       -       smtp\n\
    relay     unix  -       -       n       -       -       smtp\n\
    \t-o smtp_fallback_relay=\n\
    #\t-o smtp_bind_address=172.20.14.250\n\
    [%%zimbraLocalBindAddress%%]:10025 inet n  -       n       -       -  smtpd\n\
    smtp-amavis unix -      -       n       -       %%zimbraAmavisMaxServers%% smtp\n";

/// The fixture host with Postfix's files, and the stand-in services
/// knowing `mta.restart` (inet_interfaces is read at start only).
fn lab() -> Lab {
    let lab = Lab::new();
    let conf = lab.host("/opt/zimbra/common/conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("main.cf"), MAIN_CF).unwrap();
    std::fs::write(conf.join("master.cf.in"), MASTER_CF_IN).unwrap();
    let mut toml = std::fs::read_to_string(lab.services()).unwrap();
    toml.push_str(&format!(
        "mta.restart = \"echo \\\"$ZMREIP_PHASE mta.restart\\\" >> '{}'\"\n",
        lab.service_log().display()
    ));
    std::fs::write(lab.services(), toml).unwrap();
    lab
}

/// `bind ARGS --out P` on the lab, no DNS asked (a resolver on a closed
/// loopback port answers nothing, quickly).
fn bind(lab: &Lab, args: &[&str], out: &str) -> (Output, std::path::PathBuf) {
    let p = lab.path().join(out);
    let o = Zmreip::new(["bind"])
        .args(args)
        .args([
            "--resolver",
            "127.0.0.1:9",
            "--timeout",
            "1",
            "--format",
            "json",
            "--out",
        ])
        .arg(&p)
        .root(lab.root())
        .ldif(lab.ldif())
        .run();
    (o, p)
}

fn read(lab: &Lab, p: &str) -> String {
    std::fs::read_to_string(lab.host(p)).unwrap()
}

/// (target, before, after) of every change of a JSON plan.
fn changes(plan: &serde_json::Value) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let t = &c["target"];
            let target = match t.get("line") {
                Some(l) => format!("{}:{l}", t["file"].as_str().unwrap()),
                None => t
                    .get("attribute")
                    .or_else(|| t.get("key"))
                    .and_then(|v| v.as_str())
                    .unwrap()
                    .to_string(),
            };
            (target, c["before"].clone(), c["after"].clone())
        })
        .collect()
}

#[test]
fn bind_outbound_and_listen_then_apply_rollback_and_unbind() {
    let lab = lab();
    let before = lab.snapshot();
    let (o, plan) = bind(
        &lab,
        &[
            "--address",
            ADDR,
            "--outbound",
            "--listen",
            "imap,ldap",
            "--listen",
            "smtp,imap",
        ],
        "bind.json",
    );
    let o = o.status(0);
    let json = o.json();
    assert_eq!(json["schema"], "zmreip.plan/v1");
    assert_eq!(json["from"], serde_json::json!([]));
    assert_eq!(json["bind"]["address"], ADDR);
    // The intent names each service's setting, place and action, once.
    let services: Vec<(String, String, String)> = json["bind"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["setting"].as_str().unwrap().to_string(),
                format!(
                    "{} {}",
                    s["actions"][0]["service"], s["actions"][0]["action"]
                ),
            )
        })
        .collect();
    assert_eq!(
        services,
        [
            (
                "outbound".into(),
                "smtp_bind_address".into(),
                "\"mta\" \"reload\"".into()
            ),
            (
                "imap".into(),
                "zimbraImapBindAddress".into(),
                "\"mailbox\" \"restart\"".into()
            ),
            (
                "ldap".into(),
                "ldap_bind_url".into(),
                "\"ldap\" \"restart\"".into()
            ),
            (
                "smtp".into(),
                "inet_interfaces".into(),
                "\"mta\" \"restart\"".into()
            ),
        ]
    );
    let master = "/opt/zimbra/common/conf/master.cf.in";
    let main = "/opt/zimbra/common/conf/main.cf";
    let j = |s: &str| serde_json::Value::String(s.into());
    assert_eq!(
        changes(&json),
        [
            // The option follows each entry's last line (a comment
            // inside an entry does not end it); smtp-amavis, the
            // loopback hop to the content filter, stays unbound.
            (
                format!("{master}:2"),
                j("smtp      unix  -       -       n       -       -       smtp"),
                j(
                    "smtp      unix  -       -       n       -       -       smtp\n\t-o smtp_bind_address=172.20.14.25"
                ),
            ),
            (
                format!("{master}:4"),
                j("\t-o smtp_fallback_relay="),
                j("\t-o smtp_fallback_relay=\n\t-o smtp_bind_address=172.20.14.25"),
            ),
            (
                "zimbraImapBindAddress".into(),
                serde_json::json!([]),
                serde_json::json!([ADDR])
            ),
            // ldap_bind_url is already ldap://172.20.14.25:389: no change.
            (
                format!("{main}:2"),
                j("inet_interfaces = all"),
                j("inet_interfaces = 127.0.0.1, 172.20.14.25"),
            ),
        ]
    );
    // A closed resolver: the PTR and SPF checks say they were not made.
    let codes: Vec<&str> = json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"bind-dns-unchecked"), "{codes:?}");
    assert!(codes.contains(&"bind-by-name"), "{codes:?}");

    // Apply: the files and the directory hold the bindings.
    let out = lab.apply(&plan).ok();
    assert!(
        out.stdout
            .contains("not verified: `zmreip verify` checks a move"),
        "{}",
        out.stdout
    );
    let m = read(&lab, master);
    assert_eq!(
        m.matches("\t-o smtp_bind_address=172.20.14.25\n").count(),
        2,
        "{m}"
    );
    assert!(read(&lab, main).contains("\ninet_interfaces = 127.0.0.1, 172.20.14.25\n"));
    let ldif = std::fs::read_to_string(lab.ldif()).unwrap();
    assert!(
        ldif.contains("zimbraImapBindAddress: 172.20.14.25\n"),
        "{ldif}"
    );
    assert_eq!(
        lab.service_calls(),
        ["apply mta.restart", "apply mailbox.restart"],
        "MTA restart covers its reload"
    );
    let history = Zmreip::new(["history"]).root(lab.root()).ok();
    assert!(
        history
            .stdout
            .contains("bind: outbound, imap, ldap, smtp → 172.20.14.25"),
        "{}",
        history.stdout
    );

    // Binding again finds nothing to do.
    let (o, _) = bind(
        &lab,
        &["--address", ADDR, "--outbound", "--listen", "imap,smtp"],
        "again.json",
    );
    assert_eq!(o.status(0).json()["changes"], serde_json::json!([]));

    // Unbind plans the way back: options removed, inet_interfaces all,
    // the attribute emptied.
    let (o, _) = bind(
        &lab,
        &["--unbind", "--outbound", "--listen", "imap,smtp"],
        "unbind.json",
    );
    let json = o.status(0).json();
    assert_eq!(json["bind"]["address"], serde_json::Value::Null);
    assert_eq!(
        changes(&json),
        [
            (
                format!("{master}:3"),
                j("\t-o smtp_bind_address=172.20.14.25"),
                j("")
            ),
            (
                format!("{master}:6"),
                j("\t-o smtp_bind_address=172.20.14.25"),
                j("")
            ),
            (
                "zimbraImapBindAddress".into(),
                serde_json::json!([ADDR]),
                serde_json::json!([])
            ),
            (
                format!("{main}:2"),
                j("inet_interfaces = 127.0.0.1, 172.20.14.25"),
                j("inet_interfaces = all"),
            ),
        ]
    );

    // Rollback: byte-identical to before (once the plans saved beside it are gone).
    lab.rollback().ok();
    for f in ["bind.json", "again.json", "unbind.json"] {
        std::fs::remove_file(lab.path().join(f)).unwrap();
    }
    assert_same(&before, &lab.snapshot(), "after rollback of a bind");
}

#[test]
fn an_address_the_host_does_not_have_is_refused() {
    let lab = lab();
    let before = lab.snapshot();
    // 172.20.14.250 is a neighbour in the host's files, not its own
    // address (and no interface of this machine has it). Nothing is sent
    // to it: the address is only compared with the interface list.
    let (o, plan) = bind(
        &lab,
        &["--address", "172.20.14.250", "--outbound"],
        "no.json",
    );
    let o = o.status(2);
    assert!(
        o.stderr
            .contains("--address 172.20.14.250 is not configured on this host"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("help: bring the address up"),
        "{}",
        o.stderr
    );
    assert!(!plan.exists());
    assert_same(&before, &lab.snapshot(), "after a refused bind");
}

#[test]
fn bad_usage_says_what_to_do() {
    let lab = lab();
    let (o, _) = bind(&lab, &["--address", ADDR], "x.json");
    let o = o.status(2);
    assert!(o.stderr.contains("nothing to bind"), "{}", o.stderr);
    assert!(o.stderr.contains("help: add --outbound"), "{}", o.stderr);
    let (o, _) = bind(
        &lab,
        &["--address", ADDR, "--listen", "imap,imap4"],
        "x.json",
    );
    let o = o.status(2);
    assert!(
        o.stderr.contains("--listen: no service `imap4`"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("imaps, pop3"), "{}", o.stderr);
    // --address and --unbind exclude each other; one is needed.
    bind(
        &lab,
        &["--address", ADDR, "--unbind", "--outbound"],
        "x.json",
    )
    .0
    .status(2);
    bind(&lab, &["--outbound"], "x.json").0.status(2);
}

#[test]
fn a_re_address_moves_the_bindings_with_the_address() {
    let lab = lab();
    let (o, plan) = bind(
        &lab,
        &[
            "--address",
            ADDR,
            "--outbound",
            "--listen",
            "imap,pop3,smtp,ldap",
        ],
        "bind.json",
    );
    o.status(0);
    lab.apply(&plan).ok();
    // Now the host moves: every binding that names the old address
    // names the new one; the trap 172.20.14.250 (commented) stays.
    let out = Zmreip::new([
        "plan",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
        "--format",
        "json",
    ])
    .root(lab.root())
    .ldif(lab.ldif())
    .ok();
    let json = out.json();
    let all = changes(&json);
    let master = "/opt/zimbra/common/conf/master.cf.in";
    let main = "/opt/zimbra/common/conf/main.cf";
    let find = |t: &str| {
        all.iter()
            .find(|(target, _, _)| target == t)
            .map(|(_, b, a)| (b.clone(), a.clone()))
            .unwrap_or_else(|| panic!("no change of {t} in {all:?}"))
    };
    let j = |s: &str| serde_json::Value::String(s.into());
    assert_eq!(
        find(&format!("{master}:3")),
        (
            j("\t-o smtp_bind_address=172.20.14.25"),
            j("\t-o smtp_bind_address=10.40.7.131")
        )
    );
    assert_eq!(
        find(&format!("{master}:6")),
        (
            j("\t-o smtp_bind_address=172.20.14.25"),
            j("\t-o smtp_bind_address=10.40.7.131")
        )
    );
    assert_eq!(
        find(&format!("{main}:2")),
        (
            j("inet_interfaces = 127.0.0.1, 172.20.14.25"),
            j("inet_interfaces = 127.0.0.1, 10.40.7.131")
        )
    );
    for attr in ["zimbraImapBindAddress", "zimbraPop3BindAddress"] {
        assert_eq!(
            find(attr),
            (
                serde_json::json!([ADDR]),
                serde_json::json!(["10.40.7.131"])
            ),
            "{attr}"
        );
    }
    assert_eq!(
        find("ldap_bind_url"),
        (j("ldap://172.20.14.25:389"), j("ldap://10.40.7.131:389"))
    );
    assert!(
        !all.iter().any(|(t, _, _)| t == &format!("{master}:7")),
        "the commented option stays: {all:?}"
    );
}

// --- PTR and SPF of the outbound address, asked of a real named ---------
//
// named on 127.0.0.1 is authoritative for the host's forward zone, its
// reverse zone and a second mail domain, so it stands in for a resolver.
// The addresses in the zones are data only: no traffic goes to them.

/// The PTR record `bind-ptr` asks for, as it words it.
const PTR_REQUEST: &str =
    "ask the provider of 172.20.14.25 to set PTR 25.14.20.172.in-addr.arpa. → mail.corp.example";

/// One state of DNS: the apex SPF records of corp.example and
/// other.example (zone-file TXT data, possibly several strings), other
/// records of corp.example, and the records of 14.20.172.in-addr.arpa.
#[derive(Clone)]
struct Dns {
    corp_spf: Vec<String>,
    other_spf: Vec<String>,
    forward: Vec<String>,
    reverse: Vec<String>,
}

impl Dns {
    fn new(corp_spf: &[&str], other_spf: &[&str], forward: &[&str], reverse: &[&str]) -> Dns {
        let own = |l: &[&str]| l.iter().map(ToString::to_string).collect();
        Dns {
            corp_spf: own(corp_spf),
            other_spf: own(other_spf),
            forward: own(forward),
            reverse: own(reverse),
        }
    }

    fn zone(spf: &[String], body: &[String]) -> String {
        let mut z = String::from(
            "$TTL 300\n@ IN SOA ns1.corp.example. hostmaster.corp.example. 1 3600 600 86400 300\n  IN NS ns1.corp.example.\n",
        );
        for s in spf {
            z.push_str(&format!("@ IN TXT {s}\n"));
        }
        for l in body {
            z.push_str(l);
            z.push('\n');
        }
        z
    }

    fn serve(&self) -> crate::support::dns::Server {
        use crate::support::dns::{self as servers, Zone};
        // Mail comes in through mx-in; it is not the outbound address, so
        // the `mx` mechanism does not pass 172.20.14.25.
        let mut forward = vec![
            "ns1 IN A 127.0.0.1".to_string(),
            "@ IN MX 10 mx-in".to_string(),
            "mx-in IN A 172.20.14.30".to_string(),
        ];
        forward.extend(self.forward.iter().cloned());
        let forward = Dns::zone(&self.corp_spf, &forward);
        let other = Dns::zone(&self.other_spf, &[]);
        let reverse = Dns::zone(&[], &self.reverse);
        let z = |name, text| Zone {
            name,
            text,
            update_key: None,
        };
        servers::named(
            &[
                z("corp.example", &forward),
                z("other.example", &other),
                z("14.20.172.in-addr.arpa", &reverse),
            ],
            &[],
        )
    }
}

/// `bind --address 172.20.14.25 --outbound` asking `resolver`: its
/// (code, message) warnings about DNS, and how long it took.
fn outbound_dns(
    lab: &Lab,
    resolver: std::net::SocketAddr,
    domains: &[&str],
) -> (Vec<(String, String)>, std::time::Duration) {
    let t0 = std::time::Instant::now();
    let mut z = Zmreip::new(["bind", "--address", ADDR, "--outbound", "--format", "json"]).args([
        "--resolver",
        &resolver.to_string(),
        "--timeout",
        "1",
    ]);
    for d in domains {
        z = z.args(["--domain", d]);
    }
    let o = z.root(lab.root()).ldif(lab.ldif()).run().status(0);
    let took = t0.elapsed();
    let warnings = o.json()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["code"].as_str().unwrap().to_string(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(c, _)| matches!(c.as_str(), "bind-ptr" | "bind-spf" | "bind-dns-unchecked"))
        .collect();
    (warnings, took)
}

/// The record a `bind-spf` warning says to publish: (owner, TXT data).
fn suggested_spf(message: &str) -> (String, String) {
    let rest = message
        .split("; publish `")
        .nth(1)
        .unwrap_or_else(|| panic!("no record to publish in: {message}"));
    let (owner, rest) = rest.split_once(" TXT \"").unwrap();
    let (record, _) = rest
        .split_once("\"`")
        .unwrap_or_else(|| panic!("an unterminated record in: {message}"));
    (owner.to_string(), record.to_string())
}

struct OutboundCase {
    what: &'static str,
    dns: Dns,
    /// `--domain` values (none: the domain of myhostname, corp.example).
    domains: &'static [&'static str],
    /// The DNS warnings, in order: (code, fragments of its message).
    want: &'static [(&'static str, &'static [&'static str])],
    /// The exact records the `bind-spf` warnings say to publish: (owner,
    /// TXT data).
    publish: &'static [(&'static str, &'static str)],
}

/// The DNS of `dns` with the records the warnings ask for in place: the
/// PTR (and the A record of myhostname when it is asked for) and each
/// SPF record to publish. None when a warning asks for no exact record.
fn follow_advice(dns: &Dns, warnings: &[(String, String)]) -> Option<Dns> {
    let mut fixed = dns.clone();
    for (code, m) in warnings {
        match code.as_str() {
            "bind-ptr" => {
                let (_, rest) = m.split_once(" to set PTR ")?;
                let (owner, rest) = rest.split_once(" → ")?;
                let host = rest.split([',', ' ']).next()?;
                fixed.reverse.retain(|l| !l.starts_with("25 "));
                fixed.reverse.push(format!("{owner} IN PTR {host}."));
                if m.contains(&format!("point the A/AAAA record of {host} at {ADDR}")) {
                    let label = host.split('.').next()?;
                    fixed
                        .forward
                        .retain(|l| !l.starts_with(&format!("{label} ")));
                    fixed.forward.push(format!("{label} IN A {ADDR}"));
                }
            }
            "bind-spf" if m.contains("; publish `") => {
                let (owner, record) = suggested_spf(m);
                let spf = vec![format!("\"{record}\"")];
                match owner.as_str() {
                    "corp.example." => fixed.corp_spf = spf,
                    "other.example." => fixed.other_spf = spf,
                    o => panic!("a record to publish at {o}, outside the test's zones"),
                }
            }
            _ => return None,
        }
    }
    Some(fixed)
}

#[test]
fn outbound_ptr_and_spf_are_checked_against_named() {
    if !crate::support::dns::available("named") {
        return;
    }
    const PTR_OK: &str = "25 IN PTR mail.corp.example.";
    const MAIL_OK: &str = "mail IN A 172.20.14.25";
    const SPF_OK: &str = "\"v=spf1 ip4:172.20.14.0/24 -all\"";
    // A neighbour's PTR and A records, one digit apart: traps.
    const NEIGHBOURS: [&str; 2] = [
        "250 IN PTR mail.corp.example.",
        "2 IN PTR mx-in.corp.example.",
    ];
    let cases = vec![
        OutboundCase {
            what: "PTR forward-confirmed to myhostname, SPF passes by a /24",
            dns: Dns::new(
                &[SPF_OK],
                &[],
                &[MAIL_OK],
                &[PTR_OK, NEIGHBOURS[0], NEIGHBOURS[1]],
            ),
            domains: &[],
            want: &[],
            publish: &[],
        },
        OutboundCase {
            what: "PTR in capitals, one of two confirmed names; SPF by a:, both domains pass",
            dns: Dns::new(
                &["\"v=spf1 a:mail.corp.example -all\""],
                &["\"v=spf1 redirect=corp.example\""],
                &[MAIL_OK, "smtp IN A 172.20.14.25"],
                &[
                    "25 IN PTR smtp.corp.example.",
                    "25 IN PTR MAIL.Corp.Example.",
                ],
            ),
            domains: &["corp.example", "Other.Example."],
            want: &[],
            publish: &[],
        },
        OutboundCase {
            what: "no PTR (the neighbour .250 has one)",
            dns: Dns::new(&[SPF_OK], &[], &[MAIL_OK], &NEIGHBOURS),
            domains: &[],
            want: &[(
                "bind-ptr",
                &[
                    "172.20.14.25 has no PTR record",
                    "set PTR 25.14.20.172.in-addr.arpa. → mail.corp.example",
                ],
            )],
            publish: &[],
        },
        OutboundCase {
            what: "PTR names another host, which confirms it",
            dns: Dns::new(
                &[SPF_OK],
                &[],
                &[MAIL_OK, "smtp IN A 172.20.14.25"],
                &["25 IN PTR smtp.corp.example."],
            ),
            domains: &[],
            want: &[(
                "bind-ptr",
                &["names smtp.corp.example., not the host name mail.corp.example"],
            )],
            publish: &[],
        },
        OutboundCase {
            what: "PTR names myhostname, whose A is the neighbour's",
            dns: Dns::new(&[SPF_OK], &[], &["mail IN A 172.20.14.250"], &[PTR_OK]),
            domains: &[],
            want: &[(
                "bind-ptr",
                &[
                    "does not resolve back to 172.20.14.25 (no FCrDNS)",
                    "point the A/AAAA record of mail.corp.example at 172.20.14.25",
                ],
            )],
            publish: &[],
        },
        OutboundCase {
            what: "SPF names the neighbour, a /32 beside it and an include",
            dns: Dns::new(
                &[
                    "\"v=spf1 mx ip4:172.20.14.250 ip4:172.20.14.24/32 include:_spf.corp.example -all\"",
                ],
                &[],
                &[
                    MAIL_OK,
                    "_spf IN TXT \"v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::25 -all\"",
                ],
                &[PTR_OK],
            ),
            domains: &[],
            want: &[(
                "bind-spf",
                &["SPF of corp.example gives fail for 172.20.14.25", "`-all`"],
            )],
            publish: &[(
                "corp.example.",
                "v=spf1 ip4:172.20.14.25 mx ip4:172.20.14.250 ip4:172.20.14.24/32 include:_spf.corp.example -all",
            )],
        },
        OutboundCase {
            what: "SPF in two strings, softfail",
            dns: Dns::new(
                &["\"v=spf1 ip4:172.20.14.26 \" \"~all\""],
                &[],
                &[MAIL_OK],
                &[PTR_OK],
            ),
            domains: &[],
            want: &[("bind-spf", &["gives softfail"])],
            publish: &[(
                "corp.example.",
                "v=spf1 ip4:172.20.14.25 ip4:172.20.14.26 ~all",
            )],
        },
        OutboundCase {
            what: "SPF redirects to a domain that fails it",
            dns: Dns::new(
                &["\"v=spf1 redirect=other.example\""],
                &["\"v=spf1 ip4:172.20.14.250 -all\""],
                &[MAIL_OK],
                &[PTR_OK],
            ),
            domains: &[],
            want: &[("bind-spf", &["in the SPF record of other.example"])],
            publish: &[(
                "corp.example.",
                "v=spf1 ip4:172.20.14.25 redirect=other.example",
            )],
        },
        OutboundCase {
            what: "no SPF record, and no PTR either",
            dns: Dns::new(&[], &[], &[MAIL_OK], &[]),
            domains: &[],
            want: &[
                ("bind-ptr", &["has no PTR record"]),
                (
                    "bind-spf",
                    &["SPF of corp.example gives none", "has no SPF record"],
                ),
            ],
            publish: &[("corp.example.", "v=spf1 mx ip4:172.20.14.25 ~all")],
        },
        OutboundCase {
            what: "two mail domains, the second fails",
            dns: Dns::new(&[SPF_OK], &["\"v=spf1 mx -all\""], &[MAIL_OK], &[PTR_OK]),
            domains: &["corp.example", "other.example"],
            want: &[("bind-spf", &["SPF of other.example gives fail"])],
            publish: &[("other.example.", "v=spf1 ip4:172.20.14.25 mx -all")],
        },
        OutboundCase {
            // A third record would not help: the advice is to merge.
            what: "two SPF records",
            dns: Dns::new(
                &["\"v=spf1 ip4:172.20.14.26 -all\"", "\"v=spf1 mx -all\""],
                &[],
                &[MAIL_OK],
                &[PTR_OK],
            ),
            domains: &[],
            want: &[(
                "bind-spf",
                &[
                    "gives permerror",
                    "corp.example has 2 SPF records",
                    "publish one SPF record at corp.example. in their place, authorizing ip4:172.20.14.25",
                ],
            )],
            publish: &[],
        },
        OutboundCase {
            // The resolver answers, but not about elsewhere.test (named
            // refuses): those checks were not made, the others were.
            what: "PTR names a host the resolver cannot look up; SPF includes one",
            dns: Dns::new(
                &["\"v=spf1 include:_spf.elsewhere.test -all\""],
                &["\"v=spf1 mx -all\""],
                &[MAIL_OK],
                &["25 IN PTR mail.elsewhere.test."],
            ),
            domains: &["corp.example", "other.example"],
            want: &[
                (
                    "bind-dns-unchecked",
                    &[
                        "the PTR of 172.20.14.25 was not checked",
                        "the address lookup of mail.elsewhere.test. failed",
                    ],
                ),
                (
                    "bind-dns-unchecked",
                    &[
                        "the SPF of corp.example for 172.20.14.25 was not checked",
                        "_spf.elsewhere.test",
                        "`zmreip check 172.20.14.25 --domain corp.example`",
                    ],
                ),
                ("bind-spf", &["SPF of other.example gives fail"]),
            ],
            publish: &[("other.example.", "v=spf1 ip4:172.20.14.25 mx -all")],
        },
    ];
    let lab = lab();
    let mut failures = Vec::new();
    for case in &cases {
        let named = case.dns.serve();
        let (warnings, _) = outbound_dns(&lab, named.addr, case.domains);
        drop(named);
        let mut bad = Vec::new();
        let codes: Vec<&str> = warnings.iter().map(|(c, _)| c.as_str()).collect();
        let want: Vec<&str> = case.want.iter().map(|(c, _)| *c).collect();
        if codes != want {
            bad.push(format!("codes {codes:?}, expected {want:?}"));
        } else {
            for ((code, parts), (_, m)) in case.want.iter().zip(&warnings) {
                for p in parts.iter() {
                    if !m.contains(p) {
                        bad.push(format!("`{p}` missing from: {m}"));
                    }
                }
                if *code == "bind-ptr" && !m.contains(PTR_REQUEST) {
                    bad.push(format!("no exact PTR request in: {m}"));
                }
            }
        }
        let published: Vec<(String, String)> = warnings
            .iter()
            .filter(|(c, m)| c == "bind-spf" && m.contains("; publish `"))
            .map(|(_, m)| suggested_spf(m))
            .collect();
        let publish: Vec<(String, String)> = case
            .publish
            .iter()
            .map(|(o, r)| (o.to_string(), r.to_string()))
            .collect();
        if published != publish {
            bad.push(format!(
                "records to publish {published:?}, expected {publish:?}"
            ));
        }
        // Each suggested record keeps every term of the record it
        // replaces and adds the address.
        for (owner, record) in &published {
            let before = if owner == "corp.example." {
                &case.dns.corp_spf
            } else {
                &case.dns.other_spf
            };
            let before: String = before.concat().replace("\" \"", "").replace('"', "");
            let terms: Vec<&str> = record.split_whitespace().collect();
            if !terms.contains(&"ip4:172.20.14.25")
                || before.split_whitespace().any(|t| !terms.contains(&t))
            {
                bad.push(format!("{record} does not keep {before} and add {ADDR}"));
            }
        }
        // With the records asked for published, nothing is left to warn
        // (every case whose warnings all name exact records is followed).
        let exact = !warnings.is_empty()
            && warnings
                .iter()
                .all(|(c, m)| c == "bind-ptr" || (c == "bind-spf" && m.contains("; publish `")));
        let fixed = follow_advice(&case.dns, &warnings);
        if exact && fixed.is_none() {
            bad.push("the advice could not be followed".into());
        }
        if let Some(fixed) = fixed.filter(|_| exact) {
            let named = fixed.serve();
            let (after, _) = outbound_dns(&lab, named.addr, case.domains);
            if !after.is_empty() {
                bad.push(format!("after following the advice: {after:?}"));
            }
        }
        if !bad.is_empty() {
            failures.push(format!(
                "{}:\n  {}\n  all: {warnings:?}",
                case.what,
                bad.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A resolver that cannot be asked gives one `bind-dns-unchecked`, not a
/// PTR or SPF verdict, and does not hold the plan up: a loopback port
/// nobody listens on (refused at once), and one where a socket takes the
/// queries and never answers (each waits out --timeout).
#[test]
fn outbound_dns_unanswered_is_one_unchecked_warning() {
    let lab = lab();
    let closed = std::net::SocketAddr::from(([127, 0, 0, 1], crate::support::dns::free_port()));
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for (what, resolver) in [("closed", closed), ("silent", silent.local_addr().unwrap())] {
        let (warnings, took) = outbound_dns(&lab, resolver, &["corp.example", "other.example"]);
        assert_eq!(warnings.len(), 1, "{what}: {warnings:?}");
        let (code, m) = &warnings[0];
        assert_eq!(code, "bind-dns-unchecked", "{what}: {m}");
        assert!(
            m.contains(&format!(
                "the PTR of {ADDR} was not checked (resolver {resolver}"
            )) && m.contains(
                "run `zmreip check 172.20.14.25 --hostname mail.corp.example` when it answers"
            ),
            "{what}: {m}"
        );
        // --timeout 1: one wait for the PTR, bounded at 4 s, then no more
        // questions.
        assert!(
            took < std::time::Duration::from_secs(8),
            "{what}: took {took:?}"
        );
    }
}
