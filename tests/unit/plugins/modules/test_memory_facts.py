# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The memory_facts module end to end in-process, on captured hosts (a tmp_path copy of each capture's root).

The expected values are written out by hand from the capture files
(tests/unit/fixtures/<source>/root/...), never computed with the module's own
parsers, so a parser that goes wrong fails here. Nothing of this machine's
/proc, /sys or systemd is read: the root is the capture's, and the one command
the module runs (systemctl is-system-running) answers from the capture too.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import _facts
from ansible_collections.memwise.linux.plugins.modules import memory_facts

from ...conftest import FIXTURES

KIB, MIB = 1024, 1024**2

# Read by hand from each capture.
EXPECTED = {
    "deb12": {
        # root/proc/meminfo
        "meminfo": {"MemTotal": 983744 * KIB, "MemAvailable": 321100 * KIB, "SwapTotal": 524280 * KIB},
        "meminfo_fields": 53,
        # root/proc/swaps
        "swap_devices": [
            {"path": "/swapfile", "type": "file", "size": 262140 * KIB, "used": 38312 * KIB, "priority": 5},
            {"path": "/dev/zram0", "type": "zram", "size": 262140 * KIB, "used": 257260 * KIB, "priority": 100},
        ],
        # root/sys/block/zram0
        "zram0": {"disksize": 268435456, "algorithm": "zstd", "active": True, "priority": 100},
        # root/proc/vmstat, root/proc/pressure/memory, root/proc/sys/kernel/osrelease
        "vmstat": {"oom_kill": 0, "pswpin": 448371, "pswpout": 595786},
        "psi_memory_some": {"avg10": 0.0, "avg60": 0.0, "avg300": 0.14, "total": 33169794},
        "kernel": "6.1.0-50-amd64",
        "thp": "always",
        "swappiness": 60,
        # root/sys/fs/cgroup/system.slice/ssh.service/memory.current, memory.max
        "ssh": {"current": 220762112, "max": None},
        # commands/is-system-running.txt, root/proc/1/comm
        "systemd": {"booted": True, "pid1": "systemd", "version": 252, "state": "running"},
    },
    "deb13": {
        "meminfo": {"MemTotal": 990564 * KIB, "MemAvailable": 357396 * KIB, "SwapTotal": 524280 * KIB},
        "swap_devices": [
            {"path": "/swapfile", "type": "file", "size": 262140 * KIB, "used": 44708 * KIB, "priority": 5},
            {"path": "/dev/zram0", "type": "zram", "size": 262140 * KIB, "used": 261400 * KIB, "priority": 100},
        ],
        "zram0": {"disksize": 268435456, "algorithm": "zstd", "active": True, "priority": 100},
        "vmstat": {"oom_kill": 0, "pswpin": 12, "pswpout": 4108},
        "psi_memory_some": {"avg10": 0.0, "avg60": 0.0, "avg300": 0.10, "total": 26636460},
        "kernel": "6.12.117+deb13-amd64",
        "systemd": {"booted": True, "pid1": "systemd", "version": 257},
    },
    "devhost": {
        "meminfo": {"MemTotal": 24684092 * KIB, "MemAvailable": 24199744 * KIB, "SwapTotal": 0},
        "swap_devices": [],
        "zram0": {"disksize": 0, "algorithm": "lzo-rle", "active": False, "priority": None},
        # no /run/systemd/system in the capture: not booted with systemd
        "systemd": {"booted": False, "pid1": "process_api", "state": None, "oomd_active": None},
    },
}


@pytest.fixture(params=sorted(EXPECTED))
def capture(request, tmp_path, monkeypatch):
    """A copy of one capture's root as the module's root, and its systemctl answer."""
    source = request.param
    root = tmp_path / "root"
    shutil.copytree(os.path.join(FIXTURES, source, "root"), str(root), symlinks=True)
    monkeypatch.setattr(_facts, "ROOT", str(root))
    answer = os.path.join(FIXTURES, source, "commands", "is-system-running.txt")
    calls = []

    def run_command(self, argv, **kwargs):
        calls.append([os.path.basename(argv[0])] + argv[1:])
        assert calls[-1] == ["systemctl", "is-system-running"], calls[-1]
        with open(answer, encoding="utf-8") as handle:
            return 0, handle.read(), ""

    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, *a, **kw: "/usr/bin/" + name)
    monkeypatch.setattr(AnsibleModule, "run_command", run_command)
    return source, EXPECTED[source], calls


