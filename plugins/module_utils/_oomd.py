# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: systemd-oomd - its prerequisites, package, configuration, service and live values.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

- Parsers over real captures: ``oomctl dump`` (systemd 252 and 257), ``dpkg-query``
  status, ``apt-cache policy``, the host checks (cgroup2 on /sys/fs/cgroup, the memory
  controller, PSI, the systemd version, /proc/swaps).
- The settings: validation (systemd's percentage and time syntax), the owned
  ``oomd.conf.d`` drop-in's text, and the values systemd-oomd will run with, merged
  from every oomd.conf file in systemd's order (``configured``).
- ``Plan``: what one call changes (package, the two drop-ins, daemon-reload, enable,
  start or one restart) and the actions it reports, the same in check mode.
- ``apply``: the plan carried out in a ``_transaction.Journal`` - a package this call
  installed is removed again, the files restored, systemd reloaded and the service
  brought back to its previous configuration if anything fails (the read-back too).

``ROOT`` is where the host's files are (``/``); the unit tests point it at a copy of a
capture. Commands run through a ``_command.Runner``; ``apt-get`` gets
``DEBIAN_FRONTEND=noninteractive`` through ``env`` because the runner sets no
environment of its own.
"""

from __future__ import annotations

import os
import posixpath
import re
import time

from ansible_collections.memwise.linux.plugins.module_utils import _dropin, _files, _mounts, _procfs, _systemd
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

ROOT = "/"
OWNER = "memwise.linux.oomd"
PACKAGE = "systemd-oomd"  # Debian's; the package "oomd" is Meta's oomd, another program
SERVICE = "systemd-oomd.service"
MIN_SYSTEMD = 248
KEYS = ("SwapUsedLimit", "DefaultMemoryPressureLimit", "DefaultMemoryPressureDurationSec")
PERCENT_KEYS = ("SwapUsedLimit", "DefaultMemoryPressureLimit")
# systemd-oomd's built-in values (oomd.conf(5)), in the canonical form: permyriad, microseconds.
DEFAULTS = {"SwapUsedLimit": 9000, "DefaultMemoryPressureLimit": 6000, "DefaultMemoryPressureDurationSec": 30 * 10**6}
DUMP_NAMES = {
    "Swap Used Limit": "SwapUsedLimit",
    "Default Memory Pressure Limit": "DefaultMemoryPressureLimit",
    "Default Memory Pressure Duration": "DefaultMemoryPressureDurationSec",
}
# Where systemd reads oomd.conf and oomd.conf.d, highest precedence first.
CONF_DIRS = ("/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd")
APT_ENV = ["env", "DEBIAN_FRONTEND=noninteractive"]
HEADER = (
    "# Managed by memwise.linux.oomd: changes here are overwritten.\n"
    "# Remove it with state=absent; systemd-oomd then runs with the remaining configuration.\n"
)
UNIT_DROPIN = (
    HEADER
    + "# systemd-oomd reads the swap devices when it starts: start it after swap is on.\n[Unit]\nAfter=swap.target\n"
)
_PERCENT_RE = re.compile(r"^(\d{1,3})(?:\.(\d{1,2}))?%$")


def host(path):
    """Where the host file ``path`` is read and written: below ``ROOT``."""
    return path if ROOT == "/" else os.path.join(ROOT, path.lstrip("/"))


def conf_path(name, persist=True):
    """The owned oomd.conf drop-in: in /etc (persist) or /run (until the next boot)."""
    return "%s/oomd.conf.d/%s.conf" % ("/etc/systemd" if persist else "/run/systemd", name)


def unit_path(name, persist=True):
    """The owned systemd-oomd.service drop-in that orders it after swap.target."""
    return "%s/%s.d/%s.conf" % (_dropin.UNIT_DIR if persist else "/run/systemd/system", SERVICE, name)


# ------------------------------------------------------------------ values


def parse_percent(value):
    """``'85%'``, ``'55.5%'`` -> permyriad (8500, 5550): 0-100 with up to two decimals, as systemd takes it."""
    match = _PERCENT_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise MemwiseError("%r is not a percentage; write e.g. '90%%' or '55.5%%' (up to two decimals)" % (value,))
    permyriad = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if permyriad > 10000:
        raise MemwiseError("%r is above 100%%" % (value,))
    return permyriad


def parse_duration(value):
    """A systemd time span (``30s``, ``1min 30s``, ``500ms``; a bare number is seconds) -> microseconds."""
    usec = _systemd.parse_timespan(value if isinstance(value, str) else str(value))
    if usec is None or usec == "infinity":
        raise MemwiseError("%r is not a duration; write e.g. '30s' or '1min 30s'" % (value,))
    if 0 < usec < 10**6:
        raise MemwiseError("%r is below 1s; systemd-oomd refuses to start with it (0 means its default, 30s)" % value)
    return usec


def parse_value(key, value):
    if isinstance(value, bool) or value is None:
        raise MemwiseError("%r is not a %s" % (value, "percentage" if key in PERCENT_KEYS else "duration"))
    return parse_percent(value) if key in PERCENT_KEYS else parse_duration(value)


def text(key, canonical):
    """The canonical value as the drop-in and the result write it: ``85%``, ``55.5%``, ``20s``, ``90s``."""
    if canonical is None:
        return None
    if key in PERCENT_KEYS:
        return "%s%%" % ("%d.%02d" % divmod(canonical, 100)).rstrip("0").rstrip(".")
    return _systemd.format_usec(canonical)


def validate(settings):
    """``{key: canonical}`` of the ``settings`` option; MemwiseError listing every bad key and value at once."""
    if not isinstance(settings, dict) or not settings:
        raise MemwiseError(
            "invalid settings, nothing changed: give a dict of %s, e.g. {SwapUsedLimit: 90%%}" % ", ".join(KEYS)
        )
    values, errors = {}, []
    for key, value in settings.items():
        if key not in KEYS:
            errors.append("%s: not an oomd.conf [OOM] setting; the valid ones are %s" % (key, ", ".join(KEYS)))
            continue
        try:
            values[key] = parse_value(key, value)
        except MemwiseError as exc:
            errors.append("%s: %s" % (key, exc))
    if errors:
        raise MemwiseError("invalid settings, nothing changed: " + "; ".join(errors))
    return values


# ------------------------------------------------------------------ files


def parse_conf(text_, where="oomd.conf"):
    """``{key: canonical}`` of the [OOM] keys an oomd.conf file sets (a later line wins, as in systemd)."""
    values, section = {}, None
    for raw in (text_ or "").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]").strip()
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and section == "OOM" and key in KEYS:
            try:
                values[key] = parse_value(key, value.strip()) if value.strip() else None
            except MemwiseError:
                values[key] = None  # systemd ignores a value it cannot parse: the default stays
    return {k: v for k, v in values.items() if v is not None}


def render_conf(values):
    """The owned oomd.conf drop-in for ``{key: canonical}``, keys in KEYS order."""
    return HEADER + "[OOM]\n" + "".join("%s=%s\n" % (k, text(k, values[k])) for k in KEYS if k in values)


def sources(ours):
    """The oomd.conf files systemd reads, in order (main file, then drop-ins by name); ``ours`` among them."""
    found = [d + "/oomd.conf" for d in CONF_DIRS if os.path.exists(host(d + "/oomd.conf"))][:1]
    dropins = {}
    for directory in reversed(CONF_DIRS):  # a file in a higher directory masks the same name below
        try:
            names = os.listdir(host(directory + "/oomd.conf.d"))
        except OSError:
            continue
        dropins.update({n: "%s/oomd.conf.d/%s" % (directory, n) for n in names if n.endswith(".conf")})
    dropins[posixpath.basename(ours)] = dropins.get(posixpath.basename(ours), ours)
    return found + [dropins[n] for n in sorted(dropins)]


def configured(ours, ours_text):
    """``(values, masker)``: what systemd-oomd starts with if ``ours`` holds ``ours_text`` (None: no file).

    ``masker`` is the file with our name in a directory of higher precedence (it hides ours), else None.
    """
    values, masker = dict(DEFAULTS), None
    for path in sources(ours):
        if path == ours:
            body = ours_text
        else:
            body = _files.read_optional(host(path))
            if posixpath.basename(path) == posixpath.basename(ours):
                masker = path
        values.update(parse_conf(body, path))
    if not values["DefaultMemoryPressureDurationSec"]:  # 0: systemd-oomd's built-in 30s, not an earlier file's
        values["DefaultMemoryPressureDurationSec"] = DEFAULTS["DefaultMemoryPressureDurationSec"]
    return values, masker


def shadows(ours, keys):
    """``[(path, key)]``: drop-ins read after ``ours`` that set one of ``keys`` (their value would win)."""
    found, after = [], False
    for path in sources(ours):
        if path == ours:
            after = True
        elif after:
            found += [(path, k) for k in parse_conf(_files.read_optional(host(path)), path) if k in keys]
    return found


# ------------------------------------------------------------------ host


def parse_dump(text_):
    """``{key: canonical}`` of ``oomctl dump``'s top lines (Swap Used Limit, Default Memory Pressure ...)."""
    values = {}
    for line in (text_ or "").splitlines():
        name, sep, value = line.partition(":")
        if sep and name in DUMP_NAMES and not line[:1].isspace():
            key = DUMP_NAMES[name]
            value = value.strip()
            values[key] = (
                round(float(value.rstrip("%")) * 100) if key in PERCENT_KEYS else _systemd.parse_timespan(value)
            )
    missing = [n for n, k in DUMP_NAMES.items() if k not in values]
    if missing:
        raise MemwiseError("oomctl dump has no %s line; cannot read systemd-oomd's values" % ", ".join(missing))
    return values


def parse_dpkg_status(rc, out):
    """Whether ``dpkg-query -W -f='${Status}'`` says the package is installed (rc 1: never known)."""
    words = (out or "").split()
    return rc == 0 and len(words) == 3 and words[2] == "installed"


def has_candidate(policy):
    """Whether ``apt-cache policy PACKAGE`` names a version apt can install (its lists are present)."""
    match = re.search(r"^\s*Candidate:\s*(\S+)", policy or "", re.M)
    return bool(match) and match.group(1) != "(none)"


def missing(mountinfo, controllers, pressure, version, swaps, *, require_swap):
    """Every prerequisite of systemd-oomd this host lacks, each naming what to do (empty: none)."""
    problems = []
    mounts = [m for m in _mounts.parse(mountinfo or "") if m["mount_point"] == "/sys/fs/cgroup"]
    if not mounts or mounts[-1]["fstype"] != "cgroup2":
        problems.append(
            "unified cgroup v2: /sys/fs/cgroup is %s, not cgroup2; boot with systemd.unified_cgroup_hierarchy=1"
            % (mounts[-1]["fstype"] if mounts else "not mounted")
        )
    elif "memory" not in (controllers or "").split():
        problems.append(
            "the memory controller: /sys/fs/cgroup/cgroup.controllers lacks 'memory'; remove cgroup_disable=memory "
            "from the kernel command line"
        )
    if pressure is None:
        problems.append("PSI: /proc/pressure/memory cannot be read; boot a kernel with CONFIG_PSI and psi=1")
    if version is None or version < MIN_SYSTEMD:
        problems.append(
            "systemd %d or later as PID 1 (this host runs %s); upgrade systemd"
            % (MIN_SYSTEMD, version if version else "an unknown version")
        )
    if require_swap and not _procfs.parse_swaps(swaps or "Filename\n"):
        problems.append(
            "swap: /proc/swaps lists no device, and swap-based kills (SwapUsedLimit) need swap; add swap "
            "(memwise.linux.swap or memwise.linux.zram) first, or set require_swap: false"
        )
    return problems


class Host:
    """The host seen through ``run`` (a ``_command.Runner``): package, service, live values, prerequisites."""

    def __init__(self, run, sleep=time.sleep):
        self.run, self.sleep = run, sleep

    def installed(self):
        rc, out, _err = self.run(["dpkg-query", "-W", "-f=${Status}", PACKAGE], check=False)
        return parse_dpkg_status(rc, out)

    def candidate(self):
        return has_candidate(self.run(["apt-cache", "policy", PACKAGE], check=False)[1])

    def version(self):
        try:
            return _systemd.parse_version(self.run(["systemctl", "show", "-p", "Version"], check=False)[1])
        except MemwiseError:
            return None

    def service(self):
        names = ("LoadState", "ActiveState", "UnitFileState", "MainPID")
        argv = ["systemctl", "show", SERVICE] + [a for n in names for a in ("-p", n)]
        return _systemd.parse_show(self.run(argv, check=False)[1])

    def dump(self, tries=1):
        """The live values (``oomctl dump``), None when systemd-oomd does not answer.

        Only for an active service: oomctl starts a stopped systemd-oomd through bus activation.
        """
        for attempt in range(tries):
            try:
                rc, out, _err = self.run(["oomctl", "dump"], check=False)
            except MemwiseError:  # no oomctl on this host
                return None
            if rc == 0:
                return parse_dump(out)
            if attempt + 1 < tries:
                self.sleep(0.5)
        return None

    def missing(self, require_swap):
        def read(path):
            return _procfs.read_text(path, ROOT)[0]

        return missing(
            read("/proc/self/mountinfo"),
            read("/sys/fs/cgroup/cgroup.controllers"),
            read("/proc/pressure/memory"),
            self.version(),
            read("/proc/swaps"),
            require_swap=require_swap,
        )


# ------------------------------------------------------------------ plan


def same(key, a, b):
    """Live and asked values agree - as exactly as ``oomctl dump`` shows them.

    A percentage may be one hundredth apart (oomd keeps the pressure limit in fixed point), a duration less
    than a second (the dump prints 1500ms as ``1s``).
    """
    if not isinstance(a, int) or not isinstance(b, int):
        return a == b
    return abs(a - b) <= (1 if key in PERCENT_KEYS else 10**6 - 1)


class Plan:
    """What one call changes; built from the host's state, the same in check mode and in a real run."""

    def __init__(self, params, wanted, installed, show, *, live, update=False):
        self.params, self.installed, self.show = params, installed, show
        self.persist = params["persist"]
        self.conf = conf_path(params["dropin_name"], self.persist)
        self.unit = unit_path(params["dropin_name"], self.persist)
        self.conf_before = _dropin.read(host(self.conf), "oomd", params["force"])
        self.unit_before = _dropin.read(host(self.unit), "oomd", params["force"])
        present = params["state"] == "present"
        self.install = present and not installed
        self.update = self.install and update
        self.keys = list(wanted) if present else list(parse_conf(self.conf_before))
        merged = dict(parse_conf(self.conf_before))
        merged.update(wanted or {})
        self.conf_after = render_conf(merged) if present else None
        self.unit_after = UNIT_DROPIN if present else None
        self.expected, masker = configured(self.conf, self.conf_after)
        if masker and self.conf_after is not None:
            raise MemwiseError(
                "%s has the same name as %s and hides it (systemd reads only the first of a name); nothing "
                "changed. Choose another dropin_name, or remove %s" % (masker, self.conf, masker)
            )
        found = shadows(self.conf, self.keys) if present else []
        if found:
            raise MemwiseError(
                "a drop-in read after %s sets the same settings, so systemd-oomd would not use ours; nothing "
                "changed: %s. Remove them there or choose a dropin_name that sorts later"
                % (self.conf, "; ".join("%s in %s" % (k, p) for p, k in found))
            )
        self.files_change = self.conf_after != self.conf_before or self.unit_after != self.unit_before
        self.backup = params["backup"] and self.conf_before is not None and self.conf_after != self.conf_before
        # oomd keeps the pressure limit in fixed point: 55.55% reads back as 55.54%, the same value
        self.live_before = live and {
            k: self.expected[k] if same(k, v, self.expected[k]) else v for k, v in live.items()
        }
        self.reload = self.unit_after != self.unit_before
        active = show.get("ActiveState") in ("active", "reloading", "activating")
        enabled = show.get("UnitFileState") in ("enabled", "enabled-runtime", "static", "alias", "indirect")
        on = params["live"] and (present or active)
        if self.install:
            self.enable = self.persist
            self.start, self.restart = False, params["live"]
        else:
            self.enable = present and self.persist and not enabled
            self.start = on and present and not active
            # present: oomd running with other values than its files say is brought back too
            drift = present and any(not same(k, (live or {}).get(k), self.expected[k]) for k in KEYS)
            self.restart = on and active and (self.files_change or drift)
        self.backup_file = None
        self.active_before = active
        # the package's scripts start the service they install (captured on Debian 12 and 13)
        self.active_after = True if self.install or ((self.start or self.restart) and present) else active
        self.installed_after = installed or self.install
        if on and self.installed_after and self.active_after:
            self.live_after = {k: self.expected[k] for k in KEYS}
        else:
            self.live_after = self.live_before

    def files(self):
        """``(path, before, after)`` of the oomd.conf drop-in and the unit drop-in."""
        return ((self.conf, self.conf_before, self.conf_after), (self.unit, self.unit_before, self.unit_after))

    def actions(self):
        steps = []
        if self.install:
            steps += ["apt-get update"] if self.update else []
            steps.append("apt-get install %s" % PACKAGE)
        steps += ["back up %s" % self.conf] if self.backup else []
        for path, before, after in (
            (self.conf, self.conf_before, self.conf_after),
            (self.unit, self.unit_before, self.unit_after),
        ):
            if before != after:
                steps.append(("remove %s" if after is None else "write %s") % path)
        steps += ["systemctl daemon-reload"] if self.reload else []
        if self.enable and self.start:
            return steps + ["systemctl enable --now %s" % SERVICE]
        steps += ["systemctl enable %s" % SERVICE] if self.enable else []
        steps += ["systemctl start %s" % SERVICE] if self.start else []
        steps += ["systemctl restart %s" % SERVICE] if self.restart else []
        return steps

    def settings(self):
        """Per key, the ``live`` (oomctl) and ``file`` (our drop-in) layers, as text."""
        before, after = parse_conf(self.conf_before), parse_conf(self.conf_after)
        live_before, live_after = self.live_before or {}, self.live_after or {}
        result = {}
        for key in self.keys:
            result[key] = {
                "live": {"before": text(key, live_before.get(key)), "after": text(key, live_after.get(key))},
                "file": {"before": text(key, before.get(key)), "after": text(key, after.get(key))},
            }
        return result


# ------------------------------------------------------------------ apply


def apply(plan, run, hostctl, journal, actions):
    """Carry ``plan`` out, each step recorded in ``journal``; ``actions`` gets what ran. Returns the live values."""
    if plan.install:
        _install(plan, run, journal, actions)
    service = {"touched": False}
    if plan.enable or plan.start or plan.restart:
        journal.did("%s back to its previous configuration" % SERVICE, lambda: _restore_service(plan, run, service))
    _write_files(plan, run, journal, actions)
    service["touched"] = True
    if plan.enable and plan.start:
        _step(run, actions, ["systemctl", "enable", "--now", SERVICE])
    else:
        for wanted, verb in ((plan.enable, "enable"), (plan.start, "start"), (plan.restart, "restart")):
            if wanted:
                _step(run, actions, ["systemctl", verb, SERVICE])
    if not (plan.start or plan.restart):
        return plan.live_after
    return verify(plan, hostctl.dump(tries=6))


def _install(plan, run, journal, actions):
    if plan.update:
        run(APT_ENV + ["apt-get", "update"])
        actions.append("apt-get update")
    run(APT_ENV + ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE])
    actions.append("apt-get install %s" % PACKAGE)
    journal.did("removed %s" % PACKAGE, lambda: run(APT_ENV + ["apt-get", "remove", "-y", PACKAGE]))


