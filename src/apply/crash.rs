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

/// Pauses an apply or resume right before step k writes (a file, a
/// directory value), after every precondition was checked: set to
/// `K:DIR`, the process creates `DIR/paused` and waits until the test
/// removes it (a minute at most), so that a test can change the host
/// between the check and the write, as another admin might.
pub const BEFORE_WRITE: &str = "ZMREIP_TEST_PAUSE_BEFORE_WRITE";

/// Waits while the hook `var` (`K:DIR`) names step `k`: see
/// [`BEFORE_WRITE`].
pub(crate) fn pause(var: &str, k: usize) {
    let Some(value) = std::env::var_os(var) else {
        return;
    };
    let value = value.to_string_lossy();
    let Some((step, dir)) = value.split_once(':') else {
        return;
    };
    if step.parse::<usize>().ok() != Some(k) {
        return;
    }
    let flag = std::path::Path::new(dir).join("paused");
    if std::fs::write(&flag, k.to_string()).is_err() {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while flag.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

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
