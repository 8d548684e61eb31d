# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: swap planning shared by the swap and zram modules.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

The one rule both modules apply before a ``swapoff`` (to resize or remove a swap
device): the pages it holds must fit in the memory the kernel can still hand
out, with a margin, or ``swapoff`` pushes the host into reclaim storms or the
OOM killer. The check is made up front, before anything changes.

For the swap module it also holds the pure half of its work: the option
checks (``validate``), the file-system rules for swap files
(``parse_mountinfo``, ``mount_of``, ``REFUSED_FS``), blkid output, and
``plan``, which turns the options and a state dict read from the host into
the ordered actions and the device as the kernel will show it. ``Undo``
records what a run did so a failure can reverse it.
"""

from __future__ import annotations

import stat

from ansible_collections.memwise.linux.plugins.module_utils import _fstab
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._procfs import unescape_octal
from ansible_collections.memwise.linux.plugins.module_utils._sizes import human_bytes, to_bytes

# The margin kept free after swapoff: 5 % of RAM, at least 64 MiB and at most 1 GiB.
MARGIN_PERCENT = 5
MARGIN_MIN = 64 * 1024**2
MARGIN_MAX = 1024**3


def swapoff_margin(mem_total):
    """Bytes of MemAvailable that must remain after a swapoff (see MARGIN_*)."""
    return max(MARGIN_MIN, min(MARGIN_MAX, mem_total * MARGIN_PERCENT // 100))


def check_swapoff(path, used, meminfo, action="swapoff"):
    """Refuse a swapoff of ``path`` whose ``used`` bytes do not fit in MemAvailable minus the margin.

    ``meminfo`` is ``_procfs.parse_meminfo`` output (bytes; ``MemAvailable`` and
    ``MemTotal`` are read). ``action`` names what needs the swapoff ("resize",
    "remove") for the message. Returns the margin used; raises ``MemwiseError``
    naming how much memory is missing.
    """
    available = meminfo.get("MemAvailable")
    total = meminfo.get("MemTotal")
    if available is None or total is None:
        raise MemwiseError(
            "%s: cannot %s safely: /proc/meminfo has no MemAvailable or MemTotal to check "
            "that its %s of used swap fits in memory" % (path, action, human_bytes(used))
        )
    margin = swapoff_margin(total)
    if used + margin > available:
        missing = used + margin - available
        raise MemwiseError(
            "%s: cannot %s: it holds %s of swapped-out pages, and MemAvailable is %s; swapoff must "
            "keep a margin of %s, so %s of memory is missing. Free memory (or wait until less swap "
            "is used) and run again; nothing was changed"
            % (path, action, human_bytes(used), human_bytes(available), human_bytes(margin), human_bytes(missing))
        )
    return margin


# ---------------------------------------------------------------------------
# The swap module: validation, file systems, and the plan from state dicts.
# ---------------------------------------------------------------------------

# File systems a swap file cannot live on: in memory, layered, over the network, read-only
# images, or without the block mapping swapon needs.
REFUSED_FS = {
    "tmpfs": "a tmpfs lives in memory (and in swap itself)",
    "ramfs": "a ramfs lives in memory",
    "devtmpfs": "devtmpfs lives in memory",
    "overlay": "overlayfs cannot hold a swap file",
    "nfs": "swap over NFS needs the network to free memory and can deadlock under memory pressure",
    "nfs4": "swap over NFS needs the network to free memory and can deadlock under memory pressure",
    "cifs": "a network file system cannot hold swap",
    "smb3": "a network file system cannot hold swap",
    "9p": "a network file system cannot hold swap",
    "virtiofs": "virtiofs cannot hold swap",
    "squashfs": "squashfs is read-only",
    "iso9660": "iso9660 is read-only",
    "zfs": "ZFS has no block mapping for swap files (use a zvol)",
    "proc": "it is not a disk file system",
    "sysfs": "it is not a disk file system",
}
# File systems where fallocate gives a swap file without holes; others are written with dd.
FALLOCATE_FS = ("ext4", "xfs", "btrfs")
MIN_PAGES = 10  # mkswap: "swap space needs to be at least 40 KiB" (10 pages of 4 KiB)
PRIORITY_MIN, PRIORITY_MAX = -1, 32767
DISCARD_SWAPON = {"both": "--discard", "once": "--discard=once", "pages": "--discard=pages", "off": None}


def parse_mountinfo(text):
    """Parse /proc/self/mountinfo: ``[{mount_point, device, fstype, source, options}]`` in mount order.

    ``device`` is the ``major:minor`` of the mounted file system.
    """
    mounts = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        left, sep, right = line.partition(" - ")
        words, tail = left.split(), right.split()
        if not sep or len(words) < 6 or len(tail) < 2:
            raise MemwiseError("/proc/self/mountinfo line %d is not in the kernel's format: %r" % (number, line))
        mounts.append(
            {
                "mount_point": unescape_octal(words[4]),
                "device": words[2],
                "fstype": tail[0],
                "source": unescape_octal(tail[1]),
                "options": words[5],
            }
        )
    return mounts


def mount_of(mounts, path):
    """The mount holding ``path`` (absolute, symlinks resolved): the longest mount point that is a
    prefix of it at a ``/`` boundary; of equal ones the last mounted (it hides the earlier)."""
    best = None
    for mount in mounts:
        point = mount["mount_point"].rstrip("/") or "/"
        inside = point in ("/", path) or path.startswith(point + "/")
        if inside and (best is None or len(point) >= len(best["mount_point"].rstrip("/") or "/")):
            best = mount
    if best is None:
        raise MemwiseError("%s: no mount in /proc/self/mountinfo holds it; is /proc mounted?" % path)
    return best


def parse_blkid(text):
    """Parse ``blkid -p -o export`` output into a dict (TYPE, UUID, LABEL, PART_ENTRY_UUID, ...)."""
    result = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            result[key.strip()] = value.strip()
    return result


def signature_of(blkid):
    """The signature ``blkid -p`` found: a file system/swap TYPE, ``partition table (gpt)``, or None."""
    if blkid.get("TYPE"):
        return blkid["TYPE"]
    if blkid.get("PTTYPE"):
        return "partition table (%s)" % blkid["PTTYPE"]
    return None


def tag_names(blkid):
    """The fstab device specs that name this device: ``UUID=...``, ``LABEL=...``, ``PARTUUID=...``..."""
    tags = (("UUID", "UUID"), ("LABEL", "LABEL"), ("PARTUUID", "PART_ENTRY_UUID"), ("PARTLABEL", "PART_ENTRY_NAME"))
    names = {"%s=%s" % (tag, blkid[key]) for tag, key in tags if blkid.get(key)}
    if blkid.get("PARTUUID"):
        names.add("PARTUUID=%s" % blkid["PARTUUID"])
    return names


def swapon_argv(path, priority, discard):
    """``swapon`` with the priority (-1 or None: the kernel's default) and the discard policy."""
    argv = ["swapon"]
    if priority is not None and priority >= 0:
        argv += ["-p", str(priority)]
    if discard and DISCARD_SWAPON[discard]:
        argv.append(DISCARD_SWAPON[discard])
    return argv + [path]


def kernel_size(disk_size, page):
    """The size /proc/swaps shows for a swap area of ``disk_size`` bytes: whole pages minus the header page."""
    return max(0, (disk_size // page - 1) * page)


def auto_priority(swaps, path):
    """The priority the kernel gives ``path`` when it is swapped on without one: one below the others'."""
    others = [d for d in swaps if d["path"] != path and d["priority"] < 0]
    return -2 - len(others)


def validate(params, page):
    """Check the options alone (no host needed); return the wanted state with ``size`` in bytes."""
    path = params["path"]
    if not path or not path.startswith("/"):
        raise MemwiseError(
            "path: %r is not an absolute path; give the swap file or device as /path; nothing changed" % (path,)
        )
    priority = params.get("priority")
    if priority is not None and not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise MemwiseError(
            "priority: %d is outside %d..%d (-1 lets the kernel choose, higher is used first); nothing changed"
            % (priority, PRIORITY_MIN, PRIORITY_MAX)
        )
    want = dict(params, size=None)
    if params.get("size") is not None:
        try:
            size = to_bytes(params["size"], name="size")
        except MemwiseError as exc:
            raise MemwiseError("%s; nothing changed" % exc) from None
        if size < MIN_PAGES * page:
            raise MemwiseError(
                "size: %s (%d bytes) is too small; a swap area needs at least %d pages (%s); nothing changed"
                % (params["size"], size, MIN_PAGES, human_bytes(MIN_PAGES * page))
            )
        if size % page:
            raise MemwiseError(
                "size: %s (%d bytes) is not a whole number of %d-byte pages; use %d or %d; nothing changed"
                % (params["size"], size, page, size - size % page, size - size % page + page)
            )
        want["size"] = size
    return want


def check_file_system(path, state):
    """Refuse a new swap file where it cannot work: missing directory, wrong file system, too little space."""
    parent = state["parent"]
    if not state["parent_exists"]:
        raise MemwiseError(
            "path: the directory %s of %s does not exist; create it first (or choose another path); nothing changed"
            % (parent, path)
        )
    fstype = state["fstype"]
    if fstype == "devtmpfs" and state["kind"] == "missing":
        raise MemwiseError(
            "path: %s does not exist: there is no such device (a swap file cannot live in %s, a devtmpfs); "
            "check the device name with lsblk; nothing changed" % (path, state["mount_point"])
        )
    why = REFUSED_FS.get(fstype) or ("a FUSE file system cannot hold swap" if fstype.startswith("fuse") else None)
    if why:
        raise MemwiseError(
            "path: %s would be on %s, a %s file system: %s. Put the swap file on a disk file system "
            "(ext4, xfs, btrfs); nothing changed" % (path, state["mount_point"], fstype, why)
        )


def check_space(path, state, needed):
    """Refuse when the file system of ``path`` has fewer than ``needed`` more bytes free."""
    if needed > state["free"]:
        raise MemwiseError(
            "size: %s more is needed for %s, but %s (%s) has only %s free; choose a smaller size or free space; "
            "nothing changed"
            % (human_bytes(needed), path, state["mount_point"], state["fstype"], human_bytes(state["free"]))
        )


def create_method(state):
    """How a new swap file is written on this file system."""
    if state["fstype"] == "btrfs":
        return "btrfs mkswapfile" if state.get("btrfs_mkswapfile") else "nocow fallocate"
    return "fallocate" if state["fstype"] in FALLOCATE_FS else "dd"


def _file_plan(want, state, actions):
    """Actions for the file itself: create, recreate (resize or a file with holes), chmod."""
    path, size = want["path"], want["size"]
    if state["kind"] == "missing":
        check_file_system(path, state)
        if size is None:
            raise MemwiseError(
                "size: %s does not exist, so size is required to create it (for example size: 2G); nothing changed"
                % path
            )
        check_space(path, state, size)
        return actions + ["create", "mkswap"], size
    if state["signature"] != "swap" and not want["force"]:
        raise MemwiseError(
            "path: %s exists and is not a swap file (%s); set force: true to overwrite it with swap, or choose "
            "another path; nothing changed" % (path, _found(state["signature"]))
        )
    target = state["disk_size"] if size is None else size
    if target < MIN_PAGES * state["page"]:
        raise MemwiseError("size: %s is too small to hold swap; give size to recreate it; nothing changed" % path)
    if target != state["disk_size"] or state["signature"] != "swap" or (state["holes"] and not state["active"]):
        check_file_system(path, state)
        check_space(path, state, max(0, target - state["disk_size"]))
        actions = actions + ["recreate", "mkswap"]
    elif not state["mode_ok"]:
        actions = actions + ["chmod"]
    return actions, target


def _found(signature):
    return "blkid finds an existing %s signature" % signature if signature else "blkid finds no swap signature"


def _device_plan(want, state, actions):
    """Actions for a block device: mkswap when it has no swap signature (another one only with force)."""
    path = want["path"]
    if want["size"] is not None:
        raise MemwiseError(
            "size: %s is a block device; its size is the device's (%s). Remove size, or resize the partition "
            "itself; nothing changed" % (path, human_bytes(state["disk_size"]))
        )
    if state["mounted"]:
        raise MemwiseError("path: %s is mounted at %s; unmount it first; nothing changed" % (path, state["mounted"]))
    if state["signature"] == "swap":
        return actions, state["disk_size"]
    if state["signature"] and not want["force"]:
        raise MemwiseError(
            "path: %s carries an existing %s signature; mkswap would destroy it. Set force: true to overwrite it "
            "(its data is lost), or choose another device; nothing changed" % (path, state["signature"])
        )
    return actions + ["mkswap"], state["disk_size"]


def _settings(want, state):
    """The priority and discard policy to activate with: asked for, else as the device or entry has them."""
    active, entry = state["active"], state["entry"]
    priority = want["priority"]
    if priority is None:
        priority = active["priority"] if active else (entry["priority"] if entry else -1)
    discard = want["discard"]
    if discard is None:
        discard = state["live_discard"] or (entry["discard"] if entry else "off")
    return max(priority, -1), discard


def _needs_cycle(want, state):
    """Why an active device must be swapped off and on again for its priority or discard policy (or None)."""
    active = state["active"]
    if want["priority"] is not None:
        now = active["priority"]
        if (want["priority"] == -1 and now >= 0) or (want["priority"] >= 0 and now != want["priority"]):
            return "change its priority"
    known, discard = state["live_discard"], want["discard"]
    # Unknown (no fstab entry records it): cycle only to turn discard on where the new entry records it.
    if discard is not None and known != discard and (known is not None or (want["persist"] and discard != "off")):
        return "change its discard policy"
    return None


def _fstab_plan(want, state):
    """The new fstab text (None: not managed) and the managed line."""
    if not want["persist"]:
        return state["fstab"], None
    present = want["state"] == "present"
    return _fstab.edit(
        state["fstab"] or "",
        state["same"],
        want["path"],
        priority=want["priority"],
        discard=want["discard"],
        present=present,
    )


def _check_kind(want, state):
    if state["kind"] in ("directory", "other"):
        raise MemwiseError(
            "path: %s is a %s, not a swap file or block device; nothing changed"
            % (want["path"], "directory" if state["kind"] == "directory" else "special file")
        )


def plan(want, state, meminfo):
    """What to do, in order, and the device as the kernel will show it: a dict for the module's result.

    ``want`` comes from ``validate``; ``state`` is what the module read from the host (see the
    swap module's ``read_state``). Raises MemwiseError before anything changes.
    """
    _check_kind(want, state)
    if want["state"] == "absent":
        return _absent_plan(want, state, meminfo)
    actions, disk_size = [], state["disk_size"]
    if state["kind"] == "partition":
        actions, disk_size = _device_plan(want, state, actions)
    else:
        actions, disk_size = _file_plan(want, state, actions)
    priority, discard = _settings(want, state)
    active = state["active"]
    if active and ("recreate" in actions or "mkswap" in actions):
        check_swapoff(want["path"], active["used"], meminfo, "resize")
        actions = ["swapoff"] + actions + ["swapon"]
    elif active:
        why = _needs_cycle(want, state)
        if why:
            check_swapoff(want["path"], active["used"], meminfo, why)
            actions += ["swapoff", "swapon"]
    else:
        actions.append("swapon")
    fstab_after, line = _fstab_plan(want, state)
    if fstab_after != state["fstab"] and want["persist"]:
        actions.append("fstab")
    cycled = "swapon" in actions
    after = {
        "active": True,
        "size": kernel_size(disk_size, state["page"]) if cycled else active["size"],
        "used": 0 if cycled else active["used"],
        "priority": (priority if priority >= 0 else auto_priority(state["swaps"], state["real"]))
        if cycled
        else active["priority"],
        "discard": discard if cycled or state["live_discard"] else None,
        "disk_size": disk_size,
    }
    return _result(want, state, actions, after, fstab=(fstab_after, line), swapon=(priority, discard))


def _absent_plan(want, state, meminfo):
    path, active = want["path"], state["active"]
    actions = []
    if state["kind"] == "file" and state["signature"] != "swap" and not active and not want["force"]:
        raise MemwiseError(
            "path: %s is not a swap file (%s); not deleting it. Set force: true to delete it anyway; nothing changed"
            % (path, _found(state["signature"]))
        )
    if active:
        check_swapoff(path, active["used"], meminfo, "remove")
        actions.append("swapoff")
    fstab_after, line = _fstab_plan(want, state)
    if fstab_after != state["fstab"] and want["persist"]:
        actions.append("fstab")
    if state["kind"] == "file":
        actions.append("delete")
    after = {"active": False, "size": None, "used": None, "priority": None, "discard": None}
    after["disk_size"] = state["disk_size"] if state["kind"] == "partition" else None
    return _result(want, state, actions, after, fstab=(fstab_after, line), swapon=(None, None))


def _result(want, state, actions, after, *, fstab, swapon):
    """The plan as the module reports it; ``fstab`` is ``(text after, line)``, ``swapon`` ``(priority, discard)``."""
    fstab_after, line = fstab
    priority, discard = swapon
    active = state["active"] or {}
    before = {
        "active": bool(active),
        "size": active.get("size"),
        "used": active.get("used"),
        "priority": active.get("priority"),
        "discard": state["live_discard"] if active else None,
        "disk_size": state["disk_size"],
    }
    return {
        "path": want["path"],
        "type": "partition" if state["kind"] == "partition" else "file",
        "actions": actions,
        "changed": bool(actions),
        "before": before,
        "after": after,
        "fstab_before": state["fstab"],
        "fstab_after": fstab_after,
        "fstab_line": line,
        "swapon": {"priority": priority, "discard": discard},
        "method": create_method(state) if {"create", "recreate"} & set(actions) else None,
    }


def kind_of(mode):
    """What a path is, from its ``st_mode`` (None: it does not exist)."""
    if mode is None:
        return "missing"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISBLK(mode):
        return "partition"
    return "directory" if stat.S_ISDIR(mode) else "other"


def read_back(planned, device, disk_size):
    """The plan's ``after`` with what the kernel shows: ``device`` from /proc/swaps (None: not active)."""
    after = dict(planned, active=bool(device), disk_size=disk_size)
    for key in ("size", "used", "priority"):
        after[key] = device[key] if device else None
    return after


def describe(device):
    """A device state as diff text: one ``key: value`` line each."""
    keys = ("active", "size", "used", "priority", "discard", "disk_size")
    return "".join("%s: %s\n" % (k, "-" if device.get(k) is None else device[k]) for k in keys)


class Undo:
    """What a run did, newest last, each with the step that reverses it; ``rollback`` runs them newest first."""

    def __init__(self):
        self.steps = []

    def push(self, description, undo):
        self.steps.append((description, undo))

    def rollback(self):
        """Undo every step; return ``(restored, errors)`` as text lists."""
        restored, errors = [], []
        for description, undo in reversed(self.steps):
            try:
                undo()
                restored.append(description)
            except Exception as exc:  # a failed undo is reported, the others still run
                errors.append("%s: %s" % (description, exc))
        self.steps = []
        return restored, errors
