//! RHEL's static routes of one interface: `route-IFACE` (IPv4) and
//! `route6-IFACE` (IPv6) beside `ifcfg-IFACE`, in either of the formats
//! the network scripts and NetworkManager read:
//!
//! * assignments (a file with an `ADDRESSn=` line, [`super::shell`]):
//!   `ADDRESSn` (the destination), `NETMASKn`, `GATEWAYn` (its gateway;
//!   the default gateway when `ADDRESSn` is `0.0.0.0`), `METRICn` and
//!   `OPTIONSn` (more `ip route` arguments: `src S` is this host's
//!   address);
//! * `ip route add` arguments, one route a line (`10.0.0.0/8 via G dev
//!   eth0`, `default via G`), read as [`iproute::route_args`]; `#` lines
//!   are comments.
//!
//! The routes' gateways are checked against the interface's addresses,
//! read from `ifcfg-IFACE` (linked by the caller).

use std::net::IpAddr;

use super::{BLOCK, Parsed, push_text, shell};
use crate::error::Result;
use crate::surface::netcfg::syntax::{lines, words};
use crate::surface::netcfg::{Doc, Role, iproute};

/// Reads a route file; `linked` are the addresses of its interface.
pub fn parse<'a>(
    path: &'a str,
    text: &'a str,
    linked: Vec<(IpAddr, Option<u8>)>,
) -> Result<Parsed<'a>> {
    let mut parsed = if is_keyed(text) {
        keyed(path, text)
    } else {
        ip_lines(path, text)
    };
    parsed.doc.link(linked);
    Ok(parsed)
}

/// Whether the file uses the assignment format: a line `ADDRESSn=`.
fn is_keyed(text: &str) -> bool {
    lines(text).iter().any(|l| {
        l.trim_start()
            .strip_prefix("ADDRESS")
            .and_then(|r| r.split_once('='))
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The suffix of `key` after `base` when it is all digits.
fn suffix<'k>(key: &'k str, base: &str) -> Option<&'k str> {
    key.strip_prefix(base)
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn keyed<'a>(path: &'a str, text: &'a str) -> Parsed<'a> {
    let mut doc = Doc::new(path, text);
    let lines = doc.lines().to_vec();
    let (assigned, ignored) = shell::read(&lines);
    let default_route = |n: &str| {
        assigned
            .iter()
            .any(|a| suffix(a.key, "ADDRESS") == Some(n) && a.value == "0.0.0.0")
    };
    for a in &assigned {
        let piece = a.pieces.first().cloned().filter(|_| a.is_plain(&lines));
        match (piece, suffix(a.key, "GATEWAY"), suffix(a.key, "OPTIONS")) {
            (Some((n, span)), Some(k), _) => {
                doc.push(
                    n,
                    span,
                    Role::Gateway {
                        default: default_route(k),
                    },
                    BLOCK,
                );
            }
            (Some((n, span)), None, Some(_)) => {
                let ws = words(lines[n - 1], span);
                let texts: Vec<&str> = ws.iter().map(|r| &lines[n - 1][r.clone()]).collect();
                for (w, role) in ws.iter().zip(iproute::route_args(&texts)) {
                    doc.push(n, w.clone(), role, BLOCK);
                }
            }
            _ => push_text(&mut doc, a),
        }
    }
    Parsed { doc, ignored }
}

fn ip_lines<'a>(path: &'a str, text: &'a str) -> Parsed<'a> {
    let mut doc = Doc::new(path, text);
    let lines = doc.lines().to_vec();
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let ws = words(line, 0..line.len());
        let texts: Vec<&str> = ws.iter().map(|r| &line[r.clone()]).collect();
        for (w, role) in ws.iter().zip(iproute::route_args(&texts)) {
            doc.push(i + 1, w.clone(), role, BLOCK);
        }
    }
    Parsed {
        doc,
        ignored: Vec::new(),
    }
}
