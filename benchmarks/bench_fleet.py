# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet scale: memwise.linux.gather against setup + a JSON dump, on simulated fleets of 1 to 200 hosts.

The fleet comes from ``tests/fleet/fleetctl.py``: one sshd per target on its own
loopback address, all on this machine. The targets share this kernel and this
Python, so the figures are the controller's cost and the collection's per-host
cost, not per-host kernels; target-side CPU (the sshd process trees: sshd, the
shell and the module's Python) is measured apart from the controller's.

For each fleet size (``--hosts``, default 1,10,50,200), ``--rounds`` rounds
(default 1), the sides taking turns going first:

* **gather**: ``ansible-playbook memwise.linux.gather`` (memory facts, then
  report.json, report.md and report.html on the controller);
* **setup**: ``ansible.builtin.setup`` with ``gather_subset: [hardware]``, then one
  ``copy`` of every host's facts to a JSON file on the controller;
* **policy**, at fleets of up to 50 hosts: ``memwise.linux.apply_policy --check``.
  On targets that are not real hosts the role may stop early (this machine's kernel
  has no zswap ``zpool`` parameter and no ``zstd``; PID 1 is not systemd): the hosts
  it stopped on and why are recorded, and only the run as far as it got is timed.

Per run: wall seconds, controller CPU seconds (the ansible-playbook process tree
with its SSH clients and their ControlPersist masters: ``RUSAGE_CHILDREN`` deltas,
this script being their child subreaper), target CPU seconds (the fleet's sshd
trees, from /proc), each also per host.

Then, without a fleet, the **report alone**: the report built from a jsonfile fact
cache (``memwise_report_from_cache=true``) for the largest size and for one host,
the cache filled with copies of one real host's facts. The difference of the two
runs' controller CPU is what the extra hosts cost (filters, templates, hostvars),
without ansible-playbook's start-up, which both runs pay.

Checks (exit non-zero naming each): every gather run reports every host ok; the
report alone at 200 hosts takes under 2 s controller CPU more than for one host
(``--report-hosts``, default the largest of ``--hosts``); per-host controller CPU of gather at 200
hosts is within 1.5x of that at 10 (when both are measured).

Writes ``benchmarks/results/fleet.json`` and ``benchmarks/results/fleet.svg``;
``--update-docs`` also puts the SVG into docs/docsite/rst/benchmarks.rst.
Knobs: ``--rounds`` / ``MEMWISE_FLEET_ROUNDS``, ``--hosts`` / ``MEMWISE_FLEET_HOSTS``,
``--forks`` (default 10), ``--tune`` (the tuning variants at the smallest size of
10 or more: forks 5 and 20, strategy free, no pipelining, fact cache).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fleet"))
import common
import fleetctl

DEFAULT_HOSTS = "1,10,50,200"
POLICY_HOSTS = 50
REPORT_CPU_LIMIT = 2.0
GROWTH_LIMIT = 1.5
DOC = os.path.join(common.ROOT, "docs", "docsite", "rst", "benchmarks.rst")
PLOT_START = ".. bench_fleet plot start"
PLOT_END = ".. bench_fleet plot end"
SETUP_PLAYBOOK = """---
- name: setup
  hosts: all
  gather_facts: false
  tasks:
    - name: setup hardware
      ansible.builtin.setup:
        gather_subset: [hardware]
    - name: facts to JSON
      ansible.builtin.copy:
        content: "{{ dict(ansible_play_hosts_all
                          | zip(ansible_play_hosts_all | map('extract', hostvars, 'ansible_facts'))) | to_nice_json }}"
        dest: "%s"
        mode: "0644"
      run_once: true
      delegate_to: localhost
"""


def _hosts(text):
    sizes = sorted({fleetctl.parse_hosts(part) for part in text.split(",") if part.strip()})
    if not sizes:
        raise ValueError("--hosts needs at least one size")
    return sizes


def parse_args(argv=None):
    parser = common.rounds_parser(__doc__, "MEMWISE_FLEET_ROUNDS", 1, "rounds per fleet size, one run per side each")
    parser.add_argument(
        "--hosts",
        type=_hosts,
        default=os.environ.get("MEMWISE_FLEET_HOSTS") or DEFAULT_HOSTS,
        help="fleet sizes, comma-separated (default %s, env MEMWISE_FLEET_HOSTS)" % DEFAULT_HOSTS,
    )
    parser.add_argument("--forks", type=int, default=10, help="ansible-playbook --forks (default 10)")
    parser.add_argument("--report-hosts", type=int, help="hosts of the report-alone run (default: largest --hosts)")
    parser.add_argument("--tune", action="store_true", help="also run the tuning variants at the first size >= 10")
    parser.add_argument("--update-docs", action="store_true", help="write the plot into docs/.../benchmarks.rst")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- measuring


def _subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(fleetctl.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _cpu(usage):
    return usage.ru_utime + usage.ru_stime


def _proc_cpu(pid):
    """utime + stime + cutime + cstime of a process, in seconds (0 when gone)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _listeners(state):
    table = fleetctl.process_table()
    return sorted(pid for g in fleetctl.guards(state) for pid, ppid in table.items() if ppid == g)


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return None


def _end_ssh_masters():
    """Stop the ControlPersist masters orphaned to this script, and reap them (their CPU joins RUSAGE_CHILDREN)."""
    me = os.getpid()
    orphans = [pid for pid, ppid in fleetctl.process_table().items() if ppid == me and _comm(pid) == "ssh"]
    for pid in orphans:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in orphans:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def measured(argv, env, log, state=None, hosts=1):
    """Run ansible-playbook; return wall, controller and target CPU seconds (totals and per host) and rc."""
    listeners = _listeners(state) if state else []
    targets_before = sum(_proc_cpu(p) for p in listeners)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with open(log, "w") as output:
        rc = subprocess.run(argv, env=env, stdout=output, stderr=subprocess.STDOUT, check=False).returncode
    wall = time.monotonic() - started
    _end_ssh_masters()
    if state:  # the sessions end with their masters; their CPU then lands in the listeners' cutime
        deadline = time.time() + 15
        while time.time() < deadline and set(fleetctl.fleet_processes(state)) - set(listeners):
            time.sleep(0.1)
    controller = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - _cpu(before)
    targets = sum(_proc_cpu(p) for p in listeners) - targets_before
    return {
        "rc": rc,
        "wall_seconds": round(wall, 3),
        "controller_cpu_seconds": round(controller, 3),
        "target_cpu_seconds": round(targets, 3),
        "controller_cpu_per_host": round(controller / hosts, 4),
        "wall_per_host": round(wall / hosts, 4),
    }


def playbook_env(extra=None):
    env = dict(
        os.environ,
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_PIPELINING="true",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_DEPRECATION_WARNINGS="false",
    )
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(common.ROOT, ".build", "collections"))
    env.update(extra or {})
    return env


def _report_hosts(report_dir):
    with open(os.path.join(report_dir, "report.json")) as handle:
        report = json.load(handle)
    return report["totals"]


# ---------------------------------------------------------------- the sides


def run_gather(inventory, work, tag, *, forks, env, state, hosts, extra=()):
    report = os.path.join(work, "report-" + tag)
    argv = ["ansible-playbook", "memwise.linux.gather", "-i", inventory, "-f", str(forks)]
    argv += ["-e", "memwise_report_dir=" + report, *extra]
    result = measured(argv, env, os.path.join(work, tag + ".log"), state, hosts)
    result["totals"] = _report_hosts(report) if result["rc"] == 0 else None
    return result


def run_setup(inventory, work, tag, *, forks, env, state, hosts):
    out = os.path.join(work, tag + "-facts.json")
    playbook = os.path.join(work, "setup.yml")
    with open(playbook, "w") as handle:
        handle.write(SETUP_PLAYBOOK % out)
    argv = ["ansible-playbook", playbook, "-i", inventory, "-f", str(forks)]
    result = measured(argv, env, os.path.join(work, tag + ".log"), state, hosts)
    if result["rc"] == 0:
        with open(out) as handle:
            result["hosts_in_json"] = len(json.load(handle))
    return result


def run_policy(inventory, work, tag, *, forks, env, state, hosts):
    """apply_policy --check; the hosts the role stopped on and the first reason (this machine is not a real host)."""
    argv = ["ansible-playbook", "memwise.linux.apply_policy", "--check", "-i", inventory, "-f", str(forks)]
    argv += ["-e", "memwise_report_dir=" + os.path.join(work, "report-" + tag)]
    log = os.path.join(work, tag + ".log")
    result = measured(argv, env, log, state, hosts)
    with open(log, errors="replace") as handle:
        text = handle.read()
    fatal = [line for line in text.splitlines() if line.startswith("fatal: [")]
    result["hosts_stopped"] = len(fatal)
    result["first_stop"] = fatal[0][:400] if fatal else None
    return result


def fleet_round(size, args, work, env, rounds):
    """All sides at one fleet size; returns {side: [runs]}."""
    samples = {"gather": [], "setup": []}
    if size <= POLICY_HOSTS:
        samples["policy"] = []
    state = os.path.join(work, "fleet-%d" % size)
    fleetctl.up(state, size, watch_pid=os.getpid())
    inventory = os.path.join(state, "inventory.yml")
    try:
        for r in range(rounds):
            order = ["gather", "setup"] if r % 2 == 0 else ["setup", "gather"]
            for side in order:
                tag = "%s-%d-%d" % (side, size, r)
                run = run_gather if side == "gather" else run_setup
                samples[side].append(run(inventory, work, tag, forks=args.forks, env=env, state=state, hosts=size))
            if "policy" in samples:
                tag = "policy-%d-%d" % (size, r)
                samples["policy"].append(
                    run_policy(inventory, work, tag, forks=args.forks, env=env, state=state, hosts=size)
                )
            print(
                "bench_fleet: %d host(s), round %d: gather %.1f s, setup %.1f s"
                % (size, r + 1, samples["gather"][-1]["wall_seconds"], samples["setup"][-1]["wall_seconds"]),
                flush=True,
            )
    finally:
        fleetctl.down(state)
    return samples


def tuning(size, args, work, rounds):
    """gather and setup at one size under each tuning variant; fact cache: gather once, then report from cache."""
    state = os.path.join(work, "tune-%d" % size)
    fleetctl.up(state, size, watch_pid=os.getpid())
    inventory = os.path.join(state, "inventory.yml")
    cache = os.path.join(work, "tune-cache")
    variants = {
        "forks 5": ({}, 5),
        "forks %d (default here)" % args.forks: ({}, args.forks),
        "forks 20": ({}, 20),
        "strategy free": ({"ANSIBLE_STRATEGY": "free"}, args.forks),
        "no pipelining": ({"ANSIBLE_PIPELINING": "false"}, args.forks),
        "jsonfile fact cache": (
            {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": cache},
            args.forks,
        ),
    }
    out = {}
    try:
        for r in range(rounds):
            for name, (extra, forks) in variants.items():
                env = playbook_env(extra)
                tag = "tune-%d-%d" % (len(out), r)
                entry = out.setdefault(name, {"gather": [], "setup": []})
                entry["gather"].append(
                    run_gather(inventory, work, "g" + tag, forks=forks, env=env, state=state, hosts=size)
                )
                entry["setup"].append(
                    run_setup(inventory, work, "s" + tag, forks=forks, env=env, state=state, hosts=size)
                )
            env = playbook_env({"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": cache})
            entry = out.setdefault("report from the fact cache (no gathering)", {"gather": []})
            extra = ("-e", "memwise_report_from_cache=true")
            entry["gather"].append(
                run_gather(inventory, work, "c-%d" % r, forks=args.forks, env=env, state=state, hosts=size, extra=extra)
            )
    finally:
        fleetctl.down(state)
    return {name: {side: summary(runs) for side, runs in sides.items()} for name, sides in out.items()}


def report_alone(size, work, env, facts_source):
    """The report from a jsonfile fact cache of ``size`` hosts, filled with copies of one host's facts.

    Runs the same playbook for one cached host too: the difference is what ``size - 1``
    more hosts cost (filters, templates, hostvars), without ansible-playbook's own start-up.
    """
    cache = os.path.join(work, "alone-cache")
    os.makedirs(cache, exist_ok=True)
    with open(facts_source) as handle:
        facts = handle.read()
    # The jsonfile cache names a host's file PREFIX + host name; keep the seed's prefix.
    prefix = os.path.basename(facts_source)[: -len(fleetctl.host_name(1))]
    env = dict(env, ANSIBLE_CACHE_PLUGIN="jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=cache)
    extra = ("-e", "memwise_report_from_cache=true")
    runs = {}
    for count in sorted({1, size}):
        names = ["cached-%03d" % i for i in range(1, count + 1)]
        for name in names:
            with open(os.path.join(cache, prefix + name), "w") as handle:
                handle.write(facts)
        inventory = os.path.join(work, "alone-%d.yml" % count)
        with open(inventory, "w") as handle:
            # Nothing listens at 127.0.0.9:1: a host that was contacted would not be ok.
            hosts = {"all": {"vars": {"ansible_host": "127.0.0.9", "ansible_port": 1}, "hosts": dict.fromkeys(names)}}
            json.dump(hosts, handle)
        tag = "alone-%d" % count
        runs[count] = run_gather(inventory, work, tag, forks=10, env=env, state=None, hosts=count, extra=extra)
    result = dict(runs[size], hosts=size)
    result["one_host_controller_cpu_seconds"] = runs[1]["controller_cpu_seconds"]
    result["growth_controller_cpu_seconds"] = round(
        runs[size]["controller_cpu_seconds"] - runs[1]["controller_cpu_seconds"], 3
    )
    result["one_host_ok"] = bool(runs[1]["totals"]) and runs[1]["totals"]["ok"] == 1
    return result


def seed_cache(work, env):
    """One real host's cached facts (a gather over one target with the jsonfile cache); returns the cache file."""
    state = os.path.join(work, "seed")
    cache = os.path.join(work, "seed-cache")
    fleetctl.up(state, 1, watch_pid=os.getpid())
    try:
        env = dict(env, ANSIBLE_CACHE_PLUGIN="jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=cache)
        run_gather(os.path.join(state, "inventory.yml"), work, "seed", forks=1, env=env, state=state, hosts=1)
    finally:
        fleetctl.down(state)
    found = [n for n in os.listdir(cache) if n.endswith(fleetctl.host_name(1))]
    if not found:
        raise SystemExit("bench_fleet: the seed gather left no cached facts in %s" % cache)
    return os.path.join(cache, found[0])


# ---------------------------------------------------------------- results


def summary(runs):
    keys = ("wall_seconds", "controller_cpu_seconds", "target_cpu_seconds", "controller_cpu_per_host", "wall_per_host")
    out = {k: round(statistics.median(r[k] for r in runs), 4) for k in keys}
    out["samples"] = len(runs)
    out["failed_runs"] = sum(r["rc"] != 0 for r in runs)
    for extra in ("totals", "hosts_in_json", "hosts_stopped", "first_stop"):
        if extra in runs[-1]:
            out[extra] = runs[-1][extra]
    return out


def checks(result):
    failures = []
    sizes = result["sizes"]
    for size, sides in sizes.items():
        for side in ("gather", "setup"):
            if sides[side]["failed_runs"]:
                failures.append("%s hosts: %s failed in %d run(s)" % (size, side, sides[side]["failed_runs"]))
        totals = sides["gather"].get("totals")
        if not totals or totals["ok"] != int(size):
            failures.append("%s hosts: gather reported %s, want every host ok" % (size, totals))
    alone = result.get("report_alone")
    if alone:
        if not alone["totals"] or alone["totals"]["ok"] != alone["hosts"] or not alone["one_host_ok"]:
            failures.append("report from cache: %s, want all %d hosts ok" % (alone["totals"], alone["hosts"]))
        if alone["hosts"] >= 200 and alone["growth_controller_cpu_seconds"] >= REPORT_CPU_LIMIT:
            failures.append(
                "report alone: %d hosts took %.2f s more controller CPU than one host, limit %.1f s"
                % (alone["hosts"], alone["growth_controller_cpu_seconds"], REPORT_CPU_LIMIT)
            )
    growth = result.get("growth_200_vs_10")
    if growth is not None and growth > GROWTH_LIMIT:
        failures.append(
            "gather: controller CPU per host at 200 hosts is %.2fx that at 10, limit %.1fx" % (growth, GROWTH_LIMIT)
        )
    return failures


def svg_plot(sizes):
    """A hand-written SVG: controller CPU seconds per host against fleet size, gather and setup (pure)."""
    width, height, left, bottom, top, right = 560, 300, 60, 40, 30, 150
    series = {
        "gather": [(int(n), s["gather"]["controller_cpu_per_host"]) for n, s in sizes.items()],
        "setup + copy": [(int(n), s["setup"]["controller_cpu_per_host"]) for n, s in sizes.items()],
    }
    xs = sorted({x for pts in series.values() for x, _y in pts}) or [1]
    ymax = max([y for pts in series.values() for _x, y in pts] + [0.001]) * 1.15
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(i):
        return left + (plot_w * i / max(len(xs) - 1, 1) if len(xs) > 1 else plot_w / 2)

    def py(y):
        return top + plot_h - plot_h * y / ymax

    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="sans-serif" font-size="12">' % (width, height, width, height),
        "<title>memwise.linux fleet benchmark: controller CPU seconds per host</title>",
        '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (left, top + plot_h, left + plot_w, top + plot_h),
        '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (left, top, left, top + plot_h),
        '<text x="%d" y="%d">controller CPU s per host</text>' % (left, top - 10),
        '<text x="%d" y="%d" text-anchor="middle">hosts (one sshd each, this machine)</text>'
        % (left + plot_w / 2, height - 5),
    ]
    for i, x in enumerate(xs):
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (px(i), top + plot_h + 16, x))
    for k in range(5):
        y = ymax * k / 4
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%.3f</text>' % (left - 5, py(y) + 4, y))
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, py(y), left + plot_w, py(y)))
    for (name, pts), colour in zip(series.items(), ("#1f77b4", "#d62728")):
        coords = " ".join("%.1f,%.1f" % (px(xs.index(x)), py(y)) for x, y in sorted(pts))
        parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (colour, coords))
        for x, y in pts:
            parts.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (px(xs.index(x)), py(y), colour))
        legend_y = top + 20 * (1 + list(series).index(name))
        parts.append(
            '<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (left + plot_w + 15, legend_y - 10, colour)
        )
        parts.append('<text x="%d" y="%d">%s</text>' % (left + plot_w + 32, legend_y, name))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def update_docs(svg, path=DOC):
    """Replace the plot between the markers of benchmarks.rst with ``svg`` as raw HTML."""
    with open(path) as handle:
        text = handle.read()
    if PLOT_START not in text or PLOT_END not in text:
        raise SystemExit("bench_fleet: %s has no %r ... %r markers" % (path, PLOT_START, PLOT_END))
    head, rest = text.split(PLOT_START, 1)
    _old, tail = rest.split(PLOT_END, 1)
    block = "\n\n.. raw:: html\n\n" + "".join("   " + line + "\n" for line in svg.splitlines()) + "\n"
    with open(path, "w") as handle:
        handle.write(head + PLOT_START + block + PLOT_END + tail)


