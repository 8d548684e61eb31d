# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the one way the unit modules own a systemd drop-in.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

``unit_resources`` and ``unit_hardening`` each own one drop-in per unit,
``/etc/systemd/system/UNIT.d/DROPIN_NAME.conf``, that starts with the header
``# Managed by memwise.linux.<module>``. Here: its path, reading it with the
ownership check (a file at that path without the module's header is refused
unless ``force``), writing or removing it atomically with the undo step in a
``_transaction.Journal`` (``write_step``, also used for the runtime control
files unit_resources removes), and the unit's other drop-ins in the order
systemd applies them (by file name; a later file overrides an earlier one).
"""

from __future__ import annotations

import os
import posixpath
import re

from ansible_collections.memwise.linux.plugins.module_utils import _files
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

UNIT_DIR = "/etc/systemd/system"
NAME_MAX = 200  # a file name is at most 255 bytes; ".conf" and room to spare
_NAME_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._@+:-]*\Z")


def check_name(name):
    """MemwiseError unless ``name`` is a plain file name (the drop-in's, without ``.conf``).

    Letters, digits and ``. _ - @ + :``, starting with a letter or digit: no path, no
    space, no control character (a newline or NUL), nothing a shell would read.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name) or len(name) > NAME_MAX:
        raise MemwiseError(
            "dropin_name: %r must be a plain file name without .conf, at most %d of the characters "
            "letters, digits and . _ - @ + :, starting with a letter or digit, e.g. '50-memwise-resources'"
            % (name, NAME_MAX)
        )


def path(unit, name):
    """The drop-in ``name`` of ``unit``: ``/etc/systemd/system/UNIT.d/NAME.conf``."""
    return "%s/%s.d/%s.conf" % (UNIT_DIR, unit, name)


def header(module):
    """The first words of every drop-in ``memwise.linux.<module>`` writes."""
    return "# Managed by memwise.linux.%s" % module


def owned(text, module):
    """True when ``text`` (None: no file) is the module's own drop-in, or there is none."""
    return text is None or text.startswith(header(module))


def read(dropin, module, force=False):
    """The drop-in's text (None when it does not exist); MemwiseError for a file the module does not own.

    Another file at the module's path - written by a person, a package or
    another module - is neither overwritten nor removed unless ``force``.
    """
    text = _files.read_optional(dropin)
    if not owned(text, module) and not force:
        raise MemwiseError(
            "%s exists and memwise.linux.%s does not manage it (it does not start with '%s'); nothing changed. "
            "Choose another dropin_name, or set force: true to take it over" % (dropin, module, header(module))
        )
    return text


def write(dropin, text):
    """Make the drop-in hold ``text`` (None: remove it), atomically; False when it already did."""
    if _files.read_optional(dropin) == text:
        return False
    if text is None:
        return _files.remove(dropin)
    os.makedirs(os.path.dirname(dropin), mode=0o755, exist_ok=True)
    _files.atomic_write(dropin, text)
    return True


def write_step(journal, dropin, before, after, *, actions=None, done=None, undone=None):
    """Make ``dropin`` hold ``after`` and record in ``journal`` the step that puts ``before`` back.

    ``actions`` (a list) gets ``write PATH`` / ``remove PATH`` for the change and for its undo.
    ``done()`` runs right after the write, before the undo step is recorded (unit_resources records
    there what must follow the files' undo: a daemon-reload, the live values); ``undone()`` runs after
    the undo changed the file (unit_hardening reloads systemd there). False when the file already held
    ``after``.
    """
    if not write(dropin, after):
        return False
    if actions is not None:
        actions.append(("remove %s" if after is None else "write %s") % dropin)
    if done is not None:
        done()

    def undo():
        if write(dropin, before):
            if actions is not None:
                actions.append(("remove %s" if before is None else "write %s") % dropin)
            if undone is not None:
                undone()

    journal.did(("restored %s" if before is not None else "removed %s") % dropin, undo)
    return True


def others(show, ours):
    """The unit's drop-ins except ``ours`` (``systemctl show`` DropInPaths), in the order systemd applies them."""
    paths = [p for p in (show.get("DropInPaths") or "").split() if p != ours]
    return sorted(paths, key=posixpath.basename)


def later(show, ours):
    """The other drop-ins systemd applies after ``ours``: a setting there overrides the same setting in ours."""
    mine = posixpath.basename(ours)
    return [p for p in others(show, ours) if posixpath.basename(p) > mine]
