//! LDIF (RFC 2849) content files, as `zmslapcat` writes them: a streaming
//! reader ([`LdifDirectory`], here), a value-level rewriter
//! ([`rewrite_values`], `rewrite`) and a writer of LDIF lines and change
//! records for `ldapmodify` ([`change_records`], `write`).
//!
//! Syntax handled (RFC 2849):
//!
//! * an optional `version: 1` line first;
//! * records separated by blank lines, each starting with `dn:` (or `dn::`
//!   with a base64 DN);
//! * a line starting with one space continues the previous line, the space
//!   removed; comments (`#`) fold the same way;
//! * `attr: value`, `attr:: base64` (values that are not UTF-8 once
//!   decoded are binary and skipped: no address lives there) and
//!   `attr:< URL` (skipped);
//! * attribute options: `cn;lang-en` is an attribute description of its
//!   own;
//! * LF or CRLF line ends.
//!
//! Change records (`changetype:`) are refused: this reads directory
//! contents. Files are read line by line with one record in memory at a
//! time, so an export of any size streams; a narrowed read (`scan`,
//! `plan`) goes block by block and builds entries only where an address
//! may be (see the `narrow` module).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use base64::prelude::{BASE64_STANDARD, Engine as _};

use super::{Directory, Entry};
use crate::addr::Matcher;
use crate::error::{Error, Result};

mod rewrite;
mod write;

pub use rewrite::rewrite_values;
pub use write::change_records;
pub use write::push_line;

mod narrow;

/// A directory read from an LDIF file.
pub struct LdifDirectory {
    path: PathBuf,
    /// Set by [`Directory::narrow`] for the next read: entries that cannot
    /// hold one of its addresses are read and checked but not visited.
    matcher: Option<Matcher>,
    /// Entries the last narrowed read left out.
    left_out: usize,
}

impl LdifDirectory {
    /// Opens an LDIF file: checked for readability now, read when
    /// iterated.
    pub fn open(path: &Path) -> Result<LdifDirectory> {
        let (_, st) = open_file(path)?;
        if st.size() == 0 {
            return Err(Error::other(
                format!("the LDIF export `{}` is empty (0 bytes)", path.display()),
                EXPORT_HELP,
            ));
        }
        Ok(LdifDirectory {
            path: path.to_path_buf(),
            matcher: None,
            left_out: 0,
        })
    }
}

/// The entries of LDIF text held in memory (a journal's prior values, a
/// read-back). `shown` names it in errors.
pub fn parse_text(shown: &str, text: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut unique = Unique::default();
    let mut chunks = Chunks::new(shown, text.as_bytes());
    while let Some(chunk) = chunks.next()? {
        if let Chunk::Record(rec) = chunk
            && let Some(parsed) = rec.parse(shown)?
        {
            unique.check(shown, &parsed.dn, rec.line())?;
            out.push(parsed.into_entry());
        }
    }
    Ok(out)
}

const EXPORT_HELP: &str = "export the directory as the zimbra user with `/opt/zimbra/libexec/zmslapcat DIR` (it writes DIR/ldap.bak) and pass that file";

/// Opens the export: a regular file, never waited on (a FIFO would hang).
fn open_file(path: &Path) -> Result<(File, crate::confine::Stat)> {
    crate::confine::open_local(path, u64::MAX).map_err(|e| {
        let why = match crate::confine::Refusal::of(&e) {
            Some(r) => r.to_string(),
            None => e.to_string(),
        };
        Error::other(
            format!("cannot read the LDIF export `{}`: {why}", path.display()),
            EXPORT_HELP,
        )
    })
}

/// The DNs of the entries read so far: an export holds each entry once,
/// and one that holds it twice is ambiguous (which copy would a change
/// edit?).
#[derive(Default)]
pub(super) struct Unique {
    seen: HashMap<String, usize>,
}

impl Unique {
    pub(super) fn check(&mut self, path: &str, dn: &str, line: usize) -> Result<()> {
        if let Some(first) = self.seen.insert(dn.to_ascii_lowercase(), line) {
            return Err(Error::Parse {
                path: path.to_string(),
                line,
                message: format!("the entry `{dn}` is here a second time (first at line {first})"),
                help: Some(format!(
                    "an export holds every entry once; export the directory again ({EXPORT_HELP})"
                )),
            });
        }
        Ok(())
    }
}

