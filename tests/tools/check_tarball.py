# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check a built collection tarball: what must ship is there, nothing else is.

Fails when the tarball holds a virtualenv, build output, VM images or disks,
caches, reports or the CI/dev tooling, or lacks the files a user needs.
"""

import fnmatch
import sys
import tarfile

FORBIDDEN = [
    ".venv/*",
    ".build/*",
    ".cache/*",
    ".git/*",
    ".ci/*",
    "*/__pycache__/*",
    "*.pyc",
    "*.qcow2",
    "*.raw",
    "*.img",
    "vmlinuz*",
    "initrd*",
    "*.tar.gz",
    "tests/output/*",
    "docs/_build/*",
    "memwise-report/*",
    "benchmarks/results/*",
    ".pytest_cache/*",
    ".ruff_cache/*",
    "Makefile",
]
REQUIRED = [
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "LICENSE",
    "meta/runtime.yml",
    "CHANGELOG.md",
    "plugins/modules/memory_facts.py",
]
MAX_BYTES = 5 * 1024 * 1024


def main(path):
    with tarfile.open(path) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    problems = []
    for name in names:
        for pattern in FORBIDDEN:
            if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(name + "/", pattern):
                problems.append("%s must not ship (matches %s)" % (name, pattern))
    for name in REQUIRED:
        if name not in names:
            problems.append("%s is missing" % name)
    size = sum(m.size for m in members)
    if size > MAX_BYTES:
        problems.append("unpacked size %d bytes exceeds %d: something large slipped in" % (size, MAX_BYTES))
    if problems:
        sys.stderr.write("check_tarball: %s\n" % path + "".join("  %s\n" % p for p in problems))
        return 1
    print("check_tarball: %s ok: %d files, %d bytes unpacked" % (path, len(names), size))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
