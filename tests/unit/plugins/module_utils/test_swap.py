# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swap planning: the memory check, option checks, file-system rules and the plan for every case."""

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _fstab, _procfs, _swap
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES, read_fixture

MiB, GiB = 1024**2, 1024**3
PAGE = 4096
MEMINFO = {"MemTotal": 1 * GiB, "MemAvailable": 600 * MiB}
UUID = "UUID=5c0ffee0-1234-4abc-9def-00000000beef"


# --- check_swapoff ----------------------------------------------------------


def test_swapoff_fits_and_returns_the_margin():
    assert _swap.check_swapoff("/swapfile", 100 * MiB, MEMINFO) == 64 * MiB
    assert _swap.swapoff_margin(64 * GiB) == GiB
    assert _swap.swapoff_margin(4 * GiB) == 4 * GiB * 5 // 100


def test_swapoff_that_does_not_fit_says_how_much_is_missing():
    with pytest.raises(
        MemwiseError, match=r"^/swapfile: cannot resize: it holds 590 MiB .* so 54 MiB of memory is missing"
    ):
        _swap.check_swapoff("/swapfile", 590 * MiB, MEMINFO, "resize")
    with pytest.raises(MemwiseError, match="no MemAvailable or MemTotal"):
        _swap.check_swapoff("/swapfile", 0, {"MemTotal": GiB})


# --- validate ---------------------------------------------------------------


def params(**kwargs):
    base = dict(path="/swapfile", size=None, priority=None, discard=None, state="present", persist=True, force=False)
    base.update(kwargs)
    return base


@pytest.mark.parametrize(
    ("size", "expected"),
    [("2G", 2 * GiB), ("512M", 512 * MiB), ("1.5GiB", 3 * GiB // 2), ("1073741824", GiB), ("40K", 40960), (None, None)],
)
def test_validate_sizes(size, expected):
    assert _swap.validate(params(size=size), PAGE)["size"] == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "swapfile"}, r"^path: 'swapfile' is not an absolute path; .*nothing changed$"),
        ({"path": ""}, r"^path: '' is not an absolute path"),
        ({"priority": 40000}, r"^priority: 40000 is outside -1\.\.32767 .*nothing changed$"),
        ({"priority": -2}, r"^priority: -2 is outside -1\.\.32767"),
        ({"size": "lots"}, r"^size: 'lots' is not a size; .*nothing changed$"),
        ({"size": "-1G"}, r"^size: '-1G' is not a size"),
        ({"size": "36K"}, r"^size: 36K \(36864 bytes\) is too small; a swap area needs at least 10 pages \(40 KiB\)"),
        (
            {"size": "1000000"},
            r"^size: 1000000 \(1000000 bytes\) is not a whole number of 4096-byte pages; use 999424 or 1003520",
        ),
    ],
)
def test_validate_errors(kwargs, message):
    with pytest.raises(MemwiseError, match=message):
        _swap.validate(params(**kwargs), PAGE)


@pytest.mark.parametrize("priority", [-1, 0, 32767])
def test_validate_priority_bounds(priority):
    assert _swap.validate(params(priority=priority), PAGE)["priority"] == priority


# --- mounts and file systems ------------------------------------------------

MOUNTINFO = (
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "25 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw,size=485432k,nr_inodes=121358,mode=755\n"
    "26 25 0:24 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw\n"
    "30 22 0:26 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=99880k,mode=755\n"
    "40 22 254:16 / /var/lib rw,relatime shared:20 - xfs /dev/vdb rw,attr2\n"
    "41 22 0:40 / /srv/swap\\040files rw,relatime shared:21 - btrfs /dev/vdc rw,space_cache=v2,subvolid=5\n"
    "42 22 0:41 / /mnt/nfs rw,relatime shared:22 - nfs4 server:/export rw,vers=4.2\n"
    "43 22 0:42 / /tmp rw,relatime shared:23 - tmpfs tmpfs rw\n"
    "44 43 254:32 / /tmp rw,relatime shared:24 - ext4 /dev/vdd rw\n"
    "45 22 0:43 / /home/u/sshfs rw,relatime shared:25 - fuse.sshfs u@h:/ rw,user_id=0\n"
)


