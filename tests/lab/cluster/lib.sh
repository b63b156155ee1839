# shellcheck shell=bash
# The zmreip cluster lab: a three-node Zimbra-shaped deployment in network
# namespaces, reached over real OpenSSH. Sourced by scripts/lab-cluster,
# which runs the scenarios. Builds on the end-to-end lab's harness
# (tests/lab/e2e/lib.sh: namespace holders, teardown, the stand-ins for
# Zimbra's control scripts in tests/lab/e2e/bin) and adds:
#
#   - three node namespaces on one switch (a bridge in a namespace of its
#     own), plus an outside namespace standing for the internet:
#       mbox1.lab.example   OLD1 = 10.81.N.11  LDAP master (slapd) + mailbox
#                                              (IMAP and LMTP stand-ins)
#       mta1.lab.example    10.81.N.12         MTA (postfix, LDAP maps on
#                                              mbox1, delivery over LMTP)
#       proxy1.lab.example  10.81.N.13         proxy (an upstream list
#                                              rendered from the directory)
#     the new address of mbox1 is NEW1 = 10.82.N.131/24; every namespace
#     routes 10.82.N.0/24 and the outside's 10.89.N.0/24 on-link;
#   - per node a private mount and PID namespace in which the node's
#     fixture root shows as the real /opt/zimbra, /etc/hosts and
#     /etc/resolv.conf, and the built zmreip as /usr/local/sbin/zmreip;
#   - Debian's sshd on every node's own address, with host keys and a
#     client key the lab generates, an ssh client config and known_hosts
#     of its own (never ~/.ssh: every node sees an empty /root, so the
#     machine's own ~/.ssh and shell start-up files stay out); a
#     session's ZMREIP_ROOT is the node's fixture root, so zmreip there
#     works on the node's files.
#
# Nothing leaves the namespaces: the only addresses used are the lab's own
# and loopback, and every mount is inside a node's mount namespace.

CLUSTER=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e/lib.sh
. "$CLUSTER/../e2e/lib.sh"

MBOX=mbox1.lab.example
MTA=mta1.lab.example
PROXY=proxy1.lab.example
NODES=(mbox mta proxy)
declare -A HOLDERS=() ADDRS=() NAMES=([mbox]=$MBOX [mta]=$MTA [proxy]=$PROXY)

# cluster_up: builds and starts a fresh cluster lab; sets LAB, OLD1, NEW1,
# NET, OUT, NS_MBOX and IF_MBOX (mbox1's namespace and interface), NS_OUT,
# SSH_CONFIG, HOLDERS and ADDRS (by node: mbox, mta, proxy).
cluster_up() {
    LAB_SEQ=$((LAB_SEQ + 1))
    LAB=$(mktemp -d "${TMPDIR:-/tmp}/zmreip-cluster.XXXXXX")
    chmod 755 "$LAB"
    local n=$(((LAB_RUN + LAB_SEQ) % 250 + 1)) node i ns
    NET=10.81.$n.0/24
    OLD1=10.81.$n.11
    NEW1=10.82.$n.131
    NEW_NET=10.82.$n.0/24
    OUT=10.89.$n.2
    OUT_NET=10.89.$n.0/24
    ADDRS=([mbox]=$OLD1 [mta]=10.81.$n.12 [proxy]=10.81.$n.13)
    local tag=cl$LAB_RUN-$LAB_SEQ
    local ift=cl$LAB_RUN$LAB_SEQ
    NS_SW=$tag-sw
    NS_OUT=$tag-o
    # The lab directory itself owns the switch and the outside; each node
    # directory owns its namespace (lab_down tears them down in order).
    echo "$NS_SW $NS_OUT" > "$LAB/netns"
    ip netns add "$NS_SW"
    ip netns add "$NS_OUT"
    ip -n "$NS_SW" link add br0 type bridge
    ip -n "$NS_SW" link set br0 up
    ip -n "$NS_SW" link set lo up
    i=0
    for node in "${NODES[@]}" out; do
        i=$((i + 1))
        local if_in=${ift}n$i if_sw=${ift}s$i addr
        if_in=${if_in:0:15}
        if_sw=${if_sw:0:15}
        if [ "$node" = out ]; then
            ns=$NS_OUT
            addr=$OUT
        else
            ns=$tag-$node
            addr=${ADDRS[$node]}
            mkdir -p "$LAB/$node"
            echo "$ns" > "$LAB/$node/netns"
            LABS+=("$LAB/$node")
            ip netns add "$ns"
        fi
        ip link add "$if_in" netns "$ns" type veth peer name "$if_sw" netns "$NS_SW"
        ip -n "$NS_SW" link set "$if_sw" master br0 up
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$if_in.promote_secondaries=1"
        ip -n "$ns" addr add "$addr/24" dev "$if_in"
        ip -n "$ns" link set "$if_in" up
        local net
        for net in "$NET" "$NEW_NET" "$OUT_NET"; do
            ip -n "$ns" route add "$net" dev "$if_in" 2>/dev/null || true
        done
        if [ "$node" = mbox ]; then
            IF_MBOX=$if_in
            NS_MBOX=$ns
        fi
    done
    LABS+=("$LAB")

    cluster_keys
    for node in "${NODES[@]}"; do
        node_up "$node" || return 1
    done
    load_directory_cluster
    start_cluster
}

