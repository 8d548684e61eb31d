# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_systemd: the property table, values, drop-ins and precedence, over `systemctl show` captured on the VMs."""

from __future__ import annotations

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _systemd, _unitctl
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import read_fixture

VERSIONS = {"deb12": 252, "deb13": 257}
# The bases measured on the VMs (MemTotal from /proc/meminfo, kernel.threads-max) with the values systemd
# reported for MemoryHigh=50% and TasksMax=10% (systemctl show and the cgroup files agreed).
MEASURED = [
    ({"mem_total": 983744 * 1024, "page": 4096, "tasks_max": 7341}, 503676928, 734),
    ({"mem_total": 990564 * 1024, "page": 4096, "tasks_max": 7398}, 507166720, 739),
]
HOST = MEASURED[0][0]


def show(source, unit="ssh.service"):
    return _systemd.parse_show(read_fixture(source, "commands/show-%s.txt" % unit))


@pytest.mark.parametrize("source", sorted(VERSIONS))
def test_version_from_both_commands(source):
    assert _systemd.parse_version(read_fixture(source, "commands/systemctl-version.txt")) == VERSIONS[source]
    manager = _systemd.parse_show(read_fixture(source, "commands/show-manager.txt"))
    assert _systemd.parse_version(manager["Version"]) == VERSIONS[source]


def test_version_unreadable():
    with pytest.raises(MemwiseError, match="cannot tell the systemd version"):
        _systemd.parse_version("not systemd")


@pytest.mark.parametrize("source", sorted(VERSIONS))
def test_table_versions_match_what_systemd_shows(source):
    """A property the table says this systemd has appears in its `systemctl show`; a newer one does not."""
    shown = set(show(source)) | set(show(source, "system.slice"))
    for name, prop in _systemd.PROPERTIES.items():
        present = _systemd.show_name(name) in shown
        assert present == (prop.since <= VERSIONS[source]), name


@pytest.mark.parametrize("source", sorted(VERSIONS))
@pytest.mark.parametrize("unit", ["ssh.service", "system.slice", "user.slice"])
def test_every_shown_value_parses(source, unit):
    values = show(source, unit)
    for name, prop in _systemd.PROPERTIES.items():
        if prop.since <= VERSIONS[source]:
            value = _systemd.from_show(name, values[_systemd.show_name(name)])
            assert value is None or isinstance(value, (int, str)), (name, value)
    assert _systemd.from_show("MemoryHigh", values["MemoryHigh"]) == "infinity"
    assert _systemd.from_show("CPUWeight", values["CPUWeight"]) is None  # [not set]
    assert _systemd.from_show("ManagedOOMMemoryPressureLimit", values["ManagedOOMMemoryPressureLimit"]) == 0


@pytest.mark.parametrize("source", sorted(VERSIONS))
def test_service_inherits_the_manager_task_limit(source):
    """ssh.service sets no TasksMax: systemctl show reports the manager's DefaultTasksMax as a count."""
    manager = _systemd.parse_show(read_fixture(source, "commands/show-manager.txt"))
    tasks = _systemd.from_show("TasksMax", show(source)["TasksMax"])
    assert isinstance(tasks, int)
    assert tasks == _systemd.default_value("TasksMax", manager)


