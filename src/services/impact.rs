//! What people notice while a service action runs, and for how long: the
//! impact section of the change-board report. Durations are typical for
//! a single server of a few thousand mailboxes; a loaded server takes
//! longer (the report says "about").

use super::{Action, Service};

/// What users notice, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Impact {
    pub notice: &'static str,
    pub duration: &'static str,
}

/// The impact of `action` on `service`.
pub fn of(service: Service, action: Action) -> Impact {
    let (notice, duration) = match (service, action) {
        (Service::Network, _) => (
            "every connection to the server drops while the address moves; clients reach it again once their DNS answers the new address",
            "seconds here, then up to the old DNS TTL for clients",
        ),
        (Service::Iptables | Service::Nftables | Service::Ufw | Service::Firewalld, _) => (
            "nothing: the firewall loads its new rules without dropping established connections",
            "under a second",
        ),
        (Service::Keepalived, _) => (
            "nothing while this server keeps its virtual addresses; a failover to another server, if one happens, drops the connections it held",
            "a few seconds",
        ),
        (Service::ServiceDiscover, _) => (
            "Carbonio's services find each other again at the new address; users notice nothing",
            "a few seconds",
        ),
        (Service::Videoserver, _) => (
            "video calls in progress drop; users join again",
            "a few seconds",
        ),
        (Service::Ldap, _) => (
            "logins, address lookups for mail delivery and the admin console wait; incoming mail waits in the queue and is delivered afterwards",
            "about 10 to 30 seconds",
        ),
        (Service::Dnsmasq, _) => (
            "this host's own name lookups pause; users notice nothing",
            "under a second",
        ),
        (Service::Named, _) => (
            "nothing: the zones' new records are served from then on",
            "none",
        ),
        (Service::Mta, Action::Restart) => (
            "SMTP refuses connections; sending servers retry, so no mail is lost",
            "a few seconds",
        ),
        (Service::Mta, _) => (
            "nothing: mail keeps flowing, new connections use the new settings",
            "none",
        ),
        (Service::Mailbox, Action::Flush) => ("nothing: cached settings are read again", "none"),
        (Service::Mailbox, _) => (
            "webmail, IMAP, POP3, ActiveSync, calendars and the admin console are unavailable; webmail users sign in again; incoming mail waits in the queue",
            "about 1 to 5 minutes",
        ),
        (Service::Memcached, _) => (
            "the proxy's cached routes are rebuilt; the first logins afterwards are slower",
            "a few seconds",
        ),
        (Service::Proxy, _) => (
            "web and mail client connections through the proxy drop; clients reconnect by themselves",
            "a few seconds",
        ),
        (Service::All, _) => (
            "every Zimbra service stops and starts: no webmail, IMAP, POP3 or SMTP; incoming mail is retried by the sending servers",
            "about 3 to 10 minutes",
        ),
    };
    Impact { notice, duration }
}
