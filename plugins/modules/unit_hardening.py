#!/usr/bin/python
# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: unit_hardening
short_description: Measured systemd sandboxing that is rolled back when it breaks a service
version_added: 0.1.0
description:
  - Writes a sandboxing drop-in for a service (C(/etc/systemd/system/UNIT.d/DROPIN_NAME.conf)) from a built-in
    profile plus overrides, and measures the result with C(systemd-analyze security) (0.0 safe .. 10.0 exposed).
  - "Flow: measure the exposure, write the drop-in atomically, daemon-reload, restart the service, wait until it is
    active, run the health check, measure the exposure again."
  - If the service does not come back, the health check fails, or the exposure stays above O(max_exposure), the
    previous drop-in is put back, systemd reloaded, the service restarted and checked to be active again, and the task
    fails with the reason and the service's last journal lines. The result says RV(rolled_back).
  - Check mode predicts the exposure with C(systemd-analyze security --offline) on a private copy of the unit and its
    drop-ins plus the new one, without touching the host.
  - Every setting is checked up front against its type and the host's systemd version; O(ip_allow) and O(ip_deny)
    are validated and normalised with netaddr on the controller (action plugin) and again on the host.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
attributes:
  check_mode:
    support: full
    details: Check mode predicts the exposure offline and reports the drop-in that would be written; nothing changes.
  diff_mode:
    support: full
    details: Shows the drop-in's text before and after.
  idempotent:
    support: full
    details: When the drop-in already holds the settings, nothing is written and the service is not restarted.
options:
  unit:
    description: The service, with its type (V(nginx.service), V(getty@tty1.service)).
    type: str
    required: true
  profile:
    description:
      - V(baseline) - for any service - NoNewPrivileges, PrivateTmp, ProtectSystem=full, the kernel and cgroup
        protections, ProtectClock, ProtectHostname, RestrictRealtime, RestrictSUIDSGID, RestrictNamespaces,
        LockPersonality, SystemCallArchitectures=native.
      - V(strict) - baseline plus ProtectSystem=strict, ProtectHome, PrivateDevices, DevicePolicy=closed,
        MemoryDenyWriteExecute, ProtectProc=invisible, ProcSubset=pid, RestrictAddressFamilies=AF_UNIX AF_INET
        AF_INET6, SystemCallFilter=@system-service, a CapabilityBoundingSet without the administrative capabilities and
        UMask=0077. For network services that need no devices, JIT or privileged system calls.
      - V(none) - only what O(properties), O(ip_allow) and O(ip_deny) say.
    type: str
    choices: [baseline, strict, none]
    default: baseline
  properties:
    description:
      - Settings to add or override (booleans, choices, lists as a list or space-separated string).
      - "Known settings: NoNewPrivileges, PrivateTmp, PrivateDevices, PrivateNetwork, PrivateUsers, PrivateMounts,
        PrivateIPC (248), ProtectSystem, ProtectHome, ProtectKernelTunables, ProtectKernelModules, ProtectKernelLogs
        (244), ProtectControlGroups, ProtectClock (245), ProtectHostname (242), ProtectProc, ProcSubset (247),
        RestrictNamespaces, RestrictRealtime, RestrictSUIDSGID, RestrictAddressFamilies, LockPersonality,
        MemoryDenyWriteExecute, RemoveIPC, SystemCallArchitectures, SystemCallFilter, SystemCallErrorNumber,
        CapabilityBoundingSet, AmbientCapabilities, DevicePolicy, KeyringMode, UMask, DynamicUser, ReadWritePaths,
        ReadOnlyPaths, InaccessiblePaths, MemoryKSM (256). A setting newer than the host's systemd is refused."
    type: dict
    default: {}
  exclude:
    description: Settings of the profile to leave out (each must be in the profile).
    type: list
    elements: str
    default: []
  ip_allow:
    description:
      - Addresses and networks the service may talk to (IPAddressAllow), for example V(10.0.0.0/8), V(192.168.1.5),
        V(::1), or V(any), V(localhost), V(link-local), V(multicast). Normalised to CIDR form.
    type: list
    elements: str
    default: []
  ip_deny:
    description: Addresses and networks the service may not talk to (IPAddressDeny), as for O(ip_allow).
    type: list
    elements: str
    default: []
  max_exposure:
    description: The highest overall exposure (0.0..10.0) accepted after hardening; above it the change is rolled back.
    type: float
  health:
    description: How to tell the service still works after the restart.
    type: dict
    suboptions:
      port:
        description: A TCP port that must accept a connection.
        type: int
      host:
        description: The address to connect to.
        type: str
        default: 127.0.0.1
      command:
        description: A command (argv list) that must exit 0; it runs without a shell.
        type: list
        elements: str
      timeout:
        description: Seconds to wait for the service to become active and the checks to pass.
        type: float
        default: 10
  restart:
    description:
      - Restart the service so the sandbox applies now (only when it is running). With V(false) the drop-in applies at
        the next start and no health check runs.
    type: bool
    default: true
  dropin_name:
    description: The drop-in's file name without C(.conf).
    type: str
    default: 60-memwise-hardening
  state:
    description: V(present) writes the drop-in; V(absent) removes it (with the same restart, checks and rollback).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Needs systemd as PID 1 and C(systemd-analyze). Only services are assessed by C(systemd-analyze security).
