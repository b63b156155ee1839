//! Surface `dnsmasq`: `/etc/dnsmasq.conf`, its drop-in directory and every
//! file its directives pull in.
//!
//! Format (dnsmasq(8), "CONFIG FILE"): one option per line, `option` or
//! `option=value` (blanks allowed around `=`), the long option names
//! without `--`. A `#` at the start of a line or after a blank, outside
//! double quotes, starts a comment, so `server=1.2.3.4#53` is a port and
//! `server=1.2.3.4 # upstream` a comment. Values are comma-separated lists;
//! how each option's value is read is the [`OPTIONS`] table. An option not
//! in it is read as text: every literal old address in its value moves and
//! the change says it is a literal replacement.
//!
//! Which files dnsmasq reads (see [`config`]):
//!
//! * `/etc/dnsmasq.conf`;
//! * `/etc/dnsmasq.d`, as Debian's service passes it with `-7`: the
//!   `CONFIG_DIR=` of `/etc/default/dnsmasq` when that file exists (none
//!   when it sets no `CONFIG_DIR`), otherwise the directory without
//!   package-manager leftovers (reading a file dnsmasq ignores costs a
//!   harmless edit; missing one it reads leaves it answering with the old
//!   address);
//! * `conf-file=` and `conf-dir=DIR[,*.ext...][,.ext...]`, recursively;
//! * `servers-file=` (same format), `addn-hosts=` and `hostsdir=` (hosts
//!   format, [`super::hosts`]), `resolv-file=` (resolv.conf format,
//!   [`super::resolv`]). Changes there are dnsmasq changes: dnsmasq is
//!   what must re-read them. `/etc/hosts` and `/etc/resolv.conf` belong to
//!   their own surfaces even when dnsmasq reads them.
//!
//! Paths are host paths, read through [`Host`] (so under `--root`);
//! relative paths are taken from `/`, dnsmasq's working directory.
//!
//! DHCP ranges (`dhcp-range=`) are pools of client addresses: zmreip never
//! rewrites one, whoever's it is (DESIGN principle 4: nothing is widened or
//! moved on a guess). It reports them instead ([`dhcp_ranges`]): a range
//! with an end at the old address is a finding, named by a
//! `dnsmasq-dhcp-range-kept` warning, and so is, when the old network
//! moves, a range inside it: after the move dnsmasq offers no lease on a
//! network none of its interfaces is on, so the admin sets the new
//! network's pool by hand.

use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;

use super::{Ctx, Field, FileSurface, Surface, analyze_lines, find, hosts, resolv};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::{Report, Target};
use crate::notice::{Code, Notice};
use crate::policy::ValueKind::{self, Listen, OtherHost, OwnAddress, Text, TrustList};
use crate::spec::PrefixSource;

/// The `dnsmasq` surface.
pub struct Dnsmasq;

/// The main configuration file.
const MAIN: &str = "/etc/dnsmasq.conf";

/// Debian's defaults file: its `CONFIG_DIR=` is the `-7` (`conf-dir`)
/// argument the packaged service passes to dnsmasq.
const DEBIAN_DEFAULTS: &str = "/etc/default/dnsmasq";

/// The drop-in directory as `conf-dir` syntax, where no Debian defaults
/// file says otherwise: Debian's default `CONFIG_DIR` plus the leftovers rpm
/// makes (RHEL's stock dnsmasq.conf names the directory with these).
const DROP_IN: &str = "/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new,.rpmnew,.rpmsave,.rpmorig";

/// Files dnsmasq may read that other surfaces own.
const OWNED_ELSEWHERE: &[&str] = &["/etc/hosts", "/etc/resolv.conf"];

/// How a file dnsmasq reads is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// dnsmasq options.
    Conf,
    /// hosts(5).
    Hosts,
    /// resolv.conf(5): `nameserver` lines name upstream servers.
    Resolv,
}

/// Options whose value names more files: (option, format of those files,
/// whether a directory means every file in it).
const INCLUDES: &[(&str, Format, bool)] = &[
    ("conf-file", Format::Conf, false),
    ("servers-file", Format::Conf, false),
    ("addn-hosts", Format::Hosts, true),
    ("hostsdir", Format::Hosts, true),
    ("resolv-file", Format::Resolv, false),
];

/// How the value of an option is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// No address can be a value: names, numbers, paths, address ranges.
    Skip,
    /// The whole value is one value.
    Whole(ValueKind),
    /// Every comma-separated sub-field is one value.
    Each(ValueKind),
    /// The whole value is one comma-separated list (an entry added joins
    /// it with a comma, and an entry is never listed twice).
    List(ValueKind),
    /// Only the first sub-field is a value.
    First(ValueKind),
    /// `/domain/[domain/...]VALUE`: the part after the last `/`.
    AfterDomains(ValueKind),
    /// `[/domain/...]SERVER[#port][@interface|@SOURCE[#port]]`: the server
    /// is another host, a source address is this host's own.
    Server,
    /// `NETWORK[/len][,SERVER...]`: the network is a reverse zone of other
    /// hosts, then [`Layout::Server`] syntax without domains.
    RevServer,
}

use Layout::{AfterDomains, Each, First, List, RevServer, Server, Skip, Whole};

