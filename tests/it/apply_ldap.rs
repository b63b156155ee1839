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

/// The plan's directory change of `attribute` of `dn`: (before, after).
fn planned(plan: &Path, dn: &str, attribute: &str) -> (Vec<String>, Vec<String>) {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap();
    let c = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"]["dn"] == dn && c["target"]["attribute"] == attribute)
        .unwrap_or_else(|| panic!("no change of {dn} {attribute}"));
    let list = |x: &serde_json::Value| -> Vec<String> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    (list(&c["before"]), list(&c["after"]))
}

/// Another admin's edit of one attribute, as LDIF change records.
fn edit(dn: &str, attribute: &str, delete: &[&str], add: &[&str]) -> String {
    let mut l = format!("dn: {dn}\nchangetype: modify\n");
    if !delete.is_empty() {
        l.push_str(&format!("delete: {attribute}\n"));
        for v in delete {
            l.push_str(&format!("{attribute}: {v}\n"));
        }
        l.push_str("-\n");
    }
    if !add.is_empty() {
        l.push_str(&format!("add: {attribute}\n"));
        for v in add {
            l.push_str(&format!("{attribute}: {v}\n"));
        }
        l.push_str("-\n");
    }
    l
}

/// The same edit on a dump.
fn edited(mut d: Dump, dn: &str, attribute: &str, delete: &[&str], add: &[&str]) -> Dump {
    let vals = d
        .entry(dn.to_ascii_lowercase())
        .or_default()
        .entry(attribute.to_ascii_lowercase())
        .or_default();
    for v in delete {
        vals.remove(*v);
    }
    vals.extend(add.iter().map(ToString::to_string));
    d
}

/// The concurrent-edit rule: a saved plan's directory edits are value
/// level. A value another admin added since the plan stays (and the plan
/// applies) unless it holds an address being moved; a value the plan read
/// that is gone, or a value it adds that is there already, refuses it.
#[test]
fn concurrent_edits_follow_the_value_level_rule() {
    let Some(s) = Slapd::start(&Options {
        fixture: Some(slapd::fixture()),
        ..Options::default()
    }) else {
        return;
    };
    const DN: &str = "cn=config,cn=zimbra";
    const ATTR: &str = "zimbraMailTrustedIP";
    let original = dump(&s);
    let probe = lab(&s);
    let (before, after) = planned(&plan(&probe), DN, ATTR);
    let moved = before.iter().find(|v| !after.contains(v)).unwrap().clone();
    let added = after.iter().find(|v| !before.contains(v)).unwrap().clone();
    // (what the admin does, whether the plan still applies, what the
    // refusal says)
    let cases: Vec<(Vec<&str>, Vec<&str>, Option<&str>)> = vec![
        (vec![], vec!["192.0.2.7"], None),
        (
            vec![],
            vec!["172.20.14.0/24"],
            Some("gained [\"172.20.14.0/24\"]"),
        ),
        (vec![&moved], vec![], Some("no longer holds")),
        (vec![], vec![&added], Some("already, which the plan adds")),
    ];
    for (delete, add, refused) in cases {
        let l = lab(&s);
        let p = plan(&l);
        s.ldapmodify(PW, &edit(DN, ATTR, &delete, &add));
        let edited_dump = edited(original.clone(), DN, ATTR, &delete, &add);
        assert_eq!(dump(&s), edited_dump);
        let files = l.snapshot();
        match refused {
            None => {
                apply(&l, &p).ok();
                let now = dump(&s);
                let vals = &now[&DN.to_ascii_lowercase()][&ATTR.to_ascii_lowercase()];
                for v in &add {
                    assert!(
                        vals.contains(*v),
                        "{add:?}: the admin's value was lost: {vals:?}"
                    );
                }
                assert!(vals.contains(&added) && !vals.contains(&moved), "{vals:?}");
                l.rollback().ok();
            }
            Some(why) => {
                let out = apply(&l, &p).fails(1);
                assert!(
                    out.stderr.contains(&format!("{DN} {ATTR}: ")),
                    "{}",
                    out.stderr
                );
                assert!(out.stderr.contains(why), "{why}: {}", out.stderr);
                assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
                assert_same(&files, &l.snapshot(), "after the refusal");
                assert!(l.runs().is_empty());
            }
        }
        assert_eq!(dump(&s), edited_dump, "{delete:?} {add:?}");
        // Back to the fixture for the next case.
        s.ldapmodify(PW, &edit(DN, ATTR, &add, &delete));
        assert_eq!(dump(&s), original);
    }
}

