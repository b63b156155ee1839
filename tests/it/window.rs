//! `zmreip window open|switch|close|status` on copies of the example host
//! (with a BIND zone added), through the real binary: the three phases
//! leave the host byte for byte as `apply` leaves it (zone serials
//! aside), each phase rolls back to the state before it, the gates say
//! when, and the state file and status report what is going on.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::support::lab::{Kind, Tree, assert_same, tree};
use crate::support::{Zmreip, copy_tree, repo};

const OLD4: &str = "172.20.14.25/24";
const NEW4: &str = "10.40.7.131/24";
const OLD6: &str = "2001:db8:14::25/64";
const NEW6: &str = "2001:db8:7::131/64";

const NAMED_CONF: &str = "options { directory \"/var/cache/bind\"; };
zone \"corp.example\" { type primary; file \"/etc/bind/db.corp.example\"; };
";

/// The zone the example host serves: the mail host's A and AAAA (one
/// with a TTL of its own, one inheriting $TTL), its SPF, and records that
/// stay (a neighbour, a web server).
const ZONE: &str = "$TTL 3600
@\tIN SOA ns1.corp.example. hostmaster.corp.example. (
\t\t2024010101 ; serial
\t\t3600 600 86400 300 )
@\tIN NS\tns1.corp.example.
@\tIN MX\t10 mail.corp.example.
@\tIN TXT\t\"v=spf1 mx ip4:172.20.14.25 -all\"
ns1\tIN A\t172.20.14.53
mail\t86400 IN A\t172.20.14.25
mail\tIN AAAA\t2001:db8:14::25
relay\tIN A\t172.20.14.2
www\tIN A\t192.0.2.80
";

/// A copy of the example host, with the zone, in a temporary directory.
struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let dir = tempfile::Builder::new()
            .prefix("zmreip-window-")
            .tempdir()
            .unwrap();
        let h = Host { dir };
        copy_tree(&repo("examples/single-server/root"), &h.root());
        std::fs::copy(repo("examples/single-server/zimbra.ldif"), h.ldif()).unwrap();
        std::fs::create_dir_all(h.root().join("etc/bind")).unwrap();
        std::fs::write(h.root().join("etc/bind/named.conf"), NAMED_CONF).unwrap();
        std::fs::write(h.root().join("etc/bind/db.corp.example"), ZONE).unwrap();
        std::fs::create_dir_all(h.root().join("var/lib")).unwrap();
        h
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn ldif(&self) -> PathBuf {
        self.dir.path().join("zimbra.ldif")
    }

    fn read(&self, host_path: &str) -> String {
        std::fs::read_to_string(self.root().join(host_path.trim_start_matches('/'))).unwrap()
    }

    /// `window open` of both moves, the LDIF as the directory.
    fn open(&self) -> Zmreip {
        Zmreip::new(["window", "open", "--yes", "--lower-ttl", "60"])
            .args(["--from", OLD4, "--to", NEW4, "--from", OLD6, "--to", NEW6])
            .root(self.root())
            .ldif(self.ldif())
    }

    /// `window PHASE --yes --root R [ARGS]`.
    fn phase(&self, phase: &str, args: &[&str]) -> Zmreip {
        Zmreip::new(["window", phase, "--yes"])
            .args(args)
            .root(self.root())
    }

    /// `rollback` of the latest run of `phase` the window recorded.
    fn rollback(&self, phase: &str) -> Zmreip {
        let run = self
            .status()
            .runs
            .iter()
            .rev()
            .find(|r| r.phase == phase)
            .map(|r| r.run.clone())
            .expect("a run of the phase");
        // The export lies outside the root: named, as a journal under
        // another root is not trusted to name files of this machine.
        Zmreip::new(["rollback", "--yes", &run])
            .root(self.root())
            .ldif(self.ldif())
    }

    fn status(&self) -> Status {
        let out = Zmreip::new(["window", "status", "--format", "json"])
            .root(self.root())
            .ok();
        serde_json::from_value(out.json()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
    }

    /// The host's files and the LDIF, without zmreip's own state.
    fn snapshot(&self) -> Tree {
        let mut t = tree(self.dir.path());
        t.retain(|k, _| !k.starts_with("root/var/lib/zmreip"));
        t
    }
}

/// `window status --format json`: every field, no other.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Status {
    schema: String,
    state: String,
    from: Vec<String>,
    to: Vec<String>,
    runs: Vec<Run>,
    switch_after: Option<String>,
    close_after: Option<String>,
    watching: bool,
    connections: Vec<serde_json::Value>,
    quiet_secs: Option<u64>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Run {
    phase: String,
    run: String,
    done: u64,
}

