# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""unit_resources: the plan over `systemctl show` captured on the Debian 12 and 13 VMs, its error paths,
and the real run (files, reload, set-property, read-back, rollback) against a fake systemd on a tmp root.

The check-mode tests replay `systemctl show` from the captures and refuse any other command. The
real-run tests point /etc/systemd/system, /run and /sys/fs/cgroup at tmp_path (fake_systemd.point_at)
and fail a chosen step, asserting the files, the order of the undo calls and the message. Real systemd
runs them in the Molecule scenario unit_resources.
"""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import _command, _systemd, _unitctl
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.modules import unit_resources

from ...conftest import read_fixture
from .fake_systemd import HOST, FakeSystemd, fixture_root, point_at

SOURCES = ("deb12", "deb13")


@pytest.fixture(autouse=True)
def own_roots(monkeypatch, tmp_path):
    """/proc from the deb13 capture; /etc/systemd/system, /run and /sys/fs/cgroup below tmp_path."""
    monkeypatch.setattr(unit_resources, "HOST_ROOT", fixture_root("deb13"))
    return point_at(monkeypatch, tmp_path)


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
        defaults = dict(live=True, persist=True, dropin_name="50-memwise-resources", create_slice=False, force=False)
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
def test_check_mode_plan_from_captured_show(source, own_roots):
    module, ctl, result = plan(source, {"properties": {"MemoryHigh": "512M", "MemoryLow": "64M", "CPUWeight": 50}})
    assert result["changed"] is True
    assert result["systemd_version"] == {"deb12": 252, "deb13": 257}[source]
    assert result["changed_settings"] == ["MemoryHigh", "MemoryLow", "CPUWeight"]
    high = result["settings"]["MemoryHigh"]
    assert high["live"] == {"before": "infinity", "after": 536870912}
    assert high["file"] == {"before": None, "after": "512M"}
    assert result["settings"]["CPUWeight"]["live"] == {"before": None, "after": 50}
    path = str(own_roots / "ssh.service.d" / "50-memwise-resources.conf")
    assert result["path"] == path
    assert result["file_text"] == _systemd.HEADER + "[Service]\nMemoryLow=64M\nMemoryHigh=512M\nCPUWeight=50\n"
    assert result["daemon_reload"] is True
    assert result["actions"] == [
        "write " + path,
        "systemctl daemon-reload",
        "systemctl set-property --runtime ssh.service MemoryHigh=536870912 MemoryLow=67108864 CPUWeight=50",
    ]
    assert result["main_pid"]["before"] == result["main_pid"]["after"] > 0
    assert result["restarted"] is False
    assert result["usage"]["MemoryCurrent"] > 0
    live, dropin = result["diff"]
    assert live["before_header"] == "live systemctl show ssh.service"
    assert "MemoryHigh = 536870912\n" in live["after"] and "CPUWeight = (unset)\n" in live["before"]
    assert dropin == {"before_header": path, "after_header": path, "before": "", "after": result["file_text"]}
    assert all(call[:2] == ["systemctl", "show"] for call in ctl.run.calls)
    assert not (own_roots / "ssh.service.d").exists()
    assert module.warnings == []


@pytest.mark.parametrize("source", SOURCES)
def test_values_already_live_are_no_change_without_persist(source):
    shown = _systemd.parse_show(read_fixture(source, "commands/show-ssh.service.txt"))
    _module, _ctl, result = plan(
        source, {"persist": False, "properties": {"MemoryHigh": "infinity", "TasksMax": int(shown["TasksMax"])}}
    )
    assert result["changed"] is False
    assert result["changed_settings"] == []
    assert result["actions"] == []
    assert result["daemon_reload"] is False


def test_zswap_limit_refused_on_252_named_with_the_version():
    with pytest.raises(MemwiseError, match="MemoryZSwapMax: needs systemd 253 or later; this host runs systemd 252"):
        plan("deb12", {"properties": {"MemoryZSwapMax": "64M"}})
    _module, _ctl, result = plan("deb13", {"properties": {"MemoryZSwapMax": "64M"}})
    assert result["settings"]["MemoryZSwapMax"]["live"]["after"] == 67108864


def test_contradiction_is_warned():
    module, _ctl, _result = plan("deb13", {"properties": {"MemoryHigh": "2G", "MemoryMax": "1G"}})
    assert any("MemoryHigh (2147483648) is above MemoryMax (1073741824)" in w for w in module.warnings)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"properties": {}}, "properties: give a dict of property names and values"),
        ({"properties": ["MemoryHigh"]}, "properties: give a dict"),
        ({"live": False, "persist": False, "properties": {"MemoryHigh": "1G"}}, "live and persist are both"),
        ({"dropin_name": "../x", "properties": {"MemoryHigh": "1G"}}, "dropin_name: '../x' must be a plain file"),
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


def run_main(capsys, args, runner=None, monkeypatch=None):
    if runner is not None:
        monkeypatch.setattr(_command, "Runner", lambda module: runner)
    with patch_module_args(dict(args, _ansible_check_mode=True)), pytest.raises(SystemExit) as exc:
        unit_resources.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def test_a_failed_command_fails_the_task_naming_it(capsys, monkeypatch, tmp_path):
    """main() ends through run_module: a command that fails is the task's message, nothing is changed."""
    fake = FakeSystemd("deb13", tmp_path / "lib" / "ssh.service", fail={"systemctl show -p Version": "no bus"})
    code, result = run_main(capsys, {"unit": "ssh.service", "properties": {"MemoryHigh": "1G"}}, fake, monkeypatch)
    assert code == 1
    assert result["msg"] == "`systemctl show -p Version -p DefaultTasksMax %s` failed (rc=1): no bus" % " ".join(
        "-p " + p for p in _unitctl.MANAGER_PROPERTIES[2:]
    )
    assert fake.changes() == []


