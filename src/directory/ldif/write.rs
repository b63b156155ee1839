//! Writing LDIF: value lines (base64 where RFC 2849 requires it, folded
//! at 76 columns) and change records for `ldapmodify`.

use base64::prelude::{BASE64_STANDARD, Engine as _};

use crate::directory::ValueEdit;

/// Whether a value must be base64-encoded (RFC 2849 SAFE-STRING: ASCII
/// without NUL, CR, LF; not starting with space, `:` or `<`), or ends
/// with a space (which readers may trim).
fn needs_base64(v: &str) -> bool {
    v.bytes()
        .any(|b| b == 0 || b == b'\n' || b == b'\r' || b > 127)
        || v.starts_with([' ', ':', '<'])
        || v.ends_with(' ')
}

/// `attr: value`, `attr:: base64` or `attr:` (empty value), unfolded.
pub(super) fn value_line(attr: &str, v: &str) -> String {
    if v.is_empty() {
        format!("{attr}:")
    } else if needs_base64(v) {
        format!("{attr}:: {}", BASE64_STANDARD.encode(v))
    } else {
        format!("{attr}: {v}")
    }
}

/// Appends one `attr: value` line (base64 and folding as RFC 2849 needs)
/// to `out`: for writers of other LDIF, such as a journal's prior values
/// (and the LDIF fuzz target, which writes what it read and reads it back).
pub fn push_line(out: &mut String, attr: &str, value: &str) {
    for phys in fold(&value_line(attr, value)) {
        out.push_str(&phys);
        out.push('\n');
    }
}

/// Folds a line at 76 columns: the first physical line holds 76
/// characters, each continuation a space and 75 more.
pub(super) fn fold(line: &str) -> Vec<String> {
    const WIDTH: usize = 76;
    let mut out = Vec::new();
    let mut rest = line;
    let mut width = WIDTH;
    while rest.len() > width {
        let mut cut = width;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(if out.is_empty() {
            rest[..cut].to_string()
        } else {
            format!(" {}", &rest[..cut])
        });
        rest = &rest[cut..];
        width = WIDTH - 1;
    }
    out.push(if out.is_empty() {
        rest.to_string()
    } else {
        format!(" {rest}")
    });
    out
}

/// LDIF change records an admin can feed to `ldapmodify` to make the same
/// edits on a live directory: per edit, `delete:` of the values that go
/// (so the server refuses if they are no longer there) and `add:` of the
/// values that come, in one modify operation. Edits that change nothing
/// are left out.
pub fn change_records(edits: &[ValueEdit]) -> String {
    let mut out = String::new();
    let mut line = |s: &str| {
        for phys in fold(s) {
            out.push_str(&phys);
            out.push('\n');
        }
    };
    for e in edits {
        let del: Vec<&String> = dedup(e.before.iter().filter(|v| !e.after.contains(v)));
        let add: Vec<&String> = dedup(e.after.iter().filter(|v| !e.before.contains(v)));
        if del.is_empty() && add.is_empty() {
            continue;
        }
        line(&value_line("dn", &e.dn));
        line("changetype: modify");
        for (op, values) in [("delete", del), ("add", add)] {
            if values.is_empty() {
                continue;
            }
            line(&format!("{op}: {}", e.attribute));
            for v in values {
                line(&value_line(&e.attribute, v));
            }
            line("-");
        }
        line("");
    }
    out
}

fn dedup<'a>(it: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    let mut v: Vec<&String> = Vec::new();
    for s in it {
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::ldif::tests::edit;

    #[test]
    fn change_records_for_ldapmodify() {
        let edits = [
            edit(
                "cn=config,cn=zimbra",
                "zimbraMailTrustedIP",
                &["172.20.14.25", "172.20.14.250"],
                &["172.20.14.250", "10.40.7.131"],
            ),
            edit(
                "cn=mail,cn=servers,cn=zimbra",
                "zimbraMailBindAddress",
                &[],
                &["10.40.7.131"],
            ),
            edit("cn=x", "cn", &["same"], &["same"]),
            edit("cn=é", "description", &["x"], &[]),
        ];
        assert_eq!(
            change_records(&edits),
            "\
dn: cn=config,cn=zimbra
changetype: modify
delete: zimbraMailTrustedIP
zimbraMailTrustedIP: 172.20.14.25
-
add: zimbraMailTrustedIP
zimbraMailTrustedIP: 10.40.7.131
-

dn: cn=mail,cn=servers,cn=zimbra
changetype: modify
add: zimbraMailBindAddress
zimbraMailBindAddress: 10.40.7.131
-

dn:: Y249w6k=
changetype: modify
delete: description
description: x
-

"
        );
        assert_eq!(change_records(&[]), "");
    }

    #[test]
    fn encoding_rules() {
        let cases: &[(&str, &str)] = &[
            ("10.40.7.131", "a: 10.40.7.131"),
            ("", "a:"),
            (" x", "a:: IHg="),
            (":x", "a:: Ong="),
            ("<x", "a:: PHg="),
            ("x ", "a:: eCA="),
            ("a:b <c>", "a: a:b <c>"),
            ("é", "a:: w6k="),
            ("x\ny", "a:: eAp5"),
        ];
        for (v, line) in cases {
            assert_eq!(value_line("a", v), *line, "{v:?}");
        }
        let long = "x".repeat(200);
        let folded = fold(&format!("a: {long}"));
        assert_eq!(folded[0].len(), 76);
        assert!(
            folded[1..]
                .iter()
                .all(|l| l.starts_with(' ') && l.len() <= 76)
        );
        let joined: String = folded
            .iter()
            .enumerate()
            .map(|(i, l)| if i == 0 { l.as_str() } else { &l[1..] })
            .collect();
        assert_eq!(joined, format!("a: {long}"));
        assert_eq!(fold("short"), ["short"]);
        assert_eq!(fold(&"y".repeat(76)), ["y".repeat(76)]);
    }
}
