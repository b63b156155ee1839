//! What the Zimbra directory says should listen on this server: the
//! mailbox's IMAP, POP3, LMTP and admin listeners, from the server entry
//! (`cn=<host name>,cn=servers,cn=zimbra`) with global config
//! (`cn=config,cn=zimbra`) as fallback, the way Zimbra inherits server
//! settings.
//!
//! A listener is expected only where the directory says so explicitly:
//! the server runs the service (`zimbraServiceEnabled`), the listener is
//! enabled (`TRUE`) where it has a switch, and its port is set. Defaults
//! compiled into Zimbra are not guessed. A listener whose bind address
//! names another address than the new one is not expected there.

use std::net::IpAddr;

use crate::directory::Entry;
use crate::discover::Sources;
use crate::error::Error;

/// One listener the directory configures.
#[derive(Debug, Clone, Copy)]
pub struct Listener {
    /// Name in check ids (`imap`).
    pub name: &'static str,
    /// The zimbraServiceEnabled value that runs it.
    pub service: &'static str,
    /// Its on/off switch, when it has one.
    pub enabled: Option<&'static str>,
    pub port: &'static str,
    pub bind: &'static str,
}

const fn l(
    name: &'static str,
    enabled: Option<&'static str>,
    port: &'static str,
    bind: &'static str,
) -> Listener {
    Listener {
        name,
        service: "mailbox",
        enabled,
        port,
        bind,
    }
}

/// mailboxd's listeners (zimbra-config-model.md §1.3 B).
pub const LISTENERS: &[Listener] = &[
    l(
        "imap",
        Some("zimbraImapServerEnabled"),
        "zimbraImapBindPort",
        "zimbraImapBindAddress",
    ),
    l(
        "imaps",
        Some("zimbraImapSSLServerEnabled"),
        "zimbraImapSSLBindPort",
        "zimbraImapSSLBindAddress",
    ),
    l(
        "pop3",
        Some("zimbraPop3ServerEnabled"),
        "zimbraPop3BindPort",
        "zimbraPop3BindAddress",
    ),
    l(
        "pop3s",
        Some("zimbraPop3SSLServerEnabled"),
        "zimbraPop3SSLBindPort",
        "zimbraPop3SSLBindAddress",
    ),
    l("lmtp", None, "zimbraLmtpBindPort", "zimbraLmtpBindAddress"),
    l("admin", None, "zimbraAdminPort", "zimbraAdminBindAddress"),
];

/// The server entry and global config, as read from the directory.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    pub server: Option<Entry>,
    pub global: Option<Entry>,
}

impl ServerConfig {
    /// The server's values of `attr`, else global config's, with the DN
    /// they came from.
    fn inherited(&self, attr: &str) -> Option<(&[String], &str)> {
        [&self.server, &self.global]
            .into_iter()
            .flatten()
            .find_map(|e| {
                e.get(attr)
                    .filter(|v| !v.is_empty())
                    .map(|v| (v, e.dn.as_str()))
            })
    }

    /// The listeners expected on `new`: (port, listener name, why).
    /// Listeners the directory binds elsewhere are left out.
    pub fn expected(&self, new: &[IpAddr]) -> Vec<(u16, &'static str, String)> {
        let Some(server) = &self.server else {
            return Vec::new();
        };
        let services = server.get("zimbraServiceEnabled").unwrap_or(&[]);
        let mut out = Vec::new();
        for li in LISTENERS {
            if !services.iter().any(|s| s.eq_ignore_ascii_case(li.service)) {
                continue;
            }
            if let Some(sw) = li.enabled {
                match self.inherited(sw) {
                    Some((v, _)) if v[0].eq_ignore_ascii_case("TRUE") => {}
                    _ => continue,
                }
            }
            let Some((port, from)) = self.inherited(li.port) else {
                continue;
            };
            let Ok(port) = port[0].trim().parse::<u16>() else {
                continue;
            };
            let binds = server.get(li.bind).unwrap_or(&[]);
            let here = binds.is_empty()
                || binds.iter().any(|b| {
                    b.trim()
                        .parse::<IpAddr>()
                        .is_ok_and(|ip| ip.is_unspecified() || new.contains(&ip))
                });
            if !here {
                continue;
            }
            let mut why = format!(
                "directory: {} runs {}, {} {port} ({from})",
                server.dn, li.service, li.port
            );
            if !binds.is_empty() {
                why.push_str(&format!(", {} {}", li.bind, binds.join(" ")));
            }
            out.push((port, li.name, why));
        }
        out
    }
}

