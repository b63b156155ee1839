use super::*;

const KEY: &str = "key \"ddns-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=\";\n};\n";

/// A directory with a key file and a password file, and the config's path.
fn dir() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("ddns.key"), KEY).unwrap();
    std::fs::write(d.path().join("dyn.pw"), "hunter2-very-secret\n").unwrap();
    std::fs::write(d.path().join("empty.pw"), "").unwrap();
    let p = d.path().join("watch.toml");
    (d, p)
}

fn load_text(text: &str) -> Result<Config> {
    let (_d, p) = dir();
    std::fs::write(&p, text).unwrap();
    load(&p)
}

const GOOD: &str = r#"
state = "state/watch.json"
interval = 120
verify_interval = 0
repair = false
settle = 0.5

[ipv4]
interface = "eth0"

[ipv6]
public = [
  { url = "https://api6.example.test/ip" },
  { dns = "myip.example.test", server = "192.0.2.53:5353", type = "txt" },
  { command = ["/usr/local/bin/wan-ip", "-6"], timeout = 3 },
]

[[dns.rfc2136]]
zone = "Example.TEST"
server = "192.0.2.53"
key_file = "ddns.key"
names = ["mail", "@", "smtp.example.test.", "mail"]
ttl = 30

[[dns.dyndns2]]
server = "members.dyndns.example"
hostname = "mail.example.test."
username = "me"
password_file = "dyn.pw"
verify_server = "192.0.2.54"

[[dns.dyndns2]]
server = "http://127.0.0.1:8245/nic/update"
hostname = "home.example.test"
username = "me"
password_file = "dyn.pw"

[zimbra]
mode = "plan"
outside_source = "192.0.2.77"
zone_files = ["example.test=/etc/bind/db.example.test"]

[hooks]
after_change = ["logger moved", ["/bin/true"]]
"#;

#[test]
fn a_full_configuration_reads() {
    let (d, p) = dir();
    std::fs::write(&p, GOOD).unwrap();
    let c = load(&p).unwrap();
    assert_eq!(c.state, d.path().join("state/watch.json"));
    assert_eq!(c.interval, Duration::from_secs(120));
    assert_eq!(c.verify_interval, None);
    assert!(!c.repair);
    assert_eq!(c.settle, Duration::from_millis(500));
    assert_eq!(
        c.watch[0],
        Watch {
            family: Family::V4,
            source: Source::Interface(Some("eth0".into()))
        }
    );
    let Source::Public(m) = &c.watch[1].source else {
        panic!("{:?}", c.watch[1])
    };
    assert_eq!(m.len(), 3);
    assert_eq!(
        m[0].kind,
        MethodKind::Url("https://api6.example.test/ip".into())
    );
    assert_eq!(
        m[1].kind,
        MethodKind::Dns {
            name: "myip.example.test.".into(),
            rtype: RecordType::TXT,
            server: "192.0.2.53:5353".parse().unwrap()
        }
    );
    assert_eq!(m[2].timeout, Duration::from_secs(3));
    let z = &c.rfc2136[0];
    assert_eq!(z.zone.name, "example.test.");
    assert_eq!(z.zone.server, "192.0.2.53:53".parse().unwrap());
    assert_eq!(
        z.names,
        ["mail.example.test.", "example.test.", "smtp.example.test."]
    );
    assert_eq!(z.ttl, 30);
    assert_eq!(
        c.dyndns2[0].url,
        "https://members.dyndns.example/nic/update"
    );
    assert_eq!(c.dyndns2[0].hostname, "mail.example.test");
    assert_eq!(c.dyndns2[0].password.expose(), "hunter2-very-secret");
    assert_eq!(c.dyndns2[1].url, "http://127.0.0.1:8245/nic/update");
    assert_ne!(c.dyndns2[0].fingerprint, c.dyndns2[1].fingerprint);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("plain HTTP") && n.contains("127.0.0.1:8245")),
        "{:?}",
        c.notes
    );
    assert_eq!(c.zimbra.mode, Mode::Plan);
    assert_eq!(c.zimbra.outside_source, Some("192.0.2.77".parse().unwrap()));
    assert_eq!(c.hooks.after_change.len(), 2);
    // Nothing secret in what Debug shows.
    let shown = format!("{c:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("c2VjcmV0"), "{shown}");
}

