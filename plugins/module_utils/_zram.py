# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: zram swap - read /sys/block/zramN, resolve sizes, plan, render or merge the persistent configuration.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Everything here is pure: the zram module reads the host, hands the texts to
these functions and applies what ``plan`` returns. Sizes follow
systemd-zram-generator's arithmetic exactly (``ram`` is MemTotal in whole MiB,
the expression is evaluated in floating point, the result in MiB is truncated
to bytes, and the kernel rounds disksize up to a page), so a device set up live
by the module and one set up by the generator at boot have the same size.

``read_devices`` is the one reader of zram devices: the zram module plans from
it and memory_facts reports it (``fact``), so both name a device's values alike.

An administrator's /etc/systemd/zram-generator.conf (one without the module's
header) is merged, never replaced: the module sets only its keys (``OWN_KEYS``)
in the swap sections ``[zram0]`` .. ``[zramN-1]`` and keeps every other line and
section byte for byte (``merge_generator``).
"""

from __future__ import annotations

import re

from ansible_collections.memwise.linux.plugins.module_utils import _module, _mounts, _procfs, _sysfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError, invalid
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
# The keys the module owns in a [zramN] swap section of zram-generator.conf; every other key is foreign.
OWN_KEYS = ("zram-size", "compression-algorithm", "swap-priority")
# A section with one of these (other than fs-type = swap) is a file-system device, never the module's.
FS_KEYS = ("mount-point", "fs-type")
# What memory_facts reports of a device (ansible_facts.memwise.zram.devices), in this order.
FACT_KEYS = (
    ("name", "path", "disksize", "algorithm", "algorithms", "active", "priority") + MM_STAT + ("compression_ratio",)
)
# What the zram module returns of a device in ``devices``: the same names.
REPORT_KEYS = ("name", "path", "disksize", "algorithm", "active", "priority", "size", "used", "compression_ratio")
# zram's algorithms without a loaded module: kernels from 6.12 list the backends built in
# (CONFIG_ZRAM_BACKEND_*); older ones list these crypto compressors the kernel can load.
CONFIG_BACKENDS = (
    ("LZO", ("lzo", "lzo-rle")),
    ("LZ4", ("lz4",)),
    ("LZ4HC", ("lz4hc",)),
    ("ZSTD", ("zstd",)),
    ("DEFLATE", ("deflate",)),
    ("842", ("842",)),
)
LEGACY_BACKENDS = ("lzo", "lzo-rle", "lz4", "lz4hc", "842", "zstd")
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


def device_state(name, files, swaps, mounted=(), holders=()):
    """One device from its sysfs texts (``files``: disksize, comp_algorithm, mm_stat -> text or None).

    ``swaps``: /proc/swaps parsed; ``mounted``: the mounted sources (``_mounts.sources``);
    ``holders``: the names in its ``holders`` directory. Every key is always present.
    """
    path = "/dev/" + name
    text = files.get("disksize")
    disksize = _sysfs.parse_int(text, "%s/%s/disksize" % (SYS_BLOCK, name)) if text is not None else None
    text = files.get("comp_algorithm")
    algorithm, algorithms = None, []
    if text is not None and text.strip():
        algorithm, algorithms = parse_algorithms(text, "%s/%s/comp_algorithm" % (SYS_BLOCK, name))
    swap = next((s for s in swaps if s["path"] == path), None)
    state = {
        "name": name,
        "path": path,
        "exists": disksize is not None,
        "initialised": bool(disksize),
        "active": swap is not None,
        "disksize": disksize,
        "algorithm": algorithm,
        "algorithms": algorithms,
        "priority": swap["priority"] if swap else None,
        "size": swap["size"] if swap else None,
        "used": swap["used"] if swap else 0,
        "mounted": path in set(mounted),
        "holders": bool(holders),
    }
    stat = parse_mm_stat(files.get("mm_stat"))
    state.update(stat)
    state["compression_ratio"] = compression_ratio(stat)
    return state


def read_devices(read, listdir):
    """Every zram device of the host, by name in device order: the one zram device reader.

    ``read(path)`` returns a file's text or None, ``listdir(path)`` a directory's
    names or None; the zram module passes the host's, memory_facts its root's.
    """
    names = sorted((n for n in listdir(SYS_BLOCK) or [] if DEVICE_RE.match(n)), key=device_index)
    if not names:
        return {}
    swaps = _procfs.parse_swaps(read("/proc/swaps") or "Filename\n")
    mounts = read("/proc/mounts")
    mounted = _mounts.sources(_mounts.parse(mounts, "/proc/mounts")) if mounts else set()
    devices = {}
    for name in names:
        base = "%s/%s/" % (SYS_BLOCK, name)
        files = {key: read(base + key) for key in ("disksize", "comp_algorithm", "mm_stat")}
        devices[name] = device_state(name, files, swaps, mounted, listdir(base + "holders") or [])
    return devices


def fact(state):
    """A device as memory_facts reports it."""
    return {key: state.get(key) for key in FACT_KEYS}


def report(state):
    """A device as the zram module returns it in ``devices``."""
    return {key: state.get(key) for key in REPORT_KEYS}


def summary(state):
    """The live settings of a device: disksize, algorithm, priority and active."""
    keys = ("disksize", "algorithm", "priority", "active")
    return {key: state.get(key) if state.get("initialised") or key == "active" else None for key in keys}


def fresh_devices(count):
    """The devices ``modprobe zram num_devices=COUNT`` creates: present, not set up."""
    return {
        name: device_state(name, {"disksize": "0\n", "comp_algorithm": None, "mm_stat": None}, [])
        for name in device_names(count)
    }


def offline_algorithms(read, listdir):
    """``(algorithms, source)`` zram would list, read without loading it; ``(None, why)`` when nothing tells.

    Kernels from 6.12 list the backends built in (``CONFIG_ZRAM_BACKEND_*`` in
    /boot/config-RELEASE); older ones the crypto compressors the kernel has or can
    load (/proc/crypto, the modules under /lib/modules/RELEASE/kernel/crypto and
    modules.builtin). Check mode uses it; a real run always asks comp_algorithm.
    """
    release = (read("/proc/sys/kernel/osrelease") or "").strip()
    config_path = "/boot/config-%s" % release
    config = read(config_path) if release else None
    if config and "CONFIG_ZRAM_BACKEND_" in config:
        built = set(re.findall(r"^CONFIG_ZRAM_BACKEND_(\w+)=[ym]\s*$", config, re.MULTILINE))
        return [name for key, names in CONFIG_BACKENDS if key in built for name in names], config_path
    available, sources = set(), []
    crypto = read("/proc/crypto")
    if crypto:
        available |= set(re.findall(r"^name\s*:\s*(\S+)\s*$", crypto, re.MULTILINE))
        sources.append("/proc/crypto")
    if release:
        directory = "/lib/modules/%s/kernel/crypto" % release
        modules = listdir(directory)
        if modules is not None:
            available |= {name.split(".ko")[0] for name in modules if ".ko" in name}
            sources.append(directory)
        builtin = read("/lib/modules/%s/modules.builtin" % release)
        if builtin:
            available |= set(re.findall(r"^kernel/crypto/([^/\s]+)\.ko\s*$", builtin, re.MULTILINE))
            sources.append("/lib/modules/%s/modules.builtin" % release)
    if not sources:
        return None, "neither %s, /proc/crypto nor /lib/modules/%s is readable" % (config_path, release or "RELEASE")
    return [name for name in LEGACY_BACKENDS if name in available], ", ".join(sources)


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


def validate(params, algorithms=None, source=SYS_BLOCK + "/zram0/comp_algorithm"):
    """Check every option at once; return the spec or raise one MemwiseError naming each bad option.

    ``algorithms``: what the kernel offers (None: not known, not checked), read from ``source``.
    """
    errors, spec = [], {"devices": params.get("devices"), "priority": params.get("priority")}
    for key in ("size", "max_size"):
        try:
            spec[key] = parse_size(params.get(key), key)
        except MemwiseError as exc:
            errors.append(str(exc))
    if params.get("size") is None and params.get("state", "present") == "present":
        errors.append("size: None (no value); give the device size, like '50%' of RAM or '4G'")
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
            "algorithm: %r is not one this kernel offers for zram (%s lists %s); pick one of those"
            % (algorithm, source, ", ".join(algorithms) or "none")
        )
    if errors:
        raise invalid(errors, "options")
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


def _lines(text):
    """zram-generator.conf as ``[(kind, section, key, value, raw)]``: kind ``header``, ``key`` or ``other``.

    ``raw`` is the line as written, with its line end, so a merge keeps foreign lines byte for byte.
    """
    result, section = [], ""
    for number, raw in enumerate((text or "").splitlines(True), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            result.append(("other", section, None, None, raw))
        elif line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            result.append(("header", section, None, None, raw))
        else:
            key, sep, value = line.partition("=")
            if not sep:
                raise MemwiseError(
                    "%s line %d is not 'key = value' or '[section]': %r; fix the file, nothing changed"
                    % (GENERATOR_CONF, number, raw.rstrip("\n"))
                )
            result.append(("key", section, key.strip(), value.strip(), raw))
    return result


def parse_generator(text):
    """zram-generator.conf -> ``{section: {key: value}}`` (top-level keys under ``""``)."""
    sections = {"": {}}
    for kind, section, key, value, _raw in _lines(text):
        if kind == "header":
            sections.setdefault(section, {})
        elif kind == "key":
            sections.setdefault(section, {})[key] = value
    return sections


def is_swap_section(keys):
    """Whether a [zramN] section's keys make a swap device (no mount-point, no fs-type but swap)."""
    return "mount-point" not in keys and keys.get("fs-type", "swap") == "swap"


