//! Surface `videoserver`: the configuration of Carbonio's video server,
//! Janus, `/etc/janus/*.jcfg` (`janus.jcfg` and its transports', plugins'
//! and event handlers' files). Carbonio's change-IP procedure edits
//! `nat_1_1_mapping` in `janus.jcfg`: the address Janus puts in its ICE
//! candidates, so until it moves clients are sent to the old one.
//!
//! The files are libconfig: `name = value;` or `name: value;`, groups
//! `{ }`, lists `( )` and arrays `[ ]`, `"strings"` (adjacent ones join),
//! comments `#`, `//` and `/* */`. Only quoted strings hold addresses;
//! what each is depends on its setting's name:
//!
//! * this host's own addresses: `nat_1_1_mapping` (a comma-separated
//!   list), `ice_enforce_list` and `ice_ignore_list` (interfaces and
//!   addresses), `interface`, and the transports' bind addresses (`ip`,
//!   `admin_ip`, `ws_ip`, `wss_ip`, `admin_ws_ip`, `admin_wss_ip`);
//! * other hosts: `stun_server`, `turn_server`, an event handler's `host`
//!   (the message broker), and the URL `turn_rest_api`;
//! * secrets (`api_secret`, `admin_secret`, `turn_pwd`, keys, passwords)
//!   are never read;
//! * any other string is text (literal replacement, marked as such).

use std::ops::Range;

use super::service_discover::is_secret;
use super::{Ctx, Field, FileSurface, Surface, analyze_text};
use crate::error::{Error, Result};
use crate::model::Report;
use crate::policy::ValueKind::{self, OtherHost, OwnAddress, Text, Url};

/// The `videoserver` surface.
pub struct Videoserver;

const GLOB: &str = "/etc/janus/*.jcfg";

/// Settings whose strings are addresses.
static KEYS: &[(&str, ValueKind)] = &[
    ("nat_1_1_mapping", OwnAddress),
    ("ice_enforce_list", OwnAddress),
    ("ice_ignore_list", OwnAddress),
    ("interface", OwnAddress),
    ("ip", OwnAddress),
    ("admin_ip", OwnAddress),
    ("ws_ip", OwnAddress),
    ("wss_ip", OwnAddress),
    ("admin_ws_ip", OwnAddress),
    ("admin_wss_ip", OwnAddress),
    ("stun_server", OtherHost),
    ("turn_server", OtherHost),
    ("host", OtherHost),
    ("turn_rest_api", Url),
];

impl FileSurface for Videoserver {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        ctx.host.glob(GLOB)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let settings = settings(text).map_err(|(at, message)| Error::Parse {
            path: path.to_string(),
            line: text[..at].matches('\n').count() + 1,
            message,
            help: Some("fix the file (Janus refuses it as it is), or move it away".into()),
        })?;
        let fields = settings
            .into_iter()
            .filter(|(key, _)| !is_secret(key))
            .map(|(key, span)| {
                let kind = KEYS
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(Text, |(_, kind)| *kind);
                Field::new(span, kind)
            })
            .collect();
        analyze_text(Surface::Videoserver, path, text, ctx, fields)
    }
}

/// A string value and the name of the setting it is (part of) the value
/// of.
type Setting<'a> = (&'a str, Range<usize>);

