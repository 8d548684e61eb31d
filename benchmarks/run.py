# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench: run every benchmarks/bench_*.py (or those named) one after the other."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(names):
    scripts = sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
    if names:
        scripts = [s for s in scripts if os.path.basename(s)[6:-3] in names]
        if len(scripts) != len(names):
            sys.exit(
                "run.py: unknown benchmark(s); known: %s"
                % ", ".join(os.path.basename(s)[6:-3] for s in sorted(glob.glob(os.path.join(HERE, "bench_*.py"))))
            )
    failed = []
    for script in scripts:
        print("== %s" % os.path.basename(script), flush=True)
        if subprocess.call([sys.executable, script]) != 0:
            failed.append(script)
    if failed:
        sys.exit("run.py: failed: %s" % ", ".join(map(os.path.basename, failed)))


if __name__ == "__main__":
    main(sys.argv[1:])
