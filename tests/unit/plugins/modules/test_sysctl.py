# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sysctl module in-process on a copy of the /proc captured from the Debian 13 VM.

``_sysfs.ROOT`` points at a tmp_path copy of tests/unit/fixtures/deb13/root, so
the module reads and writes the captured /proc/sys files, never this machine's
kernel: live writes, the read-back, the rollback and check mode are all proven
here on plain files. The kernel's own refusals, clamping, read-only /proc/sys and
reboots are proven in the Molecule scenario on VMs.
"""

from __future__ import annotations

import errno
import json
import os
import shutil

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import _livewrite, _owned, _sysctl, _sysfs
from ansible_collections.memwise.linux.plugins.modules import sysctl

from ...conftest import FIXTURES, read_fixture

HAND_WRITTEN = "# tuned by hand for the database, see TICKET-42\nvm.swappiness = 1\n\n; keep\nvm.dirty_ratio=15\n"


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A copy of the captured Debian 13 host: ``host / "proc/sys/vm/swappiness"`` is what the module writes."""
    root = tmp_path / "host"
    shutil.copytree(os.path.join(FIXTURES, "deb13", "root", "proc"), str(root / "proc"), symlinks=True)
    os.chmod(str(root / "proc/sys/kernel/osrelease"), 0o444)  # the kernel's mode, which git does not keep
    monkeypatch.setattr(_sysfs, "ROOT", str(root))
    return root


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: seen.append(text))
    return seen


@pytest.fixture
def conf(tmp_path):
    return str(tmp_path / "90-memwise.conf")


