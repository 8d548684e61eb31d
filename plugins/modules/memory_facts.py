#!/usr/bin/python
# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: memory_facts
short_description: Gather Linux memory facts (RAM, swap, zram, zswap, THP, PSI, cgroups) under C(ansible_facts.memwise)
version_added: 0.1.0
description:
  - Reads the kernel's own files (C(/proc), C(/sys), C(/sys/fs/cgroup)) and returns them as typed facts
    under C(ansible_facts.memwise), one key per section, plus a derived C(summary) with advice.
  - Never fails because a source is missing or unreadable (containers, old kernels, cgroup v1 or hybrid,
    hosts without systemd); the section is then C(null) and C(memwise.unavailable) says why.
  - Runs no command except C(systemctl is-system-running) for the C(systemd) section on hosts booted with
    systemd, because the system state has no file.
  - Usable as a facts module next to M(ansible.builtin.setup), for example with
    C(FACTS_MODULES=memwise.linux.memory_facts,ansible.builtin.setup); O(gather_subset) and O(units)
    can then be passed through C(module_defaults).
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
  - memwise.linux._attributes.FACTS
  - memwise.linux._attributes.INFO_MODULE
attributes:
  facts:
    support: full
options:
  gather_subset:
    description:
      - Sections to gather. V(all) gathers every section; a name prefixed with V(!) leaves that
        section out, so V(!vmstat) alone means every section but C(vmstat).
      - An unknown name fails and lists the valid ones.
      - The sections are C(meminfo), C(swap), C(zram), C(zswap), C(thp), C(ksm), C(mglru), C(psi),
        C(vm), C(vmstat), C(cgroup), C(systemd) and C(summary); see RV(ansible_facts.memwise).
      - C(summary) reads the sections it derives from even when they are not gathered.
    type: list
    elements: str
    default: [all]
  units:
    description:
      - Units or slices (V(ssh.service), V(system.slice), V(user@1000.service)) whose cgroup memory the
        C(cgroup) section reports under C(cgroup.units).
      - A unit without a cgroup (stopped, unknown, no memory controller) is C(null) and
        C(memwise.unavailable["cgroup:UNIT"]) says why; it is not an error.
    type: list
    elements: str
    default: []
notes:
  - Sizes are in bytes, ratios are fractions between 0 and 1, PSI averages are percentages of wall time
    and PSI totals are microseconds.
  - "The pressure level in C(summary) is V(stalling) when PSI memory C(full) avg10 >= 5% or avg60 >= 1%
    (every non-idle task waited on memory at once: work is being lost), V(some) when C(some) avg10 >= 10%
    or avg60 >= 2% (some tasks wait on reclaim: latency is being spent), V(none) below, and C(null)
    without PSI."
seealso:
  - module: memwise.linux.zram
    description: Sets up the zram swap devices reported under C(zram) (the same device names).
  - module: memwise.linux.swap
    description: Manages the swap file or partition reported under C(swap).
  - module: memwise.linux.sysctl
    description: Sets the C(vm) values reported under C(vm).
  - module: memwise.linux.mm_tunables
    description: Sets THP, zswap, KSM and MGLRU, reported under C(thp), C(zswap), C(ksm) and C(mglru).
  - module: memwise.linux.unit_resources
    description: Sets the memory limits of units reported under C(cgroup).
  - ref: ansible_collections.memwise.linux.docsite.conventions
    description: The names every memwise.linux module shares (device records among them).
  - name: Pressure stall information
    description: The kernel's documentation of /proc/pressure and memory.pressure.
    link: https://docs.kernel.org/accounting/psi.html
  - name: Control group v2 memory interface
    description: memory.current, memory.high, memory.events and friends.
    link: https://docs.kernel.org/admin-guide/cgroup-v2.html#memory-interface-files
"""

EXAMPLES = r"""
---
- name: Gather every memory section
  memwise.linux.memory_facts:

- name: Only meminfo and the summary, and the memory of two units
  memwise.linux.memory_facts:
    gather_subset: [meminfo, summary, cgroup]
    units: [ssh.service, user.slice]

- name: Show what an operator should act on
  ansible.builtin.debug:
    msg: "{{ ansible_facts.memwise.summary.advice | map(attribute='text') | list }}"

- name: Fail early on a host that is stalling
  ansible.builtin.assert:
    that: ansible_facts.memwise.summary.pressure_level != 'stalling'

- name: The zram devices in use as swap, and their priorities
  ansible.builtin.debug:
    msg: "{{ ansible_facts.memwise.zram.devices | selectattr('active') | items2dict('name', 'priority') }}"

