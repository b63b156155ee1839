//! BIND zone files: the input is read as a forward zone and as the
//! reverse zone of the old IPv4 address (`c.b.a.in-addr.arpa.`), each the
//! only zone served here, with the harness's properties; a change may also
//! raise the SOA serial (one number of the line grows).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::dns::zone::serial::Date;
use zmreip::dns::zone::{Signing, Zone};
use zmreip::surface::Surface;
use zmreip::surface::zonefile::analyze_zone;

const PATH: &str = "/etc/bind/db.zone";

/// Planning runs on a fixed day, so that serials are deterministic.
const TODAY: Date = Date {
    year: 2026,
    month: 11,
    day: 28,
};

fuzz_target!(|data: &[u8]| {
    let Some((_, mv)) = harness::input(data) else {
        return;
    };
    let mut names = vec!["example.test.".to_string()];
    if let Some(std::net::IpAddr::V4(a)) = mv.pairs.first().map(|p| p.old) {
        let o = a.octets();
        names.push(format!("{}.{}.{}.in-addr.arpa.", o[2], o[1], o[0]));
    }
    for name in names {
        let zone = Zone {
            name,
            file: PATH.into(),
            view: None,
            blocked: None,
            signing: Signing::Unsigned,
        };
        let universe = [zone.clone()];
        harness::check_file(
            Surface::Zonefile,
            PATH,
            data,
            |text, ctx| analyze_zone(&zone, text, &universe, ctx, TODAY),
            serial_bump,
        );
    }
});

/// Whether `after` is `before` with exactly one number grown (the serial),
/// in RFC 1982 serial arithmetic (it may wrap).
fn serial_bump(before: &str, after: &str) -> bool {
    let b: Vec<&str> = before.split_whitespace().collect();
    let a: Vec<&str> = after.split_whitespace().collect();
    if a.len() != b.len() {
        return false;
    }
    let diff: Vec<(&&str, &&str)> = b.iter().zip(&a).filter(|(x, y)| x != y).collect();
    let [(x, y)] = diff.as_slice() else {
        return false;
    };
    match (x.parse::<u32>(), y.parse::<u32>()) {
        (Ok(x), Ok(y)) => (1..1 << 31).contains(&y.wrapping_sub(x)),
        _ => false,
    }
}
