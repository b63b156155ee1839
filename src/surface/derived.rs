//! Surface `derived`: files Zimbra regenerates from the directory,
//! localconfig and name resolution (`main.cf`, `amavisd.conf`, the nginx
//! includes, ...; the list is [`crate::zimbra::derived_files`]).
//!
//! DESIGN principle 2: they are never edited. A file that holds an old
//! address is reported with the service whose action regenerates it, so
//! the plan can run that action and check the file afterwards.
//!
//! Every line is scanned, comments included (a regenerated file has no
//! history worth keeping apart), except lines that carry a credential:
//! Zimbra copies passwords into some of these files
//! (`zm_lookup_master_auth_password` in the nginx lookup include,
//! `bind_password` in amavisd.conf, `bind_pw` in the postfix LDAP maps),
//! and a finding prints its whole line ([`crate::zimbra::holds_secret`]).

use super::{Ctx, Surface, find};
use crate::error::Result;
use crate::model::{Finding, Target};

/// A derived file that holds a searched address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedHit {
    pub file: String,
    pub regenerated_by: crate::services::Service,
    pub findings: Vec<Finding>,
}

/// Scans every derived file present on the host.
pub fn scan(ctx: &Ctx) -> Result<Vec<DerivedHit>> {
    let mut hits = Vec::new();
    for d in crate::zimbra::derived_files() {
        let file = if d.path.starts_with('/') {
            d.path.to_string()
        } else {
            ctx.host.zimbra_path(d.path)
        };
        // Read as bytes: a file zmreip never edits need not be valid UTF-8
        // to be searched for addresses.
        let Some(bytes) = ctx.host.read_bytes(&file)? else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        // main.cf's parameters zmconfigd never writes are a surface of
        // their own (`postfix`): changed there, never regenerated.
        let own = if d.path == super::postfix::MAIN_CF {
            super::postfix::owned_main_cf_lines(&text)
        } else {
            Vec::new()
        };
        let findings = scan_text(&file, &text, &own, ctx);
        if !findings.is_empty() {
            hits.push(DerivedHit {
                file,
                regenerated_by: d.regenerated_by,
                findings,
            });
        }
    }
    Ok(hits)
}

