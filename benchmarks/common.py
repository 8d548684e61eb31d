# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared helpers for memwise.linux benchmarks: VMs, timed playbooks, result files."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "vm"))
import vmctl

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
VMCTL = [sys.executable, os.path.join(ROOT, "tests", "vm", "vmctl.py")]


def cache_dir():
    """The harness's cache (images, SSH key): the same rule vmctl.py applies."""
    return vmctl.cache_dir()


def boot(state, specs):
    """Boot VMs (NAME:RELEASE specs) and return (instances, wall seconds)."""
    argv = VMCTL + ["up", "--state-dir", state]
    for spec in specs:
        argv += ["--vm", spec]
    started = time.monotonic()
    out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out), time.monotonic() - started


def down(state):
    subprocess.run(VMCTL + ["down", "--state-dir", state], check=False)


def timed_playbook(inventory, playbook_text, extra_env=None, log=None):
    """Run a playbook with the task timer; return its per-task records.

    ``log`` names a file for ansible-playbook's output (default: discarded).
    """
    with tempfile.TemporaryDirectory(prefix="memwise-bench-") as tmp:
        playbook = os.path.join(tmp, "bench.yml")
        with open(playbook, "w") as handle:
            handle.write(playbook_text)
        out = os.path.join(tmp, "times.json")
        env = dict(
            os.environ,
            MEMWISE_TIMER_OUT=out,
            ANSIBLE_CALLBACKS_ENABLED="memwise_task_timer",
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
            ANSIBLE_PIPELINING="true",
            ANSIBLE_HOST_KEY_CHECKING="false",
            **(extra_env or {}),
        )
        with open(log or os.devnull, "w") as output:
            subprocess.run(
                ["ansible-playbook", "-i", inventory, playbook],
                check=True,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT if log else None,
            )
        with open(out) as handle:
            return json.load(handle)


def median_by_task(records, prefix):
    values = [r["seconds"] for r in records if r["task"].startswith(prefix)]
    return round(statistics.median(values), 3), len(values)


def write_result(name, data):
    os.makedirs(RESULTS, exist_ok=True)
    data = dict(data, benchmark=name, when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    path = os.path.join(RESULTS, name + ".json")
    with open(path, "w") as handle:
        json.dump(data, handle, indent=2)
    return path


def ratio(samples, phase, kind, baseline):
    """median(baseline) / median(memwise) of ``samples[phase][tool][kind]``, rounded to 0.01."""
    return round(
        statistics.median(samples[phase][baseline][kind]) / statistics.median(samples[phase]["memwise"][kind]), 2
    )


def changed_failures(changed, labels, wants):
    """Failures for samples whose ``changed`` differs from what the phase wants.

    ``changed`` is {phase: {tool: [bool per sample]}}, ``wants`` (phase, bool) pairs.
    """
    failures = []
    for phase, want in wants:
        for tool, label in labels.items():
            samples = changed[phase][tool]
            wrong = sum(c != want for c in samples)
            if wrong:
                failures.append(
                    "%s: %s reported changed=%s in %d of %d samples, want %s"
                    % (phase, label, not want, wrong, len(samples), want)
                )
    return failures


def print_rows(rows):
    """Print a list of string tuples as left-aligned columns (the first row is the header)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))


def _rounds(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, not %d" % value)
    return value


def rounds_parser(doc, env, default, what):
    """An argument parser with ``--rounds`` (at least 1; the default comes from ``env``, else ``default``)."""
    parser = argparse.ArgumentParser(description=doc.split("\n", maxsplit=1)[0])
    # A string default goes through ``type`` too, so a bad value in the environment is refused as well.
    parser.add_argument(
        "--rounds",
        type=_rounds,
        default=os.environ.get(env) or str(default),
        help="%s (default %d, env %s)" % (what, default, env),
    )
    return parser
