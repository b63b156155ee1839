//! The daemon as systemd and an admin meet it: readiness through
//! sd_notify, SIGHUP reloads (a broken file is refused), SIGTERM stops,
//! hooks get the old and new address, configuration errors name the
//! file, line and key with exit status 2, every key is documented, and no
//! secret ever reaches the output.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::available;
use crate::support::dns::{self as servers, Zone};
use crate::watch::support::{Daemon, Provider, once};

const SECOND: Duration = Duration::from_secs(1);

fn addr_config(dir: &tempfile::TempDir, extra: &str) -> PathBuf {
    std::fs::write(dir.path().join("addr4"), "198.51.100.7\n").unwrap();
    let c = format!(
        "state = \"{}/state.json\"\ninterval = 1\n[ipv4]\npublic = [{{ command = [\"cat\", \"{}/addr4\"] }}]\n{extra}",
        dir.path().display(),
        dir.path().display()
    );
    let p = dir.path().join("watch.toml");
    std::fs::write(&p, c).unwrap();
    p
}

/// Messages sent to NOTIFY_SOCKET, waited for (bounded).
fn expect_notify(sock: &UnixDatagram, want: &str) -> String {
    let t0 = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        assert!(t0.elapsed() < 10 * SECOND, "no `{want}` from sd_notify");
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if msg.lines().any(|l| l == want) {
                return msg;
            }
        }
    }
}

/// Type=notify: READY=1 once the address is known (with a STATUS line),
/// RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM and a clean
/// exit. A configuration that does not read is refused on reload and the
/// running one stays.
#[test]
fn readiness_reload_and_stop() {
    let dir = tempfile::tempdir().unwrap();
    let hook_out = dir.path().join("hook.out");
    let cfg = addr_config(
        &dir,
        &format!(
            "[hooks]\nafter_change = [[\"sh\", \"-c\", \"env | grep ^ZMREIP_ | sort >> {}\"]]\n",
            hook_out.display()
        ),
    );
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut d = Daemon::start(
        None,
        &cfg,
        &[],
        &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())],
        &dir.path().join("watch.log"),
    );
    let ready = expect_notify(&sock, "READY=1");
    assert!(
        ready.contains("STATUS=ipv4 198.51.100.7; 1 target(s), 0 failing"),
        "{ready}"
    );
    // The first address is the starting point: the hook does not run.
    d.wait_for("starting from ipv4 198.51.100.7", 1, 5 * SECOND);
    assert!(!hook_out.exists());

    // A change runs the hook with the old and new addresses.
    std::fs::write(dir.path().join("addr4"), "198.51.100.8\n").unwrap();
    d.wait_for(": ran with ZMREIP_OLD_IPV4=198.51.100.7", 1, 10 * SECOND);
    let env = std::fs::read_to_string(&hook_out).unwrap();
    assert_eq!(
        env,
        "ZMREIP_CHANGED=ipv4\nZMREIP_NEW_IPV4=198.51.100.8\nZMREIP_NEW_IPV6=\nZMREIP_OLD_IPV4=198.51.100.7\nZMREIP_OLD_IPV6=\n"
    );

    // A broken file is refused; the daemon keeps running.
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{good}\nbogus = 1\n")).unwrap();
    d.signal(libc::SIGHUP);
    expect_notify(&sock, "RELOADING=1");
    expect_notify(&sock, "READY=1");
    d.wait_for(
        "the new configuration does not read; the running one stays",
        1,
        5 * SECOND,
    );
    assert!(d.log().contains("watch.toml:"), "{}", d.log());

    // A good one is taken.
    std::fs::write(&cfg, good.replace("interval = 1", "interval = 2")).unwrap();
    d.signal(libc::SIGHUP);
    expect_notify(&sock, "RELOADING=1");
    expect_notify(&sock, "READY=1");
    d.wait_for("every 2 s", 1, 5 * SECOND);

    d.signal(libc::SIGTERM);
    expect_notify(&sock, "STOPPING=1");
    let st = d.stop();
    assert!(st.success(), "{st}");
}

/// Configuration errors: file, line and key, what to do, exit status 2,
/// and nothing runs.
#[test]
fn configuration_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let table = [
        ("[ipv4]\n[zimbra]\nmode = \"sometimes\"\n", 3, "zimbra.mode"),
        ("[ipv4]\ninterval = -5\n", 2, "ipv4.interval"),
        (
            "[ipv6]\npublic = [{ url = \"gopher://x.example\" }]\n",
            2,
            "ipv6.public[0].url",
        ),
    ];
    for (text, line, key) in table {
        let p = dir.path().join("watch.toml");
        std::fs::write(&p, text).unwrap();
        let (code, out) = once(&p, &[]);
        assert_eq!(code, 2, "{out}");
        assert!(
            out.contains(&format!(
                "zmreip: error: {}:{line}: key `{key}`",
                p.display()
            )),
            "{out}"
        );
        assert!(out.contains("\nhelp: "), "{out}");
        assert!(!dir.path().join("state.json").exists());
    }
    let (code, out) = once(&dir.path().join("missing.toml"), &[]);
    assert_eq!(code, 2, "{out}");
}

