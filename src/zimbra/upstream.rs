//! Zimbra's own definitions against the tables: every directory
//! attribute (zm-mailbox `store/conf/attrs/zimbra-attrs.xml`) and
//! localconfig key (`LC.java`) that may hold a host address, a URL or a
//! network is either in the tables, with the object classes attrs.xml
//! allows it in, or below with the reason it holds none. The names come
//! from `upstream.tsv`, which `scripts/zimbra-attrs-extract` writes from a
//! zm-mailbox clone (its header names the commit): re-run it on a newer
//! zm-mailbox and this test lists what came in.

use std::collections::{BTreeMap, BTreeSet};

use super::tables::{ATTRIBUTES, LOCALCONFIG, SECRET_ATTRIBUTES};

const UPSTREAM: &str = include_str!("upstream.tsv");

/// Why an attribute of Zimbra's definitions that looks like an address
/// (`upstream.tsv`) is not one: grouped reasons.
const NAME: &str = "a host name looked up by name (names stay, DESIGN principle 3); an address written there is replaced as text";
const EMAIL: &str = "email addresses, domains or a pattern of them";
const POSTAL: &str = "a postal address, or an X.121 (X.25) one";
const LDAP: &str = "an LDAP filter, search base, attribute or object class name, or group id";
const NUMBER: &str = "a duration, a timeout or a count";
const KEYS: &str = "key material, a certificate or a licence";
const TLS: &str = "TLS ciphers, protocols or curves";
const TEXT: &str =
    "text for clients or users (messages, capabilities, headers, MIME types, user-agent patterns)";
const PATH: &str = "a path on this server's own URLs, without a host";

