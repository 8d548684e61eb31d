# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swap planning: the memory check, option checks, file-system rules and the plan for every case."""

from __future__ import annotations

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _fstab, _procfs, _swap
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import read_fixture

MiB, GiB = 1024**2, 1024**3
PAGE = 4096
MEMINFO = {"MemTotal": 1 * GiB, "MemAvailable": 600 * MiB}
UUID = "UUID=5c0ffee0-1234-4abc-9def-00000000beef"
BAD = r"^invalid options, nothing changed: "


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
    base = dict(
        device="/swapfile",
        size=None,
        priority=None,
        discard=None,
        state="present",
        persist=True,
        backup=False,
        force=False,
    )
    base.update(kwargs)
    return base


@pytest.mark.parametrize(
    ("size", "expected"),
    [("2G", 2 * GiB), ("512M", 512 * MiB), ("1.5GiB", 3 * GiB // 2), ("1073741824", GiB), ("40K", 40960), (None, None)],
)
def test_validate_sizes(size, expected):
    assert _swap.validate(params(size=size), PAGE)["size"] == expected


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        (
            {"device": "swapfile"},
            "device: 'swapfile' is not an absolute path; give the swap file or block device as /path",
        ),
        ({"device": ""}, "device: '' is not an absolute path"),
        ({"priority": 40000}, "priority: 40000 is outside -1..32767 (-1 lets the kernel choose, higher is used first)"),
        ({"priority": -2}, "priority: -2 is outside -1..32767"),
        ({"size": "lots"}, "size: 'lots' is not a size; "),
        ({"size": "-1G"}, "size: '-1G' is not a size"),
        ({"size": "36K"}, "size: 36K (36864 bytes) is too small; a swap area needs at least 10 pages (40 KiB)"),
        (
            {"size": "1000000"},
            "size: 1000000 (1000000 bytes) is not a whole number of 4096-byte pages; use 999424 or 1003520",
        ),
    ],
)
def test_validate_errors(kwargs, problem):
    want = _swap.validate(params(**kwargs), PAGE)
    assert len(want["problems"]) == 1 and want["problems"][0].startswith(problem)
    assert want["invalid"] == set(kwargs)
    assert want["size"] is None and want["priority"] in (None, params()["priority"])


def test_validate_reports_every_bad_option_at_once():
    want = _swap.validate(params(device="swapfile", size="lots", priority=40000), PAGE)
    assert want["invalid"] == {"device", "size", "priority"}
    with pytest.raises(MemwiseError) as exc:
        _swap.check_options(want)
    message = str(exc.value)
    assert message.startswith("invalid options, nothing changed: device: 'swapfile' is not an absolute path")
    assert "; priority: 40000 is outside -1..32767" in message and "; size: 'lots' is not a size" in message


def test_validate_problems_come_with_the_hosts_problems():
    """A bad priority does not hide that the file would be on tmpfs and is too big for it."""
    want = _swap.validate(params(size="2G", priority=-7), PAGE)
    _swap.check_options(want)  # the device is usable: the host is read first
    with pytest.raises(MemwiseError) as exc:
        _swap.plan(want, state(fstype="tmpfs", mount_point="/dev/shm"), MEMINFO)
    assert str(exc.value) == (
        "invalid options, nothing changed: priority: -7 is outside -1..32767 (-1 lets the kernel choose, higher is "
        "used first); device: /swapfile would be on /dev/shm, a tmpfs file system: a tmpfs lives in memory (and in "
        "swap itself). Put the swap file on a disk file system (ext4, xfs, btrfs)"
    )
    with pytest.raises(MemwiseError) as exc:  # an invalid size does not add "size is required"
        _swap.plan(_swap.validate(params(size="lots"), PAGE), state(), MEMINFO)
    assert str(exc.value).count("size:") == 1


@pytest.mark.parametrize("priority", [-1, 0, 32767])
def test_validate_priority_bounds(priority):
    assert _swap.validate(params(priority=priority), PAGE)["priority"] == priority


# --- blkid, swapon, sizes ---------------------------------------------------


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
        "device_size": None,
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
        device_size=size,
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
    assert result["before"] == dict.fromkeys(("size", "used", "priority", "discard", "device_size"), None) | {
        "active": False
    }
    assert result["after"] == {
        "active": True,
        "size": GiB - PAGE,
        "used": 0,
        "priority": 10,
        "discard": "off",
        "device_size": GiB,
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
        "device_size": new,
    }
    assert result["swapon"] == {"priority": 5, "discard": "off"}


def test_resize_of_an_inactive_file_needs_no_swapoff():
    assert plan(swapfile(priority=None), size="2G")["actions"] == ["recreate", "mkswap", "swapon"]


def test_resize_refused_when_used_swap_does_not_fit():
    with pytest.raises(MemwiseError, match=BAD + r"/swapfile: cannot resize: it holds 590 MiB .*run again$"):
        plan(swapfile(used=590 * MiB), size="2G")


