# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: sysctl keys, values, sysctl.d files, their precedence, validation and the plan.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Keys are written with dots (``vm.swappiness``) or slashes (``vm/swappiness``);
when the first separator is a slash, dots are part of a name
(``net/ipv4/conf/eth0.100/rp_filter``), as in sysctl.d(5). The canonical key
uses dots unless a component holds a dot. Values compare after whitespace
normalisation and, where every word is an integer, as integers, so
``4\\t4 1 7`` equals ``4 4 1 7`` and ``010`` equals ``10``.
"""

from __future__ import annotations

import fnmatch
import os
import re

from ansible_collections.memwise.linux.plugins.module_utils import _procfs, _sysfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

PROC_SYS = "/proc/sys"
OWNER = "memwise.linux.sysctl"
DEFAULT_PATH = "/etc/sysctl.d/90-memwise.conf"
# Read by systemd-sysctl (and procps `sysctl --system`) in this order of precedence
# for equal file names; the merged names are then applied in lexical order.
SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")
SYSCTL_CONF = "/etc/sysctl.conf"
HEADER = (
    "# Managed by memwise.linux.sysctl (Ansible): changes made here are overwritten.\n"
    "# systemd-sysctl applies these keys at boot; a later file in sysctl.d overrides them.\n"
)
_INT_RE = re.compile(r"^-?\d+$")
_GLOB_CHARS = "*?["

# Keys that exist only once a kernel module is loaded: prefix -> module.
NEEDS_MODULE = (
    ("net.bridge.", "br_netfilter"),
    ("net.netfilter.nf_conntrack", "nf_conntrack"),
    ("net.nf_conntrack_max", "nf_conntrack"),
    ("net.ipv4.netfilter.", "nf_conntrack"),
    ("net.ipv4.vs.", "ip_vs"),
    ("net.ipv6.", "ipv6"),
    ("fs.binfmt_misc.", "binfmt_misc"),
    ("sunrpc.", "sunrpc"),
    ("fs.nfs.", "nfs"),
)
# Write-only triggers: not settings, never persisted.
TRIGGERS = ("vm.drop_caches", "vm.compact_memory", "vm.stat_refresh")

INT_MAX = 2**31 - 1
# Keys that share one kernel setting: writing one zeroes the other, and the kernel refuses 0 for the
# *bytes side, so they cannot both be managed, and a rollback restores through the partner.
PAIRS = {
    "vm.dirty_bytes": "vm.dirty_ratio",
    "vm.dirty_background_bytes": "vm.dirty_background_ratio",
    "vm.overcommit_kbytes": "vm.overcommit_ratio",
}
PAIRS.update({ratio: size for size, ratio in list(PAIRS.items())})
# vm.min_free_kbytes above this share of RAM can deadlock the kernel in reclaim (seen on 1 GiB VMs).
MIN_FREE_MAX_RATIO = 0.10


def _swappiness_max(kernel):
    return 200 if kernel >= (5, 8) else 100


# Ranges of common keys: key -> (minimum, maximum or a function of the kernel version, number of integers).
# The kernel has the last word (it may refuse more at write time, and the module rolls back then);
# the table catches the usual mistakes before anything is written.
RANGES = {
    "vm.swappiness": (0, _swappiness_max, 1),
    "vm.overcommit_memory": (0, 2, 1),
    "vm.overcommit_ratio": (0, INT_MAX, 1),
    "vm.dirty_ratio": (0, 100, 1),
    "vm.dirty_background_ratio": (0, 100, 1),
    "vm.dirty_expire_centisecs": (0, INT_MAX, 1),
    "vm.dirty_writeback_centisecs": (0, INT_MAX, 1),
    "vm.vfs_cache_pressure": (0, INT_MAX, 1),
    "vm.min_free_kbytes": (0, INT_MAX, 1),
    "vm.watermark_scale_factor": (1, 3000, 1),
    "vm.watermark_boost_factor": (0, INT_MAX, 1),
    "vm.page-cluster": (0, 31, 1),
    "vm.panic_on_oom": (0, 2, 1),
    "vm.oom_kill_allocating_task": (0, 1, 1),
    "vm.oom_dump_tasks": (0, 1, 1),
    "vm.zone_reclaim_mode": (0, 7, 1),
    "vm.compaction_proactiveness": (0, 100, 1),
    "vm.max_map_count": (0, INT_MAX, 1),
    "vm.laptop_mode": (0, INT_MAX, 1),
    "vm.nr_hugepages": (0, 2**63 - 1, 1),
    "vm.unprivileged_userfaultfd": (0, 1, 1),
    "kernel.sysrq": (0, 511, 1),
    "kernel.kptr_restrict": (0, 2, 1),
    "kernel.dmesg_restrict": (0, 1, 1),
    "kernel.perf_event_paranoid": (-1, 4, 1),
    "kernel.yama.ptrace_scope": (0, 3, 1),
    "kernel.unprivileged_bpf_disabled": (0, 2, 1),
    "kernel.panic_on_oops": (0, 1, 1),
    "kernel.pid_max": (301, 4194304, 1),
    "kernel.printk": (0, 15, 4),
    "kernel.randomize_va_space": (0, 2, 1),
    "fs.suid_dumpable": (0, 2, 1),
    "fs.protected_symlinks": (0, 1, 1),
    "fs.protected_hardlinks": (0, 1, 1),
    "fs.protected_fifos": (0, 2, 1),
    "fs.protected_regular": (0, 2, 1),
    "fs.inotify.max_user_watches": (1, INT_MAX, 1),
    "fs.inotify.max_user_instances": (1, INT_MAX, 1),
    "net.ipv4.ip_forward": (0, 1, 1),
    "net.ipv4.tcp_syncookies": (0, 2, 1),
    "net.ipv4.conf.all.rp_filter": (0, 2, 1),
    "net.ipv4.conf.default.rp_filter": (0, 2, 1),
    "net.ipv4.ip_local_port_range": (1, 65535, 2),
    "net.core.somaxconn": (0, INT_MAX, 1),
}


def parse_key(raw, name="settings"):
    """``(canonical key, path below /proc/sys)`` for a key written with dots or slashes."""
    if not isinstance(raw, str):
        raise MemwiseError("%s: key %r is not a string" % (name, raw))
    key = raw.strip()
    if not key or any(c.isspace() for c in key) or "=" in key:
        raise MemwiseError("%s: %r is not a sysctl key (write it like vm.swappiness or vm/swappiness)" % (name, raw))
    dot, slash = key.find("."), key.find("/")
    separator = "/" if slash != -1 and (dot == -1 or slash < dot) else "."
    parts = key.strip(separator).split(separator)
    if any(not part or part in (".", "..") for part in parts):
        raise MemwiseError("%s: %r has an empty or relative component" % (name, raw))
    canonical = "/".join(parts) if any("." in part for part in parts) else ".".join(parts)
    return canonical, "/".join(parts)


def _scalar(value, key):
    if isinstance(value, bool):
        raise MemwiseError("%s: %r is a boolean; write 0 or 1" % (key, value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return " ".join(value.split())
    raise MemwiseError("%s: %r is neither a string, an integer nor a list of them" % (key, value))


def normalize_value(value, key):
    """A value as the text sysctl compares: words separated by one space."""
    if isinstance(value, (list, tuple)):
        words = [_scalar(item, key) for item in value]
        if any(" " in word or not word for word in words):
            raise MemwiseError("%s: list items must be single words or integers, got %r" % (key, value))
        return " ".join(words)
    return _scalar(value, key)


def same_value(left, right):
    """Whether two values are equal for the kernel: as integers where both are integer words."""
    if left is None or right is None:
        return left is right
    a, b = left.split(), right.split()
    if len(a) == len(b) and all(_INT_RE.match(w) for w in a + b):
        return [int(w) for w in a] == [int(w) for w in b]
    return a == b


def parse_conf(text, path="sysctl.conf"):
    """Entries of a sysctl.d file: ``[{key, value, line, ignore_errors, pattern}]`` and unparsable lines.

    Comments start with ``#`` or ``;``; ``key = value`` and ``key=value`` are both
    valid; a leading ``-`` means errors writing the key are ignored; a key with
    ``*``, ``?`` or ``[`` is a glob pattern (systemd 246+).
    """
    entries, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        key, sep, value = stripped.partition("=")
        key = key.strip()
        ignore = key.startswith("-")
        if ignore:
            key = key[1:].strip()
        if not sep or not key:
            problems.append("%s:%d: not 'key = value': %r" % (path, number, line))
            continue
        try:
            canonical, _rel = parse_key(key, path)
        except MemwiseError:
            problems.append("%s:%d: not a sysctl key: %r" % (path, number, key))
            continue
        entries.append(
            {
                "key": canonical,
                "value": " ".join(value.split()),
                "line": number,
                "ignore_errors": ignore,
                "pattern": any(c in canonical for c in _GLOB_CHARS),
            }
        )
    return entries, problems


def render_conf(values):
    """The text of an owned file: the header and ``key = value`` lines in the given order."""
    return HEADER + "".join("%s = %s\n" % (key, value) for key, value in values.items())


def owned_values(text, path):
    """``{key: value}`` of an owned file (later duplicates win, as they would at boot)."""
    entries, _problems = parse_conf(text or "", path)
    return {entry["key"]: entry["value"] for entry in entries}


def load_order(root, listdir=os.listdir, realpath=os.path.realpath):
    """Host paths of every sysctl.d file in the order they are applied; /etc/sysctl.conf last.

    Files of equal name are merged: the first of SYSCTL_DIRS wins. /etc/sysctl.conf
    comes last unless a file in the list already is (Debian's 99-sysctl.conf link).
    """
    chosen = {}
    for directory in SYSCTL_DIRS:
        try:
            names = listdir(os.path.join(root, directory.lstrip("/")))
        except OSError:
            continue
        for name in names:
            if name.endswith(".conf"):
                chosen.setdefault(name, directory + "/" + name)
    order = [chosen[name] for name in sorted(chosen)]
    conf = os.path.join(root, SYSCTL_CONF.lstrip("/"))
    if os.path.isfile(conf):
        targets = {realpath(os.path.join(root, path.lstrip("/"))) for path in order}
        if realpath(conf) not in targets:
            order.append(SYSCTL_CONF)
    return order


def _position(order, path):
    """Where ``path`` sits in ``order`` (or would, once written); None if boot never reads it."""
    directory, name = os.path.split(path)
    if directory not in SYSCTL_DIRS or not name.endswith(".conf"):
        return None
    for index, other in enumerate(order):
        if os.path.basename(other) == name and other != SYSCTL_CONF:
            return index if other == path else None  # another directory's file of that name wins
    names = [os.path.basename(p) for p in order if p != SYSCTL_CONF]
    return sum(1 for n in names if n < name) - 0.5


def boot_reads(order, path):
    """Whether systemd-sysctl reads ``path`` at boot (it is in SYSCTL_DIRS and not masked)."""
    return _position(order, path) is not None


def find_shadows(order, path, values, read):
    """Managed keys that a file applied after ``path`` sets to another value.

    ``values`` maps canonical keys to the values this call wants; ``read(path)``
    returns a file's text (or None). Returns ``[{key, value, file, line, shadow_value}]``.
    """
    position = _position(order, path)
    if position is None:
        return []
    shadows = []
    for index, other in enumerate(order):
        if index <= position or other == path:
            continue
        text = read(other)
        if text is None:
            continue
        entries, _problems = parse_conf(text, other)
        for entry in entries:
            for key, value in values.items():
                dotted = key.replace("/", ".")
                hit = (
                    fnmatch.fnmatchcase(dotted, entry["key"].replace("/", "."))
                    if entry["pattern"]
                    else entry["key"] == key
                )
                if hit and not same_value(entry["value"], value):
                    shadows.append(
                        {
                            "key": key,
                            "value": value,
                            "file": other,
                            "line": entry["line"],
                            "shadow_value": entry["value"],
                        }
                    )
    return shadows


def kernel_version(release):
    """``6.1.0-28-amd64`` -> ``(6, 1)``."""
    match = re.match(r"^(\d+)\.(\d+)", release or "")
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def check_pairs(keys):
    """Why a set of keys cannot be managed together (both sides of a bytes/ratio pair), or None."""
    dotted = {key.replace("/", ".") for key in keys}
    both = sorted({min(k, PAIRS[k]) for k in dotted if k in PAIRS and PAIRS[k] in dotted})
    if both:
        return "; ".join(
            "%s and %s set the same kernel value (writing one zeroes the other); manage only one" % (k, PAIRS[k])
            for k in both
        )
    return None


def check_min_free(value, mem_total_kb):
    """Why a vm.min_free_kbytes value is dangerous on a host with ``mem_total_kb`` of RAM, or None."""
    limit = int(mem_total_kb * MIN_FREE_MAX_RATIO)
    if mem_total_kb and int(value) > limit:
        return "%s kB is more than %d%% of RAM (%d kB); the kernel would reclaim constantly and can deadlock" % (
            value,
            MIN_FREE_MAX_RATIO * 100,
            limit,
        )
    return None


def check_range(key, value, kernel):
    """None, or why ``value`` is outside the documented range of ``key``."""
    rule = RANGES.get(key)
    if rule is None:
        return None
    low, high, count = rule
    high = high(kernel) if callable(high) else high
    words = value.split()
    if len(words) != count or not all(_INT_RE.match(w) for w in words):
        return "takes %d integer(s), got %r" % (count, value)
    numbers = [int(w) for w in words]
    bad = [n for n in numbers if not low <= n <= high]
    if bad:
        where = " on kernel %d.%d" % kernel if callable(rule[1]) else ""
        return "%s is outside %d..%d%s" % (bad[0], low, high, where)
    if key == "net.ipv4.ip_local_port_range" and numbers[0] > numbers[1]:
        return "the first port %d is above the last %d" % tuple(numbers)
    return None


def check_shape(current, value):
    """None, or why ``value`` does not have the shape of the key's ``current`` value."""
    now, new = current.split(), value.split()
    if now and all(_INT_RE.match(w) for w in now):
        if not new or not all(_INT_RE.match(w) for w in new):
            kind = "an integer" if len(now) == 1 else "%d integers" % len(now)
            return "takes %s (now %r), got %r" % (kind, current, value)
        if len(new) != len(now):
            return "takes %d integer(s) (now %r), got %d" % (len(now), current, len(new))
    return None


def module_hint(key):
    dotted = key.replace("/", ".")
    for prefix, module in NEEDS_MODULE:
        if dotted.startswith(prefix):
            return module
    return None


def plan(settings, live_values, file_values, *, live, persist, state):
    """The exact changes: ``{key: {"live": (before, after), "file": (before, after)}}`` plus the new file values.

    ``settings`` maps canonical keys to normalised values (for ``absent`` only
    the keys matter); ``live_values`` holds the current kernel values (None when
    not read); ``file_values`` the owned file's current values. ``after`` equals
    ``before`` where nothing changes.
    """
    new_file = dict(file_values)
    changes = {}
    for key, value in settings.items():
        live_before = live_values.get(key)
        file_before = file_values.get(key)
        if state == "absent":
            new_file.pop(key, None)
            changes[key] = {"live": (live_before, live_before), "file": (file_before, None)}
            continue
        live_after = value if live and live_before is not None and not same_value(live_before, value) else live_before
        file_after = file_before
        if persist:
            file_after = file_before if same_value(file_before, value) else value
            new_file[key] = file_after
        changes[key] = {"live": (live_before, live_after), "file": (file_before, file_after)}
    return changes, new_file


def proc_path(rel):
    """The host file of a key's path below /proc/sys."""
    return _sysfs.host(os.path.join(PROC_SYS, rel))


def read_live(rel):
    """A key's live value, whitespace collapsed (OSError when it cannot be read)."""
    with open(proc_path(rel), encoding="utf-8") as handle:
        return " ".join(handle.read().split())


def proc_sys_readonly():
    """Whether /proc/sys is mounted read-only (a container): True when it cannot even be looked at."""
    try:
        return bool(os.statvfs(_sysfs.host(PROC_SYS)).f_flag & os.ST_RDONLY)
    except OSError:
        return True


def running_kernel():
    """``(major, minor)`` of the running kernel; ``(0, 0)`` without /proc/sys (every key then fails validation)."""
    try:
        return kernel_version(read_live("kernel/osrelease"))
    except OSError:
        return (0, 0)


def mem_total_kb():
    text, _reason = _procfs.read_text("/proc/meminfo", _sysfs.ROOT)
    try:
        return _procfs.parse_meminfo(text)["MemTotal"] // 1024 if text else 0
    except MemwiseError:
        return 0


def parse_settings(raw, state):
    """``({canonical key: (path below /proc/sys, normalised value)}, [errors])`` from the ``settings`` option."""
    if state == "absent" and isinstance(raw, list):
        raw = dict.fromkeys(raw)
    if not isinstance(raw, dict) or not raw:
        raise MemwiseError(
            "settings: give a non-empty dict of key: value (or, with state=absent, a list of keys), not %s %r; "
            "nothing changed" % (type(raw).__name__, raw)
        )
    settings, errors, seen = {}, [], {}
    for key, value in raw.items():
        try:
            canonical, rel = parse_key(key)
            if canonical in seen:
                raise MemwiseError("%s: given twice (as %r and %r)" % (canonical, seen[canonical], key))
            seen[canonical] = key
            if canonical.replace("/", ".") in TRIGGERS:
                raise MemwiseError("%s: is a write-only trigger, not a setting" % canonical)
            settings[canonical] = (rel, None if state == "absent" else normalize_value(value, canonical))
        except MemwiseError as exc:
            errors.append(str(exc))
    return settings, errors


def _missing(key):
    module = module_hint(key)
    if module:
        return (
            "%s: does not exist under /proc/sys; it appears when the kernel module %s is loaded "
            "(modprobe %s, persisted in /etc/modules-load.d)" % (key, module, module)
        )
    return "%s: no such key under /proc/sys (check the spelling with sysctl -a)" % key


def validate_live(settings, kernel):
    """Read the current value of every key and check key, mode, shape and range: ``(current, [errors])``."""
    current, errors = {}, []
    for key, (rel, value) in settings.items():
        full = proc_path(rel)
        if not os.path.exists(full):
            errors.append(_missing(key))
            continue
        if os.path.isdir(full):
            errors.append("%s: is a directory under /proc/sys, not a key" % key)
            continue
        if not os.stat(full).st_mode & 0o222:
            errors.append("%s: is read-only in this kernel; it cannot be set" % key)
            continue
        try:
            current[key] = read_live(rel)
        except OSError as exc:
            errors.append("%s: cannot be read (%s)" % (key, exc.strerror))
            continue
        why = check_shape(current[key], value) or check_range(key.replace("/", "."), value, kernel)
        if not why and key == "vm.min_free_kbytes":
            why = check_min_free(value, mem_total_kb())
        if why:
            errors.append("%s: %s" % (key, why))
    pairs = check_pairs(settings)
    if pairs:
        errors.append(pairs)
    return current, errors


def read_current(settings):
    """The live values of the keys that can be read (state=absent reports them; it never writes them)."""
    current = {}
    for key, (rel, _value) in settings.items():
        try:
            current[key] = read_live(rel)
        except OSError:
            continue
    return current


def live_writes(settings, changes):
    """The live writes of the plan, in the order given, each restoring its old value on rollback."""
    writes = []
    for key, change in changes.items():
        before, after = change["live"]
        if before == after:
            continue
        item = (key, proc_path(settings[key][0]), after, before, lambda answer, a=after: same_value(answer, a))
        partner = PAIRS.get(key.replace("/", "."))
        if partner and before == "0":
            # The partner holds the setting now; writing this key zeroes it, so undo restores the partner.
            rel = partner.replace(".", "/")
            item += ((partner, proc_path(rel), read_live(rel)),)
        writes.append(item)
    return writes


def file_after(file_before, file_values, new_values, rewrite):
    """The owned file's new text (None: no file); unchanged text when its keys and values are the same.

    ``rewrite`` renders the file even then (a file taken over with ``force`` gets the header).
    """
    if not new_values:
        return None
    if file_before is not None and not rewrite and file_values == new_values:
        return file_before
    return render_conf(new_values)


def settings_result(changes):
    """The ``settings`` return: per key, the ``live`` and ``file`` layers."""
    return {
        key: {name: {"before": change[name][0], "after": change[name][1]} for name in ("live", "file")}
        for key, change in changes.items()
    }
