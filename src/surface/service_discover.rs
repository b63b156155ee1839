//! Surface `service-discover`: the agent configuration of Carbonio's
//! service mesh, `/etc/zextras/service-discover/*.json` (Consul's agent
//! configuration: `config.json` holds `bind_addr`, written by
//! `service-discover setup`; `main.json` the rest). Carbonio's change-IP
//! procedure edits `bind_addr` by hand; Consul binds to it at start, so
//! until it moves the mesh, and every Carbonio service behind it, stays
//! down.
//!
//! Keys read (Consul's agent configuration reference), by the key that
//! holds the string:
//!
//! * this host's own addresses: `bind_addr`, `advertise_addr`,
//!   `advertise_addr_ipv4`/`_ipv6`, `advertise_addr_wan` (and `_ipv4`/
//!   `_ipv6`), `serf_lan`, `serf_wan`, `client_addr` (a blank-separated
//!   list), and every value under `addresses` (`http`, `dns`, `grpc`,
//!   ...);
//! * other agents and servers, which change only where they are the old
//!   address (a node that moved): `retry_join`, `start_join`,
//!   `retry_join_wan`, `start_join_wan`, `recursors`;
//! * secrets (`encrypt`, ACL tokens, keys, passwords) are never read;
//! * any other string is text: a literal old address moves, and the
//!   change says so.
//!
//! A file that is not JSON is an error at its line (Consul refuses it
//! too).

use std::ops::Range;

use super::{Ctx, Field, FileSurface, Surface, analyze_text};
use crate::error::{Error, Result};
use crate::model::Report;
use crate::policy::ValueKind::{self, OtherHost, OwnAddress, Text};

/// The `service-discover` surface.
pub struct ServiceDiscover;

const GLOB: &str = "/etc/zextras/service-discover/*.json";

/// Keys whose strings are addresses. Values under `addresses` are this
/// host's own too.
static KEYS: &[(&str, ValueKind)] = &[
    ("bind_addr", OwnAddress),
    ("advertise_addr", OwnAddress),
    ("advertise_addr_ipv4", OwnAddress),
    ("advertise_addr_ipv6", OwnAddress),
    ("advertise_addr_wan", OwnAddress),
    ("advertise_addr_wan_ipv4", OwnAddress),
    ("advertise_addr_wan_ipv6", OwnAddress),
    ("serf_lan", OwnAddress),
    ("serf_wan", OwnAddress),
    ("client_addr", OwnAddress),
    ("retry_join", OtherHost),
    ("start_join", OtherHost),
    ("retry_join_wan", OtherHost),
    ("start_join_wan", OtherHost),
    ("recursors", OtherHost),
];

/// Whether a key names a secret, whose value is never read.
pub(super) fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["token", "encrypt", "secret", "password", "pwd", "key"]
        .iter()
        .any(|s| k.contains(s))
}

impl FileSurface for ServiceDiscover {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        ctx.host.glob(GLOB)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
            return Err(Error::Parse {
                path: path.to_string(),
                line: e.line().max(1),
                message: format!("not valid JSON: {e}"),
                help: Some("fix the file (Consul refuses it as it is), or move it away".into()),
            });
        }
        let fields = strings(text)
            .into_iter()
            .filter_map(|(keys, span)| {
                let key = keys.last()?;
                if keys.iter().any(|k| is_secret(k)) {
                    return None;
                }
                let kind = if keys.len() >= 2 && keys[keys.len() - 2] == "addresses" {
                    OwnAddress
                } else {
                    KEYS.iter()
                        .find(|(k, _)| k == key)
                        .map_or(Text, |(_, kind)| *kind)
                };
                Some(Field::new(span, kind))
            })
            .collect();
        analyze_text(Surface::ServiceDiscover, path, text, ctx, fields)
    }
}

