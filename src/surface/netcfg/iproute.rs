//! Routing and address commands as network configuration files hold
//! them: ifupdown's `up ip route add ...` and `up route add ...` options,
//! and RHEL's `route-IFACE`/`route6-IFACE` files, whose lines are the
//! arguments of `ip route add`. Each reader gives the [`Role`] of every
//! word.

use super::Role;
use crate::policy::ValueKind;

const TEXT: Role = Role::Value(ValueKind::Text);

/// Whether a route destination is the default route.
fn is_default_dest(w: &str) -> bool {
    matches!(w, "default" | "0.0.0.0/0" | "::/0")
}

/// Roles of the words of an `ip` command (word 0 is `ip`): `ip addr add
/// A/N [peer P]` configures an interface address (the peer is another
/// host); `ip route ...` is read as [`route_args`] after its verb.
pub fn ip_command(words: &[&str]) -> Vec<Role> {
    let mut roles = vec![TEXT; words.len()];
    let mut i = 1;
    // Global options: `-4`, `-6`, `-f inet`, `-family inet6`, ...
    while i < words.len() && words[i].starts_with('-') {
        i += if matches!(words[i], "-f" | "-family") {
            2
        } else {
            1
        };
    }
    let object = words.get(i).copied().unwrap_or("");
    // `ip` takes any prefix of an object name: `a`, `addr`, `r`, `ro`.
    let is_addr = !object.is_empty() && "address".starts_with(object);
    let is_route = !object.is_empty() && "route".starts_with(object);
    i += 2; // object and verb
    if i >= words.len() {
        return roles;
    }
    if is_addr {
        if words[i] == "local" {
            i += 1;
        }
        if i < words.len() {
            roles[i] = Role::Address;
        }
        for j in i + 1..words.len() {
            if words[j - 1] == "peer" {
                roles[j] = Role::Value(ValueKind::OtherHost);
            }
        }
    } else if is_route {
        roles.splice(i.., route_args(&words[i..]));
    }
    roles
}

/// Roles of the arguments of `ip route add` (`[TYPE] [to] PREFIX [from
/// P] [via [FAMILY] G] [dev D] [src S] [OPTIONS]`): `via` names the
/// route's gateway (the default route's when the destination is
/// `default`, `0.0.0.0/0` or `::/0`), `src` this host's own address;
/// destinations and every other word are text.
pub fn route_args(words: &[&str]) -> Vec<Role> {
    let via = words.iter().position(|w| *w == "via");
    let default = words[..via.unwrap_or(words.len())]
        .iter()
        .any(|w| is_default_dest(w));
    let mut roles = vec![TEXT; words.len()];
    for j in 1..words.len() {
        let prev = words[j - 1];
        let after_family = j >= 2 && words[j - 2] == "via" && matches!(prev, "inet" | "inet6");
        if (prev == "via" && !matches!(words[j], "inet" | "inet6")) || after_family {
            roles[j] = Role::Gateway { default };
        } else if prev == "src" {
            roles[j] = Role::Value(ValueKind::OwnAddress);
        }
    }
    roles
}

/// Roles of the words of a net-tools `route` command: `gw G` is the
/// route's gateway.
pub fn route_command(words: &[&str]) -> Vec<Role> {
    let default = words.iter().any(|w| is_default_dest(w));
    (0..words.len())
        .map(|j| {
            if j > 0 && words[j - 1] == "gw" {
                Role::Gateway { default }
            } else {
                TEXT
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(f: fn(&[&str]) -> Vec<Role>, line: &str) -> Vec<Role> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let got = f(&words);
        assert_eq!(got.len(), words.len(), "{line}");
        got
    }

    const GW: Role = Role::Gateway { default: false };
    const DEFAULT_GW: Role = Role::Gateway { default: true };
    const OWN: Role = Role::Value(ValueKind::OwnAddress);
    const PEER: Role = Role::Value(ValueKind::OtherHost);

    #[test]
    fn ip_commands() {
        let t = TEXT;
        let cases: &[(&str, &[Role])] = &[
            (
                "ip addr add 10.0.0.5/24 dev eth0",
                &[t, t, t, Role::Address, t, t],
            ),
            (
                "ip -4 a add local 10.0.0.5/24 peer 10.0.0.6",
                &[t, t, t, t, t, Role::Address, t, PEER],
            ),
            (
                "ip -f inet route add default via 10.0.0.1",
                &[t, t, t, t, t, t, t, DEFAULT_GW],
            ),
            (
                "ip r add 192.0.2.0/24 via 10.0.0.1 src 10.0.0.5",
                &[t, t, t, t, t, GW, t, OWN],
            ),
            // Cut short: no panic, nothing read.
            ("ip route", &[t, t]),
            ("ip route via", &[t, t, t]),
            ("ip -f", &[t, t]),
            ("ip link set eth0 up", &[t; 5]),
        ];
        for (line, want) in cases {
            assert_eq!(&roles(ip_command, line), want, "{line}");
        }
    }

    #[test]
    fn route_file_lines() {
        let t = TEXT;
        let cases: &[(&str, &[Role])] = &[
            (
                "default via 192.168.1.1 dev eth0",
                &[t, t, DEFAULT_GW, t, t],
            ),
            ("0.0.0.0/0 via 192.168.1.1", &[t, t, DEFAULT_GW]),
            ("::/0 via inet6 2001:db8::1", &[t, t, t, DEFAULT_GW]),
            ("10.10.10.0/24 via 192.168.1.1 metric 3", &[t, t, GW, t, t]),
            // `default` after `via` is not the destination.
            ("10.1.0.0/16 via 10.0.0.1 table default", &[t, t, GW, t, t]),
            ("via 8.8.8.8 to 32.42.52.62", &[t, GW, t, t]),
            (
                "aaaa::cccc/64 from 1111::2222/48 via 3333::4444 src 5555::6666",
                &[t, t, t, t, GW, t, OWN],
            ),
            ("local 1.2.3.4", &[t, t]),
            ("", &[]),
            ("via", &[t]),
        ];
        for (line, want) in cases {
            assert_eq!(&roles(route_args, line), want, "{line}");
        }
    }

    #[test]
    fn net_tools_route() {
        let t = TEXT;
        assert_eq!(
            roles(route_command, "route add default gw 10.0.0.1"),
            [t, t, t, t, DEFAULT_GW]
        );
        assert_eq!(
            roles(
                route_command,
                "route add -net 192.0.2.0 netmask 255.255.255.0 gw 10.0.0.9"
            ),
            [t, t, t, t, t, t, t, GW]
        );
    }
}
