//! Spelling addresses: [`render`], [`reverse_name`] and the body of
//! [`Match::replace`].

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Match, MatchKind, Style};

/// Renders `addr` in `style`.
///
/// IPv4: dotted quad; with [`Style::regex_escaped`] the dots are written
/// `\.` (or `\\.` with [`Style::double_escaped`]); with
/// [`Style::v4_mapped`] it is prefixed with `::ffff:` (`::FFFF:` if
/// [`Style::upper`]).
///
/// IPv6: RFC 5952 compression (the longest run of two or more zero groups,
/// leftmost on a tie, becomes `::`) unless [`Style::expanded`]; groups
/// zero-padded to four digits if [`Style::zero_padded`]; upper-case hex if
/// [`Style::upper`]; the last 32 bits as a dotted quad if
/// [`Style::v4_tail`]. The other flags are ignored for the other family.
pub fn render(addr: IpAddr, style: Style) -> String {
    match addr {
        IpAddr::V4(a) => render_v4(a, style),
        IpAddr::V6(a) => render_v6(a, style),
    }
}

fn render_v4(a: Ipv4Addr, style: Style) -> String {
    let mut s = String::with_capacity(24);
    if style.v4_mapped {
        s.push_str(if style.upper { "::FFFF:" } else { "::ffff:" });
    }
    if style.regex_escaped {
        let sep = if style.double_escaped { "\\\\." } else { "\\." };
        let o = a.octets();
        let _ = write!(s, "{}{sep}{}{sep}{}{sep}{}", o[0], o[1], o[2], o[3]);
    } else {
        let _ = write!(s, "{a}");
    }
    s
}

fn render_v6(a: Ipv6Addr, style: Style) -> String {
    let seg = a.segments();
    let groups = if style.v4_tail { 6 } else { 8 };
    let run = if style.expanded {
        None
    } else {
        longest_zero_run(&seg[..groups])
    };
    let mut s = String::with_capacity(41);
    let mut i = 0;
    while i < groups {
        if let Some((rs, re)) = run
            && i == rs
        {
            s.push_str("::");
            i = re;
            continue;
        }
        if i > 0 && !s.ends_with(':') {
            s.push(':');
        }
        let g = seg[i];
        let _ = match (style.zero_padded, style.upper) {
            (true, true) => write!(s, "{g:04X}"),
            (true, false) => write!(s, "{g:04x}"),
            (false, true) => write!(s, "{g:X}"),
            (false, false) => write!(s, "{g:x}"),
        };
        i += 1;
    }
    if style.v4_tail {
        if !s.ends_with(':') {
            s.push(':');
        }
        let o = a.octets();
        let _ = write!(s, "{}", Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    s
}

/// The leftmost longest run (start, end) of at least two zero groups.
fn longest_zero_run(seg: &[u16]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < seg.len() {
        if seg[i] != 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < seg.len() && seg[i] == 0 {
            i += 1;
        }
        let longer = best.is_none_or(|(bs, be)| i - start > be - bs);
        if i - start >= 2 && longer {
            best = Some((start, i));
        }
    }
    best
}

/// The reverse-DNS name of `addr`, without trailing dot:
/// `25.14.20.172.in-addr.arpa` or the 32-nibble ip6.arpa name
/// (`5.2.0.0. … .8.b.d.0.1.0.0.2.ip6.arpa`, lower case).
pub fn reverse_name(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(a) => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut s = String::with_capacity(72);
            for b in a.octets().iter().rev() {
                s.push(char::from(HEX[usize::from(b & 0xf)]));
                s.push('.');
                s.push(char::from(HEX[usize::from(b >> 4)]));
                s.push('.');
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

/// See [`Match::replace`].
///
/// The text around the address inside the span (brackets, zone, port,
/// prefix) is kept byte for byte, so only the address spelling itself and
/// the prefix digits are ever generated.
pub(super) fn replace(m: &Match, text: &str, new: IpAddr, new_prefix: Option<u8>) -> String {
    let old = &text[m.addr_span.clone()];
    if m.kind == MatchKind::ReverseName {
        let name = reverse_name(new);
        return if m.style.upper {
            name.to_ascii_uppercase()
        } else {
            name
        };
    }
    let mut head = &text[m.span.start..m.addr_span.start];
    let mut tail = &text[m.addr_span.end..m.span.end];
    let mut out = String::with_capacity(m.span.len() + 16);

    // A zone (`%eth0`) only means something for IPv6.
    let mut zone = "";
    if let Some(rest) = tail.strip_prefix('%') {
        let n = 1 + rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
            .unwrap_or(rest.len());
        (zone, tail) = tail.split_at(n);
    }

    // URL hosts and host:port need brackets exactly when the new address
    // is IPv6; postfix `[ip]` keeps them for both families.
    let bracketed = head.ends_with('[');
    let host = matches!(m.kind, MatchKind::UrlHost | MatchKind::HostPort);
    let add_brackets = host && new.is_ipv6() && !bracketed;
    let drop_brackets = host && new.is_ipv4() && bracketed && m.target.is_ipv6();
    if drop_brackets {
        head = &head[..head.len() - 1];
    }
    out.push_str(head);
    if add_brackets {
        out.push('[');
    }

    match new {
        IpAddr::V4(a) if m.style.v4_mapped => {
            // Keep `::ffff:` exactly as written (case, expanded zeros).
            let cut = old.rfind(':').map_or(0, |i| i + 1);
            out.push_str(&old[..cut]);
            let _ = write!(out, "{a}");
        }
        IpAddr::V4(_) => {
            let style = Style {
                regex_escaped: m.style.regex_escaped,
                double_escaped: m.style.double_escaped,
                ..Style::default()
            };
            out.push_str(&render(new, style));
        }
        IpAddr::V6(_) => {
            let style = Style {
                v4_mapped: false,
                regex_escaped: false,
                double_escaped: false,
                ..m.style
            };
            out.push_str(&render(new, style));
        }
    }

    if new.is_ipv6() {
        out.push_str(zone);
    }
    if add_brackets {
        out.push(']');
    }
    if drop_brackets {
        tail = tail.strip_prefix(']').unwrap_or(tail);
    }
    match (m.prefix, new_prefix, tail.rfind('/')) {
        (Some(_), Some(p), Some(slash)) => {
            out.push_str(&tail[..=slash]);
            let _ = write!(out, "{p}");
        }
        _ => out.push_str(tail),
    }
    out
}
