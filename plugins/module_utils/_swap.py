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
checks (``validate``), the file-system rules for swap files (``REFUSED_FS``;
the mount table is read with ``_mounts``), blkid output, ``plan``, which turns
the options and a state dict read from the host into the ordered actions and
the device as the kernel will show it, and ``settings``, the result's
per-attribute ``live`` and ``file`` layers. Validation collects every problem
(of the options and of the host) and raises them together, before anything
changes.
"""

from __future__ import annotations

import stat

from ansible_collections.memwise.linux.plugins.module_utils import _fstab, _module
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError, invalid
from ansible_collections.memwise.linux.plugins.module_utils._sizes import human_bytes, to_bytes

# The margin kept free after swapoff: 5 % of RAM, at least 64 MiB and at most 1 GiB.
MARGIN_PERCENT = 5
MARGIN_MIN = 64 * 1024**2
MARGIN_MAX = 1024**3


def swapoff_margin(mem_total):
    """Bytes of MemAvailable that must remain after a swapoff (see MARGIN_*)."""
    return max(MARGIN_MIN, min(MARGIN_MAX, mem_total * MARGIN_PERCENT // 100))


def swapoff_problem(path, used, meminfo, action="swapoff"):
    """Why a swapoff of ``path`` holding ``used`` bytes cannot be done safely, or None when it fits."""
    available = meminfo.get("MemAvailable")
    total = meminfo.get("MemTotal")
    if available is None or total is None:
        return (
            "%s: cannot %s safely: /proc/meminfo has no MemAvailable or MemTotal to check "
            "that its %s of used swap fits in memory" % (path, action, human_bytes(used))
        )
    margin = swapoff_margin(total)
    if used + margin > available:
        missing = used + margin - available
        return (
            "%s: cannot %s: it holds %s of swapped-out pages, and MemAvailable is %s; swapoff must "
            "keep a margin of %s, so %s of memory is missing. Free memory (or wait until less swap "
            "is used) and run again"
            % (path, action, human_bytes(used), human_bytes(available), human_bytes(margin), human_bytes(missing))
        )
    return None


def check_swapoff(path, used, meminfo, action="swapoff"):
    """Refuse a swapoff of ``path`` whose ``used`` bytes do not fit in MemAvailable minus the margin.

    ``meminfo`` is ``_procfs.parse_meminfo`` output (bytes; ``MemAvailable`` and
    ``MemTotal`` are read). ``action`` names what needs the swapoff ("resize",
    "remove") for the message. Returns the margin used; raises ``MemwiseError``
    naming how much memory is missing.
    """
    problem = swapoff_problem(path, used, meminfo, action)
    if problem:
        raise MemwiseError(problem + "; nothing was changed")
    return swapoff_margin(meminfo["MemTotal"])


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
MAX_SIZE = 2**63 - 1  # the largest file offset (off_t) Linux has
PRIORITY_MIN, PRIORITY_MAX = -1, 32767
DISCARD_SWAPON = {"both": "--discard", "once": "--discard=once", "pages": "--discard=pages", "off": None}
# The attributes of a swap area in the result's ``settings``, in order; those fstab also says have a file layer.
ATTRIBUTES = ("active", "size", "used", "priority", "discard", "device_size")
FILE_ATTRIBUTES = ("active", "priority", "discard")


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


def kernel_size(device_size, page):
    """The size /proc/swaps shows for a swap area of ``device_size`` bytes: whole pages minus the header page."""
    return max(0, (device_size // page - 1) * page)


def auto_priority(swaps, path):
    """The priority the kernel gives ``path`` when it is swapped on without one: one below the others'."""
    others = [d for d in swaps if d["path"] != path and d["priority"] < 0]
    return -2 - len(others)


