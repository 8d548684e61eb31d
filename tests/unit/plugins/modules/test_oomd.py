# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oomd: the whole call - check mode, the real run, idempotence and rollback - against a fake host.

The host's files are a tmp_path copy of the Debian 12 and 13 captures (tests/unit/fixtures/oomd/*/root:
mountinfo, cgroup.controllers, /proc/pressure/memory, /proc/swaps, oomd.conf and Debian's
10-oomd-defaults.conf). ``FakeHost`` answers dpkg-query, apt-cache, systemctl and oomctl with the captured
outputs and keeps the package and service state, so a test asserts the commands that ran, in order, and
the files left behind. oomctl answers only while the service is active: on a real host it would start
systemd-oomd through bus activation (captured: oomctl dump after `systemctl stop` left it running), so
check mode must never call it for a stopped service. Real systemd runs in the Molecule scenario oomd.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _oomd
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.modules import oomd

from ...conftest import FIXTURES, read_fixture

SOURCES = ("deb12", "deb13")
CONF = "/etc/systemd/oomd.conf.d/60-memwise.conf"
UNIT = "/etc/systemd/system/systemd-oomd.service.d/60-memwise.conf"
WANTED = {"SwapUsedLimit": "85%", "DefaultMemoryPressureLimit": "55.5%", "DefaultMemoryPressureDurationSec": "20s"}


def fixture(source, name):
    return read_fixture("oomd/" + source, "commands/" + name)


@pytest.fixture(params=SOURCES)
def source(request, tmp_path, monkeypatch):
    """The capture's host files copied below tmp_path, with swap on (the swap file capture)."""
    shutil.copytree(os.path.join(FIXTURES, "oomd", request.param, "root"), tmp_path, dirs_exist_ok=True)
    (tmp_path / "proc" / "swaps").write_text(fixture(request.param, "proc-swaps-file.txt"))
    monkeypatch.setattr(_oomd, "ROOT", str(tmp_path))
    return request.param


class FakeHost:
    """dpkg, apt, systemctl and oomctl of one host, from the captures; ``calls`` in order."""

    def __init__(self, source, installed=False, active=None, enabled=None, fail=None):
        self.source, self.installed = source, installed
        self.active = installed if active is None else active
        self.enabled = installed if enabled is None else enabled
        self.live = _oomd.configured(CONF, None)[0] if self.active else None
        self.fail, self.calls, self.pid = fail or {}, [], 500

    def __call__(self, argv, check=True, ok_rc=(0,)):
        argv = [a for a in argv if a not in _oomd.APT_ENV]
        self.calls.append(" ".join(argv))
        rc, out, err = self.answer(argv)
        for pattern, (frc, ferr) in self.fail.items():
            if re.search(pattern, " ".join(argv)):
                rc, out, err = frc, "", ferr
        if check and rc not in ok_rc:
            raise MemwiseError("`%s` failed (rc=%d): %s" % (" ".join(argv), rc, err))
        return rc, out, err

    def answer(self, argv):
        handler = {"dpkg-query": self.dpkg, "apt-cache": self.apt, "apt-get": self.apt, "oomctl": self.oomctl}
        return handler.get(argv[0], self.systemctl)(argv)

    def dpkg(self, _argv):
        if self.installed:
            return 0, fixture(self.source, "dpkg-query-installed.txt"), ""
        return 1, "", fixture(self.source, "dpkg-query-missing.stderr.txt")

    def apt(self, argv):
        if argv[0] == "apt-cache":
            return 0, fixture(self.source, "apt-cache-policy-nolists.txt"), ""
        if argv[1] == "install":
            self.installed = self.active = self.enabled = True
            self.live = None  # the package's start: oomctl times out until a restart (captured)
            return 0, "", ""
        if argv[1] == "remove":
            self.installed = self.active = self.enabled = False
            return 0, "", ""
        return 0, "", ""

    def oomctl(self, _argv):
        assert self.active, "oomctl dump on a stopped systemd-oomd starts it (bus activation)"
        if self.live is None:
            return 1, "", fixture(self.source, "oomctl-dump-noswap.stderr.txt")
        return 0, self.dump(), ""

    def systemctl(self, argv):
        verb = argv[1]
        if verb == "show":
            if argv[2:] == ["-p", "Version"]:
                return 0, "Version=" + fixture(self.source, "systemctl-show-version-value.txt"), ""
            return 0, self.show(), ""
        if verb in ("start", "restart") or argv[2:3] == ["--now"]:
            self.active, self.pid = True, self.pid + 1
            self.live = _oomd.configured(CONF, _read(CONF))[0]
        self.enabled = {"enable": True, "disable": False}.get(verb, self.enabled)
        if verb == "stop":
            self.active, self.live = False, None
        return 0, "", ""

    def show(self):
        if not self.installed:
            return fixture(self.source, "show-not-found.txt")
        text = fixture(self.source, "show-installed.txt")
        text = text.replace("ActiveState=active", "ActiveState=" + ("active" if self.active else "inactive"))
        text = text.replace("UnitFileState=enabled", "UnitFileState=" + ("enabled" if self.enabled else "disabled"))
        return re.sub(r"MainPID=\d+", "MainPID=%d" % (self.pid if self.active else 0), text)

    def dump(self):
        """The captured dump with this host's values in its three lines."""
        text = fixture(self.source, "oomctl-dump-swap.txt")
        for name, key in _oomd.DUMP_NAMES.items():
            value = self.live[key]
            shown = "%d.%02d%%" % divmod(value, 100) if key in _oomd.PERCENT_KEYS else _oomd.text(key, value)
            text = re.sub(r"(?m)^%s: .*$" % name, "%s: %s" % (name, shown), text)
        return text

    def actions(self):
        """The commands that changed something, named as the module's actions name them."""
        changes = [c for c in self.calls if not re.match(r"(dpkg-query|apt-cache|systemctl show|oomctl)", c)]
        return [c.replace("install -y --no-install-recommends", "install") for c in changes]


