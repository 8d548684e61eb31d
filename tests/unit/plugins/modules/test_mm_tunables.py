# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mm_tunables in-process on a copy of the /sys and /proc captured from the Debian 13 VM.

``_sysfs.ROOT`` points at a tmp_path copy of tests/unit/fixtures/deb13/root, so
the module reads and writes the captured sysfs files, never this machine's.
Plain files do not answer like the kernel's bracketed choice files (``always
[madvise] never``), so live writes are proven here on the integer, boolean and
KSM files, and THP choices with ``live: false``; the kernel's own answers and
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

from ansible_collections.memwise.linux.plugins.module_utils import _livewrite, _mm, _sysfs
from ansible_collections.memwise.linux.plugins.modules import mm_tunables

from ...conftest import FIXTURES

THP = "sys/kernel/mm/transparent_hugepage/"
RELEASE = "6.12.117+deb13-amd64"
SETTINGS = {
    "thp": {"khugepaged": {"max_ptes_none": 64}},
    "zswap": {"enabled": False},
    "ksm": {"pages_to_scan": 200, "run": "run"},
}


@pytest.fixture
def host(tmp_path, monkeypatch):
    root = tmp_path / "host"
    for part in ("sys/kernel/mm", "sys/module/zswap", "proc/sys/kernel", "proc/mounts"):
        source = os.path.join(FIXTURES, "deb13", "root", part)
        if os.path.isdir(source):
            shutil.copytree(source, str(root / part))
        else:
            shutil.copy(source, str(root / part))
    monkeypatch.setattr(_sysfs, "ROOT", str(root))
    return root


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: seen.append(text))
    return seen


@pytest.fixture
def conf(tmp_path):
    return str(tmp_path / "memwise-mm.conf")


