//! `zmreip apply`, `rollback`, `resume`, `history` on a copy of the fixture
//! host, through the real binary: crash at every step, drift, saved-plan
//! validation, idempotence, service order and failures.

use crate::support::lab::*;

use zmreip::apply::crash::{
    AFTER_STEP as CRASH_AFTER, AFTER_UNDO as CRASH_AFTER_UNDO, BEFORE_DONE as CRASH_BEFORE_DONE,
};

/// The tree after a clean, complete apply of the fixture plan, and the
/// number of steps it took.
fn clean_apply() -> (Tree, usize, Vec<String>) {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    (lab.snapshot(), steps_of_latest(&lab), lab.service_calls())
}

#[test]
fn clean_apply_writes_every_target_and_keeps_owner_and_mode() {
    let lab = Lab::new();
    let before = lab.snapshot();
    let plan = lab.fixture_plan();
    let out = lab.apply(&plan).ok();
    assert!(out.stdout.contains("applied run"), "{}", out.stdout);
    let after = lab.snapshot();
    let read = |p: &str| String::from_utf8(std::fs::read(lab.host(p)).unwrap()).unwrap();
    assert!(read("/etc/hosts").contains("10.40.7.131\tmail.corp.example\tmail\n"));
    // Neighbours sharing the prefix are untouched.
    assert!(
        read("/etc/hosts").contains("172.20.14.250\tbackup")
            && read("/etc/hosts").contains("172.20.14.2\trelay")
    );
    // The CRLF line keeps its CR.
    assert!(read("/etc/dnsmasq.conf").contains(
        "listen-address=127.0.0.1,10.40.7.131\r\naddress=/mail.corp.example/10.40.7.131\n"
    ));
    assert!(
        read("/etc/netplan/50-cloud-init.yaml")
            .contains("- 10.40.7.131/24        # mail.corp.example\n")
    );
    assert!(read("/etc/netplan/50-cloud-init.yaml").contains("via: 10.40.7.1\n"));
    let lc = read("/opt/zimbra/conf/localconfig.xml");
    assert!(lc.contains("ldap://10.40.7.131:389") && lc.contains("<value>10.40.7.131</value>"));
    // The password holding the old address is not the plan's business.
    assert!(lc.contains("FAKE@172.20.14.25!nginx"));
    let ldif = std::fs::read_to_string(lab.ldif()).unwrap();
    assert!(
        ldif.contains(
            "zimbraHttpThrottleSafeIPs: 10.40.7.131\nzimbraHttpThrottleSafeIPs: 172.20.14.250\n"
        ),
        "{ldif}"
    );
    assert!(
        !ldif.contains("172.20.14.25/") && !ldif.contains("172.20.14.25\n"),
        "{ldif}"
    );
    // Owner and mode kept on every changed file; nothing else changed.
    for (k, m) in &before {
        let a = &after[k];
        assert_eq!((m.mode, m.uid, m.gid), (a.mode, a.uid, a.gid), "{k}");
    }
    assert_eq!(before.len(), after.len(), "files appeared or vanished");
    // Actions in the plan's order (network first, then ldap), once each.
    assert_eq!(
        lab.service_calls(),
        [
            "apply network.restart",
            "apply ldap.restart",
            "apply dnsmasq.restart",
            "apply mta.reload",
            "apply mailbox.restart",
            "apply memcached.restart",
            "apply proxy.restart"
        ]
    );
    // The journal.
    let id = lab.runs().pop().unwrap();
    let run = lab.root().join("var/lib/zmreip/runs").join(&id);
    for f in [
        "plan.json",
        "run.json",
        "log",
        "state",
        "services.toml",
        "directory-before.ldif",
        "changes.ldif",
        "backups/1.data",
        "backups/1.json",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    assert_eq!(
        std::fs::read_to_string(run.join("state")).unwrap(),
        "applied\n"
    );
    let changes = std::fs::read_to_string(run.join("changes.ldif")).unwrap();
    assert!(
        changes.contains("dn: cn=config,cn=zimbra\nchangetype: modify\ndelete: zimbraHttpThrottleSafeIPs\nzimbraHttpThrottleSafeIPs: 172.20.14.25\n-\nadd: zimbraHttpThrottleSafeIPs\nzimbraHttpThrottleSafeIPs: 10.40.7.131\n-\n"),
        "{changes}"
    );
    let prior = std::fs::read_to_string(run.join("directory-before.ldif")).unwrap();
    assert!(
        prior.contains("zimbraSmtpHostname: 172.20.14.25\n"),
        "{prior}"
    );
    let log = std::fs::read_to_string(run.join("log")).unwrap();
    // Every step line starts with its time, RFC 3339 in UTC to the
    // millisecond (the audit trail): `2026-11-28T12:34:56.789Z begin 1`.
    for l in log.lines() {
        let (stamp, rest) = l.split_once(' ').unwrap();
        assert_eq!(stamp.len(), "2026-11-28T12:34:56.789Z".len(), "{l}");
        assert!(
            stamp.as_bytes()[10] == b'T'
                && stamp.ends_with('Z')
                && stamp[..4].parse::<u16>().is_ok(),
            "{l}"
        );
        assert!(
            rest.starts_with("begin ") || rest.starts_with("done "),
            "{l}"
        );
    }
    let step = |word: &str| {
        log.lines()
            .filter(|l| l.split(' ').nth(1) == Some(word))
            .count()
    };
    assert_eq!((step("begin"), step("done")), (12, 12), "{log}");
    // Backups hold the bytes as they were.
    assert_eq!(
        std::fs::read(run.join("backups/1.data")).unwrap(),
        std::fs::read(fixture().join("root/etc/hosts")).unwrap()
    );
}

#[test]
fn crash_after_every_step_then_rollback_restores_the_tree() {
    let reference = Lab::new().snapshot();
    let (_, steps, _) = clean_apply();
    assert_eq!(steps, 12, "the fixture plan: 5 file steps, 7 service steps");
    let mut points = 0;
    for hook in [CRASH_AFTER, CRASH_BEFORE_DONE] {
        for k in 1..=steps {
            let lab = Lab::new();
            assert_same(&reference, &lab.snapshot(), "fresh lab");
            let plan = lab.fixture_plan();
            let ks = k.to_string();
            lab.apply(&plan).env(hook, &ks).run().aborted();
            let out = lab.rollback().ok();
            assert_same(
                &reference,
                &lab.snapshot(),
                &format!("{hook}={k}, then rollback"),
            );
            // Services that saw the new configuration see the old one again.
            let calls = lab.service_calls();
            let applied = calls.iter().filter(|c| c.starts_with("apply ")).count();
            let rerun = calls.iter().filter(|c| c.starts_with("rollback ")).count();
            assert_eq!(applied, rerun, "{hook}={k}: {calls:?}\n{}", out.stdout);
            // Idempotent: a second rollback changes nothing.
            let again = lab.rollback().ok();
            assert!(
                again.stdout.contains("already rolled back"),
                "{}",
                again.stdout
            );
            assert_same(
                &reference,
                &lab.snapshot(),
                &format!("{hook}={k}, second rollback"),
            );
            points += 1;
        }
    }
    eprintln!("crash points tested with rollback: {points}");
    assert_eq!(points, 24);
}

#[test]
fn crash_after_every_step_then_resume_equals_a_clean_apply() {
    let (applied, steps, calls) = clean_apply();
    let mut points = 0;
    for hook in [CRASH_AFTER, CRASH_BEFORE_DONE] {
        for k in 1..=steps {
            let lab = Lab::new();
            let plan = lab.fixture_plan();
            let ks = k.to_string();
            lab.apply(&plan).env(hook, &ks).run().aborted();
            lab.resume().ok();
            assert_same(
                &applied,
                &lab.snapshot(),
                &format!("{hook}={k}, then resume"),
            );
            // Every action ran, in order; a step cut before `done` runs again.
            let mut got: Vec<String> = lab
                .service_calls()
                .iter()
                .map(|c| c.split_once(' ').unwrap().1.to_string())
                .collect();
            got.dedup();
            let want: Vec<String> = calls
                .iter()
                .map(|c| c.split_once(' ').unwrap().1.to_string())
                .collect();
            assert_eq!(got, want, "{hook}={k}");
            let again = lab.resume().ok();
            assert!(again.stdout.contains("already applied"), "{}", again.stdout);
            assert_same(
                &applied,
                &lab.snapshot(),
                &format!("{hook}={k}, second resume"),
            );
            points += 1;
        }
    }
    eprintln!("crash points tested with resume: {points}");
    assert_eq!(points, 24);
}

#[test]
fn crash_during_rollback_then_rollback_again() {
    let reference = Lab::new().snapshot();
    // Rollback undoes file steps last first: 5, 4, 3, 2, 1.
    for k in 1..=5 {
        let lab = Lab::new();
        let plan = lab.fixture_plan();
        lab.apply(&plan).ok();
        let ks = k.to_string();
        lab.rollback().env(CRASH_AFTER_UNDO, &ks).run().aborted();
        let hist = Zmreip::new(["history", "--root", lab.root().to_str().unwrap()]).ok();
        assert!(hist.stdout.contains("interrupted"), "{}", hist.stdout);
        // History names the command that works: rollback, not resume.
        let id = lab.runs().pop().unwrap();
        assert!(
            hist.stdout.contains(&format!(
                "a rollback of it stopped half-way; finish it: `zmreip rollback {id}`"
            )),
            "{}",
            hist.stdout
        );
        assert!(!hist.stdout.contains("zmreip resume"), "{}", hist.stdout);
        // A run whose rollback began cannot be resumed.
        let r = lab.resume().fails(2);
        assert!(r.stderr.contains("rollback"), "{}", r.stderr);
        lab.rollback().ok();
        assert_same(
            &reference,
            &lab.snapshot(),
            &format!("rollback crashed after undoing step {k}, then rollback"),
        );
    }
}

#[test]
fn crash_points_of_a_generated_plan() {
    // The same transaction over the plan the planner makes for the
    // fixture (whatever surfaces it knows): every crash point rolls back
    // to the original and resumes to a clean apply; then planning again
    // finds nothing left to change.
    let reference = Lab::new().snapshot();
    let generate = |lab: &Lab| {
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
            "--out",
            out.to_str().unwrap(),
            "--format",
            "json",
        ])
        .ok();
        out
    };
    let clean = Lab::new();
    let plan = generate(&clean);
    clean.apply(&plan).ok();
    let applied = clean.snapshot();
    let steps = steps_of_latest(&clean);
    assert!(
        steps >= 4,
        "the planner found too little in the fixture: {steps} steps"
    );
    let mut points = 0;
    for k in 1..=steps {
        let ks = k.to_string();
        let lab = Lab::new();
        let plan = generate(&lab);
        lab.apply(&plan).env(CRASH_BEFORE_DONE, &ks).run().aborted();
        lab.rollback().ok();
        assert_same(
            &reference,
            &lab.snapshot(),
            &format!("generated plan, crash in step {k}, rollback"),
        );
        let lab = Lab::new();
        let plan = generate(&lab);
        lab.apply(&plan).env(CRASH_AFTER, &ks).run().aborted();
        lab.resume().ok();
        assert_same(
            &applied,
            &lab.snapshot(),
            &format!("generated plan, crash after step {k}, resume"),
        );
        points += 2;
    }
    eprintln!("crash points tested on the generated plan ({steps} steps): {points}");

    // Idempotence: after apply, the same change plans to nothing.
    let out = Zmreip::new([
        "plan",
        "--root",
        clean.root().to_str().unwrap(),
        "--ldif",
        clean.ldif().to_str().unwrap(),
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
        "--gateway",
        "10.40.7.1",
        "--format",
        "json",
    ])
    .ok();
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        plan["changes"].as_array().unwrap().len(),
        0,
        "{}",
        out.stdout
    );
}