def commands(actions):
    """The actions that are commands (the file steps run no command)."""
    return [a for a in actions if not a.startswith(("write ", "remove /", "back up "))]


def _read(path):
    try:
        with open(_oomd.host(path), encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


class FakeModule:
    _name = "memwise.linux.oomd"

    def __init__(self, check_mode=False, **params):
        self.params = dict(
            settings=None, install=True, require_swap=True, live=True, persist=True, dropin_name="60-memwise"
        )
        self.params.update(force=False, backup=False, state="present")
        self.params.update(params)
        self.check_mode, self._diff, self.warnings = check_mode, True, []

    def warn(self, text):
        self.warnings.append(text)


def call(fake, check_mode=False, **params):
    return oomd.run(FakeModule(check_mode, **params), fake, _oomd.Host(fake, sleep=lambda _s: None))


FIRST_ACTIONS = [
    "apt-get update",
    "apt-get install systemd-oomd",
    "write " + CONF,
    "write " + UNIT,
    "systemctl daemon-reload",
    "systemctl enable systemd-oomd.service",
    "systemctl restart systemd-oomd.service",
]


def test_check_apply_check_apply_on_a_host_without_the_package(source):
    fake = FakeHost(source)
    check = call(fake, True, settings=WANTED)
    assert fake.actions() == [] and not os.path.exists(_oomd.host(CONF)), "check mode changed the host"
    assert check["actions"] == FIRST_ACTIONS
    assert check["installed"] == {"before": False, "after": True}
    assert check["active"] == {"before": False, "after": True}
    apply = call(fake, settings=WANTED)
    assert apply["actions"] == check["actions"] and commands(apply["actions"]) == fake.actions()
    assert apply["settings"] == check["settings"]
    assert apply["settings"]["SwapUsedLimit"] == {
        "live": {"before": None, "after": "85%"},
        "file": {"before": None, "after": "85%"},
    }
    assert apply["changed_settings"] == list(WANTED)
    assert apply["file_text"] == _read(CONF) == check["file_text"]
    assert "DefaultMemoryPressureLimit=55.5%\n" in apply["file_text"]
    assert _read(UNIT).endswith("[Unit]\nAfter=swap.target\n")
    assert [d["before_header"] for d in check["diff"]] == ["live oomctl dump", CONF, UNIT]
    restarts = fake.pid
    fake.calls = []
    again = call(fake, True, settings=WANTED)
    assert again["actions"] == [] and not again["changed"] and again["changed_settings"] == []
    assert call(fake, settings=WANTED)["actions"] == [] and fake.actions() == [] and fake.pid == restarts


def test_a_settings_change_restarts_once_and_keeps_the_other_keys(source):
    fake = FakeHost(source)
    call(fake, settings=WANTED)
    fake.calls = []
    result = call(fake, settings={"SwapUsedLimit": "80%"})
    assert result["actions"] == ["write " + CONF, "systemctl restart systemd-oomd.service"]
    assert fake.actions() == ["systemctl restart systemd-oomd.service"]
    assert "DefaultMemoryPressureDurationSec=20s" in _read(CONF) and "SwapUsedLimit=80%" in _read(CONF)
    assert result["settings"] == {"SwapUsedLimit": {"live": {"before": "85%", "after": "80%"},
                                                    "file": {"before": "85%", "after": "80%"}}}  # fmt: skip


def test_a_stopped_service_is_started_not_restarted_and_oomctl_is_not_asked(source):
    fake = FakeHost(source, installed=True, active=False, enabled=False)
    check = call(fake, True, settings=WANTED)
    assert not [c for c in fake.calls if c.startswith("oomctl")]
    assert check["actions"] == [
        "write " + CONF,
        "write " + UNIT,
        "systemctl daemon-reload",
        "systemctl enable --now systemd-oomd.service",
    ]
    assert call(fake, settings=WANTED)["actions"] == check["actions"]
    assert fake.actions() == commands(check["actions"])


def test_live_values_that_drifted_from_the_files_restart_once(source):
    fake = FakeHost(source)
    call(fake, settings=WANTED)
    fake.live = dict(fake.live, SwapUsedLimit=9000)  # someone edited a file and did not restart
    fake.calls = []
    result = call(fake, settings=WANTED)
    assert result["actions"] == ["systemctl restart systemd-oomd.service"] == fake.actions()
    assert result["settings"]["SwapUsedLimit"]["live"] == {"before": "90%", "after": "85%"}


def test_state_absent_removes_both_dropins_and_restarts_to_the_defaults(source):
    fake = FakeHost(source)
    call(fake, settings=WANTED)
    fake.calls = []
    check = call(fake, True, state="absent")
    result = call(fake, state="absent")
    assert commands(result["actions"]) == fake.actions()
    assert (
        result["actions"]
        == check["actions"]
        == [
            "remove " + CONF,
            "remove " + UNIT,
            "systemctl daemon-reload",
            "systemctl restart systemd-oomd.service",
        ]
    )
    assert result["settings"] == check["settings"]
    # Debian's /usr/lib/systemd/oomd.conf.d/10-oomd-defaults.conf sets 20s.
    assert {k: v["live"]["after"] for k, v in result["settings"].items()} == {
        "SwapUsedLimit": "90%",
        "DefaultMemoryPressureLimit": "60%",
        "DefaultMemoryPressureDurationSec": "20s",
    }
    assert _read(CONF) is None and _read(UNIT) is None and fake.installed and fake.enabled
    assert result["file_text"] is None
    fake.calls = []
    assert call(fake, state="absent")["actions"] == [] and fake.actions() == []


def test_missing_prerequisites_are_reported_at_once_and_nothing_runs(source, tmp_path):
    (tmp_path / "proc" / "swaps").write_text(read_fixture("oomd/" + source, "root/proc/swaps"))
    (tmp_path / "proc" / "pressure" / "memory").unlink()
    fake = FakeHost(source)
    with pytest.raises(
        MemwiseError, match=r"nothing changed; missing: PSI: .*; swap: /proc/swaps lists no device"
    ) as e:
        call(fake, settings=WANTED, install=False)
    assert e.value.details["missing"][-1].startswith(
        "the systemd-oomd package: it is not installed and install is false"
    )
    assert len(e.value.details["missing"]) == 3
    assert fake.actions() == [] and _read(CONF) is None


def test_legacy_cgroups_old_systemd_and_no_memory_controller_are_named(source, tmp_path):
    mountinfo = tmp_path / "proc" / "self" / "mountinfo"
    mountinfo.write_text(re.sub(r" - cgroup2 cgroup2 ", " - tmpfs tmpfs ", mountinfo.read_text()))
    fake = FakeHost(source)
    with pytest.raises(MemwiseError, match=r"unified cgroup v2: /sys/fs/cgroup is tmpfs, not cgroup2"):
        call(fake, settings=WANTED)
    assert _oomd.missing("", "cpu io", "some", 247, "Filename\n/swapfile file 1 0 -2\n", require_swap=True) == [
        "unified cgroup v2: /sys/fs/cgroup is not mounted, not cgroup2; boot with systemd.unified_cgroup_hierarchy=1",
        "systemd 248 or later as PID 1 (this host runs 247); upgrade systemd",
    ]
    text = fixture(source, "../root/proc/self/mountinfo")
    assert _oomd.missing(text, "cpu io", "some", 252, None, require_swap=False) == [
        "the memory controller: /sys/fs/cgroup/cgroup.controllers lacks 'memory'; remove cgroup_disable=memory "
        "from the kernel command line"
    ]


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        (
            {"SwapUsedLimt": "80%"},
            r"SwapUsedLimt: not an oomd.conf \[OOM\] setting; the valid ones are SwapUsedLimit, ",
        ),
        ({"SwapUsedLimit": "120%"}, r"SwapUsedLimit: '120%' is above 100%"),
        ({"DefaultMemoryPressureLimit": "55.555%"}, r"'55.555%' is not a percentage"),
        ({"DefaultMemoryPressureLimit": "5‰"}, r"is not a percentage; write e.g. '90%'"),
        ({"DefaultMemoryPressureDurationSec": "500ms"}, r"'500ms' is below 1s; systemd-oomd refuses"),
        ({"DefaultMemoryPressureDurationSec": "infinity"}, r"'infinity' is not a duration"),
        ({"DefaultMemoryPressureDurationSec": "soon"}, r"'soon' is not a duration"),
        ({"SwapUsedLimit": True}, r"True is not a percentage"),
        ({}, r"give a dict of SwapUsedLimit"),
        (
            {"SwapUsedLimit": "1%", "Foo": 1, "DefaultMemoryPressureLimit": "x"},
            r"Foo: .*; DefaultMemoryPressureLimit: ",
        ),
    ],
)
def test_bad_settings_are_refused_before_anything_is_read(source, settings, match):
    fake = FakeHost(source)
    with pytest.raises(MemwiseError, match="^invalid settings, nothing changed: .*" + match):
        call(fake, True, settings=settings)
    assert fake.calls == []