#[test]
fn polling_a_service_every_few_seconds_is_said() {
    let c =
        load_text("interval = 5\n[ipv4]\npublic = [{ url = \"https://ip.example\" }]\n").unwrap();
    assert!(
        c.notes.iter().any(|n| n.contains("interval = 5")),
        "{:?}",
        c.notes
    );
    // A command asks no one.
    let c = load_text("interval = 5\n[ipv4]\npublic = [{ command = \"wan-ip\" }]\n").unwrap();
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn defaults() {
    let c = load_text("[ipv4]\n").unwrap();
    assert_eq!(c.state, PathBuf::from(DEFAULT_STATE));
    assert_eq!(c.interval, Duration::from_secs(300));
    assert_eq!(c.verify_interval, Some(Duration::from_secs(600)));
    assert!(c.repair);
    assert_eq!(
        c.watch,
        [Watch {
            family: Family::V4,
            source: Source::Interface(None)
        }]
    );
    assert_eq!(c.zimbra.mode, Mode::Off);
    assert!(c.rfc2136.is_empty() && c.dyndns2.is_empty() && c.hooks.after_change.is_empty());
}

#[test]
fn the_password_file_changing_changes_the_fingerprint() {
    let (d, p) = dir();
    std::fs::write(&p, "[ipv4]\n[[dns.dyndns2]]\nserver = \"h.example\"\nhostname = \"a.example.test\"\nusername = \"u\"\npassword_file = \"dyn.pw\"\n").unwrap();
    let before = load(&p).unwrap().dyndns2[0].fingerprint.clone();
    assert_eq!(load(&p).unwrap().dyndns2[0].fingerprint, before);
    let f = std::fs::File::options()
        .write(true)
        .open(d.path().join("dyn.pw"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    assert_ne!(load(&p).unwrap().dyndns2[0].fingerprint, before);
}

/// Every error names the file, the line and the key, and is a usage
/// error (exit status 2).
#[test]
fn errors_name_file_line_and_key() {
    let z = "[[dns.rfc2136]]\nzone = \"example.test\"\nserver = \"192.0.2.53\"\nkey_file = \"ddns.key\"\n";
    let d2 = "[[dns.dyndns2]]\nserver = \"h.example\"\nhostname = \"a.example.test\"\nusername = \"u\"\n";
    let table: Vec<(String, usize, &str, &str)> = vec![
        // (config, line, key, words in the message)
        ("[ipv4]\nintervall = 3\n".into(), 2, "ipv4.intervall", "unknown field"),
        ("intervall = 3\n[ipv4]\n".into(), 1, "intervall", "unknown field"),
        ("interval = \"five\"\n[ipv4]\n".into(), 1, "interval", "invalid type"),
        ("interval = 0\n[ipv4]\n".into(), 1, "interval", "out of range"),
        ("settle = 11.0\n[ipv4]\n".into(), 1, "settle", "between 0 and 10"),
        ("state = \"x\"\n".into(), 1, "ipv4", "no address family"),
        ("[ipv4]\ninterface = \"eth0\"\npublic = [{ url = \"https://x.example\" }]\n".into(), 3, "ipv4.public", "not both"),
        ("[ipv4]\ninterface = \"a very long interface name\"\n".into(), 2, "ipv4.interface", "not an interface"),
        ("[ipv6]\npublic = []\n".into(), 2, "ipv6.public", "empty"),
        ("[ipv4]\npublic = [{ url = \"ftp://x.example\" }]\n".into(), 2, "ipv4.public[0].url", "not an http"),
        ("[ipv4]\npublic = [\n  { url = \"https://a.example\" },\n  { url = \"https://b.example\", command = \"x\" },\n]\n".into(), 4, "ipv4.public[1]", "exactly one"),
        ("[ipv4]\npublic = [{ dns = \"myip.example\" }]\n".into(), 2, "ipv4.public[0].server", "needs the server"),
        ("[ipv4]\npublic = [{ dns = \"myip.example\", server = \"resolver.example\" }]\n".into(), 2, "ipv4.public[0].server", "not a server address"),
        ("[ipv4]\npublic = [{ dns = \"myip.example\", server = \"192.0.2.1\", type = \"AAAA\" }]\n".into(), 2, "ipv4.public[0].type", "cannot answer an ipv4"),
        ("[ipv4]\npublic = [{ url = \"https://a.example\", server = \"192.0.2.1\" }]\n".into(), 2, "ipv4.public[0].server", "belongs to a `dns` method"),
        ("[ipv4]\npublic = [{ command = [] }]\n".into(), 2, "ipv4.public[0].command", "empty"),
        ("[ipv4]\npublic = [{ command = \"x\", timeout = 0 }]\n".into(), 2, "ipv4.public[0].timeout", "out of range"),
        (format!("[ipv4]\n{z}names = [\"mail\"]\nkey = \"other\"\n"), 5, "dns.rfc2136[0].key_file", "no key `other`"),
        (format!("[ipv4]\n{z}names = []\n"), 6, "dns.rfc2136[0].names", "no name"),
        (format!("[ipv4]\n{z}names = [\"mail.other.test.\"]\n"), 6, "dns.rfc2136[0].names", "not a name in zone"),
        (format!("[ipv4]\n{z}names = [\"mail\"]\nttl = 0\n"), 7, "dns.rfc2136[0].ttl", "between 1 and 86400"),
        ("[ipv4]\n[[dns.rfc2136]]\nzone = \"example.test\"\nserver = \"192.0.2.53:99999\"\nkey_file = \"ddns.key\"\nnames = [\"a\"]\n".into(), 4, "dns.rfc2136[0].server", "not a server address"),
        ("[ipv4]\n[[dns.rfc2136]]\nzone = \"example.test\"\nserver = \"192.0.2.53\"\nkey_file = \"missing.key\"\nnames = [\"a\"]\n".into(), 5, "dns.rfc2136[0].key_file", "missing.key"),
        ("[ipv4]\n[[dns.rfc2136]]\nzone = \"example.test\"\nkey_file = \"ddns.key\"\nnames = [\"a\"]\n".into(), 2, "dns.rfc2136", "missing field `server`"),
        (format!("[ipv4]\n{d2}password_file = \"nope.pw\"\n"), 6, "dns.dyndns2[0].password_file", "cannot read"),
        (format!("[ipv4]\n{d2}password_file = \"empty.pw\"\n"), 6, "dns.dyndns2[0].password_file", "is empty"),
        ("[ipv4]\n[[dns.dyndns2]]\nserver = \"https://h.example/nic/update?x=1\"\nhostname = \"a.example.test\"\nusername = \"u\"\npassword_file = \"dyn.pw\"\n".into(), 3, "dns.dyndns2[0].server", "holds a query"),
        ("[ipv4]\n[[dns.dyndns2]]\nserver = \"h.example\"\nhostname = \"localhost\"\nusername = \"u\"\npassword_file = \"dyn.pw\"\n".into(), 4, "dns.dyndns2[0].hostname", "fully qualified"),
        ("[ipv4]\n[[dns.dyndns2]]\nserver = \"h.example\"\nhostname = \"a.example.test\"\nusername = \"u:v\"\npassword_file = \"dyn.pw\"\n".into(), 5, "dns.dyndns2[0].username", "holds `:`"),
        (format!("[ipv4]\n{d2}password_file = \"dyn.pw\"\nverify_server = \"ns.example\"\n"), 7, "dns.dyndns2[0].verify_server", "not a server"),
        ("[ipv4]\n[zimbra]\nmode = \"yes\"\n".into(), 3, "zimbra.mode", "not a mode"),
        ("[ipv4]\n[zimbra]\nzimbra_home = \"opt/zimbra\"\n".into(), 3, "zimbra.zimbra_home", "absolute"),
        ("[ipv4]\n[zimbra]\noutside_source = \"10.0.0.300\"\n".into(), 3, "zimbra.outside_source", "not an IP"),
        ("[ipv4]\n[zimbra]\nldap_url = [\"http://x\"]\n".into(), 3, "zimbra.ldap_url", "not an ldap"),
        ("[ipv4]\n[zimbra]\nservices = \"nope.toml\"\n".into(), 3, "zimbra.services", "not a readable file"),
        ("[ipv4]\n[zimbra]\nzone_files = [\"relative/db\"]\n".into(), 3, "zimbra.zone_files", "absolute"),
        ("[ipv4]\n[zimbra]\nroot = \"no/such/dir\"\n".into(), 3, "zimbra.root", "not a directory"),
        ("[ipv4]\n[hooks]\nafter_change = [\"\"]\n".into(), 3, "hooks.after_change[0]", "empty"),
        ("[ipv4]\n[hooks]\nafter_change = [3]\n".into(), 3, "hooks.after_change", "did not match"),
        ("[ipv4\n".into(), 1, "(top level)", "unclosed table"),
    ];
    let mut wrong = Vec::new();
    for (text, line, key, words) in &table {
        let Err(e) = load_text(text) else {
            wrong.push(format!("accepted:\n{text}"));
            continue;
        };
        let msg = e.to_string();
        let ok = e.exit_code() == 2
            && msg.contains(&format!("watch.toml:{line}: key `{key}`"))
            && msg.contains(words)
            && e.help().is_some_and(|h| !h.is_empty())
            && !msg.contains("hunter2")
            && !msg.contains("c2VjcmV0");
        if !ok {
            wrong.push(format!(
                "want line {line}, key `{key}`, `{words}`; got: {msg}\n{text}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n---\n"));
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let e = load(Path::new("/nonexistent/watch.toml")).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("/nonexistent/watch.toml"), "{e}");
}

#[test]
fn url_hosts_hide_paths_and_credentials() {
    let table = [
        ("https://api.ipify.org", "api.ipify.org"),
        ("https://ip.example/get?token=SECRET", "ip.example"),
        ("http://user:pw@127.0.0.1:8245/nic/update", "127.0.0.1:8245"),
        ("https://[2001:db8::1]:8443/x", "[2001:db8::1]:8443"),
    ];
    for (url, host) in table {
        assert_eq!(url_host(url), host, "{url}");
    }
}
