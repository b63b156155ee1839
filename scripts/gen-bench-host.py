#!/usr/bin/env python3
"""Generates a synthetic Zimbra host for scripts/bench-scan.

    gen-bench-host.py OUT_DIR [--scale 1.0]

writes
    OUT_DIR/root/          the host's / : /etc/hosts, /etc/resolv.conf,
                           netplan, localconfig.xml and 3,000 config files
                           under /etc/bench/ (scanned with --include)
    OUT_DIR/zimbra.ldif    10,000 domains and 90,000 accounts, as zmslapcat
                           writes them (folded lines, base64 values)
    OUT_DIR/planted.json   how many occurrences of the old address were
                           planted, per surface

Every occurrence of the old address is planted at a known spot, in a form
zmreip must find (bare, host:port, [ip]:port, URL host). Near-misses are
many times more frequent: neighbours 172.20.14.250 and 172.20.14.2, the old
address inside a longer dotted number (10.172.20.14.25), networks that do
not hold it, MACs and timestamps with the same digits. No comment holds the
old address, so the planted count is exact whatever a surface does with
comments. Sizes scale with --scale (BENCH_QUICK uses 0.1). Deterministic.
"""

import argparse
import base64
import json
import os
import random
import uuid

OLD = "172.20.14.25"
NEAR = ["172.20.14.250", "172.20.14.2", "172.20.14.251", "10.172.20.14.25", "172.20.14.253"]


def fold(line, width=76):
    """Folds an LDIF line as slapcat does."""
    if len(line) <= width:
        return line + "\n"
    out = [line[:width]]
    rest = line[width:]
    while rest:
        out.append(" " + rest[: width - 1])
        rest = rest[width - 1 :]
    return "\n".join(out) + "\n"


def attr(name, value):
    if not value.isascii() or value.startswith((" ", ":", "<")) or name == "userPassword":
        return fold(f"{name}:: " + base64.b64encode(value.encode()).decode())
    return fold(f"{name}: {value}")


def uid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def operational(rng, oc, ts):
    return (
        attr("structuralObjectClass", oc)
        + attr("entryUUID", uid(rng))
        + attr("creatorsName", "uid=zimbra,cn=admins,cn=zimbra")
        + attr("createTimestamp", ts + "Z")
        + attr("entryCSN", f"{ts}.{rng.randrange(10**6):06d}Z#000000#000#000000")
        + attr("modifiersName", "uid=zimbra,cn=admins,cn=zimbra")
        + attr("modifyTimestamp", ts + "Z")
    )


def timestamp(rng):
    return "20%02d%02d%02d%02d%02d%02d" % (
        rng.randrange(18, 25),
        rng.randrange(1, 13),
        rng.randrange(1, 29),
        rng.randrange(24),
        rng.randrange(60),
        rng.randrange(60),
    )


FIRST = ["Anna", "Ben", "Chloé", "David", "Eva", "Farid", "Greta", "Hugo", "Ingrid", "Jonas",
         "Karin", "Lars", "Maja", "Nils", "Olga", "Paul", "Quentin", "Rosa", "Sven", "Tuva"]
LAST = ["Berg", "Dahl", "Eriksson", "Fischer", "García", "Holm", "Jansen", "Kowalski", "Lind",
        "Müller", "Nowak", "Olsen", "Petit", "Rossi", "Schmidt", "Svensson", "Weber", "Zhang"]


