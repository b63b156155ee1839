//! Surface `localconfig`: Zimbra's `<zimbra_home>/conf/localconfig.xml`.
//!
//! Format (zimbra-config-model.md §8.2): root element `localconfig`, one
//! `key` element per setting with attribute `name`, holding one `value`
//! element whose text is the raw value. Values may reference other keys as
//! `${key}`; Zimbra expands them on read, zmreip leaves them as written.
//! Other elements and comments are ignored, as Zimbra ignores them. When a
//! key appears twice the later one wins (Zimbra loads keys into a map), so
//! that is the one read and edited.
//!
//! Edits are made on the text: only the bytes of the changed values are
//! replaced, so comments, quoting, indentation and entities elsewhere stay
//! byte-identical (Zimbra's own `zmlocalconfig -e` rewrites the whole file;
//! zmreip's plan shows and journals only what it changes).

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::{Ctx, FileSurface, Surface, at, find};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::model::{Change, Report, Target, Value};
use crate::notice::{Code, Notice};
use crate::policy::ValueKind;
use crate::zimbra;

/// The `localconfig` surface.
pub struct Localconfig;

/// The file, relative to Zimbra's home.
pub const FILE: &str = "conf/localconfig.xml";

impl FileSurface for Localconfig {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let host = ctx.host;
        let path = host.zimbra_path(FILE);
        Ok(if host.exists(&path) {
            vec![path]
        } else {
            Vec::new()
        })
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let mut report = Report::default();
        let slots = parse(path, text)?;
        for (i, slot) in slots.iter().enumerate() {
            // Secrets are never matched, so their values never reach a
            // finding, a change or a message.
            if zimbra::is_secret_key(&slot.key) {
                continue;
            }
            if let Some(later) = slots[i + 1..].iter().find(|s| s.key == slot.key) {
                report.warnings.push(Notice::new(
                    Code::LocalconfigDuplicateKey,
                    format!(
                        "{path}:{}: key `{}` appears again on line {}; Zimbra uses the last one, so only that one is read and changed",
                        slot.line, slot.key, later.line
                    ),
                ));
                continue;
            }
            let target = Target::LocalconfigKey {
                file: path.to_string(),
                key: slot.key.clone(),
            };
            report.findings.extend(find(
                ctx.matcher,
                Surface::Localconfig,
                &target,
                &slot.value,
            ));
            let Some(rw) = ctx.rewriter else {
                continue;
            };
            if !ctx.matcher.may_match(&slot.value) {
                continue;
            }
            let kind = zimbra::localconfig_key(&slot.key)
                .map(|r| r.kind)
                .unwrap_or(ValueKind::Text);
            let out = rw.rewrite(&[slot.value.as_str()], kind);
            report.warnings.extend(at(out.notes, &target));
            if out.changed {
                report.changes.push(Change {
                    id: String::new(),
                    surface: Surface::Localconfig,
                    target,
                    before: Value::One(slot.value.clone()),
                    // localconfig lists are space-separated (ldap_url).
                    after: Value::One(out.after.join(" ")),
                    reason: out.reasons.join("; "),
                });
            }
        }
        Ok(report)
    }
}

/// One key of localconfig.xml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LcEntry {
    pub key: String,
    /// The value with XML escapes resolved; `${other_key}` references are
    /// left as written.
    pub value: String,
    /// 1-based line of the `key` element.
    pub line: usize,
}

/// Reads every key and value, in file order (duplicates included).
pub fn read(path: &str, text: &str) -> Result<Vec<LcEntry>> {
    Ok(parse(path, text)?
        .into_iter()
        .map(|s| LcEntry {
            key: s.key,
            value: s.value,
            line: s.line,
        })
        .collect())
}

/// The value Zimbra would use for `key` (the last occurrence), with
/// `${other_key}` references expanded from the same file as
/// `zmlocalconfig -x` does; references to keys the file does not set
/// (their defaults are compiled into Zimbra) stay as written. `None` when
/// the file does not set `key`.
///
/// This returns secrets too (a live LDAP bind needs
/// `zimbra_ldap_password`); callers must not print them.
pub fn value(path: &str, text: &str, key: &str) -> Result<Option<String>> {
    let slots = parse(path, text)?;
    let map: HashMap<&str, &str> = slots
        .iter()
        .map(|s| (s.key.as_str(), s.value.as_str()))
        .collect();
    Ok(map.get(key).map(|v| expand(v, &map, &mut vec![key])))
}

