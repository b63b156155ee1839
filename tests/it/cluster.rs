//! Multi-server plans and runs over real OpenSSH ([`super::support::sshd`]):
//! three nodes of a deployment, each with its own files, the two others
//! reached through sshd on loopback. The directory is an LDIF export on
//! the node zmreip runs on. The full lab with namespaces and real
//! services is scripts/lab-cluster; these tests pin the command line's
//! behaviour: what each node is planned, the errors for an unreachable
//! node and a node without zmreip, and apply and rollback restoring every
//! node's files byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::support::{Output, Zmreip, sshd};

// Not loopback: zmreip never moves a loopback address. The nodes are
// reached through sshd on 127.0.0.1 (their ssh configuration); these
// addresses live only in their files.
const OLD: &str = "10.20.0.11";
const NEW: &str = "10.21.0.131";
const NODES: [(&str, &str); 3] = [
    ("a.test", "10.20.0.11"),
    ("b.test", "10.20.0.12"),
    ("c.test", "10.20.0.13"),
];

/// Three nodes' files in one temporary directory, and the directory's
/// export beside them.
struct Deployment {
    dir: tempfile::TempDir,
}

impl Deployment {
    fn new() -> Deployment {
        let dir = tempfile::Builder::new()
            .prefix("zmreip-cluster-")
            .tempdir()
            .unwrap();
        let d = Deployment { dir };
        for (name, _) in NODES {
            // b.test finds the others in DNS (no hosts line for a.test)
            // and names the LDAP master by name: nothing of its own
            // changes. c.test has both by address.
            let mut hosts = String::from("127.0.0.1\tlocalhost\n");
            for (other, addr) in NODES {
                if name != "b.test" || other != "a.test" {
                    hosts.push_str(&format!("{addr}\t{other}\n"));
                }
            }
            let root = d.root(name);
            std::fs::create_dir_all(root.join("etc")).unwrap();
            std::fs::create_dir_all(root.join("opt/zimbra/conf")).unwrap();
            std::fs::write(root.join("etc/hosts"), &hosts).unwrap();
            let master = if name == "c.test" {
                format!("ldap://{OLD}:389")
            } else {
                "ldap://a.test:389".to_string()
            };
            std::fs::write(
                root.join("opt/zimbra/conf/localconfig.xml"),
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<localconfig>\n  <key name=\"zimbra_server_hostname\">\n    <value>{name}</value>\n  </key>\n  <key name=\"ldap_master_url\">\n    <value>{master}</value>\n  </key>\n</localconfig>\n"
                ),
            )
            .unwrap();
        }
        // Stands in for Zimbra's control scripts: each action appends a
        // line to the log of the node it runs on (the same file for every
        // node, as `--services` names one path for all).
        std::fs::write(
                d.services(),
                "timeout = 20\n[ldap]\nrestart = \"echo \\\"$ZMREIP_PHASE ldap restart\\\" >> \\\"$ZMREIP_ROOT/services.log\\\"\"\n[mta]\nreload = \"echo \\\"$ZMREIP_PHASE mta reload\\\" >> \\\"$ZMREIP_ROOT/services.log\\\"\"\n[mailbox]\nrestart = \"echo \\\"$ZMREIP_PHASE mailbox restart\\\" >> \\\"$ZMREIP_ROOT/services.log\\\"\"\nflush = \"echo \\\"$ZMREIP_PHASE mailbox flush\\\" >> \\\"$ZMREIP_ROOT/services.log\\\"\"\n[proxy]\nrestart = \"echo \\\"$ZMREIP_PHASE proxy restart\\\" >> \\\"$ZMREIP_ROOT/services.log\\\"\"\n[memcached]\nrestart = \"true\"\n[dnsmasq]\nreload = \"true\"\n",
            )
            .unwrap();
        std::fs::write(
            d.ldif(),
            format!(
                "dn: cn=config,cn=zimbra\nobjectClass: zimbraGlobalConfig\ncn: config\nzimbraMtaMyNetworks: 127.0.0.0/8 10.20.0.0/24 10.21.0.0/24\nzimbraMailTrustedIP: {OLD}\n\n\
                 dn: cn=a.test,cn=servers,cn=zimbra\nobjectClass: zimbraServer\ncn: a.test\nzimbraServiceHostname: a.test\nzimbraServiceEnabled: ldap\nzimbraServiceEnabled: mailbox\nzimbraImapBindAddress: {OLD}\n\n\
                 dn: cn=b.test,cn=servers,cn=zimbra\nobjectClass: zimbraServer\ncn: b.test\nzimbraServiceHostname: b.test\nzimbraServiceEnabled: mta\nzimbraServiceEnabled: mailbox\n\n\
                 dn: cn=c.test,cn=servers,cn=zimbra\nobjectClass: zimbraServer\ncn: c.test\nzimbraServiceHostname: c.test\nzimbraServiceEnabled: proxy\n"
            ),
        )
        .unwrap();
        d
    }

    fn root(&self, node: &str) -> PathBuf {
        self.dir.path().join(node)
    }

    fn ldif(&self) -> PathBuf {
        self.dir.path().join("zimbra.ldif")
    }

    fn services(&self) -> PathBuf {
        self.dir.path().join("services.toml")
    }

    /// Every file of every node and the export, by path (journals and
    /// service logs are run-time state).
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out
    }
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let rel = p.strip_prefix(base).unwrap().display().to_string();
        if rel.contains("var/lib/zmreip") || rel.ends_with("services.log") {
            continue;
        }
        if p.is_dir() {
            walk(base, &p, out);
        } else {
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
}