@pytest.mark.parametrize(("host", "high", "tasks"), MEASURED)
def test_percentages_as_systemd_computes_them(host, high, tasks):
    assert _systemd.normalize("MemoryHigh", "50%", host) == (high, "50%", str(high))
    assert _systemd.normalize("TasksMax", "10%", host) == (tasks, "10%", str(tasks))
    full = host["mem_total"] // 4096 * 4096
    assert _systemd.normalize("MemoryMax", "100%", host)[0] == full


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MemoryHigh", "1G", (1073741824, "1G", "1073741824")),
        ("MemoryHigh", "1.5G", (1610612736, "1536M", "1610612736")),
        ("MemoryHigh", 104857600, (104857600, "100M", "104857600")),
        ("MemoryHigh", "infinity", ("infinity", "infinity", "infinity")),
        ("MemoryMax", "1000001", (1000001, "1000001", "1000001")),
        ("MemoryLow", 0, (0, "0", "0")),
        ("MemorySwapMax", "0", (0, "0", "0")),
        ("MemoryZSwapMax", "64M", (67108864, "64M", "67108864")),
        ("CPUWeight", 50, (50, "50", "50")),
        ("IOWeight", "10000", (10000, "10000", "10000")),
        ("TasksMax", 512, (512, "512", "512")),
        ("TasksMax", "infinity", ("infinity", "infinity", "infinity")),
        ("CPUQuota", "20%", (200000, "20%", "20%")),
        ("CPUQuota", "150%", (1500000, "150%", "150%")),
        ("ManagedOOMMemoryPressureLimit", "60%", (6000, "60%", "60%")),
        ("ManagedOOMMemoryPressureLimit", "12.5%", (1250, "12.5%", "12.5%")),
        ("ManagedOOMMemoryPressure", "kill", ("kill", "kill", "kill")),
        ("ManagedOOMPreference", "avoid", ("avoid", "avoid", "avoid")),
        ("MemoryPressureWatch", "off", ("no", "off", "off")),  # systemctl show says "no" (measured, 257)
        ("MemoryPressureWatch", "skip", ("skip", "skip", "skip")),
        ("MemoryAccounting", True, ("yes", "yes", "yes")),
        ("MemoryZSwapWriteback", "no", ("no", "no", "no")),
        ("ManagedOOMMemoryPressureDurationSec", "1min 30s", (90000000, "90s", "90s")),
        ("MemoryPressureThresholdSec", "150ms", (150000, "150ms", "150ms")),
        ("CPUQuotaPeriodSec", 2, (2000000, "2s", "2s")),
    ],
)
def test_normalize(name, value, expected):
    assert _systemd.normalize(name, value, HOST) == expected


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MemoryHigh", "lots", "MemoryHigh: 'lots' is not a size"),
        ("MemoryHigh", 0, "MemoryHigh: 0 would stop the unit"),
        ("MemoryHigh", "150%", "more than 100%"),
        ("MemoryHigh", True, "a boolean, not a size"),
        ("MemorySwapMax", "50%", "a percentage is not accepted here"),
        ("CPUWeight", 0, "CPUWeight: 0 is out of range; a weight is 1..10000"),
        ("IOWeight", 20000, "IOWeight: 20000 is out of range"),
        ("CPUWeight", "heavy", "not a weight"),
        ("CPUWeight", True, "not a weight"),
        ("TasksMax", 0, "not a task limit"),
        ("TasksMax", "many", "not a task limit"),
        ("CPUQuota", 20, "not a percentage"),
        ("CPUQuota", "0%", "0% would stop the unit"),
        ("ManagedOOMMemoryPressureLimit", "120%", "more than 100%"),
        ("ManagedOOMMemoryPressure", "always", "not one of auto, kill"),
        ("MemoryAccounting", "maybe", "not a boolean"),
        ("MemoryPressureThresholdSec", "soon", "not a duration"),
        ("MemoryPressureThresholdSec", "5 parsecs", "not a duration"),
    ],
)
def test_bad_values(name, value, message):
    with pytest.raises(MemwiseError, match=message.replace("(", r"\(").replace(".", r"\.")):
        _systemd.normalize(name, value, HOST)


def test_validate_names_every_problem_at_once():
    with pytest.raises(MemwiseError) as exc:
        _systemd.validate(
            {"MemoryHigh": "lots", "CPUWeight": 0, "memoryhigh": "1G", "Bogus": 1, "MemoryZSwapMax": "1G"}, 252, HOST
        )
    msg = str(exc.value)
    assert msg.startswith("invalid properties, nothing changed: ")
    assert "memoryhigh: not a resource-control property memwise.linux manages; did you mean MemoryHigh?" in msg
    assert "Bogus: not a resource-control property" in msg
    assert "MemoryZSwapMax: needs systemd 253 or later; this host runs systemd 252" in msg
    assert "MemoryHigh: 'lots' is not a size" in msg
    assert "CPUWeight: 0 is out of range" in msg


def test_validate_none_value():
    with pytest.raises(MemwiseError, match="MemoryHigh: no value given; to remove a property use state=absent"):
        _systemd.validate({"MemoryHigh": None}, 257, HOST)


