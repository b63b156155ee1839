//! Whose address is it? (DESIGN principle 11.) In the `own` role zmreip
//! moves this host's interface, listeners and trust network; an address
//! that no evidence on the host says is this host's (a typo, a neighbour
//! in a trust list) must never be planned so: it would rewrite another
//! host's trusted address to ours.
//!
//! Evidence, any one of which is enough: the OS network configuration
//! configures the address; it is on an interface of this machine (when
//! the root is this machine's `/`); a localconfig key naming an own
//! listener holds it (`ldap_bind_url`, bind addresses); a bind address of
//! this server's directory entry holds it; `/etc/hosts` maps the server's
//! own name to it.

use std::net::IpAddr;

use crate::addr::Matcher;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::{Finding, Target};
use crate::surface::IfaceAddr;

/// What was looked at for evidence, for the refusal.
pub struct Looked<'a> {
    pub host: &'a Host,
    /// The interface addresses of the OS network configuration.
    pub ifaces: &'a [IfaceAddr],
    /// The OS network configuration files read.
    pub os_files: &'a [String],
    /// What discovery found of the old addresses.
    pub findings: &'a [Finding],
    /// Whether a directory was read.
    pub directory: bool,
    /// The server's own name (localconfig `zimbra_server_hostname`).
    pub hostname: Option<&'a str>,
}

impl Looked<'_> {
    /// Where the host says `addr` is its own; empty when nowhere.
    pub fn evidence(&self, addr: IpAddr) -> Vec<String> {
        let mut out = Vec::new();
        for i in self.ifaces.iter().filter(|i| i.addr == addr) {
            out.push(format!("{}:{} (OS network configuration)", i.file, i.line));
        }
        if self.host.is_system_root() && crate::ifaddrs::is_local(addr) {
            out.push("an interface of this machine".into());
        }
        let m = Matcher::new(&[addr]);
        let server = self.hostname.map(server_dn);
        for f in self.findings {
            if m.find(&f.context).is_empty() && m.find(&f.matched).is_empty() {
                continue;
            }
            match &f.target {
                Target::LocalconfigKey { file, key } if crate::zimbra::is_own_address_key(key) => {
                    out.push(format!("{file} key {key}"));
                }
                Target::Ldap { dn, attribute }
                    if server.as_ref().is_some_and(|s| s.eq_ignore_ascii_case(dn))
                        && crate::zimbra::is_own_address_attribute(attribute) =>
                {
                    out.push(format!("{dn} {attribute}"));
                }
                _ => {}
            }
        }
        if let Some(h) = self.hostname
            && let Ok(Some(text)) = self.host.read("/etc/hosts")
        {
            for (i, line) in text.lines().enumerate() {
                if names_host(line, addr, h) {
                    out.push(format!("/etc/hosts:{} names {h}", i + 1));
                }
            }
        }
        out.dedup();
        out
    }

    /// Refuses the own role for an old address with no evidence, naming
    /// everything that was checked.
    pub fn check(&self, olds: &[IpAddr]) -> Result<()> {
        let unproven: Vec<String> = olds
            .iter()
            .filter(|a| self.evidence(**a).is_empty())
            .map(ToString::to_string)
            .collect();
        if unproven.is_empty() {
            return Ok(());
        }
        let mut checked = vec![if self.os_files.is_empty() {
            "the OS network configuration (none under the root: no ifupdown, netplan, NetworkManager, ifcfg or networkd file)".to_string()
        } else {
            format!(
                "the OS network configuration ({})",
                self.os_files.join(", ")
            )
        }];
        if self.host.is_system_root() {
            checked.push("the interfaces of this machine".into());
        }
        let lc = self.host.zimbra_path("conf/localconfig.xml");
        checked.push(format!(
            "the own-address keys of {lc} (ldap_bind_url, bind addresses)"
        ));
        checked.push(match (self.hostname, self.directory) {
            (Some(h), true) => format!("the bind addresses of the server entry {}", server_dn(h)),
            (None, true) => "no server entry (localconfig names no zimbra_server_hostname)".into(),
            (_, false) => "no directory (none was read)".into(),
        });
        checked.push(match self.hostname {
            Some(h) => format!("/etc/hosts for {h}"),
            None => "not /etc/hosts (no server name known)".into(),
        });
        Err(Error::usage(
            format!(
                "--from {} is not an address of this host as far as zmreip can tell; checked: {}",
                unproven.join(", "),
                checked.join("; ")
            ),
            "check --from (a typo? another host's address, a neighbour in a trust list?); to follow another node's move here, plan with --role peer (multi-server: run on the moving node, or name it with --node-moving NAME); on a snapshot without its OS network configuration, pass --assume-own to plan it as this host's anyway",
        ))
    }
}

/// The directory entry of server `hostname`.
fn server_dn(hostname: &str) -> String {
    format!("cn={hostname},cn=servers,cn=zimbra")
}

/// Whether a hosts-file line maps `addr` to the name `host` (or its
/// first label, the short name beside it).
fn names_host(line: &str, addr: IpAddr, host: &str) -> bool {
    let body = line.split('#').next().unwrap_or("");
    let mut fields = body.split_whitespace();
    let Some(first) = fields.next() else {
        return false;
    };
    let first = first.split('%').next().unwrap_or(first);
    first.parse::<IpAddr>().ok() == Some(addr) && fields.any(|n| n.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lines_name_the_server_only_exactly() {
        let a: IpAddr = "172.20.14.25".parse().unwrap();
        let v6: IpAddr = "2001:db8:14::25".parse().unwrap();
        let cases: &[(&str, IpAddr, bool)] = &[
            ("172.20.14.25 mail.corp.example mail", a, true),
            ("172.20.14.25\tMAIL.corp.example", a, true),
            ("172.20.14.250 mail.corp.example", a, false),
            ("172.20.14.25 backup.corp.example", a, false),
            ("172.20.14.25 mail.corp.example.evil", a, false),
            ("# 172.20.14.25 mail.corp.example", a, false),
            ("172.20.14.25 relay # mail.corp.example", a, false),
            ("2001:db8:14:0::25 mail.corp.example", v6, true),
            (
                "fe80::1%eth0 mail.corp.example",
                "fe80::1".parse().unwrap(),
                true,
            ),
            ("", a, false),
        ];
        for (line, addr, want) in cases {
            assert_eq!(
                names_host(line, *addr, "mail.corp.example"),
                *want,
                "{line}"
            );
        }
    }
}