/// The server's host name (`zimbra_server_hostname`) from the host's
/// localconfig.xml, when it can be read and names a host.
pub fn server_hostname(host: &Host) -> Option<String> {
    setting(host, "zimbra_server_hostname").filter(|v| v != "localhost")
}

/// A key of the host's localconfig.xml, when it can be read and the key
/// is set (not empty). Never ask it for a secret that will be shown.
pub fn setting(host: &Host, key: &str) -> Option<String> {
    let path = host.zimbra_path(FILE);
    let text = host.read(&path).ok()??;
    value(&path, &text, key).ok()?.filter(|v| !v.is_empty())
}

/// Expands `${name}` references, refusing cycles (left as written).
fn expand<'a>(v: &str, map: &HashMap<&'a str, &'a str>, stack: &mut Vec<&'a str>) -> String {
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        match map.get_key_value(name) {
            Some((k, inner)) if !stack.contains(k) => {
                stack.push(k);
                out.push_str(&expand(inner, map, stack));
                stack.pop();
            }
            _ => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Returns `text` with exactly the given values changed; every other byte
/// stays as it was. Each edit is `(key, before, after)`: the key's current
/// value must be `before` (the plan's precondition), else nothing is
/// changed and the error names the key (drift). Secret keys are refused.
pub fn set_values(path: &str, text: &str, edits: &[(String, String, String)]) -> Result<String> {
    let slots = parse(path, text)?;
    let mut splices: Vec<(Range<usize>, String)> = Vec::with_capacity(edits.len());
    for (i, (key, before, after)) in edits.iter().enumerate() {
        if zimbra::is_secret_key(key) {
            return Err(Error::other(
                format!("{path}: refusing to change secret key `{key}`"),
                "zmreip never edits passwords; this may indicate a bug in zmreip",
            ));
        }
        if edits[..i].iter().any(|(k, _, _)| k == key) {
            return Err(Error::other(
                format!("{path}: key `{key}` is edited twice in one step"),
                "this may indicate a bug in zmreip",
            ));
        }
        let Some(slot) = slots.iter().rev().find(|s| &s.key == key) else {
            return Err(Error::other(
                format!("{path}: key `{key}` is no longer set (the plan expected `{before}`)"),
                "localconfig changed since the plan was made; run `zmreip plan` again",
            ));
        };
        if &slot.value != before {
            return Err(Error::other(
                format!(
                    "{path}:{}: key `{key}` holds `{}`, the plan expected `{before}`",
                    slot.line, slot.value
                ),
                "localconfig changed since the plan was made; run `zmreip plan` again",
            ));
        }
        let escaped = escape(after).map_err(|c| {
            Error::other(
                format!("{path}: the new value of `{key}` holds {c:?}, which XML cannot carry"),
                "this may indicate a bug in zmreip",
            )
        })?;
        let replacement = if slot.self_closing {
            if after.is_empty() {
                continue;
            }
            format!("<value>{escaped}</value>")
        } else {
            escaped.into_owned()
        };
        splices.push((slot.span.clone(), replacement));
    }
    splices.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(text.len() + 64);
    let mut last = 0;
    for (range, with) in &splices {
        out.push_str(&text[last..range.start]);
        out.push_str(with);
        last = range.end;
    }
    out.push_str(&text[last..]);
    // The result must read back as intended; anything else is a bug here,
    // caught before a byte reaches the disk.
    let check = parse(path, &out)?;
    for (key, _, after) in edits {
        let got = check.iter().rev().find(|s| &s.key == key).map(|s| &s.value);
        if got != Some(after) {
            return Err(Error::other(
                format!("{path}: key `{key}` did not read back as written"),
                "this is a bug in zmreip; nothing was written",
            ));
        }
    }
    Ok(out)
}

/// Escapes a value for element text: `&`, `<`, `>` as entities and a
/// carriage return as a character reference (a raw one would be read back
/// as a line feed). Control characters XML 1.0 cannot carry are refused.
fn escape(v: &str) -> std::result::Result<Cow<'_, str>, char> {
    if let Some(c) = v.chars().find(|&c| !is_xml_char(c)) {
        return Err(c);
    }
    if !v.contains(['&', '<', '>', '\r']) {
        return Ok(Cow::Borrowed(v));
    }
    let mut out = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    Ok(Cow::Owned(out))
}

/// Whether XML 1.0 can carry `c` in element text (the control
/// characters but tab, line feed and carriage return, U+FFFE and U+FFFF
/// it cannot).
fn is_xml_char(c: char) -> bool {
    !((c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}')
}

/// A key as found in the text.
#[derive(Debug)]
struct Slot {
    key: String,
    value: String,
    line: usize,
    /// Bytes to replace to change the value: the text between `<value>`
    /// and `</value>`, or the whole `<value/>` element.
    span: Range<usize>,
    self_closing: bool,
}

/// Where the parser is inside the document.
enum State {
    /// Before the root element (`false`) or after it (`true`).
    Outside(bool),
    /// Inside `localconfig`, between keys.
    Root,
    /// Inside a `key` element: its name, line, and whether its value was
    /// seen.
    Key {
        name: String,
        line: usize,
        has_value: bool,
    },
    /// Inside the `value` of a key: where its text starts, what it holds.
    Value {
        name: String,
        line: usize,
        start: usize,
        text: String,
    },
}

fn parse(path: &str, text: &str) -> Result<Vec<Slot>> {
    Parser {
        path,
        text,
        lines: LineIndex::new(text),
        slots: Vec::new(),
    }
    .run()
}

/// Reads localconfig.xml event by event, through the [`State`]s.
struct Parser<'t> {
    path: &'t str,
    text: &'t str,
    lines: LineIndex,
    slots: Vec<Slot>,
}

impl<'t> Parser<'t> {
    /// An error at byte `pos`.
    fn bad(&self, pos: usize, msg: String) -> Error {
        Error::Parse {
            path: self.path.to_string(),
            line: self.lines.line(pos),
            message: msg,
            help: Some(
                "localconfig.xml must be well-formed; fix it by hand or restore it from a backup"
                    .into(),
            ),
        }
    }

    fn run(mut self) -> Result<Vec<Slot>> {
        let mut reader = Reader::from_str(self.text);
        let mut state = State::Outside(false);
        // Depth of elements zmreip does not read (other children of the
        // root or of a key), skipped whole as Zimbra skips them.
        let mut skipping = 0usize;
        loop {
            let start = reader.buffer_position() as usize;
            let event = reader.read_event().map_err(|e| {
                self.bad(
                    reader.error_position() as usize,
                    format!("not well-formed XML: {}", xml_problem(&e)),
                )
            })?;
            let end = reader.buffer_position() as usize;
            if matches!(event, Event::Eof) {
                return match state {
                    State::Outside(true) => Ok(self.slots),
                    State::Outside(false) => {
                        Err(self.bad(start, "no `localconfig` element: the file is empty".into()))
                    }
                    _ => Err(self.bad(start, "the document ends before `</localconfig>`".into())),
                };
            }
            if skipping > 0 {
                match event {
                    Event::Start(_) => skipping += 1,
                    Event::End(_) => skipping -= 1,
                    _ => {}
                }
                continue;
            }
            if matches!(
                event,
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_)
            ) {
                continue;
            }
            state = match state {
                State::Outside(seen) => self.outside(seen, &event, start..end)?,
                State::Value {
                    name,
                    line,
                    start: vstart,
                    text,
                } => self.value(name, line, vstart..start, text, &event)?,
                st @ (State::Root | State::Key { .. }) => {
                    if matches!(event, Event::Start(ref e) if !self.is_read(&st, e)) {
                        skipping = 1;
                        st
                    } else {
                        self.element(st, &event, start..end)?
                    }
                }
            };
        }
    }

    /// Before or after the root element.
    fn outside(&self, seen: bool, event: &Event, at: Range<usize>) -> Result<State> {
        match (seen, event) {
            (false, Event::Start(e) | Event::Empty(e)) => {
                let name = e.name().as_ref().to_string();
                if name != "localconfig" {
                    return Err(self.bad(
                        at.start,
                        format!(
                            "the root element is `{name}`, not `localconfig`: this is not a Zimbra localconfig file"
                        ),
                    ));
                }
                Ok(if self.text[at].ends_with("/>") {
                    State::Outside(true)
                } else {
                    State::Root
                })
            }
            (_, Event::Text(t)) if t.trim().is_empty() => Ok(State::Outside(seen)),
            _ => {
                let raw = &self.text[at.clone()];
                let pos = at.start + raw.len() - raw.trim_start().len();
                Err(self.bad(pos, "content outside the root element".into()))
            }
        }
    }

    /// Whether an element opening in `state` is one zmreip reads: a `key`
    /// of the root, the `value` of a key.
    fn is_read(&self, state: &State, e: &BytesStart) -> bool {
        match state {
            State::Root => e.name().as_ref() == "key",
            State::Key { .. } => e.name().as_ref() == "value",
            State::Outside(_) | State::Value { .. } => false,
        }
    }

    /// Inside the root or a key: keys open and close, values open. A key
    /// without a value sets nothing; text between elements is indentation.
    fn element(&mut self, state: State, event: &Event, at: Range<usize>) -> Result<State> {
        Ok(match (state, event) {
            (State::Root, Event::Start(e)) => State::Key {
                name: key_name(e).map_err(|m| self.bad(at.start, m))?,
                line: self.lines.line(at.start),
                has_value: false,
            },
            (State::Root, Event::End(_)) => State::Outside(true),
            (State::Key { .. }, Event::End(_)) => State::Root,
            (
                State::Key {
                    name,
                    line,
                    has_value,
                },
                Event::Start(e) | Event::Empty(e),
            ) if e.name().as_ref() == "value" => {
                if has_value {
                    return Err(self.bad(at.start, format!("key `{name}` has a second `value`")));
                }
                if !self.text[at.clone()].ends_with("/>") {
                    return Ok(State::Value {
                        name,
                        line,
                        start: at.end,
                        text: String::new(),
                    });
                }
                self.slots.push(Slot {
                    key: name.clone(),
                    value: String::new(),
                    line,
                    span: at,
                    self_closing: true,
                });
                State::Key {
                    name,
                    line,
                    has_value: true,
                }
            }
            (st, _) => st,
        })
    }

    /// Inside the `value` of key `name`: its text up to `</value>`, which
    /// ends at `span.end`.
    fn value(
        &mut self,
        name: String,
        line: usize,
        span: Range<usize>,
        mut text: String,
        event: &Event,
    ) -> Result<State> {
        match event {
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(c) => text.push_str(&c.xml10_content()),
            Event::GeneralRef(r) => text.push(resolve(r).map_err(|m| self.bad(span.end, m))?),
            Event::End(_) => {
                // Zimbra's parser refuses such a file, and zmreip could
                // not write the value back (found by fuzzing: planned, then
                // refused by apply).
                if let Some(c) = text.chars().find(|&c| !is_xml_char(c)) {
                    return Err(self.bad(
                        span.start,
                        format!("the value of `{name}` holds {c:?}, a character XML cannot carry"),
                    ));
                }
                self.slots.push(Slot {
                    key: name.clone(),
                    value: text,
                    line,
                    span,
                    self_closing: false,
                });
                return Ok(State::Key {
                    name,
                    line,
                    has_value: true,
                });
            }
            _ => {
                return Err(self.bad(span.end, format!("an element inside the value of `{name}`")));
            }
        }
        Ok(State::Value {
            name,
            line,
            start: span.start,
            text,
        })
    }
}

