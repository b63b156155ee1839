//! Surface `iptables`: saved iptables and ip6tables rules, as
//! `iptables-save` writes them and `iptables-restore` reads them:
//! Debian's `/etc/iptables/rules.v4` and `rules.v6` (netfilter-persistent)
//! and RHEL's `/etc/sysconfig/iptables` and `ip6tables`
//! (iptables-services).
//!
//! ```text
//! *filter
//! :INPUT DROP [0:0]
//! :ZIMBRA - [0:0]
//! -A INPUT -s 172.20.14.0/24 -d 172.20.14.25/32 -p tcp --dport 7071 -j ACCEPT
//! COMMIT
//! ```
//!
//! A line is a comment (`#`), a table (`*nat`), a chain (`:NAME POLICY
//! [packets:bytes]`), `COMMIT`, or a command (`-A CHAIN ...`, also
//! `-I`, `-R`, `-D`, `-N`, `-P`, ...; with `[packets:bytes]` in front
//! when saved with counters). Words are split on blanks; double quotes
//! group a word (`--comment "a b"`), as iptables-restore reads them (a
//! quote never closed runs to the end of the line). What each address means is
//! [`super::firewall`]'s: `-s`/`--source` is a source, `-d` and the
//! conntrack, policy and ipvs address matches are matched as written,
//! `--to-destination`, `--to-source`, `--to`, `--gateway` and `--on-ip`
//! are targets, `--src-range`/`--dst-range` ranges. A rule's verdict is
//! its `-j`/`-g` target: `ACCEPT`, `DROP`/`REJECT`, or a chain of the
//! file, which counts as what its own rules do. The words of options
//! zmreip does not know are read as text (literal replacement), except
//! quoted texts (`--comment`, `--log-prefix`, `--string`), never changed.
//!
//! The same rule reader serves ufw's rules files ([`super::ufw`]) and
//! firewalld's direct rules ([`super::firewalld`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::firewall::{self, Place, Verdict};
use super::{Ctx, Field, FileSurface, Surface, analyze_lines};
use crate::error::{Error, Result};
use crate::model::Report;
use crate::policy::ValueKind;
use crate::services::shell_quote;

/// The `iptables` surface.
pub struct Iptables;

/// Where the saved rules live: Debian's netfilter-persistent, RHEL's
/// iptables-services.
const FILES: &[&str] = &[
    "/etc/iptables/rules.v4",
    "/etc/iptables/rules.v6",
    "/etc/sysconfig/iptables",
    "/etc/sysconfig/ip6tables",
];

impl FileSurface for Iptables {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        Ok(FILES
            .iter()
            .filter(|f| ctx.host.is_file(f))
            .map(ToString::to_string)
            .collect())
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let chains = Chains::read(path, text)?;
        let mut table = String::new();
        analyze_lines(Surface::Iptables, path, text, ctx, |n, line| {
            if let Some(t) = line.trim().strip_prefix('*') {
                table = t.trim().to_string();
            }
            Ok(match rule_line(path, n, line)? {
                Some(rule) => rule.fields(&chains.verdicts(&table), true),
                None => Vec::new(),
            })
        })
    }
}

/// The command that loads a changed rules file: Debian's
/// `netfilter-persistent reload` (both files), else `iptables-restore`
/// (or `ip6tables-restore`) of the file, as RHEL's service does.
pub fn load(file: &str, _text: &str, _line: usize) -> String {
    if file.starts_with("/etc/iptables/") {
        "netfilter-persistent reload".into()
    } else if file.ends_with("ip6tables") {
        format!("ip6tables-restore < {}", shell_quote(file))
    } else {
        format!("iptables-restore < {}", shell_quote(file))
    }
}

/// A word of a rule and where it is written (quotes excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    text: String,
    span: Range<usize>,
    quoted: bool,
}