/// The zone's SOA serial, and the tree with it replaced by a mark.
fn without_serial(mut t: Tree) -> (u32, Tree) {
    let key = "root/etc/bind/db.corp.example";
    let meta = t.get_mut(key).expect("the zone file");
    let Kind::File(bytes) = &mut meta.kind else {
        panic!("not a file")
    };
    let text = String::from_utf8(bytes.clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("; serial"))
        .expect("a serial line");
    let serial: u32 = line.split_whitespace().next().unwrap().parse().unwrap();
    *bytes = text.replace(line, "\t\tSERIAL ; serial").into_bytes();
    (serial, t)
}

#[test]
fn the_three_phases_leave_the_host_as_apply_does() {
    let plain = Host::new();
    Zmreip::new(["apply", "--yes"])
        .args(["--from", OLD4, "--to", NEW4, "--from", OLD6, "--to", NEW6])
        .root(plain.root())
        .ldif(plain.ldif())
        .ok();

    let w = Host::new();
    let before = w.snapshot();
    let out = w.open().ok();
    assert!(
        out.stdout.contains("window open: the host serves on"),
        "{}",
        out.stdout
    );
    // Open: served on both, names and records unchanged, TTLs lowered.
    let netplan = w.read("/etc/netplan/50-cloud-init.yaml");
    assert!(
        netplan.contains(
            "            - 172.20.14.25/24        # mail.corp.example\n            - 10.40.7.131/24        # mail.corp.example\n"
        ),
        "{netplan}"
    );
    assert!(
        netplan.contains("- \"2001:db8:14::25/64\"\n            - \"2001:db8:7::131/64\"\n"),
        "{netplan}"
    );
    assert_eq!(
        w.read("/etc/hosts"),
        std::fs::read_to_string(repo("examples/single-server/root/etc/hosts")).unwrap()
    );
    let zone = w.read("/etc/bind/db.corp.example");
    assert!(zone.contains("mail\t60 IN A\t172.20.14.25\n"), "{zone}");
    assert!(
        zone.contains("mail\t60 IN AAAA\t2001:db8:14::25\n"),
        "{zone}"
    );
    assert!(zone.contains("ip4:172.20.14.25 -all"), "{zone}");
    // Trap: records that stay keep their TTL.
    assert!(zone.contains("www\tIN A\t192.0.2.80\n"), "{zone}");
    let lc = w.read("/opt/zimbra/conf/localconfig.xml");
    assert!(
        lc.contains("ldap://172.20.14.25:389 ldap://10.40.7.131:389"),
        "{lc}"
    );
    let ldif = std::fs::read_to_string(w.ldif()).unwrap();
    assert!(
        ldif.contains("zimbraMailTrustedIP: 172.20.14.25\nzimbraMailTrustedIP: 10.40.7.131\n"),
        "{ldif}"
    );
    // A proxy's virtual IP is one the proxy listens on beside others.
    assert!(
        ldif.contains(
            "zimbraVirtualIPAddress: 172.20.14.25\nzimbraVirtualIPAddress: 10.40.7.131\n"
        ),
        "{ldif}"
    );

    w.phase("switch", &["--force"]).ok();
    // Switch: names and records point to the new address, TTLs as before.
    assert!(
        w.read("/etc/hosts")
            .contains("10.40.7.131\tmail.corp.example\tmail\n")
    );
    let zone = w.read("/etc/bind/db.corp.example");
    assert!(zone.contains("mail\t86400 IN A\t10.40.7.131\n"), "{zone}");
    assert!(zone.contains("mail\tIN AAAA\t2001:db8:7::131\n"), "{zone}");
    assert!(zone.contains("ip4:10.40.7.131 -all"), "{zone}");
    // ... and both addresses still served.
    assert!(
        w.read("/etc/netplan/50-cloud-init.yaml")
            .contains("            - 172.20.14.25/24        # mail.corp.example\n")
    );

    w.phase("close", &["--force"]).ok();
    let (serial, got) = without_serial(w.snapshot());
    let (plain_serial, want) = without_serial(plain.snapshot());
    assert_same(&want, &got, "window open + switch + close against apply");
    // Each phase that changed the zone raised its serial (open, switch).
    assert_eq!(serial, plain_serial + 1, "serials");
    assert_ne!(got, without_serial(before).1);
    assert_eq!(w.status().state, "closed");
}

