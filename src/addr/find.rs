//! The scanning half of [`Matcher::find`].
//!
//! Every kind of occurrence starts from an anchor that `memchr` can jump
//! to, so the hot path touches only candidate bytes and allocates nothing:
//!
//! * the dotted quad of an IPv4 target (bare, bracketed, URL host,
//!   `host:port`, `/prefix`, `::ffff:a.b.c.d`);
//! * `/` after a dotted quad, for IPv4 networks that contain a target;
//! * `:`, for IPv6 (every run of hex digits, colons and dots holding two
//!   colons is parsed with `Ipv6Addr::from_str`: this is what makes all
//!   spellings of an address equal);
//! * the regex-escaped quad and the reverse names, searched literally.
//!
//! [`may_match`] checks exactly these anchors (for a network, that the
//! quad before the `/` makes one holding a target), without the boundary
//! checks, which is why it is sound.
//! Boundaries are what keeps `192.168.2.1` out of `192.168.2.10`,
//! `10.192.168.2.1`, OIDs, versions and host names: an address may not be
//! glued to a word character (`[0-9A-Za-z_-]`) on either side, nor to a dot
//! or `%` (an IPv6 zone) on the left, nor to a dot followed by a word character on the right (a
//! longer dotted thing such as an OID or `1.2.3.4.nip.io`); a dot followed
//! by anything else ends a sentence, and a dash between two addresses of
//! one family separates the ends of a range.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use memchr::{memchr, memchr_iter};

use super::{Match, MatchKind, Matcher, Style, V4Target};

/// `[0-9A-Za-z_-]`: a byte that glues to an address and makes it part of
/// a longer token.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// A byte of an IPv6 spelling (a dotted tail included).
fn is_v6_byte(b: u8) -> bool {
    is_hex(b) || b == b':' || b == b'.'
}

/// Whether an address may end at `e` (see the module docs).
fn right_ok(bytes: &[u8], e: usize) -> bool {
    match bytes.get(e) {
        None => true,
        Some(&b'.') => !bytes.get(e + 1).is_some_and(|&c| is_word(c)),
        Some(&c) => !is_word(c),
    }
}

/// The longest address spelling (IPv6 with a dotted tail) with room for
/// a sentence's dot: a longer run next to a dash is no range's other end.
const RANGE_END_MAX: usize = 48;

/// A `-` between two addresses of one family separates the ends of a
/// range (`192.168.2.1-192.168.2.20`, as in iptables `--src-range`;
/// `fd00::1-fd00::9`): the address is still a whole address there. Next
/// to anything else a dash glues (`ip-192.168.2.1`, `192.168.2.1-beta`).
///
/// The other end is the run of address bytes across the dash from the
/// address (`other` is its first byte, `left` says it lies to the left):
/// for an IPv4 address digits and dots beginning (or ending) with a
/// digit, for IPv6 one holding a colon. Asking for the family, not only
/// for a digit, keeps a move from turning a dash into a range one
/// (fuzzing: `fd01::aaa-2.0.2.1` became `fd00::77-2.0.2.1`, where the
/// quad was found the second time round). A left end must itself stand
/// as an address: a `%` before it makes it an IPv6 zone, where the
/// address after the dash is the zone's too (fuzzing:
/// `fe80::2%1-7.7.0.4`).
fn range_dash(bytes: &[u8], dash: usize, other: usize, left: bool, v4: bool) -> bool {
    if bytes.get(dash) != Some(&b'-') || other >= bytes.len() {
        return false;
    }
    let (lo, hi) = if left {
        let mut lo = other + 1;
        while lo > 0 && other + 1 - lo <= RANGE_END_MAX && is_v6_byte(bytes[lo - 1]) {
            lo -= 1;
        }
        (lo, other + 1)
    } else {
        let mut hi = other;
        while hi < bytes.len() && hi - other <= RANGE_END_MAX && is_v6_byte(bytes[hi]) {
            hi += 1;
        }
        (other, hi)
    };
    let run = &bytes[lo..hi];
    let edge = bytes[other];
    let family = if v4 {
        edge.is_ascii_digit() && run.iter().all(|&c| c.is_ascii_digit() || c == b'.')
    } else {
        run.contains(&b':')
    };
    hi - lo <= RANGE_END_MAX && family && (!left || left_ok(bytes, lo))
}