def test_template_unit_refused(capsys):
    code, result = run_main(capsys, {"unit": "getty@.service", "properties": {"MemoryHigh": "1G"}})
    assert code == 1
    assert "getty@.service is a template" in result["msg"]


# -- the real run, against FakeSystemd on tmp_path


def real(source, params, tmp_path, **fake):
    module = FakeModule(dict(params, unit="ssh.service"), check_mode=False)
    run = FakeSystemd(source, tmp_path / "lib" / "ssh.service", **fake)
    ctl = _unitctl.Systemctl(run)
    return module, run, ctl


@pytest.mark.parametrize("source", SOURCES)
def test_real_run_writes_reloads_sets_and_reads_back(source, tmp_path, own_roots):
    params = {"properties": {"MemoryHigh": "512M", "TasksMax": 64}}
    checked = plan(source, params)[2]
    module, run, ctl = real(source, params, tmp_path)
    result = unit_resources.run(module, ctl)
    path = own_roots / "ssh.service.d" / "50-memwise-resources.conf"
    assert path.read_text() == result["file_text"] == checked["file_text"]
    assert (
        result["actions"]
        == checked["actions"]
        == [
            "write %s" % path,
            "systemctl daemon-reload",
            "systemctl set-property --runtime ssh.service MemoryHigh=536870912 TasksMax=64",
        ]
    )
    assert run.changes() == result["actions"][1:]
    assert result["settings"] == checked["settings"]
    assert result["changed_settings"] == ["MemoryHigh", "TasksMax"]
    # the second run changes nothing
    module, run2, ctl = real(source, params, tmp_path)
    run2.props = run.props
    again = unit_resources.run(module, ctl)
    assert again["changed"] is False and again["actions"] == [] and run2.changes() == []


