# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the ``lock_timeout`` option every memwise.linux apply module shares."""

from __future__ import annotations


class ModuleDocFragment:
    """The host lock that serialises memwise.linux runs on one host."""

    DOCUMENTATION = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait for the host lock C(/run/memwise.linux.lock), which every apply module of this
        collection holds for its whole run, check mode included, so that two runs against one host (two
        operators, an C(ansible-pull) timer beside an AWX job) never interleave their changes.
      - When the lock is still held after this time, the task fails naming the module and PID that hold it,
        and nothing changes. V(0) does not wait. A wait longer than a second is reported as a warning.
      - The kernel releases the lock when the holding process ends, however it ends, so a killed run never
        leaves the host locked.
    type: float
    default: 60
"""
