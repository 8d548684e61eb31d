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
state comes back by writing the old ratio.

``commit`` writes the values live, then the owned file, inside one
``_transaction.Journal``: each live write is recorded right after it landed,
and ANY exception after that (the kernel's refusal, a value read back changed,
the owned file that cannot be written, a bug) undoes them newest first, with
the one message shape ``<what failed>; undone: vm.swappiness = 60, ...; could
not undo: ...``.
"""

from __future__ import annotations

import errno

from ansible_collections.memwise.linux.plugins.module_utils import _owned
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._transaction import Journal


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


def apply(writes, journal, read=None, write=None):
    """Perform ``writes`` in order, recording each in ``journal``; raise MemwiseError on the first failure.

    A write the kernel refused changed nothing and is not recorded; a write the
    kernel took but changed (read back differently) is recorded, so the rollback
    restores it too. ``read`` and ``write`` default to the kernel file helpers.
    """
    read, write = read or read_file, write or write_file
    for item in writes:
        name, path, value, _old, matches = item[:5]
        undo_name, undo_path, undo_text = undo_of(item)
        try:
            write(path, value)
        except OSError as exc:
            raise MemwiseError(
                "%s = %r: the kernel refused it: %s (%s)"
                % (name, value, exc.strerror or exc, errno.errorcode.get(exc.errno or 0, "error"))
            ) from None
        journal.did("%s = %s" % (undo_name, undo_text), lambda p=undo_path, t=undo_text: write(p, t))
        answer = read(path)
        if not matches(answer):
            raise MemwiseError("%s = %r: the kernel stored %r instead" % (name, value, answer))


def commit(writes, path, file_before, file_after, *, backup=False, read=None, write=None):
    """Apply ``writes`` live, then make the owned file ``path`` hold ``file_after`` (None: remove it).

    Returns the backup copy's name (``backup`` and an existing file that
    changes), else None. Any failure undoes every live write of this call.
    """
    with Journal() as journal:
        apply(writes, journal, read, write)
        return _owned.replace(path, file_before, file_after, backup)


def actions(writes, path, file_before, file_after, backup):
    """What ``commit`` does, as text: ``set vm.swappiness = 10 live`` per write, then the file steps."""
    steps = ["set %s = %s live" % (item[0], item[2]) for item in writes]
    return steps + (_owned.actions(path, file_before, file_after, backup) if path else [])
