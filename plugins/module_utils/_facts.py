# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: memory fact sections, the gather_subset resolver and the collector.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Each section is a function ``(ctx) -> (data, reason)``: data for
``ansible_facts.memwise.<section>``, or ``None`` and the reason that lands in
``memwise.unavailable``. A missing or unreadable source never raises. ``ctx``
is a ``Collector``: it knows the root the files are read below (``/`` on a
host, a capture directory in unit tests), the units asked for, how to run a
command where the kernel offers no file, and it computes each section once so
``summary`` can use sections that were not asked for.
"""

from __future__ import annotations

import glob
import os
import re

from ansible_collections.memwise.linux.plugins.module_utils import _cgroup, _mounts, _procfs, _sysfs, _systemd, _zram
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

THP_DIR = "/sys/kernel/mm/transparent_hugepage"
ZSWAP_PARAMS = "/sys/module/zswap/parameters"
ZSWAP_DEBUGFS = "/sys/kernel/debug/zswap"
KSM_DIR = "/sys/kernel/mm/ksm"
LRU_GEN_DIR = "/sys/kernel/mm/lru_gen"
KSM_RUN_MODES = {0: "stop", 1: "run", 2: "unmerge"}
SYSTEMD_LIBS = (
    "/usr/lib/*/systemd/libsystemd-shared-*.so",
    "/usr/lib/systemd/libsystemd-shared-*.so",
    "/lib/*/systemd/libsystemd-shared-*.so",
    "/lib/systemd/libsystemd-shared-*.so",
)

# Memory pressure levels (percent of wall time, from /proc/pressure/memory).
# "stalling": every non-idle task waited on memory at once for a noticeable share of time;
#             work is being lost, the host needs memory or less load now.
# "some":     some tasks wait on reclaim or swap-in; latency is being spent, capacity is tight.
PRESSURE_STALLING = {"full_avg10": 5.0, "full_avg60": 1.0}
PRESSURE_SOME = {"some_avg10": 10.0, "some_avg60": 2.0}
LOW_AVAILABLE_RATIO = 0.10
SWAP_NEARLY_FULL_RATIO = 0.80


def _text(ctx, path):
    return _procfs.read_text(path, ctx.root)


def _listdir(ctx, path):
    try:
        return sorted(os.listdir(ctx.path(path)))
    except OSError:
        return None


def _typed_dir(ctx, directory, skip=()):
    """Every readable file of a sysfs directory, typed (bool, int, list, choice or text)."""
    values = {}
    for name in _listdir(ctx, directory) or []:
        full = directory + "/" + name
        if name in skip or os.path.isdir(ctx.path(full)):
            continue
        text, _reason = _text(ctx, full)
        if text is None:
            continue  # write-only triggers (drop_caches, compact_memory) have nothing to report
        values[name] = _typed_value(text)
    return values


def _typed_value(text):
    value = text.strip()
    if "[" in value:
        try:
            return _sysfs.parse_choice(value)[0]
        except MemwiseError:
            return value
    if value in ("Y", "N"):
        return value == "Y"
    return _sysfs.parse_typed(value)


def _section_meminfo(ctx):
    text, reason = _text(ctx, "/proc/meminfo")
    if text is None:
        return None, reason
    return _procfs.parse_meminfo(text), None


def _section_swap(ctx):
    text, reason = _text(ctx, "/proc/swaps")
    if text is None:
        return None, reason
    devices = _procfs.parse_swaps(text)
    total = sum(d["size"] for d in devices)
    used = sum(d["used"] for d in devices)
    return {"devices": devices, "total": total, "used": used, "free": total - used}, None


def _section_zram(ctx):
    if _listdir(ctx, "/sys/block") is None:
        return None, "/sys/block does not exist on this host"
    states = _zram.read_devices(lambda path: _text(ctx, path)[0], lambda path: _listdir(ctx, path))
    devices = [_zram.fact(state) for state in states.values()]
    return {
        "devices": devices,
        "total_disksize": sum(d["disksize"] or 0 for d in devices),
        "total_orig_data_size": sum(d["orig_data_size"] or 0 for d in devices),
        "total_mem_used": sum(d["mem_used_total"] or 0 for d in devices),
    }, None


def _section_zswap(ctx):
    if _listdir(ctx, ZSWAP_PARAMS) is None:
        return None, "%s does not exist: this kernel is built without zswap" % ZSWAP_PARAMS
    data = _typed_dir(ctx, ZSWAP_PARAMS)
    meminfo, _reason = ctx.section("meminfo")
    meminfo = meminfo or {}
    data["pool_size"] = meminfo.get("Zswap")
    data["stored"] = meminfo.get("Zswapped")
    names = _listdir(ctx, ZSWAP_DEBUGFS)
    if names is None:
        data["pool"] = None
        data["pool_unavailable"] = "%s is not readable (debugfs not mounted, or not root)" % ZSWAP_DEBUGFS
    else:
        data["pool"] = _typed_dir(ctx, ZSWAP_DEBUGFS)
        data["pool_unavailable"] = None
    return data, None


def _section_thp(ctx):
    names = _listdir(ctx, THP_DIR)
    if names is None:
        return None, "%s does not exist: this kernel has no transparent huge pages" % THP_DIR
    data = {}
    for key in ("enabled", "defrag", "shmem_enabled"):
        text, _reason = _text(ctx, THP_DIR + "/" + key)
        if text is None:
            data[key], data[key + "_choices"] = None, []
        else:
            data[key], data[key + "_choices"] = _sysfs.parse_choice(text, THP_DIR + "/" + key)
    text, _reason = _text(ctx, THP_DIR + "/hpage_pmd_size")
    data["hpage_pmd_size"] = _sysfs.parse_int(text) if text is not None else None
    data["khugepaged"] = _typed_dir(ctx, THP_DIR + "/khugepaged")
    sizes = {}
    for name in names:
        if name.startswith("hugepages-"):
            text, _reason = _text(ctx, "%s/%s/enabled" % (THP_DIR, name))
            if text is not None:
                sizes[name[len("hugepages-") :]] = _sysfs.parse_choice(text, name + "/enabled")[0]
    data["sizes"] = sizes
    return data, None


def _section_ksm(ctx):
    if _listdir(ctx, KSM_DIR) is None:
        return None, "%s does not exist: this kernel is built without KSM" % KSM_DIR
    data = _typed_dir(ctx, KSM_DIR)
    data["mode"] = KSM_RUN_MODES.get(data.get("run"))
    return data, None


def _section_mglru(ctx):
    text, _reason = _text(ctx, LRU_GEN_DIR + "/enabled")
    if text is None:
        return None, "%s does not exist: this kernel is built without MGLRU (CONFIG_LRU_GEN)" % LRU_GEN_DIR
    mask = _sysfs.parse_int(text, LRU_GEN_DIR + "/enabled")
    data = {"enabled": mask != 0, "mask": mask, "min_ttl_ms": None}
    text, _reason = _text(ctx, LRU_GEN_DIR + "/min_ttl_ms")
    if text is not None:
        data["min_ttl_ms"] = _sysfs.parse_int(text, LRU_GEN_DIR + "/min_ttl_ms")
    return data, None


def _section_psi(ctx):
    data, reasons = {}, []
    for resource in ("memory", "io", "cpu"):
        path = "/proc/pressure/" + resource
        text, reason = _text(ctx, path)
        data[resource] = _procfs.parse_psi(text, path) if text else None
        if text is None:
            reasons.append(reason)
    if all(value is None for value in data.values()):
        return None, "no pressure stall information (kernel without CONFIG_PSI or booted with psi=0): %s" % (reasons[0])
    return data, None


def _section_vm(ctx):
    if _listdir(ctx, "/proc/sys/vm") is None:
        return None, "/proc/sys/vm does not exist on this host"
    return _typed_dir(ctx, "/proc/sys/vm"), None


def _section_vmstat(ctx):
    text, reason = _text(ctx, "/proc/vmstat")
    if text is None:
        return None, reason
    return _procfs.parse_vmstat(text), None


def _memory_hierarchy(layout, controllers):
    """``(host path, "v1"|"v2")`` of the hierarchy holding the memory controller, or ``(None, None)``."""
    if "memory" in layout["v1"]:
        return layout["v1"]["memory"], "v1"
    if layout["unified"] and "memory" in controllers:
        return layout["unified"], "v2"
    return None, None


def _unit_readings(ctx, hierarchy, memory_version):
    """Readings for each unit of ``units``; a unit without a cgroup is None and explained."""
    units = {}
    base = ctx.path(hierarchy) if hierarchy else None
    for unit in ctx.units:
        rel = _cgroup.find_unit(base, unit) if base else None
        if rel is not None:
            units[unit] = _cgroup.read_group(ctx.root, hierarchy, rel, memory_version)
            continue
        units[unit] = None
        if base is None:
            ctx.unavailable["cgroup:" + unit] = "the memory controller is not enabled on this host"
        else:
            ctx.unavailable["cgroup:" + unit] = (
                "no cgroup for %s under %s: the unit is not running, does not exist, "
                "or has no memory accounting" % (unit, hierarchy)
            )
    return units


def _section_cgroup(ctx):
    text, reason = _text(ctx, "/proc/mounts")
    if text is None:
        return None, reason
    layout = _cgroup.detect_layout(_mounts.parse(text, "/proc/mounts"))
    if layout["version"] is None:
        return None, "no cgroup file system is mounted"
    controllers = []
    if layout["unified"]:
        text, _reason = _text(ctx, layout["unified"] + "/cgroup.controllers")
        controllers = (text or "").split()
    controllers = sorted(set(controllers) | set(layout["v1"]))
    hierarchy, memory_version = _memory_hierarchy(layout, controllers)
    data = {
        "version": layout["version"],
        "controllers": controllers,
        "memory_controller": memory_version,
        "groups": {},
        "units": _unit_readings(ctx, hierarchy, memory_version),
        "top_units": [],
    }
    if hierarchy is not None:
        base = ctx.path(hierarchy)
        for group in ("system.slice", "user.slice"):
            if os.path.isdir(os.path.join(base, group)):
                data["groups"][group] = _cgroup.read_group(ctx.root, hierarchy, group, memory_version)
        data["top_units"] = _cgroup.top_units(base, memory_version)
    return data, None


def _systemd_version(ctx):
    for pattern in SYSTEMD_LIBS:
        for path in sorted(glob.glob(ctx.path(pattern))):
            match = re.match(r"libsystemd-shared-(\d+)", os.path.basename(path))
            if match:
                return int(match.group(1))
    return None


def _section_systemd(ctx):
    booted = os.path.isdir(ctx.path("/run/systemd/system"))
    comm, _reason = _text(ctx, "/proc/1/comm")
    data = {
        "booted": booted,
        "pid1": comm.strip() if comm else None,
        "version": _systemd_version(ctx),
        "state": None,
        "oomd_active": None,
    }
    if not booted:
        if data["version"] is None:
            return None, "systemd is not installed on this host"
        return data, None
    # systemd removes a unit's cgroup when the unit stops; systemd-oomd needs the v2 hierarchy.
    data["oomd_active"] = os.path.isdir(ctx.path(_cgroup.CGROUP_ROOT + "/system.slice/systemd-oomd.service"))
    if ctx.run is not None:
        # The system state has no file; systemctl answers without starting anything.
        output = ctx.run(["systemctl", "is-system-running"])
        state = (output or "").strip()
        data["state"] = state or None
    return data, None


def _pressure_level(psi_memory):
    if not psi_memory or not psi_memory.get("some"):
        return None, None
    some, full = psi_memory["some"], psi_memory.get("full") or {}
    pressure = {
        "some_avg10": some["avg10"],
        "some_avg60": some["avg60"],
        "full_avg10": full.get("avg10"),
        "full_avg60": full.get("avg60"),
    }
    if any((pressure[k] or 0) >= limit for k, limit in PRESSURE_STALLING.items()):
        return "stalling", pressure
    if any((pressure[k] or 0) >= limit for k, limit in PRESSURE_SOME.items()):
        return "some", pressure
    return "none", pressure


def _ratio(part, whole):
    return round(part / whole, 4) if whole else None


def _advice(summary, swap, zram, zswap):
    advice = []

    def add(advice_id, severity, text):
        advice.append({"id": advice_id, "severity": severity, "text": text})

    if summary["pressure_level"] == "stalling":
        add(
            "memory_pressure",
            "critical",
            "Tasks are stalled on memory (PSI full avg10 %.1f%%): add memory or swap, or cap the largest units "
            "with MemoryHigh." % (summary["pressure"]["full_avg10"] or 0),
        )
    elif summary["pressure_level"] == "some":
        add(
            "memory_pressure",
            "warning",
            "Some tasks wait on memory reclaim (PSI some avg10 %.1f%%): capacity is tight."
            % summary["pressure"]["some_avg10"],
        )
    if summary["oom_kills"]:
        add(
            "oom_kills",
            "critical",
            "The kernel OOM killer killed %d process(es) since boot: memory was already mismanaged; "
            "set MemoryHigh/MemoryMax on the units that grew or enable systemd-oomd." % summary["oom_kills"],
        )
    if swap is not None and not swap["devices"]:
        add(
            "no_swap",
            "warning",
            "No swap: the kernel can only reclaim page cache, never cold anonymous pages; "
            "add a swap file or zram so reclaim has a choice before the OOM killer.",
        )
    ratio = summary["available_ratio"]
    if ratio is not None and ratio < LOW_AVAILABLE_RATIO:
        add("low_available", "warning", "Only %.0f%% of RAM is available." % (ratio * 100))
    ratio = summary["swap_used_ratio"]
    if ratio is not None and ratio >= SWAP_NEARLY_FULL_RATIO:
        add("swap_nearly_full", "warning", "Swap is %.0f%% used: the next spike has nowhere to go." % (ratio * 100))
    if swap is not None:
        disks = [d for d in swap["devices"] if d["type"] != "zram"]
        zrams = [d for d in swap["devices"] if d["type"] == "zram"]
        if disks and zrams:
            lowest_zram = min(d["priority"] for d in zrams)
            highest_disk = max(disks, key=lambda d: d["priority"])
            if lowest_zram <= highest_disk["priority"]:
                add(
                    "zram_priority",
                    "warning",
                    "zram swap (priority %d) is not above disk swap %s (priority %d): the kernel fills the slower "
                    "device first; give zram the higher priority."
                    % (lowest_zram, highest_disk["path"], highest_disk["priority"]),
                )
    if summary["pressure_level"] is None:
        add("no_psi", "info", "The kernel reports no pressure stall information: memory trouble cannot be measured.")
    if zswap and zswap.get("enabled") and zram and any(d["active"] for d in zram["devices"]):
        add(
            "zswap_with_zram",
            "info",
            "zswap is enabled in front of zram swap: pages are compressed twice; use one of them.",
        )
    return advice


def _section_summary(ctx):
    meminfo, reason = ctx.section("meminfo")
    if meminfo is None:
        return None, "needs meminfo: %s" % reason
    swap, _reason = ctx.section("swap")
    zram, _reason = ctx.section("zram")
    zswap, _reason = ctx.section("zswap")
    thp, _reason = ctx.section("thp")
    psi, _reason = ctx.section("psi")
    vmstat, _reason = ctx.section("vmstat")
    level, pressure = _pressure_level((psi or {}).get("memory"))
    zram_swapping = [d for d in (zram or {}).get("devices", []) if d["active"]]
    orig = sum(d["orig_data_size"] or 0 for d in zram_swapping)
    compr = sum(d["compr_data_size"] or 0 for d in zram_swapping)
    total = meminfo["MemTotal"]
    available = meminfo.get("MemAvailable", meminfo.get("MemFree", 0))
    release, _reason = _text(ctx, "/proc/sys/kernel/osrelease")
    summary = {
        "kernel": release.strip() if release else None,
        "mem_total": total,
        "mem_available": available,
        "available_ratio": _ratio(available, total),
        "swap_total": swap["total"] if swap else None,
        "swap_used": swap["used"] if swap else None,
        "swap_used_ratio": _ratio(swap["used"], swap["total"]) if swap else None,
        "swap_devices": len(swap["devices"]) if swap else None,
        "zram_devices": len(zram_swapping),
        "zram_ratio": round(orig / compr, 2) if compr else None,
        "zswap_enabled": zswap.get("enabled") if zswap else None,
        "thp_enabled": thp["enabled"] if thp else None,
        "pressure_level": level,
        "pressure": pressure,
        "oom_kills": (vmstat or {}).get("oom_kill"),
    }
    summary["advice"] = _advice(summary, swap, zram, zswap)
    return summary, None


SECTIONS = {
    "meminfo": _section_meminfo,
    "swap": _section_swap,
    "zram": _section_zram,
    "zswap": _section_zswap,
    "thp": _section_thp,
    "ksm": _section_ksm,
    "mglru": _section_mglru,
    "psi": _section_psi,
    "vm": _section_vm,
    "vmstat": _section_vmstat,
    "cgroup": _section_cgroup,
    "systemd": _section_systemd,
    "summary": _section_summary,
}


# Where the files are read: the host's root; unit tests point it at a capture.
ROOT = "/"


class Collector:
    """Computes sections once each, below ``root``; extra unavailability lands in ``unavailable``."""

    def __init__(self, root=None, units=(), run=None):
        self.root = root or ROOT
        self.units = list(units or ())
        self.run = run
        self.unavailable = {}
        self._done = {}

    def path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def section(self, name):
        if name not in self._done:
            try:
                self._done[name] = SECTIONS[name](self)
            except MemwiseError as exc:
                self._done[name] = (None, str(exc))
        return self._done[name]


def resolve_subset(requested, valid=None):
    """Resolve ``gather_subset`` (names, ``all``, ``!name``) to an ordered list of sections."""
    valid = list(valid or SECTIONS)
    include, exclude = [], set()
    unknown = []
    for item in requested or ["all"]:
        name = str(item).strip()
        negate = name.startswith("!")
        if negate:
            name = name[1:]
        if name != "all" and name not in valid:
            unknown.append(str(item))
            continue
        names = valid if name == "all" else [name]
        if negate:
            exclude.update(names)
        else:
            include.extend(n for n in names if n not in include)
    if unknown:
        raise MemwiseError(
            "gather_subset: unknown section(s) %s; valid: all, %s (prefix with ! to exclude)"
            % (", ".join(unknown), ", ".join(valid))
        )
    if not include:
        include = list(valid)
    return [name for name in valid if name in include and name not in exclude]


def collect(subset, root=None, units=(), run=None):
    """Collect the named sections; return the ``memwise`` fact dict with ``unavailable``.

    ``units`` are the units or slices whose cgroup memory the ``cgroup`` section
    reports; ``run(argv) -> stdout or None`` runs a command where no file exists
    (the systemd state); without it those values are None.
    """
    problems = [
        p
        for p in (_systemd.unit_name_problem(u, tuple(_systemd.UNIT_TYPES), "memory is read for") for u in units or ())
        if p
    ]
    if problems:
        raise MemwiseError("units: invalid unit names, nothing was gathered: %s" % "; ".join(problems))
    ctx = Collector(root, units, run)
    facts = {}
    for name in subset:
        data, reason = ctx.section(name)
        facts[name] = data
        if reason:
            ctx.unavailable[name] = reason
    facts["unavailable"] = ctx.unavailable
    return facts
