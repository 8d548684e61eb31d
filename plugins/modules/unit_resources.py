#!/usr/bin/python
# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: unit_resources
short_description: Typed, version-aware systemd resource control, live without restarts and persistent
version_added: 0.1.0
description:
  - Sets systemd resource-control properties (MemoryHigh, MemoryLow, MemoryMax, MemorySwapMax, MemoryZSwapMax,
    CPUWeight, IOWeight, TasksMax, ManagedOOM*, ...) of a service, slice, scope, socket, mount or swap unit.
  - Every property and value is checked up front against a typed table and the host's systemd version - an unknown
    property, a bad value, or a property this systemd lacks fails naming it (and the version) with nothing changed.
  - Persists the values in one drop-in the module owns (C(/etc/systemd/system/UNIT.d/DROPIN_NAME.conf)), written
    atomically; runs C(systemctl daemon-reload) only when a file changed.
  - Applies the values live with C(systemctl set-property --runtime), which changes the cgroup without restarting
    the unit, and reads them back with C(systemctl show) and the unit's cgroup v2 files. If systemd did not apply
    what was asked (or any step fails), every change is undone, newest first (the files, a daemon-reload, the
    previous live values), and the task fails saying what failed, what was undone and what could not be.
  - A file at the drop-in's path that the module did not write is refused unless O(force).
  - The unit's main process is never restarted; the result reports C(main_pid) before and after.
  - A percentage of RAM stays a percentage in the drop-in (the unit follows the host's RAM); live, the module sends
    the absolute value systemd computes from it (whole pages of C(MemTotal)), so both agree to the byte.
  - A drop-in that systemd reads after this one (a later file name) and that sets a managed property to another
    value would undo it at the next daemon-reload; the module refuses such a property and names the file.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
  - memwise.linux._host_lock
attributes:
  check_mode:
    support: full
    details: Check mode validates, reads the live values, predicts exactly what a real run changes, writes nothing.
  diff_mode:
    support: full
    details: A list, as every memwise.linux module's - each live property that moves, then the drop-in's text.
  idempotent:
    support: full
    details: Values already in place (drop-in, C(systemctl show) and cgroup) are not written again.
options:
  unit:
    description:
      - The unit, with its type - V(nginx.service), V(batch.slice), V(getty@tty1.service), V(session-3.scope).
      - It must be loaded. A slice that does not exist yet is created only with O(create_slice=true).
    type: str
    required: true
  properties:
    description:
      - With O(state=present), a dict of property names and values. Sizes take bytes, V(K)/V(M)/V(G)/V(T)
        suffixes (powers of 1024), a percentage of RAM (V(50%), not for the swap limits) or V(infinity); weights
        1..10000; V(CPUQuota) and V(ManagedOOMMemoryPressureLimit) a percentage; booleans; durations such as V(30s);
        V(TasksMax) a count, a percentage of the system's task limit or V(infinity).
      - "Properties and the systemd version each needs - MemoryMin (240), MemoryLow, MemoryHigh, MemoryMax (231),
        MemorySwapMax (232), MemoryZSwapMax (253), MemoryZSwapWriteback (256), DefaultMemoryMin, DefaultMemoryLow
        (240), StartupMemoryLow, StartupMemoryHigh, StartupMemoryMax, StartupMemorySwapMax, StartupMemoryZSwapMax
        (253), MemoryAccounting, CPUWeight, StartupCPUWeight (234), CPUQuota (213), CPUQuotaPeriodSec (242),
        CPUAccounting, IOWeight, StartupIOWeight, IOAccounting (230), TasksMax, TasksAccounting (227),
        ManagedOOMSwap, ManagedOOMMemoryPressure (auto or kill), ManagedOOMMemoryPressureLimit (247),
        ManagedOOMMemoryPressureDurationSec (257), ManagedOOMPreference (none, avoid or omit; 248),
        MemoryPressureWatch (auto, off, on or skip; 254), MemoryPressureThresholdSec (254)."
      - With O(state=absent), the properties to remove (a list of names, or a dict whose values are ignored);
        omitted, every property in the drop-in.
    type: raw
  live:
    description:
      - Apply the values to the running unit with C(systemctl set-property --runtime) (no restart), for every
        property whose C(systemctl show) or cgroup value is not the asked one yet.
      - With V(false) the drop-in is written and systemd reloaded; C(systemctl show) then reports the new values, but
        whether systemd re-applies them to the cgroup on reload depends on its version (252 does, 257 does not).
      - Renamed from C(runtime) in 0.2.0.
    type: bool
    default: true
  persist:
    description: Keep the values in the drop-in so they survive a reboot and a daemon-reload.
    type: bool
    default: true
  dropin_name:
    description:
      - The drop-in's file name without C(.conf). systemd applies drop-ins in file-name order, so the name decides
        which file wins when two set the same property.
    type: str
    default: 50-memwise-resources
  force:
    description:
      - Take over a file at the drop-in's path that this module did not write (it lacks the
        C(# Managed by memwise.linux.unit_resources) header). Without it such a file is refused and nothing changes.
    type: bool
    default: false
  create_slice:
    description:
      - When O(unit) is a slice with no unit file and no running members, create
        C(/etc/systemd/system/UNIT) and start it. Without it such a slice is refused, because a typo would
        otherwise create an empty slice silently.
      - O(state=absent) never removes a slice file; a slice holds other units.
    type: bool
    default: false
  state:
    description:
      - V(present) sets the properties; V(absent) removes them from the drop-in (the file when it is empty) and
        brings the live values back to what the unit's other configuration says, computed from its unit file and
        its other drop-ins.
    type: str
    choices: [present, absent]
    default: present
notes:
  - To sandbox the same services, measured and rolled back when they break, see M(memwise.linux.unit_hardening) and,
    for many services at once, the role P(memwise.linux.hardened_units#role).
  - Needs systemd as PID 1 and cgroup v2 for the read-back of cgroup files (on cgroup v1 only C(systemctl show) is
    compared).
  - Only settings from the table are accepted, so a typo never lands in a unit file.
seealso:
  - name: systemd.resource-control
    description: The resource-control settings of systemd units.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.resource-control.html
  - module: memwise.linux.unit_hardening
    description: Sandboxing drop-ins for services, measured and rolled back when they break the service.
  - module: memwise.linux.memory_facts
    description: Reads the memory state the limits act on (pressure, cgroups, swap).
  - ref: ansible_collections.memwise.linux.docsite.unit_resources
    description: The guide to live resource control.
"""

EXAMPLES = r"""
---
- name: Let the kernel reclaim from the batch worker before it hurts the database
  memwise.linux.unit_resources:
    unit: batch-worker.service
    properties:
      MemoryHigh: 40%
      MemoryMax: 60%
      MemorySwapMax: 1G
      CPUWeight: 50
      ManagedOOMMemoryPressure: kill
      ManagedOOMMemoryPressureLimit: 60%

- name: Protect the database's working set
  memwise.linux.unit_resources:
    unit: postgresql@15-main.service
    properties:
      MemoryLow: 2G
      IOWeight: 500

- name: A slice for batch jobs, created if missing
  memwise.linux.unit_resources:
    unit: batch.slice
    create_slice: true
    properties:
      MemoryHigh: 4G
      TasksMax: 512

- name: Back to what the unit's own configuration says
  memwise.linux.unit_resources:
    unit: batch-worker.service
    state: absent
"""

RETURN = r"""
---
unit:
  description: The unit as systemd names it.
  returned: always
  type: str
  sample: ssh.service
systemd_version:
  description: The major version of the host's systemd.
  returned: always
  type: int
  sample: 252
settings:
  description:
    - Per property, C(live) (as C(systemctl show) reports it - bytes or V(infinity) for sizes, microseconds for
      durations and CPUQuota per second, permyriad for ManagedOOMMemoryPressureLimit, null when not set), C(file)
      (the drop-in text, null when absent) and C(cgroup) (the value in the cgroup file, null when the unit has no
      cgroup or the property no file), each with C(before) and C(after).
    - Renamed from C(properties) in 0.2.0.
  returned: always
  type: dict
  sample:
    MemoryHigh:
      live: {before: infinity, after: 536870912}
      file: {before: null, after: 512M}
      cgroup: {before: infinity, after: 536870912}
changed_settings:
  description:
    - Properties whose live, file or cgroup value changed (or would, in check mode), in RV(settings) order.
    - Renamed from C(changed_properties) in 0.2.0.
  returned: always
  type: list
  elements: str
  sample: [MemoryHigh]
actions:
  description:
    - What the call did (or would do, in check mode), in order. After a failure, the undo steps that ran follow
      the steps that were undone.
    - Replaces the undocumented C(commands) of 0.1.0.
  returned: always
  type: list
  elements: str
  sample:
    - write /etc/systemd/system/ssh.service.d/50-memwise-resources.conf
    - systemctl daemon-reload
    - systemctl set-property --runtime ssh.service MemoryHigh=536870912
path:
  description: The path of the drop-in this call owns. Renamed from C(dropin) in 0.2.0.
  returned: always
  type: str
  sample: /etc/systemd/system/ssh.service.d/50-memwise-resources.conf
file_text:
  description: The drop-in's text after the call; null when it does not exist. Renamed from C(dropin_text) in 0.2.0.
  returned: always
  type: str
  sample: "# Managed by memwise.linux.unit_resources ...\n[Service]\nMemoryHigh=512M\n"
main_pid:
  description: The unit's MainPID before and after; equal, since the module never restarts the unit.
  returned: always
  type: dict
  sample: {before: 412, after: 412}
restarted:
  description: Whether the main process changed during the call (it should not).
  returned: always
  type: bool
  sample: false
daemon_reload:
  description: Whether C(systemctl daemon-reload) ran (or would run, in check mode) because a file changed.
  returned: always
  type: bool
  sample: true
slice_created:
  description: Whether a slice unit file was created (or would be, in check mode).
  returned: always
  type: bool
  sample: false
cgroup:
  description: The unit's cgroup v2 directory, or null with the reason in RV(cgroup_unavailable).
  returned: always
  type: str
  sample: /sys/fs/cgroup/system.slice/ssh.service
cgroup_unavailable:
  description: Why the cgroup files were not compared (unit inactive, cgroup v1); null when they were.
  returned: always
  type: str
  sample: null
usage:
  description: The unit's current usage as C(systemctl show) reports it, where this systemd has the readout.
  returned: always
  type: dict
  sample: {MemoryCurrent: 5242880, MemoryPeak: 9437184, TasksCurrent: 1}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import (
    _command,
    _dropin,
    _files,
    _lock,
    _module,
    _procfs,
    _systemd,
    _transaction,
    _unitctl,
)
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

MODULE = "unit_resources"
# Where /proc is read for MemTotal and the task limits (the unit tests point it at a capture).
HOST_ROOT = "/"


def host_bases():
    """MemTotal, the page size and systemd's system_tasks_max(): what percentages are taken of."""
    meminfo = _procfs.parse_meminfo(_procfs.read_text("/proc/meminfo", HOST_ROOT)[0] or "")
    limits = []
    for path, less in (("/proc/sys/kernel/threads-max", 0), ("/proc/sys/kernel/pid_max", 1)):
        text = _procfs.read_text(path, HOST_ROOT)[0]
        if text and text.strip().isdigit():
            limits.append(int(text) - less)
    return {
        "mem_total": meminfo.get("MemTotal", 0),
        "page": os.sysconf("SC_PAGE_SIZE"),
        "tasks_max": min(limits + [4194303]),
    }


def check_unit(unit, show, create_slice):
    """MemwiseError for a unit that is not there; True when a missing slice is to be created."""
    _unitctl.require_loaded(unit, show)
    absent_slice = unit.endswith(".slice") and not show.get("FragmentPath") and show.get("ActiveState") != "active"
    if absent_slice and not create_slice:
        raise MemwiseError(
            "unit: the slice %s does not exist (no unit file, nothing running in it); "
            "set create_slice: true to create it" % unit
        )
    return absent_slice


def live_text(name, canonical):
    """What ``set-property --runtime`` takes to bring ``name`` back to ``canonical``."""
    kind = _systemd.PROPERTIES[name].kind
    if canonical is None:
        return ""
    if kind == "duration":
        return _systemd.format_usec(canonical)
    if kind == "limit":
        return "%g%%" % (canonical / 100.0)
    if kind == "quota":
        return "%g%%" % (canonical / 10000.0)
    return str(canonical)


def other_sources(show, section, ours, dropped):
    """``[(section, text)]`` of the unit file and every drop-in except ``ours`` and ``dropped``, in order."""
    sources = []
    if show.get("FragmentPath"):
        sources.append((section, _files.read_optional(show["FragmentPath"]) or ""))
    for path in _dropin.others(show, ours):
        if path not in dropped:
            sources.append((section, _files.read_optional(path) or ""))
    return sources


class Plan:
    """What one call changes: per-property values, the drop-in text, the live assignments."""

    def __init__(self, params, section, show, file_before, ours):
        self.params = params
        self.section = section
        self.show = show
        self.ours = ours
        self.file_before = file_before
        self.file_after = file_before
        self.expected = {}  # name -> canonical value systemd must report afterwards
        self.assign = {}  # name -> set-property text
        self.dropped = []  # runtime control files this call removes (state=absent)
        self.cgroup = None  # the unit's cgroup directory, when it has one

    def present(self, wanted, host):
        params, current = self.params, _systemd.parse_dropin(self.file_before, self.section)
        if params["persist"]:
            texts = [(p, _files.read_optional(p) or "") for p in _dropin.later(self.show, self.ours)]
            found = _systemd.shadows(texts, self.ours, wanted, self.section, host)
            if found:
                raise MemwiseError(
                    "a drop-in read after %s sets the same properties, so this value would not hold after a "
                    "daemon-reload; nothing changed: %s. Remove the setting there or pick a dropin_name that sorts "
                    "later" % (self.ours, "; ".join("%(property)s=%(value)s in %(file)s" % f for f in found))
                )
            merged = dict(current)
            merged.update({name: value[1] for name, value in wanted.items()})
            self.file_after = _systemd.render_dropin(self.section, merged)
        for name, (canonical, _text, live) in wanted.items():
            self.expected[name] = canonical
            self.assign[name] = live
        return [] if params["persist"] else self._stale(current, wanted)

    def _stale(self, current, wanted):
        return [
            "%s: the drop-in still sets %s=%s, which comes back at the next daemon-reload (persist is false)"
            % (self.params["unit"], name, current[name])
            for name in wanted
            if current.get(name) is not None and current[name] != wanted[name][1]
        ]

    def absent(self, names, manager, host):
        current = _systemd.parse_dropin(self.file_before, self.section)
        remaining = {k: v for k, v in current.items() if k not in names}
        self.file_after = _systemd.render_dropin(self.section, remaining) if remaining else None
        if self.params["live"]:
            self.dropped = _unitctl.control_files(self.params["unit"], names)
        sources = other_sources(self.show, self.section, self.ours, self.dropped)
        if remaining:
            sources.append((self.section, self.file_after))
        for name in names:
            value = _systemd.configured_value(name, sources, manager, host)
            self.expected[name] = value
            self.assign[name] = live_text(name, value)


def read_state(ctl, unit, names):
    show = ctl.show(unit, names)
    path, reason = _unitctl.cgroup_dir(show)
    return show, path, reason, _unitctl.read_cgroup(path, names, show)


def compare(names, plan, show, cgroup, page):
    """Properties whose ``systemctl show`` or cgroup value differs from the plan's."""
    wrong = []
    for name in names:
        want = plan.expected[name]
        live = _systemd.from_show(name, show.get(_systemd.show_name(name)))
        held = _systemd.cgroup_expected(name, want, page)
        if live != want or (name in cgroup and held is not None and cgroup[name] != held):
            wrong.append(name)
    return wrong


def wanted_names(module, file_before, section, version, host):
    """``(names, wanted)``: the properties this call manages and, for state=present, their validated values."""
    params = module.params
    props = params["properties"]
    if params["state"] == "absent":
        names = list(props) if props else list(_systemd.parse_dropin(file_before, section))
        errors = _systemd.check_names(names, version)
        if errors:
            raise MemwiseError("invalid properties, nothing changed: " + "; ".join(errors))
        return names, None
    if not isinstance(props, dict) or not props:
        raise MemwiseError(
            "properties: give a dict of property names and values, e.g. {MemoryHigh: 1G}, not %s %r; nothing changed"
            % (type(props).__name__, props)
        )
    wanted = _systemd.validate(props, version, host)
    fixed = [n for n in wanted if not _systemd.PROPERTIES[n].live]
    if fixed and not params["persist"]:
        raise MemwiseError(
            "%s: systemd does not change %s on a running unit (set-property --runtime refuses it); it applies "
            "from unit files when the unit starts. Set persist: true; nothing changed"
            % (", ".join(fixed), "these" if len(fixed) > 1 else "it")
        )
    return list(wanted), wanted


def run(module, ctl):
    params = module.params
    unit = params["unit"]
    section = _systemd.unit_section(unit)
    _dropin.check_name(params["dropin_name"])
    if not params["live"] and not params["persist"]:
        raise MemwiseError("live and persist are both false: there is nothing to do")
    manager = ctl.manager()
    version = _systemd.parse_version(manager.get("Version"))
    host = host_bases()
    ours = _dropin.path(unit, params["dropin_name"])
    file_before = _dropin.read(ours, MODULE, params["force"])
    names, wanted = wanted_names(module, file_before, section, version, host)
    show, cg_path, cg_reason, cg_before = read_state(ctl, unit, names)
    create = check_unit(unit, show, params["create_slice"] and params["state"] == "present")
    plan = Plan(params, section, show, file_before, ours)
    plan.cgroup = cg_path
    if wanted is not None:
        for warning in plan.present(wanted, host) + _systemd.contradictions(_effective(wanted, show)):
            module.warn(warning)
    else:
        plan.absent(names, manager, host)
    result = report(plan, names, show, cg_before, host["page"])
    result.update(
        unit=show.get("Id") or unit,
        systemd_version=version,
        path=ours,
        file_text=plan.file_after,
        slice_created=bool(create),
        cgroup=cg_path,
        cgroup_unavailable=cg_reason,
        daemon_reload=plan.file_after != file_before or bool(create) or bool(plan.dropped),
        usage={k: _systemd.from_show_readout(show.get(k)) for k in _systemd.READOUTS if k in show},
    )
    result["changed"] = bool(result["changed_settings"]) or result["daemon_reload"]
    pid = show.get("MainPID")
    result["main_pid"] = {"before": int(pid) if pid else None, "after": int(pid) if pid else None}
    result["restarted"] = False
    moved = moving(plan, names, show, cg_before, host["page"]) if params["live"] else []
    result["actions"] = planned_actions(plan, create, moved, result) if result["changed"] else []
    if module._diff:
        files = [(ours, file_before, plan.file_after)] if plan.file_after != file_before else []
        result["diff"] = _module.diff("live systemctl show %s" % unit, _live_moves(result["settings"]), files)
    if module.check_mode or not result["changed"]:
        return result
    apply(ctl, plan, names=names, create=create, moved=moved, page=host["page"], result=result)
    return result


def _live_moves(settings):
    return [(n, s["live"]["before"], s["live"]["after"]) for n, s in settings.items()]


def _effective(wanted, show):
    values = {n: _systemd.from_show(n, show.get(n)) for n in _systemd.MEMORY_LIMITS}
    values.update({n: v[0] for n, v in wanted.items()})
    return values


def moving(plan, names, show, cg_before, page):
    """The live-settable properties whose ``systemctl show`` or cgroup value is not yet the planned one."""
    return [
        n
        for n in compare(names, plan, show, cg_before, page)
        if _systemd.PROPERTIES[n].live and plan.assign.get(n) is not None
    ]


def planned_actions(plan, create, moved, result):
    """The actions a real run takes, in order (what check mode reports)."""
    unit, actions = plan.params["unit"], []
    if create:
        actions.append("write %s/%s" % (_dropin.UNIT_DIR, unit))
    if plan.file_after != plan.file_before:
        actions.append(("remove %s" if plan.file_after is None else "write %s") % plan.ours)
    actions += ["remove %s" % path for path in plan.dropped]
    if result["daemon_reload"]:
        actions.append("systemctl daemon-reload")
    if create:
        actions.append("systemctl start %s" % unit)
    if moved:
        actions.append(_set_property_text(unit, [(n, plan.assign[n]) for n in moved]))
    return actions


def _set_property_text(unit, assignments):
    return " ".join(["systemctl", "set-property", "--runtime", unit] + ["%s=%s" % a for a in assignments])


def report(plan, names, show, cg_before, page):
    """Per-property before/after (live, file, cgroup) and the properties that change."""
    file_before = _systemd.parse_dropin(plan.file_before, plan.section)
    file_after = _systemd.parse_dropin(plan.file_after, plan.section)
    settings = {}
    live = plan.params["live"]
    for name in names:
        live_before = _systemd.from_show(name, show.get(_systemd.show_name(name)))
        reaches = plan.file_after != plan.file_before or (live and _systemd.PROPERTIES[name].live)
        live_after = plan.expected[name] if reaches else live_before
        cg_after = cg_before.get(name)
        if live and plan.cgroup and _systemd.PROPERTIES[name].cgroup:
            cg_after = _systemd.cgroup_expected(name, plan.expected[name], page)
        settings[name] = {
            "live": _module.layer(live_before, live_after),
            "file": _module.layer(file_before.get(name), file_after.get(name)),
            "cgroup": _module.layer(cg_before.get(name), cg_after),
        }
    return {"settings": settings, "changed_settings": _module.changed_settings(settings)}


class Apply:
    """The real run: files, reload, live values, read-back; every change journaled and undone on failure."""

    def __init__(self, ctl, plan, result):
        self.ctl, self.plan, self.result = ctl, plan, result
        self.unit = plan.params["unit"]
        self.journal = _transaction.Journal()
        self.armed = False
        self.actions = result["actions"] = []

    def arm(self):
        """Before the first change: record what brings systemd back once the files are restored.

        The journal undoes newest first, so these steps, recorded first, run last: the files are
        restored, then systemd reloads them, then each live value is set back (one property at a time,
        so one refusal does not keep the others from returning).
        """
        if self.armed:
            return
        self.armed = True
        if self.plan.params["live"]:
            for name, values in self.result["settings"].items():
                if _systemd.PROPERTIES[name].live:
                    text = live_text(name, values["live"]["before"])
                    self.journal.did("%s = %s" % (name, text or "(unset)"), lambda n=name, t=text: self.set([(n, t)]))
        if self.result["daemon_reload"]:
            self.journal.did("systemd reloaded", self.reload)

    def reload(self):
        self.ctl.daemon_reload()
        self.actions.append("systemctl daemon-reload")

    def set(self, assignments):
        self.actions.append(_set_property_text(self.unit, assignments))  # tried is done: it may apply in part
        self.ctl.set_property(self.unit, assignments)

    def file(self, path, before, after):
        """Write (or remove) one file and journal its undo; the first change arms the journal."""
        _dropin.write_step(self.journal, path, before, after, actions=self.actions, done=self.arm)


def apply(ctl, plan, *, names, create, moved, page, result):
    """Write files, reload, set live values, read back; on any failure undo every change and fail."""
    unit, params = plan.params["unit"], plan.params
    job = Apply(ctl, plan, result)
    try:
        with job.journal:
            if create:
                job.file("%s/%s" % (_dropin.UNIT_DIR, unit), None, _SLICE_TEXT % unit)
            job.file(plan.ours, plan.file_before, plan.file_after)
            for control in plan.dropped:
                job.file(control, _files.read_optional(control), None)
            if result["daemon_reload"]:
                job.reload()
            if create:
                ctl.start(unit)
                job.actions.append("systemctl start %s" % unit)
            if moved:
                job.arm()
                job.set([(n, plan.assign[n]) for n in moved])
            if params["live"] and params["state"] == "absent":
                # the values are live again; runtime copies set-property left must not outlive them
                leftovers = _unitctl.control_files(unit, names)
                for control in leftovers:
                    _files.remove(control)
                    job.actions.append("remove %s" % control)
                if leftovers:
                    job.reload()
            show, path, reason, cgroup = read_state(ctl, unit, names)
            # Without live, systemd's view must match; whether it re-applied the cgroup depends on its version.
            wrong = compare(names, plan, show, cgroup if params["live"] else {}, page)
            if wrong:
                raise MemwiseError(
                    "%s: systemd did not apply %s"
                    % (
                        unit,
                        "; ".join(
                            "%s: asked %s, systemctl show reports %s, cgroup holds %s"
                            % (n, plan.expected[n], show.get(_systemd.show_name(n)), cgroup.get(n, "n/a"))
                            for n in wrong
                        ),
                    )
                )
    except MemwiseError as exc:
        exc.details.update(
            changed="could not undo" in str(exc),
            actions=job.actions,
            path=plan.ours,
            file_text=_files.read_optional(plan.ours),
        )
        raise
    result["cgroup"], result["cgroup_unavailable"] = path, reason
    pid = show.get("MainPID")
    result["main_pid"]["after"] = int(pid) if pid else None
    result["restarted"] = result["main_pid"]["after"] != result["main_pid"]["before"]
    for name in names:
        result["settings"][name]["live"]["after"] = _systemd.from_show(name, show.get(_systemd.show_name(name)))
        result["settings"][name]["cgroup"]["after"] = cgroup.get(name)


_SLICE_TEXT = "# Created by memwise.linux.unit_resources (create_slice).\n[Unit]\nDescription=%s (memwise.linux)\n"


def main():
    module = _module.new_module(
        AnsibleModule,
        argument_spec=dict(
            unit=dict(type="str", required=True),
            properties=dict(type="raw"),
            live=dict(type="bool", default=True),
            persist=dict(type="bool", default=True),
            dropin_name=dict(type="str", default="50-memwise-resources"),
            force=dict(type="bool", default=False),
            create_slice=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            lock_timeout=dict(_lock.OPTION),
        ),
        supports_check_mode=True,
    )
    _module.run_module(module, lambda m: run(m, _unitctl.Systemctl(_command.Runner(m))))


if __name__ == "__main__":
    main()
