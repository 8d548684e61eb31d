# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: atomic writes of the files the modules own or edit.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

A managed file is either the old text or the new text, never half of one: the
new text goes to a temporary file in the same directory, is flushed to disk,
given the target's mode, owner and SELinux label (``security.selinux``, as
``module.atomic_move`` keeps them), renamed over the target, and the directory
entry is flushed too. A symlink is followed only while it stays in its own
directory; one that leads elsewhere is refused, so a planted link never makes
a module write outside the directory it manages.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

SELINUX_XATTR = "security.selinux"


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


def resolve(path):
    """The real file ``path`` writes to: itself, or the target of a symlink that stays in its directory."""
    if not os.path.islink(path):
        return path
    directory = os.path.realpath(os.path.dirname(path) or ".")
    target = os.path.realpath(path)
    if os.path.dirname(target) != directory:
        raise MemwiseError(
            "cannot write %s: it is a symlink to %s, outside %s; nothing was written. "
            "Remove the link or point the module at the real file" % (path, target, directory)
        )
    return target


def _copy_identity(source, tmp, default_mode):
    """Give ``tmp`` the mode, owner and SELinux label of ``source`` (``default_mode`` when it does not exist)."""
    try:
        info = os.stat(source)
    except FileNotFoundError:
        os.chmod(tmp, default_mode)
        return
    os.chmod(tmp, info.st_mode & 0o7777)
    if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
        os.chown(tmp, info.st_uid, info.st_gid)
    try:
        label = os.getxattr(source, SELINUX_XATTR)
    except (OSError, AttributeError):
        return  # no SELinux label (or no xattr support): the new file keeps the directory's default
    try:
        os.setxattr(tmp, SELINUX_XATTR, label)
    except OSError:
        pass


def atomic_write(path, text, mode=0o644):
    """Replace ``path`` with ``text`` atomically, keeping an existing file's mode, owner and SELinux label.

    ``mode`` applies to a new file only.
    """
    target = resolve(path)
    directory = os.path.dirname(target) or "."
    if not os.path.isdir(directory):
        raise MemwiseError("cannot write %s: the directory %s does not exist" % (path, directory))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(target), suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        _copy_identity(target, tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise MemwiseError("cannot write %s: %s" % (path, exc.strerror or exc)) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
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


def backup_name(path, now=None):
    """The name of a backup of ``path``, in the form ``ansible.builtin`` modules use (``PATH.PID.DATE@TIME~``)."""
    stamp = time.strftime("%Y-%m-%d@%H:%M:%S", time.localtime(now))
    return "%s.%d.%s~" % (path, os.getpid(), stamp)


def backup(path):
    """Copy ``path`` (content, mode, owner) next to it before an edit; return the copy's name, None without a file."""
    if not os.path.exists(path):
        return None
    name = backup_name(path)
    try:
        shutil.copy2(path, name)
        info = os.stat(path)
        os.chown(name, info.st_uid, info.st_gid)
    except OSError as exc:
        raise MemwiseError("cannot back up %s to %s: %s; nothing changed" % (path, name, exc.strerror or exc)) from None
    return name
