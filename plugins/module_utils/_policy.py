# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the memory policy as data - memory facts + profile + overrides -> a plan.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

``plan(facts, profile, ...)`` is a pure function of a host's
``ansible_facts.memwise`` and the operator's wishes. Every planned value
carries the rule that chose it (an id of ``RULES``, whose text names the source:
an installer's swap table, zram-generator's default, a database's production
notes, tuned, systemd-oomd); ``docs/docsite/rst/memory_policy.rst`` holds the
same table. The result also holds the module arguments the
``memory_policy`` role passes to the collection's modules unchanged, so the
role has no logic of its own.

The design it encodes: swap is there so the kernel can reclaim cold anonymous
pages and so systemd-oomd has room to act; oomd kills on swap use (with a limit
that leaves it time) long before the kernel would have to; workload slices are
throttled with MemoryHigh (a MemoryMax hit is a kernel OOM kill, so the policy
never sets one unless asked); what must survive gets MemoryLow and
``ManagedOOMPreference=avoid``.
"""

from __future__ import annotations

import re

from ansible_collections.memwise.linux.plugins.module_utils import _sysctl as _sysctl_rules
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError, invalid
from ansible_collections.memwise.linux.plugins.module_utils._sizes import to_bytes

MIB = 1 << 20
GIB = 1 << 30

PROFILES = ("server", "database", "container_host", "desktop", "small_vm")
TIERS = (("<1G", 0), ("1-4G", GIB), ("4-16G", 4 * GIB), ("16-64G", 16 * GIB), (">64G", 64 * GIB))
OOMD_MODES = ("required", "optional", "off")
SWAP_DEVICE = "/swapfile"

RULES = {
    "tier": "RAM tier from MemTotal rounded up to a quarter of the power of two below it (firmware and kernel keep "
    "back 2-10% of the RAM installed: 967 MiB is a 1 GiB host, 7.66 GiB an 8 GiB one)",
    "swap-table": "Swap file by RAM tier, after the Ubuntu (curtin) and RHEL 9 installer tables: < 1 GiB 2x RAM; "
    "1-4 GiB max(RAM, 2 GiB); 4-16 GiB 4 GiB; 16-64 GiB RAM/2 up to 8 GiB; > 64 GiB 8 GiB",
    "swap-database": "Database: swap only as a safety valve beside swappiness 1 - the installer table, at most 4 GiB",
    "swap-none": "No disk swap: this profile swaps to zram",
    "swap-priority": "Disk swap below zram (priority 10 < 100), so the kernel fills compressed RAM first",
    "zram-fedora": "Desktop: zram of min(RAM, 8 GiB), zstd (Fedora's default since 34)",
    "zram-generator": "Small VM: zram of min(RAM / 2, 4 GiB), zstd (systemd-zram-generator's default)",
    "zram-none": "No zram: this profile swaps to disk, compressed in front by zswap",
    "zram-priority": "zram above disk swap (priority 100)",
    "zswap-on": "zswap in front of disk swap: zstd, zsmalloc, 20% of RAM (the kernel's default pool size)",
    "zswap-off": "zswap off: the profile swaps to zram, and zswap in front of zram compresses pages twice",
    "zswap-missing": "This kernel has no zswap (no /sys/module/zswap/parameters); nothing is set",
    "zswap-no-zpool": "This kernel has no zswap zpool parameter (Linux 6.15 removed it: zsmalloc is the only "
    "pool); the pool is not set",
    "swappiness-default": "vm.swappiness 60 (the kernel's balance): cold anonymous pages are reclaimed like cold files",
    "swappiness-zram": "vm.swappiness 100 with zram: swapping to compressed RAM is cheaper than dropping page cache",
    "swappiness-database": "vm.swappiness 1 (MongoDB production notes; tuned's postgresql profile uses 3): the "
    "buffer pool stays in RAM, swap only under real shortage",
    "page-cluster-zram": "vm.page-cluster 0 with zram: swap-in readahead buys nothing on a RAM disk "
    "(Fedora and ChromeOS)",
    "overcommit-containers": "vm.overcommit_memory 1, what kubelet's protectKernelDefaults expects on a node",
    "dirty-bytes": "Dirty page limits in bytes above 16 GiB of RAM (256 MiB background, 1 GiB hard): percentages of "
    "a large RAM let gigabytes pile up and leave in one writeback storm",
    "watermark": "vm.watermark_scale_factor 100 (1% of RAM) from 4 GiB: kswapd starts earlier, so allocations "
    "stall less in direct reclaim (the kernel's default is 10, 0.1%)",
    "thp-madvise": "THP madvise: huge pages where programs ask for them, no bloat elsewhere",
    "thp-never": "THP never: PostgreSQL, Redis and MongoDB before 8.0 ask for it off (latency spikes, bloat)",
    "ksm-stop": "KSM stopped: merging pays only on hosts running many similar VMs, and costs CPU",
    "mglru-on": "MGLRU on: better choices of what to reclaim under pressure (Linux 6.1+)",
    "mglru-ttl-0": "MGLRU min_ttl_ms 0: a non-zero value makes the kernel OOM-kill to keep the working set, which "
    "this policy exists to avoid",
    "mglru-missing": "This kernel has no MGLRU (no /sys/kernel/mm/lru_gen); nothing is set",
    "oomd-swap-limit": "systemd-oomd SwapUsedLimit 80% (default 90%): it kills on swap use while 20% of swap is "
    "still free, time the kernel would not give it (measured: 90% left a hog 24-27 s, killed at 93%)",
    "oomd-pressure": "systemd-oomd DefaultMemoryPressureLimit 60% for 20 s (the man page's 60%; Fedora and Ubuntu "
    "act after 20 s)",
    "oomd-system-swap": "ManagedOOMSwap=kill on system.slice: the service using most swap is killed when swap "
    "runs out, not a random victim of the kernel",
    "oomd-user-swap": "ManagedOOMSwap=kill on user.slice: a runaway session is killed on swap use",
    "oomd-user-pressure": "ManagedOOMMemoryPressure=kill at 50% on user.slice (Ubuntu's desktop default; 80% froze "
    "desktops, systemd issue 25596)",
    "oomd-limit-swap": "ManagedOOMSwap=kill on a limited slice: its hog is the first candidate",
    "protect-low": "MemoryLow from the protected share of RAM: the kernel reclaims elsewhere first",
    "protect-min": "MemoryMin (hard protection) from the protected share of RAM, as asked",
    "protect-avoid": "ManagedOOMPreference=avoid: systemd-oomd picks this unit last",
    "limit-high": "MemoryHigh: the unit is throttled and reclaimed above it, never killed by the kernel for it",
    "limit-max": "MemoryMax, as asked: a hard cap whose breach is a kernel (memcg) OOM kill",
    "override": "Set by memory_policy_overrides",
}

# What each area of the plan holds and how an override value is checked.
_SIZE, _BOOL, _INT, _PERCENT, _TEXT, _DURATION = "size", "bool", "int", "percent", "text", "duration"
AREAS = {
    "swap": {"enabled": _BOOL, "device": _TEXT, "size": _SIZE, "priority": _INT},
    "zram": {"enabled": _BOOL, "size": _TEXT, "max_size": _SIZE, "algorithm": _TEXT, "priority": _INT},
    "zswap": {"enabled": _BOOL, "compressor": _TEXT, "zpool": _TEXT, "max_pool_percent": _INT},
    "sysctl": None,  # any sysctl key: its shape and the documented range of common keys are checked here
    "thp": {
        "enabled": ("always", "madvise", "never"),
        "defrag": ("always", "defer", "defer+madvise", "madvise", "never"),
    },
    "ksm": {"run": ("stop", "run", "unmerge")},
    "mglru": {"enabled": _BOOL, "min_ttl_ms": _INT},
    "oomd": {
        "SwapUsedLimit": _PERCENT,
        "DefaultMemoryPressureLimit": _PERCENT,
        "DefaultMemoryPressureDurationSec": _DURATION,
    },
}
# Integer overrides with a range: (area, key) -> (minimum, maximum), as the modules check them on the host.
INT_RANGES = {
    ("swap", "priority"): (-1, 32767),
    ("zram", "priority"): (-1, 32767),
    ("zswap", "max_pool_percent"): (0, 100),
    ("mglru", "min_ttl_ms"): (0, 2**31 - 1),
}
# The sysctl range table depends on the kernel (vm.swappiness: 0..100 before 5.8, 0..200 since);
# the plan is computed on the controller, so it checks against a current kernel and the
# sysctl module has the last word on the host.
CURRENT_KERNEL = (6, 1)
_SYSCTL_KEY = re.compile(r"^[a-z0-9_]+([./][A-Za-z0-9_.\-]+)+$")
_UNIT = re.compile(r"^[A-Za-z0-9:_.\\@-]+\.(service|slice|scope)$")


def ram_class(mem_total):
    """The RAM the host was given: MemTotal (which lacks what firmware and kernel keep back, 2-10%) rounded
    up to a multiple of a quarter of the power of two below it (967 MiB -> 1 GiB, 7.66 GiB -> 8 GiB,
    11.6 GiB -> 12 GiB)."""
    mem_total = int(mem_total)
    step = max(1 << max(mem_total.bit_length() - 3, 0), MIB)
    return -(-mem_total // step) * step


def tier_of(ram):
    """The tier name of a RAM size (``ram_class``)."""
    name = TIERS[0][0]
    for tier, floor in TIERS:
        if ram >= floor:
            name = tier
    return name


def swap_table(ram):
    """The installer table's swap size for ``ram`` (bytes)."""
    if ram < GIB:
        return 2 * ram
    if ram < 4 * GIB:
        return max(ram, 2 * GIB)
    if ram < 16 * GIB:
        return 4 * GIB
    if ram < 64 * GIB:
        return min(ram // 2, 8 * GIB)
    return 8 * GIB


def _value(value, rule):
    return {"value": value, "rule": rule}


def _storage(profile, ram):
    """swap, zram and zswap areas for the profile."""
    zram_profile = profile in ("desktop", "small_vm")
    if profile == "desktop":
        swap = {"enabled": _value(False, "swap-none")}
    else:
        size, rule = swap_table(ram), "swap-table"
        if profile == "database":
            size, rule = min(size, 4 * GIB), "swap-database"
        swap = {
            "enabled": _value(True, rule),
            "device": _value(SWAP_DEVICE, rule),
            "size": _value(size, rule),
            "priority": _value(10, "swap-priority"),
        }
    if profile == "desktop":
        zram = {"size": "100%", "max_size": 8 * GIB, "rule": "zram-fedora"}
    elif profile == "small_vm":
        zram = {"size": "50%", "max_size": 4 * GIB, "rule": "zram-generator"}
    else:
        zram = None
    if zram:
        rule = zram.pop("rule")
        zram = {
            "enabled": _value(True, rule),
            "size": _value(zram["size"], rule),
            "max_size": _value(zram["max_size"], rule),
            "algorithm": _value("zstd", rule),
            "priority": _value(100, "zram-priority"),
        }
    else:
        zram = {"enabled": _value(False, "zram-none")}
    if zram_profile:
        zswap = {"enabled": _value(False, "zswap-off")}
    else:
        zswap = {
            "enabled": _value(True, "zswap-on"),
            "compressor": _value("zstd", "zswap-on"),
            "zpool": _value("zsmalloc", "zswap-on"),
            "max_pool_percent": _value(20, "zswap-on"),
        }
    return {"swap": swap, "zram": zram, "zswap": zswap}


def _sysctl(profile, ram):
    zram_profile = profile in ("desktop", "small_vm")
    if profile == "database":
        keys = {"vm.swappiness": _value(1, "swappiness-database")}
    elif zram_profile:
        keys = {"vm.swappiness": _value(100, "swappiness-zram"), "vm.page-cluster": _value(0, "page-cluster-zram")}
    else:
        keys = {"vm.swappiness": _value(60, "swappiness-default")}
    if profile == "container_host":
        keys["vm.overcommit_memory"] = _value(1, "overcommit-containers")
    if ram >= 4 * GIB and not zram_profile:
        keys["vm.watermark_scale_factor"] = _value(100, "watermark")
    if ram >= 16 * GIB and not zram_profile:
        keys["vm.dirty_background_bytes"] = _value(256 * MIB, "dirty-bytes")
        keys["vm.dirty_bytes"] = _value(GIB, "dirty-bytes")
    return keys


def _mm(profile, facts):
    thp = "thp-never" if profile == "database" else "thp-madvise"
    value = "never" if profile == "database" else "madvise"
    areas = {
        "thp": {"enabled": _value(value, thp), "defrag": _value(value, thp)},
        "ksm": {"run": _value("stop", "ksm-stop")},
    }
    if facts.get("mglru") is None:
        areas["mglru"] = {"enabled": _value(None, "mglru-missing")}
    else:
        areas["mglru"] = {"enabled": _value(True, "mglru-on"), "min_ttl_ms": _value(0, "mglru-ttl-0")}
    return areas


def _fit_zswap(areas, facts):
    """Leave out what this kernel's zswap lacks: all of it, or the zpool parameter (gone in Linux 6.15)."""
    zswap = facts.get("zswap")
    if zswap is None:
        areas["zswap"] = {"enabled": _value(None, "zswap-missing")}
    elif isinstance(zswap, dict) and "zpool" not in zswap and "zpool" in areas["zswap"]:
        areas["zswap"]["zpool"] = _value(None, "zswap-no-zpool")


def _oomd(profile):
    return {
        "SwapUsedLimit": _value("80%", "oomd-swap-limit"),
        "DefaultMemoryPressureLimit": _value("60%", "oomd-pressure"),
        "DefaultMemoryPressureDurationSec": _value("20s", "oomd-pressure"),
    }


def _units(profile, protect, limit, oomd_on):
    units = {}

    def put(unit, prop, value, rule):
        units.setdefault(unit, {})[prop] = _value(value, rule)

    if oomd_on:
        put("system.slice", "ManagedOOMSwap", "kill", "oomd-system-swap")
        put("user.slice", "ManagedOOMSwap", "kill", "oomd-user-swap")
        if profile == "desktop":
            put("user.slice", "ManagedOOMMemoryPressure", "kill", "oomd-user-pressure")
            put("user.slice", "ManagedOOMMemoryPressureLimit", "50%", "oomd-user-pressure")
    for entry in protect:
        prop, rule = ("MemoryMin", "protect-min") if entry["hard"] else ("MemoryLow", "protect-low")
        put(entry["unit"], prop, entry["share"], rule)
        if oomd_on:
            put(entry["unit"], "ManagedOOMPreference", "avoid", "protect-avoid")
    for entry in limit:
        put(entry["unit"], "MemoryHigh", entry["high"], "limit-high")
        if entry.get("max"):
            put(entry["unit"], "MemoryMax", entry["max"], "limit-max")
        if oomd_on and entry["unit"].endswith(".slice"):
            put(entry["unit"], "ManagedOOMSwap", "kill", "oomd-limit-swap")
    return units


def _check_percent(text, name, errors, low=1, high=100):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)%", str(text).strip())
    if not match or not low <= float(match.group(1)) <= high:
        errors.append("%s: %r: give a percentage from %d%% to %d%%" % (name, text, low, high))
        return None
    return str(text).strip()