def generator_devices(text):
    """The zram swap devices a generator configuration sets up (a zram-size of 0 sets up none)."""
    sections = parse_generator(text)
    names = [n for n, keys in sections.items() if DEVICE_RE.match(n) and is_swap_section(keys)]
    return sorted((n for n in names if sections[n].get("zram-size") != "0"), key=device_index)


def own_values(spec):
    """The keys the module writes in each managed section, in order."""
    values = [("zram-size", size_expression(spec))]
    if spec["algorithm"]:
        values.append(("compression-algorithm", spec["algorithm"]))
    values.append(("swap-priority", str(spec["priority"])))
    return values


def _set_section(lines, values):
    """A section's lines with the module's keys set to ``values``; foreign lines stay as they are.

    A key already right keeps its line; one that differs is rewritten in place; a
    missing one goes after the section's last key. Keys the module owns but no
    longer sets (``compression-algorithm`` without an algorithm) and repeats go.
    """
    wanted, kept, seen = dict(values), [], set()
    for kind, _section, key, value, raw in lines:
        line = raw
        if kind == "key" and key in OWN_KEYS:
            if key not in wanted or key in seen:
                continue
            seen.add(key)
            if value != wanted[key]:
                line = "%s = %s\n" % (key, wanted[key])
        kept.append((kind, line))
    at = max([i for i, (kind, _raw) in enumerate(kept) if kind in ("header", "key")], default=-1) + 1
    head = [raw for _kind, raw in kept[:at]]
    if head and not head[-1].endswith("\n"):
        head[-1] += "\n"
    missing = ["%s = %s\n" % (key, value) for key, value in values if key not in seen]
    return head + missing + [raw for _kind, raw in kept[at:]]


