# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: parsers for /proc memory files, and a reader that never raises for a missing file.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Every parser takes the file's text and returns plain data, so it is unit-tested
on captured files; reading goes through ``read_text`` which reports why a
source is unavailable instead of failing.
"""

from __future__ import annotations

import errno
import os

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def read_text(path, root="/"):
    """Return ``(text, None)`` or ``(None, reason)`` for a file below ``root``.

    The reason is a short sentence for ``memwise.unavailable``: missing, not
    readable, or another OS error, naming the path.
    """
    full = os.path.join(root, path.lstrip("/"))
    try:
        with open(full, encoding="utf-8", errors="replace") as handle:
            return handle.read(), None
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None, "%s does not exist on this host" % path
        if exc.errno in (errno.EACCES, errno.EPERM):
            return None, "%s is not readable (%s)" % (path, exc.strerror)
        return None, "%s could not be read: %s" % (path, exc.strerror or exc)


def parse_meminfo(text):
    """Parse /proc/meminfo: every field, in bytes (``kB`` fields x 1024; counts as they are)."""
    result = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, rest = line.partition(":")
        words = rest.split()
        if not sep or not words or not words[0].isdigit():
            raise MemwiseError("/proc/meminfo line %d is not 'Key: value [kB]': %r" % (number, line))
        value = int(words[0])
        if len(words) > 1:
            if words[1] != "kB":
                raise MemwiseError("/proc/meminfo line %d has an unknown unit %r" % (number, words[1]))
            value *= 1024
        result[key.strip()] = value
    if "MemTotal" not in result:
        raise MemwiseError("/proc/meminfo has no MemTotal line; is this a Linux /proc?")
    return result


def unescape_octal(path):
    """Undo the octal escapes the kernel uses for spaces and tabs in /proc/swaps and /proc/mounts."""
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\" and path[i + 1 : i + 4].isdigit() and len(path[i + 1 : i + 4]) == 3:
            out.append(chr(int(path[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def parse_swaps(text):
    """Parse /proc/swaps into device dicts: path, type (file/partition/zram), size, used (bytes), priority."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Filename"):
        raise MemwiseError("/proc/swaps does not start with its 'Filename Type Size Used Priority' header")
    devices = []
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 5 or not all(f.lstrip("-").isdigit() for f in fields[2:]):
            raise MemwiseError("/proc/swaps line %d is not 'path type size used priority': %r" % (number, line))
        path = unescape_octal(fields[0])
        kind = fields[1]
        if os.path.basename(path).startswith("zram") and path.startswith("/dev/"):
            kind = "zram"
        devices.append(
            {
                "path": path,
                "type": kind,
                "size": int(fields[2]) * 1024,
                "used": int(fields[3]) * 1024,
                "priority": int(fields[4]),
            }
        )
    return devices


_PSI_FIELDS = ("avg10", "avg60", "avg300", "total")


def parse_psi(text, path="/proc/pressure/memory"):
    """Parse a pressure (PSI) file into ``{"some": {...}, "full": {...}}``.

    ``avg10``/``avg60``/``avg300`` are percentages of wall time (floats),
    ``total`` is the stall time in microseconds. ``full`` is absent from
    /proc/pressure/cpu on kernels before 5.13 and is then ``None``.
    """
    result = {"some": None, "full": None}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words:
            continue
        if words[0] not in result:
            raise MemwiseError("%s line %d does not start with 'some' or 'full': %r" % (path, number, line))
        fields = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        if set(fields) != set(_PSI_FIELDS):
            raise MemwiseError("%s line %d lacks avg10/avg60/avg300/total: %r" % (path, number, line))
        try:
            entry = {k: float(fields[k]) for k in _PSI_FIELDS[:3]}
            entry["total"] = int(fields["total"])
        except ValueError:
            raise MemwiseError("%s line %d has a non-numeric value: %r" % (path, number, line)) from None
        result[words[0]] = entry
    if result["some"] is None:
        raise MemwiseError("%s has no 'some' line" % path)
    return result


def parse_vmstat(text, path="/proc/vmstat"):
    """Parse /proc/vmstat (``name value`` lines) into ``{name: int}``."""
    result = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words:
            continue
        if len(words) != 2 or not words[1].lstrip("-").isdigit():
            raise MemwiseError("%s line %d is not 'name value': %r" % (path, number, line))
        result[words[0]] = int(words[1])
    return result
