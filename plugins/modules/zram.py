#!/usr/bin/python
# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: zram
short_description: Compressed swap in RAM (zram), live and across reboots
version_added: 0.1.0
description:
  - Sets up C(/dev/zram0) .. C(/dev/zramN-1) as swap - compression algorithm, size, priority - now and at boot.
  - Every option is checked before anything changes - the size, the cap, the priority range, the device count,
    and the algorithm against the kernel's own list in C(/sys/block/zram0/comp_algorithm). Any error names the
    option and changes nothing.
  - A device that already is the requested swap is left alone. One that differs is taken down (C(swapoff) -
    only when the memory the kernel can still hand out holds its swapped pages with a margin - then C(reset)),
    set up again (algorithm before disksize, C(mkswap), C(swapon --discard -p PRIORITY)) and read back from
    C(/proc/swaps) and C(/sys/block/zramN).
  - Persistence - with Debian's C(systemd-zram-generator) installed the module writes
    C(/etc/systemd/zram-generator.conf) and lets the generator's C(systemd-zram-setup@zramN.service) set up the
    device now and at every boot (RV(persistence=generator)); otherwise it installs and enables its own oneshot
    unit C(/etc/systemd/system/memwise-zram.service) (RV(persistence=unit)).
  - If a step fails, what this run did is undone - devices it set up are reset, the previous configuration file
    is restored, and devices it took down are set up again with their previous values - and the task fails saying
    so.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
attributes:
  check_mode:
    support: full
    details:
      - Validates and reports the planned actions, devices before and after and the file text, and changes no
        device or file. To read the kernel's algorithms it loads the zram kernel module when it is not loaded
        (C(modprobe zram num_devices=N)) and unloads it again (C(modprobe -r zram)) before it returns.
  diff_mode:
    support: full
    details: Shows each device's disksize, algorithm, priority and whether it is active swap, and the text of the
      configuration file.
  idempotent:
    support: full
    details: A device that already matches is not touched, so a second run reports no change.
