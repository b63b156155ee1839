//! One bound connection: fail over across the configured URLs in order,
//! StartTLS or ldaps as configured, bind, read the root DSE. Errors say
//! which servers were tried and what to do, and never carry the password.

use std::sync::Arc;
use std::time::Duration;

use ldap3::tokio::runtime::{Builder, Runtime};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, LdapResult, Scope, SearchEntry};

use super::settings::Settings;
use crate::error::{Error, Result};

/// OID of the Paged Results control (RFC 2696).
pub const PAGED_RESULTS: &str = "1.2.840.113556.1.4.319";
/// OID of the Assertion control (RFC 4528).
pub const ASSERTION: &str = "1.3.6.1.1.12";

/// What the server says about itself (root DSE).
#[derive(Debug, Clone, Default)]
pub struct RootDse {
    pub controls: Vec<String>,
    pub subschema: Option<String>,
}

impl RootDse {
    pub fn supports(&self, oid: &str) -> bool {
        self.controls.iter().any(|c| c == oid)
    }
}

/// A bound connection and the runtime that drives it. All operations run
/// inside [`Conn::block_on`].
pub struct Conn {
    rt: Runtime,
    settings: Settings,
    tls: Option<Arc<rustls::ClientConfig>>,
    pub ldap: Ldap,
    /// The URL connected to.
    pub url: String,
    pub dse: RootDse,
    pub timeout: Duration,
}

impl Conn {
    /// Connects to the first of `urls` that answers and binds. `role`
    /// names the servers in messages ("directory", "directory master").
    pub fn open(settings: &Settings, urls: &[String], role: &str) -> Result<Conn> {
        let rt = Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::other(
                    format!("cannot start the LDAP client: {e}"),
                    "this is a bug in zmreip",
                )
            })?;
        let tls = tls_config(settings)?;
        let mut tried: Vec<String> = Vec::new();
        for url in urls {
            match rt.block_on(connect(settings, tls.clone(), url)) {
                Ok((ldap, dse)) => {
                    return Ok(Conn {
                        rt,
                        settings: settings.clone(),
                        tls,
                        ldap,
                        url: url.clone(),
                        dse,
                        timeout: settings.operation_timeout,
                    });
                }
                Err(Failure::Unreachable(why)) => tried.push(format!("{url} ({why})")),
                Err(Failure::Fatal(e)) => return Err(e),
            }
        }
        Err(Error::other(
            format!(
                "cannot reach the Zimbra {role}; tried {}",
                if tried.is_empty() {
                    "no URL".to_string()
                } else {
                    tried.join(", ")
                }
            ),
            "start LDAP on the server (`ldap start` as the zimbra user), check ldap_url in localconfig.xml or give --ldap-url; on a copied snapshot, export the directory with `/opt/zimbra/libexec/zmslapcat DIR` and pass --ldif DIR/ldap.bak (or --no-directory to leave the directory out)",
        ))
    }

    /// Another bound connection to the same server. OpenLDAP keeps one
    /// paged search per connection (a second one invalidates the first's
    /// cookie), so searches that run at once need a connection each.
    pub fn another(&self) -> Result<Ldap> {
        match self
            .rt
            .block_on(connect(&self.settings, self.tls.clone(), &self.url))
        {
            Ok((ldap, _)) => Ok(ldap),
            Err(Failure::Fatal(e)) => Err(e),
            Err(Failure::Unreachable(why)) => Err(Error::other(
                format!("{}: a second connection failed: {why}", self.url),
                "check that the directory server is running and accepts several connections",
            )),
        }
    }

    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

/// Why one URL did not work: try the next one, or stop.
enum Failure {
    Unreachable(String),
    Fatal(Error),
}

