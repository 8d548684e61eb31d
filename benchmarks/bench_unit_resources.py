# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""memwise.linux.unit_resources against template + daemon-reload + restart, in one VM and one run.

What users do today to set memory limits on a few services is a drop-in per unit
written with ``ansible.builtin.template``, whose change notifies two handlers:
``ansible.builtin.systemd_service`` with ``daemon_reload: true`` and a restart of
each unit, which is what puts the new values into the units' cgroups. This
benchmark sets five properties (MemoryHigh, MemoryMax, MemoryLow, MemorySwapMax,
TasksMax) on three small probe services (``sleep infinity``) with each tool, and
times:

* **first run**: the values change (each round switches between two value sets,
  so every tool's first run of a round moves every value on its three units; the
  first round moves them from the units' defaults);
* **steady state** (the daily run): the same values again; both tools must
  report no change.

Each tool has its own three probe services, so neither sees the other's files.
The baseline is given its drop-in directories (created at setup, outside the
timing), which a real playbook would also have to create. ``memwise.linux``
writes its own drop-in (``50-memwise-resources.conf``), reloads systemd and
applies the values live with ``systemctl set-property --runtime`` where the
reload did not.

Each sample is its own ``ansible-playbook`` run; per round each tool runs its
first run then its steady run, and the tools take turns going first (memwise,
baseline; baseline, memwise; ...). The task timer callback gives the time of
the tool's tasks (for the baseline, the template loop plus both handlers), and
the whole ``ansible-playbook`` wall time is noted too. Medians over ``--runs``
rounds (default 7, at least 7). Outside the timing, one SSH command after each
sample reads every unit's MainPID, ``systemctl show`` values and cgroup files.

Where it runs: one Debian 13 VM of the test harness (systemd 257, TCG, over SSH),
booted for the benchmark and stopped after it. Under TCG a module task costs
5-12 s there and a daemon-reload several more, so one round (four samples) takes
about 2.7 minutes and the 7 rounds the median needs about 20 minutes in all.

Checks (the benchmark exits non-zero, naming each one that fails): every first
run reports a change and every steady run none; after every first run both
tools' units hold the new values in ``systemctl show`` and in their cgroup files;
memwise.linux never changes a MainPID; no steady run changes one; in both phases
memwise.linux's median task time is below the baseline's.

Knob: ``--runs`` / ``MEMWISE_UNIT_RESOURCES_RUNS``
(``make bench BENCH=unit_resources MEMWISE_UNIT_RESOURCES_RUNS=9``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common
from bench_facts import machine, playbook_env, summary

MIN_RUNS = 7
# baseline / memwise median task time must exceed this in both phases (measured: about 2x).
MIN_RATIO = 1.0
VM = "benchunits13:trixie"
TOOLS = ("memwise", "baseline")
LABELS = {
    "memwise": "memwise.linux.unit_resources (loop over 3 units)",
    "baseline": "template + daemon-reload + restart (3 units)",
}
PHASES = ("first", "steady")
UNITS = {tool: ["memwise-bench-%s%d.service" % (tool[0], n) for n in (1, 2, 3)] for tool in TOOLS}
BASELINE_DROPIN = "50-resources.conf"
# Two value sets; rounds alternate between them so every first run changes every value.
VALUE_SETS = (
    {"MemoryHigh": "256M", "MemoryMax": "384M", "MemoryLow": "16M", "MemorySwapMax": "64M", "TasksMax": 64},
    {"MemoryHigh": "192M", "MemoryMax": "320M", "MemoryLow": "8M", "MemorySwapMax": "32M", "TasksMax": 48},
)
CGROUP_FILES = {
    "MemoryHigh": "memory.high",
    "MemoryMax": "memory.max",
    "MemoryLow": "memory.low",
    "MemorySwapMax": "memory.swap.max",
    "TasksMax": "pids.max",
}
PROBE_UNIT = """[Unit]
Description=memwise.linux benchmark probe
[Service]
ExecStart=/bin/sleep infinity
"""
TEMPLATE = """# {{ ansible_managed }}
[Service]
{% for name, value in bench_properties.items() %}
{{ name }}={{ value }}
{% endfor %}
"""
PLAY = """---
- name: Benchmark
  hosts: all
  gather_facts: false
  vars:
    bench_properties: %s
  tasks:
"""


def playbook(tool, values, template):
    """The tool's tasks for three units; the baseline's handlers are named after it too."""
    units = json.dumps(UNITS[tool])
    text = PLAY % json.dumps(values)
    if tool == "memwise":
        return text + (
            "    - name: memwise\n"
            "      memwise.linux.unit_resources:\n"
            '        unit: "{{ item }}"\n'
            '        properties: "{{ bench_properties }}"\n'
            "      loop: %s\n" % units
        )
    return text + (
        "    - name: baseline\n"
        "      ansible.builtin.template:\n"
        "        src: %s\n"
        '        dest: "/etc/systemd/system/{{ item }}.d/%s"\n'
        '        mode: "0644"\n'
        "      loop: %s\n"
        "      notify: [baseline daemon-reload, baseline restart]\n"
        "  handlers:\n"
        "    - name: baseline daemon-reload\n"
        "      ansible.builtin.systemd_service:\n"
        "        daemon_reload: true\n"
        "    - name: baseline restart\n"
        "      ansible.builtin.systemd_service:\n"
        '        name: "{{ item }}"\n'
        "        state: restarted\n"
        "      loop: %s\n" % (json.dumps(template), BASELINE_DROPIN, units, units)
    )


def to_bytes(text):
    """``256M`` -> bytes (K, M, G, T are powers of 1024, as systemd reads them)."""
    return int(text[:-1]) * 1024 ** ("KMGT".index(text[-1]) + 1) if text[-1] in "KMGT" else int(text)


def expected(values):
    """What systemctl show and the cgroup files must hold for ``values``."""
    return {name: str(value if name == "TasksMax" else to_bytes(value)) for name, value in values.items()}


class Guest:
    """The benchmark VM: ``shell(script)`` runs /bin/sh there over SSH and returns stdout."""

    def __init__(self, instance, inventory):
        self.instance, self.inventory = instance, inventory

    def shell(self, script):
        i = self.instance
        argv = ["ssh", "-p", str(i["port"]), "-i", i["identity_file"], "-o", "ConnectTimeout=30"]
        argv += [*common.vmctl.SSH_OPTS, "%s@%s" % (i["user"], i["address"]), script]
        for _attempt in range(2):
            done = subprocess.run(argv, check=False, stdout=subprocess.PIPE, text=True)
            if done.returncode != 255:  # 255: ssh itself failed; try once more
                break
        done.check_returncode()
        return done.stdout

    def setup(self):
        """Install and start the six probe services; the baseline's drop-in directories."""
        units = UNITS["memwise"] + UNITS["baseline"]
        script = "".join("printf '%%s' '%s' > /etc/systemd/system/%s\n" % (PROBE_UNIT, unit) for unit in units)
        script += "".join("mkdir -p /etc/systemd/system/%s.d\n" % unit for unit in UNITS["baseline"])
        script += "systemctl daemon-reload && systemctl start %s\n" % " ".join(units)
        script += "systemctl --version | head -n 1; uname -r\n"
        return self.shell(script).splitlines()

    def read(self):
        """{unit: {MainPID, the five properties as systemctl show reports them, cgroup.FILE: text}}."""
        units = UNITS["memwise"] + UNITS["baseline"]
        props = " ".join("-p %s" % p for p in ["Id", "MainPID", *CGROUP_FILES])
        files = " ".join(
            "/sys/fs/cgroup/system.slice/%s/%s" % (unit, name) for unit in units for name in CGROUP_FILES.values()
        )
        out = self.shell("systemctl show %s %s; echo; grep -sH . %s" % (props, " ".join(units), files))
        state = {unit: {} for unit in units}
        for block in out.split("\n\n"):  # one block per unit (in systemd's property order), then the files
            lines = block.strip().splitlines()
            if lines and lines[0].startswith("/sys/fs/cgroup/"):
                for line in lines:
                    path, _sep, value = line.partition(":")
                    unit, name = path.split("/")[-2:]
                    state[unit]["cgroup." + name] = value
                continue
            shown = dict(line.split("=", 1) for line in lines if "=" in line)
            if shown.get("Id") in state:
                state[shown["Id"]].update(shown)
        return state


def holds(state, tool, values):
    """Units of ``tool`` whose systemctl show or cgroup values differ from ``values``: {unit: {name: got}}."""
    want, wrong = expected(values), {}
    for unit in UNITS[tool]:
        got = state[unit]
        bad = {n: got.get(n) for n in want if got.get(n) != want[n]}
        bad.update({f: got.get("cgroup." + f) for n, f in CGROUP_FILES.items() if got.get("cgroup." + f) != want[n]})
        if bad:
            wrong[unit] = bad
    return wrong


def pids(state, tool):
    return [state[unit].get("MainPID") for unit in UNITS[tool]]


def run_once(guest, tool, values, template, env):
    started = time.monotonic()
    records = common.timed_playbook(guest.inventory, playbook(tool, values, template), extra_env=env)
    wall = time.monotonic() - started
    mine = [r for r in records if r["task"] == tool or r["task"].startswith(tool + " ")]
    main = [r for r in mine if r["task"] == tool]
    if len(main) != 1 or any(r["failed"] for r in mine):
        sys.exit("bench_unit_resources: %s gave no successful task record: %r" % (tool, records))
    return sum(r["seconds"] for r in mine), wall, main[0]["changed"]


def time_runs(guest, runs, template, env):
    """Rounds of (first, steady) per tool, the tools taking turns to go first."""
    out = {p: {t: {k: [] for k in ("task", "wall", "changed", "pid_changed", "wrong")} for t in TOOLS} for p in PHASES}
    # No warm-up run (each costs a minute here): the first round starts from the units' defaults.
    state = guest.read()
    for n in range(runs):
        values = VALUE_SETS[n % 2]
        for tool in TOOLS if n % 2 == 0 else TOOLS[::-1]:
            for phase in PHASES:
                before = pids(state, tool)
                task, wall, changed = run_once(guest, tool, values, template, env)
                state = guest.read()
                sample = out[phase][tool]
                sample["task"].append(task)
                sample["wall"].append(wall)
                sample["changed"].append(changed)
                sample["pid_changed"].append(pids(state, tool) != before)
                sample["wrong"].append(holds(state, tool, values))
        print("bench_unit_resources: run %d/%d done" % (n + 1, runs), flush=True)
    return out


def checks(result):
    failures = common.changed_failures(result["changed"], LABELS, (("first", True), ("steady", False)))
    for phase in PHASES:
        for tool in TOOLS:
            wrong = [w for w in result["wrong_values"][phase][tool] if w]
            if wrong:
                failures.append("%s: %s left other values than asked: %r" % (phase, LABELS[tool], wrong[0]))
    for phase in PHASES:
        restarts = result["main_pid_changed"][phase]["memwise"]
        if any(restarts):
            failures.append("%s: memwise.linux changed a MainPID in %d samples" % (phase, sum(restarts)))
    if any(result["main_pid_changed"]["steady"]["baseline"]):
        failures.append("steady: the baseline restarted a unit although nothing changed")
    for phase in PHASES:
        ratio_task = result["ratio_baseline_to_memwise"][phase]["task"]
        if ratio_task <= MIN_RATIO:
            failures.append(
                "%s: baseline / memwise.linux = %.2fx median task time, want more than %.1fx"
                % (phase, ratio_task, MIN_RATIO)
            )
    return failures


def print_table(result):
    rows = [("phase", "tool", "task median s", "playbook wall median s", "MainPID changed")]
    for phase in PHASES:
        for tool in TOOLS:
            restarts = result["main_pid_changed"][phase][tool]
            rows.append(
                (
                    phase,
                    LABELS[tool],
                    "%.2f" % result["task_seconds"][phase][tool]["median"],
                    "%.2f" % result["playbook_wall_seconds"][phase][tool]["median"],
                    "%d of %d samples" % (sum(restarts), len(restarts)),
                )
            )
    common.print_rows(rows)
    for phase in PHASES:
        r = result["ratio_baseline_to_memwise"][phase]
        print("  %s: baseline / memwise = %.2fx task time, %.2fx playbook wall time" % (phase, r["task"], r["wall"]))
    print("  load average before/after: %s / %s" % (result["loadavg_before"], result["loadavg_after"]))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("MEMWISE_UNIT_RESOURCES_RUNS") or MIN_RUNS),
        help="rounds, each tool's first and steady run per round (default and minimum %d, "
        "env MEMWISE_UNIT_RESOURCES_RUNS)" % MIN_RUNS,
    )
    args = parser.parse_args(argv)
    if args.runs < MIN_RUNS:
        parser.error("--runs must be at least %d" % MIN_RUNS)
    return args


