# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: parsers for the value formats of kernel files under /sys and /proc/sys.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

The kernel writes a handful of formats: a bracketed choice
(``always [madvise] never``), booleans as ``Y``/``N`` or ``1``/``0``, integers,
lists of integers (``4 4 1 7``) and free text (``zstd``). Each parser takes the
file's text and the path (for messages) and returns plain data.

``ROOT`` is where the kernel's files are: ``/`` on a host. Every read and write
of /proc and /sys by sysctl and mm_tunables goes through ``host(path)``, so the
unit tests point ``ROOT`` at a copy of a captured host instead of the machine
they run on.
"""

from __future__ import annotations

import os
import re

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

ROOT = "/"

_CHOICE_RE = re.compile(r"\[([^\]\s]+)\]")
_INT_RE = re.compile(r"^-?\d+$")


def host(path):
    """Where the host file ``path`` (``/proc/sys/vm/swappiness``) is read and written: below ``ROOT``."""
    return path if ROOT == "/" else os.path.join(ROOT, path.lstrip("/"))


def parse_choice(text, path="value"):
    """``always [madvise] never`` -> ``("madvise", ["always", "madvise", "never"])``."""
    words = text.split()
    selected = _CHOICE_RE.findall(text)
    if len(selected) != 1 or not words:
        raise MemwiseError("%s: %r is not a bracketed choice like 'always [madvise] never'" % (path, text.strip()))
    return selected[0], [w.strip("[]") for w in words]


def parse_bool(text, path="value"):
    """``Y``/``N``/``1``/``0`` (as zswap and lru_gen write them) -> bool."""
    value = text.strip()
    if value in ("Y", "y", "1"):
        return True
    if value in ("N", "n", "0"):
        return False
    raise MemwiseError("%s: %r is not a kernel boolean (Y, N, 1 or 0)" % (path, value))


def parse_int(text, path="value"):
    """A decimal integer, or a hexadecimal mask such as lru_gen's ``0x0007``."""
    value = text.strip()
    if _INT_RE.match(value):
        return int(value)
    if re.match(r"^0x[0-9a-fA-F]+$", value):
        return int(value, 16)
    raise MemwiseError("%s: %r is not an integer" % (path, value))


def parse_typed(text):
    """Best typed reading of a /proc/sys value: int, list of ints, or the stripped string."""
    value = text.strip()
    words = value.split()
    if len(words) == 1 and _INT_RE.match(value):
        return int(value)
    if len(words) > 1 and all(_INT_RE.match(w) for w in words):
        return [int(w) for w in words]
    return value
