//! Where and how to connect: read from the host's localconfig.xml as
//! Zimbra's own LDAP client does (zimbra-config-model.md §8.1), with the
//! command-line flags taking precedence.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::host::Host;
use crate::surface::localconfig;

/// The bind DN of `zmprov -l` and every Zimbra tool when localconfig sets
/// none.
pub const DEFAULT_BIND_DN: &str = "uid=zimbra,cn=admins,cn=zimbra";

/// How long to wait for a TCP connection (and TLS handshake) to one server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to wait for any one reply of an operation (each entry of a
/// search resets it).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// A password. Its `Debug` output is a placeholder and it has no
/// `Display`, so it cannot end up in a message or log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The password itself, for the bind request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Command-line flags that override localconfig.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--ldap-url` (repeatable; each may hold several space-separated
    /// URLs): used for reads and writes instead of `ldap_url` and
    /// `ldap_master_url`.
    pub urls: Vec<String>,
    /// `--bind-dn`.
    pub bind_dn: Option<String>,
    /// `--bind-password-file`: a file on this machine (not under
    /// `--root`) whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// `--deep`: read every attribute of every entry.
    pub deep: bool,
}

impl Overrides {
    /// Whether any connection flag was given.
    pub fn any(&self) -> bool {
        !self.urls.is_empty() || self.bind_dn.is_some() || self.password_file.is_some()
    }
}

/// Everything needed to reach and read the directory.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Servers to read from, in the order to try them.
    pub read_urls: Vec<String>,
    /// Servers to write to (the master), in order.
    pub write_urls: Vec<String>,
    pub bind_dn: String,
    pub password: Secret,
    /// Whether to upgrade `ldap://` connections with StartTLS.
    pub starttls: bool,
    /// CA certificate(s) to verify the server with: the host path of the
    /// PEM file and its bytes (read inside the root); without it the
    /// certificate is not verified, as Zimbra's own Perl tools do
    /// (`verify => 'none'`).
    pub ca: Option<(String, Vec<u8>)>,
    pub connect_timeout: Duration,
    pub operation_timeout: Duration,
    /// Read every attribute of every entry, not only the known address
    /// attributes of accounts.
    pub deep: bool,
    /// Entries per page of a paged search: large enough to keep round
    /// trips few, small enough to bound what waits in memory.
    pub page_size: i32,
}

/// The localconfig keys read here.
const KEYS: &[&str] = &[
    "ldap_url",
    "ldap_master_url",
    "zimbra_ldap_userdn",
    "zimbra_ldap_password",
    "ldap_starttls_supported",
    "ldap_starttls_required",
    "zimbra_require_interprocess_security",
];

impl Settings {
    /// The settings for `host`: `None` when neither a flag nor the host's
    /// localconfig.xml names a directory server (a host without Zimbra, or
    /// a snapshot without its localconfig).
    pub fn resolve(host: &Host, o: &Overrides) -> Result<Option<Settings>> {
        let path = host.zimbra_path("conf/localconfig.xml");
        let lc: Vec<(&str, Option<String>)> = match host.read(&path)? {
            Some(text) => KEYS
                .iter()
                .map(|k| Ok((*k, localconfig::value(&path, &text, k)?)))
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        let get = |k: &str| {
            lc.iter()
                .find(|(key, _)| *key == k)
                .and_then(|(_, v)| v.clone())
                .filter(|v| !v.trim().is_empty())
        };
        let split = |s: &str| -> Vec<String> { s.split_whitespace().map(String::from).collect() };

        let (read_urls, write_urls) = if o.urls.is_empty() {
            let Some(read) = get("ldap_url") else {
                if o.any() {
                    return Err(Error::usage(
                        format!("no directory server to connect to: `{path}` sets no ldap_url"),
                        "give --ldap-url ldap://HOST:389, or read an export with --ldif FILE",
                    ));
                }
                return Ok(None);
            };
            let read = split(&read);
            // Zimbra writes to ldap_master_url, falling back to ldap_url.
            let write = get("ldap_master_url")
                .map(|m| split(&m))
                .unwrap_or_else(|| read.clone());
            (read, write)
        } else {
            let urls: Vec<String> = o.urls.iter().flat_map(|u| split(u)).collect();
            (urls.clone(), urls)
        };
        for u in read_urls.iter().chain(&write_urls) {
            check_url(u)?;
        }
        let bind_dn = o
            .bind_dn
            .clone()
            .or_else(|| get("zimbra_ldap_userdn"))
            .unwrap_or_else(|| DEFAULT_BIND_DN.to_string());
        let password = match &o.password_file {
            Some(f) => read_password_file(f)?,
            None => match get("zimbra_ldap_password") {
                Some(p) => Secret::new(p),
                None => {
                    return Err(Error::usage(
                        format!("no password to bind to the directory as `{bind_dn}`"),
                        format!(
                            "`{path}` sets no zimbra_ldap_password: give --bind-password-file FILE, or read an export with --ldif FILE"
                        ),
                    ));
                }
            },
        };
        // LdapServerConfig.java: StartTLS only when supported, required
        // and interprocess security is on; the defaults are 0, true, 1.
        let truthy = |k: &str, default: bool| {
            get(k).map_or(default, |v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
            })
        };
        let starttls = truthy("ldap_starttls_supported", false)
            && truthy("ldap_starttls_required", true)
            && truthy("zimbra_require_interprocess_security", true);
        let ca = host.zimbra_path("conf/ca/ca.pem");
        let ca = host.read_bytes(&ca)?.map(|pem| (ca, pem));
        Ok(Some(Settings {
            read_urls,
            write_urls,
            bind_dn,
            password,
            starttls,
            ca,
            connect_timeout: CONNECT_TIMEOUT,
            operation_timeout: OPERATION_TIMEOUT,
            deep: o.deep,
            page_size: 1000,
        }))
    }
}