def test_refusal_after_the_reload_undoes_the_file_reload_and_live_values_newest_first(tmp_path, own_roots):
    """set-property fails after the drop-in was written and systemd reloaded (the kernel refused pids.max)."""
    params = {"properties": {"MemoryHigh": "512M", "TasksMax": 4194305}}
    refused = {"systemctl set-property --runtime ssh.service Memory": "EINVAL"}
    module, run, ctl = real("deb13", params, tmp_path, fail=refused)
    tasks = run.props["TasksMax"]
    with pytest.raises(MemwiseError) as raised:
        unit_resources.run(module, ctl)
    path = own_roots / "ssh.service.d" / "50-memwise-resources.conf"
    assert raised.value.args[0] == (
        "`systemctl set-property --runtime ssh.service MemoryHigh=536870912 TasksMax=4194305` failed (rc=1): EINVAL; "
        "undone: removed %s, systemd reloaded, TasksMax = %s; could not undo: MemoryHigh = infinity: "
        "`systemctl set-property --runtime ssh.service MemoryHigh=infinity` failed (rc=1): EINVAL" % (path, tasks)
    )
    assert not path.exists()
    assert run.changes() == [
        "systemctl daemon-reload",
        "systemctl set-property --runtime ssh.service MemoryHigh=536870912 TasksMax=4194305",
        "systemctl daemon-reload",  # the undo: the file is gone, systemd reloads, then each live value goes back
        "systemctl set-property --runtime ssh.service TasksMax=%s" % tasks,
        "systemctl set-property --runtime ssh.service MemoryHigh=infinity",
    ]
    details = raised.value.details
    assert details["actions"][:3] == ["write %s" % path, "systemctl daemon-reload", run.changes()[1]]
    assert details["actions"][3:5] == ["remove %s" % path, "systemctl daemon-reload"]
    assert details["file_text"] is None and details["path"] == str(path)


def test_value_the_kernel_did_not_apply_is_rolled_back(tmp_path, own_roots):
    """systemd takes TasksMax=4194305 and reports it, but the kernel keeps pids.max: the read-back fails and
    the drop-in and both live values go back (as the Molecule scenario shows on real systemd)."""
    path = own_roots / "ssh.service.d" / "50-memwise-resources.conf"
    path.parent.mkdir()
    path.write_text(_systemd.HEADER + "[Service]\nMemoryLow=8M\n")
    module, run, ctl = real("deb12", {"properties": {"MemoryHigh": "512M", "TasksMax": 4194305}}, tmp_path)
    run.with_cgroup().reload()
    run.refuse = ("TasksMax",)
    tasks = run.props["TasksMax"]
    with pytest.raises(MemwiseError) as raised:
        unit_resources.run(module, ctl)
    assert raised.value.args[0] == (
        "ssh.service: systemd did not apply TasksMax: asked 4194305, systemctl show reports 4194305, cgroup holds %s; "
        "undone: restored %s, systemd reloaded, TasksMax = %s, MemoryHigh = infinity" % (tasks, path, tasks)
    )
    assert path.read_text() == _systemd.HEADER + "[Service]\nMemoryLow=8M\n"
    assert run.changes()[-3:] == [
        "systemctl daemon-reload",
        "systemctl set-property --runtime ssh.service TasksMax=%s" % tasks,
        "systemctl set-property --runtime ssh.service MemoryHigh=infinity",
    ]
    assert run.props["MemoryHigh"] == "infinity" and run.props["TasksMax"] == tasks
    assert (tmp_path / "cgroup" / "system.slice" / "ssh.service" / "memory.high").read_text() == "max\n"


def test_foreign_file_at_the_path_is_refused_unless_forced(tmp_path, own_roots):
    path = own_roots / "ssh.service.d" / "50-memwise-resources.conf"
    path.parent.mkdir()
    path.write_text("[Service]\nMemoryHigh=2G\n")
    module, run, ctl = real("deb13", {"properties": {"MemoryHigh": "1G"}}, tmp_path)
    with pytest.raises(MemwiseError, match=r"does not manage it .* nothing changed\. Choose another dropin_name"):
        unit_resources.run(module, ctl)
    assert path.read_text() == "[Service]\nMemoryHigh=2G\n" and run.changes() == []
    module.params["force"] = True
    result = unit_resources.run(module, ctl)
    assert result["settings"]["MemoryHigh"]["file"] == {"before": "2G", "after": "1G"}
    assert path.read_text().startswith("# Managed by memwise.linux.unit_resources")


def test_absent_brings_the_configured_values_back(tmp_path, own_roots):
    path = own_roots / "ssh.service.d" / "50-memwise-resources.conf"
    path.parent.mkdir()
    path.write_text(_systemd.HEADER + "[Service]\nMemoryHigh=512M\n")
    module, run, ctl = real("deb13", {"state": "absent", "properties": None}, tmp_path)
    run.reload()
    result = unit_resources.run(module, ctl)
    assert not path.exists() and result["file_text"] is None
    assert result["settings"]["MemoryHigh"]["live"] == {"before": 536870912, "after": "infinity"}
    assert run.changes() == [
        "systemctl daemon-reload",
        "systemctl set-property --runtime ssh.service MemoryHigh=infinity",
    ]


