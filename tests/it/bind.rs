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
