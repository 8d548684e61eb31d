# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the one domain exception of memwise.linux.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.
"""

from __future__ import annotations


class MemwiseError(ValueError):
    """Bad input or an unusable host state, with a message an operator can act on.

    Pure helpers raise it; ``_module.run_module`` catches it once and calls
    ``fail_json(msg=str(exc), **exc.details)``. The message says what (option,
    key, unit, value), why, and what to do (docs/docsite/rst/conventions.rst).
    ``details`` is the partial result returned with the failure (for example the
    exposure measured before a rollback).
    """

    def __init__(self, msg, details=None):
        super().__init__(msg)
        self.details = dict(details or {})


def invalid(errors, what="options"):
    """The one error for failed validation: every problem at once, and that nothing changed."""
    return MemwiseError("invalid %s, nothing changed: %s" % (what, "; ".join(errors)))