/// Runs zmreip on node a.test (its files, its directory export) with the
/// test's ssh configuration.
fn zmreip(d: &Deployment, ssh: &sshd::Ssh, args: &[&str]) -> Output {
    Zmreip::new(args)
        .arg("--ssh-config")
        .arg(ssh.config())
        .env("ZMREIP_ROOT", d.root("a.test"))
        .run()
}

/// `plan --cluster` moving a.test, its directory the export, then `extra`.
fn plan_args(d: &Deployment, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "plan",
        "--cluster",
        "--from",
        "10.20.0.11/24",
        "--to",
        "10.21.0.131/24",
        "--ldif",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    a.push(d.ldif().display().to_string());
    a.extend(extra.iter().map(ToString::to_string));
    a
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The deployment with sshd for b.test and c.test.
fn up() -> Option<(Deployment, sshd::Ssh, Vec<sshd::Sshd>)> {
    if !sshd::available() {
        return None;
    }
    let d = Deployment::new();
    let mut ssh = sshd::Ssh::new();
    let servers = vec![
        ssh.start("b.test", &d.root("b.test")),
        ssh.start("c.test", &d.root("c.test")),
    ];
    Some((d, ssh, servers))
}

#[test]
fn every_node_is_planned_in_its_role() {
    let Some((d, ssh, _servers)) = up() else {
        return;
    };
    let args = plan_args(&d, &["--push-binary", "--format", "json"]);
    let out = zmreip(&d, &ssh, &strs(&args)).status(0);
    let plan = out.json();
    assert_eq!(plan["schema"], "zmreip.cluster-plan/v1");
    assert_eq!(plan["moving"], "a.test");
    let nodes = plan["nodes"].as_array().unwrap();
    let who: Vec<(&str, &str, &str)> = nodes
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap(),
                n["role"].as_str().unwrap(),
                n["via"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("a.test", "own", "local"),
            ("b.test", "peer", "ssh"),
            ("c.test", "peer", "ssh")
        ]
    );
    let changes = |i: usize| -> Vec<String> {
        nodes[i]["plan"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("{} {}", c["surface"].as_str().unwrap(), c["after"]))
            .collect()
    };
    // a.test and c.test move their hosts line for a.test; c.test its
    // ldap master URL (by address) too; b.test has nothing of its own;
    // the directory changes only in a.test's plan.
    for i in [0, 2] {
        assert!(
            changes(i).contains(&format!("hosts \"{NEW}\\ta.test\"")),
            "{:?}",
            changes(i)
        );
    }
    assert!(changes(2).contains(&format!("localconfig \"ldap://{NEW}:389\"")));
    assert!(changes(1).is_empty(), "{:?}", changes(1));
    assert!(!changes(2).iter().any(|c| c.starts_with("ldap ")));
    let own = changes(0);
    let directory: Vec<&String> = own.iter().filter(|c| c.starts_with("ldap ")).collect();
    assert_eq!(directory.len(), 2, "{directory:?}");
    // The nodes that stay are not known here by address (the names do
    // not resolve on this machine): the shared trust network stays (the
    // new address is trusted through 10.21.0.0/24 already).
    let warnings = nodes[0]["plan"]["warnings"].to_string();
    assert!(
        warnings.contains("10.20.0.0/24 holds the old address 10.20.0.11 but also holds a node whose address is not known"),
        "{warnings}"
    );
    let actions = |i: usize| -> Vec<String> {
        nodes[i]["plan"]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "{} {}",
                    a["service"].as_str().unwrap(),
                    a["action"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(actions(0), ["ldap restart", "mailbox restart"]);
    // b.test runs a mailbox whose listeners stay: the trusted IP it reads
    // per request needs a cache flush there, not a restart (mynetworks
    // did not change: 10.21.0.0/24 trusts the new address).
    assert_eq!(actions(1), ["mailbox flush"]);
    assert_eq!(actions(2), ["proxy restart"]);
    assert!(
        nodes[1]["plan"]["actions"][0]["because"][0]
            .as_str()
            .unwrap()
            .starts_with("a.test:c")
    );
    let order: Vec<String> = plan["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{}:{}",
                o["node"].as_str().unwrap(),
                o["service"]
                    .as_str()
                    .unwrap_or(o["phase"].as_str().unwrap())
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            "a.test:files",
            "a.test:directory",
            "c.test:files",
            "a.test:ldap",
            "a.test:mailbox",
            "b.test:mailbox",
            "c.test:proxy",
            "a.test:verify",
            "b.test:verify",
            "c.test:verify"
        ]
    );
    // The checksum covers everything, and each node's plan has its own.
    let mut unsealed = plan.clone();
    unsealed["nodes"][2]["plan"]["changes"][0]["after"] = Value::String("x".into());
    assert_ne!(
        zmreip::plan::checksum(&unsealed),
        plan["checksum"].as_str().unwrap()
    );
    assert_eq!(
        zmreip::plan::checksum(&plan),
        plan["checksum"].as_str().unwrap()
    );
    // A saved plan is applied from the node that made it, unchanged.
    let saved = d.dir.path().join("cluster-plan.json");
    std::fs::write(&saved, &out.stdout).unwrap();
    let apply = |root: &Path, plan: &Path| {
        Zmreip::new(["apply", "--yes", "--plan"])
            .arg(plan)
            .env("ZMREIP_ROOT", root)
            .run()
    };
    let elsewhere = apply(&d.root("b.test"), &saved).status(2);
    assert!(
        elsewhere
            .stderr
            .contains("this host is b.test, and the cluster plan was made on a.test"),
        "{}",
        elsewhere.stderr
    );
    let tampered = d.dir.path().join("tampered.json");
    std::fs::write(&tampered, out.stdout.replace("\"proxy\"", "\"mta\"")).unwrap();
    let changed = apply(&d.root("a.test"), &tampered).status(1);
    assert!(
        changed
            .stderr
            .contains("the plan was changed after it was made"),
        "{}",
        changed.stderr
    );
    // Nothing of the pushed binaries is left on the nodes.
    for node in ["b.test", "c.test"] {
        let left: Vec<_> = std::fs::read_dir(d.root(node).join("tmp"))
            .unwrap()
            .flatten()
            .collect();
        assert!(left.is_empty(), "{node}: {left:?}");
    }
}

#[test]
fn an_unreachable_node_is_named_and_can_be_left_out() {
    if !sshd::available() {
        return;
    }
    let d = Deployment::new();
    let mut ssh = sshd::Ssh::new();
    let _b = ssh.start("b.test", &d.root("b.test"));
    ssh.dead("c.test");
    let out = zmreip(&d, &ssh, &strs(&plan_args(&d, &["--push-binary"]))).status(1);
    let err = &out.stderr;
    assert!(err.contains("cannot reach node c.test over ssh"), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
    assert!(
        err.contains("help: ") && err.contains("--skip-node c.test"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let args = plan_args(
        &d,
        &["--push-binary", "--skip-node", "c.test", "--format", "json"],
    );
    let plan = zmreip(&d, &ssh, &strs(&args)).status(0).json();
    assert_eq!(plan["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(plan["skipped"][0]["name"], "c.test");
    assert_eq!(
        plan["skipped"][0]["command"],
        "zmreip apply --role peer --from 10.20.0.11/24 --to 10.21.0.131/24 --no-directory"
    );
    // The node that moves cannot be left out, nor a name the directory
    // does not know be given.
    zmreip(&d, &ssh, &strs(&plan_args(&d, &["--skip-node", "a.test"]))).status(2);
    let out = zmreip(&d, &ssh, &strs(&plan_args(&d, &["--skip-node", "d.test"]))).status(2);
    assert!(
        out.stderr.contains("a.test, b.test, c.test"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_node_without_zmreip_is_named() {
    let in_path = std::process::Command::new("sh")
        .args(["-c", "command -v zmreip"])
        .output()
        .is_ok_and(|o| o.status.success());
    if in_path {
        eprintln!("skipped: a zmreip is installed on this machine, so every node has one");
        return;
    }
    let Some((d, ssh, _servers)) = up() else {
        return;
    };
    let out = zmreip(&d, &ssh, &strs(&plan_args(&d, &[]))).status(1);
    for node in ["b.test", "c.test"] {
        assert!(
            out.stderr
                .contains(&format!("node {node} has no zmreip in its PATH")),
            "{}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("--push-binary"), "{}", out.stderr);
}

#[test]
fn apply_and_rollback_reach_every_node_and_restore_it() {
    let Some((d, ssh, _servers)) = up() else {
        return;
    };
    let before = d.snapshot();
    let services = d.services().display().to_string();
    let mut args = plan_args(
        &d,
        &[
            "--push-binary",
            "--yes",
            "--no-verify",
            "--services",
            &services,
        ],
    );
    args[0] = "apply".into();
    let out = zmreip(&d, &ssh, &strs(&args)).status(0);
    assert!(out.stdout.contains("applied cluster run"), "{}", out.stdout);
    for name in ["a.test", "c.test"] {
        let hosts = std::fs::read_to_string(d.root(name).join("etc/hosts")).unwrap();
        assert!(hosts.contains(&format!("{NEW}\ta.test")), "{name}: {hosts}");
    }
    let ldif = std::fs::read_to_string(d.ldif()).unwrap();
    assert!(
        ldif.contains(&format!("zimbraImapBindAddress: {NEW}")),
        "{ldif}"
    );
    let log = |n: &str| std::fs::read_to_string(d.root(n).join("services.log")).unwrap_or_default();
    // Each node's run began with its first phase (`apply --only`) and
    // went on with `resume --only`: b.test's only phase was its flush.
    assert_eq!(
        log("a.test"),
        "resume ldap restart\nresume mailbox restart\n"
    );
    assert_eq!(log("b.test"), "apply mailbox flush\n");
    assert_eq!(log("c.test"), "resume proxy restart\n");

    let runs = Zmreip::new(["history", "--cluster", "--format", "json"])
        .env("ZMREIP_ROOT", d.root("a.test"))
        .ok()
        .json();
    assert_eq!(runs["schema"], "zmreip.cluster-history/v1");
    let runs = &runs["runs"];
    assert_eq!(runs[0]["state"], "applied");
    assert!(runs[0]["nodes"]["c.test"].is_string());

    // Every root here is a directory, not its node's `/`: the journals'
    // commands run only through --services, the export is restored only
    // when named.
    let ldif = d.ldif().display().to_string();
    let back = [
        "rollback",
        "--cluster",
        "--yes",
        "--push-binary",
        "--services",
        &services,
        "--ldif",
        &ldif,
    ];
    zmreip(&d, &ssh, &back).status(0);
    assert_eq!(
        d.snapshot(),
        before,
        "every node's files and the export as before"
    );
    // Services ran again on the way back, ldap first.
    assert!(log("a.test").ends_with("rollback ldap restart\nrollback mailbox restart\n"));
    assert!(log("c.test").ends_with("rollback proxy restart\n"));
    // A second rollback has nothing to do.
    let again = zmreip(&d, &ssh, &back).status(0);
    assert!(
        again.stdout.contains("already rolled back"),
        "{}",
        again.stdout
    );
}
