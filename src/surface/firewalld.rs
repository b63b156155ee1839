//! Surface `firewalld`: firewalld's permanent configuration under
//! `/etc/firewalld`: zones (`zones/*.xml`), policies (`policies/*.xml`),
//! IP sets (`ipsets/*.xml`) and direct rules (`direct.xml`). The defaults
//! under `/usr/lib/firewalld` hold no host's addresses and are not read.
//!
//! The XML is read tag by tag (comments, declarations and `CDATA`
//! skipped); only attribute values and text that hold addresses are
//! values:
//!
//! * a zone's `<source address="..."/>` binds that source to the zone:
//!   an allow-list entry unless the zone drops or rejects (`target`), one
//!   source per element;
//! * in a rich rule (`<rule>`), `<source address>` is a source (negated by
//!   `invert="true"`) and `<destination address>` a destination, read with
//!   the rule's action (`<accept/>`, `<drop/>`, `<reject/>`, `<mark/>`);
//! * `<forward-port ... to-addr="..."/>` is a forwarding target;
//! * an IP set's `<entry>` is matched as written;
//! * a direct `<rule>` or `<passthrough>` holds iptables arguments, read as
//!   [`super::iptables`] reads a rule.
//!
//! What each means is [`super::firewall`]'s. A zone source or a rich rule
//! holds one address, so a network that stays cannot gain the new host
//! there: a warning says to add it (`firewall-cmd --permanent
//! --zone=ZONE --add-source=NEW`).

use std::ops::Range;

use super::firewall::{self, Place, Verdict};
use super::iptables::{self, Verdicts};
use super::{Ctx, Field, FileSurface, Surface, analyze_text};
use crate::error::{Error, Result};
use crate::model::Report;

/// The `firewalld` surface.
pub struct Firewalld;

const GLOBS: &[&str] = &[
    "/etc/firewalld/zones/*.xml",
    "/etc/firewalld/policies/*.xml",
    "/etc/firewalld/ipsets/*.xml",
];
const DIRECT: &str = "/etc/firewalld/direct.xml";

impl FileSurface for Firewalld {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let mut files = Vec::new();
        for g in GLOBS {
            files.extend(ctx.host.glob(g)?);
        }
        if ctx.host.is_file(DIRECT) {
            files.push(DIRECT.to_string());
        }
        files.sort();
        Ok(files)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let tags = tags(text).map_err(|(at, message)| Error::Parse {
            path: path.to_string(),
            line: text[..at].matches('\n').count() + 1,
            message,
            help: Some(
                "fix the XML (firewalld refuses the file as it is: `firewall-offline-cmd --check-config`), or move it away"
                    .into(),
            ),
        })?;
        let fields = if path == DIRECT {
            direct(path, text, &tags)?
        } else {
            config(text, &tags)
        };
        analyze_text(Surface::Firewalld, path, text, ctx, fields)
    }
}

/// A start, end or empty-element tag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tag<'a> {
    name: &'a str,
    /// `</name>`
    end: bool,
    /// `<name/>`
    empty: bool,
    /// (name, value span) of each attribute.
    attrs: Vec<(&'a str, Range<usize>)>,
    /// Where the tag ends (after `>`).
    close: usize,
    /// Where the tag starts (`<`).
    open: usize,
}

impl Tag<'_> {
    fn attr<'t>(&self, text: &'t str, name: &str) -> Option<(&'t str, Range<usize>)> {
        self.attrs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| (&text[r.clone()], r.clone()))
    }
}

