//! The journal and re-runs: applying a plan applied already, an apply
//! with nothing to run, damaged runs, the temporary files a killed
//! zmreip leaves, and what `history` suggests.

use crate::support::lab::*;

use zmreip::apply::crash::BEFORE_DONE;

fn history(lab: &Lab) -> serde_json::Value {
    // zmreip.history/v1: the runs, newest first.
    Zmreip::new(["history", "--format", "json"])
        .root(lab.root())
        .ok()
        .json()["runs"]
        .clone()
}

#[test]
fn reapplying_an_applied_plan_says_so_and_exits_0() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    let id = lab.runs().pop().unwrap();
    let applied = lab.snapshot();
    let out = lab.apply(&plan).ok();
    assert_eq!(
        out.stdout,
        format!(
            "already applied (run {id}): the host holds every change of this plan; nothing to do\n"
        )
    );
    let json = lab.apply(&plan).args(["--format", "json"]).ok().json();
    assert_eq!(
        (json["run"].as_str(), json["state"].as_str()),
        (Some(id.as_str()), Some("applied"))
    );
    assert_eq!(lab.runs(), std::slice::from_ref(&id), "no run recorded");
    assert_same(&applied, &lab.snapshot(), "nothing written");
    // Once rolled back, the same plan applies again as a new run.
    lab.rollback().ok();
    lab.apply(&plan).ok();
    assert_eq!(lab.runs().len(), 2);
    // A host that holds only part of the plan is drift, as before.
    let lab = Lab::new();
    lab.apply(&plan).ok();
    let hosts = lab.host("/etc/hosts");
    let t = std::fs::read_to_string(&hosts).unwrap();
    std::fs::write(&hosts, t.replace("10.40.7.131", "10.40.7.132")).unwrap();
    let out = lab.apply(&plan).fails(1);
    assert!(
        out.stderr.contains("does not match the plan"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_apply_with_nothing_to_run_records_no_run() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    let first = lab.runs();
    // A plan with no change and only an action, which --no-restart
    // leaves to the admin: nothing for zmreip to run.
    let mut p: zmreip::plan::Plan = serde_json::from_str(
        r#"{"schema":"zmreip.plan/v1","from":["172.20.14.25/24"],"to":["10.40.7.131/24"],
        "changes":[],"derived":[{"file":"/opt/zimbra/common/conf/main.cf","regenerated_by":"mta"}],
        "actions":[{"service":"mta","action":"reload","because":["/opt/zimbra/common/conf/main.cf"]}],
        "warnings":[],"handoffs":[]}"#,
    )
    .unwrap();
    p.seal();
    let path = lab.path().join("empty.json");
    std::fs::write(&path, zmreip::plan::render::json(&p)).unwrap();
    let out = Zmreip::new(["apply", "--yes", "--no-restart", "--plan"])
        .arg(&path)
        .root(lab.root())
        .ldif(lab.ldif())
        .ok();
    assert!(out.stdout.starts_with("nothing to run:"), "{}", out.stdout);
    assert!(out.stdout.contains("zmmtactl reload"), "{}", out.stdout);
    assert_eq!(lab.runs(), first, "a run was recorded");
    // The default rollback still takes the real run.
    let out = lab.rollback().ok();
    assert!(out.stdout.contains(&first[0]), "{}", out.stdout);
}

#[test]
fn a_damaged_run_is_skipped_with_a_warning() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    let good = lab.runs().pop().unwrap();
    // A later run whose run.json was cut short (a zmreip before 0.1 wrote
    // it in place; a full disk truncated it).
    let runs = lab.root().join("var/lib/zmreip/runs");
    let bad = "29991231T235959Z-0bad";
    std::fs::create_dir(runs.join(bad)).unwrap();
    let info = std::fs::read(runs.join(&good).join("run.json")).unwrap();
    std::fs::write(runs.join(bad).join("run.json"), &info[..info.len() / 2]).unwrap();
    std::fs::write(runs.join(bad).join("state"), "running\n").unwrap();

    let h = history(&lab);
    assert_eq!(h[0]["state"], "applied");
    assert_eq!(h[1]["id"], bad);
    assert_eq!(h[1]["state"], "damaged");
    assert!(
        h[1]["failed"]
            .as_str()
            .unwrap()
            .contains("run.json does not read"),
        "{h}"
    );
    let text = Zmreip::new(["history"]).root(lab.root()).ok();
    assert!(
        text.stdout.contains(&format!("{bad}  damaged")),
        "{}",
        text.stdout
    );
    // The default rollback and resume skip it, saying so.
    let out = lab.resume().ok();
    assert!(
        out.stdout
            .contains(&format!("warning: skipped damaged run {bad}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("run {good} is already applied")),
        "{}",
        out.stdout
    );
    let out = lab.rollback().ok();
    assert!(
        out.stdout
            .contains(&format!("warning: skipped damaged run {bad}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("rolled back run {good}")),
        "{}",
        out.stdout
    );
    // Named, it is an error naming what is damaged.
    let out = lab.rollback().arg(bad).fails(1);
    assert!(
        out.stderr.contains("run.json does not read"),
        "{}",
        out.stderr
    );
}

#[test]
fn stale_temporary_files_are_removed_by_resume_and_rollback() {
    for command in ["resume", "rollback"] {
        let lab = Lab::new();
        let plan = lab.fixture_plan();
        // A kill -9 in step 2: the run stops; the temporary files of a
        // write and of a journal file that were under way stay behind.
        lab.apply(&plan).env(BEFORE_DONE, "2").run().aborted();
        let id = lab.runs().pop().unwrap();
        let run = lab.root().join("var/lib/zmreip/runs").join(&id);
        let temps = [
            lab.host("/etc/.dnsmasq.conf.zmreip-4242-0.tmp"),
            lab.host("/etc/.hosts.zmreip-4242-3.tmp"),
            run.join(".state.zmreip-4242-1.tmp"),
            run.join("backups/.2.data.zmreip-4242-2.tmp"),
        ];
        for t in &temps {
            std::fs::write(t, "half").unwrap();
        }
        // Not zmreip's: stays.
        let other = lab.host("/etc/.hosts.swp");
        std::fs::write(&other, "x").unwrap();
        let out = match command {
            "resume" => lab.resume().ok(),
            _ => lab.rollback().ok(),
        };
        for t in &temps {
            assert!(!t.exists(), "{command}: {} left", t.display());
        }
        assert!(other.exists());
        assert!(
            out.stdout
                .contains("removed /etc/.hosts.zmreip-4242-3.tmp, left by an interrupted zmreip"),
            "{command}: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains(".state.zmreip-4242-1.tmp"),
            "{}",
            out.stdout
        );
    }
}
