//! The Zimbra directory behind one trait ([`Directory`]): an LDIF export
//! (`--ldif`, what `zmslapcat` writes, [`ldif`]) or the live directory
//! (LDAP, [`ldap`]). Both stream entries, so a directory of 100,000
//! entries is never held in memory at once; both are changed through
//! [`DirectoryWriter`].

use crate::addr::Matcher;
use crate::error::Result;
use crate::model::{Change, Report, Target, Value};
use crate::policy::ValueKind;
use crate::surface::{Ctx, Surface, at, find};
use crate::zimbra;

pub mod ldap;
pub mod ldif;

/// One directory entry. Values are text; binary values (non-UTF-8 after
/// base64 decoding) are skipped by the readers, as no address lives there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    /// Attributes in the order read, each with all its values.
    pub attrs: Vec<(String, Vec<String>)>,
}

impl Entry {
    /// All values of an attribute (case-insensitive name).
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// A source of directory entries.
pub trait Directory {
    /// Where the entries come from, for messages (`LDIF /tmp/zimbra.ldif`).
    fn describe(&self) -> String;

    /// Says which addresses the next [`Directory::for_each`] is for, so the
    /// reader can skip entries that cannot hold them: a live directory
    /// lets the server filter the accounts, an LDIF export visits only
    /// entries in which [`analyze`] may find something (that read only).
    /// Readers that cannot narrow ignore it and visit everything.
    fn narrow(&mut self, _targets: &[std::net::IpAddr]) {}

    /// How many entries the last [`Directory::for_each`] read but did not
    /// visit, having narrowed them out itself (entries a server filtered
    /// out were never read and do not count).
    fn left_out(&self) -> usize {
        0
    }

    /// Calls `visit` for every entry, in order. Stops at the first error.
    fn for_each(&mut self, visit: &mut dyn FnMut(Entry) -> Result<()>) -> Result<()>;

