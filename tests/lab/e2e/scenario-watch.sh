# shellcheck shell=bash
# Scenario "watch" of scripts/lab-e2e (sourced by it): `zmreip watch` with
# [zimbra] mode = "apply" follows an address change of the lab's
# Zimbra-shaped host end to end. The daemon runs inside the server's
# namespaces and follows its interface through netlink; the test only
# moves the OS address with `ip addr` (add the new one, remove the old
# one, as a DHCP client or an admin does). The daemon must then plan and
# apply the move by itself, verified: mail is accepted on the new address,
# and the directory, /etc/hosts and dnsmasq hold it.
#
# Uses the lab (tests/lab/e2e/lib.sh), the assertions of tests/lab/assert.sh
# and the helpers of scripts/lab-e2e (ldapi, probe_addr, mail_count).

# watch_pid: the daemon's PID as the lab's driver sees it (nsenter forks
# it into the server's PID namespace).
watch_pid() {
    cat "/proc/$WATCH_LAUNCHER/task/$WATCH_LAUNCHER/children" 2>/dev/null | awk '{print $1}'
}

# wait_log TEXT SECONDS: the daemon's log holds TEXT (bounded wait).
wait_log() {
    local i
    for i in $(seq $(($2 * 10))); do
        grep -qF -- "$1" "$LAB/log/watch.log" 2>/dev/null && return 0
        grep -qF -- "zimbra: the apply failed" "$LAB/log/watch.log" 2>/dev/null && break
        sleep 0.1
    done
    note "not logged within $2 s: $1"
    return 1
}

# ldap_value DN ATTR: the attribute's values (one line), read as the
# Zimbra admin over the lab's slapd socket.
ldap_value() {
    in_srv ldapsearch -LLL -x -o ldif-wrap=no -o nettimeout=3 -H "$(ldapi)" \
        -D uid=zimbra,cn=admins,cn=zimbra -y "$LAB/secrets/zimbra_ldap_password" \
        -b "$1" -s base "(objectClass=*)" "$2" | sed -n "s/^$2: //p" | tr '\n' ' '
}

scenario_watch() {
scenario "watch: zmreip watch follows an address change (netlink event, plan, journaled apply, verify)"
if lab_up; then
    add_probe_addr
    mkdir -p "$LAB/watch"
    cat > "$LAB/watch/watch.toml" <<EOF
state = "$LAB/watch/watch.json"
verify_interval = 0

[ipv4]
interface = "$IF_SRV"

[zimbra]
mode = "apply"
root = "$ROOT"
services = "$LAB/services.toml"
ldap_url = ["$(ldapi)"]
outside_source = "$(probe_addr)"
plan_dir = "$LAB/watch/plans"
EOF
    # nsenter itself in the background (not in_srv, a function, which
    # would add a subshell): its child is the daemon.
    nsenter -t "$HOLDER" -m -n -p -- env RUST_BACKTRACE=0 "$ZMREIP" watch \
        --config "$LAB/watch/watch.toml" > "$LAB/log/watch.log" 2>&1 &
    WATCH_LAUNCHER=$!
    ok "zmreip watch starts and takes $OLD as Zimbra's address" \
        wait_log "zimbra: starting from ipv4 $OLD " 20
    t0=$(now_ms)
    os_move_to_new
    ok "it sees the move from the netlink event" wait_log "ipv4: $NEW/24 (interface $IF_SRV)" 10
    ok "it plans, applies and verifies the move by itself" \
        wait_log "zimbra: applied and verified" 240
    note "address moved -> Zimbra re-addressed and verified in $(($(now_ms) - t0)) ms"
    sed 's/^/    | /' "$LAB/log/watch.log"
    n0=$(mail_count)
    ok "from outside, a message to a local recipient on $NEW is accepted" \
        starts 250 "$(smtp_from_outside "$NEW" deliver "scenario watch")"
    sleep 0.5
    ok "  ... and delivered to the mailbox" [ "$(mail_count)" -gt "$n0" ]
    ok "from outside, relaying through $NEW is refused" \
        contains "Relay access denied" "$(smtp_from_outside "$NEW" relay)"
    ok "the directory holds $NEW (zimbraImapBindAddress)" \
        contains "$NEW" "$(ldap_value "cn=$HOSTNAME_LAB,cn=servers,cn=zimbra" zimbraImapBindAddress)"
    ok "the directory holds $NEW (zimbraMailTrustedIP)" \
        contains "$NEW" "$(ldap_value cn=config,cn=zimbra zimbraMailTrustedIP)"
    ok "the directory no longer holds $OLD" \
        [ -z "$(in_srv ldapsearch -LLL -x -o ldif-wrap=no -H "$(ldapi)" -D uid=zimbra,cn=admins,cn=zimbra \
            -y "$LAB/secrets/zimbra_ldap_password" -b cn=zimbra "(|(zimbraMailTrustedIP=$OLD)(zimbraImapBindAddress=$OLD))" dn)" ]
    ok "/etc/hosts holds $NEW for $HOSTNAME_LAB" grep -Eq "^$NEW[[:space:]]+$HOSTNAME_LAB" "$ROOT/etc/hosts"
    ok "/etc/hosts no longer holds $OLD" bash -c "! grep -qF '$OLD' '$ROOT/etc/hosts'"
    ok "dnsmasq answers $NEW for $HOSTNAME_LAB" \
        [ "$(in_srv dig +short +time=1 +tries=1 @127.0.0.1 "$HOSTNAME_LAB" A)" = "$NEW" ]
    ok "the state records Zimbra on $NEW and the run" \
        grep -q "\"ipv4\": \"$NEW/24\"" "$LAB/watch/watch.json"
    ok "zmreip history shows the run applied" \
        contains " applied " "$(zmreip history --root "$ROOT")"
    pid=$(watch_pid)
    if [ -n "$pid" ]; then kill -TERM "$pid"; fi
    for _ in $(seq 100); do kill -0 "$WATCH_LAUNCHER" 2>/dev/null || break; sleep 0.1; done
    ok "SIGTERM stops it cleanly" wait_log "stopped" 5
    wait "$WATCH_LAUNCHER" 2>/dev/null
    scenario_end
else
    scenario_end
fi
lab_down_all
}
