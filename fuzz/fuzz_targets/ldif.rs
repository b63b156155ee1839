//! LDIF exports (`--ldif`): the reader, the value rewriter and the line
//! writer.
//!
//! * A read narrowed to the old addresses fails exactly where the full
//!   read fails, visits the full read's entries in order less those it
//!   counts as left out, and leaves out only entries in which nothing can
//!   be found.
//! * The plan's value edits apply to the export they were planned from
//!   (an export naming a DN twice may be refused); without edits the
//!   rewriter copies every byte; the rewritten export reads as the same
//!   entries with the edited attributes holding their `after` values and
//!   nothing else changed; planning it again changes nothing; each edit
//!   changes only the address (when no prefix is given) or adds the new
//!   host or loopback to a trust list.
//! * Entries written with the line writer read back as the same entries;
//!   change records are folded at 76 columns.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use zmreip::directory::ldif::{self, LdifDirectory};
use zmreip::directory::{self, Directory, Entry, ValueEdit};
use zmreip::model::{Target, Value};

fuzz_target!(|data: &[u8]| {
    let Some((_, mv)) = harness::input(data) else {
        return;
    };
    let path = harness::scratch("export.ldif");
    std::fs::write(&path, data).unwrap();
    let full = read(&path, None);
    let olds: Vec<std::net::IpAddr> = mv.pairs.iter().map(|p| p.old).collect();
    let narrowed = read(&path, Some(&olds));
    assert_eq!(
        full.as_ref().err(),
        narrowed.as_ref().err(),
        "the narrowed read fails otherwise than the full read"
    );
    let (Ok((entries, _)), Ok((visited, left_out))) = (full, narrowed) else {
        return;
    };
    assert_eq!(left_out, entries.len() - visited.len(), "left-out count");
    let p = harness::Planning::new(mv);
    let mut rest = entries.iter();
    for v in &visited {
        for skipped in rest.by_ref() {
            if skipped == v {
                break;
            }
            assert!(!findable(&p.matcher, skipped), "left out {skipped:?}");
        }
    }
    for skipped in rest {
        assert!(!findable(&p.matcher, skipped), "left out {skipped:?}");
    }

    let ctx = p.plan();
    let mut edits = Vec::new();
    for e in &entries {
        for c in directory::analyze(e, &ctx).changes {
            let (Target::Ldap { dn, attribute }, Value::Many(before), Value::Many(after)) =
                (c.target, c.before, c.after)
            else {
                panic!("a directory change of values");
            };
            if !p.mv.prefixes {
                assert!(
                    values_address_only(&before, &after, &p.mv),
                    "the edit changes more than the address:\n- {before:?}\n+ {after:?}"
                );
            }
            edits.push(ValueEdit {
                dn,
                attribute,
                before,
                after,
            });
        }
    }
    let mut copy = Vec::new();
    ldif::rewrite_values("export.ldif", data, &mut copy, &[]).expect("a read export copies");
    assert_eq!(copy, data, "the rewriter without edits changed bytes");

    let mut out = Vec::new();
    if let Err(e) = ldif::rewrite_values("export.ldif", data, &mut out, &edits) {
        let mut dns: Vec<String> = entries.iter().map(|e| e.dn.to_ascii_lowercase()).collect();
        dns.sort();
        let n = dns.len();
        dns.dedup();
        assert!(dns.len() < n, "the plan's edits do not apply: {e}");
        return;
    }
    std::fs::write(&path, &out).unwrap();
    let (rewritten, _) =
        read(&path, None).unwrap_or_else(|e| panic!("the rewritten export does not read: {e}"));
    assert_eq!(rewritten.len(), entries.len(), "entries gained or lost");
    for (old, new) in entries.iter().zip(&rewritten) {
        let mut want = values(old);
        for ed in edits.iter().filter(|ed| ed.dn == old.dn) {
            let mut after = ed.after.clone();
            after.sort();
            after.dedup();
            want.insert(ed.attribute.to_ascii_lowercase(), after);
        }
        want.retain(|_, v| !v.is_empty());
        assert_eq!(values(new), want, "entry {}", old.dn);
    }
    for e in &rewritten {
        let again = directory::analyze(e, &ctx);
        assert!(
            again.changes.is_empty(),
            "planning the rewritten export changes it again: {:?}",
            again.changes
        );
    }

    let mut written = String::new();
    for e in &entries {
        ldif::push_line(&mut written, "dn", &e.dn);
        for (attr, vals) in &e.attrs {
            for v in vals {
                ldif::push_line(&mut written, attr, v);
            }
        }
        written.push('\n');
    }
    std::fs::write(&path, &written).unwrap();
    let (back, _) =
        read(&path, None).unwrap_or_else(|e| panic!("written entries do not read: {e}\n{written}"));
    let shown = |es: &[Entry]| -> Vec<(String, Vec<(String, Vec<String>)>)> {
        es.iter()
            .map(|e| {
                let attrs = e
                    .attrs
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .cloned()
                    .collect();
                (e.dn.clone(), attrs)
            })
            .collect()
    };
    assert_eq!(
        shown(&back),
        shown(&entries),
        "written entries read back otherwise\n{written}"
    );

    for line in ldif::change_records(&edits).lines() {
        assert!(
            line.len() <= 76,
            "a change record line longer than 76 bytes: {line}"
        );
    }
});

