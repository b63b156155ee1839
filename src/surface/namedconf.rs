//! Surface `namedconf`: BIND's configuration, named.conf and every file
//! it includes, where an address of this host sits in address match
//! lists, source options, server lists and control channels; and
//! rndc.conf, which says where named's control channel is. What each
//! option's addresses are is BIND knowledge kept as a table
//! ([`crate::dns::zone::namedconf::options`]); what becomes of them:
//!
//! * Where named listens (`listen-on`, `listen-on-v6`, the `*-on` lists,
//!   `match-destinations`) and who it serves (`allow-query`,
//!   `allow-transfer`, `acl`, `match-clients`, a channel's `allow`, ...)
//!   are address match lists, changed by the trust rules (DESIGN
//!   principle 4): the old address becomes the new one in the same
//!   spelling, the old interface network the new one, and a wider
//!   network that holds the old address stays with the new address
//!   added right after it. So named keeps listening on the address the
//!   host moves to (resolv.conf's `nameserver` moves with it), and no
//!   list lets in more than before.
//! * Source addresses (`query-source`, `transfer-source`,
//!   `notify-source`, ...) and a channel's `inet ADDRESS` move.
//! * Lists of other servers (`also-notify`, `primaries`, `forwarders`,
//!   `server ADDRESS`): only an entry that *is* the old address changes.
//! * Lists that refuse (`blackhole`, `deny-answer-addresses`) and negated
//!   entries (`!ADDRESS`) never move to the new address; an option zmreip
//!   does not know is never changed. Both are reported.
//! * `key` statements are never read for addresses, and a line holding a
//!   key's `secret` is never changed or shown.
//!
//! named re-reads its configuration, rescans its interfaces and binds
//! the new listen addresses on `rndc reload`; a moved control channel
//! needs a restart instead, since `rndc` itself talks to named through it.
//! Edits are in place: every other byte of a file stays as it is.

use super::edits::LineEdits;
use super::{Ctx, FileSurface, Surface, at, find};
use crate::dns::zone::namedconf::options::{self, Holds};
use crate::dns::zone::namedconf::{self, Config, Stmt, Word};
use crate::error::Result;
use crate::model::{Change, Report, Target, Value};
use crate::notice::{Code, Notice};
use crate::policy::{EntryChange, ValueKind};
use crate::services::{Action, Service};

/// The `namedconf` surface.
pub struct NamedConf;

impl FileSurface for NamedConf {
    /// named.conf and rndc.conf, and every file they include.
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let mut files: Vec<String> = all_configs(ctx)?
            .into_iter()
            .flat_map(|c| c.files)
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let mut report = Report::default();
        for config in all_configs(ctx)? {
            if config.files.iter().any(|f| f == path) {
                let r = analyze_config(&config, path, text, ctx);
                report.findings.extend(r.findings);
                report.changes.extend(r.changes);
                report.warnings.extend(r.warnings);
            }
        }
        Ok(report)
    }
}

/// named's configurations, then rndc's.
fn all_configs(ctx: &Ctx) -> Result<Vec<Config>> {
    let mut all = namedconf::configs(ctx.host)?;
    all.extend(namedconf::rndc_configs(ctx.host)?);
    Ok(all)
}

