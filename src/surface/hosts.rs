//! Surface `hosts`: `/etc/hosts`, in hosts(5) format:
//!
//! ```text
//! ADDRESS  canonical_name  [aliases...]   # comment
//! ```
//!
//! Fields are separated by blanks and tabs; text from `#` to the end of the
//! line is a comment. Only the address is a value, and it is an own
//! address: a line that maps names to the old address says where this
//! server is, so the address moves and the names stay (DESIGN principle 3).
//! Comments are history, never matched or changed.
//!
//! A line whose first field is not an IP address (an editor's leftover, a
//! merge marker, fields swapped) is skipped, as the resolver and dnsmasq
//! skip it, with a `hosts-line-ignored` warning naming it: zmreip will not
//! guess what it was meant to say, and when it holds an old address the
//! warning (and a finding) says to fix it by hand. The same parser
//! ([`entry`]) reads the extra hosts files dnsmasq serves (`addn-hosts=`,
//! see [`super::dnsmasq`]) and answers verify's name lookups ([`lookup`]).

use std::net::IpAddr;
use std::ops::Range;

use super::{Ctx, Field, FileSurface, Surface, analyze_lines, find};
use crate::error::Result;
use crate::model::{Report, Target};
use crate::notice::{Code, Notice};
use crate::policy::ValueKind;

/// The `hosts` surface.
pub struct Hosts;

/// The system hosts file.
const FILE: &str = "/etc/hosts";

impl FileSurface for Hosts {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let host = ctx.host;
        Ok(if host.exists(FILE) {
            vec![FILE.to_string()]
        } else {
            Vec::new()
        })
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let mut report = analyze_lines(Surface::Hosts, path, text, ctx, |_, line| {
            Ok(line_fields(line))
        })?;
        report.extend(stray_lines(Surface::Hosts, path, text, ctx));
        Ok(report)
    }
}

/// One entry of a hosts file: the address and the names it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The address, without an IPv6 `%zone`.
    pub addr: IpAddr,
    /// Where the address is written in the line (zone included).
    pub span: Range<usize>,
    /// The canonical name and the aliases.
    pub names: Vec<&'a str>,
}

/// What one hosts-format line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// Blank or a comment.
    Blank,
    Entry(Entry<'a>),
    /// The first field is not an address (quoted here): the resolver
    /// skips the line.
    Stray(&'a str),
}

/// Reads one hosts-format line.
pub fn entry(line: &str) -> Line<'_> {
    let body = line.find('#').map_or(line, |c| &line[..c]);
    let start = body.len() - body.trim_start().len();
    let len = body[start..]
        .find(char::is_whitespace)
        .unwrap_or(body.len() - start);
    if len == 0 {
        return Line::Blank;
    }
    let written = &body[start..start + len];
    match address(written) {
        Some(addr) => Line::Entry(Entry {
            addr,
            span: start..start + len,
            names: body[start + len..].split_whitespace().collect(),
        }),
        None => Line::Stray(written),
    }
}

/// The address field of one hosts-format line (none for blank, comment
/// and stray lines).
pub(crate) fn line_fields(line: &str) -> Vec<Field> {
    match entry(line) {
        Line::Entry(e) => vec![Field::new(e.span, ValueKind::OwnAddress)],
        Line::Blank | Line::Stray(_) => Vec::new(),
    }
}

/// A `hosts-line-ignored` warning for every stray line of a hosts-format
/// file, and for one holding a searched address, its finding.
pub(crate) fn stray_lines(surface: Surface, path: &str, text: &str, ctx: &Ctx) -> Report {
    let mut report = Report::default();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let Line::Stray(written) = entry(line) else {
            continue;
        };
        let target = Target::Line {
            file: path.to_string(),
            line: i + 1,
        };
        let found = find(ctx.matcher, surface, &target, line);
        let holds = found
            .first()
            .map(|f| {
                format!(
                    "; it holds {}: fix the line by hand if it is meant to work",
                    f.matched
                )
            })
            .unwrap_or_default();
        report.warnings.push(Notice::new(
            Code::HostsLineIgnored,
            format!(
                "{target}: `{written}` is not an IP address, so the resolver skips this line and zmreip leaves it as it is{holds}"
            ),
        ));
        report.findings.extend(found);
    }
    report
}

/// The entries of a hosts file that give `name` (any case, a trailing dot
/// ignored), as the resolver reads them: lines that are not entries are
/// skipped. Each with its 1-based line and the line's text.
pub fn lookup(text: &str, name: &str) -> Vec<(usize, IpAddr, String)> {
    let name = name.trim_end_matches('.');
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let Line::Entry(e) = entry(line) else {
                return None;
            };
            e.names
                .iter()
                .any(|n| n.trim_end_matches('.').eq_ignore_ascii_case(name))
                .then(|| (i + 1, e.addr, line.trim_end().to_string()))
        })
        .collect()
}

