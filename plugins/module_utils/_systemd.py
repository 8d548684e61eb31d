# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: systemd resource control: the typed property table, values, drop-ins and the plan.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Everything here is pure: it parses ``systemctl show`` text, unit files and
drop-ins, and turns the values a user writes into the three forms systemd has
for them:

* the *canonical* value, what ``systemctl show`` reports once systemd applied
  it (bytes or ``infinity`` for sizes, microseconds for durations, a permyriad
  for ManagedOOMMemoryPressureLimit, None for "[not set]");
* the *file* text written to the drop-in (``1G``, ``50%``: a percentage stays a
  percentage, so the unit follows the host's RAM);
* the *live* text passed to ``systemctl set-property --runtime``: always the
  absolute value. systemd 252 writes ``TasksMax=10%`` given at runtime back as
  ``1.1%`` into its control file, and percentages sent over D-Bus are scaled to
  2^32 rather than 10000, which can round a page differently from the file.

Percentages of RAM follow systemd's physical_memory_scale(): whole pages of
MemTotal times the permyriad, divided by 10000, rounded down to a page.
"""

from __future__ import annotations

import posixpath
import re
from collections import namedtuple

from ansible_collections.memwise.linux.plugins.module_utils import _sizes
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

UINT32_MAX = 4294967295
UINT64_MAX = 2**64 - 1
USEC = {"us": 1, "usec": 1, "ms": 1000, "msec": 1000, "s": 10**6, "sec": 10**6, "second": 10**6,
        "seconds": 10**6, "m": 60 * 10**6, "min": 60 * 10**6, "minutes": 60 * 10**6, "h": 3600 * 10**6,
        "hr": 3600 * 10**6, "hour": 3600 * 10**6, "hours": 3600 * 10**6, "d": 86400 * 10**6,
        "day": 86400 * 10**6, "days": 86400 * 10**6, "w": 604800 * 10**6, "week": 604800 * 10**6,
        "weeks": 604800 * 10**6, "M": 2629800 * 10**6, "month": 2629800 * 10**6, "y": 31557600 * 10**6,
        "year": 31557600 * 10**6}  # fmt: skip
UNIT_TYPES = {"service": "Service", "slice": "Slice", "scope": "Scope", "socket": "Socket", "mount": "Mount",
              "swap": "Swap"}  # fmt: skip
UNIT_NAME_RE = re.compile(r"^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.([a-z]+)$")
# systemd's unit types and name length limit (src/basic/unit-name.c, unit_name_is_valid).
ALL_UNIT_TYPES = ("service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path",
                  "slice", "scope")  # fmt: skip
UNIT_NAME_MAX = 255
_UNIT_CHARS = re.compile(r"[^A-Za-z0-9:_.\\@-]")
NOT_SET = "[not set]"
HEADER = (
    "# Managed by memwise.linux.unit_resources: changes here are overwritten.\n"
    "# Remove it with state=absent, which also brings the live values back.\n"
)

# kind, minimum systemd version, cgroup v2 file that holds the applied value (None: no file), and whether
# `systemctl set-property --runtime` accepts it (measured on systemd 252 and 257: the startup limits and
# memory-pressure watch settings are refused at runtime and apply from unit files only).
Prop = namedtuple("Prop", "kind since cgroup live", defaults=(True,))
PROPERTIES = {
    "MemoryMin": Prop("size0", 240, "memory.min"),
    "MemoryLow": Prop("size0", 231, "memory.low"),
    "MemoryHigh": Prop("size", 231, "memory.high"),
    "MemoryMax": Prop("size", 231, "memory.max"),
    "MemorySwapMax": Prop("swap", 232, "memory.swap.max"),
    "MemoryZSwapMax": Prop("swap", 253, "memory.zswap.max"),
    "MemoryZSwapWriteback": Prop("bool", 256, "memory.zswap.writeback"),
    "DefaultMemoryMin": Prop("size0", 240, None),
    "DefaultMemoryLow": Prop("size0", 240, None),
    "StartupMemoryLow": Prop("size0", 253, None, live=False),
    "StartupMemoryHigh": Prop("size", 253, None, live=False),
    "StartupMemoryMax": Prop("size", 253, None, live=False),
    "StartupMemorySwapMax": Prop("swap", 253, None, live=False),
    "StartupMemoryZSwapMax": Prop("swap", 253, None, live=False),
    "MemoryAccounting": Prop("bool", 208, None),
    "CPUWeight": Prop("weight", 234, "cpu.weight"),
    "StartupCPUWeight": Prop("weight", 234, None),
    "CPUQuota": Prop("quota", 213, "cpu.max"),
    "CPUQuotaPeriodSec": Prop("duration", 242, None),
    "CPUAccounting": Prop("bool", 208, None),
    "IOWeight": Prop("weight", 230, "io.weight"),
    "StartupIOWeight": Prop("weight", 230, None),
    "IOAccounting": Prop("bool", 230, None),
    "TasksMax": Prop("tasks", 227, "pids.max"),
    "TasksAccounting": Prop("bool", 227, None),
    "ManagedOOMSwap": Prop(("auto", "kill"), 247, None),
    "ManagedOOMMemoryPressure": Prop(("auto", "kill"), 247, None),
    "ManagedOOMMemoryPressureLimit": Prop("limit", 247, None),
    "ManagedOOMMemoryPressureDurationSec": Prop("duration", 257, None),
    "ManagedOOMPreference": Prop(("none", "avoid", "omit"), 248, None),
    "MemoryPressureWatch": Prop(("auto", "off", "on", "skip"), 254, None, live=False),
    "MemoryPressureThresholdSec": Prop("duration", 254, None, live=False),
}
# The name `systemctl show` reports a property under, where it differs.
SHOW_NAMES = {
    "CPUQuota": "CPUQuotaPerSecUSec",
    "CPUQuotaPeriodSec": "CPUQuotaPeriodUSec",
    "ManagedOOMMemoryPressureDurationSec": "ManagedOOMMemoryPressureDurationUSec",
    "MemoryPressureThresholdSec": "MemoryPressureThresholdUSec",
}
# What `systemctl show` reports when no configuration sets a property (manager defaults are looked up).
DEFAULTS = {
    "size0": 0,
    "size": "infinity",
    "swap": "infinity",
    "weight": None,
    "quota": None,
    "limit": 0,
    "duration": None,
}
# Where the manager does not say (systemd 252 has no DefaultIOAccounting), systemd's built-in default.
NAME_DEFAULTS = {
    "ManagedOOMPreference": "none",
    "CPUQuotaPeriodSec": "infinity",
    "IOAccounting": "no",
    "TasksMax": "infinity",
    "MemoryPressureThresholdSec": 200000,
}
MANAGER_DEFAULTS = {
    "TasksMax": "DefaultTasksMax",
    "MemoryAccounting": "DefaultMemoryAccounting",
    "CPUAccounting": "DefaultCPUAccounting",
    "IOAccounting": "DefaultIOAccounting",
    "TasksAccounting": "DefaultTasksAccounting",
    "MemoryPressureThresholdSec": "DefaultMemoryPressureThresholdUSec",
}
# The limits whose order matters (contradictions are warned about); always read.
MEMORY_LIMITS = ("MemoryMin", "MemoryLow", "MemoryHigh", "MemoryMax")
# Read-only usage the result reports next to the settings, where this systemd has them.
READOUTS = ("MemoryCurrent", "MemoryPeak", "MemorySwapCurrent", "MemorySwapPeak", "MemoryZSwapCurrent",
            "TasksCurrent")  # fmt: skip
# Facts about the unit read with the properties.
UNIT_FACTS = ("Id", "LoadState", "ActiveState", "SubState", "MainPID", "ControlGroup", "FragmentPath",
              "DropInPaths")  # fmt: skip
_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d{1,2})?)\s*%\s*$")
_SPAN_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)")


def parse_version(text):
    """The major version from ``systemctl --version`` or ``show -p Version`` (``252.39-1~deb12u2``)."""
    match = re.search(r"(?:^|systemd\s+|Version=)(\d{3})", (text or "").strip())
    if not match:
        raise MemwiseError("cannot tell the systemd version from %r" % (text or "")[:80])
    return int(match.group(1))


def parse_show(text):
    """``systemctl show`` output as a dict (the first ``=`` splits; values keep their spaces)."""
    result = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            result.setdefault(key, value)
    return result


def unit_name_problem(name, types=ALL_UNIT_TYPES, takes="this takes"):
    """Why ``name`` is not the full name of a unit of one of ``types``, the way systemd judges it; None when it is.

    A unit name is a prefix of letters, digits and ``:-_.\\``, at most one ``@`` (a
    template or its instance), then ``.`` and the unit type, 255 characters at most.
    """
    problem = _unit_name_shape(name)
    if problem:
        return problem
    match = UNIT_NAME_RE.match(name)
    if match.group(2) not in types:
        return "%s is a .%s unit; %s %s units" % (name, match.group(2), takes, ", ".join("." + t for t in types))
    if match.group(1) == "@":
        return "%s is a template; name an instance such as %s" % (name, name.replace("@", "@1"))
    return None


def _unit_name_shape(name):
    if not isinstance(name, str):
        return "%r is a %s, not a unit name" % (name, type(name).__name__)
    if not name:
        return "'' is empty, not a unit name"
    if len(name) > UNIT_NAME_MAX:
        return "%r is longer than the %d characters systemd allows" % (name[:40] + "...", UNIT_NAME_MAX)
    bad = sorted(set(_UNIT_CHARS.findall(name)))
    if bad:
        return "%r contains %s, which a unit name cannot (letters, digits, ':', '-', '_', '.', '\\' and one '@')" % (
            name,
            ", ".join(repr(c) for c in bad),
        )
    if not UNIT_NAME_RE.match(name):
        return "%r is not a unit name; write it in full with its type, e.g. 'nginx.service' or 'batch.slice'" % name
    return None


def unit_section(unit):
    """The drop-in section of ``unit`` (``[Service]`` for ``foo.service``); MemwiseError for others."""
    problem = unit_name_problem(unit, tuple(UNIT_TYPES), "resource control applies to")
    if problem:
        raise MemwiseError("unit: " + problem)
    return UNIT_TYPES[UNIT_NAME_RE.match(unit).group(2)]


def parse_timespan(text):
    """Microseconds from a systemd time span (``200ms``, ``1min 30s``, ``5``: seconds); None for unset."""
    if isinstance(text, bool):
        raise MemwiseError("%r is a boolean, not a duration" % (text,))
    if isinstance(text, (int, float)):
        return int(text * 10**6)
    text = (text or "").strip()
    if text in ("", NOT_SET):
        return None
    if text == "infinity":
        return "infinity"
    total, pos = 0, 0
    for match in _SPAN_RE.finditer(text):
        if text[pos : match.start()].strip() or (match.group(2) not in USEC and match.group(2) != ""):
            raise MemwiseError("%r is not a duration; write e.g. '30s', '500ms' or '1min 30s'" % text)
        total += float(match.group(1)) * USEC[match.group(2) or "s"]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise MemwiseError("%r is not a duration; write e.g. '30s', '500ms' or '1min 30s'" % text)
    return round(total)


def format_usec(usec):
    """A drop-in duration: ``30s``, ``500ms`` or ``250us``."""
    if usec == "infinity":
        return usec
    for unit, factor in (("s", 10**6), ("ms", 1000)):
        if usec % factor == 0:
            return "%d%s" % (usec // factor, unit)
    return "%dus" % usec


def format_size(value):
    """A drop-in size: the largest unit that divides it exactly (``1G``, ``1536M``), else bytes."""
    if value == "infinity":
        return value
    for unit, factor in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if value and value % factor == 0:
            return "%d%s" % (value // factor, unit)
    return str(value)


def _permyriad(value, name, limit=None):
    match = _PERCENT_RE.match(value) if isinstance(value, str) else None
    if not match:
        return None
    permyriad = round(float(match.group(1)) * 100)
    if limit is not None and permyriad > limit:
        raise MemwiseError("%s: %s is more than %d%%" % (name, value.strip(), limit // 100))
    return permyriad


def scale_memory(permyriad, mem_total, page):
    """systemd's physical_memory_scale(): a share of RAM rounded down to whole pages."""
    if permyriad == 10000:
        return mem_total // page * page
    return mem_total // page * permyriad // 10000 * page


def _size(name, kind, value, host):
    """(canonical, file text, live text) of a size property."""
    if isinstance(value, str) and value.strip() == "infinity":
        return "infinity", "infinity", "infinity"
    permyriad = _permyriad(value, name, 10000)
    if permyriad is not None:
        if kind == "swap":
            raise MemwiseError("%s: %s: a percentage is not accepted here; write a size like '512M'" % (name, value))
        size = scale_memory(permyriad, host["mem_total"], host["page"])
        text = value.strip().replace(" ", "")
        return size, text, str(size)
    size = _sizes.to_bytes(value, name=name)
    _check_uint64(name, value, size)
    if size == 0 and kind == "size":
        raise MemwiseError("%s: 0 would stop the unit from using any memory; write a size or 'infinity'" % name)
    return size, format_size(size), str(size)


def _weight(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise MemwiseError("%s: %r is not a weight; write a whole number from 1 to 10000" % (name, value))
    weight = int(value)
    if not 1 <= weight <= 10000:
        raise MemwiseError("%s: %d is out of range; a weight is 1..10000 (100 is the default)" % (name, weight))
    return weight, str(weight), str(weight)


def _tasks(name, value, host):
    if isinstance(value, str) and value.strip() == "infinity":
        return "infinity", "infinity", "infinity"
    permyriad = _permyriad(value, name, 10000)
    if permyriad is not None:
        count = host["tasks_max"] if permyriad == 10000 else host["tasks_max"] * permyriad // 10000
        return count, value.strip().replace(" ", ""), str(count)
    if isinstance(value, bool) or not str(value).strip().isdigit() or int(value) < 1:
        raise MemwiseError(
            "%s: %r is not a task limit; write a count of 1 or more, 'N%%' or 'infinity'" % (name, value)
        )
    _check_uint64(name, value, int(value))
    return int(value), str(int(value)), str(int(value))


def _check_uint64(name, value, number):
    """systemd keeps sizes and counts as 64-bit numbers, the largest meaning infinity."""
    if number > UINT64_MAX - 1:
        raise MemwiseError(
            "%s: %r is more than systemd can hold (at most %d); write 'infinity' for no limit"
            % (name, value, UINT64_MAX - 1)
        )


def _percent(name, kind, value):
    permyriad = _permyriad(value, name, 10000 if kind == "limit" else None)
    if permyriad is None:
        raise MemwiseError("%s: %r is not a percentage; write it like '20%%'" % (name, value))
    text = "%g%%" % (permyriad / 100.0)
    if kind == "limit":
        return permyriad, text, text
    if permyriad == 0:
        raise MemwiseError("%s: 0%% would stop the unit from running; write more than 0%%" % name)
    return permyriad * 100, text, text  # CPUQuota: microseconds of CPU time per second


def _bool(name, value):
    text = str(value).strip().lower() if not isinstance(value, bool) else ("yes" if value else "no")
    if text in ("yes", "true", "on", "1"):
        return "yes", "yes", "yes"
    if text in ("no", "false", "off", "0"):
        return "no", "no", "no"
    raise MemwiseError("%s: %r is not a boolean; write true or false" % (name, value))


def _duration(name, value):
    usec = parse_timespan(value)
    if usec is None:
        raise MemwiseError("%s: give a duration such as '30s'" % name)
    return usec, format_usec(usec), format_usec(usec)


# `systemctl show` prints these choices as systemd's tristate booleans.
SHOWN_AS = {"MemoryPressureWatch": {"off": "no", "on": "yes"}}


def _choice(name, kind, value):
    if not isinstance(value, str) or value not in kind:
        raise MemwiseError("%s: %r is not one of %s" % (name, value, ", ".join(kind)))
    return SHOWN_AS.get(name, {}).get(value, value), value, value


_NORMALIZERS = {
    "size": _size,
    "weight": lambda name, kind, value, host: _weight(name, value),
    "tasks": lambda name, kind, value, host: _tasks(name, value, host),
    "quota": lambda name, kind, value, host: _percent(name, kind, value),
    "bool": lambda name, kind, value, host: _bool(name, value),
    "duration": lambda name, kind, value, host: _duration(name, value),
}
_NORMALIZERS.update(size0=_NORMALIZERS["size"], swap=_NORMALIZERS["size"], limit=_NORMALIZERS["quota"])


def normalize(name, value, host):
    """``(canonical, file text, live text)`` for one property value, or MemwiseError saying why not.

    ``host`` holds ``mem_total`` (bytes), ``page`` (bytes) and ``tasks_max``
    (systemd's system_tasks_max()), the bases of percentages.
    """
    kind = PROPERTIES[name].kind
    if isinstance(kind, tuple):
        return _choice(name, kind, value)
    return _NORMALIZERS[kind](name, kind, value, host)


def from_show(name, text):
    """The canonical value of ``name`` from its ``systemctl show`` text."""
    kind = PROPERTIES[name].kind
    text = (text or "").strip()
    if text in (NOT_SET, ""):
        return None
    if kind in ("duration", "quota"):
        usec = parse_timespan(text)
        return None if usec == "infinity" and kind == "quota" else usec
    if kind == "limit":
        return round(int(text) * 10000.0 / UINT32_MAX)
    if text == "infinity" or not text.isdigit():
        return text
    return int(text)


def from_show_readout(text):
    """A usage readout (MemoryCurrent...): bytes or a count, None when systemd has no value."""
    text = (text or "").strip()
    return int(text) if text.isdigit() else (None if text in ("", NOT_SET) else text)


def show_name(name):
    return SHOW_NAMES.get(name, name)


def from_cgroup(name, text, period_usec=100000):
    """The canonical value a cgroup v2 file holds for ``name`` (comparable with :func:`from_show`)."""
    text = (text or "").strip()
    kind = PROPERTIES[name].kind
    if name == "CPUQuota":
        quota, _sep, period = text.partition(" ")
        return None if quota == "max" else round(int(quota) * 10**6 / int(period or period_usec))
    if name == "IOWeight":
        fields = dict(line.split(None, 1) for line in text.splitlines() if " " in line)
        return int(fields.get("default", "100"))
    if kind == "bool":
        return "yes" if text == "1" else "no"
    if text == "max":
        return "infinity"
    return int(text) if text.isdigit() else text


def cgroup_expected(name, canonical, page):
    """What the cgroup file must hold for ``canonical``: the kernel keeps memory limits in whole pages."""
    if PROPERTIES[name].kind in ("size", "size0", "swap") and isinstance(canonical, int):
        return canonical // page * page
    return canonical  # None (a weight or quota not set): the controller may be off, nothing to compare


def parse_dropin(text, section=None):
    """Assignments of the resource properties in a unit file or drop-in: ``{name: text}`` in order.

    Only ``section`` counts when given. The last assignment wins and an
    empty one resets the property (it is then mapped to None).
    """
    values, current = {}, None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and key in PROPERTIES and (section is None or current == section):
            values[key] = value.strip() or None
    return values


def render_dropin(section, values):
    """The drop-in text for ``{name: file text}``, properties in table order."""
    lines = [HEADER, "[%s]\n" % section]
    lines.extend("%s=%s\n" % (name, values[name]) for name in PROPERTIES if values.get(name) is not None)
    return "".join(lines)


def check_names(names, version):
    """Errors for unknown names and names this systemd lacks (a list of strings)."""
    errors = []
    for name in names:
        if name not in PROPERTIES:
            close = [p for p in PROPERTIES if p.lower() == str(name).lower()]
            hint = "did you mean %s?" % close[0] if close else "known properties: " + ", ".join(PROPERTIES)
            errors.append("%s: not a resource-control property memwise.linux manages; %s" % (name, hint))
        elif PROPERTIES[name].since > version:
            errors.append(
                "%s: needs systemd %d or later; this host runs systemd %d" % (name, PROPERTIES[name].since, version)
            )
    return errors


def validate(properties, version, host):
    """``{name: (canonical, file text, live text)}``; MemwiseError naming every bad property."""
    errors = check_names(properties, version)
    result = {}
    for name, value in properties.items():
        if name not in PROPERTIES or PROPERTIES[name].since > version:
            continue
        if value is None:
            errors.append("%s: no value given; to remove a property use state=absent" % name)
            continue
        try:
            result[name] = normalize(name, value, host)
        except MemwiseError as exc:
            errors.append(str(exc))
    if errors:
        raise MemwiseError("invalid properties, nothing changed: " + "; ".join(errors))
    return result


def default_value(name, manager):
    """What ``systemctl show`` reports for ``name`` when no configuration sets it."""
    prop = PROPERTIES[name]
    if manager.get(MANAGER_DEFAULTS.get(name, "")):
        return from_show(name, manager[MANAGER_DEFAULTS[name]])
    if name in NAME_DEFAULTS:
        return NAME_DEFAULTS[name]
    if isinstance(prop.kind, tuple):
        return prop.kind[0]
    if prop.kind == "bool":
        return "yes"
    return DEFAULTS[prop.kind]


def configured_value(name, sources, manager, host):
    """The canonical value the unit's configuration gives ``name``: ``sources`` is ``[(section, text)]``
    in systemd's order (unit file, then drop-ins by file name); the last assignment wins."""
    value = default_value(name, manager)
    for section, text in sources:
        assigned = parse_dropin(text, section)
        if name not in assigned:
            continue
        if assigned[name] is None:
            value = default_value(name, manager)
            continue
        try:
            value = normalize(name, assigned[name], host)[0]
        except MemwiseError:
            continue  # systemd ignores an assignment it cannot parse, and so does the prediction
    return value


def shadows(paths_texts, ours, wanted, section, host):
    """Drop-ins that systemd reads after ``ours`` and that set a managed property to another value."""
    found = []
    mine = posixpath.basename(ours)
    for path, text in paths_texts:
        if posixpath.basename(path) <= mine:
            continue
        for name, value in parse_dropin(text, section).items():
            if name not in wanted:
                continue
            try:
                theirs = normalize(name, value, host)[0] if value is not None else None
            except MemwiseError:
                theirs = value
            if theirs != wanted[name][0]:
                found.append({"property": name, "file": path, "value": value})
    return found


def _order(value):
    return float("inf") if value == "infinity" else value


CONTRADICTIONS = (
    ("MemoryHigh", "MemoryMax", "MemoryMax is reached first, so MemoryHigh never throttles"),
    ("MemoryLow", "MemoryHigh", "the unit is throttled before it can use the memory MemoryLow protects"),
    ("MemoryLow", "MemoryMax", "the unit can never use the memory MemoryLow protects"),
    ("MemoryMin", "MemoryLow", "MemoryMin already protects more than MemoryLow"),
)


def contradictions(values):
    """Warnings for limits that fight each other (MemoryHigh above MemoryMax, MemoryLow above MemoryHigh...)."""
    warnings = []
    for low, high, why in CONTRADICTIONS:
        a, b = values.get(low), values.get(high)
        if isinstance(a, (int, str)) and isinstance(b, (int, str)) and _order(a) > _order(b):
            warnings.append("%s (%s) is above %s (%s): %s" % (low, a, high, b, why))
    return warnings
