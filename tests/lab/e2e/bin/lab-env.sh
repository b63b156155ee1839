# shellcheck shell=bash
# Sourced by every stand-in: where the lab is, and small helpers.
set -euo pipefail
BIN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$(dirname "$BIN")
# shellcheck source=/dev/null
. "$LAB/lab.conf"
ZH=/opt/zimbra
LC=$ROOT/opt/zimbra/conf/localconfig.xml
PFCONF=$ZH/common/conf

# The stand-ins mount and start daemons: only ever inside the lab's
# server mount namespace, never on the machine running the lab.
if [ "$(readlink /proc/self/ns/mnt)" != "$MNTNS" ]; then
    echo "$(basename "$0"): not inside the lab's mount namespace; refusing" >&2
    exit 3
fi

log() {
    printf '%s %s: %s\n' "$(date +%H:%M:%S.%3N)" "$(basename "$0")" "$*" >> "$LAB/log/services.log"
}

# lc KEY: a localconfig value (the lab's file keeps <value> on the line
# after <key>, as Zimbra writes it).
lc() {
    sed -n "/<key name=\"$1\">/{n;s/.*<value>\(.*\)<\/value>.*/\1/p;q;}" "$LC"
}

# ldap_get DN ATTR: the values of ATTR, one per line, read as the Zimbra
# admin over ldap_url (as zmconfigd and zmprov do).
ldap_get() {
    local url
    url=$(lc ldap_url | awk '{print $1}')
    ldapsearch -LLL -x -o ldif-wrap=no -o nettimeout=3 -H "$url" \
        -D "$(lc zimbra_ldap_userdn)" -y "$LAB/secrets/zimbra_ldap_password" \
        -b "$1" -s base "(objectClass=*)" "$2" \
        | sed -n "s/^$2: //p"
}

# server_or_global ATTR: the server entry's values, else global config's
# (Zimbra's "serverInherited").
server_or_global() {
    local v
    v=$(ldap_get "cn=$HOSTNAME_LAB,cn=servers,cn=zimbra" "$1")
    [ -n "$v" ] || v=$(ldap_get "cn=config,cn=zimbra" "$1")
    printf '%s' "$v"
}

# pid_alive FILE: the PID in FILE runs.
pid_alive() { [ -s "$1" ] && kill -0 "$(tr -d ' \n' < "$1")" 2>/dev/null; }

# stop_pid FILE: stops the process in FILE and waits up to 5 s.
stop_pid() {
    local pid i
    [ -s "$1" ] || return 0
    pid=$(tr -d ' \n' < "$1")
    kill "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
    for i in $(seq 250); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
        sleep 0.02
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$1"
}

# lab_etc_sync: the fixture's /etc/hosts and /etc/resolv.conf over the
# real ones. zmreip replaces files by rename, and a bind mount holds the
# old inode, so every stand-in binds again before it starts a daemon (a
# real host's resolver reads the path afresh).
lab_etc_sync() {
    local f
    for f in hosts resolv.conf; do
        umount "/etc/$f" 2>/dev/null || true
        mount --bind "$ROOT/etc/$f" "/etc/$f"
    done
}