/// Accepts `ldap://`, `ldaps://` and `ldapi://` URLs; anything else is a
/// typo caught before connecting.
fn check_url(u: &str) -> Result<()> {
    let lower = u.to_ascii_lowercase();
    if ["ldap://", "ldaps://", "ldapi://"]
        .iter()
        .any(|s| lower.starts_with(s))
    {
        Ok(())
    } else {
        Err(Error::usage(
            format!("`{u}` is not an LDAP URL"),
            "write it as ldap://HOST:389 or ldaps://HOST:636",
        ))
    }
}

/// The first line of the password file, without its line end. The error
/// names the file, never its content.
fn read_password_file(f: &std::path::Path) -> Result<Secret> {
    let text = crate::host::read_local("--bind-password-file", f)?;
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(Error::usage(
            format!("--bind-password-file `{}` is empty", f.display()),
            "write the bind password on the file's first line",
        ));
    }
    Ok(Secret::new(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "Zz-lc-secret-9f3";

    fn host_with(localconfig: Option<&str>) -> (tempfile::TempDir, Host) {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = localconfig {
            let conf = dir.path().join("opt/zimbra/conf");
            std::fs::create_dir_all(&conf).unwrap();
            std::fs::write(conf.join("localconfig.xml"), text).unwrap();
        }
        let host = Host::open(dir.path(), None).unwrap();
        (dir, host)
    }

    fn lc(keys: &[(&str, &str)]) -> String {
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<localconfig>\n");
        for (k, v) in keys {
            s.push_str(&format!(
                "  <key name=\"{k}\">\n    <value>{v}</value>\n  </key>\n"
            ));
        }
        s.push_str("</localconfig>\n");
        s
    }

    #[test]
    fn reads_replicas_master_bind_and_tls_from_localconfig() {
        let text = lc(&[
            ("ldap_host", "mail.corp.example"),
            (
                "ldap_url",
                "ldap://replica1.corp.example:389  ldap://${ldap_host}:389",
            ),
            ("ldap_master_url", "ldap://master.corp.example:389"),
            ("zimbra_ldap_userdn", "uid=zimbra,cn=admins,cn=zimbra"),
            ("zimbra_ldap_password", PW),
            ("ldap_starttls_supported", "1"),
        ]);
        let (_d, host) = host_with(Some(&text));
        let s = Settings::resolve(&host, &Overrides::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            s.read_urls,
            [
                "ldap://replica1.corp.example:389",
                "ldap://mail.corp.example:389"
            ]
        );
        assert_eq!(s.write_urls, ["ldap://master.corp.example:389"]);
        assert_eq!(s.bind_dn, DEFAULT_BIND_DN);
        assert_eq!(s.password.expose(), PW);
        assert!(s.starttls);
        assert!(!format!("{s:?}").contains(PW), "{s:?}");
    }

    #[test]
    fn starttls_needs_all_three_keys() {
        // (supported, required, interprocess) -> starttls; None = unset.
        type Key<'a> = Option<&'a str>;
        let cases: &[(Key, Key, Key, bool)] = &[
            (None, None, None, false),
            (Some("1"), None, None, true),
            (Some("true"), Some("true"), Some("1"), true),
            (Some("1"), Some("false"), None, false),
            (Some("1"), None, Some("0"), false),
            (Some("0"), Some("true"), Some("1"), false),
        ];
        for (sup, req, ipc, want) in cases {
            let mut keys = vec![
                ("ldap_url", "ldap://127.0.0.1:389"),
                ("zimbra_ldap_password", PW),
            ];
            if let Some(v) = sup {
                keys.push(("ldap_starttls_supported", v));
            }
            if let Some(v) = req {
                keys.push(("ldap_starttls_required", v));
            }
            if let Some(v) = ipc {
                keys.push(("zimbra_require_interprocess_security", v));
            }
            let (_d, host) = host_with(Some(&lc(&keys)));
            let s = Settings::resolve(&host, &Overrides::default())
                .unwrap()
                .unwrap();
            assert_eq!(s.starttls, *want, "{sup:?} {req:?} {ipc:?}");
        }
    }

    #[test]
    fn master_falls_back_to_ldap_url() {
        let text = lc(&[
            (
                "ldap_url",
                "ldap://a.corp.example:389 ldap://b.corp.example:389",
            ),
            ("zimbra_ldap_password", PW),
        ]);
        let (_d, host) = host_with(Some(&text));
        let s = Settings::resolve(&host, &Overrides::default())
            .unwrap()
            .unwrap();
        assert_eq!(s.write_urls, s.read_urls);
        assert!(!s.starttls);
    }

    #[test]
    fn no_localconfig_or_no_ldap_url_means_no_directory() {
        let (_d, host) = host_with(None);
        assert!(
            Settings::resolve(&host, &Overrides::default())
                .unwrap()
                .is_none()
        );
        let (_d, host) = host_with(Some(&lc(&[("zimbra_ldap_password", PW)])));
        assert!(
            Settings::resolve(&host, &Overrides::default())
                .unwrap()
                .is_none()
        );
        // ... unless a flag asks for a server.
        let o = Overrides {
            bind_dn: Some("cn=x".into()),
            ..Overrides::default()
        };
        let e = Settings::resolve(&host, &o).unwrap_err();
        assert!(e.to_string().contains("ldap_url"), "{e}");
        assert!(e.help().unwrap().contains("--ldap-url"));
    }

    #[test]
    fn flags_override_localconfig() {
        let text = lc(&[
            ("ldap_url", "ldap://replica.corp.example:389"),
            ("ldap_master_url", "ldap://master.corp.example:389"),
            ("zimbra_ldap_userdn", "uid=other,cn=admins,cn=zimbra"),
            ("zimbra_ldap_password", PW),
        ]);
        let (d, host) = host_with(Some(&text));
        let pwfile = d.path().join("pw");
        std::fs::write(&pwfile, "from-file\r\nsecond line\n").unwrap();
        let o = Overrides {
            urls: vec!["ldap://127.0.0.1:3890 ldaps://127.0.0.1:6360".into()],
            bind_dn: Some("cn=admin".into()),
            password_file: Some(pwfile),
            deep: true,
        };
        let s = Settings::resolve(&host, &o).unwrap().unwrap();
        assert_eq!(
            s.read_urls,
            ["ldap://127.0.0.1:3890", "ldaps://127.0.0.1:6360"]
        );
        assert_eq!(s.write_urls, s.read_urls);
        assert_eq!(s.bind_dn, "cn=admin");
        assert_eq!(s.password.expose(), "from-file");
        assert!(s.deep);
        // Without localconfig the flags alone are enough.
        let (_d2, bare) = host_with(None);
        let s = Settings::resolve(&bare, &o).unwrap().unwrap();
        assert_eq!(s.bind_dn, "cn=admin");
    }

    #[test]
    fn bad_input_is_refused_without_quoting_secrets() {
        let (d, host) = host_with(Some(&lc(&[("ldap_url", "ldap://127.0.0.1:389")])));
        let e = Settings::resolve(&host, &Overrides::default()).unwrap_err();
        assert!(e.help().unwrap().contains("--bind-password-file"), "{e}");

        let (_d, host2) = host_with(Some(&lc(&[
            ("ldap_url", "http://127.0.0.1:389"),
            ("zimbra_ldap_password", PW),
        ])));
        let e = Settings::resolve(&host2, &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("not an LDAP URL"), "{e}");

        let empty = d.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let o = Overrides {
            urls: vec!["ldap://127.0.0.1:1".into()],
            password_file: Some(empty),
            ..Overrides::default()
        };
        let e = Settings::resolve(&host, &o).unwrap_err();
        assert!(e.to_string().contains("is empty"), "{e}");
        let o = Overrides {
            urls: vec!["ldap://127.0.0.1:1".into()],
            password_file: Some(d.path().join("missing")),
            ..Overrides::default()
        };
        assert!(Settings::resolve(&host, &o).is_err());
    }
}