def benchmark(guest, args, env, where, template):
    versions = guest.setup()
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    samples = time_runs(guest, args.runs, template, env)
    return {
        "machine": machine(),
        "target": where,
        "guest": {"systemd": versions[0], "kernel": versions[1]},
        "runs_per_tool_and_phase": args.runs,
        "order": "per round each tool's first run then its steady run; memwise goes first in even rounds",
        "units": UNITS,
        "value_sets": VALUE_SETS,
        "task_seconds": {p: {t: summary(samples[p][t]["task"]) for t in TOOLS} for p in PHASES},
        "playbook_wall_seconds": {p: {t: summary(samples[p][t]["wall"]) for t in TOOLS} for p in PHASES},
        "ratio_baseline_to_memwise": {
            p: {k: common.ratio(samples, p, k, "baseline") for k in ("task", "wall")} for p in PHASES
        },
        "changed": {p: {t: samples[p][t]["changed"] for t in TOOLS} for p in PHASES},
        "main_pid_changed": {p: {t: samples[p][t]["pid_changed"] for t in TOOLS} for p in PHASES},
        "wrong_values": {p: {t: samples[p][t]["wrong"] for t in TOOLS} for p in PHASES},
        "loadavg_before": loadavg_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "thresholds": {"min_ratio_task": MIN_RATIO},
    }


def main(argv=None):
    args = parse_args(argv)
    env = playbook_env()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="memwise-bench-units-") as state:
        template = os.path.join(state, "dropin.conf.j2")
        with open(template, "w") as handle:
            handle.write(TEMPLATE)
        try:
            instances, boot = common.boot(state, [VM])
            print("bench_unit_resources: VM up after %.0f s" % boot, flush=True)
            guest = Guest(instances[0], os.path.join(state, "inventory.yml"))
            where = "one Debian 13 VM over SSH (%s)" % instances[0]["accel"]
            result = benchmark(guest, args, env, where, template)
        finally:
            common.down(state)
    result["wall_seconds_total"] = round(time.monotonic() - started, 1)
    result["failures"] = checks(result)
    path = common.write_result("unit_resources", result)
    print_table(result)
    print("bench_unit_resources: %s" % os.path.relpath(path, common.ROOT))
    if result["failures"]:
        sys.exit("bench_unit_resources: FAILED:\n  " + "\n  ".join(result["failures"]))
    print("bench_unit_resources: all checks passed")


if __name__ == "__main__":
    main()
