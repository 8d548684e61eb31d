# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole memory policy at steady state: memwise.linux.memory_policy against today's tools, in one VM and one run.

The policy: profile ``server`` on a 1 GiB Debian 12 VM of the test harness, a
small web service to protect (``memwise-bench-web.service``, python3's
http.server) and ``workload.slice`` limited to MemoryHigh 60%, systemd-oomd
required. Both sides set the same values: they come from the
``memwise.linux.memory_plan`` filter applied to the VM's ``memory_facts``
(computed once at setup, outside the timing).

* **memwise.linux**: the role ``memwise.linux.memory_policy`` (facts, the plan,
  the unit check, then sysctl, swap, mm_tunables, oomd and unit_resources).
* **today's tools**, one task per concern as a playbook writes it today:
  ``ansible.posix.sysctl`` in a loop over the plan's ``vm.*`` keys; a swap file
  by ``command`` (fallocate with ``creates``, mkswap when created, swapon
  when ``swapon --show`` lacks it) plus ``file`` (mode) and ``lineinfile``
  (/etc/fstab); THP, zswap, KSM and MGLRU by a ``shell`` loop that reads each
  /sys file and writes it when it differs, and a ``lineinfile`` loop into a
  tmpfiles.d file for boot; ``ansible.builtin.apt`` (systemd-oomd),
  ``community.general.ini_file`` loops for the oomd.conf.d drop-in and the
  units' resource drop-ins, ``systemd_service`` to keep oomd enabled and
  running, and handlers for daemon-reload and the restarts (oomd, the
  protected service) when a file changes. It gets the plan's values as
  variables and gathers no facts, so it is spared the facts and the planning
  the role does.