/// Splits `line[from..]` into words as iptables-restore does
/// (`add_param_to_argv`): blanks separate; a double quote opens a quoted
/// part, glued to the word or not, in which a backslash escapes the next
/// character and blanks do not separate; a quote never closed runs to the
/// end of the line. Single quotes are ordinary characters.
fn words(line: &str, from: usize) -> Vec<Word> {
    let mut out = Vec::new();
    let mut chars = line[from..]
        .char_indices()
        .map(|(k, c)| (from + k, c))
        .peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c == ' ' || c == '\t' {
            chars.next();
            continue;
        }
        let (mut text, mut quoted, mut open, mut escaped) = (String::new(), false, false, false);
        let mut end = start;
        while let Some(&(k, c)) = chars.peek() {
            if !open && (c == ' ' || c == '\t') {
                break;
            }
            chars.next();
            end = k + c.len_utf8();
            match (open, escaped, c) {
                (true, true, _) => {
                    text.push(c);
                    escaped = false;
                }
                (true, false, '\\') => escaped = true,
                (_, _, '"') => {
                    open = !open;
                    quoted = true;
                }
                _ => text.push(c),
            }
        }
        out.push(Word {
            text,
            span: start..end,
            quoted,
        });
    }
    out
}

/// What an option's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    /// An address, network or list of them at this place.
    Addr(OptPlace),
    /// A flag, or a value that never holds an address zmreip may change
    /// (free text, names).
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptPlace {
    Source,
    Destination,
    Target,
}

/// Options whose value is an address (iptables(8), iptables-extensions(8)),
/// or quoted free text that never changes. Options not listed have their
/// words read as text.
const OPTIONS: &[(&str, Opt)] = &[
    ("-s", Opt::Addr(OptPlace::Source)),
    ("--source", Opt::Addr(OptPlace::Source)),
    ("--src", Opt::Addr(OptPlace::Source)),
    ("-d", Opt::Addr(OptPlace::Destination)),
    ("--destination", Opt::Addr(OptPlace::Destination)),
    ("--dst", Opt::Addr(OptPlace::Destination)),
    // iprange: always ranges.
    ("--src-range", Opt::Addr(OptPlace::Source)),
    ("--dst-range", Opt::Addr(OptPlace::Destination)),
    // conntrack, policy and ipvs matches on addresses of the connection
    // or tunnel: matched as written.
    ("--ctorigsrc", Opt::Addr(OptPlace::Destination)),
    ("--ctorigdst", Opt::Addr(OptPlace::Destination)),
    ("--ctreplsrc", Opt::Addr(OptPlace::Destination)),
    ("--ctrepldst", Opt::Addr(OptPlace::Destination)),
    ("--tunnel-src", Opt::Addr(OptPlace::Destination)),
    ("--tunnel-dst", Opt::Addr(OptPlace::Destination)),
    ("--vaddr", Opt::Addr(OptPlace::Destination)),
    // NAT and forwarding targets: DNAT, SNAT, NETMAP (`--to`), TEE,
    // TPROXY.
    ("--to-destination", Opt::Addr(OptPlace::Target)),
    ("--to-source", Opt::Addr(OptPlace::Target)),
    ("--to", Opt::Addr(OptPlace::Target)),
    ("--gateway", Opt::Addr(OptPlace::Target)),
    ("--on-ip", Opt::Addr(OptPlace::Target)),
    // Free text: matching packet contents or naming log lines.
    ("--comment", Opt::Skip),
    ("--log-prefix", Opt::Skip),
    ("--nflog-prefix", Opt::Skip),
    ("--string", Opt::Skip),
    ("--hex-string", Opt::Skip),
    ("--match-set", Opt::Skip),
    ("--set-class", Opt::Skip),
];

/// One address value of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Value {
    span: Range<usize>,
    text: String,
    /// `None`: the word of an option zmreip does not know (text).
    place: Option<OptPlace>,
    negated: bool,
}

/// A command line of a rules file: its values and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rule {
    values: Vec<Value>,
    /// The `-j`/`-g` target, if any.
    target: Option<String>,
    /// The chain `-A`/`-I`/... names.
    chain: Option<String>,
}

impl Rule {
    /// The fields of the rule, read with the verdicts of the file's
    /// chains; `list`: an accepted source network that stays may gain the
    /// new host beside it (`-s NET,NEW`, which iptables-restore expands
    /// into one rule per address).
    pub(super) fn fields(&self, verdicts: &Verdicts, list: bool) -> Vec<Field> {
        let verdict = verdicts.of(self.target.as_deref());
        self.fields_as(verdict, list)
    }

