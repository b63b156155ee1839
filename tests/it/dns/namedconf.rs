//! named.conf planned by the CLI, applied by `zmreip apply`, checked by
//! `named-checkconf`, and read by a real named: after the reload the plan
//! asks for, named answers on the address the host moved to and no longer
//! on the old one.
//!
//! named runs in a network namespace the test makes, whose loopback has
//! both addresses the host moves between (192.0.2.10 → 192.0.2.20), so
//! named really binds them and nothing leaves the namespace.

use std::net::SocketAddr;
use std::path::Path;

use crate::support::Zmreip;
use crate::support::dns as servers;
use crate::support::netns::Netns;

fn write(root: &Path, host_path: &str, text: &str) {
    let p = root.join(host_path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// `dig @addr -p port version.bind CH TXT` inside `ns`, sent from `addr`
/// as a host asks its own name server: the answer, or `None` when nobody
/// answers there.
fn version_bind(ns: &Netns, addr: &str, port: u16) -> Option<String> {
    let (code, out, _) = servers::run(ns.command("dig").args([
        "-b",
        addr,
        &format!("@{addr}"),
        "-p",
        &port.to_string(),
        "version.bind",
        "CH",
        "TXT",
        "+short",
        "+time=1",
        "+tries=1",
    ]));
    (code == 0 && !out.trim().is_empty()).then(|| out.trim().to_string())
}

#[test]
fn named_listens_on_the_new_address_after_the_planned_reload() {
    if !servers::available("named") || !servers::available("dig") {
        return;
    }
    let Some(netns) = Netns::new() else {
        return;
    };
    for a in ["192.0.2.10/24", "192.0.2.20/24"] {
        netns.ip(&["addr", "add", a, "dev", "lo"]);
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let run_dir = tempfile::tempdir().unwrap();
    let port = 53;
    // Debian's layout: the options in their own file. named works in
    // /etc/bind of the root, where a relative include points both for
    // named (from its working directory, also on a reload) and for zmreip
    // (from the including file).
    write(
        &root,
        "/etc/bind/named.conf",
        "include \"named.conf.options\";\n",
    );
    let options = format!(
        "options {{\n  {}  listen-on port {port} {{ 127.0.0.1; 192.0.2.10; }};\n  query-source address 192.0.2.10;\n  allow-query {{ 192.0.2.10; 198.51.100.0/24; }};\n  version \"zmreip-test\";\n}};\ncontrols {{ }};\n",
        servers::named_options(&root.join("etc/bind"), run_dir.path())
    );
    write(&root, "/etc/bind/named.conf.options", &options);
    let real_conf = root.join("etc/bind/named.conf");
    let ns = servers::named_conf(
        run_dir,
        &real_conf,
        SocketAddr::from(([192, 0, 2, 10], port)),
        Some(&netns),
    );
    let answer = Some("\"zmreip-test\"".to_string());
    assert_eq!(version_bind(&netns, "192.0.2.10", port), answer);
    assert_eq!(version_bind(&netns, "192.0.2.20", port), None);

    super::zimbra_host(&root);
    let r = root.display().to_string();
    let plan = Zmreip::new(["plan", "--root", &r, "--no-directory", "--assume-own"])
        .args(["--from", "192.0.2.10/24", "--to", "192.0.2.20/24"])
        .args(["--format", "json"])
        .ok()
        .json();
    let changes: Vec<(&str, &str)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["before"].as_str().unwrap(), c["after"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                &*format!("  listen-on port {port} {{ 127.0.0.1; 192.0.2.10; }};"),
                &*format!("  listen-on port {port} {{ 127.0.0.1; 192.0.2.20; }};")
            ),
            (
                "  query-source address 192.0.2.10;",
                "  query-source address 192.0.2.20;"
            ),
            // Not widened: the other network stays as it is.
            (
                "  allow-query { 192.0.2.10; 198.51.100.0/24; };",
                "  allow-query { 192.0.2.20; 198.51.100.0/24; };"
            ),
        ],
        "{plan:#}"
    );
    assert_eq!(
        plan["actions"],
        serde_json::json!([{"service": "named", "action": "reload", "because": ["c1", "c2", "c3"]}])
    );
    let plan_file = tmp.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    Zmreip::new(["apply", "--plan"])
        .arg(&plan_file)
        .args([
            "--root",
            &r,
            "--no-directory",
            "--yes",
            "--no-restart",
            "--no-verify",
        ])
        .ok();
    // Every other byte stays.
    let after = std::fs::read_to_string(root.join("etc/bind/named.conf.options")).unwrap();
    assert_eq!(after, options.replace("192.0.2.10", "192.0.2.20"));
    let (code, out, err) = servers::run(
        std::process::Command::new("named-checkconf")
            .arg(&real_conf)
            .current_dir(root.join("etc/bind")),
    );
    assert_eq!(code, 0, "named-checkconf: {out}{err}");

    // `rndc reload`, as the plan says (the test's named has no control
    // channel: SIGHUP is the same reload).
    ns.reload("reloading configuration succeeded");
    let t0 = std::time::Instant::now();
    while version_bind(&netns, "192.0.2.20", port).is_none() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "named does not answer on 192.0.2.20 after the reload:\n{}",
            ns.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(version_bind(&netns, "192.0.2.20", port), answer);
    assert_eq!(
        version_bind(&netns, "192.0.2.10", port),
        None,
        "{}",
        ns.log()
    );
}

#[test]
fn a_configuration_named_refuses_is_an_error_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    write(
        r,
        "/etc/bind/named.conf",
        "options {\n\tdirectory \"/var/cache/bind\";\n};\nserver 192.0.2.53 {\n\tquery-source 10.10.10.10 address 10.10.10.11;\n};\n",
    );
    let out = Zmreip::new(["scan", "--ip", "192.0.2.10", "--root"])
        .arg(r)
        .arg("--no-directory")
        .fails(1);
    assert!(
        out.stderr.contains(
            "zmreip: error: /etc/bind/named.conf:5: query-source names its address twice"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("help: write it as `query-source"),
        "{}",
        out.stderr
    );
}
