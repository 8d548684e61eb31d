# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: record each task's wall time per host into a JSON file.

Used by benchmarks/*.py and the memory_policy scenario (set MEMWISE_TIMER_OUT to
the output path, MEMWISE_TIMER_DIR to keep one file per playbook).
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: memwise_task_timer
type: aggregate
short_description: Record per-task, per-host wall times for memwise.linux benchmarks
description:
  - Writes a JSON list of C({task, host, seconds, changed, failed, action, role, play, start, end, items}) to the
    file named by the E(MEMWISE_TIMER_OUT) environment variable when the playbook ends (each playbook overwrites it).
    C(start) and C(end) are epoch seconds; C(items) is the number of loop items the task ran (not skipped), null
    for a task without a loop. Skipped tasks are not in this list.
  - With E(MEMWISE_TIMER_DIR) set, every playbook also writes its own file in that directory,
    C(<epoch ns>-<pid>-<playbook>.json), holding C({playbook, pid, process_start, start, end, tasks}) where
    C(tasks) are the records above plus the skipped tasks (with C(skipped=true)); C(process_start) is when the
    C(ansible-playbook) process started (null where /proc does not tell). C(make bench BENCH=suite) reads these
    for the several playbooks a Molecule scenario runs.
  - The Molecule scenario memory_policy uses it too, to count the module tasks the role runs per host.
author: memwise.linux contributors (@memwise)
requirements:
  - enable in ansible.cfg or with E(ANSIBLE_CALLBACKS_ENABLED)
"""

import json
import os
import re
import time

from ansible.plugins.callback import CallbackBase


def process_start():
    """Epoch seconds at which this process started, from /proc (None where that is unknown)."""
    try:
        with open("/proc/self/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as handle:
            btime = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
        return round(btime + int(fields[19]) / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError, StopIteration):
        return None


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "memwise_task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._started = {}
        self._records = []
        self._skipped = []
        self._play = None
        self._playbook = None
        self._playbook_start = time.time()

    def v2_playbook_on_start(self, playbook):
        self._playbook = getattr(playbook, "_file_name", None)
        self._playbook_start = time.time()

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = (time.monotonic(), time.time())

    def _record(self, result, failed, skipped=False):
        key = (result._host.get_name(), result._task._uuid)
        start = self._started.pop(key, None)
        if start is None:
            return
        loop = result._result.get("results")
        record = {
            "task": result._task.get_name(),
            "host": key[0],
            "seconds": round(time.monotonic() - start[0], 4),
            "changed": bool(result._result.get("changed")),
            "failed": failed,
            "action": result._task.action,
            "role": result._task._role.get_name() if result._task._role else None,
            "play": self._play,
            "start": round(start[1], 4),
            "end": round(time.time(), 4),
            "items": None
            if not isinstance(loop, list)
            else sum(1 for r in loop if isinstance(r, dict) and not r.get("skipped")),
        }
        if skipped:
            self._skipped.append(dict(record, skipped=True))
        else:
            self._records.append(record)

    def v2_runner_on_ok(self, result):
        self._record(result, False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, True)

    def v2_runner_on_skipped(self, result):
        self._record(result, False, skipped=True)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("MEMWISE_TIMER_OUT")
        if path:
            with open(path, "w") as handle:
                json.dump(self._records, handle, indent=1)
        directory = os.environ.get("MEMWISE_TIMER_DIR")
        if directory:
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(self._playbook or "playbook"))
            target = os.path.join(directory, "%d-%d-%s.json" % (time.time_ns(), os.getpid(), name))
            data = {
                "playbook": self._playbook,
                "pid": os.getpid(),
                "process_start": process_start(),
                "start": round(self._playbook_start, 4),
                "end": round(time.time(), 4),
                "tasks": sorted(self._records + self._skipped, key=lambda r: r["start"]),
            }
            with open(target, "w") as handle:
                json.dump(data, handle, indent=1)
