//! Surface `keepalived`: `/etc/keepalived/keepalived.conf` and every file
//! it `include`s (also `includer`, `includem`, ...; globs allowed; a
//! relative path is taken from the including file's directory).
//!
//! The file is read as keepalived.conf(5) says: words separated by
//! blanks, `"quoted strings"` one word, a word starting with `!` or `#`
//! starting a comment, a backslash at the end of a line continuing it,
//! `{ ... }` blocks, and `@name` in front of a line (conditional
//! configuration) ignored. How each address is read is the
//! [`KEYWORDS`] and [`BLOCKS`] tables:
//!
//! * this host's own addresses: `unicast_src_ip`, `mcast_src_ip`, a BFD
//!   `source_ip`, a checker's `bindto`, a route's `src`; and the virtual
//!   addresses keepalived puts on the host: each line of
//!   `virtual_ipaddress`, `virtual_ipaddress_excluded` and
//!   `static_ipaddress` (with its `/prefix`, which follows a move), a
//!   `virtual_server`'s address and the entries of a
//!   `virtual_server_group`;
//! * other hosts, which change only where they are the old address (a
//!   peer node that moved): `unicast_peer` entries, `real_server`,
//!   `sorry_server`, `smtp_server`, `connect_ip`, a BFD `neighbor_ip`, a
//!   route's destination and gateway, multicast groups;
//! * a range (`192.168.200.3-10` in a `virtual_server_group`) never
//!   changes and is reported;
//! * anything else, `$NAME=value` parameters and quoted scripts included,
//!   is text: a literal old address moves, and the change says so.
//!
//! A virtual address is often the one the mail server is known by, and
//! it does not move with the host's own address: moving the host to
//! another network while a virtual address stays in the old one is
//! warned about (`vip-in-old-network`), so that its new address can be
//! given as one more `--from`/`--to` pair.

use std::collections::{BTreeSet, VecDeque};
use std::net::IpAddr;
use std::ops::Range;

use super::firewall;
use super::{Ctx, Field, FileSurface, Surface, analyze_text};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::{Report, Target};
use crate::notice::{Code, Notice};
use crate::policy::Role;
use crate::policy::ValueKind::{self, OtherHost, OwnAddress, Text};
use crate::spec::PrefixSource;

/// The `keepalived` surface.
pub struct Keepalived;

const MAIN: &str = "/etc/keepalived/keepalived.conf";

/// How a keyword's arguments are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Args {
    /// The first argument is an address of this kind.
    First(ValueKind),
    /// The argument after this word is an address of this kind.
    After(&'static str, ValueKind),
}

/// Keywords whose arguments hold addresses (keepalived.conf(5)). Other
/// keywords' addresses are text.
static KEYWORDS: &[(&str, Args)] = &[
    // This host's own.
    ("unicast_src_ip", Args::First(OwnAddress)),
    ("mcast_src_ip", Args::First(OwnAddress)),
    ("source_ip", Args::First(OwnAddress)),
    ("bindto", Args::First(OwnAddress)),
    // The address LVS serves on (`fwmark N` and `group NAME` hold none).
    ("virtual_server", Args::First(OwnAddress)),
    // Other hosts.
    ("real_server", Args::First(OtherHost)),
    ("sorry_server", Args::First(OtherHost)),
    ("smtp_server", Args::First(OtherHost)),
    ("connect_ip", Args::First(OtherHost)),
    ("neighbor_ip", Args::First(OtherHost)),
    ("neighbour_ip", Args::First(OtherHost)),
    ("vrrp_mcast_group4", Args::First(OtherHost)),
    ("vrrp_mcast_group6", Args::First(OtherHost)),
    ("mcast_dst_ip", Args::First(OtherHost)),
    ("lvs_sync_daemon", Args::After("group", OtherHost)),
];

/// How the lines of a block are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// `ADDR[/MASK] [brd ADDR] [dev IF] [peer ADDR] ...`: a virtual or
    /// static address of this host; `brd` and `peer` name others.
    Address,
    /// `ADDR [min_ttl N] ...`: another node.
    Peer,
    /// A route or rule: `src ADDR` is this host's, every other address
    /// another's (destinations, gateways).
    Route,
    /// `ADDR[-N] PORT` or `fwmark N`: addresses LVS serves on.
    Group,
}