def write_ldif(path, rng, domains, accounts_per_domain, planted):
    n_ldif = 0
    with open(path, "w", encoding="utf-8") as f:
        ts = timestamp(rng)
        f.write(attr("dn", "cn=zimbra") + attr("objectClass", "organizationalRole") + attr("cn", "zimbra")
                + operational(rng, "organizationalRole", ts) + "\n")
        f.write(attr("dn", "cn=config,cn=zimbra") + attr("objectClass", "zimbraGlobalConfig")
                + attr("cn", "config")
                + attr("zimbraMtaMyNetworks", "127.0.0.0/8 [::1]/128 172.20.14.128/25 10.0.0.0/16")
                + attr("zimbraMtaRelayHost", "[172.20.14.2]:25")
                + attr("zimbraReverseProxyAdminIPAddress", OLD)
                + operational(rng, "zimbraGlobalConfig", ts) + "\n")
        n_ldif += 1
        f.write(attr("dn", "cn=mail.corp.example,cn=servers,cn=zimbra") + attr("objectClass", "zimbraServer")
                + attr("cn", "mail.corp.example") + attr("zimbraServiceHostname", "mail.corp.example")
                + attr("zimbraMailTrustedIP", OLD) + attr("zimbraMailTrustedIP", "172.20.14.251")
                + attr("zimbraSpellCheckURL", f"http://{OLD}:7780/aspell.php")
                + attr("zimbraDNSMasterIP", "172.20.14.53")
                + operational(rng, "zimbraServer", ts) + "\n")
        n_ldif += 2
        cos_id = uid(rng)
        f.write(attr("dn", "cn=default,cn=cos,cn=zimbra") + attr("objectClass", "zimbraCOS")
                + attr("cn", "default") + attr("zimbraId", cos_id) + attr("zimbraMailQuota", "0")
                + operational(rng, "zimbraCOS", ts) + "\n")
        for d in range(domains):
            name = f"d{d:05d}.example"
            dn = f"dc=d{d:05d},dc=example"
            ts = timestamp(rng)
            e = (attr("dn", dn) + attr("objectClass", "dcObject") + attr("objectClass", "organization")
                 + attr("objectClass", "zimbraDomain") + attr("objectClass", "amavisAccount")
                 + attr("o", f"{name} domain") + attr("dc", f"d{d:05d}")
                 + attr("zimbraDomainName", name) + attr("zimbraId", uid(rng))
                 + attr("zimbraDomainType", "local") + attr("zimbraDomainStatus", "active")
                 + attr("zimbraMailStatus", "enabled") + attr("zimbraGalMode", "zimbra")
                 + attr("zimbraVirtualHostname", f"mail.{name}")
                 + attr("zimbraPublicServiceHostname", "mail.corp.example")
                 + attr("zimbraPublicServiceProtocol", "https"))
            if d % 100 == 0:
                e += attr("zimbraVirtualIPAddress", OLD)
                n_ldif += 1
            elif d % 13 == 0:
                e += attr("zimbraVirtualIPAddress", "172.20.14.2")
            if d % 7 == 0:
                e += attr("zimbraAuthMech", "ldap") + attr("zimbraAuthLdapURL", "ldap://172.20.14.250:389")
                e += attr("zimbraAuthLdapSearchBindPassword", f"bench-{rng.getrandbits(48):x}")
            if d % 11 == 0:
                e += attr("zimbraWebClientLoginURLAllowedIP", "^172\\.20\\.14\\.250$")
            f.write(e + operational(rng, "organization", ts) + "\n")
            f.write(attr("dn", f"ou=people,{dn}") + attr("objectClass", "organizationalRole")
                    + attr("ou", "people") + attr("cn", "people")
                    + operational(rng, "organizationalRole", ts) + "\n")
            for a in range(accounts_per_domain):
                i = d * accounts_per_domain + a
                first, last = rng.choice(FIRST), rng.choice(LAST)
                local = f"{first.lower()}.{last.lower()}{a}".encode("ascii", "ignore").decode()
                mail = f"{local}@{name}"
                ts = timestamp(rng)
                e = (attr("dn", f"uid={local},ou=people,{dn}")
                     + attr("objectClass", "inetOrgPerson") + attr("objectClass", "zimbraAccount")
                     + attr("objectClass", "amavisAccount")
                     + attr("uid", local) + attr("cn", f"{first} {last}") + attr("sn", last)
                     + attr("givenName", first) + attr("displayName", f"{first} {last}")
                     + attr("mail", mail) + attr("zimbraMailDeliveryAddress", mail)
                     + attr("zimbraId", uid(rng)) + attr("zimbraMailHost", "mail.corp.example")
                     + attr("zimbraMailStatus", "enabled") + attr("zimbraAccountStatus", "active")
                     + attr("zimbraCOSId", cos_id) + attr("zimbraCreateTimestamp", ts + "Z")
                     + attr("zimbraPasswordModifiedTime", ts + "Z")
                     + attr("zimbraLastLogonTimestamp", timestamp(rng) + "Z")
                     + attr("zimbraPrefTimeZoneId", "Europe/Berlin")
                     + attr("zimbraPrefFromDisplay", f"{first} {last}")
                     + attr("userPassword", "{SSHA512}" + base64.b64encode(rng.randbytes(72)).decode()))
                if i % 1000 == 0:
                    e += attr("zimbraMailTransport", f"smtp:[{OLD}]:25")
                    n_ldif += 1
                elif i % 20 == 0:
                    e += attr("zimbraMailTransport", "smtp:[172.20.14.250]:25")
                else:
                    e += attr("zimbraMailTransport", "lmtp:mail.corp.example:7025")
                if i % 10 == 0:
                    e += attr("zimbraPrefMailSignature",
                              f"{first} {last} | {name} | relay 172.20.14.2, archive 172.20.14.250, "
                              f"softphone build 10.172.20.14.25, desk 00:50:56:14:20:25")
                if i % 50 == 0:
                    e += attr("description", f"migrated from 172.20.14.251 on {ts[:8]}")
                f.write(e + operational(rng, "inetOrgPerson", ts) + "\n")
    planted["ldif"] = n_ldif