/// Attributes of Zimbra's definitions whose name or description speaks
/// of hosts, addresses or URLs (`upstream.tsv`) and that hold none, with
/// the reason.
static NOT_ADDRESSES: &[(&str, &str)] = &[
    (
        "zimbraMailHost",
        "the name of the server entry (cn) holding the mailbox, checked against zimbraServiceHostname",
    ),
    (
        "zimbraServiceHostname",
        "the server entry's own name (its cn), never an address",
    ),
    ("zimbraReverseProxyUpstreamServers", NAME),
    ("zimbraReverseProxyUpstreamEwsServers", NAME),
    ("zimbraReverseProxyUpstreamImapServers", NAME),
    ("zimbraReverseProxyUpstreamLoginServers", NAME),
    ("zimbraReverseProxyAvailableLookupTargets", NAME),
    ("zimbraMtaMyHostname", NAME),
    (
        "zimbraDNSCheckHostname",
        "a host name compared with MX records, which never name an address",
    ),
    ("zimbraLmtpAdvertisedName", "the name in the LMTP greeting"),
    ("zimbraImapAdvertisedName", "the name in the IMAP greeting"),
    ("zimbraPop3AdvertisedName", "the name in the POP3 greeting"),
    ("zimbraAutoProvNotificationFromAddress", EMAIL),
    ("zimbraDataSourceEmailAddress", EMAIL),
    ("zimbraDistributionListSendShareMessageFromAddress", EMAIL),
    ("zimbraInterceptAddress", EMAIL),
    ("zimbraMailCatchAllAddress", EMAIL),
    ("zimbraMailCatchAllCanonicalAddress", EMAIL),
    ("zimbraMailCatchAllForwardingAddress", EMAIL),
    ("zimbraPrefBccAddress", EMAIL),
    ("zimbraPrefFromAddress", EMAIL),
    ("zimbraPrefReadReceiptsToAddress", EMAIL),
    ("zimbraPrefReplyToAddress", EMAIL),
    ("zimbraPrefWhenSentToAddresses", EMAIL),
    ("zimbraMailAddressValidationRegex", EMAIL),
    ("zimbraExternalShareWhitelistDomain", EMAIL),
    ("postalAddress", POSTAL),
    ("registeredAddress", POSTAL),
    ("streetAddress", POSTAL),
    ("x121Address", POSTAL),
    ("zimbraAddressListGalFilter", LDAP),
    ("zimbraAddressListLdapFilter", LDAP),
    ("zimbraHierarchicalAddressBookRoot", LDAP),
    ("zimbraServerExtraObjectClass", LDAP),
    ("zimbraServerInheritedAttr", LDAP),
    ("zimbraReverseProxyDomainNameQuery", LDAP),
    ("zimbraReverseProxyDomainNameSearchBase", LDAP),
    ("zimbraReverseProxyDomainNameAttribute", LDAP),
    ("zimbraReverseProxyMailHostQuery", LDAP),
    ("zimbraReverseProxyMailHostSearchBase", LDAP),
    ("zimbraReverseProxyMailHostAttribute", LDAP),
    ("zimbraReverseProxyPortQuery", LDAP),
    ("zimbraReverseProxyPortSearchBase", LDAP),
    ("zimbraReverseProxyUserNameAttribute", LDAP),
    ("zimbraReverseProxyAdminPortAttribute", LDAP),
    ("zimbraReverseProxyHttpPortAttribute", LDAP),
    ("zimbraReverseProxyHttpSSLPortAttribute", LDAP),
    ("zimbraReverseProxyImapPortAttribute", LDAP),
    ("zimbraReverseProxyImapSSLPortAttribute", LDAP),
    ("zimbraReverseProxyPop3PortAttribute", LDAP),
    ("zimbraReverseProxyPop3SSLPortAttribute", LDAP),
    (
        "memberURL",
        "an LDAP URL without a host: the search in this directory that lists a dynamic group's members",
    ),
    ("zimbraMailProxyReconnectTimeout", NUMBER),
    ("zimbraMtaSmtpdProxyTimeout", NUMBER),
    ("zimbraMtaAddressVerifyNegativeRefreshTime", NUMBER),
    ("zimbraMtaAddressVerifyPollCount", NUMBER),
    ("zimbraMtaAddressVerifyPollDelay", NUMBER),
    ("zimbraMtaAddressVerifyPositiveRefreshTime", NUMBER),
    ("zimbraMtaMilterCommandTimeout", NUMBER),
    ("zimbraMtaMilterConnectTimeout", NUMBER),
    ("zimbraMtaMilterContentTimeout", NUMBER),
    ("zimbraMtaSmtpTransportRateDelay", NUMBER),
    ("zimbraReverseProxySSLSessionCacheSize", NUMBER),
    ("zimbraSshPublicKey", KEYS),
    ("zimbraNetworkActivation", KEYS),
    ("zimbraNetworkLicense", KEYS),
    ("zimbraNetworkRealtimeActivation", KEYS),
    ("zimbraNetworkRealtimeLicense", KEYS),
    ("zimbraOfflineNetworkRealtimeLicense", KEYS),
    ("zimbraReverseProxyClientCertCA", KEYS),
    ("zimbraXMPPServerDialbackKey", KEYS),
    ("zimbraExternalAccountProvisioningKey", KEYS),
    ("zimbraReverseProxySSLCiphers", TLS),
    ("zimbraReverseProxySSLProtocols", TLS),
    ("zimbraReverseProxySSLECDHCurve", TLS),
    ("zimbraReverseProxyIpThrottleMsg", TEXT),
    ("zimbraReverseProxyUserThrottleMsg", TEXT),
    (
        "zimbraReverseProxyDefaultRealm",
        "the Kerberos realm the proxy authenticates in",
    ),
    ("zimbraReverseProxyImapEnabledCapability", TEXT),
    ("zimbraReverseProxyPop3EnabledCapability", TEXT),
    ("zimbraReverseProxyResponseHeaders", TEXT),
    ("zimbraWebClientSupportedHelps", TEXT),
    ("zimbraWebClientLoginURLAllowedUA", TEXT),
    ("zimbraWebClientLogoutURLAllowedUA", TEXT),
    ("zimbraSpamWhitelistHeader", TEXT),
    ("zimbraSpamWhitelistHeaderValue", TEXT),
    ("zimbraProxyCacheableContentTypes", TEXT),
    (
        "zimbraZimletServerIndexRegex",
        "a pattern of zimlet index names",
    ),
    ("zimbraMailURL", PATH),
    ("zimbraAdminURL", PATH),
    ("zimbraReverseProxyXmppBoshLocalHttpBindURL", PATH),
    (
        "zimbraMtaTransportMaps",
        "postfix lookup tables (`proxy:ldap:...ldap-transport.cf`)",
    ),
    (
        "zimbraAttributeMigrationInfo",
        "a status record zmmigrateattrs writes about its last run, not read as configuration",
    ),
];

