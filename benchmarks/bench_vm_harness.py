# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a test step costs on the VM harness, measured side by side in one run.

Boots one Debian 12 and one Debian 13 VM, then times, per host and task:
a ``raw`` command (SSH only), ``memwise.linux.memory_facts`` (the whole
collection module path: AnsiballZ, Python start-up in the guest, /proc reads)
and ``ansible.builtin.setup`` with the hardware subset (what users run today
to learn a host's memory). Image build times come from the cached images'
manifests.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

ROUNDS = 5
PLAYBOOK = """---
- name: Benchmark
  hosts: all
  gather_facts: false
  tasks:
""" + "".join(
    f"""
    - name: raw {n}
      ansible.builtin.raw: "true"
      changed_when: false
    - name: memory_facts {n}
      memwise.linux.memory_facts:
    - name: setup hardware {n}
      ansible.builtin.setup:
        gather_subset: ["!all", "!min", hardware]
"""
    for n in range(ROUNDS)
)


def image_builds():
    builds = {}
    for manifest in glob.glob(os.path.join(common.cache_dir(), "images", "*", "manifest.json")):
        with open(manifest) as handle:
            data = json.load(handle)
        builds[data["release"]] = data.get("build_seconds")
    return builds


def main():
    with tempfile.TemporaryDirectory(prefix="memwise-bench-vms-") as state:
        try:
            instances, boot_wall = common.boot(state, ["bench12:bookworm", "bench13:trixie"])
            records = common.timed_playbook(os.path.join(state, "inventory.yml"), PLAYBOOK)
        finally:
            common.down(state)
    raw, n = common.median_by_task(records, "raw ")
    facts, _samples = common.median_by_task(records, "memory_facts ")
    setup, _samples = common.median_by_task(records, "setup hardware ")
    result = {
        "image_build_seconds": image_builds(),
        "boot_to_ssh_seconds": {i["instance"]: i["ssh_seconds"] for i in instances},
        "boot_wall_seconds_two_vms": round(boot_wall, 1),
        "accel": instances[0]["accel"],
        "samples_per_task": n,
        "median_task_seconds": {
            "raw": raw,
            "memwise.linux.memory_facts": facts,
            "ansible.builtin.setup (hardware)": setup,
        },
        "ratio_setup_to_memory_facts": round(setup / facts, 2),
    }
    path = common.write_result("vm_harness", result)
    print(
        "vm_harness: image builds %s s; boot to SSH %s s (%s)"
        % (result["image_build_seconds"], result["boot_to_ssh_seconds"], result["accel"])
    )
    print(
        "vm_harness: median per task over SSH (%d samples): raw %.2f s, memory_facts %.2f s, "
        "setup hardware %.2f s; setup/memory_facts = %.2fx"
        % (n, raw, facts, setup, result["ratio_setup_to_memory_facts"])
    )
    print("vm_harness: %s" % path)


if __name__ == "__main__":
    main()
