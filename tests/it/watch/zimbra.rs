//! The hand-over to plan/apply when the host's own address moves, on a
//! host root of the test's own (no Zimbra directory: its files only; the
//! end-to-end lab, scripts/lab-e2e scenario "watch", runs the whole of it
//! against real slapd, postfix, named and dnsmasq). A plan with warnings
//! is never applied unless `apply_with_warnings`; it is written for
//! review, nothing changes, and the next move is planned from the address
//! the host still holds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::watch::support::{Daemon, Netns, root, wait_state};

const SECOND: Duration = Duration::from_secs(1);

fn host_root(dir: &Path) -> PathBuf {
    let r = dir.join("root");
    std::fs::create_dir_all(r.join("etc/network")).unwrap();
    // The gateway stays in the old network: planning a move to another
    // network warns `gateway-outside-network`.
    std::fs::write(
        r.join("etc/network/interfaces"),
        "auto wd0\niface wd0 inet static\n    address 10.201.0.5/24\n    gateway 10.201.0.1\n",
    )
    .unwrap();
    std::fs::write(
        r.join("etc/hosts"),
        "127.0.0.1\tlocalhost\n10.201.0.5\tmail.example.test mail\n",
    )
    .unwrap();
    // A Zimbra host: zmreip refuses to plan a root without one.
    std::fs::create_dir_all(r.join("opt/zimbra/conf")).unwrap();
    std::fs::write(
        r.join("opt/zimbra/conf/localconfig.xml"),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<localconfig>\n  <key name=\"zimbra_server_hostname\">\n    <value>mail.example.test</value>\n  </key>\n</localconfig>\n",
    )
    .unwrap();
    r
}

fn plans(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("plans"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "json"));
    v.sort();
    v
}

#[test]
fn a_plan_with_warnings_is_written_not_applied() {
    if !root() {
        return;
    }
    let ns = Netns::new();
    ns.add("10.201.0.5/24");
    let dir = tempfile::tempdir().unwrap();
    let host = host_root(dir.path());
    let hosts_before = std::fs::read_to_string(host.join("etc/hosts")).unwrap();
    let cfg = dir.path().join("watch.toml");
    std::fs::write(
        &cfg,
        format!(
            "state = \"state/watch.json\"\nverify_interval = 0\n[ipv4]\ninterface = \"wd0\"\n\
             [zimbra]\nmode = \"apply\"\nroot = \"{}\"\nplan_dir = \"{}/plans\"\n",
            host.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let mut d = Daemon::start(Some(&ns), &cfg, &[], &[], &dir.path().join("watch.log"));
    d.wait_for("zimbra: starting from ipv4 10.201.0.5", 1, 10 * SECOND);

    ns.add("10.202.0.9/24");
    ns.del("10.201.0.5/24");
    d.wait_for("so it was not applied", 1, 30 * SECOND);
    let log = d.log();
    assert!(
        log.contains("the plan has warnings (gateway-outside-network)"),
        "{log}"
    );
    let written = plans(dir.path());
    assert_eq!(written.len(), 1, "{log}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written[0]).unwrap()).unwrap();
    assert_eq!(plan["from"][0], "10.201.0.5/24");
    assert_eq!(plan["to"][0], "10.202.0.9/24");
    assert!(
        plan["checksum"].as_str().unwrap().starts_with("sha256:"),
        "applicable with zmreip apply --plan"
    );
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["target"]["file"] == "/etc/hosts"
                && c["after"] == "10.202.0.9\tmail.example.test mail")
    );
    assert!(written[0].with_extension("txt").exists());
    // Nothing changed on the host, and no run was made.
    assert_eq!(
        std::fs::read_to_string(host.join("etc/hosts")).unwrap(),
        hosts_before
    );
    assert!(!host.join("var/lib/zmreip/runs").exists());
    let st = wait_state(&dir.path().join("state/watch.json"), |st| {
        !st["targets"]["zimbra"]["configured"].is_null()
    });
    assert_eq!(
        st["targets"]["zimbra"]["configured"]["ipv4"],
        "10.201.0.5/24"
    );
    assert_eq!(
        st["targets"]["zimbra"]["addresses"]["ipv4"],
        "10.202.0.9/24"
    );

    // The next move is planned from what the host still holds.
    ns.add("10.203.0.7/24");
    ns.del("10.202.0.9/24");
    let t0 = Instant::now();
    while plans(dir.path()).len() < 2 {
        assert!(t0.elapsed() < 30 * SECOND, "no second plan:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = plans(dir.path()).pop().unwrap();
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(second).unwrap()).unwrap();
    assert_eq!(plan["from"][0], "10.201.0.5/24");
    assert_eq!(plan["to"][0], "10.203.0.7/24");
    assert!(d.stop().success());
}
