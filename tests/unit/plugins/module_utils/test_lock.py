# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host lock: real flock between real processes, its holder named, released on SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _lock, _module
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from .test_module import Ended, FakeModule

HOLD = """
import sys, time
sys.path[:0] = %r
from ansible_collections.memwise.linux.plugins.module_utils import _lock
with _lock.HostLock("memwise.linux.sysctl", 5, path=sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(path, seconds):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD % (sys.path,), str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_held_lock_fails_after_the_timeout_naming_its_holder(host_lock_in_tmp):
    holder = _holder(host_lock_in_tmp, 30)
    try:
        started = time.monotonic()
        with pytest.raises(MemwiseError) as exc, _lock.HostLock("memwise.linux.swap", 0.5):
            pass
        assert 0.5 <= time.monotonic() - started < 5
        message = str(exc.value)
        assert message.startswith("another memwise.linux run holds the host lock %s: " % host_lock_in_tmp)
        assert "memwise.linux.sysctl (PID %d, for " % holder.pid in message
        assert message.endswith(" s (lock_timeout), nothing changed. Let it finish, or raise lock_timeout")
    finally:
        holder.kill()
        holder.wait()


def test_a_second_run_waits_then_runs_and_says_it_waited(host_lock_in_tmp):
    holder = _holder(host_lock_in_tmp, 1.0)
    try:
        with _lock.HostLock("memwise.linux.swap", 30) as lock:
            assert lock.waited >= 0.5, "the lock was taken while its holder still held it"
            assert lock.waited_for.startswith("memwise.linux.sysctl (PID %d" % holder.pid)
            record = json.loads(host_lock_in_tmp.read_text())
            assert record["module"] == "memwise.linux.swap" and record["pid"] == os.getpid()
    finally:
        holder.wait()


def test_a_killed_holder_releases_the_lock(host_lock_in_tmp):
    holder = _holder(host_lock_in_tmp, 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with _lock.HostLock("memwise.linux.zram", 0) as lock:
        assert lock.waited_for is None


def test_negative_timeout_and_unopenable_lock_are_refused(tmp_path):
    with pytest.raises(MemwiseError, match=r"lock_timeout: -1 is negative; give the seconds to wait"):
        with _lock.HostLock("memwise.linux.sysctl", -1):
            pass
    with pytest.raises(MemwiseError, match=r"cannot open the host lock .*/missing/lock: No such file or directory"):
        with _lock.HostLock("memwise.linux.sysctl", 0, path=str(tmp_path / "missing" / "lock")):
            pass


class Module(FakeModule):
    _name = "memwise.linux.sysctl"


def _run(module, body):
    with pytest.raises(Ended):
        _module.run_module(module, body)


def test_run_module_holds_the_lock_only_for_modules_with_lock_timeout(host_lock_in_tmp):
    seen = []

    def body(_module):
        probe = _lock.HostLock("probe", 0)
        try:
            with probe:
                seen.append("free")
        except MemwiseError:
            seen.append("held")
        return {"changed": False}

    _run(Module({"lock_timeout": 5}), body)
    _run(Module({}), body)
    assert seen == ["held", "free"]


def test_run_module_warns_after_waiting_and_fails_clearly_when_the_lock_stays_held(host_lock_in_tmp):
    holder = _holder(host_lock_in_tmp, 1.0)
    waited = Module({"lock_timeout": 30})
    _run(waited, lambda m: {"changed": False})
    holder.wait()
    assert waited.ended == ("exit", {"changed": False})
    assert len(waited.warnings) == 1 and "for the host lock held by memwise.linux.sysctl (PID" in waited.warnings[0]

    holder = _holder(host_lock_in_tmp, 30)
    try:
        refused = Module({"lock_timeout": 0})
        _run(refused, lambda m: pytest.fail("the body ran without the lock"))
        assert refused.ended[0] == "fail"
        assert "holds the host lock" in refused.ended[1]["msg"] and "nothing changed" in refused.ended[1]["msg"]
    finally:
        holder.kill()
        holder.wait()