/// An export that holds no entry at all.
fn no_entry(path: &str) -> Error {
    Error::other(
        format!("the LDIF export `{path}` holds no entry"),
        EXPORT_HELP,
    )
}

impl Directory for LdifDirectory {
    fn describe(&self) -> String {
        format!("LDIF {}", self.path.display())
    }

    /// Entries in which `analyze` can find none of these addresses (no
    /// value passes [`super::finds_in`]) are left out of the next read
    /// only: a later reader of the same directory (verify) sees them all.
    /// They are still read and checked, so the read fails where an
    /// unnarrowed one would.
    fn narrow(&mut self, targets: &[std::net::IpAddr]) {
        self.matcher = Some(Matcher::new(targets));
    }

    fn left_out(&self) -> usize {
        self.left_out
    }

    fn for_each(&mut self, visit: &mut dyn FnMut(Entry) -> Result<()>) -> Result<()> {
        let (file, _) = open_file(&self.path)?;
        let shown = self.path.display().to_string();
        self.left_out = 0;
        if let Some(m) = self.matcher.take() {
            let (visited, left_out) = narrow::for_each(&shown, file, &m, visit)?;
            self.left_out = left_out;
            if visited + left_out == 0 {
                return Err(no_entry(&shown));
            }
            return Ok(());
        }
        let mut unique = Unique::default();
        let mut chunks = Chunks::new(&shown, BufReader::with_capacity(1 << 16, file));
        while let Some(chunk) = chunks.next()? {
            if let Chunk::Record(rec) = chunk
                && let Some(parsed) = rec.parse(&shown)?
            {
                unique.check(&shown, &parsed.dn, rec.line())?;
                visit(parsed.into_entry())?;
            }
        }
        if unique.seen.is_empty() {
            return Err(no_entry(&shown));
        }
        Ok(())
    }
}

/// One logical line: physical lines joined where folded.
#[derive(Debug)]
pub(super) struct Line {
    /// 1-based number of its first physical line.
    no: usize,
    /// The physical lines as read, terminators included.
    raw: Vec<u8>,
    /// The unfolded text without terminators; empty for a blank line.
    text: String,
}

impl Line {
    fn is_blank(&self) -> bool {
        self.text.is_empty()
    }
}

/// Reads logical lines, joining folded physical lines.
struct Lines<'p, R> {
    path: &'p str,
    input: R,
    /// Number of the last physical line read.
    no: usize,
    /// A physical line read ahead to see whether it continues the previous
    /// one.
    peeked: Option<Vec<u8>>,
}

impl<'p, R: BufRead> Lines<'p, R> {
    fn physical(&mut self) -> Result<Option<Vec<u8>>> {
        if let Some(p) = self.peeked.take() {
            return Ok(Some(p));
        }
        let mut buf = Vec::new();
        let n = self
            .input
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io("read", self.path, e))?;
        if n == 0 {
            return Ok(None);
        }
        self.no += 1;
        Ok(Some(buf))
    }

    /// A physical line's text without its terminator.
    fn body<'a>(&self, raw: &'a [u8]) -> Result<&'a str> {
        if self.no == 1 && raw.starts_with(b"\xef\xbb\xbf") {
            return Err(Error::Parse {
                path: self.path.to_string(),
                line: 1,
                message:
                    "the file starts with a UTF-8 byte order mark (BOM), which LDIF does not allow"
                        .into(),
                help: Some(format!(
                    "remove it (`sed -i '1s/^\\xEF\\xBB\\xBF//' {}`), or export the directory again",
                    self.path
                )),
            });
        }
        let b = raw.strip_suffix(b"\n").unwrap_or(raw);
        let b = b.strip_suffix(b"\r").unwrap_or(b);
        std::str::from_utf8(b).map_err(|_| {
            Error::parse(
                self.path,
                self.no,
                "not UTF-8 text (binary values must be base64-encoded, written `attr:: ...`)",
            )
        })
    }

    fn next(&mut self) -> Result<Option<Line>> {
        let Some(mut raw) = self.physical()? else {
            return Ok(None);
        };
        let no = self.no;
        let body = self.body(&raw)?;
        if body.starts_with(' ') {
            return Err(Error::parse(
                self.path,
                no,
                "a continuation line (starting with a space) follows no line it could continue",
            ));
        }
        if body.trim().is_empty() {
            return Ok(Some(Line {
                no,
                raw,
                text: String::new(),
            }));
        }
        let mut text = body.to_string();
        while let Some(next) = self.physical()? {
            if next.first() != Some(&b' ') {
                self.peeked = Some(next);
                break;
            }
            text.push_str(&self.body(&next)?[1..]);
            raw.extend_from_slice(&next);
        }
        Ok(Some(Line { no, raw, text }))
    }
}

