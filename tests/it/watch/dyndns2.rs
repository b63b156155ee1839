//! dyndns2 against the test's own server (support::Provider), which stands
//! in for a provider: no public provider is reachable from the tests, and
//! none may be asked. It asserts the exact requests (path, query,
//! authorization, user agent) and replays each of the protocol's return
//! codes. Addresses come from a `command` method reading a file the test
//! writes (documentation addresses, used as data only).

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;

use crate::support::available;
use crate::support::dns::{self as servers, Zone};
use crate::watch::support::{Daemon, Provider, once, state};

const PASSWORD: &str = "S3cret pw:with colon";

struct Setup {
    dir: tempfile::TempDir,
    provider: Provider,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), format!("{PASSWORD}\n")).unwrap();
        std::fs::write(dir.path().join("addr4"), "198.51.100.7\n").unwrap();
        std::fs::write(dir.path().join("addr6"), "2001:db8::7\n").unwrap();
        Setup {
            dir,
            provider: Provider::start(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn state(&self) -> PathBuf {
        self.path("state.json")
    }

    /// A configuration with the families' address files and `providers`.
    fn config(&self, v6: bool, top: &str, providers: &str) -> PathBuf {
        let mut c = format!("state = \"{}\"\n{top}\n", self.state().display());
        c.push_str(&format!(
            "[ipv4]\npublic = [{{ command = [\"cat\", \"{}\"] }}]\n",
            self.path("addr4").display()
        ));
        if v6 {
            c.push_str(&format!(
                "[ipv6]\npublic = [{{ command = [\"cat\", \"{}\"] }}]\n",
                self.path("addr6").display()
            ));
        }
        c.push_str(providers);
        let p = self.path("watch.toml");
        std::fs::write(&p, c).unwrap();
        p
    }

    fn provider(&self, url: &str) -> String {
        format!(
            "[[dns.dyndns2]]\nserver = \"{url}\"\nhostname = \"mail.dyn.test\"\nusername = \"zimbra-admin\"\npassword_file = \"{}\"\n",
            self.path("pw").display()
        )
    }

    fn standard(&self, v6: bool) -> PathBuf {
        self.config(v6, "", &self.provider(&self.provider.url()))
    }
}

fn basic() -> String {
    let token =
        base64::engine::general_purpose::STANDARD.encode(format!("zimbra-admin:{PASSWORD}"));
    format!("Basic {token}")
}

/// The request is exactly what the protocol asks, sent once per address.
#[test]
fn sends_the_exact_request() {
    let s = Setup::new();
    let cfg = s.standard(false);
    let (code, out) = once(&cfg, &[]);
    assert_eq!(code, 0, "{out}");
    let reqs = s.provider.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let r = &reqs[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/nic/update");
    assert_eq!(
        r.query,
        [
            ("hostname".to_string(), "mail.dyn.test".to_string()),
            ("myip".to_string(), "198.51.100.7".to_string())
        ]
    );
    assert_eq!(r.header("Authorization"), Some(basic().as_str()));
    assert_eq!(
        r.header("User-Agent"),
        Some(concat!("zmreip - watch - ", env!("CARGO_PKG_VERSION")))
    );
    // An explicit http:// URL is allowed, and said so.
    assert!(out.contains("plain HTTP (as configured)"), "{out}");
    let st = state(&s.state());
    assert_eq!(
        st["targets"]
            ["dyndns2 127.0.0.1:".to_string() + &s.provider.port.to_string() + " mail.dyn.test"]["addresses"]
            ["ipv4"],
        "198.51.100.7"
    );

    // Same address: nothing is sent (a repeated nochg gets a host blocked).
    let (code, out) = once(&cfg, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(s.provider.requests().len(), 1);

    // A new address: one request with it.
    std::fs::write(s.path("addr4"), "198.51.100.8\n").unwrap();
    let (code, out) = once(&cfg, &[]);
    assert_eq!(code, 0, "{out}");
    let reqs = s.provider.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[1].query[1],
        ("myip".to_string(), "198.51.100.8".to_string())
    );

    // --dry-run says what it would send, sends nothing, writes nothing.
    std::fs::write(s.path("addr4"), "198.51.100.9\n").unwrap();
    let before = std::fs::read_to_string(s.state()).unwrap();
    let (code, out) = once(&cfg, &["--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("would send GET http://127.0.0.1:"), "{out}");
    assert!(
        out.contains("?hostname=mail.dyn.test&myip=198.51.100.9"),
        "{out}"
    );
    assert_eq!(s.provider.requests().len(), 2);
    assert_eq!(std::fs::read_to_string(s.state()).unwrap(), before);
}

/// IPv4 and IPv6 go in one request, as myip and myipv6.
#[test]
fn both_families_in_one_request() {
    let s = Setup::new();
    let (code, out) = once(&s.standard(true), &[]);
    assert_eq!(code, 0, "{out}");
    let reqs = s.provider.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].query,
        [
            ("hostname".to_string(), "mail.dyn.test".to_string()),
            ("myip".to_string(), "198.51.100.7".to_string()),
            ("myipv6".to_string(), "2001:db8::7".to_string()),
        ]
    );
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Then {
    /// Recorded; not asked again for the same address.
    Done,
    /// Not asked again until the entry or password changes.
    Stopped,
    /// Not asked again for 30 minutes.
    Deferred,
    /// Asked again at the next run.
    Retried,
}

/// Every return code is handled as the protocol asks.
#[test]
fn every_return_code() {
    let table: &[(u16, &str, Then)] = &[
        (200, "good 198.51.100.7", Then::Done),
        (200, "nochg 198.51.100.7", Then::Done),
        (200, "badauth", Then::Stopped),
        (401, "badauth", Then::Stopped),
        (200, "!donator", Then::Stopped),
        (200, "notfqdn", Then::Stopped),
        (200, "nohost", Then::Stopped),
        (200, "numhost", Then::Stopped),
        (200, "abuse", Then::Stopped),
        (200, "badagent", Then::Stopped),
        // The provider ignored the update: it refuses this client.
        (200, "good 127.0.0.1", Then::Stopped),
        (200, "something else", Then::Stopped),
        (200, "911", Then::Deferred),
        (200, "dnserr", Then::Deferred),
        (500, "", Then::Retried),
        (503, "", Then::Retried),
        (401, "", Then::Stopped),
    ];
    for (status, body, then) in table {
        let s = Setup::new();
        let cfg = s.standard(false);
        s.provider.answer(*status, body);
        let (code, out) = once(&cfg, &[]);
        let what = format!("HTTP {status} `{body}`");
        assert_eq!(
            code,
            if *then == Then::Done { 0 } else { 1 },
            "{what}: {out}"
        );
        assert_eq!(s.provider.requests().len(), 1, "{what}");
        // A failure worth a retry changes nothing, not even the file.
        let st = if s.state().exists() {
            state(&s.state())
        } else {
            serde_json::json!({"targets": {}})
        };
        assert_eq!(s.state().exists(), *then != Then::Retried, "{what}");
        let id = format!("dyndns2 127.0.0.1:{} mail.dyn.test", s.provider.port);
        assert_eq!(
            st["targets"].get(&id).is_some(),
            *then == Then::Done,
            "{what}: {st}"
        );
        assert_eq!(
            st.get("stopped").and_then(|x| x.get(&id)).is_some(),
            *then == Then::Stopped,
            "{what}: {st}"
        );
        if *then == Then::Deferred {
            let until = st["deferred"][&id].as_u64().unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            assert!(
                until >= now + 29 * 60 && until <= now + 31 * 60,
                "{what}: {st}"
            );
            assert!(out.contains("not asked again before"), "{out}");
        }
        if *then != Then::Done {
            assert!(
                out.contains("the state is unchanged") || out.contains("not asked again"),
                "{what}: {out}"
            );
        }
        // The next run.
        let (_, out2) = once(&cfg, &[]);
        let asked = s.provider.requests().len() - 1;
        assert_eq!(
            asked,
            usize::from(*then == Then::Retried),
            "{what}: second run:\n{out2}"
        );
        if *then == Then::Stopped {
            // A new password (file changed) counts as a changed
            // configuration: the provider is asked again.
            let f = std::fs::File::options()
                .write(true)
                .open(s.path("pw"))
                .unwrap();
            f.set_modified(std::time::SystemTime::now() + Duration::from_secs(3))
                .unwrap();
            let (code, out3) = once(&cfg, &[]);
            assert_eq!(code, 0, "{what}: after the password changed:\n{out3}");
            assert!(
                out3.contains("configuration changed since it was stopped"),
                "{out3}"
            );
            assert_eq!(s.provider.requests().len(), 2, "{what}");
            assert!(state(&s.state()).get("stopped").is_none());
        }
    }
}

/// A provider that is down never holds the others back; it is retried.
#[test]
fn a_provider_that_is_down_does_not_stop_the_others() {
    let s = Setup::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    let dead = format!("http://127.0.0.1:{dead_port}/nic/update");
    drop(closed);
    let providers = format!(
        "{}{}",
        s.provider(&dead),
        s.provider(&s.provider.url())
            .replace("mail.dyn.test", "smtp.dyn.test")
    );
    let cfg = s.config(false, "interval = 1", &providers);
    let mut d = Daemon::start(None, &cfg, &[], &[], &s.path("watch.log"));
    d.wait_for("smtp.dyn.test at 127.0.0.1", 1, Duration::from_secs(10));
    d.wait_for("retry 1", 1, Duration::from_secs(10));
    std::fs::write(s.path("addr4"), "198.51.100.20\n").unwrap();
    let t0 = std::time::Instant::now();
    while !s
        .provider
        .requests()
        .iter()
        .any(|r| r.query.iter().any(|(_, v)| v == "198.51.100.20"))
    {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no update of the working provider:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    d.wait_for("retry 2", 1, Duration::from_secs(10));
    let log = d.log();
    assert!(log.contains(&format!("127.0.0.1:{dead_port}: ")), "{log}");
    assert!(d.stop().success());
}

/// Public-address methods are tried in order; a failing one only costs
/// its turn. The url method reads the address from the body; the dns
/// method from a TXT answer of a configured server.
#[test]
fn public_methods_are_tried_in_order() {
    let s = Setup::new();
    *s.provider.ip_body.lock().unwrap() = "<html>Current IP Address: 198.51.100.33</html>".into();
    let top = format!("state = \"{}\"\n", s.state().display());
    let write = |methods: &str| -> PathBuf {
        let c = format!(
            "{top}[ipv4]\npublic = [{methods}]\n{}",
            s.provider(&s.provider.url())
        );
        let p = s.path("methods.toml");
        std::fs::write(&p, c).unwrap();
        p
    };
    let cfg = write(&format!(
        "{{ command = \"exit 3\" }}, {{ url = \"http://127.0.0.1:{}/ip\" }}, {{ command = [\"echo\", \"198.51.100.44\"] }}",
        s.provider.port
    ));
    let (code, out) = once(&cfg, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("command `exit 3`: failed"), "{out}");
    assert!(out.contains("198.51.100.33 (url 127.0.0.1:"), "{out}");
    assert_eq!(
        s.provider.requests().last().unwrap().query[1].1,
        "198.51.100.33"
    );

    if !available("named", "bind9") {
        return;
    }
    let zone = "$TTL 60\n@ IN SOA ns.myip.test. h.myip.test. 1 3600 600 86400 60\n  IN NS ns.myip.test.\nns IN A 127.0.0.1\nwhoami IN TXT \"198.51.100.55\"\n";
    let named = servers::named(
        &[Zone {
            name: "myip.test",
            text: zone,
            update_key: None,
        }],
        &[],
    );
    let cfg = write(&format!(
        "{{ url = \"http://127.0.0.1:1/none\", timeout = 2 }}, {{ dns = \"whoami.myip.test\", type = \"TXT\", server = \"{}\" }}",
        named.addr
    ));
    let (code, out) = once(&cfg, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("198.51.100.55 (dns whoami.myip.test. TXT at 127.0.0.1:"),
        "{out}"
    );
    assert_eq!(
        s.provider.requests().last().unwrap().query[1].1,
        "198.51.100.55"
    );
}

/// The dyndns2 published name is verified at `verify_server` and the
/// update sent again when it does not hold the address.
#[test]
fn the_published_name_is_verified() {
    if !available("named", "bind9") {
        return;
    }
    let s = Setup::new();
    let zone = "$TTL 60\n@ IN SOA ns.dyn.test. h.dyn.test. 1 3600 600 86400 60\n  IN NS ns.dyn.test.\nns IN A 127.0.0.1\nmail IN A 198.51.100.1\n";
    let named = servers::named(
        &[Zone {
            name: "dyn.test",
            text: zone,
            update_key: None,
        }],
        &[],
    );
    let providers = format!(
        "{}verify_server = \"{}\"\n",
        s.provider(&s.provider.url()),
        named.addr
    );
    let cfg = s.config(false, "", &providers);
    let (code, out) = once(&cfg, &[]);
    // Updated, then found not to hold it (this server is not the
    // provider's), so sent once more: the check only repairs once a run.
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("mail.dyn.test A at 127.0.0.1:"), "{out}");
    assert!(out.contains("holds 198.51.100.1"), "{out}");
    assert_eq!(s.provider.requests().len(), 2, "{out}");
}