def test_a_foreign_file_is_refused_without_force_and_backed_up_with_it(source):
    os.makedirs(os.path.dirname(_oomd.host(CONF)))
    with open(_oomd.host(CONF), "w", encoding="utf-8") as handle:
        handle.write("[OOM]\nSwapUsedLimit=95%\n")
    fake = FakeHost(source, installed=True)
    with pytest.raises(MemwiseError, match=r"60-memwise.conf exists and memwise.linux.oomd does not manage it"):
        call(fake, settings=WANTED)
    assert fake.actions() == [] and _read(CONF) == "[OOM]\nSwapUsedLimit=95%\n"
    result = call(fake, settings=WANTED, force=True, backup=True)
    assert result["actions"][0] == "back up " + CONF
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert handle.read() == "[OOM]\nSwapUsedLimit=95%\n"


def test_a_later_dropin_that_sets_the_same_key_is_refused(source):
    later = _oomd.host("/etc/systemd/oomd.conf.d/90-site.conf")
    os.makedirs(os.path.dirname(later))
    with open(later, "w", encoding="utf-8") as handle:
        handle.write("[OOM]\nSwapUsedLimit=95%\n")
    with pytest.raises(
        MemwiseError, match=r"a drop-in read after .*: SwapUsedLimit in /etc/systemd/oomd.conf.d/90-site"
    ):
        call(FakeHost(source, installed=True), settings=WANTED)


