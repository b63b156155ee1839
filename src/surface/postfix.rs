//! Surface `postfix`: the Postfix settings Zimbra does not manage, which
//! therefore live where they were written and move with the host.
//!
//! zmconfigd writes `main.cf` parameter by parameter with `postconf -e`,
//! only the ones its `zmconfigd.cf` names, and renders `master.cf` from
//! the `master.cf.in` template (zimbra-config-model.md §3.3). The
//! parameters of [`crate::zimbra::postfix_parameters`] are in neither
//! list: `inet_interfaces` in `main.cf` and the `-o smtp_bind_address=`
//! service options of `master.cf.in` (what `zmreip bind` writes) are the
//! source of truth, not derived text. Everything else in these files is
//! Zimbra's: `main.cf` stays a derived file for every other parameter,
//! and the rest of the template is never touched.
//!
//! Formats (postconf(5), master(5)):
//!
//! * `main.cf`: `name = value`; a line starting with whitespace continues
//!   the logical line before it; a line starting with `#` is a comment.
//!   The last definition of a parameter wins.
//! * `master.cf.in`: a service entry starts with a line of non-space text
//!   (`service type private unpriv chroot wakeup maxproc command`);
//!   lines starting with whitespace continue it (`-o name=value`
//!   options); comment and blank lines do not end it. zmconfigd's
//!   conditional lines (`%%uncomment SERVICE:opendkim%%\t-o ...`) become
//!   a comment or a continuation when rendered: they belong to the entry
//!   too, and zmreip reads no option from them.

use super::{Ctx, Field, FileSurface, Surface, analyze_lines};
use crate::error::Result;
use crate::model::{Change, Report};
use crate::policy::ValueKind;
use crate::services::{Action, Service};
use crate::zimbra;

/// The `postfix` surface.
pub struct Postfix;

/// Postfix's main configuration, relative to Zimbra's home.
pub const MAIN_CF: &str = "common/conf/main.cf";

/// What a change of a line the surface cannot tie to one parameter needs:
/// stopping and starting Postfix makes it read every parameter again.
const RESTART: &[(Service, Action)] = &[(Service::Mta, Action::Restart)];

impl FileSurface for Postfix {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let host = ctx.host;
        let mut out: Vec<String> = [MAIN_CF, zimbra::outbound().template]
            .iter()
            .map(|rel| host.zimbra_path(rel))
            .filter(|p| host.exists(p))
            .collect();
        out.sort();
        Ok(out)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        if is_template(path) {
            return analyze_lines(Surface::Postfix, path, text, ctx, |_, line| {
                Ok(template_fields(line))
            });
        }
        let owned = owned_main_cf_lines(text);
        analyze_lines(Surface::Postfix, path, text, ctx, |n, line| {
            Ok(if owned.contains(&n) {
                main_cf_fields(line)
            } else {
                Vec::new()
            })
        })
    }
}

/// Whether `path` is the `master.cf.in` template (else `main.cf`).
fn is_template(path: &str) -> bool {
    path.ends_with(".in")
}

/// The rule of a parameter zmreip owns, by name.
fn owned(name: &str) -> Option<&'static zimbra::Rule> {
    zimbra::postfix_parameter(name)
}

/// The value field of a `main.cf` line of an owned parameter: after the
/// `=` of its first line, or the whole text of a continuation line.
fn main_cf_fields(line: &str) -> Vec<Field> {
    // A continuation line names no parameter: the one owned parameter of
    // main.cf that takes a list is inet_interfaces.
    let kind = ValueKind::Listen { several: true };
    if line.starts_with([' ', '\t']) {
        let start = line.len() - line.trim_start().len();
        return vec![Field::new(start..line.trim_end().len(), kind)];
    }
    match definition(line) {
        Some((name, value)) => {
            let kind = owned(name).map_or(kind, |r| r.kind);
            vec![Field::new(value, kind)]
        }
        None => Vec::new(),
    }
}