/// What is wrong with the XML, in words that quote nothing of the file:
/// localconfig.xml holds passwords, and a `<` or `&` inside one is what
/// breaks it (quick-xml's own messages quote the names it read).
fn xml_problem(e: &quick_xml::Error) -> String {
    use quick_xml::Error as E;
    match e {
        // Fixed sentences ("unclosed tag", ...).
        E::Syntax(s) => s.to_string(),
        E::Io(e) => e.to_string(),
        E::IllFormed(_) => "an element is not closed, or is closed by another end tag".into(),
        E::InvalidAttr(_) => "a malformed attribute".into(),
        E::Encoding(_) => "text that is not valid in the file's encoding".into(),
        E::Escape(_) => "a malformed entity or character reference".into(),
        E::Namespace(_) => "a malformed namespace".into(),
    }
}

/// The character an entity or character reference stands for. Errors
/// quote nothing of the value (it may be a password).
fn resolve(r: &quick_xml::events::BytesRef) -> std::result::Result<char, String> {
    if let Some(c) = r
        .resolve_char_ref()
        .map_err(|_| "a malformed character reference (`&#...;`) in a value".to_string())?
    {
        return Ok(c);
    }
    match &**r {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => Err(
            "an entity reference XML does not define in a value (only &lt; &gt; &amp; &apos; &quot;)"
                .into(),
        ),
    }
}

