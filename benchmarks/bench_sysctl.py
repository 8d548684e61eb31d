# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""memwise.linux.sysctl against ansible.posix.sysctl looped over the same 20 vm.* keys, in one run.

What users run today to manage many kernel settings is ``ansible.posix.sysctl``
in a loop, one module call per key. This benchmark sets 20 writable vm.* keys
to the values they already have, so nothing on the host changes, and times:

* **steady state** (the daily run): the managed file already holds every key
  and the kernel already has every value. Both tools must report no change.
* **first run**: the file does not exist yet (it is removed before each
  sample, outside the timing), the kernel already has every value. Both tools
  must report a change (they write the file).

``memwise.linux.sysctl`` gets the 20 keys in one ``settings`` dict;
``ansible.posix.sysctl`` loops over them with ``sysctl_set: true`` and
``reload: true`` (its defaults for a real run). Each tool writes its own scratch
file in the same directory (``sysctl_file`` / ``path``), never a file under
/etc/sysctl.d, so the host's boot configuration is not touched (memwise.linux
warns on stderr that the scratch file is not read at boot; that is expected).

Each sample is its own ``ansible-playbook`` run with one task; the four
variants take turns (memwise steady, posix steady, memwise first, posix first,
memwise steady, ...). The task timer callback gives the task's time (for the
loop: all 20 iterations), and the whole ``ansible-playbook`` wall time is noted
too. Medians over ``--runs`` samples (default 9, at least 7).

