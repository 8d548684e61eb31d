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
  - Every option and the host are checked before anything changes - the path, the size, the priority,
    the file system that would hold a new file (tmpfs, overlay, NFS, CIFS, squashfs, ramfs, ZFS and FUSE
    are refused), its free space, another signature on a device, and whether the memory can absorb the
    used swap of a device that must be swapped off. Any error names the option and says nothing changed.
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
    change so the generated C(.swap) unit matches.
  - Transactional - when a step fails after changes began, what this run did is undone (a device it swapped
    on is swapped off, a file it created removed, a resized file rebuilt at its old size and swapped on
    with its old priority, C(/etc/fstab) restored, a swap signature it put on an empty device wiped) and the
    failure says what was restored. What O(force) overwrote cannot come back, and the failure says so.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
attributes:
  check_mode:
    support: full
    details: Check mode runs every check and reports the actions, the device and the fstab text a real run
      would produce, changing nothing.
  diff_mode:
    support: full
    details: Shows the device (active, size, used, priority, discard, size on disk) and C(/etc/fstab) before
      and after.
  idempotent:
    support: full
    details: A device already as asked is left alone, so a second run reports no change.
options:
  path:
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
  - name: swapon(8)
    description: Priorities and discard policies.
    link: https://man7.org/linux/man-pages/man8/swapon.8.html
  - name: Btrfs swapfile
    description: The rules for swap files on btrfs.
    link: https://btrfs.readthedocs.io/en/latest/Swapfile.html
  - module: memwise.linux.memory_facts
    description: The swap devices and their use, as facts.
"""

EXAMPLES = r"""
---
- name: A 2 GiB swap file, used after faster devices, persisted in /etc/fstab
  memwise.linux.swap:
    path: /swapfile
    size: 2G
    priority: 10

- name: Grow it (only if the pages it holds fit in memory while it is swapped off)
  memwise.linux.swap:
    path: /swapfile
    size: 4G

- name: Swap on a partition, discarding freed pages
  memwise.linux.swap:
    path: /dev/disk/by-partlabel/swap
    discard: pages

- name: Reuse a disk that held a file system (its data is lost)
  memwise.linux.swap:
    path: /dev/vdb
    force: true

- name: Remove the swap file and its fstab entry
  memwise.linux.swap:
    path: /swapfile
    state: absent
"""

RETURN = r"""
---
path:
  description: The swap file or device, as given.
  returned: always
  type: str
  sample: /swapfile
type:
  description: V(file) or V(partition) (any block device).
  returned: always
  type: str
  sample: file
actions:
  description:
    - What was done (or would be, in check mode), in order - V(swapoff), V(create), V(recreate), V(chmod),
      V(mkswap), V(swapon), V(fstab), V(delete).
  returned: always
  type: list
  elements: str
  sample: [create, mkswap, swapon, fstab]
before:
  description:
    - The device before the call as the kernel showed it in C(/proc/swaps) - C(active), C(size) and C(used)
      in bytes, C(priority) - plus C(discard) (from the fstab entry; null when unknown) and C(disk_size), the
      size of the file or device in bytes (null when it does not exist).
  returned: always
  type: dict
  sample: {active: false, size: null, used: null, priority: null, discard: null, disk_size: null}
after:
  description:
    - The device after the call, read back from C(/proc/swaps) (predicted in check mode); keys as in RV(before).
  returned: always
  type: dict
  sample: {active: true, size: 2147479552, used: 0, priority: 10, discard: "off", disk_size: 2147483648}
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

from ansible_collections.memwise.linux.plugins.module_utils import _files, _fstab, _procfs, _swap
from ansible_collections.memwise.linux.plugins.module_utils._command import Runner
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

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


def disk_size(path, st):
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
        mount = _swap.mount_of(mounts, os.path.realpath(state["parent"]))
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
    state = {
        "kind": _swap.kind_of(st and st.st_mode),
        "real": real,
        "swaps": swaps,
        "page": page,
        "mounted": None,
        "holes": False,
    }
    state["active"] = next((d for d in swaps if d["path"] == real), None)
    blkid = {}
    if state["kind"] in ("file", "partition"):
        rc, out, _err = run(["blkid", "-p", "-o", "export", path], ok_rc=(0, 2))
        blkid = _swap.parse_blkid(out) if rc == 0 else {}
        state["disk_size"] = disk_size(path, st)
        state["holes"] = state["kind"] == "file" and st.st_blocks * 512 < st.st_size
        state["mode_ok"] = not st.st_mode & 0o077 and st.st_uid == 0
    else:
        state.update(disk_size=None, mode_ok=False)
    state["signature"] = _swap.signature_of(blkid)
    mounts = _swap.parse_mountinfo(_read(MOUNTINFO))
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
    entry = _fstab.entry_options(_fstab.options_of(found[0][1])) if found else None
    state["entry"] = {"priority": entry[0], "discard": entry[1]} if entry else None
    state["live_discard"] = entry[1] if entry and state["active"] else None
    return state


