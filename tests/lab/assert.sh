# shellcheck shell=bash
# Scenario bookkeeping and assertions shared by the labs (scripts/lab-e2e,
# scripts/lab-cluster). The lab counts scenarios in PASSED and FAILED and
# prints its own summary line; `say` and `note` come from
# tests/lab/e2e/lib.sh.

PASSED=${PASSED:-0}
FAILED=${FAILED:-0}
SCEN_OK=1

# scenario TITLE...: starts a scenario.
scenario() {
    SCEN_OK=1
    say ""
    say "scenario $*"
}

# ok WHAT CMD...: runs CMD; prints ok or FAIL with WHAT.
ok() {
    local what=$1
    shift
    if "$@"; then
        say "  ok    $what"
    else
        say "  FAIL  $what"
        SCEN_OK=0
    fi
}

# scenario_end: counts the scenario as passed or failed.
scenario_end() {
    if [ "$SCEN_OK" = 1 ]; then
        PASSED=$((PASSED + 1))
        say "  => passed"
    else
        FAILED=$((FAILED + 1))
        say "  => FAILED (lab files: ${LAB:-?})"
    fi
}

# starts CODE TEXT...: the probe's reply line starts with CODE.
starts() { [[ "$2" == "$1"* ]] || { note "got: $2"; return 1; }; }
# contains NEEDLE TEXT: TEXT holds NEEDLE.
contains() { [[ "$2" == *"$1"* ]] || { note "missing \`$1\` in: ${2:0:400}"; return 1; }; }
# lacks NEEDLE TEXT: TEXT does not hold NEEDLE.
lacks() { [[ "$2" != *"$1"* ]] || { note "unexpected \`$1\` in: ${2:0:400}"; return 1; }; }
# same_tree DIGEST1 DIGEST2: two tree_digest outputs are equal.
same_tree() { [ "$1" = "$2" ] || { diff <(echo "$1") <(echo "$2") | head -10 | sed 's/^/    /'; return 1; }; }
