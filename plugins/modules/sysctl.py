#!/usr/bin/python
# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sysctl
short_description: Many kernel settings in one transactional, precedence-aware call
version_added: 0.1.0
description:
  - Sets many sysctl keys at once, live in C(/proc/sys) and in one sysctl.d file this call owns.
  - Every key and value is validated before anything is written - the key exists and is writable,
    the value has the shape of the current value (integer, list of integers, text) and lies in the
    documented range of common keys. Any error fails naming every bad key, and nothing changes.
  - Values compare after normalisation (whitespace, tabs, C(010) equals C(10); C(vm/swappiness) equals
    C(vm.swappiness)), so a value already set is never reported as a change.
  - Each live write is read back. If the kernel rejects or changes a value, or anything later fails (the
    file write included), every key this call wrote is restored, newest first, and the module fails naming
    the key, the value, the kernel's answer and what was undone. The file is written atomically (temporary
    file, fsync, rename) after the live values.
  - The file at O(path) is the module's own - it starts with C(# Managed by memwise.linux.sysctl). An
    existing file without that header (written by a person or another tool) is refused, naming it, unless
    O(force=true) takes it over. A O(path) on proc, sysfs or tmpfs is refused before anything changes.
  - Resolves the sysctl.d precedence on the host and reports every managed key that a later file (or
    C(/etc/sysctl.conf)) sets to another value, which would win at the next boot.
  - Never runs C(sysctl --system); only the managed keys are applied.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
  - memwise.linux._host_lock
attributes:
  check_mode:
    support: full
    details: Check mode validates, plans and reports exactly what a real run would change, and writes nothing.
  diff_mode:
    support: full
    details: Shows the per-key live values before and after, and the text of the managed file.
  idempotent:
    support: full
    details: Values equal after normalisation are not rewritten, so a second run reports no change.
