# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capture the kernel and systemd files memory_facts reads into a fixture tree.

Run on a host (this machine, or inside a VM: the script is standard library
only and reads nothing but files) to copy every source file into
``DEST/root/<same path>``; unit tests then run the parsers and whole fact
sections on that tree with ``root=DEST/root``. Unreadable or vanished files
are skipped (and listed in DEST/skipped.txt) because a fixture must hold only
what the host really showed.

    python3 capture_fixtures.py DEST
"""

import argparse
import glob
import os
import platform
import sys

PATTERNS = [
    "/proc/meminfo",
    "/proc/swaps",
    "/proc/vmstat",
    "/proc/mounts",
    "/proc/filesystems",
    "/proc/crypto",
    "/proc/pressure/memory",
    "/proc/pressure/io",
    "/proc/pressure/cpu",
    "/proc/cgroups",
    "/proc/sys/vm/*",
    "/proc/sys/kernel/osrelease",
    "/sys/kernel/mm/transparent_hugepage/enabled",
    "/sys/kernel/mm/transparent_hugepage/defrag",
    "/sys/kernel/mm/transparent_hugepage/shmem_enabled",
    "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",
    "/sys/kernel/mm/transparent_hugepage/hugepages-*/enabled",
    "/sys/kernel/mm/transparent_hugepage/khugepaged/*",
    "/sys/module/zswap/parameters/*",
    "/sys/kernel/debug/zswap/*",
    "/sys/kernel/mm/ksm/*",
    "/sys/kernel/mm/lru_gen/enabled",
    "/sys/kernel/mm/lru_gen/min_ttl_ms",
    "/sys/block/zram*/disksize",
    "/sys/block/zram*/comp_algorithm",
    "/sys/block/zram*/mm_stat",
    "/sys/block/zram*/mem_limit",
    "/sys/block/zram*/max_comp_streams",
    "/sys/fs/cgroup/cgroup.controllers",
    "/sys/fs/cgroup/cgroup.subtree_control",
    "/sys/fs/cgroup/memory.pressure",
    "/sys/fs/cgroup/memory.stat",
    "/sys/fs/cgroup/unified/cgroup.controllers",
    "/sys/fs/cgroup/memory/memory.usage_in_bytes",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    "/sys/fs/cgroup/*.slice/memory.*",
    "/sys/fs/cgroup/*.slice/*.service/memory.*",
    "/sys/fs/cgroup/*.slice/*.slice/memory.*",
    "/sys/fs/cgroup/*.slice/*.slice/*.service/memory.*",
    "/sys/fs/cgroup/memory/*.slice/memory.*",
    "/sys/fs/cgroup/memory/*.slice/*.service/memory.*",
    "/run/systemd/system",
    "/run/systemd/units/invocation:*",
    "/proc/1/comm",
    "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-*.so",
    "/usr/lib/systemd/libsystemd-shared-*.so",
]
# memory.* files that are big or write-only and say nothing a fact needs.
SKIP_SUFFIXES = ("memory.reclaim", "memory.numa_stat", "memory.kmem.slabinfo")
# Entries that are symlinks by design: systemd points /run/systemd/units/invocation:UNIT at the unit's
# invocation ID (a dangling target). They are recorded as "PATH -> TARGET" lines in DEST/symlinks.txt
# rather than recreated: a dangling link breaks ansible-galaxy collection build, and ansible-test sanity
# (no-illegal-filenames) rejects the ':' in their names. Tests recreate them with os.symlink if needed.
SYMLINK_PREFIXES = ("/run/systemd/units/",)
# Characters ansible-test sanity (no-illegal-filenames) rejects in any file or directory name of the
# collection; real cgroup names carry them (system-serial\x2dgetty.slice), so such paths are skipped.
ILLEGAL_NAME_CHARS = frozenset('<>:"\\|?*')


def keep_kernel_mounts(data):
    """Only the mounts facts look at (cgroup trees, debugfs, proc, sysfs): no host paths."""
    keep = (b"cgroup", b"cgroup2", b"debugfs", b"proc", b"sysfs")
    lines = [ln for ln in data.splitlines(True) if len(ln.split()) > 2 and ln.split()[2] in keep]
    return b"".join(lines)


def capture(dest):
    root = os.path.join(dest, "root")
    copied, skipped, links = 0, [], []
    for pattern in PATTERNS:
        for path in sorted(glob.glob(pattern)):
            if path.endswith(SKIP_SUFFIXES):
                continue
            target = root + path
            if os.path.islink(path) and path.startswith(SYMLINK_PREFIXES):
                links.append("%s -> %s" % (path, os.readlink(path)))
                continue
            if ILLEGAL_NAME_CHARS.intersection(path):
                skipped.append("%s: name not allowed in a collection (ansible-test no-illegal-filenames)" % path)
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                # A marker directory such as /run/systemd/system: git keeps no empty directory, so it
                # holds a .keep file (a fresh clone without it would read as a host without systemd).
                os.makedirs(target, exist_ok=True)
                if not os.listdir(target):
                    with open(os.path.join(target, ".keep"), "w") as handle:
                        handle.write("marker directory captured from %s\n" % path)
                continue
            if path.endswith(".so"):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "w").close()  # only the name (the systemd version) matters
                continue
            try:
                with open(path, "rb") as handle:
                    data = handle.read(1 << 20)
            except OSError as exc:
                skipped.append("%s: %s" % (path, exc.strerror))
                continue
            if path == "/proc/mounts":
                data = keep_kernel_mounts(data)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(data)
            copied += 1
    with open(os.path.join(dest, "skipped.txt"), "w") as handle:
        handle.write("".join(line + "\n" for line in skipped))
    with open(os.path.join(dest, "symlinks.txt"), "w") as handle:
        handle.write("".join(line + "\n" for line in links))
    with open(os.path.join(dest, "host.txt"), "w") as handle:
        handle.write("kernel %s\npython %s\n" % (platform.release(), platform.python_version()))
    return copied, len(skipped), len(links)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("dest")
    args = parser.parse_args()
    copied, skipped, links = capture(args.dest)
    sys.stdout.write(
        "captured %d files and %d symlinks into %s (%d skipped, see skipped.txt)\n"
        % (copied, links, args.dest, skipped)
    )


if __name__ == "__main__":
    main()