/// Every string value of a JSON document (known to be valid) with the
/// keys of the objects it sits in, outermost first (an array's elements
/// under the array's key).
fn strings(text: &str) -> Vec<(Vec<String>, Range<usize>)> {
    // Each open object: its current key and whether a key comes next.
    enum Open {
        Object {
            key: Option<String>,
            expect_key: bool,
        },
        Array,
    }
    let b = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => stack.push(Open::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Open::Array),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Open::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = false;
                }
            }
            b',' => {
                if let Some(Open::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = true;
                }
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let s = &text[start..j.min(b.len())];
                match stack.last_mut() {
                    Some(Open::Object {
                        key,
                        expect_key: expect @ true,
                    }) => {
                        *key = Some(s.to_string());
                        *expect = false;
                    }
                    _ => {
                        let keys = stack
                            .iter()
                            .filter_map(|o| match o {
                                Open::Object { key: Some(k), .. } => Some(k.clone()),
                                _ => None,
                            })
                            .collect();
                        out.push((keys, start..j));
                    }
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes};

    fn plan(moves: &[(&str, &str)], text: &str) -> Vec<(usize, String)> {
        let fx = Fixture::new(moves);
        let r = ServiceDiscover
            .analyze("/etc/zextras/service-discover/main.json", text, &fx.plan())
            .unwrap();
        changes(&r).into_iter().map(|(n, _, a)| (n, a)).collect()
    }

    #[test]
    fn the_agent_configuration() {
        let text = r#"{
  "bind_addr": "192.168.2.1",
  "advertise_addr": "192.168.2.1",
  "client_addr": "127.0.0.1 192.168.2.1",
  "addresses": { "http": "192.168.2.1", "dns": "127.0.0.1" },
  "retry_join": ["192.168.2.10", "192.168.2.1", "mail2.corp.example"],
  "encrypt": "192.168.2.1",
  "acl": { "tokens": { "agent": "192.168.2.1" } },
  "node_meta": { "note": "was 192.168.2.1" },
  "ports": { "http": 8500 }
}"#;
        assert_eq!(
            plan(V4, text),
            vec![
                (2, r#"  "bind_addr": "10.40.7.131","#.into()),
                (3, r#"  "advertise_addr": "10.40.7.131","#.into()),
                (4, r#"  "client_addr": "127.0.0.1 10.40.7.131","#.into()),
                (
                    5,
                    r#"  "addresses": { "http": "10.40.7.131", "dns": "127.0.0.1" },"#.into()
                ),
                (
                    6,
                    r#"  "retry_join": ["192.168.2.10", "10.40.7.131", "mail2.corp.example"],"#
                        .into()
                ),
                (9, r#"  "node_meta": { "note": "was 10.40.7.131" },"#.into()),
            ]
        );
        // One line, as service-discover setup writes config.json; the
        // neighbour stays.
        assert_eq!(
            plan(
                DUAL,
                r#"{"bind_addr":"2001:db8:14::25","retry_join":["2001:db8:14::250"],"server":false}"#
            ),
            vec![(
                1,
                r#"{"bind_addr":"2001:db8:7::131","retry_join":["2001:db8:14::250"],"server":false}"#
                    .into()
            )]
        );
    }

    #[test]
    fn secrets_are_never_read_into_a_scan() {
        let fx = Fixture::new(V4);
        let r = ServiceDiscover
            .analyze(
                "/etc/zextras/service-discover/main.json",
                r#"{"encrypt":"x192.168.2.1","acl":{"tokens":{"default":"192.168.2.1"}},"key_file":"/192.168.2.1"}"#,
                &fx.scan(),
            )
            .unwrap();
        assert!(r.findings.is_empty(), "{:?}", r.findings);
    }

    #[test]
    fn not_json_is_an_error_at_its_line() {
        let fx = Fixture::new(V4);
        let e = ServiceDiscover
            .analyze(
                "/etc/zextras/service-discover/config.json",
                "{\n  \"bind_addr\": \"192.168.2.1\"\n  \"x\": 1\n}\n",
                &fx.scan(),
            )
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/etc/zextras/service-discover/config.json:3: not valid JSON"),
            "{e}"
        );
    }
}