def test_resize_refused_when_growth_does_not_fit_on_disk():
    with pytest.raises(
        MemwiseError, match=BAD + r"size: 2 GiB more is needed for /swapfile, but / \(ext4\) has only 1 GiB free"
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
    with pytest.raises(MemwiseError, match=BAD + "/swapfile: cannot %s: it holds" % why):
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
        match=BAD + r"device: /swapfile exists and is not a swap file \(blkid finds no swap signature\); set force",
    ):
        plan(st)
    with pytest.raises(MemwiseError, match=r"\(blkid finds an existing ext4 signature\)"):
        plan(swapfile(priority=None, signature="ext4"))
    assert plan(st, force=True)["actions"] == ["recreate", "mkswap", "swapon", "fstab"]


@pytest.mark.parametrize(
    ("st", "kwargs", "message"),
    [
        (state(), {}, BAD + r"size: /swapfile does not exist, so size is required to create it"),
        (
            state(parent_exists=False, parent="/nope"),
            {"device": "/nope/swap", "size": "1G"},
            BAD + r"device: the directory /nope of /nope/swap does not exist",
        ),
        (
            state(fstype="tmpfs", mount_point="/dev/shm"),
            {"size": "1G"},
            BAD + r"device: /swapfile would be on /dev/shm, a tmpfs file system: a tmpfs lives in memory",
        ),
        (state(fstype="nfs4"), {"size": "1G"}, r"a nfs4 file system: swap over NFS"),
        (
            state(fstype="devtmpfs", mount_point="/dev", parent="/dev"),
            {"device": "/dev/vdc"},
            BAD + r"device: /dev/vdc does not exist: there is no such device "
            r"\(a swap file cannot live in /dev, a devtmpfs\)",
        ),
        (state(fstype="overlay"), {"size": "1G"}, r"a overlay file system: overlayfs cannot hold a swap file"),
        (state(fstype="squashfs"), {"size": "1G"}, r"squashfs is read-only"),
        (state(fstype="ramfs"), {"size": "1G"}, r"a ramfs lives in memory"),
        (state(fstype="cifs"), {"size": "1G"}, r"a network file system"),
        (state(fstype="fuse.sshfs"), {"size": "1G"}, r"a FUSE file system cannot hold swap"),
        (
            state(free=GiB // 2),
            {"size": "1G"},
            BAD + r"size: 1 GiB more is needed for /swapfile, but / \(ext4\) has only 512 MiB free",
        ),
        (state(kind="directory"), {}, BAD + r"device: /swapfile is a directory, not a swap file or block device"),
        (state(kind="other"), {}, BAD + r"device: /swapfile is a special file"),
        (
            swapfile(device_size=4096, signature="swap", priority=None),
            {},
            BAD + r"size: /swapfile is too small to hold swap",
        ),
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
        device_size=GiB,
        signature=signature,
        active=active,
        swaps=[active] if active else [],
        fstab=fstab,
        same=lambda spec: spec in ("/dev/vdb", UUID),
    )
    values.update(kwargs)
    return state(**values)


def test_empty_device_gets_mkswap():
    result = plan(vdb(), device="/dev/vdb", priority=3)
    assert result["type"] == "partition" and result["method"] is None
    assert result["actions"] == ["mkswap", "swapon", "fstab"]
    assert result["after"]["size"] == GiB - PAGE and result["after"]["device_size"] == GiB
    assert result["fstab_line"] == "/dev/vdb none swap sw,pri=3 0 0\n"


def test_device_with_swap_signature_is_reused_and_its_uuid_entry_kept():
    fstab = (
        "# swap was on /dev/vdb during installation\n" + UUID + " none            swap    sw              0       0\n"
    )
    st = vdb(signature="swap", fstab=fstab, entry={"priority": -1, "discard": "off"})
    result = plan(st, device="/dev/vdb")
    assert result["actions"] == ["swapon"] and result["fstab_line"] == fstab.splitlines(True)[1]
    result = plan(st, device="/dev/vdb", priority=1)
    assert result["actions"] == ["swapon", "fstab"]
    assert result["fstab_line"] == UUID + " none            swap    sw,pri=1              0       0\n"


def test_device_with_another_signature():
    with pytest.raises(
        MemwiseError,
        match=BAD + r"device: /dev/vdb carries an existing ext4 signature; mkswap would destroy it. Set force: true",
    ):
        plan(vdb(signature="ext4"), device="/dev/vdb")
    assert plan(vdb(signature="ext4"), device="/dev/vdb", force=True)["actions"] == ["mkswap", "swapon", "fstab"]


@pytest.mark.parametrize(
    ("st", "kwargs", "message"),
    [
        (vdb(), {"size": "1G"}, BAD + r"size: /dev/vdb is a block device; its size is the device's \(1 GiB\)"),
        (
            vdb(signature="ext4", mounted="/data"),
            {"force": True},
            BAD + r"device: /dev/vdb is mounted at /data; unmount it first",
        ),
    ],
)
def test_device_errors(st, kwargs, message):
    with pytest.raises(MemwiseError, match=message):
        plan(st, device="/dev/vdb", **kwargs)


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
        "device_size": None,
    }
    assert result["fstab_after"] == "/dev/vda / ext4 defaults 0 1\n" and result["fstab_line"] is None


def test_absent_refuses_a_swapoff_that_does_not_fit():
    with pytest.raises(MemwiseError, match=BAD + r"/swapfile: cannot remove: it holds 590 MiB"):
        plan(swapfile(used=590 * MiB), state="absent")


def test_absent_when_already_gone_and_fstab_only():
    assert plan(state(), state="absent")["actions"] == []
    st = state(fstab="/dev/vda / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n")
    assert plan(st, state="absent")["actions"] == ["fstab"]
    assert plan(st, state="absent", persist=False)["actions"] == []


def test_absent_partition_keeps_the_device():
    st = vdb(signature="swap", priority=-2, fstab="/dev/vdb none swap sw 0 0\n")
    result = plan(st, device="/dev/vdb", state="absent")
    assert result["actions"] == ["swapoff", "fstab"]
    assert result["after"]["device_size"] == GiB


def test_absent_refuses_to_delete_a_file_that_is_not_swap():
    with pytest.raises(
        MemwiseError,
        match=BAD + r"device: /swapfile is not a swap file \(blkid finds an existing ext4 signature\); not deleting it",
    ):
        plan(swapfile(priority=None, signature="ext4", line=None), state="absent")
    assert plan(swapfile(priority=None, signature="ext4", line=None), state="absent", force=True)["actions"] == [
        "delete"
    ]


def test_settings_of_a_new_file_have_live_and_file_layers():
    planned = plan(state(), size="1G", priority=10)
    result = _swap.settings(planned, planned["after"])
    assert list(result) == ["active", "size", "used", "priority", "discard", "device_size"]
    assert result["active"] == {"live": {"before": False, "after": True}, "file": {"before": False, "after": True}}
    assert result["size"] == {"live": {"before": None, "after": GiB - PAGE}}
    assert result["priority"] == {"live": {"before": None, "after": 10}, "file": {"before": None, "after": 10}}
    assert result["discard"] == {"live": {"before": None, "after": "off"}, "file": {"before": None, "after": "off"}}
    assert result["device_size"] == {"live": {"before": None, "after": GiB}}


def test_settings_file_layer_follows_the_fstab_entry_and_is_absent_without_persist():
    st = swapfile(priority=5, line="/swapfile none swap sw,pri=5,discard=once 0 0\n")
    planned = plan(st, priority=-1)  # back to the kernel's choice: pri= leaves the entry
    result = _swap.settings(planned, planned["after"])
    assert result["priority"]["file"] == {"before": 5, "after": -1}
    assert result["discard"]["file"] == {"before": "once", "after": "once"}
    assert result["priority"]["live"] == {"before": 5, "after": -2}
    planned = plan(st, state="absent")
    result = _swap.settings(planned, planned["after"])
    assert result["active"]["file"] == {"before": True, "after": False}
    assert result["priority"]["file"] == {"before": 5, "after": None}
    planned = plan(st, priority=9, persist=False)
    assert [name for name, layers in _swap.settings(planned, planned["after"]).items() if "file" in layers] == []


def test_nothing_moves_in_the_settings_of_a_device_as_asked():
    st = swapfile(priority=10, line="/swapfile none swap sw,pri=10 0 0\n")
    planned = plan(st, size="1G", priority=10)
    result = _swap.settings(planned, planned["after"])
    assert all(v["before"] == v["after"] for layers in result.values() for v in layers.values())


def test_absent_without_an_fstab_creates_none():
    """A host without /etc/fstab: absent used to plan writing an empty one."""
    assert plan(state(fstab=None), state="absent")["actions"] == []
    result = plan(swapfile(fstab=None, line=None, priority=None), state="absent")
    assert result["actions"] == ["delete"] and result["fstab_after"] is None


def test_block_device_problems_all_at_once():
    with pytest.raises(MemwiseError) as exc:
        plan(vdb(signature="ext4", mounted="/data"), device="/dev/vdb", size="1G", priority=99999)
    message = str(exc.value)
    assert message.startswith("invalid options, nothing changed: priority: 99999 is outside")
    expected = [
        "; size: /dev/vdb is a block device; its size is the device's (1 GiB)",
        "; device: /dev/vdb is mounted at /data; unmount it first",
        "; device: /dev/vdb carries an existing ext4 signature; mkswap would destroy it",
    ]
    assert [message.index(problem) for problem in expected] == sorted(message.index(p) for p in expected)


def test_kind_of_and_read_back():
    assert [_swap.kind_of(m) for m in (None, 0o100600, 0o60660, 0o40755, 0o20666)] == [
        "missing",
        "file",
        "partition",
        "directory",
        "other",
    ]
    planned = {"active": True, "size": 1, "used": 0, "priority": 5, "discard": "once", "device_size": 8192}
    device = {"path": "/swapfile", "type": "file", "size": 4096, "used": 4096, "priority": 5}
    assert _swap.read_back(planned, device, 8192) == dict(planned, size=4096, used=4096)
    assert _swap.read_back(planned, None, None) == dict(
        planned, active=False, size=None, used=None, priority=None, device_size=None
    )
