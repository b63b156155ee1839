//! The live directory against a real OpenLDAP slapd (tests/it/support/slapd.rs)
//! loaded with tests/lab/ldap/zimbra.ldif: scan and plan equal the LDIF
//! backend on the same data, apply and rollback change exactly the planned
//! values, concurrent edits survive, drift is refused, and failures are
//! clear without ever showing the bind password.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::Zmreip;
use crate::support::slapd::{self, ADMIN_DN, Options, Slapd};
use zmreip::directory::ldap::{LdapWriter, Overrides, Settings, rollback_edits};
use zmreip::directory::ldif::LdifDirectory;
use zmreip::directory::{Directory, DirectoryWriter, Entry, ValueEdit};
use zmreip::host::Host;

/// The admin's password in the fixture.
const PW: &str = "Lab-bind-pw-7c1e";
const OLD4: &str = "172.20.14.25";
const OLD6: &str = "2001:db8:14::25";
const MOVE: &[&str] = &[
    "--from",
    "172.20.14.25/24",
    "--to",
    "10.40.7.131/24",
    "--from",
    "2001:db8:14::25/64",
    "--to",
    "2001:db8:7::131/64",
];

fn fixture() -> PathBuf {
    slapd::fixture()
}

fn start() -> Option<Slapd> {
    Slapd::start(&Options {
        fixture: Some(fixture()),
        ..Options::default()
    })
}

/// A host root whose localconfig.xml points at `urls`.
fn host(urls: &str, password: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("opt/zimbra/conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("localconfig.xml"),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<localconfig>
  <key name="ldap_url">
    <value>{urls}</value>
  </key>
  <key name="zimbra_ldap_userdn">
    <value>{ADMIN_DN}</value>
  </key>
  <key name="zimbra_ldap_password">
    <value>{password}</value>
  </key>
</localconfig>
"#
        ),
    )
    .unwrap();
    dir
}

/// `zmreip BASE --root ROOT EXTRA`.
fn zmreip(base: &[&str], root: &Path, extra: &[&str]) -> Zmreip {
    Zmreip::new(base).root(root).args(extra)
}

fn scan_args() -> Vec<&'static str> {
    vec!["scan", "--ip", OLD4, "--ip", OLD6, "--format", "json"]
}

/// The fixture root is a snapshot without its OS network configuration
/// or a server name: nothing on it says the old addresses are its own.
fn plan_args() -> Vec<&'static str> {
    let mut v = vec!["plan", "--assume-own"];
    v.extend_from_slice(MOVE);
    v.extend(["--format", "json"]);
    v
}

/// Directory findings, order-free (the live scan hands entries on in
/// another order than the export holds them).
fn ldap_findings(scan: &Value) -> BTreeSet<String> {
    scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["surface"] == "ldap")
        .map(ToString::to_string)
        .collect()
}

/// Every finding or change for a target `(dn, attribute)`.
fn place(v: &Value) -> (String, String) {
    let t = &v["target"];
    (
        t["dn"].as_str().unwrap().to_string(),
        t["attribute"].as_str().unwrap().to_string(),
    )
}

/// Changes without ids, order-free.
fn changes(plan: &Value) -> BTreeSet<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.as_object_mut().unwrap().remove("id");
            c.to_string()
        })
        .collect()
}

fn actions(plan: &Value) -> BTreeSet<String> {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {}", a["service"], a["action"]))
        .collect()
}

