//! The `--dns-config` file: the zones held elsewhere, their servers and
//! TSIG keys (read from BIND key files; the secret never leaves them but
//! for signing).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use serde::Deserialize;

use crate::dns::fqdn;
use crate::dns::zone::parse::{absolute, in_zone};
use crate::error::{Error, Result};

/// How long a question or an update may take unless configured.
const DEFAULT_TIMEOUT: u64 = 5;

/// A TSIG key. The secret is never shown: `Debug` redacts it.
#[derive(Clone)]
pub struct TsigKey {
    /// Key name (absolute, lower case).
    pub name: String,
    pub algorithm: TsigAlgorithm,
    pub(super) secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// One zone zmreip may update.
#[derive(Debug, Clone)]
pub struct ZoneConfig {
    /// Absolute, lower case, with the trailing dot.
    pub name: String,
    pub server: SocketAddr,
    pub key: TsigKey,
    /// Absolute names to look at besides the apex and the host name.
    pub names: Vec<String>,
    pub timeout: Duration,
}

/// The RFC 2136 section of the configuration.
#[derive(Debug, Clone, Default)]
pub struct UpdateConfig {
    pub zones: Vec<ZoneConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    zone: Vec<RawZone>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    name: String,
    server: String,
    key_file: String,
    key: Option<String>,
    #[serde(default)]
    names: Vec<String>,
    timeout: Option<u64>,
}

impl UpdateConfig {
    /// Reads the configuration and the key files it names.
    pub fn load(path: &Path) -> Result<UpdateConfig> {
        let text = crate::host::read_local("--dns-config", path)?;
        let shown = path.display().to_string();
        let raw: RawConfig = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(1);
            Error::Parse {
                path: shown.clone(),
                line,
                message: e.message().to_string(),
                help: Some(
                    "each zone is a [[zone]] table with name, server and key_file (see `zmreip plan --help`)".into(),
                ),
            }
        })?;
        if raw.zone.is_empty() {
            return Err(Error::other(
                format!("`{shown}` names no zone"),
                "add a [[zone]] table with name, server and key_file",
            ));
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut zones = Vec::new();
        for z in raw.zone {
            let name = fqdn(&z.name);
            let server = crate::dns::parse_server(&z.server)
                .map_err(|m| Error::other(format!("{shown}: zone {name}: {m}"), "fix `server`"))?;
            let key_path = dir.join(&z.key_file);
            let key = read_key(&key_path, z.key.as_deref())?;
            let names = z
                .names
                .iter()
                // Relative to the zone unless absolute; `name` is never
                // empty, so every name resolves.
                .filter_map(|n| absolute(n.trim(), &name))
                .collect();
            zones.push(ZoneConfig {
                name,
                server,
                key,
                names,
                timeout: Duration::from_secs(z.timeout.unwrap_or(DEFAULT_TIMEOUT).max(1)),
            });
        }
        Ok(UpdateConfig { zones })
    }

    /// The configured zone named `zone`.
    pub fn zone(&self, zone: &str) -> Option<&ZoneConfig> {
        let z = fqdn(zone);
        self.zones.iter().find(|c| c.name == z)
    }

    /// The most specific configured zone holding `name`.
    pub(super) fn zone_for(&self, name: &str) -> Option<&ZoneConfig> {
        self.zones
            .iter()
            .filter(|z| in_zone(name, &z.name))
            .max_by_key(|z| z.name.len())
    }
}

const KEY_HELP: &str = "key_file names a key file as `tsig-keygen NAME > FILE` writes it: key \"NAME\" { algorithm hmac-sha256; secret \"BASE64\"; };";

