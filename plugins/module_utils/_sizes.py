# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: size strings to bytes and back, one parser for every module and filter.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Units follow systemd and util-linux: ``K``, ``M``, ``G``, ``T``, ``P`` (and the
explicit ``KiB`` ... ``PiB``) are powers of 1024; ``KB``, ``MB``, ``GB``, ``TB``,
``PB`` are powers of 1000. A bare number is bytes. ``N%`` is a percentage of a
total the caller supplies (RAM for zram or MemoryHigh).
"""

from __future__ import annotations

import re

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

_BINARY = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_DECIMAL = {"KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4, "PB": 1000**5}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B?)\s*$", re.IGNORECASE)
_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_HUMAN_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def _number_to_bytes(value, name):
    """Bytes from an int or float (a bool or anything else is refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a boolean, not a size" if isinstance(value, bool) else "not a size"
        raise MemwiseError("%s: %r is %s; write bytes or a string like '2G'" % (name, value, kind))
    if value < 0:
        raise MemwiseError("%s: %s is negative; a size is 0 or more bytes" % (name, value))
    if value != int(value):
        raise MemwiseError("%s: %r is not a whole number of bytes" % (name, value))
    return int(value)


def _factor(prefix, suffix):
    """The multiplier for a unit: ``B``, ``K``/``KiB`` (1024), ``KB`` (1000)...; None if invalid."""
    prefix = prefix.upper()
    if not prefix:
        return 1 if suffix.upper() in ("", "B") else None
    if suffix.upper() == "B":
        return _DECIMAL[prefix + "B"]
    return _BINARY[prefix] if suffix.lower() in ("", "ib") else None


def to_bytes(value, total=None, name="size"):
    """Return the number of bytes that ``value`` means.

    ``value`` is an int (bytes), or a string such as ``2G``, ``512M``, ``1.5GiB``,
    ``100MB`` or ``50%`` (of ``total`` bytes, which must then be given).
    ``name`` is used in error messages (the option or key being parsed).
    """
    if not isinstance(value, str):
        return _number_to_bytes(value, name)
    match = _PERCENT_RE.match(value)
    if match:
        if total is None:
            raise MemwiseError(
                "%s: %r is a percentage, but nothing to take it of is known here; "
                "write an absolute size like '2G'" % (name, value)
            )
        percent = float(match.group(1))
        if percent > 100:
            raise MemwiseError("%s: %r is more than 100%%" % (name, value))
        return int(total * percent / 100)
    match = _SIZE_RE.match(value)
    factor = _factor(match.group(2), match.group(3)) if match else None
    if factor is None:
        raise MemwiseError(
            "%s: %r is not a size; write bytes or a number with K, M, G, T or P "
            "(powers of 1024; KB, MB, GB... are powers of 1000), e.g. '2G' or '512M'" % (name, value)
        )
    result = float(match.group(1)) * factor
    if result != int(result):
        raise MemwiseError("%s: %r is not a whole number of bytes" % (name, value))
    return int(result)


def human_bytes(value, precision=1):
    """Return ``value`` bytes as a short binary-unit string: 1610612736 -> '1.5 GiB'."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MemwiseError("human_bytes: %r is not a number of bytes" % (value,))
    sign = "-" if value < 0 else ""
    amount = float(abs(value))
    unit = 0
    while amount >= 1024 and unit < len(_HUMAN_UNITS) - 1:
        amount /= 1024
        unit += 1
    if unit == 0:
        return "%s%d B" % (sign, int(amount))
    text = ("%%.%df" % precision) % amount
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "%s%s %s" % (sign, text, _HUMAN_UNITS[unit])
