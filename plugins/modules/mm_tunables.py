#!/usr/bin/python
# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mm_tunables
short_description: Transparent huge pages, zswap, KSM and MGLRU, typed, live and persistent
version_added: 0.1.0
description:
  - Sets the kernel memory-management switches that live under C(/sys) (not C(/proc/sys), so sysctl tools
    cannot manage them) - transparent huge pages, zswap, KSM and the multi-generational LRU.
  - Every value is validated against what this kernel offers before anything is written - the bracketed
    choices in the sysfs files, the compressors and zpools the kernel has, which files exist. An option
    the kernel lacks fails naming the option and the kernel release. Any error changes nothing.
  - Values are applied live, in a safe order (the zswap compressor before zswap is enabled, the KSM scan
    rate before KSM runs), each read back; if the kernel refuses or changes one, every value written before
    is restored. A failure of the file write after the live writes restores them too.
  - Values persist across reboots in one tmpfiles.d file owned by the module (C(w) lines that
    systemd-tmpfiles writes at boot), written atomically. The file starts with
    C(# Managed by memwise.linux.mm_tunables); an existing file at O(path) without that header is refused,
    naming it, unless O(force=true) takes it over. A O(path) on proc, sysfs or tmpfs is refused.
  - O(state=absent) removes settings from the file; their live values stay until the next boot.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
  - memwise.linux._host_lock
attributes:
  check_mode:
    support: full
    details: Check mode validates and reports exactly what a real run would change, and writes nothing.
  diff_mode:
    support: full
    details: Shows each setting before and after, and the text of the tmpfiles.d file.
  idempotent:
    support: full
    details: Values already in place are not written again.
options:
  thp:
    description: Transparent huge pages (C(/sys/kernel/mm/transparent_hugepage)).
    type: dict
    suboptions:
      enabled:
        description: V(always), V(madvise) or V(never) (validated against the kernel's own list).
        type: str
      defrag:
        description: V(always), V(defer), V(defer+madvise), V(madvise) or V(never).
        type: str
      shmem_enabled:
        description: Huge pages for shmem and tmpfs, for example V(never), V(advise), V(within_size).
        type: str
      khugepaged:
        description: The khugepaged daemon's settings.
        type: dict
        suboptions:
          defrag:
            description: Let khugepaged defragment (0 or 1).
            type: int
          pages_to_scan:
            description: Pages scanned per pass (1 or more).
            type: int
          scan_sleep_millisecs:
            description: Pause between passes.
            type: int
          alloc_sleep_millisecs:
            description: Pause after a failed huge page allocation.
            type: int
          max_ptes_none:
            description: Unmapped small pages a collapse may fill (0..511).
            type: int
          max_ptes_swap:
            description: Swapped-out small pages a collapse may read back (0..511).
            type: int
          max_ptes_shared:
            description: Shared small pages a collapse may copy (0..511).
            type: int
  zswap:
    description: The compressed swap cache (C(/sys/module/zswap/parameters)).
    type: dict
    suboptions:
      enabled:
        description: Turn zswap on or off.
        type: bool
      compressor:
        description:
          - Compression algorithm; must be one the kernel has (registered in C(/proc/crypto), built in, or a
            crypto module of this kernel).
        type: str
      zpool:
        description: Allocator (V(zsmalloc), V(zbud), V(z3fold)) the kernel has.
        type: str
      max_pool_percent:
        description: Largest share of RAM the pool may take (0..100).
        type: int
      accept_threshold_percent:
        description: Pool fill level below which zswap accepts pages again after it was full (0..100).
        type: int
      shrinker_enabled:
        description: Let the kernel write cold zswap pages back to swap (kernels that have the parameter).
        type: bool
  ksm:
    description: Kernel samepage merging (C(/sys/kernel/mm/ksm)).
    type: dict
    suboptions:
      run:
        description: V(stop), V(run), or V(unmerge) (stop and split every merged page).
        type: str
        choices: [stop, run, unmerge]
      pages_to_scan:
        description: Pages scanned per wake-up.
        type: int
      sleep_millisecs:
        description: Pause between scans.
        type: int
  mglru:
    description: The multi-generational LRU (C(/sys/kernel/mm/lru_gen)).
    type: dict
    suboptions:
      enabled:
        description:
          - V(true) turns MGLRU on (any enabled feature mask counts as on), V(false) turns it off, an
            integer sets the exact feature mask (for example V(7)).
        type: raw
      min_ttl_ms:
        description: Protect the working set of the last N milliseconds from eviction (thrashing prevention).
        type: int
  path:
    description:
      - The tmpfiles.d file this module owns. Settings already in it from earlier calls are kept.
      - A path whose directory is on proc, sysfs or another kernel file system, or on tmpfs (emptied at every
        boot), is refused before anything changes.
    type: path
    default: /etc/tmpfiles.d/memwise-mm.conf
  live:
    description: Apply the values to the running kernel now.
    type: bool
    default: true
  persist:
    description: Write the values to O(path) so systemd-tmpfiles applies them at boot.
    type: bool
    default: true
  state:
    description:
      - V(present) sets the given settings.
      - V(absent) removes the given settings (their values do not matter) from O(path), or every setting when
        none is given, and deletes the file when none is left. The kernel has no "unset" value, so their live
        values stay until the next boot; RV(settings) shows the live layer unchanged and the module warns once
        naming them.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Take over an existing file at O(path) that this module did not write (it lacks the
        C(# Managed by memwise.linux.mm_tunables) header). Without it such a file is refused and nothing
        changes.
      - The file taken over is rewritten in the module's format - its C(w) lines for the settings this module
        knows are kept, other lines are not (set O(backup=true) to keep a copy).
    type: bool
    default: false
  backup:
    description:
      - Before the file at O(path) is rewritten or removed, copy it next to itself as
        C(PATH.PID.DATE@TIME~) and return the copy's name in RV(backup_file).
    type: bool
    default: false
notes:
  - The kernel release is named in every error about an option the kernel lacks, for example MGLRU on a kernel
    built without C(CONFIG_LRU_GEN) or C(zswap.shrinker_enabled) before Linux 6.8.
seealso:
  - module: memwise.linux.sysctl
    description: The vm.* keys under C(/proc/sys) (swappiness, dirty ratios, overcommit).
  - module: memwise.linux.memory_facts
    description: Reads THP, zswap, KSM and MGLRU state as facts.
  - ref: ansible_collections.memwise.linux.docsite.mm_tunables
    description: How the module decides, measured on Debian 12 and 13.
  - name: Transparent Hugepage Support
    description: The kernel's documentation of the THP switches.
    link: https://docs.kernel.org/admin-guide/mm/transhuge.html
  - name: zswap
    description: The kernel's documentation of zswap.
    link: https://docs.kernel.org/admin-guide/mm/zswap.html
  - name: tmpfiles.d(5)
    description: The w line type used to persist the values.
    link: https://www.freedesktop.org/software/systemd/man/latest/tmpfiles.d.html
"""

EXAMPLES = r"""
---
- name: THP only where asked for, zswap with zstd, MGLRU with thrashing protection
  memwise.linux.mm_tunables:
    thp:
      enabled: madvise
      defrag: defer+madvise
      khugepaged:
        max_ptes_none: 64
    zswap:
      enabled: true
      compressor: zstd
      max_pool_percent: 20
    mglru:
      enabled: true
      min_ttl_ms: 1000

- name: Stop KSM and split merged pages
  memwise.linux.mm_tunables:
    ksm:
      run: unmerge

- name: Stop persisting the zswap compressor (the value does not matter with absent)
  memwise.linux.mm_tunables:
    zswap:
      compressor: zstd
    state: absent

- name: Stop persisting anything; live values stay until the next boot
  memwise.linux.mm_tunables:
    state: absent
"""

RETURN = r"""
---
changed_settings:
  description: Settings whose live or persisted value changed (or would, in check mode), in RV(settings) order.
  returned: always
  type: list
  elements: str
  sample: [thp.enabled, zswap.enabled]
settings:
  description:
    - Per setting, the canonical C(live) and C(file) values C(before) and C(after) (C(Y)/C(N) for booleans, the
      choice for bracketed files, C(0x0007) for the MGLRU mask). A file value of C(null) means not in the file.
    - The C(live) value is always read; with O(live=false) or O(state=absent) C(after) equals C(before).
      The MGLRU C(after) value is C(enabled) when O(mglru.enabled=true) turns it on from C(0x0000), as the
      kernel picks the mask.
  returned: always
  type: dict
  sample:
    thp.enabled:
      live: {before: always, after: madvise}
      file: {before: null, after: madvise}
actions:
  description: What the call did (or would do, in check mode), in order. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: [set thp.enabled = madvise live, write /etc/tmpfiles.d/memwise-mm.conf]
kernel:
  description: The running kernel release.
  returned: always
  type: str
  sample: 6.1.0-28-amd64
path:
  description: The tmpfiles.d file; C(null) when the call persists nothing (O(persist=false) with O(state=present)).
  returned: always
  type: str
  sample: /etc/tmpfiles.d/memwise-mm.conf
file_text:
  description: The text of the tmpfiles.d file after the call; C(null) when it does not exist or RV(path) is C(null).
  returned: always
  type: str
  sample: "# Managed by memwise.linux.mm_tunables ...\nw /sys/kernel/mm/transparent_hugepage/enabled - - - - madvise\n"
backup_file:
  description: The copy of the file made before it changed with O(backup=true); C(null) otherwise.
  returned: always
  type: str
  sample: /etc/tmpfiles.d/memwise-mm.conf.4242.2026-12-03@10:31:02~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import _files, _livewrite, _lock, _mm, _module, _owned
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError, invalid


def run(module):
    params = module.params
    state, path = params["state"], params["path"]
    uses_file = params["persist"] or state == "absent"
    release = _mm.kernel_release()
    wanted = _mm.flatten(params)
    if state == "present":
        if not wanted:
            raise MemwiseError("nothing to set: give at least one of thp, zswap, ksm, mglru; nothing changed")
        checked, errors = _mm.validate(wanted, release)
        if errors:
            raise invalid(errors, "settings")
    _owned.check_location(path, _mm.DEFAULT_PATH)
    file_before = _files.read_optional(path)
    if uses_file:
        _owned.check_owner(path, file_before, _mm.OWNER, params["force"])
    persisted = _mm.parse_tmpfiles(file_before)
    if state == "absent":
        names = list(wanted) or [name for name in _mm.ORDER if name in persisted]
        settings, new = _mm.plan_absent(names, _mm.read_current(names), persisted)
        writes = []
    else:
        settings, writes, new = _mm.plan(checked, persisted, live=params["live"], persist=params["persist"])
    file_after = file_before
    if uses_file:
        file_after = _mm.file_after(file_before, persisted, new, _owned.is_foreign(file_before, _mm.OWNER))
        _owned.check_directory(path, file_before, file_after)
    if state == "absent":
        _owned.warn_kept_live(module, [n for n, s in settings.items() if s["file"]["before"] is not None], path)
    changed = _module.changed_settings(settings)
    owned = path if uses_file else None
    result = {
        "changed": bool(changed) or file_after != file_before,
        "changed_settings": changed,
        "settings": settings,
        "actions": _livewrite.actions(writes, owned, file_before, file_after, params["backup"]),
        "kernel": release,
        "path": owned,
        "file_text": file_after if uses_file else None,
        "backup_file": None,
    }
    if module._diff:
        result["diff"] = _module.diff(
            "live /sys",
            [(n, s["live"]["before"], s["live"]["after"]) for n, s in settings.items()],
            [(path, file_before, file_after)] if uses_file else [],
        )
    if module.check_mode or not result["changed"]:
        return result
    result["backup_file"] = _livewrite.commit(writes, path, file_before, file_after, backup=params["backup"])
    return result


def argument_spec():
    """The options: one dict per area, each with the kernel's own setting names."""
    khugepaged = {
        name: dict(type="int")
        for name in (
            "defrag",
            "pages_to_scan",
            "scan_sleep_millisecs",
            "alloc_sleep_millisecs",
            "max_ptes_none",
            "max_ptes_swap",
            "max_ptes_shared",
        )
    }
    return dict(
        thp=dict(
            type="dict",
            options=dict(
                enabled=dict(type="str"),
                defrag=dict(type="str"),
                shmem_enabled=dict(type="str"),
                khugepaged=dict(type="dict", options=khugepaged),
            ),
        ),
        zswap=dict(
            type="dict",
            options=dict(
                enabled=dict(type="bool"),
                compressor=dict(type="str"),
                zpool=dict(type="str"),
                max_pool_percent=dict(type="int"),
                accept_threshold_percent=dict(type="int"),
                shrinker_enabled=dict(type="bool"),
            ),
        ),
        ksm=dict(
            type="dict",
            options=dict(
                run=dict(type="str", choices=["stop", "run", "unmerge"]),
                pages_to_scan=dict(type="int"),
                sleep_millisecs=dict(type="int"),
            ),
        ),
        mglru=dict(type="dict", options=dict(enabled=dict(type="raw"), min_ttl_ms=dict(type="int"))),
        path=dict(type="path", default=_mm.DEFAULT_PATH),
        live=dict(type="bool", default=True),
        persist=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        lock_timeout=dict(_lock.OPTION),
        force=dict(type="bool", default=False),
        backup=dict(type="bool", default=False),
    )


def main():
    module = _module.new_module(AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True)
    _module.run_module(module, run)


if __name__ == "__main__":
    main()