/// Blocks whose lines are entries.
static BLOCKS: &[(&str, Entry)] = &[
    ("virtual_ipaddress", Entry::Address),
    ("virtual_ipaddress_excluded", Entry::Address),
    ("static_ipaddress", Entry::Address),
    ("unicast_peer", Entry::Peer),
    ("virtual_routes", Entry::Route),
    ("static_routes", Entry::Route),
    ("virtual_rules", Entry::Route),
    ("static_rules", Entry::Route),
    ("virtual_server_group", Entry::Group),
];

/// Include keywords (keepalived.conf(5) "INCLUDE").
const INCLUDES: &[&str] = &[
    "include", "includer", "includem", "includew", "includeb", "includea",
];

impl FileSurface for Keepalived {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let mut files = config(ctx.host)?;
        files.sort();
        Ok(files)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let doc = read(path, text)?;
        let mut report = analyze_text(Surface::Keepalived, path, text, ctx, doc.fields)?;
        if let Some(rw) = ctx.rewriter.filter(|rw| rw.role() == Role::Own) {
            report
                .warnings
                .extend(vips_left_behind(path, text, &doc.vips, rw));
        }
        Ok(report)
    }
}

/// Every file keepalived reads here: the main file and its includes.
fn config(host: &Host) -> Result<Vec<String>> {
    let mut queue = VecDeque::from([MAIN.to_string()]);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) || !host.is_file(&path) {
            continue;
        }
        let Some(text) = host.read(&path)? else {
            continue;
        };
        out.push(path.clone());
        // A broken file is reported when it is analyzed.
        let Ok(doc) = read(&path, &text) else {
            continue;
        };
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        for inc in doc.includes {
            let abs = join(dir, &inc);
            if abs.contains(['*', '?', '[']) {
                queue.extend(host.glob(&abs)?);
            } else {
                queue.push_back(abs);
            }
        }
    }
    Ok(out)
}

/// `rel` taken from the directory `dir` (an absolute `rel` as it is),
/// with `.` and `..` resolved, as a host path.
pub(super) fn join(dir: &str, rel: &str) -> String {
    let full = if rel.starts_with('/') {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in full.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// What a file holds.
#[derive(Debug, Default)]
struct Doc {
    fields: Vec<Field>,
    /// The virtual addresses (spans) this host takes.
    vips: Vec<Range<usize>>,
    includes: Vec<String>,
}

/// A word and where it is (quotes excluded).
#[derive(Debug, Clone)]
struct Word {
    span: Range<usize>,
    quoted: bool,
}

/// How a statement ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Line,
    Open,
    Close,
}

fn bad(path: &str, text: &str, at: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_string(),
        line: text[..at].matches('\n').count() + 1,
        message: message.into(),
        help: Some(
            "fix the file (`keepalived --config-test` checks it), or move it away if keepalived does not read it"
                .into(),
        ),
    }
}

/// The statements of a file: its words up to a line end (not continued
/// by a backslash), `{` or `}`.
fn statements(path: &str, text: &str) -> Result<Vec<(Vec<Word>, End, usize)>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut words = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                out.push((std::mem::take(&mut words), End::Line, i));
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'\\'
                if text[i + 1..]
                    .trim_start_matches([' ', '\t', '\r'])
                    .starts_with('\n') =>
            {
                i = i + 1 + text[i + 1..].find('\n').unwrap_or(0) + 1;
            }
            b'!' | b'#' => i += text[i..].find('\n').unwrap_or(b.len() - i),
            b'{' | b'}' => {
                let end = if c == b'{' { End::Open } else { End::Close };
                out.push((std::mem::take(&mut words), end, i));
                i += 1;
            }
            b'"' => {
                let end = text[i + 1..]
                    .find(['"', '\n'])
                    .map(|k| i + 1 + k)
                    .filter(|&k| b[k] == b'"')
                    .ok_or_else(|| bad(path, text, i, "this quoted string is never closed"))?;
                words.push(Word {
                    span: i + 1..end,
                    quoted: true,
                });
                i = end + 1;
            }
            _ => {
                let s = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && !b"{}\"".contains(&b[i]) {
                    i += 1;
                }
                words.push(Word {
                    span: s..i,
                    quoted: false,
                });
            }
        }
    }
    out.push((words, End::Line, b.len()));
    Ok(out)
}

