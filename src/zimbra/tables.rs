//! The tables behind [`super`]: Zimbra knowledge as data.
//!
//! Facts are paraphrased from Zimbra's source in
//! `shared/reference/zimbra-config-model.md` (cited as §N below). Action
//! sets follow DESIGN principle 7 (least disruption): the smallest set of
//! reloads and restarts that makes every process that read the old value
//! read the new one. Two facts shape most rows:
//!
//! * mailboxd caches global config with no expiry and server, domain and
//!   COS entries for 15 minutes, and builds its listeners, DoSFilter and
//!   throttle exemptions once at start (§9.1, §9.4): whatever mailboxd
//!   reads needs a mailbox restart.
//! * zmconfigd compares attribute values, never resolved addresses, and
//!   watches only some attributes (§3.2, §9.4): zmreip asks for the action
//!   itself instead of waiting for a poll that may never notice.

use super::{BindSetting, Derived, Listener, Outbound, PortFrom, Rule, ServiceEndpoint};
use crate::policy::ValueKind;
use crate::services::{Action, Service};

use Action::{Reload, Restart};
use ValueKind::{ExactList, HostPort, OtherHost, Regex, Url};

/// `zmmtactl reload`: regenerates main.cf/master.cf and, through the
/// `bin/postfix` wrapper, the ldap-*.cf maps (§3.2, §3.5).
const MTA: &[(Service, Action)] = &[(Service::Mta, Reload)];
/// mailboxd re-reads the setting only when it starts.
const MAILBOX: &[(Service, Action)] = &[(Service::Mailbox, Restart)];
/// nginx holds generation-time values; `zmproxyctl restart` regenerates
/// (a reload does not), and memcached drops routes cached with old
/// addresses (§5.2, §5.3).
const PROXY: &[(Service, Action)] = &[(Service::Proxy, Restart), (Service::Memcached, Restart)];
/// The milter server runs inside mailboxd; postfix's `smtpd_milters`
/// names its address (§1.1, §3.3).
const MILTER: &[(Service, Action)] = &[(Service::Mta, Reload), (Service::Mailbox, Restart)];
/// Read again by whoever uses it next; no process holds it.
const NONE: &[(Service, Action)] = &[];

const TRUST: ValueKind = ValueKind::TrustList { loopback: false };
/// A listen address of which the service uses one value (the first).
const LISTEN: ValueKind = ValueKind::Listen { several: false };
/// Listen addresses of which the service uses every value: it can listen
/// on the old and the new address at once (a window serves on both).
const LISTENERS: ValueKind = ValueKind::Listen { several: true };

const fn rule(
    name: &'static str,
    kind: ValueKind,
    classes: &'static str,
    actions: &'static [(Service, Action)],
) -> Rule {
    Rule {
        name,
        kind,
        classes,
        actions,
    }
}

/// A localconfig key (or a Postfix parameter): no object classes.
const fn key(name: &'static str, kind: ValueKind, actions: &'static [(Service, Action)]) -> Rule {
    rule(name, kind, "", actions)
}