/// An IPv4 or IPv6 address, the latter with an optional `%zone` (not
/// part of the address).
fn address(s: &str) -> Option<IpAddr> {
    let (addr, zone) = match s.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (s, None),
    };
    let ip = addr.parse::<IpAddr>().ok()?;
    zone.is_none_or(|z| ip.is_ipv6() && !z.is_empty())
        .then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes, found};

    const PATH: &str = "/etc/hosts";

    /// `(input, expected (line, before, after) changes)`; lines are joined
    /// with `\n`.
    type Case = (
        &'static [&'static str],
        &'static [(usize, &'static str, &'static str)],
    );

    #[test]
    fn own_address_moves_names_and_comments_stay() {
        let cases: &[Case] = &[
            // The address moves, names stay, separators kept.
            (
                &["192.168.2.1\tmail.corp.example\tmail"],
                &[(
                    1,
                    "192.168.2.1\tmail.corp.example\tmail",
                    "10.40.7.131\tmail.corp.example\tmail",
                )],
            ),
            // .10 and .100 are neighbours, not the old address.
            (
                &[
                    "192.168.2.10 relay.corp.example",
                    "192.168.2.100   backup",
                    "192.168.2.1 mail",
                ],
                &[(3, "192.168.2.1 mail", "10.40.7.131 mail")],
            ),
            // Comment lines and commented-out entries hold history.
            (
                &[
                    "# was 192.168.2.1 until CHG-1182",
                    "#192.168.2.1 mail",
                    "   # 192.168.2.1 indented comment",
                ],
                &[],
            ),
            // An inline comment stays as written, even when it names the address.
            (
                &["192.168.2.1 mail # 192.168.2.1 since 2019"],
                &[(
                    1,
                    "192.168.2.1 mail # 192.168.2.1 since 2019",
                    "10.40.7.131 mail # 192.168.2.1 since 2019",
                )],
            ),
            // A comment glued to the name.
            (
                &["  192.168.2.1  mail#old"],
                &[(1, "  192.168.2.1  mail#old", "  10.40.7.131  mail#old")],
            ),
            // A host name that spells the address is a name: it stays.
            (&["192.168.2.10 192-168-2-1.corp.example"], &[]),
            // Loopback and IPv6 housekeeping lines are fine and untouched.
            (
                &[
                    "127.0.0.1 localhost",
                    "::1     ip6-localhost ip6-loopback",
                    "fe80::1%eth0 router",
                    "ff02::1 ip6-allnodes",
                ],
                &[],
            ),
            // Blank and whitespace-only lines.
            (&["", "   ", "\t"], &[]),
        ];
        let fx = Fixture::new(V4);
        for (lines, want) in cases {
            let text = lines.join("\n");
            let r = Hosts.analyze(PATH, &text, &fx.plan()).unwrap();
            let want: Vec<(usize, String, String)> = want
                .iter()
                .map(|(n, b, a)| (*n, b.to_string(), a.to_string()))
                .collect();
            assert_eq!(changes(&r), want, "{text:?}");
            assert!(r.changes.iter().all(|c| c.surface == Surface::Hosts));
        }
    }

    #[test]
    fn ipv6_in_any_spelling() {
        let fx = Fixture::new(DUAL);
        let text = "2001:DB8:14:0:0:0:0:25\tmail.corp.example\tmail\n\
                    2001:db8:14::250 other\n\
                    2001:db8:14::25%eth0 mail-ll\n";
        let r = Hosts.analyze(PATH, text, &fx.plan()).unwrap();
        let got = changes(&r);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, 1);
        assert_eq!(got[0].2, "2001:DB8:7:0:0:0:0:131\tmail.corp.example\tmail");
        assert_eq!(
            got[1],
            (
                3,
                "2001:db8:14::25%eth0 mail-ll".into(),
                "2001:db8:7::131%eth0 mail-ll".into()
            )
        );
    }

    #[test]
    fn crlf_lines_keep_their_terminator_outside_before_and_after() {
        let fx = Fixture::new(V4);
        let text = "127.0.0.1 localhost\r\n192.168.2.1 mail\r\n192.168.2.10 x\r\n";
        let r = Hosts.analyze(PATH, text, &fx.plan()).unwrap();
        assert_eq!(
            changes(&r),
            vec![(2, "192.168.2.1 mail".into(), "10.40.7.131 mail".into())]
        );
    }

    #[test]
    fn scan_finds_without_changing() {
        let fx = Fixture::new(V4);
        let text = "# 192.168.2.1\n192.168.2.1 mail # 192.168.2.1\n192.168.2.10 n\n";
        let r = Hosts.analyze(PATH, text, &fx.scan()).unwrap();
        assert!(r.changes.is_empty());
        assert_eq!(found(&r), vec![(2, "192.168.2.1".to_string())]);
        assert_eq!(r.findings[0].surface, Surface::Hosts);
    }

    #[test]
    fn stray_lines_warn_and_the_rest_is_read() {
        // (text, line of the warning, text the message quotes)
        let cases: &[(&str, usize, &str)] = &[
            (
                "127.0.0.1 localhost\nmail.corp.example 192.168.2.1\n192.168.2.1 mail\n",
                2,
                "mail.corp.example",
            ),
            (
                "127.0.0.1 localhost\r\n\r\n192.168.2.1/24 mail\r\n192.168.2.1 mail\r\n",
                3,
                "192.168.2.1/24",
            ),
            ("192.168.2.256 x\n192.168.2.1 mail\n", 1, "192.168.2.256"),
            (
                "127.0.0.1%lo localhost\n192.168.2.1 mail\n",
                1,
                "127.0.0.1%lo",
            ),
            ("<<<<<<< HEAD\n192.168.2.1 mail\n=======\n", 1, "<<<<<<<"),
            ("# fine\n  ::1::2 x\n192.168.2.1 mail\n", 2, "::1::2"),
        ];
        let fx = Fixture::new(V4);
        for (text, line, quoted) in cases {
            let r = Hosts.analyze(PATH, text, &fx.plan()).unwrap();
            assert_eq!(r.changes.len(), 1, "{text:?}: the good line still moves");
            let w = &r.warnings;
            assert_eq!(
                w.len(),
                1 + usize::from(text.contains("=======")),
                "{text:?}: {w:?}"
            );
            assert_eq!(w[0].code, Code::HostsLineIgnored);
            assert!(
                w[0].message
                    .starts_with(&format!("{PATH}:{line}: `{quoted}`")),
                "{}",
                w[0].message
            );
        }
        // A stray line holding the old address is found and named, never
        // changed; 192.168.2.10 is not 192.168.2.1.
        let text = "mail 192.168.2.1\nmail2 192.168.2.10\n";
        let r = Hosts.analyze(PATH, text, &fx.plan()).unwrap();
        assert!(r.changes.is_empty());
        assert!(
            r.warnings[0].message.contains("holds 192.168.2.1: fix"),
            "{:?}",
            r.warnings
        );
        assert!(!r.warnings[1].message.contains("holds"), "{:?}", r.warnings);
        let r = Hosts.analyze(PATH, text, &fx.scan()).unwrap();
        assert_eq!(found(&r), [(1, "192.168.2.1".to_string())]);
    }

    #[test]
    fn files_lists_etc_hosts_when_present() {
        let fx = Fixture::new(V4);
        assert!(Hosts.files(&fx.scan()).unwrap().is_empty());
        fx.write("/etc/hosts", "127.0.0.1 localhost\n");
        assert_eq!(Hosts.files(&fx.scan()).unwrap(), vec!["/etc/hosts"]);
    }

    const HOSTS: &str = "\
127.0.0.1\tlocalhost
# 172.20.14.25 mail.corp.example (commented out)
172.20.14.250 mail2.corp.example mail2
10.40.7.131   MAIL.corp.example.  mail   # the server
2001:db8::25 mail.corp.example
fe80::1%eth0 mail.corp.example
not-an-address mail.corp.example
10.40.7.1 gw.corp.example mail.corp.example.evil
192.0.2.9%eth0 mail.corp.example
10.40.7.9 alias.corp.example mail.corp.example#old name
10.40.7.10 other.corp.example # mail.corp.example
";

    #[test]
    fn lookup_gives_the_lines_naming_a_host() {
        let got: Vec<(usize, String)> = lookup(HOSTS, "mail.corp.example")
            .into_iter()
            .map(|(n, a, _)| (n, a.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                (4, "10.40.7.131".to_string()),
                (5, "2001:db8::25".to_string()),
                (6, "fe80::1".to_string()),
                // A comment glued to the name is not part of it; an IPv4
                // address has no zone (line 9 is skipped, like line 7).
                (10, "10.40.7.9".to_string()),
            ]
        );
        assert_eq!(lookup(HOSTS, "mail2.corp.example").len(), 1);
        assert!(lookup(HOSTS, "corp.example").is_empty());
        assert_eq!(
            lookup(HOSTS, "mail.corp.example.")[0].2,
            "10.40.7.131   MAIL.corp.example.  mail   # the server"
        );
    }
}
