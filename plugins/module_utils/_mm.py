# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the typed table of kernel mm tunables under /sys, their validation, plan and tmpfiles.d file.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Each setting has a name (``thp.enabled``, ``zswap.max_pool_percent``), a sysfs
file and a kind that knows how to read the file into a canonical text, how to
validate a wish against what this kernel offers, and what to write. Settings
are applied and persisted in ORDER: a zswap compressor before zswap is
enabled, KSM's scan rate before KSM runs.
"""

from __future__ import annotations

import glob
import os
import re

from ansible_collections.memwise.linux.plugins.module_utils import _module, _procfs, _sysfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

THP = "/sys/kernel/mm/transparent_hugepage"
ZSWAP = "/sys/module/zswap/parameters"
KSM = "/sys/kernel/mm/ksm"
LRU_GEN = "/sys/kernel/mm/lru_gen"
INT_MAX = 2**31 - 1
OWNER = "memwise.linux.mm_tunables"
DEFAULT_PATH = "/etc/tmpfiles.d/memwise-mm.conf"
HEADER = (
    "# Managed by memwise.linux.mm_tunables (Ansible): changes made here are overwritten.\n"
    "# systemd-tmpfiles writes these values into /sys at boot (w lines, tmpfiles.d(5)).\n"
)
GROUPS = {
    "thp": (THP, "transparent huge pages (CONFIG_TRANSPARENT_HUGEPAGE)"),
    "zswap": (ZSWAP, "zswap (CONFIG_ZSWAP)"),
    "ksm": (KSM, "KSM (CONFIG_KSM)"),
    "mglru": (LRU_GEN, "MGLRU (CONFIG_LRU_GEN)"),
}
KSM_RUN = {"stop": "0", "run": "1", "unmerge": "2"}
ZPOOLS = ("zbud", "z3fold", "zsmalloc")
# Compression algorithms a kernel may ship as modules; /proc/crypto lists the ones loaded or built in.
COMPRESSORS = ("842", "deflate", "lz4", "lz4hc", "lzo", "lzo-rle", "zstd")

# name -> (file, kind, minimum, maximum); ORDER is the order of writes and of the file's lines.
TABLE = {
    "thp.enabled": (THP + "/enabled", "choice", None, None),
    "thp.defrag": (THP + "/defrag", "choice", None, None),
    "thp.shmem_enabled": (THP + "/shmem_enabled", "choice", None, None),
    "thp.khugepaged.defrag": (THP + "/khugepaged/defrag", "int", 0, 1),
    "thp.khugepaged.pages_to_scan": (THP + "/khugepaged/pages_to_scan", "int", 1, INT_MAX),
    "thp.khugepaged.scan_sleep_millisecs": (THP + "/khugepaged/scan_sleep_millisecs", "int", 0, INT_MAX),
    "thp.khugepaged.alloc_sleep_millisecs": (THP + "/khugepaged/alloc_sleep_millisecs", "int", 0, INT_MAX),
    "thp.khugepaged.max_ptes_none": (THP + "/khugepaged/max_ptes_none", "int", 0, 511),
    "thp.khugepaged.max_ptes_swap": (THP + "/khugepaged/max_ptes_swap", "int", 0, 511),
    "thp.khugepaged.max_ptes_shared": (THP + "/khugepaged/max_ptes_shared", "int", 0, 511),
    "zswap.compressor": (ZSWAP + "/compressor", "compressor", None, None),
    "zswap.zpool": (ZSWAP + "/zpool", "zpool", None, None),
    "zswap.max_pool_percent": (ZSWAP + "/max_pool_percent", "int", 0, 100),
    "zswap.accept_threshold_percent": (ZSWAP + "/accept_threshold_percent", "int", 0, 100),
    "zswap.shrinker_enabled": (ZSWAP + "/shrinker_enabled", "bool", None, None),
    "zswap.enabled": (ZSWAP + "/enabled", "bool", None, None),
    "ksm.pages_to_scan": (KSM + "/pages_to_scan", "int", 0, INT_MAX),
    "ksm.sleep_millisecs": (KSM + "/sleep_millisecs", "int", 0, INT_MAX),
    "ksm.run": (KSM + "/run", "ksm_run", None, None),
    "mglru.enabled": (LRU_GEN + "/enabled", "mask", None, None),
    "mglru.min_ttl_ms": (LRU_GEN + "/min_ttl_ms", "int", 0, INT_MAX),
}
ORDER = list(TABLE)
PATHS = {entry[0]: name for name, entry in TABLE.items()}


def flatten(options):
    """Module options (``{"thp": {"enabled": ..., "khugepaged": {...}}, ...}``) -> ``{name: value}`` in ORDER."""
    wanted = {}
    for group in GROUPS:
        values = options.get(group) or {}
        for key, value in values.items():
            if isinstance(value, dict):
                for sub, subvalue in value.items():
                    if subvalue is not None:
                        wanted["%s.%s.%s" % (group, key, sub)] = subvalue
            elif value is not None:
                wanted["%s.%s" % (group, key)] = value
    unknown = [name for name in wanted if name not in TABLE]
    if unknown:
        raise MemwiseError("unknown setting(s) %s; known: %s" % (", ".join(unknown), ", ".join(ORDER)))
    return {name: wanted[name] for name in ORDER if name in wanted}


def read_canonical(name, text):
    """A file's text -> the canonical value compared and reported (``madvise``, ``20``, ``Y``, ``run``, ``0x0007``)."""
    path, kind, _low, _high = TABLE[name]
    if kind == "choice":
        return _sysfs.parse_choice(text, path)[0]
    if kind == "bool":
        return "Y" if _sysfs.parse_bool(text, path) else "N"
    if kind == "ksm_run":
        number = str(_sysfs.parse_int(text, path))
        return {v: k for k, v in KSM_RUN.items()}.get(number, number)
    if kind == "mask":
        return "0x%04x" % _sysfs.parse_int(text, path)
    if kind == "int":
        return str(_sysfs.parse_int(text, path))
    return text.strip()


