//! Test-only crash hooks, for the crash tests: an environment variable
//! set to a step number aborts the process (no unwinding, no cleanup) at
//! that point of that step, so a test can check that `rollback` and
//! `resume` finish from the journal whatever the instant. Never set them
//! on a real host. Tests name the variables through these constants.

/// Aborts an apply or resume right after `done k` is journaled.
pub const AFTER_STEP: &str = "ZMREIP_TEST_CRASH_AFTER_STEP";
/// Aborts after step k took effect but before `done k` is journaled.
pub const BEFORE_DONE: &str = "ZMREIP_TEST_CRASH_BEFORE_DONE";
/// Aborts a rollback right after step k was undone.
pub const AFTER_UNDO: &str = "ZMREIP_TEST_CRASH_AFTER_UNDO";

/// Aborts the process when the hook `var` names step `k`.
pub(crate) fn point(var: &str, k: usize) {
    if std::env::var(var)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        == Some(k)
    {
        std::process::abort();
    }
}