options:
  settings:
    description:
      - Keys and values. Keys are written with dots (V(vm.swappiness)) or slashes (V(vm/swappiness)); when the
        first separator is a slash, dots belong to a name (V(net/ipv4/conf/eth0.100/rp_filter)).
      - Values are strings, integers or lists (V([4, 4, 1, 7]) equals V("4 4 1 7")).
      - With O(state=absent) only the keys matter; a list of keys is accepted too.
    type: raw
    required: true
  path:
    description:
      - The sysctl.d file this call owns. Other keys already in it are kept; its header says it is managed.
      - A path outside the sysctl.d directories (or masked by an equal name in a directory of higher
        precedence) is not read at boot; the module warns about it.
      - A path whose directory is on proc, sysfs or another kernel file system, or on tmpfs (emptied at every
        boot), is refused before anything changes.
    type: path
    default: /etc/sysctl.d/90-memwise.conf
  force:
    description:
      - Take over an existing file at O(path) that this module did not write (it lacks the
        C(# Managed by memwise.linux.sysctl) header). Without it such a file is refused, naming it, and
        nothing changes.
      - The file taken over is rewritten in the module's format - its keys are kept, its comments are not
        (set O(backup=true) to keep a copy).
    type: bool
    default: false
  backup:
    description:
      - Before the file at O(path) is rewritten or removed, copy it next to itself as
        C(PATH.PID.DATE@TIME~) and return the copy's name in RV(backup_file).
    type: bool
    default: false
  live:
    description: Apply the values to the running kernel now.
    type: bool
    default: true
  persist:
    description: Write the values to O(path) so they are applied at boot.
    type: bool
    default: true
  state:
    description:
      - V(present) sets the keys; V(absent) removes them from O(path) (the file is deleted when no key is
        left).
      - Kernel keys have no "unset" value, so V(absent) keeps their live values until the next boot, when the
        remaining configuration applies; RV(settings) shows the live layer unchanged and the module warns
        once naming the keys.
    type: str
    choices: [present, absent]
    default: present
  on_shadowed:
    description:
      - What to do when a file applied after O(path) sets a managed key to another value (that value wins
        at boot). V(warn) reports it in RV(shadowed) and warns, V(fail) fails before changing anything,
        V(ignore) only reports it.
    type: str
    choices: [warn, fail, ignore]
    default: warn
  on_readonly:
    description:
      - What to do when C(/proc/sys) is mounted read-only (containers). V(fail) fails before changing
        anything; V(skip) writes only the file and lists the keys in RV(skipped_readonly).
    type: str
    choices: [fail, skip]
    default: fail
notes:
  - "Documented ranges checked before writing: vm.swappiness 0..200 on kernels 5.8 and later (0..100 before),
    vm.overcommit_memory 0..2, vm.dirty_ratio and vm.dirty_background_ratio 0..100, vm.watermark_scale_factor
    1..3000, vm.page-cluster 0..31, vm.panic_on_oom 0..2, vm.zone_reclaim_mode 0..7, vm.compaction_proactiveness
    0..100, kernel.sysrq 0..511, kernel.pid_max 301..4194304, kernel.printk four integers 0..15,
    kernel.kptr_restrict 0..2, kernel.yama.ptrace_scope 0..3, net.ipv4.ip_forward 0..1,
    net.ipv4.ip_local_port_range two ports 1..65535 in order, and others; the kernel may refuse more at write
    time, which rolls the call back."
  - vm.dirty_bytes and vm.dirty_ratio (likewise vm.dirty_background_bytes and vm.dirty_background_ratio,
    vm.overcommit_kbytes and vm.overcommit_ratio) are one kernel value written two ways; a call may manage only
    one of each pair, and a rollback restores the one that was in force. vm.min_free_kbytes above 10% of RAM
    is refused (the kernel can deadlock in reclaim).
  - Keys that exist only with a kernel module loaded (net.bridge.* with br_netfilter, net.netfilter.* with
    nf_conntrack, ...) fail with a message naming the module to load first.
seealso:
  - module: memwise.linux.mm_tunables
    description: The memory switches under C(/sys) (THP, zswap, KSM, MGLRU) that sysctl cannot reach.
  - module: memwise.linux.memory_facts
    description: Reads the vm.* values, and what they do to memory, as facts.
  - ref: ansible_collections.memwise.linux.docsite.sysctl
    description: How the module decides, measured on Debian 12 and 13.
  - name: sysctl.d(5)
    description: Configuration files and their precedence.
    link: https://www.freedesktop.org/software/systemd/man/latest/sysctl.d.html
  - name: Documentation for /proc/sys/vm
    description: The kernel's description of every vm.* key.
    link: https://docs.kernel.org/admin-guide/sysctl/vm.html
"""

EXAMPLES = r"""
---
- name: Memory settings for a database host, live and at boot
  memwise.linux.sysctl:
    settings:
      vm.swappiness: 10
      vm.dirty_background_ratio: 5
      vm.dirty_ratio: 15
      vm.vfs_cache_pressure: 50
      kernel.printk: [4, 4, 1, 7]

- name: Fail instead of warning when another file would override a key at boot
  memwise.linux.sysctl:
    settings:
      vm.overcommit_memory: 2
    on_shadowed: fail

- name: In a container with a read-only /proc/sys, persist only
  memwise.linux.sysctl:
    settings:
      vm.swappiness: 10
    on_readonly: skip

- name: Stop managing a key (its live value stays until the next boot)
  memwise.linux.sysctl:
    settings: [vm.vfs_cache_pressure]
    state: absent

- name: Take over a hand-written file, keeping a copy of it
  memwise.linux.sysctl:
    settings:
      vm.max_map_count: 262144
    path: /etc/sysctl.d/60-elasticsearch.conf
    force: true
    backup: true
"""

RETURN = r"""
---
changed_settings:
  description: Keys whose live value or file value changed (or would, in check mode), in RV(settings) order.
  returned: always
  type: list
  elements: str
  sample: [vm.swappiness]
settings:
  description:
    - Per key, the normalised C(live) and C(file) values C(before) and C(after).
    - A C(file) value of C(null) means the key is not in the file.
    - The C(live) value is always read; it changes only with O(live=true) and O(state=present). With
      O(live=false), O(state=absent) or a key skipped by O(on_readonly=skip), C(after) equals C(before).
      It is C(null) only with O(state=absent) for a key that cannot be read (its kernel module is not loaded).
  returned: always
  type: dict
  sample:
    vm.swappiness:
      live: {before: "60", after: "10"}
      file: {before: null, after: "10"}
actions:
  description: What the call did (or would do, in check mode), in order. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: [set vm.swappiness = 10 live, write /etc/sysctl.d/90-memwise.conf]
shadowed:
  description: Managed keys that a file applied later at boot sets to another value.
  returned: always
  type: list
  elements: dict
  sample:
    - {key: vm.swappiness, value: "10", file: /etc/sysctl.d/99-zz.conf, line: 3, shadow_value: "60"}
skipped_readonly:
  description: Keys not written live because C(/proc/sys) is read-only and O(on_readonly=skip).
  returned: always
  type: list
  elements: str
  sample: []
path:
  description: The managed file; C(null) when the call persists nothing (O(persist=false) with O(state=present)).
  returned: always
  type: str
  sample: /etc/sysctl.d/90-memwise.conf
file_text:
  description: The text of the managed file after the call; C(null) when it does not exist or RV(path) is C(null).
  returned: always
  type: str
  sample: "# Managed by memwise.linux.sysctl (Ansible) ...\nvm.swappiness = 10\n"
backup_file:
  description: The copy of the file made before it changed with O(backup=true); C(null) otherwise.
  returned: always
  type: str
  sample: /etc/sysctl.d/60-elasticsearch.conf.4242.2026-12-03@10:31:02~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import (
    _files,
    _livewrite,
    _lock,
    _module,
    _owned,
    _sysctl,
    _sysfs,
)
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError, invalid


def _shadows(module, wanted):
    """Report (and act on) managed keys a later sysctl.d file overrides at boot."""
    params = module.params
    path = params["path"]
    if params["state"] != "present" or not params["persist"]:
        return []
    order = _sysctl.load_order(_sysfs.ROOT)
    if not _sysctl.boot_reads(order, path):
        module.warn("%s is not read at boot (outside sysctl.d, or masked by a file of the same name)" % path)
    shadows = _sysctl.find_shadows(order, path, wanted, lambda name: _files.read_optional(_sysfs.host(name)))
    if shadows and params["on_shadowed"] != "ignore":
        text = "; ".join(
            "%s = %s is overridden at boot by %s line %d (%s)"
            % (s["key"], s["value"], s["file"], s["line"], s["shadow_value"])
            for s in shadows
        )
        if params["on_shadowed"] == "fail":
            raise MemwiseError("shadowed keys, nothing changed: " + text)
        module.warn(text)
    return shadows


def _live(module, settings):
    """Whether keys are written live and whether /proc/sys is read-only (refused here with on_readonly=fail)."""
    params = module.params
    live = params["live"] and params["state"] == "present"
    readonly = live and _sysctl.proc_sys_readonly()
    if readonly and params["on_readonly"] == "fail":
        raise MemwiseError(
            "/proc/sys is mounted read-only (a container?): cannot set %s live; nothing changed. "
            "Set on_readonly: skip to write %s only" % (", ".join(settings), params["path"])
        )
    return live and not readonly, readonly


def _current(settings, errors, state):
    """The live values of ``settings``; every problem with them (``errors`` so far included) raised at once."""
    if state == "present":
        current, more = _sysctl.validate_live(settings, _sysctl.running_kernel())
        errors = errors + more
    else:
        current = _sysctl.read_current(settings)
    if errors:
        raise invalid(errors, "settings")
    return current


def run(module):
    params = module.params
    state, path = params["state"], params["path"]
    uses_file = params["persist"] or state == "absent"
    settings, errors = _sysctl.parse_settings(params["settings"], state)
    live, readonly = _live(module, settings)
    current = _current(settings, errors, state)
    wanted = {key: value for key, (_rel, value) in settings.items()}
    _owned.check_location(path, _sysctl.DEFAULT_PATH)
    file_before = _files.read_optional(path)
    if uses_file:
        _owned.check_owner(path, file_before, _sysctl.OWNER, params["force"])
    file_values = _sysctl.owned_values(file_before, path)
    changes, new_values = _sysctl.plan(wanted, current, file_values, live=live, persist=uses_file, state=state)
    file_after = file_before
    if uses_file:
        foreign = _owned.is_foreign(file_before, _sysctl.OWNER)
        file_after = _sysctl.file_after(file_before, file_values, new_values, foreign)
        _owned.check_directory(path, file_before, file_after)
    shadows = _shadows(module, wanted)
    skipped = list(settings) if readonly else []
    if skipped:
        module.warn("/proc/sys is read-only: %s written to %s only, not applied live" % (", ".join(skipped), path))
    writes = _sysctl.live_writes(settings, changes)
    settings_out = _sysctl.settings_result(changes)
    changed = _module.changed_settings(settings_out)
    owned = path if uses_file else None
    if state == "absent":
        _owned.warn_kept_live(module, [k for k, c in changes.items() if c["file"][0] is not None], path)
    result = {
        "changed": bool(changed) or file_after != file_before,
        "changed_settings": changed,
        "settings": settings_out,
        "actions": _livewrite.actions(writes, owned, file_before, file_after, params["backup"]),
        "shadowed": shadows,
        "skipped_readonly": skipped,
        "path": owned,
        "file_text": file_after if uses_file else None,
        "backup_file": None,
    }
    if module._diff:
        result["diff"] = _module.diff(
            "live /proc/sys",
            [(k, c["live"][0], c["live"][1]) for k, c in changes.items()],
            [(path, file_before, file_after)] if uses_file else [],
        )
    if module.check_mode or not result["changed"]:
        return result
    result["backup_file"] = _livewrite.commit(writes, path, file_before, file_after, backup=params["backup"])
    return result


def main():
    module = _module.new_module(
        AnsibleModule,
        argument_spec=dict(
            settings=dict(type="raw", required=True),
            path=dict(type="path", default=_sysctl.DEFAULT_PATH),
            live=dict(type="bool", default=True),
            persist=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            lock_timeout=dict(_lock.OPTION),
            force=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
            on_shadowed=dict(type="str", choices=["warn", "fail", "ignore"], default="warn"),
            on_readonly=dict(type="str", choices=["fail", "skip"], default="fail"),
        ),
        supports_check_mode=True,
    )
    _module.run_module(module, run)


if __name__ == "__main__":
    main()
