//! Surface `resolv`: `/etc/resolv.conf`, in resolv.conf(5) format, and the
//! pieces the `resolvconf` package builds it from
//! (`/etc/resolvconf/resolv.conf.d/{head,base,tail}`: where it is
//! installed, `/etc/resolv.conf` is generated and those are the source).
//!
//! The resolver (glibc `res_init`, musl alike) reads a keyword in the
//! first column followed by a blank; a `#` or `;` in the first column
//! starts a comment; unknown keywords and indented lines are ignored, so
//! zmreip ignores them too.
//!
//! * `nameserver ADDR`: a DNS server, i.e. another host. It changes only
//!   where it *is* the old address (the host resolves through a DNS server
//!   on itself, e.g. dnsmasq for split DNS); a server in the same network
//!   stays. The resolver reads the address up to the first blank, so what
//!   follows it is not a value.
//! * `sortlist ADDR[/MASK] ...`: preferred networks; each address part is
//!   another host's as well. The mask is a dotted netmask, not a value.
//! * `search`, `domain`, `options`: names and flags, no addresses.
//!
//! Where `/etc/resolv.conf` is a link into `/run` (systemd-resolved,
//! resolvconf), it is generated: a change is still proposed, so the host
//! resolves correctly right away, with a warning that it lasts only until
//! the file is generated again.

use std::ops::Range;

use super::{Ctx, Field, FileSurface, Surface, analyze_lines};
use crate::error::Result;
use crate::host::Host;
use crate::model::Report;
use crate::notice::{Code, Notice};
use crate::policy::ValueKind;

/// The `resolv` surface.
pub struct Resolv;

/// Files in resolv.conf format: the resolver's own, then resolvconf's
/// sources (`original` is resolvconf's backup of the file it replaced and
/// is never read, so it is not listed).
const FILES: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/resolvconf/resolv.conf.d/base",
    "/etc/resolvconf/resolv.conf.d/head",
    "/etc/resolvconf/resolv.conf.d/tail",
];

impl FileSurface for Resolv {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let host = ctx.host;
        Ok(FILES
            .iter()
            .filter(|f| host.exists(f))
            .map(ToString::to_string)
            .collect())
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let mut report = analyze_lines(Surface::Resolv, path, text, ctx, |_, line| {
            Ok(line_fields(line))
        })?;
        if !report.changes.is_empty()
            && let Some(source) = generated_from(ctx.host, path)
        {
            report.warnings.push(Notice::new(
                Code::ResolvGenerated,
                format!(
                    "{path} links to `{source}`, which is generated: the change lasts until it is generated again; change the DNS servers where they come from too (netplan or networkd, resolvconf's head/base/tail, the DHCP server)"
                ),
            ));
        }
        Ok(report)
    }
}

/// The target of `path` when it is a link into `/run`, where
/// systemd-resolved and resolvconf generate resolv.conf.
fn generated_from(host: &Host, path: &str) -> Option<String> {
    let target = host.read_link(path)?;
    let target = target.to_string_lossy();
    target.contains("/run/").then(|| target.into_owned())
}

/// One option line as the resolver reads it: the keyword in the first
/// column and the byte ranges of the words after it. `None` for comments
/// (`#` or `;` first), indented and blank lines, which it skips.
fn option(line: &str) -> Option<(&str, impl Iterator<Item = Range<usize>> + '_)> {
    let mut words = words(line);
    let first = words.next()?;
    if first.start != 0 || line.starts_with(['#', ';']) {
        return None;
    }
    Some((&line[first], words))
}