/// How zmreip reads each dnsmasq option (dnsmasq(8)). Options not listed
/// are read as [`ValueKind::Text`].
static OPTIONS: &[(&str, Layout)] = &[
    // --- This host's own addresses ---
    // The addresses dnsmasq binds to: after the move it must listen on the
    // new one (loopback entries never match); it listens on every one.
    ("listen-address", List(Listen { several: true })),
    // Split DNS: a name answered with the old address names this server;
    // the answer moves, the name stays (principle 3).
    ("address", AfterDomains(OwnAddress)),
    // `name[,name...],ADDR[,ADDR6][,ttl]`: the same, as A/AAAA/PTR.
    ("host-record", Each(OwnAddress)),
    // `REVERSE-NAME[,target]`: the reverse name of the old address is the
    // address in disguise and moves with it; the target is a name.
    ("ptr-record", First(OwnAddress)),
    // A DHCP reservation of the old address is this server's.
    ("dhcp-host", Each(OwnAddress)),
    // `domain,INTERFACE|ADDR...`: where the authoritative server answers.
    ("auth-server", List(Listen { several: true })),
    // --- Other hosts: change only where they are the old address ---
    // Upstream DNS servers (a neighbour in the same network stays); `local`
    // is `server` without one.
    ("server", Server),
    ("local", Server),
    ("rev-server", RevServer),
    // Secondaries allowed to transfer the zones.
    ("auth-peer", Each(OtherHost)),
    // Addresses handed to DHCP clients (dns-server, router, ntp-server,
    // boot and relay servers): the old address there is this server, any
    // other is another host's.
    ("dhcp-option", Whole(OtherHost)),
    ("dhcp-option-force", Whole(OtherHost)),
    ("dhcp-boot", Whole(OtherHost)),
    ("dhcp-relay", Whole(OtherHost)),
    // Rewrites and filters of upstream answers: other hosts' addresses.
    ("alias", Whole(OtherHost)),
    ("bogus-nxdomain", Each(OtherHost)),
    ("ignore-address", Each(OtherHost)),
    // --- Networks ---
    // `domain,SUBNET[/len]...[,exclude:...]`: the subnets decide which of
    // this host's addresses the zone publishes (and which reverse zones it
    // serves). Read with the trust-list rule: the old interface network
    // becomes the new one, a wider network keeps and gains the new address,
    // so the new address is published and nothing is widened. The domain
    // and `exclude:` entries are never networks to it.
    ("auth-zone", Whole(TrustList { loopback: false })),
    // --- Text ---
    // TXT data, e.g. SPF `ip4:` mechanisms naming this server.
    ("txt-record", Whole(Text)),
    // --- No addresses ---
    // Names only (principle 3).
    ("cname", Skip),
    ("mx-host", Skip),
    ("srv-host", Skip),
    ("naptr-record", Skip),
    ("caa-record", Skip),
    ("interface-name", Skip),
    ("auth-sec-servers", Skip),
    ("auth-soa", Skip),
    ("interface", Skip),
    ("except-interface", Skip),
    ("no-dhcp-interface", Skip),
    ("ipset", Skip),
    ("nftset", Skip),
    // Ranges of client addresses, not of this server: never changed, read
    // and reported by `dhcp_ranges`.
    ("dhcp-range", Skip),
    ("domain", Skip),
    ("synth-domain", Skip),
    // Paths: the files they name are read in their own format (INCLUDES).
    ("conf-file", Skip),
    ("conf-dir", Skip),
    ("servers-file", Skip),
    ("addn-hosts", Skip),
    ("hostsdir", Skip),
    ("resolv-file", Skip),
    ("dhcp-hostsfile", Skip),
    ("dhcp-optsfile", Skip),
    ("dhcp-leasefile", Skip),
    ("pid-file", Skip),
    ("log-facility", Skip),
];

impl FileSurface for Dnsmasq {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let host = ctx.host;
        let mut files: Vec<String> = config(host)?.into_iter().map(|(p, _)| p).collect();
        files.sort();
        Ok(files)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        // The format of a file is known only from the directive that named
        // it, so the (small, cheaply scanned) graph is walked again; a file
        // outside it is read as options.
        let format = config(ctx.host)?
            .into_iter()
            .find(|(p, _)| p == path)
            .map_or(Format::Conf, |(_, f)| f);
        let mut report = analyze_lines(Surface::Dnsmasq, path, text, ctx, |_, line| {
            Ok(match format {
                Format::Conf => line_fields(line),
                Format::Hosts => hosts::line_fields(line),
                Format::Resolv => resolv::line_fields(line),
            })
        })?;
        match format {
            // dnsmasq skips them too ("bad address at line N").
            Format::Hosts => report.extend(hosts::stray_lines(Surface::Dnsmasq, path, text, ctx)),
            Format::Conf => report.extend(dhcp_ranges(path, text, ctx)),
            Format::Resolv => {}
        }
        Ok(report)
    }
}

/// One option line: the option name and where its value is in the line
/// (comments cut, blanks trimmed; empty for a flag).
#[derive(Debug, PartialEq, Eq)]
struct Directive<'a> {
    key: &'a str,
    value: Range<usize>,
}

/// Reads one line as dnsmasq does; `None` for blank and comment lines.
fn directive(line: &str) -> Option<Directive<'_>> {
    let end = comment_start(line);
    let body = line[..end].trim_end();
    let start = body.len() - body.trim_start().len();
    if start == body.len() {
        return None;
    }
    let Some(eq) = body[start..].find('=').map(|i| start + i) else {
        return Some(Directive {
            key: &body[start..],
            value: body.len()..body.len(),
        });
    };
    let value_start = eq + 1 + (body[eq + 1..].len() - body[eq + 1..].trim_start().len());
    Some(Directive {
        key: body[start..eq].trim_end(),
        value: value_start..body.len(),
    })
}

/// Where a comment starts: `#` at the start or after a blank, outside
/// double quotes (a backslash escapes inside quotes).
fn comment_start(line: &str) -> usize {
    let b = line.as_bytes();
    let (mut blank, mut quoted, mut i) = (true, false, 0);
    while i < b.len() {
        match b[i] {
            b'"' => {
                quoted = !quoted;
                blank = false;
            }
            b'\\' if quoted => i += 1,
            b' ' | b'\t' => blank = true,
            b'#' if blank && !quoted => return i,
            _ => blank = false,
        }
        i += 1;
    }
    b.len()
}

/// The comma-separated sub-fields of `line[r]`, blanks trimmed, commas
/// inside double quotes kept.
fn subfields(line: &str, r: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut push = |s: usize, e: usize| {
        let piece = &line[s..e];
        let s2 = s + (piece.len() - piece.trim_start().len());
        out.push(s2..s2 + piece.trim().len());
    };
    let (mut start, mut quoted) = (r.start, false);
    for (i, c) in line[r.clone()].char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                push(start, r.start + i);
                start = r.start + i + 1;
            }
            _ => {}
        }
    }
    push(start, r.end);
    out
}