def run_module(capsys, args, check_mode=False, diff=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        mm_tunables.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def snapshot(host, conf):
    """Every captured /sys file and the owned file's bytes (None without a file)."""
    files = {str(p): p.read_bytes() for p in host.rglob("*") if p.is_file()}
    return files, (open(conf, "rb").read() if os.path.exists(conf) else None)


def line(path, text):
    return "w %s - - - - %s\n" % (path, text)


def test_check_mode_predicts_the_real_run_and_changes_nothing(capsys, host, conf):
    args = dict(SETTINGS, path=conf)
    before = snapshot(host, conf)
    rc, check = run_module(capsys, args, check_mode=True, diff=True)
    assert rc == 0 and check["changed"] is True and snapshot(host, conf) == before
    assert check["changed_settings"] == [
        "thp.khugepaged.max_ptes_none",
        "zswap.enabled",
        "ksm.pages_to_scan",
        "ksm.run",
    ]
    assert check["settings"]["ksm.run"] == {
        "live": {"before": "stop", "after": "run"},
        "file": {"before": None, "after": "1"},
    }
    assert check["kernel"] == RELEASE
    assert check["actions"] == [
        "set thp.khugepaged.max_ptes_none = 64 live",
        "set zswap.enabled = N live",
        "set ksm.pages_to_scan = 200 live",
        "set ksm.run = 1 live",
        "write " + conf,
    ]
    assert check["diff"][0]["before"] == (
        "thp.khugepaged.max_ptes_none = 511\nzswap.enabled = Y\nksm.pages_to_scan = 100\nksm.run = stop\n"
    )
    assert check["file_text"] == _mm.HEADER + "".join(
        [
            line("/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none", "64"),
            line("/sys/module/zswap/parameters/enabled", "N"),
            line("/sys/kernel/mm/ksm/pages_to_scan", "200"),
            line("/sys/kernel/mm/ksm/run", "1"),
        ]
    )
    _rc, apply = run_module(capsys, args, diff=True)
    keys = ("changed", "changed_settings", "settings", "actions", "path", "file_text", "backup_file", "diff")
    assert {k: apply[k] for k in keys} == {k: check[k] for k in keys}
    assert (host / "sys/kernel/mm/ksm/run").read_text().strip() == "1"
    assert (host / "sys/module/zswap/parameters/enabled").read_text().strip() == "N"
    _rc, again = run_module(capsys, args, check_mode=True)
    assert again["changed"] is False and again["actions"] == []


def test_persist_only_then_steady(capsys, host, conf):
    _rc, first = run_module(capsys, {"thp": {"enabled": "madvise"}, "path": conf, "live": False})
    assert first["changed"] is True
    assert first["settings"]["thp.enabled"]["live"] == {"before": "always", "after": "always"}
    assert (host / THP / "enabled").read_text() == "[always] madvise never\n"
    with open(conf, encoding="utf-8") as handle:
        assert handle.read() == first["file_text"]
    _rc, second = run_module(capsys, {"thp": {"enabled": "madvise"}, "path": conf, "live": False})
    assert second["changed"] is False and second["changed_settings"] == []


def test_absent_check_absent_check(capsys, host, conf, warnings):
    run_module(capsys, dict(SETTINGS, path=conf))
    live = snapshot(host, "/nonexistent")
    _rc, check = run_module(capsys, {"path": conf, "state": "absent"}, check_mode=True)
    assert check["changed"] is True and os.path.exists(conf)
    _rc, absent = run_module(capsys, {"path": conf, "state": "absent"})
    assert (
        absent["changed_settings"]
        == check["changed_settings"]
        == [
            "thp.khugepaged.max_ptes_none",
            "zswap.enabled",
            "ksm.pages_to_scan",
            "ksm.run",
        ]
    )
    assert absent["settings"]["ksm.run"] == {
        "live": {"before": "run", "after": "run"},
        "file": {"before": "1", "after": None},
    }
    assert absent["file_text"] is None and absent["actions"] == ["remove " + conf]
    assert not os.path.exists(conf) and snapshot(host, "/nonexistent") == live
    removed = [w for w in warnings if "removed from" in w]
    assert len(removed) == 2  # once for the check, once for the run
    assert removed[1].startswith(
        "thp.khugepaged.max_ptes_none, zswap.enabled, ksm.pages_to_scan, ksm.run: removed from"
    )
    _rc, again = run_module(capsys, {"path": conf, "state": "absent"})
    assert again["changed"] is False and again["settings"] == {}


def test_absent_removes_only_the_given_settings(capsys, host, conf):
    run_module(capsys, dict(SETTINGS, path=conf))
    _rc, result = run_module(
        capsys, {"ksm": {"run": "stop"}, "zswap": {"enabled": True}, "path": conf, "state": "absent"}
    )
    assert result["changed_settings"] == ["zswap.enabled", "ksm.run"]
    assert list(_mm.parse_tmpfiles(result["file_text"])) == ["thp.khugepaged.max_ptes_none", "ksm.pages_to_scan"]
    assert (host / "sys/kernel/mm/ksm/run").read_text().strip() == "1"


def test_a_foreign_tmpfiles_file_is_refused_then_taken_over(capsys, host, conf):
    foreign = "# zswap for the build farm\nw /sys/module/zswap/parameters/enabled - - - - N\nd /run/build 0755 - - -\n"
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write(foreign)
    before = snapshot(host, conf)
    for args in ({"ksm": {"pages_to_scan": 200}}, {"state": "absent"}):
        _rc, result = run_module(capsys, dict(args, path=conf))
        assert result["msg"] == (
            "path: %s exists and was not written by memwise.linux.mm_tunables (it does not start with "
            "'# Managed by memwise.linux.mm_tunables'); nothing changed. Set force: true to take it over "
            "(backup: true keeps a copy of it first), or choose another path" % conf
        )
        assert snapshot(host, conf) == before
    _rc, result = run_module(capsys, {"ksm": {"pages_to_scan": 200}, "path": conf, "force": True, "backup": True})
    assert result["changed"] is True
    assert result["file_text"] == _mm.HEADER + line("/sys/module/zswap/parameters/enabled", "N") + line(
        "/sys/kernel/mm/ksm/pages_to_scan", "200"
    )
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert handle.read() == foreign


@pytest.mark.parametrize("path", ["/sys/kernel/mm/memwise-mm.conf", "/proc/sys/vm/memwise-mm.conf"])
def test_a_path_in_sys_or_proc_is_refused(capsys, host, path):
    before = snapshot(host, "/nonexistent")
    _rc, result = run_module(capsys, dict(SETTINGS, path=path))
    assert result["msg"].startswith("path: %s is on " % path) and "nothing changed" in result["msg"]
    assert snapshot(host, "/nonexistent") == before


def test_the_kernel_refusing_a_value_undoes_the_values_before_it(capsys, host, conf, monkeypatch):
    refused = str(host / "sys/kernel/mm/ksm/run")
    real = _livewrite.write_file

    def kernel(path, value):
        if path == refused:
            raise OSError(errno.EBUSY, "Device or resource busy")
        real(path, value)

    monkeypatch.setattr(_livewrite, "write_file", kernel)
    before = snapshot(host, conf)
    _rc, result = run_module(capsys, dict(SETTINGS, path=conf))
    assert result["msg"] == (
        "ksm.run = '1': the kernel refused it: Device or resource busy (EBUSY); "
        "undone: ksm.pages_to_scan = 100, zswap.enabled = Y, thp.khugepaged.max_ptes_none = 511"
    )
    assert snapshot(host, conf) == before


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        ({"thp": {"enabled": "sometimes"}}, ["thp.enabled: 'sometimes' is not one of this kernel's choices"]),
        ({"zswap": {"max_pool_percent": 150}}, ["zswap.max_pool_percent: 150 is outside 0..100"]),
        ({"zswap": {"compressor": "no-such-compressor"}}, ["zswap.compressor: 'no-such-compressor' is not available"]),
        (
            {"thp": {"enabled": "sometimes"}, "ksm": {"pages_to_scan": -1}},
            ["thp.enabled: 'sometimes'", "ksm.pages_to_scan: -1 is outside 0..2147483647"],
        ),
        ({}, ["nothing to set: give at least one of thp, zswap, ksm, mglru"]),
    ],
)
def test_bad_input_fails_and_changes_nothing(capsys, host, conf, args, messages):
    before = snapshot(host, conf)
    rc, result = run_module(capsys, dict(args, path=conf))
    assert rc == 1
    for message in messages:
        assert message in result["msg"]
    assert snapshot(host, conf) == before


def test_missing_option_group_and_option_name_the_kernel(capsys, host, conf):
    # A kernel built without CONFIG_LRU_GEN has no lru_gen directory; an older one lacks a KSM file.
    shutil.rmtree(str(host / "sys/kernel/mm/lru_gen"))
    os.unlink(str(host / "sys/kernel/mm/ksm/sleep_millisecs"))
    _rc, result = run_module(capsys, {"mglru": {"enabled": True}, "ksm": {"sleep_millisecs": 5}, "path": conf})
    assert result["msg"] == (
        "invalid settings, nothing changed: ksm.sleep_millisecs: kernel %s does not offer this setting "
        "(/sys/kernel/mm/ksm/sleep_millisecs does not exist); mglru.enabled: kernel %s has no MGLRU "
        "(CONFIG_LRU_GEN) (/sys/kernel/mm/lru_gen does not exist)" % (RELEASE, RELEASE)
    )