# node_dir NODE: the node's lab directory.
node_dir() { echo "$LAB/$1"; }

# in_node NODE CMD...: runs in the node's network, mount and PID
# namespaces.
in_node() {
    local node=$1
    shift
    nsenter -t "${HOLDERS[$node]}" -m -n -p -- "$@"
}

# in_out CMD...: runs in the outside namespace.
in_out() { ip netns exec "$NS_OUT" "$@"; }

# cluster_keys: the client key every node authorizes, the ssh client
# config and known_hosts zmreip is given (with --ssh-config), and the
# secrets of the directory.
cluster_keys() {
    mkdir -p "$LAB/ssh" "$LAB/secrets"
    chmod 700 "$LAB/ssh" "$LAB/secrets"
    ssh-keygen -q -t ed25519 -N '' -C zmreip-lab -f "$LAB/ssh/client_key"
    cp "$LAB/ssh/client_key.pub" "$LAB/ssh/authorized_keys"
    : > "$LAB/ssh/known_hosts"
    cat > "$LAB/ssh/config" <<EOF
# The cluster lab's ssh client configuration (zmreip --ssh-config).
Host *.lab.example
    User root
    IdentityFile $LAB/ssh/client_key
    IdentitiesOnly yes
    UserKnownHostsFile $LAB/ssh/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    ConnectTimeout 3
EOF
    ADMIN_PW=lab-admin-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    POSTFIX_PW=lab-postfix-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    SSH_CONFIG=$LAB/ssh/config
}

# subst FILE...: fills in the lab's @VARIABLES@ in place.
subst() {
    sed -i "s|@OLD1@|$OLD1|g; s|@NEW1@|$NEW1|g; s|@NET@|$NET|g; s|@ADDR2@|${ADDRS[mta]}|g;
        s|@ADDR3@|${ADDRS[proxy]}|g; s|@MBOX@|$MBOX|g; s|@MTA@|$MTA|g; s|@PROXY@|$PROXY|g;
        s|@ADMIN_PW@|$ADMIN_PW|g; s|@POSTFIX_PW@|$POSTFIX_PW|g; s|@LAB@|$LAB|g; s|@E2E@|$E2E|g;
        s|@REPO@|$REPO|g; s|@NODE@|$NODE|g; s|@ADDR@|$ADDR|g; s|@HOSTNAME@|$HOSTNAME_LAB|g" "$@"
}