/// Whether a word holds an address (`10.0.0.1`, `10.0.0.1/24`,
/// `10.0.0.1-10`, `2001:db8::1`).
fn holds_address(w: &str) -> bool {
    let core = w.split('/').next().unwrap_or(w);
    core.split('-')
        .next()
        .unwrap_or(core)
        .parse::<IpAddr>()
        .is_ok()
}

/// Reads a file's addresses and includes.
fn read(path: &str, text: &str) -> Result<Doc> {
    let mut doc = Doc::default();
    // Each open block: its keyword and where its `{` is.
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut last_keyword = String::new();
    for (words, end, at) in statements(path, text)? {
        // Conditional configuration: `@name` or `@^name` in front.
        let words: Vec<Word> = words
            .into_iter()
            .skip_while(|w| !w.quoted && text[w.span.clone()].starts_with('@'))
            .collect();
        let word = |k: usize| words.get(k).map_or("", |w| &text[w.span.clone()]);
        let entry = stack
            .last()
            .and_then(|(b, _)| BLOCKS.iter().find(|(n, _)| n == b))
            .map(|(_, e)| *e);
        if let Some(e) = entry {
            doc.entry(text, &words, e);
        } else if !words.is_empty() {
            doc.statement(text, &words);
        }
        if !words.is_empty() {
            last_keyword = word(0).to_string();
        }
        match end {
            End::Open => stack.push((last_keyword.clone(), at)),
            End::Close => {
                if stack.pop().is_none() {
                    return Err(bad(path, text, at, "this `}` closes no block"));
                }
            }
            End::Line => {}
        }
    }
    if let Some((name, at)) = stack.last() {
        return Err(bad(
            path,
            text,
            *at,
            format!("the `{name}` block opened here is never closed: a `}}` is missing"),
        ));
    }
    Ok(doc)
}

impl Doc {
    fn push(&mut self, w: &Word, kind: ValueKind, text: &str) {
        let kind = if firewall::is_range(&text[w.span.clone()]) {
            ValueKind::Range
        } else {
            kind
        };
        self.fields.push(Field::new(w.span.clone(), kind));
    }

    /// A line of an entry block.
    fn entry(&mut self, text: &str, words: &[Word], e: Entry) {
        let mut prev = "";
        for (k, w) in words.iter().enumerate() {
            let t = &text[w.span.clone()];
            if w.quoted || !holds_address(t) {
                prev = t;
                continue;
            }
            let kind = match (e, k, prev) {
                (Entry::Address | Entry::Group, 0, _) => {
                    self.vips.push(w.span.clone());
                    OwnAddress
                }
                (Entry::Route, _, "src") => OwnAddress,
                _ => OtherHost,
            };
            self.push(w, kind, text);
            prev = t;
        }
    }

    /// A keyword line outside entry blocks.
    fn statement(&mut self, text: &str, words: &[Word]) {
        let keyword = &text[words[0].span.clone()];
        if INCLUDES.contains(&keyword) {
            if let Some(w) = words.get(1) {
                self.includes.push(text[w.span.clone()].to_string());
            }
            return;
        }
        let args = KEYWORDS
            .iter()
            .find(|(k, _)| *k == keyword)
            .map(|(_, a)| *a);
        for (k, w) in words.iter().enumerate().skip(1) {
            let t = &text[w.span.clone()];
            let prev = &text[words[k - 1].span.clone()];
            let kind = match args {
                Some(Args::First(kind)) if k == 1 => kind,
                Some(Args::After(word, kind)) if prev == word => kind,
                _ => Text,
            };
            if !(w.quoted || holds_address(t)) {
                continue;
            }
            if keyword == "virtual_server" && k == 1 {
                self.vips.push(w.span.clone());
            }
            self.push(w, kind, text);
        }
        // `$NAME=VALUE`: the value is text.
        if keyword.starts_with('$')
            && let Some(eq) = keyword.find('=')
        {
            let s = words[0].span.start + eq + 1;
            self.fields.push(Field::new(s..words[0].span.end, Text));
        }
    }
}

