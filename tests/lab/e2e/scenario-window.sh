# shellcheck shell=bash
# Scenario "window" of scripts/lab-e2e (sourced by it): a make-before-break
# move with `zmreip window open`, `switch` and `close`, while an outside
# client keeps sending SMTP sessions (EHLO, MAIL, RCPT to a local
# recipient, which postfix looks up in LDAP) to the address it last
# resolved through the lab's authoritative DNS, resolving again when the
# record's TTL runs out. Goal: not one session refused or failed over the
# whole window. A session that waits is not a failure; the longest wait
# is reported.
#
# The lab's zone gets a TTL of $WINDOW_TTL s (caches held the record that
# long before the window), which open lowers to $WINDOW_LOWER s. The
# switch is refused until the old TTL has passed since open, and close
# until the lowered one has passed since the switch; then close waits
# until no connection has arrived on the old address for $WINDOW_QUIET s.
#
# Sets WINDOW_SESSIONS and WINDOW_FAILED for the summary line. Uses the
# lab (tests/lab/e2e/lib.sh), tests/lab/assert.sh and scripts/lab-e2e's
# helpers (ldapi, probe_addr, add_probe_addr, verify_text, check_status).

WINDOW_TTL=8
WINDOW_LOWER=5
WINDOW_QUIET=3

window_cmd() {
    zmreip window "$@" --root "$ROOT" --yes
}

# safe_from KEY: the time (epoch ms) `window status` says KEY is safe from.
safe_from() {
    local t
    t=$(zmreip window status --root "$ROOT" --format json | sed -n "s/.*\"$1\": \"\\(.*\\)\".*/\\1/p")
    echo $(( $(date -d "$t" +%s) * 1000 ))
}

# wait_until MS: sleeps until epoch ms MS has passed (bounded: 60 s).
wait_until() {
    local left=$(( $1 - $(now_ms) + 200 ))
    [ "$left" -gt 0 ] && [ "$left" -lt 60000 ] && sleep "$(( left / 1000 )).$(printf %03d $(( left % 1000 )))"
    return 0
}

# refused RC OUTPUT: a phase refused too early (non-zero exit) says when
# it is safe.
refused() {
    [ "$1" != 0 ] || { note "it ran (exit 0)"; return 1; }
    contains "too early" "$2" && contains "safe from" "$2"
}

# dns_answer ADDR: the A record of the host name at the authoritative
# server on ADDR, as "TTL ADDRESS".
dns_answer() {
    in_out dig +noall +answer +time=1 +tries=1 "@$1" "$HOSTNAME_LAB" A | awk '$4 == "A" { print $2, $5; exit }'
}