The baseline's files have names of their own (``80-baseline.conf`` in
sysctl.d, ``50-baseline.conf`` in oomd.conf.d and systemd-oomd.service.d,
``40-baseline.conf`` in the units' drop-in directories, sorting before
memwise.linux's so neither shadows the other, and ``baseline-mm.conf`` in
tmpfiles.d); both write the same /swapfile and the same /etc/fstab line. Each
side converges once (memwise.linux first), then ``--rounds`` rounds of one
steady-state run each, taking turns going first; each sample is its own
``ansible-playbook`` run, timed whole (wall) and per task (the task-timer
callback). Medians, the ratio baseline / memwise.linux, and per side the
module tasks per host (tasks that ran a module on the host: not ``set_fact``,
``debug``, ``assert``, the role's ``validate_argument_spec`` or skipped ones) and module
runs (loop items counted one by one).

Checks (the benchmark exits non-zero, naming each one that fails): every
steady-state run of either side reports no change and no failure; the role runs
at most 8 module tasks; after the rounds the VM holds the plan's values
(``sysctl -n``, ``swapon``, /sys, ``systemctl show``).

Knob: ``--rounds`` / ``MEMWISE_POLICY_ROUNDS`` (default 5).
"""

from __future__ import annotations

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
from bench_unit_resources import Guest

VM = "policy12:bookworm"
TOOLS = ("memwise", "baseline")
LABELS = {
    "memwise": "memwise.linux.memory_policy (role)",
    "baseline": "posix.sysctl + command/lineinfile + ini_file + apt + systemd_service",
}
MAX_MODULE_TASKS = 8
SERVICE = "memwise-bench-web.service"
POLICY = {
    "memory_policy_profile": "server",
    "memory_policy_protect": [SERVICE],
    "memory_policy_limit": [{"unit": "workload.slice", "high": "60%"}],
    "memory_policy_oomd": "required",
}
# Tasks that run nothing on the host: controller-side actions (the role's argument check included).
NOT_MODULES = (
    "ansible.builtin.set_fact",
    "set_fact",
    "ansible.builtin.debug",
    "debug",
    "ansible.builtin.meta",
    "meta",
    "ansible.builtin.validate_argument_spec",
    "validate_argument_spec",
    "ansible.builtin.assert",
    "assert",
)
SETUP = """
cat > /etc/systemd/system/%(service)s <<'EOF'
[Unit]
Description=memwise.linux benchmark: the service the policy protects
[Service]
ExecStart=/usr/bin/python3 -m http.server 8081 --bind 127.0.0.1 --directory /srv
EOF
cat > /etc/systemd/system/workload.slice <<'EOF'
[Unit]
Description=memwise.linux benchmark: the slice the policy limits
EOF
systemctl daemon-reload && systemctl start %(service)s workload.slice
systemctl --version | head -n 1; uname -r
""" % {"service": SERVICE}
PLAN_PLAYBOOK = """---
- name: Plan
  hosts: all
  gather_facts: false
  tasks:
    - name: Gather memory facts
      memwise.linux.memory_facts:
        gather_subset: [meminfo, swap, zram, zswap, thp, mglru, psi, cgroup, systemd, vmstat]
    - name: Keep the plan on the controller
      ansible.builtin.copy:
        content: >-
          {{ ansible_facts.memwise | memwise.linux.memory_plan(policy.memory_policy_profile,
               protect=policy.memory_policy_protect, limit=policy.memory_policy_limit,
               oomd=policy.memory_policy_oomd) | to_json }}
        dest: %(dest)s
        mode: "0644"
      delegate_to: localhost
  vars:
    policy: %(policy)s
"""
MEMWISE_PLAYBOOK = """---
- name: memwise
  hosts: all
  gather_facts: false
  vars: %s
  roles:
    - memwise.linux.memory_policy
"""
BASELINE_PLAYBOOK = """---
- name: baseline
  hosts: all
  gather_facts: false
  vars:
    plan: %(plan)s
    mm: %(mm)s
    units: %(units)s
    services: %(services)s
  tasks:
    - name: baseline sysctl
      ansible.posix.sysctl:
        name: "{{ item.key }}"
        value: "{{ item.value }}"
        sysctl_file: /etc/sysctl.d/80-baseline.conf
        sysctl_set: true
        reload: true
      loop: "{{ plan.sysctl.settings | dict2items }}"

    - name: baseline swap file
      ansible.builtin.command:
        cmd: fallocate -l {{ plan.swap.size }} {{ plan.swap.device }}
        creates: "{{ plan.swap.device }}"
      register: baseline_swapfile

    - name: baseline swap file mode
      ansible.builtin.file:
        path: "{{ plan.swap.device }}"
        mode: "0600"

    - name: baseline swap signature
      ansible.builtin.command: mkswap {{ plan.swap.device }}
      when: baseline_swapfile is changed

    - name: baseline active swap
      ansible.builtin.command: swapon --show=NAME --noheadings
      register: baseline_swapon
      changed_when: false

    - name: baseline swapon
      ansible.builtin.command: swapon -p {{ plan.swap.priority }} {{ plan.swap.device }}
      when: plan.swap.device not in baseline_swapon.stdout_lines

    - name: baseline swap in fstab
      ansible.builtin.lineinfile:
        path: /etc/fstab
        regexp: '^{{ plan.swap.device }}\\s'
        line: "{{ plan.swap.device }} none swap sw,pri={{ plan.swap.priority }} 0 0"

    - name: baseline THP, zswap, KSM and MGLRU live
      ansible.builtin.shell: "{{ item.test }} || { echo {{ item.write }} > {{ item.path }} && echo changed; }"
      loop: "{{ mm }}"
      register: baseline_mm
      changed_when: "'changed' in baseline_mm.stdout"

    - name: baseline THP, zswap, KSM and MGLRU at boot
      ansible.builtin.lineinfile:
        path: /etc/tmpfiles.d/baseline-mm.conf
        create: true
        mode: "0644"
        regexp: "^w {{ item.path }} "
        line: "w {{ item.path }} - - - - {{ item.write }}"
      loop: "{{ mm }}"

    - name: baseline systemd-oomd installed
      ansible.builtin.apt:
        name: systemd-oomd
        state: present

    - name: baseline oomd settings
      community.general.ini_file:
        path: /etc/systemd/oomd.conf.d/50-baseline.conf
        section: OOM
        option: "{{ item.key }}"
        value: "{{ item.value }}"
        no_extra_spaces: true
        mode: "0644"
      loop: "{{ plan.oomd | dict2items }}"
      notify: baseline restart oomd

    - name: baseline oomd after swap
      community.general.ini_file:
        path: /etc/systemd/system/systemd-oomd.service.d/50-baseline.conf
        section: Unit
        option: After
        value: swap.target
        no_extra_spaces: true
        mode: "0644"
      notify: [baseline daemon-reload, baseline restart oomd]

    - name: baseline systemd-oomd enabled and running
      ansible.builtin.systemd_service:
        name: systemd-oomd
        enabled: true
        state: started

    - name: baseline unit resources
      community.general.ini_file:
        path: /etc/systemd/system/{{ item.unit }}.d/40-baseline.conf
        section: "{{ item.section }}"
        option: "{{ item.option }}"
        value: "{{ item.value }}"
        no_extra_spaces: true
        mode: "0644"
      loop: "{{ units }}"
      notify: [baseline daemon-reload, baseline restart services]

  handlers:
    - name: baseline daemon-reload
      ansible.builtin.systemd_service:
        daemon_reload: true

    - name: baseline restart oomd
      ansible.builtin.systemd_service:
        name: systemd-oomd
        state: restarted

    - name: baseline restart services
      ansible.builtin.systemd_service:
        name: "{{ item }}"
        state: restarted
      loop: "{{ services }}"
"""

# mm_tunables settings of the plan -> the /sys file, the text to write, and a shell test that holds when it is set.
_SYS = {
    "thp": "/sys/kernel/mm/transparent_hugepage",
    "zswap": "/sys/module/zswap/parameters",
    "ksm": "/sys/kernel/mm/ksm",
    "mglru": "/sys/kernel/mm/lru_gen",
}
_ORDER = (
    ("thp", "enabled"),
    ("thp", "defrag"),
    ("zswap", "compressor"),
    ("zswap", "zpool"),
    ("zswap", "max_pool_percent"),
    ("zswap", "enabled"),
    ("ksm", "run"),
    ("mglru", "enabled"),
    ("mglru", "min_ttl_ms"),
)


def mm_items(mm):
    """The plan's mm_tunables arguments as (path, write, test) items for the baseline's shell loop."""
    planned = {(group, key) for group, values in mm.items() for key in values}
    unknown = sorted(planned - set(_ORDER))
    if unknown:
        sys.exit("bench_policy: the plan sets mm settings this baseline does not know: %s" % unknown)
    items = []
    for group, key in _ORDER:
        if (group, key) not in planned:
            continue
        value = mm[group][key]
        path = "%s/%s" % (_SYS[group], key)
        if group == "thp":
            write, test = value, "grep -q '\\[%s\\]' %s" % (value, path)
        elif group == "zswap" and key == "enabled":
            write = "Y" if value else "N"
            test = "grep -qx %s %s" % (write, path)
        elif group == "ksm":
            write = {"stop": "0", "run": "1", "unmerge": "2"}[value]
            test = "grep -qx %s %s" % (write, path)
        elif group == "mglru" and key == "enabled":
            # Written y/n, read back as a feature mask (0x0007 on these kernels, 0x0000 when off).
            write = "y" if value else "n"
            test = ("! grep -qx 0x0000 %s" if value else "grep -qx 0x0000 %s") % path
        else:
            write, test = str(value), "grep -qx %s %s" % (value, path)
        items.append({"path": path, "write": write, "test": test})
    return items


def unit_items(unit_resources):
    """The plan's unit_resources arguments as ini_file items (one per unit and property)."""
    sections = {"service": "Service", "slice": "Slice", "scope": "Scope"}
    return [
        {"unit": u["unit"], "section": sections[u["unit"].rsplit(".", 1)[1]], "option": k, "value": str(v)}
        for u in unit_resources
        for k, v in u["properties"].items()
    ]


def baseline_playbook(modules):
    units = unit_items(modules["unit_resources"])
    services = sorted({u["unit"] for u in units if u["unit"].endswith(".service")})
    return BASELINE_PLAYBOOK % {
        "plan": json.dumps(modules),
        "mm": json.dumps(mm_items(modules["mm_tunables"])),
        "units": json.dumps(units),
        "services": json.dumps(services),
    }


def counts(records):
    """(module tasks, module runs) of one host's records: set_fact/debug and skipped tasks are not modules."""
    modules = [r for r in records if r["action"] not in NOT_MODULES]
    return len(modules), sum(r["items"] if r["items"] is not None else 1 for r in modules)


def run_once(inventory, text, env, log):
    started = time.monotonic()
    records = common.timed_playbook(inventory, text, extra_env=env, log=log)
    wall = time.monotonic() - started
    tasks, runs = counts(records)
    return {
        "wall": wall,
        "task": sum(r["seconds"] for r in records),
        "changed": sorted({r["task"] for r in records if r["changed"]}),
        "failed": sorted({r["task"] for r in records if r["failed"]}),
        "module_tasks": tasks,
        "module_runs": runs,
        "module_actions": [r["action"] for r in records if r["action"] not in NOT_MODULES],
    }


PROBE = (
    """
echo "swappiness=$(sysctl -n vm.swappiness)"
echo "swapfile=$(swapon --show=NAME,PRIO --noheadings | awk '$1=="/swapfile"{print $2}')"
echo "thp=$(sed 's/.*\\[\\(.*\\)\\].*/\\1/' /sys/kernel/mm/transparent_hugepage/enabled)"
echo "zswap=$(cat /sys/module/zswap/parameters/enabled)"
echo "oomd=$(systemctl is-active systemd-oomd)"
echo "workload_high=$(systemctl show -p MemoryHigh --value workload.slice)"
echo "workload_swap_kill=$(systemctl show -p ManagedOOMSwap --value workload.slice)"
echo "web_avoid=$(systemctl show -p ManagedOOMPreference --value %s)"
"""
    % SERVICE
)


def holds(guest, modules):
    """The VM's readings and those that differ from the plan."""
    got = dict(line.split("=", 1) for line in shell(guest, PROBE).splitlines() if "=" in line)
    want = {
        "swappiness": str(modules["sysctl"]["settings"]["vm.swappiness"]),
        "swapfile": str(modules["swap"]["priority"]),
        "thp": modules["mm_tunables"]["thp"]["enabled"],
        "zswap": "Y" if modules["mm_tunables"]["zswap"]["enabled"] else "N",
        "oomd": "active",
        "workload_swap_kill": "kill",
        "web_avoid": "avoid",
    }
    wrong = {k: {"want": v, "got": got.get(k)} for k, v in want.items() if got.get(k) != v}
    if got.get("workload_high") in (None, "", "infinity"):
        wrong["workload_high"] = {"want": "a byte count", "got": got.get("workload_high")}
    return got, wrong


def shell(guest, script, attempts=10):
    """``guest.shell`` that waits for sshd, which the harness restarts right after boot (new host keys)."""
    for attempt in range(attempts):
        try:
            return guest.shell(script)
        except subprocess.CalledProcessError:
            if attempt == attempts - 1:
                raise
            time.sleep(3)
    return None


def benchmark(guest, inventory, args, env, tmp):
    versions = shell(guest, SETUP).splitlines()
    plan_file = os.path.join(tmp, "plan.json")
    common.timed_playbook(
        inventory,
        PLAN_PLAYBOOK % {"dest": json.dumps(plan_file), "policy": json.dumps(POLICY)},
        extra_env=env,
        log=os.path.join(tmp, "plan.log"),
    )
    with open(plan_file) as handle:
        plan = json.load(handle)
    texts = {"memwise": MEMWISE_PLAYBOOK % json.dumps(POLICY), "baseline": baseline_playbook(plan["modules"])}
    converge = {}
    for tool in TOOLS:
        print("bench_policy: converging %s" % tool, flush=True)
        converge[tool] = run_once(inventory, texts[tool], env, os.path.join(tmp, "converge-%s.log" % tool))
    samples = {t: [] for t in TOOLS}
    for n in range(args.rounds):
        for tool in TOOLS if n % 2 == 0 else TOOLS[::-1]:
            samples[tool].append(run_once(inventory, texts[tool], env, os.path.join(tmp, "steady-%s.log" % tool)))
        print(
            "bench_policy: round %d/%d: memwise %.1f s, baseline %.1f s"
            % (n + 1, args.rounds, samples["memwise"][-1]["wall"], samples["baseline"][-1]["wall"]),
            flush=True,
        )
    readings, wrong = holds(guest, plan["modules"])
    wall = {t: [s["wall"] for s in samples[t]] for t in TOOLS}
    task = {t: [s["task"] for s in samples[t]] for t in TOOLS}
    return {
        "machine": machine(),
        "target": "one Debian 12 VM, 1 GiB, over SSH",
        "guest": {"systemd": versions[0], "kernel": versions[1]},
        "policy": POLICY,
        "plan": {"tier": plan["tier"], "profile": plan["profile"], "modules": plan["modules"]},
        "rounds": args.rounds,
        "order": "one steady run per side per round; memwise goes first in even rounds",
        "converge": {
            t: {k: converge[t][k] for k in ("wall", "changed", "failed", "module_tasks", "module_runs")} for t in TOOLS
        },
        "steady_wall_seconds": {t: summary(wall[t]) for t in TOOLS},
        "steady_task_seconds": {t: summary(task[t]) for t in TOOLS},
        "ratio_baseline_to_memwise": {
            "wall": round(statistics.median(wall["baseline"]) / statistics.median(wall["memwise"]), 2),
            "task": round(statistics.median(task["baseline"]) / statistics.median(task["memwise"]), 2),
        },
        "module_tasks_per_host": {t: sorted({s["module_tasks"] for s in samples[t]}) for t in TOOLS},
        "module_runs_per_host": {t: sorted({s["module_runs"] for s in samples[t]}) for t in TOOLS},
        "module_actions": {t: samples[t][0]["module_actions"] for t in TOOLS},
        "steady_changed": {t: [s["changed"] for s in samples[t]] for t in TOOLS},
        "steady_failed": {t: [s["failed"] for s in samples[t]] for t in TOOLS},
        "readings_after": readings,
        "wrong_after": wrong,
    }


def checks(result):
    failures = []
    for tool in TOOLS:
        for kind in ("changed", "failed"):
            bad = [x for x in result["steady_" + kind][tool] if x]
            if bad:
                failures.append("steady: %s reported %s tasks: %s" % (LABELS[tool], kind, bad[0]))
        if result["converge"][tool]["failed"]:
            failures.append("converge: %s failed tasks: %s" % (LABELS[tool], result["converge"][tool]["failed"]))
    if max(result["module_tasks_per_host"]["memwise"]) > MAX_MODULE_TASKS:
        failures.append(
            "the role ran %s module tasks, want at most %d"
            % (result["module_tasks_per_host"]["memwise"], MAX_MODULE_TASKS)
        )
    if result["wrong_after"]:
        failures.append("after the rounds the VM differs from the plan: %r" % result["wrong_after"])
    return failures


def print_table(result):
    rows = [("steady state, median", "playbook wall s", "task time s", "module tasks", "module runs")]
    for tool in TOOLS:
        rows.append(
            (
                LABELS[tool],
                "%.1f" % result["steady_wall_seconds"][tool]["median"],
                "%.1f" % result["steady_task_seconds"][tool]["median"],
                "/".join(map(str, result["module_tasks_per_host"][tool])),
                "/".join(map(str, result["module_runs_per_host"][tool])),
            )
        )
    common.print_rows(rows)
    r = result["ratio_baseline_to_memwise"]
    print("  baseline / memwise = %.2fx playbook wall time, %.2fx task time" % (r["wall"], r["task"]))
    print(
        "  converge (once): memwise %.1f s, baseline %.1f s; load average before/after: %s / %s"
        % (
            result["converge"]["memwise"]["wall"],
            result["converge"]["baseline"]["wall"],
            result["loadavg_before"],
            result["loadavg_after"],
        )
    )


def parse_args(argv):
    parser = common.rounds_parser(__doc__, "MEMWISE_POLICY_ROUNDS", 5, "steady-state rounds, one run per side each")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    env = playbook_env()
    started = time.monotonic()
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="memwise-bench-policy-") as state:
        logs = os.path.join(state, "logs")
        os.makedirs(logs)
        try:
            instances, boot = common.boot(state, [VM])
            print("bench_policy: VM up after %.0f s" % boot, flush=True)
            inventory = os.path.join(state, "inventory.yml")
            guest = Guest(instances[0], inventory)
            result = benchmark(guest, inventory, args, env, logs)
        except subprocess.CalledProcessError as exc:
            last = max((os.path.join(logs, n) for n in os.listdir(logs)), key=os.path.getmtime, default=None)
            tail = ""
            if last:
                with open(last, errors="replace") as handle:
                    tail = handle.read()[-4000:]
            sys.exit("bench_policy: %s failed (rc=%d); %s ends:\n%s" % (exc.cmd[0], exc.returncode, last, tail))
        finally:
            common.down(state)
    result["loadavg_before"] = loadavg_before
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    result["wall_seconds_total"] = round(time.monotonic() - started, 1)
    result["failures"] = checks(result)
    path = common.write_result("policy", result)
    print_table(result)
    print("bench_policy: %s" % os.path.relpath(path, common.ROOT))
    if result["failures"]:
        sys.exit("bench_policy: FAILED:\n  " + "\n  ".join(result["failures"]))
    print("bench_policy: all checks passed")


if __name__ == "__main__":
    main()
