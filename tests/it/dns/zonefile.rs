//! Zone files found through named.conf, planned by the CLI, edited the
//! way the apply stage edits lines, then checked by `named-checkzone` and
//! served by a real named after a reload.

use std::path::Path;
use std::time::Duration;

use zmreip::dns::{Answer, RecordType, Resolver};

use super::run;
use crate::support::Zmreip;
use crate::support::dns as servers;

const NAMED_CONF: &str = r#"// as on Debian, but in one file
options {
    directory "/var/cache/bind";
};
zone "example.test" { type master; file "/etc/bind/db.example.test"; };
zone "2.0.192.in-addr.arpa" { type master; file "db.192.0.2"; };
zone "100.51.198.in-addr.arpa" { type master; file "/etc/bind/db.198.51.100"; };
"#;

const FWD: &str = "; example.test, hand-written\n\
$TTL 1h\n\
$ORIGIN example.test.\n\
@\tIN\tSOA\tns1 hostmaster (\n\
\t\t2024010101 ; serial\n\
\t\t3600 600 86400 300 )\n\
\tIN\tNS\tns1\n\
\tIN\tMX\t10 mail\n\
\tIN\tTXT\t( \"v=spf1 mx ip4:192.0.2.10\"\n\
\t\t\t\" ip4:192.0.2.100 -all\" )\n\
ns1\tIN\tA\t127.0.0.1\n\
mail\t300\tIN\tA\t192.0.2.10 ; the server\n\
mail2\tIN\tA\t192.0.2.100\n";

const REV_OLD: &str = "$TTL 1d\n\
@ IN SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 600 86400 300\n\
@ IN NS ns1.example.test.\n\
10 IN PTR mail.example.test.\n\
100 IN PTR mail2.example.test.\n";

const REV_NEW: &str = "$TTL 1d\n\
@ IN SOA ns1.example.test. hostmaster.example.test. 5 3600 600 86400 300\n\
@ IN NS ns1.example.test.\n";