/// Reads the server entry of `hostname` and global config from the
/// directory the request names. `Ok(None)` when there is no directory.
pub fn read(sources: &mut Sources, hostname: &str) -> Result<Option<ServerConfig>, Error> {
    let Some(dir) = sources.directory.as_mut() else {
        return Ok(None);
    };
    let server_dn = format!("cn={hostname},cn=servers,cn=zimbra");
    let mut cfg = ServerConfig::default();
    // The two entries sit at the top of the config branch, which readers
    // return first; stop as soon as both are in.
    let done = "verify: server entry and global config read";
    let r = dir.for_each(&mut |e| {
        if e.dn.eq_ignore_ascii_case(&server_dn) {
            cfg.server = Some(e);
        } else if e.dn.eq_ignore_ascii_case("cn=config,cn=zimbra") {
            cfg.global = Some(e);
        }
        if cfg.server.is_some() && cfg.global.is_some() {
            return Err(Error::other(done, ""));
        }
        Ok(())
    });
    match r {
        Ok(()) => {}
        Err(e) if e.to_string() == done => {}
        Err(e) => return Err(e),
    }
    Ok(Some(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dn: &str, attrs: &[(&str, &[&str])]) -> Entry {
        Entry {
            dn: dn.into(),
            attrs: attrs
                .iter()
                .map(|(n, v)| (n.to_string(), v.iter().map(ToString::to_string).collect()))
                .collect(),
        }
    }

    fn ports(cfg: &ServerConfig, new: &str) -> Vec<(u16, &'static str)> {
        cfg.expected(&[new.parse().unwrap()])
            .into_iter()
            .map(|(p, n, _)| (p, n))
            .collect()
    }

    const SERVER: &str = "cn=mail.corp.example,cn=servers,cn=zimbra";
    const GLOBAL: &str = "cn=config,cn=zimbra";

    #[test]
    fn inherited_ports_switches_and_bind_addresses() {
        let cfg = ServerConfig {
            server: Some(entry(
                SERVER,
                &[
                    ("zimbraServiceEnabled", &["ldap", "mta", "mailbox"]),
                    ("zimbraImapBindAddress", &["10.40.7.131"]),
                    ("zimbraPop3BindAddress", &["172.20.14.25"]),
                    ("zimbraPop3BindPort", &["110"]),
                    ("zimbraLmtpBindPort", &["7025"]),
                    ("zimbraImapSSLServerEnabled", &["FALSE"]),
                ],
            )),
            global: Some(entry(
                GLOBAL,
                &[
                    ("zimbraImapBindPort", &["143"]),
                    ("zimbraImapServerEnabled", &["TRUE"]),
                    ("zimbraImapSSLServerEnabled", &["TRUE"]),
                    ("zimbraImapSSLBindPort", &["993"]),
                    ("zimbraPop3ServerEnabled", &["TRUE"]),
                    ("zimbraAdminPort", &["not-a-port"]),
                ],
            )),
        };
        // imaps is switched off on the server (the server wins); pop3 binds
        // another address; admin's port does not parse.
        assert_eq!(ports(&cfg, "10.40.7.131"), [(143, "imap"), (7025, "lmtp")]);
        // On another new address, the IMAP bind address excludes it.
        assert_eq!(ports(&cfg, "10.40.7.13"), [(7025, "lmtp")]);
        let why = &cfg.expected(&["10.40.7.131".parse().unwrap()])[0].2;
        assert_eq!(
            why,
            "directory: cn=mail.corp.example,cn=servers,cn=zimbra runs mailbox, zimbraImapBindPort 143 (cn=config,cn=zimbra), zimbraImapBindAddress 10.40.7.131"
        );
    }

    #[test]
    fn nothing_without_the_service_or_the_server_entry() {
        let global = entry(GLOBAL, &[("zimbraLmtpBindPort", &["7025"])]);
        let no_mailbox = ServerConfig {
            server: Some(entry(SERVER, &[("zimbraServiceEnabled", &["mta"])])),
            global: Some(global.clone()),
        };
        assert!(ports(&no_mailbox, "10.40.7.131").is_empty());
        let no_server = ServerConfig {
            server: None,
            global: Some(global),
        };
        assert!(ports(&no_server, "10.40.7.131").is_empty());
        // A wildcard bind address listens everywhere.
        let wildcard = ServerConfig {
            server: Some(entry(
                SERVER,
                &[
                    ("zimbraServiceEnabled", &["mailbox"]),
                    ("zimbraLmtpBindPort", &["7025"]),
                    ("zimbraLmtpBindAddress", &["0.0.0.0"]),
                ],
            )),
            global: None,
        };
        assert_eq!(ports(&wildcard, "10.40.7.131"), [(7025, "lmtp")]);
    }

    #[test]
    fn reads_both_entries_from_an_ldif() {
        let d = tempfile::tempdir().unwrap();
        let ldif = d.path().join("z.ldif");
        std::fs::write(
            &ldif,
            "dn: cn=config,cn=zimbra\nobjectClass: zimbraGlobalConfig\ncn: config\nzimbraImapBindPort: 143\n\n\
             dn: cn=mail.corp.example,cn=servers,cn=zimbra\nobjectClass: zimbraServer\ncn: mail.corp.example\nzimbraServiceEnabled: mailbox\n\n\
             dn: uid=a,ou=people,dc=corp,dc=example\nobjectClass: zimbraAccount\nuid: a\n",
        )
        .unwrap();
        let mut args = crate::discover::SourceArgs::new(d.path());
        args.directory.ldif = Some(ldif);
        let mut src = Sources::open(&args).unwrap();
        let cfg = read(&mut src, "MAIL.corp.example").unwrap().unwrap();
        assert_eq!(cfg.server.unwrap().dn, SERVER);
        assert_eq!(
            cfg.global.unwrap().get("zimbraImapBindPort").unwrap(),
            ["143"]
        );
        let mut args = crate::discover::SourceArgs::new(d.path());
        args.directory.none = true;
        let mut src = Sources::open(&args).unwrap();
        assert!(read(&mut src, "mail.corp.example").unwrap().is_none());
    }
}
