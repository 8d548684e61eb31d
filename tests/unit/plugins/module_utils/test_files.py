# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic writes of owned files."""

from __future__ import annotations

import os
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
    _files.atomic_write(path, "a = 2\n", mode=0o600)
    assert _files.read_optional(path) == "a = 2\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
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
