# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: zram swap - parse /sys/block/zramN, resolve sizes, plan, render the persistent configuration.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Everything here is pure: the zram module reads the host, hands the texts to
these functions and applies what ``plan`` returns. Sizes follow
systemd-zram-generator's arithmetic exactly (``ram`` is MemTotal in whole MiB,
the expression is evaluated in floating point, the result in MiB is truncated
to bytes, and the kernel rounds disksize up to a page), so a device set up live
by the module and one set up by the generator at boot have the same size.
"""

from __future__ import annotations

import re

from ansible_collections.memwise.linux.plugins.module_utils import _sysfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._sizes import human_bytes, to_bytes

SYS_BLOCK = "/sys/block"
HOT_ADD = "/sys/class/zram-control/hot_add"
# The paths the boot unit writes (the two above are where the module reads; tests point them elsewhere).
UNIT_SYS_BLOCK, UNIT_HOT_ADD = SYS_BLOCK, HOT_ADD
GENERATOR = "/usr/lib/systemd/system-generators/zram-generator"
GENERATOR_CONF = "/etc/systemd/zram-generator.conf"
GENERATOR_DEFAULT_CONF = "/usr/lib/systemd/zram-generator.conf"
UNIT_NAME = "memwise-zram.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT_NAME
HEADER = "# Managed by memwise.linux.zram (Ansible); changes here are overwritten.\n"
PRIORITY_MIN, PRIORITY_MAX = -1, 32767
MIB = 1024**2
MIN_DEVICE_SIZE = MIB
MM_STAT = (
    "orig_data_size",
    "compr_data_size",
    "mem_used_total",
    "mem_limit",
    "mem_used_max",
    "same_pages",
    "pages_compacted",
    "huge_pages",
    "huge_pages_since",
)
DEVICE_RE = re.compile(r"^zram(\d+)$")
_NOTHING = "; nothing was changed"


def device_names(count):
    return ["zram%d" % index for index in range(count)]


def device_index(name):
    return int(DEVICE_RE.match(name).group(1))


# ---------------------------------------------------------------- kernel files


def parse_algorithms(text, path=SYS_BLOCK + "/zram0/comp_algorithm"):
    """``lzo lzo-rle [lz4] zstd`` -> ``("lz4", ["lzo", "lzo-rle", "lz4", "zstd"])``."""
    if not text or not text.strip():
        raise MemwiseError("%s is empty: the kernel lists no compression algorithm for zram" % path)
    return _sysfs.parse_choice(text, path)


def parse_mm_stat(text):
    """``mm_stat`` -> ``{orig_data_size: int, ...}`` (missing columns of older kernels are None)."""
    words = (text or "").split()
    return {key: int(words[i]) if i < len(words) and words[i].isdigit() else None for i, key in enumerate(MM_STAT)}


def compression_ratio(mm_stat):
    orig, compr = mm_stat.get("orig_data_size"), mm_stat.get("compr_data_size")
    return round(orig / compr, 2) if orig and compr else None


def device_state(name, files, swaps, mounts=""):
    """One device's state from its sysfs texts (``files``: name -> text or None), /proc/swaps and /proc/mounts."""
    if files.get("disksize") is None:
        return {"name": name, "exists": False, "initialised": False, "active": False}
    disksize = _sysfs.parse_int(files["disksize"], "%s/%s/disksize" % (SYS_BLOCK, name))
    algorithm = parse_algorithms(files["comp_algorithm"])[0] if files.get("comp_algorithm") else None
    swap = next((s for s in swaps if s["path"] == "/dev/" + name), None)
    stat = parse_mm_stat(files.get("mm_stat"))
    return {
        "name": name,
        "exists": True,
        "initialised": disksize > 0,
        "active": swap is not None,
        "disksize": disksize,
        "algorithm": algorithm,
        "priority": swap["priority"] if swap else None,
        "size": swap["size"] if swap else None,
        "used": swap["used"] if swap else 0,
        "mounted": any(line.split()[:1] == ["/dev/" + name] for line in mounts.splitlines()),
        "holders": bool(files.get("holders")),
        "orig_data_size": stat["orig_data_size"],
        "compr_data_size": stat["compr_data_size"],
        "mem_used_total": stat["mem_used_total"],
        "compression_ratio": compression_ratio(stat) if swap and swap["used"] else None,
    }


