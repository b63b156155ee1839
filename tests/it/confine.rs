//! The root is a jail: a snapshot's symlinks, `..` and includes never
//! lead zmreip out of `--root`, for reads or writes; its journal is data,
//! never commands; hostile files (FIFOs, devices, huge files) are refused
//! without hanging.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::support::lab::*;

/// A file of this machine outside the lab's root, holding the old
/// address, that nothing may read or write.
fn outside(lab: &Lab, rel: &str, text: &str) -> PathBuf {
    let p = lab.path().join("outside").join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

/// `plan --root R --ldif L --from OLD --to NEW [extra]`.
fn plan(lab: &Lab, extra: &[&str]) -> Zmreip {
    Zmreip::new([
        "plan",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
        "--format",
        "json",
    ])
    .root(lab.root())
    .ldif(lab.ldif())
    .args(extra)
}

fn targets(plan: &serde_json::Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["target"]["file"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn a_directory_symlink_out_of_the_root_is_followed_inside_it() {
    let lab = Lab::new();
    // The snapshot's /opt/zimbra is a link to an absolute path; this
    // machine has a Zimbra there too (the outside copy), and the snapshot
    // its own copy under the same path.
    let lc = std::fs::read_to_string(lab.host("/opt/zimbra/conf/localconfig.xml")).unwrap();
    let away = lab.path().join("outside/zimbra");
    let theirs = outside(&lab, "zimbra/conf/localconfig.xml", &lc);
    let ours = lab.host(&format!("{}/conf/localconfig.xml", away.display()));
    std::fs::create_dir_all(ours.parent().unwrap()).unwrap();
    std::fs::rename(lab.host("/opt/zimbra/conf/localconfig.xml"), &ours).unwrap();
    std::fs::remove_dir_all(lab.host("/opt/zimbra")).unwrap();
    symlink(&away, lab.host("/opt/zimbra")).unwrap();

    let out = lab.path().join("plan.json");
    plan(&lab, &["--out", out.to_str().unwrap()]).ok();
    lab.apply(&out).ok();
    // The snapshot's own localconfig changed, this machine's did not.
    let changed = std::fs::read_to_string(&ours).unwrap();
    assert!(changed.contains("10.40.7.131"), "{changed}");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), lc);
    assert!(lab.host("/opt/zimbra").is_symlink());
    lab.rollback().ok();
    assert_eq!(std::fs::read_to_string(&ours).unwrap(), lc);
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), lc);
}

#[test]
fn the_journal_stays_inside_the_root_when_its_directory_is_a_symlink() {
    let lab = Lab::new();
    let away = lab.path().join("outside/journal");
    std::fs::create_dir_all(&away).unwrap();
    std::fs::create_dir_all(lab.host("/var/lib")).unwrap();
    symlink(&away, lab.host("/var/lib/zmreip")).unwrap();
    let plan = lab.fixture_plan();
    let out = lab.apply(&plan).ok();
    // Nothing outside: the backups hold localconfig's passwords.
    assert_eq!(std::fs::read_dir(&away).unwrap().count(), 0);
    let inside = lab.host(&format!("{}/runs", away.display()));
    assert_eq!(
        std::fs::read_dir(&inside).unwrap().count(),
        1,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&inside.display().to_string()),
        "{}",
        out.stderr
    );
    let hist = Zmreip::new(["history", "--format", "json"])
        .root(lab.root())
        .ok()
        .json();
    assert_eq!(hist["runs"][0]["state"], "applied");
    lab.rollback().ok();
    assert_eq!(std::fs::read_dir(&away).unwrap().count(), 0);
}