/// The address fields of one resolv.conf line.
pub(crate) fn line_fields(line: &str) -> Vec<Field> {
    let Some((keyword, mut words)) = option(line) else {
        return Vec::new();
    };
    match keyword {
        "nameserver" => words
            .next()
            .map(|w| Field::new(w, ValueKind::OtherHost))
            .into_iter()
            .collect(),
        "sortlist" => {
            // glibc stops the list at `;` and ends each address at `/` or `&`.
            let end = line.find(';').unwrap_or(line.len());
            words
                .take_while(|w| w.start < end)
                .filter_map(|w| {
                    let entry = &line[w.start..w.end.min(end)];
                    let len = entry.find(['/', '&']).unwrap_or(entry.len());
                    (len > 0).then(|| Field::new(w.start..w.start + len, ValueKind::OtherHost))
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The `nameserver` addresses of a resolv.conf, in order, as written.
pub fn nameservers(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| {
            let (keyword, mut words) = option(line)?;
            let w = words.next()?;
            (keyword == "nameserver").then(|| &line[w])
        })
        .collect()
}

/// Byte ranges of the blank-separated words of `line`.
fn words(line: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let rest = &line[pos..];
        let start = pos + rest.find(|c: char| c != ' ' && c != '\t')?;
        let len = line[start..]
            .find([' ', '\t'])
            .unwrap_or(line.len() - start);
        pos = start + len;
        Some(start..pos)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes, found};

    const PATH: &str = "/etc/resolv.conf";

    #[test]
    fn only_the_old_address_itself_moves() {
        // (line, after; `None` when the line must not change)
        let cases: &[(&str, Option<&str>)] = &[
            // The host resolves through itself (dnsmasq on the own address).
            ("nameserver 192.168.2.1", Some("nameserver 10.40.7.131")),
            ("nameserver\t192.168.2.1", Some("nameserver\t10.40.7.131")),
            // Another DNS server in the same network stays.
            ("nameserver 192.168.2.53", None),
            ("nameserver 192.168.2.10", None),
            ("nameserver 10.192.168.2.1", None),
            // What follows the address is not read by the resolver.
            (
                "nameserver 192.168.2.1 # 192.168.2.1 is dnsmasq",
                Some("nameserver 10.40.7.131 # 192.168.2.1 is dnsmasq"),
            ),
            // Comments, in both styles, and indented lines.
            ("# nameserver 192.168.2.1", None),
            ("; nameserver 192.168.2.1", None),
            ("  nameserver 192.168.2.1", None),
            // No addresses on these.
            ("search corp.example 1.168.192.in-addr.arpa", None),
            ("domain corp.example", None),
            ("options timeout:2 attempts:2 ndots:1", None),
            // Unknown keywords are ignored, not errors.
            ("lookup file bind 192.168.2.1", None),
            ("nameserverx 192.168.2.1", None),
            // sortlist: each address part is another host; masks are not values.
            (
                "sortlist 192.168.2.1/255.255.255.255 192.168.2.0/255.255.255.0",
                Some("sortlist 10.40.7.131/255.255.255.255 192.168.2.0/255.255.255.0"),
            ),
            (
                "sortlist 130.155.160.0&255.255.240.0 192.168.2.1",
                Some("sortlist 130.155.160.0&255.255.240.0 10.40.7.131"),
            ),
            ("sortlist 10.0.0.0 ; 192.168.2.1", None),
        ];
        let fx = Fixture::new(V4);
        for (line, after) in cases {
            let r = Resolv.analyze(PATH, line, &fx.plan()).unwrap();
            let want: Vec<(usize, String, String)> = after
                .iter()
                .map(|a| (1, line.to_string(), a.to_string()))
                .collect();
            assert_eq!(changes(&r), want, "{line:?}");
        }
    }

    #[test]
    fn a_quad_in_a_zone_stays_also_after_a_dash() {
        // Fuzzing: `fe68::2%1-7.7.0.4`. The zone runs to the space, so
        // the quad is the zone's, not the end of a range `1-7.7.0.4`;
        // found as one it moved once the IPv6 address had moved.
        let fx = Fixture::new(DUAL);
        for text in [
            "nameserver 2001:db8:14::25%1-192.168.2.1\n",
            "nameserver 2001:db8:14::25%eth1-192.168.2.1\n",
        ] {
            let r = Resolv.analyze(PATH, text, &fx.plan()).unwrap();
            let moved = text.replace("2001:db8:14::25", "2001:db8:7::131");
            assert_eq!(
                changes(&r),
                [(1, text.trim_end().to_string(), moved.trim_end().to_string())]
            );
            let again = Resolv.analyze(PATH, &moved, &fx.plan()).unwrap();
            assert!(again.changes.is_empty(), "{:?}", again.changes);
        }
    }

    #[test]
    fn nameservers_as_the_resolver_reads_them() {
        let text = "# nameserver 10.0.0.1\n; nameserver 10.0.0.2\n  nameserver 10.0.0.3\nnameserver 127.0.0.53 # local\nnameserverx 10.0.0.4\nnameserver\tfe80::1%eth0\r\nsearch corp.example\nnameserver\n";
        assert_eq!(nameservers(text), ["127.0.0.53", "fe80::1%eth0"]);
        assert!(nameservers("").is_empty());
    }

    #[test]
    fn whole_file_with_ipv6_and_crlf() {
        let fx = Fixture::new(DUAL);
        let text = "# generated by hand\r\n\
                    nameserver 192.168.2.1\r\n\
                    nameserver 192.168.2.53\r\n\
                    nameserver 2001:DB8:14::25\r\n\
                    nameserver 2001:db8:14::53\r\n\
                    search corp.example\r\n";
        let r = Resolv.analyze(PATH, text, &fx.plan()).unwrap();
        assert_eq!(
            changes(&r),
            vec![
                (
                    2,
                    "nameserver 192.168.2.1".into(),
                    "nameserver 10.40.7.131".into()
                ),
                (
                    4,
                    "nameserver 2001:DB8:14::25".into(),
                    "nameserver 2001:DB8:7::131".into()
                ),
            ]
        );
        let r = Resolv.analyze(PATH, text, &fx.scan()).unwrap();
        assert!(r.changes.is_empty());
        assert_eq!(
            found(&r),
            vec![(2, "192.168.2.1".into()), (4, "2001:DB8:14::25".into())]
        );
    }

    #[test]
    fn a_generated_file_is_changed_with_a_warning() {
        let fx = Fixture::new(V4);
        let text = "nameserver 192.168.2.1\n";
        fx.write("/run/systemd/resolve/resolv.conf", text);
        std::fs::create_dir_all(fx.host.shown("/etc")).unwrap();
        std::os::unix::fs::symlink("../run/systemd/resolve/resolv.conf", fx.host.shown(PATH))
            .unwrap();
        let r = Resolv.analyze(PATH, text, &fx.plan()).unwrap();
        assert_eq!(r.changes.len(), 1);
        let codes: Vec<&str> = r.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["resolv-generated"]);
        assert!(
            r.warnings[0]
                .message
                .contains("../run/systemd/resolve/resolv.conf")
        );
        // Nothing to change, nothing to warn about.
        let r = Resolv
            .analyze(PATH, "nameserver 127.0.0.53\n", &fx.plan())
            .unwrap();
        assert!(r.warnings.is_empty());
        // A plain file is not generated.
        let fx = Fixture::new(V4);
        fx.write(PATH, text);
        assert!(
            Resolv
                .analyze(PATH, text, &fx.plan())
                .unwrap()
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn files_are_those_present() {
        let fx = Fixture::new(V4);
        assert!(Resolv.files(&fx.scan()).unwrap().is_empty());
        fx.write("/etc/resolvconf/resolv.conf.d/head", "");
        fx.write(
            "/etc/resolvconf/resolv.conf.d/original",
            "nameserver 192.168.2.1\n",
        );
        fx.write("/etc/resolv.conf", "nameserver 127.0.0.1\n");
        assert_eq!(
            Resolv.files(&fx.scan()).unwrap(),
            vec!["/etc/resolv.conf", "/etc/resolvconf/resolv.conf.d/head"]
        );
    }
}
