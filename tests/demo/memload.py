# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""make demo: keep a VM under memory pressure until stopped (runs inside the VM).

Allocates about 1.1x MemTotal, capped at MemAvailable plus a quarter of the free
swap so that the kernel swaps instead of OOM-killing, in 16 MiB chunks with every
page written (with half the free swap, a 1 GiB VM with 256 MiB of swap had its
swap full for a moment while allocating: other processes' pages go out too); then
keeps touching a random chunk a few times a second, so some of the working set is
always being swapped back in: swap in use and PSI memory "some" above zero, while
the VM stays usable over SSH. Python standard library only.
"""

import random
import sys
import time

MIB = 1 << 20
CHUNK = 16 * MIB
PAGE = 4096
TOUCH_INTERVAL = 0.1  # seconds between two chunk touches


def meminfo():
    with open("/proc/meminfo") as f:
        return {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}


def touch(chunk, value):
    """Write one byte per page: the whole chunk becomes resident (swapped in)."""
    chunk[::PAGE] = bytes([value]) * (len(chunk) // PAGE)


def main():
    m = meminfo()
    target = min(int(m["MemTotal"] * 1.1), m["MemAvailable"] + m["SwapFree"] // 4)
    chunks = []
    try:
        while len(chunks) * CHUNK < target:
            chunk = bytearray(CHUNK)
            touch(chunk, len(chunks) % 255 + 1)
            chunks.append(chunk)
    except MemoryError:
        pass
    print(
        "memload: holding %d MiB (MemTotal %d MiB, MemAvailable %d MiB, SwapFree %d MiB at start)"
        % (len(chunks) * CHUNK // MIB, m["MemTotal"] // MIB, m["MemAvailable"] // MIB, m["SwapFree"] // MIB),
        flush=True,
    )
    n = 0
    while chunks:
        n += 1
        touch(random.choice(chunks), n % 255 + 1)
        time.sleep(TOUCH_INTERVAL)
    return 1


if __name__ == "__main__":
    sys.exit(main())