/// [`right_ok`] for an address itself, which may end a range.
fn addr_right_ok(bytes: &[u8], e: usize, v4: bool) -> bool {
    right_ok(bytes, e) || range_dash(bytes, e, e + 1, false, v4)
}

/// [`left_ok`] for an address itself, which may begin a range.
fn addr_left_ok(bytes: &[u8], s: usize, v4: bool) -> bool {
    left_ok(bytes, s) || (s >= 2 && range_dash(bytes, s - 1, s - 2, true, v4))
}

/// Whether an address may start at `s`, the byte before it not being `:`
/// (that case needs [`left_v4`]).
fn left_ok(bytes: &[u8], s: usize) -> bool {
    s == 0 || {
        let p = bytes[s - 1];
        // After `%` comes an IPv6 zone (`fe80::1%eth0.100`), which a
        // match of the IPv6 address covers: never an address of its own
        // (fuzzing: `fd00::1%192.168.2.1` showed the quad once moved).
        !is_word(p) && p != b'.' && p != b'%'
    }
}

/// What stands left of a dotted quad.
enum Left {
    /// A plain IPv4 address starting here.
    Plain(usize),
    /// The quad is the tail of an IPv4-mapped IPv6 spelling starting here
    /// (`::ffff:a.b.c.d`, upper case if the flag says so). The mapped
    /// address is the quad itself.
    Mapped(usize, bool),
    /// Glued to something longer, or the tail of a non-mapped IPv6 address.
    Reject,
}

/// Classifies the left side of the quad `text[s..e]`.
///
/// A `:` before it is either a separator (`inet:127.0.0.1`, `smtp:...`) or
/// part of an IPv6 spelling with a dotted tail. The hex-and-colon run is
/// parsed to tell them apart: if it parses as IPv6, the quad belongs to
/// that address; if it fails and holds one colon, the colon separates.
fn left_v4(text: &str, s: usize, e: usize) -> Left {
    let bytes = text.as_bytes();
    if s == 0 || bytes[s - 1] != b':' {
        return if addr_left_ok(bytes, s, true) {
            Left::Plain(s)
        } else {
            Left::Reject
        };
    }
    let mut q = s - 1;
    let mut colons = 1;
    while q > 0 && (is_hex(bytes[q - 1]) || bytes[q - 1] == b':') {
        q -= 1;
        colons += usize::from(bytes[q] == b':');
    }
    match text[q..e].parse::<Ipv6Addr>() {
        Ok(v6) => match v6.to_ipv4_mapped() {
            Some(_) if addr_left_ok(bytes, q, false) => {
                let upper = bytes[q..s].iter().any(u8::is_ascii_uppercase);
                Left::Mapped(q, upper)
            }
            _ => Left::Reject,
        },
        Err(_) if colons == 1 => Left::Plain(s),
        Err(_) => Left::Reject,
    }
}

/// The context around an address spelling: what the match covers and how
/// it is classified.
struct Ctx {
    span: Range<usize>,
    kind: MatchKind,
    port: Option<u16>,
    prefix: Option<u8>,
}