def _check_int(name, value, bounds, errors):
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append("%s: %r: give an integer" % (name, value))
    elif bounds and not bounds[0] <= value <= bounds[1]:
        errors.append("%s: %r is outside %d..%d" % (name, value, bounds[0], bounds[1]))


def _check_value(area, key, value, kind, errors):
    name = "memory_policy_overrides.%s.%s" % (area, key)
    if isinstance(kind, tuple):
        if value not in kind:
            errors.append("%s: %r: choose one of %s" % (name, value, ", ".join(kind)))
    elif kind == _BOOL:
        if not isinstance(value, bool):
            errors.append("%s: %r: give true or false" % (name, value))
    elif kind == _INT:
        _check_int(name, value, INT_RANGES.get((area, key)), errors)
    elif kind == _SIZE:
        try:
            return to_bytes(value, name=name)
        except MemwiseError as exc:
            errors.append(str(exc))
    elif kind == _PERCENT:
        return _check_percent(value, name, errors)
    elif kind == _DURATION:
        if not re.fullmatch(r"\d+(s|min|ms)?", str(value)):
            errors.append("%s: %r: give a duration such as 20s or 1min" % (name, value))
    elif not isinstance(value, str) or not value.strip():
        errors.append("%s: %r: give a non-empty string" % (name, value))
    return value