def test_parse_mountinfo():
    mounts = _swap.parse_mountinfo(MOUNTINFO)
    assert mounts[0] == {
        "mount_point": "/",
        "device": "254:0",
        "fstype": "ext4",
        "source": "/dev/vda",
        "options": "rw,relatime",
    }
    assert mounts[6]["mount_point"] == "/srv/swap files"
    with pytest.raises(MemwiseError, match=r"/proc/self/mountinfo line 1 is not in the kernel's format"):
        _swap.parse_mountinfo("22 1 254:0 / /\n")


@pytest.mark.parametrize(
    ("path", "mount_point", "fstype"),
    [
        ("/", "/", "ext4"),
        ("/swapfile", "/", "ext4"),
        ("/var/lib/swap", "/var/lib", "xfs"),
        ("/var/lib", "/var/lib", "xfs"),
        ("/var/library", "/", "ext4"),  # a prefix at a / boundary only
        ("/dev/shm", "/dev/shm", "tmpfs"),
        ("/dev/vdb", "/dev", "devtmpfs"),
        ("/srv/swap files", "/srv/swap files", "btrfs"),
        ("/mnt/nfs/x", "/mnt/nfs", "nfs4"),
        ("/tmp", "/tmp", "ext4"),  # the later mount on the same point hides the earlier
        ("/home/u/sshfs", "/home/u/sshfs", "fuse.sshfs"),
    ],
)
def test_mount_of_longest_prefix(path, mount_point, fstype):
    mount = _swap.mount_of(_swap.parse_mountinfo(MOUNTINFO), path)
    assert (mount["mount_point"], mount["fstype"]) == (mount_point, fstype)


@pytest.mark.parametrize(
    ("path", "mount_point", "fstype"),
    [
        ("/swapfile", "/", "ext4"),
        ("/tmp/swapfile", "/tmp", "tmpfs"),  # Debian 13 mounts a tmpfs on /tmp
        ("/dev/shm/swapfile", "/dev/shm", "tmpfs"),
        ("/dev/vdc", "/dev", "devtmpfs"),
        ("/run/lock/x", "/run/lock", "tmpfs"),
        ("/proc/sys/fs/binfmt_misc/x", "/proc/sys/fs/binfmt_misc", "binfmt_misc"),  # over the autofs mount
    ],
)
def test_mount_of_on_the_captured_debian_13_mountinfo(path, mount_point, fstype):
    with open(os.path.join(FIXTURES, "fstab", "mountinfo-deb13.txt"), encoding="utf-8") as handle:
        mounts = _swap.parse_mountinfo(handle.read())
    mount = _swap.mount_of(mounts, path)
    assert (mount["mount_point"], mount["fstype"]) == (mount_point, fstype)


def test_mount_of_without_a_mount_holding_the_path():
    with open(os.path.join(FIXTURES, "fstab", "mountinfo-deb13.txt"), encoding="utf-8") as handle:
        mounts = [m for m in _swap.parse_mountinfo(handle.read()) if m["mount_point"] != "/"]
    assert _swap.mount_of(mounts, "/sys/fs/cgroup/x")["fstype"] == "cgroup2"
    with pytest.raises(MemwiseError, match=r"^/swapfile: no mount in /proc/self/mountinfo holds it"):
        _swap.mount_of(mounts, "/swapfile")


def test_blkid_export():
    ext4 = _swap.parse_blkid("DEVNAME=/dev/vdb\nUUID=9f1e\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem\n")
    assert _swap.signature_of(ext4) == "ext4"
    swap = _swap.parse_blkid("DEVNAME=/dev/vda5\nUUID=5c0f\nLABEL=sw\nTYPE=swap\nPART_ENTRY_UUID=7f3a-05\n")
    assert _swap.signature_of(swap) == "swap"
    assert _swap.tag_names(swap) == {"UUID=5c0f", "LABEL=sw", "PARTUUID=7f3a-05"}
    assert _swap.signature_of(_swap.parse_blkid("PTUUID=ab\nPTTYPE=gpt\n")) == "partition table (gpt)"
    assert _swap.signature_of({}) is None


