//! Changing the live directory, value by value.
//!
//! Each [`ValueEdit`] becomes one modify operation on the master: `delete`
//! of the values that go and `add` of the values that come. Values nobody
//! planned to touch (another admin's edit of the same attribute, another
//! attribute of the entry) are never sent, so they survive.
//!
//! Preconditions, checked twice:
//!
//! * before anything is written, every edit is read back and every value
//!   the plan read (`before`) must still be there, and no value the plan
//!   adds may be there already; one drifted edit refuses the whole batch,
//!   so nothing is half-written;
//! * each modify carries the Assertion control (RFC 4528) with a filter
//!   requiring every `before` value, when the server supports it, so a
//!   change made between the check and the write fails that modify instead
//!   of being overwritten. Without the control, deleting a value that is
//!   gone still fails on the server.
//!
//! Values added by someone else since the plan are kept (that is what a
//! value-level edit is for); the plan's `after` is then a subset of the
//! result. Prior values for the run's journal come from
//! [`LdapWriter::prior_ldif`]; [`rollback_edits`] turns them back into
//! edits.

use std::collections::{HashMap, HashSet, VecDeque};

use ldap3::controls::Assertion;
use ldap3::{Ldap, Mod, Scope};

use super::conn::{self, ASSERTION, Conn};
use super::scan::to_entry;
use super::schema::escape;
use super::settings::Settings;
use crate::directory::{DirectoryWriter, Entry, ValueEdit, ldif};
use crate::error::{Error, Result};

/// Reads in flight at once while checking preconditions: enough to hide
/// the round trip, few enough for any server's per-connection limit.
const READS_IN_FLIGHT: usize = 64;

/// A connection to the directory master for changes.
pub struct LdapWriter {
    conn: Conn,
    assertion: bool,
}

/// What an edited attribute holds now: `None` when the entry is gone.
type Current = Option<Vec<String>>;

impl LdapWriter {
    /// Connects to the first reachable write URL (`ldap_master_url`).
    pub fn open(settings: &Settings) -> Result<LdapWriter> {
        let conn = Conn::open(settings, &settings.write_urls, "directory master")?;
        let assertion = conn.dse.supports(ASSERTION);
        Ok(LdapWriter { conn, assertion })
    }

    /// The URL written to.
    pub fn url(&self) -> &str {
        &self.conn.url
    }

    /// Whether modifies carry the Assertion control.
    pub fn asserts(&self) -> bool {
        self.assertion
    }