seealso:
  - name: systemd.exec sandboxing
    description: The sandboxing settings of systemd services.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html#Sandboxing
  - module: memwise.linux.unit_resources
"""

EXAMPLES = r"""
---
- name: Harden the web server and keep it answering on port 80
  memwise.linux.unit_hardening:
    unit: nginx.service
    profile: strict
    exclude: [MemoryDenyWriteExecute]
    properties:
      ReadWritePaths: /var/log/nginx /var/cache/nginx
    ip_deny: [any]
    ip_allow: [10.0.0.0/8, localhost]
    max_exposure: 5.0
    health:
      port: 80
      timeout: 15

- name: Predict the exposure without touching the host
  memwise.linux.unit_hardening:
    unit: cron.service
    profile: baseline
  check_mode: true
  register: predicted
"""

RETURN = r"""
exposure:
  description:
    - Overall exposure C(before) and C(after) (0.0..10.0). In check mode C(after) is the offline prediction and
      C(predicted) is true. After a rollback C(after) is the exposure measured once the old state was back.
  returned: always
  type: dict
  sample: {before: 9.6, after: 4.2, predicted: false}
checks:
  description: The assessment checks whose exposure changed, with C(before) and C(after) exposure.
  returned: always
  type: list
  elements: dict
  sample: [{name: "PrivateTmp=", before: 0.2, after: null, description: "Service has no access to other ... files"}]
rolled_back:
  description: Whether the change was undone (the task then fails with the reason).
  returned: always
  type: bool
  sample: false
reason:
  description: Why the change was rolled back; null otherwise.
  returned: always
  type: str
  sample: "health check failed: nothing answers on 127.0.0.1:8081 after 10s"
restarted:
  description: Whether the service was restarted.
  returned: always
  type: bool
  sample: true
main_pid:
  description: The service's MainPID before and after.
  returned: always
  type: dict
  sample: {before: 412, after: 977}
settings:
  description: The settings the drop-in holds (name to text).
  returned: always
  type: dict
  sample: {NoNewPrivileges: "yes", ProtectSystem: full}
dropin:
  description: The drop-in's path.
  returned: always
  type: str
  sample: /etc/systemd/system/nginx.service.d/60-memwise-hardening.conf
dropin_text:
  description: The drop-in's text after the call; null when it does not exist.
  returned: always
  type: str
  sample: "# Managed by memwise.linux.unit_hardening ...\n[Service]\nNoNewPrivileges=yes\n"
systemd_version:
  description: The host's systemd major version.
  returned: always
  type: int
  sample: 257
journal:
  description: The service's last journal lines, when it was rolled back.
  returned: always
  type: list
  elements: str
  sample: []