Where it runs: on localhost over the local connection when /proc/sys is
writable here (probed by writing vm.swappiness's own value back); otherwise
(a container with a read-only /proc/sys) in one Debian 12 VM of the test
harness, over SSH. ``--target local|vm`` forces one. In the VM (TCG, no KVM)
one sample of the posix loop takes 2-3 minutes, so 7 runs take about 40 minutes.

Check (the benchmark exits non-zero, naming it): in the steady state the
median task time of ansible.posix.sysctl is at least 5 times memwise.linux's.

ansible.posix is a benchmark-only dependency (the ``ansible`` package):
``.venv/bin/python -m pip install -r benchmarks/requirements.txt``.

Knobs: ``--runs`` / ``MEMWISE_SYSCTL_RUNS``, ``--target`` / ``MEMWISE_SYSCTL_TARGET``
(``make bench BENCH=sysctl MEMWISE_SYSCTL_RUNS=15``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common
from bench_facts import machine, playbook_env, summary

MIN_RUNS = 7
MIN_RATIO = 5.0
# 20 writable vm.* keys present on Debian 12 (6.1) and 13 (6.12) and most other
# kernels. Left out on purpose: the write-only triggers (drop_caches,
# compact_memory, stat_refresh); keys where writing the current value changes
# another key or is refused (dirty_bytes and dirty_background_bytes refuse 0,
# overcommit_kbytes zeroes overcommit_ratio); keys whose write does work in the
# kernel (min_free_kbytes, nr_hugepages, lowmem_reserve_ratio).
KEYS = (
    "vm.swappiness",
    "vm.vfs_cache_pressure",
    "vm.dirty_ratio",
    "vm.dirty_background_ratio",
    "vm.dirty_expire_centisecs",
    "vm.dirty_writeback_centisecs",
    "vm.dirtytime_expire_seconds",
    "vm.overcommit_memory",
    "vm.overcommit_ratio",
    "vm.page-cluster",
    "vm.panic_on_oom",
    "vm.oom_kill_allocating_task",
    "vm.oom_dump_tasks",
    "vm.max_map_count",
    "vm.watermark_scale_factor",
    "vm.watermark_boost_factor",
    "vm.admin_reserve_kbytes",
    "vm.user_reserve_kbytes",
    "vm.laptop_mode",
    "vm.stat_interval",
)
TOOLS = ("memwise", "posix")
LABELS = {
    "memwise": "memwise.linux.sysctl (one call, 20 keys)",
    "posix": "ansible.posix.sysctl (loop over 20 keys)",
}
PHASES = ("steady", "first")
FILES = {"memwise": "90-memwise-bench.conf", "posix": "90-posix-bench.conf"}
INSTALL_HINT = (
    "bench_sysctl: ansible.posix is not installed; it is a benchmark-only dependency:\n"
    "  .venv/bin/python -m pip install -r benchmarks/requirements.txt"
)

PLAY = """---
- name: Benchmark
  hosts: all
  gather_facts: false
  tasks:
"""


def playbook(tool, values, path):
    """One timed task named after the tool; values as JSON (YAML flow style)."""
    if tool == "memwise":
        lines = [
            "- name: memwise",
            "  memwise.linux.sysctl:",
            "    settings: %s" % json.dumps(values),
            "    path: %s" % json.dumps(path),
        ]
    else:
        lines = [
            "- name: posix",
            "  ansible.posix.sysctl:",
            '    name: "{{ item.key }}"',
            '    value: "{{ item.value }}"',
            "    sysctl_file: %s" % json.dumps(path),
            "    sysctl_set: true",
            "    reload: true",
            "  loop: %s" % json.dumps([{"key": k, "value": v} for k, v in values.items()]),
            "  loop_control:",
            '    label: "{{ item.key }}"',
        ]
    return PLAY + "".join("    %s\n" % line for line in lines)


def posix_version():
    spec = importlib.util.find_spec("ansible_collections.ansible.posix")
    if spec is None or not spec.submodule_search_locations:
        return None
    manifest = os.path.join(next(iter(spec.submodule_search_locations)), "MANIFEST.json")
    try:
        with open(manifest) as handle:
            return json.load(handle)["collection_info"]["version"]
    except (OSError, KeyError, ValueError):
        return "unknown"


def local_proc_sys_writable():
    """Whether this host can write /proc/sys: write vm.swappiness's own value back."""
    path = "/proc/sys/vm/swappiness"
    try:
        with open(path) as handle:
            value = handle.read()
        with open(path, "w") as handle:
            handle.write(value)
    except OSError as exc:
        return False, "%s: %s" % (path, exc.strerror)
    return True, "vm.swappiness written back with its own value"


class Target:
    """Where the keys live: ``shell(script)`` runs /bin/sh there and returns stdout."""

    def __init__(self, kind, inventory, scratch, instance=None):
        self.kind, self.inventory, self.scratch, self.instance = kind, inventory, scratch, instance

    def shell(self, script):
        if self.kind == "local":
            argv = ["/bin/sh", "-c", script]
        else:
            i = self.instance
            # ssh takes the first value of an option: a longer ConnectTimeout than the
            # harness's boot probe, for a guest that is busy right after boot.
            argv = ["ssh", "-p", str(i["port"]), "-i", i["identity_file"], "-o", "ConnectTimeout=30"]
            argv += [*common.vmctl.SSH_OPTS, "%s@%s" % (i["user"], i["address"]), script]
        for _attempt in range(2):
            done = subprocess.run(argv, check=False, stdout=subprocess.PIPE, text=True)
            if done.returncode != 255:  # 255: ssh itself failed; try once more
                break
        done.check_returncode()
        return done.stdout

    def read_values(self):
        script = "; ".join('printf "%%s=%%s\\n" %s "$(sysctl -n %s)"' % (k, k) for k in KEYS)
        values = dict(line.split("=", 1) for line in self.shell(script).splitlines() if "=" in line)
        missing = [k for k in KEYS if not values.get(k, "").strip()]
        if missing:
            sys.exit("bench_sysctl: keys missing on the target: %s" % ", ".join(missing))
        return {k: int(values[k]) for k in KEYS}

    def path(self, tool):
        return os.path.join(self.scratch, FILES[tool])

    def remove_files(self):
        self.shell("rm -f %s" % " ".join(shlex.quote(self.path(tool)) for tool in TOOLS))


def run_once(target, tool, values, env):
    started = time.monotonic()
    records = common.timed_playbook(target.inventory, playbook(tool, values, target.path(tool)), extra_env=env)
    wall = time.monotonic() - started
    mine = [r for r in records if r["task"] == tool]
    if len(mine) != 1 or mine[0]["failed"]:
        sys.exit("bench_sysctl: %s gave no successful task record: %r" % (tool, records))
    return mine[0]["seconds"], wall, mine[0]["changed"]


def time_runs(target, values, runs, env):
    """Interleaved samples: {phase: {tool: {"task": [...], "wall": [...], "changed": [...]}}}."""
    out = {p: {t: {"task": [], "wall": [], "changed": []} for t in TOOLS} for p in PHASES}
    # Warm-up, and the steady state's files: each tool writes its file once.
    target.remove_files()
    for tool in TOOLS:
        run_once(target, tool, values, env)
    for n in range(runs):
        for phase in PHASES:
            for tool in TOOLS:
                if phase == "first":
                    target.shell("rm -f %s" % shlex.quote(target.path(tool)))
                task, wall, changed = run_once(target, tool, values, env)
                out[phase][tool]["task"].append(task)
                out[phase][tool]["wall"].append(wall)
                out[phase][tool]["changed"].append(changed)
        print("bench_sysctl: run %d/%d done" % (n + 1, runs), flush=True)
    if target.read_values() != values:
        sys.exit("bench_sysctl: the live values moved during the benchmark: %r" % target.read_values())
    return out


def checks(result):
    failures = common.changed_failures(result["changed"], LABELS, (("steady", False), ("first", True)))
    steady = result["ratio_posix_to_memwise"]["steady"]["task"]
    if steady < MIN_RATIO:
        failures.append(
            "steady state: ansible.posix.sysctl / memwise.linux.sysctl = %.2fx, want at least %.1fx"
            % (steady, MIN_RATIO)
        )
    return failures


def print_table(result):
    rows = [("phase", "tool", "task median s", "playbook wall median s")]
    for phase in PHASES:
        for tool in TOOLS:
            rows.append(
                (
                    phase,
                    LABELS[tool],
                    "%.3f" % result["task_seconds"][phase][tool]["median"],
                    "%.3f" % result["playbook_wall_seconds"][phase][tool]["median"],
                )
            )
    common.print_rows(rows)
    for phase in PHASES:
        r = result["ratio_posix_to_memwise"][phase]
        print("  %s: posix / memwise = %.2fx task time, %.2fx playbook wall time" % (phase, r["task"], r["wall"]))
    print("  load average before/after: %s / %s" % (result["loadavg_before"], result["loadavg_after"]))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("MEMWISE_SYSCTL_RUNS") or 9),
        help="samples per tool and phase, interleaved (default 9, env MEMWISE_SYSCTL_RUNS; at least %d)" % MIN_RUNS,
    )
    parser.add_argument(
        "--target",
        choices=("auto", "local", "vm"),
        default=os.environ.get("MEMWISE_SYSCTL_TARGET") or "auto",
        help="auto (default): localhost if /proc/sys is writable here, else one Debian 12 VM",
    )
    args = parser.parse_args(argv)
    if args.runs < MIN_RUNS:
        parser.error("--runs must be at least %d" % MIN_RUNS)
    return args


