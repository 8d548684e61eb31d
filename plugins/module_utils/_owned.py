# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the one file a module owns - where it may live, whose it is, how it is replaced.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

sysctl (a sysctl.d file) and mm_tunables (a tmpfiles.d file) each own one file,
given as ``path``. The rules of docs/docsite/rst/conventions.rst:

- The file lives on a disk: a ``path`` whose real directory is on proc, sysfs or
  another kernel file system, or in memory (tmpfs, ramfs: emptied at every boot),
  is refused before anything is read or written.
- A file the module owns starts with ``# Managed by memwise.linux.<module>``.
  Anything else at ``path`` is refused, naming the file, unless ``force`` is
  given; then it is taken over (and with ``backup`` copied first).
"""

from __future__ import annotations

import os

from ansible_collections.memwise.linux.plugins.module_utils import _files, _mounts, _procfs, _sysfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

# File systems the kernel makes up: a file there is not a configuration file.
KERNEL_FS = frozenset(
    (
        "proc",
        "sysfs",
        "cgroup",
        "cgroup2",
        "debugfs",
        "tracefs",
        "securityfs",
        "configfs",
        "bpf",
        "pstore",
        "efivarfs",
        "devpts",
        "mqueue",
        "binfmt_misc",
        "fusectl",
        "autofs",
        "hugetlbfs",
    )
)
# File systems in memory: a file there is gone at the next boot.
MEMORY_FS = frozenset(("tmpfs", "ramfs", "devtmpfs"))


def marker(owner):
    """The first words of an owned file: ``# Managed by memwise.linux.sysctl``."""
    return "# Managed by %s" % owner


def read_mounts():
    """The host's mount table (mountinfo, else /proc/mounts); empty when neither can be read."""
    for name in ("/proc/self/mountinfo", "/proc/mounts"):
        text, _reason = _procfs.read_text(name, _sysfs.ROOT)
        if text:
            return _mounts.parse(text, name)
    return []


def check_location(path, example, mounts=None):
    """Refuse a ``path`` that is not absolute or whose real directory is on a kernel or memory file system."""
    if not os.path.isabs(path):
        raise MemwiseError("path: %r is not absolute; nothing changed. Give the full path, like %s" % (path, example))
    directory = os.path.realpath(os.path.dirname(path))
    try:
        mount = _mounts.mount_of(read_mounts() if mounts is None else mounts, directory)
    except MemwiseError:
        return  # the table does not say (a partial one): the write itself still fails cleanly
    fstype, point = mount["fstype"], mount["mount_point"]
    if fstype in KERNEL_FS:
        why = "a file system the kernel makes up, not a place for a configuration file"
    elif fstype in MEMORY_FS:
        why = "which lives in memory and is empty after every boot"
    else:
        return
    raise MemwiseError(
        "path: %s is on %s (mounted at %s), %s; nothing changed. Give a file on disk, like %s"
        % (path, fstype, point, why, example)
    )


def check_owner(path, text, owner, force):
    """Refuse an existing file at ``path`` (``text``; None: none) that ``owner`` did not write, unless ``force``."""
    if text is None or force or text.startswith(marker(owner)):
        return
    raise MemwiseError(
        "path: %s exists and was not written by %s (it does not start with '%s'); nothing changed. "
        "Set force: true to take it over (backup: true keeps a copy of it first), or choose another path"
        % (path, owner, marker(owner))
    )


def check_directory(path, before, after):
    """Refuse to create ``path`` in a directory that does not exist (checked before any change)."""
    if after is not None and after != before and not os.path.isdir(os.path.dirname(path)):
        raise MemwiseError("path: the directory of %s does not exist; nothing changed" % path)


def warn_kept_live(module, names, path):
    """state=absent: warn once that the live values of ``names`` stay until the next boot."""
    if names:
        module.warn(
            "%s: removed from %s; the live values stay until the next boot, when the remaining configuration "
            "applies (kernel settings have no unset value)" % (", ".join(names), path)
        )


def is_foreign(text, owner):
    """Whether an existing file's text lacks the owner's header (a file ``force`` takes over)."""
    return text is not None and not text.startswith(marker(owner))


def actions(path, before, after, backup):
    """The file steps of a call, as text: ``back up PATH``, then ``write PATH`` or ``remove PATH``."""
    if after == before:
        return []
    steps = ["back up %s" % path] if backup and before is not None else []
    return steps + ["remove %s" % path if after is None else "write %s" % path]


def replace(path, before, after, backup):
    """Make ``path`` hold ``after`` (None: no file), copying it first with ``backup``; return the copy's name."""
    if after == before:
        return None
    copy = _files.backup(path) if backup and before is not None else None
    if after is None:
        _files.remove(path)
    else:
        _files.atomic_write(path, after)
    return copy
