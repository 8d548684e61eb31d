# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a step and record how long it took, or print the table of recorded steps.

    timed.py run FILE NAME -- COMMAND...   run COMMAND, append "NAME<TAB>seconds<TAB>rc" to FILE, exit with its rc
    timed.py table FILE                    print the steps of FILE as a table with the total

`make test` times each of its steps and each Molecule scenario this way and
prints the table at the end, whether the run passed or not.
"""

from __future__ import annotations

import subprocess
import sys
import time


def run(path, name, argv):
    print("== %s" % name, flush=True)
    started = time.monotonic()
    rc = subprocess.call(argv)
    seconds = time.monotonic() - started
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("%s\t%.0f\t%d\n" % (name, seconds, rc))
    print("== %s: %s in %.0f s" % (name, "passed" if rc == 0 else "FAILED (rc=%d)" % rc, seconds), flush=True)
    return rc


def table(path):
    try:
        with open(path, encoding="utf-8") as handle:
            rows = [line.rstrip("\n").split("\t") for line in handle if line.strip()]
    except FileNotFoundError:
        return 0
    width = max([len(name) for name, _s, _rc in rows] + [5])
    print("\n%-*s  %8s  %s" % (width, "step", "seconds", "result"))
    for name, seconds, rc in rows:
        print("%-*s  %8s  %s" % (width, name, seconds, "ok" if rc == "0" else "FAILED (rc=%s)" % rc))
    total = sum(int(seconds) for _n, seconds, _rc in rows)
    print("%-*s  %8s  (%d min %02d s)" % (width, "total", total, total // 60, total % 60))
    return 0


def main(argv):
    if len(argv) >= 5 and argv[0] == "run" and argv[3] == "--":
        return run(argv[1], argv[2], argv[4:])
    if len(argv) == 2 and argv[0] == "table":
        return table(argv[1])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