fn write(root: &Path, host_path: &str, text: &str) {
    let p = root.join(host_path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Applies the line changes of a plan to files under `root`, checking
/// each precondition, as the apply stage does.
fn apply_lines(root: &Path, plan: &serde_json::Value) -> usize {
    let mut n = 0;
    for c in plan["changes"].as_array().unwrap() {
        let Some(file) = c["target"]["file"].as_str() else {
            continue;
        };
        let line = c["target"]["line"].as_u64().unwrap() as usize;
        let p = root.join(file.trim_start_matches('/'));
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
        assert_eq!(lines[line - 1], c["before"].as_str().unwrap(), "{c}");
        lines[line - 1] = c["after"].as_str().unwrap().to_string();
        std::fs::write(&p, lines.join("\n")).unwrap();
        n += 1;
    }
    n
}

fn checkzone(zone: &str, file: &Path) -> String {
    let (code, out, err) = servers::run(
        std::process::Command::new("named-checkzone")
            .args(["-D", "-o", "-", zone])
            .arg(file),
    );
    assert_eq!(code, 0, "named-checkzone {zone}: {out}{err}");
    // One space between fields, for comparing.
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn plan_json(root: &Path, extra: &[&str]) -> serde_json::Value {
    super::zimbra_host(root);
    let (code, out, err) = run(Zmreip::new(["plan", "--root", &root.display().to_string()])
        .args([
            "--assume-own",
            "--from",
            "192.0.2.10/24",
            "--to",
            "198.51.100.7/24",
            "--format",
            "json",
        ])
        .args(extra));
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn planned_edits_are_served_by_named_after_reload() {
    if !servers::available("named") || !servers::available("named-checkzone") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(r, "/etc/bind/named.conf", NAMED_CONF);
    write(r, "/etc/bind/db.example.test", FWD);
    write(r, "/var/cache/bind/db.192.0.2", REV_OLD);
    write(r, "/etc/bind/db.198.51.100", REV_NEW);
    let real = |p: &str| r.join(p.trim_start_matches('/'));
    let ns = servers::named_files(
        tempfile::tempdir().unwrap(),
        &[
            (
                "example.test".into(),
                real("/etc/bind/db.example.test"),
                None,
            ),
            (
                "2.0.192.in-addr.arpa".into(),
                real("/var/cache/bind/db.192.0.2"),
                None,
            ),
            (
                "100.51.198.in-addr.arpa".into(),
                real("/etc/bind/db.198.51.100"),
                None,
            ),
        ],
        &[],
    );
    let res = Resolver::new(ns.addr, Duration::from_secs(2)).unwrap();

    let plan = plan_json(r, &[]);
    let zone_changes: Vec<&serde_json::Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["surface"] == "zonefile")
        .collect();
    // Forward: serial, SPF string, A; old reverse: serial, PTR commented;
    // new reverse: serial, PTR added.
    assert_eq!(zone_changes.len(), 7, "{plan:#}");
    let named_reload = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["service"] == "named" && a["action"] == "reload");
    assert!(named_reload, "{:#}", plan["actions"]);

    assert_eq!(apply_lines(r, &plan), 7);
    let fwd = std::fs::read_to_string(real("/etc/bind/db.example.test")).unwrap();
    assert_eq!(
        fwd,
        FWD.replace(
            "\"v=spf1 mx ip4:192.0.2.10\"",
            "\"v=spf1 mx ip4:198.51.100.7\""
        )
        .replace(
            "mail\t300\tIN\tA\t192.0.2.10",
            "mail\t300\tIN\tA\t198.51.100.7"
        )
        .replace(
            "2024010101 ; serial",
            &format!("{} ; serial", serial_today())
        )
    );
    checkzone("example.test", &real("/etc/bind/db.example.test"));
    checkzone("2.0.192.in-addr.arpa", &real("/var/cache/bind/db.192.0.2"));
    let dump = checkzone("100.51.198.in-addr.arpa", &real("/etc/bind/db.198.51.100"));
    assert!(
        dump.contains("7.100.51.198.in-addr.arpa. 86400 IN PTR mail.example.test."),
        "{dump}"
    );

    // named only reloads files newer than what it loaded.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    for f in [
        "/etc/bind/db.example.test",
        "/var/cache/bind/db.192.0.2",
        "/etc/bind/db.198.51.100",
    ] {
        std::fs::File::options()
            .write(true)
            .open(real(f))
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
    // The zones load after named logs the reload: ask only once all three
    // are loaded again.
    let zones = [
        "example.test",
        "2.0.192.in-addr.arpa",
        "100.51.198.in-addr.arpa",
    ]
    .map(|z| format!("zone {z}/IN: loaded serial"));
    let loaded = zones.clone().map(|z| ns.log().matches(z.as_str()).count());
    ns.reload("reloading zones succeeded");
    for (z, n) in zones.iter().zip(loaded) {
        ns.wait_more(z, n);
    }

    let a = res.lookup("mail.example.test", RecordType::A);
    assert_eq!(
        a.records()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["mail.example.test. 300 IN A 198.51.100.7"]
    );
    let a = res.lookup("mail2.example.test", RecordType::A);
    assert_eq!(a.records()[0].data.to_string(), "192.0.2.100");
    let txt = res.lookup("example.test", RecordType::TXT);
    assert_eq!(
        txt.records()[0].data.txt_joined().as_deref(),
        Some("v=spf1 mx ip4:198.51.100.7 ip4:192.0.2.100 -all")
    );
    let soa = res.lookup("example.test", RecordType::SOA);
    assert!(
        soa.records()[0].data.to_string().contains(&serial_today()),
        "{soa:?}"
    );
    let ptr = res.lookup("7.100.51.198.in-addr.arpa", RecordType::PTR);
    assert_eq!(ptr.records()[0].data.to_string(), "mail.example.test.");
    assert_eq!(
        res.lookup("10.2.0.192.in-addr.arpa", RecordType::PTR),
        Answer::NxDomain
    );
    let ptr = res.lookup("100.2.0.192.in-addr.arpa", RecordType::PTR);
    assert_eq!(ptr.records()[0].data.to_string(), "mail2.example.test.");
}

/// Today's date-style serial, `YYYYMMDD00`.
fn serial_today() -> String {
    let d = zmreip::dns::zone::serial::Date::today();
    format!("{:04}{:02}{:02}00", d.year, d.month, d.day)
}

#[test]
fn zone_file_option_and_lower_ttl() {
    if !servers::available("named-checkzone") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    // No named.conf: the file is named on the command line, and has no
    // $ORIGIN, so the zone is given too.
    let zone = FWD.replace("$ORIGIN example.test.\n", "");
    write(r, "/var/named/example.zone", &zone);
    let plan = plan_json(
        r,
        &[
            "--zone-file",
            "example.test=/var/named/example.zone",
            "--lower-ttl",
            "120",
        ],
    );
    let changes = plan["changes"].as_array().unwrap();
    let reasons: Vec<&str> = changes
        .iter()
        .map(|c| c["reason"].as_str().unwrap())
        .collect();
    // The serial, the TXT (a TTL inserted), the A (its TTL lowered).
    assert_eq!(changes.len(), 3, "{plan:#}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("TXT lowered from 3600 to 120")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("A lowered from 300 to 120")),
        "{reasons:?}"
    );
    assert!(
        plan["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "lower-ttl-first-step"),
        "{plan:#}"
    );
    apply_lines(r, &plan);
    let dump = checkzone("example.test", &r.join("var/named/example.zone"));
    assert!(
        dump.contains("mail.example.test. 120 IN A 192.0.2.10"),
        "{dump}"
    );
    assert!(
        dump.contains(
            "example.test. 120 IN TXT \"v=spf1 mx ip4:192.0.2.10\" \" ip4:192.0.2.100 -all\""
        ),
        "{dump}"
    );
    assert!(
        dump.contains("mail2.example.test. 3600 IN A 192.0.2.100"),
        "{dump}"
    );
    // The address itself did not move yet.
    assert!(!dump.contains("198.51.100.7"), "{dump}");

    // Then the move itself, same file.
    let plan = plan_json(r, &["--zone-file", "example.test=/var/named/example.zone"]);
    apply_lines(r, &plan);
    let dump = checkzone("example.test", &r.join("var/named/example.zone"));
    assert!(
        dump.contains("mail.example.test. 120 IN A 198.51.100.7"),
        "{dump}"
    );
}

#[test]
fn bad_zone_file_is_an_error_naming_the_line() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "/etc/bind/named.conf",
        "zone \"example.test\" { type master; file \"/etc/bind/db.x\"; };\n",
    );
    write(
        r,
        "/etc/bind/db.x",
        "$TTL 300\n@ SOA ns hm ( 1 2 3 4 5\nmail A 192.0.2.10\n",
    );
    super::zimbra_host(r);
    let (code, _, err) = run(Zmreip::new([
        "plan",
        "--assume-own",
        "--root",
        &r.display().to_string(),
        "--from",
        "192.0.2.10",
        "--to",
        "198.51.100.7",
    ]));
    assert_eq!(code, 1);
    assert!(
        err.contains("zmreip: error: /etc/bind/db.x:2: `(` is never closed"),
        "{err}"
    );
    assert!(
        err.contains("help: check the zone file with `named-checkzone ZONE FILE`"),
        "{err}"
    );
}

#[test]
fn ptr_of_a_reverse_zone_served_elsewhere_is_a_hand_off() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "/etc/bind/named.conf",
        "zone \"2.0.192.in-addr.arpa\" { type master; file \"/etc/bind/db.192.0.2\"; };\n",
    );
    write(r, "/etc/bind/db.192.0.2", REV_OLD);
    let plan = plan_json(r, &[]);
    assert!(plan["changes"].as_array().unwrap().is_empty(), "{plan:#}");
    let ptr: Vec<&str> = plan["handoffs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["code"] == "ptr")
        .map(|h| h["message"].as_str().unwrap())
        .collect();
    assert_eq!(ptr.len(), 1, "{plan:#}");
    assert!(
        ptr[0].contains("ask its provider for PTR 7.100.51.198.in-addr.arpa. → mail.example.test."),
        "{}",
        ptr[0]
    );
}

