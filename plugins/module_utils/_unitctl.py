# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: talk to the running systemd: show, daemon-reload, set-property, start, cgroup files.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

Every command goes through a ``_command.Runner``; the parsing lives in
``_systemd``. ``daemon_reloads`` counts the reloads a call made, so a module can
report (and tests can assert) that it reloaded only when a file changed.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile

from ansible_collections.memwise.linux.plugins.module_utils import _command, _hardening, _procfs, _systemd
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

# A host name (letters, digits, '-', '.'), an IPv4 address or an IPv6 address (hex digits, ':', '.', a %zone).
_HOST_RE = re.compile(r"\A(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9]+)?)\Z")

CGROUP_ROOT = "/sys/fs/cgroup"
CONTROL_DIR = "/run/systemd/system.control"
MANAGER_PROPERTIES = (
    "Version",
    "DefaultTasksMax",
    "DefaultMemoryAccounting",
    "DefaultCPUAccounting",
    "DefaultIOAccounting",
    "DefaultTasksAccounting",
    "DefaultMemoryPressureThresholdUSec",
)


class Systemctl:
    """The systemd manager of this host, reached through ``run`` (a ``_command.Runner``)."""

    def __init__(self, run):
        self.run = run
        self.daemon_reloads = 0

    def manager(self):
        """Manager properties: Version and the defaults units inherit."""
        argv = ["systemctl", "show"]
        for name in MANAGER_PROPERTIES:
            argv += ["-p", name]
        return _systemd.parse_show(self.run(argv)[1])

    def show(self, unit, names):
        """The unit's facts (LoadState, MainPID...), readouts and the ``systemctl show`` values of ``names``."""
        argv = ["systemctl", "show", unit]
        names = list(names) + [n for n in _systemd.MEMORY_LIMITS if n not in names]
        wanted = list(_systemd.UNIT_FACTS) + list(_systemd.READOUTS) + [_systemd.show_name(n) for n in names]
        if "CPUQuota" in names:
            wanted.append("CPUQuotaPeriodUSec")
        for name in wanted:
            argv += ["-p", name]
        return _systemd.parse_show(self.run(argv)[1])

    def facts(self, unit, names=("ActiveState", "SubState", "MainPID", "NRestarts")):
        """Only ``names`` of the unit (the settle check reads MainPID and NRestarts this way)."""
        argv = ["systemctl", "show", unit]
        for name in names:
            argv += ["-p", name]
        return _systemd.parse_show(self.run(argv)[1])

    def daemon_reload(self):
        self.run(["systemctl", "daemon-reload"])
        self.daemon_reloads += 1

    def set_property(self, unit, assignments):
        """``systemctl set-property --runtime UNIT Name=text ...`` (live, no restart)."""
        if assignments:
            self.run(["systemctl", "set-property", "--runtime", unit] + ["%s=%s" % a for a in assignments])

    def start(self, unit):
        self.run(["systemctl", "start", unit])


def require_loaded(unit, show):
    """MemwiseError for a unit systemd does not know or that is masked."""
    state = show.get("LoadState")
    if state == "masked":
        raise MemwiseError("unit: %s is masked; unmask it first (systemctl unmask %s)" % (unit, unit))
    if state != "loaded":
        raise MemwiseError(
            "unit: %s is not known to systemd (LoadState=%s); check the name with systemctl list-units --all"
            % (unit, state or "unknown")
        )


def cgroup_dir(show):
    """The unit's cgroup v2 directory, or ``(None, reason)``."""
    if not os.path.exists(CGROUP_ROOT + "/cgroup.controllers"):
        return None, "the cgroup v2 hierarchy is not mounted at %s" % CGROUP_ROOT
    group = show.get("ControlGroup") or ""
    if not group:
        return None, "the unit is %s and has no cgroup" % (show.get("ActiveState") or "not active")
    path = CGROUP_ROOT + group
    if not os.path.isdir(path):
        return None, "%s does not exist" % path
    return path, None


def read_cgroup(path, names, show):
    """``{name: canonical value}`` from the cgroup files of ``names`` that exist under ``path``."""
    values = {}
    if path is None:
        return values
    period = _systemd.parse_timespan(show.get("CPUQuotaPeriodUSec") or "")
    period = 100000 if period in (None, "infinity") else period
    for name in names:
        filename = _systemd.PROPERTIES[name].cgroup
        if not filename:
            continue
        text, _reason = _procfs.read_text(os.path.join(path, filename))
        if text is None:
            continue
        try:
            values[name] = _systemd.from_cgroup(name, text, period)
        except (ValueError, MemwiseError):
            values[name] = text.strip()
    return values


def control_files(unit, names):
    """The runtime drop-ins ``systemctl set-property --runtime`` leaves for ``names`` (existing ones)."""
    found = []
    for name in names:
        for suffix in ("", "Scale"):
            path = "%s/%s.d/50-%s%s.conf" % (CONTROL_DIR, unit, name, suffix)
            if os.path.exists(path):
                found.append(path)
    return found