options:
  size:
    description:
      - The total size of zram swap, split evenly over O(devices) - a percentage of RAM (V(50%)) or an absolute
        size (V(2G), V(512M), bytes). This is the uncompressed size; the RAM used is that divided by the
        compression ratio.
      - A percentage follows systemd-zram-generator's arithmetic - C(ram) is MemTotal in whole MiB - so a device
        has the same size whether the module or the generator set it up. The kernel rounds it up to a page.
    type: str
    default: 50%
  max_size:
    description:
      - Caps a percentage O(size), like zram-generator's default C(min(ram / 2, 4096)) (O(size=50%), O(max_size=4G)).
        Absolute only; refused with an absolute O(size).
    type: str
  algorithm:
    description:
      - The compression algorithm. Must be one the kernel lists in C(/sys/block/zram0/comp_algorithm) (Debian 13's
        6.12 lists lz4, lz4hc, zstd, deflate; Debian 12's 6.1 lzo, lzo-rle, lz4, lz4hc, 842, zstd). The kernel
        loads the algorithm's module when the device is set up.
    type: str
    default: zstd
  priority:
    description:
      - Swap priority, -1..32767. Keep it above disk swap so the kernel fills zram first. V(-1) lets the kernel
        choose (a negative priority, below every swap with a priority).
    type: int
    default: 100
  devices:
    description:
      - How many zram devices (C(zram0) .. C(zramN-1)) carry swap, all alike. One is enough on current kernels
        (compression runs on every CPU); more devices are created with C(hot_add) when the module is loaded.
      - With O(state=absent), devices beyond the ones the configuration names that are active swap are removed too.
    type: int
    default: 1
  state:
    description:
      - V(present) sets the devices up; V(absent) takes every zram swap device the configuration names (and
        C(zram0) .. C(zramN-1) when they are swap) down - after the same memory check - resets them and removes
        the module's unit, or writes a generator configuration without devices when the package's own default
        would otherwise set one up at boot.
    type: str
    choices: [present, absent]
    default: present
  persist:
    description:
      - Keep the devices across reboots (see RV(persistence)). V(false) changes the live devices only and leaves
        the files as they are.
    type: bool
    default: true
notes:
  - The module owns C(/dev/zram0) .. C(/dev/zramN-1). A device among them that holds a mounted file system, or
    that another block device uses, is refused.
  - With O(persist=true) the generator path is chosen whenever C(/usr/lib/systemd/system-generators/zram-generator)
    exists; a unit this module installed earlier is then disabled and removed, and the other way round.
  - The own unit stores the size in bytes (a percentage is resolved when the module runs); the generator
    configuration keeps the percentage as an expression, evaluated at each boot.
  - Changing a device with swapped-out pages needs C(swapoff); it is refused, naming the memory missing, when
    MemAvailable cannot take the pages with a margin of 5% of RAM (64 MiB..1 GiB).
seealso:
  - name: zram in the kernel documentation
    description: The sysfs files the module writes.
    link: https://docs.kernel.org/admin-guide/blockdev/zram.html
  - name: zram-generator.conf(5)
    description: The generator's configuration file.
    link: https://github.com/systemd/zram-generator/blob/main/man/zram-generator.conf.md
  - module: memwise.linux.swap
  - module: memwise.linux.memory_facts
"""

EXAMPLES = r"""
---
- name: Half of RAM, at most 4 GiB, as zstd-compressed swap above disk swap
  memwise.linux.zram:
    size: 50%
    max_size: 4G
    algorithm: zstd
    priority: 100

- name: A fixed 2 GiB with lz4 (faster, compresses less)
  memwise.linux.zram:
    size: 2G
    algorithm: lz4

- name: Remove zram swap
  memwise.linux.zram:
    state: absent
"""

RETURN = r"""
---
changed:
  description: Whether a device or a file changed (or would, in check mode).
  returned: always
  type: bool
devices:
  description:
    - The zram swap devices as the kernel reports them after the call (predicted in check mode) - name, disksize
      and swap size in bytes, algorithm, priority, used bytes and the compression ratio (mm_stat orig_data_size /
      compr_data_size, C(null) while nothing is stored).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: zram0, disksize: 519045120, size: 519041024, algorithm: zstd, priority: 100, used: 93396992,
       compression_ratio: 3.98, active: true}
before:
  description: Per device touched or managed, C(disksize), C(algorithm), C(priority) and C(active) before the call.
  returned: always
  type: dict
  sample: {zram0: {disksize: null, algorithm: null, priority: null, active: false}}
after:
  description: The same after the call (predicted in check mode).
  returned: always
  type: dict
  sample: {zram0: {disksize: 519045120, algorithm: zstd, priority: 100, active: true}}
actions:
  description: What the call did (or would do), in order.
  returned: always
  type: list
  elements: str
  sample: ["write /etc/systemd/zram-generator.conf", "systemctl daemon-reload",
           "start dev-zram0.swap (systemd-zram-setup@zram0: zstd, disksize 519045120 (495 MiB), priority 100)"]
