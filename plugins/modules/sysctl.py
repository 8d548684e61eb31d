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
  - Each live write is read back. If the kernel rejects or changes a value, every key written before it
    is restored, the file is left untouched, and the module fails naming the key, the value and the
    kernel's answer. The file is written atomically (temporary file, fsync, rename).
  - Resolves the sysctl.d precedence on the host and reports every managed key that a later file (or
    C(/etc/sysctl.conf)) sets to another value, which would win at the next boot.
  - Never runs C(sysctl --system); only the managed keys are applied.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
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
    type: path
    default: /etc/sysctl.d/90-memwise.conf
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
        left). Live values are not changed by V(absent); they return to the boot configuration at the next boot.
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

- name: Stop managing a key
  memwise.linux.sysctl:
    settings: [vm.vfs_cache_pressure]
    state: absent
"""

RETURN = r"""
---
changed_keys:
  description: Keys whose live value or file value changed (or would, in check mode).
  returned: always
  type: list
  elements: str
  sample: [vm.swappiness]
keys:
  description:
    - Per key, the normalised C(live) and C(file) values C(before) and C(after). A file value of C(null)
      means the key is not in the file; a live value of C(null) means it was not read (O(live=false)).
  returned: always
  type: dict
  sample:
    vm.swappiness:
      live: {before: "60", after: "10"}
      file: {before: null, after: "10"}
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
  description: The managed file.
  returned: always
  type: str
  sample: /etc/sysctl.d/90-memwise.conf
file_text:
  description: The text of the managed file after the call; C(null) when it does not exist.
  returned: always
  type: str
  sample: "# Managed by memwise.linux.sysctl (Ansible) ...\nvm.swappiness = 10\n"
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import _files, _livewrite, _procfs, _sysctl
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def _proc_path(rel):
    return os.path.join(_sysctl.PROC_SYS, rel)


def _read_live(rel):
    return _livewrite.read_file(_proc_path(rel))


def proc_sys_readonly():
    try:
        return bool(os.statvfs(_sysctl.PROC_SYS).f_flag & os.ST_RDONLY)
    except OSError:
        return True


def parse_settings(raw, state):
    """``({canonical key: (path below /proc/sys, normalised value)}, [errors])``."""
    if state == "absent" and isinstance(raw, list):
        raw = dict.fromkeys(raw)
    if not isinstance(raw, dict) or not raw:
        raise MemwiseError("settings: give a non-empty dict of key: value (or, with state=absent, a list of keys)")
    settings, errors, seen = {}, [], {}
    for key, value in raw.items():
        try:
            canonical, rel = _sysctl.parse_key(key)
            if canonical in seen:
                raise MemwiseError("%s: given twice (as %r and %r)" % (canonical, seen[canonical], key))
            seen[canonical] = key
            if canonical.replace("/", ".") in _sysctl.TRIGGERS:
                raise MemwiseError("%s: is a write-only trigger, not a setting" % canonical)
            normalised = None if state == "absent" else _sysctl.normalize_value(value, canonical)
            settings[canonical] = (rel, normalised)
        except MemwiseError as exc:
            errors.append(str(exc))
    return settings, errors


def validate_live(settings, kernel):
    """Read the current value of every key and check key, mode, shape and range: ``(current, [errors])``."""
    current, errors = {}, []
    for key, (rel, value) in settings.items():
        full = _proc_path(rel)
        if not os.path.exists(full):
            module = _sysctl.module_hint(key)
            if module:
                errors.append(
                    "%s: does not exist under /proc/sys; it appears when the kernel module %s is loaded "
                    "(modprobe %s, persisted in /etc/modules-load.d)" % (key, module, module)
                )
            else:
                errors.append("%s: no such key under /proc/sys (check the spelling with sysctl -a)" % key)
            continue
        if os.path.isdir(full):
            errors.append("%s: is a directory under /proc/sys, not a key" % key)
            continue
        if not os.stat(full).st_mode & 0o222:
            errors.append("%s: is read-only in this kernel; it cannot be set" % key)
            continue
        try:
            current[key] = _read_live(rel)
        except OSError as exc:
            errors.append("%s: cannot be read (%s)" % (key, exc.strerror))
            continue
        why = _sysctl.check_shape(current[key], value) or _sysctl.check_range(key.replace("/", "."), value, kernel)
        if not why and key == "vm.min_free_kbytes":
            why = _sysctl.check_min_free(value, _mem_total_kb())
        if why:
            errors.append("%s: %s" % (key, why))
    pairs = _sysctl.check_pairs(settings)
    if pairs:
        errors.append(pairs)
    return current, errors