def test_a_failed_restart_rolls_back_newest_first_and_removes_the_package(source):
    fake = FakeHost(source, fail={r"^systemctl restart": (1, "Job for systemd-oomd.service failed")})
    with pytest.raises(MemwiseError) as e:
        call(fake, settings=WANTED)
    assert str(e.value).startswith("`systemctl restart systemd-oomd.service` failed (rc=1)")
    assert str(e.value).endswith(
        "undone: removed %s, removed %s, systemd reloaded, systemd-oomd.service back to its previous configuration, "
        "removed systemd-oomd" % (_oomd.host(UNIT), _oomd.host(CONF))
    )
    undo = fake.actions()[fake.actions().index("systemctl restart systemd-oomd.service") + 1 :]
    # The service was not running before: removing the package stops it, nothing to restart.
    assert undo == ["systemctl daemon-reload", "apt-get remove -y systemd-oomd"]
    assert _read(CONF) is None and _read(UNIT) is None and not fake.installed


def test_a_wrong_read_back_rolls_back_to_the_previous_values(source):
    fake = FakeHost(source)
    call(fake, settings=WANTED)
    real_answer = fake.answer

    def stale(argv):  # the restart "happens" but oomd keeps its old values
        if argv[:2] == ["systemctl", "restart"]:
            fake.pid += 1
            return 0, "", ""
        return real_answer(argv)

    fake.answer = stale
    fake.calls = []
    match = (
        r"does not run with the configured values after the restart \(oomctl dump: SwapUsedLimit=85%; "
        r"expected SwapUsedLimit=80%\).*undone: restored .*60-memwise.conf"
    )
    with pytest.raises(MemwiseError, match=match):
        call(fake, settings={"SwapUsedLimit": "80%"})
    assert "SwapUsedLimit=85%" in _read(CONF)
    assert fake.actions() == ["systemctl restart systemd-oomd.service"] * 2


