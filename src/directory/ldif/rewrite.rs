//! Rewriting values of an LDIF export in place: every other byte (folds,
//! comments, order, line ends) stays as it is.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, Write};

use super::write::{fold, value_line};
use super::{Chunk, Chunks, Parsed, Record, Spec};
use crate::directory::ValueEdit;
use crate::error::{Error, Result};

/// Copies an LDIF stream to `out` with the values of `edits` changed and
/// every other byte as it was: for each edit, the values that go are
/// deleted, the values that come are written in their place (then after
/// the attribute's last line, or at the end of the entry), with base64
/// where RFC 2849 requires it and folded at 76 columns. Values that are
/// neither going nor coming keep their lines untouched.
///
/// Fails on drift: an entry that is gone, an attribute that lost a value
/// of `before`, or one that holds a value the edit adds already; a value
/// someone else added is kept. The output is then incomplete:
/// write to a temporary file and keep it only on success. Edits of secret
/// attributes are refused.
pub fn rewrite_values<R: BufRead, W: Write>(
    path: &str,
    input: R,
    out: W,
    edits: &[ValueEdit],
) -> Result<()> {
    let mut by_dn: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in edits.iter().enumerate() {
        if crate::zimbra::is_secret_attribute(&e.attribute) {
            return Err(Error::other(
                format!(
                    "refusing to change secret attribute `{}` of `{}`",
                    e.attribute, e.dn
                ),
                "zmreip never edits secrets; this may indicate a bug in zmreip",
            ));
        }
        let same = by_dn.entry(e.dn.to_ascii_lowercase()).or_default();
        if same
            .iter()
            .any(|&j| edits[j].attribute.eq_ignore_ascii_case(&e.attribute))
        {
            return Err(Error::other(
                format!("`{}` of `{}` is edited twice", e.attribute, e.dn),
                "this may indicate a bug in zmreip",
            ));
        }
        same.push(i);
    }
    let mut done = vec![false; edits.len()];
    let mut out = Out {
        w: out,
        path,
        ends_line: true,
    };
    let mut unique = super::Unique::default();
    let mut chunks = Chunks::new(path, input);
    while let Some(chunk) = chunks.next()? {
        let rec = match chunk {
            Chunk::Blank(raw) => {
                out.raw(&raw)?;
                continue;
            }
            Chunk::Record(rec) => rec,
        };
        let mine = match rec.parse(path)? {
            Some(p) => {
                unique.check(path, &p.dn, rec.line())?;
                by_dn.get(&p.dn.to_ascii_lowercase()).map(|ix| (p, ix))
            }
            None => None,
        };
        let Some((parsed, ix)) = mine else {
            for l in &rec.lines {
                out.raw(&l.raw)?;
            }
            continue;
        };
        let plan = plan_record(&rec, &parsed, ix.iter().map(|&i| &edits[i]))?;
        write_record(&mut out, &rec, &plan)?;
        for &i in ix {
            done[i] = true;
        }
    }
    if let Some(i) = done.iter().position(|d| !d) {
        let e = &edits[i];
        return Err(Error::other(
            format!(
                "{path}: entry `{}` is not in the LDIF (the plan changes its `{}`)",
                e.dn, e.attribute
            ),
            "the directory changed since the plan was made; run `zmreip plan` again",
        ));
    }
    out.w.flush().map_err(|e| Error::io("write", path, e))
}

/// What becomes of a record's lines.
struct RecordPlan {
    /// Per line: `None` keeps it; `Some(values)` writes these new lines
    /// (attribute, value) instead, possibly none.
    replace: Vec<Option<Vec<(String, String)>>>,
    /// New lines after a line, per line.
    after: Vec<Vec<(String, String)>>,
    /// New lines at the end of the record.
    end: Vec<(String, String)>,
}

