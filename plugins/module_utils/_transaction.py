# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the one transaction layer of memwise.linux - a journal of undo steps.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Every apply module records each change it makes together with the step that
reverses it, right after the change succeeded::

    journal = Journal()
    with journal:                      # any exception rolls back, newest first
        write(path, new)
        journal.did("restored %s" % path, lambda: write(path, old))
        ...

On any exception inside the block (a MemwiseError, an OSError, a bug) every
recorded step is undone, newest first; an undo step that fails is reported and
the others still run. The exception that leaves the block is always a
MemwiseError with one message shape, the same in every module::

    <what failed>; undone: <step>, <step>; could not undo: <step>: <why>
    <what failed>; nothing had been changed

A step's description is what the undo achieves ("restored /etc/fstab",
"swapped /swapfile off"), so the message reads as the host's state after it.
"""

from __future__ import annotations

import errno

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

NOTHING = "nothing had been changed"


def describe(exc):
    """The text of an exception as the message's first part: MemwiseError as it is, others with their kind."""
    if isinstance(exc, MemwiseError):
        return str(exc)
    if isinstance(exc, OSError):
        where = " (%s)" % exc.filename if exc.filename else ""
        code = errno.errorcode.get(exc.errno or 0)
        return "%s%s%s" % (exc.strerror or exc, where, " [%s]" % code if code else "")
    return "unexpected %s: %s" % (type(exc).__name__, exc)


def message(problem, undone, errors):
    """The one failure message: the problem, what was undone, what could not be."""
    parts = [problem]
    if undone:
        parts.append("undone: " + ", ".join(undone))
    elif not errors:
        parts.append(NOTHING)
    if errors:
        parts.append("could not undo: " + "; ".join(errors))
    return "; ".join(parts)


class Journal:
    """Changes made so far, each with the step that reverses it; rolled back newest first on failure."""

    def __init__(self):
        self.steps = []

    def __len__(self):
        return len(self.steps)

    def did(self, description, undo):
        """Record a change that succeeded: ``undo()`` reverses it, ``description`` says what undoing achieves."""
        self.steps.append((description, undo))

    def rollback(self):
        """Run every undo step newest first; return ``(undone, errors)`` as text lists and forget the steps.

        An undo step that raises is reported in ``errors``; the older steps still run.
        """
        undone, errors = [], []
        steps, self.steps = self.steps, []
        for description, undo in reversed(steps):
            try:
                undo()
            except Exception as exc:  # every failed undo is reported, the others still run
                errors.append("%s: %s" % (description, describe(exc)))
            else:
                undone.append(description)
        return undone, errors

    def fail(self, problem):
        """Roll back and return the MemwiseError to raise for ``problem`` (text or exception)."""
        text = problem if isinstance(problem, str) else describe(problem)
        undone, errors = self.rollback()
        return MemwiseError(message(text, undone, errors))

    def commit(self):
        """The change is complete: forget the undo steps."""
        self.steps = []

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, _tb):
        if exc is None:
            self.commit()
            return False
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: let them pass untouched
            return False
        raise self.fail(exc) from exc
