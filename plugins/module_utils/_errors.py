# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the one domain exception of memwise.linux.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.
"""

from __future__ import annotations


class MemwiseError(ValueError):
    """Bad input or an unusable host state, with a message an operator can act on.

    Pure helpers raise it; modules catch it once and call ``fail_json(msg=str(exc))``.
    The message says what (key, unit, value), why, and what to do.
    """
