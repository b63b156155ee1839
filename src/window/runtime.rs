//! The window's runtime address changes: which interface holds the old
//! address (read from the kernel over rtnetlink), and the `ip` commands
//! that add the new address beside it (open) and remove the old one
//! (close), each with the command that undoes it. Every command is
//! idempotent, so a resume or a rollback may run it again.

use std::net::IpAddr;

use ipnet::IpNet;

use super::state::RuntimeAddr;
use crate::error::{Error, Result};
use crate::notice::{Code, Notice};
use crate::services::{Cmd, shell_quote};
use crate::spec::Pair;

/// The interface holding `addr` in this machine's kernel (its network
/// namespace), with the prefix it has there.
pub fn kernel_address(addr: IpAddr) -> Result<Option<(String, u8)>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::other(format!("cannot start a runtime: {e}"), ""))?;
    let snap = rt.block_on(async {
        let (conn, handle, _) = rtnetlink::new_connection()
            .map_err(|e| format!("cannot open a netlink socket: {e}"))?;
        let task = tokio::spawn(conn);
        let snap = crate::watch::netlink::snapshot(&handle, false).await;
        task.abort();
        snap.map_err(|e| format!("cannot read the interfaces: {e}"))
    });
    let snap = snap.map_err(|e| {
        Error::other(
            e,
            "run zmreip as root on the host itself, or add the new address by hand",
        )
    })?;
    Ok(snap.addrs.iter().find(|a| a.addr == addr).and_then(|a| {
        snap.links
            .get(&a.index)
            .map(|name| (name.clone(), a.prefix))
    }))
}

/// The runtime changes of `pairs` on this machine: each old address that
/// an interface holds gets its new address beside it (with the new
/// prefix when known, else the old one's). An old address no interface
/// holds (a snapshot, another machine) is a notice with the command to
/// run there.
pub fn plan(
    pairs: &[Pair],
    kernel: impl Fn(IpAddr) -> Result<Option<(String, u8)>>,
) -> Result<(Vec<RuntimeAddr>, Vec<Notice>)> {
    let mut addrs = Vec::new();
    let mut notes = Vec::new();
    for p in pairs {
        match kernel(p.old)? {
            Some((interface, prefix)) if valid_name(&interface) => {
                let new_prefix = if p.new_prefix_source == crate::spec::PrefixSource::Host {
                    prefix
                } else {
                    p.new_prefix
                };
                addrs.push(RuntimeAddr {
                    interface,
                    old: format!("{}/{prefix}", p.old),
                    new: format!("{}/{new_prefix}", p.new),
                });
            }
            Some((interface, _)) => {
                return Err(Error::other(
                    format!("the interface holding {} has a name zmreip does not pass to a shell: {interface:?}", p.old),
                    "add the new address by hand and run the window without --restart-network",
                ));
            }
            None => notes.push(Notice::new(
                Code::WindowRuntimeAddress,
                format!(
                    "{} is on no interface of the machine zmreip runs on, so zmreip cannot add {} beside it: on the host, run `ip addr add {}/{} dev IFACE` before the switch, and remove the old one when the window closes",
                    p.old, p.new, p.new, p.new_prefix
                ),
            )),
        }
    }
    Ok((addrs, notes))
}

/// Interface names as the kernel allows them, without shell specials.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-@:".contains(&b))
}

/// Adding the new addresses (open), and removing them again.
pub fn add(addrs: &[RuntimeAddr]) -> (Cmd, Cmd) {
    let mut add = Vec::new();
    let mut undo = Vec::new();
    for a in addrs {
        add.push(ensure_present(&a.new, &a.interface));
        undo.push(ensure_absent(&a.new, &a.interface));
    }
    (join(add), join(undo))
}

/// Removing the old addresses (close), and adding them back.
pub fn remove(addrs: &[RuntimeAddr]) -> (Cmd, Cmd) {
    let mut remove = Vec::new();
    let mut undo = Vec::new();
    for a in addrs {
        // Without promote_secondaries, deleting the primary IPv4 address
        // of a network deletes the secondaries of that network with it:
        // the new address, when it is in the old one's network.
        let shared = match (a.old.parse::<IpNet>(), a.new.parse::<IpNet>()) {
            (Ok(o), Ok(n)) => o.addr().is_ipv4() && o.contains(&n.addr()),
            _ => false,
        };
        let del = ensure_absent(&a.old, &a.interface);
        remove.push(if shared {
            format!(
                "sysctl -qw net.ipv4.conf.{}.promote_secondaries=1 && {del}",
                a.interface
            )
        } else {
            del
        });
        undo.push(ensure_present(&a.old, &a.interface));
    }
    (join(remove), join(undo))
}