/// Directory attributes that can hold an address, with the object classes
/// attrs.xml allows them in (`requiredIn`, then `optionalIn`; checked
/// against `upstream.tsv`). Host *names* (`zimbraServiceHostname`,
/// `zimbraMailHost`, the proxy upstream server lists, which hold server
/// names looked up by name, §5.2) are not here: names stay (principle 3);
/// `upstream.rs` says why each attribute of Zimbra's definitions that
/// looks like an address is not one. An attribute not listed is treated
/// as text.
pub(super) static ATTRIBUTES: &[Rule] = &[
    // --- Trust lists (principle 4) ---
    // postfix mynetworks; also amavisd @mynetworks, salocal.cf
    // trusted_networks and opendkim-localnets (§3.4).
    rule(
        "zimbraMtaMyNetworks",
        ValueKind::TrustList { loopback: true },
        "globalConfig,server",
        MTA,
    ),
    // DoSFilter whitelist, built once at mailboxd start (§1.2): entries
    // may be networks.
    rule(
        "zimbraHttpThrottleSafeIPs",
        TRUST,
        "globalConfig,server",
        MAILBOX,
    ),
    // Copied verbatim into nginx `mail_whitelist_ip` lines (§5.2); not
    // watched by zmconfigd.
    rule(
        "zimbraReverseProxyIPThrottleWhitelist",
        TRUST,
        "server,globalConfig",
        PROXY,
    ),
    // Client allow lists (IP or CIDR) checked by mailboxd against cached
    // domain/COS/account entries.
    rule("zimbraDomainAllowedIPs", TRUST, "domain", MAILBOX),
    rule("zimbraWebClientAllowedIPs", TRUST, "cos,account", MAILBOX),
    rule("zimbraImapAllowedIPs", TRUST, "cos,account", MAILBOX),
    rule("zimbraPop3AllowedIPs", TRUST, "cos,account", MAILBOX),
    rule("zimbraMobileAllowedIPs", TRUST, "cos,account", MAILBOX),
    rule("zimbraMapiAllowedIPs", TRUST, "cos,account", MAILBOX),
    rule("zimbraZDAllowedIPs", TRUST, "cos,account", MAILBOX),
    // --- Exact-match lists (§1.2) ---
    // Peers whose X-Forwarded-For mailboxd believes; string equality.
    rule(
        "zimbraMailTrustedIP",
        ExactList,
        "globalConfig,server",
        MAILBOX,
    ),
    // IMAP/POP3/LMTP throttling exemptions, read when those servers start:
    // ServerThrottle resolves each entry with InetAddress.getAllByName
    // and compares the client's address as a string with the results, so
    // a network written here never matches anyone.
    rule(
        "zimbraThrottleSafeHosts",
        ExactList,
        "globalConfig,server",
        MAILBOX,
    ),
    rule(
        "zimbraThrottleWhitelist",
        ExactList,
        "globalConfig,server",
        MAILBOX,
    ),
    // Checked against X-Proxy-IP by the nginx-lookup servlet, which runs in
    // mailboxd and reads global config (cached without expiry); nginx
    // itself never reads it, so the proxy needs no restart for it (§5.3).
    rule(
        "zimbraReverseProxyAdminIPAddress",
        ExactList,
        "globalConfig",
        MAILBOX,
    ),
    // Referer host names/addresses compared as strings by the CSRF check.
    rule(
        "zimbraCsrfAllowedRefererHosts",
        ExactList,
        "globalConfig,domain",
        MAILBOX,
    ),
    // Hosts the zimlet proxy servlet may fetch from, matched against the
    // requested URL's host per request.
    rule(
        "zimbraProxyAllowedDomains",
        ExactList,
        "account,cos",
        MAILBOX,
    ),
    // --- This host's listen addresses ---
    // Jetty connector hosts in jetty.xml (§3.4). zmconfigd watches only
    // the first two; the rest need a forced rewrite, which a mailbox
    // restart through zmmailboxdctl/zmtlsctl performs (§9.4).
    rule("zimbraMailBindAddress", LISTEN, "server", MAILBOX),
    rule("zimbraMailSSLBindAddress", LISTEN, "server", MAILBOX),
    rule(
        "zimbraMailSSLClientCertBindAddress",
        LISTEN,
        "server",
        MAILBOX,
    ),
    rule("zimbraAdminBindAddress", LISTEN, "server", MAILBOX),
    rule("zimbraExtensionBindAddress", LISTEN, "server", MAILBOX),
    // attrs.xml says requiresRestart=mta, but the connector lives in
    // mailboxd's jetty.xml; saslauthd finds it by host name.
    rule(
        "zimbraMtaAuthBindAddress",
        LISTEN,
        "globalConfig,server",
        MAILBOX,
    ),
    // Multi-valued, but only the first value is used (§1.2).
    rule("zimbraImapBindAddress", LISTEN, "server", MAILBOX),
    rule("zimbraImapSSLBindAddress", LISTEN, "server", MAILBOX),
    rule("zimbraPop3BindAddress", LISTEN, "server", MAILBOX),
    rule("zimbraPop3SSLBindAddress", LISTEN, "server", MAILBOX),
    rule("zimbraLmtpBindAddress", LISTEN, "server", MAILBOX),
    // Deprecated IM server (8.7), still read by older mailboxd.
    rule("zimbraIMBindAddress", LISTEN, "server", MAILBOX),
    // Deprecated notification server (4.0): nothing current reads it, but
    // it names this host's address and moves with the others.
    rule(
        "zimbraNotifyBindAddress",
        LISTEN,
        "globalConfig,server",
        MAILBOX,
    ),
    rule(
        "zimbraNotifySSLBindAddress",
        LISTEN,
        "globalConfig,server",
        MAILBOX,
    ),
    rule("zimbraMilterBindAddress", LISTEN, "server", MILTER),
    // Passed to `memcached -l` by zmmemcachedctl at start (§9.4).
    rule(
        "zimbraMemcachedBindAddress",
        LISTENERS,
        "server",
        &[(Service::Memcached, Restart)],
    ),
    // clamd.conf TCPAddr, rewritten by the antivirus section, which
    // `zmmtactl reload` forces (§3.2, §3.4).
    rule(
        "zimbraClamAVBindAddress",
        LISTEN,
        "globalConfig,server",
        MTA,
    ),
    // postscreen_whitelist_interfaces: addresses of this host's
    // interfaces (`!1.2.3.4 static:all`).
    rule(
        "zimbraMtaPostscreenWhitelistInterfaces",
        LISTENERS,
        "globalConfig,server",
        MTA,
    ),
    // IP of a proxy interface: nginx `listen` address of per-domain
    // server blocks, and the key the lookup servlet maps X-Proxy-IP to a
    // domain with (§1.2, §5.2). Not watched by zmconfigd.
    rule("zimbraVirtualIPAddress", LISTENERS, "domain", PROXY),
    // --- Other hosts, host:port and relay syntax ---
    // postfix relayhost / smtp_fallback_relay: `[ip]:port` (§3.3).
    rule("zimbraMtaRelayHost", HostPort, "globalConfig,server", MTA),
    rule(
        "zimbraMtaFallbackRelayHost",
        HostPort,
        "globalConfig,server",
        MTA,
    ),
    // `inet:host:port` milter addresses in main.cf.
    rule(
        "zimbraMtaSmtpdMilters",
        HostPort,
        "globalConfig,server",
        MTA,
    ),
    rule(
        "zimbraMtaNonSmtpdMilters",
        HostPort,
        "globalConfig,server",
        MTA,
    ),
    // postfix virtual_transport: a transport with an optional next hop
    // (`lmtp:[192.0.2.10]:7025`).
    rule(
        "zimbraMtaSmtpdVirtualTransport",
        HostPort,
        "globalConfig,server",
        MTA,
    ),
    // The SMTP server mailboxd sends through; the ServerConfig callback
    // that refreshes it does not run for direct LDAP edits (§1.0).
    rule(
        "zimbraSmtpHostname",
        OtherHost,
        "globalConfig,server,domain",
        MAILBOX,
    ),
    rule(
        "zimbraShareNotificationMtaHostname",
        OtherHost,
        "globalConfig,server",
        MAILBOX,
    ),
    // Deprecated (8.6) SOAP host for MTA auth, whose callback sets
    // zimbraMtaAuthURL; saslauthd.conf is rewritten by `zmmtactl reload`.
    rule("zimbraMtaAuthHost", OtherHost, "globalConfig,server", MTA),
    // The forwarders of Zimbra's dnscache (unbound.conf forward-addr).
    // zmconfigd's `dnscache` section watches it and restarts dnscache
    // itself (§6, §9.4); zmreip has no dnscache service to act on.
    rule("zimbraDNSMasterIP", OtherHost, "globalConfig,server", NONE),
    // Where syslog messages go: written into rsyslog's configuration by
    // zmsyslogsetup, which no zmreip service action runs (run it again
    // after the move, as zmsetservername's notes say, §4.2).
    rule("zimbraLogHostname", OtherHost, "globalConfig", NONE),
    rule(
        "zimbraDocumentServerHost",
        OtherHost,
        "globalConfig,server",
        MAILBOX,
    ),
    rule(
        "zimbraLicenseDaemonServerHost",
        OtherHost,
        "globalConfig",
        MAILBOX,
    ),
    // Deprecated (10.1) mobile gateway's view of this system.
    rule(
        "zimbraMobileGatewayProxyImapHost",
        OtherHost,
        "globalConfig",
        MAILBOX,
    ),
    rule(
        "zimbraMobileGatewayProxySmtpHost",
        OtherHost,
        "globalConfig",
        MAILBOX,
    ),
    // External accounts' POP3/IMAP and SMTP servers: read when an import
    // or a send runs, from the data source cached with its account.
    rule(
        "zimbraDataSourceHost",
        OtherHost,
        "pop3DataSource,imapDataSource,dataSource",
        MAILBOX,
    ),
    rule("zimbraDataSourceSmtpHost", OtherHost, "dataSource", MAILBOX),
    // Names (or addresses) clients are told to use: IMAP/POP3 hosts of a
    // domain, the host public URLs are built with, the SMTP host of the
    // mobile profile. Read per request from cached entries.
    rule(
        "zimbraExternalImapHostname",
        OtherHost,
        "account,domain",
        MAILBOX,
    ),
    rule(
        "zimbraExternalImapSSLHostname",
        OtherHost,
        "account,domain",
        MAILBOX,
    ),
    rule(
        "zimbraExternalPop3Hostname",
        OtherHost,
        "account,domain",
        MAILBOX,
    ),
    rule(
        "zimbraExternalPop3SSLHostname",
        OtherHost,
        "account,domain",
        MAILBOX,
    ),
    rule(
        "zimbraPublicServiceHostname",
        OtherHost,
        "domain,globalConfig",
        MAILBOX,
    ),
    rule(
        "zimbraSMTPPublicServiceHostname",
        OtherHost,
        "domain,globalConfig",
        MAILBOX,
    ),
    // The Host header that picks a domain: mailboxd looks domains up by
    // it, and nginx writes per-domain server blocks with it (§5.2).
    rule(
        "zimbraVirtualHostname",
        OtherHost,
        "domain",
        &[
            (Service::Mailbox, Restart),
            (Service::Proxy, Restart),
            (Service::Memcached, Restart),
        ],
    ),
    // `host:port` lists of mailboxd's memcached and zookeeper clients.
    rule(
        "zimbraMemcachedClientServerList",
        HostPort,
        "globalConfig,server,alwaysOnCluster",
        MAILBOX,
    ),
    rule(
        "zimbraZookeeperClientServerList",
        HostPort,
        "globalConfig,server,alwaysOnCluster",
        MAILBOX,
    ),
    // `lmtp:<host>:7025`, looked up by postfix through LDAP per delivery.
    rule("zimbraMailTransport", HostPort, "mailRecipient", NONE),
    rule(
        "zimbraReverseProxyXmppBoshHostname",
        OtherHost,
        "globalConfig,server",
        PROXY,
    ),
    // --- Regular expressions of client addresses ---
    rule(
        "zimbraWebClientLoginURLAllowedIP",
        Regex,
        "globalConfig,domain",
        MAILBOX,
    ),
    rule(
        "zimbraWebClientLogoutURLAllowedIP",
        Regex,
        "globalConfig,domain",
        MAILBOX,
    ),
    // --- URLs: the host moves only where it *is* the old address ---
    // External directories: usually other hosts, sometimes this one.
    rule("zimbraAuthLdapURL", Url, "domain", MAILBOX),
    rule("zimbraGalLdapURL", Url, "domain", MAILBOX),
    rule("zimbraGalSyncLdapURL", Url, "domain,galDataSource", MAILBOX),
    rule("zimbraAutoProvLdapURL", Url, "domain", MAILBOX),
    rule("zimbraSMIMELdapURL", Url, "domain,globalConfig", MAILBOX),
    // Back-end services mailboxd calls, configured when it starts.
    rule("zimbraSpellCheckURL", Url, "globalConfig,server", MAILBOX),
    rule("zimbraConvertdURL", Url, "globalConfig,server", MAILBOX),
    rule(
        "zimbraAttachmentsScanURL",
        Url,
        "globalConfig,server",
        MAILBOX,
    ),
    rule(
        "zimbraIndexURL",
        Url,
        "globalConfig,server,alwaysOnCluster",
        MAILBOX,
    ),
    rule(
        "zimbraEventBackendURL",
        Url,
        "globalConfig,server,alwaysOnCluster",
        MAILBOX,
    ),
    // `factory:configuration`, the configuration a URL (`solr:http://...`).
    rule(
        "zimbraEventLoggingBackends",
        Url,
        "globalConfig,server,alwaysOnCluster",
        MAILBOX,
    ),
    rule(
        "zimbraMachineLearningBackendURL",
        Url,
        "globalConfig,server",
        MAILBOX,
    ),
    // Ephemeral data (auth tokens, login times): `ldap://default` or an
    // external store's URL, opened when mailboxd starts.
    rule("zimbraEphemeralBackendURL", Url, "globalConfig", MAILBOX),
    // The store zmmigrateattrs migrated from: read by that tool only.
    rule(
        "zimbraPreviousEphemeralBackendURL",
        Url,
        "globalConfig",
        NONE,
    ),
    // The external blob store's configuration, with its endpoint.
    rule("zimbraServerExternalStoreConfig", Url, "server", MAILBOX),
    rule("zimbraHttpProxyURL", Url, "globalConfig,server", MAILBOX),
    rule("zimbraWebClientURL", Url, "globalConfig,server", MAILBOX),
    rule(
        "zimbraFreebusyExchangeURL",
        Url,
        "globalConfig,domain,cos,account",
        MAILBOX,
    ),
    rule(
        "zimbraFreebusyExternalZimbraURL",
        Url,
        "globalConfig",
        MAILBOX,
    ),
    // Deprecated (8.6) MTA auth URL, immutable, set from zimbraMtaAuthHost;
    // older saslauthd.conf templates used it.
    rule("zimbraMtaAuthURL", Url, "globalConfig,server", MTA),
    // Redirects and links mailboxd hands to browsers.
    rule(
        "zimbraWebClientLoginURL",
        Url,
        "globalConfig,domain",
        MAILBOX,
    ),
    rule(
        "zimbraWebClientLogoutURL",
        Url,
        "globalConfig,domain",
        MAILBOX,
    ),
    rule(
        "zimbraAdminConsoleLoginURL",
        Url,
        "globalConfig,domain",
        MAILBOX,
    ),
    rule(
        "zimbraAdminConsoleLogoutURL",
        Url,
        "globalConfig,domain",
        MAILBOX,
    ),
    rule(
        "zimbraChangePasswordURL",
        Url,
        "globalConfig,domain",
        MAILBOX,
    ),
    rule(
        "zimbraWebClientAdminReference",
        Url,
        "globalConfig,domain",
        MAILBOX,
    ),
    rule("zimbraErrorReportUrl", Url, "domain,globalConfig", MAILBOX),
    rule("zimbraSpnegoAuthErrorURL", Url, "globalConfig", MAILBOX),
    rule(
        "zimbraWebclientUnsupportedBrowserRedirectToErrorPageURL",
        Url,
        "globalConfig",
        MAILBOX,
    ),
    rule("zimbraHelpAdminURL", Url, "globalConfig,domain", MAILBOX),
    rule("zimbraHelpAdvancedURL", Url, "globalConfig,domain", MAILBOX),
    rule(
        "zimbraHelpDelegatedURL",
        Url,
        "globalConfig,domain",
        MAILBOX,
    ),
    rule("zimbraHelpModernURL", Url, "globalConfig,domain", MAILBOX),
    rule("zimbraHelpStandardURL", Url, "globalConfig,domain", MAILBOX),
    rule("zimbraSkinLogoURL", Url, "globalConfig,domain", MAILBOX),
    rule("zimbraFeatureMailUpsellURL", Url, "account,cos", MAILBOX),
    rule(
        "zimbraFeatureContactsUpsellURL",
        Url,
        "account,cos",
        MAILBOX,
    ),
    rule(
        "zimbraFeatureCalendarUpsellURL",
        Url,
        "account,cos",
        MAILBOX,
    ),
    rule("zimbraFeatureVoiceUpsellURL", Url, "account,cos", MAILBOX),
    rule(
        "zimbraFeatureSocialExternalURL",
        Url,
        "account,cos,domain",
        MAILBOX,
    ),
    // `{tab-name},{associated-URL}`.
    rule(
        "zimbraStandardClientCustomPrefTab",
        Url,
        "account,cos,domain",
        MAILBOX,
    ),
    rule(
        "zimbraCommunityBaseURL",
        Url,
        "globalConfig,domain,cos,account",
        MAILBOX,
    ),
    rule(
        "zimbraCommunityHomeURL",
        Url,
        "globalConfig,domain,cos,account",
        MAILBOX,
    ),
    rule("zimbraSocialcastURL", Url, "account,cos", MAILBOX),
    rule("zimbraDriveOwnCloudURL", Url, "domain", MAILBOX),
    // Integrations: OAuth and OpenID endpoints, push, version check, the
    // UC service, a data source's token endpoint, zimlet scripts.
    // `redirectURI:consumer-app-name`.
    rule(
        "zimbraOAuthConsumerRedirectUri",
        Url,
        "globalConfig,domain",
        MAILBOX,
    ),
    rule(
        "zimbraOpenidConsumerAllowedOPEndpointURL",
        Url,
        "domain,globalConfig",
        MAILBOX,
    ),
    rule("zimbraGCMUrl", Url, "globalConfig", MAILBOX),
    rule("zimbraVersionCheckURL", Url, "globalConfig", MAILBOX),
    rule("zimbraUCUserURL", Url, "ucService", MAILBOX),
    rule("zimbraUCVoicemailURL", Url, "ucService", MAILBOX),
    rule("zimbraUCCallControlURL", Url, "ucService", MAILBOX),
    rule("zimbraUCPresenceURL", Url, "ucService", MAILBOX),
    rule(
        "zimbraDataSourceOAuthRefreshTokenUrl",
        Url,
        "dataSource,imapDataSource",
        MAILBOX,
    ),
    rule("zimbraZimletScript", Url, "zimletEntry", MAILBOX),
    // Written into the nginx config at generation time.
    rule(
        "zimbraReverseProxyErrorHandlerURL",
        Url,
        "server,globalConfig",
        PROXY,
    ),
    rule(
        "zimbraReverseProxyXmppBoshRemoteHttpBindURL",
        Url,
        "globalConfig,server",
        PROXY,
    ),
];