/// Reads a BIND key file (`key "name" { algorithm hmac-sha256; secret
/// "..."; };`, as `tsig-keygen` writes it). `want` names the key when the
/// file holds several.
pub fn read_key(path: &Path, want: Option<&str>) -> Result<TsigKey> {
    let shown = path.display().to_string();
    // A key file holds a secret, and `key_file` may name any file (a
    // typo, /etc/shadow): errors name the file and line, never its text.
    let text = crate::host::read_local("key_file", path).map_err(|e| match e {
        Error::Parse { path, line, .. } => Error::Parse {
            path,
            line,
            message: "not valid UTF-8 text (not a key file?)".into(),
            help: Some(KEY_HELP.into()),
        },
        other => other,
    })?;
    let stmts = crate::dns::zone::namedconf::parse_conf(&shown, &text).map_err(|e| match e {
        Error::Parse { path, line, .. } => Error::Parse {
            path,
            line,
            message:
                "not a BIND key file: a syntax error (the text is not shown: it may hold a secret)"
                    .into(),
            help: Some(KEY_HELP.into()),
        },
        other => other,
    })?;
    let keys: Vec<_> = stmts
        .iter()
        .filter(|s| s.keyword() == Some("key") && s.block.is_some())
        .collect();
    let chosen = match want {
        Some(w) => keys
            .iter()
            .find(|k| k.arg(1).is_some_and(|n| fqdn(n) == fqdn(w))),
        None if keys.len() == 1 => keys.first(),
        None => None,
    };
    let Some(k) = chosen else {
        let names: Vec<&str> = keys.iter().filter_map(|k| k.arg(1)).collect();
        return Err(Error::other(
            match want {
                Some(w) => format!("`{shown}` has no key `{w}` (it has: {})", names.join(", ")),
                None => format!(
                    "`{shown}` holds {} keys ({}); say which",
                    names.len(),
                    names.join(", ")
                ),
            },
            "set `key = \"NAME\"` in the [[zone]] table, or point key_file at a file with one key",
        ));
    };
    let name = k.arg(1).unwrap_or_default().to_string();
    let field = |f: &str| k.option(f).and_then(|s| s.arg(1));
    let alg = field("algorithm").map(str::to_ascii_lowercase);
    let algorithm = match alg.as_deref() {
        Some("hmac-sha256") => TsigAlgorithm::HmacSha256,
        Some("hmac-sha384") => TsigAlgorithm::HmacSha384,
        Some("hmac-sha512") => TsigAlgorithm::HmacSha512,
        other => {
            return Err(Error::parse(
                &shown,
                k.line,
                format!(
                    "key `{name}`: {} is not supported (use hmac-sha256, hmac-sha384 or hmac-sha512)",
                    // A word of the file, shown only when it looks like
                    // an algorithm's name (a secret put there does not).
                    match other {
                        Some(a)
                            if a.len() <= 16
                                && a.bytes().all(|b| b.is_ascii_lowercase()
                                    || b.is_ascii_digit()
                                    || b == b'-') =>
                            format!("algorithm {a}"),
                        Some(_) => "its algorithm".to_string(),
                        None => "a key without algorithm".to_string(),
                    }
                ),
            ));
        }
    };
    // The secret's text never goes into an error.
    let secret = field("secret")
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::parse(
                &shown,
                k.line,
                format!("key `{name}` has no valid base64 `secret`"),
            )
        })?;
    Ok(TsigKey {
        name: fqdn(&name),
        algorithm,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_errors_name_the_line_never_the_text() {
        const SECRET: &str = "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1zaG93";
        // (key file text, line of the error, part of the message)
        let cases: &[(String, usize, &str)] = &[
            // A syntax error right after the secret.
            (
                format!("key \"k\" {{\n  algorithm hmac-sha256;\n  secret \"{SECRET}\"\n}};\n"),
                4,
                "not a BIND key file",
            ),
            (
                format!("key \"k\" {{\n  algorithm hmac-sha256;\n  secret \"{SECRET};\n}};\n"),
                3,
                "not a BIND key file",
            ),
            // The secret where the algorithm goes.
            (
                format!("key \"k\" {{\n  algorithm {SECRET};\n  secret \"{SECRET}\";\n}};\n"),
                1,
                "its algorithm is not supported",
            ),
            // Not base64.
            (
                format!("key \"k\" {{\n  algorithm hmac-sha256;\n  secret \"{SECRET}!!\";\n}};\n"),
                1,
                "no valid base64 `secret`",
            ),
            // key_file = /etc/shadow.
            (
                format!("root:$6${SECRET}$x:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"),
                1,
                "not a BIND key file",
            ),
        ];
        let d = tempfile::tempdir().unwrap();
        for (text, line, want) in cases {
            let p = d.path().join("key");
            std::fs::write(&p, text).unwrap();
            let e = read_key(&p, None).unwrap_err();
            let shown = format!("{e} {}", e.help().unwrap_or_default());
            assert!(
                !shown.contains(SECRET) && !shown.contains("root:"),
                "{shown}"
            );
            assert!(shown.contains(want), "{want}: {shown}");
            match e {
                Error::Parse { path, line: l, .. } => {
                    assert_eq!((path, l), (p.display().to_string(), *line), "{shown}");
                }
                other => panic!("{other:?}"),
            }
        }
        // A FIFO as key_file is refused, not waited on.
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: the path is NUL-terminated.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_key(&fifo, None).unwrap_err().to_string();
        assert!(e.contains("is a FIFO"), "{e}");
    }
}