/// Every string of a libconfig file with its setting. `Err` gives the
/// offset of what is broken and why.
fn settings(text: &str) -> std::result::Result<Vec<Setting<'_>>, (usize, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    // Each open group or list: its bracket, the setting it is the value
    // of, and where it opens.
    let mut stack: Vec<(u8, Option<&str>, usize)> = Vec::new();
    let mut current: Option<&str> = None;
    let mut last_word: Option<&str> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'#' => i += text[i..].find('\n').unwrap_or(b.len() - i),
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i += text[i..].find('\n').unwrap_or(b.len() - i);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .ok_or((i, "this comment is never closed".to_string()))?;
                i += 2 + end + 2;
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' && b[j] != b'\n' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                if b.get(j) != Some(&b'"') {
                    return Err((i, "this string is never closed".into()));
                }
                if let Some(key) = current {
                    out.push((key, start..j));
                }
                i = j + 1;
            }
            b'=' | b':' => {
                current = last_word;
                i += 1;
            }
            b'{' | b'(' | b'[' => {
                stack.push((c, current, i));
                i += 1;
            }
            b'}' | b')' | b']' => {
                let want = match c {
                    b'}' => b'{',
                    b')' => b'(',
                    _ => b'[',
                };
                match stack.pop() {
                    Some((open, key, _)) if open == want => current = key,
                    _ => return Err((i, format!("this `{}` closes nothing", c as char))),
                }
                i += 1;
            }
            b';' | b',' => {
                // A list keeps its setting; a group's next setting starts.
                if !matches!(stack.last(), Some((b'(' | b'[', ..))) {
                    current = None;
                }
                i += 1;
            }
            _ if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'*' => {
                let s = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b"_-*.+".contains(&b[i])) {
                    i += 1;
                }
                last_word = Some(&text[s..i]);
            }
            _ => i += 1,
        }
    }
    if let Some((open, _, at)) = stack.last() {
        return Err((*at, format!("this `{}` is never closed", *open as char)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{Fixture, V4, changes};

    fn plan(text: &str) -> Vec<(usize, String)> {
        let fx = Fixture::new(V4);
        let r = Videoserver
            .analyze("/etc/janus/janus.jcfg", text, &fx.plan())
            .unwrap();
        changes(&r).into_iter().map(|(n, _, a)| (n, a)).collect()
    }

    #[test]
    fn janus_jcfg() {
        let text = r#"general: {
	api_secret = "192.168.2.1"	# never read
	#interface = "192.168.2.1"
	interface = "192.168.2.1"	# Interface to use (will be used in SDP)
}
/* nat: 192.168.2.1 */
nat: {
	stun_server = "192.168.2.10"
	nat_1_1_mapping = "203.0.113.40,192.168.2.1"
	ice_enforce_list = "eth0,192.168.2.1"
	turn_rest_api = "http://192.168.2.1:8088/turn"
	turn_pwd = "192.168.2.1"
}
media: {
	rtp_port_range = "20000-40000"
}
"#;
        assert_eq!(
            plan(text),
            vec![
                (
                    4,
                    "\tinterface = \"10.40.7.131\"\t# Interface to use (will be used in SDP)"
                        .into()
                ),
                (9, "\tnat_1_1_mapping = \"203.0.113.40,10.40.7.131\"".into()),
                (10, "\tice_enforce_list = \"eth0,10.40.7.131\"".into()),
                (
                    11,
                    "\tturn_rest_api = \"http://10.40.7.131:8088/turn\"".into()
                ),
            ]
        );
    }

    #[test]
    fn lists_and_transports() {
        let text = "general = {\n  ip = \"192.168.2.1\";\n  hosts = ( \"192.168.2.1\", \"192.168.2.10\" );\n  port = 8088;\n};\n";
        assert_eq!(
            plan(text),
            vec![
                (2, "  ip = \"10.40.7.131\";".into()),
                (3, "  hosts = ( \"10.40.7.131\", \"192.168.2.10\" );".into()),
            ]
        );
    }

    #[test]
    fn broken_files_are_errors_at_their_line() {
        let fx = Fixture::new(V4);
        for (text, line) in [
            ("nat: {\n\tnat_1_1_mapping = \"192.168.2.1\n}\n", 2),
            ("nat: {\n\tnat_1_1_mapping = \"192.168.2.1\"\n", 1),
            ("nat: {\n}\n}\n", 3),
            ("/* open\nnat: {}\n", 1),
        ] {
            let e = Videoserver
                .analyze("/etc/janus/janus.jcfg", text, &fx.scan())
                .unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("/etc/janus/janus.jcfg:{line}: ")),
                "{text:?}: {e}"
            );
        }
    }
}