/// LDAP clients: slapd listens on the URL (resolved at start), postfix's
/// ldap-*.cf maps are rewritten by `zmmtactl reload` (zmmtainit), Java
/// processes read localconfig at start, and zmconfigd's proxy section
/// watches `ldap_url` (§8.1, §9.4). LDAP goes first, the plan orders it.
const LDAP_CLIENTS: &[(Service, Action)] = &[
    (Service::Ldap, Restart),
    (Service::Mta, Reload),
    (Service::Mailbox, Restart),
    (Service::Proxy, Restart),
];

/// localconfig keys that can hold an address (§2). `zimbra_server_hostname`
/// and the other name-valued keys are not here: names stay.
pub(super) static LOCALCONFIG: &[Rule] = &[
    // Space-separated LDAP URL lists.
    key("ldap_url", Url, LDAP_CLIENTS),
    key("ldap_master_url", Url, LDAP_CLIENTS),
    // Only slapd's listen URLs (space-separated; slapd listens on every
    // one).
    key("ldap_bind_url", LISTENERS, &[(Service::Ldap, Restart)]),
    // Fallback when ldap_url is empty, and zmmtainit's host argument; the
    // LDAP server may be another node, so only its exact address moves.
    key(
        "ldap_host",
        OtherHost,
        &[
            (Service::Ldap, Restart),
            (Service::Mta, Reload),
            (Service::Mailbox, Restart),
        ],
    ),
    // zmprov reads localconfig at every invocation.
    key("zimbra_zmprov_default_soap_server", OtherHost, NONE),
    // my.cnf bind-address; mysqld restarts with the mailbox service.
    key("mysql_bind_address", LISTEN, MAILBOX),
    // salocal.cf bayes DSN, rewritten by the antispam section that
    // `zmmtactl reload` forces (§3.2).
    key("antispam_mysql_host", OtherHost, MTA),
    // postjournal runs per message from postfix and reads localconfig then.
    key("postjournal_reinject_host", OtherHost, NONE),
    key("postjournal_archive_host", OtherHost, NONE),
    key("milter_bind_address", LISTEN, MILTER),
    // Not in LC.java: the installer sets it (zmsetup.pl), and zmsnmpinit
    // writes it into the swatch config, which no zmreip action runs.
    key("snmp_trap_host", OtherHost, NONE),
    // URLs mailboxd reads at start.
    key("zimbra_index_elasticsearch_url_base", Url, MAILBOX),
    key("rest_pdf_converter_url", Url, MAILBOX),
    key("zimbra_activesync_autodiscover_url", Url, MAILBOX),
    key("redis_service_uri", Url, MAILBOX),
    key("triton_store_url", Url, MAILBOX),
    key("yauth_baseuri", Url, MAILBOX),
    // The preauth redirect URL allowed, and the logout URLs known to
    // deregister tokens (space-separated).
    key("zimbra_allowed_redirect_url", Url, MAILBOX),
    key("zimbra_web_client_logoff_urls", Url, MAILBOX),
    // Addresses and networks the feed manager may fetch from despite its
    // blacklist of private ranges: an allow list, never widened.
    key("zimbra_feed_manager_whitelist", TRUST, MAILBOX),
];