/// Every entry of the export, narrowed to `targets` when given, and how
/// many the read left out; an error as its message.
fn read(
    path: &std::path::Path,
    targets: Option<&[std::net::IpAddr]>,
) -> Result<(Vec<Entry>, usize), String> {
    let mut d = LdifDirectory::open(path).map_err(|e| e.to_string())?;
    if let Some(t) = targets {
        d.narrow(t);
    }
    let mut out = Vec::new();
    d.for_each(&mut |e| {
        out.push(e);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok((out, d.left_out()))
}

/// Whether the planner can find an old address in the entry.
fn findable(m: &zmreip::addr::Matcher, e: &Entry) -> bool {
    e.attrs
        .iter()
        .any(|(a, vs)| vs.iter().any(|v| directory::finds_in(m, a, v)))
}

/// An entry's attributes (lower case) and their values, sorted.
fn values(e: &Entry) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (a, vs) in &e.attrs {
        m.entry(a.to_ascii_lowercase())
            .or_default()
            .extend(vs.iter().cloned());
    }
    // An attribute's values are a set: a value an export repeats is one
    // value (and written once by the rewriter).
    for v in m.values_mut() {
        v.sort();
        v.dedup();
    }
    m.retain(|_, v| !v.is_empty());
    m
}

/// Whether the values after differ from those before only in the
/// address: value by value as a line is checked, where a value of its own
/// may be added (the new host beside a network, or loopback), or a value
/// that is the old host dropped (the new host was trusted already).
fn values_address_only(before: &[String], after: &[String], mv: &harness::Move) -> bool {
    let joined = |v: &[String]| v.join("\n");
    if before.len() == after.len() {
        // Loopback, where mynetworks lacked it, leads a list of several
        // entries in its own value.
        let lo = after.first().and_then(|a| {
            a.strip_prefix("127.0.0.0/8")
                .map(|rest| rest.trim_start_matches([' ', ',']).to_string())
        });
        let without_lo = lo.filter(|_| !before.iter().any(|b| b.contains("127.0.0.0/8")));
        if let Some(first) = without_lo {
            let mut rest = after.to_vec();
            rest[0] = first;
            return harness::address_only(&joined(before), &joined(&rest), &mv.pairs);
        }
        return harness::address_only(&joined(before), &joined(after), &mv.pairs)
            || without_old_hosts(before, after, mv);
    }
    if after.len() < before.len() {
        let back: Vec<String> = after
            .iter()
            .map(|a| harness::put_back(a, &mv.pairs))
            .collect();
        let olds: Vec<std::net::IpAddr> = mv.pairs.iter().map(|p| p.old).collect();
        let m = zmreip::addr::Matcher::new(&olds);
        let is_old_host = |v: &str| {
            m.find(v).iter().any(|x| {
                x.span == (0..v.len()) && x.kind != zmreip::addr::MatchKind::NetworkContains
            })
        };
        return back.iter().all(|a| before.contains(a))
            && before.iter().all(|b| back.contains(b) || is_old_host(b));
    }
    (0..after.len()).any(|i| {
        let mut rest = after.to_vec();
        let added = rest.remove(i);
        let plausible = added == "127.0.0.0/8"
            || mv
                .pairs
                .iter()
                .any(|p| added.trim_matches(['[', ']']) == p.new.to_string());
        plausible && values_address_only(before, &rest, mv)
    })
}

/// The trust-list rule "OLD dropped: NEW is already trusted": once the new
/// host is an entry of the attribute, an entry naming the old host goes
/// from any other value. Whether the values read alike with every entry
/// naming the old host taken out before and every one naming the new host
/// after (which must hold one).
fn without_old_hosts(before: &[String], after: &[String], mv: &harness::Move) -> bool {
    let is_host = |entry: &str, addrs: &[std::net::IpAddr]| {
        zmreip::addr::Matcher::new(addrs)
            .find(entry)
            .iter()
            .any(|x| {
                x.span == (0..entry.len()) && x.kind != zmreip::addr::MatchKind::NetworkContains
            })
    };
    let olds: Vec<std::net::IpAddr> = mv.pairs.iter().map(|p| p.old).collect();
    let news: Vec<std::net::IpAddr> = mv.pairs.iter().map(|p| p.new).collect();
    let strip = |vs: &[String], addrs: &[std::net::IpAddr]| -> Vec<String> {
        vs.iter()
            .map(|v| {
                v.split([' ', ','])
                    .filter(|e| !e.is_empty() && !is_host(e, addrs))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    after
        .iter()
        .any(|v| v.split([' ', ',']).any(|e| is_host(e, &news)))
        && strip(before, &olds) == strip(after, &news)
}