fn sorted_strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn scan_equals_the_ldif_backend() {
    let Some(s) = start() else { return };
    let root = host(&s.url(), PW);
    let live = zmreip(&scan_args(), root.path(), &[]).ok().json();
    let deep = zmreip(&scan_args(), root.path(), &["--deep"]).ok().json();
    let fx = fixture().display().to_string();
    let ldif = zmreip(&scan_args(), root.path(), &["--ldif", &fx])
        .ok()
        .json();

    // --deep reads what an export holds: the same findings.
    assert_eq!(ldap_findings(&deep), ldap_findings(&ldif));
    // The default scan reads accounts in the address attributes Zimbra
    // allows on accounts only: it misses exactly the address in Alice's
    // signature and in Carol's zimbraSmtpHostname (a server attribute
    // Zimbra never sets on an account).
    let missed: BTreeSet<(String, String)> = ldap_findings(&ldif)
        .difference(&ldap_findings(&live))
        .map(|f| place(&serde_json::from_str(f).unwrap()))
        .collect();
    let pair = |d: &str, a: &str| (d.to_string(), a.to_string());
    assert_eq!(
        missed,
        BTreeSet::from([
            pair(
                "uid=alice,ou=people,dc=corp,dc=example",
                "zimbraPrefMailSignature"
            ),
            pair(
                "uid=carol,ou=people,dc=corp,dc=example",
                "zimbraSmtpHostname"
            ),
        ])
    );
    assert!(ldap_findings(&live).is_subset(&ldap_findings(&ldif)));

    // The traps, by place.
    let places: BTreeSet<(String, String)> = ldap_findings(&live)
        .iter()
        .map(|f| place(&serde_json::from_str(f).unwrap()))
        .collect();
    let has = |dn: &str, a: &str| places.contains(&(dn.to_string(), a.to_string()));
    // Substring filter on an account attribute.
    assert!(has(
        "uid=archive,ou=people,dc=corp,dc=example",
        "zimbraMailTransport"
    ));
    // Attribute without a SUBSTR rule: presence filter.
    assert!(has(
        "uid=grace,ou=people,dc=corp,dc=example",
        "zimbraFreebusyExchangeURL"
    ));
    // A network containing the address on an account.
    assert!(has(
        "uid=dave,ou=people,dc=corp,dc=example",
        "zimbraWebClientAllowedIPs"
    ));
    // IPv6 in another spelling.
    assert!(has(
        "uid=erin,ou=people,dc=corp,dc=example",
        "zimbraMailTransport"
    ));
    assert!(has(
        "uid=frank,ou=people,dc=corp,dc=example",
        "zimbraImapAllowedIPs"
    ));
    // Unknown attributes of config entries and domains are read by text.
    assert!(has("cn=config,cn=zimbra", "zimbraNotes"));
    assert!(has("dc=corp,dc=example", "description"));
    // The server selects .250; the matcher leaves it.
    assert!(!has(
        "uid=bob,ou=people,dc=corp,dc=example",
        "zimbraMailTransport"
    ));
    // Secrets stay out.
    let text = live.to_string();
    for never in ["deadbeefsecret", "zimbraAuthTokenKey", "userPassword", PW] {
        assert!(!text.contains(never), "{never} in {text}");
    }
    // Fewer entries were visited than the export holds: the server did the
    // selecting.
    assert!(live["entries_read"].as_u64() < ldif["entries_read"].as_u64());
}

#[test]
fn plan_equals_the_ldif_backend() {
    let Some(s) = start() else { return };
    let root = host(&s.url(), PW);
    let fx = fixture().display().to_string();
    let live = zmreip(&plan_args(), root.path(), &["--deep"]).ok().json();
    let ldif = zmreip(&plan_args(), root.path(), &["--ldif", &fx])
        .ok()
        .json();
    assert_eq!(changes(&live), changes(&ldif));
    assert_eq!(actions(&live), actions(&ldif));
    assert_eq!(
        sorted_strings(&live["warnings"]),
        sorted_strings(&ldif["warnings"])
    );
    assert_eq!(live["derived"], ldif["derived"]);
    assert!(changes(&live).len() >= 15, "{:#?}", changes(&live));

    // Without --deep only Alice's signature and Carol's server attribute
    // are not planned.
    let default = zmreip(&plan_args(), root.path(), &[]).ok().json();
    let missed: Vec<String> = changes(&ldif)
        .difference(&changes(&default))
        .cloned()
        .collect();
    assert_eq!(missed.len(), 2, "{missed:#?}");
    assert!(missed.iter().any(|c| c.contains("zimbraPrefMailSignature")));
    assert!(missed.iter().any(|c| c.contains("zimbraSmtpHostname")));
}

/// The plan's directory changes as edits.
fn ldap_edits(plan: &Value) -> Vec<ValueEdit> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["surface"] == "ldap")
        .map(|c| {
            let (dn, attribute) = place(c);
            ValueEdit {
                dn,
                attribute,
                before: strings(&c["before"]),
                after: strings(&c["after"]),
            }
        })
        .collect()
}