/// localconfig keys holding secrets (LC.java plus installer-set keys).
/// Every one says `password`, which [`super::is_secret_key`] also catches
/// in keys not listed; the list documents the known ones.
/// A line naming one of these (in any case) carries a credential: it is
/// never shown, scanned for a verdict or changed. Broad on purpose: a
/// skipped line costs a finding; a printed secret cannot be taken back.
/// Zimbra copies passwords into files it generates
/// (`zm_lookup_master_auth_password` in the nginx lookup include,
/// `bind_password` in amavisd.conf, `bind_pw` in the postfix LDAP maps).
pub(super) static SECRET_LINE_MARKERS: &[&str] = &[
    // nginx `zm_lookup_master_auth_password`, amavisd `bind_password`,
    // saslauthd `ldap_password`, `ssl_password_file`.
    "password",
    "passwd",
    "pwd",
    // postfix ldap_table(5) `bind_pw`, slapd `rootpw`, `bindpw`.
    "_pw",
    "rootpw",
    "bindpw",
    // syncrepl `credentials=`, `*_secret`, shared secrets, tokens, keys.
    "credential",
    "secret",
    "token",
    "privatekey",
    "private_key",
    "krb5key",
];

/// Localconfig keys that name one of this host's own listeners by URL
/// (slapd listens where `ldap_bind_url` says): with the keys whose rule
/// is an own address, evidence that an address is this host's.
pub(super) static OWN_URL_KEYS: &[&str] = &["ldap_bind_url"];

pub(super) static SECRET_KEYS: &[&str] = &[
    "zimbra_ldap_password",
    "ldap_root_password",
    "ldap_replication_password",
    "ldap_postfix_password",
    "ldap_amavis_password",
    "ldap_nginx_password",
    "ldap_bes_searcher_password",
    "zimbra_mysql_password",
    "mysql_root_password",
    "antispam_mysql_password",
    "antispam_mysql_root_password",
    "mailboxd_keystore_password",
    "mailboxd_keystore_base_password",
    "mailboxd_truststore_password",
    "client_ssl_truststore_password",
    "imapd_keystore_password",
    "smime_truststore_password",
    "zimbra_vami_password",
];

/// Directory attributes holding secrets whose names do not say
/// `password` (keys, tokens, private keys): never scanned, never printed.
/// Parts of a directory attribute's or localconfig key's name (compared
/// lower-cased) that say it holds a secret: `userPassword`,
/// `*Passwd`, `*Pwd`, `*Secret`, `krb5Key`, private keys, credentials,
/// token keys. An address attribute of the tables is never a secret
/// (`zimbraChangePasswordURL` is a URL).
pub(super) static SECRET_NAME_PARTS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "krb5key",
    "privatekey",
    "private_key",
    "credential",
    "tokenkey",
    "authtoken",
];

pub(super) static SECRET_ATTRIBUTES: &[&str] = &[
    "zimbraPreAuthKey",
    "zimbraAuthTokenKey",
    "zimbraCsrfTokenKey",
    "zimbraAuthTokens",
    "zimbraSSLPrivateKey",
    "zimbraCertAuthorityKeySelfSigned",
    "zimbraTwoFactorAuthSecret",
    "zimbraTwoFactorAuthScratchCodes",
    "zimbraDataSourceOAuthToken",
    "zimbraDataSourceOAuthRefreshToken",
    "zimbraOAuthConsumerCredentials",
    // The XMPP dialback shared secret, and the key that encrypts external
    // users' share tokens.
    "zimbraXMPPServerDialbackKey",
    "zimbraExternalAccountProvisioningKey",
    // opendkim private keys stored under domains.
    "DKIMKey",
];

