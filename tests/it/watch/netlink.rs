//! The event path end to end, with real parts: a network namespace of the
//! test's own, an interface whose address `ip addr` changes, BIND named
//! with a TSIG-updatable zone inside the namespace, and the daemon inside
//! it. Every answer is checked with dig at named.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::available;
use crate::support::dns::{self as servers, Server, Zone};
use crate::watch::support::{Daemon, Netns, root, state, wait_state};

const ZONE: &str = "$TTL 300
@     IN SOA ns1.dyn.test. hostmaster.dyn.test. 1 3600 600 86400 300
      IN NS  ns1.dyn.test.
ns1   IN A   127.0.0.1
mail  IN A   192.0.2.1
";

struct Lab {
    ns: Netns,
    named: Server,
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Option<Lab> {
        if !root() || !available("named", "bind9") || !available("tsig-keygen", "bind9") {
            return None;
        }
        let ns = Netns::new();
        let key = servers::tsig_keygen("ddns-key");
        let named = servers::named_in(
            &ns.name,
            &[Zone {
                name: "dyn.test",
                text: ZONE,
                update_key: Some("ddns-key"),
            }],
            &[&key],
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ddns.key"), &key.file_text).unwrap();
        Some(Lab { ns, named, dir })
    }

    fn key_file(&self) -> PathBuf {
        self.dir.path().join("ddns.key")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state/watch.json")
    }

    /// A configuration following wd0 (IPv4, and IPv6 when `v6`) into
    /// mail.dyn.test, with extra top-level lines.
    fn config(&self, v6: bool, extra: &str) -> PathBuf {
        let mut c = format!(
            "state = \"{}\"\n{extra}\n[ipv4]\ninterface = \"wd0\"\n",
            self.state().display()
        );
        if v6 {
            c.push_str("[ipv6]\ninterface = \"wd0\"\n");
        }
        c.push_str(&format!(
            "[[dns.rfc2136]]\nzone = \"dyn.test\"\nserver = \"127.0.0.1:5353\"\nkey_file = \"{}\"\nnames = [\"mail\"]\nttl = 60\ntimeout = 1\n",
            self.key_file().display()
        ));
        let p = self.dir.path().join("watch.toml");
        std::fs::write(&p, c).unwrap();
        p
    }

    fn start(&self, config: &Path, tag: &str) -> Daemon {
        Daemon::start(
            Some(&self.ns),
            config,
            &[],
            &[],
            &self.dir.path().join(format!("{tag}.log")),
        )
    }
}

const SECOND: Duration = Duration::from_secs(1);

/// Each address change is seen from its netlink event and published:
/// IPv4 (add the new address, then remove the old one, as an admin or a
/// DHCP client does) and IPv6, including an address that first has to
/// pass duplicate address detection.
#[test]
fn follows_ipv4_and_ipv6_changes() {
    let Some(lab) = Lab::new() else { return };
    lab.ns.add("10.201.0.5/24");
    lab.ns.add("fd00:77::5/64");
    let cfg = lab.config(true, "");
    let mut d = lab.start(&cfg, "watch");
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.5", 10 * SECOND);
    lab.ns
        .wait_answer("mail.dyn.test", "AAAA", "fd00:77::5", 10 * SECOND);
    d.wait_for("updated", 2, 5 * SECOND);

    lab.ns.add("10.201.0.9/24");
    lab.ns.del("10.201.0.5/24");
    let took = lab
        .ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.9", 5 * SECOND);
    eprintln!(
        "ipv4 change published in {took:?} ({} interface)",
        lab.ns.kind
    );

    // Into another subnet.
    lab.ns.add("10.202.7.131/16");
    lab.ns.del("10.201.0.9/24");
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.202.7.131", 5 * SECOND);

    lab.ns.add("fd00:77::9/64");
    lab.ns.del("fd00:77::5/64");
    lab.ns
        .wait_answer("mail.dyn.test", "AAAA", "fd00:77::9", 5 * SECOND);

    // With duplicate address detection the new address is tentative at
    // first and must not be published before it is usable.
    lab.ns.ip(&["addr", "add", "fd00:78::1/64", "dev", "wd0"]);
    let tentative = lab
        .ns
        .exec(&["ip", "-6", "addr", "show", "dev", "wd0"])
        .contains("tentative");
    lab.ns.del("fd00:77::9/64");
    lab.ns
        .wait_answer("mail.dyn.test", "AAAA", "fd00:78::1", 10 * SECOND);
    if tentative {
        let log = d.log();
        let none = log
            .find("ipv6: no address")
            .expect("the tentative address was taken for usable");
        let found = log.find("ipv6: fd00:78::1/64").expect("logged");
        assert!(none < found, "{log}");
    }
    assert_eq!(lab.ns.dig("mail.dyn.test", "A"), "10.202.7.131");

    let st = wait_state(&lab.state(), |st| {
        st["targets"]["rfc2136 dyn.test. mail.dyn.test. AAAA"]["addresses"]["ipv6"]
            == "fd00:78::1/64"
    });
    let a = &st["targets"]["rfc2136 dyn.test. mail.dyn.test. A"];
    assert_eq!(a["addresses"]["ipv4"], "10.202.7.131/16");
    assert_eq!(a["rrset"][0], "mail.dyn.test. 60 IN A 10.202.7.131");
    let aaaa = &st["targets"]["rfc2136 dyn.test. mail.dyn.test. AAAA"];
    assert_eq!(aaaa["rrset"][0], "mail.dyn.test. 60 IN AAAA fd00:78::1");
    assert!(d.stop().success());
}

/// A → B → A inside the settle time: the final state is what counts,
/// and it is what is published already, so nothing is sent. A slower
/// flap sends one update per settled address, no storm.
#[test]
fn a_flap_sends_no_update_storm() {
    let Some(lab) = Lab::new() else { return };
    lab.ns.add("10.201.0.5/24");
    let cfg = lab.config(false, "settle = 1.0");
    let mut d = lab.start(&cfg, "watch");
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.5", 10 * SECOND);
    d.wait_for("updated", 1, 5 * SECOND);
    let serial = lab.ns.serial("dyn.test");

    // A → B → A, a few milliseconds apart.
    lab.ns.add("10.201.0.9/24");
    lab.ns.del("10.201.0.5/24");
    lab.ns.add("10.201.0.5/24");
    lab.ns.del("10.201.0.9/24");
    std::thread::sleep(3 * SECOND);
    assert_eq!(
        lab.ns.serial("dyn.test"),
        serial,
        "an update was sent for a flap:\n{}",
        d.log()
    );
    assert_eq!(lab.ns.dig("mail.dyn.test", "A"), "10.201.0.5");
    assert_eq!(d.count("updating to"), 1, "{}", d.log());

    // A storm of changes (ten addresses in a row), then quiet: one
    // update, to the last address.
    for i in 10..20 {
        lab.ns.add(&format!("10.201.0.{i}/24"));
        lab.ns
            .del(&format!("10.201.0.{}/24", if i == 10 { 5 } else { i - 1 }));
    }
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.19", 10 * SECOND);
    std::thread::sleep(2 * SECOND);
    assert_eq!(lab.ns.serial("dyn.test"), serial + 1, "{}", d.log());
    assert_eq!(d.count("updating to"), 2, "{}", d.log());
    drop(d);

    // A flap slower than the settle time: at most one update per
    // settled address, and the final one holds.
    let cfg = lab.config(false, "settle = 0.2");
    let mut d = lab.start(&cfg, "watch2");
    d.wait_for("ipv4: 10.201.0.19/24", 1, 10 * SECOND);
    let serial = lab.ns.serial("dyn.test");
    lab.ns.add("10.201.0.30/24");
    lab.ns.del("10.201.0.19/24");
    std::thread::sleep(Duration::from_millis(600));
    lab.ns.add("10.201.0.19/24");
    lab.ns.del("10.201.0.30/24");
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.19", 10 * SECOND);
    std::thread::sleep(2 * SECOND);
    assert_eq!(lab.ns.dig("mail.dyn.test", "A"), "10.201.0.19");
    let sent = lab.ns.serial("dyn.test") - serial;
    assert!(sent <= 2, "{sent} updates for two changes:\n{}", d.log());
}

/// A restart resumes from the state file: no update for an address that
/// is already published.
#[test]
fn a_restart_resumes_from_state() {
    let Some(lab) = Lab::new() else { return };
    lab.ns.add("10.201.0.5/24");
    let cfg = lab.config(false, "");
    let mut d = lab.start(&cfg, "first");
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.5", 10 * SECOND);
    d.wait_for("updated", 1, 5 * SECOND);
    assert!(d.stop().success());
    let serial = lab.ns.serial("dyn.test");
    let before = std::fs::read_to_string(lab.state()).unwrap();

    let mut d = lab.start(&cfg, "second");
    d.wait_for("ipv4: 10.201.0.5/24", 1, 10 * SECOND);
    std::thread::sleep(2 * SECOND);
    assert_eq!(lab.ns.serial("dyn.test"), serial, "{}", d.log());
    assert_eq!(d.count("updating"), 0, "{}", d.log());
    assert_eq!(std::fs::read_to_string(lab.state()).unwrap(), before);

    // The address moved while the daemon was down: one update at start.
    assert!(d.stop().success());
    lab.ns.add("10.201.0.6/24");
    lab.ns.del("10.201.0.5/24");
    let mut d = lab.start(&cfg, "third");
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.6", 10 * SECOND);
    d.wait_for("updated 10.201.0.5 → 10.201.0.6", 1, 5 * SECOND);
    assert_eq!(lab.ns.serial("dyn.test"), serial + 1);
}

/// A failed update (named does not answer) leaves the state as it was
/// and is retried with backoff until it succeeds.
#[test]
fn a_failed_update_keeps_the_state_and_is_retried() {
    let Some(lab) = Lab::new() else { return };
    lab.ns.add("10.201.0.5/24");
    let cfg = lab.config(false, "");
    let mut d = lab.start(&cfg, "watch");
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.5", 10 * SECOND);
    d.wait_for("updated", 1, 5 * SECOND);
    let before = std::fs::read_to_string(lab.state()).unwrap();

    // Freeze named: updates time out.
    let pid = lab.named.pid() as i32;
    // SAFETY: kill(2) on the test's own named.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    lab.ns.add("10.201.0.9/24");
    lab.ns.del("10.201.0.5/24");
    d.wait_for("the state is unchanged; retry 1", 1, 15 * SECOND);
    d.wait_for("the state is unchanged; retry 2", 1, 15 * SECOND);
    assert_eq!(
        std::fs::read_to_string(lab.state()).unwrap(),
        before,
        "state written after a failure"
    );
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.9", 30 * SECOND);
    // Named may apply a request that timed out once it runs again; the
    // retry then finds the address already there. Either way the state
    // follows only once an answer said so.
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(lab.state()).unwrap() == before {
        assert!(
            t0.elapsed() < 30 * SECOND,
            "state not written after the retry:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let st = state(&lab.state());
    assert_eq!(
        st["targets"]["rfc2136 dyn.test. mail.dyn.test. A"]["addresses"]["ipv4"],
        "10.201.0.9/24"
    );
}

fn nsupdate(lab: &Lab, data: &str) {
    let script = format!(
        "server 127.0.0.1 5353\nzone dyn.test\nupdate delete mail.dyn.test. A\nupdate add mail.dyn.test. 60 A {data}\nsend\n"
    );
    let f = lab.dir.path().join("nsupdate.txt");
    std::fs::write(&f, script).unwrap();
    lab.ns.exec(&[
        "nsupdate",
        "-k",
        lab.key_file().to_str().unwrap(),
        f.to_str().unwrap(),
    ]);
}

/// Published DNS is checked, not trusted: a record changed behind the
/// daemon's back is found by the periodic check and repaired, naming what
/// was there. With `repair = false` it is reported and left alone, and a
/// later update does not overwrite it (the RFC 2136 prerequisite).
#[test]
fn a_record_changed_behind_its_back_is_repaired() {
    let Some(lab) = Lab::new() else { return };
    lab.ns.add("10.201.0.5/24");
    let cfg = lab.config(false, "verify_interval = 1");
    let mut d = lab.start(&cfg, "watch");
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.5", 10 * SECOND);
    d.wait_for("updated", 1, 5 * SECOND);

    // No dig between the change and the repair: with a one-second check
    // on a loaded machine the repair can come first. The daemon's own
    // words show it saw the foreign value.
    nsupdate(&lab, "192.0.2.99");
    d.wait_for(
        "was changed behind zmreip's back: it holds 192.0.2.99",
        1,
        15 * SECOND,
    );
    d.wait_for("repaired 192.0.2.99 → 10.201.0.5", 1, 15 * SECOND);
    lab.ns
        .wait_answer("mail.dyn.test", "A", "10.201.0.5", 10 * SECOND);
    assert!(d.stop().success());

    let cfg = lab.config(false, "verify_interval = 1\nrepair = false");
    let mut d = lab.start(&cfg, "norepair");
    d.wait_for("ipv4: 10.201.0.5/24", 1, 10 * SECOND);
    nsupdate(&lab, "192.0.2.98");
    d.wait_for("not repaired (repair = false)", 1, 10 * SECOND);
    assert_eq!(lab.ns.dig("mail.dyn.test", "A"), "192.0.2.98");
    lab.ns.add("10.201.0.6/24");
    lab.ns.del("10.201.0.5/24");
    d.wait_for("not overwritten (repair = false)", 1, 10 * SECOND);
    assert_eq!(lab.ns.dig("mail.dyn.test", "A"), "192.0.2.98");
    let st = state(&lab.state());
    assert_eq!(
        st["targets"]["rfc2136 dyn.test. mail.dyn.test. A"]["rrset"][0],
        "mail.dyn.test. 60 IN A 10.201.0.5",
        "the state records what zmreip wrote, not the refused update"
    );
}
