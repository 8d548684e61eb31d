# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: /etc/fstab read and edited line by line, every other byte kept as it was.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

``split_lines`` keeps each line with its own line ending, so ``"".join`` of the
lines gives the text back byte for byte: comments, blank lines, tabs and
alignment, a last line without a newline. Only the swap entry being managed is
touched: its options field is replaced in place (the separators around it are
kept), a new entry is appended, or its line is removed. Fields are unescaped
the way libmount does (``\\040`` is a space, ``\\011`` a tab).
"""

from __future__ import annotations

import re

from ansible_collections.memwise.linux.plugins.module_utils._procfs import unescape_octal

_FIELD_RE = re.compile(r"\S+")
# The options a swap entry carries that this collection manages; every other option stays.
_MANAGED = re.compile(r"^(pri=.*|discard(=.*)?)$")
DISCARD_OPTIONS = {"both": "discard", "once": "discard=once", "pages": "discard=pages", "off": None}


def split_lines(text):
    """The lines of ``text`` with their endings; ``"".join(split_lines(t)) == t``."""
    return (text or "").splitlines(keepends=True)


def fields(line):
    """The whitespace-separated fields of an entry line (escaped as written), or None for a comment or blank."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    return [m.group(0) for m in _FIELD_RE.finditer(line)]


def spec_of(line):
    """The first field unescaped, with quotes around a tag value removed (``UUID="x"`` -> ``UUID=x``)."""
    spec = unescape_octal(fields(line)[0])
    tag, sep, value = spec.partition("=")
    if sep and tag in ("UUID", "LABEL", "PARTUUID", "PARTLABEL") and len(value) > 1 and value[0] == value[-1] == '"':
        return "%s=%s" % (tag, value[1:-1])
    return spec


def is_swap(line):
    """True for an entry whose type (third field) is ``swap``."""
    words = fields(line)
    return bool(words) and len(words) >= 3 and words[2] == "swap"


def swap_entries(text, same):
    """``[(index, line)]`` of the swap entries whose device ``same(spec)`` accepts (spec unescaped)."""
    return [(i, line) for i, line in enumerate(split_lines(text)) if is_swap(line) and same(spec_of(line))]


def options_of(line):
    """The options (fourth field) of an entry as a list; ``defaults`` when the field is missing."""
    words = fields(line)
    return words[3].split(",") if len(words) > 3 else ["defaults"]


def escape(path):
    """A path as an fstab field: space, tab, newline and backslash written as octal escapes."""
    return "".join("\\%03o" % ord(c) if c in " \t\n\\" else c for c in path)


def swap_options(existing, priority, discard):
    """The options of a swap entry with ``pri=`` and ``discard`` set as asked, others kept in order.

    ``priority`` None keeps the existing ``pri=``, -1 drops it (kernel default);
    ``discard`` None keeps the existing discard option, ``off`` drops it.
    """
    kept = [o for o in existing if o and not _MANAGED.match(o)]
    old_pri = [o for o in existing if o.startswith("pri=")]
    old_discard = [o for o in existing if o == "discard" or o.startswith("discard=")]
    if not kept:
        kept = ["sw"]
    if priority is None:
        kept += old_pri[-1:]
    elif priority >= 0:
        kept.append("pri=%d" % priority)
    if discard is None:
        kept += old_discard[-1:]
    elif DISCARD_OPTIONS[discard]:
        kept.append(DISCARD_OPTIONS[discard])
    return kept


def entry_options(options):
    """``(priority, discard)`` as an entry's options set them: -1 and ``off`` when absent."""
    priority, discard = -1, "off"
    for option in options:
        if option.startswith("pri=") and option[4:].lstrip("-").isdigit():
            priority = int(option[4:])
        elif option == "discard":
            discard = "both"
        elif option.startswith("discard="):
            discard = option[8:]
    return priority, discard


def same_options(old, new):
    """True when two option lists mean the same: other options in the same order, same priority and discard."""
    others = [o for o in old if not _MANAGED.match(o)], [o for o in new if not _MANAGED.match(o)]
    return others[0] == others[1] and entry_options(old) == entry_options(new)


def render_entry(path, options):
    """A new swap entry line: ``PATH none swap OPTIONS 0 0``."""
    return "%s none swap %s 0 0\n" % (escape(path), ",".join(options))


def _with_options(line, options):
    """``line`` with its options field replaced in place (separators kept); fields added if it had none."""
    spans = [m.span() for m in _FIELD_RE.finditer(line)]
    if len(spans) > 3:
        start, end = spans[3]
        return line[:start] + ",".join(options) + line[end:]
    body = line.rstrip("\r\n")
    return body + " " + ",".join(options) + (" 0 0" if len(spans) == 3 else "") + line[len(body) :]


def edit(text, same, path, *, priority=None, discard=None, present=True):
    """The new fstab text and the managed line: ``(text, line or None)``.

    The first swap entry ``same`` accepts gets its options set (its device spec, such as
    ``UUID=...``, stays as written); further entries for the same device are removed so
    the device is listed once. Without an entry, ``present`` appends one for ``path``.
    With ``present`` false every matching entry is removed. Other lines are untouched.
    """
    lines = split_lines(text)
    found = swap_entries(text, same)
    if not present:
        drop = {i for i, _line in found}
        return "".join(line for i, line in enumerate(lines) if i not in drop), None
    if not found:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += "\n"
        line = render_entry(path, swap_options([], priority, discard))
        return "".join(lines) + line, line
    first, line = found[0]
    options = swap_options(options_of(line), priority, discard)
    if not same_options(options_of(line), options):
        line = _with_options(line, options)
    lines[first] = line
    drop = {i for i, _line in found[1:]}
    return "".join(x for i, x in enumerate(lines) if i not in drop), line
