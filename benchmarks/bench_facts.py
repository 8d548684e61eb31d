# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""memwise.linux.memory_facts against ansible.builtin.setup on localhost, in one run.

Three measurements, no VMs:

* Task time: ``memwise.linux.memory_facts`` (``gather_subset: all``) against
  ``ansible.builtin.setup`` with ``gather_subset: [hardware]`` (what users run
  today to learn a host's memory; setup adds its ``min`` facts to it) and with
  ``["!all", "!min", hardware]`` (setup's cheapest way to the same memory facts).
  ``ansible.builtin.ping`` runs alongside as a baseline (what any module task
  costs here: AnsiballZ, Python start-up), unchecked.
  Each sample is its own ``ansible-playbook`` run with one task on localhost
  over the local connection, the tools interleaved (A B C D A B C D ...); the task
  timer callback gives the task time, and the whole ``ansible-playbook`` wall
  time is noted too. Medians over ``--runs`` samples (default 9, at least 7).
* Fields: the leaf values (scalars, null included) in memory_facts'
  ``ansible_facts.memwise`` against the memory facts setup returns
  (``ansible_mem*``, ``ansible_swap*``, ``ansible_memory_mb.*``).
* The module's own collection step in this process, with no Ansible around
  it: ``_facts.collect(_facts.resolve_subset(["all"]))``, ``--iterations``
  times (default 200) after a warm-up; median and p95.

Checks (the benchmark exits non-zero, naming each one that fails): memory_facts
is faster than either setup variant; it gives at least 150 fields of data
(``unavailable`` and ``gather_subset`` not counted); the in-process median is
under 30 ms.

Knobs: ``--runs`` / ``MEMWISE_FACTS_RUNS``, ``--iterations`` /
``MEMWISE_FACTS_ITERATIONS`` (``make bench BENCH=facts MEMWISE_FACTS_RUNS=15``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

MIN_RUNS = 7
MIN_FIELDS = 150
MAX_COLLECT_MS = 30.0
COLLECTIONS = os.path.join(common.ROOT, ".build", "collections")

# name -> task body (YAML, indented for a task); memory_facts first, the reference last.
TOOLS = {
    "memory_facts": "memwise.linux.memory_facts:\n        gather_subset: [all]",
    "setup_hardware": "ansible.builtin.setup:\n        gather_subset: [hardware]",
    "setup_hardware_nomin": 'ansible.builtin.setup:\n        gather_subset: ["!all", "!min", hardware]',
    "ping": "ansible.builtin.ping:",
}
LABELS = {
    "memory_facts": "memwise.linux.memory_facts (all)",
    "setup_hardware": "ansible.builtin.setup [hardware]",
    "setup_hardware_nomin": "ansible.builtin.setup [!all, !min, hardware]",
    "ping": "ansible.builtin.ping (baseline)",
}
# Compared with memory_facts and checked: memory_facts must beat each. ping only shows
# what any module task costs here (AnsiballZ, Python start-up), so it is not checked.
SETUPS = ("setup_hardware", "setup_hardware_nomin")
# Keys of ansible_facts.memwise that describe the gathering, not the host's memory.
META_KEYS = ("gather_subset", "unavailable")

PLAY = """---
- name: Benchmark
  hosts: all
  gather_facts: false
  tasks:
"""


def one_task_playbook(tool):
    return PLAY + "    - name: %s\n      %s\n" % (tool, TOOLS[tool])


def dump_playbook(path):
    """Every tool once, registered, written to ``path`` as JSON (doubles as the warm-up)."""
    tasks = "".join(
        "    - name: warm-up %s\n      register: r_%s\n      %s\n" % (tool, tool, TOOLS[tool]) for tool in TOOLS
    )
    results = ", ".join("'%s': r_%s.ansible_facts" % (tool, tool) for tool in ("memory_facts",) + SETUPS)
    return (
        PLAY
        + tasks
        + "    - name: warm-up dump\n"
        + "      ansible.builtin.copy:\n"
        + "        dest: %s\n" % json.dumps(path)
        + '        content: "{{ {%s} | to_json }}"\n' % results
        + "        mode: '0600'\n"
    )


def leaves(value):
    """Count the scalar leaves (null included) of nested dicts and lists."""
    if isinstance(value, dict):
        return sum(leaves(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(leaves(v) for v in value)
    return 1


def memwise_fields(facts):
    memwise = facts["memwise"]
    data = {k: v for k, v in memwise.items() if k not in META_KEYS}
    return {
        "data": leaves(data),
        "total": leaves(memwise),
        "sections": sorted(data),
        "unavailable": sorted(memwise.get("unavailable") or {}),
    }


def setup_memory_fields(facts):
    """setup's memory facts: ansible_mem*, ansible_swap*, ansible_memory_mb.* (prefix optional)."""
    picked = {}
    for key, value in facts.items():
        name = key[len("ansible_") :] if key.startswith("ansible_") else key
        if name.startswith(("mem", "swap")):
            picked[name] = value
    return {"data": leaves(picked), "facts": sorted(picked)}


def percentile(samples, pct):
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(pct / 100.0 * len(ordered)) - 1)]


def time_collect(iterations, warmup=10):
    """Time resolve_subset + collect in this process; milliseconds."""
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)
    from ansible_collections.memwise.linux.plugins.module_utils import _facts

    for _warm in range(warmup):
        _facts.collect(_facts.resolve_subset(["all"]))
    samples = []
    for _iteration in range(iterations):
        started = time.perf_counter()
        _facts.collect(_facts.resolve_subset(["all"]))
        samples.append((time.perf_counter() - started) * 1000.0)
    return {
        "iterations": iterations,
        "sections": _facts.resolve_subset(["all"]),
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "min_ms": round(min(samples), 2),
        "max_ms": round(max(samples), 2),
    }


def playbook_env():
    env = {"ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH") or COLLECTIONS}
    # ansible-playbook from the interpreter's own environment (the venv) first.
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return env


def machine():
    pretty = platform.system()
    try:
        with open("/etc/os-release") as handle:
            for line in handle:
                if line.startswith("PRETTY_NAME="):
                    pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    try:
        from ansible.release import __version__ as ansible_core
    except ImportError:
        ansible_core = None
    return {
        "os": pretty,
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "ansible_core": ansible_core,
    }


def time_tasks(inventory, runs, env):
    """Interleaved runs; per tool the task seconds and ansible-playbook wall seconds."""
    task = {tool: [] for tool in TOOLS}
    wall = {tool: [] for tool in TOOLS}
    playbooks = {tool: one_task_playbook(tool) for tool in TOOLS}
    for n in range(runs):
        for tool in TOOLS:
            started = time.monotonic()
            records = common.timed_playbook(inventory, playbooks[tool], extra_env=env)
            wall[tool].append(time.monotonic() - started)
            mine = [r for r in records if r["task"] == tool]
            if len(mine) != 1 or mine[0]["failed"]:
                sys.exit("bench_facts: run %d of %s gave no successful task record: %r" % (n + 1, tool, records))
            task[tool].append(mine[0]["seconds"])
        print("bench_facts: run %d/%d done" % (n + 1, runs), flush=True)
    return task, wall


def summary(samples):
    return {
        "median": round(statistics.median(samples), 3),
        "min": round(min(samples), 3),
        "max": round(max(samples), 3),
        "samples": [round(s, 3) for s in samples],
    }


def print_table(result):
    rows = [("tool", "task median s", "playbook wall median s", "ratio to memory_facts (task / wall)")]
    for tool in TOOLS:
        ratio = result["ratio_to_memory_facts"].get(tool)
        ratio_wall = result["ratio_to_memory_facts_wall"].get(tool)
        rows.append(
            (
                LABELS[tool],
                "%.3f" % result["task_seconds"][tool]["median"],
                "%.3f" % result["playbook_wall_seconds"][tool]["median"],
                "%.2fx / %.2fx" % (ratio, ratio_wall) if ratio else "-",
            )
        )
    common.print_rows(rows)
    fields = result["fields"]
    print(
        "  fields: memory_facts %d leaf values of data (%d with gather_subset/unavailable); "
        "setup %d memory leaf facts (%s)"
        % (
            fields["memory_facts"]["data"],
            fields["memory_facts"]["total"],
            fields["setup"]["data"],
            ", ".join(fields["setup"]["facts"]),
        )
    )
    coll = result["in_process_collect"]
    print(
        "  in-process collect (%d sections, %d iterations): median %.2f ms, p95 %.2f ms"
        % (len(coll["sections"]), coll["iterations"], coll["median_ms"], coll["p95_ms"])
    )
    print("  load average before/after: %s / %s" % (result["loadavg_before"], result["loadavg_after"]))


def checks(result):
    failures = []
    facts = result["task_seconds"]["memory_facts"]["median"]
    for tool in SETUPS:
        if facts >= result["task_seconds"][tool]["median"]:
            failures.append(
                "memory_facts is not faster than %s: median task %.3f s vs %.3f s"
                % (LABELS[tool], facts, result["task_seconds"][tool]["median"])
            )
    got = result["fields"]["memory_facts"]["data"]
    if got < MIN_FIELDS:
        failures.append(
            "memory_facts gives %d fields of data, want at least %d (sections: %s)"
            % (got, MIN_FIELDS, ", ".join(result["fields"]["memory_facts"]["sections"]))
        )
    median_ms = result["in_process_collect"]["median_ms"]
    if median_ms >= MAX_COLLECT_MS:
        failures.append("in-process collect median %.2f ms, want under %.0f ms" % (median_ms, MAX_COLLECT_MS))
    return failures


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("MEMWISE_FACTS_RUNS") or 9),
        help="ansible-playbook runs per tool, interleaved (default 9, env MEMWISE_FACTS_RUNS; at least %d)" % MIN_RUNS,
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=int(os.environ.get("MEMWISE_FACTS_ITERATIONS") or 200),
        help="in-process collect() calls (default 200, env MEMWISE_FACTS_ITERATIONS)",
    )
    args = parser.parse_args(argv)
    if args.runs < MIN_RUNS:
        parser.error("--runs must be at least %d" % MIN_RUNS)
    if args.iterations < 20:
        parser.error("--iterations must be at least 20")
    return args