/// Classifies the address at `a..b` (with a `%zone` up to `z`).
///
/// `v4` says whether a bare `:port` may follow (IPv6 needs brackets for
/// that); `bits` bounds the prefix length.
fn classify(bytes: &[u8], a: usize, b: usize, z: usize, v4: bool) -> Ctx {
    let bits = if v4 { 32 } else { 128 };
    let bracketed = a > 0 && bytes[a - 1] == b'[' && bytes.get(z) == Some(&b']');
    let (start, mut end) = if bracketed { (a - 1, z + 1) } else { (a, z) };
    debug_assert!(b <= z);
    let url = is_url_host(bytes, start);
    let mut port = None;
    if (bracketed || v4)
        && bytes.get(end) == Some(&b':')
        && let Some((p, pe)) = number(bytes, end + 1, 5, 65535)
    {
        port = Some(p as u16);
        end = pe;
    }
    let mut prefix = None;
    if port.is_none()
        && !url
        && bytes.get(end) == Some(&b'/')
        && let Some((p, pe)) = prefix_len(bytes, end + 1, 3, bits)
    {
        prefix = Some(p as u8);
        end = pe;
    }
    let kind = if url {
        MatchKind::UrlHost
    } else if bracketed {
        MatchKind::Bracketed
    } else if port.is_some() {
        MatchKind::HostPort
    } else {
        MatchKind::Exact
    };
    Ctx {
        span: start..end,
        kind,
        port,
        prefix,
    }
}

/// A decimal number of 1 to `digits` digits at `i`, at most `max`, that
/// ends at an address boundary. Returns it and where it ends.
fn number(bytes: &[u8], i: usize, digits: usize, max: u32) -> Option<(u32, usize)> {
    let mut j = i;
    let mut v: u32 = 0;
    while j < bytes.len() && j - i < digits && bytes[j].is_ascii_digit() {
        v = v * 10 + u32::from(bytes[j] - b'0');
        j += 1;
    }
    (j > i && v <= max && right_ok(bytes, j)).then_some((v, j))
}

/// A prefix length at `i`, after a `/`: a [`number`] that no `:` and hex
/// digit or colon follows. There the digits begin an IPv6 spelling
/// (`10.0.0.1/2::4` is an address, a slash and `2::4`); reading them as
/// the prefix would hide that address until the IPv4 one is replaced.
fn prefix_len(bytes: &[u8], i: usize, digits: usize, max: u32) -> Option<(u32, usize)> {
    number(bytes, i, digits, max).filter(|&(_, e)| {
        bytes.get(e) != Some(&b':') || !bytes.get(e + 1).is_some_and(|&c| is_hex(c) || c == b':')
    })
}

/// Whether a host starting at `start` is the host of a URL:
/// `scheme://HOST` or `scheme://userinfo@HOST`.
fn is_url_host(bytes: &[u8], start: usize) -> bool {
    /// `://` ending right before `i`, after a scheme character.
    fn scheme_before(bytes: &[u8], i: usize) -> bool {
        i >= 4 && &bytes[i - 3..i] == b"://" && bytes[i - 4].is_ascii_alphanumeric()
    }
    if scheme_before(bytes, start) {
        return true;
    }
    if start == 0 || bytes[start - 1] != b'@' {
        return false;
    }
    // Walk back over the userinfo (a password may hold almost anything,
    // but not a slash or white space) to the `//` of the authority. The
    // walk is bounded so that a stray `@` costs little.
    let lo = start.saturating_sub(512);
    for (i, &b) in bytes[lo..start].iter().enumerate().rev() {
        match b {
            b'/' => return scheme_before(bytes, lo + i + 1),
            b'"' | b'\'' | b'<' | b'>' => return false,
            c if c.is_ascii_whitespace() => return false,
            _ => {}
        }
    }
    false
}

/// Spelling style of an IPv6 token.
fn v6_style(tok: &str) -> Style {
    Style {
        expanded: !tok.contains("::"),
        zero_padded: tok
            .split(':')
            .any(|g| g.len() > 1 && g.starts_with('0') && !g.contains('.')),
        upper: tok.bytes().any(|c| c.is_ascii_uppercase()),
        v4_tail: tok.contains('.'),
        ..Style::default()
    }
}