#[test]
fn apply_from_to_plans_and_applies_in_one_go() {
    let lab = Lab::new();
    let root = lab.root();
    let ldif = lab.ldif();
    let services = lab.services();
    let args = [
        "apply",
        "--root",
        root.to_str().unwrap(),
        "--ldif",
        ldif.to_str().unwrap(),
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
        "--yes",
        "--services",
        services.to_str().unwrap(),
    ];
    let out = Zmreip::new(args).ok();
    assert!(out.stdout.contains("applied run"), "{}", out.stdout);
    // The hand-offs are repeated at the end: they are not done yet.
    assert!(
        out.stdout.contains(
            "still to do off this host:\n    [dns] change the A record of mail.corp.example"
        ),
        "{}",
        out.stdout
    );
    let lc = std::fs::read_to_string(lab.host("/opt/zimbra/conf/localconfig.xml")).unwrap();
    assert!(lc.contains("ldap://10.40.7.131:389"), "{lc}");
    // A second apply of the same change has nothing to do and records no
    // run; as JSON it says so with `changed: false` and exits 0.
    let again = Zmreip::new(args).ok();
    assert!(
        again
            .stdout
            .contains("nothing to run: the plan changes nothing here"),
        "{}",
        again.stdout
    );
    let json = Zmreip::new(args).args(["--format", "json"]).ok().json();
    assert_eq!(json["schema"], "zmreip.outcome/v1", "{json}");
    assert_eq!(json["changed"], false, "{json}");
    assert_eq!(json["run"], serde_json::Value::Null, "{json}");
    assert_eq!(lab.runs().len(), 1);
}