/// A rustls configuration trusting the host's Zimbra CA, when it has one.
fn tls_config(settings: &Settings) -> Result<Option<Arc<rustls::ClientConfig>>> {
    let Some((ca, pem)) = &settings.ca else {
        return Ok(None);
    };
    // One provider is in the dependency graph; installing it explicitly
    // keeps a future dependency from making the choice ambiguous.
    let _ = rustls::crypto::ring::default_provider().install_default();
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let bad = |why: String| {
        Error::other(
            format!("cannot use the CA certificate `{ca}`: {why}"),
            "check the Zimbra CA in conf/ca (zmcertmgr viewdeployedcrt)",
        )
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("it holds no certificate".into()));
    }
    Ok(Some(Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )))
}

async fn connect(
    settings: &Settings,
    tls: Option<Arc<rustls::ClientConfig>>,
    url: &str,
) -> std::result::Result<(Ldap, RootDse), Failure> {
    let plain = url.to_ascii_lowercase().starts_with("ldap://");
    let mut s = LdapConnSettings::new()
        .set_conn_timeout(settings.connect_timeout)
        .set_starttls(plain && settings.starttls);
    s = match tls {
        Some(cfg) => s.set_config(cfg),
        None => s.set_no_tls_verify(true),
    };
    let (conn, mut ldap) = LdapConnAsync::with_settings(s, url)
        .await
        .map_err(|e| Failure::Unreachable(transport(&e, settings.connect_timeout)))?;
    ldap3::drive!(conn);
    let res = ldap
        .with_timeout(settings.operation_timeout)
        .simple_bind(&settings.bind_dn, settings.password.expose())
        .await
        .map_err(|e| Failure::Unreachable(transport(&e, settings.operation_timeout)))?;
    match res.rc {
        0 => {}
        49 => {
            return Err(Failure::Fatal(Error::other(
                format!(
                    "{url}: the directory refused the password of `{}` (invalid credentials)",
                    settings.bind_dn
                ),
                "check zimbra_ldap_userdn/zimbra_ldap_password in localconfig.xml, or give --bind-dn and --bind-password-file",
            )));
        }
        // Busy or shutting down: another replica may answer.
        51 | 52 => return Err(Failure::Unreachable(describe(&res))),
        _ => {
            return Err(Failure::Fatal(Error::other(
                format!(
                    "{url}: cannot bind as `{}`: {}",
                    settings.bind_dn,
                    describe(&res)
                ),
                "check the bind DN and the server's security settings (StartTLS: ldap_starttls_supported in localconfig.xml)",
            )));
        }
    }
    let dse = root_dse(&mut ldap, settings.operation_timeout).await;
    Ok((ldap, dse))
}

/// Reads the root DSE; a server that hides it is treated as one without
/// optional controls.
async fn root_dse(ldap: &mut Ldap, timeout: Duration) -> RootDse {
    let res = ldap
        .with_timeout(timeout)
        .search(
            "",
            Scope::Base,
            "(objectClass=*)",
            vec!["supportedControl", "subschemaSubentry"],
        )
        .await;
    let Ok(res) = res else {
        return RootDse::default();
    };
    let Some(entry) = res.0.into_iter().next() else {
        return RootDse::default();
    };
    let e = SearchEntry::construct(entry);
    let get = |name: &str| {
        e.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    RootDse {
        controls: get("supportedControl"),
        subschema: get("subschemaSubentry").into_iter().next(),
    }
}

/// A transport-level failure in words (refused, timed out, TLS).
pub fn transport(e: &LdapError, timeout: Duration) -> String {
    match e {
        LdapError::Timeout { .. } => format!("no answer within {} s", timeout.as_secs()),
        LdapError::Io { source } => source.to_string(),
        LdapError::LdapResult { result } => describe(result),
        other => other.to_string(),
    }
}

/// `unwillingToPerform (53): text` for a result code.
pub fn describe(res: &LdapResult) -> String {
    let name = res
        .to_string()
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| "error".into());
    if res.text.is_empty() {
        format!("{name} ({})", res.rc)
    } else {
        format!("{name} ({}): {}", res.rc, res.text.trim())
    }
}