scenario_window() {
scenario "window: make-before-break move (open, switch, close) while an outside client keeps sending"
if lab_up; then
    add_probe_addr
    # Caches hold the record WINDOW_TTL s (the fixture's 300 s would make
    # the lab wait five minutes).
    sed -i "s/^\$TTL 300$/\$TTL $WINDOW_TTL/" "$ROOT/etc/bind/db.lab.example"
    in_srv "$LAB/bin/namedctl" reload
    for _ in $(seq 50); do [ "$(dns_answer "$OLD")" = "$WINDOW_TTL $OLD" ] && break; sleep 0.1; done
    ok "before: the lab's DNS answers $OLD for $HOSTNAME_LAB, TTL $WINDOW_TTL" \
        [ "$(dns_answer "$OLD")" = "$WINDOW_TTL $OLD" ]
    stop=$LAB/run/window.stop
    log=$LAB/log/window-probe.log
    : > "$log"
    t_start=$(now_ms)
    in_out "$E2E/bin/smtp-probe" - follow "$stop" "$log" 240 "$HOSTNAME_LAB" "$OLD" "$NEW" &
    probe=$!
    sleep 1

    # --- open ---
    t0=$(now_ms)
    out=$(window_cmd open --from "$OLD/24" --to "$NEW/24" --lower-ttl "$WINDOW_LOWER" \
        --restart-network --services "$LAB/services.toml" --ldap-url "$(ldapi)" \
        --outside-source "$(probe_addr)" 2>&1)
    rc=$?
    open_ms=$(( $(now_ms) - t0 ))
    printf '%s\n' "$out" | sed 's/^/    | /'
    ok "window open succeeds" [ "$rc" = 0 ]
    ok "  ... and verified the new address" contains "verified: " "$out"
    ok "$NEW is on the server's interface beside $OLD" \
        bash -c "ip -n '$NS_SRV' -o addr show dev '$IF_SRV' | grep -qF ' $NEW/24' && ip -n '$NS_SRV' -o addr show dev '$IF_SRV' | grep -qF ' $OLD/24'"
    ok "mail to a local recipient is accepted on $OLD" starts 250 "$(smtp_from_outside "$OLD" rcpt)"
    ok "  ... and on $NEW" starts 250 "$(smtp_from_outside "$NEW" rcpt)"
    ok "LDAP answers on $OLD" ldap_answers "ldap://$OLD:389"
    ok "  ... and on $NEW" ldap_answers "ldap://$NEW:389"
    ok "the DNS still answers $OLD, with the lowered TTL $WINDOW_LOWER" \
        [ "$(dns_answer "$OLD")" = "$WINDOW_LOWER $OLD" ]
    ok "relaying from outside is still refused" \
        contains "Relay access denied" "$(smtp_from_outside "$NEW" relay)"
    status=$(zmreip window status --root "$ROOT" 2>&1)
    ok "window status: open, with the time the switch is safe" contains "switch safe from" "$status"

    # --- switch, too early, then on time ---
    out=$(window_cmd switch 2>&1)
    rc=$?
    ok "window switch right away is refused, saying from when" refused "$rc" "$out"
    wait_until "$(safe_from switch_after)"
    t0=$(now_ms)
    out=$(window_cmd switch 2>&1)
    rc=$?
    switch_ms=$(( $(now_ms) - t0 ))
    printf '%s\n' "$out" | sed 's/^/    | /'
    ok "window switch succeeds once the old TTL ran out" [ "$rc" = 0 ]
    # Right away, before the checks below use up the lowered TTL.
    out=$(window_cmd close --quiet-for "$WINDOW_QUIET" --quiet-timeout 30 2>&1)
    rc=$?
    ok "window close right away is refused, saying from when" refused "$rc" "$out"
    ok "the DNS answers $NEW with the TTL as it was" [ "$(dns_answer "$NEW")" = "$WINDOW_TTL $NEW" ]
    ok "/etc/hosts holds $NEW for $HOSTNAME_LAB" grep -Eq "^$NEW[[:space:]]+$HOSTNAME_LAB" "$ROOT/etc/hosts"
    ok "mail is still accepted on $OLD (caches may hold it)" starts 250 "$(smtp_from_outside "$OLD" rcpt)"

    # --- close, when quiet ---
    wait_until "$(safe_from close_after)"
    t_close=$(now_ms)
    out=$(window_cmd close --quiet-for "$WINDOW_QUIET" --quiet-timeout 120 2>&1)
    rc=$?
    printf '%s\n' "$out" | sed 's/^/    | /'
    ok "window close succeeds once nothing used $OLD for $WINDOW_QUIET s" [ "$rc" = 0 ]
    close_ms=$(( $(now_ms) - t_close ))
    note "phases: open ${open_ms} ms, switch ${switch_ms} ms, close ${close_ms} ms (close: the quiet wait, services, verify)"
    ok "$OLD is gone from the interface" \
        bash -c "! ip -n '$NS_SRV' -o addr show dev '$IF_SRV' | grep -qF ' $OLD/'"
    sleep 1
    touch "$stop"
    wait "$probe"
    t_end=$(now_ms)

    # --- figures ---
    read -r WINDOW_SESSIONS accepted WINDOW_FAILED gap longest_wait on_new < <(awk -v s="$t_start" -v e="$t_end" '
        BEGIN { last = s; gap = 0; wait = 0 }
        { n++; if ($4 > wait) wait = $4; if ($3 != old) moved++ }
        $2 == 250 { ok++; if ($1 - last > gap) gap = $1 - last; last = $1 }
        END { if (e - last > gap) gap = e - last; print n + 0, ok + 0, n - ok, gap, wait, moved + 0 }' old="$OLD" "$log")
    note "$WINDOW_SESSIONS sessions over the window, $accepted RCPTs accepted, $WINDOW_FAILED refused or failed;"
    note "longest span without an accepted RCPT: ${gap} ms; longest wait (one session): ${longest_wait} ms;"
    note "$on_new sessions went to $NEW after the client's cache moved"
    if [ "$WINDOW_FAILED" -gt 0 ]; then
        note "refused or failed sessions:"
        awk '$2 != 250' "$log" | head -20 | sed 's/^/      /'
    fi
    note "services, as they ran:"
    sed -n '/ldap: stop slapd/,$p' "$LAB/log/services.log" | sed 's/^/      /'
    ok "the client kept sessions going (more than 100)" [ "$WINDOW_SESSIONS" -gt 100 ]
    ok "not one session was refused or failed" [ "$WINDOW_FAILED" = 0 ]
    ok "the client moved to $NEW" [ "$on_new" -gt 0 ]
    ok "mail is accepted on $NEW after the window" starts 250 "$(smtp_from_outside "$NEW" rcpt)"
    report=$(verify_text "$NEW" "$OLD" --ldap-url "$(ldapi)" 2>&1)
    ok "zmreip verify: every check passes on the new address alone" contains " 0 failed," "$report"
    status=$(zmreip window status --root "$ROOT" 2>&1)
    ok "window status: closed" contains ": closed" "$status"
    scenario_end
else
    scenario_end
fi
lab_down_all
}
