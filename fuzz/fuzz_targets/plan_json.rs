//! Plan JSON (`zmreip.plan/v1`): reading any text as a plan never panics;
//! the input with its checksum recomputed (so that mutations reach the
//! schema rather than stop at the checksum) reads exactly when it is a
//! valid plan, and a plan read is written and read back unchanged,
//! renders as text and Markdown, and makes its steps or refuses with an
//! error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmreip::apply::{self, steps::write_steps};
use zmreip::plan::{self, Plan, render, report};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = apply::parse_plan("plan.json", text);
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let Some(obj) = value.as_object_mut() else {
        return;
    };
    obj.insert("schema".into(), plan::SCHEMA.into());
    let sum = plan::checksum(&value);
    value["checksum"] = sum.into();
    let typed = serde_json::from_value::<Plan>(value.clone());
    let read = apply::plan_of("plan.json", value);
    assert_eq!(
        typed.is_ok(),
        read.is_ok(),
        "a sealed plan reads ({:?}) where serde says {:?}",
        read.as_ref().err().map(ToString::to_string),
        typed.as_ref().err().map(ToString::to_string)
    );
    let Ok(mut plan) = read else {
        return;
    };
    plan.seal();
    let written = render::json(&plan);
    let back = apply::parse_plan("plan.json", &written)
        .unwrap_or_else(|e| panic!("a plan written does not read: {e}\n{written}"));
    assert_eq!(back, plan, "the plan changed on the way through JSON");
    let _ = render::text(&plan, false);
    let _ = render::text(&plan, true);
    let _ = report::markdown(&plan, &report::Facts::default());
    let _ = write_steps(&plan, None, None, None);
});