/// Another admin changes the attribute a directory step is about to
/// write, after every check passed: the modify is refused (its assertion
/// fails, as it should), and the automatic rollback must not try to undo
/// that step, which wrote nothing: the host ends as before the run, with
/// the admin's edit kept.
#[test]
fn a_directory_write_refused_at_the_last_moment_is_not_undone() {
    let Some(s) = Slapd::start(&Options {
        fixture: Some(slapd::fixture()),
        ..Options::default()
    }) else {
        return;
    };
    let original = dump(&s);
    let l = lab(&s);
    let files = l.snapshot();
    let p = plan(&l);
    // The last directory step: files and other directory values are
    // written before it.
    let check = apply(&l, &p).arg("--check").ok();
    let (k, dn, attr) = check
        .stdout
        .lines()
        .rev()
        .find_map(|line| {
            let (num, rest) = line.trim().split_once(". directory: ")?;
            let mut w = rest.split(' ');
            Some((
                num.parse::<usize>().ok()?,
                w.next()?.to_string(),
                w.next()?.to_string(),
            ))
        })
        .unwrap_or_else(|| panic!("{}", check.stdout));
    assert!(k > 2, "{}", check.stdout);
    let (before, after) = planned(&p, &dn, &attr);
    let gone: Vec<&str> = before
        .iter()
        .filter(|v| !after.contains(v))
        .map(String::as_str)
        .collect();
    assert!(!gone.is_empty(), "{before:?} -> {after:?}");
    let pause = tempfile::tempdir().unwrap();
    let flag = pause.path().join("paused");
    let run = apply(&l, &p).env(
        zmreip::apply::crash::BEFORE_WRITE,
        format!("{k}:{}", pause.path().display()),
    );
    let t = std::thread::spawn(move || run.run());
    let start = std::time::Instant::now();
    while !flag.exists() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "never paused"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The admin's edit, at that moment.
    s.ldapmodify(PW, &edit(&dn, &attr, &gone, &["192.0.2.99"]));
    std::fs::remove_file(&flag).unwrap();
    let out = t.join().unwrap().status(1);
    assert!(
        out.stderr.contains(&format!("step {k} of")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("rolled back:"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("the rollback failed"),
        "{}",
        out.stderr
    );
    assert_same(&files, &l.snapshot(), "rolled back after the refused write");
    assert_eq!(
        dump(&s),
        edited(original.clone(), &dn, &attr, &gone, &["192.0.2.99"]),
        "every other directory value back, the admin's edit kept"
    );
    let h = Zmreip::new(["history", "--format", "json"])
        .root(l.root())
        .ok()
        .json();
    assert_eq!(h["runs"][0]["state"], "rolled-back");
    // And a later rollback, with or without --force, has nothing to do.
    let again = l.rollback().ok();
    assert!(
        again.stdout.contains("already rolled back"),
        "{}",
        again.stdout
    );
}

/// The directory's address the run recorded is gone (the server moved,
/// or its name resolves elsewhere now): rollback says it cannot reach it,
/// and reaches it with --ldap-url.
#[test]
fn rollback_reaches_a_moved_directory_with_ldap_url() {
    let Some(s) = Slapd::start(&Options {
        fixture: Some(slapd::fixture()),
        ..Options::default()
    }) else {
        return;
    };
    let original = dump(&s);
    let l = lab(&s);
    let files = l.snapshot();
    let p = plan(&l);
    apply(&l, &p).ok();
    assert_ne!(dump(&s), original);
    let id = l.runs().pop().unwrap();
    let info = l
        .root()
        .join("var/lib/zmreip/runs")
        .join(&id)
        .join("run.json");
    let gone = format!("ldap://127.0.0.1:{}", slapd::closed_port());
    let text = std::fs::read_to_string(&info)
        .unwrap()
        .replace(&s.url(), &gone);
    std::fs::write(&info, text).unwrap();
    let applied = dump(&s);
    let out = l.rollback().fails(1);
    assert!(out.stderr.contains(&gone), "{}", out.stderr);
    assert_eq!(dump(&s), applied, "nothing was undone");
    let out = l.rollback().args(["--ldap-url", &s.url()]).ok();
    assert!(
        out.stdout.contains(&format!("rolled back run {id}")),
        "{}",
        out.stdout
    );
    assert_eq!(dump(&s), original, "the directory as before");
    assert_same(&files, &l.snapshot(), "files rolled back");
}