/// localconfig keys of LC.java whose name speaks of hosts or URLs and
/// that hold none, with the reason.
static NOT_ADDRESS_KEYS: &[(&str, &str)] = &[
    (
        "zimbra_server_hostname",
        "this host's name (names stay, DESIGN principle 3)",
    ),
    (
        "calendar_exchange_form_auth_url",
        "the path of Exchange's form login, appended to the Exchange URL",
    ),
    ("ldap_dit_base_dn_server", LDAP),
    ("ldap_dit_naming_rdn_attr_server", LDAP),
    ("proxy_servlet_drop_headers", TEXT),
    (
        "xmpp_server_compression_policy",
        "an XMPP compression policy name",
    ),
    ("zimbra_class_customproxyselector", "a Java class name"),
];

/// Keys the tables hold that LC.java does not declare (installer keys).
const NOT_IN_LC: &[&str] = &["snmp_trap_host"];

/// (name → (type, object classes)) of `upstream.tsv`.
fn upstream() -> BTreeMap<&'static str, (&'static str, &'static str)> {
    UPSTREAM
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "upstream.tsv: {l}");
            (f[0], (f[1], f[3]))
        })
        .collect()
}

#[test]
fn every_upstream_address_attribute_is_in_the_tables_or_said_not_to_be_one() {
    let up = upstream();
    let table: BTreeSet<&str> = ATTRIBUTES
        .iter()
        .chain(LOCALCONFIG)
        .map(|r| r.name)
        .collect();
    let not: BTreeMap<&str, &str> = NOT_ADDRESSES
        .iter()
        .chain(NOT_ADDRESS_KEYS)
        .copied()
        .collect();
    let mut missing = Vec::new();
    for (name, (ty, _)) in &up {
        let listed =
            table.contains(name) || not.contains_key(name) || SECRET_ATTRIBUTES.contains(name);
        if !listed {
            missing.push(format!("{name} ({ty})"));
        }
    }
    assert!(
        missing.is_empty(),
        "Zimbra defines these, and they may hold an address: add each to src/zimbra/tables.rs with its kind, classes and action, or to NOT_ADDRESSES with the reason:\n{}",
        missing.join("\n")
    );
    for (name, why) in &not {
        assert!(
            up.contains_key(name),
            "{name} is not in upstream.tsv: drop it from the list"
        );
        assert!(
            !table.contains(name),
            "{name} is in the tables and said not to be an address"
        );
        assert!(!why.is_empty());
    }
    assert_eq!(
        NOT_ADDRESSES.len() + NOT_ADDRESS_KEYS.len(),
        not.len(),
        "a name is listed twice"
    );
}

#[test]
fn the_tables_say_what_attrs_xml_says() {
    let up = upstream();
    for r in ATTRIBUTES {
        let Some((ty, classes)) = up.get(r.name) else {
            panic!("{} is not a Zimbra attribute (upstream.tsv)", r.name);
        };
        assert_ne!(*ty, "key", "{} is a localconfig key", r.name);
        let want: BTreeSet<&str> = classes.split(',').collect();
        let got: BTreeSet<&str> = r.classes().collect();
        assert_eq!(got, want, "object classes of {}", r.name);
    }
    for r in LOCALCONFIG {
        assert!(r.classes.is_empty(), "{}", r.name);
        match up.get(r.name) {
            Some((ty, _)) => assert_eq!(*ty, "key", "{} is an attribute", r.name),
            None => assert!(NOT_IN_LC.contains(&r.name), "{} is not in LC.java", r.name),
        }
    }
}

#[test]
fn the_upstream_list_records_its_source() {
    let head: Vec<&str> = UPSTREAM.lines().take(2).collect();
    assert!(
        head[0].contains("scripts/zimbra-attrs-extract") && head[0].contains("Zimbra/zm-mailbox")
    );
    let commit = head[1]
        .split_whitespace()
        .nth(2)
        .unwrap_or("")
        .trim_end_matches(':');
    assert_eq!(commit.len(), 40, "{}", head[1]);
    assert!(commit.bytes().all(|b| b.is_ascii_hexdigit()));
}
