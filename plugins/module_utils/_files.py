# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: atomic writes of the files the modules own.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

A managed file is either the old text or the new text, never half of one: the
new text goes to a temporary file in the same directory, is flushed to disk,
renamed over the target, and the directory entry is flushed too.
"""

from __future__ import annotations

import os
import tempfile

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def read_optional(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MemwiseError("cannot read %s: %s" % (path, exc.strerror or exc)) from None


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, text, mode=0o644):
    """Replace ``path`` with ``text`` atomically (temp file, fsync, rename, fsync of the directory)."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise MemwiseError("cannot write %s: the directory %s does not exist" % (path, directory))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise MemwiseError("cannot write %s: %s" % (path, exc.strerror or exc)) from None
    _fsync_dir(directory)


def remove(path):
    """Delete ``path`` if it exists; True when something was removed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise MemwiseError("cannot remove %s: %s" % (path, exc.strerror or exc)) from None
    _fsync_dir(os.path.dirname(path) or ".")
    return True