/// dn (lower case) -> attribute (lower case) -> values, from `ldapsearch`.
type Dump = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn parse_dump(text: &str) -> Dump {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dump.ldif");
    std::fs::write(&p, text).unwrap();
    let mut out = Dump::new();
    LdifDirectory::open(&p)
        .unwrap()
        .for_each(&mut |e: Entry| {
            let attrs = out.entry(e.dn.to_ascii_lowercase()).or_default();
            for (a, vs) in e.attrs {
                attrs.entry(a.to_ascii_lowercase()).or_default().extend(vs);
            }
            Ok(())
        })
        .unwrap();
    out
}

fn dump(s: &Slapd) -> Dump {
    parse_dump(&s.dump(PW))
}

/// `before` with the edits made.
fn with_edits(before: &Dump, edits: &[ValueEdit]) -> Dump {
    let mut d = before.clone();
    for e in edits {
        let attrs = d.get_mut(&e.dn.to_ascii_lowercase()).unwrap();
        let vals = attrs.entry(e.attribute.to_ascii_lowercase()).or_default();
        for v in &e.before {
            vals.remove(v);
        }
        vals.extend(e.after.iter().cloned());
        if vals.is_empty() {
            attrs.remove(&e.attribute.to_ascii_lowercase());
        }
    }
    d
}

fn settings(s: &Slapd, root: &Path) -> Settings {
    let host = Host::open(root, None).unwrap();
    let _ = s;
    Settings::resolve(&host, &Overrides::default())
        .unwrap()
        .unwrap()
}

#[test]
fn apply_and_rollback_change_exactly_the_planned_values() {
    let Some(s) = start() else { return };
    let root = host(&s.url(), PW);
    let plan = zmreip(&plan_args(), root.path(), &["--deep"]).ok().json();
    let edits = ldap_edits(&plan);
    assert!(edits.len() >= 15);
    let original = dump(&s);

    let mut w = LdapWriter::open(&settings(&s, root.path())).unwrap();
    assert!(w.asserts(), "slapd supports the Assertion control");
    let prior = w.prior_ldif(&edits).unwrap();
    let journal = root.path().join("prior.ldif");
    std::fs::write(&journal, &prior).unwrap();
    w.apply(&edits).unwrap();
    let applied = dump(&s);
    assert_eq!(applied, with_edits(&original, &edits));
    assert_ne!(applied, original);

    // Planning again finds nothing left to change but kept networks.
    let again = zmreip(&plan_args(), root.path(), &["--deep"]).ok().json();
    assert!(ldap_edits(&again).is_empty(), "{:#?}", ldap_edits(&again));

    // Rollback from the journal's LDIF restores every value.
    let mut prior_entries = Vec::new();
    LdifDirectory::open(&journal)
        .unwrap()
        .for_each(&mut |e| {
            prior_entries.push(e);
            Ok(())
        })
        .unwrap();
    let back = rollback_edits(&prior_entries, &edits);
    w.apply(&back).unwrap();
    assert_eq!(dump(&s), original);
}

#[test]
fn a_concurrent_change_of_another_value_survives() {
    let Some(s) = start() else { return };
    let root = host(&s.url(), PW);
    let plan = zmreip(&plan_args(), root.path(), &[]).ok().json();
    let edits = ldap_edits(&plan);
    // After the plan, another admin adds a trusted IP and edits another
    // attribute of the same entry.
    s.ldapmodify(
        PW,
        "dn: cn=config,cn=zimbra
changetype: modify
add: zimbraMailTrustedIP
zimbraMailTrustedIP: 192.0.2.99
-
replace: zimbraDNSMasterIP
zimbraDNSMasterIP: 192.0.2.53
-
",
    );
    let mut w = LdapWriter::open(&settings(&s, root.path())).unwrap();
    w.apply(&edits).unwrap();
    let d = dump(&s);
    let config = &d["cn=config,cn=zimbra"];
    let set = |v: &[&str]| v.iter().map(ToString::to_string).collect::<BTreeSet<_>>();
    assert_eq!(
        config["zimbramailtrustedip"],
        set(&["10.40.7.131", "172.20.14.250", "192.0.2.99"])
    );
    assert_eq!(config["zimbradnsmasterip"], set(&["192.0.2.53"]));
    assert_eq!(
        config["zimbrareverseproxyadminipaddress"],
        set(&["10.40.7.131"])
    );
}

