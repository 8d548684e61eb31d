# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The memory_facts module end to end in-process, on this machine's real /proc."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import _facts, _procfs
from ansible_collections.memwise.linux.plugins.modules import memory_facts


def run_module(capsys, args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        memory_facts.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def test_all_sections_match_proc(capsys):
    rc, result = run_module(capsys, {})
    assert rc == 0 and result["changed"] is False
    memwise = result["ansible_facts"]["memwise"]
    assert memwise["gather_subset"] == list(_facts.SECTIONS)
    with open("/proc/meminfo") as f:
        expected = _procfs.parse_meminfo(f.read())
    assert memwise["meminfo"]["MemTotal"] == expected["MemTotal"]
    assert set(memwise["meminfo"]) == set(expected)
    with open("/proc/swaps") as f:
        assert len(memwise["swap"]["devices"]) == len(f.read().splitlines()) - 1
    # Whatever this machine lacks is explained, never fatal, and every section is present.
    assert all(name in memwise for name in _facts.SECTIONS)
    assert all(memwise[name] is None for name in memwise["unavailable"] if name in _facts.SECTIONS)
    assert memwise["summary"]["mem_total"] == expected["MemTotal"]


def test_check_mode_returns_the_same_sections(capsys):
    _rc, real = run_module(capsys, {"gather_subset": ["swap"]})
    _rc, check = run_module(capsys, {"gather_subset": ["swap"]}, check_mode=True)
    assert check["changed"] is False
    assert check["ansible_facts"]["memwise"]["gather_subset"] == real["ansible_facts"]["memwise"]["gather_subset"]
    assert "meminfo" not in check["ansible_facts"]["memwise"]


def test_exclusion(capsys):
    _rc, result = run_module(capsys, {"gather_subset": ["all", "!swap"]})
    assert result["ansible_facts"]["memwise"]["gather_subset"] == [n for n in _facts.SECTIONS if n != "swap"]
    assert "swap" not in result["ansible_facts"]["memwise"]


def test_unknown_section_fails_and_lists_the_valid_ones(capsys):
    rc, result = run_module(capsys, {"gather_subset": ["meminfo", "thp_typo"]})
    assert rc == 1 and result["failed"] is True
    assert result["msg"] == (
        "gather_subset: unknown section(s) thp_typo; valid: all, %s (prefix with ! to exclude)"
        % ", ".join(_facts.SECTIONS)
    )
    assert "ansible_facts" not in result


def test_units_without_a_cgroup_are_explained(capsys):
    _rc, result = run_module(capsys, {"gather_subset": ["cgroup"], "units": ["memwise-absent.service"]})
    memwise = result["ansible_facts"]["memwise"]
    assert memwise["cgroup"]["units"] == {"memwise-absent.service": None}
    assert "memwise-absent.service" in memwise["unavailable"]["cgroup:memwise-absent.service"]
