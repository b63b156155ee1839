//! RFC 2317 classless reverse delegation served by a real named: the /24
//! zone's CNAMEs point into a zone named for the block
//! (`32/28.77.22.172.in-addr.arpa`), which holds the PTRs. A move inside
//! the block renames the PTR (and the CNAME where it is written out), and
//! after the planned reload named answers the new address's PTR through
//! the CNAME.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::Zmreip;
use crate::support::dns::{self as servers, Server};

const FORWARD: &str = "$TTL 3600
@\tIN SOA\tns1.corp.example. hostmaster.corp.example. 2024010100 3600 900 604800 300
\tIN NS\tns1.corp.example.
ns1\tIN A\t172.22.77.36
mail\tIN A\t172.22.77.35
www\tIN A\t172.22.77.36
";

const BLOCK: &str = "$ORIGIN 32/28.77.22.172.in-addr.arpa.
$TTL 3600
@\tIN SOA\tns1.corp.example. hostmaster.corp.example. 2024010100 3600 900 604800 300
\tIN NS\tns1.corp.example.
35\tIN PTR\tmail.corp.example.
36\tIN PTR\twww.corp.example.
";

/// The provider's /24 with its delegation of the block; `cnames` are the
/// lines pointing the block's addresses into it.
fn parent(cnames: &str) -> String {
    format!(
        "$ORIGIN 77.22.172.in-addr.arpa.
$TTL 3600
@\tIN SOA\tns1.isp.example. hostmaster.isp.example. 7 3600 900 604800 300
\tIN NS\tns1.corp.example.
32/28\tIN NS\tns1.corp.example.
{cnames}1\tIN PTR\tgw.isp.example.
"
    )
}

const ZONES: &[(&str, &str)] = &[
    ("corp.example", "db.corp.example"),
    ("77.22.172.in-addr.arpa", "db.77.22.172"),
    ("32/28.77.22.172.in-addr.arpa", "db.32-28.77.22.172"),
];

fn write(root: &Path, host_path: &str, text: &str) {
    let p = root.join(host_path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// `dig NAME PTR +short` against named.
fn ptr(ns: &Server, name: &str) -> Vec<String> {
    let (code, out, err) = servers::run(Command::new("dig").args([
        &format!("@{}", ns.addr.ip()),
        "-p",
        &ns.addr.port().to_string(),
        name,
        "PTR",
        "+short",
        "+time=2",
        "+tries=1",
    ]));
    assert_eq!(code, 0, "dig {name} PTR: {out}{err}");
    out.lines().map(str::to_string).collect()
}

/// The reverse lookup of `addr` as a resolver makes it: the answer for
/// the address's reverse name, and where that is a CNAME, the answer for
/// its target (an authoritative named answers a CNAME into another zone
/// without following it): the chain of names, then the PTR.
fn reverse(ns: &Server, addr: &str) -> Vec<String> {
    let a: std::net::Ipv4Addr = addr.parse().unwrap();
    let o = a.octets();
    let mut name = format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0]);
    let mut chain = Vec::new();
    for _ in 0..8 {
        let answer = ptr(ns, &name);
        match answer.as_slice() {
            [cname] if cname.ends_with(".in-addr.arpa.") => {
                chain.push(cname.clone());
                name = cname.clone();
            }
            _ => {
                chain.extend(answer);
                return chain;
            }
        }
    }
    panic!("a CNAME loop at {name}");
}

/// What a move leaves: the root (kept while named serves it), named,
/// and the plan.
struct Moved {
    _root: tempfile::TempDir,
    ns: Server,
    plan: serde_json::Value,
}