def run_module(capsys, args, check_mode=False, diff=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        sysctl.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def live(host, key):
    return (host / "proc/sys" / key.replace(".", "/")).read_text().strip()


def snapshot(host, conf):
    """Every captured vm.* value and the file's bytes (None without a file)."""
    values = {p.name: p.read_text() for p in (host / "proc/sys/vm").iterdir()}
    return values, (open(conf, "rb").read() if os.path.exists(conf) else None)


def test_check_mode_predicts_the_real_run_and_changes_nothing(capsys, host, conf):
    args = {"settings": {"vm/swappiness": 10, "vm.dirty_ratio": "20", "vm.vfs_cache_pressure": [50]}, "path": conf}
    before = snapshot(host, conf)
    rc, check = run_module(capsys, args, check_mode=True, diff=True)
    assert rc == 0 and check["changed"] is True
    assert snapshot(host, conf) == before
    assert check["changed_settings"] == ["vm.swappiness", "vm.dirty_ratio", "vm.vfs_cache_pressure"]
    assert check["settings"]["vm.swappiness"] == {
        "live": {"before": "60", "after": "10"},
        "file": {"before": None, "after": "10"},
    }
    assert check["settings"]["vm.dirty_ratio"]["live"] == {"before": "20", "after": "20"}
    assert check["actions"] == ["set vm.swappiness = 10 live", "set vm.vfs_cache_pressure = 50 live", "write " + conf]
    assert check["diff"] == [
        {
            "before_header": "live /proc/sys",
            "after_header": "live /proc/sys",
            "before": "vm.swappiness = 60\nvm.vfs_cache_pressure = 100\n",
            "after": "vm.swappiness = 10\nvm.vfs_cache_pressure = 50\n",
        },
        {"before_header": conf, "after_header": conf, "before": "", "after": check["file_text"]},
    ]
    assert (
        check["file_text"] == _sysctl.HEADER + "vm.swappiness = 10\nvm.dirty_ratio = 20\nvm.vfs_cache_pressure = 50\n"
    )
    _rc, apply = run_module(capsys, args, diff=True)
    keys = ("changed", "changed_settings", "settings", "actions", "path", "file_text", "backup_file", "diff")
    assert {k: apply[k] for k in keys} == {k: check[k] for k in keys}
    assert (live(host, "vm.swappiness"), live(host, "vm.vfs_cache_pressure")) == ("10", "50")
    with open(conf, encoding="utf-8") as handle:
        assert handle.read() == apply["file_text"]
    _rc, again = run_module(capsys, args, check_mode=True)
    assert again["changed"] is False and again["changed_settings"] == [] and again["actions"] == []
    _rc, again = run_module(capsys, args)
    assert again["changed"] is False and again["backup_file"] is None


def test_persist_only_reads_but_never_writes_live_values(capsys, host, conf):
    rc, first = run_module(
        capsys, {"settings": {"vm.swappiness": 33, "vm.dirty_ratio": "17"}, "path": conf, "live": False}
    )
    assert rc == 0 and first["changed"] is True
    assert first["settings"]["vm.swappiness"]["live"] == {"before": "60", "after": "60"}  # read, not null
    assert first["actions"] == ["write " + conf]
    assert live(host, "vm.swappiness") == "60"
    with open(conf, encoding="utf-8") as handle:
        assert handle.read() == _sysctl.HEADER + "vm.swappiness = 33\nvm.dirty_ratio = 17\n" == first["file_text"]
    _rc, second = run_module(capsys, {"settings": {"vm.swappiness": "033"}, "path": conf, "live": False})
    assert second["changed"] is False and second["changed_settings"] == []


def test_live_only_persists_nothing(capsys, host, conf):
    _rc, result = run_module(capsys, {"settings": {"vm.swappiness": 33}, "path": conf, "persist": False})
    assert result["changed"] is True and result["path"] is None and result["file_text"] is None
    assert result["actions"] == ["set vm.swappiness = 33 live"]
    assert live(host, "vm.swappiness") == "33" and not os.path.exists(conf)


def test_absent_removes_keys_then_the_file_and_keeps_live_values(capsys, host, conf, warnings):
    run_module(capsys, {"settings": {"vm.swappiness": 33, "vm.dirty_ratio": 17}, "path": conf})
    _rc, result = run_module(capsys, {"settings": ["vm.swappiness"], "path": conf, "state": "absent"})
    assert result["changed"] is True and result["changed_settings"] == ["vm.swappiness"]
    assert result["settings"]["vm.swappiness"] == {
        "live": {"before": "33", "after": "33"},
        "file": {"before": "33", "after": None},
    }
    assert [w for w in warnings if "removed from" in w] == [
        "vm.swappiness: removed from %s; the live values stay until the next boot, when the remaining "
        "configuration applies (kernel settings have no unset value)" % conf
    ]
    assert live(host, "vm.swappiness") == "33"
    with open(conf, encoding="utf-8") as handle:
        assert handle.read() == _sysctl.HEADER + "vm.dirty_ratio = 17\n"
    _rc, result = run_module(capsys, {"settings": {"vm.dirty_ratio": None}, "path": conf, "state": "absent"})
    assert result["changed"] is True and result["file_text"] is None and result["actions"] == ["remove " + conf]
    assert not os.path.exists(conf)
    _rc, result = run_module(capsys, {"settings": ["vm.dirty_ratio"], "path": conf, "state": "absent"})
    assert result["changed"] is False and len([w for w in warnings if "removed from" in w]) == 2


def test_a_hand_written_file_is_refused_and_left_byte_identical(capsys, host, conf):
    # Fleet-safety defect 5: the module used to rewrite such a file, dropping its comments.
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write(HAND_WRITTEN)
    before = snapshot(host, conf)
    for check_mode in (True, False):
        rc, result = run_module(capsys, {"settings": {"vm.swappiness": 10}, "path": conf}, check_mode=check_mode)
        assert rc == 1 and result["msg"] == (
            "path: %s exists and was not written by memwise.linux.sysctl (it does not start with "
            "'# Managed by memwise.linux.sysctl'); nothing changed. Set force: true to take it over "
            "(backup: true keeps a copy of it first), or choose another path" % conf
        )
        assert snapshot(host, conf) == before
    _rc, result = run_module(capsys, {"settings": ["vm.swappiness"], "path": conf, "state": "absent"})
    assert result["failed"] is True and snapshot(host, conf) == before


def test_force_takes_a_file_over_and_backup_keeps_the_copy(capsys, host, conf):
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write(HAND_WRITTEN)
    args = {"settings": {"vm.swappiness": 1}, "path": conf, "force": True, "backup": True}
    _rc, check = run_module(capsys, args, check_mode=True)
    assert check["changed"] is True and check["backup_file"] is None
    assert check["actions"] == ["set vm.swappiness = 1 live", "back up " + conf, "write " + conf]
    _rc, result = run_module(capsys, args)
    assert result["changed"] is True and result["changed_settings"] == ["vm.swappiness"]
    assert result["file_text"] == _sysctl.HEADER + "vm.swappiness = 1\nvm.dirty_ratio = 15\n"  # its keys are kept
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert handle.read() == HAND_WRITTEN
    assert os.path.dirname(result["backup_file"]) == os.path.dirname(conf)
    _rc, again = run_module(capsys, {"settings": {"vm.swappiness": 1}, "path": conf})  # now it is the module's
    assert again["changed"] is False


def test_force_on_an_unchanged_foreign_file_still_writes_the_header(capsys, host, conf):
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write("vm.swappiness = 60\n")
    _rc, result = run_module(capsys, {"settings": {"vm.swappiness": 60}, "path": conf, "force": True})
    assert result["changed"] is True and result["changed_settings"] == [] and result["backup_file"] is None
    assert result["file_text"] == _sysctl.HEADER + "vm.swappiness = 60\n"


@pytest.mark.parametrize("where", ["proc/sys/vm/90-memwise.conf", "proc/sys/vm"])
def test_a_path_in_proc_is_refused_before_anything_changes(capsys, host, where):
    path = "/" + where
    before = snapshot(host, "/nonexistent")
    _rc, result = run_module(capsys, {"settings": {"vm.swappiness": 10}, "path": path})
    assert result["msg"].startswith("path: %s is on proc (mounted at /proc), a file system the kernel makes up" % path)
    assert "nothing changed" in result["msg"] and snapshot(host, "/nonexistent") == before


def test_a_path_on_tmpfs_is_refused(capsys, host):
    (host / "proc/self").mkdir()
    (host / "proc/self/mountinfo").write_text(read_fixture("fstab", "mountinfo-deb13.txt"))
    _rc, result = run_module(capsys, {"settings": {"vm.swappiness": 10}, "path": "/run/sysctl.d/90-memwise.conf"})
    assert result["msg"].startswith("path: /run/sysctl.d/90-memwise.conf is on tmpfs (mounted at /run)")
    assert live(host, "vm.swappiness") == "60"


def test_the_kernel_refusing_a_key_undoes_the_keys_before_it(capsys, host, conf, monkeypatch):
    refused = str(host / "proc/sys/vm/dirty_bytes")
    real = _livewrite.write_file

    def kernel(path, value):
        if path == refused:
            raise OSError(errno.EINVAL, "Invalid argument")
        real(path, value)

    monkeypatch.setattr(_livewrite, "write_file", kernel)
    before = snapshot(host, conf)
    _rc, result = run_module(
        capsys, {"settings": {"vm.swappiness": 12, "vm.vfs_cache_pressure": 52, "vm.dirty_bytes": 1}, "path": conf}
    )
    assert result["msg"] == (
        "vm.dirty_bytes = '1': the kernel refused it: Invalid argument (EINVAL); "
        "undone: vm.vfs_cache_pressure = 100, vm.swappiness = 60"
    )
    assert snapshot(host, conf) == before


def test_a_failed_file_write_undoes_the_live_values(capsys, host, tmp_path, monkeypatch):
    # Before the journal, only a MemwiseError rolled the live writes back; any exception does now.
    conf = str(tmp_path / "90-memwise.conf")

    def broken(path, text, mode=0o644):
        raise OSError(errno.EROFS, "Read-only file system", path)

    monkeypatch.setattr(_owned._files, "atomic_write", broken)
    _rc, result = run_module(capsys, {"settings": {"vm.swappiness": 12}, "path": conf})
    assert result["msg"] == "Read-only file system (%s) [EROFS]; undone: vm.swappiness = 60" % conf
    assert live(host, "vm.swappiness") == "60" and not os.path.exists(conf)


def test_a_changed_read_back_is_undone(capsys, host, conf, monkeypatch):
    real = _livewrite.write_file
    monkeypatch.setattr(
        _livewrite, "write_file", lambda path, value: real(path, "100" if value == "150" else value)
    )  # the kernel clamps
    _rc, result = run_module(capsys, {"settings": {"vm.swappiness": 150}, "path": conf})
    assert result["msg"] == "vm.swappiness = '150': the kernel stored '100' instead; undone: vm.swappiness = 60"
    assert live(host, "vm.swappiness") == "60" and not os.path.exists(conf)


@pytest.mark.parametrize(
    ("settings", "messages"),
    [
        ({"vm.no_such_key": 1}, ["vm.no_such_key: no such key under /proc/sys"]),
        ({"vm.swappiness": "abc"}, ["vm.swappiness: takes an integer (now '60'), got 'abc'"]),
        ({"vm.swappiness": 300}, ["vm.swappiness: 300 is outside 0..200 on kernel 6.12"]),
        ({"kernel.osrelease": "x"}, ["kernel.osrelease: is read-only in this kernel"]),
        ({"vm": 1}, ["vm: is a directory under /proc/sys, not a key"]),
        ({"vm.drop_caches": 3}, ["vm.drop_caches: is a write-only trigger, not a setting"]),
        ({"vm.swappiness": True}, ["vm.swappiness: True is a boolean; write 0 or 1"]),
        ({"vm.min_free_kbytes": 200000}, ["vm.min_free_kbytes: 200000 kB is more than 10% of RAM (99056 kB)"]),
        ({"vm.dirty_bytes": 1, "vm.dirty_ratio": 10}, ["vm.dirty_bytes and vm.dirty_ratio set the same kernel value"]),
        (
            {"vm.swappiness": 1, "vm/swappiness": 2},
            ["vm.swappiness: given twice (as 'vm.swappiness' and 'vm/swappiness')"],
        ),
        (
            {"vm.dirty_background_ratio": 10, "vm.overcommit_memory": 9, "vm.nope": 1},
            ["vm.overcommit_memory: 9 is outside 0..2", "vm.nope: no such key"],
        ),
    ],
)
def test_bad_input_fails_naming_every_key_and_changes_nothing(capsys, host, conf, settings, messages):
    before = snapshot(host, conf)
    rc, result = run_module(capsys, {"settings": settings, "path": conf})
    assert rc == 1 and result["failed"] is True
    assert result["msg"].startswith("invalid settings, nothing changed: ")
    for message in messages:
        assert message in result["msg"]
    assert "vm.dirty_background_ratio:" not in result["msg"]  # the good key is not blamed
    assert snapshot(host, conf) == before


def test_a_key_that_needs_a_kernel_module(capsys, host, conf, monkeypatch):
    monkeypatch.setattr(_sysctl, "NEEDS_MODULE", (("vm.memwise_", "memwise_test_module"),))
    _rc, result = run_module(capsys, {"settings": {"vm.memwise_example": 1}, "path": conf})
    assert "vm.memwise_example: does not exist under /proc/sys; it appears when the kernel module " in result["msg"]
    assert "modprobe memwise_test_module" in result["msg"]


@pytest.mark.parametrize("settings", [{}, "vm.swappiness", ["vm.swappiness"]])
def test_settings_shape(capsys, host, conf, settings):
    _rc, result = run_module(capsys, {"settings": settings, "path": conf})
    assert result["msg"].startswith("settings: give a non-empty dict")


def test_missing_directory_fails_before_any_change(capsys, host, tmp_path):
    path = str(tmp_path / "nope" / "90-memwise.conf")
    _rc, result = run_module(capsys, {"settings": {"vm.swappiness": 10}, "path": path})
    assert result["msg"] == "path: the directory of %s does not exist; nothing changed" % path
    assert live(host, "vm.swappiness") == "60"
