# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""unit_hardening: the plan over captured `systemctl show` / `systemd-analyze security`, the exposure gate,
the settle check, the rollback and its message, health checks and errors.

The real run goes against FakeSystemd (fake_systemd.py) on tmp_path: it restarts the service with a new
MainPID, scores the exposure from whether the drop-in is there, and can let the sandbox kill the service
a second after it started. Real systemd runs the same flows in the Molecule scenario hardened_units.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import _command, _hardening, _unitctl
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.modules import unit_hardening

from .fake_systemd import FakeClock, FakeSystemd, point_at

UNIT = "ssh.service"


@pytest.fixture(autouse=True)
def etc(monkeypatch, tmp_path):
    return point_at(monkeypatch, tmp_path)


@pytest.fixture
def dropin(etc):
    return etc / "ssh.service.d" / "60-memwise-hardening.conf"


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = dict(
            profile="baseline", properties={}, exclude=[], ip_allow=[], ip_deny=[], max_exposure=None, health=None,
            settle=3.0, live=True, dropin_name="60-memwise-hardening", force=False, state="present", unit=UNIT,
        )  # fmt: skip
        self.params.update(params)
        self.check_mode, self._diff = check_mode, True


def fake(tmp_path, source="deb13", **kwargs):
    clock = FakeClock()
    return FakeSystemd(source, tmp_path / "lib" / "ssh.service", clock=clock, **kwargs)


def call(run, check_mode=False, **params):
    return unit_hardening.run(FakeModule(check_mode, **params), run, run.clock, run.clock.sleep)


@pytest.mark.parametrize("source", ["deb12", "deb13"])
def test_plan_and_result_from_captures(source, tmp_path, dropin):
    run = fake(tmp_path, source)
    result = call(run, True, ip_deny=["any"], ip_allow=["10.1.2.3/8"])
    settings = _hardening.desired("baseline", {}, [], {"IPAddressAllow": ["10.0.0.0/8"], "IPAddressDeny": ["any"]}, 252)
    assert result["settings"]["IPAddressAllow"] == {"file": {"before": None, "after": "10.0.0.0/8"}}
    assert result["settings"]["NoNewPrivileges"] == {"file": {"before": None, "after": "yes"}}
    assert result["changed_settings"] == [n for n in _hardening.SETTINGS if n in settings]
    assert result["exposure"] == {"before": 9.6, "after": 6.4, "predicted": True}
    assert result["changed"] is True
    assert result["path"] == str(dropin)
    assert result["file_text"] == _hardening.render_dropin(settings)
    assert result["actions"] == ["write %s" % dropin, "systemctl daemon-reload", "systemctl restart ssh.service"]
    live, text = result["diff"]
    assert (live["before"], live["after"]) == ("exposure = 9.6\n", "exposure = 6.4\n")
    assert text == dict(before_header=str(dropin), after_header=str(dropin), before="", after=result["file_text"])
    assert result["main_pid"]["before"] > 0
    assert result["systemd_version"] == {"deb12": 252, "deb13": 257}[source]
    assert run.changes() == [] and not dropin.exists()


def test_newer_setting_refused_on_252(tmp_path):
    with pytest.raises(MemwiseError, match="MemoryKSM: needs systemd 256 or later; this host runs systemd 252"):
        call(fake(tmp_path, "deb12"), properties={"MemoryKSM": True})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_exposure": 11.0}, "max_exposure: 11.0 is out of range; the exposure scale is 0.0..10.0"),
        ({"settle": -1.0}, "settle: -1.0 is negative"),
        ({"unit": "batch.slice"}, "batch.slice is not a service"),
        ({"unit": "ssh"}, "not a unit name"),
        ({"dropin_name": "a/b"}, "dropin_name: 'a/b' must be a plain file name"),
    ],
)
def test_refused_before_any_command(params, message, tmp_path):
    run = fake(tmp_path)
    with pytest.raises(MemwiseError, match=message):
        call(run, **params)
    assert run.calls == []


# -- the gate: an exposure limit the hardening cannot meet changes nothing (issue 15, defect 2)