    /// The global config entry and the server entries (`objectClass:
    /// zimbraServer`), every attribute: what a multi-server plan needs to
    /// know of the deployment (its nodes, their services and ports).
    /// Readers that can search override this read of everything.
    fn topology(&mut self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        self.for_each(&mut |e| {
            if is_server(&e) || is_global_config(&e) {
                out.push(e);
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// The object class of server entries (zimbra-config-model.md §8.1).
pub const SERVER_CLASS: &str = "zimbraServer";

/// Where server entries live.
pub const SERVERS_BASE: &str = "cn=servers,cn=zimbra";

/// The global config entry.
pub const GLOBAL_CONFIG: &str = "cn=config,cn=zimbra";

/// Whether an entry is a Zimbra server entry.
pub fn is_server(e: &Entry) -> bool {
    e.get("objectClass")
        .is_some_and(|ocs| ocs.iter().any(|o| o.eq_ignore_ascii_case(SERVER_CLASS)))
}

/// Whether an entry is the global config entry.
pub fn is_global_config(e: &Entry) -> bool {
    e.dn.eq_ignore_ascii_case(GLOBAL_CONFIG)
}

/// One value-level change of a directory attribute: `before` is every
/// value the attribute must hold now (the precondition), `after` every
/// value it holds afterwards. Writers delete the values that go and add the
/// values that come, so a concurrent edit of another value survives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueEdit {
    pub dn: String,
    pub attribute: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

/// A directory that can be changed (an LDIF file, live LDAP). Apply and
/// rollback go through this trait only.
pub trait DirectoryWriter {
    /// Applies the edits in order. Refuses an edit whose precondition no
    /// longer holds (drift), naming the DN and attribute: the LDIF writer
    /// requires exactly `before`; the live LDAP writer requires every value
    /// that goes to be present and every value that comes to be absent, so
    /// a value someone else added meanwhile survives (issue 4).
    /// On error, edits already applied stay applied and are reported by
    /// the count returned in the error message; the caller's journal
    /// decides what to roll back.
    fn apply(&mut self, edits: &[ValueEdit]) -> Result<()>;
}

/// Operational and structural attributes: bookkeeping of the directory
/// server, never an address, and not writable by zmreip.
const SKIPPED: &[&str] = &[
    "objectClass",
    "structuralObjectClass",
    "entryUUID",
    "entryCSN",
    "entryDN",
    "contextCSN",
    "creatorsName",
    "createTimestamp",
    "modifiersName",
    "modifyTimestamp",
    "hasSubordinates",
    "subschemaSubentry",
];

/// Whether [`analyze`] searches the values of an attribute description:
/// not bookkeeping, not a secret.
fn searched_attribute(desc: &str) -> bool {
    // `cn;lang-en` is looked up as `cn`.
    let base = desc.split(';').next().unwrap_or(desc);
    !SKIPPED.iter().any(|s| s.eq_ignore_ascii_case(base)) && !zimbra::is_secret_attribute(base)
}

/// Whether [`analyze`] finds something in this value of the attribute
/// `desc`. An entry none of whose values passes this gets an empty report
/// (nothing found, so nothing to change or warn about): a reader may
/// leave it out.
pub fn finds_in(matcher: &Matcher, desc: &str, value: &str) -> bool {
    matcher.may_match(value) && searched_attribute(desc) && !matcher.find(value).is_empty()
}

/// Findings and proposed value-level changes for one entry: every
/// attribute of the Zimbra tables by its kind, every other attribute by
/// text (marked as a literal replacement). Secret attributes are skipped.
/// All values of an attribute are rewritten together (a trust list may
/// gain or lose values), and the change carries every value before and
/// after.
pub fn analyze(entry: &Entry, ctx: &Ctx) -> Report {
    let mut report = Report::default();
    for (name, values) in &entry.attrs {
        if !searched_attribute(name) {
            continue;
        }
        // `cn;lang-en` is looked up as `cn`.
        let base = name.split(';').next().unwrap_or(name);
        if !values.iter().any(|v| ctx.matcher.may_match(v)) {
            continue;
        }
        let target = Target::Ldap {
            dn: entry.dn.clone(),
            attribute: name.clone(),
        };
        let before = report.findings.len();
        for v in values {
            report
                .findings
                .extend(find(ctx.matcher, Surface::Ldap, &target, v));
        }
        let Some(rw) = ctx.rewriter else {
            continue;
        };
        if report.findings.len() == before {
            continue;
        }
        let kind = zimbra::attribute(base)
            .map(|r| r.kind)
            .unwrap_or(ValueKind::Text);
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let out = rw.rewrite(&refs, kind);
        report.warnings.extend(at(out.notes, &target));
        if out.changed {
            report.changes.push(Change {
                id: String::new(),
                surface: Surface::Ldap,
                target,
                before: Value::Many(values.clone()),
                after: Value::Many(out.after),
                reason: out.reasons.join("; "),
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Matcher;
    use crate::host::Host;
    use crate::policy::Rewriter;
    use crate::spec::{Pair, PrefixSource};

    /// A global config, a server, a domain with a virtual IP and an
    /// external directory in the same subnet, and a COS with an allow list.
    const LDIF: &str = r"version: 1

dn: cn=config,cn=zimbra
objectClass: organizationalRole
objectClass: zimbraGlobalConfig
zimbraMtaMyNetworks: 127.0.0.0/8 [::1]/128 172.20.14.0/24
zimbraMailTrustedIP: 172.20.14.25
zimbraMailTrustedIP: 172.20.14.250
zimbraHttpThrottleSafeIPs: 172.20.0.0/16
zimbraReverseProxyAdminIPAddress: 172.20.14.25
zimbraDNSMasterIP: 172.20.14.53
zimbraMtaRelayHost: [172.20.14.1]:25
zimbraSpellCheckURL: http://172.20.14.25:7780/aspell.php
zimbraWebClientLoginURLAllowedIP: ^172\.20\.14\.25$
zimbraAuthTokenKey: 0:172.20.14.25:deadbeefsecret
entryUUID: 172.20.14.25
modifyTimestamp: 20240101000000Z

dn: cn=mail.corp.example,cn=servers,cn=zimbra
cn: mail.corp.example
zimbraServiceHostname: mail.corp.example
zimbraMailBindAddress: 172.20.14.25
zimbraImapBindAddress: 172.20.14.25
zimbraMtaMyNetworks: 127.0.0.0/8 172.20.14.25/32
zimbraMemcachedClientServerList: 172.20.14.25:11211
userPassword: {SSHA}172.20.14.25-hunter2

dn: dc=corp,dc=example
zimbraDomainName: corp.example
zimbraVirtualIPAddress: 172.20.14.25
zimbraVirtualIPAddress: 172.20.14.26
zimbraAuthLdapURL: ldap://172.20.14.30:389
zimbraGalLdapURL: ldaps://ad.corp.example:636
zimbraDomainAllowedIPs: 172.20.14.0/24
description: old host 172.20.14.25, not 172.20.14.250

dn: cn=default,cn=cos,cn=zimbra
cn: default
zimbraWebClientAllowedIPs: 127.0.0.1
zimbraWebClientAllowedIPs: 172.20.14.25
zimbraWebClientAllowedIPs: 192.168.0.0/16
";

    fn read_all() -> Vec<Entry> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ldap.bak");
        std::fs::write(&p, LDIF).unwrap();
        let mut d = ldif::LdifDirectory::open(&p).unwrap();
        let mut out = Vec::new();
        d.for_each(&mut |e| {
            out.push(e);
            Ok(())
        })
        .unwrap();
        out
    }

    fn run(rewrite: bool) -> Report {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::open(dir.path(), None).unwrap();
        let old = "172.20.14.25".parse().unwrap();
        let matcher = Matcher::new(&[old]);
        let rw = Rewriter::new(
            vec![Pair {
                old,
                new: "10.40.7.131".parse().unwrap(),
                old_prefix: 24,
                new_prefix: 24,
                old_prefix_source: PrefixSource::Given,
                new_prefix_source: PrefixSource::Given,
            }],
            Vec::new(),
        );
        let ctx = Ctx::new(&host, &matcher, rewrite.then_some(&rw));
        let mut report = Report::default();
        for e in read_all() {
            report.extend(analyze(&e, &ctx));
        }
        report
    }

    fn many(v: &[&str]) -> Value {
        Value::Many(v.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn plans_every_value_of_each_attribute() {
        let report = run(true);
        // (dn, attribute, before, after)
        let expected: &[(&str, &str, &[&str], &[&str])] = &[
            (
                "cn=config,cn=zimbra",
                "zimbraMtaMyNetworks",
                &["127.0.0.0/8 [::1]/128 172.20.14.0/24"],
                &["127.0.0.0/8 [::1]/128 10.40.7.0/24"],
            ),
            (
                "cn=config,cn=zimbra",
                "zimbraMailTrustedIP",
                &["172.20.14.25", "172.20.14.250"],
                &["10.40.7.131", "172.20.14.250"],
            ),
            (
                "cn=config,cn=zimbra",
                "zimbraHttpThrottleSafeIPs",
                &["172.20.0.0/16"],
                &["172.20.0.0/16", "10.40.7.131"],
            ),
            (
                "cn=config,cn=zimbra",
                "zimbraReverseProxyAdminIPAddress",
                &["172.20.14.25"],
                &["10.40.7.131"],
            ),
            (
                "cn=config,cn=zimbra",
                "zimbraSpellCheckURL",
                &["http://172.20.14.25:7780/aspell.php"],
                &["http://10.40.7.131:7780/aspell.php"],
            ),
            (
                "cn=config,cn=zimbra",
                "zimbraWebClientLoginURLAllowedIP",
                &[r"^172\.20\.14\.25$"],
                &[r"^10\.40\.7\.131$"],
            ),
            (
                "cn=mail.corp.example,cn=servers,cn=zimbra",
                "zimbraMailBindAddress",
                &["172.20.14.25"],
                &["10.40.7.131"],
            ),
            (
                "cn=mail.corp.example,cn=servers,cn=zimbra",
                "zimbraImapBindAddress",
                &["172.20.14.25"],
                &["10.40.7.131"],
            ),
            (
                "cn=mail.corp.example,cn=servers,cn=zimbra",
                "zimbraMtaMyNetworks",
                &["127.0.0.0/8 172.20.14.25/32"],
                &["127.0.0.0/8 10.40.7.131/32"],
            ),
            (
                "cn=mail.corp.example,cn=servers,cn=zimbra",
                "zimbraMemcachedClientServerList",
                &["172.20.14.25:11211"],
                &["10.40.7.131:11211"],
            ),
            (
                "dc=corp,dc=example",
                "zimbraVirtualIPAddress",
                &["172.20.14.25", "172.20.14.26"],
                &["10.40.7.131", "172.20.14.26"],
            ),
            (
                "dc=corp,dc=example",
                "zimbraDomainAllowedIPs",
                &["172.20.14.0/24"],
                &["10.40.7.0/24"],
            ),
            (
                "dc=corp,dc=example",
                "description",
                &["old host 172.20.14.25, not 172.20.14.250"],
                &["old host 10.40.7.131, not 172.20.14.250"],
            ),
            (
                "cn=default,cn=cos,cn=zimbra",
                "zimbraWebClientAllowedIPs",
                &["127.0.0.1", "172.20.14.25", "192.168.0.0/16"],
                &["127.0.0.1", "10.40.7.131", "192.168.0.0/16"],
            ),
        ];
        let got: Vec<(&str, &str, &Value, &Value)> = report
            .changes
            .iter()
            .map(|c| match &c.target {
                Target::Ldap { dn, attribute } => {
                    assert_eq!(c.surface, Surface::Ldap);
                    (dn.as_str(), attribute.as_str(), &c.before, &c.after)
                }
                t => panic!("{t:?}"),
            })
            .collect();
        let want: Vec<(&str, &str, Value, Value)> = expected
            .iter()
            .map(|(d, a, b, af)| (*d, *a, many(b), many(af)))
            .collect();
        let want: Vec<(&str, &str, &Value, &Value)> =
            want.iter().map(|(d, a, b, af)| (*d, *a, b, af)).collect();
        assert_eq!(got, want);

        // Known kinds say what they are; unknown attributes say literal.
        let reason = |attr: &str| {
            &report
                .changes
                .iter()
                .find(|c| matches!(&c.target, Target::Ldap { attribute, .. } if attribute == attr))
                .unwrap()
                .reason
        };
        assert!(reason("description").contains("literal replacement"));
        assert!(reason("zimbraSpellCheckURL").contains("URL host"));
        assert!(reason("zimbraMailTrustedIP").contains("exact-match"));
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.code == crate::notice::Code::TrustNetworkKept
                    && w.message.contains("zimbraHttpThrottleSafeIPs")),
            "{:?}",
            report.warnings
        );
    }

    #[test]
    fn other_hosts_secrets_and_bookkeeping_stay_out() {
        for rewrite in [false, true] {
            let report = run(rewrite);
            let shown = format!(
                "{:?}",
                (&report.findings, &report.changes, &report.warnings)
            );
            for never in [
                "deadbeefsecret",
                "hunter2",
                "zimbraAuthTokenKey",
                "userPassword",
                "entryUUID",
                "172.20.14.30",
                "zimbraDNSMasterIP",
                "zimbraMtaRelayHost",
                "objectClass",
            ] {
                assert!(!shown.contains(never), "{never} in {shown}");
            }
        }
        // A scan finds and proposes nothing.
        let scan = run(false);
        assert!(scan.changes.is_empty());
        let attrs: Vec<String> = scan
            .findings
            .iter()
            .map(|f| match &f.target {
                Target::Ldap { attribute, .. } => attribute.clone(),
                t => panic!("{t:?}"),
            })
            .collect();
        // One finding per occurrence; networks containing the address
        // count.
        assert_eq!(
            attrs,
            [
                "zimbraMtaMyNetworks",
                "zimbraMailTrustedIP",
                "zimbraHttpThrottleSafeIPs",
                "zimbraReverseProxyAdminIPAddress",
                "zimbraSpellCheckURL",
                "zimbraWebClientLoginURLAllowedIP",
                "zimbraMailBindAddress",
                "zimbraImapBindAddress",
                "zimbraMtaMyNetworks",
                "zimbraMemcachedClientServerList",
                "zimbraVirtualIPAddress",
                "zimbraDomainAllowedIPs",
                "description",
                "zimbraWebClientAllowedIPs",
            ]
        );
        assert!(
            scan.findings
                .iter()
                .any(|f| f.kind == crate::addr::MatchKind::NetworkContains
                    && f.matched == "172.20.0.0/16")
        );
    }

    #[test]
    fn changes_round_trip_through_the_ldif_writer() {
        let report = run(true);
        let edits: Vec<ValueEdit> = report
            .changes
            .iter()
            .map(|c| match (&c.target, &c.before, &c.after) {
                (Target::Ldap { dn, attribute }, Value::Many(b), Value::Many(a)) => ValueEdit {
                    dn: dn.clone(),
                    attribute: attribute.clone(),
                    before: b.clone(),
                    after: a.clone(),
                },
                other => panic!("{other:?}"),
            })
            .collect();
        let mut out = Vec::new();
        ldif::rewrite_values("ldap.bak", LDIF.as_bytes(), &mut out, &edits).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("zimbraAuthLdapURL: ldap://172.20.14.30:389\n"));
        assert!(text.contains("zimbraAuthTokenKey: 0:172.20.14.25:deadbeefsecret\n"));
        // Planning again on the result finds nothing left to change.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("after.ldif");
        std::fs::write(&p, &text).unwrap();
        let host = Host::open(dir.path(), None).unwrap();
        let old = "172.20.14.25".parse().unwrap();
        let matcher = Matcher::new(&[old]);
        let ctx = Ctx::new(&host, &matcher, None);
        let mut d = ldif::LdifDirectory::open(&p).unwrap();
        let mut left = Vec::new();
        d.for_each(&mut |e| {
            left.extend(analyze(&e, &ctx).findings);
            Ok(())
        })
        .unwrap();
        // Only the network kept beside the new host remains.
        let left: Vec<&str> = left.iter().map(|f| f.matched.as_str()).collect();
        assert_eq!(left, ["172.20.0.0/16"]);
    }
}