def validate(params, page):
    """Check the options alone (no host needed): the wanted state with ``size`` in bytes.

    Every problem is collected in ``want["problems"]`` (text, each naming its option) and the
    options concerned in ``want["invalid"]``; an invalid ``size`` or ``priority`` is set to None
    so planning can go on and find the host's problems too. ``plan`` raises them all at once.
    """
    want = dict(params, size=None, problems=[], invalid=set())

    def bad(option, text):
        want["problems"].append(text)
        want["invalid"].add(option)

    device = params["device"]
    if not device or not device.startswith("/"):
        bad("device", "device: %r is not an absolute path; give the swap file or block device as /path" % (device,))
    elif any(ord(c) < 32 or c == "\x7f" for c in device):
        bad("device", "device: %r contains a control character (a newline?); /etc/fstab cannot hold it" % (device,))
    priority = params.get("priority")
    if priority is not None and not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        bad(
            "priority",
            "priority: %d is outside %d..%d (-1 lets the kernel choose, higher is used first)"
            % (priority, PRIORITY_MIN, PRIORITY_MAX),
        )
        want["priority"] = None
    if params.get("size") is not None:
        try:
            size = to_bytes(params["size"], name="size")
        except MemwiseError as exc:
            bad("size", str(exc))
            return want
        if size > MAX_SIZE:
            bad(
                "size",
                "size: %s (%d bytes) is more than a swap file can hold (%s)"
                % (params["size"], size, human_bytes(MAX_SIZE)),
            )
        elif size < MIN_PAGES * page:
            bad(
                "size",
                "size: %s (%d bytes) is too small; a swap area needs at least %d pages (%s)"
                % (params["size"], size, MIN_PAGES, human_bytes(MIN_PAGES * page)),
            )
        elif size % page:
            bad(
                "size",
                "size: %s (%d bytes) is not a whole number of %d-byte pages; use %d or %d"
                % (params["size"], size, page, size - size % page, size - size % page + page),
            )
        else:
            want["size"] = size
    return want


def check_options(want):
    """Raise every option problem at once when the device itself is unusable (the host cannot be read for it)."""
    if "device" in want["invalid"]:
        raise invalid(want["problems"])


def check_file_system(path, state, problems):
    """Refuse a swap file where it cannot work: missing directory, wrong file system. True when it can."""
    parent = state["parent"]
    if not state["parent_exists"]:
        problems.append(
            "device: the directory %s of %s does not exist; create it first (or choose another path)" % (parent, path)
        )
        return False
    fstype = state["fstype"]
    if fstype == "devtmpfs" and state["kind"] == "missing":
        problems.append(
            "device: %s does not exist: there is no such device (a swap file cannot live in %s, a devtmpfs); "
            "check the device name with lsblk" % (path, state["mount_point"])
        )
        return False
    why = REFUSED_FS.get(fstype) or ("a FUSE file system cannot hold swap" if fstype.startswith("fuse") else None)
    if why:
        problems.append(
            "device: %s would be on %s, a %s file system: %s. Put the swap file on a disk file system "
            "(ext4, xfs, btrfs)" % (path, state["mount_point"], fstype, why)
        )
        return False
    return True


def check_space(path, state, needed, problems):
    """Refuse when the file system of ``path`` has fewer than ``needed`` more bytes free."""
    if needed > state["free"]:
        problems.append(
            "size: %s more is needed for %s, but %s (%s) has only %s free; choose a smaller size or free space"
            % (human_bytes(needed), path, state["mount_point"], state["fstype"], human_bytes(state["free"]))
        )


def create_method(state):
    """How a new swap file is written on this file system."""
    fstype = state.get("fstype")  # none when the directory does not exist (refused)
    if fstype == "btrfs":
        return "btrfs mkswapfile" if state.get("btrfs_mkswapfile") else "nocow fallocate"
    return "fallocate" if fstype in FALLOCATE_FS else "dd"