def desired(name, value, current_text, offered):
    """``(canonical wish, text to write)`` or MemwiseError saying why the wish does not fit this kernel.

    ``current_text`` is the file's text now; ``offered`` maps ``compressors``
    and ``zpools`` to what the kernel can use.
    """
    path, kind, low, high = TABLE[name]
    if kind == "choice":
        _selected, choices = _sysfs.parse_choice(current_text, path)
        if str(value) not in choices:
            raise MemwiseError("%s: %r is not one of this kernel's choices: %s" % (name, value, ", ".join(choices)))
        return str(value), str(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise MemwiseError("%s: %r is not a boolean (true or false)" % (name, value))
        return ("Y", "Y") if value else ("N", "N")
    if kind == "ksm_run":
        if value not in KSM_RUN:
            raise MemwiseError("%s: %r is not one of stop, run, unmerge" % (name, value))
        return value, KSM_RUN[value]
    if kind == "mask":
        return _desired_mask(name, value, current_text)
    if kind == "int":
        number = _as_int(name, value)
        if not low <= number <= high:
            raise MemwiseError("%s: %d is outside %d..%d" % (name, number, low, high))
        return str(number), str(number)
    if kind in ("compressor", "zpool"):
        pool = offered.get(kind + "s") or []
        if value not in pool:
            raise MemwiseError(
                "%s: %r is not available in this kernel; it offers %s" % (name, value, ", ".join(pool) or "none")
            )
        return str(value), str(value)
    raise MemwiseError("%s: unknown kind %s" % (name, kind))


def _as_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not re.match(r"^-?\d+$", str(value).strip()):
        raise MemwiseError("%s: %r is not an integer" % (name, value))
    return int(str(value).strip())


_BOOL_WORDS = {"true": True, "yes": True, "on": True, "y": True, "false": False, "no": False, "off": False, "n": False}


def _desired_mask(name, value, current_text):
    """MGLRU: ``true`` keeps any enabled mask (or writes ``y``), ``false`` means 0, an integer is the exact mask."""
    current = _sysfs.parse_int(current_text, TABLE[name][0])
    if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
        value = _BOOL_WORDS[value.strip().lower()]
    if isinstance(value, bool):
        if value:
            return ("0x%04x" % current, "y") if current else ("enabled", "y")
        return "0x0000", "n"
    number = _as_int(name, value)
    if not 0 <= number <= 0xFFFF:
        raise MemwiseError("%s: %d is not a feature mask (0..0xffff)" % (name, number))
    return "0x%04x" % number, str(number)


def satisfied(wish, got):
    """Whether the canonical value ``got`` already is the wish (MGLRU "enabled": any non-zero mask)."""
    if wish == "enabled":  # MGLRU "y": the kernel picks the bits it has
        return got != "0x0000"
    return got == wish


def matches(name, wish, answer_text):
    """Whether the file read back after a write holds the wish."""
    return satisfied(wish, read_canonical(name, answer_text))


def available_compressors(crypto_text, module_files):
    """Compression algorithms zswap can use: registered in /proc/crypto, or a known one shipped as a module."""
    names, current = set(), {}
    for line in (crypto_text or "").splitlines() + [""]:
        if not line.strip():
            if current.get("type") in ("compression", "scomp", "acomp") and current.get("name"):
                names.add(current["name"])
            current = {}
            continue
        key, _sep, value = line.partition(":")
        current[key.strip()] = value.strip()
    shipped = {_module_name(path) for path in module_files} & set(COMPRESSORS)
    return sorted(names | shipped)


def available_zpools(loaded, module_files):
    """zpool allocators zswap can use: loaded (/sys/module/NAME), built in, or shipped as a module."""
    shipped = {_module_name(path) for path in module_files}
    return [name for name in ZPOOLS if name in loaded or name in shipped]


def _module_name(path):
    """``kernel/crypto/zstd.ko.xz`` -> ``zstd`` (a modules.builtin line or a file name)."""
    match = re.match(r"^(.+?)\.ko(\.[a-z]+)?$", os.path.basename(path.strip()))
    return match.group(1) if match else None


def tmpfiles_line(name, value_text):
    return "w %s - - - - %s\n" % (TABLE[name][0], value_text)


def parse_tmpfiles(text):
    """``{setting name: written text}`` from the owned tmpfiles.d file (``w`` lines of known files)."""
    values = {}
    for line in (text or "").splitlines():
        words = line.split(None, 6)
        if len(words) == 7 and words[0] in ("w", "w+") and words[1] in PATHS:
            values[PATHS[words[1]]] = words[6].strip()
    return values


def render_tmpfiles(values):
    """The owned file's text: the header and one ``w`` line per setting, in ORDER."""
    return HEADER + "".join(tmpfiles_line(name, values[name]) for name in ORDER if name in values)


def _text(path):
    return _procfs.read_text(path, _sysfs.ROOT)[0]


def kernel_release():
    """The running kernel's release, as errors name it."""
    return (_text("/proc/sys/kernel/osrelease") or "unknown").strip()


def offered(release):
    """What zswap may use on this kernel: compressors and zpools (loaded, built in, or shipped as modules)."""
    base = "/lib/modules/%s" % release
    builtin = (_text(base + "/modules.builtin") or "").splitlines()
    shipped = [
        name for where in ("crypto", "mm") for name in glob.glob(_sysfs.host(base + "/kernel/" + where) + "/*.ko*")
    ]
    loaded = [name for name in ZPOOLS if os.path.isdir(_sysfs.host("/sys/module/" + name))]
    return {
        "compressors": available_compressors(_text("/proc/crypto"), builtin + shipped),
        "zpools": available_zpools(loaded, builtin + shipped),
    }


def validate(wanted, release):
    """``{name: (canonical before, canonical wish, text to write)}``; the errors of every bad setting."""
    checked, errors, pools = {}, [], None
    for name, value in wanted.items():
        group_dir, what = GROUPS[name.split(".", 1)[0]]
        path = TABLE[name][0]
        text = _text(path)
        if text is None:
            if not os.path.isdir(_sysfs.host(group_dir)):
                errors.append("%s: kernel %s has no %s (%s does not exist)" % (name, release, what, group_dir))
            else:
                errors.append("%s: kernel %s does not offer this setting (%s does not exist)" % (name, release, path))
            continue
        if TABLE[name][1] in ("compressor", "zpool") and pools is None:
            pools = offered(release)
        try:
            wish, write = desired(name, value, text, pools or {})
            checked[name] = (read_canonical(name, text), wish, write)
        except MemwiseError as exc:
            errors.append(str(exc))
    return checked, errors


def read_current(names):
    """The canonical live values of ``names`` that can be read (state=absent reports them, never writes them)."""
    current = {}
    for name in names:
        text = _text(TABLE[name][0])
        try:
            current[name] = read_canonical(name, text) if text is not None else None
        except MemwiseError:
            current[name] = None
    return current


def restore_text(name, canonical):
    """What to write to bring a setting back to its canonical ``before`` value."""
    kind = TABLE[name][1]
    if kind == "ksm_run":
        return KSM_RUN.get(canonical, canonical)
    if kind == "mask":
        return str(int(canonical, 16))
    return canonical


def plan(checked, persisted, *, live, persist):
    """state=present: ``(settings, writes, new persisted values)`` for the validated ``checked`` settings."""
    new, settings, writes = dict(persisted), {}, []
    for name, (before, wish, write) in checked.items():
        live_after = before
        if live and not satisfied(wish, before):
            live_after = wish
            writes.append(
                (
                    name,
                    _sysfs.host(TABLE[name][0]),
                    write,
                    restore_text(name, before),
                    lambda answer, n=name, w=wish: matches(n, w, answer),
                )
            )
        if persist:
            new[name] = write
        settings[name] = {
            "live": _module.layer(before, live_after),
            "file": _module.layer(persisted.get(name), new.get(name)),
        }
    return settings, writes, new


def plan_absent(names, current, persisted):
    """state=absent: ``(settings, new persisted values)``; live values are kept (reported, never written)."""
    new = {name: text for name, text in persisted.items() if name not in names}
    settings = {
        name: {
            "live": _module.layer(current.get(name), current.get(name)),
            "file": _module.layer(persisted.get(name), None),
        }
        for name in names
    }
    return settings, new


def file_after(before, persisted, new, rewrite):
    """The owned file's new text (None: no file): unchanged when its settings are, unless ``rewrite`` (taken over)."""
    if not new:
        return None
    if before is not None and not rewrite and new == persisted:
        return before
    return render_tmpfiles(new)