#[test]
fn a_drifted_value_is_refused_and_nothing_is_written() {
    let Some(s) = start() else { return };
    let root = host(&s.url(), PW);
    let plan = zmreip(&plan_args(), root.path(), &[]).ok().json();
    let edits = ldap_edits(&plan);
    s.ldapmodify(
        PW,
        "dn: dc=corp,dc=example
changetype: modify
delete: zimbraVirtualIPAddress
zimbraVirtualIPAddress: 172.20.14.25
-
add: zimbraVirtualIPAddress
zimbraVirtualIPAddress: 172.20.14.99
-
",
    );
    let before = dump(&s);
    let mut w = LdapWriter::open(&settings(&s, root.path())).unwrap();
    let e = w.apply(&edits).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("zimbraVirtualIPAddress"), "{msg}");
    assert!(msg.contains("nothing was written"), "{msg}");
    assert!(e.help().unwrap().contains("zmreip plan"), "{e:?}");
    assert_eq!(dump(&s), before);

    // A plan whose entry is gone is refused the same way.
    let gone = vec![ValueEdit {
        dn: "uid=nobody,ou=people,dc=corp,dc=example".into(),
        attribute: "zimbraMailTransport".into(),
        before: vec!["smtp:[172.20.14.25]:25".into()],
        after: vec!["smtp:[10.40.7.131]:25".into()],
    }];
    let e = w.apply(&gone).unwrap_err();
    assert!(e.to_string().contains("no longer exists"), "{e}");
    assert!(w.prior_ldif(&gone).is_err());
}

#[test]
fn a_read_only_replica_is_named_and_left_unchanged() {
    let Some(s) = Slapd::start(&Options {
        fixture: Some(fixture()),
        readonly: true,
        ..Options::default()
    }) else {
        return;
    };
    let root = host(&s.url(), PW);
    let plan = zmreip(&plan_args(), root.path(), &[]).ok().json();
    let edits = ldap_edits(&plan);
    let before = dump(&s);
    let mut w = LdapWriter::open(&settings(&s, root.path())).unwrap();
    let e = w.apply(&edits).unwrap_err();
    assert!(e.to_string().contains("read-only replica"), "{e}");
    assert!(e.to_string().contains("0 of"), "{e}");
    assert!(e.help().unwrap().contains("ldap_master_url"), "{e:?}");
    assert_eq!(dump(&s), before);
}

