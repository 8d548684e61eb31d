# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a Molecule scenario's time goes, and what the VM snapshots save, measured in one run.

1. **Boot to SSH**, cold against restored: per round, one Debian 12 and one
   Debian 13 VM (1 GiB each, side by side, as a scenario boots them) started
   cold (``MEMWISE_VM_SNAPSHOT=0``: kernel, initramfs, systemd) and the same two
   restored from the harness's saved snapshots (the default), the two ways
   taking turns. Per VM the harness's own ``ssh_seconds`` (qemu start to the
   first SSH answer) and the whole ``vmctl.py up`` wall time (SSH plus the
   per-VM identity: hostname, machine-id, host keys, clock). One untimed
   restored boot first makes sure the snapshots exist, so no round pays for
   saving one. Medians over ``--rounds`` rounds (default 3).
2. **Scenario breakdown**: for each scenario named in ``BENCH_SCENARIOS``
   (default ``sysctl``), ``molecule test -s NAME`` under ``vmctl.py session``
   (as ``make integration`` runs it) with the task-timer callback writing one
   file per playbook (``MEMWISE_TIMER_DIR``). The wall time is split into:
   boot (the create playbook), prepare, module tasks (``memwise.linux.*``
   actions), reboots (``tests/vm/reboot.yml``, or ``ansible.builtin.reboot``), other tasks (probes, asserts,
   fact gathering, check-mode comparisons, in converge, idempotence and verify),
   ansible-playbook start-up and time between tasks (in those playbooks), destroy
   (both destroy playbooks) and Molecule's own overhead (the wall time minus all
   of these: its start-up, the syntax check, and what it does between steps).
   Tasks run on the hosts side by side, so a task's share is the time from its
   first host's start to its last host's end, never the sum over hosts.

Every figure is measured in this run; nothing is estimated. Results go to
``benchmarks/results/suite.json``.

