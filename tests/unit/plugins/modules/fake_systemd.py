# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for systemd on a fixture root, so unit tests can run the unit modules' real runs.

``FakeSystemd`` is a ``_command.Runner``: it answers ``systemctl show`` from the captures of the
Debian VMs (tests/unit/fixtures/deb12, deb13), keeps the unit's properties as systemd would
(``set-property --runtime`` sets them, ``daemon-reload`` re-reads the drop-ins under the test's
own /etc/systemd/system), restarts the service with a new MainPID, scores the exposure with
``systemd-analyze security`` from whether the hardening drop-in is there, and can be told to fail
a chosen command or to let the sandbox kill the service a second after it started. Time is a
``FakeClock`` the modules sleep on, so the settle time costs nothing.
"""

from __future__ import annotations

import os

from ansible_collections.memwise.linux.plugins.module_utils import _command, _dropin, _systemd, _unitctl
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES, read_fixture

HOST = {"mem_total": 983744 * 1024, "page": 4096, "tasks_max": 7341}


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def fixture_root(source):
    return os.path.join(FIXTURES, source, "root")


def point_at(monkeypatch, tmp_path):
    """Every path the unit modules write or read below ``tmp_path``: /etc/systemd/system, /run, /sys/fs/cgroup."""
    etc = tmp_path / "etc" / "systemd" / "system"
    etc.mkdir(parents=True)
    (tmp_path / "cgroup").mkdir()
    monkeypatch.setattr(_dropin, "UNIT_DIR", str(etc))
    monkeypatch.setattr(_unitctl, "CGROUP_ROOT", str(tmp_path / "cgroup"))
    monkeypatch.setattr(_unitctl, "CONTROL_DIR", str(tmp_path / "run" / "systemd" / "system.control"))
    unit_file = tmp_path / "lib" / "ssh.service"
    unit_file.parent.mkdir()
    unit_file.write_text("[Unit]\nDescription=OpenBSD Secure Shell server\n[Service]\nExecStart=/usr/sbin/sshd -D\n")
    return etc


class FakeSystemd:
    """Answers the commands the unit modules run; ``fail`` maps a command prefix to the stderr it fails with."""

    def __init__(self, source, unit_file, *, unit="ssh.service", clock=None, fail=None, exposure=(9.6, 6.4)):
        self.source, self.unit, self.clock = source, unit, clock or FakeClock()
        self.fail = dict(fail or {})
        self.calls = []
        self.props = _systemd.parse_show(read_fixture(source, "commands/show-ssh.service.txt"))
        self.props.update(Id=unit, FragmentPath=str(unit_file), DropInPaths="", ControlGroup="")
        self.exposure = exposure  # (without our hardening drop-in, with it)
        self.crash_under_sandbox = None  # None, "exit" (the service fails) or "restart" (Restart=on-failure)
        self.started = self.clock()
        self.pid = int(self.props["MainPID"])  # each (re)start adds 100
        self.refuse = ()  # properties whose set-property systemd accepts but the kernel does not apply (cgroup)
        self.cgroup = None

    def with_cgroup(self):
        """Give the unit a cgroup v2 directory below _unitctl.CGROUP_ROOT holding its current values."""
        group = "/system.slice/" + self.unit
        self.props["ControlGroup"] = group
        self.cgroup = os.path.join(_unitctl.CGROUP_ROOT, group.lstrip("/"))
        os.makedirs(self.cgroup)
        with open(os.path.join(_unitctl.CGROUP_ROOT, "cgroup.controllers"), "w", encoding="utf-8") as handle:
            handle.write("cpu io memory pids\n")
        for name in ("MemoryMin", "MemoryLow", "MemoryHigh", "MemoryMax", "TasksMax"):
            self.write_cgroup(name, self.props[name])
        return self

    def write_cgroup(self, name, value):
        filename = _systemd.PROPERTIES[name].cgroup
        if self.cgroup and filename:
            with open(os.path.join(self.cgroup, filename), "w", encoding="utf-8") as handle:
                handle.write("max\n" if value in ("infinity", _systemd.NOT_SET) else value + "\n")

    # -- what the tests look at
    def commands(self, *prefixes):
        """The calls (as text) that start with one of ``prefixes``, in order."""
        texts = [" ".join(c) for c in self.calls]
        return [t for t in texts if t.startswith(prefixes)]

    def changes(self):
        """Every call that changes something (not show, is-active, systemd-analyze or journalctl)."""
        readers = ("systemctl show", "systemctl is-active", "systemd-analyze", "journalctl", "health")
        return [" ".join(c) for c in self.calls if not " ".join(c).startswith(readers)]

    # -- the runner
    def __call__(self, argv, check=True, ok_rc=(0,)):
        self.calls.append(list(argv))
        text = " ".join(argv)
        for prefix, err in self.fail.items():
            if text.startswith(prefix):
                if check:
                    raise MemwiseError(_command.failure(argv, 1, "", err))
                return 1, "", err
        handlers = {
            "systemctl show": lambda: self.show(argv),
            "systemctl set-property": lambda: self.set_property(argv[4:]),
            "systemctl daemon-reload": self.reload,
            "systemctl restart": self.start,
            "systemctl start": self.start,
            "systemctl is-active": self.is_active,
            "systemd-analyze security": lambda: self.security(argv),
            "journalctl -u": lambda: "Dec 03 10:00:00 vm sshd[1]: fatal: chroot: Read-only file system\n",
        }
        handler = handlers.get(" ".join(argv[:2]))
        if handler is not None:
            return 0, handler() or "", ""
        if argv[0] == "health":
            return (0, "", "") if self.props["ActiveState"] == "active" else (1, "", "down")
        raise AssertionError("unexpected command %s" % argv)

    def set_property(self, assignments):
        for assignment in assignments:
            name, _sep, value = assignment.partition("=")
            self.props[_systemd.show_name(name)] = value or _systemd.NOT_SET
            if name not in self.refuse:
                self.write_cgroup(name, value)

    def start(self):
        self.pid += 100
        self.props.update(MainPID=str(self.pid), ActiveState="active", SubState="running")
        self.started = self.clock()

    def is_active(self):
        self.tick()
        return self.props["ActiveState"] + "\n"

    def show(self, argv):
        if len(argv) > 2 and not argv[2].startswith("-"):
            self.tick()
            names = [argv[i + 1] for i, a in enumerate(argv) if a == "-p"]
            return "".join("%s=%s\n" % (n, self.props[n]) for n in names if n in self.props)
        return read_fixture(self.source, "commands/show-manager.txt")

    def hardened(self):
        return os.path.exists(_dropin.path(self.unit, "60-memwise-hardening"))

    def reload(self):
        """systemd reads the drop-ins again: their resource properties are what `systemctl show` reports."""
        directory = os.path.join(_dropin.UNIT_DIR, self.unit + ".d")
        paths = sorted(os.path.join(directory, f) for f in os.listdir(directory)) if os.path.isdir(directory) else []
        self.props["DropInPaths"] = " ".join(paths)
        for path in paths:
            with open(path, encoding="utf-8") as handle:
                for name, value in _systemd.parse_dropin(handle.read(), "Service").items():
                    canonical = _systemd.normalize(name, value, HOST)[0]
                    self.props[_systemd.show_name(name)] = str(canonical)

    def tick(self):
        """The sandbox kills the service a second after it started (when told to)."""
        if self.crash_under_sandbox and self.hardened() and self.clock() >= self.started + 1:
            if self.crash_under_sandbox == "exit":
                self.props.update(ActiveState="failed", SubState="failed", MainPID="0")
            else:
                self.props.update(MainPID=str(int(self.props["MainPID"]) + 1), NRestarts="1")
            self.crash_under_sandbox = None

    def security(self, argv):
        root = next((a.split("=", 1)[1] for a in argv if a.startswith("--root=")), None)
        if "--json=short" in argv:
            return read_fixture(self.source, "commands/security-ssh.service.json")
        if root is not None:
            directory = os.path.join(root, "etc/systemd/system", self.unit + ".d")
            hardened = os.path.exists(os.path.join(directory, "60-memwise-hardening.conf"))
        else:
            hardened = self.hardened()
        score = self.exposure[1] if hardened else self.exposure[0]
        return "→ Overall exposure level for %s: %.1f %s\n" % (self.unit, score, "MEDIUM" if score < 7 else "UNSAFE")
