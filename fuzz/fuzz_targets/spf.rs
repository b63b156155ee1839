//! SPF records: the input is a TXT record's text (its strings joined).
//! The edits that move the old address are disjoint ranges of the text;
//! applied, they change only the address (or add the new host as a term
//! of its own, or take out a mechanism whose new address is authorized
//! already, saying so), keep the record SPF or not SPF, and planning the edited
//! record again changes nothing. Applied to the record's strings (split
//! anywhere, as TXT strings of up to 255 bytes may be), they give the
//! same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::dns::spf::{self, Place};
use zmreip::model::Target;
use zmreip::surface::Surface;

fuzz_target!(|data: &[u8]| {
    let Some((text, mv)) = harness::input(data) else {
        return;
    };
    let p = harness::Planning::new(mv);
    let target = Target::Line {
        file: "/etc/bind/db.zone".into(),
        line: 1,
    };
    let place = Place {
        owner: "example.test.",
        shown: "/etc/bind/db.zone:1",
        target: &target,
        surface: Surface::Zonefile,
    };
    let _ = spf::terms(text);
    let scan = spf::plan_edits(text, &place, &p.matcher, None);
    assert!(scan.edits.is_empty(), "a scan edits: {:?}", scan.edits);
    let plan = spf::plan_edits(text, &place, &p.matcher, Some(&p.rewriter));
    let mut edits = plan.edits.clone();
    edits.sort_by_key(|(r, _, _)| (r.start, r.end));
    // `kept`: the edits but those that take a mechanism out, which only
    // one whose new address is authorized already may do.
    let mut edited = String::new();
    let mut kept = String::new();
    let mut last = 0;
    for (r, repl, reason) in &edits {
        assert!(
            last <= r.start && r.start <= r.end && r.end <= text.len(),
            "edits overlap or leave the text: {edits:?}"
        );
        assert!(!reason.is_empty(), "an edit without a reason");
        edited.push_str(&text[last..r.start]);
        edited.push_str(repl);
        kept.push_str(&text[last..r.start]);
        if repl.is_empty() {
            assert!(
                reason.contains("is already authorized by"),
                "a mechanism taken out: {reason}"
            );
            kept.push_str(&text[r.clone()]);
        } else {
            kept.push_str(repl);
        }
        last = r.end;
    }
    edited.push_str(&text[last..]);
    kept.push_str(&text[last..]);
    if edits.is_empty() {
        return;
    }
    assert!(spf::is_spf(text), "a record that is not SPF is edited");
    assert!(spf::is_spf(&edited), "the edit made it not SPF: {edited}");
    assert!(
        p.mv.prefixes
            || harness::address_only(text, &kept, &p.mv.pairs)
            || added_term(text, &kept, &p.mv.pairs),
        "the edit changes more than the address:\n- {text}\n+ {edited}"
    );
    let again = spf::plan_edits(&edited, &place, &p.matcher, Some(&p.rewriter));
    assert!(
        again.edits.is_empty(),
        "planning the edited record changes it again: {:?}\n{edited}",
        again.edits
    );
    let k = 1 + data.len() % 17;
    let strings: Vec<Vec<u8>> = text.as_bytes().chunks(k).map(<[u8]>::to_vec).collect();
    let joined: Vec<u8> = spf::edit_strings(&strings, &plan.edits).concat();
    assert_eq!(
        String::from_utf8_lossy(&joined),
        edited,
        "the strings edited in pieces of {k} differ from the joined text edited"
    );
});

/// Whether `after` is an address-only edit of `before` once one
/// `ip4:`/`ip6:` term of a new address (the host added beside a network)
/// is taken out.
fn added_term(before: &str, after: &str, pairs: &[zmreip::spec::Pair]) -> bool {
    spf::terms(after).iter().any(|t| {
        let Some((_, value)) = t.ip() else {
            return false;
        };
        if !pairs.iter().any(|p| value == p.new.to_string()) {
            return false;
        }
        let cut = format!("{}{}", &after[..t.range.start - 1], &after[t.range.end..]);
        harness::address_only(before, &cut, pairs)
    })
}
