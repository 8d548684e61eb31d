# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: write kernel files (/proc/sys, /sys) one by one, read each back, roll back on failure.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

A write is ``(name, path, value, old, matches)``: the setting's name for
messages, the file, the text to write, the text that restores the old state,
and ``matches(answer) -> bool`` which says whether the value read back is what
was asked for (the kernel may clamp or refuse). A sixth item ``(name, path,
text)`` restores through another file: writing ``vm.dirty_bytes`` zeroes
``vm.dirty_ratio``, and the kernel refuses ``vm.dirty_bytes = 0``, so the old
state comes back by writing the old ratio. On the first failure every
write made so far is undone, newest first, and MemwiseError names the setting,
the value and the kernel's answer.
"""

from __future__ import annotations

import errno

from ansible_collections.memwise.linux.plugins.module_utils import _files
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def read_file(path):
    """A kernel file's text with whitespace collapsed."""
    with open(path, encoding="utf-8") as handle:
        return " ".join(handle.read().split())


def write_file(path, value):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")


def undo_of(item):
    """``(name, path, text)`` that restores the state before ``item`` was written."""
    return item[5] if len(item) > 5 else (item[0], item[1], item[3])


def restore(written, write=write_file):
    """Undo ``written`` writes newest first; return the errors (empty when all were restored)."""
    errors = []
    for item in reversed(written):
        name, path, old = undo_of(item)
        try:
            write(path, old)
        except OSError as exc:
            errors.append("%s: %s" % (name, exc.strerror))
    return errors


def apply(writes, read=read_file, write=write_file, untouched="nothing else was changed"):
    """Perform ``writes`` in order; return them, or restore them all and raise on the first failure."""
    written = []
    for item in writes:
        name, path, value, _old, matches = item[:5]
        try:
            write(path, value)
            written.append(item)
            answer = read(path)
            if matches(answer):
                continue
            problem = "the kernel stored %r instead" % answer
        except OSError as exc:
            problem = "the kernel refused it: %s (%s)" % (exc.strerror, errno.errorcode.get(exc.errno, "error"))
        restored = [w for w in written if w[0] != name]
        errors = restore(written, write)
        raise MemwiseError(
            "%s = %r: %s; restored %s; %s%s"
            % (
                name,
                value,
                problem,
                ", ".join("%s = %s" % undo_of(w)[::2] for w in restored) or "nothing (no setting was written before)",
                untouched,
                ("; could not restore: " + "; ".join(errors)) if errors else "",
            )
        )
    return written


def commit(writes, path, file_before, file_after):
    """Apply ``writes`` live, then replace (or, for None, remove) the owned file ``path``.

    A live failure restores the live values and leaves the file alone; a file
    failure restores every live value this call wrote.
    """
    written = apply(writes, untouched="%s was not touched" % path)
    if file_after == file_before:
        return written
    try:
        if file_after is None:
            _files.remove(path)
        else:
            _files.atomic_write(path, file_after)
    except MemwiseError as exc:
        errors = restore(written)
        raise MemwiseError(
            "%s; the live values written by this call were restored%s"
            % (exc, ("; could not restore: " + "; ".join(errors)) if errors else "")
        ) from None
    return written


def diff(where, moved, path, file_before, file_after):
    """Ansible's diff: the live values that move (``[(name, before, after)]``) and the owned file's text."""
    return [
        {
            "before_header": where,
            "after_header": where,
            "before": "".join("%s = %s\n" % (name, before) for name, before, _after in moved),
            "after": "".join("%s = %s\n" % (name, after) for name, _before, after in moved),
        },
        {"before_header": path, "after_header": path, "before": file_before or "", "after": file_after or ""},
    ]