const MTA_FILE: Service = Service::Mta;
const PROXY_FILE: Service = Service::Proxy;

const fn derived(path: &'static str, regenerated_by: Service) -> Derived {
    Derived {
        path,
        regenerated_by,
    }
}

/// Files Zimbra writes from the directory and localconfig (§3.4, §3.5,
/// §5.1, §7), relative to Zimbra's home. Left out on purpose:
/// `conf/unbound.conf` (rewritten by zmconfigd's `dnscache` section, a
/// service zmreip cannot act on yet) and `conf/my.cnf` (written by zmmycnf
/// at install and by zmiptool, never by a restart).
pub(super) static DERIVED: &[Derived] = &[
    // postconf -e in place; master.cf from master.cf.in (`mta` section).
    derived("common/conf/main.cf", MTA_FILE),
    derived("common/conf/master.cf", MTA_FILE),
    // Sections `amavis`, `antispam`, `opendkim`, `antivirus`, `sasl`.
    derived("conf/amavisd.conf", MTA_FILE),
    derived("data/spamassassin/localrules/salocal.cf", MTA_FILE),
    derived("conf/opendkim-localnets.conf", MTA_FILE),
    derived("conf/opendkim.conf", MTA_FILE),
    derived("conf/clamd.conf", MTA_FILE),
    derived("conf/saslauthd.conf", MTA_FILE),
    // zmmtainit, run by bin/postfix on every reload (§3.5).
    derived("conf/ldap-vmm.cf", MTA_FILE),
    derived("conf/ldap-vmd.cf", MTA_FILE),
    derived("conf/ldap-vam.cf", MTA_FILE),
    derived("conf/ldap-vad.cf", MTA_FILE),
    derived("conf/ldap-canonical.cf", MTA_FILE),
    derived("conf/ldap-transport.cf", MTA_FILE),
    derived("conf/ldap-slm.cf", MTA_FILE),
    derived("conf/ldap-splitdomain.cf", MTA_FILE),
    // ProxyConfGen, run by `zmproxyctl restart`: the parts that can hold
    // resolved or literal addresses (§5.2).
    derived("conf/nginx.conf", PROXY_FILE),
    derived("conf/nginx/includes/nginx.conf.memcache", PROXY_FILE),
    derived("conf/nginx/includes/nginx.conf.zmlookup", PROXY_FILE),
    derived("conf/nginx/includes/nginx.conf.mail", PROXY_FILE),
    derived("conf/nginx/includes/nginx.conf.mail.imap", PROXY_FILE),
    derived(
        "conf/nginx/includes/nginx.conf.mail.imap.default",
        PROXY_FILE,
    ),
    derived("conf/nginx/includes/nginx.conf.mail.imaps", PROXY_FILE),
    derived(
        "conf/nginx/includes/nginx.conf.mail.imaps.default",
        PROXY_FILE,
    ),
    derived("conf/nginx/includes/nginx.conf.mail.pop3", PROXY_FILE),
    derived(
        "conf/nginx/includes/nginx.conf.mail.pop3.default",
        PROXY_FILE,
    ),
    derived("conf/nginx/includes/nginx.conf.mail.pop3s", PROXY_FILE),
    derived(
        "conf/nginx/includes/nginx.conf.mail.pop3s.default",
        PROXY_FILE,
    ),
    derived("conf/nginx/includes/nginx.conf.web", PROXY_FILE),
    derived("conf/nginx/includes/nginx.conf.web.http", PROXY_FILE),
    derived(
        "conf/nginx/includes/nginx.conf.web.http.default",
        PROXY_FILE,
    ),
    derived("conf/nginx/includes/nginx.conf.web.https", PROXY_FILE),
    derived(
        "conf/nginx/includes/nginx.conf.web.https.default",
        PROXY_FILE,
    ),
    derived("conf/nginx/includes/nginx.conf.web.admin", PROXY_FILE),
    derived(
        "conf/nginx/includes/nginx.conf.web.admin.default",
        PROXY_FILE,
    ),
    derived("conf/nginx/includes/nginx.conf.web.sso", PROXY_FILE),
    derived("conf/nginx/includes/nginx.conf.web.sso.default", PROXY_FILE),
    // `mailbox` section: connector hosts and pre-bound IMAP/POP3/LMTP
    // addresses.
    derived("mailboxd/etc/jetty.xml", Service::Mailbox),
    derived("mailboxd/modules/setuid.mod", Service::Mailbox),
    derived("mailboxd/start.d/setuid.ini", Service::Mailbox),
];

/// Attributes mailboxd reads per request from its cached global config,
/// server, domain, COS or account entries (zimbra-config-model.md §9.1,
/// §9.4), so `zmprov flushCache` makes a running mailboxd use the new
/// value. Everything mailboxd builds at start (listeners, the DoSFilter
/// and throttle exemptions, the SMTP host its callback sets) is not here:
/// those need a restart.
pub(super) static FLUSHABLE: &[&str] = &[
    // ZimbraServlet.getTrustedIPs() re-reads it from the cached server
    // entry on every call (§9.4).
    "zimbraMailTrustedIP",
    // Read from global config by the nginx-lookup servlet per request.
    "zimbraReverseProxyAdminIPAddress",
    "zimbraCsrfAllowedRefererHosts",
    // Client allow lists checked per login against the cached domain,
    // COS or account.
    "zimbraDomainAllowedIPs",
    "zimbraWebClientAllowedIPs",
    "zimbraImapAllowedIPs",
    "zimbraPop3AllowedIPs",
    "zimbraMobileAllowedIPs",
    "zimbraMapiAllowedIPs",
    "zimbraZDAllowedIPs",
    // Links and host names handed to clients, read per request from the
    // cached domain, COS or account.
    "zimbraHelpAdminURL",
    "zimbraHelpAdvancedURL",
    "zimbraHelpDelegatedURL",
    "zimbraHelpModernURL",
    "zimbraHelpStandardURL",
    "zimbraSkinLogoURL",
    "zimbraFeatureMailUpsellURL",
    "zimbraFeatureContactsUpsellURL",
    "zimbraFeatureCalendarUpsellURL",
    "zimbraFeatureVoiceUpsellURL",
    "zimbraExternalImapHostname",
    "zimbraExternalImapSSLHostname",
    "zimbraExternalPop3Hostname",
    "zimbraExternalPop3SSLHostname",
    // Redirects handed to browsers, read from the domain per request.
    "zimbraWebClientLoginURL",
    "zimbraWebClientLogoutURL",
    "zimbraAdminConsoleLoginURL",
    "zimbraAdminConsoleLogoutURL",
    "zimbraChangePasswordURL",
    "zimbraWebClientLoginURLAllowedIP",
    "zimbraWebClientLogoutURLAllowedIP",
];