/// Findings in the text of one derived file, but on the lines `skip`
/// (1-based) that another surface owns.
fn scan_text(file: &str, text: &str, skip: &[usize], ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    let secret = crate::zimbra::secret_lines(text);
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if !ctx.matcher.may_match(line) || secret[i] || skip.contains(&(i + 1)) {
            continue;
        }
        let target = Target::Line {
            file: file.to_string(),
            line: i + 1,
        };
        out.extend(find(ctx.matcher, Surface::Derived, &target, line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::Service;
    use crate::surface::testutil::{DUAL, Fixture, V4};

    const MAIN_CF: &str = "# change zimbraMtaMyNetworks, never 192.168.2.1 here\n\
        myhostname = mail.corp.example\n\
        mynetworks = 127.0.0.0/8 [::1]/128 192.168.2.1/32 192.168.2.0/24\n\
        relayhost = [192.168.2.10]:25\n\
        smtpd_milters = inet:127.0.0.1:8465\n\
        mail_version = 3.7.11\n\
        inet_interfaces = 127.0.0.1, 192.168.2.1\n";

    const ZMLOOKUP: &str = "zm_lookup {\r\n\
        \x20   zm_lookup_handlers  https://192.168.2.1:7072/service/extension/nginx-lookup;\r\n\
        \x20   zm_lookup_master_auth_password \"FAKE@192.168.2.1!nginx\";\r\n\
        }\r\n";

    /// `(file, line, matched)` of every finding.
    fn flat(hits: &[DerivedHit]) -> Vec<(String, usize, String)> {
        hits.iter()
            .flat_map(|h| &h.findings)
            .map(|f| {
                let Target::Line { file, line } = &f.target else {
                    panic!("{:?}", f.target)
                };
                (file.clone(), *line, f.matched.clone())
            })
            .collect()
    }

    #[test]
    fn reports_files_holding_the_address_with_their_service() {
        let fx = Fixture::new(V4);
        fx.write("/opt/zimbra/common/conf/main.cf", MAIN_CF);
        fx.write(
            "/opt/zimbra/conf/nginx/includes/nginx.conf.zmlookup",
            ZMLOOKUP,
        );
        // Present but without the address: not a hit.
        fx.write(
            "/opt/zimbra/conf/amavisd.conf",
            "$relayhost_is_client = 0;\n192.168.2.10\n",
        );
        // Not a derived file: never looked at here.
        fx.write(
            "/opt/zimbra/conf/localconfig.xml",
            "<value>192.168.2.1</value>\n",
        );
        let hits = scan(&fx.scan()).unwrap();
        let files: Vec<(&str, Service)> = hits
            .iter()
            .map(|h| (h.file.as_str(), h.regenerated_by))
            .collect();
        assert_eq!(
            files,
            [
                ("/opt/zimbra/common/conf/main.cf", Service::Mta),
                (
                    "/opt/zimbra/conf/nginx/includes/nginx.conf.zmlookup",
                    Service::Proxy
                ),
            ]
        );
        let main = "/opt/zimbra/common/conf/main.cf".to_string();
        let lookup = "/opt/zimbra/conf/nginx/includes/nginx.conf.zmlookup".to_string();
        assert_eq!(
            flat(&hits),
            vec![
                (main.clone(), 1, "192.168.2.1".into()),
                (main.clone(), 3, "192.168.2.1/32".into()),
                (main, 3, "192.168.2.0/24".into()),
                // Line 7, inet_interfaces, is the `postfix` surface's.
                (lookup, 2, "192.168.2.1:7072".into()),
            ]
        );
        assert!(
            hits.iter()
                .flat_map(|h| &h.findings)
                .all(|f| f.surface == Surface::Derived)
        );
    }

    #[test]
    fn secret_lines_never_reach_a_finding() {
        let fx = Fixture::new(V4);
        fx.write(
            "/opt/zimbra/conf/nginx/includes/nginx.conf.zmlookup",
            ZMLOOKUP,
        );
        fx.write(
            "/opt/zimbra/conf/ldap-vmm.cf",
            "server_host = ldap://192.168.2.1:389\nbind_pw = FAKE-192.168.2.1\n",
        );
        fx.write(
            "/opt/zimbra/conf/amavisd.conf",
            "\tbind_password => 'FAKE 192.168.2.1',\n\tBIND_PASSWORD => '192.168.2.1',\n",
        );
        let hits = scan(&fx.scan()).unwrap();
        let dump = format!("{hits:?}");
        assert!(!dump.contains("FAKE"), "{dump}");
        assert!(!dump.to_ascii_lowercase().contains("password"), "{dump}");
        assert_eq!(
            flat(&hits),
            vec![
                (
                    "/opt/zimbra/conf/ldap-vmm.cf".into(),
                    1,
                    "192.168.2.1:389".into()
                ),
                (
                    "/opt/zimbra/conf/nginx/includes/nginx.conf.zmlookup".into(),
                    2,
                    "192.168.2.1:7072".into()
                ),
            ]
        );
    }

    #[test]
    fn zimbra_home_is_followed_and_bytes_need_not_be_utf8() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("opt/zextras/common/conf")).unwrap();
        let mut bytes = b"# caf\xe9\nmynetworks = 2001:db8:14::25/128\n".to_vec();
        bytes.extend_from_slice(b"x = [2001:DB8:14::25]:25\n");
        std::fs::write(dir.path().join("opt/zextras/common/conf/main.cf"), bytes).unwrap();
        let host = crate::host::Host::open(dir.path(), None).unwrap();
        assert_eq!(host.zimbra_home(), "/opt/zextras");
        let fx = Fixture::new(DUAL);
        let ctx = Ctx::new(&host, &fx.matcher, Some(&fx.rewriter));
        let hits = scan(&ctx).unwrap();
        assert_eq!(
            flat(&hits),
            vec![
                (
                    "/opt/zextras/common/conf/main.cf".into(),
                    2,
                    "2001:db8:14::25/128".into()
                ),
                (
                    "/opt/zextras/common/conf/main.cf".into(),
                    3,
                    "[2001:DB8:14::25]:25".into()
                ),
            ]
        );
    }

    #[test]
    fn nothing_present_nothing_reported() {
        let fx = Fixture::new(V4);
        assert!(scan(&fx.plan()).unwrap().is_empty());
    }
}
