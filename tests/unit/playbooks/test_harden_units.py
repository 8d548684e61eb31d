# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``ansible-playbook memwise.linux.harden_units`` on this machine, in check mode, where nothing can be hardened.

The role's control flow without VMs: a unit with a bad address (the action plugin refuses it on the
controller) and a unit the module cannot handle here (no such unit, or no systemd as PID 1) must not
stop the loop; the table lists both, the report file holds both, and the play fails at the end naming
both, or succeeds with ``hardened_units_fail_on_exposure: false``. A bad role input (an entry without
``unit``) is refused by the argument specs before any unit is touched. The play runs in serial
batches: a failed host stops the rollout before the next batch (``memwise_serial``,
``memwise_max_fail_percentage``). The real behaviour (restart,
rollback, exposure) is proven on Debian VMs by the Molecule scenario hardened_units.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
UNITS = [
    {"unit": "memwise-test-web.service", "ip_allow": ["10.0.0.300/8"]},
    {"unit": "memwise-test-no-such.service", "profile": "strict", "max_exposure": 5.0},
]


def _ansible_playbook():
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return beside if os.path.exists(beside) else shutil.which("ansible-playbook")


def _run(cwd, variables, hosts=("localhost",)):
    localhost = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = {"all": {"hosts": {host: localhost for host in hosts}}}
    (cwd / "inventory.yml").write_text(json.dumps(inventory), encoding="utf-8")
    (cwd / "units.json").write_text(json.dumps(variables), encoding="utf-8")
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".build", "collections"))
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(cwd / "tmp"), PWD="/")
    argv = [_ansible_playbook(), "memwise.linux.harden_units", "-i", "inventory.yml", "-e", "@units.json", "--check"]
    return subprocess.run(argv, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("harden")
    return _run(cwd, {"hardened_units_units": UNITS, "hardened_units_report_path": "report.json"}), cwd


def test_continues_past_failures_and_fails_at_the_end_naming_them(failing):
    proc, _cwd = failing
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert re.search(r"localhost +: ok=5 +changed=1 +unreachable=0 +failed=1 .* ignored=1", proc.stdout), proc.stdout
    (message,) = re.findall(r'"msg": "(2 of 2 unit\(s\) not hardened as asked: .*)"', proc.stdout)
    assert message.startswith(
        "2 of 2 unit(s) not hardened as asked: memwise-test-web.service: failed (ip_allow: '10.0.0.300/8' is not an IP "
        "address or network"
    )
    assert "; memwise-test-no-such.service: failed (" in message


def test_prints_one_line_per_unit(failing):
    proc, _cwd = failing
    lines = re.findall(r'^ +"(memwise-test-[^"]*|UNIT [^"]*)",?$', proc.stdout, re.MULTILINE)
    assert len(lines) == 3, proc.stdout
    assert lines[0].split() == ["UNIT", "PROFILE", "EXPOSURE", "ROLLED", "BACK", "STATUS", "REASON"]
    assert re.match(r"memwise-test-web\.service +baseline +- -> - +no +failed +ip_allow: '10\.0\.0\.300/8'", lines[1])
    assert re.match(r"memwise-test-no-such\.service +strict +- -> - +no +failed ", lines[2])


def test_report_file_on_the_controller(failing):
    _proc, cwd = failing
    report = json.loads((cwd / "report.json").read_text(encoding="utf-8"))
    assert list(report) == ["localhost"]
    rows = report["localhost"]
    assert [(r["unit"], r["status"], r["ok"]) for r in rows] == [
        ("memwise-test-web.service", "failed", False),
        ("memwise-test-no-such.service", "failed", False),
    ]
    assert rows[1]["profile"] == "strict" and rows[1]["limit"] == 5.0


def test_fail_on_exposure_false_only_reports(tmp_path):
    proc = _run(tmp_path, {"hardened_units_units": UNITS, "hardened_units_fail_on_exposure": False})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"localhost +: ok=4 +changed=0 +unreachable=0 +failed=0 +skipped=2 .* ignored=1", proc.stdout)
    assert not (tmp_path / "report.json").exists()


def test_bad_role_input_is_refused_before_any_unit(tmp_path):
    proc = _run(tmp_path, {"hardened_units_units": [{"profile": "strict"}]})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Validating arguments against arg spec 'main'" in proc.stdout
    assert "missing required arguments: unit found in hardened_units_units" in proc.stdout
    assert "Harden each unit" not in proc.stdout


def test_a_failed_batch_stops_the_rollout(tmp_path):
    """Two hosts, one per batch: the first fails, so the second is never touched (max_fail_percentage 0)."""
    variables = {"hardened_units_units": UNITS[:1], "hardened_units_report_path": "report.json", "memwise_serial": 1}
    proc = _run(tmp_path, variables, hosts=("first", "second"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert re.search(r"^first +: .*failed=1", proc.stdout, re.MULTILINE), proc.stdout
    assert not re.search(r"^second +:", proc.stdout, re.MULTILINE), proc.stdout
    assert "NO MORE HOSTS LEFT" in proc.stdout
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert list(report) == ["first"]


def test_batches_that_pass_continue_and_the_report_grows(tmp_path):
    """Without fail_on_exposure no host fails: both batches run, and the second rewrites the report with both."""
    variables = {
        "hardened_units_units": UNITS[:1],
        "hardened_units_report_path": "report.json",
        "hardened_units_fail_on_exposure": False,
        "memwise_serial": 1,
    }
    proc = _run(tmp_path, variables, hosts=("first", "second"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PLAY [Harden systemd services]") == 2
    for host in ("first", "second"):
        assert re.search(r"^%s +: .*failed=0" % host, proc.stdout, re.MULTILINE), proc.stdout
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert list(report) == ["first", "second"]