def test_validate_on_257_accepts_zswap():
    assert _systemd.validate({"MemoryZSwapMax": "64M"}, 257, HOST) == {"MemoryZSwapMax": (67108864, "64M", "67108864")}


@pytest.mark.parametrize(
    ("text", "usec"),
    [("200ms", 200000), ("1min 30s", 90000000), ("2h", 7200000000), ("1.5s", 1500000), ("5", 5000000),
     ("250us", 250), ("[not set]", None), ("", None), ("infinity", "infinity"), ("1w 1d", 691200000000)],
)  # fmt: skip
def test_timespan(text, usec):
    assert _systemd.parse_timespan(text) == usec


@pytest.mark.parametrize("usec", [1, 999, 1000, 200000, 1000000, 90000000])
def test_format_usec_round_trips(usec):
    assert _systemd.parse_timespan(_systemd.format_usec(usec)) == usec


@pytest.mark.parametrize(
    ("unit", "section"),
    [("ssh.service", "Service"), ("batch.slice", "Slice"), ("getty@tty1.service", "Service"),
     ("session-3.scope", "Scope"), ("dbus.socket", "Socket"), ("system-serial\\x2dgetty.slice", "Slice")],
)  # fmt: skip
def test_unit_section(unit, section):
    assert _systemd.unit_section(unit) == section


@pytest.mark.parametrize(
    ("unit", "message"),
    [
        ("ssh", "not a unit name; write it in full with its type"),
        ("multi-user.target", "is a .target unit; resource control applies to .service"),
        ("getty@.service", "is a template; name an instance such as getty@1.service"),
        ("a b.service", "contains ' ', which a unit name cannot"),
        ("../x.service", "contains '/', which a unit name cannot"),
        ("x.service\nExecStart=/bin/sh", "contains '\\\\n', '/', '='"),
        ("", "'' is empty, not a unit name"),
        (None, "None is a NoneType, not a unit name"),
        ("a" * 250 + ".service", "longer than the 255 characters"),
    ],
)
def test_unit_section_refuses(unit, message):
    with pytest.raises(MemwiseError, match=message):
        _systemd.unit_section(unit)


def test_dropin_round_trip_and_reset():
    text = _systemd.render_dropin("Service", {"TasksMax": "64", "MemoryHigh": "1G", "CPUWeight": None})
    assert text == _systemd.HEADER + "[Service]\nMemoryHigh=1G\nTasksMax=64\n"
    assert _systemd.parse_dropin(text, "Service") == {"MemoryHigh": "1G", "TasksMax": "64"}
    unit_file = "[Unit]\nMemoryHigh=9G\n[Service]\n# MemoryMax=1G\nMemoryMax = 2G\nExecStart=/bin/true\nMemoryMax=\n"
    assert _systemd.parse_dropin(unit_file, "Service") == {"MemoryMax": None}
    assert _systemd.parse_dropin(unit_file, "Slice") == {}


@pytest.mark.parametrize("source", sorted(VERSIONS))
def test_configured_value_follows_systemd_order(source):
    manager = _systemd.parse_show(read_fixture(source, "commands/show-manager.txt"))
    default_tasks = _systemd.from_show("TasksMax", manager["DefaultTasksMax"])
    assert _systemd.configured_value("TasksMax", [], manager, HOST) == default_tasks
    assert _systemd.configured_value("MemoryHigh", [], manager, HOST) == "infinity"
    assert _systemd.configured_value("CPUWeight", [], manager, HOST) is None
    assert _systemd.configured_value("MemoryAccounting", [], manager, HOST) == "yes"
    assert _systemd.configured_value("IOAccounting", [], manager, HOST) == "no"
    sources = [
        ("Service", "[Service]\nMemoryHigh=1G\nTasksMax=50\nCPUWeight=20\n"),
        ("Service", "[Service]\nMemoryHigh=2G\nCPUWeight=\n"),
        ("Service", "[Service]\nTasksMax=nonsense\n"),
    ]
    assert _systemd.configured_value("MemoryHigh", sources, manager, HOST) == 2 * 1024**3
    assert _systemd.configured_value("CPUWeight", sources, manager, HOST) is None  # reset by the empty assignment
    assert _systemd.configured_value("TasksMax", sources, manager, HOST) == 50  # systemd ignores the bad line


