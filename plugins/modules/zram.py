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
    and the algorithm against the kernel's own list in C(/sys/block/zramN/comp_algorithm). Any error names the
    option and changes nothing.
  - A device that already is the requested swap is left alone. One that differs is taken down (C(swapoff) -
    only when the memory the kernel can still hand out holds its swapped pages with a margin - then C(reset)),
    set up again (algorithm before disksize, C(mkswap), C(swapon --discard -p PRIORITY)) and read back from
    C(/proc/swaps) and C(/sys/block/zramN).
  - Persistence - with Debian's C(systemd-zram-generator) installed the module writes its keys into
    C(/etc/systemd/zram-generator.conf) and lets the generator's C(systemd-zram-setup@zramN.service) set up the
    device now and at every boot (RV(persistence=generator)); otherwise it installs and enables its own oneshot
    unit C(/etc/systemd/system/memwise-zram.service) (RV(persistence=unit)).
  - An administrator's C(zram-generator.conf) (one without the module's C(# Managed by memwise.linux.zram) header)
    is edited in place, never replaced - the module sets only C(zram-size), C(compression-algorithm) and
    C(swap-priority) in the swap sections C([zram0]) .. C([zramN-1]) and keeps every other line, key and section
    byte for byte (see the notes). A file with the header is the module's and is rewritten whole.
  - If a step fails, what this run did is undone, newest first - devices it set up are reset, the previous
    configuration file is restored, devices it took down are set up again with their previous values, a zram
    module it loaded is unloaded - and the task fails saying what was undone and what could not be.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
  - memwise.linux._host_lock
attributes:
  check_mode:
    support: full
    details:
      - Validates and reports the planned actions, settings, devices and file text, and changes no device, file,
        unit or kernel module.
      - When the zram kernel module is not loaded, check mode does not load it - it predicts the devices
        C(modprobe zram num_devices=N) creates and reads the algorithms the kernel would offer from its files -
        C(CONFIG_ZRAM_BACKEND_*) in C(/boot/config-RELEASE) on kernels from 6.12, else the compressors in
        C(/proc/crypto), C(/lib/modules/RELEASE/kernel/crypto) and C(modules.builtin). Where none of them is
        readable it accepts O(algorithm) with a warning; the real run checks it against C(comp_algorithm) and
        changes nothing when the kernel lacks it.
  diff_mode:
    support: full
    details: Shows each device setting that moves (C(zram0.disksize = ...)) and the text of the configuration file.
  idempotent:
    support: full
    details: A device and a file that already match are not touched, so a second run reports no change.
options:
  size:
    description:
      - The total size of zram swap, split evenly over O(devices) - a percentage of RAM (V(50%)) or an absolute
        size (V(2G), V(512M), or an integer number of bytes). This is the uncompressed size; the RAM used is that
        divided by the compression ratio.
      - A percentage follows systemd-zram-generator's arithmetic - C(ram) is MemTotal in whole MiB - so a device
        has the same size whether the module or the generator set it up. The kernel rounds it up to a page.
    type: raw
    default: 50%
  max_size:
    description:
      - Caps a percentage O(size), like zram-generator's default C(min(ram / 2, 4096)) (O(size=50%), O(max_size=4G)).
        Absolute only (a size string or an integer number of bytes); refused with an absolute O(size).
    type: raw
  algorithm:
    description:
      - The compression algorithm. Must be one the kernel lists in C(/sys/block/zram0/comp_algorithm) (Debian 13's
        6.12 lists lz4, lz4hc, zstd, deflate; Debian 12's 6.1 lzo, lzo-rle, lz4, lz4hc, zstd). The kernel
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
        C(zram0) .. C(zramN-1) when they are swap) down - after the same memory check - resets them, removes
        the module's unit and its keys from the generator configuration, or writes a generator configuration
        without devices when the package's own default would otherwise set one up at boot.
    type: str
    choices: [present, absent]
    default: present
  persist:
    description:
      - Keep the devices across reboots (see RV(persistence)). V(false) changes the live devices only and leaves
        the files as they are.
    type: bool
    default: true
  backup:
    description:
      - Before editing an administrator's C(zram-generator.conf) (one without the module's header), copy it next
        to itself as C(PATH.PID.DATE@TIME~); the copy is returned in RV(backup_file). The module's own files are
        never backed up.
    type: bool
    default: false