/// The tags of an XML document, in order. `Err` gives the offset of what
/// is broken and why.
fn tags(text: &str) -> std::result::Result<Vec<Tag<'_>>, (usize, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(lt) = text[i..].find('<').map(|k| i + k) {
        let skip = [
            ("<!--", "-->"),
            ("<![CDATA[", "]]>"),
            ("<?", "?>"),
            ("<!", ">"),
        ]
        .iter()
        .find(|(o, _)| text[lt..].starts_with(o));
        if let Some((_, close)) = skip {
            let end = text[lt..].find(close).ok_or((
                lt,
                "this comment or declaration is never closed".to_string(),
            ))?;
            i = lt + end + close.len();
            continue;
        }
        let end_tag = b.get(lt + 1) == Some(&b'/');
        let mut j = lt + 1 + usize::from(end_tag);
        let name_start = j;
        while j < b.len() && !b[j].is_ascii_whitespace() && !b"/>".contains(&b[j]) {
            j += 1;
        }
        let name = &text[name_start..j];
        if name.is_empty() {
            return Err((lt, "a `<` that starts no tag".into()));
        }
        let mut attrs = Vec::new();
        let mut empty = false;
        loop {
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            match b.get(j) {
                None => return Err((lt, format!("the tag `<{name}` is never closed"))),
                Some(b'>') => {
                    j += 1;
                    break;
                }
                Some(b'/') if b.get(j + 1) == Some(&b'>') => {
                    empty = true;
                    j += 2;
                    break;
                }
                _ => {}
            }
            let an = j;
            while j < b.len() && !b[j].is_ascii_whitespace() && !b"=/>".contains(&b[j]) {
                j += 1;
            }
            let attr = &text[an..j];
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if b.get(j) != Some(&b'=') || attr.is_empty() {
                return Err((
                    an,
                    format!("the attribute `{attr}` of `<{name}>` has no value"),
                ));
            }
            j += 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let Some(&q @ (b'"' | b'\'')) = b.get(j) else {
                return Err((an, format!("the value of `{attr}` is not quoted")));
            };
            let vs = j + 1;
            let ve = text[vs..]
                .find(q as char)
                .map(|k| vs + k)
                .ok_or((an, format!("the value of `{attr}` is never closed")))?;
            attrs.push((attr, vs..ve));
            j = ve + 1;
        }
        out.push(Tag {
            name,
            end: end_tag,
            empty,
            attrs,
            close: j,
            open: lt,
        });
        i = j;
    }
    Ok(out)
}

/// The text between a start tag and the next tag, trimmed.
fn content(text: &str, tags: &[Tag], k: usize) -> Range<usize> {
    let start = tags[k].close;
    let end = tags.get(k + 1).map_or(text.len(), |t| t.open);
    let raw = &text[start..end];
    let s = start + (raw.len() - raw.trim_start().len());
    s..s + raw.trim().len()
}

/// A zone, policy or IP set.
fn config(text: &str, tags: &[Tag]) -> Vec<Field> {
    let mut out = Vec::new();
    // What the zone or policy does with what no rule decides.
    let root = tags.iter().find(|t| !t.end);
    let target = root.and_then(|t| t.attr(text, "target")).map(|(v, _)| v);
    let zone_verdict = match target {
        Some("DROP" | "REJECT" | "%%REJECT%%") => Verdict::Deny,
        _ => Verdict::Accept,
    };
    let mut k = 0;
    while k < tags.len() {
        let t = &tags[k];
        k += 1;
        if t.end {
            continue;
        }
        match t.name {
            "rule" if !t.empty => {
                // The rule's elements up to `</rule>`.
                let end = tags[k..]
                    .iter()
                    .position(|x| x.end && x.name == "rule")
                    .map_or(tags.len(), |p| k + p);
                let body = &tags[k..end];
                let verdict = body
                    .iter()
                    .find_map(|x| match x.name {
                        "accept" => Some(Verdict::Accept),
                        "drop" | "reject" => Some(Verdict::Deny),
                        "mark" => Some(Verdict::Other),
                        _ => None,
                    })
                    .unwrap_or(Verdict::Other);
                for x in body.iter().filter(|x| !x.end) {
                    match x.name {
                        "source" | "destination" => {
                            let Some((v, span)) = x.attr(text, "address") else {
                                continue;
                            };
                            let inverted = x
                                .attr(text, "invert")
                                .is_some_and(|(i, _)| matches!(i, "true" | "True" | "yes"));
                            let place = if x.name == "source" {
                                Place::Source { negated: inverted }
                            } else {
                                Place::Destination
                            };
                            out.push(Field::new(span, firewall::kind(place, verdict, v, false)));
                        }
                        "forward-port" => out.extend(target_field(text, x)),
                        _ => {}
                    }
                }
                k = end;
            }
            "source" => {
                if let Some((v, span)) = t.attr(text, "address") {
                    let place = Place::Source { negated: false };
                    out.push(Field::new(
                        span,
                        firewall::kind(place, zone_verdict, v, false),
                    ));
                }
            }
            "forward-port" => out.extend(target_field(text, t)),
            "entry" if !t.empty => {
                let span = content(text, tags, k - 1);
                let v = &text[span.clone()];
                out.push(Field::new(
                    span,
                    firewall::kind(Place::Destination, Verdict::Other, v, false),
                ));
            }
            _ => {}
        }
    }
    out
}

