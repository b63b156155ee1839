//! Warnings and hand-offs: a stable [`Code`] for machines, a sentence for
//! people. Every code zmreip writes is in the one table below, serialized
//! as the string shown (`zmreip.plan/v1` `warnings[].code`,
//! `handoffs[].code`; `zmreip.check/v1` `warnings[].code`).

use serde::{Deserialize, Serialize};

named_enum! {
    /// The code of a warning or hand-off. Codes are a public contract:
    /// added, never renamed.
    pub enum Code {
        // --- planning ---
        /// A prefix was neither given nor found in the OS network
        /// configuration; the address is treated as a host address.
        PrefixUnknown = "prefix-unknown",
        /// `--from` was given with a prefix the OS network configuration
        /// contradicts; trust lists follow the given one.
        PrefixDiffers = "prefix-differs",
        /// `--lower-ttl`: this plan only lowers TTLs, the move comes later.
        LowerTtlFirstStep = "lower-ttl-first-step",
        // --- OS network configuration ---
        /// The OS default gateway is outside the new network (pass
        /// `--gateway`).
        GatewayOutsideNetwork = "gateway-outside-network",
        /// No prefix is known anywhere, so a gateway could not be checked.
        GatewayUnchecked = "gateway-unchecked",
        /// A route's gateway is outside the new network and stays.
        RouteViaOutsideNetwork = "route-via-outside-network",
        // --- trust lists (DESIGN principle 4) ---
        /// A wider network holding the old address stays; the new host is
        /// trusted beside it.
        TrustNetworkKept = "trust-network-kept",
        /// The new network is wider than the trusted old one; only the
        /// host is trusted.
        TrustNotWidened = "trust-not-widened",
        /// `127.0.0.0/8` was missing from mynetworks and is added.
        MynetworksLoopbackAdded = "mynetworks-loopback-added",
        /// A trusted network holding the old address stays in a place that
        /// holds one entry (a firewall rule's source): the new host needs
        /// a rule of its own.
        TrustRuleNeeded = "trust-rule-needed",
        /// A `0.0.0.0/0`-style entry trusts everyone.
        TrustEverything = "trust-everything",
        /// A network holding the old address in a value zmreip does not
        /// know as a trust list.
        NetworkUnchanged = "network-unchanged",
        /// An address range holding the old address stays as it is.
        RangeUnchanged = "range-unchanged",
        /// A peer's own OS network configuration names the moved node's
        /// address; a peer's network configuration never changes.
        NetworkConfigKept = "network-config-kept",
        // --- surfaces ---
        /// resolv.conf is generated; the change lasts until it is
        /// generated again.
        ResolvGenerated = "resolv-generated",
        /// A line of an `--include` file carries a credential and holds an
        /// old address: it is neither shown nor changed.
        SecretLineUnchanged = "secret-line-unchanged",
        /// A keepalived virtual address stays in the old network while
        /// the host moves to another one.
        VipInOldNetwork = "vip-in-old-network",
        /// A line of a hosts file does not start with an address; the
        /// resolver skips it and so does zmreip.
        HostsLineIgnored = "hosts-line-ignored",
        /// A dnsmasq DHCP range has an end at the old address or lies in
        /// the old network; pools of client addresses are never rewritten.
        DnsmasqDhcpRangeKept = "dnsmasq-dhcp-range-kept",
        /// A ufw rule tuple of a length ufw does not read: ufw skips it,
        /// and so does zmreip.
        UfwTupleIgnored = "ufw-tuple-ignored",
        /// localconfig.xml sets a key twice; the last one is used.
        LocalconfigDuplicateKey = "localconfig-duplicate-key",
        /// Lines of ifupdown2 template code (Mako) are not read; one
        /// holding an old address must be changed by hand.
        IfupdownTemplate = "ifupdown-template",
        /// A line of an ifcfg file is not a shell assignment zmreip can
        /// read; NetworkManager ignores it and so does zmreip.
        IfcfgLineIgnored = "ifcfg-line-ignored",
        // --- BIND's configuration ---
        /// An address in named.conf that zmreip leaves as it is (a list
        /// that refuses, a negated entry, an option it does not know, a
        /// line holding a key's secret).
        NamedAddressUnchanged = "named-address-unchanged",
        // --- zone files served here ---
        /// A `$GENERATE` line produces an old address; edit it by hand.
        ZoneGenerateUnchanged = "zone-generate-unchanged",
        /// The zone file must not be edited (dynamic, shared, ...).
        ZoneNotEdited = "zone-not-edited",
        /// A TXT record that is not SPF names an old address.
        ZoneTxtUnchanged = "zone-txt-unchanged",
        /// A neutral (`?`) SPF mechanism names the old address; it stays.
        ZoneSpfNeutralUnchanged = "zone-spf-neutral-unchanged",
        /// A denying (`-`, `~`) SPF mechanism names the old address; it
        /// stays.
        ZoneSpfDenyUnchanged = "zone-spf-deny-unchanged",
        /// The SPF edit would make a TXT string longer than 255 bytes.
        ZoneTxtTooLong = "zone-txt-too-long",
        /// A PTR record of an old address cannot be moved.
        ZonePtrUnchanged = "zone-ptr-unchanged",
        /// The new reverse zone is not served here (becomes a `ptr`
        /// hand-off).
        ZonePtrNotServed = "zone-ptr-not-served",
        /// A record of another type holds an old address.
        ZoneRecordUnchanged = "zone-record-unchanged",
        /// A changed zone has no SOA, so no serial to bump.
        ZoneNoSoa = "zone-no-soa",
        /// The SOA serial could not be bumped.
        ZoneSerialUnchanged = "zone-serial-unchanged",
        /// A DNSSEC-signed zone file is never edited; its unsigned source
        /// is.
        ZoneSigned = "zone-signed",
        /// named signs the zone (inline-signing, dnssec-policy): its
        /// unsigned source is edited and named signs the change.
        ZoneSignedByNamed = "zone-signed-by-named",
        /// Signed data must be made again by hand (becomes a `dnssec`
        /// hand-off).
        ZoneResign = "zone-resign",
        // --- zones held elsewhere (RFC 2136) ---
        /// The SPF edit would make a TXT string longer than 255 bytes.
        DnsTxtTooLong = "dns-txt-too-long",
        /// The new reverse zone is not configured (becomes a `ptr`
        /// hand-off).
        DnsPtrNotServed = "dns-ptr-not-served",
        // --- make-before-break windows (`zmreip window`) ---
        /// The OS network file holds one address where the old one is: the
        /// new address is added at runtime only until the window closes.
        WindowAddressRuntimeOnly = "window-address-runtime-only",
        /// A listener that takes one address moves at the switch: clients
        /// that still use the old address lose it then.
        WindowSingleListener = "window-single-listener",
        /// LDAP restarts with new connections held (not refused) while
        /// slapd is down, or, without nft, refused for that moment.
        WindowLdapRestart = "window-ldap-restart",
        /// The new address cannot be added (or the old one removed) at
        /// runtime by zmreip: the command to run.
        WindowRuntimeAddress = "window-runtime-address",
        // --- hand-offs: what must happen off this host ---
        /// Ask the address's provider for a PTR record.
        Ptr = "ptr",
        /// Change the DNS records that are served elsewhere.
        Dns = "dns",
        /// Sign a zone again with dnssec-signzone (or change its unsigned
        /// source first).
        Dnssec = "dnssec",
        /// Tell other servers and partners that trust or relay to the old
        /// address.
        Peers = "peers",
        /// Run zmreip on the other nodes of a multi-server deployment.
        OtherNodes = "other-nodes",
        /// A node left out of a multi-server plan (`--skip-node`): the
        /// command to run there later.
        SkippedNode = "skipped-node",
        // --- `zmreip check` ---
        /// A record about to change holds an address that is neither old
        /// nor new.
        CheckUnexpectedAddress = "check-unexpected-address",
        /// The PTR does not name the host name.
        PtrMismatch = "ptr-mismatch",
        /// SPF neither passes nor fails the new address.
        SpfNotPass = "spf-not-pass",
        /// A blocklist gave an error.
        DnsblError = "dnsbl-error",
        /// A blocklist gave an answer it does not document.
        DnsblUnknown = "dnsbl-unknown",
        /// Listings came through a resolver that rewrites NXDOMAIN.
        DnsblUnreliable = "dnsbl-unreliable",
        /// The resolver rewrites NXDOMAIN.
        ResolverRewritesNxdomain = "resolver-rewrites-nxdomain",
        // --- `zmreip bind` ---
        /// The PTR of the outbound address does not resolve back to the
        /// MTA's host name: the record to ask for.
        BindPtr = "bind-ptr",
        /// SPF of a mail domain does not pass the outbound address: the
        /// record that would.
        BindSpf = "bind-spf",
        /// The PTR and SPF of the outbound address could not be checked.
        BindDnsUnchecked = "bind-dns-unchecked",
        /// A bound listener is reached by the host name, which must
        /// resolve to the bound address.
        BindByName = "bind-by-name",
        /// A bound listener is switched off; the bind takes effect when it
        /// is switched on.
        BindDisabled = "bind-disabled",
    }
}

/// A warning or a hand-off: a stable code for machines, a sentence for
/// humans.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Notice {
    pub code: Code,
    pub message: String,
}

impl Notice {
    pub fn new(code: Code, message: impl Into<String>) -> Notice {
        Notice {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{s}"
            );
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{s}\""));
            assert_eq!(s.parse::<Code>(), Ok(*c));
        }
    }
}