def run_module(capsys, args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        memory_facts.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def test_every_section_says_what_the_capture_holds(capsys, capture):
    _source, expected, calls = capture
    rc, result = run_module(capsys, {})
    assert rc == 0 and result["changed"] is False
    memwise = result["ansible_facts"]["memwise"]
    assert memwise["gather_subset"] == [
        "meminfo",
        "swap",
        "zram",
        "zswap",
        "thp",
        "ksm",
        "mglru",
        "psi",
        "vm",
        "vmstat",
        "cgroup",
        "systemd",
        "summary",
    ]
    for key, value in expected["meminfo"].items():
        assert memwise["meminfo"][key] == value, key
    if "meminfo_fields" in expected:
        assert len(memwise["meminfo"]) == expected["meminfo_fields"]
    assert memwise["swap"]["devices"] == expected["swap_devices"]
    assert memwise["swap"]["total"] == sum(d["size"] for d in expected["swap_devices"])
    zram0 = memwise["zram"]["devices"][0]
    assert {key: zram0[key] for key in expected["zram0"]} == expected["zram0"]
    assert "swap" not in zram0 and "swap_priority" not in zram0
    for key, value in expected.get("vmstat", {}).items():
        assert memwise["vmstat"][key] == value, key
    if "psi_memory_some" in expected:
        assert memwise["psi"]["memory"]["some"] == expected["psi_memory_some"]
    if "kernel" in expected:
        assert memwise["summary"]["kernel"] == expected["kernel"]
    if "thp" in expected:
        assert memwise["thp"]["enabled"] == expected["thp"]
    if "swappiness" in expected:
        assert memwise["vm"]["swappiness"] == expected["swappiness"]
    for key, value in expected["systemd"].items():
        assert memwise["systemd"][key] == value, key
    assert calls == ([["systemctl", "is-system-running"]] if expected["systemd"]["booted"] else [])
    assert memwise["summary"]["mem_total"] == expected["meminfo"]["MemTotal"]
    assert all(memwise[name] is None for name in memwise["unavailable"] if name in _facts.SECTIONS)


def test_check_mode_returns_the_same_facts(capsys, capture):
    _rc, real = run_module(capsys, {"gather_subset": ["swap", "zram"]})
    _rc, check = run_module(capsys, {"gather_subset": ["swap", "zram"]}, check_mode=True)
    assert check["changed"] is False
    assert check["ansible_facts"] == real["ansible_facts"]
    assert "meminfo" not in check["ansible_facts"]["memwise"]


def test_exclusion(capsys, capture):
    _rc, result = run_module(capsys, {"gather_subset": ["all", "!swap"]})
    memwise = result["ansible_facts"]["memwise"]
    assert "swap" not in memwise and "swap" not in memwise["gather_subset"]
    assert len(memwise["gather_subset"]) == 12


def test_unknown_section_fails_and_lists_the_valid_ones(capsys, capture):
    rc, result = run_module(capsys, {"gather_subset": ["meminfo", "thp_typo"]})
    assert rc == 1 and result["failed"] is True
    assert result["msg"] == (
        "gather_subset: unknown section(s) thp_typo; valid: all, meminfo, swap, zram, zswap, thp, ksm, mglru, "
        "psi, vm, vmstat, cgroup, systemd, summary (prefix with ! to exclude)"
    )
    assert "ansible_facts" not in result


def test_units_with_and_without_a_cgroup(capsys, capture):
    _source, expected, _calls = capture
    units = ["ssh.service", "memwise-absent.service"]
    _rc, result = run_module(capsys, {"gather_subset": ["cgroup"], "units": units})
    memwise = result["ansible_facts"]["memwise"]
    assert memwise["cgroup"]["units"]["memwise-absent.service"] is None
    assert "memwise-absent.service" in memwise["unavailable"]["cgroup:memwise-absent.service"]
    if "ssh" in expected:
        ssh = memwise["cgroup"]["units"]["ssh.service"]
        assert {key: ssh[key] for key in expected["ssh"]} == expected["ssh"]
        assert ssh["path"] == "/sys/fs/cgroup/system.slice/ssh.service"


def test_unit_names_are_checked_the_way_systemd_does_before_any_reading(capsys, capture):
    _source, _expected, calls = capture
    units = ["", "ssh.service ssh.socket", "../../etc.service", "multi-user.target", "getty@.service", "user.slice"]
    rc, result = run_module(capsys, {"gather_subset": ["cgroup"], "units": units})
    assert rc == 1 and "ansible_facts" not in result
    assert result["msg"] == (
        "units: invalid unit names, nothing was gathered: '' is empty, not a unit name; "
        "'ssh.service ssh.socket' contains ' ', which a unit name cannot (letters, digits, ':', '-', '_', '.', "
        "'\\' and one '@'); '../../etc.service' contains '/', which a unit name cannot (letters, digits, ':', "
        "'-', '_', '.', '\\' and one '@'); multi-user.target is a .target unit; memory is read for .service, "
        ".slice, .scope, .socket, .mount, .swap units; getty@.service is a template; name an instance such as "
        "getty@1.service"
    )
    assert calls == []