def print_table(result):
    rows = [("hosts", "side", "wall s", "controller CPU s", "per host", "target CPU s", "runs failed")]
    for size, sides in result["sizes"].items():
        for side, s in sides.items():
            rows.append(
                (
                    size,
                    side,
                    "%.2f" % s["wall_seconds"],
                    "%.2f" % s["controller_cpu_seconds"],
                    "%.3f" % s["controller_cpu_per_host"],
                    "%.2f" % s["target_cpu_seconds"],
                    str(s["failed_runs"]),
                )
            )
    common.print_rows(rows)
    for name, sides in result.get("tuning", {}).items():
        print(
            "  tuning %-42s " % name
            + "  ".join(
                "%s %.2f s wall, %.2f s CPU" % (k, v["wall_seconds"], v["controller_cpu_seconds"])
                for k, v in sides.items()
            )
        )
    alone = result.get("report_alone")
    if alone:
        print(
            "  report alone from the fact cache, %d hosts: %.2f s controller CPU (one host: %.2f s; growth %.2f s)"
            % (
                alone["hosts"],
                alone["controller_cpu_seconds"],
                alone["one_host_controller_cpu_seconds"],
                alone["growth_controller_cpu_seconds"],
            )
        )


def main(argv=None):
    args = parse_args(argv)
    if not shutil.which("ansible-playbook"):
        sys.exit("bench_fleet: ansible-playbook is not on PATH (make bench sets it)")
    _subreaper()
    env = playbook_env()
    started = time.monotonic()
    result = {
        "forks": args.forks,
        "rounds": args.rounds,
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "sizes": {},
    }
    with tempfile.TemporaryDirectory(prefix="memwise-bench-fleet-") as work:
        # Each phase's figures are written as soon as they are known: a later failure keeps them.
        for size in args.hosts:
            samples = fleet_round(size, args, work, env, args.rounds)
            result["sizes"][str(size)] = {side: summary(runs) for side, runs in samples.items()}
            common.write_result("fleet", dict(result, partial=True))
        facts = seed_cache(work, env)
        result["report_alone"] = report_alone(args.report_hosts or args.hosts[-1], work, env, facts)
        common.write_result("fleet", dict(result, partial=True))
        if args.tune:
            tune_size = next((s for s in args.hosts if s >= 10), args.hosts[-1])
            result["tuning_hosts"] = tune_size
            result["tuning"] = tuning(tune_size, args, work, args.rounds)
    sizes = result["sizes"]
    if "10" in sizes and "200" in sizes:
        result["growth_200_vs_10"] = round(
            sizes["200"]["gather"]["controller_cpu_per_host"] / sizes["10"]["gather"]["controller_cpu_per_host"], 2
        )
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    result["wall_seconds_total"] = round(time.monotonic() - started, 1)
    result["failures"] = checks(result)
    path = common.write_result("fleet", result)
    svg = svg_plot(sizes)
    with open(os.path.join(common.RESULTS, "fleet.svg"), "w") as handle:
        handle.write(svg)
    if args.update_docs:
        update_docs(svg)
    print_table(result)
    print("bench_fleet: %s (plot: fleet.svg beside it)" % os.path.relpath(path, common.ROOT))
    if result["failures"]:
        sys.exit("bench_fleet: FAILED:\n  " + "\n  ".join(result["failures"]))
    print("bench_fleet: all checks passed")


if __name__ == "__main__":
    main()