def test_new_slice_is_created_started_and_set_as_check_mode_predicted(tmp_path, own_roots):
    params = {"unit": "batch.slice", "create_slice": True, "properties": {"MemoryHigh": "128M", "TasksMax": 32}}

    def slice_run():
        run = FakeSystemd("deb13", tmp_path / "lib" / "ssh.service", unit="batch.slice")
        run.props.update(FragmentPath="", ActiveState="inactive", MainPID="0", MemoryHigh="infinity")
        return run

    checked = unit_resources.run(FakeModule(params), _unitctl.Systemctl(slice_run()))
    module = FakeModule(params, check_mode=False)
    run = slice_run()
    result = unit_resources.run(module, _unitctl.Systemctl(run))
    slice_file = own_roots / "batch.slice"
    dropin = own_roots / "batch.slice.d" / "50-memwise-resources.conf"
    assert (
        result["actions"]
        == checked["actions"]
        == [
            "write %s" % slice_file,
            "write %s" % dropin,
            "systemctl daemon-reload",
            "systemctl start batch.slice",
            "systemctl set-property --runtime batch.slice MemoryHigh=134217728 TasksMax=32",
        ]
    )
    assert result["slice_created"] and checked["slice_created"]
    assert slice_file.read_text().startswith("# Created by memwise.linux.unit_resources (create_slice).\n[Unit]\n")
    assert dropin.read_text() == result["file_text"] == _systemd.HEADER + "[Slice]\nMemoryHigh=128M\nTasksMax=32\n"
    assert result["settings"]["MemoryHigh"]["live"] == {"before": "infinity", "after": 134217728}
    assert result["settings"] == checked["settings"]


def test_failed_start_of_a_new_slice_removes_it_again(tmp_path, own_roots):
    params = {"unit": "batch.slice", "create_slice": True, "properties": {"MemoryHigh": "128M"}}
    run = FakeSystemd("deb13", tmp_path / "lib" / "ssh.service", unit="batch.slice", fail={"systemctl start": "no"})
    run.props.update(FragmentPath="", ActiveState="inactive", MainPID="0", MemoryHigh="infinity")
    with pytest.raises(MemwiseError) as raised:
        unit_resources.run(FakeModule(params, check_mode=False), _unitctl.Systemctl(run))
    dropin = own_roots / "batch.slice.d" / "50-memwise-resources.conf"
    assert raised.value.args[0] == (
        "`systemctl start batch.slice` failed (rc=1): no; undone: removed %s, removed %s, systemd reloaded, "
        "MemoryHigh = infinity" % (dropin, own_roots / "batch.slice")
    )
    assert not dropin.exists() and not (own_roots / "batch.slice").exists()


def test_absent_removes_the_runtime_control_files_and_restores_them_on_failure(tmp_path, own_roots):
    path = own_roots / "ssh.service.d" / "50-memwise-resources.conf"
    path.parent.mkdir()
    path.write_text(_systemd.HEADER + "[Service]\nMemoryHigh=512M\n")
    control = tmp_path / "run" / "systemd" / "system.control" / "ssh.service.d" / "50-MemoryHigh.conf"
    control.parent.mkdir(parents=True)
    control.write_text("# This is a drop-in unit file extension, created via \"systemctl set-property\"\n"
                       "[Service]\nMemoryHigh=536870912\n")  # fmt: skip
    params = {"state": "absent", "properties": None}
    module, run, ctl = real("deb13", params, tmp_path)
    run.reload()
    checked = unit_resources.run(FakeModule(dict(params, unit="ssh.service")), _unitctl.Systemctl(run))
    assert checked["actions"] == [
        "remove %s" % path,
        "remove %s" % control,
        "systemctl daemon-reload",
        "systemctl set-property --runtime ssh.service MemoryHigh=infinity",
    ]
    run.fail = {"systemctl set-property": "Access denied"}
    with pytest.raises(MemwiseError, match=r"; undone: restored \S+50-MemoryHigh\.conf, restored \S+50-memwise-res"):
        unit_resources.run(module, ctl)
    assert path.exists() and control.exists()
    run.fail = {}
    result = unit_resources.run(module, ctl)
    assert result["actions"] == checked["actions"]
    assert not path.exists() and not control.exists()
