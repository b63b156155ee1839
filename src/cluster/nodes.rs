//! The nodes of a deployment, read from the directory: one per server
//! entry, named by its `zimbraServiceHostname` (the name Zimbra's own
//! servers reach it by), with its enabled services (`zimbraServiceEnabled`).
//! The ports other nodes reach a node's services on come from its server
//! entry, then global config, then Zimbra's defaults
//! ([`crate::zimbra::endpoints`]).

use serde::{Deserialize, Serialize};

use crate::directory::{Entry, is_global_config, is_server};
use crate::error::{Error, Result};
use crate::services::Service;
use crate::zimbra;

/// One server of the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `zimbraServiceHostname` (else the entry's `cn`).
    pub name: String,
    /// Enabled services, as Zimbra names them (`ldap`, `mta`, `mailbox`,
    /// `proxy`, `memcached`, ...), lower case, sorted.
    pub services: Vec<String>,
    /// Where other nodes reach the node's services.
    pub endpoints: Vec<Endpoint>,
}

/// A port a node's service answers other nodes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The Zimbra service (`ldap`, `mailbox`, ...).
    pub service: String,
    /// What answers there (`ldap`, `lmtp`, `imap`, `smtp`).
    pub protocol: String,
    pub port: u16,
}

impl Node {
    /// Whether the node runs the Zimbra service behind a plan's `service`.
    /// Services that are not Zimbra's (the network, dnsmasq, named) and
    /// `all` belong to every node.
    pub fn runs(&self, service: Service) -> bool {
        match service.zimbra_name() {
            Some(name) => self.services.iter().any(|s| s == name),
            None => true,
        }
    }
}

/// The nodes of the server entries in `topology` (the global config
/// entry and the server entries, see
/// [`crate::directory::Directory::topology`]), sorted by name.
pub fn from_topology(topology: &[Entry]) -> Result<Vec<Node>> {
    let global = topology.iter().find(|e| is_global_config(e));
    let mut nodes: Vec<Node> = Vec::new();
    for e in topology.iter().filter(|e| is_server(e)) {
        let name = first(e, "zimbraServiceHostname")
            .or_else(|| first(e, "cn"))
            .ok_or_else(|| {
                Error::other(
                    format!("the server entry {} has no zimbraServiceHostname", e.dn),
                    "set zimbraServiceHostname on it (zmprov ms NAME zimbraServiceHostname NAME)",
                )
            })?;
        let mut services: Vec<String> = e
            .get("zimbraServiceEnabled")
            .unwrap_or_default()
            .iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        services.sort();
        services.dedup();
        let endpoints = endpoints(&services, e, global);
        nodes.push(Node {
            name: name.to_ascii_lowercase(),
            services,
            endpoints,
        });
    }
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = nodes.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(Error::other(
            format!("two server entries are named {}", w[0].name),
            "fix zimbraServiceHostname in the directory: every server needs a name of its own",
        ));
    }
    if nodes.is_empty() {
        return Err(Error::other(
            "the directory has no server entries (objectClass zimbraServer under cn=servers,cn=zimbra)",
            "check that zmreip reads the deployment's directory (--ldap-url, --ldif)",
        ));
    }
    Ok(nodes)
}

