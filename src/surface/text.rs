//! Surface `text`: files the user lists with `--include GLOB`.
//!
//! zmreip knows nothing about their format, so every line is one value of
//! [`ValueKind::Text`]: each literal occurrence of an old address is
//! replaced (the matcher's boundaries still keep `192.168.2.1` out of
//! `192.168.2.10`), and the change says it is a literal replacement.
//! Networks that contain the old address are reported, never rewritten.
//! Comments are not recognised: the user asked for the whole file. Lines
//! that carry a credential obey the same rule as everywhere: never shown,
//! never changed.

use super::{Ctx, Field, FileSurface, Surface, analyze_lines};
use crate::error::{Error, Result};
use crate::model::Report;
use crate::notice::{Code, Notice};
use crate::policy::ValueKind;

/// The `text` surface.
pub struct Text;

impl FileSurface for Text {
    /// The files of every `--include` glob, in the order given; a glob
    /// that matches nothing is a usage error (a typo would otherwise
    /// leave its files unchanged without a word).
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for pattern in &ctx.extra.include {
            let files = ctx.host.glob(pattern)?;
            if files.is_empty() {
                return Err(Error::usage(
                    format!("--include `{pattern}` matches no file under the root"),
                    "give a glob of host paths, e.g. --include '/etc/myapp/*.conf'",
                ));
            }
            out.extend(files);
        }
        Ok(out)
    }

    /// Every line is a value of unknown kind, except a line that carries
    /// a credential ([`crate::zimbra::secret_lines`]: an nginx include's
    /// `zm_lookup_master_auth_password`, localconfig.xml's password
    /// values): never shown, never changed; a warning names its line.
    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let secret = crate::zimbra::secret_lines(text);
        let mut hidden = Vec::new();
        let mut report = analyze_lines(Surface::Text, path, text, ctx, |n, line| {
            if secret[n - 1] {
                if ctx.matcher.may_match(line) && !ctx.matcher.find(line).is_empty() {
                    hidden.push(n);
                }
                return Ok(Vec::new());
            }
            Ok(vec![Field::new(0..line.len(), ValueKind::Text)])
        })?;
        for n in hidden {
            report.warnings.push(Notice::new(
                Code::SecretLineUnchanged,
                format!(
                    "{path}:{n} carries a credential and holds an old address; zmreip neither shows nor changes such a line: look at it yourself"
                ),
            ));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes, found};

    const PATH: &str = "/etc/myapp/app.conf";

    #[test]
    fn literal_replacement_on_every_line() {
        // (line, after; `None` when the line must not change)
        let cases: &[(&str, Option<&str>)] = &[
            ("bind = 192.168.2.1", Some("bind = 10.40.7.131")),
            (
                "peers 192.168.2.10,192.168.2.1",
                Some("peers 192.168.2.10,10.40.7.131"),
            ),
            // Comments too: the user listed the file as text.
            ("# old: 192.168.2.1", Some("# old: 10.40.7.131")),
            (
                "url=https://192.168.2.1:8443/x",
                Some("url=https://10.40.7.131:8443/x"),
            ),
            ("backup 192.168.2.100", None),
            ("oid 1.3.6.192.168.2.1", None),
            ("version 10.192.168.2.1", None),
            // A network is reported and left alone.
            ("allow 192.168.2.0/24", None),
            ("", None),
        ];
        let fx = Fixture::new(V4);
        for (line, after) in cases {
            let r = Text.analyze(PATH, line, &fx.plan()).unwrap();
            let want: Vec<(usize, String, String)> = after
                .iter()
                .map(|a| (1, line.to_string(), a.to_string()))
                .collect();
            assert_eq!(changes(&r), want, "{line:?}");
            for c in &r.changes {
                assert_eq!(c.surface, Surface::Text);
                assert!(c.reason.contains("literal replacement"), "{}", c.reason);
            }
        }
    }

    #[test]
    fn lines_carrying_credentials_are_neither_shown_nor_changed() {
        let fx = Fixture::new(V4);
        // An nginx include and a localconfig.xml given with --include.
        let text = "zm_lookup_handlers https://192.168.2.1:7072/x;\n\
            zm_lookup_master_auth_password \"FAKE@192.168.2.1!nginx\";\n\
            <key name=\"zimbra_ldap_password\">\n\
            \x20 <value>pw@192.168.2.1</value>\n\
            </key>\n\
            <key name=\"ldap_url\">\n\
            \x20 <value>ldap://192.168.2.1:389</value>\n\
            </key>\n";
        let r = Text.analyze(PATH, text, &fx.plan()).unwrap();
        let lines: Vec<usize> = changes(&r).iter().map(|c| c.0).collect();
        assert_eq!(lines, [1, 7]);
        let shown = format!("{r:?}");
        assert!(
            !shown.contains("FAKE@") && !shown.contains("pw@"),
            "{shown}"
        );
        let codes: Vec<(&str, &str)> = r
            .warnings
            .iter()
            .map(|w| (w.code.as_str(), w.message.as_str()))
            .collect();
        assert_eq!(codes.len(), 2, "{codes:?}");
        assert!(
            codes[0]
                .1
                .starts_with("/etc/myapp/app.conf:2 carries a credential"),
            "{codes:?}"
        );
        assert!(
            codes[1]
                .1
                .starts_with("/etc/myapp/app.conf:4 carries a credential"),
            "{codes:?}"
        );
        assert!(codes.iter().all(|(c, _)| *c == "secret-line-unchanged"));
        // A scan neither.
        let r = Text.analyze(PATH, text, &fx.scan()).unwrap();
        assert!(!format!("{r:?}").contains("FAKE@"));
    }

    #[test]
    fn networks_are_warned_about() {
        let fx = Fixture::new(V4);
        let r = Text
            .analyze(PATH, "allow 192.168.2.0/24\n", &fx.plan())
            .unwrap();
        assert!(r.changes.is_empty());
        assert_eq!(found(&r), vec![(1, "192.168.2.0/24".into())]);
        let codes: Vec<&str> = r.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["network-unchanged"]);
        assert!(r.warnings[0].message.contains("/etc/myapp/app.conf:1"));
    }

    #[test]
    fn multi_line_file_with_crlf_and_ipv6() {
        let fx = Fixture::new(DUAL);
        let text = "a=192.168.2.1\r\nb=[2001:db8:14::25]:443\r\nc=2001:db8:14::250\r\n";
        let r = Text.analyze(PATH, text, &fx.plan()).unwrap();
        assert_eq!(
            changes(&r),
            vec![
                (1, "a=192.168.2.1".into(), "a=10.40.7.131".into()),
                (
                    2,
                    "b=[2001:db8:14::25]:443".into(),
                    "b=[2001:db8:7::131]:443".into()
                ),
            ]
        );
        let r = Text.analyze(PATH, text, &fx.scan()).unwrap();
        assert!(r.changes.is_empty());
        assert_eq!(r.findings.len(), 2);
    }
}