/// The service actions a named.conf change needs: a reload, or a restart
/// when the address after `inet` (a control or statistics channel)
/// changes, since `rndc reload` would be sent to the channel being moved.
/// rndc reads rndc.conf each time it runs: none for it.
pub fn actions(c: &Change) -> &'static [(Service, Action)] {
    const RELOAD: &[(Service, Action)] = &[(Service::Named, Action::Reload)];
    const RESTART: &[(Service, Action)] = &[(Service::Named, Action::Restart)];
    if let Target::Line { file, .. } = &c.target
        && namedconf::RNDC_FILES.contains(&file.as_str())
    {
        return &[];
    }
    let (Value::One(before), Value::One(after)) = (&c.before, &c.after) else {
        return RELOAD;
    };
    let words = |l: &str| -> Option<Vec<String>> {
        Some(
            namedconf::syntax::words(l)?
                .into_iter()
                .map(|w| w.text)
                .collect(),
        )
    };
    // A line zmreip cannot read alone (inside a comment or a string)
    // gets the action that is right in any case.
    let (Some(b), Some(a)) = (words(before), words(after)) else {
        return RESTART;
    };
    let channel_moves = b
        .iter()
        .enumerate()
        .any(|(i, w)| w == "inet" && b.get(i + 1) != a.get(i + 1));
    if channel_moves { RESTART } else { RELOAD }
}

/// How one word holding an address is treated.
#[derive(Debug, Clone, Copy)]
enum Use {
    /// An entry of a list: decided with its siblings.
    Entry,
    /// A value of its own, of this kind.
    Single(ValueKind),
    /// Reported, never changed: why.
    Kept(&'static str),
}

/// A word that may hold an address, where it is and how it is treated.
struct Site<'a> {
    word: &'a Word,
    stmt: &'a Stmt,
    /// The option it belongs to, for messages.
    option: String,
    what: Use,
}

/// An address match list or server list: its entries (one word each)
/// are decided together.
struct List<'a> {
    kind: ValueKind,
    option: String,
    entries: Vec<(&'a Word, &'a Stmt)>,
}

/// Walks a configuration and classifies every word that may hold an
/// address.
#[derive(Default)]
struct Walk<'a> {
    sites: Vec<Site<'a>>,
    lists: Vec<List<'a>>,
}

/// Why an address is kept, by what it is.
const NEGATED: &str =
    "a negated entry (`!`) refuses the address; zmreip never moves a refusal to the new address";
const DENIED: &str =
    "the list refuses or filters addresses; zmreip never moves an entry of it to the new address";
const UNKNOWN: &str =
    "zmreip does not know what this option's addresses are, so it changes none of them";

impl<'a> Walk<'a> {
    /// Statements of an options-like block (top level, `options`,
    /// `view`, `zone`, `server`, `controls`, ...).
    fn block(&mut self, stmts: &'a [Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &'a Stmt) {
        let Some(kw) = s.keyword() else {
            // A bare `{ ... }`: nothing BIND knows.
            if let Some(b) = &s.block {
                self.block(b);
            }
            return;
        };
        let holds = options::holds(kw);
        if holds == Some(Holds::Secret) {
            return;
        }
        let words = &s.words[1..];
        match holds {
            Some(Holds::Source) => {
                for w in words {
                    self.site(s, w, Use::Single(ValueKind::OwnAddress));
                }
            }
            Some(Holds::Channel) => {
                // `inet ADDRESS [port N] [allow { ... }]`
                if let Some((addr, rest)) = words.split_first() {
                    self.site(s, addr, Use::Single(ValueKind::OwnAddress));
                    self.unknown(s, rest);
                }
            }
            Some(Holds::Server) => {
                if let Some((addr, rest)) = words.split_first() {
                    self.site(s, addr, Use::Single(ValueKind::OtherHost));
                    self.unknown(s, rest);
                }
            }
            Some(_) => self.unknown(s, words),
            // Not an option zmreip knows: its keyword may be an address
            // too (`sortlist { { 10.0.0.1; }; };`).
            None => self.unknown(s, &s.words),
        }
        let Some(block) = &s.block else {
            return;
        };
        let option = options::block_option(&s.words).unwrap_or(kw);
        match options::holds(option) {
            Some(h @ (Holds::Clients | Holds::Own | Holds::Denied | Holds::Servers)) => {
                self.list(block, h, option);
            }
            _ => self.block(block),
        }
    }

    /// Words of an option zmreip does not read as addresses.
    fn unknown(&mut self, s: &'a Stmt, words: &'a [Word]) {
        for w in words {
            self.site(s, w, Use::Kept(UNKNOWN));
        }
    }

