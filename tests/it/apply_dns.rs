//! Apply, rollback and resume with DNS held elsewhere: a real BIND named
//! (tests/it/support/dns.rs) serving the mail domain, updated with RFC
//! 2136 and TSIG (`--dns-config`). Each RRset is one step; a crash at any
//! step rolls back to the original records and files, and resumes to the
//! state of a clean apply.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::dns::{self as servers, Key, Server, Zone};
use crate::support::lab::*;
use zmreip::dns::{RecordType, Resolver};

const ZONE: &str = r#"$TTL 300
@       IN SOA ns1.corp.example. hostmaster.corp.example. 1 3600 600 86400 300
        IN NS  ns1.corp.example.
        IN TXT "v=spf1 mx ip4:172.20.14.25 ip4:172.20.14.250 -all"
ns1     IN A   127.0.0.1
mail    IN A   172.20.14.25
backup  IN A   172.20.14.250
"#;

struct Dns {
    ns: Server,
    key: Key,
}

fn start() -> Option<Dns> {
    if !servers::available("named") || !servers::available("tsig-keygen") {
        return None;
    }
    let key = servers::tsig_keygen("ddns-key");
    let ns = servers::named(
        &[Zone {
            name: "corp.example",
            text: ZONE,
            update_key: Some("ddns-key"),
        }],
        &[&key],
    );
    Some(Dns { ns, key })
}

impl Dns {
    /// A `--dns-config` for the zone, in the lab's directory.
    fn config(&self, lab: &Lab) -> PathBuf {
        std::fs::write(lab.path().join("ddns.key"), &self.key.file_text).unwrap();
        let p = lab.path().join("dns.toml");
        std::fs::write(
            &p,
            format!(
                "[[zone]]\nname = \"corp.example\"\nserver = \"{}\"\nkey_file = \"ddns.key\"\nnames = [\"mail\", \"backup\"]\ntimeout = 2\n",
                self.ns.addr
            ),
        )
        .unwrap();
        p
    }

    /// The records that can move, in presentation form.
    fn records(&self) -> Vec<String> {
        let r = Resolver::new(self.ns.addr, Duration::from_secs(2)).unwrap();
        let mut out = Vec::new();
        for (name, t) in [
            ("corp.example.", RecordType::TXT),
            ("mail.corp.example.", RecordType::A),
            ("backup.corp.example.", RecordType::A),
        ] {
            let mut v: Vec<String> = r
                .lookup(name, t)
                .records()
                .iter()
                .map(ToString::to_string)
                .collect();
            v.sort();
            out.extend(v);
        }
        out
    }
}

/// The lab without its DNS stand-in files (key and config are inputs).
fn tree(lab: &Lab) -> Tree {
    let mut t = lab.snapshot();
    t.retain(|k, _| k != "ddns.key" && k != "dns.toml");
    t
}

fn plan(lab: &Lab, cfg: &Path) -> PathBuf {
    let out = lab.path().join("plan.json");
    Zmreip::new([
        "plan",
        "--root",
        lab.root().to_str().unwrap(),
        "--ldif",
        lab.ldif().to_str().unwrap(),
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
        "--gateway",
        "10.40.7.1",
        "--dns-config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ])
    .ok();
    out
}

fn apply(lab: &Lab, plan: &Path, cfg: &Path) -> Zmreip {
    lab.apply(plan).arg("--dns-config").arg(cfg)
}

#[test]
fn crash_after_every_step_with_dns_held_elsewhere() {
    let Some(dns) = start() else { return };
    let original = dns.records();
    assert!(
        original.iter().any(|r| r.contains("A 172.20.14.25")),
        "{original:?}"
    );

    let clean = Lab::new();
    let cfg = dns.config(&clean);
    let files_before = tree(&clean);
    let p = plan(&clean, &cfg);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let dns_changes = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["surface"] == "dns")
        .count();
    assert_eq!(dns_changes, 2, "the apex TXT and mail's A: {v}");
    let out = apply(&clean, &p, &cfg).ok();
    assert!(!out.stdout.contains(&dns.key.secret) && !out.stderr.contains(&dns.key.secret));
    let applied = dns.records();
    assert!(
        applied.iter().any(|r| r.contains("A 10.40.7.131")),
        "{applied:?}"
    );
    assert!(
        applied
            .iter()
            .any(|r| r.contains("ip4:10.40.7.131 ip4:172.20.14.250")),
        "{applied:?}"
    );
    // The neighbour keeps its record.
    assert!(
        applied
            .iter()
            .any(|r| r.starts_with("backup.corp.example.") && r.contains("172.20.14.250"))
    );
    let files_applied = tree(&clean);
    let steps = steps_of_latest(&clean);
    // A saved plan without --dns-config cannot be applied: the keys are
    // not in it.
    let refused = clean.apply(&p).fails(2);
    assert!(
        refused.stderr.contains("--dns-config"),
        "{}",
        refused.stderr
    );
    clean.rollback().arg("--dns-config").arg(&cfg).ok();
    assert_eq!(dns.records(), original, "clean apply, rolled back");
    assert_same(&files_before, &tree(&clean), "clean apply, rolled back");

    let mut points = 0;
    for k in 1..=steps {
        let ks = k.to_string();
        let hook = (zmreip::apply::crash::BEFORE_DONE, ks.as_str());
        let l = Lab::new();
        let cfg = dns.config(&l);
        let p = plan(&l, &cfg);
        apply(&l, &p, &cfg).env(hook.0, hook.1).run().aborted();
        l.rollback().arg("--dns-config").arg(&cfg).ok();
        assert_eq!(dns.records(), original, "crash in step {k}, rollback: DNS");
        assert_same(
            &files_before,
            &tree(&l),
            &format!("crash in step {k}, rollback: files"),
        );

        let l = Lab::new();
        let cfg = dns.config(&l);
        let p = plan(&l, &cfg);
        apply(&l, &p, &cfg).env(hook.0, hook.1).run().aborted();
        l.resume().arg("--dns-config").arg(&cfg).ok();
        assert_eq!(dns.records(), applied, "crash in step {k}, resume: DNS");
        assert_same(
            &files_applied,
            &tree(&l),
            &format!("crash in step {k}, resume: files"),
        );
        l.rollback().arg("--dns-config").arg(&cfg).ok();
        assert_eq!(
            dns.records(),
            original,
            "crash in step {k}, resumed then rolled back"
        );
        points += 2;
    }
    eprintln!("crash points tested with DNS held elsewhere ({steps} steps): {points}");
}

#[test]
fn dns_drift_is_refused_naming_the_record_set() {
    let Some(dns) = start() else { return };
    let l = Lab::new();
    let cfg = dns.config(&l);
    let p = plan(&l, &cfg);
    // Someone else moves mail's A record first.
    let out = std::process::Command::new("nsupdate")
        .args(["-k", l.path().join("ddns.key").to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            let port = dns.ns.addr.port();
            c.stdin.take().unwrap().write_all(
                format!("server 127.0.0.1 {port}\nzone corp.example\nupdate add mail.corp.example. 300 A 192.0.2.99\nsend\n").as_bytes(),
            )?;
            c.wait()
        });
    if !out.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: nsupdate is not available to make the drift");
        return;
    }
    let files = tree(&l);
    let before = dns.records();
    let out = apply(&l, &p, &cfg).fails(1);
    assert!(
        out.stderr
            .contains("mail.corp.example. A (zone corp.example.): the server holds"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    assert_eq!(dns.records(), before);
    assert_same(&files, &tree(&l), "after the refusal");
    assert!(l.runs().is_empty());
}
