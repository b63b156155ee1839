#!/usr/bin/python
# -*- coding: utf-8 -*-
#
# An Ansible module that moves a Zimbra server to a new IP address with
# zmreip: `zmreip plan` says whether anything is left to do (check mode
# stops there), `zmreip apply` does it. Idempotent by construction: a host
# already moved plans nothing, and the module reports `changed: false`.
#
# Licensed like zmreip: MIT OR Apache-2.0.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: zmreip
short_description: Move a Zimbra server to a new IP address with zmreip
description:
  - Runs C(zmreip plan) for the addresses given; when the plan has changes or
    service actions left, runs C(zmreip apply) on exactly that plan (the saved
    plan file, checksum and all, so what is applied is what was planned).
  - A host already on the new address plans nothing, so a second run reports
    C(changed=false) and applies nothing.
  - In check mode only the plan is made (nothing is written); C(changed) then
    says whether an apply would change the host.
  - With C(--diff) the plan's diff (every line, value and service action) is
    shown.
  - zmreip must be installed on the managed host (the .deb or .rpm of its
    README); see C(executable).
version_added: "0.1.0"
author:
  - zmreip developers
options:
  from:
    description:
      - The old addresses, each with its prefix when known (C(172.20.14.25/24)).
        Several for a dual-stack host; each moves to the address of C(to) at
        the same position.
    type: list
    elements: str
    required: true
  to:
    description:
      - The new addresses, in the order of C(from).
    type: list
    elements: str
    required: true
  gateway:
    description:
      - The new default router, once per address family, when the old one is
        outside the new network (C(plan --gateway)).
    type: list
    elements: str
    default: []
  root:
    description:
      - Where the host's files are (C(--root)); C(/) for the host itself, or a
        copied snapshot.
    type: path
    default: /
  zimbra_home:
    description:
      - Zimbra's directory (C(--zimbra-home)); zmreip's default when not given.
    type: path
  ldif:
    description:
      - Read and change a zmslapcat LDIF export instead of the live directory
        (C(--ldif)). The live directory is then not changed; the result's
        C(lines) say how to apply the run's C(changes.ldif) to it.
    type: path
  no_directory:
    description:
      - Leave the directory out (C(--no-directory)).
    type: bool
    default: false
  zone_file:
    description:
      - BIND zone files to edit as well, C(PATH) or C(ZONE=PATH)
        (C(--zone-file)).
    type: list
    elements: str
    default: []
  dns_config:
    description:
      - The RFC 2136 configuration for DNS served elsewhere (C(--dns-config)).
    type: path
  restart:
    description:
      - Which service actions run after the writes. C(plan) runs the plan's
        actions (the default), C(all) restarts every Zimbra service, C(none)
        runs none (C(--no-restart)); the result's C(lines) list them to run
        by hand, and the next run of the module still reports the host
        pending until files Zimbra regenerates no longer hold the old address.
    type: str
    choices: [plan, all, none]
    default: plan
  restart_network:
    description:
      - Also restart the network, which moves the OS address and can cut the
        connection Ansible uses (C(--restart-network)). Without it, move the
        address from a console or a later task.
    type: bool
    default: false
  services:
    description:
      - A TOML file mapping service actions to other commands (C(--services)).
    type: path
  verify:
    description:
      - Check the server on its new address after the apply, and roll back when
        a check fails (C(--no-verify) when false).
    type: bool
    default: true
  rollback_on_failure:
    description:
      - Undo what was done when a step fails (C(--no-rollback) when false).
    type: bool
    default: true
  executable:
    description:
      - The zmreip program on the managed host.
    type: path
    default: zmreip