def _file_plan(want, state, problems):
    """Actions for the file itself (create, recreate for a resize or a file with holes, chmod) and its size."""
    path, size = want["device"], want["size"]
    if state["kind"] == "missing":
        usable = check_file_system(path, state, problems)
        if size is None:
            if "size" not in want["invalid"]:
                problems.append(
                    "size: %s does not exist, so size is required to create it (for example size: 2G)" % path
                )
            return ["create", "mkswap"], 0
        if usable:
            check_space(path, state, size, problems)
        return ["create", "mkswap"], size
    if state["signature"] != "swap" and not want["force"]:
        problems.append(
            "device: %s exists and is not a swap file (%s); set force: true to overwrite it with swap, or choose "
            "another path" % (path, _found(state["signature"]))
        )
    target = state["device_size"] if size is None else size
    if target < MIN_PAGES * state["page"] and "size" not in want["invalid"]:
        problems.append("size: %s is too small to hold swap; give size to recreate it" % path)
    if target != state["device_size"] or state["signature"] != "swap" or (state["holes"] and not state["active"]):
        if check_file_system(path, state, problems):
            check_space(path, state, max(0, target - state["device_size"]), problems)
        return ["recreate", "mkswap"], target
    return (["chmod"] if not state["mode_ok"] else []), target


def _found(signature):
    return "blkid finds an existing %s signature" % signature if signature else "blkid finds no swap signature"


def _device_plan(want, state, problems):
    """Actions for a block device: mkswap when it has no swap signature (another one only with force)."""
    path = want["device"]
    if want["size"] is not None:
        problems.append(
            "size: %s is a block device; its size is the device's (%s). Remove size, or resize the partition itself"
            % (path, human_bytes(state["device_size"]))
        )
    if state["mounted"]:
        problems.append("device: %s is mounted at %s; unmount it first" % (path, state["mounted"]))
    if state["signature"] == "swap":
        return [], state["device_size"]
    if state["signature"] and not want["force"]:
        problems.append(
            "device: %s carries an existing %s signature; mkswap would destroy it. Set force: true to overwrite it "
            "(its data is lost), or choose another device" % (path, state["signature"])
        )
    return ["mkswap"], state["device_size"]


def _activation(want, state):
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
    """The new fstab text (the old one when not managed) and the managed line."""
    if not want["persist"]:
        return state["fstab"], None
    after, line = _fstab.edit(
        state["fstab"] or "",
        state["same"],
        want["device"],
        priority=want["priority"],
        discard=want["discard"],
        present=want["state"] == "present",
    )
    if state["fstab"] is None and not after:
        return None, line  # no /etc/fstab and nothing to put in it: none is created
    return after, line


def _check_kind(want, state, problems):
    if state["kind"] in ("directory", "other"):
        problems.append(
            "device: %s is a %s, not a swap file or block device"
            % (want["device"], "directory" if state["kind"] == "directory" else "special file")
        )
        raise invalid(problems)


def plan(want, state, meminfo):
    """What to do, in order, and the device as the kernel will show it: a dict for the module's result.

    ``want`` comes from ``validate``; ``state`` is what the module read from the host (see the
    swap module's ``read_state``). Raises one MemwiseError naming every problem, of the options
    and of the host, before anything changes.
    """
    problems = list(want["problems"])
    _check_kind(want, state, problems)
    if want["state"] == "absent":
        result = _absent_plan(want, state, meminfo, problems)
    else:
        result = _present_plan(want, state, meminfo, problems)
    if problems:
        raise invalid(problems)
    return result


def _cycle_problem(want, state, meminfo, why, problems):
    problem = swapoff_problem(want["device"], state["active"]["used"], meminfo, why)
    if problem:
        problems.append(problem)