#[test]
fn plans_read_nothing_outside_the_root() {
    let lab = Lab::new();
    // Files of this machine holding the old address: none may be read.
    let secret = "password=Out-of-root-7f1 host=172.20.14.25\n";
    let target = outside(&lab, "secret.conf", secret);
    let rel_up = format!("../../../../../../../../..{}", target.display());
    // dnsmasq: conf-file with `..` and an absolute symlink.
    symlink(&target, lab.host("/etc/dnsmasq.d-link")).unwrap();
    let mut conf = std::fs::read_to_string(lab.host("/etc/dnsmasq.conf")).unwrap();
    conf.push_str(&format!(
        "conf-file={rel_up}\nconf-file=/etc/dnsmasq.d-link\n"
    ));
    std::fs::write(lab.host("/etc/dnsmasq.conf"), conf).unwrap();
    // BIND: a zone whose file climbs out.
    std::fs::create_dir_all(lab.host("/etc/bind")).unwrap();
    let named = format!(
        "options {{ directory \"/var/cache/bind\"; }};\nzone \"corp.example\" {{ type master; file \"{rel_up}\"; }};\n"
    );
    std::fs::write(lab.host("/etc/bind/named.conf"), &named).unwrap();
    let run = |extra: &[&str]| {
        let out = plan(&lab, extra).run();
        assert!(!out.all().contains("Out-of-root-7f1"), "{}", out.all());
        out
    };
    let out = run(&[]);
    assert_eq!(out.code, Some(0), "{}", out.all());
    for t in targets(&out.json()) {
        assert!(!t.contains("outside") && !t.contains(".."), "{t}");
    }
    // A zone whose $INCLUDE climbs out: the file is looked for in the
    // root, where it is not.
    std::fs::write(
        lab.host("/etc/bind/named.conf"),
        format!("{named}zone \"other.example\" {{ type master; file \"/etc/bind/db.other\"; }};\n"),
    )
    .unwrap();
    std::fs::write(
        lab.host("/etc/bind/db.other"),
        format!("$ORIGIN other.example.\n$TTL 300\n@ IN SOA ns hostmaster 1 2 3 4 5\n@ IN NS ns\nns IN A 10.9.9.9\n$INCLUDE {rel_up}\n"),
    )
    .unwrap();
    let out = run(&[]);
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(
        out.stderr.contains("/etc/bind/db.other:6: $INCLUDE file"),
        "{}",
        out.stderr
    );
    std::fs::write(lab.host("/etc/bind/named.conf"), &named).unwrap();
    // --include with `..` or through a link: nothing of this machine.
    let include = format!("/..{}", target.display());
    let out = run(&["--include", &include]);
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(
        out.stderr.contains("matches no file under the root"),
        "{}",
        out.stderr
    );
    let out = run(&["--include", "/etc/dnsmasq.d-link"]);
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), secret);
}

#[test]
fn include_globs_resolve_inside_the_root() {
    let lab = Lab::new();
    let secret = "password=Out-of-root-7f1 host=172.20.14.25\n";
    let target = outside(&lab, "app/secret.conf", secret);
    // The snapshot's file of that name, inside the root, is what is read.
    let mirror = lab.host(&target.display().to_string());
    std::fs::create_dir_all(mirror.parent().unwrap()).unwrap();
    std::fs::write(&mirror, "peer 172.20.14.25\n").unwrap();
    let dir = target.parent().unwrap().display().to_string();
    for include in [
        format!("/..{}", target.display()),
        format!("/../..{dir}/*.conf"),
        format!("{dir}/*"),
    ] {
        let out = plan(&lab, &["--include", &include]).ok();
        assert!(!out.all().contains("Out-of-root-7f1"), "{}", out.all());
        let t = targets(&out.json());
        assert!(
            t.iter().any(|t| t.ends_with("secret.conf")),
            "{include}: {t:?}"
        );
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), secret);
}

/// A run recorded in a snapshot's journal by someone else: its steps
/// say to run commands and restore a file of this machine.
fn hostile_journal(lab: &Lab, victim: &Path, marker: &Path) {
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    let id = lab.runs().pop().unwrap();
    let dir = lab.root().join("var/lib/zmreip/runs").join(&id);
    let mut info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    for step in info["steps"].as_array_mut().unwrap() {
        if step["kind"] == "service" {
            step["command"] = serde_json::json!(format!("touch {}", marker.display()));
        }
        if step["kind"] == "ldif" {
            step["file"] = serde_json::json!({"local": victim});
        }
    }
    std::fs::write(dir.join("run.json"), serde_json::to_vec(&info).unwrap()).unwrap();
    // As if it had stopped half-way, so that resume has work to do.
    std::fs::write(dir.join("state"), "running\n").unwrap();
}

