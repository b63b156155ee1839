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

use std::net::IpAddr;
use std::ops::Range;

use ipnet::IpNet;

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
}

/// Finds target addresses in text.
#[derive(Debug, Clone)]
pub struct Matcher {
    targets: Vec<IpAddr>,
}

impl Matcher {
    /// A matcher for these addresses (duplicates are ignored).
    pub fn new(targets: &[IpAddr]) -> Matcher {
        let mut targets = targets.to_vec();
        targets.sort();
        targets.dedup();
        Matcher { targets }
    }

    /// The addresses this matcher looks for.
    pub fn targets(&self) -> &[IpAddr] {
        &self.targets
    }

    /// Every occurrence of a target in `text`, in order of position,
    /// non-overlapping.
    pub fn find(&self, text: &str) -> Vec<Match> {
        let _ = text;
        unimplemented!("addr::Matcher::find")
    }

    /// A cheap test whether `text` may hold a match; `find` is only needed
    /// where this is true. Never false when `find` would return something.
    pub fn may_match(&self, text: &str) -> bool {
        let _ = text;
        true
    }
}

impl Match {
    /// The text of this match in `text` with the address replaced by `new`,
    /// keeping the original's spelling (brackets, port, zone, prefix digits,
    /// compression, case, regex escaping, reverse-name form).
    ///
    /// The `/prefix` is kept as written unless `new_prefix` is given.
    /// For a [`MatchKind::NetworkContains`] match this renders `new` with the
    /// network's prefix (or `new_prefix`), i.e. the caller decides whether a
    /// network is rewritten at all.
    pub fn replace(&self, text: &str, new: IpAddr, new_prefix: Option<u8>) -> String {
        let _ = (text, new, new_prefix);
        unimplemented!("addr::Match::replace")
    }
}

/// Renders `addr` in `style` (IPv6 compression/case/tail; IPv4 as-is or
/// regex-escaped).
pub fn render(addr: IpAddr, style: Style) -> String {
    let _ = style;
    addr.to_string()
}

/// The reverse-DNS name of `addr`, without trailing dot:
/// `25.14.20.172.in-addr.arpa` or the 32-nibble ip6.arpa name.
pub fn reverse_name(addr: IpAddr) -> String {
    let _ = addr;
    unimplemented!("addr::reverse_name")
}