notes:
  - The module owns C(/dev/zram0) .. C(/dev/zramN-1). A device among them that holds a mounted file system, or
    that another block device uses, is refused.
  - With O(persist=true) the generator path is chosen whenever C(/usr/lib/systemd/system-generators/zram-generator)
    exists; a unit this module installed earlier is then disabled and removed, and the other way round.
  - The own unit stores the size in bytes (a percentage is resolved when the module runs); the generator
    configuration keeps the percentage as an expression, evaluated at each boot.
  - "In an administrator's C(zram-generator.conf) the module owns the keys C(zram-size), C(compression-algorithm)
    and C(swap-priority) of the swap sections (those without C(mount-point) or an C(fs-type) other than swap).
    V(present) sets them in C([zram0]) .. C([zramN-1]), in place, appending a missing key after the section's last
    key and a missing section at the end; a wanted section that is a file system (C([zram1]) with
    C(mount-point=)) is refused. Every other swap section, and with V(absent) every swap section, loses the
    module's keys; a section left with foreign keys (C(writeback-device=), C(host-memory-limit=)...) keeps them
    and gets C(zram-size = 0), which zram-generator discards, so no device comes back at boot; a section left
    without keys loses its header. Comments, blank lines, other keys and file-system sections are kept byte for
    byte."
  - Changing a device with swapped-out pages needs C(swapoff); it is refused, naming the memory missing, when
    MemAvailable cannot take the pages with a margin of 5% of RAM (64 MiB..1 GiB).
seealso:
  - module: memwise.linux.memory_facts
    description: Reads the zram devices (the same names as RV(devices)), their compression ratio and swap use.
  - module: memwise.linux.swap
    description: Disk swap below zram (a lower priority).
  - module: memwise.linux.mm_tunables
    description: zswap, the alternative to zram swap - use one of them.
  - module: memwise.linux.sysctl
    description: vm.swappiness and vm.page-cluster, which decide how eagerly zram is used.
  - name: zram in the kernel documentation
    description: The sysfs files the module writes.
    link: https://docs.kernel.org/admin-guide/blockdev/zram.html
  - name: zram-generator.conf(5)
    description: The generator's configuration file.
    link: https://github.com/systemd/zram-generator/blob/main/man/zram-generator.conf.md
  - ref: ansible_collections.memwise.linux.docsite.conventions
    description: The option names, results and diff shapes every memwise.linux module shares.
"""

EXAMPLES = r"""
---
- name: Half of RAM, at most 4 GiB, as zstd-compressed swap above disk swap
  memwise.linux.zram:
    size: 50%
    max_size: 4G
    algorithm: zstd
    priority: 100

- name: A fixed 2 GiB with lz4 (faster, compresses less), keeping a copy of an administrator's generator file
  memwise.linux.zram:
    size: 2G
    algorithm: lz4
    backup: true

- name: A size in bytes, computed elsewhere
  memwise.linux.zram:
    size: "{{ (ansible_facts.memwise.meminfo.MemTotal * 0.25) | int }}"

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
settings:
  description:
    - Per device setting, per layer, the value C(before) and C(after) the call (predicted in check mode).
    - The settings are C(zramN.disksize) (bytes), C(zramN.algorithm), C(zramN.priority) and C(zramN.active)
      (in use as swap) of each device the call manages or takes down; a device that is not set up has C(null)
      values and C(active=false).
    - Layer C(live) is what the kernel reports; layer C(file) (C(algorithm) and C(priority) only, when the call
      persists) is what the configuration in RV(path) sets up at boot, C(null) where it sets nothing.
  returned: always
  type: dict
  sample:
    zram0.disksize: {live: {before: null, after: 519045120}}
    zram0.algorithm: {live: {before: null, after: zstd}, file: {before: null, after: zstd}}
    zram0.priority: {live: {before: null, after: 100}, file: {before: null, after: 100}}
    zram0.active: {live: {before: false, after: true}}
