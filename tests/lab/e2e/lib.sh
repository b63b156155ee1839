# shellcheck shell=bash
# The zmreip end-to-end lab: a Zimbra-shaped host in network namespaces.
# Sourced by scripts/lab-e2e, which runs the scenarios.
#
# One lab is:
#   - a server network namespace holding the old address OLD (10.77.N.25/24)
#     on one end of a veth pair, and an outside namespace (OUT, 10.99.N.2/24,
#     "the internet") on the other end; each routes the other's networks
#     on-link, so moving the server to NEW (10.78.N.131/24) needs no router;
#   - a private mount namespace for the server side (held by a sleeping
#     process; every server command enters it with nsenter) in which the
#     fixture root's opt/zimbra is mounted at /opt/zimbra, its etc/bind at
#     /etc/bind, and its etc/hosts and etc/resolv.conf over the real ones,
#     so the daemons see the fixture exactly as Zimbra sees a host (paths
#     in main.cf, ldap-*.cf and named.conf are real host paths);
#   - real servers from Debian: slapd (the project's Zimbra-subset schema),
#     postfix (smtpd with LDAP maps as Zimbra's ldap-*.cf), dnsmasq (split
#     DNS), named (authoritative for lab.example), and a tiny IMAP listener
#     standing in for mailboxd; all started and restarted through the lab's
#     stand-ins for Zimbra's control scripts (tests/lab/e2e/bin), which
#     zmreip runs through its --services map.
#
# Nothing leaves the namespaces: the only addresses used are the lab's own
# and loopback, and every mount is inside the lab's mount namespace.

E2E=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Names that are unique per run (parallel runs do not collide) and per lab.
LAB_RUN=$$
LAB_SEQ=0
LABS=()            # every lab directory made, for teardown