/// A record's lines (comments included), or blank lines between records.
pub(super) enum Chunk {
    Record(Record),
    Blank(Vec<u8>),
}

/// The lines of one record, as read.
pub(super) struct Record {
    lines: Vec<Line>,
    /// Whether this is the first record of the file (it may start with
    /// `version:`).
    first: bool,
}

/// Groups logical lines into records and runs of blank lines.
pub(super) struct Chunks<'p, R> {
    lines: Lines<'p, R>,
    /// A logical line read ahead.
    pending: Option<Line>,
    first: bool,
}

impl<'p, R: BufRead> Chunks<'p, R> {
    fn new(path: &'p str, input: R) -> Self {
        Chunks::starting(path, input, 0, true)
    }

    /// Chunks of a part of a file: `line` physical lines come before it,
    /// and `first` says whether a record in it may be the file's first.
    fn starting(path: &'p str, input: R, line: usize, first: bool) -> Self {
        Chunks {
            lines: Lines {
                path,
                input,
                no: line,
                peeked: None,
            },
            pending: None,
            first,
        }
    }

    fn line(&mut self) -> Result<Option<Line>> {
        match self.pending.take() {
            Some(l) => Ok(Some(l)),
            None => self.lines.next(),
        }
    }

    fn next(&mut self) -> Result<Option<Chunk>> {
        let Some(first) = self.line()? else {
            return Ok(None);
        };
        let blank = first.is_blank();
        let mut raw = Vec::new();
        let mut lines = Vec::new();
        if blank {
            raw = first.raw;
        } else {
            lines.push(first);
        }
        while let Some(l) = self.line()? {
            if l.is_blank() != blank {
                self.pending = Some(l);
                break;
            }
            if blank {
                raw.extend_from_slice(&l.raw);
            } else {
                lines.push(l);
            }
        }
        if blank {
            return Ok(Some(Chunk::Blank(raw)));
        }
        let first = std::mem::replace(&mut self.first, false);
        Ok(Some(Chunk::Record(Record { lines, first })))
    }
}

/// A value as written after the attribute description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Spec {
    Text(String),
    /// `attr::` whose decoded bytes are not UTF-8.
    Binary,
    /// `attr:< URL`.
    Url,
}

/// A record understood: its DN and, per line, the attribute it holds
/// (`None` for comments and the `dn`/`version` lines).
pub(super) struct Parsed {
    dn: String,
    attrs: Vec<Option<(String, Spec)>>,
}

impl Record {
    /// The number of the record's first line.
    pub(super) fn line(&self) -> usize {
        self.lines.first().map_or(0, |l| l.no)
    }

