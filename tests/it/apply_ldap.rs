//! Apply, rollback and resume against a live directory: a real OpenLDAP
//! slapd (tests/it/support/slapd.rs, loaded with tests/lab/ldap/zimbra.ldif)
//! and a host whose localconfig points at it. Each directory attribute is
//! one step; a crash after any step rolls back to the original directory
//! and files, and resumes to the state of a clean apply.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::lab::*;
use crate::support::slapd::{self, ADMIN_DN, Options, Slapd};
use zmreip::directory::Directory;
use zmreip::directory::ldif::LdifDirectory;

/// The Zimbra admin's password in the slapd fixture.
const PW: &str = "Lab-bind-pw-7c1e";

/// dn -> attribute -> values, all lower-cased names.
type Dump = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn dump(s: &Slapd) -> Dump {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dump.ldif");
    std::fs::write(&p, s.dump(PW)).unwrap();
    let mut out = Dump::new();
    LdifDirectory::open(&p)
        .unwrap()
        .for_each(&mut |e| {
            let attrs = out.entry(e.dn.to_ascii_lowercase()).or_default();
            for (a, vs) in e.attrs {
                attrs.entry(a.to_ascii_lowercase()).or_default().extend(vs);
            }
            Ok(())
        })
        .unwrap();
    // Operational bookkeeping changes with every write.
    for attrs in out.values_mut() {
        attrs
            .retain(|a, _| !matches!(a.as_str(), "modifytimestamp" | "modifiersname" | "entrycsn"));
    }
    out
}

/// The fixture host with a localconfig that names the test slapd.
fn lab(s: &Slapd) -> Lab {
    let lab = Lab::new();
    let lc = lab.host("/opt/zimbra/conf/localconfig.xml");
    let text = std::fs::read_to_string(&lc).unwrap().replace(
        "</localconfig>",
        &format!(
            "  <key name=\"ldap_url\">\n    <value>{}</value>\n  </key>\n  <key name=\"zimbra_ldap_userdn\">\n    <value>{ADMIN_DN}</value>\n  </key>\n  <key name=\"zimbra_ldap_password\">\n    <value>{PW}</value>\n  </key>\n</localconfig>",
            s.url()
        ),
    );
    std::fs::write(&lc, text).unwrap();
    // The directory is live: no export in this lab.
    std::fs::remove_file(lab.ldif()).unwrap();
    lab
}

fn plan(lab: &Lab) -> std::path::PathBuf {
    let out = lab.path().join("plan.json");
    Zmreip::new([
        "plan",
        "--root",
        lab.root().to_str().unwrap(),
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
        "--gateway",
        "10.40.7.1",
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ])
    .ok();
    out
}

fn apply(lab: &Lab, plan: &Path) -> Zmreip {
    Zmreip::new(["apply", "--plan"])
        .arg(plan)
        .arg("--yes")
        .root(lab.root())
        .arg("--services")
        .arg(lab.services())
        .arg("--restart-network")
}

#[test]
fn crash_after_every_step_with_a_live_directory() {
    let Some(s) = Slapd::start(&Options {
        fixture: Some(slapd::fixture()),
        ..Options::default()
    }) else {
        return;
    };
    let original = dump(&s);

    // A clean apply: every planned value changed, files too; the
    // password never shows.
    let clean = lab(&s);
    let files_before = clean.snapshot();
    let p = plan(&clean);
    let plan_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let dir_changes = plan_json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["surface"] == "ldap")
        .count();
    assert!(dir_changes >= 5, "{plan_json}");
    let out = apply(&clean, &p).ok();
    assert!(!out.stdout.contains(PW) && !out.stderr.contains(PW));
    let applied = dump(&s);
    assert_ne!(applied, original);
    let files_applied = clean.snapshot();
    let steps = steps_of_latest(&clean);
    let run = clean
        .root()
        .join("var/lib/zmreip/runs")
        .join(clean.runs().pop().unwrap());
    let prior = std::fs::read_to_string(run.join("directory-before.ldif")).unwrap();
    assert!(
        prior.contains("zimbraMailBindAddress: 172.20.14.25"),
        "{prior}"
    );
    assert!(
        std::fs::read_to_string(run.join("changes.ldif"))
            .unwrap()
            .contains("changetype: modify")
    );
    for f in std::fs::read_dir(&run).unwrap().flatten() {
        if f.path().is_file() {
            assert!(
                !std::fs::read_to_string(f.path())
                    .unwrap_or_default()
                    .contains(PW),
                "{}",
                f.path().display()
            );
        }
    }
    // Planning again finds nothing left to change.
    let again: serde_json::Value = serde_json::from_str(
        &Zmreip::new([
            "plan",
            "--root",
            clean.root().to_str().unwrap(),
            "--from",
            "172.20.14.25/24",
            "--to",
            "10.40.7.131/24",
            "--gateway",
            "10.40.7.1",
            "--format",
            "json",
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    assert_eq!(again["changes"].as_array().unwrap().len(), 0, "{again}");
    // Rollback restores directory and files.
    clean.rollback().ok();
    assert_eq!(dump(&s), original, "clean apply, rolled back");
    assert_same(&files_before, &clean.snapshot(), "clean apply, rolled back");

    let mut points = 0;
    // Crashing after step k took effect but before `done k` leaves every
    // state a crash after `done k` leaves too (that is the state before
    // step k+1 begins, and a clean apply for the last k), at half the
    // time: each directory write is a synced modify on slapd.
    {
        let hook = zmreip::apply::crash::BEFORE_DONE;
        for k in 1..=steps {
            let ks = k.to_string();
            let l = lab(&s);
            let p = plan(&l);
            apply(&l, &p).env(hook, &ks).run().aborted();
            l.rollback().ok();
            assert_eq!(dump(&s), original, "{hook}={k}, rollback: directory");
            assert_same(
                &files_before,
                &l.snapshot(),
                &format!("{hook}={k}, rollback: files"),
            );

            let l = lab(&s);
            let p = plan(&l);
            apply(&l, &p).env(hook, &ks).run().aborted();
            l.resume().ok();
            assert_eq!(dump(&s), applied, "{hook}={k}, resume: directory");
            assert_same(
                &files_applied,
                &l.snapshot(),
                &format!("{hook}={k}, resume: files"),
            );
            // Back to the start for the next crash point.
            l.rollback().ok();
            assert_eq!(dump(&s), original, "{hook}={k}, resumed then rolled back");
            points += 2;
        }
    }
    eprintln!("crash points tested with a live directory ({steps} steps): {points}");
}

#[test]
fn live_drift_is_refused_naming_the_attribute() {
    let Some(s) = Slapd::start(&Options {
        fixture: Some(slapd::fixture()),
        ..Options::default()
    }) else {
        return;
    };
    let l = lab(&s);
    let p = plan(&l);
    // Another admin adds a value to an attribute the plan changes.
    s.ldapmodify(
        PW,
        "dn: cn=config,cn=zimbra\nchangetype: modify\nadd: zimbraMailTrustedIP\nzimbraMailTrustedIP: 192.0.2.7\n-\n",
    );
    let before = dump(&s);
    let files = l.snapshot();
    let out = apply(&l, &p).fails(1);
    assert!(
        out.stderr
            .contains("cn=config,cn=zimbra zimbraMailTrustedIP: holds"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    assert_eq!(dump(&s), before);
    assert_same(&files, &l.snapshot(), "after the refusal");
    assert!(l.runs().is_empty());
}