    /// The values the edited attributes hold now, as LDIF content records
    /// (one per entry, holding only the edited attributes; an attribute
    /// without values is left out). Write it to the journal before
    /// [`DirectoryWriter::apply`]; read it back with
    /// [`crate::directory::ldif::LdifDirectory`] and pass the entries to
    /// [`rollback_edits`]. An entry that no longer exists is an error.
    pub fn prior_ldif(&mut self, edits: &[ValueEdit]) -> Result<String> {
        check_edits(edits)?;
        let current = self.read_current(edits)?;
        let mut order: Vec<&str> = Vec::new();
        let mut by_dn: HashMap<&str, Vec<(&str, &[String])>> = HashMap::new();
        for (e, cur) in edits.iter().zip(&current) {
            let Some(values) = cur else {
                return Err(gone(e));
            };
            let slot = by_dn.entry(e.dn.as_str()).or_insert_with(|| {
                order.push(e.dn.as_str());
                Vec::new()
            });
            slot.push((e.attribute.as_str(), values.as_slice()));
        }
        let mut out = String::from("version: 1\n\n");
        for dn in order {
            ldif::push_line(&mut out, "dn", dn);
            for (attr, values) in &by_dn[dn] {
                for v in *values {
                    ldif::push_line(&mut out, attr, v);
                }
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// Current values of each edit's attribute, reads pipelined.
    fn read_current(&mut self, edits: &[ValueEdit]) -> Result<Vec<Current>> {
        let timeout = self.conn.timeout;
        let url = self.conn.url.clone();
        let ldap = self.conn.ldap.clone();
        self.conn.block_on(async move {
            let mut out = Vec::with_capacity(edits.len());
            let mut pending = VecDeque::new();
            let mut next = edits.iter();
            loop {
                while pending.len() < READS_IN_FLIGHT {
                    let Some(e) = next.next() else { break };
                    let mut l: Ldap = ldap.clone();
                    let (dn, attr) = (e.dn.clone(), e.attribute.clone());
                    pending.push_back(tokio::spawn(async move {
                        l.with_timeout(timeout)
                            .search(&dn, Scope::Base, "(objectClass=*)", vec![attr])
                            .await
                    }));
                }
                let Some(task) = pending.pop_front() else {
                    break;
                };
                let e = &edits[out.len()];
                let res = task
                    .await
                    .map_err(|j| {
                        Error::other(
                            format!("reading `{}` failed: {j}", e.dn),
                            "this is a bug in zmreip",
                        )
                    })?
                    .map_err(|le| {
                        Error::other(
                            format!(
                                "{url}: reading `{}` failed: {}",
                                e.dn,
                                conn::transport(&le, timeout)
                            ),
                            "check that the directory master is running",
                        )
                    })?;
                let (entries, result) = (res.0, res.1);
                match result.rc {
                    0 => {}
                    32 => {
                        out.push(None);
                        continue;
                    }
                    _ => {
                        return Err(Error::other(
                            format!(
                                "{url}: reading `{}` failed: {}",
                                e.dn,
                                conn::describe(&result)
                            ),
                            "check that the bind DN may read and write the directory",
                        ));
                    }
                }
                let values = match entries.into_iter().next() {
                    Some(re) => {
                        let entry = to_entry(re).map_err(|m| {
                            Error::other(
                                format!("{url}: {m}"),
                                "this may be a bug in the server or in zmreip",
                            )
                        })?;
                        values_of(&entry, &e.attribute)
                    }
                    None => Vec::new(),
                };
                out.push(Some(values));
            }
            Ok(out)
        })
    }

    /// One modify: delete what goes, add what comes, asserting `before`.
    fn modify(&mut self, e: &ValueEdit) -> Result<()> {
        let del: HashSet<&str> = e
            .before
            .iter()
            .filter(|v| !e.after.contains(v))
            .map(String::as_str)
            .collect();
        let add: HashSet<&str> = e
            .after
            .iter()
            .filter(|v| !e.before.contains(v))
            .map(String::as_str)
            .collect();
        if del.is_empty() && add.is_empty() {
            return Ok(());
        }
        let mut mods = Vec::new();
        if !del.is_empty() {
            mods.push(Mod::Delete(e.attribute.as_str(), del));
        }
        if !add.is_empty() {
            mods.push(Mod::Add(e.attribute.as_str(), add));
        }
        let assertion = (self.assertion && !e.before.is_empty()).then(|| assertion_filter(e));
        let timeout = self.conn.timeout;
        let mut ldap = self.conn.ldap.clone();
        let res = self.conn.block_on(async move {
            let l = ldap.with_timeout(timeout);
            let l = match &assertion {
                Some(f) => l.with_controls(Assertion::new(f.as_str())),
                None => l,
            };
            l.modify(&e.dn, mods).await
        });
        let res = res.map_err(|le| {
            Error::other(
                format!(
                    "{}: changing `{}` of `{}` failed: {}",
                    self.conn.url,
                    e.attribute,
                    e.dn,
                    conn::transport(&le, timeout)
                ),
                "check that the directory master is running",
            )
        })?;
        if res.rc == 0 {
            return Ok(());
        }
        let what = format!("`{}` of `{}`", e.attribute, e.dn);
        let (message, help) = match res.rc {
            // The old values are gone (assertion, or the delete found
            // nothing), or the new one is already there.
            32 => (
                format!("`{}` no longer exists ({})", e.dn, conn::describe(&res)),
                "the directory changed since the plan was made; run `zmreip plan` again".to_string(),
            ),
            122 | 16 | 20 => (
                format!("{what} changed since the plan was made ({})", conn::describe(&res)),
                "the directory changed since the plan was made; run `zmreip plan` again".to_string(),
            ),
            10 => (
                format!(
                    "{} is a read-only replica: it refers writes to {}",
                    self.conn.url,
                    if res.refs.is_empty() { "another server".to_string() } else { res.refs.join(" ") }
                ),
                "writes go to ldap_master_url in localconfig.xml (or --ldap-url): point it at the master".to_string(),
            ),
            53 => (
                format!(
                    "{} refuses to change {what}: {} (a read-only replica?)",
                    self.conn.url,
                    conn::describe(&res)
                ),
                "writes go to ldap_master_url in localconfig.xml (or --ldap-url): point it at the master".to_string(),
            ),
            50 => (
                format!("`{what}`: not allowed: {}", conn::describe(&res)),
                "bind as the Zimbra admin (zimbra_ldap_userdn) or give --bind-dn of an account that may write".to_string(),
            ),
            _ => (
                format!("{}: changing {what} failed: {}", self.conn.url, conn::describe(&res)),
                "check the server's log; nothing else of this edit was written".to_string(),
            ),
        };
        Err(Error::other(message, help))
    }
}

impl DirectoryWriter for LdapWriter {
    fn apply(&mut self, edits: &[ValueEdit]) -> Result<()> {
        check_edits(edits)?;
        // A single modify is already all-or-nothing and conditional: the
        // assertion (or the delete of a value that is gone, or the add of one
        // already there) makes it fail without writing. The read-back is only
        // needed to refuse a batch before its first write. Apply sends one
        // edit per journaled step, so this saves a round trip per step.
        if let [e] = edits {
            return self.modify(e);
        }
        let current = self.read_current(edits)?;
        let mut drift = Vec::new();
        for (e, cur) in edits.iter().zip(&current) {
            match cur {
                None => drift.push(format!("`{}` no longer exists", e.dn)),
                Some(values) => {
                    let missing: Vec<&String> =
                        e.before.iter().filter(|v| !values.contains(v)).collect();
                    let present: Vec<&String> = e
                        .after
                        .iter()
                        .filter(|v| !e.before.contains(v) && values.contains(v))
                        .collect();
                    if !missing.is_empty() {
                        drift.push(format!(
                            "`{}` of `{}` no longer holds {missing:?}",
                            e.attribute, e.dn
                        ));
                    } else if !present.is_empty() {
                        drift.push(format!(
                            "`{}` of `{}` already holds {present:?}",
                            e.attribute, e.dn
                        ));
                    }
                }
            }
        }
        if !drift.is_empty() {
            let n = drift.len();
            drift.truncate(5);
            return Err(Error::other(
                format!(
                    "{}: {n} planned directory change(s) no longer fit, nothing was written: {}{}",
                    self.conn.url,
                    drift.join("; "),
                    if n > 5 { "; ..." } else { "" }
                ),
                "the directory changed since the plan was made; run `zmreip plan` again",
            ));
        }
        for (i, e) in edits.iter().enumerate() {
            self.modify(e).map_err(|err| match err {
                Error::Other { message, help } => Error::Other {
                    message: format!(
                        "{message} ({i} of {} directory edits were applied before it)",
                        edits.len()
                    ),
                    help,
                },
                other => other,
            })?;
        }
        Ok(())
    }
}

/// The edits that undo `edits`, given the prior values read back from the
/// journal (entries as [`LdapWriter::prior_ldif`] wrote them): each
/// attribute goes from the plan's `after` back to what it held before.
pub fn rollback_edits(prior: &[Entry], edits: &[ValueEdit]) -> Vec<ValueEdit> {
    edits
        .iter()
        .rev()
        .map(|e| {
            let before_values = prior
                .iter()
                .find(|p| p.dn.eq_ignore_ascii_case(&e.dn))
                .map(|p| values_of(p, &e.attribute))
                .unwrap_or_default();
            ValueEdit {
                dn: e.dn.clone(),
                attribute: e.attribute.clone(),
                before: e.after.clone(),
                after: before_values,
            }
        })
        .collect()
}

fn values_of(entry: &Entry, attribute: &str) -> Vec<String> {
    entry
        .get(attribute)
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}

/// `(&(attr=v1)(attr=v2))`: every value the plan read is still there.
fn assertion_filter(e: &ValueEdit) -> String {
    let terms: String = e
        .before
        .iter()
        .map(|v| format!("({}={})", e.attribute, escape(v)))
        .collect();
    format!("(&{terms})")
}

fn gone(e: &ValueEdit) -> Error {
    Error::other(
        format!(
            "`{}` no longer exists (the plan changes its `{}`)",
            e.dn, e.attribute
        ),
        "the directory changed since the plan was made; run `zmreip plan` again",
    )
}

/// Secrets are never written, and one attribute is edited once per batch.
fn check_edits(edits: &[ValueEdit]) -> Result<()> {
    let mut seen = HashSet::new();
    for e in edits {
        if crate::zimbra::is_secret_attribute(&e.attribute) {
            return Err(Error::other(
                format!(
                    "refusing to change secret attribute `{}` of `{}`",
                    e.attribute, e.dn
                ),
                "zmreip never edits secrets; this may indicate a bug in zmreip",
            ));
        }
        if !seen.insert((e.dn.to_ascii_lowercase(), e.attribute.to_ascii_lowercase())) {
            return Err(Error::other(
                format!("`{}` of `{}` is edited twice", e.attribute, e.dn),
                "this may indicate a bug in zmreip",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(dn: &str, attr: &str, before: &[&str], after: &[&str]) -> ValueEdit {
        ValueEdit {
            dn: dn.into(),
            attribute: attr.into(),
            before: before.iter().map(ToString::to_string).collect(),
            after: after.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn assertion_filters_escape_and_parse() {
        let e = edit(
            "cn=config,cn=zimbra",
            "zimbraWebClientLoginURLAllowedIP",
            &[r"^172\.20\.14\.25$", "(a*)"],
            &[],
        );
        let f = assertion_filter(&e);
        assert_eq!(
            f,
            r"(&(zimbraWebClientLoginURLAllowedIP=^172\5c.20\5c.14\5c.25$)(zimbraWebClientLoginURLAllowedIP=\28a\2a\29))"
        );
        // ldap3 panics on a filter it cannot parse; this one it takes.
        assert!(Assertion::new(f.as_str()).val.is_some());
    }

    #[test]
    fn rollback_restores_prior_values_in_reverse_order() {
        let edits = [
            edit(
                "cn=config,cn=zimbra",
                "zimbraMailTrustedIP",
                &["172.20.14.25", "172.20.14.250"],
                &["10.40.7.131", "172.20.14.250"],
            ),
            edit(
                "cn=config,cn=zimbra",
                "zimbraDNSMasterIP",
                &[],
                &["10.40.7.53"],
            ),
            edit(
                "dc=corp,dc=example",
                "zimbraVirtualIPAddress",
                &["172.20.14.25"],
                &["10.40.7.131"],
            ),
        ];
        let prior = [
            Entry {
                dn: "cn=config,cn=zimbra".into(),
                attrs: vec![(
                    "zimbraMailTrustedIP".into(),
                    vec!["172.20.14.250".into(), "172.20.14.25".into()],
                )],
            },
            Entry {
                dn: "DC=corp,DC=example".into(),
                attrs: vec![("zimbravirtualipaddress".into(), vec!["172.20.14.25".into()])],
            },
        ];
        let back = rollback_edits(&prior, &edits);
        assert_eq!(
            back,
            [
                edit(
                    "dc=corp,dc=example",
                    "zimbraVirtualIPAddress",
                    &["10.40.7.131"],
                    &["172.20.14.25"]
                ),
                edit(
                    "cn=config,cn=zimbra",
                    "zimbraDNSMasterIP",
                    &["10.40.7.53"],
                    &[]
                ),
                edit(
                    "cn=config,cn=zimbra",
                    "zimbraMailTrustedIP",
                    &["10.40.7.131", "172.20.14.250"],
                    &["172.20.14.250", "172.20.14.25"]
                ),
            ]
        );
    }

    #[test]
    fn secrets_and_double_edits_are_refused() {
        let e =
            check_edits(&[edit("uid=a", "userPassword", &["hunter2"], &["hunter3"])]).unwrap_err();
        assert!(e.to_string().contains("secret"), "{e}");
        assert!(!e.to_string().contains("hunter"), "{e}");
        let e = check_edits(&[
            edit("cn=A", "zimbraMailTrustedIP", &[], &["1.2.3.4"]),
            edit("CN=a", "zimbramailtrustedip", &[], &["1.2.3.5"]),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }
}