    /// The fields of the rule for a known verdict.
    pub(super) fn fields_as(&self, verdict: Verdict, list: bool) -> Vec<Field> {
        self.values
            .iter()
            .map(|v| {
                let Some(p) = v.place else {
                    return Field::new(v.span.clone(), ValueKind::Text);
                };
                let place = match p {
                    OptPlace::Source => Place::Source { negated: v.negated },
                    OptPlace::Destination => Place::Destination,
                    OptPlace::Target => Place::Target,
                };
                Field::new(
                    v.span.clone(),
                    firewall::kind(place, verdict, &v.text, list),
                )
                .joined(",")
            })
            .collect()
    }
}

/// Reads one line of a rules file; `None` for lines that are not
/// commands (comments, tables, chains, `COMMIT`, blanks).
pub(super) fn rule_line(path: &str, n: usize, line: &str) -> Result<Option<Rule>> {
    let t = line.trim_start();
    if t.is_empty()
        || t.starts_with('#')
        || t.starts_with('*')
        || t.starts_with(':')
        || t.trim_end() == "COMMIT"
    {
        return Ok(None);
    }
    let start = line.len() - t.len();
    // `[packets:bytes] -A ...` (iptables-save -c).
    let start = if t.starts_with('[') {
        match t.find(']') {
            Some(e) => start + e + 1,
            None => {
                return Err(bad(
                    path,
                    n,
                    "the counters `[packets:bytes]` are not closed",
                ));
            }
        }
    } else {
        start
    };
    if !line[start..].trim_start().starts_with('-') {
        return Err(bad(
            path,
            n,
            format!(
                "`{}` is not a rule, a table, a chain or COMMIT",
                line.trim()
            ),
        ));
    }
    parse_rule(line, start)
        .map(Some)
        .map_err(|m| bad(path, n, m))
}

fn bad(path: &str, n: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_string(),
        line: n,
        message: message.into(),
        help: Some(
            "fix the line (`iptables-restore --test FILE` reads it the same way), or move the file away if it is not loaded"
                .into(),
        ),
    }
}

/// Commands that name a chain as their first argument.
const CHAIN_COMMANDS: &[&str] = &[
    "-A",
    "--append",
    "-I",
    "--insert",
    "-R",
    "--replace",
    "-D",
    "--delete",
    "-N",
    "--new-chain",
];

/// Reads the iptables arguments in `line[from..]` (a command, or the
/// arguments of a firewalld direct rule). `Err` says what is wrong.
pub(super) fn parse_rule(line: &str, from: usize) -> std::result::Result<Rule, String> {
    let ws = words(line, from);
    let mut rule = Rule {
        values: Vec::new(),
        target: None,
        chain: None,
    };
    let mut negated = false;
    let mut i = 0;
    while i < ws.len() {
        let w = &ws[i];
        i += 1;
        if w.quoted {
            continue;
        }
        if w.text == "!" {
            negated = true;
            continue;
        }
        let name = w.text.as_str();
        if CHAIN_COMMANDS.contains(&name) {
            match ws.get(i) {
                Some(c) if !c.text.starts_with('-') => {
                    rule.chain = Some(c.text.clone());
                    i += 1;
                }
                _ => return Err(format!("`{name}` needs a chain name")),
            }
            negated = false;
            continue;
        }
        if matches!(name, "-j" | "--jump" | "-g" | "--goto") {
            match ws.get(i) {
                Some(t) => {
                    rule.target = Some(t.text.clone());
                    i += 1;
                }
                None => return Err(format!("`{name}` needs a target")),
            }
            negated = false;
            continue;
        }
        if !name.starts_with('-') || name == "-" {
            // A value of an unknown option, read as text.
            rule.values.push(Value {
                span: w.span.clone(),
                text: w.text.clone(),
                place: None,
                negated: false,
            });
            continue;
        }
        match OPTIONS.iter().find(|(o, _)| *o == name).map(|(_, k)| *k) {
            Some(Opt::Addr(place)) => {
                let mut v = ws.get(i).filter(|v| !v.quoted);
                // The old form `-s ! 10.0.0.1`.
                if v.is_some_and(|v| v.text == "!") {
                    negated = true;
                    i += 1;
                    v = ws.get(i).filter(|v| !v.quoted);
                }
                let Some(v) = v else {
                    return Err(format!("`{name}` needs an address"));
                };
                rule.values.push(Value {
                    span: v.span.clone(),
                    text: v.text.clone(),
                    place: Some(place),
                    negated,
                });
                i += 1;
            }
            Some(Opt::Skip) => {
                // The option's own words up to the next option.
                while ws
                    .get(i)
                    .is_some_and(|v| v.quoted || !v.text.starts_with('-'))
                {
                    i += 1;
                }
            }
            None => {}
        }
        negated = false;
    }
    Ok(rule)
}

