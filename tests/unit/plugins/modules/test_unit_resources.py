# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""unit_resources: the plan over `systemctl show` captured on the Debian 12 and 13 VMs, and its error paths.

Writes, daemon-reload, set-property, the read-back and rollback run against real systemd in the
Molecule scenario; here `systemctl show` answers are replayed from the captures and the module runs
in check mode only, so nothing on this machine is touched.
"""

from __future__ import annotations

import json
import shutil

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import _systemd, _unitctl
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.modules import unit_resources

from ...conftest import read_fixture

SOURCES = ("deb12", "deb13")
HOST = {"mem_total": 983744 * 1024, "page": 4096, "tasks_max": 7341}


class Replay:
    """A runner that answers `systemctl show` from the captures and refuses anything else."""

    def __init__(self, source, unit="ssh.service"):
        self.source, self.unit, self.calls = source, unit, []

    def __call__(self, argv, check=True, ok_rc=(0,)):
        self.calls.append(argv)
        assert argv[:2] == ["systemctl", "show"], "check mode must only read: %s" % argv
        if len(argv) > 2 and not argv[2].startswith("-"):
            return 0, read_fixture(self.source, "commands/show-%s.txt" % self.unit), ""
        return 0, read_fixture(self.source, "commands/show-manager.txt"), ""


class FakeModule:
    def __init__(self, params, check_mode=True):
        defaults = dict(runtime=True, persist=True, dropin_name="50-memwise-resources", create_slice=False)
        defaults.update(state="present")
        defaults.update(params)
        self.params, self.check_mode, self._diff, self.warnings = defaults, check_mode, True, []

    def warn(self, text):
        self.warnings.append(text)


def plan(source, params, unit="ssh.service"):
    module = FakeModule(dict(params, unit=unit))
    ctl = _unitctl.Systemctl(Replay(source, unit))
    return module, ctl, unit_resources.run(module, ctl)


@pytest.mark.parametrize("source", SOURCES)
def test_check_mode_plan_from_captured_show(source):
    module, ctl, result = plan(source, {"properties": {"MemoryHigh": "512M", "MemoryLow": "64M", "CPUWeight": 50}})
    assert result["changed"] is True
    assert result["systemd_version"] == {"deb12": 252, "deb13": 257}[source]
    assert result["changed_properties"] == ["MemoryHigh", "MemoryLow", "CPUWeight"]
    high = result["properties"]["MemoryHigh"]
    assert high["live"] == {"before": "infinity", "after": 536870912}
    assert high["file"] == {"before": None, "after": "512M"}
    assert result["properties"]["CPUWeight"]["live"] == {"before": None, "after": 50}
    assert result["dropin"] == "/etc/systemd/system/ssh.service.d/50-memwise-resources.conf"
    assert result["dropin_text"] == _systemd.HEADER + "[Service]\nMemoryLow=64M\nMemoryHigh=512M\nCPUWeight=50\n"
    assert result["daemon_reload"] is True
    assert result["main_pid"]["before"] == result["main_pid"]["after"] > 0
    assert result["restarted"] is False
    assert result["usage"]["MemoryCurrent"] > 0
    assert "diff" in result and "MemoryHigh = 536870912" in result["diff"][0]["after"]
    assert all(call[:2] == ["systemctl", "show"] for call in ctl.run.calls)
    assert module.warnings == []


@pytest.mark.parametrize("source", SOURCES)
def test_values_already_live_are_no_change_without_persist(source):
    shown = _systemd.parse_show(read_fixture(source, "commands/show-ssh.service.txt"))
    _module, _ctl, result = plan(
        source, {"persist": False, "properties": {"MemoryHigh": "infinity", "TasksMax": int(shown["TasksMax"])}}
    )
    assert result["changed"] is False
    assert result["changed_properties"] == []
    assert result["daemon_reload"] is False


def test_zswap_limit_refused_on_252_named_with_the_version():
    with pytest.raises(MemwiseError, match="MemoryZSwapMax: needs systemd 253 or later; this host runs systemd 252"):
        plan("deb12", {"properties": {"MemoryZSwapMax": "64M"}})
    _module, _ctl, result = plan("deb13", {"properties": {"MemoryZSwapMax": "64M"}})
    assert result["properties"]["MemoryZSwapMax"]["live"]["after"] == 67108864


def test_contradiction_is_warned():
    module, _ctl, _result = plan("deb13", {"properties": {"MemoryHigh": "2G", "MemoryMax": "1G"}})
    assert any("MemoryHigh (2147483648) is above MemoryMax (1073741824)" in w for w in module.warnings)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"properties": {}}, "properties: give a dict of property names and values"),
        ({"properties": ["MemoryHigh"]}, "properties: give a dict"),
        ({"runtime": False, "persist": False, "properties": {"MemoryHigh": "1G"}}, "runtime and persist are both"),
        ({"properties": {"MemoryHigh": "lots", "IOWeight": 20000}}, "MemoryHigh: 'lots' is not a size"),
        ({"state": "absent", "properties": ["Bogus"]}, "Bogus: not a resource-control property"),
        (
            {"persist": False, "properties": {"MemoryPressureWatch": "off"}},
            "MemoryPressureWatch: systemd does not change it on a running unit",
        ),
    ],
)
def test_bad_input_fails_before_anything_but_show(params, message):
    with pytest.raises(MemwiseError, match=message):
        plan("deb13", params)


@pytest.mark.parametrize(
    ("unit", "show", "create", "message"),
    [
        ("nosuch.service", {"LoadState": "not-found"}, False, "nosuch.service is not known to systemd"),
        ("ssh.service", {"LoadState": "masked"}, False, "ssh.service is masked; unmask it first"),
        ("batch.slice", {"LoadState": "loaded", "ActiveState": "inactive"}, False, "set create_slice: true"),
    ],
)
def test_check_unit_refuses(unit, show, create, message):
    with pytest.raises(MemwiseError, match=message):
        unit_resources.check_unit(unit, show, create)


def test_check_unit_slices():
    assert unit_resources.check_unit("batch.slice", {"LoadState": "loaded", "ActiveState": "inactive"}, True)
    running = {"LoadState": "loaded", "ActiveState": "active"}
    assert not unit_resources.check_unit("system-getty.slice", running, False)
    assert not unit_resources.check_unit("ssh.service", {"LoadState": "loaded", "FragmentPath": "/x"}, False)


@pytest.mark.parametrize(
    ("name", "value"),
    [("MemoryHigh", "1G"), ("MemoryHigh", "infinity"), ("TasksMax", 64), ("CPUQuota", "20%"), ("CPUWeight", 50),
     ("ManagedOOMMemoryPressureLimit", "60%"), ("MemoryPressureThresholdSec", "150ms"),
     ("ManagedOOMPreference", "avoid"), ("MemoryAccounting", False)],
)  # fmt: skip
def test_live_text_brings_a_value_back(name, value):
    canonical = _systemd.normalize(name, value, HOST)[0]
    assert _systemd.normalize(name, unit_resources.live_text(name, canonical), HOST)[0] == canonical
    assert unit_resources.live_text(name, None) == ""  # an empty assignment resets a property


def run_main(capsys, args):
    with patch_module_args(dict(args, _ansible_check_mode=True)), pytest.raises(SystemExit) as exc:
        unit_resources.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="needs the systemctl binary (present on Debian)")
def test_without_systemd_as_pid1_the_module_says_why(capsys):
    """This development machine has systemctl but not systemd as PID 1: the failure names the command."""
    code, result = run_main(capsys, {"unit": "ssh.service", "properties": {"MemoryHigh": "1G"}})
    assert code == 1
    assert result["msg"].startswith("`systemctl show -p Version")
    assert "failed (rc=1)" in result["msg"]
    assert result["commands"][0][:2] == ["systemctl", "show"]


def test_dropin_name_must_be_a_file_name(capsys):
    code, result = run_main(capsys, {"unit": "ssh.service", "dropin_name": "../x", "properties": {"MemoryHigh": 1}})
    assert code == 1
    assert result["msg"] == "dropin_name: '../x' must be a plain file name"


def test_template_unit_refused(capsys):
    code, result = run_main(capsys, {"unit": "getty@.service", "properties": {"MemoryHigh": "1G"}})
    assert code == 1
    assert "getty@.service is a template" in result["msg"]
