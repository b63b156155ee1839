//! Address matching: the heart of zmreip. Pure, no I/O.
//!
//! A [`Matcher`] is built from the addresses being looked for (the old
//! addresses of a change, or the `--ip` list of a scan). [`Matcher::find`]
//! returns every place in a piece of text where one of them occurs *as an
//! address*, never as a substring of something longer:
//!
//! * `192.168.2.1` does not match inside `192.168.2.10`, `192.168.2.100`,
//!   `10.192.168.2.1`, `192.168.2.1.5`, a MAC, an OID or a version string;
//! * an IPv6 address matches in every spelling: compressed, expanded,
//!   upper-case, with a dotted IPv4 tail, `[addr]:port`, `addr%zone`;
//! * `::ffff:a.b.c.d` matches the IPv4 address `a.b.c.d`;
//! * a CIDR that contains a target (but is not the target itself) is a match
//!   of its own kind, [`MatchKind::NetworkContains`];
//! * hosts of URLs, `host:port`, postfix `[ip]:port`, reverse names
//!   (`25.14.20.172.in-addr.arpa`, ip6.arpa nibbles) and regex-escaped forms
//!   (`172\.20\.14\.25`) are found and classified.
//!
//! [`Match::replace`] renders a replacement address in the spelling style of
//! the original (brackets, port, zone, prefix, compression, case).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use ipnet::IpNet;
use memchr::memmem::Finder;

mod find;
mod render;
#[cfg(test)]
mod tests;

pub use render::{render, reverse_name};

/// How an address occurs in text.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum MatchKind {
    /// The bare address (possibly with `/prefix` or `%zone`).
    Exact,
    /// A network written in CIDR notation that contains the address.
    NetworkContains,
    /// The host part of a URL (`scheme://[user@]host[:port]/...`).
    UrlHost,
    /// `host:port` outside a URL (IPv4 only; IPv6 needs brackets).
    HostPort,
    /// `[addr]` or `[addr]:port` (postfix relay syntax, bracketed IPv6).
    Bracketed,
    /// A reverse-DNS name: `d.c.b.a.in-addr.arpa` or ip6.arpa nibbles.
    ReverseName,
    /// A regular expression that spells the address with escaped dots.
    RegexEscaped,
}

impl MatchKind {
    /// The kebab-case name used in output (`network-contains`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::NetworkContains => "network-contains",
            MatchKind::UrlHost => "url-host",
            MatchKind::HostPort => "host-port",
            MatchKind::Bracketed => "bracketed",
            MatchKind::ReverseName => "reverse-name",
            MatchKind::RegexEscaped => "regex-escaped",
        }
    }
}

/// One occurrence of a target address in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Byte range of the whole matched text, including brackets, port,
    /// `/prefix`, `%zone`, the `.in-addr.arpa` suffix.
    pub span: Range<usize>,
    /// Byte range of the address spelling alone (for a reverse name: the
    /// whole name; for a network: the network's address part).
    pub addr_span: Range<usize>,
    /// The target address that matched (for `::ffff:a.b.c.d`, the IPv4 one).
    pub target: IpAddr,
    /// How it occurs.
    pub kind: MatchKind,
    /// `/N` written right after the address, if any.
    pub prefix: Option<u8>,
    /// For [`MatchKind::NetworkContains`]: the network as written
    /// (host bits kept, as `ipnet` does).
    pub network: Option<IpNet>,
    /// A port written after the address (`:25`, `]:587`).
    pub port: Option<u16>,
    /// How the address was spelled, so a replacement can be spelled alike.
    pub style: Style,
}

/// Spelling style of an address occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// IPv6 written with all eight groups (no `::`).
    pub expanded: bool,
    /// IPv6 groups zero-padded to four digits.
    pub zero_padded: bool,
    /// IPv6 hex digits in upper case.
    pub upper: bool,
    /// IPv6 written with a dotted-quad tail (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`).
    pub v4_tail: bool,
    /// IPv4 written as IPv4-mapped IPv6 (`::ffff:a.b.c.d`).
    pub v4_mapped: bool,
    /// Dots escaped as `\.` (regex).
    pub regex_escaped: bool,
    /// With [`Style::regex_escaped`]: dots escaped as `\\.`, i.e. a regex
    /// inside a string literal that needs its backslash escaped again.
    pub double_escaped: bool,
}