#[test]
fn drift_is_refused_naming_every_target_and_nothing_is_written() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    // Edit three targets between plan and apply: a hosts line, a
    // localconfig value, a directory value.
    let hosts = lab.host("/etc/hosts");
    let t = std::fs::read_to_string(&hosts)
        .unwrap()
        .replace("172.20.14.25\tmail", "172.20.14.26\tmail");
    std::fs::write(&hosts, t).unwrap();
    let lc = lab.host("/opt/zimbra/conf/localconfig.xml");
    let t = std::fs::read_to_string(&lc)
        .unwrap()
        .replace("ldap://172.20.14.25:389", "ldap://172.20.14.99:389");
    std::fs::write(&lc, t).unwrap();
    // Another admin replaced the value the plan moves (a value added
    // beside it would be kept: see apply_ldap's concurrent-edit rule).
    let t = std::fs::read_to_string(lab.ldif()).unwrap().replace(
        "zimbraMailTrustedIP: 172.20.14.25\n",
        "zimbraMailTrustedIP: 172.20.14.7\n",
    );
    std::fs::write(lab.ldif(), t).unwrap();
    let before = lab.snapshot();
    let out = lab.apply(&plan).fails(1);
    for want in [
        "at 3 place(s); nothing was written",
        "/etc/hosts:2: reads `172.20.14.26\tmail.corp.example\tmail`, the plan expected `172.20.14.25\tmail.corp.example\tmail`",
        "/opt/zimbra/conf/localconfig.xml key ldap_bind_url: holds `ldap://172.20.14.99:389`",
        "cn=config,cn=zimbra zimbraMailTrustedIP: no longer holds [\"172.20.14.25\"], which the plan read",
    ] {
        assert!(
            out.stderr.contains(want),
            "missing {want:?} in\n{}",
            out.stderr
        );
    }
    assert_same(&before, &lab.snapshot(), "after a refused apply");
    assert!(lab.runs().is_empty(), "a refused apply records no run");
    assert!(lab.service_calls().is_empty());
}

