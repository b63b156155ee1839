//! RFC 2136 with TSIG against named: plan, apply with the "old RRset
//! still exists" prerequisite, refusal on drift, rollback, and TSIG
//! failures that never show the key.

use std::net::IpAddr;
use std::time::Duration;

use zmreip::dns::update::{self, UpdateConfig};
use zmreip::dns::{RecordType, Resolver};
use zmreip::model::{Change, Target, Value};
use zmreip::policy::Rewriter;
use zmreip::spec::{Pair, PrefixSource};
use zmreip::surface::Mode;

use super::run;
use crate::support::Zmreip;
use crate::support::dns::{self as servers, Key, Server, Zone};

const DYN: &str = r#"$TTL 300
@       IN SOA ns1.dyn.test. hostmaster.dyn.test. 1 3600 600 86400 300
        IN NS  ns1.dyn.test.
        IN TXT "v=spf1 a:mail.dyn.test ip4:192.0.2.10 " "-all"
ns1     IN A   127.0.0.1
mail    IN A   192.0.2.10
mail    IN A   192.0.2.11
smtp    600 IN A 192.0.2.10
www     IN A   192.0.2.100
"#;

const REV_OLD: &str = r#"$TTL 300
@   IN SOA ns1.dyn.test. hostmaster.dyn.test. 1 3600 600 86400 300
    IN NS  ns1.dyn.test.
10  3600 IN PTR mail.dyn.test.
"#;

const REV_NEW: &str = r#"$TTL 300
@   IN SOA ns1.dyn.test. hostmaster.dyn.test. 1 3600 600 86400 300
    IN NS  ns1.dyn.test.
"#;

struct Lab {
    ns: Server,
    key: Key,
    dir: tempfile::TempDir,
}

fn lab() -> Option<Lab> {
    if !servers::available("named") || !servers::available("tsig-keygen") {
        return None;
    }
    let key = servers::tsig_keygen("ddns-key");
    let z = |name, text| Zone {
        name,
        text,
        update_key: Some("ddns-key"),
    };
    let ns = servers::named(
        &[
            z("dyn.test", DYN),
            z("2.0.192.in-addr.arpa", REV_OLD),
            z("100.51.198.in-addr.arpa", REV_NEW),
        ],
        &[&key],
    );
    let dir = tempfile::tempdir().unwrap();
    Some(Lab { ns, key, dir })
}

impl Lab {
    /// Writes a config (and a key file holding `key_text`) and loads it.
    fn config_with(
        &self,
        key_text: &str,
        key_name: Option<&str>,
    ) -> (std::path::PathBuf, UpdateConfig) {
        std::fs::write(self.dir.path().join("ddns.key"), key_text).unwrap();
        let key_line = key_name
            .map(|k| format!("key = \"{k}\"\n"))
            .unwrap_or_default();
        let mut toml = String::new();
        for zone in [
            "dyn.test",
            "2.0.192.in-addr.arpa",
            "100.51.198.in-addr.arpa",
        ] {
            toml.push_str(&format!(
                "[[zone]]\nname = \"{zone}\"\nserver = \"{}\"\nkey_file = \"ddns.key\"\n{key_line}names = [\"mail\", \"smtp\", \"www\"]\ntimeout = 2\n\n",
                self.ns.addr
            ));
        }
        let path = self.dir.path().join("dns.toml");
        std::fs::write(&path, toml).unwrap();
        let cfg = UpdateConfig::load(&path).unwrap();
        (path, cfg)
    }

    fn config(&self) -> UpdateConfig {
        self.config_with(&self.key.file_text, None).1
    }

    fn resolver(&self) -> Resolver {
        Resolver::new(self.ns.addr, Duration::from_secs(2)).unwrap()
    }

    /// The live RRset in presentation form, sorted.
    fn live(&self, name: &str, rtype: RecordType) -> Vec<String> {
        let mut v: Vec<String> = self
            .resolver()
            .lookup(name, rtype)
            .records()
            .iter()
            .map(ToString::to_string)
            .collect();
        v.sort();
        v
    }
}

fn rewriter() -> Rewriter {
    Rewriter::new(
        vec![Pair {
            old: "192.0.2.10".parse().unwrap(),
            new: "198.51.100.7".parse().unwrap(),
            old_prefix: 24,
            new_prefix: 24,
            old_prefix_source: PrefixSource::Given,
            new_prefix_source: PrefixSource::Given,
        }],
        Vec::new(),
    )
}