fn plan_record<'e>(
    rec: &Record,
    parsed: &Parsed,
    edits: impl Iterator<Item = &'e ValueEdit>,
) -> Result<RecordPlan> {
    let n = rec.lines.len();
    let mut plan = RecordPlan {
        replace: (0..n).map(|_| None).collect(),
        after: (0..n).map(|_| Vec::new()).collect(),
        end: Vec::new(),
    };
    for e in edits {
        let mut lines: Vec<(usize, &str)> = Vec::new();
        let mut spelled = e.attribute.as_str();
        let mut last = None;
        for (i, a) in parsed.attrs.iter().enumerate() {
            let Some((desc, spec)) = a else { continue };
            if !desc.eq_ignore_ascii_case(&e.attribute) {
                continue;
            }
            spelled = desc;
            last = Some(i);
            if let Spec::Text(v) = spec {
                lines.push((i, v));
            }
        }
        // Value level, as a live modify: the values the edit reads must
        // be there and those it adds not yet; any other value (another
        // admin's) stays as it is.
        let current: BTreeSet<&str> = lines.iter().map(|(_, v)| *v).collect();
        let before: BTreeSet<&str> = e.before.iter().map(String::as_str).collect();
        let after: BTreeSet<&str> = e.after.iter().map(String::as_str).collect();
        let missing: Vec<&str> = before.difference(&current).copied().collect();
        let present: Vec<&str> = after
            .difference(&before)
            .filter(|v| current.contains(*v))
            .copied()
            .collect();
        if !missing.is_empty() || !present.is_empty() {
            let what = if crate::zimbra::is_secret_attribute(&e.attribute) {
                "other values (not shown: a secret)".to_string()
            } else if !missing.is_empty() {
                format!("no longer {missing:?}")
            } else {
                format!("{present:?} already")
            };
            return Err(Error::other(
                format!("`{}` of `{}` holds {what}", e.attribute, e.dn),
                "the directory changed since the plan was made; run `zmreip plan` again",
            ));
        }
        let mut adds: Vec<&str> = Vec::new();
        for v in &e.after {
            if !before.contains(v.as_str()) && !adds.contains(&v.as_str()) {
                adds.push(v);
            }
        }
        // An added value takes the place of a removed one first (a move
        // in place); the others follow the value before them in the
        // plan's list (a value served beside the old one sits right after
        // it), else the attribute's last line.
        let mut adds = adds.into_iter();
        let mut at: Vec<(&str, Option<usize>)> = Vec::new();
        for &(i, v) in &lines {
            if after.contains(v) {
                at.push((v, Some(i)));
                continue;
            }
            if !before.contains(v) {
                // Another admin's value: it stays as it is.
                continue;
            }
            let add = adds.next();
            if let Some(a) = add {
                at.push((a, Some(i)));
            }
            plan.replace[i] = Some(
                add.map(|a| vec![(spelled.to_string(), a.to_string())])
                    .unwrap_or_default(),
            );
        }
        for a in adds {
            let k = e.after.iter().position(|v| v == a).unwrap_or(0);
            let anchor = e.after[..k]
                .iter()
                .rev()
                .find_map(|p| at.iter().find(|(v, _)| *v == p.as_str()).map(|(_, i)| *i))
                .unwrap_or(last);
            at.push((a, anchor));
            let line = (spelled.to_string(), a.to_string());
            match anchor {
                Some(i) => plan.after[i].push(line),
                None => plan.end.push(line),
            }
        }
    }
    Ok(plan)
}

fn write_record<W: Write>(out: &mut Out<W>, rec: &Record, plan: &RecordPlan) -> Result<()> {
    let eol = match rec.lines.first() {
        Some(l) if l.raw.ends_with(b"\r\n") => "\r\n",
        _ => "\n",
    };
    for (i, line) in rec.lines.iter().enumerate() {
        match &plan.replace[i] {
            None => out.raw(&line.raw)?,
            Some(new) => {
                for (a, v) in new {
                    out.value(a, v, eol)?;
                }
            }
        }
        for (a, v) in &plan.after[i] {
            out.value(a, v, eol)?;
        }
    }
    for (a, v) in &plan.end {
        out.value(a, v, eol)?;
    }
    Ok(())
}

/// The output of [`rewrite_values`], tracking whether the last byte
/// written ended a line (a file may end without a newline).
struct Out<'p, W> {
    w: W,
    path: &'p str,
    ends_line: bool,
}