#[test]
fn directory_values_compare_as_a_set() {
    // The same values in another order are not drift.
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    let t = std::fs::read_to_string(lab.ldif()).unwrap().replace(
        "zimbraHttpThrottleSafeIPs: 172.20.14.25\nzimbraHttpThrottleSafeIPs: 172.20.14.250\n",
        "zimbraHttpThrottleSafeIPs: 172.20.14.250\nzimbraHttpThrottleSafeIPs: 172.20.14.25\n",
    );
    std::fs::write(lab.ldif(), t).unwrap();
    lab.apply(&plan).ok();
}

#[test]
fn saved_plans_must_validate() {
    let lab = Lab::new();
    let sealed = lab.fixture_plan();
    let text = std::fs::read_to_string(&sealed).unwrap();
    let unsealed = lab.path().join("unsealed.json");
    std::fs::write(
        &unsealed,
        std::fs::read(fixture().join("plan.json")).unwrap(),
    )
    .unwrap();
    let tampered = lab.path().join("tampered.json");
    std::fs::write(
        &tampered,
        text.replace(
            "10.40.7.131\\tmail.corp.example",
            "10.40.7.132\\tmail.corp.example",
        ),
    )
    .unwrap();
    let other = lab.path().join("other.json");
    std::fs::write(&other, text.replace("zmreip.plan/v1", "zmreip.plan/v9")).unwrap();
    let before = lab.snapshot();
    for (p, want) in [
        (&unsealed, "has no checksum"),
        (&tampered, "the plan was changed after it was made"),
        (&other, "schema `zmreip.plan/v9` is not zmreip.plan/v1"),
    ] {
        let out = lab.apply(p).fails(1);
        assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
    }
    assert_same(&before, &lab.snapshot(), "after refused plans");
    assert!(lab.runs().is_empty());
    // `plan --out` and `--format json` carry the checksum.
    let out = lab.path().join("p.json");
    let printed = Zmreip::new([
        "plan",
        "--root",
        lab.root().to_str().unwrap(),
        "--ldif",
        lab.ldif().to_str().unwrap(),
        "--from",
        "172.20.14.25",
        "--to",
        "10.40.7.131",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    let v: serde_json::Value = serde_json::from_str(&printed.stdout).unwrap();
    assert!(v["checksum"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), printed.stdout);
}

#[test]
fn without_yes_and_without_a_terminal_apply_refuses() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    let before = lab.snapshot();
    let out = Zmreip::new([
        "apply",
        "--plan",
        plan.to_str().unwrap(),
        "--root",
        lab.root().to_str().unwrap(),
        "--ldif",
        lab.ldif().to_str().unwrap(),
    ])
    .fails(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    let out = Zmreip::new(["rollback", "--root", lab.root().to_str().unwrap()]).fails(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert_same(&before, &lab.snapshot(), "after refusals");
}

#[test]
fn no_restart_runs_nothing_and_prints_the_commands() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    let root = lab.root();
    let ldif = lab.ldif();
    let out = Zmreip::new([
        "apply",
        "--plan",
        plan.to_str().unwrap(),
        "--yes",
        "--root",
        root.to_str().unwrap(),
        "--ldif",
        ldif.to_str().unwrap(),
        "--no-restart",
    ])
    .ok();
    assert!(lab.service_calls().is_empty());
    for want in [
        "not run (--no-restart); to finish, run:",
        "    netplan apply",
        "    su - zimbra -c 'ldap restart'",
        "    systemctl restart dnsmasq",
        "    su - zimbra -c 'zmmtactl reload'",
        "    su - zimbra -c 'zmmailboxdctl restart'",
        "    su - zimbra -c 'zmmemcachedctl restart'",
        "    su - zimbra -c 'zmproxyctl restart'",
    ] {
        assert!(
            out.stdout.contains(want),
            "missing {want:?} in\n{}",
            out.stdout
        );
    }
    // In the plan's order: ldap before the mailbox.
    assert!(out.stdout.find("ldap restart").unwrap() < out.stdout.find("zmmailboxdctl").unwrap());
}

#[test]
fn the_network_action_needs_restart_network() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    let root = lab.root();
    let ldif = lab.ldif();
    let services = lab.services();
    // The services file maps network.restart, but without
    // --restart-network it is not run: the admin runs it from a console.
    let out = Zmreip::new([
        "apply",
        "--plan",
        plan.to_str().unwrap(),
        "--yes",
        "--root",
        root.to_str().unwrap(),
        "--ldif",
        ldif.to_str().unwrap(),
        "--services",
        services.to_str().unwrap(),
    ])
    .ok();
    assert!(
        out.stdout
            .contains("can cut your SSH session: run these from a console"),
        "{}",
        out.stdout
    );
    assert!(
        !lab.service_calls().iter().any(|c| c.contains("network")),
        "{:?}",
        lab.service_calls()
    );
    assert_eq!(
        lab.service_calls().first().map(String::as_str),
        Some("apply ldap.restart")
    );
}

#[test]
fn a_failing_service_rolls_everything_back() {
    let reference = Lab::new().snapshot();
    let lab = Lab::new();
    // The mailbox fails to start on the new configuration (and starts on
    // the old one).
    let mut toml = std::fs::read_to_string(lab.services()).unwrap();
    toml = toml.replace(
        "mailbox.restart = ",
        "mailbox.restart = \"test $ZMREIP_PHASE != apply\"\n#",
    );
    std::fs::write(lab.services(), toml).unwrap();
    let plan = lab.fixture_plan();
    let out = lab.apply(&plan).fails(1);
    assert!(
        out.stderr
            .contains("step 10 of 12 (mailbox restart: test $ZMREIP_PHASE != apply) failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("rolled back: 5 step(s) undone"),
        "{}",
        out.stderr
    );
    assert_same(&reference, &lab.snapshot(), "after the automatic rollback");
    // The services that had run on the new configuration ran again.
    assert_eq!(
        lab.service_calls(),
        [
            "apply network.restart",
            "apply ldap.restart",
            "apply dnsmasq.restart",
            "apply mta.reload",
            "rollback network.restart",
            "rollback ldap.restart",
            "rollback dnsmasq.restart",
            "rollback mta.reload"
        ]
    );
    let hist = Zmreip::new([
        "history",
        "--root",
        lab.root().to_str().unwrap(),
        "--format",
        "json",
    ])
    .ok();
    let h: serde_json::Value = serde_json::from_str(&hist.stdout).unwrap();
    assert_eq!(h["schema"], "zmreip.history/v1");
    let h = &h["runs"];
    assert_eq!(h[0]["state"], "rolled-back");
    assert!(
        h[0]["failed"].as_str().unwrap().starts_with("step 10:"),
        "{h}"
    );
}

#[test]
fn no_rollback_leaves_a_failed_run_to_resume() {
    let (applied, _, _) = clean_apply();
    let lab = Lab::new();
    let flag = lab.path().join("mailbox-fixed");
    let mut toml = std::fs::read_to_string(lab.services()).unwrap();
    toml = toml.replace(
        "mailbox.restart = ",
        &format!("mailbox.restart = \"test -e '{}'\"\n#", flag.display()),
    );
    std::fs::write(lab.services(), toml).unwrap();
    let plan = lab.fixture_plan();
    let out = lab.apply(&plan).arg("--no-rollback").fails(1);
    assert!(
        out.stderr
            .contains("nothing was rolled back (--no-rollback)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("zmreip resume"), "{}", out.stderr);
    let hist = Zmreip::new(["history", "--root", lab.root().to_str().unwrap()]).ok();
    assert!(
        hist.stdout.contains(" failed ") && hist.stdout.contains("9/12 step(s) done"),
        "{}",
        hist.stdout
    );
    // The admin fixes the mailbox, then finishes the run.
    std::fs::write(&flag, "").unwrap();
    lab.resume().ok();
    let mut now = lab.snapshot();
    now.retain(|k, _| k != "mailbox-fixed");
    assert_same(&applied, &now, "resumed after --no-rollback");
}

#[test]
fn history_lists_runs_and_rollback_takes_the_latest() {
    let lab = Lab::new();
    let root = lab.root();
    let empty = Zmreip::new(["history", "--root", root.to_str().unwrap()]).ok();
    assert!(empty.stdout.contains("no zmreip runs"), "{}", empty.stdout);
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    lab.rollback().ok();
    lab.apply(&plan).ok();
    let runs = lab.runs();
    assert_eq!(runs.len(), 2);
    let hist = Zmreip::new([
        "history",
        "--root",
        root.to_str().unwrap(),
        "--format",
        "json",
    ])
    .ok();
    let h: serde_json::Value = serde_json::from_str(&hist.stdout).unwrap();
    assert_eq!(
        (&h["schema"], &h["changed"]),
        (&"zmreip.history/v1".into(), &false.into())
    );
    let h = &h["runs"];
    assert_eq!(h[0]["id"], runs[0].as_str());
    assert_eq!(h[0]["state"], "rolled-back");
    assert_eq!(h[1]["state"], "applied");
    assert_eq!(h[1]["steps_done"], 12);
    // Rollback without an id: the latest run.
    let out = lab.rollback().ok();
    assert!(out.stdout.contains(&runs[1]), "{}", out.stdout);
    let out = Zmreip::new([
        "rollback",
        "--yes",
        "--root",
        root.to_str().unwrap(),
        "20000101T000000Z-0000",
    ])
    .fails(2);
    assert!(out.stderr.contains("no run"), "{}", out.stderr);
}

#[test]
fn rollback_refuses_to_clobber_later_edits_unless_forced() {
    let reference = Lab::new().snapshot();
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    // Someone edits /etc/hosts after the apply.
    let hosts = lab.host("/etc/hosts");
    let mut t = std::fs::read_to_string(&hosts).unwrap();
    t.push_str("10.40.7.140\tnew.corp.example\n");
    std::fs::write(&hosts, t).unwrap();
    let out = lab.rollback().fails(1);
    assert!(
        out.stderr.contains("changed after run") && out.stderr.contains("/etc/hosts"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    let out = lab.rollback().arg("--force").ok();
    assert_same(&reference, &lab.snapshot(), "forced rollback");
    // The admin's later edit is not thrown away: the journal keeps it,
    // and the outcome says where.
    let kept = out
        .stdout
        .lines()
        .find(|l| l.contains("/etc/hosts had after the run wrote it is kept in"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    let path = kept.rsplit(' ').next().unwrap();
    assert!(path.ends_with(".later"), "{kept}");
    let later = std::fs::read_to_string(path).unwrap();
    assert!(later.contains("10.40.7.140\tnew.corp.example\n"), "{later}");
    assert!(later.contains("10.40.7.131\tmail.corp.example"), "{later}");
}

/// The audit trail: each apply and rollback writes one line to the system
/// log (here a socket the test binds, named by ZMREIP_SYSLOG_SOCKET),
/// naming the run, the user, the counts and the result; no secret.
#[test]
fn apply_and_rollback_each_write_one_system_log_line() {
    use std::os::unix::net::UnixDatagram;
    let lab = Lab::new();
    let path = lab.path().join("log.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let recv = || {
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).expect("a syslog line");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    };
    let plan = lab.fixture_plan();
    lab.apply(&plan).env(zmreip::audit::SOCKET_ENV, &path).ok();
    let id = lab.runs().pop().unwrap();
    let applied = recv();
    // <13>: facility user, severity notice.
    assert!(applied.starts_with("<13>"), "{applied}");
    assert!(
        applied.contains(&format!("]: apply run={id} user=")),
        "{applied}"
    );
    assert!(
        applied.ends_with(
            " from=172.20.14.25/24 to=10.40.7.131/24 changes=12 steps=12/12 result=applied"
        ),
        "{applied}"
    );
    lab.rollback().env(zmreip::audit::SOCKET_ENV, &path).ok();
    let rolled = recv();
    assert!(
        rolled.contains(&format!("]: rollback run={id} user="))
            && rolled.ends_with(" result=rolled-back"),
        "{rolled}"
    );
    // One line each, nothing else; no password of the fixture.
    sock.set_nonblocking(true).unwrap();
    assert!(sock.recv(&mut [0u8; 16]).is_err(), "a third line");
    for line in [&applied, &rolled] {
        assert!(!line.contains("FAKE"), "{line}");
    }
    // A missing socket is no failure.
    lab.rollback()
        .env(zmreip::audit::SOCKET_ENV, lab.path().join("none"))
        .ok();
}

/// `zmreip.outcome/v1` for rollback and resume: `changed` says whether
/// the host changed, so a second rollback of the same run, which has
/// nothing left to undo, reports `changed: false`.
#[test]
fn rollback_and_resume_outcomes_say_whether_the_host_changed() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    let id = lab.runs().pop().unwrap();
    let json = |z: Zmreip| z.args(["--format", "json"]).ok().json();
    let first = json(lab.rollback());
    assert_eq!(first["schema"], "zmreip.outcome/v1", "{first}");
    assert_eq!(first["command"], "rollback", "{first}");
    assert_eq!(first["run"], id.as_str(), "{first}");
    assert_eq!(first["state"], "rolled-back", "{first}");
    assert_eq!(first["changed"], true, "{first}");
    let again = json(lab.rollback());
    assert_eq!(
        (&again["state"], &again["changed"]),
        (&"rolled-back".into(), &false.into()),
        "{again}"
    );
    // A run stopped half-way (--only files): resume finishes it.
    let lab = Lab::new();
    lab.apply(&plan).args(["--only", "files"]).ok();
    let resumed = json(lab.resume());
    assert_eq!(resumed["command"], "resume", "{resumed}");
    assert_eq!(resumed["state"], "applied", "{resumed}");
    assert_eq!(resumed["changed"], true, "{resumed}");
    let again = json(lab.resume());
    assert_eq!(again["changed"], false, "{again}");
}
