# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet simulator: its pure logic, and one real fleet of three killed with SIGKILL.

The real case starts ``fleetctl.py run --hosts 3 -- sleep`` (the script a benchmark
runs), pings the three targets with ``ansible`` through the inventory the script
wrote (so SSH sessions stay open behind Ansible's ControlPersist), kills the script
with SIGKILL and checks that every sshd it started, listeners and sessions, is gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetctl

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize(
    ("index", "expected"),
    [(1, "127.0.1.1"), (2, "127.0.1.2"), (254, "127.0.1.254"), (255, "127.0.2.1"), (1016, "127.0.4.254")],
)
def test_address(index, expected):
    assert fleetctl.address(index) == expected


@pytest.mark.parametrize("index", [0, -1, fleetctl.MAX_HOSTS + 1])
def test_address_out_of_range(index):
    with pytest.raises(fleetctl.FleetError, match=r"out of range 1\.\.1016"):
        fleetctl.address(index)


def test_addresses_are_unique_and_loopback():
    addresses = [fleetctl.address(i) for i in range(1, fleetctl.MAX_HOSTS + 1)]
    assert len(set(addresses)) == len(addresses)
    assert all(a.startswith("127.0.") and not a.endswith((".0", ".255")) for a in addresses)


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("200", 200), (" 10 ", 10)])
def test_parse_hosts(text, expected):
    assert fleetctl.parse_hosts(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [("ten", r"--hosts must be a number of targets, not 'ten'"), ("0", r"between 1 and 1016, not 0"), ("5000", "5000")],
)
def test_parse_hosts_errors(text, match):
    with pytest.raises(fleetctl.FleetError, match=match):
        fleetctl.parse_hosts(text)


def _config(**kw):
    args = dict(listen="127.0.1.7", port=2222, host_key="/k", pid_file="/p.pid", authorized_keys="/a", user="root")
    args.update(kw)
    return fleetctl.sshd_config(**args)


def test_sshd_config_is_loopback_only_and_key_only():
    lines = _config().splitlines()
    assert "ListenAddress 127.0.1.7:2222" in lines
    assert [ln for ln in lines if ln.startswith("ListenAddress")] == ["ListenAddress 127.0.1.7:2222"]
    for line in (
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "PidFile /p.pid",
        "HostKey /k",
        "AuthorizedKeysFile /a",
        "AllowUsers root",
    ):
        assert line in lines
    # Only its own files: nothing of the system's sshd configuration.
    assert "/etc/ssh" not in _config()


def test_sshd_config_refuses_other_addresses():
    with pytest.raises(fleetctl.FleetError, match=r"loopback addresses only, not 0\.0\.0\.0"):
        _config(listen="0.0.0.0")


def test_inventory_text():
    targets = [
        {"name": "fleet-001", "address": "127.0.1.1", "port": 40001, "user": "root"},
        {"name": "fleet-002", "address": "127.0.1.2", "port": 40002, "user": "root"},
    ]
    inventory = yaml.safe_load(fleetctl.inventory_text(targets, "/key", "/usr/bin/python3"))
    assert inventory["all"]["hosts"] == {
        "fleet-001": {"ansible_host": "127.0.1.1", "ansible_port": 40001},
        "fleet-002": {"ansible_host": "127.0.1.2", "ansible_port": 40002},
    }
    assert inventory["all"]["vars"]["ansible_user"] == "root"
    assert inventory["all"]["vars"]["ansible_ssh_private_key_file"] == "/key"
    assert "BatchMode=yes" in inventory["all"]["vars"]["ansible_ssh_common_args"]


def test_descendants_of():
    # 1 -> guard 10 -> sshd 11 -> session 12 -> shell 13; orphan 14 reparented to the guard; 20 unrelated.
    table = {10: 1, 11: 10, 12: 11, 13: 12, 14: 10, 20: 1, 21: 20}
    assert fleetctl.descendants_of(10, table) == [11, 14, 12, 13]
    assert fleetctl.descendants_of(13, table) == []
    assert fleetctl.descendants_of(99, table) == []


def test_parse_stat_with_parentheses_in_the_name():
    assert fleetctl.parse_stat("123 (sshd: a (b)) S 45 123 123 0 -1") == (45, "S")
    assert fleetctl.parse_stat("7 (x) Z 1 7 7") == (1, "Z")


def _wait(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.mark.skipif(not any(os.access(p, os.X_OK) for p in fleetctl.SSHD_CANDIDATES), reason="no sshd (openssh-server)")
def test_sigkill_of_the_run_leaves_no_sshd(tmp_path):
    """Start three targets, ping them through the inventory, SIGKILL the script: no sshd of ours is left."""
    state = tmp_path / "fleet"
    log = open(tmp_path / "run.log", "w")
    script = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "fleetctl.py"), "run", "--hosts", "3", "--state-dir", str(state)]
        + ["--", "sleep", "120"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        inventory = state / "inventory.yml"
        assert _wait(inventory.exists, 20), (tmp_path / "run.log").read_text()
        listeners = fleetctl.fleet_processes(str(state))
        assert len(listeners) == 3
        ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
        ansible = ansible if os.path.exists(ansible) else shutil.which("ansible")
        ping = subprocess.run(
            [
                ansible if os.path.exists(ansible) else shutil.which("ansible"),
                "-i",
                str(inventory),
                "all",
                "-m",
                "ping",
            ],
            env=dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="false", ANSIBLE_NOCOLOR="1"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert ping.stdout.count("SUCCESS") == 3
        ours = fleetctl.fleet_processes(str(state))
        # The three listeners plus the sessions Ansible's ControlPersist keeps open.
        assert set(listeners) < set(ours)

        os.kill(script.pid, signal.SIGKILL)
        script.wait(timeout=10)
        assert _wait(lambda: not any(fleetctl.vmctl.alive(p) for p in ours), 15), [
            (p, fleetctl.vmctl.cmdline(p)) for p in ours if fleetctl.vmctl.alive(p)
        ]
        assert fleetctl.fleet_processes(str(state)) == []
        command = int((state / "command.pid").read_text())
        assert _wait(lambda: not fleetctl.vmctl.alive(command), 5), "the command outlived the script"
        assert _wait(lambda: fleetctl.guards(str(state)) == [], 5)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait()
        fleetctl.down(str(state))
        log.close()
