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
  - "Flow: measure the exposure; with O(max_exposure), predict the exposure the new drop-in gives with
    C(systemd-analyze security --offline) on a private copy of the unit and its drop-ins, and stop there when the
    prediction is above the limit (nothing is written or restarted, and the message names the largest remaining
    exposures); write the drop-in atomically, daemon-reload, restart the service, wait until it is active, run the
    health check, wait out O(settle) and check the main process survived it, measure the exposure again."
  - If the service does not come back, the health check fails, the main process does not survive O(settle), or the
    measured exposure stays above O(max_exposure), every step is undone, newest first - the previous drop-in is put
    back, systemd reloaded, the service restarted and checked to be active (and healthy) again - and the task fails
    saying what failed (with the service's last journal lines), what was undone and what could not be. The result
    says RV(rolled_back).
  - Check mode predicts the exposure the same way, without touching the host, and fails where the real run's gate
    would.
  - A file at the drop-in's path that the module did not write is refused unless O(force).
  - Every setting is checked up front against its type and the host's systemd version; O(ip_allow) and O(ip_deny)
    are validated and normalised with netaddr on the controller (action plugin) and again on the host.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
  - memwise.linux._host_lock
attributes:
  check_mode:
    support: full
    details: Check mode predicts the exposure offline and reports the drop-in that would be written; nothing changes.
  diff_mode:
    support: full
    details: A list, as every memwise.linux module's - the exposure before and after, then the drop-in's text.
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
    description:
      - The highest overall exposure (0.0..10.0) accepted after hardening, with O(state=present).
      - Checked twice. Before any change, against the offline prediction - above it the task fails and nothing is
        written or restarted, on every run, until settings are added or the limit is raised. After the restart,
        against the measured exposure - above it the change is undone.
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
  settle:
    description:
      - Seconds the restarted service must stay up after it became active (the health check runs within them).
        After them it must still be active, with the same MainPID and no automatic restart (C(NRestarts)
        unchanged); otherwise the change is undone. This catches a service the sandbox lets start and then kills
        (a C(Type=simple) service that fails a second later passes C(systemctl is-active)).
      - Applies with and without O(health). V(0) only checks right after the health check.
    type: float
    default: 3
  live:
    description:
      - Restart the service so the sandbox applies now (only when it is running), then run the checks. With
        V(false) the drop-in applies at the next start, and no health or settle check runs.
      - Renamed from C(restart) in 0.2.0.
    type: bool
    default: true
  dropin_name:
    description: The drop-in's file name without C(.conf).
    type: str
    default: 60-memwise-hardening
  force:
    description:
      - Take over a file at the drop-in's path that this module did not write (it lacks the
        C(# Managed by memwise.linux.unit_hardening) header). Without it such a file is refused and nothing changes.
    type: bool
    default: false
  state:
    description:
      - V(present) writes the drop-in; V(absent) removes it (with the same restart, checks and rollback;
        O(max_exposure) does not apply, since a removal raises the exposure).
    type: str
    choices: [present, absent]
    default: present
notes:
  - To harden many services with one limit, continuing past the ones that break and failing at the end, use the
    role P(memwise.linux.hardened_units#role) (and the playbook C(memwise.linux.harden_units), which runs it in
    serial batches).
  - Needs systemd as PID 1 and C(systemd-analyze). Only services are assessed by C(systemd-analyze security).
seealso:
  - name: systemd.exec sandboxing
    description: The sandboxing settings of systemd services.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html#Sandboxing
  - module: memwise.linux.unit_resources
    description: Live resource control (MemoryHigh, CPUWeight...) of the same units, without restarts.
  - module: memwise.linux.memory_facts
    description: Reads the host's memory state, systemd included.
  - ref: ansible_collections.memwise.linux.docsite.unit_hardening
    description: The guide to hardening services without breaking them.
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

- name: Give a worker 5 seconds to prove the sandbox does not kill it
  memwise.linux.unit_hardening:
    unit: queue-worker.service
    profile: baseline
    settle: 5

- name: Predict the exposure without touching the host
  memwise.linux.unit_hardening:
    unit: cron.service
    profile: baseline
  check_mode: true
  register: predicted
"""

RETURN = r"""
---
exposure:
  description:
    - Overall exposure C(before) and C(after) (0.0..10.0). C(after) is the offline prediction, and C(predicted) is
      true, in check mode and when the gate of O(max_exposure) stopped the call. After a rollback C(after) is the
      exposure measured once the old state was back.
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
  sample: "health check failed: nothing answers on 127.0.0.1:8081 (Connection refused)"
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
  description:
    - Per sandboxing setting the drop-in sets before or after the call, its C(file) layer (the drop-in's text of
      the value, null when it does not set it) with C(before) and C(after). The running service follows the file at
      the restart; RV(exposure) and RV(checks) measure the result.
    - Was a plain name-to-text dict in 0.1.0.
  returned: always
  type: dict
  sample: {NoNewPrivileges: {file: {before: null, after: "yes"}}, ProtectSystem: {file: {before: null, after: full}}}
changed_settings:
  description: The settings whose drop-in value changes (or would, in check mode), in RV(settings) order.
  returned: always
  type: list
  elements: str
  sample: [NoNewPrivileges, ProtectSystem]
actions:
  description:
    - What the call did (or would do, in check mode), in order. After a failure, the undo steps that ran follow
      the steps that were undone.
  returned: always
  type: list
  elements: str
  sample:
    - write /etc/systemd/system/nginx.service.d/60-memwise-hardening.conf
    - systemctl daemon-reload
    - systemctl restart nginx.service
path:
  description: The drop-in's path. Renamed from C(dropin) in 0.2.0.
  returned: always
  type: str
  sample: /etc/systemd/system/nginx.service.d/60-memwise-hardening.conf
file_text:
  description: The drop-in's text after the call; null when it does not exist. Renamed from C(dropin_text) in 0.2.0.
  returned: always
  type: str
  sample: "# Managed by memwise.linux.unit_hardening ...\n[Service]\nNoNewPrivileges=yes\n"
systemd_version:
  description: The host's systemd major version.
  returned: always
  type: int
  sample: 257
journal:
  description: The service's last journal lines, when a check failed after the restart.
  returned: always
  type: list
  elements: str
  sample: []
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import (
    _command,
    _dropin,
    _files,
    _hardening,
    _lock,
    _module,
    _systemd,
    _transaction,
    _unitctl,
)
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError, invalid

MODULE = "unit_hardening"


class Hardening:
    """One call: the plan, the gate, the apply and its undo."""

    def __init__(self, module, run, clock=time.monotonic, sleep=time.sleep):
        self.module, self.run, self.params = module, run, module.params
        self.clock, self.sleep = clock, sleep
        self.ctl = _unitctl.Systemctl(run)
        self.unit = self.params["unit"]
        self.actions = []
        self.problem = None
        self.journal_lines = []

    def plan(self):
        """Validate everything, read the unit and the drop-in; the settings the drop-in is to hold."""
        params = self.params
        if _systemd.unit_section(self.unit) != "Service":
            raise MemwiseError("unit: %s is not a service; systemd-analyze security assesses services" % self.unit)
        _dropin.check_name(params["dropin_name"])
        limit = params["max_exposure"]
        if limit is not None and not 0.0 <= limit <= 10.0:
            raise MemwiseError("max_exposure: %s is out of range; the exposure scale is 0.0..10.0" % limit)
        if params["settle"] < 0:
            raise MemwiseError("settle: %s is negative; give the seconds the service must stay up" % params["settle"])
        if not params["settle"] <= 3600:
            raise MemwiseError("settle: %s is more than an hour (3600 seconds) or not a number" % params["settle"])
        problems = _unitctl.health_problems(params["health"])
        if problems:
            raise invalid(problems, "options")
        self.version = _systemd.parse_version(self.ctl.manager().get("Version"))
        settings = {}
        if params["state"] == "present":
            ips = {"IPAddressAllow": params["ip_allow"], "IPAddressDeny": params["ip_deny"]}
            settings = _hardening.desired(params["profile"], params["properties"], params["exclude"], ips, self.version)
        self.show = self.ctl.show(self.unit, [])
        _unitctl.require_loaded(self.unit, self.show)
        self.ours = _dropin.path(self.unit, params["dropin_name"])
        self.file_before = _dropin.read(self.ours, MODULE, params["force"])
        self.file_after = _hardening.render_dropin(settings) if settings else None
        self.restart = params["live"] and self.show.get("ActiveState") == "active"
        return settings

    def result(self, before, checks_before):
        pid = int(self.show.get("MainPID") or 0) or None
        old, new = _hardening.parse_dropin(self.file_before), _hardening.parse_dropin(self.file_after)
        settings = {
            name: {"file": _module.layer(old.get(name), new.get(name))}
            for name in _hardening.SETTINGS
            if name in old or name in new
        }
        changed = self.file_after != self.file_before
        self.checks_before = checks_before
        return {
            "changed": changed,
            "exposure": {"before": before, "after": before, "predicted": False},
            "checks": [],
            "rolled_back": False,
            "reason": None,
            "restarted": False,
            "main_pid": {"before": pid, "after": pid},
            "settings": settings,
            "changed_settings": _module.changed_settings(settings),
            "actions": self.planned_actions() if changed else [],
            "path": self.ours,
            "file_text": self.file_after,
            "systemd_version": self.version,
            "journal": [],
        }

    def planned_actions(self):
        actions = [("remove %s" if self.file_after is None else "write %s") % self.ours, "systemctl daemon-reload"]
        return actions + (["systemctl restart %s" % self.unit] if self.restart else [])

    def gate(self, result):
        """Predict the exposure offline; above max_exposure, fail before anything is written or restarted."""
        limit = self.params["max_exposure"]
        enforce = limit is not None and self.params["state"] == "present"
        if not result["changed"]:
            if enforce and result["exposure"]["before"] > limit:
                raise self.above(
                    result["exposure"]["before"], self.checks_before, "with the drop-in already in place", result
                )
            return
        if not (self.module.check_mode or enforce):
            return
        extra = _hardening.offline_overrides(_hardening.parse_dropin(self.file_after), self.version)
        text = self.file_after + extra if self.file_after else None
        after, checks_after = _unitctl.predict(self.run, self.unit, self.show, self.ours, text)
        if self.module.check_mode:
            _old, offline_before = _unitctl.predict(self.run, self.unit, self.show, self.ours, self.file_before)
            result["checks"] = _hardening.check_changes(offline_before, checks_after)
        result["exposure"].update(after=after, predicted=True)
        if enforce and after > limit:
            result.update(changed=False, actions=[])
            raise self.above(after, checks_after, "predicted with systemd-analyze security --offline", result)

    def above(self, exposure, checks, how, result=None):
        limit = self.params["max_exposure"]
        largest = _hardening.largest_exposures(checks)
        return MemwiseError(
            "%s: exposure %.1f (%s) is above max_exposure %.1f; nothing changed (no drop-in written, no restart). "
            "Add settings for the largest remaining exposures (%s) in properties or a stricter profile, "
            "or raise max_exposure to %.1f" % (self.unit, exposure, how, limit, ", ".join(largest) or "none", exposure),
            details=result,
        )

    def apply(self, result):
        """Write, reload, restart, settle, check; any failure undoes every step and fails saying so."""
        journal = _transaction.Journal()
        try:
            with journal:
                _dropin.write_step(
                    journal, self.ours, self.file_before, self.file_after, actions=self.actions, undone=self.reload
                )
                self.reload()
                if self.restart:
                    # Recorded before the restart: a restart that fails halfway changed the service too.
                    journal.did("%s restarted under its previous sandbox and active" % self.unit, self.restart_back)
                    self.fail_if(self.restart_and_settle(result))
                after, checks = _unitctl.measure(self.run, self.unit)
                result["exposure"].update(after=after, predicted=False)
                result["checks"] = _hardening.check_changes(self.checks_before, checks)
                limit = self.params["max_exposure"]
                if limit is not None and after > limit and self.params["state"] == "present":
                    self.fail_if("exposure %.1f is above max_exposure %.1f" % (after, limit))
        except MemwiseError as exc:
            self.rolled_back(result, exc)
            raise
        result["actions"] = self.actions

    def fail_if(self, problem):
        """Raise for ``problem`` (None: all is well), with the service's last journal lines."""
        if problem:
            self.problem = problem
            self.journal_lines = _unitctl.journal(self.run, self.unit)
            raise MemwiseError(
                "%s: %s (last journal lines: %s)" % (self.unit, problem, " | ".join(self.journal_lines[-8:]) or "none")
            )

    def rolled_back(self, result, exc):
        """The result of a call whose changes were undone, returned with the failure."""
        try:
            result["exposure"].update(after=_unitctl.measure(self.run, self.unit)[0], predicted=False)
        except MemwiseError:
            pass
        if self.restart:
            try:
                pid = self.ctl.facts(self.unit, ["MainPID"]).get("MainPID")
            except MemwiseError:
                pid = None
            result["main_pid"]["after"] = int(pid) if pid and pid != "0" else None
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        result.update(
            changed="could not undo" in str(exc),
            rolled_back=True,
            reason=self.problem or _transaction.describe(cause),
            journal=self.journal_lines,
            actions=self.actions,
            file_text=_files.read_optional(self.ours),
        )
        exc.details.update(result)

    def reload(self):
        self.ctl.daemon_reload()
        self.actions.append("systemctl daemon-reload")

    def write(self, text):
        """The drop-in holds ``text`` (None: removed) and systemd has read it (reloaded when it changed)."""
        if _dropin.write(self.ours, text):
            self.actions.append(("remove %s" if text is None else "write %s") % self.ours)
            self.reload()

    def restart_and_settle(self, result):
        """Restart, wait for active, run the health check, wait out ``settle``; None when all is well, else why not."""
        health = self.params["health"] or {}
        deadline = self.clock() + (health.get("timeout") or 10)
        self.actions.append("systemctl restart %s" % self.unit)
        result["restarted"] = True
        try:
            _unitctl.restart(self.run, self.unit)
        except MemwiseError as exc:
            return "the service did not restart: %s" % exc
        state = _unitctl.wait_active(self.run, self.unit, max(deadline - self.clock(), 1), self.clock, self.sleep)
        first = self.ctl.facts(self.unit)
        active_at = self.clock()
        result["main_pid"]["after"] = int(first.get("MainPID") or 0) or None
        if state != "active":
            return "the service is %s after the restart, not active" % (state or "unknown")
        problem = _unitctl.health_check(health, self.run, deadline, self.clock, self.sleep) if health else None
        if problem:
            return "health check failed: %s" % problem
        rest = self.params["settle"] - (self.clock() - active_at)
        if rest > 0:
            self.sleep(rest)
        return _unitctl.survived(first, self.ctl.facts(self.unit), self.params["settle"])

    def restart_back(self):
        """Undo of the restart: the previous drop-in, a restart, active again (and healthy, with ``health``)."""
        self.write(self.file_before)
        self.actions.append("systemctl restart %s" % self.unit)
        _unitctl.restart(self.run, self.unit)
        health = self.params["health"] or {}
        timeout = health.get("timeout") or 10
        deadline = self.clock() + timeout
        state = _unitctl.wait_active(self.run, self.unit, timeout, self.clock, self.sleep)
        if state != "active":
            raise MemwiseError("%s is %s after the restart, not active" % (self.unit, state or "unknown"))
        problem = _unitctl.health_check(health, self.run, deadline, self.clock, self.sleep) if health else None
        if problem:
            raise MemwiseError("health check failed: %s" % problem)


def run(module, runner, clock=time.monotonic, sleep=time.sleep):
    job = Hardening(module, runner, clock, sleep)
    job.plan()
    result = job.result(*_unitctl.measure(runner, job.unit))
    job.gate(result)
    if result["changed"] and not module.check_mode:
        job.apply(result)
    if module._diff:
        moved = [("exposure", result["exposure"]["before"], result["exposure"]["after"])]
        files = [(job.ours, job.file_before, job.file_after)] if result["changed"] else []
        result["diff"] = _module.diff("live systemd-analyze security %s" % job.unit, moved, files)
    return result


def main():
    module = _module.new_module(
        AnsibleModule,
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
            settle=dict(type="float", default=3),
            live=dict(type="bool", default=True),
            dropin_name=dict(type="str", default="60-memwise-hardening"),
            force=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            lock_timeout=dict(_lock.OPTION),
        ),
        supports_check_mode=True,
    )
    _module.run_module(module, lambda m: run(m, _command.Runner(m)))


if __name__ == "__main__":
    main()