# node_up NODE: the node's files, namespaces, mounts and sshd.
node_up() {
    local node=$1 f
    NODE=$LAB/$node
    ADDR=${ADDRS[$node]}
    HOSTNAME_LAB=${NAMES[$node]}
    local fx=$CLUSTER/fixture
    mkdir -p "$NODE/root" "$NODE/bin" "$NODE/run" "$NODE/log" "$NODE/ssh" "$NODE/secrets"
    chmod 700 "$NODE/secrets" "$NODE/ssh"
    cp -a "$fx/common/." "$NODE/root/"
    cp -a "$fx/$node/." "$NODE/root/"
    if [ "$node" = mta ]; then
        cp "$E2E/fixture/root/opt/zimbra/common/conf/master.cf" "$NODE/root/opt/zimbra/common/conf/"
    fi
    cp "$fx/services.toml" "$NODE/root/opt/zimbra/conf/zmreip-services.toml"
    mkdir -p "$NODE/root/var/lib" "$NODE/root/opt/zimbra/data/lab-mail" "$NODE/root/opt/zimbra/log" \
        "$NODE/root/opt/zimbra/data/postfix/spool" "$NODE/root/opt/zimbra/data/postfix/data"
    [ "$node" = mta ] && chown postfix "$NODE/root/opt/zimbra/data/postfix/data"
    cp -a "$E2E/bin/." "$CLUSTER/bin/." "$NODE/bin/"
    while IFS= read -r -d '' f; do
        subst "$f"
    done < <(find "$NODE/root" -type f -print0)
    subst "$NODE/root/opt/zimbra/conf/zmreip-services.toml"
    (umask 077 && printf "%s" "$ADMIN_PW" > "$NODE/secrets/zimbra_ldap_password")
    sed "s|@ADDR@|$ADDR|g; s|@NODE@|$NODE|g; s|@LAB@|$LAB|g" "$fx/sshd_config" > "$NODE/ssh/sshd_config"
    ssh-keygen -q -t ed25519 -N '' -f "$NODE/ssh/host_key"
    printf '%s,%s %s\n' "$HOSTNAME_LAB" "$ADDR" "$(cut -d' ' -f1,2 "$NODE/ssh/host_key.pub")" \
        >> "$LAB/ssh/known_hosts"
    [ -f "$NODE/root/opt/zimbra/common/conf/main.cf" ] &&
        touch -d '-10 sec' "$NODE/root/opt/zimbra/common/conf/main.cf"

    ns_hold "$(cat "$NODE/netns")" || { say "lab: the namespaces of $node did not come up"; return 1; }
    HOLDERS[$node]=$HOLDER
    echo "$HOLDER" > "$NODE/holder.pid"
    cat > "$NODE/lab.conf" <<EOF
ROOT=$NODE/root
HOSTNAME_LAB=$HOSTNAME_LAB
MNTNS='$(readlink "/proc/$HOLDER/ns/mnt")'
EOF
    if [ "$node" = mbox ]; then
        mkdir -p "$NODE/slapd/db"
        sed "s|@REPO@|$REPO|g; s|@E2E@|$E2E|g; s|@LAB@|$NODE|g" "$E2E/fixture/slapd.conf" > "$NODE/slapd/slapd.conf"
    fi
    # sshd's privilege separation directory (Debian's service creates it
    # at start; no service runs here).
    mkdir -p /run/sshd
    in_node "$node" sh -c "
        set -e
        mount -t tmpfs zmreip-lab /opt
        mkdir /opt/zimbra
        mount --bind '$NODE/root/opt/zimbra' /opt/zimbra
        mount -t tmpfs zmreip-lab /usr/local/sbin
        touch /usr/local/sbin/zmreip
        mount --bind '$ZMREIP' /usr/local/sbin/zmreip
        mount -t tmpfs -o mode=700 zmreip-lab /root
    "
    in_node "$node" "$NODE/bin/lab-etc-sync"
}

load_directory_cluster() {
    local d=$LAB/mbox
    cp "$CLUSTER/fixture/directory.ldif" "$d/slapd/directory.ldif"
    subst "$d/slapd/directory.ldif"
    slapadd -q -f "$d/slapd/slapd.conf" -l "$d/slapd/directory.ldif"
}

# sshd_start NODE: Debian's sshd on the node's address.
sshd_start() {
    local d=$LAB/$1
    in_node "$1" /usr/sbin/sshd -t -f "$d/ssh/sshd_config" || return 1
    in_node "$1" setsid /usr/sbin/sshd -D -e -f "$d/ssh/sshd_config" \
        </dev/null >> "$d/log/sshd.log" 2>&1 &
}