/// `ip addr replace` adds an address or leaves it; an IPv6 address is
/// waited for until duplicate address detection is done (a tentative
/// address cannot be bound), 5 s at most.
fn ensure_present(cidr: &str, dev: &str) -> String {
    let (c, d) = (shell_quote(cidr), shell_quote(dev));
    if cidr.contains(':') {
        let addr = shell_quote(cidr.split('/').next().unwrap_or(cidr));
        format!(
            "ip -6 addr replace {c} dev {d} && for i in $(seq 50); do ip -6 addr show dev {d} to {addr} tentative | grep -q . || break; sleep 0.1; done"
        )
    } else {
        format!("ip addr replace {c} dev {d}")
    }
}

/// Deletes an address when the interface holds it.
fn ensure_absent(cidr: &str, dev: &str) -> String {
    let (c, d) = (shell_quote(cidr), shell_quote(dev));
    let addr = cidr.split('/').next().unwrap_or(cidr);
    format!(
        "{{ ! ip -o addr show dev {d} | grep -qF {}; }} || ip addr del {c} dev {d}",
        shell_quote(&format!(" {addr}/"))
    )
}

fn join(parts: Vec<String>) -> Cmd {
    Cmd::Shell(parts.join(" && "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::pair;

    fn ra(interface: &str, old: &str, new: &str) -> RuntimeAddr {
        RuntimeAddr {
            interface: interface.into(),
            old: old.into(),
            new: new.into(),
        }
    }

    #[test]
    fn commands_add_and_remove_idempotently() {
        let addrs = [ra("eth0", "172.20.14.25/24", "10.40.7.131/24")];
        let (add, undo) = add(&addrs);
        assert_eq!(add.to_string(), "ip addr replace 10.40.7.131/24 dev eth0");
        // Trap: 10.40.7.13 must not match 10.40.7.131.
        assert_eq!(
            undo.to_string(),
            "{ ! ip -o addr show dev eth0 | grep -qF ' 10.40.7.131/'; } || ip addr del 10.40.7.131/24 dev eth0"
        );
        let (del, back) = remove(&addrs);
        assert!(!del.to_string().contains("promote_secondaries"));
        assert!(
            del.to_string()
                .ends_with("ip addr del 172.20.14.25/24 dev eth0")
        );
        assert_eq!(back.to_string(), "ip addr replace 172.20.14.25/24 dev eth0");
        // The new address in the old one's network: keep it when the old
        // (primary) one goes.
        let (del, _) = remove(&[ra("eth0", "172.20.14.25/24", "172.20.14.131/24")]);
        assert!(
            del.to_string()
                .starts_with("sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1 && "),
            "{del}"
        );
        // IPv6 waits for DAD.
        let (add, _) = add_v6();
        assert!(add.to_string().contains("tentative"), "{add}");
    }

    fn add_v6() -> (Cmd, Cmd) {
        add(&[ra("eth0", "2001:db8:14::25/64", "2001:db8:7::131/64")])
    }

    #[test]
    fn plan_finds_the_interface_or_says_what_to_run() {
        let pairs = [pair("172.20.14.25/24", "10.40.7.131/24")];
        let (addrs, notes) = plan(&pairs, |_| Ok(Some(("ens160".to_string(), 24)))).unwrap();
        assert_eq!(addrs, [ra("ens160", "172.20.14.25/24", "10.40.7.131/24")]);
        assert!(notes.is_empty());
        let (addrs, notes) = plan(&pairs, |_| Ok(None)).unwrap();
        assert!(addrs.is_empty());
        assert_eq!(notes[0].code, Code::WindowRuntimeAddress);
        assert!(
            notes[0]
                .message
                .contains("ip addr add 10.40.7.131/24 dev IFACE")
        );
        // Without a new prefix, the old one's.
        let pairs = [pair("172.20.14.25/24", "10.40.7.131")];
        let (addrs, _) = plan(&pairs, |_| Ok(Some(("eth0".to_string(), 24)))).unwrap();
        assert_eq!(addrs[0].new, "10.40.7.131/24");
        // A name no shell should see.
        let bad = plan(&[pair("172.20.14.25/24", "10.40.7.131/24")], |_| {
            Ok(Some(("eth0;reboot".to_string(), 24)))
        });
        assert!(bad.is_err());
    }
}