# As a facts module in every play, next to setup, set in ansible.cfg or the environment:
#   [defaults]
#   facts_modules = memwise.linux.memory_facts, ansible.builtin.setup
# and passed its options in the play with
#   module_defaults:
#     memwise.linux.memory_facts:
#       gather_subset: [all, "!vmstat"]
"""

RETURN = r"""
---
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    memwise:
      description: Memory facts, one key per gathered section, plus C(unavailable) and C(gather_subset).
      returned: always
      type: dict
      contains:
        meminfo:
          description: Every C(/proc/meminfo) field; C(kB) fields converted to bytes, counts (HugePages_*) as they are.
          returned: when C(meminfo) is gathered
          type: dict
          sample: {"MemTotal": 1025277952, "MemAvailable": 803446784, "HugePages_Total": 0}
        swap:
          description:
            - Swap devices from C(/proc/swaps) (path, type V(file), V(partition) or V(zram), size, used, priority)
              and totals in bytes.
          returned: when C(swap) is gathered
          type: dict
          sample:
            devices:
              - {"path": "/swapfile", "type": "file", "size": 536866816, "used": 0, "priority": -2}
            total: 536866816
            used: 0
            free: 536866816
        zram:
          description:
            - zram devices from C(/sys/block/zramN) with disksize, the selected and offered compression
              algorithms, every C(mm_stat) field (sizes in bytes; C(same_pages), C(pages_compacted),
              C(huge_pages) are page counts; a field the kernel lacks is C(null)), the compression ratio
              (orig_data_size / compr_data_size, C(null) while empty), C(active) (in use as swap) and its swap
              C(priority) (C(null) when not active) - the names M(memwise.linux.zram) returns.
          returned: when C(zram) is gathered
          type: dict
          sample:
            devices:
              - {"name": "zram0", "path": "/dev/zram0", "disksize": 268435456, "algorithm": "zstd",
                 "algorithms": ["lzo-rle", "lzo", "lz4", "zstd"], "orig_data_size": 7340032,
                 "compr_data_size": 1948672, "mem_used_total": 2514944, "compression_ratio": 3.77,
                 "active": true, "priority": 100}
            total_disksize: 268435456
            total_orig_data_size: 7340032
            total_mem_used: 2514944
        zswap:
          description:
            - Every C(/sys/module/zswap/parameters) value, typed (C(enabled) is a boolean), the pool size and
              stored bytes from C(/proc/meminfo) (C(Zswap), C(Zswapped); C(null) on kernels without them), and
              the debugfs pool counters in C(pool) when debugfs is mounted and readable (else C(pool_unavailable)
              says why).
          returned: when C(zswap) is gathered
          type: dict
          sample: {"enabled": true, "compressor": "zstd", "zpool": "zsmalloc", "max_pool_percent": 20,
                   "pool_size": 0, "stored": 0, "pool": {"stored_pages": 0}, "pool_unavailable": null}
        thp:
          description:
            - Transparent huge pages; C(enabled), C(defrag) and C(shmem_enabled) are the bracketed choice,
              C(*_choices) list what the kernel offers, C(khugepaged) holds its typed settings and C(sizes) the
              per-size (mTHP) C(enabled) choice on kernels that have them.
          returned: when C(thp) is gathered
          type: dict
          sample: {"enabled": "madvise", "enabled_choices": ["always", "madvise", "never"], "defrag": "madvise",
                   "shmem_enabled": "never", "hpage_pmd_size": 2097152, "khugepaged": {"pages_to_scan": 4096},
                   "sizes": {}}
        ksm:
          description: Every C(/sys/kernel/mm/ksm) value, typed, and C(mode) (V(stop), V(run), V(unmerge)) for C(run).
          returned: when C(ksm) is gathered
          type: dict
          sample: {"run": 0, "mode": "stop", "pages_to_scan": 100, "sleep_millisecs": 20, "pages_sharing": 0}
        mglru:
          description: Multi-generational LRU; C(mask) is the C(lru_gen/enabled) bit mask, C(enabled) is mask != 0.
          returned: when C(mglru) is gathered
          type: dict
          sample: {"enabled": true, "mask": 7, "min_ttl_ms": 0}
        psi:
          description:
            - Pressure stall information for C(memory), C(io) and C(cpu), each C(some) and C(full) with
              C(avg10), C(avg60), C(avg300) (percent) and C(total) (microseconds); C(full) of C(cpu) is
              C(null) on kernels before 5.13.
          returned: when C(psi) is gathered
          type: dict
          sample: {"memory": {"some": {"avg10": 0.0, "avg60": 0.12, "avg300": 0.05, "total": 123456},
                              "full": {"avg10": 0.0, "avg60": 0.0, "avg300": 0.0, "total": 2345}}}
        vm:
          description: Every readable C(/proc/sys/vm) value, typed (integer, list of integers or string).
          returned: when C(vm) is gathered
          type: dict
          sample: {"swappiness": 60, "overcommit_memory": 0, "lowmem_reserve_ratio": [256, 256, 32, 0, 0]}
        vmstat:
          description: Every C(/proc/vmstat) counter (C(oom_kill), C(pswpin), C(pswpout), C(workingset_*)...).
          returned: when C(vmstat) is gathered
          type: dict
          sample: {"oom_kill": 0, "pswpin": 12, "pswpout": 340}
        cgroup:
          description:
            - The cgroup layout (C(version) V(v2), V(v1) or V(hybrid)), the controllers, which hierarchy holds
              the memory controller, memory readings for C(system.slice) and C(user.slice) in C(groups), for each
              of O(units) in C(units), and the five largest children of the top-level slices in C(top_units).
            - A reading has C(path), C(current), C(peak), C(min), C(low), C(high), C(max), C(swap_current),
              C(swap_max), C(swap_peak), C(zswap_current), C(zswap_max) (bytes; a limit of C(null) means
              unlimited; a key is absent when the kernel lacks the file), C(events) (C(memory.events) counters
              such as C(oom_kill)) and C(pressure) (C(memory.pressure), as in C(psi)). On cgroup v1 the readings
              come from C(memory.usage_in_bytes), C(memory.max_usage_in_bytes), C(memory.limit_in_bytes) and
              C(memory.oom_control).
          returned: when C(cgroup) is gathered
          type: dict
          sample:
            version: v2
            controllers: [cpu, io, memory, pids]
            memory_controller: v2
            groups:
              system.slice: {"path": "/sys/fs/cgroup/system.slice", "current": 98304000, "high": null, "max": null,
                             "events": {"oom_kill": 0}, "pressure": null}
            units:
              ssh.service: {"path": "/sys/fs/cgroup/system.slice/ssh.service", "current": 4218880}
            top_units:
              - {"unit": "ssh.service", "slice": "system.slice", "current": 4218880}
        systemd:
          description:
            - C(booted) (C(/run/systemd/system) exists), C(pid1) (the name of PID 1), C(version) (from the
              C(libsystemd-shared-N.so) file name), C(state) (C(systemctl is-system-running)) and
              C(oomd_active) (the cgroup of systemd-oomd.service exists); values a host cannot tell are C(null).
          returned: when C(systemd) is gathered
          type: dict
          sample: {"booted": true, "pid1": "systemd", "version": 252, "state": "running", "oomd_active": false}
        summary:
          description:
            - Derived numbers (C(kernel), the running kernel release; C(available_ratio) = MemAvailable / MemTotal,
              C(swap_used_ratio), C(zram_ratio), C(pressure_level) and the PSI averages it comes from,
              C(oom_kills) since boot) and C(advice), a list of items with C(id), C(severity) (V(info),
              V(warning), V(critical)) and C(text).
            - Advice ids are C(memory_pressure), C(oom_kills), C(no_swap), C(low_available) (under 10% available),
              C(swap_nearly_full) (80% or more used), C(zram_priority) (zram not above disk swap), C(no_psi)
              and C(zswap_with_zram).
          returned: when C(summary) is gathered
          type: dict
          sample:
            kernel: 6.1.0-28-amd64
            mem_total: 1025277952
            mem_available: 803446784
            available_ratio: 0.7836
            swap_total: 536866816
            swap_used: 0
            swap_used_ratio: 0.0
            pressure_level: none
            oom_kills: 0
            advice:
              - {"id": "zram_priority", "severity": "warning",
                 "text": "zram swap (priority -2) is not above disk swap /swapfile (priority 5) ..."}
        unavailable:
          description:
            - Section name to the reason it could not be gathered; C(cgroup:UNIT) for a unit in O(units)
              without a cgroup. Empty when everything was gathered.
          returned: always
          type: dict
          sample:
            mglru: "/sys/kernel/mm/lru_gen does not exist: this kernel is built without MGLRU (CONFIG_LRU_GEN)"
        gather_subset:
          description: The sections that were gathered, after resolving V(all) and V(!name).
          returned: always
          type: list
          elements: str
          sample: [meminfo, swap]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import _facts, _module


def _runner(module):
    """A ``run(argv) -> stdout or None`` for the few values no file holds; never fails the module."""

    def run(argv):
        binary = module.get_bin_path(argv[0])
        if binary is None:
            return None
        _rc, out, _err = module.run_command([binary] + argv[1:], environ_update={"LC_ALL": "C"})
        return out  # is-system-running exits non-zero for "degraded" and still prints the state

    return run


def gather(module):
    subset = _facts.resolve_subset(module.params["gather_subset"])
    memwise = _facts.collect(subset, units=module.params["units"], run=_runner(module))
    memwise["gather_subset"] = subset
    return {"changed": False, "ansible_facts": {"memwise": memwise}}


def main():
    module = _module.new_module(
        AnsibleModule,
        argument_spec=dict(
            gather_subset=dict(type="list", elements="str", default=["all"]),
            units=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    _module.run_module(module, gather)


if __name__ == "__main__":
    main()
