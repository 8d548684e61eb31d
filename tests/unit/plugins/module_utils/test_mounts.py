# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one mount-table parser: mountinfo and /proc/mounts, and the mount that holds a path."""

from __future__ import annotations

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _mounts
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import read_fixture

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
    mounts = _mounts.parse(MOUNTINFO)
    assert mounts[0] == {
        "mount_point": "/",
        "device": "254:0",
        "fstype": "ext4",
        "source": "/dev/vda",
        "options": ["rw", "relatime"],
    }
    assert mounts[6]["mount_point"] == "/srv/swap files"
    assert mounts[6]["source"] == "/dev/vdc"
    assert [m["fstype"] for m in mounts[-3:]] == ["tmpfs", "ext4", "fuse.sshfs"]
    assert _mounts.sources(mounts) >= {"/dev/vda", "/dev/vdb", "server:/export", "tmpfs"}


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        (
            "22 1 254:0 / / rw - ext4\n",
            "/proc/self/mountinfo",
            r"^/proc/self/mountinfo line 1 is not in the kernel's format",
        ),
        ("22 1 254:0 / - ext4 /dev/vda rw\n", "/proc/self/mountinfo", r"line 1 is not in the kernel's format"),
        ("proc /proc proc\n", "/proc/mounts", r"^/proc/mounts line 1 is not in the kernel's format: 'proc /proc proc'"),
        # a truncated mountinfo line (no " - ") is not taken for a /proc/mounts line
        ("22 1 254:0 / /\n", "/proc/self/mountinfo", r"line 1 is not in the kernel's format: '22 1 254:0 / /'"),
        ("proc /proc proc rw x y\n", "/proc/mounts", r"line 1 is not in the kernel's format"),
    ],
)
def test_parse_refuses_lines_in_no_known_format(text, name, message):
    with pytest.raises(MemwiseError, match=message):
        _mounts.parse(text, name)


def test_parse_skips_blank_lines_and_counts_them():
    with pytest.raises(MemwiseError, match=r"line 3 is not"):
        _mounts.parse("\nproc /proc proc rw 0 0\nbroken\n", "/proc/mounts")
    assert _mounts.parse("\n\n") == []


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
    mount = _mounts.mount_of(_mounts.parse(MOUNTINFO), path)
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
    mounts = _mounts.parse(read_fixture("fstab", "mountinfo-deb13.txt"))
    mount = _mounts.mount_of(mounts, path)
    assert (mount["mount_point"], mount["fstype"]) == (mount_point, fstype)


def test_captured_debian_13_mountinfo_records():
    mounts = _mounts.parse(read_fixture("fstab", "mountinfo-deb13.txt"))
    root = next(m for m in mounts if m["mount_point"] == "/")
    assert root == {
        "mount_point": "/",
        "fstype": "ext4",
        "source": "/dev/vda",
        "options": ["rw", "relatime"],
        "device": "254:0",
    }
    shm = next(m for m in mounts if m["mount_point"] == "/dev/shm")
    assert (shm["fstype"], shm["source"], shm["device"], shm["options"]) == (
        "tmpfs",
        "tmpfs",
        "0:25",
        ["rw", "nosuid", "nodev"],
    )


def test_mount_of_without_a_mount_holding_the_path():
    mounts = [m for m in _mounts.parse(read_fixture("fstab", "mountinfo-deb13.txt")) if m["mount_point"] != "/"]
    assert _mounts.mount_of(mounts, "/sys/fs/cgroup/x")["fstype"] == "cgroup2"
    with pytest.raises(MemwiseError, match=r"^/swapfile: no mount in the mount table holds it"):
        _mounts.mount_of(mounts, "/swapfile")


# --- /proc/mounts, as captured on Debian 13 --------------------------------


def test_parse_the_captured_debian_13_proc_mounts():
    mounts = _mounts.parse(read_fixture("deb13", "root/proc/mounts"), "/proc/mounts")
    assert [(m["source"], m["mount_point"], m["fstype"]) for m in mounts] == [
        ("sysfs", "/sys", "sysfs"),
        ("proc", "/proc", "proc"),
        ("cgroup2", "/sys/fs/cgroup", "cgroup2"),
        ("debugfs", "/sys/kernel/debug", "debugfs"),
    ]
    assert mounts[2]["options"] == ["rw", "nosuid", "nodev", "noexec", "relatime", "nsdelegate", "memory_recursiveprot"]
    assert all(m["device"] is None for m in mounts)  # /proc/mounts has no device numbers
    assert _mounts.mount_of(mounts, "/sys/fs/cgroup/system.slice")["fstype"] == "cgroup2"
    assert _mounts.mount_of(mounts, "/sys/kernel/debug/zswap")["fstype"] == "debugfs"
    assert _mounts.sources(mounts) == {"sysfs", "proc", "cgroup2", "debugfs"}


def test_proc_mounts_unescapes_paths_and_mixes_with_mountinfo_lines():
    text = "/dev/vdc /srv/swap\\040files btrfs rw,relatime 0 0\n" + MOUNTINFO.splitlines(True)[0]
    mounts = _mounts.parse(text)
    assert mounts[0]["mount_point"] == "/srv/swap files" and mounts[0]["device"] is None
    assert mounts[1]["device"] == "254:0"
    assert _mounts.mount_of(mounts, "/srv/swap files/swap0")["fstype"] == "btrfs"
