#!/usr/bin/python
# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swap
short_description: One swap file or partition - created, sized, prioritised, active and in fstab
version_added: 0.1.0
description:
  - Manages one swap area - a swap file (created, resized, deleted) or a block device (a partition or
    disk given the swap signature) - live with C(swapon)/C(swapoff) and across reboots in C(/etc/fstab).
  - Every option and the host are checked before anything changes - the device, the size, the priority,
    the file system that would hold a new file (tmpfs, overlay, NFS, CIFS, squashfs, ramfs, ZFS and FUSE
    are refused), its free space, another signature on a device, and whether the memory can absorb the
    used swap of a device that must be swapped off. Every problem is reported at once, each naming its
    option, and the message says nothing changed.
  - Swap files are created without holes - C(fallocate) on ext4, xfs and btrfs, C(dd) elsewhere - with
    mode 0600 and owner root. On btrfs the file is made with C(btrfs filesystem mkswapfile) when
    btrfs-progs has it, else as an empty file marked NOCOW (C(chattr +C)) before it is written, so it is
    never compressed or copied on write.
  - A resize (a file whose size on disk differs from O(size)), a priority change or a discard change of an
    active device needs a C(swapoff) (the kernel cannot change them live); it happens only when the used
    swap fits in C(MemAvailable) with a margin of 5% of RAM (64 MiB to 1 GiB), else the module fails
    saying how much memory is missing. The device comes back with the same priority and discard policy.
  - C(/etc/fstab) is edited atomically; only the swap entry of the device changes (its options field in
    place) and every other line stays byte for byte. An entry naming the device as C(UUID=), C(LABEL=),
    C(PARTUUID=), C(PARTLABEL=) or another path to the same device is recognised and kept in that form;
    duplicate entries of the device are removed. On systemd hosts C(systemctl daemon-reload) follows a
    change so the generated C(.swap) unit matches. With O(backup) a copy of C(/etc/fstab) is made first.
  - Transactional - when a step fails after changes began, what this run did is undone, newest first (a
    device it swapped on is swapped off, a file it created removed, a resized file rebuilt at its old size
    and swapped on with its old priority, C(/etc/fstab) restored, a swap signature it put on an empty device
    wiped) and the failure says what was undone and what could not be. What O(force) overwrote cannot come
    back, and the failure says so.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
  - memwise.linux._host_lock
attributes:
  check_mode:
    support: full
    details: Check mode runs every check and reports the actions, the settings and the fstab text a real run
      would produce, changing nothing (no backup copy is made either).
  diff_mode:
    support: full
    details: Shows the device's attributes that move (C(name = value) lines) and C(/etc/fstab) before and after.
  idempotent:
    support: full
    details: A device already as asked is left alone, so a second run reports no change.
options:
  device:
    description:
      - The swap file, or the block device (for example V(/dev/vdb) or V(/dev/disk/by-partlabel/swap)).
      - A new fstab entry names the device by this path. For a block device prefer a stable name under
        C(/dev/disk/by-id) or C(/dev/disk/by-partuuid); an existing C(UUID=) entry is kept as it is.
    type: path
    required: true
  size:
    description:
      - The size of a swap file - bytes, or a number with V(K), V(M), V(G), V(T) (powers of 1024, also
        written V(KiB), V(MiB)...) or V(KB), V(MB), V(GB) (powers of 1000), for example V(2G), V(512M) or
        V(1.5GiB). It must be a whole number of pages and at least 10 pages.
      - Required to create a file. For an existing file, a different size resizes it (swapoff, recreate,
        mkswap, swapon); without O(size) the file keeps its size.
      - Not allowed for a block device; its size is the device's.
    type: raw
  priority:
    description:
      - The swap priority, V(-1) to V(32767); higher priorities are used first, equal ones round-robin.
        V(-1) lets the kernel choose (a negative priority below the other devices).
      - Unset, an active device keeps its priority and a new one gets the one in its fstab entry, else the
        kernel's default.
    type: int
  discard:
    description:
      - Discard (TRIM) freed swap pages on devices that support it. V(once) discards the whole area at
        swapon, V(pages) discards freed pages as they are reused, V(both) does both (the plain C(discard)
        option), V(off) neither.
      - Unset keeps what the fstab entry says. The kernel does not report the policy of an active
        device, so it is known from the fstab entry; with O(persist=false) a changed policy applies at the
        next activation.
    type: str
    choices: [once, pages, both, 'off']
  state:
    description:
      - V(present) makes the swap area exist, active and (with O(persist)) in fstab.
      - V(absent) swaps it off, removes its fstab entry and deletes the file. A block device keeps its swap
        signature (the module never wipes a device); it is only no longer used.
    type: str
    choices: [present, absent]
    default: present
  persist:
    description: Manage the device's entry in C(/etc/fstab). V(false) leaves C(/etc/fstab) as it is.
    type: bool
    default: true
  backup:
    description:
      - Before editing C(/etc/fstab), copy it next to itself as C(/etc/fstab.PID.DATE@TIME~) (mode and owner
        kept); the copy's name is returned in RV(backup_file). No copy is made when C(/etc/fstab) does not
        change, in check mode, or with O(persist=false).
    type: bool
    default: false
  force:
    description:
      - Give a block device the swap signature even though it carries another one (a file system, a
        partition table); its data is lost. Without it such a device is refused. A device already carrying
        swap is used as it is.
      - Likewise for an existing file that holds no swap signature (it is overwritten, or with
        O(state=absent) deleted).
      - A mounted device is always refused.
    type: bool
    default: false