@pytest.mark.parametrize("check_mode", [False, True])
def test_limit_that_cannot_be_met_writes_and_restarts_nothing(tmp_path, dropin, check_mode):
    run = fake(tmp_path)
    pid = run.props["MainPID"]
    with pytest.raises(MemwiseError) as raised:
        call(run, check_mode, max_exposure=5.0)
    message = raised.value.args[0]
    assert message.startswith(
        "ssh.service: exposure 6.4 (predicted with systemd-analyze security --offline) is above max_exposure 5.0; "
        "nothing changed (no drop-in written, no restart). Add settings for the largest remaining exposures ("
    )
    assert message.endswith(") in properties or a stricter profile, or raise max_exposure to 6.4")
    assert "PrivateNetwork= 0.5" in message
    assert run.changes() == [] and not dropin.exists() and run.props["MainPID"] == pid
    details = raised.value.details
    assert details["exposure"] == {"before": 9.6, "after": 6.4, "predicted": True}
    assert details["changed"] is False and details["actions"] == [] and details["rolled_back"] is False
    # every later run says the same and still changes nothing
    with pytest.raises(MemwiseError, match=r"above max_exposure 5\.0; nothing changed"):
        call(run, check_mode, max_exposure=5.0)
    assert run.changes() == []


def test_limit_that_is_met_applies(tmp_path, dropin):
    run = fake(tmp_path)
    pid = int(run.props["MainPID"])
    result = call(run, max_exposure=7.0)
    assert result["exposure"] == {"before": 9.6, "after": 6.4, "predicted": False}
    assert dropin.read_text() == result["file_text"]
    assert result["actions"] == ["write %s" % dropin, "systemctl daemon-reload", "systemctl restart ssh.service"]
    assert run.changes() == ["systemctl daemon-reload", "systemctl restart ssh.service"]
    assert result["restarted"] and result["main_pid"] == {"before": pid, "after": pid + 100}
    assert not result["rolled_back"]
    # idempotent: nothing written, nothing restarted
    again = call(run, max_exposure=7.0)
    assert again["changed"] is False and again["actions"] == [] and run.changes() == result["actions"][1:]


def test_in_place_drop_in_above_the_limit_fails_saying_nothing_changed(tmp_path, dropin):
    run = fake(tmp_path, exposure=(9.6, 6.4))
    call(run)
    with pytest.raises(MemwiseError, match=r"6\.4 \(with the drop-in already in place\) is above max_exposure 5\.0"):
        call(run, max_exposure=5.0)


def test_measured_exposure_above_the_limit_is_still_rolled_back(tmp_path, dropin, monkeypatch):
    """The prediction is a gate, not a promise: when the running service scores worse, the change is undone."""
    run = fake(tmp_path)
    real_predict = _unitctl.predict
    monkeypatch.setattr(_unitctl, "predict", lambda *a: (6.0, real_predict(*a)[1]))
    with pytest.raises(MemwiseError, match=r"^ssh\.service: exposure 6\.4 is above max_exposure 6\.2 \(last journal"):
        call(run, max_exposure=6.2)
    assert not dropin.exists()


# -- the settle time: a service the sandbox kills a second after it started is rolled back (defect 3)


@pytest.mark.parametrize("health", [None, {"command": ["health"], "timeout": 10}])
def test_service_that_dies_after_a_second_is_rolled_back(tmp_path, dropin, health):
    run = fake(tmp_path)
    run.crash_under_sandbox = "exit"
    pid = int(run.props["MainPID"])
    with pytest.raises(MemwiseError) as raised:
        call(run, health=health)
    assert raised.value.args[0] == (
        "ssh.service: the service did not stay up for the 3s settle time after it became active: it is failed "
        "(failed), MainPID %d became 0 (last journal lines: Dec 03 10:00:00 vm sshd[1]: fatal: chroot: Read-only "
        "file system); undone: ssh.service restarted under its previous sandbox and active, removed %s"
        % (pid + 100, dropin)
    )
    assert not dropin.exists()
    assert run.changes() == [
        "systemctl daemon-reload",
        "systemctl restart ssh.service",
        "systemctl daemon-reload",  # the undo, newest first: the old drop-in back, reloaded, restarted
        "systemctl restart ssh.service",
    ]
    details = raised.value.details
    assert details["rolled_back"] and details["changed"] is False and details["restarted"]
    assert details["reason"].startswith("the service did not stay up for the 3s settle time")
    assert details["main_pid"]["after"] == pid + 200 and run.props["ActiveState"] == "active"
    assert details["exposure"]["after"] == 9.6 and details["file_text"] is None
    assert details["journal"] == ["Dec 03 10:00:00 vm sshd[1]: fatal: chroot: Read-only file system"]
    assert details["actions"] == [
        "write %s" % dropin,
        "systemctl daemon-reload",
        "systemctl restart ssh.service",
        "remove %s" % dropin,
        "systemctl daemon-reload",
        "systemctl restart ssh.service",
    ]


def test_service_that_systemd_restarted_is_rolled_back(tmp_path, dropin):
    """Restart=on-failure hides the crash from is-active: the MainPID and NRestarts tell."""
    run = fake(tmp_path)
    run.crash_under_sandbox = "restart"
    pid = int(run.props["MainPID"]) + 100
    with pytest.raises(
        MemwiseError,
        match=r"settle time after it became active: MainPID %d became %d, systemd restarted it \(NRestarts 0 -> 1\)"
        % (pid, pid + 1),
    ):
        call(run)
    assert not dropin.exists()


