# shellcheck shell=bash
# Scenario "bind" of scripts/lab-e2e (sourced by it): `zmreip bind` on a
# server with two addresses. An outside namespace runs a receiving SMTP
# server (bin/lab-smtp-sink) that logs each client's address; the server's
# real postfix relays a message to it (bin/lab-send). Before binding, mail
# leaves from the interface's primary address; after `bind --outbound`
# from the chosen second address only; after `bind --listen imap` the
# IMAP stand-in (bin/zmmailboxdctl) answers on the chosen address and
# refuses the other. `zmreip rollback` returns to the original behaviour
# with files byte-identical; a second bind followed by `bind --unbind`
# returns to it too.
#
# Uses the lab (tests/lab/e2e/lib.sh), the assertions of tests/lab/assert.sh
# and the helpers of scripts/lab-e2e (ldapi).

# sent_from ADDR: a message relayed by the server reaches the outside
# server, which saw it come from ADDR (waits up to 15 s for delivery).
sent_from() {
    local log=$LAB/log/sink.log n reply i got
    n=$(wc -l < "$log")
    reply=$(in_srv "$E2E/bin/lab-send" "probe@[$OUT]")
    [[ $reply == 250* ]] || { note "submission: $reply"; return 1; }
    for i in $(seq 150); do
        [ "$(wc -l < "$log")" -gt "$n" ] && break
        sleep 0.1
    done
    got=$(tail -n +"$((n + 1))" "$log" | tr '\n' ' ')
    [ "$got" = "$1 " ] || { note "the outside server saw: ${got:-nothing}"; return 1; }
}

# imap_on ADDR: the IMAP greeting at ADDR:143, from outside.
imap_on() {
    in_out bash -c "exec 3<>/dev/tcp/$1/143 && timeout 2 head -n1 <&3" 2>/dev/null
}

# imap_on_both A B: IMAP greets at both addresses.
imap_on_both() {
    contains "* OK" "$(imap_on "$1")" && contains "* OK" "$(imap_on "$2")"
}

# bind_apply ARGS...: plans `zmreip bind ARGS` and applies the plan.
bind_apply() {
    local plan=$LAB/bind-$RANDOM.json out rc
    out=$(zmreip bind --root "$ROOT" --ldap-url "$(ldapi)" --resolver "$OLD:53" --timeout 1 \
        --out "$plan" "$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" | sed 's/^/    | /'
    [ "$rc" = 0 ] || return 1
    BIND_PLAN_TEXT=$out
    out=$(zmreip apply --root "$ROOT" --ldap-url "$(ldapi)" --yes --services "$LAB/services.toml" \
        --plan "$plan" 2>&1)
    rc=$?
    printf '%s\n' "$out" | sed 's/^/    | /'
    [ "$rc" = 0 ]
}

scenario_bind() {
scenario "bind: mail leaves from, and IMAP listens on, one of two addresses; rollback; unbind"
if lab_up; then
    local second=${OLD%.*}.26 d0 out rc
    ip -n "$NS_SRV" addr add "$second/24" dev "$IF_SRV"
    : > "$LAB/log/sink.log"
    in_out "$E2E/bin/lab-smtp-sink" "$OUT" 25 "$LAB/log/sink.log" > "$LAB/log/sink.out" 2>&1 &
    for _ in $(seq 100); do grep -q ready "$LAB/log/sink.out" 2>/dev/null && break; sleep 0.02; done
    # IMAP on all interfaces, Zimbra's default (the lab's directory binds
    # it to the old address for the move scenarios).
    printf 'dn: cn=%s,cn=servers,cn=zimbra\nchangetype: modify\ndelete: zimbraImapBindAddress\n' \
        "$HOSTNAME_LAB" | in_srv ldapmodify -x -o nettimeout=3 -H "$(ldapi)" \
        -D uid=zimbra,cn=admins,cn=zimbra -y "$LAB/secrets/zimbra_ldap_password" >/dev/null
    in_srv "$LAB/bin/zmmailboxdctl" restart
    d0=$(tree_digest)
    ok "before: mail leaves from the primary address $OLD" sent_from "$OLD"
    ok "before: IMAP answers on $OLD and $second" imap_on_both "$OLD" "$second"

    out=$(zmreip bind --root "$ROOT" --ldap-url "$(ldapi)" --address "${OLD%.*}.99" --outbound 2>&1)
    rc=$?
    ok "an address no interface has is refused (exit 2)" [ "$rc" = 2 ]
    ok "  ... saying so" contains "is not configured on this host" "$out"
    ok "  ... and nothing changed" same_tree "$d0" "$(tree_digest)"

    ok "zmreip bind --address $second --outbound --listen imap, applied" \
        bind_apply --address "$second" --outbound --listen imap
    # The lab's named serves no reverse zone: the PTR cannot be confirmed
    # (bind-ptr when the resolver says so, bind-dns-unchecked when it
    # refuses), and the plan must say which.
    ok "  ... the plan warned that the PTR of $second is not confirmed" \
        grep -Eq "\[bind-(ptr|dns-unchecked)\].*PTR of $second|\[bind-ptr\] mail will leave from $second" <<< "$BIND_PLAN_TEXT"
    ok "after bind: the outside server sees mail from $second only" sent_from "$second"
    ok "after bind: IMAP answers on $second" contains "* OK" "$(imap_on "$second")"
    ok "after bind: IMAP refuses $OLD" lacks "* OK" "$(imap_on "$OLD")"

    # A root other than / runs none of its journal's commands unless
    # --services names them (a snapshot's journal is not trusted).
    out=$(zmreip rollback --root "$ROOT" --yes --services "$LAB/services.toml" 2>&1)
    rc=$?
    printf '%s\n' "$out" | sed 's/^/    | /'
    ok "zmreip rollback succeeds" [ "$rc" = 0 ]
    ok "every file is byte-identical to before the bind" same_tree "$d0" "$(tree_digest)"
    ok "after rollback: mail leaves from $OLD again" sent_from "$OLD"
    ok "after rollback: IMAP answers on $OLD and $second again" imap_on_both "$OLD" "$second"

    ok "bind again, then zmreip bind --unbind --outbound --listen imap, applied" \
        bind_apply --address "$second" --outbound --listen imap
    ok "  ... (bound: mail from $second)" sent_from "$second"
    ok "  ... unbind applied" bind_apply --unbind --outbound --listen imap
    ok "after unbind: mail leaves from $OLD again" sent_from "$OLD"
    ok "after unbind: IMAP answers on $OLD and $second" imap_on_both "$OLD" "$second"
    scenario_end
else
    scenario_end
fi
lab_down_all
}
