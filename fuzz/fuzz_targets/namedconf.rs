//! BIND's named.conf: the input is the host's `/etc/bind/named.conf`.
//! Reading its zones never panics, is deterministic, and every zone it
//! declares is absolute and lower case with the host path of its file;
//! the zones zmreip edits (the universe) are among them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::dns::zone::{namedconf, universe};

fuzz_target!(|data: &[u8]| {
    harness::write_host_file("/etc/bind/named.conf", data);
    let host = harness::host();
    let Ok(zones) = namedconf::zones(host) else {
        assert!(
            universe(host, &[]).is_err(),
            "universe reads what zones refused"
        );
        return;
    };
    let again = namedconf::zones(host).expect("read once");
    assert_eq!(zones, again, "reading twice gave two lists");
    for z in &zones {
        assert!(z.name.ends_with('.'), "{z:?}");
        assert_eq!(z.name, z.name.to_ascii_lowercase(), "{z:?}");
        assert!(z.file.starts_with('/'), "{z:?}");
        assert!(z.declared_at.contains(':'), "{z:?}");
    }
    let served = universe(host, &[]).expect("the zones read");
    for s in &served {
        assert!(
            zones.iter().any(|z| z.name == s.name && z.file == s.file),
            "{s:?} is not declared"
        );
    }
});