def _sysctl_problem(key, value):
    """Why the sysctl module would refuse ``key = value`` on a current kernel; None when it would not."""
    try:
        canonical, _path = _sysctl_rules.parse_key(key, name="memory_policy_overrides.sysctl")
        return _sysctl_rules.check_range(canonical, _sysctl_rules.normalize_value(value, canonical), CURRENT_KERNEL)
    except MemwiseError as exc:
        return str(exc).partition(": ")[2] or str(exc)


def _apply_overrides(plan_areas, overrides, errors):
    if not isinstance(overrides, dict):
        errors.append("memory_policy_overrides: give a dict of areas (%s)" % ", ".join(AREAS))
        return
    for area, values in overrides.items():
        if area not in AREAS:
            errors.append("memory_policy_overrides.%s: no such area; the areas are %s" % (area, ", ".join(AREAS)))
            continue
        if not isinstance(values, dict):
            errors.append("memory_policy_overrides.%s: give a dict of settings" % area)
            continue
        for key, given in values.items():
            if AREAS[area] is None:
                if not _SYSCTL_KEY.match(str(key)) or isinstance(given, (dict, bool)) or given is None:
                    errors.append(
                        "memory_policy_overrides.sysctl.%s: %r: give a sysctl key (vm.swappiness) and a number, "
                        "text or list" % (key, given)
                    )
                    continue
                problem = _sysctl_problem(str(key), given)
                if problem:
                    errors.append("memory_policy_overrides.sysctl.%s: %r: %s" % (key, given, problem))
                    continue
                value = given
            elif key not in AREAS[area]:
                errors.append(
                    "memory_policy_overrides.%s.%s: no such setting; %s has %s"
                    % (area, key, area, ", ".join(AREAS[area]))
                )
                continue
            else:
                value = _check_value(area, key, given, AREAS[area][key], errors)
            plan_areas.setdefault(area, {})[key] = _value(value, "override")


