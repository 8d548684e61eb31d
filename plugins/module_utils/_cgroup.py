# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: cgroup layout detection and per-group memory readings (v2, v1 and hybrid).

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

The layout comes from the mount table (``_mounts.parse``): ``cgroup2`` on /sys/fs/cgroup is v2 (the
unified hierarchy), ``cgroup`` (v1) controllers under /sys/fs/cgroup with
``cgroup2`` on /sys/fs/cgroup/unified is hybrid (systemd's legacy mode), v1
controllers alone is v1. Memory readings come from the hierarchy that holds
the memory controller: ``memory.current`` and friends on v2,
``memory.usage_in_bytes`` and friends on v1.
"""

from __future__ import annotations

import os

from ansible_collections.memwise.linux.plugins.module_utils import _procfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

CGROUP_ROOT = "/sys/fs/cgroup"
# v1 reports "no limit" as the largest page-aligned long; anything this big is unlimited.
V1_UNLIMITED = 1 << 62
# How deep to look for a unit that is not directly below its slice (user@.service trees).
MAX_DEPTH = 6
TOP_UNITS = 5

# v2 file -> fact key; limits ("max" means unlimited -> None) are marked True.
V2_FILES = (
    ("memory.current", "current", False),
    ("memory.peak", "peak", False),
    ("memory.min", "min", True),
    ("memory.low", "low", True),
    ("memory.high", "high", True),
    ("memory.max", "max", True),
    ("memory.swap.current", "swap_current", False),
    ("memory.swap.max", "swap_max", True),
    ("memory.swap.peak", "swap_peak", False),
    ("memory.zswap.current", "zswap_current", False),
    ("memory.zswap.max", "zswap_max", True),
)


def detect_layout(mounts):
    """Return ``{"version", "unified", "v1"}`` from the mount table (``_mounts.parse`` records).

    ``unified`` is the mount point of the cgroup2 hierarchy (or None), ``v1``
    maps each v1 controller to its mount point. ``version`` is ``v2``, ``v1``,
    ``hybrid`` or None when no cgroup file system is mounted.
    """
    unified, v1 = None, {}
    for mount in mounts:
        point, fstype, options = mount["mount_point"], mount["fstype"], mount["options"]
        if fstype == "cgroup2" and (unified is None or point == CGROUP_ROOT):
            unified = point
        elif fstype == "cgroup":
            # A named hierarchy (name=systemd, systemd's own tracking tree) is not a controller.
            named = {option[len("name=") :] for option in options if option.startswith("name=")}
            for name in os.path.basename(point).split(","):
                if name and name not in named:
                    v1[name] = point
    if unified and not v1:
        version = "v2"
    elif unified and v1:
        version = "hybrid"
    elif v1:
        version = "v1"
    else:
        version = None
    return {"version": version, "unified": unified, "v1": v1}


def parse_keyed(text, path):
    """Flat keyed files (``memory.events``, ``memory.stat``, ``memory.oom_control``): ``{key: int}``."""
    return _procfs.parse_vmstat(text, path)  # the same "name value" lines as /proc/vmstat


def parse_limit(text, path):
    """A v2 limit file: ``max`` -> None (unlimited), else bytes."""
    value = text.strip()
    if value == "max":
        return None
    if not value.isdigit():
        raise MemwiseError("%s: %r is neither 'max' nor a number of bytes" % (path, value))
    return int(value)


def parse_count(text, path):
    value = text.strip()
    if not value.isdigit():
        raise MemwiseError("%s: %r is not a number" % (path, value))
    return int(value)


def slice_path(name):
    """Where systemd puts a slice: ``a-b-c.slice`` -> ``a.slice/a-b.slice/a-b-c.slice``; ``-.slice`` is the root."""
    if name == "-.slice":
        return ""
    parts = name[: -len(".slice")].split("-")
    return "/".join("-".join(parts[: i + 1]) + ".slice" for i in range(len(parts)))


def _read(full):
    """File text or None; a cgroup file vanishes when its unit stops, which is not an error."""
    try:
        with open(full, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def find_unit(base, unit):
    """Relative cgroup directory of ``unit`` below hierarchy ``base`` (a full path), or None.

    Slices follow systemd's naming rule; other units are looked for directly
    below system.slice first (where services live), then anywhere in the tree
    down to MAX_DEPTH, skipping nothing but files.
    """
    if unit.endswith(".slice"):
        rel = slice_path(unit)
        return rel if os.path.isdir(os.path.join(base, rel)) else None
    rel = "system.slice/" + unit
    if os.path.isdir(os.path.join(base, rel)):
        return rel
    pending = [("", 0)]
    while pending:
        rel_dir, depth = pending.pop(0)
        try:
            names = sorted(os.listdir(os.path.join(base, rel_dir)))
        except OSError:
            continue
        for name in names:
            child = rel_dir + "/" + name if rel_dir else name
            if not os.path.isdir(os.path.join(base, child)):
                continue
            if name == unit:
                return child
            if depth + 1 < MAX_DEPTH:
                pending.append((child, depth + 1))
    return None


def read_group_v2(full):
    """Memory readings of one v2 cgroup directory; keys only for files this kernel has."""
    stats = {}
    for filename, key, is_limit in V2_FILES:
        text = _read(os.path.join(full, filename))
        if text is None:
            continue
        path = os.path.join(full, filename)
        stats[key] = parse_limit(text, path) if is_limit else parse_count(text, path)
    text = _read(os.path.join(full, "memory.events"))
    stats["events"] = parse_keyed(text, "memory.events") if text is not None else None
    text = _read(os.path.join(full, "memory.pressure"))
    stats["pressure"] = _procfs.parse_psi(text, "memory.pressure") if text else None
    return stats


def read_group_v1(full):
    """Memory readings of one v1 memory-controller directory, under the v2 key names."""
    stats = {}
    usage = _read(os.path.join(full, "memory.usage_in_bytes"))
    if usage is not None:
        stats["current"] = parse_count(usage, "memory.usage_in_bytes")
    peak = _read(os.path.join(full, "memory.max_usage_in_bytes"))
    if peak is not None:
        stats["peak"] = parse_count(peak, "memory.max_usage_in_bytes")
    limit = _read(os.path.join(full, "memory.limit_in_bytes"))
    if limit is not None:
        value = parse_count(limit, "memory.limit_in_bytes")
        stats["max"] = None if value >= V1_UNLIMITED else value
    memsw = _read(os.path.join(full, "memory.memsw.usage_in_bytes"))
    if memsw is not None and "current" in stats:
        stats["swap_current"] = max(parse_count(memsw, "memory.memsw.usage_in_bytes") - stats["current"], 0)
    oom = _read(os.path.join(full, "memory.oom_control"))
    stats["events"] = None
    if oom is not None:
        control = parse_keyed(oom, "memory.oom_control")
        if "oom_kill" in control:
            stats["events"] = {"oom_kill": control["oom_kill"]}
    stats["pressure"] = None
    return stats


def read_group(root, hierarchy, rel, memory_version):
    """Readings for cgroup ``rel`` of the memory ``hierarchy`` (a host path) seen below ``root``."""
    path = hierarchy.rstrip("/") + ("/" + rel if rel else "")
    reader = read_group_v2 if memory_version == "v2" else read_group_v1
    stats = reader(os.path.join(root, path.lstrip("/")))
    stats["path"] = path
    return stats


def top_units(base, memory_version, count=TOP_UNITS):
    """The ``count`` largest children of every top-level slice, by current memory."""
    current_file = "memory.current" if memory_version == "v2" else "memory.usage_in_bytes"
    rows = []
    try:
        slices = sorted(n for n in os.listdir(base) if n.endswith(".slice"))
    except OSError:
        return []
    for slice_name in slices:
        slice_dir = os.path.join(base, slice_name)
        try:
            children = os.listdir(slice_dir)
        except OSError:
            continue
        for child in children:
            text = _read(os.path.join(slice_dir, child, current_file))
            if text is not None and text.strip().isdigit():
                rows.append({"unit": child, "slice": slice_name, "current": int(text)})
    rows.sort(key=lambda row: (-row["current"], row["unit"]))
    return rows[:count]