def _gone(signature, how):
    raise MemwiseError("its old content (%s) is lost; %s" % (signature or "no signature", how))


class Apply:
    """Performs the plan's actions one by one, each registering how to undo it."""

    def __init__(self, run, want, state, plan):
        self.run, self.want, self.state, self.plan = run, want, state, plan
        self.path = want["path"]
        self.undo = _swap.Undo()
        self.reloaded = False

    def swapoff(self):
        before = self.plan["before"]
        self.run(["swapoff", self.path])
        self.undo.push(
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
        self.undo.push("removed %s" % self.path, lambda: _files.remove(self.path))
        self.make_file(self.plan["after"]["disk_size"])

    def recreate(self):
        old = self.state["disk_size"]
        _files.remove(self.path)
        if self.state["signature"] == "swap":
            self.undo.push("rebuilt %s at its old size" % self.path, lambda: self._rebuild(old))
        else:
            self.undo.push("%s" % self.path, lambda: _gone(self.state["signature"], "force overwrote it"))
        self.make_file(self.plan["after"]["disk_size"])

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
            self.undo.push(self.path, lambda: _gone(self.state["signature"], "mkswap overwrote it"))
        else:
            self.undo.push(
                "wiped the new swap signature of %s" % self.path, lambda: self.run(["wipefs", "-a", self.path])
            )

    def swapon(self):
        swapon = self.plan["swapon"]
        self.run(_swap.swapon_argv(self.path, swapon["priority"], swapon["discard"]))
        self.undo.push("swapped %s off" % self.path, lambda: self.run(["swapoff", self.path]))

    def fstab(self):
        before, after = self.plan["fstab_before"], self.plan["fstab_after"]
        mode = stat.S_IMODE(os.stat(FSTAB).st_mode) if before is not None else 0o644
        _files.atomic_write(FSTAB, after, mode)
        self.undo.push("restored %s" % FSTAB, lambda: self._restore_fstab(before, mode))
        self.daemon_reload()

    def _restore_fstab(self, text, mode):
        if text is None:
            _files.remove(FSTAB)
        else:
            _files.atomic_write(FSTAB, text, mode)
        self.daemon_reload()

    def daemon_reload(self):
        if os.path.isdir(SYSTEMD_RUN):
            self.run(["systemctl", "daemon-reload"])
            self.reloaded = True

    def delete(self):
        _files.remove(self.path)

    def __call__(self):
        for action in self.plan["actions"]:
            try:
                getattr(self, action)()
            except (MemwiseError, OSError) as exc:
                restored, errors = self.undo.rollback()
                raise MemwiseError(
                    "%s: %s failed: %s; %s%s"
                    % (
                        self.path,
                        action,
                        exc,
                        ("undone: " + ", ".join(restored)) if restored else "nothing had changed before it",
                        ("; could not undo: " + "; ".join(errors)) if errors else "",
                    )
                ) from None


def read_back(path, plan):
    """The device as the kernel shows it after the run."""
    real = os.path.realpath(path)
    try:
        size = disk_size(path, os.stat(path))
    except FileNotFoundError:
        size = None
    return _swap.read_back(plan["after"], next((d for d in read_swaps() if d["path"] == real), None), size)


def run_module(module, run):
    params = module.params
    page = os.sysconf("SC_PAGE_SIZE")
    want = _swap.validate(params, page)
    state = read_state(run, want["path"], page)
    plan = _swap.plan(want, state, _procfs.parse_meminfo(_read(MEMINFO)))
    fstab_changed = "fstab" in plan["actions"]
    result = {k: plan[k] for k in ("path", "type", "actions", "changed", "before", "after", "fstab_line", "method")}
    result["daemon_reload"] = fstab_changed and os.path.isdir(SYSTEMD_RUN)
    if not params["persist"] and params["state"] == "absent" and _fstab.swap_entries(state["fstab"], state["same"]):
        module.warn(
            "%s still lists %s (persist=false leaves it); the next boot will try to use it" % (FSTAB, want["path"])
        )
    if plan["changed"] and not module.check_mode:
        Apply(run, want, state, plan)()
        result["after"] = read_back(want["path"], plan)
    if module._diff:
        result["diff"] = [
            {
                "before_header": "swap %s" % want["path"],
                "after_header": "swap %s" % want["path"],
                "before": _swap.describe(plan["before"]),
                "after": _swap.describe(result["after"]),
            }
        ]
        if params["persist"]:
            text = {"before": plan["fstab_before"] or "", "after": plan["fstab_after"] or ""}
            result["diff"].append(dict(text, before_header=FSTAB, after_header=FSTAB))
    return result


class SwapModule(AnsibleModule):
    """The result's ``path`` is the swap device: no file stats (owner, mode, ``state: file``) are added to it."""

    def add_path_info(self, kwargs):
        return kwargs


def main():
    module = SwapModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            size=dict(type="raw"),
            priority=dict(type="int"),
            discard=dict(type="str", choices=["once", "pages", "both", "off"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            persist=dict(type="bool", default=True),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        result = run_module(module, Runner(module))
    except MemwiseError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