"""

import os
import shutil
import socket
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import _command, _files, _hardening, _systemd, _unitctl
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

UNIT_DIR = "/etc/systemd/system"


def measure(run, unit, root=None):
    """(overall exposure, checks) from systemd-analyze security, online or --offline under ``root``."""
    argv = ["systemd-analyze", "security"]
    if root:
        argv += ["--offline=yes", "--root=" + root]
    overall = _hardening.parse_overall(run(argv + [unit])[1])
    return overall, _hardening.parse_checks(run(argv + ["--json=short", unit])[1])


def predict(run, unit, show, ours, text):
    """Offline assessment of the unit with its drop-ins and ``text`` as our drop-in (None: without it)."""
    root = tempfile.mkdtemp(prefix="memwise-hardening.")
    try:
        base = os.path.join(root, UNIT_DIR.lstrip("/"))
        dropins = os.path.join(base, unit + ".d")
        os.makedirs(dropins)
        fragment = show.get("FragmentPath")
        if fragment:
            shutil.copyfile(fragment, os.path.join(base, os.path.basename(fragment)))
        for path in (show.get("DropInPaths") or "").split():
            if path != ours and os.path.exists(path):
                shutil.copyfile(path, os.path.join(dropins, os.path.basename(path)))
        if text is not None:
            with open(os.path.join(dropins, os.path.basename(ours)), "w", encoding="utf-8") as handle:
                handle.write(text)
        return measure(run, unit, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def health_check(health, run, deadline):
    """None when the service answers, else why not; retried until ``deadline`` (time.monotonic())."""
    problem = None
    while True:
        problem = _probe(health, run)
        if problem is None or time.monotonic() >= deadline:
            return problem
        time.sleep(0.25)


def _probe(health, run):
    if health.get("port"):
        address = (health["host"], health["port"])
        try:
            with socket.create_connection(address, timeout=1):
                pass
        except OSError as exc:
            return "nothing answers on %s:%d (%s)" % (address[0], address[1], exc.strerror or exc)
    if health.get("command"):
        rc, out, err = run(health["command"], check=False)
        if rc != 0:
            return _command.failure(health["command"], rc, out, err)
    return None


class Hardening:
    """One call: the plan, the apply and the rollback."""

    def __init__(self, module, run):
        self.module, self.run, self.params = module, run, module.params
        self.ctl = _unitctl.Systemctl(run)
        self.unit = self.params["unit"]
        self.ours = "%s/%s.d/%s.conf" % (UNIT_DIR, self.unit, self.params["dropin_name"])

    def plan(self):
        params = self.params
        if _systemd.unit_section(self.unit) != "Service":
            raise MemwiseError("unit: %s is not a service; systemd-analyze security assesses services" % self.unit)
        limit = params["max_exposure"]
        if limit is not None and not 0.0 <= limit <= 10.0:
            raise MemwiseError("max_exposure: %s is out of range; the exposure scale is 0.0..10.0" % limit)
        self.version = _systemd.parse_version(self.ctl.manager().get("Version"))
        settings = {}
        if params["state"] == "present":
            ips = {"IPAddressAllow": params["ip_allow"], "IPAddressDeny": params["ip_deny"]}
            settings = _hardening.desired(params["profile"], params["properties"], params["exclude"], ips, self.version)
        self.show = self.ctl.show(self.unit, [])
        _unitctl.require_loaded(self.unit, self.show)
        self.file_before = _files.read_optional(self.ours)
        self.file_after = _hardening.render_dropin(settings) if settings else None
        return settings

    def result(self, settings, before, checks_before):
        pid = int(self.show.get("MainPID") or 0) or None
        result = {
            "changed": self.file_after != self.file_before,
            "exposure": {"before": before, "after": before, "predicted": False},
            "checks": [],
            "rolled_back": False,
            "reason": None,
            "restarted": False,
            "main_pid": {"before": pid, "after": pid},
            "settings": settings,
            "dropin": self.ours,
            "dropin_text": self.file_after,
            "systemd_version": self.version,
            "journal": [],
        }
        if self.module._diff:
            result["diff"] = {
                "before_header": self.ours,
                "after_header": self.ours,
                "before": self.file_before or "",
                "after": self.file_after or "",
            }
        self.checks_before = checks_before
        return result

    def check_mode(self, result):
        if not result["changed"]:
            return
        extra = _hardening.offline_overrides(result["settings"], self.version)
        text = self.file_after + extra if self.file_after else None
        _old, offline_before = predict(self.run, self.unit, self.show, self.ours, self.file_before)
        after, checks_after = predict(self.run, self.unit, self.show, self.ours, text)
        result["exposure"].update(after=after, predicted=True)
        result["checks"] = _hardening.check_changes(offline_before, checks_after)

    def apply(self, result):
        """Write, reload, restart, check; on a failed check restore the old drop-in and fail."""
        was_active = self.show.get("ActiveState") == "active"
        restart = self.params["restart"] and was_active
        self._write(self.file_after)
        reason = self._settle(restart, result)
        if reason is None:
            after, checks = measure(self.run, self.unit)
            result["exposure"]["after"] = after
            result["checks"] = _hardening.check_changes(self.checks_before, checks)
            limit = self.params["max_exposure"]
            if limit is not None and after > limit and self.params["state"] == "present":
                reason = "exposure %.1f is above max_exposure %.1f" % (after, limit)
        if reason is None:
            return
        result.update(rolled_back=True, reason=reason, journal=_unitctl.journal(self.run, self.unit))
        result["dropin_text"] = self.file_before
        self._write(self.file_before)
        back = self._settle(restart, result)
        result["exposure"]["after"] = measure(self.run, self.unit)[0]
        raise MemwiseError(
            "%s: %s; rolled back: %s, systemd reloaded%s%s. Last journal lines: %s"
            % (
                self.unit,
                reason,
                ("%s restored" % self.ours) if self.file_before is not None else "drop-in removed",
                ", service restarted and active again" if restart and back is None else "",
                "; BUT after the rollback: " + back if back else "",
                " | ".join(result["journal"][-8:]) or "none",
            )
        )

    def _write(self, text):
        if text is None:
            _files.remove(self.ours)
        else:
            os.makedirs(os.path.dirname(self.ours), mode=0o755, exist_ok=True)
            _files.atomic_write(self.ours, text)
        self.ctl.daemon_reload()

    def _settle(self, restart, result):
        """Restart when asked, wait for active, run the health check; None when all is well, else why not."""
        if not restart:
            return None
        health = self.params["health"] or {}
        deadline = time.monotonic() + (health.get("timeout") or 10)
        try:
            _unitctl.restart(self.run, self.unit)
        except MemwiseError as exc:
            return "the service did not restart: %s" % exc
        result["restarted"] = True
        state = _unitctl.wait_active(
            self.run, self.unit, max(deadline - time.monotonic(), 1), time.monotonic, time.sleep
        )
        pid = self.ctl.show(self.unit, []).get("MainPID")
        result["main_pid"]["after"] = int(pid) if pid and pid != "0" else None
        if state != "active":
            return "the service is %s after the restart, not active" % (state or "unknown")
        problem = health_check(health, self.run, deadline) if health else None
        return "health check failed: %s" % problem if problem else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            unit=dict(type="str", required=True),
            profile=dict(type="str", default="baseline", choices=sorted(_hardening.PROFILES)),
            properties=dict(type="dict", default={}),
            exclude=dict(type="list", elements="str", default=[]),
            ip_allow=dict(type="list", elements="str", default=[]),
            ip_deny=dict(type="list", elements="str", default=[]),
            max_exposure=dict(type="float"),
            health=dict(
                type="dict",
                options=dict(
                    port=dict(type="int"),
                    host=dict(type="str", default="127.0.0.1"),
                    command=dict(type="list", elements="str"),
                    timeout=dict(type="float", default=10),
                ),
            ),
            restart=dict(type="bool", default=True),
            dropin_name=dict(type="str", default="60-memwise-hardening"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    run = _command.Runner(module)
    result = {}
    try:
        if "/" in module.params["dropin_name"] or not module.params["dropin_name"]:
            raise MemwiseError("dropin_name: %r must be a plain file name" % module.params["dropin_name"])
        job = Hardening(module, run)
        settings = job.plan()
        result = job.result(settings, *measure(run, job.unit))
        if module.check_mode:
            job.check_mode(result)
        elif result["changed"]:
            job.apply(result)
        elif module.params["max_exposure"] is not None and result["exposure"]["after"] > module.params["max_exposure"]:
            raise MemwiseError(
                "%s: exposure %.1f is above max_exposure %.1f with the drop-in already in place; nothing changed. "
                "Add settings or raise the limit"
                % (job.unit, result["exposure"]["after"], module.params["max_exposure"])
            )
    except MemwiseError as exc:
        module.fail_json(msg=str(exc), commands=run.calls, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