persistence:
  description:
    - How the devices come back at boot - V(generator) (systemd-zram-generator reads RV(config_path)),
      V(unit) (the module's own C(memwise-zram.service)) or V(none) (O(persist=false), no systemd, or O(state=absent)).
  returned: always
  type: str
  sample: generator
config_path:
  description: The file that sets the devices up at boot; C(null) with RV(persistence=none).
  returned: always
  type: str
  sample: /etc/systemd/zram-generator.conf
config_text:
  description: Its text after the call; C(null) when it does not exist.
  returned: always
  type: str
  sample: "# Managed by memwise.linux.zram ...\n[zram0]\nzram-size = min(ram * 50 / 100, 4096)\n..."
"""

import errno
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import _files, _procfs, _swap, _zram
from ansible_collections.memwise.linux.plugins.module_utils._command import Runner
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

SYSTEMD_RUNNING = "/run/systemd/system"
RESET_ATTEMPTS = 20


def _read(path):
    return _procfs.read_text(path)[0]


def read_devices():
    """Every zram device of the host, by name."""
    swaps = _procfs.parse_swaps(_read("/proc/swaps") or "Filename\n")
    mounts = _read("/proc/mounts") or ""
    names = [n for n in sorted(os.listdir(_zram.SYS_BLOCK)) if _zram.DEVICE_RE.match(n)]
    current = {}
    for name in names:
        base = "%s/%s/" % (_zram.SYS_BLOCK, name)
        files = {key: _read(base + key) for key in ("disksize", "comp_algorithm", "mm_stat")}
        files["holders"] = os.listdir(base + "holders") if os.path.isdir(base + "holders") else []
        current[name] = _zram.device_state(name, files, swaps, mounts)
    return current


def kernel_algorithms(run, params):
    """The kernel's zram algorithms, whether this call loaded the module to read them, and the devices.

    With no zram device yet, the module is loaded (``num_devices=N``): only a
    device's ``comp_algorithm`` lists what this kernel offers. ``unload`` takes
    that back where the run ends without using it (check mode, a bad option).
    """
    current = read_devices()
    loaded = False
    if not current:
        _zram.validate(params)  # report bad options before loading anything
        run(["modprobe", "zram", "num_devices=%d" % max(params["devices"] or 1, 1)])
        loaded = True
        current = read_devices()
    if not current:
        raise MemwiseError("the zram module is loaded but has no device to read comp_algorithm from; nothing changed")
    name = sorted(current, key=_zram.device_index)[0]
    text = _read("%s/%s/comp_algorithm" % (_zram.SYS_BLOCK, name))
    return _zram.parse_algorithms(text, "%s/%s/comp_algorithm" % (_zram.SYS_BLOCK, name))[1], loaded, current


def unload(run):
    """Unload the zram module this run loaded only to read the algorithms (its devices are unconfigured)."""
    run(["modprobe", "-r", "zram"])


def unit_switch(run, files):
    """ "enable" / "disable" the module's unit, or None; read with ``systemctl is-enabled``."""
    if not os.path.isdir(SYSTEMD_RUNNING):
        return None
    enabled = run(["systemctl", "is-enabled", _zram.UNIT_NAME], check=False)[1].strip() == "enabled"
    wanted = files[_zram.UNIT_PATH][1] is not None
    return "enable" if wanted and not enabled else "disable" if enabled and not wanted else None


def hot_add():
    """Ask the kernel for one more zram device (reading hot_add creates it); its number."""
    try:
        with open(_zram.HOT_ADD, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        raise MemwiseError("cannot add a zram device through %s: %s" % (_zram.HOT_ADD, exc.strerror)) from None


class Apply:
    """Carries out a plan; remembers what it did so ``undo`` can take it back."""

    def __init__(self, run, via_generator):
        self.run, self.via_generator = run, via_generator
        self.set_up, self.taken_down, self.files, self.switched = [], {}, {}, None

    def write(self, name, key, value, retry_busy=False):
        for attempt in range(RESET_ATTEMPTS if retry_busy else 1):
            try:
                with open("%s/%s/%s" % (_zram.SYS_BLOCK, name, key), "w", encoding="utf-8") as handle:
                    return handle.write("%s\n" % value)
            except OSError as exc:
                if exc.errno != errno.EBUSY or attempt == RESET_ATTEMPTS - 1 or not retry_busy:
                    raise MemwiseError("%s: writing %r to %s failed: %s" % (name, value, key, exc.strerror)) from None
            # udev's probe after swapoff may still hold the device open: wait for it and try again
            self.run(["udevadm", "settle", "--timeout=5"], check=False)
            time.sleep(0.5)
        return None

    def take_down(self, name, before=None):
        """swapoff (through systemd when the generator may own the device) and reset; ``before`` is remembered."""
        if os.path.isdir(SYSTEMD_RUNNING) and os.path.exists(_zram.GENERATOR):
            self.run(["systemctl", "stop", "dev-%s.swap" % name, "systemd-zram-setup@%s.service" % name], check=False)
        devices = read_devices()  # swapoff changes neither which devices exist nor their names
        if devices.get(name, {}).get("active"):
            self.run(["swapoff", "/dev/" + name])
        if before is not None:
            self.taken_down[name] = before
        if name in devices:
            # also clears an algorithm chosen before a failed disksize; EBUSY right after swapoff is retried
            self.write(name, "reset", 1, retry_busy=True)

    def set_files(self, files, switch):
        for path, (before, after) in files.items():
            if before == after:
                continue
            self.files[path] = before
            _files.remove(path) if after is None else _files.atomic_write(path, after)
        if self.files and os.path.isdir(SYSTEMD_RUNNING):
            self.run(["systemctl", "daemon-reload"])
        if switch:
            self.switched = switch
            self.run(["systemctl", switch, _zram.UNIT_NAME])

    def set_up_device(self, name, spec, disksize):
        if name not in read_devices():
            added = "zram" + hot_add()
            if added != name:
                raise MemwiseError("hot_add created %s, not %s: zram device numbers have gaps" % (added, name))
        self.set_up.append(name)
        if self.via_generator:
            self.run(
                ["systemctl", "reset-failed", "dev-%s.swap" % name, "systemd-zram-setup@%s.service" % name], check=False
            )
            self.run(["systemctl", "start", "dev-%s.swap" % name])
            return
        self.write(name, "comp_algorithm", spec["algorithm"])
        self.write(name, "disksize", disksize)
        self.run(["mkswap", "-L", name, "/dev/" + name])
        self.run(["swapon"] + _zram.swapon_flags(spec["priority"]).split() + ["/dev/" + name])

    def undo(self):
        """Undo newest first; return what was restored and what could not be."""
        done, errors, self.via_generator = [], [], False
        for name in reversed(self.set_up):
            try:
                self.take_down(name)
                done.append("reset " + name)
            except MemwiseError as exc:
                errors.append(str(exc))
        for path, text in self.files.items():
            try:
                _files.remove(path) if text is None else _files.atomic_write(path, text)
                done.append(("removed %s" if text is None else "restored %s") % path)
            except MemwiseError as exc:
                errors.append(str(exc))
        if self.files and os.path.isdir(SYSTEMD_RUNNING):
            self.run(["systemctl", "daemon-reload"], check=False)
        if self.switched:
            self.run(["systemctl", "disable" if self.switched == "enable" else "enable", _zram.UNIT_NAME], check=False)
        for name, before in self.taken_down.items():
            if before.get("active"):
                old = {"algorithm": before["algorithm"], "priority": before["priority"]}
                try:
                    self.set_up_device(name, old, before["disksize"])
                    done.append(
                        "%s set up again as before (%s, %d bytes, priority %d)"
                        % (name, before["algorithm"], before["disksize"], before["priority"])
                    )
                except MemwiseError as exc:
                    errors.append(str(exc))
        return done, errors


def apply(run, work):
    """Carry out ``work`` (see ``plan_run``) and read the devices back; undo everything on a failure."""
    steps, spec, disksize = work["moving"], work["spec"], work["disksize"]
    done = Apply(run, work["via_generator"])
    try:
        for name, step in steps.items():
            if step in ("recreate", "remove"):
                done.take_down(name, work["current"][name])
        done.set_files(work["files"], work["switch"])
        for name, step in steps.items():
            if step in ("create", "recreate"):
                done.set_up_device(name, spec, disksize)
        after = read_devices()
        for name, step in steps.items():
            why = _zram.verify(name, after.get(name, {}), spec, disksize) if step != "remove" else None
            if why:
                raise MemwiseError("%s: the kernel did not take the configuration: %s" % (name, why))
        return after
    except MemwiseError as exc:
        undone, errors = done.undo()
        raise MemwiseError(
            "%s; rolled back: %s%s"
            % (
                exc,
                ", ".join(undone) or "nothing needed undoing",
                ("; could not undo: " + "; ".join(errors)) if errors else "",
            )
        ) from None


def plan_run(params, run, check_mode):
    """Read the host, validate, and plan: the ``work`` dict ``apply`` and ``_zram.actions`` take.

    Where the zram module had to be loaded to read the kernel's algorithms, it is
    unloaded again in check mode and when validation fails: neither leaves a trace.
    """
    if params["state"] == "present":
        algorithms, loaded, current = kernel_algorithms(run, params)
    else:
        algorithms, loaded, current = None, False, read_devices()
    try:
        work = _plan(params, run, algorithms, current)
    except MemwiseError:
        if loaded:
            unload(run)
        raise
    if loaded and check_mode:
        unload(run)
    return work


def _plan(params, run, algorithms, current):
    state = params["state"]
    spec = _zram.validate(params, algorithms)
    meminfo = _procfs.parse_meminfo(_read("/proc/meminfo") or "")
    page = os.sysconf("SC_PAGE_SIZE")
    disksize = _zram.device_bytes(spec, meminfo["MemTotal"], page) if state == "present" else None
    persistence = "none"
    if params["persist"] and os.path.isdir(SYSTEMD_RUNNING):
        persistence = "generator" if os.path.exists(_zram.GENERATOR) else "unit"
    files = {}
    if params["persist"]:
        paths = (_zram.GENERATOR_CONF, _zram.UNIT_PATH, _zram.GENERATOR_DEFAULT_CONF)
        texts = dict(zip(("conf", "unit", "default"), (_files.read_optional(p) for p in paths)))
        texts["generator"] = os.path.exists(_zram.GENERATOR)
        files = _zram.files_plan(state, spec, disksize, persistence, texts)
    managed = []
    if files:
        managed = _zram.generator_devices(files[_zram.GENERATOR_CONF][0]) + _zram.unit_devices(
            files[_zram.UNIT_PATH][0]
        )
    steps = _zram.plan(state, spec, current, managed, disksize)
    paths, used = _zram.swapoff_load(steps, current)
    if used:
        _swap.check_swapoff(", ".join(paths), used, meminfo, "remove" if state == "absent" else "reconfigure")
    config_path = {"generator": _zram.GENERATOR_CONF, "unit": _zram.UNIT_PATH}.get(persistence)
    if state == "absent":
        config_path = _zram.GENERATOR_CONF if files and files[_zram.GENERATOR_CONF][1] is not None else None
    return {
        "state": state,
        "spec": spec,
        "current": current,
        "disksize": disksize,
        "page": page,
        "persistence": persistence if state == "present" else "none",
        "files": files,
        "switch": unit_switch(run, files) if files else None,
        "steps": steps,
        "moving": {n: s for n, s in steps.items() if s != "keep"},
        "via_generator": persistence == "generator",
        "config_path": config_path,
    }


def run_module(module):
    run = Runner(module)
    work = plan_run(module.params, run, module.check_mode)
    changed_files = [p for p, (before, after) in work["files"].items() if before != after]
    result = {
        "changed": bool(work["moving"] or changed_files or work["switch"]),
        "actions": _zram.actions(work),
        "persistence": work["persistence"],
        "before": {n: _zram.summary(work["current"].get(n, {})) for n in work["steps"]},
        "config_path": work["config_path"],
        "config_text": work["files"][work["config_path"]][1] if work["config_path"] else None,
    }
    after = _zram.predicted(work["steps"], work["spec"], work["current"], work["disksize"], work["page"])
    if result["changed"] and not module.check_mode:
        read = apply(run, work)
        after = {n: read.get(n, {}) for n in work["steps"]}
    result["after"] = {n: _zram.summary(s) for n, s in after.items()}
    result["devices"] = [_zram.report(s) for s in after.values() if s.get("active")]
    if module._diff:
        result["diff"] = _zram.diff(result["before"], result["after"], work["files"])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            size=dict(type="str", default="50%"),
            max_size=dict(type="str"),
            algorithm=dict(type="str", default="zstd"),
            priority=dict(type="int", default=100),
            devices=dict(type="int", default=1),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            persist=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        result = run_module(module)
    except MemwiseError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