/// `name = value` of a `main.cf` line that starts a logical line: the
/// name and the byte range of the value (trimmed).
fn definition(line: &str) -> Option<(&str, std::ops::Range<usize>)> {
    if line.starts_with(['#', ' ', '\t']) {
        return None;
    }
    let (name, _) = line.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let eq = line.find('=')? + 1;
    let rest = &line[eq..];
    let start = eq + (rest.len() - rest.trim_start().len());
    let end = line.trim_end().len().max(start);
    Some((name, start..end))
}

/// The 1-based lines of `main.cf` that belong to the logical lines of
/// owned parameters (every definition, also overridden ones: a move
/// changes them all).
pub fn owned_main_cf_lines(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_owned = false;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            in_owned = definition(line).is_some_and(|(n, _)| owned(n).is_some());
        }
        if in_owned {
            out.push(i + 1);
        }
    }
    out
}

/// One definition of a `main.cf` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// 1-based line where it starts.
    pub line: usize,
    /// That whole line.
    pub text: String,
    /// The value on that line (continuation lines are not read).
    pub value: String,
    /// Whether continuation lines follow.
    pub continued: bool,
}

/// The definition of `name` Postfix uses (the last one), if any.
pub fn main_cf_definition(text: &str, name: &str) -> Option<Definition> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut found = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some((n, value)) = definition(line)
            && n == name
        {
            let continued = lines[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .is_some_and(|l| l.starts_with([' ', '\t']));
            found = Some(Definition {
                line: i + 1,
                text: line.to_string(),
                value: line[value].to_string(),
                continued,
            });
        }
    }
    found
}

/// The last line of a file (1-based number and text, without its
/// terminator), as apply counts lines; `None` for an empty file.
pub fn last_line(text: &str) -> Option<(usize, &str)> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return None;
    }
    let n = body.split('\n').count();
    let last = body.rsplit('\n').next().unwrap_or(body);
    Some((n, last.strip_suffix('\r').unwrap_or(last)))
}

/// A service entry of `master.cf.in`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterEntry {
    /// The service name (`smtp`, `[%%zimbraLocalBindAddress%%]:10025`).
    pub service: String,
    /// `inet`, `unix`, `pass`, ...
    pub kind: String,
    /// 1-based line of the entry's first line.
    pub line: usize,
    /// That line's text.
    pub text: String,
    /// The entry's last line (its own or a continuation), with its text.
    pub last: usize,
    pub last_text: String,
    /// Its plain `-o name=value` options (not the conditional ones).
    pub options: Vec<MasterOption>,
}

/// One `-o name=value` option line of a service entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterOption {
    pub line: usize,
    pub text: String,
    pub name: String,
    pub value: String,
}

/// The service entries of a `master.cf` or `master.cf.in` text.
pub fn master_entries(text: &str) -> Vec<MasterEntry> {
    let mut out: Vec<MasterEntry> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let n = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("%%") {
            if let Some(e) = out.last_mut() {
                e.last = n;
                e.last_text = line.to_string();
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let Some(e) = out.last_mut() else { continue };
            e.last = n;
            e.last_text = line.to_string();
            for (name, value) in options(line) {
                e.options.push(MasterOption {
                    line: n,
                    text: line.to_string(),
                    name: line[name].to_string(),
                    value: line[value].to_string(),
                });
            }
            continue;
        }
        let mut words = line.split_whitespace();
        let service = words.next().unwrap_or_default().to_string();
        let kind = words.next().unwrap_or_default().to_string();
        out.push(MasterEntry {
            service,
            kind,
            line: n,
            text: line.to_string(),
            last: n,
            last_text: line.to_string(),
            options: Vec::new(),
        });
    }
    out
}

/// The `-o name=value` options of a continuation line: byte ranges of
/// each name and value.
fn options(line: &str) -> Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut words = line
        .split_whitespace()
        .map(|w| {
            let start = w.as_ptr() as usize - line.as_ptr() as usize;
            (start, w)
        })
        .peekable();
    while let Some((_, w)) = words.next() {
        if w != "-o" {
            continue;
        }
        let Some((start, opt)) = words.next() else {
            break;
        };
        let Some(eq) = opt.find('=') else { continue };
        out.push((start..start + eq, start + eq + 1..start + opt.len()));
    }
    out
}