fn first(e: &Entry, attr: &str) -> Option<String> {
    e.get(attr)
        .and_then(|v| v.first())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// An attribute of the server entry, else of global config (Zimbra's
/// `serverInherited`).
fn inherited(server: &Entry, global: Option<&Entry>, attr: &str) -> Option<String> {
    first(server, attr).or_else(|| global.and_then(|g| first(g, attr)))
}

/// The ports of the node's enabled services, from the table of
/// [`zimbra::endpoints`].
fn endpoints(services: &[String], server: &Entry, global: Option<&Entry>) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for ep in zimbra::endpoints() {
        if !services.iter().any(|s| s == ep.service) {
            continue;
        }
        let off = ep
            .enabled_by
            .and_then(|a| inherited(server, global, a))
            .is_some_and(|v| v.eq_ignore_ascii_case("false"));
        if off {
            continue;
        }
        let port = ep
            .port_attribute
            .and_then(|a| inherited(server, global, a))
            .and_then(|v| v.parse::<u16>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(ep.default_port);
        out.push(Endpoint {
            service: ep.service.to_string(),
            protocol: ep.protocol.to_string(),
            port,
        });
    }
    out
}

/// The nodes `wanted` names (all when empty), in the order of `nodes`.
/// A name that is no node is an error listing the nodes.
pub fn select(nodes: &[Node], wanted: &[String], option: &str) -> Result<Vec<Node>> {
    if wanted.is_empty() {
        return Ok(nodes.to_vec());
    }
    for w in wanted {
        find(nodes, w, option)?;
    }
    Ok(nodes
        .iter()
        .filter(|n| wanted.iter().any(|w| w.eq_ignore_ascii_case(&n.name)))
        .cloned()
        .collect())
}

/// The node named `name` (case-insensitive).
pub fn find<'a>(nodes: &'a [Node], name: &str, option: &str) -> Result<&'a Node> {
    nodes
        .iter()
        .find(|n| n.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
            Error::usage(
                format!("{option} {name}: no server of the directory has that name"),
                format!(
                    "give a name the directory knows (zimbraServiceHostname): {}",
                    names.join(", ")
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dn: &str, attrs: &[(&str, &[&str])]) -> Entry {
        Entry {
            dn: dn.into(),
            attrs: attrs
                .iter()
                .map(|(n, v)| (n.to_string(), v.iter().map(ToString::to_string).collect()))
                .collect(),
        }
    }

    fn topology() -> Vec<Entry> {
        vec![
            entry(
                "cn=config,cn=zimbra",
                &[
                    ("objectClass", &["zimbraGlobalConfig"]),
                    ("zimbraLmtpBindPort", &["7025"]),
                    ("zimbraImapBindPort", &["7143"]),
                ],
            ),
            entry(
                "cn=mta.corp.example,cn=servers,cn=zimbra",
                &[
                    ("objectClass", &["zimbraServer"]),
                    ("cn", &["mta.corp.example"]),
                    ("zimbraServiceHostname", &["MTA.corp.example"]),
                    ("zimbraServiceEnabled", &["mta", "antivirus", "MTA"]),
                ],
            ),
            entry(
                "cn=mail.corp.example,cn=servers,cn=zimbra",
                &[
                    ("objectClass", &["top", "ZimbraServer"]),
                    ("cn", &["mail.corp.example"]),
                    ("zimbraServiceEnabled", &["mailbox", "ldap"]),
                    // The server's own value wins over global config's.
                    ("zimbraLmtpBindPort", &["7026"]),
                    ("zimbraImapServerEnabled", &["FALSE"]),
                ],
            ),
            // A domain named like a server is no server.
            entry(
                "dc=corp,dc=example",
                &[("objectClass", &["zimbraDomain"]), ("cn", &["proxy"])],
            ),
        ]
    }

    #[test]
    fn nodes_come_from_server_entries() {
        let nodes = from_topology(&topology()).unwrap();
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["mail.corp.example", "mta.corp.example"]);
        assert_eq!(nodes[1].services, ["antivirus", "mta"]);
        // No zimbraServiceHostname: the cn names it.
        assert_eq!(nodes[0].services, ["ldap", "mailbox"]);
        let eps: Vec<(&str, u16)> = nodes[0]
            .endpoints
            .iter()
            .map(|e| (e.protocol.as_str(), e.port))
            .collect();
        // IMAP is off on this server; LMTP on its own port.
        assert_eq!(eps, [("ldap", 389), ("lmtp", 7026)]);
        let eps: Vec<(&str, u16)> = nodes[1]
            .endpoints
            .iter()
            .map(|e| (e.protocol.as_str(), e.port))
            .collect();
        assert_eq!(eps, [("smtp", 25)]);
        assert!(nodes[1].runs(Service::Mta));
        assert!(!nodes[1].runs(Service::Mailbox));
        assert!(nodes[1].runs(Service::Network), "not a Zimbra service");
    }

    #[test]
    fn selecting_nodes_checks_names() {
        let nodes = from_topology(&topology()).unwrap();
        let got = select(&nodes, &["MTA.corp.example".into()], "--node").unwrap();
        assert_eq!(got.len(), 1);
        let e = select(&nodes, &["mta".into()], "--node").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("--node mta"), "{msg}");
        assert!(
            e.help()
                .unwrap()
                .contains("mail.corp.example, mta.corp.example"),
            "{:?}",
            e.help()
        );
    }

    #[test]
    fn a_directory_without_servers_or_with_twins_is_refused() {
        let none = vec![topology()[0].clone()];
        assert!(from_topology(&none).is_err());
        let mut twins = topology();
        twins.push(entry(
            "cn=other,cn=servers,cn=zimbra",
            &[
                ("objectClass", &["zimbraServer"]),
                ("zimbraServiceHostname", &["mta.corp.example"]),
            ],
        ));
        let e = from_topology(&twins).unwrap_err().to_string();
        assert!(
            e.contains("two server entries are named mta.corp.example"),
            "{e}"
        );
    }
}
