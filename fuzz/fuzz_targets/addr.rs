//! The address matcher (find and replace). Over any text, with the old
//! addresses picked from it: matches are ordered, disjoint, inside the
//! text and on character boundaries, each address span inside its match;
//! replacing every match that is not a network by the new address and
//! finding again must agree: the new address is found exactly where it
//! was written (and where the text already held it), in the same kind of
//! match, with the same port and prefix; the old address is found only in
//! the networks that were left; and putting the old address back gives
//! the text again (the same addresses; a spelling the renderer does not
//! keep, such as padding only some IPv6 groups, may change).
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use zmreip::addr::{Match, MatchKind, Matcher};

fuzz_target!(|data: &[u8]| {
    let Some((text, mv)) = harness::input(data) else {
        return;
    };
    let olds: Vec<IpAddr> = mv.pairs.iter().map(|p| p.old).collect();
    let news: Vec<IpAddr> = mv.pairs.iter().map(|p| p.new).collect();
    let old_m = Matcher::new(&olds);
    let new_m = Matcher::new(&news);
    let found = old_m.find(text);
    well_formed(text, &found);
    if !found.is_empty() {
        assert!(old_m.may_match(text), "may_match says no where find finds");
    }

    // Replace every match that is not a network; remember where the new
    // spelling went.
    let mut out = String::new();
    let mut last = 0;
    let mut placed: Vec<(usize, MatchKind, Option<u16>, Option<u8>)> = Vec::new();
    let mut left: Vec<usize> = Vec::new();
    for m in &found {
        out.push_str(&text[last..m.span.start]);
        if m.kind == MatchKind::NetworkContains {
            left.push(out.len());
            out.push_str(&text[m.span.clone()]);
        } else {
            let p = mv.pairs.iter().find(|p| p.old == m.target).unwrap();
            placed.push((out.len(), m.kind, m.port, m.prefix));
            out.push_str(&m.replace(text, p.new, None));
        }
        last = m.span.end;
    }
    out.push_str(&text[last..]);

    // Where the new address was already written (outside the replaced
    // matches), it is still found.
    let mut shift: isize = 0;
    let mut before_new = Vec::new();
    let mut j = 0;
    for n in new_m.find(text) {
        if n.kind == MatchKind::NetworkContains {
            continue;
        }
        while j < found.len() && found[j].span.end <= n.span.start {
            let m = &found[j];
            let repl_len = if m.kind == MatchKind::NetworkContains {
                m.span.len()
            } else {
                let p = mv.pairs.iter().find(|p| p.old == m.target).unwrap();
                m.replace(text, p.new, None).len()
            };
            shift += repl_len as isize - m.span.len() as isize;
            j += 1;
        }
        if found
            .iter()
            .any(|m| m.span.start < n.span.end && n.span.start < m.span.end)
        {
            return; // overlapping spellings of both: no simple expectation
        }
        before_new.push((
            (n.span.start as isize + shift) as usize,
            n.kind,
            n.port,
            n.prefix,
        ));
    }

    let refound = new_m.find(&out);
    well_formed(&out, &refound);
    let mut got: Vec<(usize, MatchKind, Option<u16>, Option<u8>)> = refound
        .iter()
        .filter(|n| n.kind != MatchKind::NetworkContains)
        .map(|n| (n.span.start, n.kind, n.port, n.prefix))
        .collect();
    let mut want: Vec<_> = placed.iter().chain(&before_new).copied().collect();
    got.sort();
    want.sort();
    assert_eq!(
        got, want,
        "the new address is found elsewhere than written\n{text:?}\n{out:?}"
    );

    // The old address is left only in networks (those that were there,
    // and a new address written with a prefix wide enough to hold it).
    let old_again = old_m.find(&out);
    for m in &old_again {
        assert_eq!(
            m.kind,
            MatchKind::NetworkContains,
            "the old address is still found after the replacement: {m:?}\n{text:?}\n{out:?}"
        );
    }
    for s in &left {
        assert!(
            old_again.iter().any(|m| m.span.start == *s),
            "a network holding the old address is no longer found at {s}\n{text:?}\n{out:?}"
        );
    }

    assert!(
        harness::address_only(text, &out, &mv.pairs),
        "putting the old address back does not give the text\n{text:?}\n{out:?}\n{:?}",
        harness::put_back(&out, &mv.pairs)
    );
});

/// Matches in order, disjoint, inside the text, on char boundaries, each
/// address span inside its match.
fn well_formed(text: &str, ms: &[Match]) {
    let mut end = 0;
    for m in ms {
        assert!(
            end <= m.span.start,
            "matches overlap or are out of order: {ms:?}"
        );
        assert!(
            m.span.start < m.span.end && m.span.end <= text.len(),
            "{m:?}"
        );
        assert!(text.is_char_boundary(m.span.start) && text.is_char_boundary(m.span.end));
        assert!(
            m.span.start <= m.addr_span.start && m.addr_span.end <= m.span.end,
            "address span outside its match: {m:?}"
        );
        assert_eq!(
            m.kind == MatchKind::NetworkContains,
            m.network.is_some(),
            "{m:?}"
        );
        end = m.span.end;
    }
}
