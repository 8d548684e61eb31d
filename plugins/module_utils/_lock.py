# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the host lock that serialises memwise.linux changes on one host.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Two runs against one host (two operators, a cron'd ansible-pull beside an AWX
job) must never interleave their writes to the same sysctl.d file, fstab or
drop-in. Every apply module holds an exclusive ``flock`` on one file under
``/run`` for its whole run, check mode included (a prediction read halfway
through another run's change would be wrong). A run that finds the lock held
waits up to ``lock_timeout`` seconds, then fails naming the holder (module,
PID, since when) and changes nothing.

The lock is released by the kernel when the process ends, however it ends
(SIGKILL included), so a killed run never leaves the host locked. The file
lives in ``/run`` (tmpfs), so nothing is left on disk across a reboot.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

PATH = "/run/memwise.linux.lock"
DEFAULT_TIMEOUT = 60
POLL = 0.2

OPTION = {"type": "float", "default": DEFAULT_TIMEOUT}  # the argument spec of lock_timeout


def _holder(fd):
    """The holder's record as written in the lock file, as text for a message."""
    try:
        raw = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        info = json.loads(raw)
        age = max(0, int(time.time() - float(info["since"])))
        return "%s (PID %s, for %d s)" % (info["module"], info["pid"], age)
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


class HostLock:
    """``with HostLock(module_name, timeout):`` holds the host lock or raises MemwiseError naming its holder."""

    def __init__(self, name, timeout=DEFAULT_TIMEOUT, path=None):
        self.name = name
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.path = path or PATH
        self.fd = None
        self.waited = 0.0
        self.waited_for = None

    def __enter__(self):
        if self.timeout < 0:
            raise MemwiseError(
                "lock_timeout: %r is negative; give the seconds to wait for another run (0: do not wait)"
                % (self.timeout,)
            )
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise MemwiseError(
                "cannot open the host lock %s: %s; nothing changed" % (self.path, exc.strerror or exc)
            ) from None
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    self._close()
                    raise MemwiseError("cannot take the host lock %s: %s" % (self.path, exc.strerror)) from None
            self.waited = time.monotonic() - started
            if self.waited_for is None:
                self.waited_for = _holder(self.fd)
            if self.waited >= self.timeout:
                holder = _holder(self.fd)
                self._close()
                raise MemwiseError(
                    "another memwise.linux run holds the host lock %s: %s; waited %.0f s (lock_timeout), "
                    "nothing changed. Let it finish, or raise lock_timeout" % (self.path, holder, self.waited)
                )
            time.sleep(POLL)
        record = json.dumps({"module": self.name, "pid": os.getpid(), "since": time.time()}).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, record, 0)
        return self

    def _close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __exit__(self, *_exc):
        self._close()  # closing the descriptor releases the flock
        return False
