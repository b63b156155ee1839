//! Reading the live directory for a scan or plan: paged (RFC 2696),
//! streamed, and narrowed on the server.
//!
//! Three searches run at once on one connection, and their entries are
//! handed on in this order:
//!
//! 1. the config branch (`cn=zimbra`: global config, servers, COS, ...),
//!    every attribute: unknown attributes are searched by text;
//! 2. the domains (`objectClass=zimbraDomain`), every attribute;
//! 3. every other entry (accounts, groups, resources, data sources) that
//!    holds one of the known address attributes Zimbra allows there
//!    ([`zimbra::entry_attributes`], from attrs.xml's object classes),
//!    selected by a server-side filter (see [`super::schema::terms`]), with
//!    only those attributes fetched.
//!
//! `--deep` replaces them with one search of every attribute of every
//! entry, which is what an LDIF export gives.

use std::net::IpAddr;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, ResultEntry, Scope, SearchStream};

use super::conn::{self, Conn, PAGED_RESULTS};
use super::schema::{self, Schema};
use super::settings::Settings;
use crate::directory::{Directory, Entry};
use crate::error::{Error, Result};
use crate::zimbra;

/// The Zimbra config branch (zimbra-config-model.md §8.1).
const CONFIG_BASE: &str = "cn=zimbra";
/// The live directory, read-only.
pub struct LdapDirectory {
    conn: Conn,
    bind_dn: String,
    page_size: i32,
    deep: bool,
    targets: Vec<IpAddr>,
}

impl LdapDirectory {
    /// Connects to the first reachable read URL and binds.
    pub fn open(settings: &Settings) -> Result<LdapDirectory> {
        let conn = Conn::open(settings, &settings.read_urls, "directory")?;
        Ok(LdapDirectory {
            conn,
            bind_dn: settings.bind_dn.clone(),
            page_size: settings.page_size,
            deep: settings.deep,
            targets: Vec::new(),
        })
    }
}

impl Directory for LdapDirectory {
    fn describe(&self) -> String {
        format!("LDAP {} as {}", self.conn.url, self.bind_dn)
    }

    /// Two searches: the global config entry and the servers branch.
    fn topology(&mut self) -> Result<Vec<Entry>> {
        use crate::directory::{GLOBAL_CONFIG, SERVER_CLASS, SERVERS_BASE};
        let conn = &self.conn;
        let ctx = Search {
            ldap: conn.ldap.clone(),
            paged: conn.dse.supports(PAGED_RESULTS),
            page_size: self.page_size,
            url: &conn.url,
            bind_dn: &self.bind_dn,
            timeout: conn.timeout,
        };
        let servers = format!("(objectClass={SERVER_CLASS})");
        let mut out = Vec::new();
        let mut keep = |e: Entry| {
            out.push(e);
            Ok(())
        };
        conn.block_on(async {
            for (base, filter, what) in [
                (GLOBAL_CONFIG, "(objectClass=*)", "the global config"),
                (SERVERS_BASE, servers.as_str(), "the server entries"),
            ] {
                let mut s = ctx.start(base, filter, all_attrs()).await?;
                ctx.drain(&mut s, what, &|_| false, &mut keep).await?;
            }
            Ok::<(), Error>(())
        })?;
        Ok(out)
    }

    fn narrow(&mut self, targets: &[IpAddr]) {
        let mut t = targets.to_vec();
        t.sort();
        t.dedup();
        self.targets = t;
    }

    fn for_each(&mut self, visit: &mut dyn FnMut(Entry) -> Result<()>) -> Result<()> {
        let conn = &self.conn;
        let paged = conn.dse.supports(PAGED_RESULTS);
        let ctx = Search {
            ldap: conn.ldap.clone(),
            paged,
            page_size: self.page_size,
            url: &conn.url,
            bind_dn: &self.bind_dn,
            timeout: conn.timeout,
        };
        if self.deep {
            return conn.block_on(async {
                let mut all = ctx.start("", "(objectClass=*)", all_attrs()).await?;
                ctx.drain(&mut all, "every entry", &|_| false, visit).await
            });
        }
        let schema = conn.block_on(read_schema(&ctx, conn.dse.subschema.as_deref()));
        let (filter, attrs) = known_filter(schema.as_ref(), &self.targets);
        // One connection per search that runs at once (see Conn::another).
        let on = |ldap: Ldap| Search {
            ldap,
            ..ctx.clone()
        };
        let domains_ctx = on(if paged {
            conn.another()?
        } else {
            conn.ldap.clone()
        });
        let others_ctx = on(if paged && filter.is_some() {
            conn.another()?
        } else {
            conn.ldap.clone()
        });
        conn.block_on(async {
            // All three requests go out before any result is read, so the
            // server filters the accounts while the config and domains
            // stream.
            let mut config = ctx
                .start(CONFIG_BASE, "(objectClass=*)", all_attrs())
                .await?;
            let mut domains = domains_ctx
                .start("", "(objectClass=zimbraDomain)", all_attrs())
                .await?;
            let mut others = match &filter {
                Some(f) => Some(others_ctx.start("", f, attrs).await?),
                None => None,
            };
            ctx.drain(&mut config, "the config branch", &|_| false, visit)
                .await?;
            ctx.drain(&mut domains, "the domains", &|_| false, visit)
                .await?;
            if let Some(others) = others.as_mut() {
                ctx.drain(others, "the accounts", &in_config_branch, visit)
                    .await?;
            }
            Ok(())
        })
    }
}

