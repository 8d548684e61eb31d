# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_dropin: the one drop-in helper of unit_resources and unit_hardening (path, ownership, write, undo, order)."""

from __future__ import annotations

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _dropin, _transaction
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

OURS = "/etc/systemd/system/ssh.service.d/50-memwise-resources.conf"


@pytest.fixture
def unit_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(_dropin, "UNIT_DIR", str(tmp_path))
    return tmp_path


def test_path_and_names(unit_dir):
    assert _dropin.path("ssh.service", "50-x") == "%s/ssh.service.d/50-x.conf" % unit_dir
    _dropin.check_name("60-memwise-hardening")
    _dropin.check_name("override.d_x@1+2:3")


@pytest.mark.parametrize(
    "name", ["", "a/b", "../x", ".", "..", "a\nb", "a\0b", "x;reboot", "$(reboot)", "a b", "-x", "x" * 201, None, 5]
)
def test_bad_names(name):
    with pytest.raises(MemwiseError, match=r"^dropin_name: .* must be a plain file name"):
        _dropin.check_name(name)


@pytest.mark.parametrize(
    ("text", "module", "owned"),
    [
        (None, "unit_resources", True),
        ("# Managed by memwise.linux.unit_resources: changes here...\n[Service]\n", "unit_resources", True),
        ("# Managed by memwise.linux.unit_hardening: ...\n", "unit_resources", False),
        ("[Service]\nMemoryHigh=1G\n", "unit_resources", False),
        ("", "unit_hardening", False),
    ],
)
def test_owned_by_header(text, module, owned):
    assert _dropin.owned(text, module) is owned


def test_read_refuses_a_foreign_file_unless_forced(unit_dir):
    path = unit_dir / "x.conf"
    path.write_text("[Service]\nMemoryHigh=1G\n")
    with pytest.raises(MemwiseError, match=r"x\.conf exists and memwise\.linux\.unit_resources does not manage it"):
        _dropin.read(str(path), "unit_resources")
    assert _dropin.read(str(path), "unit_resources", force=True) == "[Service]\nMemoryHigh=1G\n"
    assert _dropin.read(str(unit_dir / "none.conf"), "unit_resources") is None


def test_write_creates_the_directory_skips_equal_text_and_removes(unit_dir):
    path = str(unit_dir / "ssh.service.d" / "50-x.conf")
    assert _dropin.write(path, "a\n") is True
    assert _dropin.write(path, "a\n") is False
    assert _dropin.write(path, None) is True
    assert _dropin.write(path, None) is False


def test_write_step_records_the_undo_and_its_hooks(unit_dir):
    path = str(unit_dir / "ssh.service.d" / "50-x.conf")
    journal, actions, seen = _transaction.Journal(), [], []
    hooks = {"actions": actions, "done": lambda: seen.append("done"), "undone": lambda: seen.append("undone")}
    assert _dropin.write_step(journal, path, None, "new\n", **hooks) is True
    assert _dropin.write_step(journal, path, "new\n", "new\n", **hooks) is False
    assert seen == ["done"] and len(journal) == 1
    assert journal.rollback() == (["removed %s" % path], [])
    assert not (unit_dir / "ssh.service.d" / "50-x.conf").exists()
    assert actions == ["write %s" % path, "remove %s" % path] and seen == ["done", "undone"]


def test_write_step_that_fails_records_nothing(unit_dir):
    journal, seen = _transaction.Journal(), []
    blocked = unit_dir / "file"
    blocked.write_text("")
    with pytest.raises(MemwiseError, match=r"^cannot (read|write) .*x\.conf"):
        _dropin.write_step(journal, str(blocked / "x.conf"), None, "new\n", done=lambda: seen.append(1))
    assert len(journal) == 0 and seen == []


def test_others_in_the_order_systemd_applies_them():
    paths = [
        "/run/systemd/system.control/ssh.service.d/50-MemoryHigh.conf",
        OURS,
        "/usr/lib/systemd/system/service.d/10-timeout-abort.conf",
        "/etc/systemd/system/ssh.service.d/99-local.conf",
    ]
    show = {"DropInPaths": " ".join(paths)}
    assert _dropin.others(show, OURS) == [paths[2], paths[0], paths[3]]
    assert _dropin.later(show, OURS) == [paths[3]]
    assert _dropin.others({}, OURS) == []