def restart(run, unit):
    run(["systemctl", "restart", unit])


def measure(run, unit, root=None):
    """(overall exposure, checks) from systemd-analyze security, online or --offline under ``root``."""
    argv = ["systemd-analyze", "security"]
    if root:
        argv += ["--offline=yes", "--root=" + root]
    overall = _hardening.parse_overall(run(argv + [unit])[1])
    return overall, _hardening.parse_checks(run(argv + ["--json=short", unit])[1])


def predict(run, unit, show, ours, text):
    """Offline assessment of the unit with its drop-ins and ``text`` as our drop-in (None: without it).

    The unit file and the other drop-ins are copied into a private directory
    (``systemd-analyze security --offline=yes --root=DIR``); the host is not touched.
    """
    root = tempfile.mkdtemp(prefix="memwise-hardening.")
    try:
        base = os.path.join(root, "etc/systemd/system")
        dropins = os.path.join(base, unit + ".d")
        os.makedirs(dropins)
        fragment = show.get("FragmentPath")
        if fragment:
            shutil.copyfile(fragment, os.path.join(base, os.path.basename(fragment)))
        for path in (show.get("DropInPaths") or "").split():
            if path != ours and os.path.exists(path):
                shutil.copyfile(path, os.path.join(dropins, os.path.basename(path)))
        if text is not None:
            with open(os.path.join(dropins, os.path.basename(ours)), "w", encoding="utf-8") as handle:
                handle.write(text)
        return measure(run, unit, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def health_problems(health):
    """Every problem with the ``health`` option (None: no check), each naming the sub-option and its value."""
    if health is None:
        return []
    port, host, command, timeout = (health.get(k) for k in ("port", "host", "command", "timeout"))
    problems = []
    if port is None and not command:
        problems.append("health: %r gives neither port nor command, so nothing would be checked" % (health,))
    if port is not None and not 1 <= port <= 65535:
        problems.append("health.port: %r is not a TCP port (1..65535)" % (port,))
    if host is not None and not _HOST_RE.match(host):
        problems.append("health.host: %r is not a host name or IP address" % (host,))
    if command is not None and not (command and all(word and "\0" not in word for word in command)):
        problems.append(
            "health.command: %r must be an argv list of non-empty words without NUL, e.g. "
            "['curl', '-fsS', 'http://127.0.0.1/']" % (command,)
        )
    if timeout is not None and not 0 < timeout <= 3600:
        problems.append("health.timeout: %r is not a number of seconds above 0 and at most 3600" % (timeout,))
    return problems


def health_check(health, run, deadline, clock, sleep):
    """None when the service answers, else why not; retried until ``deadline`` (on ``clock``)."""
    while True:
        problem = probe(health, run)
        if problem is None or clock() >= deadline:
            return problem
        sleep(0.25)


def probe(health, run):
    """One try of the health check: the TCP port accepts, the command exits 0; None when both pass."""
    if health.get("port"):
        address = (health.get("host") or "127.0.0.1", health["port"])
        try:
            with socket.create_connection(address, timeout=1):
                pass
        except OSError as exc:
            return "nothing answers on %s:%d (%s)" % (address[0], address[1], exc.strerror or exc)
    if health.get("command"):
        rc, out, err = run(health["command"], check=False)
        if rc != 0:
            return _command.failure(health["command"], rc, out, err)
    return None


def survived(first, now, settle):
    """None when the service is still the process that became active ``settle`` seconds ago, else why not.

    ``first`` and ``now`` are :meth:`Systemctl.facts` readings: still active, the same MainPID and no
    automatic restart (NRestarts) in between.
    """
    moved = []
    if now.get("ActiveState") != "active":
        moved.append("it is %s (%s)" % (now.get("ActiveState") or "unknown", now.get("SubState") or "?"))
    if now.get("MainPID") != first.get("MainPID"):
        moved.append("MainPID %s became %s" % (first.get("MainPID"), now.get("MainPID")))
    if now.get("NRestarts") != first.get("NRestarts"):
        moved.append("systemd restarted it (NRestarts %s -> %s)" % (first.get("NRestarts"), now.get("NRestarts")))
    if not moved:
        return None
    return "the service did not stay up for the %gs settle time after it became active: %s" % (
        settle,
        ", ".join(moved),
    )


def wait_active(run, unit, timeout, clock, sleep):
    """Poll ``systemctl is-active`` until active or failed (or ``timeout`` seconds); return the last state."""
    deadline = clock() + timeout
    while True:
        state = run(["systemctl", "is-active", unit], check=False)[1].strip()
        if state in ("active", "failed") or clock() >= deadline:
            return state
        sleep(0.2)


def journal(run, unit, lines=15):
    """The unit's last journal lines (empty when journalctl is missing or says nothing)."""
    try:
        _rc, out, _err = run(["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "-o", "short"], check=False)
    except MemwiseError:
        return []
    return out.strip().splitlines()[-lines:]