/// `zmreip help watch` and the README document every key of the
/// configuration.
#[test]
fn every_key_is_documented() {
    let help = Command::new(env!("CARGO_BIN_EXE_zmreip"))
        .args(["help", "watch"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let keys = [
        "state",
        "interval",
        "verify_interval",
        "repair",
        "settle",
        "[ipv4]",
        "[ipv6]",
        "interface",
        "public",
        "url",
        "dns",
        "server",
        "type",
        "command",
        "timeout",
        "[[dns.rfc2136]]",
        "zone",
        "key_file",
        "key",
        "names",
        "ttl",
        "[[dns.dyndns2]]",
        "hostname",
        "username",
        "password_file",
        "verify_server",
        "[zimbra]",
        "mode",
        "apply_with_warnings",
        "root",
        "zimbra_home",
        "ldap_url",
        "bind_dn",
        "bind_password_file",
        "services",
        "include",
        "zone_files",
        "outside_source",
        "plan_dir",
        "[hooks]",
        "after_change",
        "--once",
        "--dry-run",
        "--config",
        "ZMREIP_OLD_IPV4",
        "ZMREIP_CHANGED",
        "SIGHUP",
    ];
    for k in keys {
        assert!(
            help.contains(k),
            "`zmreip help watch` does not mention `{k}`:\n{help}"
        );
        assert!(
            readme.contains(&format!("`{k}")),
            "README does not document `{k}`"
        );
    }
}

/// No secret — dyndns2 password, its basic-auth token, TSIG secret —
/// appears in any output, error, log line, state or hook log, whatever
/// happens: success, dry run, verbose, refusals, wrong TSIG key.
#[test]
fn secrets_never_appear() {
    if !available("named", "bind9") || !available("tsig-keygen", "bind9") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let password = "pw-Tr0ub4dor-&3";
    std::fs::write(dir.path().join("pw"), format!("{password}\n")).unwrap();
    let provider = Provider::start();
    let server_key = servers::tsig_keygen("ddns-key");
    // The same key name with another secret: the server says BADSIG.
    let wrong_key = servers::tsig_keygen("ddns-key");
    std::fs::write(dir.path().join("wrong.key"), &wrong_key.file_text).unwrap();
    let zone = "$TTL 60\n@ IN SOA ns.dyn.test. h.dyn.test. 1 3600 600 86400 60\n  IN NS ns.dyn.test.\nns IN A 127.0.0.1\nmail IN A 198.51.100.1\n";
    let named = servers::named(
        &[Zone {
            name: "dyn.test",
            text: zone,
            update_key: Some("ddns-key"),
        }],
        &[&server_key],
    );
    let cfg = addr_config(
        &dir,
        &format!(
            "[[dns.dyndns2]]\nserver = \"{}\"\nhostname = \"mail.dyn.test\"\nusername = \"admin\"\npassword_file = \"pw\"\n\
             [[dns.rfc2136]]\nzone = \"dyn.test\"\nserver = \"{}\"\nkey_file = \"wrong.key\"\nnames = [\"mail\"]\ntimeout = 2\n",
            provider.url(),
            named.addr
        ),
    );
    let token = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("admin:{password}"),
    );
    let secrets = [
        password,
        token.as_str(),
        server_key.secret.as_str(),
        wrong_key.secret.as_str(),
    ];
    let mut seen = String::new();
    for (answer, args) in [
        (None, vec!["--dry-run", "-v"]),
        (Some("good"), vec!["-v"]),
        (Some("badauth"), vec!["-v"]),
    ] {
        if let Some(a) = answer {
            provider.answer(200, a);
        }
        std::fs::write(
            dir.path().join("addr4"),
            format!("198.51.100.{}\n", 10 + seen.len() % 200),
        )
        .unwrap();
        let (_, out) = once(&cfg, &args);
        seen.push_str(&out);
    }
    assert!(
        seen.contains("TSIG verification failed for key ddns-key"),
        "{seen}"
    );
    assert!(seen.contains("badauth"), "{seen}");
    assert!(seen.contains("would send GET"), "{seen}");
    for f in ["state.json", "watch-hooks.log"] {
        seen.push_str(&std::fs::read_to_string(dir.path().join(f)).unwrap_or_default());
    }
    seen.push_str(&format!(
        "{:?}",
        provider
            .requests()
            .iter()
            .map(|r| &r.query)
            .collect::<Vec<_>>()
    ));
    for s in secrets {
        assert!(!seen.contains(s), "a secret was shown:\n{seen}");
    }
}

/// The shipped unit: Type=notify with readiness, reload by SIGHUP, the
/// daemons it restarts survive its stop, and systemd reads every line of
/// it without a complaint.
#[test]
fn the_systemd_unit_reads_clean() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contrib/zmreip-watch.service"
    ))
    .unwrap();
    for line in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "KillMode=process",
        "RestartPreventExitStatus=2",
        "StateDirectory=zmreip",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    ] {
        assert!(unit.lines().any(|l| l == line), "missing `{line}`");
    }
    // Zimbra's scripts use su and sudo, and the JVM needs W^X memory.
    for line in [
        "NoNewPrivileges=yes",
        "MemoryDenyWriteExecute=yes",
        "CapabilityBoundingSet=",
    ] {
        assert!(
            !unit.lines().any(|l| l == line),
            "`{line}` would break Zimbra's services"
        );
    }
    if !available("systemd-analyze", "systemd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("zmreip-watch.service");
    std::fs::write(
        &local,
        unit.replace("/usr/local/bin/zmreip", env!("CARGO_BIN_EXE_zmreip")),
    )
    .unwrap();
    let out = Command::new("timeout")
        .args(["60", "systemd-analyze", "verify"])
        .arg(&local)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
}
