# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic writes of owned files."""

from __future__ import annotations

import os
import re
import stat

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _files
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def test_atomic_write_creates_and_replaces(tmp_path):
    path = str(tmp_path / "90-memwise.conf")
    assert _files.read_optional(path) is None
    _files.atomic_write(path, "a = 1\n")
    assert _files.read_optional(path) == "a = 1\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    os.chmod(path, 0o640)
    _files.atomic_write(path, "a = 2\n", mode=0o600)  # mode is for a new file; an existing one keeps its own
    assert _files.read_optional(path) == "a = 2\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert os.listdir(str(tmp_path)) == ["90-memwise.conf"]  # no temporary file left behind


def test_atomic_write_into_a_missing_directory(tmp_path):
    path = str(tmp_path / "missing" / "x.conf")
    with pytest.raises(MemwiseError, match=r"cannot write .*x.conf: the directory .*missing does not exist"):
        _files.atomic_write(path, "")


def test_atomic_write_failure_leaves_the_old_file(tmp_path):
    path = tmp_path / "x.conf"
    path.write_text("old\n")
    os.mkdir(str(tmp_path / "x.conf.d"))
    target = str(tmp_path / "x.conf.d")  # a directory: rename over it fails
    with pytest.raises(MemwiseError, match=r"cannot write .*x.conf.d: "):
        _files.atomic_write(target, "new\n")
    assert path.read_text() == "old\n"
    assert sorted(os.listdir(str(tmp_path))) == ["x.conf", "x.conf.d"]


def test_read_optional_error(tmp_path):
    with pytest.raises(MemwiseError, match=r"cannot read .*: Is a directory"):
        _files.read_optional(str(tmp_path))


def test_remove(tmp_path):
    path = tmp_path / "x.conf"
    path.write_text("x")
    assert _files.remove(str(path)) is True
    assert _files.remove(str(path)) is False
    with pytest.raises(MemwiseError, match=r"cannot remove .*: Is a directory"):
        _files.remove(str(tmp_path))


def test_atomic_write_keeps_the_owner(tmp_path):
    if os.getuid() != 0:
        pytest.skip("chown needs root")  # CI and the development machine run as root
    path = tmp_path / "x.conf"
    path.write_text("old\n")
    os.chown(str(path), 1, 2)
    _files.atomic_write(str(path), "new\n")
    info = os.stat(str(path))
    assert (info.st_uid, info.st_gid, path.read_text()) == (1, 2, "new\n")


def test_atomic_write_follows_a_symlink_inside_its_directory(tmp_path):
    (tmp_path / "real.conf").write_text("old\n")
    os.symlink("real.conf", str(tmp_path / "link.conf"))
    _files.atomic_write(str(tmp_path / "link.conf"), "new\n")
    assert os.path.islink(str(tmp_path / "link.conf"))
    assert (tmp_path / "real.conf").read_text() == "new\n"


def test_atomic_write_refuses_a_symlink_out_of_its_directory(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shadow").write_text("secret\n")
    managed = tmp_path / "etc"
    managed.mkdir()
    os.symlink(str(outside / "shadow"), str(managed / "x.conf"))
    with pytest.raises(MemwiseError, match=r"x.conf: it is a symlink to .*outside/shadow, outside .*etc; nothing"):
        _files.atomic_write(str(managed / "x.conf"), "new\n")
    assert (outside / "shadow").read_text() == "secret\n"
    assert sorted(os.listdir(str(managed))) == ["x.conf"]


def test_atomic_write_temp_file_failure_is_a_memwise_error(tmp_path):
    if os.getuid() == 0:
        target = "/proc/sys/vm/x.conf"  # root may write anywhere, but no file can be created in /proc
    else:
        os.chmod(str(tmp_path), 0o500)
        target = str(tmp_path / "x.conf")
    with pytest.raises(MemwiseError, match=r"cannot write .*x.conf: "):
        _files.atomic_write(target, "new\n")


def test_backup_copies_content_and_mode(tmp_path):
    path = tmp_path / "fstab"
    assert _files.backup(str(path)) is None
    path.write_text("/swapfile none swap sw 0 0\n")
    os.chmod(str(path), 0o604)
    name = _files.backup(str(path))
    assert re.fullmatch(re.escape(str(path)) + r"\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~", name)
    assert open(name).read() == path.read_text()
    assert stat.S_IMODE(os.stat(name).st_mode) == 0o604
