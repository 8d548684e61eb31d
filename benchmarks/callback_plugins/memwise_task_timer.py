# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: record each task's wall time per host into a JSON file.

Used only by benchmarks/*.py (set MEMWISE_TIMER_OUT to the output path).
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: memwise_task_timer
type: aggregate
short_description: Record per-task, per-host wall times for memwise.linux benchmarks
description:
  - Writes a JSON list of C({task, host, seconds, changed, failed, action, role, play}) to the file named by
    the E(MEMWISE_TIMER_OUT) environment variable when the play ends.
  - The Molecule scenario memory_policy uses it too, to count the module tasks the role runs per host.
author: memwise.linux contributors (@memwise)
requirements:
  - enable in ansible.cfg or with E(ANSIBLE_CALLBACKS_ENABLED)
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "memwise_task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._started = {}
        self._records = []
        self._play = None

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = time.monotonic()

    def _record(self, result, failed):
        key = (result._host.get_name(), result._task._uuid)
        start = self._started.pop(key, None)
        if start is not None:
            self._records.append(
                {
                    "task": result._task.get_name(),
                    "host": key[0],
                    "seconds": round(time.monotonic() - start, 4),
                    "changed": bool(result._result.get("changed")),
                    "failed": failed,
                    "action": result._task.action,
                    "role": result._task._role.get_name() if result._task._role else None,
                    "play": self._play,
                }
            )

    def v2_runner_on_ok(self, result):
        self._record(result, False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, True)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("MEMWISE_TIMER_OUT")
        if path:
            with open(path, "w") as handle:
                json.dump(self._records, handle, indent=1)