/// Finds target addresses in text.
///
/// Built once per set of targets: the literal spellings that can be
/// searched for with `memchr` (dotted quad, regex-escaped forms, reverse
/// names) are compiled into [`Finder`]s here so that [`Matcher::find`]
/// allocates nothing unless it finds something.
#[derive(Debug, Clone)]
pub struct Matcher {
    targets: Vec<IpAddr>,
    v4: Vec<V4Target>,
    v6: Vec<V6Target>,
}

/// The precompiled searches for one IPv4 target.
#[derive(Debug, Clone)]
struct V4Target {
    addr: Ipv4Addr,
    /// `a.b.c.d`
    dotted: Finder<'static>,
    /// `a\.b\.c\.d`
    escaped: Finder<'static>,
    /// `a\\.b\\.c\\.d`
    escaped2: Finder<'static>,
    /// `d.c.b.a.` (followed by `in-addr.arpa` in any case)
    reverse: Finder<'static>,
}

/// The precompiled searches for one IPv6 target. Its textual spellings
/// are too many to search for; candidates are found by scanning for `:`.
#[derive(Debug, Clone)]
struct V6Target {
    addr: Ipv6Addr,
    /// The 32 nibbles of the reverse name, lower case, dot-terminated.
    nibbles: Finder<'static>,
    /// The same in upper case (nibble names are written in one case).
    nibbles_upper: Finder<'static>,
}

impl V4Target {
    fn new(addr: Ipv4Addr) -> V4Target {
        let o = addr.octets();
        let dotted = addr.to_string();
        let escaped = dotted.replace('.', "\\.");
        let escaped2 = dotted.replace('.', "\\\\.");
        let reverse = format!("{}.{}.{}.{}.", o[3], o[2], o[1], o[0]);
        V4Target {
            addr,
            dotted: Finder::new(dotted.as_bytes()).into_owned(),
            escaped: Finder::new(escaped.as_bytes()).into_owned(),
            escaped2: Finder::new(escaped2.as_bytes()).into_owned(),
            reverse: Finder::new(reverse.as_bytes()).into_owned(),
        }
    }
}

impl V6Target {
    fn new(addr: Ipv6Addr) -> V6Target {
        let name = reverse_name(IpAddr::V6(addr));
        let nibbles = &name[..name.len() - "ip6.arpa".len()];
        V6Target {
            addr,
            nibbles: Finder::new(nibbles.as_bytes()).into_owned(),
            nibbles_upper: Finder::new(nibbles.to_ascii_uppercase().as_bytes()).into_owned(),
        }
    }
}

impl Matcher {
    /// A matcher for these addresses (duplicates are ignored).
    pub fn new(targets: &[IpAddr]) -> Matcher {
        let mut targets = targets.to_vec();
        targets.sort();
        targets.dedup();
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for t in &targets {
            match *t {
                IpAddr::V4(a) => v4.push(V4Target::new(a)),
                IpAddr::V6(a) => v6.push(V6Target::new(a)),
            }
        }
        Matcher { targets, v4, v6 }
    }

    /// The addresses this matcher looks for.
    pub fn targets(&self) -> &[IpAddr] {
        &self.targets
    }

