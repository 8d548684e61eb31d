# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The owned file of sysctl and mm_tunables: where it may live, whose it is, how it is replaced.

Locations are decided on the mount table captured from the Debian 13 VM
(tests/unit/fixtures/fstab/mountinfo-deb13.txt: ext4 root, tmpfs on /run and
/tmp, proc, sysfs and the usual kernel file systems).
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _mounts, _owned, _sysctl, _sysfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES, read_fixture

MOUNTS = _mounts.parse(read_fixture("fstab", "mountinfo-deb13.txt"))
EXAMPLE = "/etc/sysctl.d/90-memwise.conf"


@pytest.mark.parametrize(
    "path",
    ["/etc/sysctl.d/90-memwise.conf", "/etc/tmpfiles.d/memwise-mm.conf", "/usr/lib/sysctl.d/90-x.conf"],
)
def test_disk_paths_are_accepted(path):
    assert _owned.check_location(path, EXAMPLE, MOUNTS) is None


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/proc/sys/vm/90-memwise.conf",
            r"^path: /proc/sys/vm/90-memwise.conf is on proc \(mounted at /proc\), a file",
        ),
        ("/sys/kernel/mm/memwise.conf", r"^path: /sys/kernel/mm/memwise.conf is on sysfs \(mounted at /sys\), a file"),
        ("/sys/fs/cgroup/x.conf", r"is on cgroup2 \(mounted at /sys/fs/cgroup\)"),
        ("/run/sysctl.d/90-memwise.conf", r"is on tmpfs \(mounted at /run\), which lives in memory"),
        ("/tmp/90-memwise.conf", r"is on tmpfs \(mounted at /tmp\), which lives in memory"),
        ("/dev/shm/x.conf", r"is on tmpfs \(mounted at /dev/shm\)"),
        ("etc/sysctl.d/x.conf", r"^path: 'etc/sysctl.d/x.conf' is not absolute; nothing changed"),
    ],
)
def test_kernel_and_memory_file_systems_are_refused(path, message):
    with pytest.raises(MemwiseError, match=message) as exc:
        _owned.check_location(path, EXAMPLE, MOUNTS)
    assert "nothing changed" in str(exc.value)


def test_a_mount_table_that_does_not_say_refuses_nothing():
    assert _owned.check_location("/etc/sysctl.d/x.conf", EXAMPLE, []) is None


def test_the_mount_table_is_read_below_the_host_root(tmp_path, monkeypatch):
    # The Debian 12 capture holds /proc/mounts only (no mountinfo): the fallback is read.
    monkeypatch.setattr(_sysfs, "ROOT", os.path.join(FIXTURES, "deb12", "root"))
    assert {m["mount_point"]: m["fstype"] for m in _owned.read_mounts()}["/proc"] == "proc"
    monkeypatch.setattr(_sysfs, "ROOT", str(tmp_path))
    assert _owned.read_mounts() == []


@pytest.mark.parametrize(
    ("text", "force"),
    [(None, False), (_sysctl.HEADER + "vm.swappiness = 10\n", False), ("vm.swappiness = 10\n", True)],
)
def test_owner_accepts_no_file_its_own_file_or_force(text, force):
    assert _owned.check_owner("/etc/sysctl.d/x.conf", text, _sysctl.OWNER, force) is None


@pytest.mark.parametrize(
    "text",
    [
        "# tuned by hand for the database\nvm.swappiness = 1\n",
        "",
        "# Managed by memwise.linux.mm_tunables (Ansible)\n",  # another module's file is not this one's
        "vm.swappiness = 1\n# Managed by memwise.linux.sysctl\n",  # the header must come first
    ],
)
def test_owner_refuses_a_file_it_did_not_write(text):
    with pytest.raises(
        MemwiseError,
        match=r"^path: /etc/sysctl.d/x.conf exists and was not written by memwise.linux.sysctl \(it does not start "
        r"with '# Managed by memwise.linux.sysctl'\); nothing changed. Set force: true to take it over",
    ):
        _owned.check_owner("/etc/sysctl.d/x.conf", text, _sysctl.OWNER, False)
    assert _owned.is_foreign(text, _sysctl.OWNER)


def test_check_directory(tmp_path):
    missing = str(tmp_path / "nope" / "x.conf")
    with pytest.raises(MemwiseError, match=r"^path: the directory of .*nope/x.conf does not exist; nothing changed$"):
        _owned.check_directory(missing, None, "x\n")
    assert _owned.check_directory(missing, None, None) is None
    assert _owned.check_directory(str(tmp_path / "x.conf"), None, "x\n") is None


def test_replace_writes_removes_and_backs_up(tmp_path):
    path = str(tmp_path / "x.conf")
    assert _owned.replace(path, None, "a\n", backup=True) is None  # nothing to back up yet
    copy = _owned.replace(path, "a\n", "b\n", backup=True)
    with open(copy, encoding="utf-8") as handle:
        assert handle.read() == "a\n"
    assert _owned.replace(path, "b\n", None, backup=False) is None
    assert sorted(os.listdir(str(tmp_path))) == [os.path.basename(copy)]