    /// Parses the record; `None` when it holds only comments or the
    /// version line.
    fn parse(&self, path: &str) -> Result<Option<Parsed>> {
        let mut attrs: Vec<Option<(String, Spec)>> = Vec::with_capacity(self.lines.len());
        let mut dn: Option<String> = None;
        let mut first_content = self.first;
        for line in &self.lines {
            if line.text.starts_with('#') {
                attrs.push(None);
                continue;
            }
            let (desc, spec) = parse_line(path, line)?;
            let may_be_version = std::mem::replace(&mut first_content, false);
            if dn.is_none() {
                if may_be_version && desc.eq_ignore_ascii_case("version") {
                    if spec != Spec::Text("1".into()) {
                        return Err(Error::parse(
                            path,
                            line.no,
                            "unsupported LDIF version (only `version: 1` exists)",
                        ));
                    }
                    attrs.push(None);
                    continue;
                }
                if !desc.eq_ignore_ascii_case("dn") {
                    return Err(Error::parse(
                        path,
                        line.no,
                        format!("a record must start with `dn:`, not `{desc}:`"),
                    ));
                }
                dn = Some(match spec {
                    Spec::Text(t) => t,
                    _ => {
                        return Err(Error::parse(path, line.no, "the DN is not UTF-8 text"));
                    }
                });
                attrs.push(None);
                continue;
            }
            if desc.eq_ignore_ascii_case("changetype") || desc.eq_ignore_ascii_case("control") {
                return Err(Error::parse(
                    path,
                    line.no,
                    format!(
                        "`{desc}:` makes this a change record: this is not a content LDIF (export the directory with zmslapcat)"
                    ),
                ));
            }
            attrs.push(Some((desc, spec)));
        }
        Ok(dn.map(|dn| Parsed { dn, attrs }))
    }
}

impl Parsed {
    /// The entry: text values grouped by attribute description
    /// (case-insensitive; the first spelling is kept), in file order.
    fn into_entry(self) -> Entry {
        let mut entry = Entry {
            dn: self.dn,
            attrs: Vec::new(),
        };
        let mut index: HashMap<String, usize> = HashMap::new();
        for (desc, spec) in self.attrs.into_iter().flatten() {
            let Spec::Text(v) = spec else {
                continue;
            };
            let i = *index.entry(desc.to_ascii_lowercase()).or_insert_with(|| {
                entry.attrs.push((desc, Vec::new()));
                entry.attrs.len() - 1
            });
            entry.attrs[i].1.push(v);
        }
        entry
    }
}

/// Whether `desc` may be an attribute description (name, options, OID).
fn is_description(desc: &str) -> bool {
    !desc.is_empty() && desc.bytes().all(is_description_byte)
}

/// Whether `b` may be part of an attribute description.
fn is_description_byte(b: u8) -> bool {
    DESCRIPTION_BYTES[usize::from(b)]
}

/// The bytes of attribute descriptions (name, options, OID), as a table:
/// every line of an export is checked with it.
const DESCRIPTION_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b';' || c == b'.';
        b += 1;
    }
    t
};