/// The fields of one dnsmasq option line.
fn line_fields(line: &str) -> Vec<Field> {
    let Some(d) = directive(line) else {
        return Vec::new();
    };
    if d.value.is_empty() {
        return Vec::new();
    }
    let layout = OPTIONS
        .iter()
        .find(|(k, _)| *k == d.key)
        .map_or(Whole(Text), |(_, l)| *l);
    let mut out = Vec::new();
    match layout {
        Skip => {}
        Whole(k) => out.push(Field::new(d.value, k)),
        List(k) => out.push(Field::new(d.value, k).joined(",")),
        Each(k) => out.extend(
            subfields(line, d.value)
                .into_iter()
                .map(|r| Field::new(r, k).joined(",")),
        ),
        First(k) => out.extend(
            subfields(line, d.value)
                .into_iter()
                .take(1)
                .map(|r| Field::new(r, k)),
        ),
        AfterDomains(k) => out.push(Field::new(after_domains(line, d.value), k)),
        Server => server_fields(line, after_domains(line, d.value), &mut out),
        RevServer => {
            let v = &line[d.value.clone()];
            let net_end = d.value.start + v.find(',').unwrap_or(v.len());
            out.push(Field::new(d.value.start..net_end, OtherHost));
            if net_end < d.value.end {
                server_fields(line, net_end + 1..d.value.end, &mut out);
            }
        }
    }
    out.retain(|f| !f.span.is_empty());
    out
}

/// The ends of the DHCP range of a `dhcp-range=` value
/// (`[tag:T,][set:T,]START[,END|MODE][,NETMASK|PREFIX][,...]`): its
/// first one or two sub-fields that are addresses.
fn range_ends(line: &str, value: Range<usize>) -> Vec<(Range<usize>, IpAddr)> {
    subfields(line, value)
        .into_iter()
        .skip_while(|r| {
            let f = &line[r.clone()];
            f.starts_with("tag:") || f.starts_with("set:")
        })
        .take(2)
        .map_while(|r| {
            let ip = line[r.clone()].parse::<IpAddr>().ok()?;
            Some((r, ip))
        })
        .collect()
}

/// What the `dhcp-range=` lines of an options file mean for the move
/// (they never change): a finding for an end that is an old address, and
/// in a plan a `dnsmasq-dhcp-range-kept` warning for a range with such an
/// end or inside an old network that moves.
pub fn dhcp_ranges(path: &str, text: &str, ctx: &Ctx) -> Report {
    let mut report = Report::default();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if !line.trim_start().starts_with("dhcp-range") {
            continue;
        }
        let Some(d) = directive(line).filter(|d| d.key == "dhcp-range") else {
            continue;
        };
        let ends = range_ends(line, d.value.clone());
        let target = Target::Line {
            file: path.to_string(),
            line: i + 1,
        };
        let mut found = Vec::new();
        for (r, _) in &ends {
            found.extend(find(
                ctx.matcher,
                Surface::Dnsmasq,
                &target,
                &line[r.clone()],
            ));
        }
        let written = &line[d.value.clone()];
        if let Some(rw) = ctx.rewriter {
            let why = match found.first() {
                Some(f) => Some(format!("an end of the DHCP range `{written}` is the old address {}", f.matched)),
                None => rw.pairs().iter().find_map(|p| {
                    let moves = p.old_prefix_source != PrefixSource::Host && p.old_net() != p.new_net();
                    let inside = !ends.is_empty() && ends.iter().all(|(_, ip)| p.old_net().contains(ip));
                    (moves && inside).then(|| {
                        format!("the DHCP range `{written}` lies in the old network {}, which becomes {}", p.old_net(), p.new_net())
                    })
                }),
            };
            if let Some(why) = why {
                report.warnings.push(Notice::new(
                    Code::DnsmasqDhcpRangeKept,
                    format!(
                        "{target}: {why}; zmreip never rewrites a pool of client addresses, and dnsmasq offers no lease on a network none of its interfaces is on: set the new network's range by hand"
                    ),
                ));
            }
        }
        report.findings.extend(found);
    }
    report
}

/// The part of `line[r]` after a leading `/domain/.../` list.
fn after_domains(line: &str, r: Range<usize>) -> Range<usize> {
    let v = &line[r.clone()];
    if v.starts_with('/') {
        let cut = v.rfind('/').map_or(0, |i| i + 1);
        r.start + cut..r.end
    } else {
        r
    }
}

/// `SERVER[#port][@interface|@SOURCE[#port]...]` in `line[r]`.
fn server_fields(line: &str, r: Range<usize>, out: &mut Vec<Field>) {
    let mut pos = r.start;
    for (i, piece) in line[r].split('@').enumerate() {
        let len = piece.find('#').unwrap_or(piece.len());
        // The first piece is the upstream server; a piece after `@` is an
        // interface name or the source address queries leave from, which
        // is this host's own.
        let kind = if i == 0 { OtherHost } else { OwnAddress };
        out.push(Field::new(pos..pos + len, kind));
        pos += piece.len() + 1;
    }
}