notes:
  - The module needs root on the managed host (C(swapon), C(mkswap), C(/etc/fstab)).
  - C(/proc/swaps) shows the usable size, one page (the swap header) less than the file or device.
  - A block device is not resized - its existing swap signature keeps the size it was made with. After
    growing a partition, remove it (O(state=absent)), wipe it (C(wipefs -a)) and run the module again.
seealso:
  - module: memwise.linux.zram
    description: Compressed swap in RAM, usually at a higher priority than a swap file or partition.
  - module: memwise.linux.memory_facts
    description: The swap devices and their use, as facts.
  - ref: ansible_collections.memwise.linux.docsite.conventions
    description: The option names, result shape and error wording every memwise.linux module shares.
  - name: swapon(8)
    description: Priorities and discard policies.
    link: https://man7.org/linux/man-pages/man8/swapon.8.html
  - name: Btrfs swapfile
    description: The rules for swap files on btrfs.
    link: https://btrfs.readthedocs.io/en/latest/Swapfile.html
"""

EXAMPLES = r"""
---
- name: A 2 GiB swap file, used after faster devices, persisted in /etc/fstab
  memwise.linux.swap:
    device: /swapfile
    size: 2G
    priority: 10

- name: Grow it (only if the pages it holds fit in memory while it is swapped off), keeping a copy of fstab
  memwise.linux.swap:
    device: /swapfile
    size: 4G
    backup: true

- name: Swap on a partition, discarding freed pages
  memwise.linux.swap:
    device: /dev/disk/by-partlabel/swap
    discard: pages

- name: Reuse a disk that held a file system (its data is lost)
  memwise.linux.swap:
    device: /dev/vdb
    force: true

- name: Remove the swap file and its fstab entry
  memwise.linux.swap:
    device: /swapfile
    state: absent
"""

RETURN = r"""
---
settings:
  description:
    - Per attribute of the swap area, per layer, the value before and after the call (predicted in check mode).
    - The attributes are C(active) (in use as swap), C(size) and C(used) (bytes, as C(/proc/swaps) shows them),
      C(priority), C(discard) (the policy; the kernel does not report it, so it is known from the fstab entry,
      null when unknown) and C(device_size) (the size of the file or block device on disk in bytes, null when
      it does not exist).
    - The C(live) layer is the device as the kernel shows it (null values when it is not active); after a real
      run it is read back from C(/proc/swaps).
    - The C(file) layer, present for C(active), C(priority) and C(discard) when O(persist=true), is what the
      device's C(/etc/fstab) entry says - C(active) whether there is one (activated at boot), C(priority) its
      C(pri=) (V(-1) without one), C(discard) its policy (V(off) without one); null values without an entry.
  returned: always
  type: dict
  sample:
    active: {live: {before: false, after: true}, file: {before: false, after: true}}
    size: {live: {before: null, after: 2147479552}}
    used: {live: {before: null, after: 0}}
    priority: {live: {before: null, after: 10}, file: {before: null, after: 10}}
    discard: {live: {before: null, after: "off"}, file: {before: null, after: "off"}}
    device_size: {live: {before: null, after: 2147483648}}