def test_shadows_only_later_files_with_other_values():
    wanted = {"MemoryHigh": (1073741824, "1G", "1073741824"), "TasksMax": (64, "64", "64")}
    ours = "/etc/systemd/system/ssh.service.d/50-memwise-resources.conf"
    texts = [
        ("/run/systemd/system.control/ssh.service.d/50-MemoryHigh.conf", "[Service]\nMemoryHigh=5\n"),  # earlier
        ("/etc/systemd/system/ssh.service.d/60-same.conf", "[Service]\nTasksMax=64\n"),  # same value
        ("/etc/systemd/system/ssh.service.d/99-local.conf", "[Service]\nMemoryHigh=2G\nMemoryMax=3G\n"),
    ]
    found = _systemd.shadows(texts, ours, wanted, "Service", HOST)
    assert found == [{"property": "MemoryHigh", "file": texts[2][0], "value": "2G"}]


def test_contradictions():
    warnings = _systemd.contradictions({"MemoryHigh": 2048, "MemoryMax": 1024, "MemoryLow": "infinity"})
    assert any(w.startswith("MemoryHigh (2048) is above MemoryMax (1024)") for w in warnings)
    assert any(w.startswith("MemoryLow (infinity) is above MemoryHigh (2048)") for w in warnings)
    assert _systemd.contradictions({"MemoryLow": 1, "MemoryHigh": "infinity", "MemoryMax": "infinity"}) == []


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("MemoryHigh", "max\n", "infinity"),
        ("MemoryHigh", "104857600\n", 104857600),
        ("CPUQuota", "20000 100000\n", 200000),
        ("CPUQuota", "max 100000\n", None),
        ("IOWeight", "default 100\n8:0 200\n", 100),
        ("MemoryZSwapWriteback", "1\n", "yes"),
        ("TasksMax", "max\n", "infinity"),
    ],
)
def test_from_cgroup(name, text, value):
    assert _systemd.from_cgroup(name, text) == value


def test_cgroup_holds_whole_pages():
    assert _systemd.cgroup_expected("MemoryMax", 1000001, 4096) == 999424
    assert _systemd.cgroup_expected("MemoryMax", "infinity", 4096) == "infinity"
    assert _systemd.cgroup_expected("CPUWeight", None, 4096) is None
    assert _systemd.cgroup_expected("TasksMax", 1000001, 4096) == 1000001


def test_readouts():
    values = show("deb13")
    assert _systemd.from_show_readout(values["MemoryCurrent"]) > 0
    assert _systemd.from_show_readout("[not set]") is None
    assert _systemd.from_show_readout("infinity") == "infinity"


def test_runtime_refused_properties_are_marked():
    """set-property --runtime refused these on systemd 257 (measured); they apply from files only."""
    fixed = sorted(n for n, p in _systemd.PROPERTIES.items() if not p.live)
    assert fixed == sorted(
        ["MemoryPressureWatch", "MemoryPressureThresholdSec"]
        + ["StartupMemory" + s for s in ("Low", "High", "Max", "SwapMax", "ZSwapMax")]
    )


@pytest.mark.parametrize(
    ("now", "problem"),
    [
        ({"ActiveState": "active", "SubState": "running", "MainPID": "977", "NRestarts": "0"}, None),
        (
            {"ActiveState": "failed", "SubState": "failed", "MainPID": "0", "NRestarts": "0"},
            "it is failed (failed), MainPID 977 became 0",
        ),
        (
            {"ActiveState": "active", "SubState": "running", "MainPID": "981", "NRestarts": "1"},
            "MainPID 977 became 981, systemd restarted it (NRestarts 0 -> 1)",
        ),
    ],
)
def test_survived_the_settle_time(now, problem):
    first = {"ActiveState": "active", "SubState": "running", "MainPID": "977", "NRestarts": "0"}
    said = _unitctl.survived(first, now, 3.0)
    if problem is None:
        assert said is None
    else:
        assert said == "the service did not stay up for the 3s settle time after it became active: " + problem
