# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mm_tunables in-process on this machine's real /sys, without changing live values.

Live writes, rollback and reboots are proven in the Molecule scenario on VMs;
here the module runs in check mode, persist-only, or fails validation.
"""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import _mm, _sysfs
from ansible_collections.memwise.linux.plugins.modules import mm_tunables

THP_ENABLED = "/sys/kernel/mm/transparent_hugepage/enabled"


def run_module(capsys, args, check_mode=False, diff=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        mm_tunables.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def thp_now():
    with open(THP_ENABLED, encoding="utf-8") as handle:
        return _sysfs.parse_choice(handle.read())


@pytest.fixture
def conf(tmp_path):
    return str(tmp_path / "memwise-mm.conf")


def test_check_mode_predicts_and_changes_nothing(capsys, conf):
    selected, choices = thp_now()
    other = next(c for c in choices if c != selected)
    rc, result = run_module(capsys, {"thp": {"enabled": other}, "path": conf}, check_mode=True, diff=True)
    assert rc == 0 and result["changed"] is True and result["changed_keys"] == ["thp.enabled"]
    assert result["settings"]["thp.enabled"] == {
        "live": {"before": selected, "after": other},
        "file": {"before": None, "after": other},
    }
    assert result["diff"][0]["before"] == "thp.enabled = %s\n" % selected
    assert result["file_text"] == _mm.HEADER + "w %s - - - - %s\n" % (THP_ENABLED, other)
    assert thp_now()[0] == selected and not os.path.exists(conf)


def test_persist_only_then_steady(capsys, conf):
    selected, _choices = thp_now()
    _rc, first = run_module(capsys, {"thp": {"enabled": selected}, "path": conf, "live": False})
    assert first["changed"] is True and first["settings"]["thp.enabled"]["live"]["after"] == selected
    with open(conf, encoding="utf-8") as handle:
        assert handle.read() == first["file_text"]
    _rc, second = run_module(capsys, {"thp": {"enabled": selected}, "path": conf})
    assert second["changed"] is False and second["changed_keys"] == []


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
def test_bad_input_fails_and_changes_nothing(capsys, conf, args, messages):
    before = thp_now()
    rc, result = run_module(capsys, dict(args, path=conf))
    assert rc == 1
    for message in messages:
        assert message in result["msg"]
    assert thp_now() == before and not os.path.exists(conf)


def test_missing_option_group_and_option_name_the_kernel(capsys, conf, tmp_path, monkeypatch):
    # Point MGLRU at a directory that does not exist and one KSM file at a missing name, as on a
    # kernel built without CONFIG_LRU_GEN or before a parameter existed (the real case runs on VMs).
    missing = str(tmp_path / "lru_gen")
    monkeypatch.setitem(_mm.GROUPS, "mglru", (missing, "MGLRU (CONFIG_LRU_GEN)"))
    monkeypatch.setitem(_mm.TABLE, "mglru.enabled", (missing + "/enabled", "mask", None, None))
    monkeypatch.setitem(_mm.TABLE, "ksm.sleep_millisecs", (str(tmp_path / "sleep_millisecs"), "int", 0, 10))
    monkeypatch.setitem(_mm.GROUPS, "ksm", (str(tmp_path), "KSM (CONFIG_KSM)"))
    _rc, result = run_module(capsys, {"mglru": {"enabled": True}, "ksm": {"sleep_millisecs": 5}, "path": conf})
    with open("/proc/sys/kernel/osrelease", encoding="utf-8") as handle:
        release = handle.read().strip()
    assert (
        "mglru.enabled: kernel %s has no MGLRU (CONFIG_LRU_GEN) (%s does not exist)" % (release, missing)
        in (result["msg"])
    )
    assert "ksm.sleep_millisecs: kernel %s does not offer this setting" % release in result["msg"]