def test_service_that_stays_up_passes_after_the_settle_time(tmp_path, dropin):
    run = fake(tmp_path)
    started = run.clock()
    result = call(run, settle=5.0)
    assert not result["rolled_back"] and dropin.exists()
    assert run.clock() - started >= 5.0


def test_undo_that_fails_is_reported(tmp_path, dropin):
    run = fake(tmp_path)
    run.crash_under_sandbox = "exit"
    old = "# Managed by memwise.linux.unit_hardening: x\n[Service]\nPrivateTmp=yes\n"
    dropin.parent.mkdir()
    dropin.write_text(old)
    calls = {"n": 0}
    real_restart = _unitctl.restart

    def restart(runner, unit):
        calls["n"] += 1
        if calls["n"] == 2:
            raise MemwiseError("`systemctl restart ssh.service` failed (rc=1): Job failed")
        real_restart(runner, unit)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_unitctl, "restart", restart)
        with pytest.raises(MemwiseError) as raised:
            call(run)
    assert raised.value.args[0].endswith(
        "; undone: restored %s; could not undo: ssh.service restarted under its previous sandbox and active: "
        "`systemctl restart ssh.service` failed (rc=1): Job failed" % dropin
    )
    assert dropin.read_text() == old
    assert raised.value.details["changed"] is True


def test_foreign_file_at_the_path_is_refused_unless_forced(tmp_path, dropin):
    dropin.parent.mkdir()
    dropin.write_text("[Service]\nPrivateTmp=yes\n")
    run = fake(tmp_path)
    with pytest.raises(MemwiseError, match=r"does not manage it .*set force: true to take it over"):
        call(run)
    assert dropin.read_text() == "[Service]\nPrivateTmp=yes\n" and run.changes() == []
    result = call(run, force=True)
    assert result["settings"]["PrivateTmp"]["file"] == {"before": "yes", "after": "yes"}
    assert dropin.read_text().startswith("# Managed by memwise.linux.unit_hardening")


def test_live_false_writes_and_reloads_without_a_restart(tmp_path, dropin):
    run = fake(tmp_path)
    result = call(run, live=False, settle=30.0)
    assert result["actions"] == ["write %s" % dropin, "systemctl daemon-reload"]
    assert run.changes() == ["systemctl daemon-reload"] and not result["restarted"]


# -- health checks


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    yield server.getsockname()[1]
    server.close()


def check(health, run, deadline):
    return _unitctl.health_check(health, run, deadline, time.monotonic, time.sleep)


def test_health_port_answers(listener):
    assert check({"port": listener, "host": "127.0.0.1"}, None, time.monotonic() + 1) is None


def test_health_port_closed_after_timeout(listener):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    started = time.monotonic()
    problem = check({"port": closed, "host": "127.0.0.1"}, None, started + 0.6)
    assert problem.startswith("nothing answers on 127.0.0.1:%d" % closed)
    assert time.monotonic() - started >= 0.5  # retried until the deadline


def run_real(argv, check=True, ok_rc=(0,)):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def test_health_command():
    ok = [sys.executable, "-c", "print('fine')"]
    bad = [sys.executable, "-c", "import sys; sys.exit('down')"]
    assert check({"command": ok}, run_real, time.monotonic()) is None
    assert "failed (rc=1): down" in check({"command": bad}, run_real, time.monotonic())


# -- main()


def run_main(capsys, monkeypatch, args, runner):
    monkeypatch.setattr(_command, "Runner", lambda module: runner)
    with patch_module_args(dict(args, _ansible_check_mode=True)), pytest.raises(SystemExit) as exc:
        unit_hardening.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def test_main_reports_a_failed_command(capsys, monkeypatch, tmp_path):
    run = fake(tmp_path, fail={"systemctl show -p Version": "Failed to connect to bus"})
    code, result = run_main(capsys, monkeypatch, {"unit": UNIT}, run)
    assert code == 1
    assert result["msg"].startswith("`systemctl show -p Version")
    assert result["msg"].endswith("failed (rc=1): Failed to connect to bus")


def test_main_returns_the_gate_details(capsys, monkeypatch, tmp_path):
    code, result = run_main(capsys, monkeypatch, {"unit": UNIT, "max_exposure": 5}, fake(tmp_path))
    assert code == 1 and result["exposure"]["after"] == 6.4 and result["changed"] is False
    assert "above max_exposure 5.0; nothing changed" in result["msg"]
