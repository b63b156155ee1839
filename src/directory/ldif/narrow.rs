//! The narrowed read of an LDIF export, for `scan` and `plan`: every
//! record is read and checked, but only those that may hold a target
//! become an [`Entry`]. In a real directory almost no entry holds the old
//! address, so this is where the time of a scan goes.
//!
//! The file is read in large blocks and cut into records in place; a
//! record is then decided on its own bytes, without allocating:
//!
//! * every line is checked the way `Record::parse` checks it;
//! * each value gets the test of [`finds_in`]: would `analyze` find
//!   something in it? Base64 values are decoded for it (into a reused
//!   buffer). Plain values are only looked at when the whole unfolded
//!   record (one copy into a reused `String`) passes
//!   [`Matcher::may_match`]: it holds each of them between a `:` or space
//!   and a line end, neighbours that keep `may_match` true wherever it is
//!   true for the value alone (see there).
//!
//! A record with a value that passes, or that is in any way unusual (the
//! first one, which may hold `version:`; records parted by a line of white
//! space rather than an empty one; a line `parse` would refuse), goes
//! through the same code as the full read ([`Chunks`] and
//! `Record::parse`), which builds the entry or reports the error, with
//! the same line numbers. So a narrowed read visits every entry in which
//! `analyze` finds something (and few others), and fails exactly where
//! the full read fails.

use std::io::Read;

use base64::prelude::{BASE64_STANDARD, Engine as _};
use memchr::memmem::Finder;
use memchr::{memchr, memchr_iter};

use super::{Chunk, Chunks, is_description_byte};
use crate::addr::Matcher;
use crate::directory::{Entry, finds_in};
use crate::error::{Error, Result};

/// Bytes read at a time. Records are cut in place, so the buffer only
/// grows for a record longer than this (a large photo or group).
const BLOCK: usize = 1 << 20;

/// Reads `input` (the LDIF file `path`) and calls `visit` for each entry
/// that may hold a target of `matcher`, in file order. Returns how many
/// entries were read without being visited.
pub(super) fn for_each(
    path: &str,
    input: impl Read,
    matcher: &Matcher,
    visit: &mut dyn FnMut(Entry) -> Result<()>,
) -> Result<(usize, usize)> {
    read(path, input, matcher, visit, BLOCK)
}

/// [`for_each`], reading `block` bytes at a time.
fn read(
    path: &str,
    input: impl Read,
    matcher: &Matcher,
    visit: &mut dyn FnMut(Entry) -> Result<()>,
    block: usize,
) -> Result<(usize, usize)> {
    let mut records = Records::new(path, input, block);
    // Among the entries visited: those left out are never compared.
    let mut unique = super::Unique::default();
    let mut visited = 0;
    let mut check = Check {
        matcher,
        fold: Finder::new(b"\n "),
        text: String::new(),
        decoded: Vec::new(),
    };
    let mut left_out = 0;
    let mut first = true;
    while let Some((slice, line)) = records.next()? {
        let verdict = if first {
            Verdict::Read
        } else {
            check.record(slice)
        };
        match verdict {
            Verdict::Skip { entry } => left_out += usize::from(entry),
            Verdict::Read => {
                let mut chunks = Chunks::starting(path, slice, line, first);
                while let Some(chunk) = chunks.next()? {
                    if let Chunk::Record(rec) = chunk
                        && let Some(parsed) = rec.parse(path)?
                    {
                        unique.check(path, &parsed.dn, rec.line())?;
                        visited += 1;
                        visit(parsed.into_entry())?;
                    }
                }
            }
        }
        first = false;
    }
    Ok((visited, left_out))
}