fn target_field(text: &str, t: &Tag) -> Option<Field> {
    t.attr(text, "to-addr").map(|(v, span)| {
        Field::new(
            span,
            firewall::kind(Place::Target, Verdict::Other, v, false),
        )
    })
}

/// `direct.xml`: each `<rule>` and `<passthrough>` holds iptables
/// arguments.
fn direct(path: &str, text: &str, tags: &[Tag]) -> Result<Vec<Field>> {
    let mut out = Vec::new();
    let verdicts = Verdicts::default();
    for (k, t) in tags.iter().enumerate() {
        if t.end || t.empty || !matches!(t.name, "rule" | "passthrough") {
            continue;
        }
        let span = content(text, tags, k);
        // The arguments sit on one line of the file: read them there.
        let ls = text[..span.start].rfind('\n').map_or(0, |p| p + 1);
        let le = text[span.end..]
            .find('\n')
            .map_or(text.len(), |p| span.end + p);
        let line = &text[ls..le];
        if span.end > le {
            continue;
        }
        let rule = iptables::parse_rule(&line[..span.end - ls], span.start - ls).map_err(|m| {
            Error::Parse {
                path: path.to_string(),
                line: text[..span.start].matches('\n').count() + 1,
                message: m,
                help: Some("fix the direct rule's iptables arguments, or remove the rule".into()),
            }
        })?;
        for f in rule.fields(&verdicts, true) {
            out.push(Field {
                span: f.span.start + ls..f.span.end + ls,
                ..f
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes};

    fn plan(moves: &[(&str, &str)], path: &str, text: &str) -> (Vec<(usize, String)>, Vec<String>) {
        let fx = Fixture::new(moves);
        let r = Firewalld.analyze(path, text, &fx.plan()).unwrap();
        let ch = changes(&r).into_iter().map(|(n, _, a)| (n, a)).collect();
        (ch, r.warnings.iter().map(|w| w.code.to_string()).collect())
    }

    #[test]
    fn zone_sources_rich_rules_and_forwards() {
        let text = r#"<?xml version="1.0" encoding="utf-8"?>
<!-- zone for 192.168.2.1 -->
<zone>
  <short>zimbra</short>
  <source address="192.168.2.0/24"/>
  <source address="192.168.0.0/16"/>
  <source address="192.168.2.10"/>
  <rule family="ipv4">
    <source address="192.168.2.0/24"/>
    <destination address='192.168.2.1'/>
    <port protocol="tcp" port="7071"/>
    <accept/>
  </rule>
  <rule family="ipv4">
    <source address="192.168.2.1" invert="True"/>
    <drop/>
  </rule>
  <rule family="ipv4"><source address="192.168.0.0/16"/><reject/></rule>
  <forward-port port="25" protocol="tcp" to-port="2525" to-addr="192.168.2.1"/>
  <forward-port port="26" protocol="tcp" to-addr="192.168.2.10"/>
</zone>
"#;
        let (ch, codes) = plan(V4, "/etc/firewalld/zones/zimbra.xml", text);
        assert_eq!(
            ch,
            vec![
                (5, r#"  <source address="10.40.7.0/24"/>"#.into()),
                (9, r#"    <source address="10.40.7.0/24"/>"#.into()),
                (10, "    <destination address='10.40.7.131'/>".into()),
                (15, r#"    <source address="10.40.7.131" invert="True"/>"#.into()),
                (
                    19,
                    r#"  <forward-port port="25" protocol="tcp" to-port="2525" to-addr="10.40.7.131"/>"#
                        .into()
                ),
            ]
        );
        assert_eq!(codes, ["trust-rule-needed", "network-unchanged"]);
    }

    #[test]
    fn a_dropping_zone_and_ipsets() {
        let text = "<?xml version=\"1.0\"?>\n<zone target=\"DROP\">\n  <source address=\"192.168.0.0/16\"/>\n  <source address=\"192.168.2.1\"/>\n</zone>\n";
        let (ch, codes) = plan(V4, "/etc/firewalld/zones/block.xml", text);
        assert_eq!(ch, vec![(4, "  <source address=\"10.40.7.131\"/>".into())]);
        assert_eq!(codes, ["network-unchanged"]);
        let text = "<?xml version=\"1.0\"?>\n<ipset type=\"hash:net\">\n  <entry>192.168.2.1</entry>\n  <entry> 192.168.2.0/28 </entry>\n  <entry>192.168.2.10</entry>\n  <entry>192.168.1.250-192.168.2.9</entry>\n</ipset>\n";
        let (ch, codes) = plan(V4, "/etc/firewalld/ipsets/admins.xml", text);
        assert_eq!(ch, vec![(3, "  <entry>10.40.7.131</entry>".into())]);
        assert_eq!(codes, ["network-unchanged", "range-unchanged"]);
    }

    #[test]
    fn direct_rules_are_iptables_arguments() {
        let text = r#"<?xml version="1.0" encoding="utf-8"?>
<direct>
  <rule ipv="ipv4" table="filter" chain="INPUT" priority="0">-s 192.168.0.0/16 -d 192.168.2.1 -p tcp --dport 389 -j ACCEPT</rule>
  <rule ipv="ipv6" table="filter" chain="INPUT" priority="0">-d 2001:db8:14::25 -j ACCEPT</rule>
  <passthrough ipv="ipv4">-t nat -A PREROUTING -p tcp --dport 25 -j DNAT --to-destination 192.168.2.1:25</passthrough>
</direct>
"#;
        let (ch, codes) = plan(DUAL, DIRECT, text);
        assert_eq!(
            ch,
            vec![
                (
                    3,
                    r#"  <rule ipv="ipv4" table="filter" chain="INPUT" priority="0">-s 192.168.0.0/16,10.40.7.131 -d 10.40.7.131 -p tcp --dport 389 -j ACCEPT</rule>"#
                        .into()
                ),
                (
                    4,
                    r#"  <rule ipv="ipv6" table="filter" chain="INPUT" priority="0">-d 2001:db8:7::131 -j ACCEPT</rule>"#
                        .into()
                ),
                (
                    5,
                    r#"  <passthrough ipv="ipv4">-t nat -A PREROUTING -p tcp --dport 25 -j DNAT --to-destination 10.40.7.131:25</passthrough>"#
                        .into()
                ),
            ]
        );
        assert_eq!(codes, ["trust-network-kept"]);
    }

    #[test]
    fn broken_xml_is_an_error_at_its_line() {
        let fx = Fixture::new(V4);
        for (text, line) in [
            ("<zone>\n  <source address=\"192.168.2.1/>\n</zone>\n", 2),
            ("<zone>\n<!-- open\n</zone>\n", 2),
            ("<zone>\n  <source address=192.168.2.1/>\n</zone>\n", 2),
            ("<zone>\n  <source address\n", 2),
        ] {
            let e = Firewalld
                .analyze("/etc/firewalld/zones/z.xml", text, &fx.scan())
                .unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("/etc/firewalld/zones/z.xml:{line}: ")),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn files() {
        let fx = Fixture::new(V4);
        fx.write("/etc/firewalld/zones/public.xml", "<zone/>");
        fx.write("/etc/firewalld/zones/public.xml.old", "<zone/>");
        fx.write("/etc/firewalld/policies/p.xml", "<policy/>");
        fx.write("/etc/firewalld/ipsets/s.xml", "<ipset/>");
        fx.write("/etc/firewalld/direct.xml", "<direct/>");
        fx.write("/usr/lib/firewalld/zones/public.xml", "<zone/>");
        assert_eq!(
            Firewalld.files(&fx.scan()).unwrap(),
            [
                "/etc/firewalld/direct.xml",
                "/etc/firewalld/ipsets/s.xml",
                "/etc/firewalld/policies/p.xml",
                "/etc/firewalld/zones/public.xml"
            ]
        );
    }
}