/// A warning for each virtual address that stays in the old network
/// while the host moves to another one.
fn vips_left_behind(
    path: &str,
    text: &str,
    vips: &[Range<usize>],
    rw: &crate::policy::Rewriter,
) -> Vec<Notice> {
    let mut out = Vec::new();
    for span in vips {
        let written = &text[span.clone()];
        let Some(addr) = written
            .split('/')
            .next()
            .and_then(|a| a.parse::<IpAddr>().ok())
        else {
            continue;
        };
        for p in rw.pairs() {
            let moved_net = p.old_net() != p.new_net();
            if addr == p.old
                || p.old_prefix_source == PrefixSource::Host
                || !moved_net
                || !p.old_net().contains(&addr)
            {
                continue;
            }
            let line = text[..span.start].matches('\n').count() + 1;
            out.push(Notice::new(
                Code::VipInOldNetwork,
                format!(
                    "keepalived's virtual address {addr} stays in the old network {}, while this host moves to {} (at {}): give its new address as one more --from {addr} --to NEW pair, on every node of its VRRP group",
                    p.old_net(),
                    p.new_net(),
                    Target::Line {
                        file: path.to_string(),
                        line
                    }
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes};

    fn plan(moves: &[(&str, &str)], text: &str) -> (Vec<(usize, String)>, Vec<String>) {
        let fx = Fixture::new(moves);
        let r = Keepalived.analyze(MAIN, text, &fx.plan()).unwrap();
        let ch = changes(&r).into_iter().map(|(n, _, a)| (n, a)).collect();
        (ch, r.warnings.iter().map(|w| w.code.to_string()).collect())
    }

    #[test]
    fn vrrp_instance() {
        let text = "! Configuration File for keepalived (192.168.2.1)\n\
global_defs {\n\
   smtp_server 192.168.2.1 25\n\
   router_id mail # 192.168.2.1\n\
}\n\
vrrp_instance VI_1 {\n\
    interface eth0\n\
    unicast_src_ip 192.168.2.1\n\
    unicast_peer {\n\
        192.168.2.10\n\
        192.168.2.1 min_ttl 1\n\
    }\n\
    virtual_ipaddress {\n\
        192.168.2.1/24 dev eth0 label eth0:vip\n\
        192.168.2.100/24 brd 192.168.2.255 dev eth0\n\
        192.168.2.10\n\
    }\n\
    virtual_routes {\n\
        src 192.168.2.1 10.9.0.0/16 via 192.168.2.254 dev eth0\n\
    }\n\
    notify_master \"/usr/local/bin/notify 192.168.2.1\"\n\
}\n";
        let (ch, codes) = plan(V4, text);
        assert_eq!(
            ch,
            vec![
                (3, "smtp_server 10.40.7.131 25".into()),
                (8, "unicast_src_ip 10.40.7.131".into()),
                (11, "10.40.7.131 min_ttl 1".into()),
                (14, "10.40.7.131/24 dev eth0 label eth0:vip".into()),
                (
                    19,
                    "src 10.40.7.131 10.9.0.0/16 via 192.168.2.254 dev eth0".into()
                ),
                (
                    21,
                    "notify_master \"/usr/local/bin/notify 10.40.7.131\"".into()
                ),
            ]
        );
        // The two virtual addresses left in 192.168.2.0/24.
        assert_eq!(codes, ["vip-in-old-network", "vip-in-old-network"]);
    }

    #[test]
    fn the_prefix_of_a_virtual_address_follows_its_move() {
        let (ch, codes) = plan(
            &[("192.168.2.100/24", "10.40.7.100/16")],
            "vrrp_instance V {\n  virtual_ipaddress {\n    192.168.2.100/24 dev eth0\n  }\n}\n",
        );
        assert_eq!(ch, vec![(3, "    10.40.7.100/16 dev eth0".into())]);
        assert!(codes.is_empty());
        // Moved within its network: nothing is left behind.
        let (_, codes) = plan(
            &[("192.168.2.1/24", "192.168.2.50/24")],
            "vrrp_instance V {\n  virtual_ipaddress {\n    192.168.2.100/24\n  }\n}\n",
        );
        assert!(codes.is_empty(), "{codes:?}");
    }

    #[test]
    fn lvs() {
        let text = "virtual_server_group G {\n\t192.168.2.1 25\n\t192.168.1.250-10 25\n\t192.168.2.0-9 25\n\tfwmark 1\n}\n\
virtual_server 192.168.2.1 25 {\n\
    sorry_server 192.168.2.10 25\n\
    real_server 192.168.2.1 25 {\n\
        SMTP_CHECK {\n\
            connect_ip 192.168.2.1\n\
            bindto 192.168.2.1\n\
        }\n\
    }\n\
}\n\
virtual_server fwmark 7 {\n}\n";
        let (ch, codes) = plan(&[("192.168.2.1", "10.40.7.131")], text);
        let lines: Vec<usize> = ch.iter().map(|(n, _)| *n).collect();
        assert_eq!(lines, [2, 7, 9, 11, 12]);
        assert_eq!(ch[0].1, "\t10.40.7.131 25");
        // `192.168.2.0-9` holds .1; `192.168.1.250-10` does not.
        assert_eq!(codes, ["range-unchanged"]);
    }

    #[test]
    fn ipv6_continuations_conditions_and_parameters() {
        let text = "$VIP=192.168.2.1\n\
@main unicast_src_ip 192.168.2.1\n\
@backup unicast_src_ip 192.168.2.10\n\
vrrp_instance V6 {\n\
  virtual_ipaddress { \\\n\
    2001:db8:14::25/64 \\\n\
  }\n\
}\n";
        let (ch, _) = plan(DUAL, text);
        assert_eq!(
            ch,
            vec![
                (1, "$VIP=10.40.7.131".into()),
                (2, "@main unicast_src_ip 10.40.7.131".into()),
                (6, "2001:db8:7::131/64 \\".into()),
            ]
        );
    }

    #[test]
    fn includes_are_followed() {
        let fx = Fixture::new(V4);
        fx.write(MAIN, "include conf.d/*.conf\ninclude /srv/ka/extra\n");
        fx.write("/etc/keepalived/conf.d/a.conf", "include ../b.inc\n");
        fx.write("/etc/keepalived/b.inc", "");
        fx.write("/srv/ka/extra", "");
        fx.write("/etc/keepalived/conf.d/.hidden.conf", "");
        assert_eq!(
            Keepalived.files(&fx.scan()).unwrap(),
            [
                "/etc/keepalived/b.inc",
                "/etc/keepalived/conf.d/a.conf",
                "/etc/keepalived/keepalived.conf",
                "/srv/ka/extra"
            ]
        );
    }

    #[test]
    fn paths_join() {
        for (dir, rel, want) in [
            ("/etc/keepalived", "conf.d/x", "/etc/keepalived/conf.d/x"),
            ("/etc/keepalived/conf.d", "../b", "/etc/keepalived/b"),
            ("/etc/keepalived", "/srv/./ka//x", "/srv/ka/x"),
            ("/etc", "../../../x", "/x"),
        ] {
            assert_eq!(join(dir, rel), want);
        }
    }

    #[test]
    fn broken_files_are_errors_at_their_line() {
        let fx = Fixture::new(V4);
        for (text, line, what) in [
            ("vrrp_instance V {\n  state MASTER\n", 1, "never closed"),
            ("vrrp_instance V {\n}\n}\n", 3, "closes no block"),
            (
                "vrrp_script s {\n  script \"/bin/true\n}\n",
                2,
                "never closed",
            ),
        ] {
            let e = Keepalived.analyze(MAIN, text, &fx.scan()).unwrap_err();
            let s = e.to_string();
            assert!(
                s.starts_with(&format!("{MAIN}:{line}: ")) && s.contains(what),
                "{text:?}: {s}"
            );
        }
    }
}
