# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""unit_hardening: the plan over captured `systemctl show` / `systemd-analyze security`, health checks, errors.

Restarts, rollback and the offline prediction run against real systemd in the Molecule scenario
hardened_units; here the health check runs for real against a local socket and commands.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import time

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import _hardening
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.modules import unit_hardening

from ...conftest import read_fixture


class Replay:
    """Answers `systemctl show` and `systemd-analyze security` from the captures; anything else is refused."""

    def __init__(self, source):
        self.source, self.calls = source, []

    def __call__(self, argv, check=True, ok_rc=(0,)):
        self.calls.append(argv)
        if argv[:2] == ["systemctl", "show"]:
            name = "show-ssh.service.txt" if len(argv) > 2 and argv[2] == "ssh.service" else "show-manager.txt"
            return 0, read_fixture(self.source, "commands/" + name), ""
        if argv[:2] == ["systemd-analyze", "security"]:
            name = "security-ssh.service.json" if "--json=short" in argv else "security-ssh.service.txt"
            return 0, read_fixture(self.source, "commands/" + name), ""
        raise AssertionError("unexpected command %s" % argv)


class FakeModule:
    def __init__(self, **params):
        self.params = dict(
            profile="baseline", properties={}, exclude=[], ip_allow=[], ip_deny=[], max_exposure=None, health=None,
            restart=True, dropin_name="60-memwise-hardening", state="present", unit="ssh.service",
        )  # fmt: skip
        self.params.update(params)
        self.check_mode, self._diff = False, True


@pytest.mark.parametrize("source", ["deb12", "deb13"])
def test_plan_and_result_from_captures(source):
    module = FakeModule(ip_deny=["any"], ip_allow=["10.1.2.3/8"])
    run = Replay(source)
    job = unit_hardening.Hardening(module, run)
    settings = job.plan()
    assert settings["IPAddressAllow"] == "10.0.0.0/8" and settings["NoNewPrivileges"] == "yes"
    result = job.result(settings, *unit_hardening.measure(run, job.unit))
    assert result["exposure"] == {"before": 9.6, "after": 9.6, "predicted": False}
    assert result["changed"] is True  # this machine has no such drop-in
    assert result["dropin"] == "/etc/systemd/system/ssh.service.d/60-memwise-hardening.conf"
    assert result["dropin_text"] == _hardening.render_dropin(settings)
    assert result["diff"]["after"] == result["dropin_text"]
    assert result["main_pid"]["before"] > 0
    assert result["systemd_version"] == {"deb12": 252, "deb13": 257}[source]


def test_newer_setting_refused_on_252():
    job = unit_hardening.Hardening(FakeModule(properties={"MemoryKSM": True}), Replay("deb12"))
    with pytest.raises(MemwiseError, match="MemoryKSM: needs systemd 256 or later; this host runs systemd 252"):
        job.plan()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_exposure": 11.0}, "max_exposure: 11.0 is out of range; the exposure scale is 0.0..10.0"),
        ({"unit": "batch.slice"}, "batch.slice is not a service"),
        ({"unit": "ssh"}, "not a unit name"),
    ],
)
def test_refused_before_any_command(params, message):
    run = Replay("deb13")
    with pytest.raises(MemwiseError, match=message):
        unit_hardening.Hardening(FakeModule(**params), run).plan()
    assert run.calls == []


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    yield server.getsockname()[1]
    server.close()


def test_health_port_answers(listener):
    assert unit_hardening.health_check({"port": listener, "host": "127.0.0.1"}, None, time.monotonic() + 1) is None


def test_health_port_closed_after_timeout(listener):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    started = time.monotonic()
    problem = unit_hardening.health_check({"port": closed, "host": "127.0.0.1"}, None, started + 0.6)
    assert problem.startswith("nothing answers on 127.0.0.1:%d" % closed)
    assert time.monotonic() - started >= 0.5  # retried until the deadline


def run_real(argv, check=True, ok_rc=(0,)):
    import subprocess

    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def test_health_command():
    ok = [sys.executable, "-c", "print('fine')"]
    bad = [sys.executable, "-c", "import sys; sys.exit('down')"]
    assert unit_hardening.health_check({"command": ok}, run_real, time.monotonic()) is None
    problem = unit_hardening.health_check({"command": bad}, run_real, time.monotonic())
    assert "failed (rc=1): down" in problem


def run_main(capsys, args):
    with patch_module_args(dict(args, _ansible_check_mode=True)), pytest.raises(SystemExit) as exc:
        unit_hardening.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="needs the systemctl binary (present on Debian)")
def test_without_systemd_as_pid1_the_module_says_why(capsys):
    code, result = run_main(capsys, {"unit": "ssh.service"})
    assert code == 1
    assert result["msg"].startswith("`systemctl show -p Version")


def test_dropin_name_must_be_a_file_name(capsys):
    code, result = run_main(capsys, {"unit": "ssh.service", "dropin_name": "a/b"})
    assert code == 1
    assert result["msg"] == "dropin_name: 'a/b' must be a plain file name"
