# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live writes with read-back and rollback through _transaction.Journal, on plain files standing in for
kernel files.

The kernel's own refusals and clamping are exercised on VMs (Molecule); here a
writer that refuses or clamps like the kernel does proves the rollback order,
that ANY exception rolls back (the owned file's write included), and the one
message shape "<what failed>; undone: ...; could not undo: ...".
"""

from __future__ import annotations

import errno
import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _livewrite, _owned
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._transaction import Journal


def files(tmp_path, **values):
    paths = {}
    for name, value in values.items():
        path = tmp_path / name
        path.write_text(value + "\n")
        paths[name] = str(path)
    return paths


def write_of(paths, name, value, old):
    return (name, paths[name], value, old, lambda answer: answer == value)


def refusing(paths, name, code=errno.EINVAL, text="Invalid argument", log=None):
    """A writer that refuses any value for ``name`` the way the kernel does (OSError on write)."""

    def write(path, value):
        if log is not None:
            log.append((path, value))
        if path == paths[name]:
            raise OSError(code, text)
        _livewrite.write_file(path, value)

    return write


def test_all_writes_land_and_are_read_back(tmp_path):
    paths = files(tmp_path, a="1", b="4 4 1 7")
    writes = [write_of(paths, "a", "2", "1"), write_of(paths, "b", "3 3 1 7", "4 4 1 7")]
    journal = Journal()
    _livewrite.apply(writes, journal)
    assert len(journal) == 2
    assert _livewrite.read_file(paths["a"]) == "2" and _livewrite.read_file(paths["b"]) == "3 3 1 7"


def test_refusal_restores_earlier_writes_newest_first(tmp_path):
    paths = files(tmp_path, a="1", b="5", c="9")
    log = []
    writes = [write_of(paths, "a", "2", "1"), write_of(paths, "b", "6", "5"), write_of(paths, "c", "0", "9")]
    with pytest.raises(
        MemwiseError,
        match=r"^c = '0': the kernel refused it: Invalid argument \(EINVAL\); undone: b = 5, a = 1$",
    ):
        _livewrite.commit(writes, None, None, None, write=refusing(paths, "c", log=log))
    assert [_livewrite.read_file(paths[n]) for n in "abc"] == ["1", "5", "9"]
    assert log[-2:] == [(paths["b"], "5"), (paths["a"], "1")]


def test_clamped_value_is_restored_too(tmp_path):
    paths = files(tmp_path, a="1", b="5")

    def write(path, value):
        _livewrite.write_file(path, "100" if value == "500" else value)  # the kernel clamps 500 to 100

    writes = [write_of(paths, "a", "2", "1"), write_of(paths, "b", "500", "5")]
    with pytest.raises(MemwiseError, match=r"^b = '500': the kernel stored '100' instead; undone: b = 5, a = 1$"):
        _livewrite.commit(writes, None, None, None, write=write)
    assert [_livewrite.read_file(paths[n]) for n in "ab"] == ["1", "5"]


def test_first_write_refused_changed_nothing(tmp_path):
    paths = files(tmp_path, a="1")
    with pytest.raises(MemwiseError, match=r"^a = '2': .*\(EBUSY\); nothing had been changed$"):
        _livewrite.commit(
            [write_of(paths, "a", "2", "1")], None, None, None, write=refusing(paths, "a", errno.EBUSY, "Busy")
        )


def test_rollback_reports_what_it_could_not_undo(tmp_path):
    paths = files(tmp_path, a="1", b="5")

    def write(path, value):
        if (path, value) == (paths["a"], "1"):
            raise OSError(errno.EPERM, "Operation not permitted")
        if path == paths["b"]:
            raise OSError(errno.EINVAL, "Invalid argument")
        _livewrite.write_file(path, value)

    writes = [write_of(paths, "a", "2", "1"), write_of(paths, "b", "6", "5")]
    with pytest.raises(
        MemwiseError,
        match=r"^b = '6': the kernel refused it: .*; could not undo: a = 1: Operation not permitted \[EPERM\]$",
    ):
        _livewrite.commit(writes, None, None, None, write=write)


def test_commit_writes_live_then_the_file_and_removes_it_when_empty(tmp_path):
    paths = files(tmp_path, a="1")
    conf = str(tmp_path / "owned.conf")
    assert _livewrite.commit([write_of(paths, "a", "2", "1")], conf, None, "a = 2\n") is None
    assert _livewrite.read_file(paths["a"]) == "2"
    with open(conf, encoding="utf-8") as handle:
        assert handle.read() == "a = 2\n"
    _livewrite.commit([], conf, "a = 2\n", None)
    assert not os.path.exists(conf)


def test_a_failed_file_write_undoes_the_live_writes(tmp_path):
    paths = files(tmp_path, a="1", b="5")
    conf = str(tmp_path / "missing-dir" / "owned.conf")
    writes = [write_of(paths, "a", "2", "1"), write_of(paths, "b", "6", "5")]
    with pytest.raises(
        MemwiseError, match=r"^cannot write .*owned.conf: the directory .* does not exist; undone: b = 5, a = 1$"
    ):
        _livewrite.commit(writes, conf, None, "a = 2\n")
    assert [_livewrite.read_file(paths[n]) for n in "ab"] == ["1", "5"]


def test_any_exception_undoes_the_live_writes(tmp_path, monkeypatch):
    # Before the journal, only a MemwiseError rolled back: a raw OSError or a bug left the live values changed.
    paths = files(tmp_path, a="1")
    conf = str(tmp_path / "owned.conf")

    def broken(path, before, after, backup):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(_owned, "replace", broken)
    with pytest.raises(MemwiseError, match=r"^No space left on device \(.*owned.conf\) \[ENOSPC\]; undone: a = 1$"):
        _livewrite.commit([write_of(paths, "a", "2", "1")], conf, None, "a = 2\n")
    assert _livewrite.read_file(paths["a"]) == "1"

    def bug(path, before, after, backup):
        raise KeyError("x")

    monkeypatch.setattr(_owned, "replace", bug)
    with pytest.raises(MemwiseError, match=r"^unexpected KeyError: 'x'; undone: a = 1$"):
        _livewrite.commit([write_of(paths, "a", "2", "1")], conf, None, "a = 2\n")
    assert _livewrite.read_file(paths["a"]) == "1"


def test_commit_backs_up_the_file_it_changes(tmp_path):
    conf = tmp_path / "owned.conf"
    conf.write_text("old = 1\n")
    copy = _livewrite.commit([], str(conf), "old = 1\n", "new = 2\n", backup=True)
    assert copy.startswith(str(conf) + ".") and copy.endswith("~")
    with open(copy, encoding="utf-8") as handle:
        assert handle.read() == "old = 1\n"
    assert conf.read_text() == "new = 2\n"
    assert _livewrite.commit([], str(conf), "new = 2\n", "new = 2\n", backup=True) is None


def test_actions():
    writes = [("vm.swappiness", "/proc/sys/vm/swappiness", "10", "60", None)]
    assert _livewrite.actions(writes, "/etc/x.conf", None, "x\n", backup=True) == [
        "set vm.swappiness = 10 live",
        "write /etc/x.conf",
    ]
    assert _livewrite.actions([], "/etc/x.conf", "a\n", None, backup=True) == [
        "back up /etc/x.conf",
        "remove /etc/x.conf",
    ]
    assert _livewrite.actions(writes, None, "a\n", "a\n", backup=False) == ["set vm.swappiness = 10 live"]
    assert _livewrite.actions([], "/etc/x.conf", "a\n", "a\n", backup=True) == []


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
    with pytest.raises(MemwiseError, match=r"^other = 'bad': .*; undone: ratio = 20$"):
        _livewrite.commit(writes, None, None, None, write=write)
    assert [_livewrite.read_file(paths[n]) for n in ("size", "ratio", "other")] == ["0", "20", "1"]
