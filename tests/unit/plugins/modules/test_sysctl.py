# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sysctl module in-process on this machine's real /proc/sys, without changing live values.

Live writes, rollback, reboots and read-only /proc/sys are proven in the Molecule
scenario on VMs; here the module runs in check mode, persist-only, or fails
validation, so the development machine's kernel settings are never touched.
"""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import _sysctl
from ansible_collections.memwise.linux.plugins.modules import sysctl


def run_module(capsys, args, check_mode=False, diff=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        sysctl.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def live(key):
    with open("/proc/sys/" + key.replace(".", "/"), encoding="utf-8") as handle:
        return " ".join(handle.read().split())


@pytest.fixture
def conf(tmp_path):
    return str(tmp_path / "90-memwise.conf")


def other(value):
    return "10" if value != "10" else "20"


def test_check_mode_predicts_and_changes_nothing(capsys, conf):
    before = live("vm.swappiness")
    rc, result = run_module(
        capsys,
        {"settings": {"vm/swappiness": other(before), "kernel.printk": live("kernel.printk").split()}, "path": conf},
        check_mode=True,
        diff=True,
    )
    assert rc == 0 and result["changed"] is True
    assert result["changed_keys"] == ["vm.swappiness", "kernel.printk"]
    assert result["keys"]["vm.swappiness"]["live"] == {"before": before, "after": other(before)}
    assert result["keys"]["kernel.printk"]["live"]["before"] == result["keys"]["kernel.printk"]["live"]["after"]
    assert result["diff"][0]["before"] == "vm.swappiness = %s\n" % before
    assert result["diff"][1]["after"] == result["file_text"]
    assert "vm.swappiness = %s\n" % other(before) in result["file_text"]
    assert live("vm.swappiness") == before
    assert _sysctl.owned_values(None, conf) == {}
    assert not (capsys.readouterr().out)
    with pytest.raises(FileNotFoundError):
        open(conf)


def test_persist_only_writes_the_file_and_is_idempotent(capsys, conf):
    settings = {"vm.swappiness": 33, "vm.dirty_ratio": "17"}
    rc, first = run_module(capsys, {"settings": settings, "path": conf, "live": False})
    assert rc == 0 and first["changed"] is True
    with open(conf, encoding="utf-8") as handle:
        text = handle.read()
    assert text == _sysctl.HEADER + "vm.swappiness = 33\nvm.dirty_ratio = 17\n" == first["file_text"]
    # The "not read at boot" warning for this tmp path is asserted in _sysctl's tests (boot_reads) and
    # on VMs: inside pytest, ansible.module_utils routes warnings to the controller display once any
    # controller code (the filter plugins) is imported in the same process.
    _rc, second = run_module(capsys, {"settings": {"vm.swappiness": "033"}, "path": conf, "live": False})
    assert second["changed"] is False and second["changed_keys"] == []
    _rc, check = run_module(capsys, {"settings": settings, "path": conf, "live": False}, check_mode=True)
    assert check["changed"] is False


def test_absent_removes_keys_and_then_the_file(capsys, conf):
    run_module(capsys, {"settings": {"vm.swappiness": 33, "vm.dirty_ratio": 17}, "path": conf, "live": False})
    _rc, result = run_module(capsys, {"settings": ["vm.swappiness"], "path": conf, "state": "absent"})
    assert result["changed"] is True and result["changed_keys"] == ["vm.swappiness"]
    assert result["keys"]["vm.swappiness"]["file"] == {"before": "33", "after": None}
    with open(conf, encoding="utf-8") as handle:
        assert handle.read() == _sysctl.HEADER + "vm.dirty_ratio = 17\n"
    _rc, result = run_module(capsys, {"settings": {"vm.dirty_ratio": None}, "path": conf, "state": "absent"})
    assert result["changed"] is True and result["file_text"] is None
    with pytest.raises(FileNotFoundError):
        open(conf)
    _rc, result = run_module(capsys, {"settings": ["vm.dirty_ratio"], "path": conf, "state": "absent"})
    assert result["changed"] is False


@pytest.mark.parametrize(
    ("settings", "messages"),
    [
        ({"vm.no_such_key": 1}, ["vm.no_such_key: no such key under /proc/sys"]),
        ({"vm.swappiness": "abc"}, ["vm.swappiness: takes an integer (now "]),
        ({"vm.swappiness": 300}, ["vm.swappiness: 300 is outside 0..200 on kernel "]),
        ({"kernel.osrelease": "x"}, ["kernel.osrelease: is read-only in this kernel"]),
        ({"vm": 1}, ["vm: is a directory under /proc/sys, not a key"]),
        ({"vm.drop_caches": 3}, ["vm.drop_caches: is a write-only trigger, not a setting"]),
        ({"vm.swappiness": True}, ["vm.swappiness: True is a boolean; write 0 or 1"]),
        (
            {"vm.swappiness": 1, "vm/swappiness": 2},
            ["vm.swappiness: given twice (as 'vm.swappiness' and 'vm/swappiness')"],
        ),
        (
            {"vm.dirty_ratio": 10, "vm.overcommit_memory": 9, "vm.nope": 1},
            ["vm.overcommit_memory: 9 is outside 0..2", "vm.nope: no such key"],
        ),
    ],
)
def test_bad_input_fails_naming_every_key_and_changes_nothing(capsys, conf, settings, messages):
    before = {k: live(k) for k in ("vm.swappiness", "vm.dirty_ratio")}
    rc, result = run_module(capsys, {"settings": settings, "path": conf})
    assert rc == 1 and result["failed"] is True
    assert result["msg"].startswith("invalid settings, nothing changed: ")
    for message in messages:
        assert message in result["msg"]
    assert "vm.dirty_ratio:" not in result["msg"]  # the good key is not blamed
    assert {k: live(k) for k in before} == before
    with pytest.raises(FileNotFoundError):
        open(conf)


def test_a_key_that_needs_a_kernel_module(capsys, conf, monkeypatch):
    monkeypatch.setattr(_sysctl, "NEEDS_MODULE", (("vm.memwise_", "memwise_test_module"),))
    _rc, result = run_module(capsys, {"settings": {"vm.memwise_example": 1}, "path": conf})
    assert "vm.memwise_example: does not exist under /proc/sys; it appears when the kernel module " in result["msg"]
    assert "modprobe memwise_test_module" in result["msg"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "settings: give a non-empty dict"),
        ("vm.swappiness", "settings: give a non-empty dict"),
        (["vm.swappiness"], "settings: give a non-empty dict"),
    ],
)
def test_settings_shape(capsys, conf, settings, message):
    _rc, result = run_module(capsys, {"settings": settings, "path": conf})
    assert result["msg"].startswith(message)


def test_missing_directory_fails_before_any_change(capsys, tmp_path):
    before = live("vm.swappiness")
    path = str(tmp_path / "nope" / "90-memwise.conf")
    _rc, result = run_module(capsys, {"settings": {"vm.swappiness": other(before)}, "path": path})
    assert result["msg"] == "path: the directory of %s does not exist; nothing changed" % path
    assert live("vm.swappiness") == before