/// Postfix parameters zmconfigd never writes: no `POSTCONF` line of
/// zmconfigd.cf names them and no attribute maps to them
/// (Zimbra/zm-ldap-utilities:conf/zmconfigd.cf, §3.3), so a value set in
/// main.cf (edited in place by `postconf -e`, not rendered from a
/// template) or as a service option of the master.cf.in template survives
/// every zmconfigd rewrite and `zmmtactl reload`.
pub(super) static POSTFIX: &[Rule] = &[
    // The addresses smtpd and the other `inet` services listen on.
    // Postfix reads it only when it starts: "stop and start Postfix when
    // this parameter changes" (postconf(5)); `zmmtactl restart` does.
    key("inet_interfaces", LISTENERS, &[(Service::Mta, Restart)]),
    // The SMTP client's source address (per family). In master.cf.in as
    // a `-o` option of the transports that deliver off the host; the
    // reload rewrites master.cf and postfix re-reads it.
    key("smtp_bind_address", LISTEN, MTA),
    key("smtp_bind_address6", LISTEN, MTA),
];

const fn listener(
    name: &'static str,
    what: &'static str,
    setting: BindSetting,
    port: PortFrom,
    enabled_by: Option<&'static str>,
) -> Listener {
    Listener {
        name,
        what,
        setting,
        port,
        enabled_by,
        by_name: false,
        proxied: false,
    }
}

const fn attr(name: &'static str) -> BindSetting {
    BindSetting::Attribute {
        name,
        overridden_by: None,
    }
}

/// Reached by the host name: other servers and local processes find it
/// through `zimbraServiceHostname` or `ldap_url`.
const fn by_name(mut l: Listener) -> Listener {
    l.by_name = true;
    l
}

/// Behind zimbra-proxy, nginx answers clients on the public port and
/// reaches this listener upstream (by the host name).
const fn proxied(mut l: Listener) -> Listener {
    l.proxied = true;
    l.by_name = true;
    l
}

/// What `zmreip bind --listen` binds (§1.2, §1.3, §3.3, §3.4): each
/// listener's address setting, port and switch. The actions are those of
/// the setting's rule (mailboxd binds its listeners at start; slapd
/// listens on `ldap_bind_url` at start; postfix reads `inet_interfaces`
/// at start). The IMAP, POP3 and LMTP attributes are multi-valued, but
/// the servers use the first value only: a bind leaves exactly one.
pub(super) static BOUND_LISTENERS: &[Listener] = &[
    proxied(listener(
        "imap",
        "IMAP (mailboxd)",
        attr("zimbraImapBindAddress"),
        PortFrom::Attribute("zimbraImapBindPort", 143),
        Some("zimbraImapServerEnabled"),
    )),
    proxied(listener(
        "imaps",
        "IMAP over TLS (mailboxd)",
        attr("zimbraImapSSLBindAddress"),
        PortFrom::Attribute("zimbraImapSSLBindPort", 993),
        Some("zimbraImapSSLServerEnabled"),
    )),
    proxied(listener(
        "pop3",
        "POP3 (mailboxd)",
        attr("zimbraPop3BindAddress"),
        PortFrom::Attribute("zimbraPop3BindPort", 110),
        Some("zimbraPop3ServerEnabled"),
    )),
    proxied(listener(
        "pop3s",
        "POP3 over TLS (mailboxd)",
        attr("zimbraPop3SSLBindAddress"),
        PortFrom::Attribute("zimbraPop3SSLBindPort", 995),
        Some("zimbraPop3SSLServerEnabled"),
    )),
    // MTAs deliver to `lmtp:<zimbraServiceHostname>:7025`.
    by_name(listener(
        "lmtp",
        "LMTP (mailboxd)",
        attr("zimbraLmtpBindAddress"),
        PortFrom::Attribute("zimbraLmtpBindPort", 7025),
        Some("zimbraLmtpServerEnabled"),
    )),
    // Jetty connectors in jetty.xml; the LocalBind flags decide whether
    // a localhost connector is added beside them.
    proxied(listener(
        "http",
        "HTTP (mailboxd)",
        attr("zimbraMailBindAddress"),
        PortFrom::Attribute("zimbraMailPort", 80),
        None,
    )),
    proxied(listener(
        "https",
        "HTTPS (mailboxd)",
        attr("zimbraMailSSLBindAddress"),
        PortFrom::Attribute("zimbraMailSSLPort", 443),
        None,
    )),
    listener(
        "admin",
        "admin console and SOAP (mailboxd)",
        attr("zimbraAdminBindAddress"),
        PortFrom::Attribute("zimbraAdminPort", 7071),
        None,
    ),
    // localconfig milter_bind_address overrides the attribute
    // (MilterConfig.java); postfix's smtpd_milters names the address.
    listener(
        "milter",
        "milter server (mailboxd)",
        BindSetting::Attribute {
            name: "zimbraMilterBindAddress",
            overridden_by: Some("milter_bind_address"),
        },
        PortFrom::Attribute("zimbraMilterBindPort", 7026),
        Some("zimbraMilterServerEnabled"),
    ),
    // slapd listens on ldap_bind_url (else the first ldap_url entry)
    // plus ldapi:/// (ldap.production); every client uses ldap_url.
    by_name(listener(
        "ldap",
        "LDAP (slapd)",
        BindSetting::LocalconfigUrl {
            key: "ldap_bind_url",
            scheme: "ldap",
        },
        PortFrom::Localconfig("ldap_port", 389),
        None,
    )),
    // Postfix's public `inet` services (smtp, submission, smtps) listen
    // on inet_interfaces; loopback stays in it for mailboxd and Zimbra's
    // tools, which send through localhost.
    by_name(listener(
        "smtp",
        "SMTP in (postfix smtp, submission, smtps)",
        BindSetting::Postfix {
            parameter: "inet_interfaces",
        },
        PortFrom::Fixed(25),
        None,
    )),
];

/// `zmreip bind --outbound`. Postfix's `smtp_bind_address` in main.cf
/// would bind every SMTP client, also those of Zimbra's content-filter
/// hops to loopback (`smtp-amavis` to amavisd on 10032, `scan` to the
/// DKIM listener on 10030), whose receivers accept loopback only
/// (amavisd's `@inet_acl`, `mynetworks=127.0.0.0/8,[::1]/128` on the
/// 10025/10028/10030 listeners of master.cf.in): mail would stop. So only
/// the transports that deliver off the host are bound: `smtp` (the
/// default transport, also to the relay host) and `relay`.
pub(super) static OUTBOUND: Outbound = Outbound {
    template: "common/conf/master.cf.in",
    rendered: "common/conf/master.cf",
    transports: &["smtp", "relay"],
    parameter_v4: "smtp_bind_address",
    parameter_v6: "smtp_bind_address6",
};

const fn endpoint(
    service: &'static str,
    protocol: &'static str,
    port_attribute: Option<&'static str>,
    default_port: u16,
    enabled_by: Option<&'static str>,
) -> ServiceEndpoint {
    ServiceEndpoint {
        service,
        protocol,
        port_attribute,
        default_port,
        enabled_by,
    }
}

/// The listeners other servers use (zimbra-config-model.md §1.2, §3.3,
/// §8.1): every node reads the directory; MTAs deliver to the mailbox
/// servers over LMTP (`lmtp:<host>:7025`); the proxy and clients reach
/// IMAP; mailboxd sends through the MTA's SMTP. The proxy and memcached
/// answer clients, not servers, and HTTP is left out: a mailbox server
/// behind a proxy answers it on ports that vary with the proxy mode.
pub(super) static ENDPOINTS: &[ServiceEndpoint] = &[
    // localconfig ldap_port; every Zimbra LDAP server listens on 389.
    endpoint("ldap", "ldap", None, 389, None),
    endpoint(
        "mailbox",
        "lmtp",
        Some("zimbraLmtpBindPort"),
        7025,
        Some("zimbraLmtpServerEnabled"),
    ),
    endpoint(
        "mailbox",
        "imap",
        Some("zimbraImapBindPort"),
        143,
        Some("zimbraImapServerEnabled"),
    ),
    endpoint("mta", "smtp", Some("zimbraSmtpPort"), 25, None),
];

