# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the one parser of the kernel's mount tables.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

``parse`` reads ``/proc/self/mountinfo`` (preferred: it has the device
numbers) and ``/proc/mounts`` (what older captures and containers offer) into
the same records, in mount order::

    {"mount_point", "fstype", "source", "options": [..], "device": "major:minor" or None}

Octal escapes (``\\040`` for a space) are undone in paths.
"""

from __future__ import annotations

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._procfs import unescape_octal


def _mountinfo_line(line):
    left, _sep, right = line.partition(" - ")
    words, tail = left.split(), right.split()
    if len(words) < 6 or len(tail) < 2:
        return None
    return {
        "mount_point": unescape_octal(words[4]),
        "fstype": tail[0],
        "source": unescape_octal(tail[1]),
        "options": words[5].split(","),
        "device": words[2],
    }


def _mounts_line(line):
    fields = line.split()
    if len(fields) != 6 or not (fields[4].isdigit() and fields[5].isdigit()):
        return None  # /proc/mounts has six fields, the last two numbers; anything else is not a mount line
    return {
        "mount_point": unescape_octal(fields[1]),
        "fstype": fields[2],
        "source": unescape_octal(fields[0]),
        "options": fields[3].split(","),
        "device": None,
    }


def parse(text, name="/proc/self/mountinfo"):
    """A mount table (mountinfo or /proc/mounts format, told apart per line) -> records in mount order."""
    mounts = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        record = _mountinfo_line(line) if " - " in line else _mounts_line(line)
        if record is None:
            raise MemwiseError("%s line %d is not in the kernel's format: %r" % (name, number, line))
        mounts.append(record)
    return mounts


def mount_of(mounts, path):
    """The mount holding ``path`` (absolute, symlinks resolved): the longest mount point that is a
    prefix of it at a ``/`` boundary; of equal ones the last mounted (it hides the earlier)."""
    best = None
    for mount in mounts:
        point = mount["mount_point"].rstrip("/") or "/"
        inside = point in ("/", path) or path.startswith(point + "/")
        if inside and (best is None or len(point) >= len(best["mount_point"].rstrip("/") or "/")):
            best = mount
    if best is None:
        raise MemwiseError("%s: no mount in the mount table holds it; is /proc mounted?" % path)
    return best


def sources(mounts):
    """The set of mounted sources (``/dev/zram1``, ``/dev/vdb1``...)."""
    return {mount["source"] for mount in mounts}