notes:
  - Supports check mode (the plan only) and diff mode (the plan's diff).
  - The run's journal stays on the host; C(zmreip rollback RUN) undoes it.
"""

EXAMPLES = r"""
- name: Move mail.corp.example to its new addresses
  zmreip:
    from: [172.20.14.25/24, "2001:db8:14::25/64"]
    to: [10.40.7.131/24, "2001:db8:7::131/64"]
    gateway: [10.40.7.1]
  register: moved

- name: Show what is left to do off the host (DNS elsewhere, partners)
  ansible.builtin.debug:
    var: moved.plan.handoffs
"""

RETURN = r"""
changed:
  description: Whether the host changed (in check mode, whether it would).
  type: bool
  returned: always
pending:
  description: Whether the plan had changes or service actions left.
  type: bool
  returned: always
plan:
  description: The plan, the zmreip.plan/v1 document (C(changes), C(actions),
    C(warnings), C(handoffs), C(checksum), ...).
  type: dict
  returned: always
run:
  description: The id of the run apply recorded (for C(zmreip rollback RUN));
    null when nothing was applied.
  type: str
  returned: always
state:
  description: The run's state (C(applied), C(rolled-back), ...); null when
    nothing was applied.
  type: str
  returned: always
lines:
  description: What zmreip said, line by line (what was done, commands left to
    run by hand, hand-offs).
  type: list
  elements: str
  returned: always
outcome:
  description: The zmreip.outcome/v1 document of the apply.
  type: dict
  returned: when apply ran
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

# Exit status of `zmreip plan --detailed-exitcode`: nothing to do, and
# changes pending (README: "Exit status").
PLAN_DONE = 0
PLAN_PENDING = 4


def host_args(p):
    """The options plan and apply both take: where the host is. (What
    only shapes the plan, such as zone files and --restart all, is in
    the saved plan that apply reads.)"""
    args = ["--root", p["root"]]
    if p["zimbra_home"]:
        args += ["--zimbra-home", p["zimbra_home"]]
    if p["ldif"]:
        args += ["--ldif", p["ldif"]]
    if p["no_directory"]:
        args.append("--no-directory")
    if p["dns_config"]:
        args += ["--dns-config", p["dns_config"]]
    return args


def plan_args(p, out):
    args = ["plan"] + host_args(p)
    for z in p["zone_file"]:
        args += ["--zone-file", z]
    for old, new in zip(p["from"], p["to"]):
        args += ["--from", old, "--to", new]
    for g in p["gateway"]:
        args += ["--gateway", g]
    if p["restart"] == "all":
        args += ["--restart", "all"]
    # The text plan is the diff shown; the JSON plan is saved for apply.
    return args + [
        "--out", out, "--format", "text", "--color", "never",
        "--detailed-exitcode", "--quiet",
    ]


def apply_args(p, plan_file):
    args = ["apply", "--plan", plan_file, "--yes", "--format", "json", "--quiet"]
    args += host_args(p)
    if p["restart"] == "none":
        args.append("--no-restart")
    if p["restart_network"]:
        args.append("--restart-network")
    if p["services"]:
        args += ["--services", p["services"]]
    if not p["verify"]:
        args.append("--no-verify")
    if not p["rollback_on_failure"]:
        args.append("--no-rollback")
    return args


def main():
    module = AnsibleModule(
        argument_spec={
            "from": {"type": "list", "elements": "str", "required": True},
            "to": {"type": "list", "elements": "str", "required": True},
            "gateway": {"type": "list", "elements": "str", "default": []},
            "root": {"type": "path", "default": "/"},
            "zimbra_home": {"type": "path"},
            "ldif": {"type": "path"},
            "no_directory": {"type": "bool", "default": False},
            "zone_file": {"type": "list", "elements": "str", "default": []},
            "dns_config": {"type": "path"},
            "restart": {
                "type": "str",
                "choices": ["plan", "all", "none"],
                "default": "plan",
            },
            "restart_network": {"type": "bool", "default": False},
            "services": {"type": "path"},
            "verify": {"type": "bool", "default": True},
            "rollback_on_failure": {"type": "bool", "default": True},
            "executable": {"type": "path", "default": "zmreip"},
        },
        mutually_exclusive=[["ldif", "no_directory"]],
        supports_check_mode=True,
    )
    p = module.params
    if len(p["from"]) != len(p["to"]):
        module.fail_json(
            msg="from has %d address(es) but to has %d: each old address "
            "needs the new address at the same position" % (len(p["from"]), len(p["to"]))
        )
    exe = module.get_bin_path(p["executable"], required=True) \
        if os.sep not in p["executable"] else p["executable"]
    # A plan file only this module reads, removed with the module's
    # temporary directory.
    plan_file = os.path.join(module.tmpdir, "plan.json")
    # No colour and no terminal tricks whatever the managed host's
    # environment says.
    env = {"NO_COLOR": "1", "CLICOLOR_FORCE": "0", "LC_ALL": "C.UTF-8"}

    rc, out, err = module.run_command([exe] + plan_args(p, plan_file), environ_update=env)
    if rc not in (PLAN_DONE, PLAN_PENDING):
        module.fail_json(msg="zmreip plan failed: " + err.strip(), rc=rc, stderr=err)
    with open(plan_file) as f:
        plan = json.load(f)
    pending = rc == PLAN_PENDING
    result = {
        "changed": pending,
        "pending": pending,
        "plan": plan,
        "run": None,
        "state": None,
        "lines": [],
    }
    if pending and module._diff:
        # The plan as zmreip prints it: the diff of every line and
        # value, the service actions, warnings and hand-offs.
        result["diff"] = {"prepared": out}
    if not pending or module.check_mode:
        module.exit_json(**result)

    rc, out, err = module.run_command([exe] + apply_args(p, plan_file), environ_update=env)
    try:
        outcome = json.loads(out)
    except ValueError:
        module.fail_json(
            msg="zmreip apply failed: " + err.strip(), rc=rc, stderr=err, **result
        )
    result.update(
        changed=bool(outcome.get("changed")),
        run=outcome.get("run"),
        state=outcome.get("state"),
        lines=outcome.get("lines", []),
        outcome=outcome,
    )
    if rc != 0:
        error = outcome.get("error") or {}
        msg = error.get("message") or err.strip()
        if error.get("help"):
            msg += "\nhelp: " + error["help"]
        module.fail_json(msg="zmreip apply failed: " + msg, rc=rc, stderr=err, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