say() { printf '%s\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# now_ms: milliseconds since the epoch, without a fork.
now_ms() {
    local t=${EPOCHREALTIME/./}
    echo $((t / 1000))
}

# lab_up: builds and starts a fresh lab; sets LAB, ROOT, OLD, NEW, OUT,
# NETPFX, NS_SRV, NS_OUT, HOLDER, IF_SRV, IF_OUT, HOSTNAME_LAB.
lab_up() {
    LAB_SEQ=$((LAB_SEQ + 1))
    LAB=$(mktemp -d "${TMPDIR:-/tmp}/zmreip-lab.XXXXXX")
    LABS+=("$LAB")
    ROOT=$LAB/root
    local n=$(((LAB_RUN + LAB_SEQ) % 250 + 1))
    OLD=10.77.$n.25
    NEW=10.78.$n.131
    OUT=10.99.$n.2
    OLD_NET=10.77.$n.0/24
    NEW_NET=10.78.$n.0/24
    OUT_NET=10.99.$n.0/24
    HOSTNAME_LAB=mail.lab.example
    NS_SRV=zl$LAB_RUN-$LAB_SEQ-s
    NS_OUT=zl$LAB_RUN-$LAB_SEQ-o
    IF_SRV=zl${LAB_RUN}s$LAB_SEQ
    IF_OUT=zl${LAB_RUN}o$LAB_SEQ
    IF_SRV=${IF_SRV:0:15}
    IF_OUT=${IF_OUT:0:15}
    echo "$NS_SRV $NS_OUT" > "$LAB/netns"

    ip netns add "$NS_SRV"
    ip netns add "$NS_OUT"
    ip link add "$IF_SRV" netns "$NS_SRV" type veth peer name "$IF_OUT" netns "$NS_OUT"
    ip -n "$NS_SRV" link set lo up
    ip -n "$NS_OUT" link set lo up
    # Deleting a primary address must not take same-subnet secondaries
    # with it (test-components.md §4).
    ip netns exec "$NS_SRV" sysctl -qw "net.ipv4.conf.$IF_SRV.promote_secondaries=1"
    ip -n "$NS_SRV" addr add "$OLD/24" dev "$IF_SRV"
    ip -n "$NS_OUT" addr add "$OUT/24" dev "$IF_OUT"
    ip -n "$NS_SRV" link set "$IF_SRV" up
    ip -n "$NS_OUT" link set "$IF_OUT" up
    ip -n "$NS_SRV" route add "$OUT_NET" dev "$IF_SRV"
    ip -n "$NS_OUT" route add "$OLD_NET" dev "$IF_OUT"
    ip -n "$NS_OUT" route add "$NEW_NET" dev "$IF_OUT"

    ns_hold "$NS_SRV" || { say "lab: the server's namespaces did not come up"; return 1; }
    echo "$HOLDER" > "$LAB/holder.pid"
    MNTNS=$(readlink "/proc/$HOLDER/ns/mnt")

    render_fixture
    mkdir -p "$LAB/named" "$LAB/run" "$LAB/log" "$ROOT/opt/zimbra/data/postfix/spool" \
        "$ROOT/opt/zimbra/data/postfix/data" "$ROOT/opt/zimbra/data/lab-mail" "$ROOT/opt/zimbra/log"
    chown postfix "$ROOT/opt/zimbra/data/postfix/data"
    chown 65534:65534 "$ROOT/opt/zimbra/data/lab-mail"
    in_srv sh -c "
        set -e
        mount -t tmpfs zmreip-lab /opt
        mkdir /opt/zimbra
        mount --bind '$ROOT/opt/zimbra' /opt/zimbra
        mount --bind '$ROOT/etc/bind' /etc/bind
        mount --bind '$LAB/named' /var/cache/bind
    "
    in_srv "$LAB/bin/lab-etc-sync"
    load_directory
    start_servers
}

# ns_hold NETNS: a PID and mount namespace inside the network namespace
# NETNS, held by their init (tests/lab/e2e/bin/lab-init, which reaps
# daemons and takes them all along when killed); sets HOLDER to its PID.
# Commands enter them with `nsenter -t "$HOLDER" -m -n -p`.
ns_hold() {
    ip netns exec "$1" unshare --pid --fork --mount-proc "$E2E/bin/lab-init" \
        </dev/null >/dev/null 2>&1 &
    local launcher=$! mine i
    mine=$(readlink /proc/self/ns/mnt)
    HOLDER=
    for i in $(seq 200); do
        HOLDER=$(cat "/proc/$launcher/task/$launcher/children" 2>/dev/null | awk '{print $1}')
        if [ -n "$HOLDER" ] && [ "$(readlink "/proc/$HOLDER/ns/pid" 2>/dev/null)" != "$(readlink /proc/self/ns/pid)" ] \
            && [ "$(readlink "/proc/$HOLDER/ns/mnt" 2>/dev/null)" != "$mine" ]; then
            return 0
        fi
        HOLDER=
        sleep 0.02
    done
    return 1
}

# in_srv CMD...: runs in the server's network, mount and PID namespaces.
in_srv() { nsenter -t "$HOLDER" -m -n -p -- "$@"; }
# in_out CMD...: runs in the outside namespace.
in_out() { ip netns exec "$NS_OUT" "$@"; }

# render_fixture: the host root, the stand-ins and the lab's config, with
# this lab's addresses and fresh passwords.
render_fixture() {
    local pw_admin pw_postfix
    pw_admin=lab-admin-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    pw_postfix=lab-postfix-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    cp -a "$E2E/fixture/root" "$ROOT"
    mkdir -p "$LAB/bin" "$LAB/slapd/db" "$LAB/secrets"
    chmod 700 "$LAB/secrets"
    cp -a "$E2E/bin/." "$LAB/bin/"
    local sub="s|@OLD@|$OLD|g; s|@NEW@|$NEW|g; s|@OLD_NET@|$OLD_NET|g; s|@HOSTNAME@|$HOSTNAME_LAB|g;
        s|@ADMIN_PW@|$pw_admin|g; s|@POSTFIX_PW@|$pw_postfix|g; s|@LAB@|$LAB|g; s|@E2E@|$E2E|g;
        s|@REPO@|$REPO|g"
    local f
    while IFS= read -r -d '' f; do
        sed -i "$sub" "$f"
    done < <(find "$ROOT" -type f -print0)
    sed "$sub" "$E2E/fixture/directory.ldif" > "$LAB/slapd/directory.ldif"
    sed "$sub" "$E2E/fixture/slapd.conf" > "$LAB/slapd/slapd.conf"
    sed "$sub" "$E2E/fixture/services.toml" > "$LAB/services.toml"
    (umask 077 && printf "%s" "$pw_admin" > "$LAB/secrets/zimbra_ldap_password")
    cat > "$LAB/lab.conf" <<EOF
ROOT=$ROOT
HOSTNAME_LAB=$HOSTNAME_LAB
MNTNS='$MNTNS'
EOF
    # main.cf as zmconfigd leaves it: old enough that postconf does not
    # stall on a fresh mtime (test-components.md §3.4).
    touch -d '-10 sec' "$ROOT/opt/zimbra/common/conf/main.cf"
}

load_directory() {
    slapadd -q -f "$LAB/slapd/slapd.conf" -l "$LAB/slapd/directory.ldif"
}

start_servers() {
    in_srv "$LAB/bin/ldap" start
    in_srv "$LAB/bin/dnsmasqctl" start
    in_srv "$LAB/bin/namedctl" start
    in_srv "$LAB/bin/zmmtactl" start
    in_srv "$LAB/bin/zmmailboxdctl" start
    # Ready when a local recipient is accepted from outside: postfix,
    # its LDAP map and slapd all answer. The first sessions after postfix
    # starts are slow (new processes, map connections); they are not part
    # of any measurement.
    local i
    for i in $(seq 100); do
        [[ "$(smtp_from_outside "$OLD" rcpt)" == 250* ]] && return 0
        sleep 0.1
    done
    say "lab: postfix does not accept mail for a local recipient on $OLD"
    return 1
}

# lab_down DIR: stops everything of one lab and removes its namespaces.
# Killing the server's init ends every process of its PID namespace.
lab_down() {
    local dir=$1 pid ns
    [ -d "$dir" ] || return 0
    if [ -s "$dir/holder.pid" ]; then
        kill -9 "$(cat "$dir/holder.pid")" 2>/dev/null || true
    fi
    if [ -f "$dir/netns" ]; then
        for ns in $(cat "$dir/netns"); do
            # Probes left in the outside namespace (the disruption client).
            for pid in $(ip netns pids "$ns" 2>/dev/null); do
                kill "$pid" 2>/dev/null || true
            done
            ip netns del "$ns" 2>/dev/null || true
        done
    fi
    if [ -z "${LAB_KEEP:-}" ]; then
        rm -rf "$dir"
    else
        say "lab kept: $dir"
    fi
}

# lab_sweep [PREFIX]: removes the namespaces of labs whose driver died
# without tearing down (killed with SIGKILL): their names are
# PREFIX<driver PID>-<lab>-<role> (PREFIX `zl` by default).
lab_sweep() {
    local ns pid owner prefix=${1:-zl}
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        [[ $ns =~ ^$prefix([0-9]+)-[0-9]+-[a-z0-9]+$ ]] || continue
        owner=${BASH_REMATCH[1]}
        [ -d "/proc/$owner" ] && continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -9 "$pid" 2>/dev/null || true
        done
        ip netns del "$ns" 2>/dev/null || true
        say "lab: removed the namespace $ns of an interrupted run"
    done
}

lab_down_all() {
    local d
    for d in "${LABS[@]}"; do
        lab_down "$d"
    done
    LABS=()
}

# --- moving the OS address (what the how-tos do by hand) ----------------

os_move_to_new() {
    ip -n "$NS_SRV" addr add "$NEW/24" dev "$IF_SRV"
    ip -n "$NS_SRV" addr del "$OLD/24" dev "$IF_SRV"
}
os_move_to_old() {
    ip -n "$NS_SRV" addr add "$OLD/24" dev "$IF_SRV"
    ip -n "$NS_SRV" addr del "$NEW/24" dev "$IF_SRV"
}
os_add_new() { ip -n "$NS_SRV" addr add "$NEW/24" dev "$IF_SRV"; }
os_del_old() { ip -n "$NS_SRV" addr del "$OLD/24" dev "$IF_SRV"; }

# --- running zmreip inside the server ------------------------------------

# zmreip ARGS...: the built binary, inside the server namespaces.
zmreip() { in_srv env RUST_BACKTRACE=0 "$ZMREIP" "$@"; }

# --- probes from the outside ---------------------------------------------

# smtp_from_outside ADDR MODE: one SMTP session from the outside
# namespace; prints the probe's result line (see bin/smtp-probe).
smtp_from_outside() { in_out "$E2E/bin/smtp-probe" "$1" "$2"; }

# ldap_answers URL: the root DSE answers at URL (from inside the server).
ldap_answers() {
    in_srv ldapsearch -x -o nettimeout=2 -H "$1" -b "" -s base namingContexts >/dev/null 2>&1
}

# tree_digest [ROOT]: a digest of every file of the root ($ROOT by
# default) zmreip may write or whose content a run regenerates, for
# byte-identical comparisons. The journal (var/lib/zmreip), postfix's queue
# and the lab's mailboxes are run-time state and left out.
tree_digest() {
    (cd "${1:-$ROOT}" && find . -type f \
        -not -path './var/lib/zmreip/*' \
        -not -path './opt/zimbra/data/*' \
        -not -path './opt/zimbra/log/*' \
        -print0 | sort -z | xargs -0 sha256sum)
}
