//! Snapshots: output pinned in `tests/golden/`, compared byte for byte.
//! `ZMREIP_BLESS=1 cargo nextest run` rewrites every snapshot a test
//! checks with what it got; review the diff before committing it.

use std::path::PathBuf;

/// The environment variable that rewrites snapshots instead of checking.
const BLESS: &str = "ZMREIP_BLESS";

/// The file of snapshot `name`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Asserts `actual` equals snapshot `name` (or writes it, blessing).
pub fn assert_matches(name: &str, actual: &str) {
    let file = path(name);
    if std::env::var_os(BLESS).is_some_and(|v| v == "1") {
        std::fs::create_dir_all(file.parent().expect("tests/golden")).unwrap();
        std::fs::write(&file, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "cannot read snapshot {} ({e}); create it with {BLESS}=1 and review it",
            file.display()
        )
    });
    if want == actual {
        return;
    }
    let first = want
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| want.lines().count().min(actual.lines().count()));
    panic!(
        "output differs from snapshot {} at line {}:\n  snapshot: {:?}\n  got:      {:?}\nIf the change is intended, run the test with {BLESS}=1 and review the diff",
        file.display(),
        first + 1,
        want.lines().nth(first),
        actual.lines().nth(first)
    );
}