/// The verdict of each chain of one table of a rules file, by what its
/// rules do.
#[derive(Debug, Default)]
pub(super) struct Verdicts {
    chains: BTreeMap<String, Verdict>,
}

impl Verdicts {
    /// The verdict of a rule with this target.
    pub(super) fn of(&self, target: Option<&str>) -> Verdict {
        match target {
            Some("ACCEPT") => Verdict::Accept,
            Some("DROP" | "REJECT" | "TARPIT") => Verdict::Deny,
            Some(t) => self.chains.get(t).copied().unwrap_or_else(|| by_name(t)),
            None => Verdict::Other,
        }
    }
}

/// The verdict of a chain defined elsewhere, by its name
/// (`ufw-user-limit-accept`, `L_DROP`), else `Other`.
fn by_name(chain: &str) -> Verdict {
    let lower = chain.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if chain
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && !chain.contains('_')
    {
        // A target extension (LOG, DNAT, MARK, RETURN, ...).
        return Verdict::Other;
    }
    match (
        has(&["accept", "allow"]),
        has(&["drop", "reject", "deny", "block"]),
    ) {
        (true, false) => Verdict::Accept,
        (false, true) => Verdict::Deny,
        _ => Verdict::Other,
    }
}

/// The chains of a rules file, per table, with the targets of their rules.
#[derive(Debug, Default)]
pub(super) struct Chains {
    /// (table, chain) → targets of its rules.
    targets: BTreeMap<(String, String), BTreeSet<String>>,
}

