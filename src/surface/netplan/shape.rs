//! What netplan itself rejects that zmreip can tell soundly, without
//! re-implementing netplan's validator: a node of the few kinds zmreip
//! reads that has the wrong shape (`network:` a scalar, `addresses:` a
//! mapping, ...), and an interface address that is not `ADDRESS/PREFIX`
//! (netplan wants the prefix length). Everything else netplan checks
//! (unknown keys, value ranges, renderer support) is left to
//! `netplan generate`.

use super::{DEVICE_TYPES, Seg};

/// The shape of a YAML node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Mapping,
    Sequence,
    Scalar,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Mapping => "a mapping (`key: value` lines)",
            Shape::Sequence => "a list (`- item` lines or `[a, b]`)",
            Shape::Scalar => "a single value",
        }
    }
}

/// A step of a [`SHAPES`] path: a key, any device type, any interface
/// name (a device type's keys but `renderer`, its default renderer).
#[derive(Clone, Copy)]
enum Step {
    Key(&'static str),
    Devices,
    Name,
}

use Step::{Devices, Key, Name};

/// The nodes netplan requires a shape of, among those zmreip reads.
const SHAPES: &[(&[Step], Shape)] = &[
    (&[Key("network")], Shape::Mapping),
    (&[Key("network"), Key("version")], Shape::Scalar),
    (&[Key("network"), Key("renderer")], Shape::Scalar),
    (&[Key("network"), Devices], Shape::Mapping),
    (&[Key("network"), Devices, Name], Shape::Mapping),
    (
        &[Key("network"), Devices, Name, Key("addresses")],
        Shape::Sequence,
    ),
    (
        &[Key("network"), Devices, Name, Key("interfaces")],
        Shape::Sequence,
    ),
    (
        &[Key("network"), Devices, Name, Key("routes")],
        Shape::Sequence,
    ),
    (
        &[Key("network"), Devices, Name, Key("gateway4")],
        Shape::Scalar,
    ),
    (
        &[Key("network"), Devices, Name, Key("gateway6")],
        Shape::Scalar,
    ),
    (
        &[Key("network"), Devices, Name, Key("nameservers")],
        Shape::Mapping,
    ),
    (
        &[
            Key("network"),
            Devices,
            Name,
            Key("nameservers"),
            Key("addresses"),
        ],
        Shape::Sequence,
    ),
    (
        &[
            Key("network"),
            Devices,
            Name,
            Key("nameservers"),
            Key("search"),
        ],
        Shape::Sequence,
    ),
];

fn matches(steps: &[Step], path: &[Seg]) -> bool {
    steps.len() == path.len()
        && steps.iter().zip(path).all(|(s, p)| match (s, p) {
            (Key(k), Seg::Key(x)) => k == x,
            (Devices, Seg::Key(x)) => DEVICE_TYPES.contains(&x.as_str()),
            (Name, Seg::Key(x)) => x != "renderer",
            _ => false,
        })
}

/// The shape netplan wants at `path`, if it wants one, and the path
/// written as netplan's dotted name.
pub fn wanted(path: &[Seg]) -> Option<(Shape, String)> {
    let shape = SHAPES
        .iter()
        .find(|(steps, _)| matches(steps, path))
        .map(|(_, s)| *s)?;
    let name = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => k.as_str(),
            Seg::Item(_) => "-",
        })
        .collect::<Vec<_>>()
        .join(".");
    Some((shape, name))
}

/// The error message for a node of the wrong shape.
pub fn mismatch(name: &str, want: Shape, got: Shape) -> String {
    format!(
        "`{name}` must be {}, not {} (netplan rejects this file)",
        want.name(),
        got.name()
    )
}

/// Why an interface address is not one netplan reads, if it is not:
/// netplan wants `ADDRESS/PREFIX`.
pub fn bad_address(text: &str) -> Option<String> {
    match crate::addr::parse_with_prefix(text) {
        Some((_, Some(_))) => None,
        Some((ip, None)) => Some(format!(
            "the address `{text}` has no prefix length: netplan wants ADDRESS/PREFIX ({ip}/{})",
            if ip.is_ipv4() { 24 } else { 64 }
        )),
        None => Some(format!(
            "`{text}` is not an address with a prefix length (ADDRESS/PREFIX, the length at most {}); netplan rejects it",
            if text.contains(':') { 128 } else { 32 }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(keys: &[&str]) -> Vec<Seg> {
        keys.iter()
            .map(|k| match *k {
                "-" => Seg::Item(1),
                k => Seg::Key(k.to_string()),
            })
            .collect()
    }

    #[test]
    fn shapes_of_known_nodes_only() {
        let cases: &[(&[&str], Option<Shape>)] = &[
            (&["network"], Some(Shape::Mapping)),
            (&["network", "version"], Some(Shape::Scalar)),
            (
                &["network", "bridges", "br0", "interfaces"],
                Some(Shape::Sequence),
            ),
            (
                &["network", "ethernets", "eth0", "addresses"],
                Some(Shape::Sequence),
            ),
            (
                &["network", "ethernets", "eth0", "nameservers", "addresses"],
                Some(Shape::Sequence),
            ),
            // Not a device type: netplan's own business.
            (&["network", "unknown", "x", "addresses"], None),
            (&["network", "ethernets", "eth0", "addresses", "-"], None),
            (&["network", "ethernets", "eth0", "match"], None),
            (&["network", "ethernets", "renderer"], None),
            (&["other"], None),
        ];
        for (p, want) in cases {
            assert_eq!(wanted(&path(p)).map(|(s, _)| s), *want, "{p:?}");
        }
        assert_eq!(
            wanted(&path(&["network", "ethernets", "eth0", "routes"]))
                .unwrap()
                .1,
            "network.ethernets.eth0.routes"
        );
    }

    #[test]
    fn addresses_need_a_prefix() {
        for ok in [
            "192.168.14.1/24",
            "2001:db8::1/64",
            "10.0.0.5/32",
            "::1/128",
        ] {
            assert_eq!(bad_address(ok), None, "{ok}");
        }
        for (bad, says) in [
            ("192.168.14.1", "no prefix length"),
            ("2001::1", "no prefix length"),
            ("192.168.14.1/", "not an address"),
            ("2001::1/", "not an address"),
            ("192.168.14/24", "not an address"),
            ("192.168.14.1/33", "at most 32"),
            ("2001::1/129", "at most 128"),
            ("2001:G::1/64", "not an address"),
            ("0.0.0.0.0/24", "not an address"),
        ] {
            let msg = bad_address(bad).unwrap_or_default();
            assert!(msg.contains(says), "{bad}: {msg}");
        }
    }
}