    fn site(&mut self, s: &'a Stmt, w: &'a Word, what: Use) {
        self.sites.push(Site {
            word: w,
            stmt: s,
            option: option_of(s),
            what,
        });
    }

    /// The elements of an address match list or server list.
    fn list(&mut self, elems: &'a [Stmt], holds: Holds, option: &str) {
        let kind = match holds {
            Holds::Servers => ValueKind::OtherHost,
            _ => ValueKind::TrustList { loopback: false },
        };
        let n = self.lists.len();
        self.lists.push(List {
            kind,
            option: option.to_string(),
            entries: Vec::new(),
        });
        for e in elems {
            if let Some(nested) = &e.block {
                // A nested list `{ ... };`, or `!{ ... };`.
                let negated = e.arg(0) == Some("!");
                self.unknown(e, &e.words);
                self.list(nested, if negated { Holds::Denied } else { holds }, option);
                continue;
            }
            let Some(first) = e.words.first() else {
                continue;
            };
            let t = first.text.as_str();
            if t == "key" {
                // `key NAME`: a TSIG key's name.
                continue;
            }
            let negated = t.starts_with('!');
            let plain = !first.quoted && !negated && crate::addr::parse_with_prefix(t).is_some();
            match holds {
                _ if negated => {
                    for w in &e.words {
                        self.sites.push(Site {
                            word: w,
                            stmt: e,
                            option: option.to_string(),
                            what: Use::Kept(NEGATED),
                        });
                    }
                }
                Holds::Denied => {
                    for w in &e.words {
                        self.sites.push(Site {
                            word: w,
                            stmt: e,
                            option: option.to_string(),
                            what: Use::Kept(DENIED),
                        });
                    }
                }
                _ if plain => {
                    self.lists[n].entries.push((first, e));
                    self.sites.push(Site {
                        word: first,
                        stmt: e,
                        option: option.to_string(),
                        what: Use::Entry,
                    });
                    // `ADDRESS port N key K tls T` of a server list.
                    for w in &e.words[1..] {
                        self.sites.push(Site {
                            word: w,
                            stmt: e,
                            option: option.to_string(),
                            what: Use::Kept(UNKNOWN),
                        });
                    }
                }
                _ => {
                    // An ACL or server-list name, `any`, `localhost`, ...
                    for w in &e.words {
                        self.sites.push(Site {
                            word: w,
                            stmt: e,
                            option: option.to_string(),
                            what: Use::Kept(UNKNOWN),
                        });
                    }
                }
            }
        }
    }
}

/// `options listen-on`-style name of where a statement is, for messages.
fn option_of(s: &Stmt) -> String {
    s.keyword().unwrap_or("{").to_string()
}

