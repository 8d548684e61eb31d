# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live writes with read-back and rollback, on plain files standing in for kernel files.

The kernel's own refusals and clamping are exercised on VMs (Molecule); here a
writer that refuses or clamps like the kernel does proves the rollback order
and the message.
"""

from __future__ import annotations

import errno

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _livewrite
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def files(tmp_path, **values):
    paths = {}
    for name, value in values.items():
        path = tmp_path / name
        path.write_text(value + "\n")
        paths[name] = str(path)
    return paths


def write_of(paths, name, value, old):
    return (name, paths[name], value, old, lambda answer: answer == value)


def test_all_writes_land_and_are_read_back(tmp_path):
    paths = files(tmp_path, a="1", b="4 4 1 7")
    writes = [write_of(paths, "a", "2", "1"), write_of(paths, "b", "3 3 1 7", "4 4 1 7")]
    assert _livewrite.apply(writes) == writes
    assert _livewrite.read_file(paths["a"]) == "2" and _livewrite.read_file(paths["b"]) == "3 3 1 7"


def test_refusal_restores_earlier_writes_newest_first(tmp_path):
    paths = files(tmp_path, a="1", b="5", c="9")
    order = []

    def write(path, value):
        order.append((path, value))
        if path == paths["c"]:
            raise OSError(errno.EINVAL, "Invalid argument")
        _livewrite.write_file(path, value)

    writes = [write_of(paths, "a", "2", "1"), write_of(paths, "b", "6", "5"), write_of(paths, "c", "0", "9")]
    with pytest.raises(
        MemwiseError,
        match=r"^c = '0': the kernel refused it: Invalid argument \(EINVAL\); restored a = 1, b = 5; nothing else",
    ):
        _livewrite.apply(writes, write=write)
    assert [_livewrite.read_file(paths[n]) for n in "abc"] == ["1", "5", "9"]
    assert order[-2:] == [(paths["b"], "5"), (paths["a"], "1")]


def test_clamped_value_is_restored_too(tmp_path):
    paths = files(tmp_path, a="1", b="5")

    def write(path, value):
        _livewrite.write_file(path, "100" if value == "500" else value)  # the kernel clamps 500 to 100

    writes = [write_of(paths, "a", "2", "1"), write_of(paths, "b", "500", "5")]
    with pytest.raises(MemwiseError, match=r"^b = '500': the kernel stored '100' instead; restored a = 1; the file"):
        _livewrite.apply(writes, write=write, untouched="the file was not touched")
    assert [_livewrite.read_file(paths[n]) for n in "ab"] == ["1", "5"]


def test_first_write_refused(tmp_path):
    paths = files(tmp_path, a="1")

    def write(path, value):
        raise OSError(errno.EBUSY, "Device or resource busy")

    with pytest.raises(MemwiseError, match=r"restored nothing \(no setting was written before\)"):
        _livewrite.apply([write_of(paths, "a", "2", "1")], write=write)


def test_restore_reports_what_it_could_not_undo(tmp_path):
    paths = files(tmp_path, a="1")
    calls = []

    def write(path, value):
        calls.append(value)
        if value == "1":
            raise OSError(errno.EPERM, "Operation not permitted")
        if value == "3":
            raise OSError(errno.EINVAL, "Invalid argument")
        _livewrite.write_file(path, value)

    writes = [write_of(paths, "a", "2", "1"), ("b", paths["a"], "3", "2", lambda answer: True)]
    with pytest.raises(MemwiseError, match=r"; could not restore: a: Operation not permitted$"):
        _livewrite.apply(writes, write=write)


def test_commit_writes_live_then_the_file(tmp_path):
    paths = files(tmp_path, a="1")
    conf = str(tmp_path / "owned.conf")
    _livewrite.commit([write_of(paths, "a", "2", "1")], conf, None, "a = 2\n")
    assert _livewrite.read_file(paths["a"]) == "2"
    with open(conf, encoding="utf-8") as handle:
        assert handle.read() == "a = 2\n"
    _livewrite.commit([], conf, "a = 2\n", None)
    assert not (tmp_path / "owned.conf").exists()


def test_commit_restores_live_values_when_the_file_cannot_be_written(tmp_path):
    paths = files(tmp_path, a="1")
    conf = str(tmp_path / "missing-dir" / "owned.conf")
    with pytest.raises(MemwiseError, match=r"does not exist; the live values written by this call were restored$"):
        _livewrite.commit([write_of(paths, "a", "2", "1")], conf, None, "a = 2\n")
    assert _livewrite.read_file(paths["a"]) == "1"


def test_diff_shape():
    assert _livewrite.diff("live /sys", [("a", "1", "2")], "/etc/x.conf", None, "a = 2\n") == [
        {"before_header": "live /sys", "after_header": "live /sys", "before": "a = 1\n", "after": "a = 2\n"},
        {"before_header": "/etc/x.conf", "after_header": "/etc/x.conf", "before": "", "after": "a = 2\n"},
    ]


def test_undo_through_a_partner_file(tmp_path):
    # vm.dirty_bytes / vm.dirty_ratio: writing bytes zeroes the ratio; undo rewrites the ratio.
    paths = files(tmp_path, size="0", ratio="20", other="1")

    def write(path, value):
        if path == paths["size"]:
            if value == "0":
                raise OSError(errno.EINVAL, "Invalid argument")
            _livewrite.write_file(paths["ratio"], "0")
        if path == paths["ratio"]:
            _livewrite.write_file(paths["size"], "0")
        if path == paths["other"] and value == "bad":
            raise OSError(errno.EINVAL, "Invalid argument")
        _livewrite.write_file(path, value)

    writes = [
        write_of(paths, "size", "100000000", "0") + (("ratio", paths["ratio"], "20"),),
        write_of(paths, "other", "bad", "1"),
    ]
    with pytest.raises(MemwiseError, match=r"^other = 'bad': .*; restored ratio = 20; nothing else was changed$"):
        _livewrite.apply(writes, write=write)
    assert [_livewrite.read_file(paths[n]) for n in ("size", "ratio", "other")] == ["0", "20", "1"]