def _retire_section(lines):
    """A swap section the module no longer wants: the module's keys go and ``zram-size = 0`` comes in
    (zram-generator discards a device of size 0); its header, foreign keys and comments stay."""
    return _set_section(
        [line for line in lines if not (line[0] == "key" and line[2] in OWN_KEYS)], [("zram-size", "0")]
    )


def _added_marker(name):
    return "# memwise.linux.zram added [%s]; state=absent removes it again\n" % name


def merge_generator(text, spec):
    """An administrator's zram-generator.conf with the module's keys for ``spec`` (None: no devices).

    The module owns ``OWN_KEYS`` in the swap sections [zram0]..[zramN-1] and sets
    them there; a missing section is appended after a marker comment. Every other
    swap section is retired (``_retire_section``) - one the module appended, with
    nothing else in it, is removed with its marker. File-system sections
    (``mount-point``, ``fs-type``) and every other line stay byte for byte. A
    wanted device whose section is a file system is refused.
    """
    wanted = device_names(spec["devices"]) if spec else []
    blocks = [("", [])]
    for line in _lines(text):
        if line[0] == "header":
            blocks.append((line[1], [line]))
        else:
            blocks[-1][1].append(line)
    sections = parse_generator(text)
    refused = [n for n in wanted if n in sections and not is_swap_section(sections[n])]
    if refused:
        raise MemwiseError(
            "%s: a file-system device (mount-point or fs-type) in %s, not swap; memwise.linux.zram sets up swap "
            "on zram0..zram%d. Give devices so that it is not among them; nothing changed"
            % (", ".join(refused), GENERATOR_CONF, len(wanted) - 1)
        )
    out = []
    for name, block in blocks:
        if not DEVICE_RE.match(name) or not is_swap_section(sections.get(name, {})):
            out.extend(raw for *_rest, raw in block)
        elif name in wanted:
            out.extend(_set_section(block, own_values(spec)))
        elif (
            out
            and out[-1] == _added_marker(name)
            and all(
                kind == "header" or (kind == "key" and key in OWN_KEYS) or not raw.strip()
                for kind, _s, key, _v, raw in block
            )
        ):
            out.pop()  # the marker
            if out and not out[-1].strip():
                out.pop()  # the blank line the module put before it
        else:
            out.extend(_retire_section(block))
    missing = [name for name in wanted if name not in {block_name for block_name, _block in blocks}]
    return _append_sections("".join(out), missing, spec)