/// The `name` attribute of a `key` element.
fn key_name(e: &BytesStart) -> std::result::Result<String, String> {
    for a in e.attributes() {
        let a = a.map_err(|_| "a malformed attribute of `key`".to_string())?;
        if a.key.as_ref() == "name" {
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|_| "a malformed `name` of a key".to_string())?;
            if v.is_empty() {
                return Err("a `key` with an empty name".into());
            }
            return Ok(v.into_owned());
        }
    }
    Err("a `key` element without a `name` attribute".into())
}

/// Byte offset → 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { starts }
    }

    fn line(&self, pos: usize) -> usize {
        self.starts.partition_point(|&s| s <= pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Matcher;
    use crate::policy::Rewriter;
    use crate::spec::{Pair, PrefixSource};

    const PATH: &str = "/opt/zimbra/conf/localconfig.xml";

    /// Shaped like dom4j's output, with hand edits: a comment, single
    /// quotes, entities, CDATA, a self-closing value and a secret that
    /// happens to contain the address.
    const LC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>

<localconfig>
  <!-- edited by hand: 172.20.14.25 was the old relay -->
  <key name="zimbra_server_hostname">
    <value>mail.corp.example</value>
  </key>
  <key name="ldap_url">
    <value>ldap://mail.corp.example:389 ldap://172.20.14.25:389</value>
  </key>
  <key name='ldap_master_url'>
    <value>ldap://172.20.14.25:389</value>
  </key>
  <key name="zimbra_ldap_password">
    <value>s3cr&amp;t-172.20.14.25</value>
  </key>
  <key name="mysql_bind_address">
    <value>127.0.0.1</value>
  </key>
  <key name="ldap_host">
    <value>172.20.14.250</value>
  </key>
  <key name="mailboxd_java_options">
    <value>-server -Djava.rmi.server.hostname=172.20.14.25 -Dsun.net.inetaddr.ttl=${networkaddress_cache_ttl} -Dx=&lt;y&gt;</value>
  </key>
  <key name="zimbra_home">
    <value>/opt/zimbra</value>
  </key>
  <key name="mailboxd_directory">
    <value>${zimbra_home}/mailboxd</value>
  </key>
  <key name="av_notify_user">
    <value><![CDATA[admin@corp.example]]></value>
  </key>
  <key name="snmp_trap_host">
    <value/>
  </key>
  <key name="char_ref">
    <value>&#65;&#x42;</value>
  </key>
</localconfig>
"#;

    #[test]
    fn reads_keys_values_and_lines() {
        let got = read(PATH, LC).unwrap();
        let find = |k: &str| got.iter().find(|e| e.key == k).unwrap();
        assert_eq!(got.len(), 12);
        assert_eq!(find("zimbra_server_hostname").value, "mail.corp.example");
        assert_eq!(find("zimbra_server_hostname").line, 5);
        assert_eq!(find("ldap_master_url").value, "ldap://172.20.14.25:389");
        assert_eq!(find("ldap_master_url").line, 11);
        assert_eq!(find("zimbra_ldap_password").value, "s3cr&t-172.20.14.25");
        assert!(
            find("mailboxd_java_options")
                .value
                .ends_with("${networkaddress_cache_ttl} -Dx=<y>")
        );
        assert_eq!(find("av_notify_user").value, "admin@corp.example");
        assert_eq!(find("snmp_trap_host").value, "");
        assert_eq!(find("char_ref").value, "AB");
    }

    #[test]
    fn crlf_and_whitespace_inside_values() {
        let text = "<localconfig>\r\n  <key name=\"a\">\r\n    <value> x y </value>\r\n  </key>\r\n</localconfig>\r\n";
        let got = read(PATH, text).unwrap();
        assert_eq!(got[0].value, " x y ");
        assert_eq!(got[0].line, 2);
        let multi = "<localconfig><key name=\"a\"><value>one\r\ntwo</value></key></localconfig>";
        assert_eq!(read(PATH, multi).unwrap()[0].value, "one\ntwo");
    }

    #[test]
    fn bad_files_are_errors_with_lines() {
        // (text, line, part of the message)
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "empty"),
            ("  \n", 2, "empty"),
            ("<config>\n</config>\n", 1, "not `localconfig`"),
            (
                "<?xml version=\"1.0\"?>\n\n<zimbra/>",
                3,
                "not `localconfig`",
            ),
            (
                "<localconfig>\n<key name=\"a\">\n<value>x</key>\n</localconfig>",
                3,
                "not well-formed",
            ),
            (
                "<localconfig>\n<key name=\"a\">\n<value>x</value>\n",
                4,
                "ends before",
            ),
            (
                "<localconfig>\n<key name=\"a\"><value>&nbsp;</value></key>\n</localconfig>",
                2,
                "an entity reference XML does not define",
            ),
            (
                "<localconfig>\n<key name=\"a\"><value>&amp</value></key>\n</localconfig>",
                2,
                "not well-formed",
            ),
            (
                "<localconfig>\n<key>\n<value>x</value></key></localconfig>",
                2,
                "without a `name`",
            ),
            (
                "<localconfig>\n<key name=\"a\"><value>x</value>\n<value>y</value></key></localconfig>",
                3,
                "second `value`",
            ),
            (
                "<localconfig>\n<key name=\"a\"><value>x<b/></value></key></localconfig>",
                2,
                "element inside",
            ),
            // Characters XML cannot carry, raw or as a reference (found
            // by fuzzing: planned, then refused by apply).
            (
                "<localconfig>\n<key name=\"a\">\n<value>ldap://\u{0}x</value></key></localconfig>",
                3,
                "holds '\\0', a character XML cannot carry",
            ),
            (
                "<localconfig>\n<key name=\"a\"><value>x&#1;</value></key></localconfig>",
                2,
                "holds '\\u{1}'",
            ),
            ("<localconfig/>\n<localconfig/>", 2, "outside the root"),
            ("<localconfig/>\ntrailing", 2, "outside the root"),
        ];
        for (text, line, msg) in cases {
            match read(PATH, text) {
                Err(Error::Parse {
                    path,
                    line: l,
                    message,
                    ..
                }) => {
                    assert_eq!(path, PATH);
                    assert_eq!(l, *line, "line for {text:?}: {message}");
                    assert!(message.contains(msg), "{text:?}: {message}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        // Ignored elements and an empty root are fine.
        let ok = "<localconfig>\n<other><key name=\"x\"><value>1</value></key></other>\n<key name=\"b\"><value>2</value><note/></key>\n<key name=\"c\"/>\n</localconfig>";
        let got = read(PATH, ok).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].key.as_str(), got[0].value.as_str()), ("b", "2"));
        assert!(read(PATH, "<localconfig/>").unwrap().is_empty());
    }

    #[test]
    fn errors_in_a_password_never_quote_it() {
        // A password with a character XML gives a meaning to breaks the
        // file there; the error names the line, never the value.
        let cases: &[(&str, usize)] = &[
            ("Pw<Sekrit7>x", 3),
            ("Pw</Sekrit7>x", 3),
            ("Pw&Sekrit7;x", 3),
            ("Pw&#Sekrit7;x", 3),
            ("Pw&Sekrit7x", 3),
            ("Pw<!--Sekrit7", 3),
            ("Pw<Sekrit7 a=b>", 3),
        ];
        for (pw, line) in cases {
            let text = format!(
                "<localconfig>\n<key name=\"zimbra_ldap_password\">\n<value>{pw}</value>\n</key>\n</localconfig>\n"
            );
            let e = read(PATH, &text).unwrap_err();
            let shown = format!("{e} {}", e.help().unwrap_or_default());
            assert!(!shown.contains("Sekrit7"), "{pw:?}: {shown}");
            match e {
                Error::Parse { path, line: l, .. } => {
                    assert_eq!((path.as_str(), l), (PATH, *line), "{pw:?}: {shown}");
                }
                other => panic!("{pw:?}: {other:?}"),
            }
        }
    }

    fn edit(k: &str, b: &str, a: &str) -> (String, String, String) {
        (k.into(), b.into(), a.into())
    }

    #[test]
    fn set_values_changes_only_those_bytes() {
        let out = set_values(
            PATH,
            LC,
            &[
                edit(
                    "ldap_url",
                    "ldap://mail.corp.example:389 ldap://172.20.14.25:389",
                    "ldap://mail.corp.example:389 ldap://10.40.7.131:389",
                ),
                edit(
                    "ldap_master_url",
                    "ldap://172.20.14.25:389",
                    "ldap://10.40.7.131:389",
                ),
            ],
        )
        .unwrap();
        let expected = LC
            .replace(
                "<value>ldap://mail.corp.example:389 ldap://172.20.14.25:389</value>",
                "<value>ldap://mail.corp.example:389 ldap://10.40.7.131:389</value>",
            )
            .replace(
                "<value>ldap://172.20.14.25:389</value>",
                "<value>ldap://10.40.7.131:389</value>",
            );
        assert_ne!(expected, LC);
        assert_eq!(out, expected);
        // The comment, the secret and the entities are untouched.
        assert!(out.contains("<!-- edited by hand: 172.20.14.25 was the old relay -->"));
        assert!(out.contains("s3cr&amp;t-172.20.14.25"));
        assert!(out.contains("-Dx=&lt;y&gt;"));
    }

    #[test]
    fn set_values_escapes_and_reads_back() {
        let out = set_values(
            PATH,
            LC,
            &[edit(
                "mailboxd_java_options",
                "-server -Djava.rmi.server.hostname=172.20.14.25 -Dsun.net.inetaddr.ttl=${networkaddress_cache_ttl} -Dx=<y>",
                "-server -Djava.rmi.server.hostname=10.40.7.131 -Dsun.net.inetaddr.ttl=${networkaddress_cache_ttl} -Dx=<y>&z",
            )],
        )
        .unwrap();
        assert!(out.contains("hostname=10.40.7.131 -Dsun.net.inetaddr.ttl=${networkaddress_cache_ttl} -Dx=&lt;y&gt;&amp;z</value>"));
        assert_eq!(
            value(PATH, &out, "mailboxd_java_options").unwrap().unwrap(),
            "-server -Djava.rmi.server.hostname=10.40.7.131 -Dsun.net.inetaddr.ttl=${networkaddress_cache_ttl} -Dx=<y>&z"
        );
        // A self-closing value becomes an element; a CRLF file keeps CRLF.
        let out = set_values(PATH, LC, &[edit("snmp_trap_host", "", "10.40.7.131")]).unwrap();
        assert_eq!(
            out,
            LC.replace(
                "<key name=\"snmp_trap_host\">\n    <value/>",
                "<key name=\"snmp_trap_host\">\n    <value>10.40.7.131</value>"
            )
        );
        let crlf = LC.replace('\n', "\r\n");
        let out = set_values(PATH, &crlf, &[edit("ldap_host", "172.20.14.250", "a\rb")]).unwrap();
        assert_eq!(out, crlf.replace(">172.20.14.250<", ">a&#13;b<"));
        assert_eq!(value(PATH, &out, "ldap_host").unwrap().unwrap(), "a\rb");
    }

    #[test]
    fn set_values_refuses_drift_and_secrets() {
        let err = |edits: &[(String, String, String)]| {
            set_values(PATH, LC, edits).unwrap_err().to_string()
        };
        let e = err(&[edit("ldap_master_url", "ldap://172.20.14.2:389", "x")]);
        assert!(
            e.contains("`ldap_master_url` holds `ldap://172.20.14.25:389`"),
            "{e}"
        );
        assert!(e.contains(":11:"), "{e}");
        let e = err(&[edit("no_such_key", "a", "b")]);
        assert!(
            e.contains("no_such_key") && e.contains("no longer set"),
            "{e}"
        );
        let e = err(&[edit("zimbra_ldap_password", "wrong", "x")]);
        assert!(e.contains("secret") && !e.contains("s3cr"), "{e}");
        let e = err(&[
            edit("ldap_host", "172.20.14.250", "x"),
            edit("ldap_host", "x", "y"),
        ]);
        assert!(e.contains("twice"), "{e}");
        let e = err(&[edit("ldap_host", "172.20.14.250", "bad\u{1}")]);
        assert!(e.contains("XML cannot carry"), "{e}");
    }

    #[test]
    fn duplicate_keys_use_the_last() {
        let text = "<localconfig>\n<key name=\"a\"><value>1</value></key>\n<key name=\"a\"><value>2</value></key>\n</localconfig>\n";
        assert_eq!(value(PATH, text, "a").unwrap().as_deref(), Some("2"));
        let out = set_values(PATH, text, &[edit("a", "2", "3")]).unwrap();
        assert_eq!(out, text.replace(">2<", ">3<"));
        assert!(set_values(PATH, text, &[edit("a", "1", "3")]).is_err());
    }

    #[test]
    fn value_expands_references() {
        let v = |k: &str| value(PATH, LC, k).unwrap();
        assert_eq!(
            v("zimbra_server_hostname").as_deref(),
            Some("mail.corp.example")
        );
        assert_eq!(
            v("mailboxd_directory").as_deref(),
            Some("/opt/zimbra/mailboxd")
        );
        // Not in the file: left as written.
        assert!(
            v("mailboxd_java_options")
                .unwrap()
                .contains("${networkaddress_cache_ttl}")
        );
        assert_eq!(v("ldap_port"), None);
        let cyc = "<localconfig><key name=\"a\"><value>x${b}</value></key><key name=\"b\"><value>y${a}</value></key><key name=\"c\"><value>${a}${</value></key></localconfig>";
        assert_eq!(value(PATH, cyc, "a").unwrap().as_deref(), Some("xy${a}"));
        assert_eq!(value(PATH, cyc, "c").unwrap().as_deref(), Some("xy${a}${"));
    }

    fn pair(old: &str, new: &str, prefix: u8) -> Pair {
        Pair {
            old: old.parse().unwrap(),
            new: new.parse().unwrap(),
            old_prefix: prefix,
            new_prefix: prefix,
            old_prefix_source: PrefixSource::Given,
            new_prefix_source: PrefixSource::Given,
        }
    }

    #[test]
    fn analyze_plans_values_and_skips_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::open(dir.path(), None).unwrap();
        let old = "172.20.14.25".parse().unwrap();
        let matcher = Matcher::new(&[old]);
        let rw = Rewriter::new(vec![pair("172.20.14.25", "10.40.7.131", 24)], Vec::new());
        let ctx = Ctx::new(&host, &matcher, Some(&rw));
        let rep = Localconfig.analyze(PATH, LC, &ctx).unwrap();
        let keys: Vec<&str> = rep
            .changes
            .iter()
            .map(|c| match &c.target {
                Target::LocalconfigKey { key, .. } => key.as_str(),
                t => panic!("{t:?}"),
            })
            .collect();
        assert_eq!(
            keys,
            ["ldap_url", "ldap_master_url", "mailboxd_java_options"]
        );
        let c = &rep.changes[0];
        assert_eq!(
            c.before,
            Value::One("ldap://mail.corp.example:389 ldap://172.20.14.25:389".into())
        );
        assert_eq!(
            c.after,
            Value::One("ldap://mail.corp.example:389 ldap://10.40.7.131:389".into())
        );
        assert!(c.reason.contains("URL host"), "{}", c.reason);
        // An unknown key is a literal replacement, and says so.
        let c = &rep.changes[2];
        assert!(c.reason.contains("literal replacement"), "{}", c.reason);
        assert_eq!(
            c.after,
            Value::One("-server -Djava.rmi.server.hostname=10.40.7.131 -Dsun.net.inetaddr.ttl=${networkaddress_cache_ttl} -Dx=<y>".into())
        );
        // The secret is never found, changed or shown; the neighbour
        // 172.20.14.250 is not the old address.
        let shown = format!("{:?}", (&rep.findings, &rep.changes, &rep.warnings));
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(!shown.contains("172.20.14.250"), "{shown}");
        assert_eq!(rep.findings.len(), 3);
        // The plan's changes apply to the text.
        let edits: Vec<(String, String, String)> = rep
            .changes
            .iter()
            .map(|c| match (&c.target, &c.before, &c.after) {
                (Target::LocalconfigKey { key, .. }, Value::One(b), Value::One(a)) => {
                    (key.clone(), b.clone(), a.clone())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        let out = set_values(PATH, LC, &edits).unwrap();
        let again = Localconfig.analyze(PATH, &out, &ctx).unwrap();
        assert!(again.changes.is_empty(), "{:?}", again.changes);

        // A scan finds without proposing.
        let scan = Ctx::new(&host, &matcher, None);
        let rep = Localconfig.analyze(PATH, LC, &scan).unwrap();
        assert_eq!(rep.findings.len(), 3);
        assert!(rep.changes.is_empty());
    }

    #[test]
    fn files_lists_the_file_when_present() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::open(dir.path(), None).unwrap();
        assert!(
            crate::surface::testutil::listed(&Localconfig, &host)
                .unwrap()
                .is_empty()
        );
        std::fs::create_dir_all(dir.path().join("opt/zimbra/conf")).unwrap();
        std::fs::write(dir.path().join("opt/zimbra/conf/localconfig.xml"), LC).unwrap();
        assert_eq!(
            crate::surface::testutil::listed(&Localconfig, &host).unwrap(),
            vec![PATH.to_string()]
        );
    }
}