/// The findings, changes and warnings of `path` within `config`.
fn analyze_config(config: &Config, path: &str, text: &str, ctx: &Ctx) -> Report {
    let mut walk = Walk::default();
    walk.block(&config.stmts);
    let mut report = Report::default();
    let mut edits = LineEdits::default();
    let here = |s: &Stmt| s.file == path;
    let target = |line: usize| Target::Line {
        file: path.to_string(),
        line,
    };

    for site in walk.sites.iter().filter(|s| here(s.stmt)) {
        let found = find(
            ctx.matcher,
            Surface::NamedConf,
            &target(site.word.line),
            &site.word.text,
        );
        if found.is_empty() {
            continue;
        }
        report.findings.extend(found.into_iter().map(|mut f| {
            f.context = format!("{} {}", site.option, site.word.text);
            f
        }));
        if let Use::Kept(why) = site.what
            && ctx.rewriter.is_some()
        {
            report.warnings.push(Notice::new(
                Code::NamedAddressUnchanged,
                format!(
                    "{path}:{}: `{}` in `{}` is left as it is: {why}",
                    site.word.line, site.word.text, site.option
                ),
            ));
        }
    }
    let Some(rw) = ctx.rewriter else {
        return report;
    };

    for site in walk.sites.iter().filter(|s| here(s.stmt)) {
        let Use::Single(kind) = site.what else {
            continue;
        };
        let w = site.word;
        if w.quoted || !ctx.matcher.may_match(&w.text) {
            continue;
        }
        let out = rw.rewrite(&[w.text.as_str()], kind);
        report.warnings.extend(at(out.notes, &target(w.line)));
        if out.changed
            && let Some(after) = out.after.first()
        {
            edits.add(
                path,
                w.line,
                w.span.clone(),
                after.clone(),
                format!("{}: {}", site.option, out.reasons.join("; ")),
            );
        }
    }

    for list in &walk.lists {
        if !list
            .entries
            .iter()
            .any(|(w, _)| ctx.matcher.may_match(&w.text))
        {
            continue;
        }
        let texts: Vec<&str> = list.entries.iter().map(|(w, _)| w.text.as_str()).collect();
        let out = rw.rewrite_entries(&texts, list.kind);
        let reason = format!("{}: {}", list.option, out.reasons.join("; "));
        let mut noted = false;
        for ((w, e), change) in list.entries.iter().zip(out.changes) {
            if !here(e) {
                continue;
            }
            if !noted {
                report
                    .warnings
                    .extend(at(out.notes.clone(), &target(w.line)));
                noted = true;
            }
            match change {
                EntryChange::Keep => {}
                EntryChange::Replace(t) => {
                    edits.add(path, w.line, w.span.clone(), t, reason.clone());
                }
                EntryChange::KeepAndAdd(t) => {
                    let Some((line, col)) = e.semi else { continue };
                    edits.add(
                        path,
                        line,
                        col + 1..col + 1,
                        format!(" {t};"),
                        reason.clone(),
                    );
                }
                EntryChange::Drop => {
                    let Some((line, col)) = e.semi.filter(|(l, _)| *l == w.line) else {
                        continue;
                    };
                    let l = line_of(text, line);
                    let spaces = l[col + 1..]
                        .bytes()
                        .take_while(|b| *b == b' ' || *b == b'\t')
                        .count();
                    edits.add(
                        path,
                        line,
                        w.span.start..col + 1 + spaces,
                        String::new(),
                        reason.clone(),
                    );
                }
            }
        }
    }

    // A key's secret never goes into a plan, even beside an address.
    let secret_lines: Vec<usize> = edits
        .lines()
        .filter(|(_, l)| holds_secret(line_of(text, *l)))
        .map(|(_, l)| l)
        .collect();
    for l in secret_lines {
        edits.forget(path, l);
        report.warnings.push(Notice::new(
            Code::NamedAddressUnchanged,
            format!("{path}:{l}: the line also holds a key's secret, so zmreip does not change it; move its address by hand"),
        ));
    }
    report
        .changes
        .extend(edits.into_changes(Surface::NamedConf, |_, l| line_of(text, l)));
    report
}

/// Line `n` (1-based) of `text`, without its terminator.
fn line_of(text: &str, n: usize) -> &str {
    let l = text.split('\n').nth(n - 1).unwrap_or("");
    l.strip_suffix('\r').unwrap_or(l)
}