/// The `dns` hand-off asks for the host's A record to be changed at the
/// DNS serving it elsewhere: not when the plan itself changes that record
/// in a zone this host serves (the `peers` hand-off stays: partners are
/// elsewhere either way). A zone that holds other names only changes
/// nothing about it.
#[test]
fn no_dns_hand_off_for_a_record_the_plan_moves_here() {
    let localconfig = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<localconfig>\n  <key name=\"zimbra_server_hostname\">\n    <value>mail.example.test</value>\n  </key>\n</localconfig>\n";
    let codes = |fwd: &str| {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write(r, "/opt/zimbra/conf/localconfig.xml", localconfig);
        write(
            r,
            "/etc/bind/named.conf",
            "zone \"example.test\" { type master; file \"/etc/bind/db.example.test\"; };\n",
        );
        write(r, "/etc/bind/db.example.test", fwd);
        let plan = plan_json(r, &["--no-directory"]);
        let dns: Vec<String> = plan["handoffs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["code"].as_str().unwrap().to_string())
            .collect();
        (dns, plan["changes"].as_array().unwrap().len())
    };
    let (served, changes) = codes(FWD);
    assert!(changes > 0);
    assert!(!served.contains(&"dns".to_string()), "{served:?}");
    assert!(served.contains(&"peers".to_string()), "{served:?}");
    // mail2 is a neighbour at 192.0.2.100, and mail's record is not here:
    // the record of the host must still be changed elsewhere.
    let other = FWD.replace("mail\t300\tIN\tA\t192.0.2.10 ; the server\n", "");
    let (elsewhere, _) = codes(&other);
    assert!(elsewhere.contains(&"dns".to_string()), "{elsewhere:?}");
}
