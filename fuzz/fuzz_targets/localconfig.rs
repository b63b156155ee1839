//! The `localconfig` surface (Zimbra's localconfig.xml): the harness's
//! properties, and that the edited file reads as the same keys in the same
//! order with only the changed keys' values changed, to their `after`
//! (of a key that appears twice, the last).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::model::{Target, Value};
use zmreip::surface::{Surface, localconfig};

const PATH: &str = "/opt/zimbra/conf/localconfig.xml";

fuzz_target!(|data: &[u8]| {
    harness::file_surface(Surface::Localconfig, PATH, data);
    let Some((text, mv)) = harness::input(data) else {
        return;
    };
    let p = harness::Planning::new(mv);
    let reader = Surface::Localconfig.reader().unwrap();
    let Ok(report) = reader.analyze(PATH, text, &p.plan()) else {
        return;
    };
    let before = localconfig::read(PATH, text).expect("a file that plans reads");
    let edited = harness::apply_changes(PATH, text, &report.changes);
    let after = localconfig::read(PATH, &edited).expect("checked by the harness");
    assert_eq!(before.len(), after.len(), "keys gained or lost");
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!((&b.key, b.line), (&a.key, a.line), "keys moved");
        // A key that appears again is left: Zimbra uses the last one, and
        // only that one is changed (with a warning).
        let last = before.iter().rposition(|k| k.key == b.key) == Some(i);
        let change = report.changes.iter().find(|c| {
            last && matches!(&c.target, Target::LocalconfigKey { key, .. } if *key == b.key)
        });
        let want = match change.map(|c| &c.after) {
            Some(Value::One(v)) => v,
            Some(v) => panic!("a key holds one value: {v:?}"),
            None => &b.value,
        };
        assert_eq!(&a.value, want, "key {}", b.key);
    }
});
