//! Entry point of `scripts/bench-directory` for timing the live writer
//! until the `apply` command exists: ignored in normal runs, it does
//! nothing unless the script sets its environment.
//!
//! `BENCH_LDAP_URL`, `BENCH_BIND_DN`, `BENCH_PW_FILE`: the server; and
//! `BENCH_EDITS`: a file of `dn TAB attribute TAB before TAB after` lines
//! (one value each side). Prints `apply_seconds=<s>` for the whole
//! [`DirectoryWriter::apply`], precondition reads included.

use std::time::Instant;

use zmreip::directory::ldap::{LdapWriter, Overrides, Settings};
use zmreip::directory::{DirectoryWriter, ValueEdit};
use zmreip::host::Host;

#[test]
#[ignore = "run by scripts/bench-directory"]
fn bench_apply() {
    let Ok(url) = std::env::var("BENCH_LDAP_URL") else {
        eprintln!("BENCH_LDAP_URL not set: nothing to do");
        return;
    };
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let edits: Vec<ValueEdit> = std::fs::read_to_string(env("BENCH_EDITS"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            ValueEdit {
                dn: f[0].into(),
                attribute: f[1].into(),
                before: vec![f[2].into()],
                after: vec![f[3].into()],
            }
        })
        .collect();
    let empty = tempfile::tempdir().unwrap();
    let host = Host::open(empty.path(), None).unwrap();
    let settings = Settings::resolve(
        &host,
        &Overrides {
            urls: vec![url],
            bind_dn: Some(env("BENCH_BIND_DN")),
            password_file: Some(env("BENCH_PW_FILE").into()),
            deep: false,
        },
    )
    .unwrap()
    .unwrap();
    let t = Instant::now();
    let mut w = LdapWriter::open(&settings).unwrap();
    w.apply(&edits).unwrap();
    let apply = t.elapsed().as_secs_f64();
    // The same precondition reads alone, for the record (after the apply,
    // so the timing above includes a cold first read).
    let t = Instant::now();
    let _ = w.prior_ldif(&edits).unwrap();
    println!(
        "apply_seconds={apply:.3} reads_seconds={:.3}",
        t.elapsed().as_secs_f64()
    );
}