/// Every file dnsmasq reads on this host (except those owned by other
/// surfaces), with its format, in the order they are found: the main
/// file, the drop-in directory, then what they pull in.
fn config(host: &Host) -> Result<Vec<(String, Format)>> {
    let mut queue: VecDeque<(String, Format)> = VecDeque::new();
    queue.push_back((MAIN.to_string(), Format::Conf));
    let drop_in = match host.read(DEBIAN_DEFAULTS)? {
        Some(text) => debian_config_dir(&text),
        None => Some(DROP_IN.to_string()),
    };
    if let Some(spec) = drop_in {
        for f in conf_dir(host, &spec)? {
            queue.push_back((f, Format::Conf));
        }
    }
    let mut files: Vec<(String, Format)> = Vec::new();
    let mut seen = HashSet::new();
    while let Some((path, format)) = queue.pop_front() {
        if OWNED_ELSEWHERE.contains(&path.as_str()) || !seen.insert(path.clone()) {
            continue;
        }
        if host.is_dir(&path) {
            continue;
        }
        let Some(text) = host.read(&path)? else {
            continue;
        };
        files.push((path, format));
        if format != Format::Conf {
            continue;
        }
        for line in text.lines() {
            // Cheap test first: drop-ins can be block lists of many
            // thousand lines, and this runs once per analyzed file.
            let t = line.trim_start();
            if !t.starts_with("conf-dir") && !INCLUDES.iter().any(|(k, ..)| t.starts_with(k)) {
                continue;
            }
            let Some(d) = directive(line) else {
                continue;
            };
            let value = line[d.value].trim_matches('"');
            if value.is_empty() {
                continue;
            }
            if d.key == "conf-dir" {
                for f in conf_dir(host, value)? {
                    queue.push_back((f, Format::Conf));
                }
            } else if let Some((_, format, dirs)) = INCLUDES.iter().find(|(k, ..)| *k == d.key) {
                let path = absolute(value);
                if *dirs && host.is_dir(&path) {
                    for f in list_dir(host, &path)? {
                        queue.push_back((f, *format));
                    }
                } else {
                    queue.push_back((path, *format));
                }
            }
        }
    }
    Ok(files)
}

/// Where this host's dnsmasq answers DNS: its first `listen-address`
/// (127.0.0.1 when it listens everywhere) and its `port` (53 unless set;
/// the last setting wins), with the place that says so. `None` when no
/// dnsmasq configuration is on the host or DNS is off (`port=0`).
pub fn dns_server(host: &Host) -> Result<Option<(SocketAddr, String)>> {
    let files: Vec<String> = config(host)?
        .into_iter()
        .filter(|(_, f)| *f == Format::Conf)
        .map(|(p, _)| p)
        .collect();
    if files.is_empty() {
        return Ok(None);
    }
    let mut port: u16 = 53;
    let mut listen: Option<(IpAddr, String)> = None;
    for path in &files {
        let Some(text) = host.read(path)? else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let Some(d) = directive(line) else {
                continue;
            };
            let value = line[d.value].trim();
            match d.key {
                "port" => {
                    port = value.parse().map_err(|_| {
                        Error::parse(path, i + 1, format!("`port={value}` is not a port number"))
                    })?;
                }
                "listen-address" => {
                    let first = value.split(',').next().unwrap_or("").trim();
                    let ip = first.parse::<IpAddr>().map_err(|_| {
                        Error::parse(path, i + 1, format!("`{first}` is not an address"))
                    })?;
                    listen.get_or_insert_with(|| (ip, format!("{path}:{}", i + 1)));
                }
                _ => {}
            }
        }
    }
    if port == 0 {
        return Ok(None);
    }
    let (ip, from) = listen.unwrap_or((IpAddr::V4(Ipv4Addr::LOCALHOST), files.join(", ")));
    Ok(Some((
        SocketAddr::new(ip, port),
        format!("dnsmasq, {from}"),
    )))
}

/// The last `CONFIG_DIR=` assignment of Debian's defaults file.
fn debian_config_dir(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("CONFIG_DIR="))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
        .next_back()
        .filter(|v| !v.is_empty())
}