def main(argv=None):
    args = parse_args(argv)
    env = playbook_env()
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="memwise-bench-facts-") as tmp:
        inventory = os.path.join(tmp, "inventory.ini")
        with open(inventory, "w") as handle:
            handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
        dump = os.path.join(tmp, "facts.json")
        common.timed_playbook(inventory, dump_playbook(dump), extra_env=env)
        with open(dump) as handle:
            gathered = json.load(handle)
        task, wall = time_tasks(inventory, args.runs, env)
    collect = time_collect(args.iterations)
    setup_fields = setup_memory_fields(gathered["setup_hardware"])
    result = {
        "machine": machine(),
        "interpreter": "the benchmark's own Python (%s)" % platform.python_version(),
        "runs_per_tool": args.runs,
        "order": "interleaved: " + ", ".join(TOOLS),
        "task_seconds": {tool: summary(task[tool]) for tool in TOOLS},
        "playbook_wall_seconds": {tool: summary(wall[tool]) for tool in TOOLS},
        "ratio_to_memory_facts": {
            tool: round(statistics.median(task[tool]) / statistics.median(task["memory_facts"]), 2) for tool in SETUPS
        },
        "ratio_to_memory_facts_wall": {
            tool: round(statistics.median(wall[tool]) / statistics.median(wall["memory_facts"]), 2) for tool in SETUPS
        },
        "fields": {
            "memory_facts": memwise_fields(gathered["memory_facts"]),
            "setup": setup_fields,
            "setup_nomin_memory_leaves": setup_memory_fields(gathered["setup_hardware_nomin"])["data"],
        },
        "in_process_collect": collect,
        "loadavg_before": loadavg_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "thresholds": {"min_fields": MIN_FIELDS, "max_collect_median_ms": MAX_COLLECT_MS},
    }
    failures = checks(result)
    result["failures"] = failures
    path = common.write_result("facts", result)
    print_table(result)
    print("bench_facts: %s" % os.path.relpath(path, common.ROOT))
    if failures:
        sys.exit("bench_facts: FAILED:\n  " + "\n  ".join(failures))
    print("bench_facts: all checks passed")


if __name__ == "__main__":
    main()