CONF_KINDS = [
    # (planted line, form)
    (f"bind_address = {OLD}", "exact"),
    (f"upstream = {OLD}:8080", "host-port"),
    (f"api_url = https://{OLD}/api/v2", "url-host"),
    (f"relay = [{OLD}]:587", "bracketed"),
]


def write_bench_files(root, rng, n_files, planted):
    n = 0
    base = os.path.join(root, "etc", "bench")
    for i in range(n_files):
        d = os.path.join(base, f"svc{i // 100:02d}", f"app{i % 10}")
        os.makedirs(d, exist_ok=True)
        lines = [
            f"# bench service {i}: generated by gen-bench-host.py",
            f"# neighbours: backup 172.20.14.250, relay 172.20.14.2 (these never move)",
            "[server]",
            f"name = svc{i}.corp.example",
            "listen = 0.0.0.0:8443",
            f"workers = {rng.randrange(1, 64)}",
            f"version = 10.172.20.14.{rng.randrange(20, 30)}",
            f"build = 10.172.20.14.25-{i}",
            f"mac = 00:50:56:14:20:{rng.randrange(256):02x}",
            f"created = 2024-03-{rng.randrange(1, 29):02d}T17:20:14.25Z",
            "[peers]",
        ]
        for k in range(rng.randrange(15, 40)):
            near = rng.choice(NEAR)
            lines.append(f"peer{k} = {near}:{rng.randrange(1024, 65535)}")
        lines += [
            "allow = 172.20.14.128/25 10.40.0.0/16",
            f"backup = rsync://172.20.14.250/svc{i}",
            "[logging]",
            f"file = /var/log/bench/svc{i}.log",
            "level = info",
        ]
        if i % 10 == 0:
            planted_line, _ = CONF_KINDS[(i // 10) % len(CONF_KINDS)]
            lines.insert(rng.randrange(3, len(lines)), planted_line)
            n += 1
        with open(os.path.join(d, f"svc{i}.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")
    planted["include"] = n


def write_surfaces(root, rng, planted):
    etc = os.path.join(root, "etc")
    os.makedirs(os.path.join(etc, "netplan"), exist_ok=True)
    hosts = ["127.0.0.1\tlocalhost", f"{OLD}\tmail.corp.example\tmail"]
    for k in range(200):
        addr = OLD
        while addr == OLD:
            addr = f"172.20.{rng.randrange(10, 20)}.{rng.randrange(1, 255)}"
        hosts.append(f"{addr}\thost{k}.corp.example")
    hosts += ["172.20.14.250\tbackup.corp.example", "172.20.14.2\trelay.corp.example"]
    with open(os.path.join(etc, "hosts"), "w") as f:
        f.write("\n".join(hosts) + "\n")
    with open(os.path.join(etc, "resolv.conf"), "w") as f:
        f.write(f"nameserver {OLD}\nnameserver 172.20.14.53\nsearch corp.example\n")
    with open(os.path.join(etc, "netplan", "50-cloud-init.yaml"), "w") as f:
        f.write("network:\n  version: 2\n  ethernets:\n    ens160:\n      addresses:\n"
                f"      - {OLD}/24\n      routes:\n      - to: default\n        via: 172.20.14.1\n"
                "      nameservers:\n        addresses: [172.20.14.53, 172.20.14.54]\n")
    conf = os.path.join(root, "opt", "zimbra", "conf")
    os.makedirs(conf, exist_ok=True)
    keys = {
        "ldap_url": "ldap://mail.corp.example:389",
        "ldap_master_url": "ldap://mail.corp.example:389",
        "ldap_bind_url": f"ldap://{OLD}:389",
        "zimbra_server_hostname": "mail.corp.example",
        "zimbra_ldap_password": f"bench-{rng.getrandbits(48):x}",
        "ldap_nginx_password": "bench@172.20.14.25!secret",
        "mysql_bind_address": "127.0.0.1",
    }
    with open(os.path.join(conf, "localconfig.xml"), "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n\n<localconfig>\n')
        for k in sorted(keys):
            f.write(f'  <key name="{k}">\n    <value>{keys[k]}</value>\n  </key>\n')
        f.write("</localconfig>\n")
    planted["surfaces"] = 4  # hosts, resolv.conf, netplan, ldap_bind_url


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    rng = random.Random(20261128)
    root = os.path.join(args.out, "root")
    planted = {}
    write_surfaces(root, rng, planted)
    write_bench_files(root, rng, max(10, int(3000 * args.scale)), planted)
    write_ldif(os.path.join(args.out, "zimbra.ldif"), rng, max(10, int(10000 * args.scale)), 9, planted)
    planted["total"] = sum(planted.values())
    with open(os.path.join(args.out, "planted.json"), "w") as f:
        json.dump(planted, f, indent=1)


if __name__ == "__main__":
    main()
