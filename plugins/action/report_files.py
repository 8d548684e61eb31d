# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for memwise.linux.report_files: write text files on the controller, in this process.

The fleet report wrote its three files with a ``file`` task and a ``copy`` and two
``template`` tasks delegated to localhost: seven module runs, each a Python start-up
and the module's imports on the controller, which made up most of the report's
cost. Here the files are compared and written atomically right in the action.
"""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._files import atomic_write, read_optional

ARGS = {"dest", "files", "mode"}


def parse_mode(text):
    """An octal mode string (``"0644"``) -> int; raises MemwiseError."""
    try:
        mode = int(str(text), 8)
    except ValueError:
        raise MemwiseError("mode: %r is not an octal mode such as 0644" % (text,)) from None
    if not 0 <= mode <= 0o7777:
        raise MemwiseError("mode: %r is out of range (0000 to 7777)" % (text,))
    return mode


def write_files(dest, files, mode=0o644, check_mode=False):
    """Write each ``files`` name -> text into ``dest`` when it differs; return the names written (sorted)."""
    if not isinstance(files, dict) or not files:
        raise MemwiseError("files: a dictionary file name -> text with at least one file is required")
    for name, text in files.items():
        if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\0" in name:
            raise MemwiseError("files: %r is not a plain file name (no directory part); nothing was written" % (name,))
        if not isinstance(text, str):
            raise MemwiseError(
                "files: the text of %s is a %s, not a string; nothing was written" % (name, type(text).__name__)
            )
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise MemwiseError("dest: %s exists and is not a directory; nothing was written" % dest)
    changed = [name for name in sorted(files) if read_optional(os.path.join(dest, name)) != files[name]]
    if changed and not check_mode:
        if not os.path.isdir(dest):
            try:
                os.makedirs(dest, mode=0o755)
            except OSError as exc:
                raise MemwiseError("dest: cannot create %s: %s" % (dest, exc.strerror or exc)) from None
        for name in changed:
            atomic_write(os.path.join(dest, name), files[name], mode)
    return changed


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        unknown = sorted(set(args) - ARGS)
        try:
            if unknown:
                raise MemwiseError(
                    "unsupported option(s) %s; supported: %s" % (", ".join(unknown), ", ".join(sorted(ARGS)))
                )
            if not args.get("dest"):
                raise MemwiseError("dest: the directory to write to is required")
            dest = os.path.abspath(os.path.expanduser(str(args["dest"])))
            changed = write_files(
                dest, args.get("files"), parse_mode(args.get("mode", "0644")), check_mode=self._task.check_mode
            )
        except MemwiseError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        result.update(changed=bool(changed), dest=dest, changed_files=changed)
        return result
