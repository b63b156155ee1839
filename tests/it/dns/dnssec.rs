//! DNSSEC-signed zones served by a real named: zmreip never edits signed
//! data. A zone signed by hand has its unsigned source edited and the
//! hand-off's `dnssec-signzone` command signs it again; a zone named
//! signs itself (`dnssec-policy`, inline signing) has its source edited
//! and named signs the change on the planned reload. Either way named
//! serves the new address with its signature (`dig +dnssec`) and `delv`,
//! trusting only the zone's own key, validates it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::Zmreip;
use crate::support::dns::{self as servers, Server};

const ZONE: &str = "$TTL 300
@\tIN SOA\tmail.corp.example. hostmaster.corp.example. 2024010100 3600 900 604800 300
@\tIN NS\tmail
@\tIN MX\t10 mail
@\tIN TXT\t\"v=spf1 ip4:192.0.2.10 -all\"
mail\tIN A\t192.0.2.10
www\tIN A\t192.0.2.11
";

fn write(root: &Path, host_path: &str, text: &str) {
    let p = root.join(host_path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn tools_available() -> bool {
    [
        "named",
        "delv",
        "dig",
        "dnssec-keygen",
        "dnssec-signzone",
        "dnssec-verify",
    ]
    .iter()
    .all(|b| servers::available(b))
}

/// Runs a command that must succeed; its stdout.
fn must(cmd: &mut Command) -> String {
    let (code, out, err) = servers::run(cmd);
    assert_eq!(code, 0, "{cmd:?}: {out}{err}");
    out
}

/// A trust anchor file for delv from a DNSKEY record of flags 257 (a
/// key file's line, or dig's answer): `owner [ttl] [IN] DNSKEY 257 3 ALG KEY...`.
fn anchors(dnskey: &str, dir: &Path) -> std::path::PathBuf {
    let line = dnskey
        .lines()
        .find(|l| !l.starts_with(';') && l.contains("DNSKEY") && l.contains(" 257 "))
        .expect("a key-signing DNSKEY");
    let w: Vec<&str> = line.split_whitespace().collect();
    let at = w.iter().position(|x| *x == "DNSKEY").unwrap();
    let p = dir.join("anchors.conf");
    std::fs::write(
        &p,
        format!(
            "trust-anchors {{ \"{}\" static-key {} {} {} \"{}\"; }};\n",
            w[0],
            w[at + 1],
            w[at + 2],
            w[at + 3],
            w[at + 4..].concat()
        ),
    )
    .unwrap();
    p
}

/// What delv, trusting only `anchors`, says of `name TYPE`: the answer's
/// data when it validates, else `Err` with delv's words.
fn validated(ns: &Server, anchors: &Path, name: &str, rtype: &str) -> Result<Vec<String>, String> {
    let (_, out, err) = servers::run(
        Command::new("delv")
            .arg(format!("@{}", ns.addr.ip()))
            .args(["-p", &ns.addr.port().to_string(), "-a"])
            .arg(anchors)
            .args(["+root=corp.example", name, rtype]),
    );
    if !out.contains("; fully validated") {
        return Err(format!("{out}{err}"));
    }
    Ok(out
        .lines()
        .filter(|l| !l.starts_with(';') && l.split_whitespace().nth(3) == Some(rtype))
        .map(|l| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
        .collect())
}

/// `dig +dnssec NAME A`: the answer's A data and the types it covers with
/// RRSIGs, as named serves them.
fn signed_answer(ns: &Server, name: &str) -> (Vec<String>, Vec<String>) {
    let (code, out, err) = servers::run(Command::new("dig").args([
        &format!("@{}", ns.addr.ip()),
        "-p",
        &ns.addr.port().to_string(),
        "+dnssec",
        "+noall",
        "+answer",
        "+time=2",
        "+tries=1",
        name,
        "A",
    ]));
    assert_eq!(code, 0, "dig +dnssec {name}: {out}{err}");
    let field = |l: &str, i: usize| l.split_whitespace().nth(i).unwrap_or("").to_string();
    let a = out
        .lines()
        .filter(|l| field(l, 3) == "A")
        .map(|l| field(l, 4))
        .collect();
    let rrsig = out
        .lines()
        .filter(|l| field(l, 3) == "RRSIG")
        .map(|l| field(l, 4))
        .collect();
    (a, rrsig)
}

/// Polls until `name A` validates as `want` (bounded).
fn wait_validated(ns: &Server, anchors: &Path, name: &str, want: &str) {
    let t0 = Instant::now();
    loop {
        let got = validated(ns, anchors, name, "A");
        if got.as_deref() == Ok(&[want.to_string()][..]) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{name} A does not validate as {want}: {got:?}\n{}",
            ns.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn plan(root: &Path) -> serde_json::Value {
    super::zimbra_host(root);
    Zmreip::new(["plan", "--root"])
        .arg(root)
        .args([
            "--no-directory",
            "--assume-own",
            "--from",
            "192.0.2.10",
            "--to",
            "198.51.100.7",
        ])
        .args(["--format", "json"])
        .ok()
        .json()
}

fn apply(root: &Path, plan: &serde_json::Value) {
    let file = root.parent().unwrap().join("plan.json");
    std::fs::write(&file, plan.to_string()).unwrap();
    Zmreip::new(["apply", "--plan"])
        .arg(&file)
        .arg("--root")
        .arg(root)
        .args(["--no-directory", "--yes", "--no-restart", "--no-verify"])
        .ok();
}

fn changed_files(plan: &serde_json::Value) -> Vec<&str> {
    let mut f: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["target"]["file"].as_str())
        .collect();
    f.dedup();
    f
}

/// Makes named reload and waits until it has loaded `zone` again.
fn reload(ns: &Server, zone_line: &str) {
    let before = ns.log().matches(zone_line).count();
    ns.reload("reloading zones succeeded");
    ns.wait_more(zone_line, before);
}

#[test]
fn a_zone_signed_by_hand_is_signed_again_by_the_handoff() {
    if !tools_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let bind = root.join("etc/bind");
    write(&root, "/etc/bind/db.corp.example", ZONE);
    write(
        &root,
        "/etc/bind/named.conf",
        "options { directory \"/etc/bind\"; };\nzone \"corp.example\" { type primary; file \"db.corp.example.signed\"; };\n",
    );
    let ksk = must(
        Command::new("dnssec-keygen")
            .args([
                "-q",
                "-K",
                ".",
                "-a",
                "ECDSAP256SHA256",
                "-f",
                "KSK",
                "corp.example",
            ])
            .current_dir(&bind),
    );
    must(
        Command::new("dnssec-keygen")
            .args(["-q", "-K", ".", "-a", "ECDSAP256SHA256", "corp.example"])
            .current_dir(&bind),
    );
    // Signed with NSEC3 and signatures valid for 60 days.
    must(
        Command::new("dnssec-signzone")
            .args([
                "-q",
                "-S",
                "-K",
                ".",
                "-o",
                "corp.example",
                "-3",
                "abcd",
                "-H",
                "0",
            ])
            .args([
                "-e",
                "+5184000",
                "-f",
                "db.corp.example.signed",
                "db.corp.example",
            ])
            .current_dir(&bind),
    );
    let signed_before = std::fs::read(bind.join("db.corp.example.signed")).unwrap();
    let key = std::fs::read_to_string(bind.join(format!("{}.key", ksk.trim()))).unwrap();
    let anchors = anchors(&key, tmp.path());
    let ns = servers::named_files(
        tempfile::tempdir().unwrap(),
        &[(
            "corp.example".into(),
            bind.join("db.corp.example.signed"),
            None,
        )],
        &[],
    );
    assert_eq!(
        validated(&ns, &anchors, "mail.corp.example", "A"),
        Ok(vec!["192.0.2.10".to_string()])
    );

    let plan = plan(&root);
    assert_eq!(
        changed_files(&plan),
        vec!["/etc/bind/db.corp.example"],
        "{plan:#}"
    );
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("zone-signed"), "{warnings}");
    let handoff = plan["handoffs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["code"] == "dnssec")
        .unwrap_or_else(|| panic!("no dnssec hand-off: {plan:#}"));
    let message = handoff["message"].as_str().unwrap();
    let command = message.split('`').nth(1).expect("a command in backticks");
    assert_eq!(
        command,
        "cd /etc/bind && dnssec-signzone -S -K /etc/bind -o corp.example -3 ABCD -H 0 -e +5184000 -f db.corp.example.signed db.corp.example && rndc reload corp.example",
        "{message}"
    );
    apply(&root, &plan);
    // Signed data is untouched, so it still validates, with the old data.
    assert_eq!(
        std::fs::read(bind.join("db.corp.example.signed")).unwrap(),
        signed_before
    );
    assert_eq!(
        validated(&ns, &anchors, "mail.corp.example", "A"),
        Ok(vec!["192.0.2.10".to_string()])
    );

    // The hand-off, on this host: its directory is the root's /etc/bind,
    // and the test's named reloads on SIGHUP (it has no control channel).
    let parts: Vec<&str> = command.split(" && ").collect();
    assert_eq!(parts[0], "cd /etc/bind");
    assert_eq!(parts[2], "rndc reload corp.example");
    let args: Vec<String> = parts[1]
        .replace("/etc/bind", &bind.display().to_string())
        .split_whitespace()
        .map(str::to_string)
        .collect();
    must(Command::new(&args[0]).args(&args[1..]).current_dir(&bind));
    must(
        Command::new("dnssec-verify")
            .args(["-o", "corp.example", "db.corp.example.signed"])
            .current_dir(&bind),
    );
    // named reloads only files newer than what it loaded.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(bind.join("db.corp.example.signed"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    reload(&ns, "zone corp.example/IN: loaded serial");
    wait_validated(&ns, &anchors, "mail.corp.example", "198.51.100.7");
    assert_eq!(
        signed_answer(&ns, "mail.corp.example"),
        (vec!["198.51.100.7".to_string()], vec!["A".to_string()])
    );
    assert_eq!(
        validated(&ns, &anchors, "corp.example", "TXT"),
        Ok(vec!["\"v=spf1 ip4:198.51.100.7 -all\"".to_string()])
    );
    assert_eq!(
        validated(&ns, &anchors, "www.corp.example", "A"),
        Ok(vec!["192.0.2.11".to_string()])
    );
}

#[test]
fn a_zone_named_signs_is_edited_in_its_source_and_signed_on_reload() {
    if !tools_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let bind = root.join("etc/bind");
    write(&root, "/etc/bind/db.corp.example", ZONE);
    write(
        &root,
        "/etc/bind/named.conf",
        "options { directory \"/etc/bind\"; };\nzone \"corp.example\" {\n\ttype primary;\n\tfile \"db.corp.example\";\n\tdnssec-policy default;\n\tinline-signing yes;\n};\n",
    );
    // named's own configuration: the same zone, with the real paths.
    let run_dir = tempfile::tempdir().unwrap();
    let port = servers::free_port();
    let conf = run_dir.path().join("named.conf");
    std::fs::write(
        &conf,
        format!(
            "options {{\n  {}  listen-on port {port} {{ 127.0.0.1; }};\n  key-directory \"{}\";\n}};\ncontrols {{ }};\nzone \"corp.example\" {{ type primary; file \"db.corp.example\"; dnssec-policy default; inline-signing yes; }};\n",
            servers::named_options(&bind, run_dir.path()),
            bind.display()
        ),
    )
    .unwrap();
    let ns = servers::named_conf(
        tempfile::tempdir().unwrap(),
        &conf,
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        None,
    );
    // named makes its key and signs the zone: trust the key it publishes.
    let t0 = Instant::now();
    let dnskey = loop {
        let (_, out, _) = servers::run(Command::new("dig").args([
            "@127.0.0.1",
            "-p",
            &port.to_string(),
            "corp.example",
            "DNSKEY",
            "+noall",
            "+answer",
            "+time=1",
            "+tries=1",
        ]));
        if out.contains("DNSKEY") {
            break out;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{}", ns.log());
        std::thread::sleep(Duration::from_millis(100));
    };
    let anchors = anchors(&dnskey.replace('\t', " "), tmp.path());
    wait_validated(&ns, &anchors, "mail.corp.example", "192.0.2.10");

    let plan = plan(&root);
    assert_eq!(
        changed_files(&plan),
        vec!["/etc/bind/db.corp.example"],
        "{plan:#}"
    );
    assert!(
        plan["warnings"]
            .to_string()
            .contains("zone-signed-by-named"),
        "{plan:#}"
    );
    assert!(
        plan["handoffs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["code"] != "dnssec"),
        "{plan:#}"
    );
    assert_eq!(
        plan["actions"],
        serde_json::json!([{"service": "named", "action": "reload", "because": ["c1", "c2", "c3"]}])
    );
    apply(&root, &plan);
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(bind.join("db.corp.example"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    reload(&ns, "zone corp.example/IN (unsigned): loaded serial");
    wait_validated(&ns, &anchors, "mail.corp.example", "198.51.100.7");
    assert_eq!(
        signed_answer(&ns, "mail.corp.example"),
        (vec!["198.51.100.7".to_string()], vec!["A".to_string()])
    );
    assert_eq!(
        validated(&ns, &anchors, "corp.example", "TXT"),
        Ok(vec!["\"v=spf1 ip4:198.51.100.7 -all\"".to_string()])
    );
}