def _mem_total_kb():
    text, _reason = _procfs.read_text("/proc/meminfo")
    try:
        return _procfs.parse_meminfo(text)["MemTotal"] // 1024 if text else 0
    except MemwiseError:
        return 0


def live_writes(settings, changes):
    """The live writes of the plan, in the order given, each restoring its old value on rollback."""
    writes = []
    for key, change in changes.items():
        before, after = change["live"]
        if before != after:
            item = (
                key,
                _proc_path(settings[key][0]),
                after,
                before,
                lambda answer, a=after: _sysctl.same_value(answer, a),
            )
            partner = _sysctl.PAIRS.get(key.replace("/", "."))
            if partner and before == "0":
                # The partner holds the setting now; writing this key zeroes it, so undo restores the partner.
                rel = partner.replace(".", "/")
                item += ((partner, _proc_path(rel), _read_live(rel)),)
            writes.append(item)
    return writes


def _file_after(params, file_before, file_values, new_values):
    """The managed file's new text (None: no file); unchanged text when its keys and values are the same."""
    path = params["path"]
    if params["state"] == "present" and not params["persist"]:
        return file_before
    if not new_values:
        return None
    if file_before is not None and file_values == new_values:
        return file_before
    if not os.path.isdir(os.path.dirname(path)):
        raise MemwiseError("path: the directory of %s does not exist; nothing changed" % path)
    return _sysctl.render_conf(new_values)


def _shadows(module, wanted):
    """Report (and act on) managed keys a later sysctl.d file overrides at boot."""
    params = module.params
    path = params["path"]
    if params["state"] != "present" or not params["persist"]:
        return []
    order = _sysctl.load_order("/")
    if not _sysctl.boot_reads(order, path):
        module.warn("%s is not read at boot (outside sysctl.d, or masked by a file of the same name)" % path)
    shadows = _sysctl.find_shadows(order, path, wanted, _files.read_optional)
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


def run(module):
    params = module.params
    state, path = params["state"], params["path"]
    settings, errors = parse_settings(params["settings"], state)
    wanted = {key: value for key, (_rel, value) in settings.items()}
    live = params["live"] and state == "present"
    readonly = live and proc_sys_readonly()
    if readonly and params["on_readonly"] == "fail":
        raise MemwiseError(
            "/proc/sys is mounted read-only (a container?): cannot set %s live; nothing changed. "
            "Set on_readonly: skip to write %s only" % (", ".join(settings), path)
        )
    try:
        kernel = _sysctl.kernel_version(_read_live("kernel/osrelease"))
    except OSError:
        kernel = (0, 0)  # no /proc/sys at all: every key fails validation below
    current = {}
    if state == "present":
        current, more = validate_live(settings, kernel)
        errors += more
    if errors:
        raise MemwiseError("invalid settings, nothing changed: " + "; ".join(errors))
    file_before = _files.read_optional(path)
    file_values = _sysctl.owned_values(file_before, path)
    changes, new_values = _sysctl.plan(
        wanted,
        current,
        file_values,
        live=live and not readonly,
        persist=params["persist"] or state == "absent",
        state=state,
    )
    file_after = _file_after(params, file_before, file_values, new_values)
    shadows = _shadows(module, wanted)
    skipped = list(settings) if readonly else []
    if skipped:
        module.warn("/proc/sys is read-only: %s written to %s only, not applied live" % (", ".join(skipped), path))
    changed_keys = _sysctl.changed_keys(changes)
    result = {
        "changed": bool(changed_keys) or file_after != file_before,
        "changed_keys": changed_keys,
        "keys": {
            key: {
                "live": {"before": c["live"][0], "after": c["live"][1]},
                "file": {"before": c["file"][0], "after": c["file"][1]},
            }
            for key, c in changes.items()
        },
        "shadowed": shadows,
        "skipped_readonly": skipped,
        "path": path,
        "file_text": file_after,
    }
    if module._diff:
        moved = [(k, c["live"][0], c["live"][1]) for k, c in changes.items() if c["live"][0] != c["live"][1]]
        result["diff"] = _livewrite.diff("live /proc/sys", moved, path, file_before, file_after)
    if module.check_mode or not result["changed"]:
        return result
    _livewrite.commit(live_writes(settings, changes), path, file_before, file_after)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            settings=dict(type="raw", required=True),
            path=dict(type="path", default="/etc/sysctl.d/90-memwise.conf"),
            live=dict(type="bool", default=True),
            persist=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            on_shadowed=dict(type="str", choices=["warn", "fail", "ignore"], default="warn"),
            on_readonly=dict(type="str", choices=["fail", "skip"], default="fail"),
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