/// The value fields of a `master.cf.in` line: the value of every owned
/// `-o` option of a continuation line, and a service name written as
/// `address:port` (a service bound to one address by hand).
fn template_fields(line: &str) -> Vec<Field> {
    if line.starts_with('#') || line.starts_with("%%") {
        return Vec::new();
    }
    if line.starts_with([' ', '\t']) {
        return options(line)
            .into_iter()
            .filter_map(|(name, value)| owned(&line[name]).map(|r| Field::new(value, r.kind)))
            .collect();
    }
    let service = line.split_whitespace().next().unwrap_or_default();
    if service.contains(':') && !service.contains("%%") {
        let start = line.len() - line.trim_start().len();
        return vec![Field::new(
            start..start + service.len(),
            ValueKind::HostPort,
        )];
    }
    Vec::new()
}

/// The actions a change of this surface needs: those of the owned
/// parameter its new text names (or, for a setting removed, its old
/// text), else a stop and start of Postfix.
pub fn actions_of(c: &Change) -> &'static [(Service, Action)] {
    let text = |v: &crate::model::Value| match v {
        crate::model::Value::One(t) => t.clone(),
        crate::model::Value::Many(_) => String::new(),
    };
    let after = text(&c.after);
    let named = |t: &str| {
        t.split('\n').find_map(|line| {
            if line.starts_with([' ', '\t']) {
                options(line)
                    .into_iter()
                    .find_map(|(name, _)| owned(&line[name]))
            } else {
                definition(line).and_then(|(n, _)| owned(n))
            }
        })
    };
    let rule = if after.trim().is_empty() {
        named(&text(&c.before))
    } else {
        named(&after)
    };
    rule.map_or(RESTART, |r| r.actions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;
    use crate::surface::testutil::{Fixture, V4, changes};

    const MAIN_CF: &str = "# zmconfigd writes most of this\n\
        myhostname = mail.corp.example\n\
        mynetworks = 127.0.0.0/8 192.168.2.1/32\n\
        inet_interfaces = 127.0.0.1,\n\
        \x20   192.168.2.1\n\
        # 192.168.2.1 in a comment\n\
        smtp_bind_address = 192.168.2.10\n\
        relayhost = [192.168.2.1]:25\n";

    const TEMPLATE: &str = "smtp      inet  n       -       n       -       1       postscreen\n\
        smtp      unix  -       -       n       -       -       smtp\n\
        \t-o smtp_bind_address=192.168.2.1\n\
        \t-o smtp_bind_address6=2001:db8::1\n\
        # When relaying mail as backup MX, disable fallback_relay\n\
        relay     unix  -       -       n       -       -       smtp\n\
        #\t-o fallback_relay=\n\
        \t-o mynetworks=192.168.2.1/32\n\
        192.168.2.1:2525 inet n - n - - smtpd\n\
        [%%zimbraLocalBindAddress%%]:10025 inet n  -       n       -       -  smtpd\n\
        %%uncomment SERVICE:opendkim%%\t-o smtp_bind_address=192.168.2.1\n";

    #[test]
    fn main_cf_owned_lines_and_definitions() {
        assert_eq!(owned_main_cf_lines(MAIN_CF), [4, 5, 7]);
        let d = main_cf_definition(MAIN_CF, "inet_interfaces").unwrap();
        assert_eq!(
            (d.line, d.value.as_str(), d.continued),
            (4, "127.0.0.1,", true)
        );
        let d = main_cf_definition(MAIN_CF, "smtp_bind_address").unwrap();
        assert_eq!(
            (d.line, d.value.as_str(), d.continued),
            (7, "192.168.2.10", false)
        );
        // The last definition wins.
        let twice = "inet_interfaces = all\ninet_interfaces = 10.0.0.1 \n";
        let d = main_cf_definition(twice, "inet_interfaces").unwrap();
        assert_eq!((d.line, d.value.as_str()), (2, "10.0.0.1"));
        // Names are whole: `inet_interfaces_x` is another parameter.
        assert!(main_cf_definition("inet_interfaces_x = 1\n", "inet_interfaces").is_none());
        assert!(main_cf_definition("#inet_interfaces = 1\n", "inet_interfaces").is_none());
        assert_eq!(
            owned_main_cf_lines("inet_interfaces_x = 10.0.0.1\n"),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn last_lines_as_apply_counts_them() {
        assert_eq!(last_line("a\nb\n"), Some((2, "b")));
        assert_eq!(last_line("a\nb"), Some((2, "b")));
        assert_eq!(last_line("a\r\nb\r\n"), Some((2, "b")));
        assert_eq!(last_line("a\n\n"), Some((2, "")));
        assert_eq!(last_line(""), None);
    }

    #[test]
    fn master_entries_and_their_options() {
        let e = master_entries(TEMPLATE);
        let smtp = e
            .iter()
            .find(|e| e.service == "smtp" && e.kind == "unix")
            .unwrap();
        assert_eq!((smtp.line, smtp.last), (2, 4));
        let opts: Vec<(usize, &str, &str)> = smtp
            .options
            .iter()
            .map(|o| (o.line, o.name.as_str(), o.value.as_str()))
            .collect();
        assert_eq!(
            opts,
            [
                (3, "smtp_bind_address", "192.168.2.1"),
                (4, "smtp_bind_address6", "2001:db8::1")
            ]
        );
        // The comment inside `relay` does not end it.
        let relay = e.iter().find(|e| e.service == "relay").unwrap();
        assert_eq!((relay.line, relay.last), (6, 8));
        assert_eq!(relay.options[0].name, "mynetworks");
        // A conditional line belongs to the entry; its options are not read.
        let lo = e.iter().find(|e| e.service.ends_with(":10025")).unwrap();
        assert_eq!((lo.last, lo.options.len()), (11, 0));
        assert_eq!(
            options("\t-o a=b -o c=d=e"),
            [(4..5, 6..7), (11..12, 13..16)]
        );
        assert!(options("\t-o").is_empty());
    }

    #[test]
    fn a_move_changes_owned_settings_only() {
        let fx = Fixture::new(V4);
        let main = fx.host.zimbra_path(super::MAIN_CF);
        let template = fx.host.zimbra_path("common/conf/master.cf.in");
        fx.write(&main, MAIN_CF);
        fx.write(&template, TEMPLATE);
        assert_eq!(
            crate::surface::testutil::listed(&Postfix, &fx.host).unwrap(),
            [main.clone(), template.clone()]
        );
        let r = Postfix.analyze(&main, MAIN_CF, &fx.plan()).unwrap();
        // inet_interfaces' continuation line moves; mynetworks and
        // relayhost are zmconfigd's (derived), the comment stays,
        // 192.168.2.10 is another address.
        assert_eq!(
            changes(&r),
            [(5, "    192.168.2.1".into(), "    10.40.7.131".into())]
        );
        // A continuation line names no parameter: Postfix restarts.
        assert_eq!(actions_of(&r.changes[0]), RESTART);
        let t = Postfix.analyze(&template, TEMPLATE, &fx.plan()).unwrap();
        assert_eq!(
            changes(&t),
            [
                (
                    3,
                    "\t-o smtp_bind_address=192.168.2.1".into(),
                    "\t-o smtp_bind_address=10.40.7.131".into()
                ),
                (
                    9,
                    "192.168.2.1:2525 inet n - n - - smtpd".into(),
                    "10.40.7.131:2525 inet n - n - - smtpd".into()
                ),
            ]
        );
        // The option's change reloads the MTA; an appended inet_interfaces
        // restarts it.
        assert_eq!(actions_of(&t.changes[0]), [(Service::Mta, Action::Reload)]);
        let appended = Change {
            after: Value::One("relayhost = x\ninet_interfaces = 127.0.0.1, 10.0.0.1".into()),
            ..t.changes[0].clone()
        };
        assert_eq!(actions_of(&appended), [(Service::Mta, Action::Restart)]);
        // A removed option reloads, as its change would.
        let removed = Change {
            after: Value::One(String::new()),
            ..t.changes[0].clone()
        };
        assert_eq!(actions_of(&removed), [(Service::Mta, Action::Reload)]);
        // A scan finds the same places.
        let s = Postfix.analyze(&template, TEMPLATE, &fx.scan()).unwrap();
        assert_eq!(s.findings.len(), 2);
        assert!(s.changes.is_empty());
    }
}
