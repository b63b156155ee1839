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
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
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

/// Reads a BIND key file (`key "name" { algorithm hmac-sha256; secret
/// "..."; };`, as `tsig-keygen` writes it). `want` names the key when the
/// file holds several.
pub fn read_key(path: &Path, want: Option<&str>) -> Result<TsigKey> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let stmts = crate::dns::zone::namedconf::parse_conf(&shown, &text)?;
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
                    "key `{name}`: algorithm {} is not supported (use hmac-sha256, hmac-sha384 or hmac-sha512)",
                    other.unwrap_or("(none)")
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