changed_settings:
  description: The attributes of RV(settings) where any layer moves, in RV(settings) order.
  returned: always
  type: list
  elements: str
  sample: [active, size, used, priority, discard, device_size]
actions:
  description:
    - What was done (or would be, in check mode), in order - V(swapoff), V(create), V(recreate), V(chmod),
      V(mkswap), V(swapon), V(fstab), V(delete).
  returned: always
  type: list
  elements: str
  sample: [create, mkswap, swapon, fstab]
path:
  description: The file the module edits, C(/etc/fstab); null with O(persist=false).
  returned: always
  type: str
  sample: /etc/fstab
file_text:
  description: The text of C(/etc/fstab) after the call (predicted in check mode); null with O(persist=false)
    or when there is no C(/etc/fstab).
  returned: always
  type: str
  sample: "UUID=9f1e / ext4 errors=remount-ro 0 1\n/swapfile none swap sw,pri=10 0 0\n"
backup_file:
  description: The copy of C(/etc/fstab) made with O(backup=true) before it was edited; null otherwise (and in
    check mode).
  returned: always
  type: str
  sample: /etc/fstab.4242.2026-12-03@10:31:04~
device:
  description: The swap file or device, as given.
  returned: always
  type: str
  sample: /swapfile
type:
  description: V(file) or V(partition) (any block device).
  returned: always
  type: str
  sample: file
fstab_line:
  description: The device's fstab entry after the call; null when it has none or O(persist=false).
  returned: always
  type: str
  sample: "/swapfile none swap sw,pri=10 0 0\n"
method:
  description: How the file was (or would be) written - V(fallocate), V(dd), V(btrfs mkswapfile) or
    V(nocow fallocate); null when no file is created.
  returned: always
  type: str
  sample: fallocate
daemon_reload:
  description: Whether C(systemctl daemon-reload) ran (or would run) after an fstab change.
  returned: always
  type: bool
  sample: true
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import (
    _files,
    _fstab,
    _lock,
    _module,
    _mounts,
    _procfs,
    _swap,
)
from ansible_collections.memwise.linux.plugins.module_utils._command import Runner
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._transaction import Journal, describe

FSTAB = "/etc/fstab"
PROC_SWAPS = "/proc/swaps"
MEMINFO = "/proc/meminfo"
MOUNTINFO = "/proc/self/mountinfo"
SYSTEMD_RUN = "/run/systemd/system"


def _read(path):
    text, reason = _procfs.read_text(path)
    if text is None:
        raise MemwiseError("cannot read the host's state: %s; nothing changed" % reason)
    return text


def read_swaps():
    return _procfs.parse_swaps(_read(PROC_SWAPS))


def device_size(path, st):
    if stat.S_ISREG(st.st_mode):
        return st.st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def _where(state, path, mounts):
    """The file system that holds (or would hold) the file: mount point, type, free bytes."""
    state["parent"] = os.path.dirname(path) or "/"
    state["parent_exists"] = os.path.isdir(state["parent"])
    if state["parent_exists"]:
        mount = _mounts.mount_of(mounts, os.path.realpath(state["parent"]))
        vfs = os.statvfs(state["parent"])
        state.update(mount_point=mount["mount_point"], fstype=mount["fstype"], free=vfs.f_bavail * vfs.f_frsize)