/// Every match of `m` in `text`, in no particular order and possibly
/// overlapping (the caller sorts and resolves).
///
/// Every IPv4 anchor and every reverse name holds a dot, and the escaped
/// forms a backslash: one `memchr` for each lets short texts (a line, a
/// value) skip the substring searches they cannot satisfy.
pub(super) fn find(m: &Matcher, text: &str, out: &mut Vec<Match>) {
    let bytes = text.as_bytes();
    let dot = memchr(b'.', bytes).is_some();
    if dot && !m.v4.is_empty() {
        let backslash = memchr(b'\\', bytes).is_some();
        for t in &m.v4 {
            find_v4(t, text, out);
            if backslash {
                find_v4_escaped(t, text, out);
            }
            find_v4_reverse(t, text, out);
        }
        find_v4_networks(m, text, out);
    }
    if !m.v6.is_empty() {
        for (s, e) in V6Runs::new(m, bytes) {
            v6_token(m, text, s, e, out);
        }
        if dot {
            find_v6_reverse(m, text, out);
        }
    }
}

/// See [`Matcher::may_match`]: the anchors of [`find`], behind the same
/// gates, nothing more.
pub(super) fn may_match(m: &Matcher, text: &str) -> bool {
    let bytes = text.as_bytes();
    let dot = memchr(b'.', bytes).is_some();
    if dot && !m.v4.is_empty() {
        let backslash = memchr(b'\\', bytes).is_some();
        let literal = m.v4.iter().any(|t| {
            t.dotted.find(bytes).is_some()
                || t.reverse.find(bytes).is_some()
                || (backslash
                    && (t.escaped.find(bytes).is_some() || t.escaped2.find(bytes).is_some()))
        });
        if literal || memchr_iter(b'/', bytes).any(|p| may_be_network(m, text, p)) {
            return true;
        }
    }
    !m.v6.is_empty()
        && (V6Runs::new(m, bytes).next().is_some()
            || (dot
                && m.v6.iter().any(|t| {
                    t.nibbles.find(bytes).is_some() || t.nibbles_upper.find(bytes).is_some()
                })))
}

/// Whether the `/` at `p` may end an IPv4 network that holds a target:
/// the first tests of [`find_v4_networks`] (the whole run of digits and
/// dots before the `/` is an address, one or two digits after it make a
/// network holding a target), without its boundary checks. A bare "digit
/// before a slash" would let through most paths, dates and base64 text
/// (an LDIF `userPassword`), which then cost a full search each.
///
/// Looking only at that run and those digits keeps the test true for any
/// text that holds a matching network between neighbours that are not
/// digits or dots (see [`Matcher::may_match`]).
fn may_be_network(m: &Matcher, text: &str, p: usize) -> bool {
    let bytes = text.as_bytes();
    if p == 0 || !bytes[p - 1].is_ascii_digit() {
        return false;
    }
    // The longest dotted quad has 15 bytes; a longer run does not parse.
    let mut q = p;
    while q > 0 && p - q <= 15 && (bytes[q - 1].is_ascii_digit() || bytes[q - 1] == b'.') {
        q -= 1;
    }
    if !(7..=15).contains(&(p - q)) {
        return false;
    }
    let Ok(addr) = text[q..p].parse::<Ipv4Addr>() else {
        return false;
    };
    let digits = bytes[p + 1..]
        .iter()
        .take(2)
        .take_while(|b| b.is_ascii_digit())
        .fold(None, |v: Option<u8>, &b| {
            Some(v.unwrap_or(0) * 10 + (b - b'0'))
        });
    digits
        .and_then(|len| Ipv4Net::new(addr, len).ok())
        .is_some_and(|net| m.v4.iter().any(|t| net.contains(&t.addr)))
}