fn many(v: &[&str]) -> Value {
    Value::Many(v.iter().map(ToString::to_string).collect())
}

fn target(zone: &str, name: &str, rtype: &str) -> Target {
    Target::Dns {
        zone: zone.into(),
        name: name.into(),
        rtype: rtype.into(),
    }
}

#[test]
fn plan_apply_and_rollback() {
    let Some(lab) = lab() else { return };
    let cfg = lab.config();
    let report = update::plan(&cfg, &rewriter(), Some("mail.dyn.test"), Mode::Move).unwrap();
    let got: Vec<(Target, Value, Value)> = report
        .changes
        .iter()
        .map(|c| (c.target.clone(), c.before.clone(), c.after.clone()))
        .collect();
    let want = vec![
        (
            target("dyn.test.", "dyn.test.", "TXT"),
            many(&["dyn.test. 300 IN TXT \"v=spf1 a:mail.dyn.test ip4:192.0.2.10 \" \"-all\""]),
            many(&["dyn.test. 300 IN TXT \"v=spf1 a:mail.dyn.test ip4:198.51.100.7 \" \"-all\""]),
        ),
        (
            target("dyn.test.", "mail.dyn.test.", "A"),
            many(&[
                "mail.dyn.test. 300 IN A 192.0.2.10",
                "mail.dyn.test. 300 IN A 192.0.2.11",
            ]),
            many(&[
                "mail.dyn.test. 300 IN A 192.0.2.11",
                "mail.dyn.test. 300 IN A 198.51.100.7",
            ]),
        ),
        (
            target("dyn.test.", "smtp.dyn.test.", "A"),
            many(&["smtp.dyn.test. 600 IN A 192.0.2.10"]),
            many(&["smtp.dyn.test. 600 IN A 198.51.100.7"]),
        ),
        (
            target("2.0.192.in-addr.arpa.", "10.2.0.192.in-addr.arpa.", "PTR"),
            many(&["10.2.0.192.in-addr.arpa. 3600 IN PTR mail.dyn.test."]),
            many(&[]),
        ),
        (
            target(
                "100.51.198.in-addr.arpa.",
                "7.100.51.198.in-addr.arpa.",
                "PTR",
            ),
            many(&[]),
            many(&["7.100.51.198.in-addr.arpa. 3600 IN PTR mail.dyn.test."]),
        ),
    ];
    assert_eq!(got, want, "{:#?}", report.changes);
    // 192.0.2.100 (www) never matched 192.0.2.10.
    assert!(!report.findings.iter().any(|f| f.matched == "192.0.2.100"));

    let before: Vec<Vec<String>> = snapshot(&lab);
    for (i, c) in report.changes.iter().enumerate() {
        let mut c = c.clone();
        c.id = format!("c{}", i + 1);
        update::apply(&cfg, &c).unwrap_or_else(|e| panic!("{}: {e}", c.id));
        let Value::Many(after) = &c.after else {
            panic!()
        };
        let mut after = after.clone();
        after.sort();
        let live: Vec<String> = update::live(&cfg, &c)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut live = live;
        live.sort();
        assert_eq!(live, after, "{}", c.id);
    }
    assert_eq!(
        lab.live("mail.dyn.test", RecordType::A),
        vec![
            "mail.dyn.test. 300 IN A 192.0.2.11",
            "mail.dyn.test. 300 IN A 198.51.100.7"
        ]
    );
    assert_eq!(
        lab.live("7.100.51.198.in-addr.arpa", RecordType::PTR),
        vec!["7.100.51.198.in-addr.arpa. 3600 IN PTR mail.dyn.test."]
    );
    // Rollback in reverse order restores every RRset.
    for c in report.changes.iter().rev() {
        update::rollback(&cfg, c).unwrap();
    }
    assert_eq!(snapshot(&lab), before);
}

fn snapshot(lab: &Lab) -> Vec<Vec<String>> {
    vec![
        lab.live("dyn.test", RecordType::TXT),
        lab.live("mail.dyn.test", RecordType::A),
        lab.live("smtp.dyn.test", RecordType::A),
        lab.live("10.2.0.192.in-addr.arpa", RecordType::PTR),
        lab.live("7.100.51.198.in-addr.arpa", RecordType::PTR),
    ]
}