def _present_plan(want, state, meminfo, problems):
    if state["kind"] == "partition":
        actions, device_size = _device_plan(want, state, problems)
    else:
        actions, device_size = _file_plan(want, state, problems)
    priority, discard = _activation(want, state)
    active = state["active"]
    if active and ("recreate" in actions or "mkswap" in actions):
        _cycle_problem(want, state, meminfo, "resize", problems)
        actions = ["swapoff"] + actions + ["swapon"]
    elif active:
        why = _needs_cycle(want, state)
        if why:
            _cycle_problem(want, state, meminfo, why, problems)
            actions += ["swapoff", "swapon"]
    else:
        actions.append("swapon")
    fstab_after, line = _fstab_plan(want, state)
    if fstab_after != state["fstab"]:
        actions.append("fstab")
    cycled = "swapon" in actions
    after = {
        "active": True,
        "size": kernel_size(device_size, state["page"]) if cycled else active["size"],
        "used": 0 if cycled else active["used"],
        "priority": (priority if priority >= 0 else auto_priority(state["swaps"], state["real"]))
        if cycled
        else active["priority"],
        "discard": discard if cycled or state["live_discard"] else None,
        "device_size": device_size,
    }
    return _result(want, state, actions, after, fstab=(fstab_after, line), swapon=(priority, discard))


def _absent_plan(want, state, meminfo, problems):
    path, active = want["device"], state["active"]
    actions = []
    if state["kind"] == "file" and state["signature"] != "swap" and not active and not want["force"]:
        problems.append(
            "device: %s is not a swap file (%s); not deleting it. Set force: true to delete it anyway"
            % (path, _found(state["signature"]))
        )
    if active:
        _cycle_problem(want, state, meminfo, "remove", problems)
        actions.append("swapoff")
    fstab_after, line = _fstab_plan(want, state)
    if fstab_after != state["fstab"]:
        actions.append("fstab")
    if state["kind"] == "file":
        actions.append("delete")
    after = {"active": False, "size": None, "used": None, "priority": None, "discard": None}
    after["device_size"] = state["device_size"] if state["kind"] == "partition" else None
    return _result(want, state, actions, after, fstab=(fstab_after, line), swapon=(None, None))


def entry_of(line):
    """What an fstab line says of the device: ``{priority, discard}`` (-1 and ``off`` when unset), None without."""
    if line is None:
        return None
    priority, discard = _fstab.entry_options(_fstab.options_of(line))
    return {"priority": priority, "discard": discard}


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
        "device_size": state["device_size"],
    }
    return {
        "device": want["device"],
        "type": "partition" if state["kind"] == "partition" else "file",
        "actions": actions,
        "changed": bool(actions),
        "before": before,
        "after": after,
        "persist": want["persist"],
        "entry_before": state["entry"],
        "entry_after": entry_of(line) if want["persist"] else state["entry"],
        "fstab_before": state["fstab"],
        "fstab_after": fstab_after,
        "fstab_line": line,
        "swapon": {"priority": priority, "discard": discard},
        "method": create_method(state) if {"create", "recreate"} & set(actions) else None,
    }


def _file_layer(entry):
    """The file layer's values: whether fstab lists the device, and the priority and discard policy it sets."""
    if entry is None:
        return {"active": False, "priority": None, "discard": None}
    return {"active": True, "priority": entry["priority"], "discard": entry["discard"]}


def settings(planned, live_after):
    """The result's ``settings``: per attribute the ``live`` layer (``/proc/swaps``, the device) and, when the
    module manages /etc/fstab (``persist``), the ``file`` layer of what its entry says."""
    file_before, file_after = _file_layer(planned["entry_before"]), _file_layer(planned["entry_after"])
    result = {}
    for name in ATTRIBUTES:
        layers = {"live": _module.layer(planned["before"][name], live_after[name])}
        if planned["persist"] and name in FILE_ATTRIBUTES:
            layers["file"] = _module.layer(file_before[name], file_after[name])
        result[name] = layers
    return result


def kind_of(mode):
    """What a path is, from its ``st_mode`` (None: it does not exist)."""
    if mode is None:
        return "missing"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISBLK(mode):
        return "partition"
    return "directory" if stat.S_ISDIR(mode) else "other"


def read_back(planned, device, device_size):
    """The plan's ``after`` with what the kernel shows: ``device`` from /proc/swaps (None: not active)."""
    after = dict(planned, active=bool(device), device_size=device_size)
    for key in ("size", "used", "priority"):
        after[key] = device[key] if device else None
    return after
