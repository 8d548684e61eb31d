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
    is restored and the file is left untouched.
  - Values persist across reboots in one tmpfiles.d file owned by the module (C(w) lines that
    systemd-tmpfiles writes at boot), written atomically.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
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
    description: The tmpfiles.d file this module owns. Settings already in it from earlier calls are kept.
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
notes:
  - The kernel release is named in every error about an option the kernel lacks, for example MGLRU on a kernel
    built without C(CONFIG_LRU_GEN) or C(zswap.shrinker_enabled) before Linux 6.8.
seealso:
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
"""

RETURN = r"""
changed_keys:
  description: Settings whose live or persisted value changed (or would, in check mode).
  returned: always
  type: list
  elements: str
  sample: [thp.enabled, zswap.enabled]
settings:
  description:
    - Per setting, the canonical C(live) and C(file) values C(before) and C(after) (C(Y)/C(N) for booleans, the
      choice for bracketed files, C(0x0007) for the MGLRU mask). A file value of C(null) means not in the file.
  returned: always
  type: dict
  sample:
    thp.enabled:
      live: {before: always, after: madvise}
      file: {before: null, after: madvise}
kernel:
  description: The running kernel release.
  returned: always
  type: str
  sample: 6.1.0-28-amd64
path:
  description: The tmpfiles.d file.
  returned: always
  type: str
  sample: /etc/tmpfiles.d/memwise-mm.conf
file_text:
  description: The text of the tmpfiles.d file after the call; C(null) when it does not exist.
  returned: always
  type: str
  sample: "# Managed by memwise.linux.mm_tunables ...\nw /sys/kernel/mm/transparent_hugepage/enabled - - - - madvise\n"
"""

import glob
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import _files, _livewrite, _mm, _procfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def _text(path):
    return _procfs.read_text(path)[0]


def offered(release):
    """What zswap may use on this kernel: compressors and zpools (loaded, built in, or shipped as modules)."""
    base = "/lib/modules/%s" % release
    builtin = (_text(base + "/modules.builtin") or "").splitlines()
    files = builtin + glob.glob(base + "/kernel/crypto/*.ko*") + glob.glob(base + "/kernel/mm/*.ko*")
    loaded = [name for name in _mm.ZPOOLS if os.path.isdir("/sys/module/" + name)]
    return {
        "compressors": _mm.available_compressors(_text("/proc/crypto"), files),
        "zpools": _mm.available_zpools(loaded, files),
    }


def validate(wanted, release):
    """``{name: (canonical before, canonical wish, text to write)}``; MemwiseError naming every bad setting."""
    plan, errors, pools = {}, [], None
    for name, value in wanted.items():
        group = name.split(".", 1)[0]
        group_dir, what = _mm.GROUPS[group]
        path = _mm.TABLE[name][0]
        text = _text(path)
        if text is None:
            if not os.path.isdir(group_dir):
                errors.append("%s: kernel %s has no %s (%s does not exist)" % (name, release, what, group_dir))
            else:
                errors.append("%s: kernel %s does not offer this setting (%s does not exist)" % (name, release, path))
            continue
        if _mm.TABLE[name][1] in ("compressor", "zpool") and pools is None:
            pools = offered(release)
        try:
            wish, write = _mm.desired(name, value, text, pools or {})
            plan[name] = (_mm.read_canonical(name, text), wish, write)
        except MemwiseError as exc:
            errors.append(str(exc))
    if errors:
        raise MemwiseError("invalid settings, nothing changed: " + "; ".join(errors))
    return plan


def run(module):
    params = module.params
    path = params["path"]
    release = (_text("/proc/sys/kernel/osrelease") or "unknown").strip()
    wanted = _mm.flatten(params)
    if not wanted:
        raise MemwiseError("nothing to set: give at least one of thp, zswap, ksm, mglru")
    plan = validate(wanted, release)
    file_before = _files.read_optional(path)
    persisted = _mm.parse_tmpfiles(file_before)
    new_persisted = dict(persisted)
    changes, writes = {}, []
    for name, (before, wish, write) in plan.items():
        live_after = before
        if params["live"] and not _mm.satisfied(wish, before):
            live_after = wish
            writes.append(
                (
                    name,
                    _mm.TABLE[name][0],
                    write,
                    _restore_text(name, before),
                    lambda a, n=name, w=wish: _mm.matches(n, w, a),
                )
            )
        if params["persist"]:
            new_persisted[name] = write
        changes[name] = {
            "live": {"before": before, "after": live_after},
            "file": {"before": persisted.get(name), "after": new_persisted.get(name)},
        }
    file_after = file_before
    if params["persist"] and (new_persisted != persisted or file_before is None):
        if not os.path.isdir(os.path.dirname(path)):
            raise MemwiseError("path: the directory of %s does not exist; nothing changed" % path)
        file_after = _mm.render_tmpfiles(new_persisted)
    changed_keys = [
        n
        for n, c in changes.items()
        if c["live"]["before"] != c["live"]["after"] or c["file"]["before"] != c["file"]["after"]
    ]
    result = {
        "changed": bool(changed_keys) or file_after != file_before,
        "changed_keys": changed_keys,
        "settings": changes,
        "kernel": release,
        "path": path,
        "file_text": file_after,
    }
    if module._diff:
        moved = [(n, c["live"]["before"], c["live"]["after"]) for n, c in changes.items()]
        result["diff"] = _livewrite.diff("live /sys", [m for m in moved if m[1] != m[2]], path, file_before, file_after)
    if module.check_mode or not result["changed"]:
        return result
    _livewrite.commit(writes, path, file_before, file_after)
    return result


def _restore_text(name, canonical):
    """What to write to bring a setting back to its canonical ``before`` value."""
    kind = _mm.TABLE[name][1]
    if kind == "ksm_run":
        return _mm.KSM_RUN.get(canonical, canonical)
    if kind == "mask":
        return str(int(canonical, 16))
    return canonical


def main():
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
    module = AnsibleModule(
        argument_spec=dict(
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
            path=dict(type="path", default="/etc/tmpfiles.d/memwise-mm.conf"),
            live=dict(type="bool", default=True),
            persist=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except MemwiseError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