#[cfg(test)]
mod tests {
    use super::super::{
        attribute, derived_files, holds_secret, is_secret_attribute, is_secret_key,
        localconfig_key, secret_lines,
    };
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn attribute_lookup_ignores_case() {
        for name in [
            "zimbraMtaMyNetworks",
            "zimbramtamynetworks",
            "ZIMBRAMTAMYNETWORKS",
        ] {
            let r = attribute(name).expect(name);
            assert_eq!(r.name, "zimbraMtaMyNetworks");
            assert_eq!(r.kind, ValueKind::TrustList { loopback: true });
        }
        assert!(attribute("zimbraServiceHostname").is_none());
        assert!(attribute("zimbraMtaMyNetwork").is_none());
        assert!(attribute("").is_none());
    }

    #[test]
    fn kinds_of_key_attributes() {
        let cases: &[(&str, ValueKind)] = &[
            ("zimbraMailTrustedIP", ExactList),
            ("zimbraReverseProxyAdminIPAddress", ExactList),
            ("zimbraHttpThrottleSafeIPs", TRUST),
            ("zimbraReverseProxyIPThrottleWhitelist", TRUST),
            ("zimbraWebClientAllowedIPs", TRUST),
            ("zimbraZDAllowedIPs", TRUST),
            // A domain may have several virtual IPs: the proxy listens on
            // each.
            ("zimbraVirtualIPAddress", LISTENERS),
            // Multi-valued in the schema, one used.
            ("zimbraLmtpBindAddress", LISTEN),
            ("zimbraImapBindAddress", LISTEN),
            ("zimbraMemcachedBindAddress", LISTENERS),
            ("zimbraMtaRelayHost", HostPort),
            ("zimbraDNSMasterIP", OtherHost),
            ("zimbraWebClientLoginURLAllowedIP", Regex),
            ("zimbraAuthLdapURL", Url),
            ("zimbraMemcachedClientServerList", HostPort),
            // ServerThrottle compares addresses as strings.
            ("zimbraThrottleSafeHosts", ExactList),
            ("zimbraThrottleWhitelist", ExactList),
            ("zimbraLogHostname", OtherHost),
            ("zimbraMtaAuthHost", OtherHost),
            ("zimbraDataSourceHost", OtherHost),
            ("zimbraDataSourceSmtpHost", OtherHost),
            ("zimbraEphemeralBackendURL", Url),
            ("zimbraMtaSmtpdVirtualTransport", HostPort),
        ];
        for (name, kind) in cases {
            assert_eq!(attribute(name).expect(name).kind, *kind, "{name}");
        }
    }

    #[test]
    fn every_bind_address_is_a_listen_address_with_an_action() {
        for r in ATTRIBUTES.iter().chain(LOCALCONFIG) {
            if r.name.ends_with("BindAddress") || r.name.ends_with("bind_address") {
                assert!(
                    matches!(r.kind, ValueKind::Listen { .. }),
                    "{} is {:?}",
                    r.name,
                    r.kind
                );
                assert!(!r.actions.is_empty(), "{} binds at start", r.name);
            }
        }
    }

    #[test]
    fn least_actions() {
        let cases: &[(&str, &[(Service, Action)])] = &[
            ("zimbraMtaMyNetworks", &[(Service::Mta, Reload)]),
            ("zimbraMailTrustedIP", &[(Service::Mailbox, Restart)]),
            ("zimbraMailBindAddress", &[(Service::Mailbox, Restart)]),
            (
                "zimbraVirtualIPAddress",
                &[(Service::Proxy, Restart), (Service::Memcached, Restart)],
            ),
            ("zimbraMtaRelayHost", &[(Service::Mta, Reload)]),
        ];
        for (name, actions) in cases {
            assert_eq!(attribute(name).expect(name).actions, *actions, "{name}");
        }
        let ldap = localconfig_key("ldap_url").expect("ldap_url");
        assert_eq!(ldap.actions[0], (Service::Ldap, Restart));
        assert!(ldap.actions.contains(&(Service::Mta, Reload)));
        assert!(ldap.actions.contains(&(Service::Mailbox, Restart)));
        assert_eq!(
            localconfig_key("ldap_bind_url")
                .expect("ldap_bind_url")
                .actions,
            &[(Service::Ldap, Restart)]
        );
    }

    /// Rows whose consumers re-read the value on their own; every other
    /// row must name an action.
    const NO_ACTION: &[&str] = &[
        "zimbraDNSMasterIP",
        "zimbraLogHostname",
        "zimbraPreviousEphemeralBackendURL",
        "zimbraMailTransport",
        "zimbra_zmprov_default_soap_server",
        "postjournal_reinject_host",
        "postjournal_archive_host",
        "snmp_trap_host",
    ];

    #[test]
    fn every_rule_is_sane() {
        for r in ATTRIBUTES.iter().chain(LOCALCONFIG).chain(POSTFIX) {
            assert!(!r.name.is_empty());
            assert_eq!(r.name.trim(), r.name, "{}", r.name);
            if r.actions.is_empty() {
                assert!(NO_ACTION.contains(&r.name), "{} names no action", r.name);
            }
            // Trust and exact lists guard who may relay or log in: a change
            // must reach the process that holds them.
            if matches!(r.kind, ValueKind::TrustList { .. } | ExactList) {
                assert!(!r.actions.is_empty(), "{}", r.name);
            }
            assert!(
                r.kind != ValueKind::Text,
                "{}: Text is the fallback, not a table kind",
                r.name
            );
            let mut services = HashSet::new();
            for (s, _) in r.actions {
                assert!(services.insert(*s), "{} names {s:?} twice", r.name);
                assert!(
                    !matches!(s, Service::All | Service::Network | Service::Named),
                    "{}: settings never need {s:?}",
                    r.name
                );
            }
            assert!(!is_secret_key(r.name) && !is_secret_attribute(r.name));
        }
        for name in NO_ACTION {
            let found = attribute(name).or_else(|| localconfig_key(name));
            assert!(
                found.is_some_and(|r| r.actions.is_empty()),
                "{name} is stale in NO_ACTION"
            );
        }
    }

    #[test]
    fn every_listener_has_a_rule_and_a_restart() {
        let mut names = HashSet::new();
        for l in BOUND_LISTENERS {
            assert!(names.insert(l.name), "listener {} twice", l.name);
            assert_eq!(l.name, l.name.to_ascii_lowercase(), "{}", l.name);
            let rule = l.setting.rule();
            // The bound role binds exactly these kinds.
            assert!(
                matches!(rule.kind, ValueKind::Listen { .. }),
                "{}: {:?}",
                l.name,
                rule.kind
            );
            // Every listener binds when it starts: a bind needs an action.
            assert!(!rule.actions.is_empty(), "{}", l.name);
            if let BindSetting::Attribute {
                overridden_by: Some(k),
                ..
            } = l.setting
            {
                assert!(localconfig_key(k).is_some(), "{k}");
            }
        }
        for name in [
            "imap", "imaps", "pop3", "pop3s", "lmtp", "http", "https", "admin", "milter", "ldap",
            "smtp",
        ] {
            assert!(names.contains(name), "the issue's listener {name}");
        }
        assert_eq!(
            super::super::listener("smtp").map(|l| l.setting.rule().actions),
            Some(&[(Service::Mta, Restart)][..])
        );
        for p in [OUTBOUND.parameter_v4, OUTBOUND.parameter_v6] {
            assert_eq!(
                super::super::postfix_parameter(p).map(|r| r.actions),
                Some(MTA)
            );
        }
    }