def _write_files(plan, run, journal, actions):
    """The backup, the two drop-ins and the daemon-reload, each undone on failure (the reload last)."""
    if plan.reload:
        journal.did("systemd reloaded", lambda: run(["systemctl", "daemon-reload"]))
    if plan.backup:
        plan.backup_file = _files.backup(host(plan.conf))
        actions.append("back up %s" % plan.conf)
    for path, before, after in plan.files():
        if before != after:
            _dropin.write_step(journal, host(path), before, after)
            actions.append(("remove %s" if after is None else "write %s") % path)
    if plan.reload:
        run(["systemctl", "daemon-reload"])
        actions.append("systemctl daemon-reload")


def verify(plan, live):
    """The live values after a start or restart; MemwiseError when systemd-oomd does not run with the plan's."""
    wrong = [k for k in KEYS if not same(k, (live or {}).get(k), plan.expected[k])]
    if live is not None and not wrong:
        return {k: plan.expected[k] for k in KEYS}
    said = "it does not answer" if live is None else ", ".join("%s=%s" % (k, text(k, live[k])) for k in wrong)
    raise MemwiseError(
        "systemd-oomd does not run with the configured values after the %s (oomctl dump: %s; expected %s); "
        "see journalctl -u %s"
        % (
            "restart" if plan.restart else "start",
            said,
            ", ".join("%s=%s" % (k, text(k, plan.expected[k])) for k in (wrong or KEYS)),
            SERVICE,
        )
    )


def _step(run, actions, argv):
    run(argv)
    actions.append(" ".join(argv))


def _restore_service(plan, run, service):
    """Undo: the service as it was - disabled again, stopped, or restarted with the restored files."""
    if not service["touched"]:
        return
    if plan.enable and not plan.install:
        run(["systemctl", "disable", SERVICE])
    if plan.active_before:
        run(["systemctl", "restart", SERVICE])
    elif not plan.install:
        run(["systemctl", "stop", SERVICE])