#[test]
fn a_snapshots_journal_runs_no_command_and_restores_nothing_outside() {
    let lab = Lab::new();
    let victim = outside(&lab, "victim.ldif", "this machine's file\n");
    let marker = lab.path().join("command-ran");
    hostile_journal(&lab, &victim, &marker);
    // Rolled back without --services or --ldif: refused before anything,
    // naming the file and the option.
    let out = Zmreip::new(["rollback", "--yes"]).root(lab.root()).fails(2);
    assert!(
        out.stderr.contains(&victim.display().to_string()),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--ldif"), "{}", out.stderr);
    let out = Zmreip::new(["resume"]).root(lab.root()).fails(2);
    assert!(out.stderr.contains("--ldif"), "{}", out.stderr);
    assert!(!marker.exists());
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "this machine's file\n"
    );
}

#[test]
fn a_snapshots_journal_commands_run_only_through_services() {
    let lab = Lab::new();
    let marker = lab.path().join("command-ran");
    let plan = lab.fixture_plan();
    lab.apply(&plan).ok();
    let id = lab.runs().pop().unwrap();
    let dir = lab.root().join("var/lib/zmreip/runs").join(&id);
    let text = std::fs::read_to_string(dir.join("run.json"))
        .unwrap()
        .replace("$ZMREIP_PHASE", &format!("$(touch {})", marker.display()));
    std::fs::write(dir.join("run.json"), text).unwrap();
    let reference = {
        let l = Lab::new();
        l.snapshot()
    };
    // Without --services: the files come back, no command runs, and the
    // outcome lists the actions to run by hand.
    let out = Zmreip::new(["rollback", "--yes", "--ldif"])
        .arg(lab.ldif())
        .root(lab.root())
        .ok();
    assert!(!marker.exists(), "a command of the journal ran");
    assert!(out.stdout.contains("not run (--root"), "{}", out.stdout);
    assert!(
        out.stdout.contains("--services FILE runs them"),
        "{}",
        out.stdout
    );
    assert_same(&reference, &lab.snapshot(), "rolled back without commands");
    let calls = lab.service_calls();
    assert!(
        !calls.iter().any(|c| c.starts_with("rollback")),
        "{calls:?}"
    );

    // With --services: the file's commands, never the journal's.
    let lab = Lab::new();
    lab.apply(&plan).ok();
    let id = lab.runs().pop().unwrap();
    let dir = lab.root().join("var/lib/zmreip/runs").join(&id);
    let text = std::fs::read_to_string(dir.join("run.json"))
        .unwrap()
        .replace("$ZMREIP_PHASE", &format!("$(touch {})", marker.display()));
    std::fs::write(dir.join("run.json"), text).unwrap();
    lab.rollback().ok();
    assert!(!marker.exists(), "a command of the journal ran");
    assert!(
        lab.service_calls()
            .contains(&"rollback mta.reload".to_string()),
        "{:?}",
        lab.service_calls()
    );
}