fn mail_change() -> Change {
    Change {
        id: "c7".into(),
        surface: zmreip::surface::Surface::Dns,
        target: target("dyn.test.", "mail.dyn.test.", "A"),
        before: many(&[
            "mail.dyn.test. 300 IN A 192.0.2.10",
            "mail.dyn.test. 300 IN A 192.0.2.11",
        ]),
        after: many(&[
            "mail.dyn.test. 300 IN A 198.51.100.7",
            "mail.dyn.test. 300 IN A 192.0.2.11",
        ]),
        reason: String::new(),
    }
}

#[test]
fn drift_is_refused_and_changes_nothing() {
    let Some(lab) = lab() else { return };
    let cfg = lab.config();
    // Someone else changes the RRset after planning.
    let other = Change {
        id: "x".into(),
        after: many(&["mail.dyn.test. 300 IN A 192.0.2.12"]),
        ..mail_change()
    };
    update::apply(&cfg, &other).unwrap();
    let e = update::apply(&cfg, &mail_change()).unwrap_err();
    assert!(
        e.to_string().contains("is no longer what the plan expects"),
        "{e}"
    );
    assert!(e.help().unwrap().contains("plan again"), "{e:?}");
    assert_eq!(
        lab.live("mail.dyn.test", RecordType::A),
        vec!["mail.dyn.test. 300 IN A 192.0.2.12"]
    );
    // Rolling back a change that was never applied is refused too.
    let e = update::rollback(&cfg, &mail_change()).unwrap_err();
    assert!(
        e.to_string().contains("no longer what the plan expects"),
        "{e}"
    );
    // Creating a PTR that already exists is drift as well.
    let create = Change {
        id: "c9".into(),
        surface: zmreip::surface::Surface::Dns,
        target: target("2.0.192.in-addr.arpa.", "10.2.0.192.in-addr.arpa.", "PTR"),
        before: many(&[]),
        after: many(&["10.2.0.192.in-addr.arpa. 300 IN PTR other.dyn.test."]),
        reason: String::new(),
    };
    let e = update::apply(&cfg, &create).unwrap_err();
    assert!(
        e.to_string().contains("no longer what the plan expects"),
        "{e}"
    );
}

#[test]
fn tsig_failures_name_the_key_never_the_secret() {
    let Some(lab) = lab() else { return };
    // Right name, wrong secret: BIND answers BADSIG.
    let wrong_secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=";
    let text = lab.key.file_text.replace(&lab.key.secret, wrong_secret);
    let (_, cfg) = lab.config_with(&text, None);
    let e = update::apply(&cfg, &mail_change()).unwrap_err();
    let shown = format!("{e} {}", e.help().unwrap_or(""));
    assert_eq!(e.to_string(), "TSIG verification failed for key ddns-key");
    assert!(
        !shown.contains(wrong_secret) && !shown.contains(&lab.key.secret),
        "{shown}"
    );
    assert!(
        !format!("{cfg:?}").contains(wrong_secret),
        "Debug shows the secret"
    );
    // A key the server does not know: BADKEY.
    let text = lab
        .key
        .file_text
        .replace("key \"ddns-key\"", "key \"stranger\"");
    let (_, cfg) = lab.config_with(&text, Some("stranger"));
    let e = update::apply(&cfg, &mail_change()).unwrap_err();
    assert_eq!(e.to_string(), "TSIG verification failed for key stranger");
    assert_eq!(
        lab.live("mail.dyn.test", RecordType::A),
        vec![
            "mail.dyn.test. 300 IN A 192.0.2.10",
            "mail.dyn.test. 300 IN A 192.0.2.11"
        ]
    );
}

#[test]
fn lower_ttl_plans_only_ttls() {
    let Some(lab) = lab() else { return };
    let cfg = lab.config();
    let report =
        update::plan(&cfg, &rewriter(), Some("mail.dyn.test"), Mode::LowerTtl(60)).unwrap();
    let afters: Vec<Value> = report.changes.iter().map(|c| c.after.clone()).collect();
    assert_eq!(
        afters,
        vec![
            many(&["dyn.test. 60 IN TXT \"v=spf1 a:mail.dyn.test ip4:192.0.2.10 \" \"-all\""]),
            many(&[
                "mail.dyn.test. 60 IN A 192.0.2.10",
                "mail.dyn.test. 60 IN A 192.0.2.11",
            ]),
            many(&["smtp.dyn.test. 60 IN A 192.0.2.10"]),
            many(&["10.2.0.192.in-addr.arpa. 60 IN PTR mail.dyn.test."]),
        ]
    );
    for c in &report.changes {
        update::apply(&cfg, c).unwrap();
    }
    assert_eq!(
        lab.live("smtp.dyn.test", RecordType::A),
        vec!["smtp.dyn.test. 60 IN A 192.0.2.10"]
    );
}

