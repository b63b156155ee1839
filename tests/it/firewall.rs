//! Firewalls, keepalived and Carbonio's mesh and video server, end to end
//! with the real binary:
//!
//! * the real tools accept what zmreip writes: every corpus file that
//!   `iptables-restore --test`, `ip6tables-restore --test`, `nft -c -f`
//!   or `keepalived --config-test` accepts is planned and applied (its
//!   first address moved, as the corpus test picks it), and the tool must
//!   accept the file after the move too. The tools run inside a network
//!   namespace the test creates (with the interfaces the samples name),
//!   so nothing of this machine's own rules is touched;
//! * the reloads: a host with saved iptables rules, an nftables ruleset,
//!   keepalived and the Carbonio mesh plans one action per service in
//!   order; apply runs the mesh restart and leaves the firewall and
//!   keepalived reloads to a console unless `--restart-network`, with the
//!   exact commands, or unless the new address is already up;
//! * a peer node (`--role peer`): exact references to the moved node swap,
//!   its trusted network stays and gains the new address, the peer's own
//!   addresses stay.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::corpus::pairs;
use crate::support::netns::Netns;
use crate::support::{self, Zmreip, repo};

/// A namespace for the real tools, with the interfaces the keepalived
/// samples name (veth pairs: this machine's kernel may lack the dummy and
/// vlan types), up; `None` when not root.
fn tools_netns() -> Option<Netns> {
    let ns = Netns::new()?;
    for (a, b) in [("eth0", "eth1"), ("eth2", "eth3"), ("eth0.1", "fw-peer")] {
        ns.ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
        for l in [a, b] {
            ns.ip(&["link", "set", l, "up"]);
        }
    }
    Some(ns)
}

/// `timeout 30 ip netns exec NAME ARGS...`
fn exec(ns: &Netns, args: &[&str]) -> Command {
    let mut c = Command::new("timeout");
    c.args(["30", "ip", "netns", "exec", &ns.name]).args(args);
    c
}

/// A tool that checks a file, and where the file goes on a host.
struct Checker {
    folder: &'static str,
    /// Which corpus files it checks (by name).
    takes: fn(&str) -> bool,
    host_path: fn(&str) -> &'static str,
    argv: fn(&Path) -> Vec<String>,
}

fn v6_rules(name: &str) -> bool {
    name.contains("v6") || name.contains("ip6")
}

const CHECKERS: &[Checker] = &[
    Checker {
        folder: "iptables",
        takes: |n| !v6_rules(n),
        host_path: |n| {
            if n.starts_with("sysconfig-") {
                "/etc/sysconfig/iptables"
            } else {
                "/etc/iptables/rules.v4"
            }
        },
        argv: |f| {
            vec![
                "iptables-restore".into(),
                "--test".into(),
                f.display().to_string(),
            ]
        },
    },
    Checker {
        folder: "iptables",
        takes: v6_rules,
        host_path: |_| "/etc/iptables/rules.v6",
        argv: |f| {
            vec![
                "ip6tables-restore".into(),
                "--test".into(),
                f.display().to_string(),
            ]
        },
    },
    Checker {
        folder: "nftables",
        takes: |_| true,
        host_path: |_| "/etc/nftables.conf",
        argv: |f| {
            vec![
                "nft".into(),
                "-c".into(),
                "-f".into(),
                f.display().to_string(),
            ]
        },
    },
    Checker {
        folder: "keepalived",
        takes: |_| true,
        host_path: |_| "/etc/keepalived/keepalived.conf",
        argv: |f| {
            vec![
                "keepalived".into(),
                "--config-test".into(),
                "-f".into(),
                f.display().to_string(),
            ]
        },
    },
];