# sshd_stop NODE: the node's sshd stops (its PID file holds the PID as
# the node's PID namespace numbers it, so it is signalled from inside).
sshd_stop() {
    local d=$LAB/$1
    in_node "$1" sh -c "kill \$(cat '$d/run/sshd.pid'); for i in \$(seq 100); do [ -e /proc/\$(cat '$d/run/sshd.pid') ] || exit 0; sleep 0.02; done" 2>/dev/null
    rm -f "$d/run/sshd.pid"
}

start_cluster() {
    local node i
    in_node mbox "$LAB/mbox/bin/ldap" start || return 1
    in_node mbox "$LAB/mbox/bin/zmmailboxdctl" start
    in_node mta "$LAB/mta/bin/zmmtactl" start
    in_node proxy "$LAB/proxy/bin/zmproxyctl" start || return 1
    for node in "${NODES[@]}"; do
        sshd_start "$node" || { say "lab: sshd of $node does not start"; return 1; }
    done
    for i in $(seq 100); do
        [[ "$(smtp_to_mta rcpt)" == 250* ]] && break
        sleep 0.1
    done
    [[ "$(smtp_to_mta rcpt)" == 250* ]] || { say "lab: $MTA does not accept mail for a local recipient"; return 1; }
    for i in $(seq 100); do
        ssh_to mta true 2>/dev/null && ssh_to proxy true 2>/dev/null && return 0
        sleep 0.05
    done
    say "lab: sshd does not answer on the nodes"
    return 1
}

# ssh_to NODE CMD...: a command on NODE over the lab's ssh, from mbox1.
ssh_to() {
    local node=$1
    shift
    in_node mbox ssh -F "$SSH_CONFIG" -o BatchMode=yes "${NAMES[$node]}" "$@"
}

# smtp_to_mta MODE [ARGS]: one SMTP session from the outside to the MTA
# node (tests/lab/e2e/bin/smtp-probe).
smtp_to_mta() { in_out "$E2E/bin/smtp-probe" "${ADDRS[mta]}" "$@"; }

# mailbox_count: messages delivered to alice on the mailbox node.
mailbox_count() {
    grep -c '^From ' "$LAB/mbox/root/opt/zimbra/data/lab-mail/alice@lab.example" 2>/dev/null || echo 0
}

# zmreip_on NODE ARGS...: the built zmreip inside the node, on its files.
zmreip_on() {
    local node=$1
    shift
    in_node "$node" env RUST_BACKTRACE=0 ZMREIP_ROOT="$LAB/$node/root" "$ZMREIP" "$@"
}

# cluster_digest: the digests of every node's files (tree_digest), node
# by node.
cluster_digest() {
    local node
    for node in "${NODES[@]}"; do
        tree_digest "$LAB/$node/root" | sed "s|^|$node |"
    done
}

# directory_values: the address-bearing values of the lab's directory,
# sorted, for before/after comparisons.
directory_values() {
    in_node mbox ldapsearch -LLL -x -o ldif-wrap=no -o nettimeout=3 \
        -H "ldapi://${LAB//\//%2F}%2Fmbox%2Fslapd%2Fldapi" -D "uid=zimbra,cn=admins,cn=zimbra" \
        -y "$LAB/mbox/secrets/zimbra_ldap_password" -b "" "(objectClass=*)" \
        zimbraMtaMyNetworks zimbraMailTrustedIP zimbraImapBindAddress zimbraLmtpBindAddress |
        grep -v '^$' | sort
}

# mbox_add_new: NEW1 up on mbox1 beside OLD1 (make before break);
# mbox_del_old, mbox_del_new: one of them down again.
mbox_add_new() { ip -n "$NS_MBOX" addr add "$NEW1/24" dev "$IF_MBOX"; }
mbox_del_old() { ip -n "$NS_MBOX" addr del "$OLD1/24" dev "$IF_MBOX"; }
mbox_del_new() { ip -n "$NS_MBOX" addr del "$NEW1/24" dev "$IF_MBOX"; }