impl Chains {
    /// Reads every table's chains (`:NAME`, `-N NAME`) and the targets of
    /// their rules. Errors as [`Iptables::analyze`] would give them.
    pub(super) fn read(path: &str, text: &str) -> Result<Chains> {
        let mut c = Chains::default();
        let mut table = String::new();
        for (i, raw) in text.split('\n').enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let t = line.trim();
            if let Some(name) = t.strip_prefix('*') {
                table = name.trim().to_string();
            } else if let Some(decl) = t.strip_prefix(':') {
                let name = decl.split_whitespace().next().unwrap_or_default();
                c.targets
                    .entry((table.clone(), name.to_string()))
                    .or_default();
            } else if let Some(rule) = rule_line(path, i + 1, line)?
                && let Some(chain) = rule.chain
            {
                let e = c.targets.entry((table.clone(), chain)).or_default();
                if let Some(t) = rule.target {
                    e.insert(t);
                }
            }
        }
        Ok(c)
    }

    /// The verdict of each chain of `table`: accepting when its rules
    /// accept and never drop, denying when they drop and never accept,
    /// following jumps to other chains of the table.
    pub(super) fn verdicts(&self, table: &str) -> Verdicts {
        let mut v = Verdicts::default();
        for (t, chain) in self.targets.keys() {
            if t == table {
                let mut seen = BTreeSet::new();
                v.chains
                    .insert(chain.clone(), self.verdict(table, chain, &mut seen));
            }
        }
        v
    }

    fn verdict(&self, table: &str, chain: &str, seen: &mut BTreeSet<String>) -> Verdict {
        if !seen.insert(chain.to_string()) {
            return Verdict::Other;
        }
        let Some(targets) = self.targets.get(&(table.to_string(), chain.to_string())) else {
            return by_name(chain);
        };
        let (mut accept, mut deny) = (false, false);
        for t in targets {
            let v = match t.as_str() {
                "ACCEPT" => Verdict::Accept,
                "DROP" | "REJECT" | "TARPIT" => Verdict::Deny,
                other
                    if self
                        .targets
                        .contains_key(&(table.to_string(), other.to_string())) =>
                {
                    self.verdict(table, other, seen)
                }
                other => by_name(other),
            };
            accept |= v == Verdict::Accept;
            deny |= v == Verdict::Deny;
        }
        match (accept, deny) {
            (true, false) => Verdict::Accept,
            (false, true) => Verdict::Deny,
            _ => Verdict::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Target;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes};

    const PATH: &str = "/etc/iptables/rules.v4";

    /// Plans `text` (lines after a `*filter` header, with the chains
    /// `ZIMBRA` accepting and `BLOCK` dropping) and returns what each
    /// rule line becomes and the warning codes.
    fn plan(moves: &[(&str, &str)], rules: &[&str]) -> (Vec<(String, String)>, Vec<String>) {
        let fx = Fixture::new(moves);
        let mut text = String::from(
            "*filter\n:INPUT DROP [0:0]\n:ZIMBRA - [0:0]\n:BLOCK - [0:0]\n-A ZIMBRA -j ACCEPT\n-A BLOCK -j LOG\n-A BLOCK -j DROP\n",
        );
        for r in rules {
            text.push_str(r);
            text.push('\n');
        }
        text.push_str("COMMIT\n");
        let r = Iptables.analyze(PATH, &text, &fx.plan()).unwrap();
        let ch = changes(&r).into_iter().map(|(_, b, a)| (b, a)).collect();
        let codes = r.warnings.iter().map(|w| w.code.to_string()).collect();
        (ch, codes)
    }

    /// `(rule, after or None, warning codes)`.
    type Case = (&'static str, Option<&'static str>, &'static [&'static str]);

    fn check(moves: &[(&str, &str)], cases: &[Case]) {
        for (rule, after, codes) in cases {
            let (ch, got_codes) = plan(moves, &[rule]);
            let want: Vec<(String, String)> = after
                .iter()
                .map(|a| (rule.to_string(), a.to_string()))
                .collect();
            assert_eq!(ch, want, "{rule}");
            assert_eq!(got_codes, *codes, "warnings of {rule}");
        }
    }

    #[test]
    fn own_address_and_allow_lists() {
        check(
            V4,
            &[
                // The host's own address as destination moves, with its
                // spelling (a /32 stays a /32).
                (
                    "-A INPUT -d 192.168.2.1/32 -p tcp -m tcp --dport 25 -j ACCEPT",
                    Some("-A INPUT -d 10.40.7.131/32 -p tcp -m tcp --dport 25 -j ACCEPT"),
                    &[],
                ),
                (
                    "-A INPUT -d 192.168.2.1 -j ACCEPT",
                    Some("-A INPUT -d 10.40.7.131 -j ACCEPT"),
                    &[],
                ),
                // Trap: a neighbour, in the same network.
                ("-A INPUT -d 192.168.2.10/32 -j ACCEPT", None, &[]),
                ("-A INPUT -s 192.168.2.10 -j ACCEPT", None, &[]),
                // The interface network follows, in an accepting rule.
                (
                    "-A INPUT -s 192.168.2.0/24 -p tcp --dport 7071 -j ACCEPT",
                    Some("-A INPUT -s 10.40.7.0/24 -p tcp --dport 7071 -j ACCEPT"),
                    &[],
                ),
                // A wider network stays; the new host joins it in the list.
                (
                    "-A INPUT -s 192.168.0.0/16 -j ACCEPT",
                    Some("-A INPUT -s 192.168.0.0/16,10.40.7.131 -j ACCEPT"),
                    &["trust-network-kept"],
                ),
                (
                    "-A INPUT -s 172.16.0.0/12,192.168.0.0/16 -j ZIMBRA",
                    Some("-A INPUT -s 172.16.0.0/12,192.168.0.0/16,10.40.7.131 -j ZIMBRA"),
                    &["trust-network-kept"],
                ),
                (
                    "-A INPUT --source 192.168.2.1,192.168.2.10 -j ACCEPT",
                    Some("-A INPUT --source 10.40.7.131,192.168.2.10 -j ACCEPT"),
                    &[],
                ),
                // A source the rule drops: exact entries swap, networks
                // stay (never widened into a deny of the new host).
                (
                    "-A INPUT -s 192.168.0.0/16 -j DROP",
                    None,
                    &["network-unchanged"],
                ),
                (
                    "-A INPUT -s 192.168.0.0/16 -j BLOCK",
                    None,
                    &["network-unchanged"],
                ),
                (
                    "-A INPUT -s 192.168.2.1 -j REJECT --reject-with icmp-host-prohibited",
                    Some("-A INPUT -s 10.40.7.131 -j REJECT --reject-with icmp-host-prohibited"),
                    &[],
                ),
                // "Drop all but my network": the negated source is an
                // allow-list; nothing can be added to a negation.
                (
                    "-A INPUT ! -s 192.168.2.0/24 -p tcp --dport 389 -j DROP",
                    Some("-A INPUT ! -s 10.40.7.0/24 -p tcp --dport 389 -j DROP"),
                    &[],
                ),
                (
                    "-A INPUT -s ! 192.168.0.0/16 -j DROP",
                    None,
                    &["trust-rule-needed"],
                ),
                (
                    "-A INPUT ! -s 192.168.0.0/16 -j ACCEPT",
                    None,
                    &["network-unchanged"],
                ),
            ],
        );
    }

    #[test]
    fn nat_targets_ranges_and_text() {
        check(
            V4,
            &[
                (
                    "-A PREROUTING -d 203.0.113.40/32 -p tcp --dport 25 -j DNAT --to-destination 192.168.2.1:25",
                    Some(
                        "-A PREROUTING -d 203.0.113.40/32 -p tcp --dport 25 -j DNAT --to-destination 10.40.7.131:25",
                    ),
                    &[],
                ),
                (
                    "-A PREROUTING -p tcp --dport 25 -j DNAT --to-destination 192.168.2.10:25",
                    None,
                    &[],
                ),
                (
                    "-A POSTROUTING -s 192.168.2.1/32 -o eth0 -j SNAT --to-source 203.0.113.40",
                    Some(
                        "-A POSTROUTING -s 10.40.7.131/32 -o eth0 -j SNAT --to-source 203.0.113.40",
                    ),
                    &[],
                ),
                (
                    "-A POSTROUTING -o eth0 -j SNAT --to-source 192.168.2.1",
                    Some("-A POSTROUTING -o eth0 -j SNAT --to-source 10.40.7.131"),
                    &[],
                ),
                // Ranges never change, inside or at an end.
                (
                    "-A INPUT -m iprange --src-range 192.168.2.1-192.168.2.9 -j ACCEPT",
                    None,
                    &["range-unchanged"],
                ),
                (
                    "-A INPUT -m iprange ! --dst-range 192.168.1.200-192.168.2.9 -j ACCEPT",
                    None,
                    &["range-unchanged"],
                ),
                (
                    "-A POSTROUTING -j SNAT --to-source 192.168.1.250-192.168.2.20",
                    None,
                    &["range-unchanged"],
                ),
                (
                    "-A INPUT -m iprange --src-range 192.168.2.10-192.168.2.19 -j ACCEPT",
                    None,
                    &[],
                ),
                // Quoted texts and free-text options never change.
                (
                    "-A INPUT -s 192.168.2.1 -m comment --comment \"mail 192.168.2.1\" -j ACCEPT",
                    Some(
                        "-A INPUT -s 10.40.7.131 -m comment --comment \"mail 192.168.2.1\" -j ACCEPT",
                    ),
                    &[],
                ),
                ("-A INPUT -j LOG --log-prefix 192.168.2.1", None, &[]),
                (
                    "-A INPUT -m string --string 192.168.2.1 --algo bm -j DROP",
                    None,
                    &[],
                ),
                // An option zmreip does not know: literal replacement.
                (
                    "-A OUTPUT -m future --peer 192.168.2.1 -j ACCEPT",
                    Some("-A OUTPUT -m future --peer 10.40.7.131 -j ACCEPT"),
                    &[],
                ),
                // Counters in front, as iptables-save -c writes them.
                (
                    "[12:3456] -A INPUT -d 192.168.2.1/32 -j ACCEPT",
                    Some("[12:3456] -A INPUT -d 10.40.7.131/32 -j ACCEPT"),
                    &[],
                ),
            ],
        );
    }

    #[test]
    fn a_scan_finds_ranges_that_hold_the_address() {
        let fx = Fixture::new(V4);
        let text = "*filter\n-A INPUT -m iprange --src-range 192.168.1.200-192.168.2.9 -j ACCEPT\n-A INPUT -m iprange --src-range 192.168.2.10-192.168.2.20 -j ACCEPT\n-A INPUT -m iprange --dst-range 192.168.2.1-192.168.2.5 -j ACCEPT\nCOMMIT\n";
        let r = Iptables.analyze(PATH, text, &fx.scan()).unwrap();
        let got: Vec<(usize, String, &str)> = r
            .findings
            .iter()
            .map(|f| {
                let Target::Line { line, .. } = f.target else {
                    panic!()
                };
                (line, f.matched.clone(), f.kind.as_str())
            })
            .collect();
        assert_eq!(
            got,
            [
                (2, "192.168.1.200-192.168.2.9".into(), "network-contains"),
                (4, "192.168.2.1-192.168.2.5".into(), "network-contains")
            ]
        );
    }

    #[test]
    fn ip6tables_spellings() {
        check(
            DUAL,
            &[
                (
                    "-A INPUT -d 2001:db8:14::25/128 -p tcp -m tcp --dport 25 -j ACCEPT",
                    Some("-A INPUT -d 2001:db8:7::131/128 -p tcp -m tcp --dport 25 -j ACCEPT"),
                    &[],
                ),
                (
                    "-A INPUT -s 2001:db8:14::/64 -p ipv6-icmp -j ACCEPT",
                    Some("-A INPUT -s 2001:db8:7::/64 -p ipv6-icmp -j ACCEPT"),
                    &[],
                ),
                (
                    "-A INPUT -d 2001:DB8:14:0:0:0:0:25 -j ACCEPT",
                    Some("-A INPUT -d 2001:DB8:7:0:0:0:0:131 -j ACCEPT"),
                    &[],
                ),
                ("-A INPUT -d 2001:db8:14::250/128 -j ACCEPT", None, &[]),
                (
                    "-A PREROUTING -j DNAT --to-destination [2001:db8:14::25]:25",
                    Some("-A PREROUTING -j DNAT --to-destination [2001:db8:7::131]:25"),
                    &[],
                ),
            ],
        );
    }

    #[test]
    fn chains_verdicts_follow_jumps_and_names() {
        let text = "*filter\n:INPUT DROP [0:0]\n:A - [0:0]\n:B - [0:0]\n:MIXED - [0:0]\n-A A -j B\n-A B -p tcp -j ACCEPT\n-A MIXED -j ACCEPT\n-A MIXED -j DROP\n-A INPUT -j A\nCOMMIT\n*nat\n:A - [0:0]\n-A A -j DROP\nCOMMIT\n";
        let c = Chains::read(PATH, text).unwrap();
        let f = c.verdicts("filter");
        assert_eq!(f.of(Some("A")), Verdict::Accept);
        assert_eq!(f.of(Some("MIXED")), Verdict::Other);
        assert_eq!(f.of(Some("LOG")), Verdict::Other);
        assert_eq!(f.of(None), Verdict::Other);
        // Defined elsewhere (ufw's chains): by name.
        assert_eq!(f.of(Some("ufw-user-limit-accept")), Verdict::Accept);
        assert_eq!(f.of(Some("ufw-logging-deny")), Verdict::Deny);
        assert_eq!(f.of(Some("L_ACCEPT")), Verdict::Accept);
        // Chains are per table.
        assert_eq!(c.verdicts("nat").of(Some("A")), Verdict::Deny);
        // A loop ends.
        let c = Chains::read(PATH, "*filter\n:X - [0:0]\n-A X -j X\nCOMMIT\n").unwrap();
        assert_eq!(c.verdicts("filter").of(Some("X")), Verdict::Other);
    }

    #[test]
    fn words_and_quotes_as_iptables_restore_reads_them() {
        // (line, words, quoted)
        let cases: &[(&str, &[&str])] = &[
            (
                r#"-A X -m comment --comment "a \"b\" c" -j LOG "#,
                &[
                    "-A",
                    "X",
                    "-m",
                    "comment",
                    "--comment",
                    "a \"b\" c",
                    "-j",
                    "LOG",
                ],
            ),
            // Single quotes are ordinary characters.
            ("--comment 'a b'", &["--comment", "'a", "b'"]),
            // Glued quotes are one word.
            (r#"--comment x"y z"w -j"#, &["--comment", "xy zw", "-j"]),
            // A quote never closed runs to the end of the line.
            (
                r#"--comment "open -j ACCEPT"#,
                &["--comment", "open -j ACCEPT"],
            ),
            ("  \t ", &[]),
        ];
        for (line, want) in cases {
            let got: Vec<String> = words(line, 0).into_iter().map(|w| w.text).collect();
            assert_eq!(got, *want, "{line}");
        }
        let w = words(r#"-s 1.2.3.4 "5.6.7.8""#, 0);
        assert_eq!(
            w.iter()
                .map(|w| (w.span.clone(), w.quoted))
                .collect::<Vec<_>>(),
            [(0..2, false), (3..10, false), (11..20, true)]
        );
    }

    #[test]
    fn bad_lines_are_errors_at_their_line() {
        let fx = Fixture::new(V4);
        for (text, line, what) in [
            ("*filter\nACCEPT all\nCOMMIT\n", 2, "is not a rule"),
            ("*filter\n-A INPUT -s\nCOMMIT\n", 2, "needs an address"),
            ("*filter\n\n-A INPUT -j\n", 3, "needs a target"),
            ("*filter\n-A\n", 2, "needs a chain"),
            ("[1:2 -A INPUT\n", 1, "not closed"),
        ] {
            let e = Iptables.analyze(PATH, text, &fx.scan()).unwrap_err();
            let s = e.to_string();
            assert!(
                s.starts_with(&format!("{PATH}:{line}: ")) && s.contains(what),
                "{text:?}: {s}"
            );
            assert!(e.help().is_some());
        }
    }

    #[test]
    fn files_and_load_commands() {
        let fx = Fixture::new(V4);
        assert!(Iptables.files(&fx.scan()).unwrap().is_empty());
        fx.write("/etc/iptables/rules.v4", "");
        fx.write("/etc/sysconfig/ip6tables", "");
        std::fs::create_dir_all(fx.host.shown("/etc/sysconfig/iptables")).unwrap();
        assert_eq!(
            Iptables.files(&fx.scan()).unwrap(),
            ["/etc/iptables/rules.v4", "/etc/sysconfig/ip6tables"]
        );
        for (file, cmd) in [
            ("/etc/iptables/rules.v6", "netfilter-persistent reload"),
            (
                "/etc/sysconfig/iptables",
                "iptables-restore < /etc/sysconfig/iptables",
            ),
            (
                "/etc/sysconfig/ip6tables",
                "ip6tables-restore < /etc/sysconfig/ip6tables",
            ),
        ] {
            assert_eq!(load(file, "", 1), cmd);
        }
    }

    #[test]
    fn peer_role_swaps_exact_and_keeps_networks_with_the_new_host() {
        let fx = Fixture::new(V4);
        let rw = fx.rewriter.clone().with_role(crate::policy::Role::Peer);
        let ctx = Ctx::new(&fx.host, &fx.matcher, Some(&rw));
        let text = "*filter\n-A INPUT -s 192.168.2.0/24 -p tcp --dport 389 -j ACCEPT\n-A INPUT -s 192.168.2.1/32 -p tcp --dport 25 -j ACCEPT\n-A INPUT -d 192.168.2.2 -j ACCEPT\nCOMMIT\n";
        let r = Iptables.analyze(PATH, text, &ctx).unwrap();
        assert_eq!(
            changes(&r),
            vec![
                (
                    2,
                    "-A INPUT -s 192.168.2.0/24 -p tcp --dport 389 -j ACCEPT".into(),
                    "-A INPUT -s 192.168.2.0/24,10.40.7.131 -p tcp --dport 389 -j ACCEPT".into()
                ),
                (
                    3,
                    "-A INPUT -s 192.168.2.1/32 -p tcp --dport 25 -j ACCEPT".into(),
                    "-A INPUT -s 10.40.7.131/32 -p tcp --dport 25 -j ACCEPT".into()
                ),
            ]
        );
    }
}