Knobs: ``--rounds`` / ``MEMWISE_SUITE_ROUNDS``, ``--scenarios`` /
``BENCH_SCENARIOS`` (``make bench BENCH=suite BENCH_SCENARIOS="sysctl swap"``).
"""

from __future__ import annotations

import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common
from bench_facts import machine, playbook_env, summary

VMS = ("suite12:bookworm", "suite13:trixie")
WAYS = ("cold", "snapshot")
CATEGORIES = (
    ("boot", "boot (create)"),
    ("prepare", "prepare"),
    ("module", "module tasks (memwise.linux.*)"),
    ("reboot", "reboots (tests/vm/reboot.yml)"),
    ("other", "other tasks (probes, asserts, facts)"),
    ("ansible", "ansible-playbook start-up, between tasks"),
    ("destroy", "destroy"),
    ("molecule", "Molecule's own overhead"),
)
REBOOT_ACTIONS = ("ansible.builtin.reboot", "reboot")
REBOOT_TASK = "Reboot the VM and wait for its next boot"  # tests/vm/reboot.yml
BOOT_TIMEOUT = 900


# ---------------------------------------------------------------- boot to SSH


def boot_once(way, state):
    """Boot the two VMs one way; return {vm: {ssh, up}} and stop them."""
    env = dict(os.environ, MEMWISE_VM_SNAPSHOT="0" if way == "cold" else "1")
    # vmctl's default 300 s to SSH is not enough for a cold boot while other VMs load the machine.
    argv = common.VMCTL + ["up", "--state-dir", state, "--timeout", str(BOOT_TIMEOUT)]
    argv += [x for spec in VMS for x in ("--vm", spec)]
    started = time.monotonic()
    try:
        out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
        wall = time.monotonic() - started
    finally:
        common.down(state)
    instances = json.loads(out)
    want = "cold" if way == "cold" else "snapshot"
    if any(i["start"] != want for i in instances):
        sys.exit("bench_suite: asked for %s boots, vmctl reported %r" % (way, [i["start"] for i in instances]))
    return {i["instance"]: i["ssh_seconds"] for i in instances}, wall, instances[0]["accel"]


def boot_rounds(rounds, tmp):
    samples = {w: {"ssh": {}, "up_wall": []} for w in WAYS}
    state = os.path.join(tmp, "boot")
    print("bench_suite: making sure the snapshots exist (untimed)", flush=True)
    boot_once("snapshot", state)
    accel = None
    for n in range(rounds):
        for way in WAYS if n % 2 == 0 else WAYS[::-1]:
            ssh, wall, accel = boot_once(way, state)
            for vm, seconds in ssh.items():
                samples[way]["ssh"].setdefault(vm, []).append(seconds)
            samples[way]["up_wall"].append(wall)
            print("bench_suite: round %d/%d %s: SSH %s, up %.1f s" % (n + 1, rounds, way, ssh, wall), flush=True)
    result = {"accel": accel, "rounds": rounds, "vms": list(VMS), "memory_mib": 1024}
    for way in WAYS:
        result[way] = {
            "ssh_seconds": {vm: summary(v) for vm, v in samples[way]["ssh"].items()},
            "up_wall_seconds": summary(samples[way]["up_wall"]),
        }
    result["ratio_cold_to_snapshot"] = {
        "ssh_" + vm.split(":", maxsplit=1)[0]: round(
            statistics.median(samples["cold"]["ssh"][vm.split(":", maxsplit=1)[0]])
            / statistics.median(samples["snapshot"]["ssh"][vm.split(":", maxsplit=1)[0]]),
            2,
        )
        for vm in VMS
    }
    result["ratio_cold_to_snapshot"]["up_wall"] = round(
        statistics.median(samples["cold"]["up_wall"]) / statistics.median(samples["snapshot"]["up_wall"]), 2
    )
    return result


# ---------------------------------------------------------------- scenario breakdown


def union(intervals):
    """Total length covered by (start, end) intervals."""
    total, reach = 0.0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def top_level(playbooks):
    """Drop playbooks run from inside another (a scenario's nested ansible-playbook): they overlap it."""
    kept = []
    for pb in sorted(playbooks, key=lambda p: p["begin"]):
        if kept and pb["end"] <= kept[-1]["end"]:
            continue
        kept.append(pb)
    return kept


def step_of(playbook):
    name = os.path.basename(playbook or "")
    return name[:-4] if name.endswith(".yml") else name


def task_category(record):
    if record["action"].startswith("memwise.linux."):
        return "module"
    if record["action"] in REBOOT_ACTIONS or record.get("task", "").startswith(REBOOT_TASK):
        return "reboot"
    return "other"


def breakdown(playbooks, wall):
    """Seconds per category (CATEGORIES) of one ``molecule test`` that took ``wall`` seconds."""
    seconds = dict.fromkeys(dict(CATEGORIES), 0.0)
    steps = []
    for pb in top_level(playbooks):
        length = pb["end"] - pb["begin"]
        step = step_of(pb["playbook"])
        steps.append({"playbook": step, "seconds": round(length, 1)})
        if step in ("create", "prepare", "destroy"):
            seconds["boot" if step == "create" else step] += length
            continue
        ran = [t for t in pb["tasks"] if not t.get("skipped")]
        by_kind = {}
        for task in ran:
            by_kind.setdefault(task_category(task), []).append((task["start"], task["end"]))
        for kind, intervals in by_kind.items():
            seconds[kind] += union(intervals)
        # Skipped tasks (a condition evaluated, nothing run) count as time between tasks.
        seconds["ansible"] += length - union([(t["start"], t["end"]) for t in ran])
    seconds["molecule"] = wall - sum(seconds.values())
    return {k: round(v, 1) for k, v in seconds.items()}, steps


def load_playbooks(directory):
    playbooks = []
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(path) as handle:
            data = json.load(handle)
        data["begin"] = data["process_start"] or data["start"]
        playbooks.append(data)
    return playbooks


def module_task_counts(playbooks):
    """memwise.linux task runs per host, over converge, idempotence and verify."""
    counts = {}
    for pb in top_level(playbooks):
        for task in pb["tasks"]:
            if not task.get("skipped") and task["action"].startswith("memwise.linux."):
                counts[task["host"]] = counts.get(task["host"], 0) + 1
    return counts


def run_scenario(name, tmp, env):
    timer_dir = os.path.join(tmp, "timer-" + name)
    os.makedirs(timer_dir)
    log = os.path.join(tmp, "molecule-%s.log" % name)
    env = dict(
        os.environ,
        **env,
        MEMWISE_TIMER_DIR=timer_dir,
        ANSIBLE_CALLBACKS_ENABLED="memwise_task_timer",
        ANSIBLE_CALLBACK_PLUGINS=os.path.join(common.HERE, "callback_plugins"),
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_PIPELINING="true",
    )
    argv = common.VMCTL + ["session", "--", "molecule", "test", "-s", name]
    print("bench_suite: molecule test -s %s (log: %s)" % (name, log), flush=True)
    started = time.monotonic()
    with open(log, "w") as handle:
        rc = subprocess.call(argv, cwd=common.ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    wall = time.monotonic() - started
    if rc != 0:
        with open(log, errors="replace") as handle:
            tail = handle.read()[-3000:]
        sys.exit("bench_suite: molecule test -s %s failed (rc=%d); its log ends:\n%s" % (name, rc, tail))
    playbooks = load_playbooks(timer_dir)
    seconds, steps = breakdown(playbooks, wall)
    return {
        "wall_seconds": round(wall, 1),
        "seconds": seconds,
        "share_percent": {k: round(100 * v / wall, 1) for k, v in seconds.items()},
        "steps": steps,
        "module_task_runs_per_host": module_task_counts(playbooks),
    }


# ---------------------------------------------------------------- report


def print_report(result):
    boot = result["boot"]
    rows = [("VM", "cold boot to SSH (median s)", "restored to SSH (median s)", "cold / restored")]
    for spec in VMS:
        vm = spec.split(":", maxsplit=1)[0]
        rows.append(
            (
                spec,
                "%.1f" % boot["cold"]["ssh_seconds"][vm]["median"],
                "%.1f" % boot["snapshot"]["ssh_seconds"][vm]["median"],
                "%.2fx" % boot["ratio_cold_to_snapshot"]["ssh_" + vm],
            )
        )
    rows.append(
        (
            "vmctl up, both VMs (wall)",
            "%.1f" % boot["cold"]["up_wall_seconds"]["median"],
            "%.1f" % boot["snapshot"]["up_wall_seconds"]["median"],
            "%.2fx" % boot["ratio_cold_to_snapshot"]["up_wall"],
        )
    )
    print("bench_suite: boot, %d rounds (%s):" % (boot["rounds"], boot["accel"]))
    common.print_rows(rows)
    for name, scenario in result["scenarios"].items():
        print("bench_suite: molecule test -s %s: %.1f s" % (name, scenario["wall_seconds"]))
        rows = [("share of the time", "seconds", "share")]
        for key, label in CATEGORIES:
            rows.append((label, "%.1f" % scenario["seconds"][key], "%.1f%%" % scenario["share_percent"][key]))
        common.print_rows(rows)
        print("  steps: %s" % ", ".join("%s %.0f s" % (s["playbook"], s["seconds"]) for s in scenario["steps"]))
    print("  load average before/after: %s / %s" % (result["loadavg_before"], result["loadavg_after"]))


def parse_args(argv):
    parser = common.rounds_parser(__doc__, "MEMWISE_SUITE_ROUNDS", 3, "boot rounds, each way per round")
    parser.add_argument(
        "--scenarios",
        default=os.environ.get("BENCH_SCENARIOS") or "sysctl",
        help="scenarios to break down, space-separated (default sysctl, env BENCH_SCENARIOS)",
    )
    args = parser.parse_args(argv)
    known = [
        os.path.basename(os.path.dirname(p))
        for p in glob.glob(os.path.join(common.ROOT, "extensions", "molecule", "*", "molecule.yml"))
    ]
    unknown = [s for s in args.scenarios.split() if s not in known]
    if unknown:
        parser.error("unknown scenario(s) %s; known: %s" % (", ".join(unknown), ", ".join(sorted(known))))
    return args


def main(argv=None):
    args = parse_args(argv)
    env = playbook_env()
    started = time.monotonic()
    result = {"machine": machine(), "loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="memwise-bench-suite-") as tmp:
        result["boot"] = boot_rounds(args.rounds, tmp)
        result["scenarios"] = {name: run_scenario(name, tmp, env) for name in args.scenarios.split()}
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    result["wall_seconds_total"] = round(time.monotonic() - started, 1)
    path = common.write_result("suite", result)
    print_report(result)
    print("bench_suite: %s" % os.path.relpath(path, common.ROOT))


if __name__ == "__main__":
    main()