def benchmark(target, args, env, where):
    values = target.read_values()
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    samples = time_runs(target, values, args.runs, env)
    result = {
        "machine": machine(),
        "target": where,
        "ansible_posix": posix_version(),
        "runs_per_tool_and_phase": args.runs,
        "order": "interleaved: memwise steady, posix steady, memwise first, posix first",
        "keys": values,
        "task_seconds": {p: {t: summary(samples[p][t]["task"]) for t in TOOLS} for p in PHASES},
        "playbook_wall_seconds": {p: {t: summary(samples[p][t]["wall"]) for t in TOOLS} for p in PHASES},
        "ratio_posix_to_memwise": {
            p: {k: common.ratio(samples, p, k, "posix") for k in ("task", "wall")} for p in PHASES
        },
        "changed": {p: {t: samples[p][t]["changed"] for t in TOOLS} for p in PHASES},
        "loadavg_before": loadavg_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "thresholds": {"min_ratio_steady": MIN_RATIO},
    }
    result["failures"] = checks(result)
    return result


def main(argv=None):
    args = parse_args(argv)
    if posix_version() is None:
        sys.exit(INSTALL_HINT)
    env = playbook_env()
    writable, why = local_proc_sys_writable()
    kind = args.target if args.target != "auto" else ("local" if writable else "vm")
    if kind == "local" and not writable:
        sys.exit("bench_sysctl: --target local, but /proc/sys is not writable here (%s)" % why)
    print("bench_sysctl: target %s (/proc/sys here: %s)" % (kind, why), flush=True)
    if kind == "local":
        # /var/tmp, not /tmp: memwise.linux.sysctl refuses a path on tmpfs (lost at reboot), and many
        # workstations mount /tmp as tmpfs.
        with tempfile.TemporaryDirectory(prefix="memwise-bench-sysctl-", dir="/var/tmp") as tmp:
            inventory = os.path.join(tmp, "inventory.ini")
            with open(inventory, "w") as handle:
                handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
            where = "localhost, local connection (%s)" % why
            result = benchmark(Target("local", inventory, tmp), args, env, where)
    else:
        with tempfile.TemporaryDirectory(prefix="memwise-bench-sysctl-vm-") as state:
            try:
                instances, _boot = common.boot(state, ["benchsysctl12:bookworm"])
                target = Target("vm", os.path.join(state, "inventory.yml"), "/root/memwise-bench", instances[0])
                target.shell("mkdir -p /root/memwise-bench")
                where = "one Debian 12 VM over SSH (%s; /proc/sys here: %s)" % (instances[0]["accel"], why)
                result = benchmark(target, args, env, where)
            finally:
                common.down(state)
    path = common.write_result("sysctl", result)
    print_table(result)
    print("bench_sysctl: %s" % os.path.relpath(path, common.ROOT))
    if result["failures"]:
        sys.exit("bench_sysctl: FAILED:\n  " + "\n  ".join(result["failures"]))
    print("bench_sysctl: all checks passed")


if __name__ == "__main__":
    main()