def read_state(run, path, page):
    """Everything ``_swap.plan`` needs, read from the host (commands: blkid, btrfs --help; nothing changes)."""
    real = os.path.realpath(path)
    swaps = read_swaps()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    state = {"kind": _swap.kind_of(st and st.st_mode), "real": real, "swaps": swaps, "page": page}
    state.update(mounted=None, holes=False, active=next((d for d in swaps if d["path"] == real), None))
    blkid = {}
    if state["kind"] in ("file", "partition"):
        rc, out, _err = run(["blkid", "-p", "-o", "export", path], ok_rc=(0, 2))
        blkid = _swap.parse_blkid(out) if rc == 0 else {}
        state["device_size"] = device_size(path, st)
        state["holes"] = state["kind"] == "file" and st.st_blocks * 512 < st.st_size
        state["mode_ok"] = not st.st_mode & 0o077 and st.st_uid == 0
    else:
        state.update(device_size=None, mode_ok=False)
    state["signature"] = _swap.signature_of(blkid)
    mounts = _mounts.parse(_read(MOUNTINFO), MOUNTINFO)
    if state["kind"] == "partition":
        rdev = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        state["mounted"] = next((m["mount_point"] for m in mounts if m["device"] == rdev), None)
    else:
        _where(state, path, mounts)
    if state.get("fstype") == "btrfs" and run.module.get_bin_path("btrfs"):
        state["btrfs_mkswapfile"] = run(["btrfs", "filesystem", "mkswapfile", "--help"], check=False)[0] == 0
    names = {path, real} | (_swap.tag_names(blkid) if state["kind"] == "partition" else set())
    state["same"] = lambda spec: spec in names or (spec.startswith("/") and os.path.realpath(spec) == real)
    state["fstab"] = _files.read_optional(FSTAB)
    found = _fstab.swap_entries(state["fstab"] or "", state["same"])
    state["entry"] = _swap.entry_of(found[0][1]) if found else None
    state["live_discard"] = state["entry"]["discard"] if state["entry"] and state["active"] else None
    return state


def _gone(signature, how):
    raise MemwiseError("its old content (%s) is lost; %s" % (signature or "no signature", how))


class Apply:
    """Performs the plan's actions one by one, each recorded in a journal with the step that undoes it."""

    def __init__(self, run, want, state, plan):
        self.run, self.want, self.state, self.plan = run, want, state, plan
        self.path = want["device"]
        self.journal = Journal()

    def swapoff(self):
        before = self.plan["before"]
        self.run(["swapoff", self.path])
        self.journal.did(
            "swapped %s on again (priority %s)" % (self.path, before["priority"]),
            lambda: self.run(_swap.swapon_argv(self.path, before["priority"], before["discard"])),
        )

    def make_file(self, size):
        method = _swap.create_method(self.state)
        if method == "btrfs mkswapfile":
            self.run(["btrfs", "filesystem", "mkswapfile", "--size", str(size), self.path])
        else:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            if method == "nocow fallocate":
                self.run(["chattr", "+C", self.path])
            if method == "dd" or not self._fallocate(size):
                count = ["count=%d" % size, "iflag=count_bytes", "conv=fsync,notrunc", "status=none"]
                self.run(["dd", "if=/dev/zero", "of=" + self.path, "bs=1M"] + count)
        self.chmod()

    def _fallocate(self, size):
        """Reserve the file's blocks; False where the file system refuses (dd writes them instead)."""
        try:
            self.run(["fallocate", "-l", str(size), self.path])
        except MemwiseError:
            return False
        return True

    def chmod(self):
        os.chmod(self.path, 0o600)
        if os.geteuid() == 0:
            os.chown(self.path, 0, 0)

    def create(self):
        self.journal.did("removed %s" % self.path, lambda: _files.remove(self.path))
        self.make_file(self.plan["after"]["device_size"])

    def recreate(self):
        old = self.state["device_size"]
        _files.remove(self.path)
        if self.state["signature"] == "swap":
            self.journal.did("rebuilt %s at its old size" % self.path, lambda: self._rebuild(old))
        else:
            self.journal.did(self.path, lambda: _gone(self.state["signature"], "force overwrote it"))
        self.make_file(self.plan["after"]["device_size"])

    def _rebuild(self, size):
        _files.remove(self.path)
        self.make_file(size)
        self.run(["mkswap", self.path])

    def mkswap(self):
        if self.plan["method"] != "btrfs mkswapfile":
            force = ["-f"] if self.want["force"] and self.state["kind"] == "partition" else []
            self.run(["mkswap"] + force + [self.path])
        if self.state["kind"] != "partition":
            return  # a file's mkswap is undone with the file
        if self.state["signature"]:
            self.journal.did(self.path, lambda: _gone(self.state["signature"], "mkswap overwrote it"))
        else:
            self.journal.did(
                "wiped the new swap signature of %s" % self.path, lambda: self.run(["wipefs", "-a", self.path])
            )

    def swapon(self):
        swapon = self.plan["swapon"]
        self.run(_swap.swapon_argv(self.path, swapon["priority"], swapon["discard"]))
        self.journal.did("swapped %s off" % self.path, lambda: self.run(["swapoff", self.path]))

    def fstab(self):
        before, after = self.plan["fstab_before"], self.plan["fstab_after"]
        _files.atomic_write(FSTAB, after, 0o644)
        self.journal.did("restored %s" % FSTAB, lambda: self._restore_fstab(before))
        self.daemon_reload()

    def _restore_fstab(self, text):
        if text is None:
            _files.remove(FSTAB)
        else:
            _files.atomic_write(FSTAB, text)
        self.daemon_reload()

    def daemon_reload(self):
        if os.path.isdir(SYSTEMD_RUN):
            self.run(["systemctl", "daemon-reload"])

    def delete(self):
        _files.remove(self.path)

    def __call__(self):
        """Every action in order; on any failure the journal undoes the earlier ones, newest first."""
        for action in self.plan["actions"]:
            try:
                getattr(self, action)()
            except Exception as exc:  # any failure, a bug too, rolls the journal back
                raise self.journal.fail("%s: %s failed: %s" % (self.path, action, describe(exc))) from exc
        self.journal.commit()