/// Serves the three zones from a root, plans 172.22.77.35 → .40, applies
/// it, and reloads named.
fn move_within_the_block(cnames: &str) -> Moved {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let mut conf = String::from("options { directory \"/etc/bind\"; };\n");
    for (zone, file) in ZONES {
        conf.push_str(&format!(
            "zone \"{zone}\" {{ type primary; file \"{file}\"; }};\n"
        ));
    }
    write(&root, "/etc/bind/named.conf", &conf);
    write(&root, "/etc/bind/db.corp.example", FORWARD);
    write(&root, "/etc/bind/db.77.22.172", &parent(cnames));
    write(&root, "/etc/bind/db.32-28.77.22.172", BLOCK);
    let bind = root.join("etc/bind");
    let ns = servers::named_files(
        tempfile::tempdir().unwrap(),
        &ZONES
            .iter()
            .map(|(z, f)| (z.to_string(), bind.join(f), None))
            .collect::<Vec<_>>(),
        &[],
    );
    assert_eq!(
        reverse(&ns, "172.22.77.35"),
        ["35.32/28.77.22.172.in-addr.arpa.", "mail.corp.example."]
    );

    super::zimbra_host(&root);
    let r = root.display().to_string();
    let plan = Zmreip::new(["plan", "--root", &r, "--no-directory", "--assume-own"])
        .args([
            "--from",
            "172.22.77.35",
            "--to",
            "172.22.77.40",
            "--format",
            "json",
        ])
        .ok()
        .json();
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
    for (zone, file) in ZONES {
        let (code, out, err) = servers::run(
            Command::new("named-checkzone")
                .args([zone, file])
                .current_dir(&bind),
        );
        assert_eq!(code, 0, "named-checkzone {zone}: {out}{err}");
    }
    // named reloads only files newer than what it loaded.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    for (_, file) in ZONES {
        std::fs::File::options()
            .write(true)
            .open(bind.join(file))
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
    let line = "zone 32/28.77.22.172.in-addr.arpa/IN: loaded serial";
    let before = ns.log().matches(line).count();
    ns.reload("reloading zones succeeded");
    ns.wait_more(line, before);
    Moved {
        _root: tmp,
        ns,
        plan,
    }
}

fn reasons(plan: &serde_json::Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c["target"]["file"].as_str().unwrap(),
                c["reason"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn the_ptr_moves_inside_the_block_and_its_written_cname_follows() {
    if !servers::available("named") || !servers::available("dig") {
        return;
    }
    let Moved { ns, plan, .. } =
        move_within_the_block("35\tIN CNAME\t35.32/28\n36\tIN CNAME\t36.32/28\n");
    let r = reasons(&plan);
    assert!(
        r.iter().any(|x| x.starts_with("/etc/bind/db.77.22.172: CNAME of 172.22.77.35 into classless zone 32/28.77.22.172.in-addr.arpa. follows its PTR")),
        "{r:#?}"
    );
    assert_eq!(
        reverse(&ns, "172.22.77.40"),
        ["40.32/28.77.22.172.in-addr.arpa.", "mail.corp.example."],
        "{}",
        ns.log()
    );
    assert!(reverse(&ns, "172.22.77.35").is_empty());
    assert_eq!(
        reverse(&ns, "172.22.77.36"),
        ["36.32/28.77.22.172.in-addr.arpa.", "www.corp.example."]
    );
}

#[test]
fn the_ptr_moves_inside_the_block_under_generated_cnames() {
    if !servers::available("named") || !servers::available("dig") {
        return;
    }
    let Moved { ns, plan, .. } = move_within_the_block("$GENERATE 32-47 $ CNAME $.32/28\n");
    // The generated CNAMEs already cover the new address: the /24 zone
    // does not change.
    let r = reasons(&plan);
    assert!(
        r.iter().all(|x| !x.starts_with("/etc/bind/db.77.22.172")),
        "{r:#?}"
    );
    assert_eq!(
        reverse(&ns, "172.22.77.40"),
        ["40.32/28.77.22.172.in-addr.arpa.", "mail.corp.example."],
        "{}",
        ns.log()
    );
    // The old address's CNAME is still generated, and leads nowhere.
    assert_eq!(
        reverse(&ns, "172.22.77.35"),
        ["35.32/28.77.22.172.in-addr.arpa."]
    );
}