#[test]
fn each_phase_rolls_back_to_the_state_before_it() {
    let w = Host::new();
    let s0 = w.snapshot();
    w.open().ok();
    let s1 = w.snapshot();
    w.phase("switch", &["--force"]).ok();
    let s2 = w.snapshot();
    w.phase("close", &["--force"]).ok();

    // Close rolled back: both addresses served again.
    w.rollback("close").ok();
    assert_same(&s2, &w.snapshot(), "close rolled back");
    let st = w.status();
    assert_eq!(st.state, "switched");
    assert!(st.close_after.is_some() && st.next.as_deref() == Some("zmreip window close"));
    // Switch rolled back: names and TTLs as open left them.
    w.rollback("switch").ok();
    assert_same(&s1, &w.snapshot(), "switch rolled back");
    assert_eq!(w.status().state, "open");
    // The switch can run again, and leaves what it left before.
    w.phase("switch", &["--force"]).ok();
    assert_same(&s2, &w.snapshot(), "switch run again");
    w.rollback("switch").ok();
    // Open rolled back: the host as it was, byte for byte.
    w.rollback("open").ok();
    assert_same(&s0, &w.snapshot(), "open rolled back");
    let st = w.status();
    assert_eq!(st.state, "not-open");
    // A rolled-back window can be opened again.
    w.open().ok();
    assert_same(&s1, &w.snapshot(), "opened again");
}

#[test]
fn phases_are_refused_out_of_turn_and_before_their_time() {
    let w = Host::new();
    let none = w.phase("switch", &[]).fails(2);
    assert!(none.stderr.contains("no window is open"), "{}", none.stderr);
    assert!(
        none.stderr.contains("help: open one with"),
        "{}",
        none.stderr
    );

    w.open().ok();
    let st = w.status();
    assert_eq!(st.schema, "zmreip.window-status/v1");
    assert_eq!(st.state, "open");
    assert_eq!(st.from, [OLD4, OLD6]);
    assert_eq!(st.runs.len(), 1);
    assert!(st.switch_after.is_some() && st.close_after.is_none());
    // A snapshot's root: its connections are not this machine's.
    assert!(!st.watching);
    assert!(st.connections.is_empty());

    let again = w.open().fails(2);
    assert!(again.stderr.contains("already open"), "{}", again.stderr);
    let close = w.phase("close", &[]).fails(2);
    assert!(
        close.stderr.contains("run `zmreip window switch` first"),
        "{}",
        close.stderr
    );
    // The mail record had a TTL of a day: the switch waits for it.
    let before = w.snapshot();
    let early = w.phase("switch", &[]).fails(1);
    assert!(early.stderr.contains("too early"), "{}", early.stderr);
    assert!(
        early.stderr.contains("TTL up to 86400 s"),
        "{}",
        early.stderr
    );
    assert!(early.stderr.contains("safe from 20"), "{}", early.stderr);
    assert!(early.stderr.contains("--force"), "{}", early.stderr);
    assert_same(&before, &w.snapshot(), "a refused switch writes nothing");

    w.phase("switch", &["--force"]).ok();
    // The lowered TTL (60 s) runs from the switch.
    let early = w.phase("close", &[]).fails(1);
    assert!(
        early.stderr.contains("TTL 60 s since the switch"),
        "{}",
        early.stderr
    );

    // Rolling back open under a switch that holds is caught.
    let open_run = w.status().runs[0].run.clone();
    Zmreip::new(["rollback", "--yes", "--force", &open_run])
        .root(w.root())
        .ldif(w.ldif())
        .ok();
    let out = Zmreip::new(["window", "status"]).root(w.root()).fails(1);
    assert!(out.stderr.contains("roll it back too"), "{}", out.stderr);
}

#[test]
fn the_state_file_is_private_and_holds_no_secret() {
    use std::os::unix::fs::PermissionsExt;
    let w = Host::new();
    w.open().ok();
    let path: &Path = &w.root().join("var/lib/zmreip/window.json");
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], "zmreip.window/v1");
    assert_eq!(v["ttl"]["lowered_to"], 60);
    assert_eq!(v["ttl"]["longest"], 86400);
    // The lowered zone lines, as they were and as open left them.
    let lines = v["ttl"]["zone_lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["original"] == "mail\t86400 IN A\t172.20.14.25"
                && l["lowered"] == "mail\t60 IN A\t172.20.14.25"),
        "{text}"
    );
    // Paths are absolute, so the later phases run from anywhere.
    assert!(v["settings"]["ldif"].as_str().unwrap().starts_with('/'));
    // The example's (fake) secrets hold the old address: never copied.
    assert!(!text.contains("FAKE@"), "{text}");
}
