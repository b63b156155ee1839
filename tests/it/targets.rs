//! Wrong targets and impossible addresses: a `--from` no evidence says
//! is this host's, loopback and other addresses no server can move to, a
//! root without Zimbra, and a saved plan edited past the trust rules
//! (its checksum recomputed) are all refused, naming why.

use crate::support::lab::*;

/// `plan --root R --ldif L ARGS --format json`.
fn plan(lab: &Lab, args: &[&str]) -> Zmreip {
    Zmreip::new(["plan", "--format", "json"])
        .root(lab.root())
        .ldif(lab.ldif())
        .args(args)
}

#[test]
fn a_from_no_evidence_calls_this_hosts_is_refused() {
    let lab = Lab::new();
    // 172.20.14.250 is a neighbour: /etc/hosts names it `backup`, the
    // directory trusts it. Planned as ours, it would become 10.40.7.131.
    let out = plan(
        &lab,
        &["--from", "172.20.14.250/24", "--to", "10.40.7.131/24"],
    )
    .fails(2);
    for want in [
        "--from 172.20.14.250 is not an address of this host as far as zmreip can tell; checked:",
        "the OS network configuration (/etc/netplan/50-cloud-init.yaml)",
        "the own-address keys of /opt/zimbra/conf/localconfig.xml",
        "the bind addresses of the server entry cn=mail.corp.example,cn=servers,cn=zimbra",
        "/etc/hosts for mail.corp.example",
        "help: ",
        "--assume-own",
    ] {
        assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
    }
    // Apply too, before anything is written.
    let before = lab.snapshot();
    Zmreip::new([
        "apply",
        "--yes",
        "--from",
        "172.20.14.250/24",
        "--to",
        "10.40.7.131/24",
    ])
    .root(lab.root())
    .ldif(lab.ldif())
    .fails(2);
    assert_same(&before, &lab.snapshot(), "refused apply");
    assert!(lab.runs().is_empty());
    // The flag plans it anyway.
    plan(
        &lab,
        &[
            "--assume-own",
            "--from",
            "172.20.14.250/24",
            "--to",
            "10.40.7.131/24",
        ],
    )
    .ok();

    // The host's own address is planned on any one piece of evidence:
    // each case leaves only that one.
    let cases: &[(&str, &[&str])] = &[
        (
            "the OS network configuration",
            &["/etc/hosts", "/opt/zimbra/conf/localconfig.xml"],
        ),
        (
            "/etc/hosts for the server's name",
            &[
                "/etc/netplan/50-cloud-init.yaml",
                "/opt/zimbra/conf/localconfig.xml",
            ],
        ),
        (
            "localconfig's ldap_bind_url",
            &["/etc/netplan/50-cloud-init.yaml", "/etc/hosts"],
        ),
    ];
    for (what, remove) in cases {
        let lab = Lab::new();
        for f in *remove {
            std::fs::remove_file(lab.host(f)).unwrap();
        }
        if remove.contains(&"/opt/zimbra/conf/localconfig.xml") {
            // Zimbra is still there; only its localconfig says nothing.
            std::fs::write(
                lab.host("/opt/zimbra/conf/localconfig.xml"),
                "<localconfig>\n  <key name=\"zimbra_server_hostname\">\n    <value>mail.corp.example</value>\n  </key>\n</localconfig>\n",
            )
            .unwrap();
        }
        let out = Zmreip::new([
            "plan",
            "--from",
            "172.20.14.25/24",
            "--to",
            "10.40.7.131/24",
        ])
        .root(lab.root())
        .arg("--no-directory")
        .run();
        assert_eq!(out.code, Some(0), "{what}: {}", out.stderr);
    }
    // A bind address of the server entry alone (the directory read).
    let lab = Lab::new();
    std::fs::remove_file(lab.host("/etc/netplan/50-cloud-init.yaml")).unwrap();
    std::fs::write(lab.host("/etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    let lc = std::fs::read_to_string(lab.host("/opt/zimbra/conf/localconfig.xml"))
        .unwrap()
        .replace("ldap://172.20.14.25:389", "ldap://ldap.corp.example:389");
    std::fs::write(lab.host("/opt/zimbra/conf/localconfig.xml"), lc).unwrap();
    let without = plan(
        &lab,
        &["--from", "172.20.14.25/24", "--to", "10.40.7.131/24"],
    )
    .fails(2);
    assert!(
        without
            .stderr
            .contains("the bind addresses of the server entry"),
        "{}",
        without.stderr
    );
    let ldif = std::fs::read_to_string(lab.ldif()).unwrap().replace(
        "dn: cn=mail.corp.example,cn=servers,cn=zimbra\n",
        "dn: cn=mail.corp.example,cn=servers,cn=zimbra\nzimbraMailBindAddress: 172.20.14.25\n",
    );
    std::fs::write(lab.ldif(), ldif).unwrap();
    plan(
        &lab,
        &["--from", "172.20.14.25/24", "--to", "10.40.7.131/24"],
    )
    .ok();

    // With nothing left (no OS configuration, no hosts line, no own key,
    // no directory) it is refused.
    let lab = Lab::new();
    std::fs::remove_file(lab.host("/etc/netplan/50-cloud-init.yaml")).unwrap();
    std::fs::write(lab.host("/etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    let lc = std::fs::read_to_string(lab.host("/opt/zimbra/conf/localconfig.xml"))
        .unwrap()
        .replace("ldap://172.20.14.25:389", "ldap://ldap.corp.example:389");
    std::fs::write(lab.host("/opt/zimbra/conf/localconfig.xml"), lc).unwrap();
    let out = Zmreip::new([
        "plan",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
    ])
    .root(lab.root())
    .arg("--no-directory")
    .fails(2);
    assert!(
        out.stderr
            .contains("none under the root: no ifupdown, netplan"),
        "{}",
        out.stderr
    );
}

#[test]
fn impossible_addresses_are_refused_with_the_reason() {
    let lab = Lab::new();
    let cases = [
        (
            "172.20.14.25/24",
            "127.0.0.5/8",
            "--to 127.0.0.5/8 is a loopback address",
        ),
        (
            "127.0.0.1",
            "10.40.7.131/24",
            "--from 127.0.0.1 is a loopback address",
        ),
        (
            "::1",
            "2001:db8:7::131/64",
            "--from ::1 is a loopback address",
        ),
        (
            "172.20.14.25/24",
            "10.40.7.131/0",
            "--to 10.40.7.131/0 is a /0 prefix",
        ),
        (
            "172.20.14.25/24",
            "10.40.7.0/24",
            "the network address of 10.40.7.0/24",
        ),
        (
            "172.20.14.25/24",
            "10.40.7.255/24",
            "the broadcast address of 10.40.7.0/24",
        ),
        ("172.20.14.25/24", "169.254.7.131/16", "link-local"),
        ("172.20.14.25/24", "240.1.2.3", "reserved (240.0.0.0/4)"),
        ("172.20.14.25/24", "255.255.255.255", "limited broadcast"),
    ];
    for (from, to, want) in cases {
        let out = plan(&lab, &["--from", from, "--to", to]).fails(2);
        assert!(out.stderr.contains(want), "{from} -> {to}: {}", out.stderr);
        assert!(out.stderr.contains("help: "), "{}", out.stderr);
    }
    // A --from prefix the OS configuration contradicts is a warning.
    let p = plan(
        &lab,
        &["--from", "172.20.14.25/16", "--to", "10.40.7.131/16"],
    )
    .ok()
    .json();
    let warnings = p["warnings"].to_string();
    assert!(warnings.contains("prefix-differs"), "{warnings}");
    assert!(
        warnings.contains("/etc/netplan/50-cloud-init.yaml:7 configures 172.20.14.25/24"),
        "{warnings}"
    );
}

#[test]
fn a_root_without_zimbra_is_no_plan_with_nothing_to_do() {
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(empty.path().join("etc")).unwrap();
    std::fs::write(empty.path().join("etc/hosts"), "172.20.14.25 mail\n").unwrap();
    let out = Zmreip::new([
        "plan",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
    ])
    .root(empty.path())
    .fails(2);
    assert!(
        out.stderr.contains(&format!(
            "no Zimbra found under --root {}: /opt/zimbra/conf/localconfig.xml does not exist (nor /opt/zextras/conf/localconfig.xml)",
            empty.path().display()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--zimbra-home"), "{}", out.stderr);
    let out = Zmreip::new([
        "apply",
        "--yes",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
    ])
    .root(empty.path())
    .fails(2);
    assert!(out.stderr.contains("no Zimbra found"), "{}", out.stderr);
}

#[test]
fn a_resealed_plan_past_the_trust_rules_is_refused() {
    // (what the editor writes as mynetworks' `after` (change c8), or as
    // `to`; what the refusal says)
    let cases: &[(Option<&str>, Option<&str>, &str)] = &[
        (
            Some("127.0.0.0/8 [::1]/128 0.0.0.0/0 172.20.14.250/32"),
            None,
            "c8 cn=config,cn=zimbra zimbraMtaMyNetworks: adds 0.0.0.0/0",
        ),
        (
            Some("[::1]/128 10.40.7.131/32 172.20.14.250/32"),
            None,
            "drops 127.0.0.0/8",
        ),
        (
            Some("127.0.0.0/8 [::1]/128 10.0.0.0/8 172.20.14.250/32"),
            None,
            "adds the network 10.0.0.0/8",
        ),
        (
            Some("127.0.0.0/8 [::1]/128 10.40.7.131/32 203.0.113.9/32 172.20.14.250/32"),
            None,
            "adds 203.0.113.9/32 to a trust list",
        ),
        (
            None,
            Some("127.0.0.5/8"),
            "to 127.0.0.5/8 is a loopback address",
        ),
    ];
    for (mynetworks, to, want) in cases {
        let lab = Lab::new();
        let path = lab.fixture_plan();
        let mut p: zmreip::plan::Plan =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if let Some(after) = mynetworks {
            let c = p.changes.iter_mut().find(|c| c.id == "c8").unwrap();
            c.after = zmreip::model::Value::Many(vec![after.to_string()]);
        }
        if let Some(to) = to {
            p.to = vec![to.to_string()];
        }
        p.seal();
        std::fs::write(&path, zmreip::plan::render::json(&p)).unwrap();
        let before = lab.snapshot();
        let out = lab.apply(&path).fails(1);
        assert!(
            out.stderr.contains("breaks zmreip's trust rules"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
        assert_same(&before, &lab.snapshot(), "refused");
        assert!(lab.runs().is_empty());
    }
}