@pytest.mark.parametrize(
    ("priority", "discard", "argv"),
    [
        (None, None, ["swapon", "/swapfile"]),
        (-1, "off", ["swapon", "/swapfile"]),
        (0, "once", ["swapon", "-p", "0", "--discard=once", "/swapfile"]),
        (32767, "pages", ["swapon", "-p", "32767", "--discard=pages", "/swapfile"]),
        (10, "both", ["swapon", "-p", "10", "--discard", "/swapfile"]),
    ],
)
def test_swapon_argv(priority, discard, argv):
    assert _swap.swapon_argv("/swapfile", priority, discard) == argv


@pytest.mark.parametrize("source", ["deb13"])
def test_kernel_size_and_auto_priority_match_the_capture(source):
    swaps = _procfs.parse_swaps(read_fixture(source, "root/proc/swaps"))
    assert swaps[0]["size"] == _swap.kernel_size(256 * MiB, PAGE)
    assert _swap.auto_priority(swaps, "/swapfile") == -2
    assert _swap.auto_priority([dict(swaps[0], priority=-2)], "/new") == -3
    assert _swap.auto_priority([dict(swaps[0], priority=-2)], "/swapfile") == -2


# --- the plan ---------------------------------------------------------------


def state(**kwargs):
    """A host as the swap module reads it: /swapfile on ext4 with 10 GiB free, not there yet."""
    base = {
        "kind": "missing",
        "real": "/swapfile",
        "swaps": [],
        "page": PAGE,
        "mounted": None,
        "holes": False,
        "active": None,
        "disk_size": None,
        "mode_ok": False,
        "signature": None,
        "parent": "/",
        "parent_exists": True,
        "mount_point": "/",
        "fstype": "ext4",
        "free": 10 * GiB,
        "fstab": "/dev/vda / ext4 defaults 0 1\n",
        "entry": None,
        "live_discard": None,
        "same": lambda spec: spec == "/swapfile",
    }
    base.update(kwargs)
    return base


def swapfile(size=GiB, used=0, priority=-2, line="/swapfile none swap sw 0 0\n", **kwargs):
    """/swapfile of ``size`` bytes, active (``priority``) unless ``priority`` is None, with fstab ``line``."""
    active = None
    if priority is not None:
        active = {"path": "/swapfile", "type": "file", "size": size - PAGE, "used": used, "priority": priority}
    entry = None
    if line:
        p, d = _fstab.entry_options(_fstab.options_of(line))
        entry = {"priority": p, "discard": d}
    values = dict(
        kind="file",
        disk_size=size,
        mode_ok=True,
        signature="swap",
        active=active,
        swaps=[active] if active else [],
        fstab="/dev/vda / ext4 defaults 0 1\n" + (line or ""),
        entry=entry,
        live_discard=entry["discard"] if entry and active else None,
    )
    values.update(kwargs)
    return state(**values)


def plan(st, **kwargs):
    return _swap.plan(_swap.validate(params(**kwargs), PAGE), st, MEMINFO)


def test_new_file_full_plan():
    result = plan(state(), size="1G", priority=10)
    assert result["actions"] == ["create", "mkswap", "swapon", "fstab"]
    assert result["changed"] is True and result["type"] == "file" and result["method"] == "fallocate"
    assert result["before"] == dict.fromkeys(("size", "used", "priority", "discard", "disk_size"), None) | {
        "active": False
    }
    assert result["after"] == {
        "active": True,
        "size": GiB - PAGE,
        "used": 0,
        "priority": 10,
        "discard": "off",
        "disk_size": GiB,
    }
    assert result["fstab_line"] == "/swapfile none swap sw,pri=10 0 0\n"
    assert result["fstab_after"] == "/dev/vda / ext4 defaults 0 1\n/swapfile none swap sw,pri=10 0 0\n"
    assert result["swapon"] == {"priority": 10, "discard": "off"}


def test_new_file_without_priority_gets_the_next_automatic_one_and_no_fstab_with_persist_false():
    other = {"path": "/dev/vda5", "type": "partition", "size": GiB, "used": 0, "priority": -2}
    result = plan(state(swaps=[other]), size="64M", persist=False, discard="once")
    assert result["actions"] == ["create", "mkswap", "swapon"]
    assert result["after"]["priority"] == -3 and result["after"]["discard"] == "once"
    assert result["fstab_after"] == result["fstab_before"] and result["fstab_line"] is None