    /// Every occurrence of a target in `text`, in order of position,
    /// non-overlapping (where two readings overlap, the one starting first,
    /// then the longer one, wins).
    ///
    /// Span conventions (see [`Match`]):
    ///
    /// * [`MatchKind::Exact`] covers the address, plus `%zone` and `/prefix` when
    ///   written; for `::ffff:a.b.c.d` the whole IPv6 spelling.
    /// * [`MatchKind::Bracketed`] covers `[addr]`, plus `:port` or `/prefix`.
    /// * [`MatchKind::UrlHost`] covers the host as written (with brackets for
    ///   IPv6) plus `:port` when present; the scheme, `user:password@` and
    ///   the path stay outside the span.
    /// * [`MatchKind::HostPort`] covers `a.b.c.d:port`.
    /// * [`MatchKind::NetworkContains`] covers the network with its `/len`
    ///   (and brackets, if written `[v6]/len`).
    /// * [`MatchKind::ReverseName`] covers the name up to `arpa`; a trailing dot
    ///   (fully qualified name) stays outside the span.
    /// * [`MatchKind::RegexEscaped`] covers the escaped address alone.
    pub fn find(&self, text: &str) -> Vec<Match> {
        let mut out = Vec::new();
        find::find(self, text, &mut out);
        if out.len() > 1 {
            out.sort_by(|a, b| {
                a.span
                    .start
                    .cmp(&b.span.start)
                    .then(b.span.end.cmp(&a.span.end))
            });
            let mut end = 0;
            out.retain(|m| {
                let keep = m.span.start >= end;
                if keep {
                    end = m.span.end;
                }
                keep
            });
        }
        out
    }

    /// A cheap test whether `text` may hold a match; `find` is only needed
    /// where this is true. Never false when `find` would return something:
    /// it looks for exactly the anchors `find` starts from, and for a `/`
    /// also checks that the dotted quad before it makes a network holding
    /// a target, without the boundary checks. So it also holds for any
    /// longer text that contains a matching text between neighbours that
    /// are not digits or dots (a value inside the text of a whole LDIF
    /// record, say): one call can stand for many.
    pub fn may_match(&self, text: &str) -> bool {
        find::may_match(self, text)
    }
}

impl Match {
    /// The text of this match in `text` with the address replaced by `new`,
    /// keeping the original's spelling (brackets, port, zone, prefix digits,
    /// compression, case, regex escaping, reverse-name form).
    ///
    /// `text` is the text that was searched; the result replaces
    /// `text[self.span]`. The `/prefix` is kept as written unless
    /// `new_prefix` is given (it never adds a prefix that was not written).
    /// For a [`MatchKind::NetworkContains`] match this renders `new` with the
    /// network's prefix (or `new_prefix`), i.e. the caller decides whether a
    /// network is rewritten at all.
    ///
    /// When the family changes, the spelling follows the new family: a URL
    /// host or `host:port` gets brackets for IPv6 (and loses them for
    /// IPv4), a zone is dropped for IPv4, `::ffff:` is kept only for IPv4.
    pub fn replace(&self, text: &str, new: IpAddr, new_prefix: Option<u8>) -> String {
        render::replace(self, text, new, new_prefix)
    }
}

/// Reads an address range: `A-B` (both ends of one family, `A` ≤ `B`), or
/// keepalived's `A-N`, where `N` replaces the last octet (IPv4) or group
/// (IPv6, hex). The ends, in order; `None` for anything else.
pub fn parse_range(s: &str) -> Option<(IpAddr, IpAddr)> {
    let (a, b) = s.split_once('-')?;
    let start: IpAddr = a.trim().parse().ok()?;
    let b = b.trim();
    let end = match (start, b.parse::<IpAddr>()) {
        (_, Ok(end)) => end,
        (IpAddr::V4(s), Err(_)) => {
            let mut o = s.octets();
            o[3] = b.parse().ok()?;
            IpAddr::from(o)
        }
        (IpAddr::V6(s), Err(_)) => {
            let mut g = s.segments();
            g[7] = u16::from_str_radix(b, 16).ok()?;
            IpAddr::from(g)
        }
    };
    (start.is_ipv4() == end.is_ipv4() && start <= end).then_some((start, end))
}

/// Reads an address as configuration files write it: `A`, `A/N`, `A%zone`
/// or `[A]/N` (the zone is dropped). `None` for anything else (host names,
/// variables, a prefix longer than the family allows).
pub fn parse_with_prefix(s: &str) -> Option<(IpAddr, Option<u8>)> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let a = a
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(a);
    let ip: IpAddr = a.split('%').next()?.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => None,
        Some(p) => Some(p.parse::<u8>().ok().filter(|n| *n <= max)?),
    };
    Some((ip, prefix))
}