def summary(state):
    """What the diff and ``before``/``after`` show of a device."""
    keys = ("disksize", "algorithm", "priority", "active")
    return {key: state.get(key) if state.get("initialised") or key == "active" else None for key in keys}


# ---------------------------------------------------------------- options


def parse_size(value, name="size"):
    """``{"percent": 50.0}`` or ``{"bytes": 2147483648}``; the text is checked by the one size parser."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().endswith("%"):
        to_bytes(value, total=1, name=name)  # validates the form and the 100 % ceiling
        percent = float(value.strip()[:-1])
        if percent <= 0:
            raise MemwiseError("%s: %r is no memory at all; give a percentage above 0, like '50%%'" % (name, value))
        return {"percent": percent}
    return {"bytes": to_bytes(value, name=name)}


def validate(params, algorithms=None):
    """Check every option at once; return the spec or raise one MemwiseError naming each bad option."""
    errors, spec = [], {"devices": params.get("devices"), "priority": params.get("priority")}
    for key in ("size", "max_size"):
        try:
            spec[key] = parse_size(params.get(key), key)
        except MemwiseError as exc:
            errors.append(str(exc))
    if spec.get("max_size") and "percent" in spec["max_size"]:
        errors.append("max_size: %r is a percentage; give the cap as an absolute size like '4G'" % params["max_size"])
    elif spec.get("max_size") and spec.get("size") and "bytes" in spec["size"]:
        errors.append("max_size: caps a percentage, but size %r is absolute; drop max_size" % params["size"])
    elif spec.get("max_size") and spec["max_size"]["bytes"] < MIN_DEVICE_SIZE:
        errors.append("max_size: %r is below 1 MiB, too small for a swap device" % params["max_size"])
    if spec["devices"] is not None and spec["devices"] < 1:
        errors.append("devices: %d; give 1 or more zram devices (state=absent removes them)" % spec["devices"])
    prio = spec["priority"]
    if prio is not None and not PRIORITY_MIN <= prio <= PRIORITY_MAX:
        errors.append(
            "priority: %d is outside %d..%d (-1 lets the kernel choose; keep zram above disk swap, e.g. 100)"
            % (prio, PRIORITY_MIN, PRIORITY_MAX)
        )
    algorithm = params.get("algorithm")
    spec["algorithm"] = algorithm
    if algorithm is not None and algorithms is not None and algorithm not in algorithms:
        errors.append(
            "algorithm: %r is not one this kernel offers for zram (it lists %s in %s/zram0/comp_algorithm); "
            "pick one of those" % (algorithm, ", ".join(algorithms), SYS_BLOCK)
        )
    if errors:
        raise MemwiseError("invalid options, nothing changed: " + "; ".join(errors))
    return spec


# ---------------------------------------------------------------- sizes


def _mib_text(size_bytes):
    """A byte count as a zram-generator expression in MiB (exact: dividing by 2**20 loses nothing)."""
    if size_bytes % MIB == 0:
        return str(size_bytes // MIB)
    return "%d / %d" % (size_bytes, MIB)


def _percent_text(percent):
    return ("%f" % percent).rstrip("0").rstrip(".")


def size_expression(spec):
    """zram-generator's ``zram-size`` for one device: ``min(ram * 50 / 100, 4096)`` style, in MiB."""
    size, cap, count = spec["size"], spec.get("max_size"), spec["devices"]
    if "bytes" in size:
        return _mib_text(size["bytes"] // count)
    text = "ram * %s / 100" % _percent_text(size["percent"])
    if cap:
        text = "min(%s, %s)" % (text, _mib_text(cap["bytes"]))
    return text if count == 1 else "%s / %d" % (text, count)


def device_bytes(spec, mem_total, page=4096):
    """The disksize each device gets: the generator's arithmetic, then the kernel's page rounding.

    ``mem_total`` is MemTotal in bytes. Raises when a device would be smaller than 1 MiB.
    """
    size, cap, count = spec["size"], spec.get("max_size"), spec["devices"]
    if "bytes" in size:
        value = (size["bytes"] // count) / MIB
    else:
        ram = float(mem_total // 1024 // 1024)
        value = ram * size["percent"] / 100
        if cap:
            value = min(value, cap["bytes"] / MIB)
        if count != 1:
            value = value / count
    result = int(value * MIB)
    result = -(-result // page) * page
    if result < MIN_DEVICE_SIZE:
        raise MemwiseError(
            "size: %s over %d device(s) gives %s per device, below the 1 MiB a swap device needs; "
            "give a larger size%s" % (describe(spec), count, human_bytes(result), _NOTHING)
        )
    return result


def describe(spec):
    size, cap = spec["size"], spec.get("max_size")
    if "bytes" in size:
        return human_bytes(size["bytes"])
    text = "%s%% of RAM" % _percent_text(size["percent"])
    return text + (", at most %s" % human_bytes(cap["bytes"]) if cap else "")


# ---------------------------------------------------------------- configuration files


def parse_generator(text):
    """zram-generator.conf -> ``{section: {key: value}}`` (top-level keys under ``""``)."""
    sections, current = {"": {}}, ""
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            sections.setdefault(current, {})
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise MemwiseError("%s line %d is not 'key = value' or '[section]': %r" % (GENERATOR_CONF, number, raw))
        sections[current][key.strip()] = value.strip()
    return sections


def generator_devices(text):
    """The zram device names a generator configuration sets up."""
    return sorted((s for s in parse_generator(text) if DEVICE_RE.match(s)), key=device_index)


def render_generator(spec):
    """The generator configuration for ``spec`` (all devices alike); a header only when ``spec`` is None."""
    if spec is None:
        return (
            HEADER
            + "# No zram devices: memwise.linux.zram ran with state=absent (this file overrides\n"
            + ("# %s). Delete it to return to the package's default.\n" % GENERATOR_DEFAULT_CONF)
        )
    lines = [
        HEADER,
        "# In total %s, split over %d device(s); zram-size is in MiB.\n" % (describe(spec), spec["devices"]),
    ]
    for name in device_names(spec["devices"]):
        lines.append("\n[%s]\nzram-size = %s\n" % (name, size_expression(spec)))
        if spec["algorithm"]:
            lines.append("compression-algorithm = %s\n" % spec["algorithm"])
        lines.append("swap-priority = %d\n" % spec["priority"])
    return "".join(lines)


def render_unit(spec, disksize):
    """The boot unit of the ``unit`` persistence: the same steps the module runs live, in the same order."""
    count = spec["devices"]
    lines = [
        HEADER,
        "[Unit]\n",
        "Description=zram swap on %s (memwise.linux.zram)\n" % ", ".join("/dev/" + n for n in device_names(count)),
        "Documentation=https://docs.kernel.org/admin-guide/blockdev/zram.html\n",
        "DefaultDependencies=no\n",
        "After=systemd-modules-load.service\n",
        "Before=swap.target shutdown.target\n",
        "Conflicts=shutdown.target\n",
        "\n[Service]\n",
        "Type=oneshot\n",
        "RemainAfterExit=yes\n",
        "ExecStart=modprobe zram num_devices=%d\n" % count,
    ]
    for name in device_names(count):
        base = "%s/%s" % (UNIT_SYS_BLOCK, name)
        if name != "zram0":
            lines.append("ExecStart=sh -c 'test -e %s || cat %s'\n" % (base, UNIT_HOT_ADD))
        if spec["algorithm"]:
            lines.append("ExecStart=sh -c 'echo %s > %s/comp_algorithm'\n" % (spec["algorithm"], base))
        lines.append("ExecStart=sh -c 'echo %d > %s/disksize'\n" % (disksize, base))
        lines.append("ExecStart=mkswap -L %s /dev/%s\n" % (name, name))
        lines.append("ExecStart=swapon %s/dev/%s\n" % (swapon_flags(spec["priority"]), name))
    lines.append("\n[Install]\nWantedBy=swap.target\n")
    return "".join(lines)


def unit_devices(text):
    """The zram device names a unit written by ``render_unit`` sets up."""
    found = re.findall(r"^ExecStart=swapon .*/dev/(zram\d+)$", text or "", re.MULTILINE)
    return sorted(set(found), key=device_index)


def swapon_flags(priority):
    return "--discard " + ("" if priority < 0 else "-p %d " % priority)


def ours(text):
    return text is not None and text.startswith(HEADER)


# ---------------------------------------------------------------- plan


def matches(state, spec, disksize):
    """Whether a device already is the swap ``spec`` asks for."""
    if not state.get("active") or state.get("disksize") != disksize:
        return False
    if spec["algorithm"] and state.get("algorithm") != spec["algorithm"]:
        return False
    if spec["priority"] < 0:
        return state.get("priority", 0) < 0
    return state.get("priority") == spec["priority"]


def _refuse_foreign(state):
    name = state["name"]
    if state.get("mounted"):
        raise MemwiseError(
            "%s: holds a mounted file system, not swap; memwise.linux.zram will not reset it. Unmount it, or "
            "give devices so that it is not among /dev/zram0..N-1%s" % (name, _NOTHING)
        )
    if state.get("holders"):
        raise MemwiseError(
            "%s: is in use by another block device (see %s/%s/holders); memwise.linux.zram will not reset it%s"
            % (name, SYS_BLOCK, name, _NOTHING)
        )


def plan(state, spec, current, managed, disksize=None):
    """Per-device steps: ``{name: "keep" | "create" | "recreate" | "remove"}`` in device order.

    ``current``: name -> ``device_state``; ``managed``: the device names the
    module's configuration names (previous runs); ``disksize``: the per-device
    size of ``spec``. ``create`` sets up an unused device, ``recreate`` takes
    down a configured one first (swapoff, reset), ``remove`` takes one down for good.
    """
    steps = {}
    wanted = device_names(spec["devices"]) if state == "present" else []
    for name in wanted:
        now = current.get(name) or {"name": name, "exists": False}
        if matches(now, spec, disksize):
            steps[name] = "keep"
            continue
        if now.get("initialised") and not now.get("active"):
            _refuse_foreign(now)
        steps[name] = "recreate" if now.get("initialised") else "create"
    others = set(managed) | {n for n, s in current.items() if state == "absent" and s.get("active")}
    if state == "absent" and spec.get("devices"):
        others &= set(managed) | set(device_names(spec["devices"]))
    for name in sorted(others - set(wanted), key=device_index):
        now = current.get(name) or {}
        if now.get("initialised"):
            if not now.get("active"):
                _refuse_foreign(now)
            steps[name] = "remove"
    return steps


def swapoff_load(steps, current):
    """``(paths, used bytes)`` of the active devices the steps take down (for the check before swapoff)."""
    names = [n for n, step in steps.items() if step in ("recreate", "remove") and current[n].get("active")]
    return ["/dev/" + n for n in names], sum(current[n]["used"] for n in names)


def predicted(steps, spec, current, disksize, page=4096):
    """Each device as it will be after the steps (what check mode reports as ``after``)."""
    after = {}
    for name, step in steps.items():
        if step == "keep":
            after[name] = dict(current[name])
        elif step == "remove":
            after[name] = {"name": name, "exists": True, "initialised": False, "active": False}
        else:
            after[name] = {
                "name": name,
                "exists": True,
                "initialised": True,
                "active": True,
                "disksize": disksize,
                "size": disksize - page,
                "algorithm": spec["algorithm"],
                "priority": spec["priority"],
                "used": 0,
            }
    return after


def verify(name, state, spec, disksize):
    """Why the kernel's device differs from the request, or None when it matches."""
    if not state.get("active"):
        return "/dev/%s is not in /proc/swaps" % name
    problems = []
    if state.get("disksize") != disksize:
        problems.append("disksize is %s, not %d" % (state.get("disksize"), disksize))
    if spec["algorithm"] and state.get("algorithm") != spec["algorithm"]:
        problems.append("the algorithm is %s, not %s" % (state.get("algorithm"), spec["algorithm"]))
    if not matches(dict(state, disksize=disksize, algorithm=spec["algorithm"] or None), spec, disksize):
        problems.append("the swap priority is %s, not %d" % (state.get("priority"), spec["priority"]))
    return "; ".join(problems) or None


def _take_down_actions(steps, current):
    done = []
    for name, step in steps.items():
        now = current.get(name) or {}
        if step in ("recreate", "remove") and now.get("active"):
            done.append("swapoff /dev/%s (%s of swapped pages back to RAM)" % (name, human_bytes(now.get("used", 0))))
        if step in ("recreate", "remove"):
            done.append("reset %s" % name)
    return done


def actions(work):
    """The steps a run takes, in order, as short sentences (the same in check mode and in a real run).

    ``work``: steps, current, spec, disksize, files (path -> (before, after)),
    switch ("enable", "disable" or None) and via_generator.
    """
    steps, current, spec, disksize = work["steps"], work["current"], work["spec"], work["disksize"]
    done = _take_down_actions(steps, current)
    if work["switch"] == "disable":
        done.append("disable %s" % UNIT_NAME)
    moved = [(path, after) for path, (before, after) in work["files"].items() if before != after]
    done += [("remove %s" if after is None else "write %s") % path for path, after in moved]
    if moved:
        done.append("systemctl daemon-reload")
    if work["switch"] == "enable":
        done.append("enable %s" % UNIT_NAME)
    for name, step in steps.items():
        if step not in ("create", "recreate"):
            continue
        if not (current.get(name) or {}).get("exists"):
            done.append("hot_add %s" % name)
        what = "%s, disksize %d (%s), priority %d" % (
            spec["algorithm"],
            disksize,
            human_bytes(disksize),
            spec["priority"],
        )
        if work["via_generator"]:
            done.append("start dev-%s.swap (systemd-zram-setup@%s: %s)" % (name, name, what))
        else:
            done.append("set up %s: %s; mkswap; swapon" % (name, what))
    return done


def files_plan(state, spec, disksize, persistence, texts):
    """``{path: (before, after)}`` of the generator configuration and the unit.

    ``texts``: ``conf`` (/etc/systemd/zram-generator.conf), ``unit`` (the
    module's unit), ``default`` (the package's /usr/lib default) - each a text or
    None - and ``generator`` (whether zram-generator is installed).
    """
    conf, unit = texts["conf"], texts["unit"]
    plan = {GENERATOR_CONF: (conf, conf), UNIT_PATH: (unit, unit)}
    if state == "present" and persistence == "generator":
        plan = {GENERATOR_CONF: (conf, render_generator(spec)), UNIT_PATH: (unit, None)}
    elif state == "present" and persistence == "unit":
        plan = {GENERATOR_CONF: (conf, None if ours(conf) else conf), UNIT_PATH: (unit, render_unit(spec, disksize))}
    elif state == "absent":
        plan[UNIT_PATH] = (unit, None)
        if texts["generator"] and generator_devices(texts["default"]) and (conf is None or ours(conf)):
            plan[GENERATOR_CONF] = (conf, render_generator(None))
        elif ours(conf):
            plan[GENERATOR_CONF] = (conf, None)
    return plan


def report(state):
    """A device as the module returns it in ``devices``."""
    keys = ("name", "disksize", "size", "algorithm", "priority", "used", "compression_ratio", "active")
    return {key: state.get(key) for key in keys}


def diff(before, after, files):
    """Ansible's diff: each device's summary before and after, and each file that changes."""

    def lines(side):
        return "".join(
            "%s: %s\n" % (name, " ".join("%s=%s" % item for item in sorted(values.items())))
            for name, values in sorted(side.items())
        )

    result = [
        {
            "before_header": "zram devices",
            "after_header": "zram devices",
            "before": lines(before),
            "after": lines(after),
        }
    ]
    for path, (old, new) in files.items():
        if old != new:
            result.append({"before_header": path, "after_header": path, "before": old or "", "after": new or ""})
    return result