@pytest.mark.parametrize(
    ("fstype", "method", "extra"),
    [
        ("xfs", "fallocate", {}),
        ("ext3", "dd", {}),
        ("vfat", "dd", {}),
        ("btrfs", "btrfs mkswapfile", {"btrfs_mkswapfile": True}),
        ("btrfs", "nocow fallocate", {"btrfs_mkswapfile": False}),
    ],
)
def test_creation_method_by_file_system(fstype, method, extra):
    assert plan(state(fstype=fstype, **extra), size="64M")["method"] == method


def test_already_as_asked_changes_nothing():
    st = swapfile(priority=10, line="/swapfile none swap sw,pri=10 0 0\n")
    result = plan(st, size="1G", priority=10)
    assert result["actions"] == [] and result["changed"] is False
    assert result["after"] == result["before"]
    assert result["fstab_after"] == result["fstab_before"]
    assert plan(st)["actions"] == []  # nothing asked: nothing moves


def test_inactive_swap_file_is_swapped_on_with_its_fstab_priority():
    result = plan(swapfile(priority=None, line="/swapfile none swap sw,pri=7,discard=once 0 0\n"))
    assert result["actions"] == ["swapon"]
    assert result["swapon"] == {"priority": 7, "discard": "once"}
    assert result["after"]["priority"] == 7


@pytest.mark.parametrize(("size", "used"), [("2G", 0), ("512M", 100 * MiB)])
def test_resize_up_and_down(size, used):
    result = plan(swapfile(priority=5, used=used, line="/swapfile none swap sw,pri=5 0 0\n"), size=size)
    assert result["actions"] == ["swapoff", "recreate", "mkswap", "swapon"]
    new = _swap.validate(params(size=size), PAGE)["size"]
    assert result["after"] == {
        "active": True,
        "size": new - PAGE,
        "used": 0,
        "priority": 5,
        "discard": "off",
        "disk_size": new,
    }
    assert result["swapon"] == {"priority": 5, "discard": "off"}


def test_resize_of_an_inactive_file_needs_no_swapoff():
    assert plan(swapfile(priority=None), size="2G")["actions"] == ["recreate", "mkswap", "swapon"]


def test_resize_refused_when_used_swap_does_not_fit():
    with pytest.raises(MemwiseError, match=r"^/swapfile: cannot resize: it holds 590 MiB .*nothing was changed$"):
        plan(swapfile(used=590 * MiB), size="2G")


def test_resize_refused_when_growth_does_not_fit_on_disk():
    with pytest.raises(
        MemwiseError, match=r"^size: 2 GiB more is needed for /swapfile, but / \(ext4\) has only 1 GiB free"
    ):
        plan(swapfile(free=GiB), size="3G")
    assert plan(swapfile(free=0), size="512M")["actions"][1] == "recreate"  # shrinking needs no space


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"priority": 20}, "change its priority"),
        ({"priority": -1}, None),
        ({"discard": "pages"}, "change its discard policy"),
    ],
)
def test_priority_and_discard_change_cycle_the_active_device(kwargs, why):
    st = swapfile(priority=-2, line="/swapfile none swap sw 0 0\n")
    result = plan(st, **kwargs)
    if why is None:
        assert result["actions"] == []
        return
    assert result["actions"] == ["swapoff", "swapon", "fstab"]
    with pytest.raises(MemwiseError, match="^/swapfile: cannot %s: it holds" % why):
        plan(swapfile(priority=-2, used=590 * MiB, line="/swapfile none swap sw 0 0\n"), **kwargs)


def test_kernel_default_priority_asked_of_a_fixed_one():
    result = plan(swapfile(priority=5, line="/swapfile none swap sw,pri=5 0 0\n"), priority=-1)
    assert result["actions"] == ["swapoff", "swapon", "fstab"]
    assert result["after"]["priority"] == -2 and result["fstab_line"] == "/swapfile none swap sw 0 0\n"


def test_unknown_live_discard():
    st = swapfile(priority=-2, line=None)  # active, no fstab entry records its discard policy
    assert plan(st, discard="once")["actions"] == ["swapoff", "swapon", "fstab"]
    assert plan(st, discard="off")["actions"] == ["fstab"]
    assert plan(st, discard="once", persist=False)["actions"] == []


def test_mode_and_holes():
    assert plan(swapfile(mode_ok=False))["actions"] == ["chmod"]
    assert plan(swapfile(priority=None, holes=True))["actions"] == ["recreate", "mkswap", "swapon"]


