# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Killing the VM tests halfway leaves no qemu process and no overlay behind.

Each case starts the real ``make integration SCENARIOS=smoke`` in its own
process group, waits until its VMs' qemu processes run, kills it the way a
person or a CI runner would, and then checks the host: every qemu process the
run started is gone and every overlay disk it created is deleted.
"""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmctl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOOT_WAIT = 180  # molecule start-up, destroy, syntax and create until qemu runs
CLEAN_WAIT = 45  # a guard polls every second; qemu stops within a few seconds


def _qemu():
    return dict(vmctl.harness_processes("qemu"))


def _tail(path, lines=40):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def _overlays(cmdline):
    return re.findall(r"file=([^,\s]+\.qcow2)", cmdline)


@pytest.mark.parametrize("how", ["sigterm-group", "sigkill-group", "sigkill-make"])
def test_killing_make_integration_leaves_no_vm(how, tmp_path):
    before = set(_qemu())
    works = set(glob.glob(os.path.join(vmctl.snapshots_dir(), ".make-*")))
    log = open(tmp_path / "make.log", "w")
    make = subprocess.Popen(
        ["make", "-C", ROOT, "integration", "SCENARIOS=smoke"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + BOOT_WAIT
        ours = {}
        while time.time() < deadline and make.poll() is None:
            ours = {pid: cmd for pid, cmd in _qemu().items() if pid not in before}
            if len(ours) == 2:
                break
            time.sleep(0.5)
        assert len(ours) == 2, "the smoke scenario's two VMs never started; the end of its log:\n%s" % _tail(
            tmp_path / "make.log"
        )
        overlays = [path for cmd in ours.values() for path in _overlays(cmd)]
        assert overlays and all(os.path.exists(p) for p in overlays)
        time.sleep(3)  # let the run get properly under way

        if how == "sigterm-group":
            os.killpg(make.pid, signal.SIGTERM)
        elif how == "sigkill-group":
            os.killpg(make.pid, signal.SIGKILL)
        else:
            os.kill(make.pid, signal.SIGKILL)
        make.wait(timeout=60)

        deadline = time.time() + CLEAN_WAIT
        while time.time() < deadline and (set(_qemu()) & set(ours) or any(map(os.path.exists, overlays))):
            time.sleep(0.5)
        assert not set(_qemu()) & set(ours), "qemu still running after %s: %s" % (how, sorted(ours))
        leftover = [p for p in overlays if os.path.exists(p)]
        assert not leftover, "overlays left after %s: %s" % (how, leftover)
        # A snapshot being saved when the run died is not kept half-made.
        half_made = set(glob.glob(os.path.join(vmctl.snapshots_dir(), ".make-*"))) - works
        assert not half_made, "snapshot work directories left after %s: %s" % (how, sorted(half_made))
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        for pid in set(_qemu()) - before:
            vmctl.terminate(pid)
        log.close()