def _entry(entry, where, fields, errors):
    """One ``memory_policy_protect`` / ``memory_policy_limit`` entry, normalised; None (and an error) when bad."""
    if isinstance(entry, str):
        entry = {"unit": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("unit"), str):
        errors.append("%s: %r: give {unit: NAME.service or NAME.slice, ...}" % (where, entry))
        return None
    unknown = sorted(set(entry) - set(fields) - {"unit"})
    if unknown:
        errors.append("%s: unknown key(s) %s; the keys are unit, %s" % (where, ", ".join(unknown), ", ".join(fields)))
        return None
    if not _UNIT.match(entry["unit"]):
        errors.append(
            "%s: unit %r is not a systemd service, slice or scope name (for example nginx.service)"
            % (where, entry["unit"])
        )
        return None
    normal = {"unit": entry["unit"]}
    for field, default in fields.items():
        value = entry.get(field, default)
        if field == "hard" and not isinstance(value, bool):
            errors.append("%s: hard: %r: give true or false" % (where, value))
        elif field != "hard" and value is not None:
            value = _check_percent(value, "%s: %s" % (where, field), errors, 1, 90 if field == "share" else 100)
        normal[field] = value
    return normal


def _entries(entries, name, errors, fields):
    """Normalised ``memory_policy_protect`` / ``memory_policy_limit`` entries; problems go to ``errors``."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        errors.append("%s: give a list of {unit: ...} entries" % name)
        return []
    out = []
    for number, entry in enumerate(entries, 1):
        normal = _entry(entry, "%s[%d]" % (name, number), fields, errors)
        if normal is None:
            continue
        if normal["unit"] in [e["unit"] for e in out]:
            errors.append("%s[%d]: unit %s is listed twice" % (name, number, normal["unit"]))
            continue
        out.append(normal)
    return out


def oomd_prerequisites(facts, plan_areas):
    """What systemd-oomd lacks on this host, as text naming each missing piece (empty: it can run)."""
    missing = []
    cgroup = facts.get("cgroup") or {}
    if cgroup.get("version") != "v2":
        missing.append(
            "unified cgroup v2 (this host has %s; boot with systemd.unified_cgroup_hierarchy=1)"
            % (cgroup.get("version") or "no cgroup file system")
        )
    elif "memory" not in (cgroup.get("controllers") or []):
        missing.append("the cgroup v2 memory controller (memory accounting)")
    if not (facts.get("psi") or {}).get("memory"):
        missing.append("pressure stall information (/proc/pressure/memory; boot with psi=1, CONFIG_PSI)")
    systemd = facts.get("systemd") or {}
    if not systemd.get("booted"):
        missing.append("systemd as PID 1")
    elif (systemd.get("version") or 0) < 248:
        missing.append("systemd 248 or newer (this host has %s)" % systemd.get("version"))
    swap_on = plan_areas["swap"]["enabled"]["value"] or plan_areas["zram"]["enabled"]["value"]
    if not swap_on and not ((facts.get("swap") or {}).get("total")):
        missing.append("swap, which swap-based kills need (the plan adds none: enable swap or zram)")
    return missing


def plan(facts, profile="server", *, overrides=None, protect=None, limit=None, oomd="optional"):
    """The memory plan of one host; raises MemwiseError naming every bad input at once."""
    errors = []
    if profile not in PROFILES:
        errors.append("memory_policy_profile: %r: no such profile; choose one of %s" % (profile, ", ".join(PROFILES)))
    if oomd not in OOMD_MODES:
        errors.append("memory_policy_oomd: %r: choose one of %s" % (oomd, ", ".join(OOMD_MODES)))
    meminfo = (facts or {}).get("meminfo") or {}
    if not meminfo.get("MemTotal"):
        errors.append("facts: no meminfo.MemTotal; gather memwise.linux.memory_facts with the meminfo section first")
    protect = _entries(protect, "memory_policy_protect", errors, {"share": "10%", "hard": False})
    limit = _entries(limit, "memory_policy_limit", errors, {"high": "60%", "max": None})
    clash = {e["unit"] for e in protect} & {e["unit"] for e in limit}
    if clash:
        errors.append("%s: both protected and limited; pick one" % ", ".join(sorted(clash)))
    if errors:
        raise invalid(errors, "memory policy")
    ram = ram_class(meminfo["MemTotal"])
    areas = _storage(profile, ram)
    areas["sysctl"] = _sysctl(profile, ram)
    areas.update(_mm(profile, facts))
    _fit_zswap(areas, facts)
    areas["oomd"] = _oomd(profile) if oomd != "off" else {}
    _apply_overrides(areas, overrides or {}, errors)
    if errors:
        raise invalid(errors, "memory policy")
    missing = oomd_prerequisites(facts, areas) if oomd != "off" else []
    if missing and oomd == "required":
        raise MemwiseError(
            "memory_policy_oomd: required, but systemd-oomd cannot work on this host: %s; nothing changed. "
            "Fix these or set memory_policy_oomd: optional" % "; ".join(missing)
        )
    oomd_on = oomd != "off" and not missing
    areas["units"] = _units(profile, protect, limit, oomd_on)
    return {
        "profile": profile,
        "tier": tier_of(ram),
        "mem_total": int(meminfo["MemTotal"]),
        "ram": ram,
        "oomd": {"mode": oomd, "enabled": oomd_on, "missing": missing},
        "settings": flatten(areas),
        "modules": module_args(areas, oomd_on),
    }


def flatten(areas):
    """``{"area.setting": {value, rule}}`` (units: ``units.UNIT.Property``), for reports and the audit."""
    flat = {}
    for area, values in areas.items():
        if area == "units":
            for unit, props in values.items():
                for prop, value in props.items():
                    flat["units.%s.%s" % (unit, prop)] = value
            continue
        for key, value in values.items():
            flat["%s.%s" % (area, key)] = value
    return flat


def _plain(values):
    return {key: value["value"] for key, value in values.items()}


def module_args(areas, oomd_on):
    """The arguments of each module the role calls; None where the module has nothing to do."""
    swap = _plain(areas["swap"])
    zram = _plain(areas["zram"])
    zswap_off = (areas["zswap"].get("enabled") or {}).get("value") is False
    zswap = {
        key: entry["value"]
        for key, entry in areas["zswap"].items()
        # Off: the profile's compressor and pool do not matter (and may not exist); overrides stay.
        if entry["value"] is not None and (not zswap_off or key == "enabled" or entry["rule"] == "override")
    }
    mm = {"thp": _plain(areas["thp"]), "ksm": _plain(areas["ksm"]), "zswap": zswap or None}
    mglru = _plain(areas["mglru"])
    if mglru.get("enabled") is not None:
        mm["mglru"] = mglru
    return {
        "sysctl": {"settings": _plain(areas["sysctl"])} if areas["sysctl"] else None,
        "swap": {k: v for k, v in swap.items() if k != "enabled"} if swap.pop("enabled") else None,
        "zram": {k: v for k, v in zram.items() if k != "enabled"} if zram.pop("enabled") else None,
        "mm_tunables": mm,
        "oomd": _plain(areas["oomd"]) if oomd_on else None,
        "unit_resources": [
            {"unit": unit, "properties": _plain(props)} for unit, props in sorted(areas["units"].items())
        ],
    }