def test_existing_file_without_swap_signature():
    st = swapfile(priority=None, signature=None, line=None)
    with pytest.raises(
        MemwiseError,
        match=r"^path: /swapfile exists and is not a swap file \(blkid finds no swap signature\); set force",
    ):
        plan(st)
    with pytest.raises(MemwiseError, match=r"\(blkid finds an existing ext4 signature\)"):
        plan(swapfile(priority=None, signature="ext4"))
    assert plan(st, force=True)["actions"] == ["recreate", "mkswap", "swapon", "fstab"]


@pytest.mark.parametrize(
    ("st", "kwargs", "message"),
    [
        (state(), {}, r"^size: /swapfile does not exist, so size is required to create it"),
        (
            state(parent_exists=False, parent="/nope"),
            {"path": "/nope/swap", "size": "1G"},
            r"^path: the directory /nope of /nope/swap does not exist",
        ),
        (
            state(fstype="tmpfs", mount_point="/dev/shm"),
            {"size": "1G"},
            r"^path: /swapfile would be on /dev/shm, a tmpfs file system: a tmpfs lives in memory",
        ),
        (state(fstype="nfs4"), {"size": "1G"}, r"a nfs4 file system: swap over NFS"),
        (
            state(fstype="devtmpfs", mount_point="/dev", parent="/dev"),
            {"path": "/dev/vdc"},
            r"^path: /dev/vdc does not exist: there is no such device \(a swap file cannot live in /dev, a devtmpfs\)",
        ),
        (state(fstype="overlay"), {"size": "1G"}, r"a overlay file system: overlayfs cannot hold a swap file"),
        (state(fstype="squashfs"), {"size": "1G"}, r"squashfs is read-only"),
        (state(fstype="ramfs"), {"size": "1G"}, r"a ramfs lives in memory"),
        (state(fstype="cifs"), {"size": "1G"}, r"a network file system"),
        (state(fstype="fuse.sshfs"), {"size": "1G"}, r"a FUSE file system cannot hold swap"),
        (
            state(free=GiB // 2),
            {"size": "1G"},
            r"^size: 1 GiB more is needed for /swapfile, but / \(ext4\) has only 512 MiB free",
        ),
        (state(kind="directory"), {}, r"^path: /swapfile is a directory, not a swap file or block device"),
        (state(kind="other"), {}, r"^path: /swapfile is a special file"),
        (swapfile(disk_size=4096, signature="swap", priority=None), {}, r"^size: /swapfile is too small to hold swap"),
    ],
)
def test_plan_errors_change_nothing(st, kwargs, message):
    with pytest.raises(MemwiseError, match=message) as exc:
        plan(st, **kwargs)
    assert "nothing changed" in str(exc.value)


# --- block devices ----------------------------------------------------------


def vdb(signature=None, priority=None, fstab="/dev/vda / ext4 defaults 0 1\n", **kwargs):
    active = None
    if priority is not None:
        active = {"path": "/dev/vdb", "type": "partition", "size": GiB - PAGE, "used": 0, "priority": priority}
    values = dict(
        kind="partition",
        real="/dev/vdb",
        disk_size=GiB,
        signature=signature,
        active=active,
        swaps=[active] if active else [],
        fstab=fstab,
        same=lambda spec: spec in ("/dev/vdb", UUID),
    )
    values.update(kwargs)
    return state(**values)


def test_empty_device_gets_mkswap():
    result = plan(vdb(), path="/dev/vdb", priority=3)
    assert result["type"] == "partition" and result["method"] is None
    assert result["actions"] == ["mkswap", "swapon", "fstab"]
    assert result["after"]["size"] == GiB - PAGE and result["after"]["disk_size"] == GiB
    assert result["fstab_line"] == "/dev/vdb none swap sw,pri=3 0 0\n"


def test_device_with_swap_signature_is_reused_and_its_uuid_entry_kept():
    fstab = (
        "# swap was on /dev/vdb during installation\n" + UUID + " none            swap    sw              0       0\n"
    )
    st = vdb(signature="swap", fstab=fstab, entry={"priority": -1, "discard": "off"})
    result = plan(st, path="/dev/vdb")
    assert result["actions"] == ["swapon"] and result["fstab_line"] == fstab.splitlines(True)[1]
    result = plan(st, path="/dev/vdb", priority=1)
    assert result["actions"] == ["swapon", "fstab"]
    assert result["fstab_line"] == UUID + " none            swap    sw,pri=1              0       0\n"


def test_device_with_another_signature():
    with pytest.raises(
        MemwiseError,
        match=r"^path: /dev/vdb carries an existing ext4 signature; mkswap would destroy it. Set force: true",
    ):
        plan(vdb(signature="ext4"), path="/dev/vdb")
    assert plan(vdb(signature="ext4"), path="/dev/vdb", force=True)["actions"] == ["mkswap", "swapon", "fstab"]


@pytest.mark.parametrize(
    ("st", "kwargs", "message"),
    [
        (vdb(), {"size": "1G"}, r"^size: /dev/vdb is a block device; its size is the device's \(1 GiB\)"),
        (
            vdb(signature="ext4", mounted="/data"),
            {"force": True},
            r"^path: /dev/vdb is mounted at /data; unmount it first",
        ),
    ],
)
def test_device_errors(st, kwargs, message):
    with pytest.raises(MemwiseError, match=message):
        plan(st, path="/dev/vdb", **kwargs)


# --- absent -----------------------------------------------------------------


def test_absent_active_file():
    result = plan(swapfile(priority=-2, used=10 * MiB), state="absent")
    assert result["actions"] == ["swapoff", "fstab", "delete"]
    assert result["after"] == {
        "active": False,
        "size": None,
        "used": None,
        "priority": None,
        "discard": None,
        "disk_size": None,
    }
    assert result["fstab_after"] == "/dev/vda / ext4 defaults 0 1\n" and result["fstab_line"] is None


def test_absent_refuses_a_swapoff_that_does_not_fit():
    with pytest.raises(MemwiseError, match=r"^/swapfile: cannot remove: it holds 590 MiB"):
        plan(swapfile(used=590 * MiB), state="absent")


def test_absent_when_already_gone_and_fstab_only():
    assert plan(state(), state="absent")["actions"] == []
    st = state(fstab="/dev/vda / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n")
    assert plan(st, state="absent")["actions"] == ["fstab"]
    assert plan(st, state="absent", persist=False)["actions"] == []


def test_absent_partition_keeps_the_device():
    st = vdb(signature="swap", priority=-2, fstab="/dev/vdb none swap sw 0 0\n")
    result = plan(st, path="/dev/vdb", state="absent")
    assert result["actions"] == ["swapoff", "fstab"]
    assert result["after"]["disk_size"] == GiB


def test_absent_refuses_to_delete_a_file_that_is_not_swap():
    with pytest.raises(
        MemwiseError,
        match=r"^path: /swapfile is not a swap file \(blkid finds an existing ext4 signature\); not deleting it",
    ):
        plan(swapfile(priority=None, signature="ext4", line=None), state="absent")
    assert plan(swapfile(priority=None, signature="ext4", line=None), state="absent", force=True)["actions"] == [
        "delete"
    ]


def test_describe_and_undo():
    assert _swap.describe({"active": True, "size": 1, "priority": -2}) == (
        "active: True\nsize: 1\nused: -\npriority: -2\ndiscard: -\ndisk_size: -\n"
    )
    done = []
    undo = _swap.Undo()
    undo.push("first", lambda: done.append(1))
    undo.push("broken", lambda: 1 / 0)
    undo.push("last", lambda: done.append(3))
    restored, errors = undo.rollback()
    assert restored == ["last", "first"] and done == [3, 1]
    assert errors == ["broken: division by zero"]
    assert undo.rollback() == ([], [])


def test_kind_of_and_read_back():
    assert [_swap.kind_of(m) for m in (None, 0o100600, 0o60660, 0o40755, 0o20666)] == [
        "missing",
        "file",
        "partition",
        "directory",
        "other",
    ]
    planned = {"active": True, "size": 1, "used": 0, "priority": 5, "discard": "once", "disk_size": 8192}
    device = {"path": "/swapfile", "type": "file", "size": 4096, "used": 4096, "priority": 5}
    assert _swap.read_back(planned, device, 8192) == dict(planned, size=4096, used=4096)
    assert _swap.read_back(planned, None, None) == dict(
        planned, active=False, size=None, used=None, priority=None, disk_size=None
    )
