# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the one way memwise.linux modules run an external command.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

An argv list (never a shell string), the binary found with ``get_bin_path``,
the C locale so messages parse the same everywhere, and the return code and
stderr both checked: a failure raises MemwiseError naming the command and what
it printed.
"""

from __future__ import annotations

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


class Runner:
    """Runs commands for one module; ``calls`` records each argv (reported as the commands that ran)."""

    def __init__(self, module):
        self.module = module
        self.calls = []

    def __call__(self, argv, check=True, ok_rc=(0,)):
        """Run ``argv``; return ``(rc, stdout, stderr)``. With ``check``, an rc outside ``ok_rc`` raises."""
        binary = self.module.get_bin_path(argv[0], required=False)
        if binary is None:
            raise MemwiseError("%s: command not found on this host; is it installed and in PATH?" % argv[0])
        self.calls.append(list(argv))
        rc, out, err = self.module.run_command([binary] + list(argv[1:]), environ_update=C_LOCALE)
        if check and rc not in ok_rc:
            raise MemwiseError(failure(argv, rc, out, err))
        return rc, out, err


def failure(argv, rc, out, err):
    """A message for a failed command: the command, its return code and its last words."""
    said = (err or out or "").strip().splitlines()
    return "`%s` failed (rc=%d): %s" % (" ".join(argv), rc, " / ".join(said[-3:]) or "no output")