/// Whether a line holds the word `secret` outside a comment.
fn holds_secret(line: &str) -> bool {
    match namedconf::syntax::words(line) {
        Some(words) => words.iter().any(|w| !w.quoted && w.text == "secret"),
        // Not readable alone: assume the worst.
        None => line.contains("secret"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes, found};

    const CONF: &str = "/etc/bind/named.conf";

    /// Plans `text` as named.conf (moving `moves`), returning the report.
    fn plan(moves: &[(&str, &str)], text: &str) -> Report {
        let f = Fixture::new(moves);
        f.write(CONF, text);
        NamedConf.analyze(CONF, text, &f.plan()).unwrap()
    }

    /// Each line is named.conf on its own; `None`: left as it is.
    #[test]
    fn addresses_change_by_what_their_option_is() {
        let table: &[(&str, Option<&str>)] = &[
            // Where named listens: the address moves.
            (
                "options { listen-on { 192.168.2.1; }; };",
                Some("options { listen-on { 10.40.7.131; }; };"),
            ),
            (
                "options { listen-on port 53 { 127.0.0.1; 192.168.2.1; }; };",
                Some("options { listen-on port 53 { 127.0.0.1; 10.40.7.131; }; };"),
            ),
            // Trap: another address that starts the same.
            ("options { listen-on { 192.168.2.10; }; };", None),
            // The old interface network follows the move.
            (
                "options { allow-query { 192.168.2.0/24; }; };",
                Some("options { allow-query { 10.40.7.0/24; }; };"),
            ),
            // A wider network stays; the new address is trusted beside it.
            (
                "options { allow-transfer { 192.168.0.0/16; }; };",
                Some("options { allow-transfer { 192.168.0.0/16; 10.40.7.131; }; };"),
            ),
            // Already trusted: nothing to add.
            (
                "options { allow-transfer { 192.168.0.0/16; 10.0.0.0/8; }; };",
                None,
            ),
            // The new address is there already: the old entry goes.
            (
                "acl a { 192.168.2.1; 10.40.7.131; };",
                Some("acl a { 10.40.7.131; };"),
            ),
            // Refusals never move.
            ("options { allow-query { !192.168.2.1; any; }; };", None),
            ("options { allow-query { ! 192.168.2.1; any; }; };", None),
            ("options { blackhole { 192.168.2.1; }; };", None),
            // Other servers: only the old address itself.
            (
                "zone \"x\" { type secondary; primaries { 192.168.2.1 port 5300 key \"k\"; 192.168.2.10; }; };",
                Some(
                    "zone \"x\" { type secondary; primaries { 10.40.7.131 port 5300 key \"k\"; 192.168.2.10; }; };",
                ),
            ),
            (
                "options { forwarders { 192.168.2.1; 192.0.2.53; }; };",
                Some("options { forwarders { 10.40.7.131; 192.0.2.53; }; };"),
            ),
            (
                "masters m { 192.168.2.1; };",
                Some("masters m { 10.40.7.131; };"),
            ),
            // A network of servers is not the old address.
            ("server 192.168.2.0/24 { bogus yes; };", None),
            // Source addresses move.
            (
                "options { query-source address 192.168.2.1 port 5353; };",
                Some("options { query-source address 10.40.7.131 port 5353; };"),
            ),
            (
                "server 192.168.2.1 { transfer-source 192.168.2.1; };",
                Some("server 10.40.7.131 { transfer-source 10.40.7.131; };"),
            ),
            // A control channel and who may use it.
            (
                "controls { inet 192.168.2.1 port 953 allow { 192.168.2.1; } keys { \"rndc-key\"; }; };",
                Some(
                    "controls { inet 10.40.7.131 port 953 allow { 10.40.7.131; } keys { \"rndc-key\"; }; };",
                ),
            ),
            (
                "view \"in\" { match-clients { 192.168.2.0/24; }; };",
                Some("view \"in\" { match-clients { 10.40.7.0/24; }; };"),
            ),
            // Nested lists are lists too.
            (
                "options { allow-query { { 192.168.2.1; }; }; };",
                Some("options { allow-query { { 10.40.7.131; }; }; };"),
            ),
            // Options zmreip does not know are left alone.
            ("options { sortlist { { 192.168.2.1; }; }; };", None),
            // Comments are not configuration.
            (
                "/* 192.168.2.1 */ options { listen-on { 192.168.2.1; }; }; # 192.168.2.1",
                Some("/* 192.168.2.1 */ options { listen-on { 10.40.7.131; }; }; # 192.168.2.1"),
            ),
            // Key material is never read, and a line with a secret never
            // changes.
            (
                "key \"k\" { algorithm hmac-sha256; secret \"192.168.2.1\"; };",
                None,
            ),
            (
                "key \"k\" { secret \"c2VjcmV0\"; }; options { listen-on { 192.168.2.1; }; };",
                None,
            ),
        ];
        for (text, want) in table {
            let r = plan(V4, text);
            let got = changes(&r);
            match want {
                Some(after) => assert_eq!(
                    got,
                    vec![(1, text.to_string(), after.to_string())],
                    "{text}"
                ),
                None => assert!(got.is_empty(), "{text}: {got:?}"),
            }
        }
    }

    #[test]
    fn what_stays_is_found_and_said() {
        for text in [
            "options { allow-query { !192.168.2.1; any; }; };",
            "options { blackhole { 192.168.2.1; }; };",
            "options { sortlist { { 192.168.2.1; }; }; };",
            "key \"k\" { secret \"c2VjcmV0\"; }; options { listen-on { 192.168.2.1; }; };",
        ] {
            let r = plan(V4, text);
            assert_eq!(found(&r), vec![(1, "192.168.2.1".to_string())], "{text}");
            assert!(
                r.warnings
                    .iter()
                    .any(|w| w.code == Code::NamedAddressUnchanged),
                "{text}: {:?}",
                r.warnings
            );
            assert!(
                r.warnings.iter().all(|w| !w.message.contains("c2VjcmV0")),
                "{text}: a secret in {:?}",
                r.warnings
            );
        }
        // Key material is not even searched.
        let r = plan(V4, "key \"k\" { secret \"192.168.2.1\"; };");
        assert!(r.findings.is_empty() && r.warnings.is_empty(), "{r:?}");
    }

    #[test]
    fn lists_over_lines_and_ipv6_spellings() {
        let text = "options {\n\tlisten-on-v6 { ::1; 2001:DB8:14::25; };\n\tallow-query {\n\t\t192.168.0.0/16;\n\t\t127.0.0.1;\n\t};\n};\n";
        let r = plan(DUAL, text);
        assert_eq!(
            changes(&r),
            vec![
                (
                    2,
                    "\tlisten-on-v6 { ::1; 2001:DB8:14::25; };".into(),
                    "\tlisten-on-v6 { ::1; 2001:DB8:7::131; };".into()
                ),
                (
                    4,
                    "\t\t192.168.0.0/16;".into(),
                    "\t\t192.168.0.0/16; 10.40.7.131;".into()
                ),
            ]
        );
    }

    #[test]
    fn included_files_are_edited_where_the_address_is() {
        let f = Fixture::new(V4);
        f.write(
            CONF,
            "include \"/etc/bind/named.conf.options\";\ninclude \"named.conf.local\";\n",
        );
        let options =
            "options {\n\tdirectory \"/var/cache/bind\";\n\tlisten-on { 192.168.2.1; };\n};\n";
        f.write("/etc/bind/named.conf.options", options);
        f.write(
            "/etc/bind/named.conf.local",
            "zone \"x\" { type primary; file \"db.x\"; also-notify { 192.168.2.1; }; };\n",
        );
        let files = NamedConf.files(&f.plan()).unwrap();
        assert_eq!(
            files,
            vec![
                "/etc/bind/named.conf",
                "/etc/bind/named.conf.local",
                "/etc/bind/named.conf.options"
            ]
        );
        let r = NamedConf
            .analyze("/etc/bind/named.conf.options", options, &f.plan())
            .unwrap();
        assert_eq!(
            changes(&r),
            vec![(
                3,
                "\tlisten-on { 192.168.2.1; };".into(),
                "\tlisten-on { 10.40.7.131; };".into()
            )]
        );
        let r = NamedConf.analyze(CONF, "", &f.plan()).unwrap();
        assert!(r.changes.is_empty() && r.findings.is_empty(), "{r:?}");
    }

    #[test]
    fn a_scan_finds_without_changing() {
        let f = Fixture::new(V4);
        let text = "options { listen-on { 192.168.2.1; }; blackhole { 192.168.2.1; }; };";
        f.write(CONF, text);
        let r = NamedConf.analyze(CONF, text, &f.scan()).unwrap();
        assert_eq!(r.findings.len(), 2);
        assert!(r.changes.is_empty() && r.warnings.is_empty());
        assert_eq!(r.findings[0].context, "listen-on 192.168.2.1");
    }

    #[test]
    fn rndc_follows_the_control_channel() {
        let f = Fixture::new(V4);
        let path = "/etc/bind/rndc.conf";
        let text = "options {\n\tdefault-server 192.168.2.1;\n\tdefault-key \"rndc-key\";\n};\nserver 192.168.2.1 { key \"rndc-key\"; addresses { 192.168.2.1 port 953; 192.168.2.10; }; };\nserver localhost { addresses { 127.0.0.1; }; source-address 192.168.2.1; };\ninclude \"/etc/bind/rndc.key\";\n";
        f.write(path, text);
        f.write(
            "/etc/bind/rndc.key",
            "key \"rndc-key\" { algorithm hmac-sha256; secret \"c2VjcmV0\"; };\n",
        );
        assert_eq!(
            NamedConf.files(&f.plan()).unwrap(),
            vec![path, "/etc/bind/rndc.key"]
        );
        let r = NamedConf.analyze(path, text, &f.plan()).unwrap();
        assert_eq!(
            changes(&r),
            vec![
                (
                    2,
                    "\tdefault-server 192.168.2.1;".into(),
                    "\tdefault-server 10.40.7.131;".into()
                ),
                (
                    5,
                    "server 192.168.2.1 { key \"rndc-key\"; addresses { 192.168.2.1 port 953; 192.168.2.10; }; };".into(),
                    "server 10.40.7.131 { key \"rndc-key\"; addresses { 10.40.7.131 port 953; 192.168.2.10; }; };".into()
                ),
                (
                    6,
                    "server localhost { addresses { 127.0.0.1; }; source-address 192.168.2.1; };".into(),
                    "server localhost { addresses { 127.0.0.1; }; source-address 10.40.7.131; };".into()
                ),
            ]
        );
        // rndc reads its file each time it runs.
        assert!(r.changes.iter().all(|c| actions(c).is_empty()));
    }

    #[test]
    fn a_moved_control_channel_restarts_named() {
        let change = |before: &str, after: &str| Change {
            id: String::new(),
            surface: Surface::NamedConf,
            target: Target::Line {
                file: CONF.into(),
                line: 1,
            },
            before: Value::One(before.into()),
            after: Value::One(after.into()),
            reason: String::new(),
        };
        let restart = &[(Service::Named, Action::Restart)][..];
        let reload = &[(Service::Named, Action::Reload)][..];
        for (before, after, want) in [
            (
                "\tinet 192.168.2.1 port 953 allow { any; } keys { k; };",
                "\tinet 10.40.7.131 port 953 allow { any; } keys { k; };",
                restart,
            ),
            // Only who may use the channel changes.
            (
                "\tinet 127.0.0.1 allow { 192.168.2.1; };",
                "\tinet 127.0.0.1 allow { 10.40.7.131; };",
                reload,
            ),
            (
                "\tlisten-on { 192.168.2.1; };",
                "\tlisten-on { 10.40.7.131; };",
                reload,
            ),
            // Not readable alone: the action that is right anyway.
            ("\"open 192.168.2.1", "\"open 10.40.7.131", restart),
        ] {
            assert_eq!(actions(&change(before, after)), want, "{before}");
        }
    }
}