    #[test]
    fn local_bind_flags_follow_the_callback() {
        use super::super::{admin_local_bind, mail_local_bind};
        // (mail mode, bind address, zimbraMailLocalBind)
        let mail: &[(Option<&str>, Option<&str>, bool)] = &[
            (None, None, false),
            (Some("both"), Some(""), false),
            (Some("http"), Some("10.40.7.132"), true),
            (Some("mixed"), Some("127.0.0.1"), false),
            (Some("redirect"), Some("0.0.0.0"), false),
            (Some("both"), Some("::"), false),
            (Some("both"), Some("::1"), false),
            (Some("both"), Some("2001:db8::26"), true),
            (Some("both"), Some("localhost"), false),
            (Some("both"), Some("mail.corp.example"), true),
            // HTTPS only: plain HTTP stays on localhost for local tools.
            (Some("https"), None, true),
            (Some("HTTPS"), Some("127.0.0.1"), true),
        ];
        for (mode, addr, want) in mail {
            assert_eq!(mail_local_bind(*mode, *addr), *want, "{mode:?} {addr:?}");
        }
        assert!(!admin_local_bind(None));
        assert!(!admin_local_bind(Some("127.0.0.1")));
        assert!(admin_local_bind(Some("10.40.7.132")));
        // Trap: 127.0.0.10 is loopback too.
        assert!(!admin_local_bind(Some("127.0.0.10")));
    }

    #[test]
    fn no_duplicate_names() {
        let mut seen = HashSet::new();
        for r in ATTRIBUTES {
            assert!(
                seen.insert(r.name.to_ascii_lowercase()),
                "attribute {} twice",
                r.name
            );
        }
        let mut seen = HashSet::new();
        for r in LOCALCONFIG {
            assert!(seen.insert(r.name), "key {} twice", r.name);
        }
        let mut seen = HashSet::new();
        for d in DERIVED {
            assert!(seen.insert(d.path), "derived {} twice", d.path);
        }
    }

    #[test]
    fn secrets_are_detected() {
        for k in SECRET_KEYS {
            assert!(is_secret_key(k), "{k}");
            assert!(localconfig_key(k).is_none(), "{k} is in LOCALCONFIG");
        }
        // (localconfig key, secret?)
        let keys: &[(&str, bool)] = &[
            ("zimbra_ldap_password", true),
            ("ldap_nginx_password", true),
            ("some_new_password", true),
            ("some_api_secret", true),
            ("av_notify_passwd", true),
            ("smtp_auth_pwd", true),
            ("ldap_bind_credentials", true),
            ("ssl_private_key", true),
            ("ldap_url", false),
            ("ldap_bind_url", false),
            ("zimbra_server_hostname", false),
            ("ldap_host", false),
            ("mysql_bind_address", false),
        ];
        for (k, want) in keys {
            assert_eq!(is_secret_key(k), *want, "{k}");
        }
        // (directory attribute, secret?)
        let attrs: &[(&str, bool)] = &[
            ("userPassword", true),
            ("USERPASSWORD", true),
            ("zimbraGalLdapBindPassword", true),
            ("zimbraDataSourcePassword", true),
            ("zimbraFooPasswd", true),
            ("sambaNTPwd", true),
            ("zimbraLdapPwd", true),
            ("zimbraTwoFactorAuthSecret", true),
            ("zimbraSomeSharedSecret", true),
            ("krb5Key", true),
            ("KRB5KEY", true),
            ("zimbraPreAuthKey", true),
            ("zimbrapreauthkey", true),
            ("zimbraSSLPrivateKey", true),
            ("zimbraCsrfTokenKey", true),
            ("zimbraAuthTokens", true),
            ("zimbraOAuthConsumerCredentials", true),
            ("DKIMKey", true),
            ("zimbraMtaMyNetworks", false),
            ("zimbraSSLCertificate", false),
            ("cn", false),
            ("krb5PrincipalName", false),
            ("zimbraMailTrustedIP", false),
            // A URL whose name says password is an address attribute.
            ("zimbraChangePasswordURL", false),
        ];
        for (a, want) in attrs {
            assert_eq!(is_secret_attribute(a), *want, "{a}");
        }
        for a in SECRET_ATTRIBUTES {
            assert!(attribute(a).is_none(), "{a} is in ATTRIBUTES");
        }
        // Table attributes that are secrets by name would never be read.
        for r in ATTRIBUTES {
            assert!(!is_secret_attribute(r.name), "{} reads as a secret", r.name);
        }
    }

    #[test]
    fn lines_carrying_credentials_are_found() {
        // (line, carries a credential?)
        let cases: &[(&str, bool)] = &[
            ("    zm_lookup_master_auth_password \"x\";", true),
            ("bind_pw = s3cret", true),
            ("rootpw {SSHA}abc", true),
            ("  credentials=\"x\"", true),
            ("$sa_bind_password = 'x';", true),
            ("api_token: abc", true),
            ("ssl_private_key /etc/x.key", true),
            ("mynetworks = 127.0.0.0/8 192.168.2.0/24", false),
            ("zm_lookup_handlers https://192.168.2.1:7072/x;", false),
            ("relayhost = [192.168.2.10]:25", false),
        ];
        for (line, want) in cases {
            assert_eq!(holds_secret(line), *want, "{line}");
        }
        // localconfig.xml: the value line after a secret key's line.
        let text = "<key name=\"zimbra_ldap_password\">\n  <value>pw 10.0.0.1</value>\n</key>\n<key name=\"ldap_url\">\n  <value>ldap://10.0.0.1</value>\n</key>\n<key name=\"x_password\"><value>a</value></key>\n<value>next</value>\n";
        assert_eq!(
            secret_lines(text),
            [true, true, false, false, false, false, true, false, false]
        );
    }

    #[test]
    fn derived_files_are_relative_and_known() {
        assert!(!derived_files().is_empty());
        for d in derived_files() {
            assert!(!d.path.starts_with('/'), "{}", d.path);
            assert!(!d.path.ends_with(".in"), "{} is a template", d.path);
            assert!(
                matches!(
                    d.regenerated_by,
                    Service::Mta | Service::Proxy | Service::Mailbox
                ),
                "{}",
                d.path
            );
        }
        let by = |p: &str| {
            derived_files()
                .iter()
                .find(|d| d.path == p)
                .map(|d| d.regenerated_by)
        };
        assert_eq!(by("common/conf/main.cf"), Some(Service::Mta));
        assert_eq!(by("conf/ldap-vmm.cf"), Some(Service::Mta));
        assert_eq!(
            by("conf/nginx/includes/nginx.conf.zmlookup"),
            Some(Service::Proxy)
        );
        assert_eq!(by("mailboxd/etc/jetty.xml"), Some(Service::Mailbox));
        assert_eq!(by("conf/localconfig.xml"), None);
    }
}