impl<W: Write> Out<'_, W> {
    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.w
            .write_all(bytes)
            .map_err(|e| Error::io("write", self.path, e))?;
        self.ends_line = bytes.ends_with(b"\n");
        Ok(())
    }

    fn value(&mut self, attr: &str, value: &str, eol: &str) -> Result<()> {
        if !self.ends_line {
            self.raw(eol.as_bytes())?;
        }
        for phys in fold(&value_line(attr, value)) {
            self.raw(phys.as_bytes())?;
            self.raw(eol.as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::ldif::tests::{PATH, edit, entries};

    fn rewrite(text: &str, edits: &[ValueEdit]) -> Result<String> {
        let mut out = Vec::new();
        rewrite_values(PATH, text.as_bytes(), &mut out, edits)?;
        Ok(String::from_utf8(out).unwrap())
    }

    const EXPORT: &str = "\
# zmslapcat export
version: 1

dn: cn=config,cn=zimbra
objectClass: organizationalRole
zimbraMtaMyNetworks: 127.0.0.0/8 [::1]/128 172.20.14.0/
 24
zimbraMailTrustedIP: 172.20.14.25
zimbraMailTrustedIP: 172.20.14.250
# keep me
zimbraSpellCheckURL:: aHR0cDovLzE3Mi4yMC4xNC4yNTo3NzgwL2FzcGVsbC5waHA=
jpegPhoto:: /9j/4AAQSkZJRg==
zimbraMtaRelayHost: [172.20.14.1]:25

dn: cn=mail.corp.example,cn=servers,cn=zimbra
cn: mail.corp.example
zimbraServiceHostname: mail.corp.example
";

    #[test]
    fn rewrite_changes_only_those_values() {
        // (edits, expected output)
        let cases: Vec<(Vec<ValueEdit>, String)> = vec![
            // A folded single value, replaced in place and refolded.
            (
                vec![edit(
                    "cn=config,cn=zimbra",
                    "zimbraMtaMyNetworks",
                    &["127.0.0.0/8 [::1]/128 172.20.14.0/24"],
                    &["127.0.0.0/8 [::1]/128 10.40.7.0/24"],
                )],
                EXPORT.replace(
                    "zimbraMtaMyNetworks: 127.0.0.0/8 [::1]/128 172.20.14.0/\n 24\n",
                    "zimbraMtaMyNetworks: 127.0.0.0/8 [::1]/128 10.40.7.0/24\n",
                ),
            ),
            // One value of several; its neighbour stays byte for byte.
            (
                vec![edit(
                    "cn=config,cn=zimbra",
                    "zimbramailtrustedip",
                    &["172.20.14.250", "172.20.14.25"],
                    &["10.40.7.131", "172.20.14.250"],
                )],
                EXPORT.replace(
                    "zimbraMailTrustedIP: 172.20.14.25\n",
                    "zimbraMailTrustedIP: 10.40.7.131\n",
                ),
            ),
            // A value someone else added since the plan (172.20.14.250 is
            // not in `before`) stays as it is.
            (
                vec![edit(
                    "cn=config,cn=zimbra",
                    "zimbraMailTrustedIP",
                    &["172.20.14.25"],
                    &["10.40.7.131"],
                )],
                EXPORT.replace(
                    "zimbraMailTrustedIP: 172.20.14.25\n",
                    "zimbraMailTrustedIP: 10.40.7.131\n",
                ),
            ),
            // A value added beside the others goes after the last one.
            (
                vec![edit(
                    "cn=config,cn=zimbra",
                    "zimbraMailTrustedIP",
                    &["172.20.14.25", "172.20.14.250"],
                    &["172.20.14.25", "172.20.14.250", "10.40.7.131"],
                )],
                EXPORT.replace(
                    "zimbraMailTrustedIP: 172.20.14.250\n",
                    "zimbraMailTrustedIP: 172.20.14.250\nzimbraMailTrustedIP: 10.40.7.131\n",
                ),
            ),
            // A value added right after the one it serves beside (a
            // window's open) sits there, not after the last one; removing
            // the old one later leaves the new one where a move in place
            // writes it.
            (
                vec![edit(
                    "cn=config,cn=zimbra",
                    "zimbraMailTrustedIP",
                    &["172.20.14.25", "172.20.14.250"],
                    &["172.20.14.25", "10.40.7.131", "172.20.14.250"],
                )],
                EXPORT.replace(
                    "zimbraMailTrustedIP: 172.20.14.25\n",
                    "zimbraMailTrustedIP: 172.20.14.25\nzimbraMailTrustedIP: 10.40.7.131\n",
                ),
            ),
            // A value removed; a base64 value rewritten in plain text; an
            // attribute the entry lacks is added at its end; another entry.
            (
                vec![
                    edit(
                        "cn=config,cn=zimbra",
                        "zimbraMailTrustedIP",
                        &["172.20.14.25", "172.20.14.250"],
                        &["172.20.14.250"],
                    ),
                    edit(
                        "cn=config,cn=zimbra",
                        "zimbraSpellCheckURL",
                        &["http://172.20.14.25:7780/aspell.php"],
                        &["http://10.40.7.131:7780/aspell.php"],
                    ),
                    edit(
                        "CN=mail.corp.example,cn=servers,cn=zimbra",
                        "zimbraMailBindAddress",
                        &[],
                        &["10.40.7.131"],
                    ),
                ],
                EXPORT
                    .replace("zimbraMailTrustedIP: 172.20.14.25\n", "")
                    .replace(
                        "zimbraSpellCheckURL:: aHR0cDovLzE3Mi4yMC4xNC4yNTo3NzgwL2FzcGVsbC5waHA=\n",
                        "zimbraSpellCheckURL: http://10.40.7.131:7780/aspell.php\n",
                    )
                    .replace(
                        "zimbraServiceHostname: mail.corp.example\n",
                        "zimbraServiceHostname: mail.corp.example\nzimbraMailBindAddress: 10.40.7.131\n",
                    ),
            ),
            // Values that need base64, and a long one folded at 76 columns.
            (
                vec![
                    edit(
                        "cn=config,cn=zimbra",
                        "zimbraMtaRelayHost",
                        &["[172.20.14.1]:25"],
                        &[" [10.40.7.1]:25"],
                    ),
                    edit(
                        "cn=mail.corp.example,cn=servers,cn=zimbra",
                        "zimbraServiceHostname",
                        &["mail.corp.example"],
                        &["mail-with-a-very-long-name-that-does-not-fit.on-one-line.corp.example"],
                    ),
                ],
                EXPORT
                    .replace(
                        "zimbraMtaRelayHost: [172.20.14.1]:25\n",
                        "zimbraMtaRelayHost:: IFsxMC40MC43LjFdOjI1\n",
                    )
                    .replace(
                        "zimbraServiceHostname: mail.corp.example\n",
                        "zimbraServiceHostname: mail-with-a-very-long-name-that-does-not-fit.on-one-l\n ine.corp.example\n",
                    ),
            ),
            // No edits: byte-identical.
            (Vec::new(), EXPORT.to_string()),
        ];
        let orig = entries(EXPORT).unwrap();
        for (edits, expected) in &cases {
            let got = rewrite(EXPORT, edits).unwrap();
            assert_eq!(got, *expected, "{edits:?}");
            // And it reads back as intended: `after`, and the values the
            // edit did not read (someone else's) as they were.
            let back = entries(&got).unwrap();
            for e in edits {
                let entry = back
                    .iter()
                    .find(|x| x.dn.eq_ignore_ascii_case(&e.dn))
                    .unwrap();
                let mut got: Vec<String> = entry.get(&e.attribute).unwrap_or(&[]).to_vec();
                let mut want = e.after.clone();
                let was = orig.iter().find(|x| x.dn.eq_ignore_ascii_case(&e.dn));
                for v in was.and_then(|x| x.get(&e.attribute)).unwrap_or(&[]) {
                    if !e.before.contains(v) && !want.contains(v) {
                        want.push(v.clone());
                    }
                }
                got.sort();
                want.sort();
                assert_eq!(got, want, "{e:?}");
            }
        }
    }

    #[test]
    fn rewrite_keeps_crlf_and_a_missing_final_newline() {
        let text = "dn: cn=a\r\nzimbraMailTrustedIP: 172.20.14.25\r\ncn: a";
        let got = rewrite(
            text,
            &[edit(
                "cn=a",
                "zimbraMailTrustedIP",
                &["172.20.14.25"],
                &["10.40.7.131"],
            )],
        )
        .unwrap();
        assert_eq!(got, "dn: cn=a\r\nzimbraMailTrustedIP: 10.40.7.131\r\ncn: a");
        let got = rewrite(text, &[edit("cn=a", "cn", &["a"], &["a", "b"])]).unwrap();
        assert_eq!(
            got,
            "dn: cn=a\r\nzimbraMailTrustedIP: 172.20.14.25\r\ncn: a\r\ncn: b\r\n"
        );
    }

    #[test]
    fn rewrite_refuses_drift_and_secrets() {
        let cases: &[(ValueEdit, &str)] = &[
            // A value the edit reads is gone.
            (
                edit(
                    "cn=config,cn=zimbra",
                    "zimbraMailTrustedIP",
                    &["172.20.14.26"],
                    &["10.40.7.131"],
                ),
                "holds no longer [\"172.20.14.26\"]",
            ),
            (
                edit(
                    "cn=config,cn=zimbra",
                    "zimbraMailBindAddress",
                    &["172.20.14.25"],
                    &[],
                ),
                "holds no longer",
            ),
            // A value the edit adds is there already.
            (
                edit(
                    "cn=config,cn=zimbra",
                    "zimbraMailTrustedIP",
                    &["172.20.14.25"],
                    &["172.20.14.250"],
                ),
                "holds [\"172.20.14.250\"] already",
            ),
            (
                edit("cn=gone,cn=servers,cn=zimbra", "cn", &["gone"], &["x"]),
                "entry `cn=gone,cn=servers,cn=zimbra` is not in the LDIF",
            ),
            (
                edit(
                    "cn=config,cn=zimbra",
                    "userPassword",
                    &["{SSHA}x"],
                    &["{SSHA}y"],
                ),
                "secret",
            ),
        ];
        for (e, msg) in cases {
            let err = rewrite(EXPORT, std::slice::from_ref(e))
                .unwrap_err()
                .to_string();
            assert!(err.contains(msg), "{e:?}: {err}");
        }
        let twice = [
            edit("cn=a", "cn", &["a"], &["b"]),
            edit("CN=A", "CN", &["b"], &["c"]),
        ];
        assert!(
            rewrite("dn: cn=a\ncn: a\n", &twice)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }
}