/// Cuts the input into slices that begin and end where [`Chunks`] sees
/// a record begin and end: after blank lines, and before an empty line
/// (`\n\n` or `\n\r\n`, what exports put between records, found with
/// `memmem` rather than line by line). Where lines of other white space
/// separate records, a slice holds several; [`Check`] sends it to the
/// full reader, which cuts it as always.
struct Records<'p, R> {
    path: &'p str,
    input: R,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// Physical lines before `start`.
    line: usize,
    /// The size of a block.
    block: usize,
    /// `\n\n` and `\n\r\n`.
    seps: [Sep; 2],
}

/// A line end followed by an empty line, and where it was found last.
struct Sep {
    finder: Finder<'static>,
    /// Its next place in `buf`, if known to be at or after `from`.
    hit: Option<usize>,
    /// Where to search on: there is none between the last record's
    /// start and here, except at `hit`.
    from: usize,
}

impl Sep {
    fn new(needle: &'static [u8]) -> Sep {
        Sep {
            finder: Finder::new(needle),
            hit: None,
            from: 0,
        }
    }

    /// The first place at or after `at` in `buf`.
    fn find(&mut self, buf: &[u8], at: usize) -> Option<usize> {
        if let Some(h) = self.hit.filter(|&h| h >= at) {
            return Some(h);
        }
        let from = at.max(self.from);
        self.hit = self.finder.find(&buf[from..]).map(|i| from + i);
        // A separator may begin in the bytes not read yet.
        let tail = self.finder.needle().len() - 1;
        self.from = self
            .hit
            .map_or(buf.len().saturating_sub(tail).max(from), |h| h + 1);
        self.hit
    }

    /// The buffer's bytes moved `by` places to the front.
    fn shift(&mut self, by: usize) {
        self.hit = self.hit.and_then(|h| h.checked_sub(by));
        self.from = self.from.saturating_sub(by);
    }
}

/// Whether a physical line is blank for [`Chunks`]: empty or white space
/// alone (valid UTF-8, Unicode white space too), and not starting with a
/// space (that continues a line).
fn is_blank(line: &[u8]) -> bool {
    match line.first() {
        Some(&b) if b != b' ' && (b.is_ascii_whitespace() || !b.is_ascii()) => {
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            std::str::from_utf8(body).is_ok_and(|s| s.trim().is_empty())
        }
        _ => false,
    }
}

impl<'p, R: Read> Records<'p, R> {
    fn new(path: &'p str, input: R, block: usize) -> Self {
        Records {
            path,
            input,
            buf: vec![0; block],
            start: 0,
            end: 0,
            eof: false,
            line: 0,
            block,
            seps: [Sep::new(b"\n\n"), Sep::new(b"\n\r\n")],
        }
    }

    /// The next slice (its last line end included) and the number of the
    /// physical line before it.
    fn next(&mut self) -> Result<Option<(&[u8], usize)>> {
        // Blank lines between records.
        loop {
            let Some(e) = self.line_end()? else {
                return Ok(None);
            };
            if !is_blank(&self.buf[self.start..self.start + e]) {
                break;
            }
            self.start += e;
            self.line += 1;
        }
        let end = loop {
            let buf = &self.buf[..self.end];
            let [a, b] = &mut self.seps;
            match (a.find(buf, self.start), b.find(buf, self.start)) {
                (Some(x), Some(y)) => break x.min(y) + 1,
                (Some(x), None) | (None, Some(x)) => break x + 1,
                (None, None) if self.eof => break self.end,
                (None, None) => {
                    // Records parted only by lines of other white space
                    // are cut there once the slice outgrows a block, so
                    // that memory stays about the size of a record.
                    if self.end - self.start >= self.block
                        && let Some(e) = self.blank_line()
                    {
                        break e;
                    }
                    self.fill()?;
                }
            }
        };
        let record = &self.buf[self.start..end];
        let before = self.line;
        self.line += memchr_iter(b'\n', record).count();
        self.start = end;
        Ok(Some((record, before)))
    }