/// A path as dnsmasq opens it: relative to `/`.
fn absolute(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// The files `conf-dir=DIR[,ext...]` loads, sorted. As dnsmasq does:
/// suffixes starting with `*` are required (any one of them), others are
/// excluded; a suffix counts only when the name is longer than it.
fn conf_dir(host: &Host, spec: &str) -> Result<Vec<String>> {
    let mut parts = spec.split(',').map(str::trim);
    let dir = parts.next().unwrap_or_default();
    if dir.is_empty() {
        return Ok(Vec::new());
    }
    let (required, excluded): (Vec<&str>, Vec<&str>) = parts
        .filter(|p| !p.is_empty() && *p != "*")
        .partition(|p| p.starts_with('*'));
    let ends = |name: &str, suffix: &str| name.len() > suffix.len() && name.ends_with(suffix);
    Ok(list_dir(host, &absolute(dir))?
        .into_iter()
        .filter(|path| {
            let name = path.rsplit('/').next().unwrap_or_default();
            (required.is_empty() || required.iter().any(|s| ends(name, &s[1..])))
                && !excluded.iter().any(|s| ends(name, s))
        })
        .collect())
}

/// The regular files of a directory as host paths, sorted, skipping what
/// dnsmasq always skips: dot files, `name~` and `#name#` editor files.
fn list_dir(host: &Host, dir: &str) -> Result<Vec<String>> {
    let names = host.list(dir)?;
    let dir = dir.trim_end_matches('/');
    let mut out = Vec::new();
    for name in names {
        if name.starts_with('.')
            || name.ends_with('~')
            || (name.starts_with('#') && name.ends_with('#'))
        {
            continue;
        }
        let path = format!("{dir}/{name}");
        // Symlinks followed (inside the root), as dnsmasq's stat() does.
        if host.is_file(&path) {
            out.push(path);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes, found};

    const PATH: &str = "/etc/dnsmasq.conf";

    /// `(line, after)`; `None` when the line must not change.
    type Case = (&'static str, Option<&'static str>);

    fn check(moves: &[(&str, &str)], cases: &[Case]) {
        let fx = Fixture::new(moves);
        for (line, after) in cases {
            let r = Dnsmasq.analyze(PATH, line, &fx.plan()).unwrap();
            let want: Vec<(usize, String, String)> = after
                .iter()
                .map(|a| (1, line.to_string(), a.to_string()))
                .collect();
            assert_eq!(changes(&r), want, "{line:?}");
            assert!(r.changes.iter().all(|c| c.surface == Surface::Dnsmasq));
        }
    }

    #[test]
    fn own_addresses_move() {
        check(
            V4,
            &[
                (
                    "listen-address=127.0.0.1,192.168.2.1",
                    Some("listen-address=127.0.0.1,10.40.7.131"),
                ),
                (
                    "listen-address = 192.168.2.1",
                    Some("listen-address = 10.40.7.131"),
                ),
                ("listen-address=192.168.2.10,192.168.2.100", None),
                // Split DNS: only the answer moves, never the names.
                (
                    "address=/mail.corp.example/192.168.2.1",
                    Some("address=/mail.corp.example/10.40.7.131"),
                ),
                (
                    "address=/mail.corp.example/webmail.corp.example/192.168.2.1",
                    Some("address=/mail.corp.example/webmail.corp.example/10.40.7.131"),
                ),
                ("address=/mail.corp.example/192.168.2.10", None),
                ("address=/192.168.2.1.nip.io/192.168.2.10", None),
                ("address=/ads.example/", None),
                (
                    "host-record=mail.corp.example,mail,192.168.2.1,300",
                    Some("host-record=mail.corp.example,mail,10.40.7.131,300"),
                ),
                ("host-record=relay.corp.example,192.168.2.10", None),
                // MAC and names stay; the reserved address moves.
                (
                    "dhcp-host=00:50:56:14:20:25,192.168.2.1,mail,infinite",
                    Some("dhcp-host=00:50:56:14:20:25,10.40.7.131,mail,infinite"),
                ),
                ("dhcp-host=00:50:56:14:20:26,192.168.2.11,other", None),
                // The reverse name moves with the address; the target stays.
                (
                    "ptr-record=1.2.168.192.in-addr.arpa,mail.corp.example",
                    Some("ptr-record=131.7.40.10.in-addr.arpa,mail.corp.example"),
                ),
                (
                    "ptr-record=10.2.168.192.in-addr.arpa,relay.corp.example",
                    None,
                ),
                (
                    "auth-server=ns.corp.example,192.168.2.1",
                    Some("auth-server=ns.corp.example,10.40.7.131"),
                ),
                ("auth-server=ns.corp.example,eth0", None),
            ],
        );
    }

    #[test]
    fn other_hosts_stay_unless_they_are_the_old_address() {
        check(
            V4,
            &[
                // Upstreams in the same network are other hosts.
                ("server=192.168.2.53", None),
                ("server=192.168.2.10", None),
                ("server=/corp.example/192.168.2.53", None),
                // A reverse *zone* is not the old address's reverse name.
                ("server=/2.168.192.in-addr.arpa/192.168.2.53", None),
                ("server=/1.2.168.192.in-addr.arpa/192.168.2.53", None),
                // A resolver on this host itself, with a port.
                ("server=192.168.2.1#5353", Some("server=10.40.7.131#5353")),
                (
                    "server=/corp.example/192.168.2.1#5353",
                    Some("server=/corp.example/10.40.7.131#5353"),
                ),
                // The source address queries leave from is this host's.
                (
                    "server=9.9.9.9@192.168.2.1",
                    Some("server=9.9.9.9@10.40.7.131"),
                ),
                (
                    "server=9.9.9.9@192.168.2.1#1053@eth0",
                    Some("server=9.9.9.9@10.40.7.131#1053@eth0"),
                ),
                ("server=9.9.9.9@eth0", None),
                ("server=/local.example/#", None),
                ("local=/corp.example/", None),
                ("rev-server=192.168.2.0/24,192.168.2.53", None),
                (
                    "rev-server=192.168.2.0/24,192.168.2.1",
                    Some("rev-server=192.168.2.0/24,10.40.7.131"),
                ),
                (
                    "auth-peer=192.168.2.10,192.168.2.1",
                    Some("auth-peer=192.168.2.10,10.40.7.131"),
                ),
                (
                    "dhcp-option=option:dns-server,192.168.2.1",
                    Some("dhcp-option=option:dns-server,10.40.7.131"),
                ),
                ("dhcp-option=option:router,192.168.2.254", None),
                (
                    "dhcp-option=tag:lan,6,192.168.2.1,192.168.2.53",
                    Some("dhcp-option=tag:lan,6,10.40.7.131,192.168.2.53"),
                ),
                ("bogus-nxdomain=192.168.2.10", None),
            ],
        );
    }

    #[test]
    fn names_ranges_and_paths_stay() {
        check(
            V4,
            &[
                ("cname=webmail.corp.example,mail.corp.example", None),
                ("mx-host=corp.example,mail.corp.example,10", None),
                (
                    "srv-host=_imaps._tcp.corp.example,mail.corp.example,993",
                    None,
                ),
                ("interface-name=mail.corp.example,eth0", None),
                ("dhcp-range=192.168.2.1,192.168.2.200,12h", None),
                ("domain=corp.example,192.168.2.0/24,local", None),
                ("addn-hosts=/etc/hosts.192.168.2.1", None),
                ("bind-interfaces", None),
                ("no-resolv", None),
                ("except-interface=eth1", None),
            ],
        );
    }

    #[test]
    fn dhcp_ranges_are_reported_never_rewritten() {
        // (moves, line, finding, warning's words)
        type Want<'a> = (&'a [(&'a str, &'a str)], &'a str, bool, Option<&'a str>);
        let cases: &[Want] = &[
            (
                V4,
                "dhcp-range=192.168.2.1,192.168.2.200,12h",
                true,
                Some("is the old address 192.168.2.1"),
            ),
            (
                V4,
                "dhcp-range=192.168.2.20,192.168.2.1",
                true,
                Some("is the old address"),
            ),
            // 192.168.2.1 is not inside 192.168.2.10 or 192.168.2.100; the
            // pool is in the old network, which moves.
            (
                V4,
                "dhcp-range=192.168.2.10,192.168.2.100,255.255.255.0,12h",
                false,
                Some("lies in the old network 192.168.2.0/24, which becomes 10.40.7.0/24"),
            ),
            (
                V4,
                "dhcp-range=set:red,tag:!blue,192.168.2.1,static",
                true,
                Some("is the old address"),
            ),
            // Another network's pool, and the old network not moving.
            (V4, "dhcp-range=192.168.5.10,192.168.5.20", false, None),
            (
                &[("192.168.2.1/24", "192.168.2.7/24")],
                "dhcp-range=192.168.2.10,192.168.2.100",
                false,
                None,
            ),
            // The old prefix unknown: nothing is known of its network.
            (
                &[("192.168.2.1", "10.40.7.131")],
                "dhcp-range=192.168.2.10,192.168.2.100",
                false,
                None,
            ),
            // A pool ending in the new network too still warns: the old
            // end is the point.
            (
                DUAL,
                "dhcp-range=2001:db8:14::25,ra-only",
                true,
                Some("is the old address 2001:db8:14::25"),
            ),
            (
                DUAL,
                "dhcp-range=2001:db8:14::1:10,2001:db8:14::1:ff,64,12h",
                false,
                Some("lies in the old network 2001:db8:14::/64"),
            ),
            (DUAL, "dhcp-range=constructor:eth0,::1,::400", false, None),
            (V4, "# dhcp-range=192.168.2.1,192.168.2.200", false, None),
            // Not dhcp-range: an unknown option, read as text.
            (V4, "dhcp-rangex=192.168.2.1,192.168.2.200", true, None),
        ];
        for (moves, line, finding, warning) in cases {
            let fx = Fixture::new(moves);
            let r = Dnsmasq.analyze(PATH, line, &fx.plan()).unwrap();
            // (An unknown option is text: its literal address moves.)
            if line.starts_with("dhcp-range=") {
                assert!(r.changes.is_empty(), "{line}: {:?}", r.changes);
            }
            let range_warnings: Vec<&Notice> = r
                .warnings
                .iter()
                .filter(|w| w.code == Code::DnsmasqDhcpRangeKept)
                .collect();
            match warning {
                Some(words) => {
                    assert_eq!(range_warnings.len(), 1, "{line}: {:?}", r.warnings);
                    let m = &range_warnings[0].message;
                    assert!(
                        m.starts_with(&format!("{PATH}:1: ")) && m.contains(words),
                        "{line}: {m}"
                    );
                }
                None => assert!(range_warnings.is_empty(), "{line}: {range_warnings:?}"),
            }
            let s = Dnsmasq.analyze(PATH, line, &fx.scan()).unwrap();
            assert_eq!(!s.findings.is_empty(), *finding, "{line}: {:?}", s.findings);
            assert!(s.warnings.is_empty(), "{line}: a scan plans nothing");
        }
    }

    #[test]
    fn comments_quotes_and_unknown_options() {
        check(
            V4,
            &[
                ("# listen-address=192.168.2.1", None),
                ("   #address=/mail.corp.example/192.168.2.1", None),
                // A comment after a blank is cut; `#` glued to a value is a port.
                (
                    "listen-address=192.168.2.1 # 192.168.2.1 until CHG-1182",
                    Some("listen-address=10.40.7.131 # 192.168.2.1 until CHG-1182"),
                ),
                ("server=192.168.2.53 # not 192.168.2.1", None),
                // TXT data is text: SPF mechanisms move, quotes keep `#` and `,`.
                (
                    "txt-record=corp.example,\"v=spf1 ip4:192.168.2.1 -all\"",
                    Some("txt-record=corp.example,\"v=spf1 ip4:10.40.7.131 -all\""),
                ),
                (
                    "txt-record=x.corp.example,\"a # b, 192.168.2.1\"",
                    Some("txt-record=x.corp.example,\"a # b, 10.40.7.131\""),
                ),
                // Unknown options: literal replacement.
                (
                    "some-future-option=192.168.2.1,192.168.2.10",
                    Some("some-future-option=10.40.7.131,192.168.2.10"),
                ),
                ("cache-size=2000", None),
            ],
        );
        let fx = Fixture::new(V4);
        let r = Dnsmasq
            .analyze(PATH, "some-future-option=192.168.2.1", &fx.plan())
            .unwrap();
        assert!(
            r.changes[0].reason.contains("literal replacement"),
            "{}",
            r.changes[0].reason
        );
        let r = Dnsmasq
            .analyze(PATH, "listen-address=192.168.2.1", &fx.plan())
            .unwrap();
        assert!(
            r.changes[0].reason.contains("listen address"),
            "{}",
            r.changes[0].reason
        );
    }

    #[test]
    fn ipv6() {
        check(
            DUAL,
            &[
                (
                    "listen-address=::1,2001:db8:14::25",
                    Some("listen-address=::1,2001:db8:7::131"),
                ),
                (
                    "address=/mail.corp.example/2001:DB8:14:0::25",
                    Some("address=/mail.corp.example/2001:DB8:7::131"),
                ),
                (
                    "host-record=mail.corp.example,192.168.2.1,2001:db8:14::25",
                    Some("host-record=mail.corp.example,10.40.7.131,2001:db8:7::131"),
                ),
                ("server=2001:db8:14::53", None),
                (
                    "server=2001:db8:14::25#5353",
                    Some("server=2001:db8:7::131#5353"),
                ),
                (
                    "dhcp-host=id:00:01:00:01:aa:bb,[2001:db8:14::25],mail",
                    Some("dhcp-host=id:00:01:00:01:aa:bb,[2001:db8:7::131],mail"),
                ),
                (
                    "ptr-record=5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa,mail.corp.example",
                    Some(
                        "ptr-record=1.3.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.7.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa,mail.corp.example",
                    ),
                ),
            ],
        );
    }

    #[test]
    fn auth_zone_follows_the_trust_list_rule() {
        let fx = Fixture::new(V4);
        let cases: &[(&str, Option<&str>, &[&str])] = &[
            (
                "auth-zone=corp.example,192.168.2.0/24",
                Some("auth-zone=corp.example,10.40.7.0/24"),
                &[],
            ),
            // A wider network stays and the new address is published beside it.
            (
                "auth-zone=corp.example,192.168.0.0/16,eth0",
                Some("auth-zone=corp.example,192.168.0.0/16,10.40.7.131,eth0"),
                &["trust-network-kept"],
            ),
            // The domain keeps the list inline: the new entry is never
            // split off as a value of its own, which a line cannot hold.
            (
                "auth-zone=corp.example,192.168.0.0/16",
                Some("auth-zone=corp.example,192.168.0.0/16,10.40.7.131"),
                &["trust-network-kept"],
            ),
            (
                "auth-zone=corp.example,192.168.3.0/24,exclude:192.168.2.0/24",
                None,
                &[],
            ),
            ("auth-zone=corp.example", None, &[]),
        ];
        for (line, after, codes) in cases {
            let r = Dnsmasq.analyze(PATH, line, &fx.plan()).unwrap();
            let got: Vec<String> = changes(&r).into_iter().map(|c| c.2).collect();
            let want: Vec<String> = after.iter().map(ToString::to_string).collect();
            assert_eq!(got, want, "{line}");
            let got: Vec<&str> = r.warnings.iter().map(|w| w.code.as_str()).collect();
            assert_eq!(got, *codes, "{line}");
        }
    }

    #[test]
    fn the_split_dns_example_file() {
        let fx = Fixture::new(V4);
        let text = "# split DNS for 192.168.2.1\r\n\
                    domain-needed\r\n\
                    no-resolv\r\n\
                    server=192.168.2.53\r\n\
                    server=/2.168.192.in-addr.arpa/192.168.2.53\r\n\
                    listen-address=127.0.0.1,192.168.2.1\r\n\
                    bind-interfaces\r\n\
                    address=/mail.corp.example/192.168.2.1\r\n\
                    host-record=relay.corp.example,192.168.2.10\r\n\
                    conf-dir=/etc/dnsmasq.d/,*.conf\r\n";
        let r = Dnsmasq.analyze(PATH, text, &fx.plan()).unwrap();
        assert_eq!(
            changes(&r),
            vec![
                (
                    6,
                    "listen-address=127.0.0.1,192.168.2.1".into(),
                    "listen-address=127.0.0.1,10.40.7.131".into()
                ),
                (
                    8,
                    "address=/mail.corp.example/192.168.2.1".into(),
                    "address=/mail.corp.example/10.40.7.131".into()
                ),
            ]
        );
        let r = Dnsmasq.analyze(PATH, text, &fx.scan()).unwrap();
        assert!(r.changes.is_empty());
        assert_eq!(
            found(&r),
            vec![(6, "192.168.2.1".into()), (8, "192.168.2.1".into())]
        );
    }

    #[test]
    fn directives_are_read_as_dnsmasq_reads_them() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            (
                "listen-address=1.2.3.4",
                Some(("listen-address", "1.2.3.4")),
            ),
            (
                "  server = 1.2.3.4#53   # upstream",
                Some(("server", "1.2.3.4#53")),
            ),
            ("bind-interfaces", Some(("bind-interfaces", ""))),
            ("bind-interfaces # flag", Some(("bind-interfaces", ""))),
            (
                "txt-record=a,\"x # y\"",
                Some(("txt-record", "a,\"x # y\"")),
            ),
            ("# comment", None),
            ("   ", None),
            ("", None),
        ];
        for (line, want) in cases {
            let got = directive(line).map(|d| (d.key, &line[d.value]));
            assert_eq!(got, *want, "{line:?}");
        }
    }

    fn files_of(fx: &Fixture) -> Vec<String> {
        Dnsmasq.files(&fx.scan()).unwrap()
    }

    #[test]
    fn conf_dir_suffix_filters() {
        let fx = Fixture::new(V4);
        // Debian defaults without CONFIG_DIR: only what the config names.
        fx.write(
            DEBIAN_DEFAULTS,
            "ENABLED=1\n#CONFIG_DIR=/etc/dnsmasq.d,.dpkg-dist\n",
        );
        fx.write(
            MAIN,
            "conf-dir=/etc/dnsmasq.d/,*.conf\nconf-dir=/srv/dns,.bak,.off\n",
        );
        for f in [
            "split.conf",
            "a.conf",
            "notes.txt",
            "x.conf.bak",
            ".hidden.conf",
            "old.conf~",
            "#tmp.conf#",
            ".conf",
        ] {
            fx.write(&format!("/etc/dnsmasq.d/{f}"), "");
        }
        for f in ["one", "two.bak", "three.off", "four.conf"] {
            fx.write(&format!("/srv/dns/{f}"), "");
        }
        std::fs::create_dir_all(fx.host.shown("/etc/dnsmasq.d/sub.conf")).unwrap();
        assert_eq!(
            files_of(&fx),
            [
                "/etc/dnsmasq.conf",
                "/etc/dnsmasq.d/a.conf",
                "/etc/dnsmasq.d/split.conf",
                "/srv/dns/four.conf",
                "/srv/dns/one",
            ]
        );
    }

    #[test]
    fn drop_in_directory_as_the_service_reads_it() {
        let fx = Fixture::new(V4);
        for f in ["a", "b.bak", "c.dpkg-old", "d.rpmnew"] {
            fx.write(&format!("/etc/dnsmasq.d/{f}"), "");
        }
        // No Debian defaults file: the directory, leftovers excluded.
        assert_eq!(files_of(&fx), ["/etc/dnsmasq.d/a", "/etc/dnsmasq.d/b.bak"]);
        // Debian's CONFIG_DIR, quoted: exactly its exclusions.
        fx.write(
            DEBIAN_DEFAULTS,
            "CONFIG_DIR=\"/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new\"\n",
        );
        assert_eq!(
            files_of(&fx),
            [
                "/etc/dnsmasq.d/a",
                "/etc/dnsmasq.d/b.bak",
                "/etc/dnsmasq.d/d.rpmnew"
            ]
        );
        fx.write(DEBIAN_DEFAULTS, "CONFIG_DIR=/etc/dnsmasq.d,*.conf\n");
        assert!(files_of(&fx).is_empty());
    }

    #[test]
    fn included_files_with_their_formats() {
        let fx = Fixture::new(V4);
        fx.write(DEBIAN_DEFAULTS, "");
        fx.write(
            MAIN,
            "conf-file=/etc/dnsmasq.more.conf\n\
             conf-file=/etc/missing.conf\n\
             addn-hosts=/etc/hosts\n\
             addn-hosts=/etc/hosts.dnsmasq\n\
             hostsdir=/etc/hosts.d\n\
             resolv-file=/etc/resolv.dnsmasq\n\
             servers-file=srv/servers.conf\n",
        );
        // A loop back to the main file is read once.
        fx.write(
            "/etc/dnsmasq.more.conf",
            "conf-file=/etc/dnsmasq.conf\nlisten-address=192.168.2.1\n",
        );
        fx.write("/etc/hosts", "192.168.2.1 mail\n");
        fx.write(
            "/etc/hosts.dnsmasq",
            "192.168.2.1 mail.corp.example # split\n192.168.2.10 relay\n",
        );
        fx.write("/etc/hosts.d/mail", "192.168.2.1 webmail\n");
        fx.write("/etc/hosts.d/.swp", "192.168.2.1 ignored\n");
        fx.write(
            "/etc/resolv.dnsmasq",
            "nameserver 192.168.2.1\nnameserver 192.168.2.53\n",
        );
        fx.write("/srv/servers.conf", "server=/corp.example/192.168.2.1\n");
        assert_eq!(
            files_of(&fx),
            [
                "/etc/dnsmasq.conf",
                "/etc/dnsmasq.more.conf",
                "/etc/hosts.d/mail",
                "/etc/hosts.dnsmasq",
                "/etc/resolv.dnsmasq",
                "/srv/servers.conf",
            ]
        );
        let ctx = fx.plan();
        let analyze = |p: &str| {
            let text = fx.host.read(p).unwrap().unwrap();
            changes(&Dnsmasq.analyze(p, &text, &ctx).unwrap())
        };
        assert_eq!(
            analyze("/etc/hosts.dnsmasq"),
            vec![(
                1,
                "192.168.2.1 mail.corp.example # split".into(),
                "10.40.7.131 mail.corp.example # split".into()
            )]
        );
        assert_eq!(
            analyze("/etc/hosts.d/mail"),
            vec![(
                1,
                "192.168.2.1 webmail".into(),
                "10.40.7.131 webmail".into()
            )]
        );
        assert_eq!(
            analyze("/etc/resolv.dnsmasq"),
            vec![(
                1,
                "nameserver 192.168.2.1".into(),
                "nameserver 10.40.7.131".into()
            )]
        );
        assert_eq!(
            analyze("/srv/servers.conf"),
            vec![(
                1,
                "server=/corp.example/192.168.2.1".into(),
                "server=/corp.example/10.40.7.131".into()
            )]
        );
    }

    #[test]
    fn a_stray_line_of_an_extra_hosts_file_is_skipped_and_named() {
        let fx = Fixture::new(V4);
        fx.write(MAIN, "addn-hosts=/etc/hosts.dnsmasq\n");
        let text = "# ok\nmail 192.168.2.1\n192.168.2.1 mail\n";
        fx.write("/etc/hosts.dnsmasq", text);
        let r = Dnsmasq
            .analyze("/etc/hosts.dnsmasq", text, &fx.plan())
            .unwrap();
        assert_eq!(
            changes(&r),
            [(3, "192.168.2.1 mail".into(), "10.40.7.131 mail".into())]
        );
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(r.warnings[0].code, crate::notice::Code::HostsLineIgnored);
        assert!(
            r.warnings[0]
                .message
                .starts_with("/etc/hosts.dnsmasq:2: `mail`")
        );
        assert!(r.findings.iter().all(|f| f.surface == Surface::Dnsmasq));
        // The same line in a dnsmasq options file is an option, not a stray
        // hosts line.
        let r = Dnsmasq
            .analyze(MAIN, "mail 192.168.2.1\n", &fx.plan())
            .unwrap();
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn no_dnsmasq_no_files() {
        let fx = Fixture::new(V4);
        assert!(files_of(&fx).is_empty());
    }

    #[test]
    fn dns_server_is_the_first_listen_address_and_the_last_port() {
        let fx = Fixture::new(V4);
        assert_eq!(dns_server(&fx.host).unwrap(), None);
        // Only the drop-in directory: everywhere, on its port.
        fx.write("/etc/dnsmasq.d/split.conf", "port=5354\n");
        let (sa, why) = dns_server(&fx.host).unwrap().unwrap();
        assert_eq!(sa.to_string(), "127.0.0.1:5354");
        assert_eq!(why, "dnsmasq, /etc/dnsmasq.d/split.conf");
        // Comments (whole-line and inline), blanks around `=`, lists.
        fx.write(
            "/etc/dnsmasq.conf",
            "# split DNS for the mail server\n#listen-address=10.0.0.1\nport = 5353 # was 53\nlisten-address=10.40.7.131,172.20.14.25\nlisten-address=::1\n",
        );
        let (sa, why) = dns_server(&fx.host).unwrap().unwrap();
        // The drop-in is read after the main file: its port wins.
        assert_eq!(sa.to_string(), "10.40.7.131:5354");
        assert_eq!(why, "dnsmasq, /etc/dnsmasq.conf:4");
        // A file pulled in by conf-dir counts too.
        fx.write(
            "/etc/dnsmasq.d/split.conf",
            "conf-dir=/etc/dnsmasq.more,*.conf\n",
        );
        fx.write("/etc/dnsmasq.more/port.conf", "port=0\n");
        assert_eq!(dns_server(&fx.host).unwrap(), None);
        // Bad values name the file and line.
        fx.write("/etc/dnsmasq.more/port.conf", "\nport=dns\n");
        let e = dns_server(&fx.host).unwrap_err().to_string();
        assert!(e.starts_with("/etc/dnsmasq.more/port.conf:2: "), "{e}");
        fx.write("/etc/dnsmasq.more/port.conf", "listen-address=eth0\n");
        let e = dns_server(&fx.host).unwrap_err().to_string();
        assert!(e.contains("`eth0` is not an address"), "{e}");
    }
}