fn corpus_files(folder: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![repo("tests/corpus").join(folder)];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn real_tools_accept_what_zmreip_writes() {
    let tools = [
        ("iptables-restore", "iptables"),
        ("nft", "nftables"),
        ("keepalived", "keepalived"),
        ("ip", "iproute2"),
    ];
    if !tools.iter().all(|(b, p)| support::available(b, p)) {
        eprintln!("skipped: needs the real tools");
        return;
    }
    let Some(ns) = tools_netns() else { return };
    let (mut checked, mut changed) = (0, 0);
    let mut failures = Vec::new();
    for c in CHECKERS {
        for file in corpus_files(c.folder) {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            if !(c.takes)(&name) {
                continue;
            }
            let accepts = |f: &Path| {
                let argv = (c.argv)(f);
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                let out = exec(&ns, &argv).output().unwrap();
                (
                    out.status.success(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            };
            if !accepts(&file).0 {
                continue;
            }
            checked += 1;
            let text = std::fs::read_to_string(&file).unwrap();
            let moves = pairs(&text);
            if moves.is_empty() {
                continue;
            }
            let tmp = tempfile::tempdir().unwrap();
            let root = tmp.path().join("root");
            let on_host = root.join((c.host_path)(&name).trim_start_matches('/'));
            std::fs::create_dir_all(on_host.parent().unwrap()).unwrap();
            std::fs::write(&on_host, &text).unwrap();
            // A file of an upstream project is no evidence that the
            // address is this host's: planned as its own by assumption.
            zimbra_host(&root, "/opt/zimbra");
            let mut plan =
                Zmreip::new(["plan", "--format", "json", "--no-directory", "--assume-own"])
                    .root(&root);
            for (o, n) in &moves {
                plan = plan.args(["--from", &o.to_string(), "--to", &n.to_string()]);
            }
            let plan = plan.ok();
            let plan_file = tmp.path().join("plan.json");
            std::fs::write(&plan_file, &plan.stdout).unwrap();
            Zmreip::new([
                "apply",
                "--yes",
                "--no-restart",
                "--no-verify",
                "--no-directory",
            ])
            .arg("--plan")
            .arg(&plan_file)
            .root(&root)
            .ok();
            let after = std::fs::read_to_string(&on_host).unwrap();
            if after != text {
                changed += 1;
            }
            let (ok, err) = accepts(&on_host);
            if !ok {
                failures.push(format!("{name}: the tool refuses it after the move: {err}"));
            }
        }
    }
    println!(
        "real tools: {checked} corpus files accepted, {changed} changed by a move, all accepted after it"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Not vacuous: the corpus holds files of every tool with addresses.
    assert!(
        checked >= 40 && changed >= 30,
        "checked {checked}, changed {changed}"
    );
}

/// Makes `root` a Zimbra (or Carbonio) host under `home`: an empty
/// localconfig.xml, as zmreip plans only where it finds one.
fn zimbra_host(root: &Path, home: &str) {
    let lc = root
        .join(home.trim_start_matches('/'))
        .join("conf/localconfig.xml");
    std::fs::create_dir_all(lc.parent().unwrap()).unwrap();
    std::fs::write(lc, "<localconfig>\n</localconfig>\n").unwrap();
}

/// A host with saved iptables rules, an nftables ruleset, keepalived and
/// Carbonio's mesh, all naming 172.20.14.25; nothing on it says that
/// address is its own (plans are made with `--assume-own`).
fn carbonio_host(root: &Path) {
    zimbra_host(root, "/opt/zextras");
    let files = [
        (
            "etc/iptables/rules.v4",
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -d 172.20.14.25/32 -p tcp --dport 25 -j ACCEPT\n-A INPUT -s 172.20.0.0/16 -p tcp --dport 7071 -j ACCEPT\nCOMMIT\n",
        ),
        (
            "etc/nftables.conf",
            "flush ruleset\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tip daddr 172.20.14.25 tcp dport 993 accept\n\t}\n}\n",
        ),
        (
            "etc/keepalived/keepalived.conf",
            "vrrp_instance VI_MTA {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 172.20.14.25\n    unicast_peer {\n        172.20.14.26\n    }\n    virtual_ipaddress {\n        172.20.14.100/24 dev eth0\n    }\n}\n",
        ),
        (
            "etc/zextras/service-discover/config.json",
            "{\n  \"bind_addr\": \"172.20.14.25\"\n}\n",
        ),
        (
            "etc/janus/janus.jcfg",
            "nat: {\n\tnat_1_1_mapping = \"172.20.14.25\"\n}\n",
        ),
    ];
    for (p, t) in files {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, t).unwrap();
    }
}

#[test]
fn reloads_are_planned_in_order_and_wait_for_a_console() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    carbonio_host(&root);
    let plan = Zmreip::new([
        "plan",
        "--format",
        "json",
        "--no-directory",
        "--assume-own",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
    ])
    .root(&root)
    .ok()
    .json();
    let actions: Vec<(String, String)> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["service"].as_str().unwrap().to_string(),
                a["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("iptables", "reload"),
        ("nftables", "reload"),
        ("keepalived", "reload"),
        ("service-discover", "restart"),
        ("videoserver", "restart"),
    ];
    assert_eq!(actions, want.map(|(s, a)| (s.to_string(), a.to_string())));
    let surfaces: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["surface"].as_str().unwrap())
        .collect();
    assert_eq!(
        surfaces,
        [
            "iptables",
            "iptables",
            "nftables",
            "keepalived",
            "service-discover",
            "videoserver"
        ]
    );
    // The VIP stays in the old network: said so.
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("vip-in-old-network"), "{warnings}");
    assert!(warnings.contains("trust-network-kept"), "{warnings}");
    let plan_file = tmp.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();

    // A snapshot's services are not this machine's: every command is
    // printed, the distributions' own.
    let copy = tmp.path().join("copy");
    support::copy_tree(&root, &copy);
    let out = Zmreip::new(["apply", "--yes", "--no-verify", "--no-directory"])
        .arg("--plan")
        .arg(&plan_file)
        .root(&copy)
        .ok();
    for cmd in [
        "netfilter-persistent reload",
        "nft -f /etc/nftables.conf",
        "systemctl reload keepalived",
        "systemctl restart service-discover",
        "systemctl restart carbonio-videoserver",
    ] {
        assert!(out.stdout.contains(cmd), "{cmd} missing in\n{}", out.stdout);
    }

    // With commands of its own: the mesh and the video server restart at
    // once; the firewall and keepalived wait for a console.
    let log = tmp.path().join("services.log");
    let services = tmp.path().join("services.toml");
    let mut toml = String::from("timeout = 20\n");
    for (s, a) in want {
        toml.push_str(&format!(
            "{s}.{a} = \"echo {s}.{a} >> '{}'\"\n",
            log.display()
        ));
    }
    std::fs::write(&services, toml).unwrap();
    let apply = |root: &Path, restart_network: bool| {
        let mut z = Zmreip::new(["apply", "--yes", "--no-verify", "--no-directory"])
            .arg("--plan")
            .arg(&plan_file)
            .arg("--services")
            .arg(&services)
            .root(root);
        if restart_network {
            z = z.arg("--restart-network");
        }
        let out = z.ok();
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        std::fs::remove_file(&log).ok();
        (out, calls)
    };
    let a = tmp.path().join("a");
    support::copy_tree(&root, &a);
    let (out, calls) = apply(&a, false);
    assert_eq!(calls, "service-discover.restart\nvideoserver.restart\n");
    assert!(
        out.stdout
            .contains("can cut your SSH session: run these from a console"),
        "{}",
        out.stdout
    );
    let iptables = out.stdout.find("iptables.reload").unwrap();
    let keepalived = out.stdout.find("keepalived.reload").unwrap();
    assert!(iptables < keepalived, "{}", out.stdout);
    let b = tmp.path().join("b");
    support::copy_tree(&root, &b);
    let (_, calls) = apply(&b, true);
    assert_eq!(
        calls,
        "iptables.reload\nnftables.reload\nkeepalived.reload\nservice-discover.restart\nvideoserver.restart\n"
    );
    let bind = std::fs::read_to_string(b.join("etc/zextras/service-discover/config.json")).unwrap();
    assert_eq!(bind, "{\n  \"bind_addr\": \"10.40.7.131\"\n}\n");
}