/// Bare, bracketed, URL, `host:port`, `/prefix` and `::ffff:` occurrences
/// of one IPv4 target.
fn find_v4(t: &V4Target, text: &str, out: &mut Vec<Match>) {
    let bytes = text.as_bytes();
    let len = t.dotted.needle().len();
    for s in t.dotted.find_iter(bytes) {
        let e = s + len;
        if !addr_right_ok(bytes, e, true) {
            continue;
        }
        let (a, style) = match left_v4(text, s, e) {
            Left::Plain(a) => (a, Style::default()),
            Left::Mapped(a, upper) => (
                a,
                Style {
                    v4_mapped: true,
                    upper,
                    ..Style::default()
                },
            ),
            Left::Reject => continue,
        };
        let ctx = classify(bytes, a, e, e, true);
        out.push(Match {
            span: ctx.span,
            addr_span: a..e,
            target: IpAddr::V4(t.addr),
            kind: ctx.kind,
            prefix: ctx.prefix,
            network: None,
            port: ctx.port,
            style,
        });
    }
}

/// IPv4 networks (`n.n.n.n/len`) that contain a target but are not one.
/// Anchored on `/` after a digit.
fn find_v4_networks(m: &Matcher, text: &str, out: &mut Vec<Match>) {
    let bytes = text.as_bytes();
    for p in memchr_iter(b'/', bytes) {
        if p == 0 || !bytes[p - 1].is_ascii_digit() {
            continue;
        }
        let mut q = p;
        while q > 0 && (bytes[q - 1].is_ascii_digit() || bytes[q - 1] == b'.') {
            q -= 1;
        }
        let Ok(addr) = text[q..p].parse::<Ipv4Addr>() else {
            continue;
        };
        if m.v4.iter().any(|t| t.addr == addr) {
            continue; // an Exact match with a prefix, found by find_v4
        }
        let Some((len, end)) = prefix_len(bytes, p + 1, 2, 32) else {
            continue;
        };
        if !matches!(left_v4(text, q, p), Left::Plain(_)) || is_url_host(bytes, q) {
            continue;
        }
        let Ok(net) = Ipv4Net::new(addr, len as u8) else {
            continue;
        };
        let Some(t) = m.v4.iter().find(|t| net.contains(&t.addr)) else {
            continue;
        };
        out.push(Match {
            span: q..end,
            addr_span: q..p,
            target: IpAddr::V4(t.addr),
            kind: MatchKind::NetworkContains,
            prefix: Some(len as u8),
            network: Some(IpNet::V4(net)),
            port: None,
            style: Style::default(),
        });
    }
}

/// `a\.b\.c\.d` and `a\\.b\\.c\\.d` (regular expressions, in config
/// strings that escape backslashes once more).
fn find_v4_escaped(t: &V4Target, text: &str, out: &mut Vec<Match>) {
    let bytes = text.as_bytes();
    for (finder, double) in [(&t.escaped, false), (&t.escaped2, true)] {
        let len = finder.needle().len();
        for s in finder.find_iter(bytes) {
            let e = s + len;
            if !regex_left_ok(bytes, s) || !regex_right_ok(bytes, e) {
                continue;
            }
            out.push(Match {
                span: s..e,
                addr_span: s..e,
                target: IpAddr::V4(t.addr),
                kind: MatchKind::RegexEscaped,
                prefix: None,
                network: None,
                port: None,
                style: Style {
                    regex_escaped: true,
                    double_escaped: double,
                    ..Style::default()
                },
            });
        }
    }
}

/// Left boundary inside a regex: as for text, except that a letter after a
/// backslash is an escape (`\b192\.168\.2\.1`), not a glued word.
fn regex_left_ok(bytes: &[u8], s: usize) -> bool {
    if s == 0 {
        return true;
    }
    let p = bytes[s - 1];
    if p.is_ascii_alphabetic() && s >= 2 && bytes[s - 2] == b'\\' {
        return true;
    }
    !is_word(p) && p != b'.'
}