    /// Where the first blank line after the first line of the slice
    /// begins, among the whole lines read.
    fn blank_line(&self) -> Option<usize> {
        let avail = &self.buf[self.start..self.end];
        let mut lines = memchr_iter(b'\n', avail).map(|i| i + 1).peekable();
        while let (Some(s), Some(&e)) = (lines.next(), lines.peek()) {
            if is_blank(&avail[s..e]) {
                return Some(self.start + s);
            }
        }
        None
    }

    /// The end (relative to `start`) of the physical line at `start`,
    /// reading more as needed; `None` at the end of the input.
    fn line_end(&mut self) -> Result<Option<usize>> {
        loop {
            let avail = &self.buf[self.start..self.end];
            if let Some(i) = memchr(b'\n', avail) {
                return Ok(Some(i + 1));
            }
            if self.eof {
                return Ok((!avail.is_empty()).then_some(avail.len()));
            }
            self.fill()?;
        }
    }

    /// Reads another block: moves the unread bytes to the front, growing
    /// the buffer when they fill it.
    fn fill(&mut self) -> Result<()> {
        let shift = self.start;
        self.buf.copy_within(shift..self.end, 0);
        self.end -= shift;
        self.start = 0;
        for s in &mut self.seps {
            s.shift(shift);
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read", self.path, e)),
            }
            return Ok(());
        }
    }
}

/// What to do with a record.
enum Verdict {
    /// Nothing in it can match and the full read would accept it: count
    /// it (`entry`: it has a DN, so it is an entry) and go on.
    Skip { entry: bool },
    /// Read it in full: it may match, or the full read must judge it.
    Read,
}

/// The per-record test, with its reused buffers.
struct Check<'m> {
    matcher: &'m Matcher,
    /// `\n ` ends a physical line that the next one continues.
    fold: Finder<'static>,
    /// The record unfolded.
    text: String,
    /// A base64 value decoded.
    decoded: Vec<u8>,
}

