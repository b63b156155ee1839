//! HTTP GET for the url method and dyndns2: blocking (run off the event
//! path), bounded in time and size, HTTPS through rustls with the ring
//! provider and the Mozilla roots. Plain `http://` is used only when the
//! configuration says so.

use std::time::Duration;

use base64::Engine as _;

use crate::directory::ldap::Secret;

/// Who is asking, as dyndns2 providers want it ("company - device -
/// version").
pub const USER_AGENT: &str = concat!("zmreip - watch - ", env!("CARGO_PKG_VERSION"));

/// Largest body read: an address, or a dyndns2 answer, is a few bytes.
const BODY_LIMIT: u64 = 16 * 1024;

/// A response: status and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// `GET url?query` with basic authentication when `auth` is given. The
/// error text names the host, never the credentials.
pub fn get(
    url: &str,
    query: &[(&str, String)],
    auth: Option<(&str, &Secret)>,
    timeout: Duration,
) -> Result<Response, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(USER_AGENT)
        // Credentials are not for whoever a redirect points at.
        .max_redirects(0)
        .build()
        .into();
    let mut req = agent.get(url);
    for (k, v) in query {
        req = req.query(*k, v);
    }
    if let Some((user, pw)) = auth {
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", pw.expose()));
        req = req.header("Authorization", format!("Basic {token}"));
    }
    let host = super::config::url_host(url);
    let mut resp = req.call().map_err(|e| match e {
        ureq::Error::Timeout(_) => format!("{host} did not answer within {} s", timeout.as_secs()),
        ureq::Error::HostNotFound => format!("{host} does not resolve"),
        ureq::Error::Io(io) => format!("{host}: {io}"),
        other => format!("{host}: {other}"),
    })?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .lossy_utf8(true)
        .read_to_string()
        .map_err(|e| format!("{host}: cannot read the answer: {e}"))?;
    Ok(Response { status, body })
}