/// Right boundary inside a regex: not followed by a word character, nor by
/// a (possibly escaped) dot and a digit, nor by `\d`.
fn regex_right_ok(bytes: &[u8], e: usize) -> bool {
    let mut k = e;
    while k < bytes.len() && bytes[k] == b'\\' {
        k += 1;
    }
    match bytes.get(k) {
        None => true,
        Some(&b'.') => !bytes.get(k + 1).is_some_and(u8::is_ascii_digit),
        // After a backslash only `\d` continues a number.
        Some(&c) if k > e => c != b'd',
        Some(&c) => !is_word(c),
    }
}

/// Whether `bytes[i..]` starts with `suffix`, ignoring ASCII case.
fn starts_with_ci(bytes: &[u8], i: usize, suffix: &[u8]) -> bool {
    bytes
        .get(i..i + suffix.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(suffix))
}

/// Style of a reverse name: upper case if it has no lower-case letter.
fn name_style(name: &[u8]) -> Style {
    Style {
        upper: !name.iter().any(u8::is_ascii_lowercase),
        ..Style::default()
    }
}

/// `d.c.b.a.in-addr.arpa` (suffix in any case).
fn find_v4_reverse(t: &V4Target, text: &str, out: &mut Vec<Match>) {
    const SUFFIX: &[u8] = b"in-addr.arpa";
    let bytes = text.as_bytes();
    let len = t.reverse.needle().len();
    for s in t.reverse.find_iter(bytes) {
        let e = s + len + SUFFIX.len();
        if !starts_with_ci(bytes, s + len, SUFFIX) || !left_ok(bytes, s) || !right_ok(bytes, e) {
            continue;
        }
        out.push(reverse_match(IpAddr::V4(t.addr), s..e, bytes));
    }
}

/// The 32-nibble `ip6.arpa` names of the IPv6 targets (nibbles all in one
/// case, suffix in any case).
fn find_v6_reverse(m: &Matcher, text: &str, out: &mut Vec<Match>) {
    const SUFFIX: &[u8] = b"ip6.arpa";
    let bytes = text.as_bytes();
    for t in &m.v6 {
        let lower_is_upper = t.nibbles.needle() == t.nibbles_upper.needle();
        let finders = [&t.nibbles, &t.nibbles_upper];
        let finders = if lower_is_upper {
            &finders[..1]
        } else {
            &finders[..]
        };
        for f in finders {
            let len = f.needle().len();
            for s in f.find_iter(bytes) {
                let e = s + len + SUFFIX.len();
                if starts_with_ci(bytes, s + len, SUFFIX) && left_ok(bytes, s) && right_ok(bytes, e)
                {
                    out.push(reverse_match(IpAddr::V6(t.addr), s..e, bytes));
                }
            }
        }
    }
}

fn reverse_match(target: IpAddr, span: Range<usize>, bytes: &[u8]) -> Match {
    Match {
        style: name_style(&bytes[span.clone()]),
        addr_span: span.clone(),
        span,
        target,
        kind: MatchKind::ReverseName,
        prefix: None,
        network: None,
        port: None,
    }
}

/// The runs of `[0-9A-Fa-f:.]` that hold at least two colons: the only
/// places an IPv6 address can be spelled. Found by jumping from colon to
/// colon with `memchr`.
///
/// A bare `::` (LDIF writes `attr:: base64`) is skipped unless a network
/// may follow (`::/0`, `[::]/0`) or `::` itself is looked for.
struct V6Runs<'a> {
    bytes: &'a [u8],
    pos: usize,
    unspecified: bool,
}