#[test]
fn cli_plan_json_has_dns_targets() {
    let Some(lab) = lab() else { return };
    let (cfg_path, _) = lab.config_with(&lab.key.file_text, None);
    let root = tempfile::tempdir().unwrap();
    // A Zimbra host snapshot (an empty localconfig) without its OS
    // network configuration: the old address is its own by assumption.
    let lc = root.path().join("opt/zimbra/conf");
    std::fs::create_dir_all(&lc).unwrap();
    std::fs::write(
        lc.join("localconfig.xml"),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<localconfig>\n</localconfig>\n",
    )
    .unwrap();
    let (code, out, err) = run(Zmreip::new([
        "plan",
        "--assume-own",
        "--root",
        &root.path().display().to_string(),
        "--from",
        "192.0.2.10/24",
        "--to",
        "198.51.100.7/24",
        "--dns-config",
        &cfg_path.display().to_string(),
        "--format",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains(&lab.key.secret),
        "the plan shows the TSIG secret"
    );
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let dns: Vec<&serde_json::Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["surface"] == "dns")
        .collect();
    assert_eq!(dns.len(), 5, "{out}");
    assert_eq!(
        dns[1]["target"],
        serde_json::json!({"zone": "dyn.test.", "name": "mail.dyn.test.", "type": "A"})
    );
    assert_eq!(
        dns[1]["before"],
        serde_json::json!([
            "mail.dyn.test. 300 IN A 192.0.2.10",
            "mail.dyn.test. 300 IN A 192.0.2.11"
        ])
    );
    // Changes held by a remote server need no local service action.
    assert!(plan["actions"].as_array().unwrap().is_empty(), "{out}");
    // The plan round-trips through the library's types.
    let p: zmreip::plan::Plan = serde_json::from_str(&out).unwrap();
    assert!(matches!(p.changes[1].target, Target::Dns { .. }));
    let _: IpAddr = "198.51.100.7".parse().unwrap();
}

#[test]
fn config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    write(
        "two.key",
        "key \"a\" { algorithm hmac-sha256; secret \"c2VjcmV0\"; };\nkey \"b\" { algorithm hmac-sha256; secret \"c2VjcmV0\"; };\n",
    );
    write(
        "md5.key",
        "key \"a\" { algorithm hmac-md5; secret \"c2VjcmV0\"; };\n",
    );
    write(
        "nosecret.key",
        "key \"a\" { algorithm hmac-sha256; secret \"!!!\"; };\n",
    );
    let table: &[(&str, &str)] = &[
        ("[[zone]]\nname = \"x.test\"\n", "missing field `server`"),
        (
            "[[zone]]\nname = \"x.test\"\nserver = \"nowhere\"\nkey_file = \"two.key\"\n",
            "not a server address",
        ),
        (
            "[[zone]]\nname = \"x.test\"\nserver = \"127.0.0.1\"\nkey_file = \"two.key\"\n",
            "holds 2 keys (a, b); say which",
        ),
        (
            "[[zone]]\nname = \"x.test\"\nserver = \"127.0.0.1\"\nkey_file = \"md5.key\"\n",
            "algorithm hmac-md5 is not supported",
        ),
        (
            "[[zone]]\nname = \"x.test\"\nserver = \"127.0.0.1\"\nkey_file = \"nosecret.key\"\n",
            "no valid base64 `secret`",
        ),
        (
            "[[zone]]\nname = \"x.test\"\nserver = \"127.0.0.1\"\nkey_file = \"two.key\"\nsecret = \"x\"\n",
            "unknown field `secret`",
        ),
        ("", "names no zone"),
    ];
    for (text, msg) in table {
        let p = write("c.toml", text);
        let e = UpdateConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains(msg), "{text:?}: {e}");
        assert!(!e.contains("c2VjcmV0"), "{e}");
    }
}