changed_settings:
  description: The names of the settings where any layer moves, in RV(settings) order.
  returned: always
  type: list
  elements: str
  sample: [zram0.disksize, zram0.algorithm, zram0.priority, zram0.active]
actions:
  description: What the call did (or would do, in check mode), in order; empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["modprobe zram num_devices=1", "write /etc/systemd/zram-generator.conf", "systemctl daemon-reload",
           "start dev-zram0.swap (systemd-zram-setup@zram0: zstd, disksize 519045120 (495 MiB), priority 100)"]
devices:
  description:
    - The zram swap devices after the call (predicted in check mode), with the names of
      M(memwise.linux.memory_facts) - C(name), C(path), C(disksize) and swap C(size) and C(used) in bytes,
      C(algorithm), C(active), C(priority) and C(compression_ratio) (mm_stat orig_data_size / compr_data_size,
      C(null) while nothing is stored).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: zram0, path: /dev/zram0, disksize: 519045120, size: 519041024, algorithm: zstd, priority: 100,
       used: 93396992, compression_ratio: 3.98, active: true}
persistence:
  description:
    - How the devices come back at boot - V(generator) (systemd-zram-generator reads RV(path)),
      V(unit) (the module's own C(memwise-zram.service)) or V(none) (O(persist=false), no systemd, or O(state=absent)).
  returned: always
  type: str
  sample: generator
path:
  description:
    - The file that sets the devices up at boot (C(/etc/systemd/zram-generator.conf) or the module's unit); with
      O(state=absent) the generator configuration when it remains; C(null) when the call persists nothing.
  returned: always
  type: str
  sample: /etc/systemd/zram-generator.conf
file_text:
  description: The text of RV(path) after the call (predicted in check mode); C(null) when it does not exist.
  returned: always
  type: str
  sample: "# Managed by memwise.linux.zram ...\n[zram0]\nzram-size = min(ram * 50 / 100, 4096)\n..."
backup_file:
  description: The copy of an administrator's C(zram-generator.conf) made with O(backup=true); C(null) otherwise.
  returned: always
  type: str
  sample: /etc/systemd/zram-generator.conf.4242.2026-12-03@10:15:00~
"""

import errno
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import _files, _lock, _module, _procfs, _swap, _zram
from ansible_collections.memwise.linux.plugins.module_utils._command import Runner
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._transaction import Journal

SYSTEMD_RUNNING = "/run/systemd/system"
RESET_ATTEMPTS = 20


def _read(path):
    return _procfs.read_text(path)[0]


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return None


def read_devices():
    """Every zram device of the host, by name (the one reader, ``_zram.read_devices``)."""
    return _zram.read_devices(_read, _listdir)


def kernel_algorithms(run, params, check_mode, warn):
    """``(algorithms, source, load, devices)``: what the kernel offers, whether the zram module must be loaded.

    Only a device's ``comp_algorithm`` lists what this kernel offers. With no zram
    device, a real run loads the module (``num_devices=N``) to read it; check mode
    never touches the kernel: it predicts the list from the kernel's files
    (``_zram.offline_algorithms``) and the devices ``modprobe`` would create.
    """
    current = read_devices()
    count = max(params["devices"] or 1, 1)
    if not current and check_mode:
        algorithms, source = _zram.offline_algorithms(_read, _listdir)
        if algorithms is None:
            warn(
                "check mode could not tell whether the kernel offers algorithm %r for zram (%s, and the zram "
                "module is not loaded); the real run checks it against comp_algorithm and changes nothing if "
                "the kernel lacks it" % (params["algorithm"], source)
            )
        return algorithms, source, count, _zram.fresh_devices(count)
    load = 0
    if not current:
        _zram.validate(params)  # report bad options before loading anything
        run(["modprobe", "zram", "num_devices=%d" % count])
        load = count
        current = read_devices()
    if not current:
        raise MemwiseError("the zram module is loaded but has no device to read comp_algorithm from; nothing changed")
    name = next(iter(current))
    source = "%s/%s/comp_algorithm" % (_zram.SYS_BLOCK, name)
    return _zram.parse_algorithms(_read(source), source)[1], source, load, current


def unload(run):
    """Unload the zram module this run loaded (its devices are unconfigured)."""
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


class Devices:
    """The live steps: sysfs writes and commands on zram devices."""

    def __init__(self, run):
        self.run = run

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

    def take_down(self, name):
        """swapoff (through systemd when the generator may own the device) and reset."""
        if os.path.isdir(SYSTEMD_RUNNING) and os.path.exists(_zram.GENERATOR):
            self.run(["systemctl", "stop", "dev-%s.swap" % name, "systemd-zram-setup@%s.service" % name], check=False)
        devices = read_devices()  # swapoff changes neither which devices exist nor their names
        if devices.get(name, {}).get("active"):
            self.run(["swapoff", "/dev/" + name])
        if name in devices:
            # also clears an algorithm chosen before a failed disksize; EBUSY right after swapoff is retried
            self.write(name, "reset", 1, retry_busy=True)

    def set_up(self, name, spec, disksize, via_generator):
        if name not in read_devices():
            added = "zram" + hot_add()
            if added != name:
                raise MemwiseError("hot_add created %s, not %s: zram device numbers have gaps" % (added, name))
        if via_generator:
            self.run(
                ["systemctl", "reset-failed", "dev-%s.swap" % name, "systemd-zram-setup@%s.service" % name], check=False
            )
            self.run(["systemctl", "start", "dev-%s.swap" % name])
            return
        if spec["algorithm"]:
            self.write(name, "comp_algorithm", spec["algorithm"])
        self.write(name, "disksize", disksize)
        self.run(["mkswap", "-L", name, "/dev/" + name])
        self.run(["swapon"] + _zram.swapon_flags(spec["priority"]).split() + ["/dev/" + name])


def _restore_file(path, text):
    return lambda: _files.remove(path) if text is None else _files.atomic_write(path, text)


def apply(run, work, journal):
    """Carry out ``work`` (see ``plan_run``), each step recorded in ``journal``; read the devices back."""
    devices, steps, spec, disksize = Devices(run), work["moving"], work["spec"], work["disksize"]
    if work["load"]:
        journal.did("unloaded the zram module", lambda: unload(run))
    for name, step in steps.items():
        if step not in ("recreate", "remove"):
            continue
        before = work["current"][name]
        devices.take_down(name)
        if before.get("active"):
            old = {"algorithm": before["algorithm"], "priority": before["priority"]}
            journal.did(
                "%s set up again as before (%s, %d bytes, priority %d)"
                % (name, before["algorithm"], before["disksize"], before["priority"]),
                lambda name=name, old=old, size=before["disksize"]: devices.set_up(name, old, size, False),
            )
    changed = [(path, old, new) for path, (old, new) in work["files"].items() if old != new]
    if changed and os.path.isdir(SYSTEMD_RUNNING):
        # recorded first so that a rollback reloads after the files are back
        journal.did("systemd reloaded", lambda: run(["systemctl", "daemon-reload"]))
    for path, old, new in changed:
        _files.remove(path) if new is None else _files.atomic_write(path, new)
        journal.did(("removed %s" if old is None else "restored %s") % path, _restore_file(path, old))
    if changed and os.path.isdir(SYSTEMD_RUNNING):
        run(["systemctl", "daemon-reload"])
    if work["switch"]:
        run(["systemctl", work["switch"], _zram.UNIT_NAME])
        back = "disable" if work["switch"] == "enable" else "enable"
        journal.did("%sd %s again" % (back, _zram.UNIT_NAME), lambda: run(["systemctl", back, _zram.UNIT_NAME]))
    for name, step in steps.items():
        if step in ("create", "recreate"):
            journal.did("reset " + name, lambda name=name: devices.take_down(name))
            devices.set_up(name, spec, disksize, work["via_generator"])
    after = read_devices()
    for name, step in steps.items():
        why = _zram.verify(name, after.get(name, {}), spec, disksize) if step != "remove" else None
        if why:
            raise MemwiseError("%s: the kernel did not take the configuration: %s" % (name, why))
    return after


def plan_run(params, run, check_mode, warn):
    """Read the host, validate, and plan: the ``work`` dict ``apply`` and ``_zram.actions`` take.

    Where a real run had to load the zram module to read the kernel's algorithms,
    it is unloaded again when validation fails: a refused call leaves no trace.
    """
    if params["state"] == "present":
        algorithms, source, load, current = kernel_algorithms(run, params, check_mode, warn)
    else:
        algorithms, source, load, current = None, None, 0, read_devices()
    try:
        return _plan(params, run, (algorithms, source), current, load)
    except MemwiseError:
        if load and not check_mode:
            unload(run)
        raise


def _plan(params, run, algorithms, current, load):
    state = params["state"]
    spec = _zram.validate(params, *algorithms) if algorithms[1] else _zram.validate(params)
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
    path = {"generator": _zram.GENERATOR_CONF, "unit": _zram.UNIT_PATH}.get(persistence)
    if state == "absent":
        path = _zram.GENERATOR_CONF if files and files[_zram.GENERATOR_CONF][1] is not None else None
    conf = files.get(_zram.GENERATOR_CONF, (None, None))
    backup = params["backup"] and conf[0] is not None and not _zram.ours(conf[0]) and conf[0] != conf[1]
    return {
        "state": state,
        "spec": spec,
        "current": current,
        "load": load,
        "disksize": disksize,
        "page": page,
        "persistence": persistence if state == "present" else "none",
        "files": files,
        "switch": unit_switch(run, files) if files else None,
        "steps": steps,
        "moving": {n: s for n, s in steps.items() if s != "keep"},
        "via_generator": persistence == "generator",
        "path": path,
        "backup": _zram.GENERATOR_CONF if backup else None,
    }


def run_zram(module):
    run = Runner(module)
    work = plan_run(module.params, run, module.check_mode, module.warn)
    changed_files = [p for p, (before, after) in work["files"].items() if before != after]
    changed = bool(work["moving"] or changed_files or work["switch"])
    steps = work["steps"]
    after = _zram.predicted(steps, work["spec"], work["current"], work["disksize"], work["page"])
    backup_file = None
    if changed and not module.check_mode:
        journal = Journal()
        with journal:
            if work["backup"]:
                backup_file = _files.backup(work["backup"])
            read = apply(run, work, journal)
        after = {n: read.get(n, {}) for n in steps}
    path = work["path"]
    before_files = _zram.file_values(path, work["files"][path][0]) if path else None
    after_files = _zram.file_values(path, work["files"][path][1]) if path else None
    settings = _zram.settings({n: work["current"].get(n, {}) for n in steps}, after, before_files, after_files)
    result = {
        "changed": changed,
        "settings": settings,
        "changed_settings": _module.changed_settings(settings),
        "actions": _zram.actions(work),
        "persistence": work["persistence"],
        "path": path,
        "file_text": work["files"][path][1] if path else None,
        "backup_file": backup_file,
        "devices": [_zram.report(s) for s in after.values() if s.get("active")],
    }
    if module._diff:
        result["diff"] = _zram.diff(settings, work["files"])
    return result


def main():
    module = _module.new_module(
        AnsibleModule,
        argument_spec=dict(
            size=dict(type="raw", default="50%"),
            max_size=dict(type="raw"),
            algorithm=dict(type="str", default="zstd"),
            priority=dict(type="int", default=100),
            devices=dict(type="int", default=1),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            lock_timeout=dict(_lock.OPTION),
            persist=dict(type="bool", default=True),
            backup=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    _module.run_module(module, run_zram)


if __name__ == "__main__":
    main()