fn all_attrs() -> Vec<String> {
    vec!["*".to_string()]
}

/// Entries of the config branch, already read in full.
fn in_config_branch(dn: &str) -> bool {
    let dn = dn.to_ascii_lowercase();
    dn == CONFIG_BASE || dn.ends_with(&format!(",{CONFIG_BASE}"))
}

/// The filter selecting non-domain entries that may hold a target in a
/// known address attribute, and the attributes to fetch. `None` when the
/// server knows none of them.
fn known_filter(schema: Option<&Schema>, targets: &[IpAddr]) -> (Option<String>, Vec<String>) {
    let mut terms = Vec::new();
    let mut attrs = Vec::new();
    for rule in zimbra::entry_attributes() {
        let (known, substr) = match schema {
            Some(s) => (s.knows(rule.name), s.has_substr(rule.name)),
            None => (true, false),
        };
        if !known {
            continue;
        }
        terms.extend(schema::terms(rule.name, rule.kind, substr, targets));
        attrs.push(rule.name.to_string());
    }
    if terms.is_empty() {
        return (None, attrs);
    }
    (
        Some(format!(
            "(&(!(objectClass=zimbraDomain))(|{}))",
            terms.concat()
        )),
        attrs,
    )
}

/// The server's attribute types, or `None` when it does not show them
/// (then every known attribute is selected by presence).
async fn read_schema(ctx: &Search<'_>, subschema: Option<&str>) -> Option<Schema> {
    let dn = subschema?;
    let mut ldap = ctx.ldap.clone();
    let res = ldap
        .with_timeout(ctx.timeout)
        .search(
            dn,
            Scope::Base,
            "(objectClass=subschema)",
            vec!["attributeTypes"],
        )
        .await
        .ok()?;
    let entry = res.0.into_iter().next()?;
    let e = to_entry(entry).ok()?;
    let defs = e.get("attributeTypes")?;
    Some(Schema::parse(defs.iter().map(String::as_str)))
}

type Stream = SearchStream<'static, String, Vec<String>>;

/// What every search of one scan shares.
#[derive(Clone)]
struct Search<'a> {
    ldap: Ldap,
    paged: bool,
    page_size: i32,
    url: &'a str,
    bind_dn: &'a str,
    timeout: std::time::Duration,
}

impl Search<'_> {
    /// Sends a subtree search; its entries arrive while others are read.
    async fn start(&self, base: &str, filter: &str, attrs: Vec<String>) -> Result<Stream> {
        let mut adapters: Vec<Box<dyn Adapter<'static, String, Vec<String>>>> =
            vec![Box::new(EntriesOnly::new())];
        if self.paged {
            adapters.push(Box::new(PagedResults::new(self.page_size)));
        }
        let mut ldap = self.ldap.clone();
        ldap.with_timeout(self.timeout)
            .streaming_search_with(adapters, base, Scope::Subtree, filter, attrs)
            .await
            .map_err(|e| self.failed("search", &conn::transport(&e, self.timeout)))
    }

    /// Hands every entry of `stream` to `visit`, except those `skip`
    /// names, then checks how the search ended.
    async fn drain(
        &self,
        stream: &mut Stream,
        what: &str,
        skip: &dyn Fn(&str) -> bool,
        visit: &mut dyn FnMut(Entry) -> Result<()>,
    ) -> Result<()> {
        let mut seen = 0usize;
        loop {
            let next = stream
                .next()
                .await
                .map_err(|e| self.failed(what, &conn::transport(&e, self.timeout)))?;
            let Some(raw) = next else { break };
            seen += 1;
            let entry = to_entry(raw).map_err(|m| self.failed(what, &m))?;
            if !skip(&entry.dn) {
                visit(entry)?;
            }
        }
        let res = stream.finish().await;
        match res.rc {
            0 => Ok(()),
            // A base that does not exist holds nothing to scan.
            32 => Ok(()),
            3 | 4 | 11 => Err(Error::other(
                format!(
                    "{}: the server stopped reading {what} after {seen} entries: {}",
                    self.url,
                    conn::describe(&res)
                ),
                format!(
                    "lift the limits for `{}` on the server (olcLimits: size.prtotal=unlimited time=unlimited), or export the directory with zmslapcat and pass --ldif",
                    self.bind_dn
                ),
            )),
            50 => Err(Error::other(
                format!(
                    "{}: `{}` may not read {what}: {}",
                    self.url,
                    self.bind_dn,
                    conn::describe(&res)
                ),
                "bind as the Zimbra admin (zimbra_ldap_userdn), or export the directory with zmslapcat and pass --ldif",
            )),
            _ => Err(self.failed(what, &conn::describe(&res))),
        }
    }

    fn failed(&self, what: &str, why: &str) -> Error {
        Error::other(
            format!("{}: reading {what} failed: {why}", self.url),
            "check that the directory server is running, or export it with zmslapcat and pass --ldif",
        )
    }
}