#[test]
fn rules_for_an_address_already_up_load_at_once() {
    // The new address is up (the admin brought it up first): zmreip runs
    // inside a namespace the test made, where 10.40.7.131 is configured.
    let Some(ns) = Netns::new() else { return };
    ns.ip(&["addr", "add", "10.40.7.131/24", "dev", "lo"]);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    zimbra_host(&root, "/opt/zimbra");
    let rules = root.join("etc/iptables/rules.v4");
    std::fs::create_dir_all(rules.parent().unwrap()).unwrap();
    std::fs::write(
        &rules,
        "*filter\n-A INPUT -d 172.20.14.25/32 -p tcp --dport 25 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let log = tmp.path().join("services.log");
    let services = tmp.path().join("services.toml");
    std::fs::write(
        &services,
        format!(
            "iptables.reload = \"echo iptables.reload >> '{}'\"\n",
            log.display()
        ),
    )
    .unwrap();
    let apply = |inside: bool| {
        let mut c = if inside {
            exec(&ns, &[support::BIN])
        } else {
            let mut c = Command::new("timeout");
            c.args(["30", support::BIN]);
            c
        };
        c.args([
            "apply",
            "--yes",
            "--no-verify",
            "--no-directory",
            "--assume-own",
        ])
        .args(["--from", "172.20.14.25", "--to", "10.40.7.131"])
        .arg("--services")
        .arg(&services)
        .arg("--root")
        .arg(&root)
        .env_remove("ZMREIP_ROOT");
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Here, where 10.40.7.131 is no address of this machine, the reload
    // waits for a console; rolled back, then inside the namespace, it
    // runs at once.
    let out = apply(false);
    assert!(!log.exists(), "{out}");
    assert!(out.contains("iptables.reload"), "{out}");
    Zmreip::new(["rollback", "--yes", "--services"])
        .arg(&services)
        .root(&root)
        .ok();
    std::fs::remove_file(&log).ok();
    apply(true);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap_or_default(),
        "iptables.reload\n"
    );
    assert!(
        std::fs::read_to_string(&rules)
            .unwrap()
            .contains("-d 10.40.7.131/32")
    );
}

#[test]
fn a_peer_swaps_the_moved_node_and_keeps_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    // The peer is 172.20.14.26; the moved node 172.20.14.25.
    let files = [
        (
            "etc/iptables/rules.v4",
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 172.20.14.25/32 -p tcp --dport 389 -j ACCEPT\n-A INPUT -s 172.20.14.0/24 -p tcp --dport 25 -j ACCEPT\n-A INPUT -d 172.20.14.26/32 -p tcp --dport 25 -j ACCEPT\nCOMMIT\n",
        ),
        (
            "etc/keepalived/keepalived.conf",
            "vrrp_instance VI_MTA {\n    unicast_src_ip 172.20.14.26\n    unicast_peer {\n        172.20.14.25\n    }\n    virtual_ipaddress {\n        172.20.14.100/24 dev eth0\n    }\n}\n",
        ),
    ];
    for (p, t) in files {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, t).unwrap();
    }
    zimbra_host(&root, "/opt/zimbra");
    let plan = Zmreip::new([
        "plan",
        "--format",
        "json",
        "--no-directory",
        "--role",
        "peer",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
    ])
    .root(&root)
    .ok()
    .json();
    let changes: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["before"].as_str().unwrap().to_string(),
                c["after"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        (
            "-A INPUT -s 172.20.14.25/32 -p tcp --dport 389 -j ACCEPT",
            "-A INPUT -s 10.40.7.131/32 -p tcp --dport 389 -j ACCEPT",
        ),
        (
            "-A INPUT -s 172.20.14.0/24 -p tcp --dport 25 -j ACCEPT",
            "-A INPUT -s 172.20.14.0/24,10.40.7.131 -p tcp --dport 25 -j ACCEPT",
        ),
        ("        172.20.14.25", "        10.40.7.131"),
    ];
    assert_eq!(changes, want.map(|(b, a)| (b.to_string(), a.to_string())));
    // A peer's virtual address is not left behind by a move of another
    // node.
    assert!(!plan["warnings"].to_string().contains("vip-in-old-network"));
}