/// Splits `attr: value`, `attr:: base64`, `attr:< url`. Errors never
/// quote the line: it may be part of a secret.
fn parse_line(path: &str, line: &Line) -> Result<(String, Spec)> {
    let Some((desc, rest)) = line.text.split_once(':') else {
        return Err(Error::parse(
            path,
            line.no,
            "not an `attribute: value` line (a folded line must start with one space)",
        ));
    };
    if !is_description(desc) {
        return Err(Error::parse(
            path,
            line.no,
            "not an `attribute: value` line: the text before `:` is no attribute name",
        ));
    }
    let spec = if let Some(b64) = rest.strip_prefix(':') {
        let bytes = BASE64_STANDARD.decode(b64.trim()).map_err(|_| {
            Error::parse(
                path,
                line.no,
                format!("the base64 value of `{desc}` does not decode"),
            )
        })?;
        match String::from_utf8(bytes) {
            Ok(s) => Spec::Text(s),
            Err(_) => Spec::Binary,
        }
    } else if rest.starts_with('<') {
        Spec::Url
    } else {
        Spec::Text(rest.trim_start_matches(' ').to_string())
    };
    Ok((desc.to_string(), spec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::ValueEdit;
    use std::io::Write;

    pub(super) const PATH: &str = "/tmp/ldap.bak";

    /// The entries of an LDIF text, through the same code as
    /// [`LdifDirectory::for_each`].
    pub(super) fn entries(text: &str) -> Result<Vec<Entry>> {
        let mut chunks = Chunks::new(PATH, text.as_bytes());
        let mut out = Vec::new();
        while let Some(c) = chunks.next()? {
            if let Chunk::Record(rec) = c
                && let Some(p) = rec.parse(PATH)?
            {
                out.push(p.into_entry());
            }
        }
        Ok(out)
    }

    type Expect<'a> = &'a [(&'a str, &'a [(&'a str, &'a [&'a str])])];

    fn check(text: &str, expect: Expect) {
        let got = entries(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let want: Vec<Entry> = expect
            .iter()
            .map(|(dn, attrs)| Entry {
                dn: dn.to_string(),
                attrs: attrs
                    .iter()
                    .map(|(a, vs)| (a.to_string(), vs.iter().map(ToString::to_string).collect()))
                    .collect(),
            })
            .collect();
        assert_eq!(got, want, "{text:?}");
    }

    #[test]
    fn reads_content_records() {
        let cases: &[(&str, Expect)] = &[
            // version line, two records, several blank lines, no final newline.
            (
                "version: 1\ndn: cn=config,cn=zimbra\nzimbraMtaMyNetworks: 127.0.0.0/8 172.20.14.0/24\n\n\n\ndn: cn=mail.corp.example,cn=servers,cn=zimbra\ncn: mail.corp.example",
                &[
                    (
                        "cn=config,cn=zimbra",
                        &[("zimbraMtaMyNetworks", &["127.0.0.0/8 172.20.14.0/24"])],
                    ),
                    (
                        "cn=mail.corp.example,cn=servers,cn=zimbra",
                        &[("cn", &["mail.corp.example"])],
                    ),
                ],
            ),
            // Folded value: one leading space removed, a second one kept.
            (
                "dn: cn=config,cn=zimbra\nzimbraMailTrustedIP: 172.20\n .14.25\nzimbraSpellCheckURL: http://a\n  b\n",
                &[(
                    "cn=config,cn=zimbra",
                    &[
                        ("zimbraMailTrustedIP", &["172.20.14.25"]),
                        ("zimbraSpellCheckURL", &["http://a b"]),
                    ],
                )],
            ),
            // Comments, folded comments, a comment-only record.
            (
                "# export of mail\n#  continued\n folded comment: not an attribute\n\n# entry 1\ndn: dc=corp,dc=example\n# inside\n cn: still the comment\ndc: corp\n",
                &[("dc=corp,dc=example", &[("dc", &["corp"])])],
            ),
            // base64 value and DN; binary value and URL skipped.
            (
                "dn:: Y249Y29uZmlnLGNuPXppbWJyYQ==\nzimbraMailTrustedIP:: MTcyLjIwLjE0LjI1\njpegPhoto:: /9j/4AAQSkZJRg==\nzimbraNotes:< file:///tmp/notes\ndescription:: IHNwYWNlIGZpcnN0\n",
                &[(
                    "cn=config,cn=zimbra",
                    &[
                        ("zimbraMailTrustedIP", &["172.20.14.25"]),
                        ("description", &[" space first"]),
                    ],
                )],
            ),
            // Options are their own description; case-insensitive grouping
            // keeps the first spelling; empty values.
            (
                "dn: cn=x\ncn: a\ncn;lang-en: b\nCN: c\nobjectClass: top\nobjectclass: zimbraServer\ndescription:\n",
                &[(
                    "cn=x",
                    &[
                        ("cn", &["a", "c"]),
                        ("cn;lang-en", &["b"]),
                        ("objectClass", &["top", "zimbraServer"]),
                        ("description", &[""]),
                    ],
                )],
            ),
            // CRLF, folded with CRLF, a value with a colon and spaces.
            (
                "version: 1\r\n\r\ndn: cn=config,cn=zimbra\r\nzimbraMtaRelayHost: [172.20.14.1]\r\n :25\r\nzimbraMtaSmtpdMilters: inet:127.0.0.1:8465  \r\n\r\n",
                &[(
                    "cn=config,cn=zimbra",
                    &[
                        ("zimbraMtaRelayHost", &["[172.20.14.1]:25"]),
                        ("zimbraMtaSmtpdMilters", &["inet:127.0.0.1:8465  "]),
                    ],
                )],
            ),
            // Nothing but a version and comments.
            ("version: 1\n# empty\n", &[]),
            ("", &[]),
            ("\n\n", &[]),
        ];
        for (text, expect) in cases {
            check(text, expect);
        }
    }

    #[test]
    fn bad_input_names_the_line() {
        // (text, line, part of the message)
        let cases: &[(&str, usize, &str)] = &[
            (
                "dn: cn=a\nno colon here\n",
                2,
                "not an `attribute: value` line",
            ),
            (
                "dn: cn=a\ncn: a\n\nsecret-part-of-a-password\n",
                4,
                "attribute: value",
            ),
            (
                "dn: cn=a\nchangetype: modify\nreplace: cn\n",
                2,
                "not a content LDIF",
            ),
            (
                "dn: cn=a\ncontrol: 1.2.3 true\nchangetype: add\n",
                2,
                "not a content LDIF",
            ),
            ("cn: a\ndn: cn=a\n", 1, "must start with `dn:`"),
            ("version: 2\ndn: cn=a\n", 1, "version"),
            (
                "dn: cn=a\n\nversion: 1\ndn: cn=b\n",
                3,
                "must start with `dn:`",
            ),
            (" folded first\n", 1, "continuation"),
            ("dn: cn=a\n\n continued blank\n", 3, "continuation"),
            (
                "dn: cn=a\nzimbraMailTrustedIP:: !!!\n",
                2,
                "does not decode",
            ),
            ("dn:: /9j/4AAQ\n", 1, "DN is not UTF-8"),
            ("dn: cn=a\nc n: x\n", 2, "no attribute name"),
        ];
        for (text, line, msg) in cases {
            match entries(text) {
                Err(Error::Parse {
                    path,
                    line: l,
                    message,
                    ..
                }) => {
                    assert_eq!(path, PATH);
                    assert_eq!(l, *line, "{text:?}: {message}");
                    assert!(message.contains(msg), "{text:?}: {message}");
                    assert!(!message.contains("secret-part"), "{message}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let mut bytes = b"dn: cn=a\ncn: ".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        let mut chunks = Chunks::new(PATH, bytes.as_slice());
        let err = chunks.next().err().expect("invalid UTF-8");
        assert!(matches!(err, Error::Parse { line: 2, .. }), "{err:?}");
    }

    #[test]
    fn empty_duplicate_and_bom_exports_are_said_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ldap.bak");
        let read_all = |narrowed: bool| {
            let mut d = LdifDirectory::open(&p)?;
            if narrowed {
                d.narrow(&["172.20.14.25".parse().unwrap()]);
            }
            d.for_each(&mut |_| Ok(()))
        };
        // (text, what the error says; None: it reads)
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"", Some("is empty (0 bytes)")),
            (b"version: 1\n\n", Some("holds no entry")),
            (b"# only a comment\n", Some("holds no entry")),
            (
                b"dn: cn=a\ncn: a\n\ndn: CN=A\ncn: b\n",
                Some(":4: the entry `CN=A` is here a second time (first at line 1)"),
            ),
            (
                b"dn: cn=a\nip: 172.20.14.25\n\ndn: cn=b\ncn: b\n\ndn: cn=a\nip: 172.20.14.25\n",
                Some(":7: the entry `cn=a` is here a second time"),
            ),
            (
                b"\xef\xbb\xbfdn: cn=a\ncn: a\n",
                Some(":1: the file starts with a UTF-8 byte order mark (BOM)"),
            ),
            (b"dn: cn=a\ncn: a\n\ndn: cn=b\ncn: b\n", None),
        ];
        for (text, want) in cases {
            std::fs::write(&p, text).unwrap();
            for narrowed in [false, true] {
                let got = read_all(narrowed);
                // A narrowed read (scan, plan) compares the entries it
                // visits; a copy of one it leaves out cannot matter to it
                // (apply reads the whole export and refuses it there).
                let want = if narrowed && text.starts_with(b"dn: cn=a\ncn: a\n\ndn: CN=A") {
                    &None
                } else {
                    want
                };
                match want {
                    None => assert!(got.is_ok(), "{text:?}: {got:?}"),
                    Some(w) => {
                        let e = got.unwrap_err();
                        assert!(
                            e.to_string().contains(w),
                            "{text:?} narrowed={narrowed}: {e}"
                        );
                        assert!(e.help().is_some_and(|h| !h.is_empty()));
                    }
                }
            }
        }
        // A FIFO is refused, not waited on.
        let fifo = dir.path().join("fifo.ldif");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: the path is NUL-terminated.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = LdifDirectory::open(&fifo).err().unwrap().to_string();
        assert!(e.contains("is a FIFO"), "{e}");
    }

    #[test]
    fn open_reports_missing_file_and_zmslapcat() {
        let err = LdifDirectory::open(Path::new("/nonexistent/ldap.bak"))
            .err()
            .expect("missing file");
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/ldap.bak"), "{msg}");
        assert!(err.help().unwrap().contains("zmslapcat"));
    }

    #[test]
    fn for_each_streams_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ldap.bak");
        std::fs::write(&p, "dn: cn=a\ncn: a\n\ndn: cn=b\ncn: b\n").unwrap();
        let mut d = LdifDirectory::open(&p).unwrap();
        assert!(d.describe().contains("ldap.bak"));
        let mut dns = Vec::new();
        d.for_each(&mut |e| {
            dns.push(e.dn);
            Ok(())
        })
        .unwrap();
        assert_eq!(dns, ["cn=a", "cn=b"]);
        // An error of the visitor stops the walk and comes back.
        let mut n = 0;
        let err = d.for_each(&mut |_| {
            n += 1;
            Err(Error::other("stop", "x"))
        });
        assert!(err.is_err());
        assert_eq!(n, 1);
    }

    #[test]
    fn narrowing_holds_for_the_next_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ldap.bak");
        std::fs::write(
            &p,
            "dn: cn=config,cn=zimbra\ncn: config\n\ndn: cn=a\ncn: a\n\ndn: cn=b\ndescription: 172.20.14.25\n",
        )
        .unwrap();
        let mut d = LdifDirectory::open(&p).unwrap();
        let read = |d: &mut LdifDirectory| {
            let mut dns = Vec::new();
            d.for_each(&mut |e| {
                dns.push(e.dn);
                Ok(())
            })
            .unwrap();
            (dns, d.left_out())
        };
        d.narrow(&["172.20.14.25".parse().unwrap()]);
        // The first record is always read in full.
        assert_eq!(
            read(&mut d),
            (vec!["cn=config,cn=zimbra".into(), "cn=b".into()], 1)
        );
        assert_eq!(
            read(&mut d),
            (
                vec!["cn=config,cn=zimbra".into(), "cn=a".into(), "cn=b".into()],
                0
            )
        );
    }

    pub(super) fn edit(dn: &str, attr: &str, before: &[&str], after: &[&str]) -> ValueEdit {
        ValueEdit {
            dn: dn.into(),
            attribute: attr.into(),
            before: before.iter().map(ToString::to_string).collect(),
            after: after.iter().map(ToString::to_string).collect(),
        }
    }

    /// 100,000 entries stream through in well under 100 MiB.
    #[cfg(target_os = "linux")]
    #[test]
    fn large_export_streams() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ldap.bak");
        {
            let mut w = std::io::BufWriter::new(File::create(&p).unwrap());
            writeln!(w, "version: 1\n").unwrap();
            for i in 0..100_000 {
                write!(
                    w,
                    "dn: uid=user{i},ou=people,dc=corp,dc=example\nobjectClass: inetOrgPerson\nobjectClass: zimbraAccount\nuid: user{i}\nmail: user{i}@corp.example\nzimbraMailHost: mail.corp.example\nzimbraMailTransport: lmtp:mail.corp.example:7025\nzimbraId: 00000000-0000-0000-0000-{i:012}\ndescription: a folded description that is long enough to need\n  a continuation line\n\n"
                )
                .unwrap();
            }
        }
        let mut d = LdifDirectory::open(&p).unwrap();
        let mut n = 0usize;
        d.for_each(&mut |e| {
            n += 1;
            assert_eq!(e.attrs.len(), 7);
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 100_000);
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let hwm_kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        assert!(hwm_kib < 100 * 1024, "peak RSS {hwm_kib} KiB");
    }
}