impl<'a> V6Runs<'a> {
    fn new(m: &Matcher, bytes: &'a [u8]) -> V6Runs<'a> {
        V6Runs {
            bytes,
            pos: 0,
            unspecified: m.v6.iter().any(|t| t.addr.is_unspecified()),
        }
    }
}

impl Iterator for V6Runs<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let bytes = self.bytes;
        loop {
            let c = self.pos + memchr(b':', &bytes[self.pos..])?;
            // The previous run ended on a byte outside the run, so the walk
            // back cannot reach into it, and holds no colon (c is the first
            // one after pos).
            let mut s = c;
            while s > 0 && is_v6_byte(bytes[s - 1]) {
                s -= 1;
            }
            let mut e = c + 1;
            let mut colons = 1;
            while e < bytes.len() && is_v6_byte(bytes[e]) {
                colons += usize::from(bytes[e] == b':');
                e += 1;
            }
            self.pos = e;
            let bare =
                e - s == 2 && !self.unspecified && !matches!(bytes.get(e), Some(b'/' | b']'));
            if colons >= 2 && !bare {
                return Some((s, e));
            }
        }
    }
}

/// Examines one IPv6 candidate run `text[s..e]`.
fn v6_token(m: &Matcher, text: &str, s: usize, e: usize, out: &mut Vec<Match>) {
    let bytes = text.as_bytes();
    let (mut a, mut b) = (s, e);
    // A sentence may end right after the address.
    while b > a && bytes[b - 1] == b'.' {
        b -= 1;
    }
    // A single colon at either end separates (`key:addr`, `addr: text`);
    // a double one belongs to the address (`::1`, `2001:db8::`).
    if b - a >= 2 && bytes[a] == b':' && bytes[a + 1] != b':' {
        a += 1;
    }
    if b - a >= 2 && bytes[b - 1] == b':' && bytes[b - 2] != b':' {
        b -= 1;
    }
    let parsed = |a: usize| {
        (a < b && bytes[a] != b'.' && addr_left_ok(bytes, a, false))
            .then(|| text[a..b].parse::<Ipv6Addr>().ok())
            .flatten()
    };
    let addr = match parsed(a) {
        Some(addr) => addr,
        None => {
            // `zimbraId:2001:db8::25`, `name:2001:db8:0:0:0:0:0:25`: the
            // run began inside a word whose last letters happen to be hex.
            // Where the whole run is no address, a leading run of hex
            // letters and one colon is that word's tail and its separator.
            let word = bytes[a..b]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            if word == 0
                || a + word + 1 >= b
                || bytes[a + word] != b':'
                || bytes.get(a + word + 1) == Some(&b':')
            {
                return;
            }
            a += word + 1;
            match text[a..b].parse::<Ipv6Addr>() {
                Ok(addr) => addr,
                Err(_) => return,
            }
        }
    };
    let tok = &text[a..b];
    let mut z = b;
    if b == e && bytes.get(b) == Some(&b'%') {
        z = b + 1;
        while z < bytes.len() && (is_word(bytes[z]) || bytes[z] == b'.') {
            z += 1;
        }
        while bytes[z - 1] == b'.' {
            z -= 1;
        }
        if z == b + 1 {
            z = b;
        }
    }
    if !addr_right_ok(bytes, z, false) {
        return;
    }
    let ctx = classify(bytes, a, b, z, false);
    if let Some(t) = m.v6.iter().find(|t| t.addr == addr) {
        out.push(Match {
            span: ctx.span,
            addr_span: a..b,
            target: IpAddr::V6(t.addr),
            kind: ctx.kind,
            prefix: ctx.prefix,
            network: None,
            port: ctx.port,
            style: v6_style(tok),
        });
        return;
    }
    let Some(len) = ctx.prefix else {
        return;
    };
    let Ok(net) = Ipv6Net::new(addr, len) else {
        return;
    };
    if let Some(t) = m.v6.iter().find(|t| net.contains(&t.addr)) {
        out.push(Match {
            span: ctx.span,
            addr_span: a..b,
            target: IpAddr::V6(t.addr),
            kind: MatchKind::NetworkContains,
            prefix: Some(len),
            network: Some(IpNet::V6(net)),
            port: None,
            style: v6_style(tok),
        });
    }
}