def test_live_and_persist_false_and_a_bad_dropin_name_are_refused(source):
    with pytest.raises(MemwiseError, match="live and persist are both false"):
        call(FakeHost(source), settings=WANTED, live=False, persist=False)
    with pytest.raises(MemwiseError, match=r"dropin_name: '\.\./x' must be a plain file name"):
        call(FakeHost(source), settings=WANTED, dropin_name="../x")


def test_persist_false_writes_to_run_and_does_not_enable(source):
    fake = FakeHost(source, installed=True, active=False, enabled=False)
    result = call(fake, settings=WANTED, persist=False)
    assert result["path"] == "/run/systemd/oomd.conf.d/60-memwise.conf"
    assert result["actions"][-1] == "systemctl start systemd-oomd.service" and not fake.enabled
    assert result["settings"]["SwapUsedLimit"]["live"]["after"] == "85%"


def test_absent_does_not_restart_for_values_it_never_set(source):
    fake = FakeHost(source, installed=True)
    fake.live = dict(fake.live, SwapUsedLimit=9500)  # another file changed without a restart: not ours
    assert call(fake, state="absent")["actions"] == [] and fake.actions() == []


def test_live_false_writes_the_files_and_leaves_the_running_values(source):
    fake = FakeHost(source, installed=True)
    fake.live = dict(fake.live, DefaultMemoryPressureLimit=5554)
    result = call(fake, settings={"DefaultMemoryPressureLimit": "55.55%"}, live=False)
    assert result["actions"] == ["write " + CONF, "write " + UNIT, "systemctl daemon-reload"]
    assert fake.actions() == ["systemctl daemon-reload"]
    # 55.54% is how oomd's fixed point shows 55.55%: the same value, no change reported live
    assert result["settings"]["DefaultMemoryPressureLimit"]["live"] == {"before": "55.55%", "after": "55.55%"}