/// An entry from a SearchResultEntry, keeping the server's attribute
/// order (so output is stable) and dropping values that are not UTF-8
/// (no address lives in binary data).
pub fn to_entry(re: ResultEntry) -> std::result::Result<Entry, String> {
    let bad = || "the server sent a malformed entry".to_string();
    let mut parts =
        re.0.match_id(4)
            .and_then(ldap3::asn1::StructureTag::expect_constructed)
            .ok_or_else(bad)?
            .into_iter();
    let dn = parts
        .next()
        .and_then(ldap3::asn1::StructureTag::expect_primitive)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let list = parts
        .next()
        .and_then(ldap3::asn1::StructureTag::expect_constructed)
        .ok_or_else(bad)?;
    let mut attrs = Vec::with_capacity(list.len());
    for pa in list {
        let mut pa = pa.expect_constructed().ok_or_else(bad)?.into_iter();
        let name = pa
            .next()
            .and_then(ldap3::asn1::StructureTag::expect_primitive)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(bad)?;
        let vals = pa
            .next()
            .and_then(ldap3::asn1::StructureTag::expect_constructed)
            .ok_or_else(bad)?;
        let values: Vec<String> = vals
            .into_iter()
            .filter_map(ldap3::asn1::StructureTag::expect_primitive)
            .filter_map(|b| String::from_utf8(b).ok())
            .collect();
        if !values.is_empty() {
            attrs.push((name, values));
        }
    }
    Ok(Entry { dn, attrs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_level_attributes_come_from_the_object_classes() {
        let names: Vec<&str> = zimbra::entry_attributes().map(|r| r.name).collect();
        for a in [
            "zimbraWebClientAllowedIPs",
            "zimbraZDAllowedIPs",
            "zimbraMailTransport",
            "zimbraGalSyncLdapURL",
            "zimbraFreebusyExchangeURL",
            "zimbraDataSourceHost",
            "zimbraDataSourceSmtpHost",
            "zimbraExternalImapHostname",
        ] {
            assert!(names.contains(&a), "{a} not in {names:?}");
        }
        for a in [
            "zimbraMtaMyNetworks",
            "zimbraVirtualIPAddress",
            "zimbraDomainAllowedIPs",
        ] {
            assert!(!names.contains(&a), "{a} is read with config or domains");
        }
    }

    #[test]
    fn config_branch_is_recognized_in_any_case() {
        for (dn, want) in [
            ("cn=zimbra", true),
            ("CN=Zimbra", true),
            ("cn=config,cn=zimbra", true),
            ("cn=mail.corp.example,cn=servers,cn=zimbra", true),
            ("uid=zimbra,ou=people,dc=corp,dc=example", false),
            ("cn=notzimbra", false),
            ("cn=x,cn=zimbra,dc=corp,dc=example", false),
        ] {
            assert_eq!(in_config_branch(dn), want, "{dn}");
        }
    }

    #[test]
    fn known_filter_uses_what_the_server_knows() {
        let schema = Schema::parse([
            "( 1.1 NAME 'zimbraMailTransport' EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch )",
            "( 1.2 NAME 'zimbraWebClientAllowedIPs' EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch )",
            "( 1.3 NAME 'zimbraFreebusyExchangeURL' EQUALITY caseIgnoreIA5Match )",
            "( 1.4 NAME 'zimbraMtaMyNetworks' EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch )",
        ]);
        let t: Vec<IpAddr> = vec!["192.0.2.1".parse().unwrap()];
        let (f, attrs) = known_filter(Some(&schema), &t);
        let f = f.unwrap();
        assert!(f.starts_with("(&(!(objectClass=zimbraDomain))(|"), "{f}");
        assert!(f.contains("(zimbraMailTransport=*192*0*2*1*)"), "{f}");
        assert!(f.contains("(zimbraWebClientAllowedIPs=*)"), "{f}");
        assert!(f.contains("(zimbraFreebusyExchangeURL=*)"), "{f}");
        // Config-only attributes are read with the config entries.
        assert!(!f.contains("zimbraMtaMyNetworks"), "{f}");
        assert!(!f.contains("zimbraVirtualIPAddress"), "{f}");
        assert_eq!(
            attrs,
            [
                "zimbraWebClientAllowedIPs",
                "zimbraMailTransport",
                "zimbraFreebusyExchangeURL"
            ]
        );
        // A parse of the filter as ldap3 does it must succeed.
        assert!(ldap3::controls::Assertion::new(f.as_str()).val.is_some());

        // Without a schema every table attribute is selected by presence.
        let (f, attrs) = known_filter(None, &t);
        let f = f.unwrap();
        assert_eq!(attrs.len(), zimbra::entry_attributes().count());
        assert!(!f.contains("=*192"), "{f}");
        // A server that knows none: no search at all.
        let (f, _) = known_filter(Some(&Schema::parse([])), &t);
        assert!(f.is_none());
    }
}