#[test]
fn a_size_limit_is_reported_not_truncated() {
    let Some(s) = Slapd::start(&Options {
        fixture: Some(fixture()),
        sizelimit: Some(3),
        ..Options::default()
    }) else {
        return;
    };
    let root = host(&s.url(), PW);
    let run = zmreip(&scan_args(), root.path(), &[]).run();
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(run.stderr.contains("stopped reading"), "{}", run.stderr);
    assert!(run.stderr.contains("sizeLimitExceeded"), "{}", run.stderr);
    assert!(run.stderr.contains("olcLimits"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn replicas_are_tried_in_order_and_unreachable_ones_listed() {
    let Some(s) = start() else { return };
    let (c1, c2) = (slapd::closed_port(), slapd::closed_port());
    let dead = format!("ldap://127.0.0.1:{c1} ldap://127.0.0.1:{c2}");

    // Failover: the first replica is down, the second answers.
    let root = host(&format!("ldap://127.0.0.1:{c1} {}", s.url()), PW);
    let scan = zmreip(&scan_args(), root.path(), &[]).ok().json();
    assert!(!ldap_findings(&scan).is_empty());

    // None answers: every URL tried is named, --ldif suggested.
    let root = host(&dead, PW);
    let run = zmreip(&scan_args(), root.path(), &[]).run();
    assert_eq!(run.code, Some(1), "{}", run.all());
    for c in [c1, c2] {
        assert!(
            run.stderr.contains(&format!("ldap://127.0.0.1:{c}")),
            "{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("--ldif"), "{}", run.stderr);
    assert!(!run.all().contains(PW));

    // --ldap-url overrides localconfig.
    let run = zmreip(&scan_args(), root.path(), &["--ldap-url", &s.url()]).ok();
    assert!(!ldap_findings(&run.json()).is_empty());

    // --no-directory and --ldif never connect.
    let run = zmreip(&scan_args(), root.path(), &["--no-directory"]).ok();
    assert!(ldap_findings(&run.json()).is_empty());
    let fx = fixture().display().to_string();
    zmreip(&scan_args(), root.path(), &["--ldif", &fx]).ok();
    // A host without localconfig has no directory.
    let bare = tempfile::tempdir().unwrap();
    let run = zmreip(&scan_args(), bare.path(), &[]).ok();
    assert_eq!(run.json()["entries_read"], 0);
}

#[test]
fn the_bind_password_is_never_printed() {
    let Some(s) = start() else { return };
    let wrong = "Wrong-pw-31d8";
    let root = host(&s.url(), PW);
    let bad_root = host(&s.url(), wrong);
    let pwfile = s.password_file(PW);
    let pw_arg = pwfile.display().to_string();
    let wrong_file = s.password_file(wrong);
    let wrong_arg = wrong_file.display().to_string();
    let plan_text: Vec<&str> = {
        let mut v = vec!["plan", "--assume-own"];
        v.extend_from_slice(MOVE);
        v
    };
    let runs = [
        zmreip(&scan_args(), root.path(), &[]).run(),
        zmreip(&["scan", "--ip", OLD4], root.path(), &["--deep"]).run(),
        zmreip(&plan_text, root.path(), &["--format", "markdown"]).run(),
        zmreip(&plan_text, root.path(), &["--color", "always"]).run(),
        zmreip(
            &scan_args(),
            root.path(),
            &["--bind-password-file", &pw_arg],
        )
        .run(),
        zmreip(&scan_args(), bad_root.path(), &[]).run(),
        zmreip(
            &scan_args(),
            root.path(),
            &["--bind-password-file", &wrong_arg],
        )
        .run(),
    ];
    for (i, r) in runs.iter().enumerate() {
        let all = r.all();
        assert!(!all.contains(PW), "run {i} shows the password:\n{all}");
        assert!(
            !all.contains(wrong),
            "run {i} shows the wrong password:\n{all}"
        );
    }
    for r in &runs[..5] {
        assert_eq!(r.code, Some(0), "{}", r.all());
    }
    // Bad credentials: a clear message naming the DN and what to check.
    for r in &runs[5..] {
        assert_eq!(r.code, Some(1), "{}", r.all());
        assert!(r.stderr.contains("refused the password"), "{}", r.stderr);
        assert!(r.stderr.contains(ADMIN_DN), "{}", r.stderr);
        assert!(r.stderr.contains("zimbra_ldap_password"), "{}", r.stderr);
    }
    // Nor in debug output of the settings.
    let st = settings(&s, root.path());
    assert!(!format!("{st:?}").contains(PW));
}

#[test]
fn the_test_schema_holds_every_table_attribute() {
    let text = std::fs::read_to_string(slapd::schema()).unwrap();
    let names: BTreeSet<String> = text
        .split("NAME '")
        .skip(1)
        .map(|s| s.split('\'').next().unwrap().to_ascii_lowercase())
        .collect();
    for r in zmreip::zimbra::attributes() {
        assert!(
            names.contains(&r.name.to_ascii_lowercase()),
            "{} missing",
            r.name
        );
    }
    // Private arc only.
    for line in text.lines().filter(|l| l.starts_with("objectidentifier")) {
        assert!(
            line.contains("1.3.6.1.4.1.99999") || line.contains("ZmTest:"),
            "{line}"
        );
    }
}

/// Entries visited by the live reader, by DN, with their attributes.
fn read_live(settings: &Settings) -> BTreeMap<String, Vec<(String, Vec<String>)>> {
    let mut d = zmreip::directory::ldap::LdapDirectory::open(settings).unwrap();
    d.narrow(&[OLD4.parse().unwrap()]);
    let mut out = BTreeMap::new();
    d.for_each(&mut |e| {
        assert!(
            out.insert(e.dn.clone(), e.attrs).is_none(),
            "{} twice",
            e.dn
        );
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn paged_searches_running_at_once_read_every_page() {
    let Some(s) = start() else { return };
    let root = host(&s.url(), PW);
    let mut st = settings(&s, root.path());
    let whole = read_live(&st);
    // Pages of two entries: the config, domain and account searches all
    // continue with cookies while the others run (OpenLDAP keeps one paged
    // search per connection).
    st.page_size = 2;
    assert_eq!(read_live(&st), whole);
    assert!(whole.contains_key("uid=grace,ou=people,dc=corp,dc=example"));
    assert!(whole.contains_key("dc=other,dc=example"));
    st.deep = true;
    let deep = read_live(&st);
    let fixture_entries = std::fs::read_to_string(fixture())
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("dn: "))
        .count();
    assert_eq!(deep.len(), fixture_entries);
}