def read_back(path, plan):
    """The device as the kernel shows it after the run."""
    real = os.path.realpath(path)
    try:
        size = device_size(path, os.stat(path))
    except FileNotFoundError:
        size = None
    return _swap.read_back(plan["after"], next((d for d in read_swaps() if d["path"] == real), None), size)


def run(module):
    """The module's body for ``_module.run_module``: validate, read the host, plan, apply, read back."""
    params = module.params
    page = os.sysconf("SC_PAGE_SIZE")
    want = _swap.validate(params, page)
    _swap.check_options(want)
    runner = Runner(module)
    state = read_state(runner, want["device"], page)
    plan = _swap.plan(want, state, _procfs.parse_meminfo(_read(MEMINFO)))
    persist = params["persist"]
    result = {k: plan[k] for k in ("device", "type", "actions", "changed", "fstab_line", "method")}
    result.update(path=FSTAB if persist else None, file_text=plan["fstab_after"] if persist else None)
    result.update(backup_file=None, daemon_reload="fstab" in plan["actions"] and os.path.isdir(SYSTEMD_RUN))
    if not persist and params["state"] == "absent" and _fstab.swap_entries(state["fstab"], state["same"]):
        module.warn(
            "%s still lists %s (persist=false leaves it); the next boot will try to use it" % (FSTAB, want["device"])
        )
    live_after = plan["after"]
    if plan["changed"] and not module.check_mode:
        if params["backup"] and "fstab" in plan["actions"]:
            result["backup_file"] = _files.backup(FSTAB)
        try:
            Apply(runner, want, state, plan)()
        except MemwiseError as exc:
            exc.details["backup_file"] = result["backup_file"]
            raise
        live_after = read_back(want["device"], plan)
    result["settings"] = _swap.settings(plan, live_after)
    result["changed_settings"] = _module.changed_settings(result["settings"])
    if module._diff:
        moved = [(name, v["live"]["before"], v["live"]["after"]) for name, v in result["settings"].items()]
        files = [(FSTAB, plan["fstab_before"], plan["fstab_after"])] if persist else []
        result["diff"] = _module.diff("live %s" % want["device"], moved, files)
    return result


def main():
    module = _module.new_module(
        AnsibleModule,
        argument_spec=dict(
            device=dict(type="path", required=True),
            size=dict(type="raw"),
            priority=dict(type="int"),
            discard=dict(type="str", choices=["once", "pages", "both", "off"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            lock_timeout=dict(_lock.OPTION),
            persist=dict(type="bool", default=True),
            backup=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    _module.run_module(module, run)


if __name__ == "__main__":
    main()