impl Check<'_> {
    /// Decides a slice of the file (see the module docs).
    fn record(&mut self, record: &[u8]) -> Verdict {
        let Ok(record) = std::str::from_utf8(record) else {
            return Verdict::Read;
        };
        if record.starts_with(' ') {
            return Verdict::Read;
        }
        // Unfold: drop each line end (`\n` or `\r\n`) followed by a space,
        // and the space, as the full read does.
        self.text.clear();
        let mut from = 0;
        let bytes = record.as_bytes();
        for i in self.fold.find_iter(bytes) {
            let cut = if i > from && bytes[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            self.text.push_str(&record[from..cut]);
            from = i + 2;
        }
        self.text.push_str(&record[from..]);
        // When nothing in the whole record may match, no plain value
        // needs a closer look.
        let whole = self.matcher.may_match(&self.text);
        let mut dn = false;
        let text = self.text.as_str();
        let mut next = 0;
        while next < text.len() {
            let end = memchr(b'\n', &text.as_bytes()[next..]).map_or(text.len(), |i| next + i);
            let line = &text[next..end];
            next = end + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with('#') {
                continue;
            }
            // `parse_line` takes the text before the first `:` and wants
            // an attribute description there: the first byte that cannot
            // be in one must be that `:`, and not the first byte.
            let colon = line.bytes().position(|b| !is_description_byte(b));
            let Some(colon) = colon.filter(|&i| i > 0 && line.as_bytes()[i] == b':') else {
                return Verdict::Read;
            };
            let (desc, rest) = (&line[..colon], &line[colon + 1..]);
            let decoded = match rest.strip_prefix(':') {
                Some(b64) => {
                    self.decoded.clear();
                    if BASE64_STANDARD
                        .decode_vec(b64.trim(), &mut self.decoded)
                        .is_err()
                    {
                        return Verdict::Read;
                    }
                    Some(std::str::from_utf8(&self.decoded))
                }
                None => None,
            };
            if !dn {
                // The DN must be text (`parse` refuses a URL or binary);
                // analyze does not search it.
                if !desc.eq_ignore_ascii_case("dn")
                    || rest.starts_with('<')
                    || decoded.is_some_and(|d| d.is_err())
                {
                    return Verdict::Read;
                }
                dn = true;
                continue;
            }
            if desc.eq_ignore_ascii_case("changetype") || desc.eq_ignore_ascii_case("control") {
                return Verdict::Read;
            }
            if let Some(decoded) = decoded {
                if let Ok(value) = decoded
                    && finds_in(self.matcher, desc, value)
                {
                    return Verdict::Read;
                }
            } else if whole
                && !rest.starts_with('<')
                && finds_in(self.matcher, desc, rest.trim_start_matches(' '))
            {
                return Verdict::Read;
            }
        }
        Verdict::Skip { entry: dn }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::analyze;
    use crate::host::Host;
    use crate::policy::Rewriter;
    use crate::spec::{Pair, PrefixSource};
    use crate::surface::Ctx;

    const PATH: &str = "/tmp/ldap.bak";

    /// Block sizes that put a block boundary everywhere: inside line ends,
    /// folds, base64 values, between records.
    const BLOCKS: &[usize] = &[1, 2, 3, 5, 7, 16, 61, BLOCK];

    /// Every entry, read in full: the reference.
    fn full(text: &[u8]) -> Result<Vec<Entry>> {
        let mut chunks = Chunks::new(PATH, text);
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

    /// The narrowed read: the entries visited and the number left out.
    fn narrowed(text: &[u8], m: &Matcher, block: usize) -> Result<(Vec<Entry>, usize)> {
        let mut out = Vec::new();
        let (visited, left) = read(
            PATH,
            text,
            m,
            &mut |e| {
                out.push(e);
                Ok(())
            },
            block,
        )?;
        assert_eq!(visited, out.len());
        Ok((out, left))
    }

    /// What `scan` and `plan` make of these entries, every field shown.
    fn reports(entries: &[Entry], scan: &Ctx, plan: &Ctx) -> String {
        let mut out = String::new();
        for c in [scan, plan] {
            let mut r = crate::model::Report::default();
            for e in entries {
                r.extend(analyze(e, c));
            }
            out += &format!("{r:?}\n");
        }
        out
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        host: Host,
        matcher: Matcher,
        rewriter: Rewriter,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let host = Host::open(dir.path(), None).unwrap();
            let pair = |old: &str, new: &str, len| Pair {
                old: old.parse().unwrap(),
                new: new.parse().unwrap(),
                old_prefix: len,
                new_prefix: len,
                old_prefix_source: PrefixSource::Given,
                new_prefix_source: PrefixSource::Given,
            };
            let pairs = vec![
                pair("172.20.14.25", "10.40.7.131", 24),
                pair("2001:db8::25", "2001:db8:1::131", 64),
            ];
            let olds: Vec<_> = pairs.iter().map(|p| p.old).collect();
            Fixture {
                _dir: dir,
                host,
                matcher: Matcher::new(&olds),
                rewriter: Rewriter::new(pairs, Vec::new()),
            }
        }

        /// Asserts that the narrowed read, in every block size, fails as
        /// the full read fails or yields the same findings and changes
        /// from the entries it visits (which are entries of the full read,
        /// in order) and counts the others. Returns how many entries were
        /// visited and left out: the same in every block size (a record
        /// cut wrongly would be visited for nothing) where records are
        /// parted by empty lines; where lines of other white space part
        /// them, a long slice is cut there, which depends on the blocks.
        fn same(&self, text: &[u8]) -> (usize, usize) {
            let scan = Ctx::new(&self.host, &self.matcher, None);
            let plan = Ctx {
                rewriter: Some(&self.rewriter),
                ..scan
            };
            let shown: String = String::from_utf8_lossy(text).chars().take(300).collect();
            let parted_by_empty_lines = !text
                .split(|&b| b == b'\n')
                .any(|l| !matches!(l, b"" | b"\r") && is_blank(l));
            let want = full(text);
            let mut counts = (0, 0);
            for &block in BLOCKS {
                let got = narrowed(text, &self.matcher, block);
                match (&want, got) {
                    (Err(w), Err(g)) => {
                        assert_eq!(format!("{w:?}"), format!("{g:?}"), "{shown:?}");
                    }
                    (Ok(all), Ok((visited, left))) => {
                        assert_eq!(visited.len() + left, all.len(), "{shown:?}");
                        let mut rest = all.iter();
                        for v in &visited {
                            assert!(rest.any(|e| e == v), "{shown:?}: {v:?}");
                        }
                        assert_eq!(
                            reports(all, &scan, &plan),
                            reports(&visited, &scan, &plan),
                            "{shown:?}"
                        );
                        if block != BLOCKS[0] && parted_by_empty_lines {
                            assert_eq!(counts, (visited.len(), left), "{shown:?} in {block}");
                        }
                        counts = (visited.len(), left);
                    }
                    (w, g) => panic!("{shown:?}: full {w:?}, narrowed {g:?}"),
                }
            }
            counts
        }
    }

    fn b64(s: &str) -> String {
        BASE64_STANDARD.encode(s)
    }

    /// An export with the address where only a careful reader finds it
    /// (folded, base64, in an option) and where it must not count
    /// (comments, secrets, bookkeeping, near misses, the DN).
    fn tricky() -> String {
        format!(
            "version: 1

# an export naming 172.20.14.25 in a comment
dn: cn=comment,cn=zimbra
cn: comment
#  a folded comment with
  172.20.14.25 in it

dn: cn=folded,cn=zimbra
zimbraMailTrustedIP: 172.20
 .14.25
zimbraMtaMyNetworks: 127.0.0.0/8 172.20.0.0/
 16
zimbraMail
 BindAddress: 172.20.14.25

dn: cn=base64,cn=zimbra
zimbraSpellCheckURL:: {url}
jpegPhoto:: /9j/4AAQSkZJRg==

dn: cn=secrets,cn=zimbra
userPassword:: {password}
zimbraAuthTokenKey: 0:172.20.14.25:deadbeef
entryUUID: 172.20.14.25
zimbraNotes:< file:///172.20.14.25/notes


dn: cn=near,cn=zimbra
zimbraMailTrustedIP: 172.20.14.250
description: build 10.172.20.14.25, relay [172.20.14.2]:25, net 172.20.14.128/25
zimbraMtaRelayHost:: {near}
zimbraPrefTimeZoneId: Europe/Berlin 2024/01/02 0000/8

dn: cn=v6,cn=zimbra
zimbraMailTrustedIP: 2001:DB8:0:0:0:0:0:25
description: mac 00:50:56:14:20:25

dn: cn=v6-near,cn=zimbra
zimbraMailTrustedIP: 2001:db8::250
description: mac 00:50:56:14:20:25

dn:: {dn}
cn: the address is only in the DN

dn: cn=options,cn=zimbra
cn;lang-en: 172.20.14.25
\t
dn: cn=after-a-tab,cn=zimbra
description: see http://172.20.14.25/
\u{a0}
dn: cn=after-a-no-break-space,cn=zimbra
zimbraVirtualIPAddress: 172.20.14.25",
            url = b64("http://172.20.14.25:7780/aspell.php"),
            password = b64("{SSHA}172.20.14.25"),
            near = b64("[172.20.14.251]:25"),
            dn = b64("cn=172.20.14.25,cn=zimbra"),
        )
    }

    #[test]
    fn narrowed_read_finds_what_the_full_read_finds() {
        let fx = Fixture::new();
        let lf = tricky();
        let crlf = lf.replace('\n', "\r\n");
        // Records parted by `\n\r\n` and by `\n\n` in one file.
        let mixed = lf.replace("\n\ndn: cn=base64", "\r\n\r\ndn: cn=base64");
        for text in [
            &lf,
            &crlf,
            &mixed,
            &format!("{lf}\n\n"),
            &format!("{crlf}\r\n"),
        ] {
            // Left out: the comment, the secrets, both near misses, the DN.
            assert_eq!(fx.same(text.as_bytes()), (6, 5), "{text:?}");
        }
        let visited: Vec<String> = narrowed(lf.as_bytes(), &fx.matcher, BLOCK)
            .unwrap()
            .0
            .into_iter()
            .map(|e| e.dn)
            .collect();
        assert_eq!(
            visited,
            [
                "cn=folded,cn=zimbra",
                "cn=base64,cn=zimbra",
                "cn=v6,cn=zimbra",
                "cn=options,cn=zimbra",
                "cn=after-a-tab,cn=zimbra",
                "cn=after-a-no-break-space,cn=zimbra",
            ]
        );
    }

    #[test]
    fn narrowed_read_fails_where_the_full_read_fails() {
        let fx = Fixture::new();
        // A bad record after good ones, so that it is not the first.
        let good = "version: 1\n\ndn: cn=ok\ncn: ok\n\n";
        let bad: &[&[u8]] = &[
            b"dn: cn=a\nno colon here\n",
            b"dn: cn=a\n: empty name\n",
            b"dn: cn=a\nc n: x\n",
            b"dn: cn=a\ncn: a\n\nsecret-part-of-a-password\n",
            b"dn: cn=a\nchangetype: modify\nreplace: cn\n",
            b"dn: cn=a\ncontrol: 1.2.3 true\n",
            b"cn: a\ndn: cn=a\n",
            b"version: 1\ndn: cn=a\n",
            b"\n continued after a blank line\n",
            b"dn: cn=a\n\n continued blank\n",
            b"dn: cn=a\nzimbraMailTrustedIP:: !!!\n",
            b"dn: cn=a\nzimbraMailTrustedIP:: MTcy\n LjIw!\n",
            b"dn:: /9j/4AAQ\n",
            b"dn:< file:///x\n",
            b"dn: cn=a\ncn: \xff\xfe\n",
            b"dn: cn=a\ncn: a\n\n\xa0\n",
            b"dn: cn=a\r\ncn: 172.20.14.25\r\n\xc2\r\n",
            b"# only a comment\n\n\xff\n",
        ];
        for b in bad {
            let mut text = good.as_bytes().to_vec();
            text.extend_from_slice(b);
            fx.same(&text);
            assert!(full(&text).is_err(), "{:?}", String::from_utf8_lossy(&text));
            // And the same as the first record.
            fx.same(b);
        }
        // Line numbers count every physical line before the record.
        let text = format!("{}\n\ndn: cn=x\n bad\nno colon\n", tricky());
        let err = narrowed(text.as_bytes(), &fx.matcher, 7).unwrap_err();
        let lines = tricky().lines().count() + 4;
        assert!(
            matches!(err, Error::Parse { line, .. } if line == lines),
            "{err:?}, want line {lines}"
        );
    }

    #[test]
    fn records_parted_by_white_space_lines_stay_small() {
        let fx = Fixture::new();
        let text: String = (0..2000)
            .map(|i| format!("dn: cn=r{i}\ncn: r{i}\n\t\n"))
            .collect();
        let mut records = Records::new(PATH, text.as_bytes(), 64);
        let mut n = 0;
        while let Some((slice, _)) = records.next().unwrap() {
            assert!(slice.len() < 200, "{}", slice.len());
            n += 1;
        }
        assert!(n > 500, "{n} slices");
        assert!(records.buf.len() <= 256, "{}", records.buf.len());
        fx.same(text.as_bytes());
        // Cut at the tab lines, the records are decided one by one.
        let (_, left) = narrowed(text.as_bytes(), &fx.matcher, 64).unwrap();
        assert!(left > 1900, "{left} left out");
    }

    /// Random exports glued from lines that matter (addresses, near misses,
    /// secrets, base64, comments, white space, faults), folded at random
    /// places, with LF or CRLF.
    #[test]
    fn random_exports_read_alike() {
        const ATTRS: &[&str] = &[
            "cn: x",
            "description: 172.20.14.25",
            "description: at 172.20.14.250 and 10.172.20.14.25",
            "zimbraMailTrustedIP: 172.20.14.25",
            "zimbraMtaMyNetworks: 127.0.0.0/8 172.20.0.0/16",
            "zimbraMtaMyNetworks: 172.20.14.128/25",
            "zimbraMailTransport: smtp:[172.20.14.25]:25",
            "zimbraSpellCheckURL:: aHR0cDovLzE3Mi4yMC4xNC4yNTo3NzgwL2FzcGVsbC5waHA=",
            "zimbraMtaRelayHost:: WzE3Mi4yMC4xNC4yNTFdOjI1",
            "userPassword:: e1NTSEF9MTcyLjIwLjE0LjI1",
            "zimbraAuthTokenKey: 0:172.20.14.25:deadbeef",
            "entryCSN: 172.20.14.25",
            "cn;lang-en: 2001:db8::25",
            "description: 2001:db8::250 00:50:56:14:20:25",
            "jpegPhoto:: /9j/4AAQSkZJRg==",
            "zimbraNotes:< file:///172.20.14.25",
            "# 172.20.14.25",
            "description:",
            "dn: cn=second-dn",
            // Faults, rarer.
            "no colon",
            "changetype: add",
            "x:: !!!",
            "\tdescription: led by a tab",
            "\u{a0}description: led by a no-break space",
        ];
        const BETWEEN: &[&str] = &["", "", "", "\t", "\u{a0}", " ", "# c"];
        let fx = Fixture::new();
        let mut st = 7u64;
        let mut next = |n: usize| {
            st = st
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (st >> 33) as usize % n
        };
        let (mut ok, mut visited, mut left) = (0, 0, 0);
        for _ in 0..1500 {
            let mut lines: Vec<String> = Vec::new();
            for r in 0..1 + next(4) {
                if r > 0 {
                    for _ in 0..1 + next(2) {
                        lines.push(BETWEEN[next(BETWEEN.len())].to_string());
                    }
                }
                if next(8) == 0 {
                    lines.push("# record".into());
                }
                lines.push(format!("dn: cn=r{r}"));
                for _ in 0..next(5) {
                    // Faults (the last five) one time in four.
                    let n = if next(4) == 0 {
                        ATTRS.len()
                    } else {
                        ATTRS.len() - 5
                    };
                    lines.push(ATTRS[next(n)].to_string());
                }
            }
            let eol = if next(2) == 0 { "\n" } else { "\r\n" };
            let mut text = String::new();
            for line in &lines {
                // Fold at a random character boundary, sometimes twice.
                let mut rest = line.as_str();
                let mut first = true;
                while !rest.is_empty() && next(3) == 0 {
                    let mut cut = next(rest.len());
                    while !rest.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    if first && cut == 0 {
                        break;
                    }
                    text += &rest[..cut];
                    text += eol;
                    text.push(' ');
                    rest = &rest[cut..];
                    first = false;
                }
                text += rest;
                text += eol;
            }
            if next(4) == 0 {
                text.truncate(text.len() - eol.len());
            }
            let (v, l) = fx.same(text.as_bytes());
            if full(text.as_bytes()).is_ok() {
                ok += 1;
                visited += v;
                left += l;
            }
        }
        // The generator must produce good and bad exports, and entries of
        // both outcomes, for the comparison to mean much.
        assert!((500..1400).contains(&ok), "{ok} good exports");
        assert!(
            visited > 300 && left > 300,
            "{visited} visited, {left} left out"
        );
    }
}