#[test]
fn fifos_devices_and_huge_files_are_refused_without_hanging() {
    let cases: &[(&str, &str)] = &[
        ("/etc/hosts", "fifo"),
        ("/opt/zimbra/conf/localconfig.xml", "fifo"),
        ("/etc/hosts", "zero"),
        ("/etc/dnsmasq.conf", "huge"),
    ];
    for (file, kind) in cases {
        let lab = Lab::new();
        let p = lab.host(file);
        std::fs::remove_file(&p).unwrap();
        match *kind {
            "fifo" => {
                let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
                // SAFETY: the path is NUL-terminated.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
            }
            // This machine's /dev/zero; inside the root it is the
            // snapshot's, a character device made here.
            "zero" => {
                std::fs::create_dir_all(lab.host("/dev")).unwrap();
                if is_root() {
                    let c =
                        std::ffi::CString::new(lab.host("/dev/zero").to_str().unwrap()).unwrap();
                    // SAFETY: the path is NUL-terminated; 1,5 is /dev/zero.
                    let made = unsafe {
                        libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 5))
                    };
                    assert_eq!(made, 0);
                }
                symlink("/dev/zero", &p).unwrap();
            }
            _ => {
                let f = std::fs::File::create(&p).unwrap();
                f.set_len(100 << 20).unwrap();
            }
        }
        let out = plan(&lab, &[]).run();
        let want = match *kind {
            "fifo" => "is a FIFO, not a regular file",
            "zero" if is_root() => "is a character device, not a regular file",
            // Without root no device can be made: the link dangles.
            "zero" => "",
            _ => "more than the 64 MiB",
        };
        if want.is_empty() {
            continue;
        }
        assert_eq!(out.code, Some(1), "{file} {kind}: {}", out.all());
        assert!(
            out.stderr.contains(want) && out.stderr.contains(file),
            "{kind}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("help: "), "{}", out.stderr);
    }
}

#[test]
fn terminal_escapes_from_files_are_shown_escaped() {
    let lab = Lab::new();
    let mut hosts = std::fs::read_to_string(lab.host("/etc/hosts")).unwrap();
    hosts = hosts.replace(
        "172.20.14.25\tmail.corp.example\tmail",
        "172.20.14.25\tmail.corp.example\tmail # \x1b]0;owned\x07\x1b[8mhidden\x1b[2J\u{202e}",
    );
    std::fs::write(lab.host("/etc/hosts"), hosts).unwrap();
    for args in [
        &[
            "plan",
            "--from",
            "172.20.14.25/24",
            "--to",
            "10.40.7.131/24",
        ][..],
        &[
            "plan",
            "--from",
            "172.20.14.25/24",
            "--to",
            "10.40.7.131/24",
            "--color",
            "always",
        ],
        &[
            "plan",
            "--from",
            "172.20.14.25/24",
            "--to",
            "10.40.7.131/24",
            "--format",
            "markdown",
        ],
        &["scan", "--ip", "172.20.14.25"],
    ] {
        let out = Zmreip::new(args).root(lab.root()).ldif(lab.ldif()).ok();
        let colored = args.contains(&"always");
        for (i, c) in out.stdout.char_indices() {
            // zmreip's own colours are SGR sequences; nothing else.
            if c == '\x1b' {
                assert!(colored && out.stdout[i..].starts_with("\x1b["), "{args:?}");
                let sgr = &out.stdout[i + 2..];
                let end = sgr.find('m').unwrap();
                assert!(
                    sgr[..end].bytes().all(|b| b.is_ascii_digit() || b == b';'),
                    "{args:?}: {:?}",
                    &sgr[..end]
                );
                assert_ne!(&sgr[..end], "8", "{args:?}: the file's conceal code passed");
            } else {
                assert!(!c.is_control() || c == '\n' || c == '\t', "{args:?}: {c:?}");
                assert_ne!(c, '\u{202e}', "{args:?}");
            }
        }
        if args[0] == "plan" {
            assert!(
                out.stdout.contains("\\u{1b}[8mhidden"),
                "{args:?}: {}",
                out.stdout
            );
        }
    }
    // An error quoting a file's text escapes it too.
    let mut conf = std::fs::read_to_string(lab.host("/etc/dnsmasq.conf")).unwrap();
    conf.push_str("port=5\x1b[2J3\n");
    std::fs::write(lab.host("/etc/dnsmasq.conf"), conf).unwrap();
    let out = Zmreip::new([
        "verify",
        "--ip",
        "10.40.7.131/24",
        "--old",
        "172.20.14.25/24",
    ])
    .root(lab.root())
    .ldif(lab.ldif())
    .args(["--probe-timeout", "0.2"])
    .run();
    assert!(!out.all().contains('\x1b'), "{}", out.all());
    assert!(out.all().contains("5\\u{1b}[2J3"), "{}", out.all());
}