def _append_sections(text, names, spec):
    """``text`` with a marked section of the module's keys for each of ``names`` at its end."""
    for name in names:
        if text and not text.endswith("\n"):
            text += "\n"
        if text and not text.endswith("\n\n"):
            text += "\n"
        text += _added_marker(name) + "[%s]\n" % name
        text += "".join("%s = %s\n" % item for item in own_values(spec))
    return text


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
    """Each device as it will be after the steps (what check mode reports)."""
    after = {}
    for name, step in steps.items():
        blank = current.get(name) or fresh_devices(device_index(name) + 1)[name]
        if step == "keep":
            after[name] = dict(current[name])
        elif step == "remove":
            after[name] = dict(blank, initialised=False, active=False, disksize=0, priority=None, size=None, used=0)
        else:
            after[name] = dict(
                blank,
                exists=True,
                initialised=True,
                active=True,
                disksize=disksize,
                size=disksize - page,
                algorithm=spec["algorithm"] or blank.get("algorithm"),
                priority=spec["priority"],
                used=0,
                compression_ratio=None,
            )
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
    switch ("enable", "disable" or None), via_generator, load (the number of
    devices ``modprobe zram`` creates, 0 when it is loaded) and backup (the path
    backed up first, or None).
    """
    steps, current, spec, disksize = work["steps"], work["current"], work["spec"], work["disksize"]
    done = ["modprobe zram num_devices=%d" % work["load"]] if work.get("load") else []
    done += _take_down_actions(steps, current)
    if work["switch"] == "disable":
        done.append("disable %s" % UNIT_NAME)
    moved = [(path, after) for path, (before, after) in work["files"].items() if before != after]
    if work.get("backup"):
        done.append("back up %s" % work["backup"])
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

    A configuration with the module's header is the module's: rewritten whole
    (or removed). Any other is an administrator's: merged (``merge_generator``)
    where zram-generator is installed, never replaced or removed, and left as it
    is without zram-generator (it then sets nothing up).
    """
    conf, unit = texts["conf"], texts["unit"]
    foreign = conf is not None and not ours(conf)
    plan = {GENERATOR_CONF: (conf, conf), UNIT_PATH: (unit, unit)}
    if state == "present" and persistence == "generator":
        plan = {GENERATOR_CONF: (conf, merge_generator(conf, spec) if foreign else render_generator(spec))}
        plan[UNIT_PATH] = (unit, None)
    elif state == "present" and persistence == "unit":
        plan = {GENERATOR_CONF: (conf, None if ours(conf) else conf), UNIT_PATH: (unit, render_unit(spec, disksize))}
    elif state == "absent":
        plan[UNIT_PATH] = (unit, None)
        if foreign and texts["generator"]:
            plan[GENERATOR_CONF] = (conf, merge_generator(conf, None))
        elif foreign:
            pass  # without zram-generator the file sets nothing up: not the module's business
        elif texts["generator"] and generator_devices(texts["default"]):
            plan[GENERATOR_CONF] = (conf, render_generator(None))
        elif ours(conf):
            plan[GENERATOR_CONF] = (conf, None)
    return plan


def file_values(path, text):
    """``{device: {algorithm, priority}}`` as a persistent configuration sets the devices up at boot."""
    if text is None:
        return {}
    if path == GENERATOR_CONF:
        sections = parse_generator(text)
        values = {}
        for name in generator_devices(text):
            priority = sections[name].get("swap-priority", "100")
            values[name] = {
                "algorithm": sections[name].get("compression-algorithm"),
                "priority": int(priority) if priority.lstrip("-").isdigit() else priority,
            }
        return values
    values = {}
    for name in unit_devices(text):
        algorithm = re.search(r"echo (\S+) > \S*/%s/comp_algorithm" % name, text)
        priority = re.search(r"^ExecStart=swapon .*?(?:-p (-?\d+) )?/dev/%s$" % name, text, re.MULTILINE)
        values[name] = {
            "algorithm": algorithm.group(1) if algorithm else None,
            "priority": int(priority.group(1)) if priority and priority.group(1) else -1,
        }
    return values


def settings(before, after, files_before=None, files_after=None):
    """The ``settings`` result: ``zramN.disksize`` / ``algorithm`` / ``priority`` / ``active``, per layer.

    ``before`` / ``after``: device name -> state; ``files_before`` / ``files_after``:
    ``file_values`` of the persistent configuration (None: the call persists nothing).
    """
    result = {}
    for name in sorted(before, key=device_index):
        old, new = summary(before[name]), summary(after.get(name, {}))
        for key in ("disksize", "algorithm", "priority", "active"):
            layers = {"live": _module.layer(old[key], new[key])}
            if files_before is not None and key in ("algorithm", "priority"):
                layers["file"] = _module.layer(
                    files_before.get(name, {}).get(key), (files_after or {}).get(name, {}).get(key)
                )
            result["%s.%s" % (name, key)] = layers
    return result


def diff(result_settings, files):
    """Ansible's diff in the collection's shape: the live values that move, then each file that changes."""
    changed = [(path, old, new) for path, (old, new) in files.items() if old != new]
    return [_module.settings_diff("live /sys/block", result_settings)] + [
        _module.file_diff(path, old, new) for path, old, new in changed
    ]
