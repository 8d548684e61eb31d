#!/usr/bin/python
# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: oomd
short_description: systemd-oomd installed, configured, ordered after swap and running with the values asked
version_added: 0.1.0
description:
  - Installs Debian's C(systemd-oomd) package when it is missing (O(install)). The package C(oomd) is Meta's oomd,
    another program; this module never installs it.
  - Checks the prerequisites first and reports every one the host lacks at once, naming what to do, with nothing
    changed - a unified cgroup v2 hierarchy on C(/sys/fs/cgroup), the memory controller, PSI
    (C(/proc/pressure/memory)), systemd 248 or later as PID 1, and swap (O(require_swap)).
  - Writes the C([OOM]) settings (O(settings)) to an C(oomd.conf.d) drop-in it owns,
    C(/etc/systemd/oomd.conf.d/DROPIN_NAME.conf), and orders C(systemd-oomd.service) after C(swap.target) with a
    unit drop-in of the same name - systemd-oomd reads the swap devices when it starts, and one started before
    swap (zram, a swap file) logs "no swap" and ignores swap until it is restarted.
  - Enables and starts systemd-oomd, or restarts it exactly once when its configuration changed, it was just
    installed or it runs with other values than its files say; runs C(systemctl daemon-reload) only when the unit
    drop-in changed. Then reads the values back with C(oomctl dump).
  - Every step is recorded; if anything fails, the read-back included, the files are restored, systemd reloaded,
    the service brought back to its previous configuration and a package this call installed removed again
    (C(apt-get remove)); the task fails saying what was undone.
  - A file at either drop-in path that the module did not write (it lacks C(# Managed by memwise.linux.oomd)) is
    refused unless O(force); so is an oomd.conf drop-in read after the module's that sets one of O(settings).
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
  - memwise.linux._host_lock
attributes:
  check_mode:
    support: full
    details:
      - Predicts the install from C(dpkg-query) and C(apt-cache policy) alone (C(ansible.builtin.apt) needs
        python3-apt), and the restart from the files and C(oomctl dump); installs, writes and restarts nothing.
  diff_mode:
    support: full
    details: A list, as every memwise.linux module's - the live values that move, then each drop-in's text.
  idempotent:
    support: full
    details: Nothing is installed, written or restarted when the package, files and live values already agree.
options:
  settings:
    description:
      - The C([OOM]) settings of oomd.conf(5) - V(SwapUsedLimit) and V(DefaultMemoryPressureLimit) as a
        percentage from V(0%) to V(100%) with up to two decimals (V(90%), V(55.5%)), and
        V(DefaultMemoryPressureDurationSec) as a systemd time span (V(30s), V(1min 30s)) of at least 1s, or V(0)
        for systemd-oomd's default. Other keys are refused, naming the valid ones.
      - Keys already in the drop-in and not given here are kept. Required with O(state=present); ignored with
        O(state=absent).
    type: dict
  install:
    description:
      - Install C(systemd-oomd) with C(apt-get install --no-install-recommends) when C(dpkg-query) says it is not
        installed (after C(apt-get update) when apt has no candidate for it). Without it a missing package fails
        the task with the other missing prerequisites.
      - The package's own scripts start the service with its defaults; the module then restarts it once with the
        drop-ins in place.
    type: bool
    default: true
  require_swap:
    description:
      - Refuse to run without a swap device in C(/proc/swaps). Swap-based kills (C(SwapUsedLimit),
        C(ManagedOOMSwap=kill)) do nothing without swap; set V(false) for pressure-based kills only.
    type: bool
    default: true
  live:
    description:
      - Make the running systemd-oomd use the configuration now - start it, or restart it once when something
        changed. Without it the files change and the service keeps its values until its next start.
    type: bool
    default: true
  persist:
    description:
      - Write the drop-ins under C(/etc) and C(systemctl enable) the service. With V(false) the drop-ins go to
        C(/run/systemd) (gone at the next boot) and the enablement is not touched.
    type: bool
    default: true
  dropin_name:
    description:
      - The file name, without C(.conf), of both drop-ins - C(/etc/systemd/oomd.conf.d/DROPIN_NAME.conf) and
        C(/etc/systemd/system/systemd-oomd.service.d/DROPIN_NAME.conf). Drop-ins are read in name order and a
        later one wins.
    type: str
    default: 60-memwise
  force:
    description: Take over a file at either drop-in path that the module did not write.
    type: bool
    default: false
  backup:
    description:
      - Copy the oomd.conf drop-in next to itself (C(PATH.PID.DATE@TIME~)) before it is rewritten or removed - for
        a file taken over with O(force). The copy is returned in RV(backup_file).
    type: bool
    default: false
  state:
    description:
      - V(present) installs, configures and runs systemd-oomd.
      - V(absent) removes the module's two drop-ins, reloads systemd and, with O(live), restarts systemd-oomd if it
        runs, so the remaining configuration applies (systemd-oomd's defaults and Debian's
        C(10-oomd-defaults.conf) - 90%, 60%, 20s on Debian 12 and 13).
      - The package stays installed and enabled - other configuration uses it (Debian's C(user@.service) and
        C(-.slice) ManagedOOM drop-ins, ManagedOOM* on slices), and the module cannot tell who installed it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Debian 12 ships systemd 252 and Debian 13 systemd 257; both package systemd-oomd separately.
  - systemd-oomd only acts on cgroups that ask for it (C(ManagedOOMSwap=kill), C(ManagedOOMMemoryPressure=kill));
    set those with M(memwise.linux.unit_resources). Its defaults cover only C(user@.service) on Debian.
seealso:
  - module: memwise.linux.unit_resources
    description: ManagedOOMSwap, ManagedOOMMemoryPressure and ManagedOOMPreference on the units oomd watches.
  - module: memwise.linux.swap
    description: The swap that swap-based kills need.
  - module: memwise.linux.zram
    description: Compressed swap in RAM.
  - ref: ansible_collections.memwise.linux.docsite.oomd
    description: How the module decides, measured on Debian 12 and 13.
  - name: oomd.conf(5)
    description: The settings.
    link: https://www.freedesktop.org/software/systemd/man/latest/oomd.conf.html
"""

EXAMPLES = r"""
---
- name: systemd-oomd kills the biggest swap user above 80% swap, and slices under pressure after 20s
  memwise.linux.oomd:
    settings:
      SwapUsedLimit: 80%
      DefaultMemoryPressureLimit: 60%
      DefaultMemoryPressureDurationSec: 20s

- name: Pressure-based kills only, on a host without swap
  memwise.linux.oomd:
    settings:
      DefaultMemoryPressureLimit: 50%
    require_swap: false

- name: Back to the defaults (the package stays)
  memwise.linux.oomd:
    state: absent
"""

RETURN = r"""
---
settings:
  description:
    - Per key, the C(live) value (C(oomctl dump); C(null) when systemd-oomd is not running) and the C(file) value (the
      module's drop-in; C(null) when it does not set the key), C(before) and C(after).
    - With O(state=present) the keys of O(settings); with O(state=absent) the keys the drop-in held.
  returned: always
  type: dict
  sample:
    SwapUsedLimit:
      live: {before: "90%", after: "80%"}
      file: {before: null, after: "80%"}
changed_settings:
  description: Keys whose live or file value changed (or would, in check mode), in RV(settings) order.
  returned: always
  type: list
  elements: str
  sample: [SwapUsedLimit]
actions:
  description: What the call did (or would do, in check mode), in order. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample:
    - apt-get install systemd-oomd
    - write /etc/systemd/oomd.conf.d/60-memwise.conf
    - write /etc/systemd/system/systemd-oomd.service.d/60-memwise.conf
    - systemctl daemon-reload
    - systemctl enable systemd-oomd.service
    - systemctl restart systemd-oomd.service
path:
  description: The oomd.conf drop-in the module owns (under C(/run/systemd) with O(persist=false)).
  returned: always
  type: str
  sample: /etc/systemd/oomd.conf.d/60-memwise.conf
file_text:
  description: Its text after the call; C(null) when it does not exist.
  returned: always
  type: str
  sample: "# Managed by memwise.linux.oomd: ...\n[OOM]\nSwapUsedLimit=80%\n"
backup_file:
  description: The copy made with O(backup=true); C(null) otherwise.
  returned: always
  type: str
  sample: /etc/systemd/oomd.conf.d/60-memwise.conf.4242.2026-12-03@10:31:02~
installed:
  description: Whether the C(systemd-oomd) package is installed, before and after.
  returned: always
  type: dict
  sample: {before: false, after: true}
active:
  description: Whether C(systemd-oomd.service) runs, before and after.
  returned: always
  type: dict
  sample: {before: false, after: true}
missing:
  description: The prerequisites the host lacks (empty on success; the failure returns the list too).
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import (
    _command,
    _dropin,
    _lock,
    _module,
    _oomd,
    _transaction,
)
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def prerequisites(module, hostctl, installed, show):
    """Every missing prerequisite at once, before anything changes (state=present only)."""
    params = module.params
    problems = hostctl.missing(params["require_swap"])
    if not installed and not params["install"]:
        problems.append("the %s package: it is not installed and install is false; set install: true" % _oomd.PACKAGE)
    if show.get("UnitFileState") == "masked" or show.get("LoadState") == "masked":
        problems.append("%s is masked; unmask it (systemctl unmask %s)" % (_oomd.SERVICE, _oomd.SERVICE))
    if problems:
        raise MemwiseError(
            "systemd-oomd cannot run on this host, nothing changed; missing: " + "; ".join(problems),
            details={"missing": problems},
        )


def run(module, runner=None, hostctl=None):
    params = module.params
    runner = runner or _command.Runner(module)
    hostctl = hostctl or _oomd.Host(runner)
    present = params["state"] == "present"
    _dropin.check_name(params["dropin_name"])
    if not params["live"] and not params["persist"]:
        raise MemwiseError("live and persist are both false: there is nothing to do; nothing changed")
    wanted = _oomd.validate(params["settings"]) if present else {}
    installed = hostctl.installed()
    show = hostctl.service() if installed else {}
    if present:
        prerequisites(module, hostctl, installed, show)
    active = show.get("ActiveState") in ("active", "reloading", "activating")
    live = hostctl.dump() if active else None
    update = present and not installed and not hostctl.candidate()
    plan = _oomd.Plan(params, wanted, installed, show, live=live, update=update)
    settings = plan.settings()
    result = {
        "settings": settings,
        "changed_settings": _module.changed_settings(settings),
        "actions": plan.actions(),
        "path": plan.conf,
        "file_text": plan.conf_after,
        "backup_file": None,
        "installed": _module.layer(installed, plan.installed_after),
        "active": _module.layer(plan.active_before, plan.active_after),
        "missing": [],
    }
    result["changed"] = bool(result["actions"])
    if module._diff:
        files = [(path, before, after) for path, before, after in plan.files() if before != after]
        result["diff"] = _module.diff("live oomctl dump", _moves(settings), files)
    if module.check_mode or not result["changed"]:
        return result
    done = []
    try:
        with _transaction.Journal() as journal:
            _oomd.apply(plan, runner, hostctl, journal, done)
    except MemwiseError as exc:
        exc.details.setdefault("actions", done)
        raise
    result["actions"] = done
    result["backup_file"] = plan.backup_file
    return result


def _moves(settings):
    return [(name, s["live"]["before"], s["live"]["after"]) for name, s in settings.items()]


def main():
    module = _module.new_module(
        AnsibleModule,
        argument_spec=dict(
            settings=dict(type="dict"),
            install=dict(type="bool", default=True),
            require_swap=dict(type="bool", default=True),
            live=dict(type="bool", default=True),
            persist=dict(type="bool", default=True),
            dropin_name=dict(type="str", default="60-memwise"),
            force=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            lock_timeout=dict(_lock.OPTION),
        ),
        required_if=[("state", "present", ("settings",))],
        supports_check_mode=True,
    )
    _module.run_module(module, run)


if __name__ == "__main__":
    main()
