# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: memory fact sections, the gather_subset resolver and the collector.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Each section is a function ``(root) -> (data, reason)``: data for
``ansible_facts.memwise.<section>``, or ``None`` and the reason that lands in
``memwise.unavailable``. A missing or unreadable source never raises.
"""

from __future__ import annotations

from ansible_collections.memwise.linux.plugins.module_utils import _procfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def _meminfo(root):
    text, reason = _procfs.read_text("/proc/meminfo", root)
    if text is None:
        return None, reason
    return _procfs.parse_meminfo(text), None


def _swap(root):
    text, reason = _procfs.read_text("/proc/swaps", root)
    if text is None:
        return None, reason
    devices = _procfs.parse_swaps(text)
    total = sum(d["size"] for d in devices)
    used = sum(d["used"] for d in devices)
    return {"devices": devices, "total": total, "used": used, "free": total - used}, None


SECTIONS = {
    "meminfo": _meminfo,
    "swap": _swap,
}


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


def collect(subset, root="/"):
    """Collect the named sections; return the ``memwise`` fact dict with ``unavailable``."""
    facts = {"unavailable": {}}
    for name in subset:
        try:
            data, reason = SECTIONS[name](root)
        except MemwiseError as exc:
            data, reason = None, str(exc)
        facts[name] = data
        if reason:
            facts["unavailable"][name] = reason
    return facts
