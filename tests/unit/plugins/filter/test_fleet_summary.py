# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Mapping

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.filter import fleet_summary as plugin
from ansible_collections.memwise.linux.plugins.filter.fleet_summary import FIELDS, fleet_summary
from ansible_collections.memwise.linux.plugins.module_utils import _facts

from ...conftest import FIXTURES, fixture_sources

MIB = 1024**2
GIB = 1024**3
DATA_FIELDS = [name for name, _expressions in FIELDS]

# ansible_facts.memwise of a Debian 12 VM with a swap file and a zram device, in
# the shape memory_facts returns (docs: plugins/modules/memory_facts.py RETURN).
FULL = {
    "gather_subset": ["meminfo", "swap", "zram", "zswap", "thp", "psi", "vmstat", "cgroup", "systemd", "summary"],
    "unavailable": {"mglru": "/sys/kernel/mm/lru_gen does not exist"},
    "meminfo": {"MemTotal": GIB, "MemAvailable": 768 * MIB, "SwapTotal": 1536 * MIB, "SwapFree": 1408 * MIB},
    "swap": {
        "devices": [
            {"path": "/swapfile", "type": "file", "size": 512 * MIB, "used": 0, "priority": -2},
            {"path": "/dev/zram0", "type": "zram", "size": GIB, "used": 128 * MIB, "priority": 100},
        ],
        "total": 1536 * MIB,
        "used": 128 * MIB,
        "free": 1408 * MIB,
    },
    "zram": {
        "devices": [
            {
                "name": "zram0",
                "path": "/dev/zram0",
                "disksize": GIB,
                "algorithm": "zstd",
                "orig_data_size": 120 * MIB,
                "compr_data_size": 40 * MIB,
                "mem_used_total": 44 * MIB,
                "compression_ratio": 3.0,
                "swap": True,
                "swap_priority": 100,
            }
        ],
        "total_disksize": GIB,
        "total_orig_data_size": 120 * MIB,
        "total_mem_used": 44 * MIB,
    },
    "zswap": {"enabled": False, "compressor": "zstd", "zpool": "zsmalloc", "max_pool_percent": 20, "pool": None},
    "thp": {"enabled": "madvise", "enabled_choices": ["always", "madvise", "never"], "defrag": "madvise"},
    "psi": {
        "memory": {
            "some": {"avg10": 1.5, "avg60": 0.75, "avg300": 0.2, "total": 123456},
            "full": {"avg10": 0.5, "avg60": 0.25, "avg300": 0.1, "total": 65432},
        }
    },
    "vmstat": {"oom_kill": 2, "pswpin": 10, "pswpout": 20},
    "cgroup": {
        "version": "v2",
        "top_units": [
            {"unit": "postgresql.service", "slice": "system.slice", "current": 300 * MIB},
            {"unit": "user-1000.slice", "slice": "user.slice", "current": 100 * MIB},
        ],
    },
    "systemd": {"booted": True, "pid1": "systemd", "version": 252, "state": "running", "oomd_active": False},
    "summary": {
        "mem_total": GIB,
        "mem_available": 768 * MIB,
        "available_ratio": 0.75,
        "swap_total": 1536 * MIB,
        "swap_used": 128 * MIB,
        "swap_used_ratio": 0.0833,
        "swap_devices": 2,
        "zram_devices": 1,
        "zram_ratio": 3.0,
        "zswap_enabled": False,
        "thp_enabled": "madvise",
        "pressure_level": "some",
        "pressure": {"some_avg10": 1.5, "some_avg60": 0.75, "full_avg10": 0.5, "full_avg60": 0.25},
        "oom_kills": 2,
        "advice": [
            {"id": "oom_kills", "severity": "warning", "text": "2 OOM kills since boot."},
            {"id": "memory_pressure", "severity": "info", "text": "Some memory pressure."},
        ],
    },
}

FULL_ROW = {
    "host": "web1",
    "status": "ok",
    "reason": None,
    "mem_total": GIB,
    "mem_available": 768 * MIB,
    "available_ratio": 0.75,
    "swap_total": 1536 * MIB,
    "swap_used": 128 * MIB,
    "swap_used_ratio": 0.0833,
    "swap_devices": [
        {"path": "/swapfile", "type": "file", "size": 512 * MIB, "used": 0, "priority": -2},
        {"path": "/dev/zram0", "type": "zram", "size": GIB, "used": 128 * MIB, "priority": 100},
    ],
    "zram": {
        "devices": 1,
        "disksize": GIB,
        "orig_data_size": 120 * MIB,
        "compr_data_size": 40 * MIB,
        "mem_used_total": 44 * MIB,
        "ratio": 3.0,
    },
    "zswap": {"enabled": False, "compressor": "zstd"},
    "thp_enabled": "madvise",
    "psi": {"some_avg10": 1.5, "some_avg60": 0.75, "full_avg10": 0.5, "full_avg60": 0.25},
    "pressure_level": "some",
    "oom_kills": 2,
    "top_units": [
        {"unit": "postgresql.service", "slice": "system.slice", "current": 300 * MIB},
        {"unit": "user-1000.slice", "slice": "user.slice", "current": 100 * MIB},
    ],
    "advice": [
        {"id": "oom_kills", "severity": "warning", "text": "2 OOM kills since boot."},
        {"id": "memory_pressure", "severity": "info", "text": "Some memory pressure."},
    ],
    "kernel": None,
    "systemd_version": 252,
    "unavailable": {"mglru": "/sys/kernel/mm/lru_gen does not exist"},
}


def facts(**sections):
    """FULL with some sections replaced or (value None) removed."""
    memwise = copy.deepcopy(FULL)
    for name, value in sections.items():
        if value is None:
            memwise.pop(name, None)
        else:
            memwise[name] = value
    return memwise


def host(memwise=None, **variables):
    if memwise is not None:
        variables["ansible_facts"] = {"memwise": memwise}
    return variables


def test_registered_under_its_name():
    assert plugin.FilterModule().filters() == {"fleet_summary": fleet_summary}


def test_full_row():
    result = fleet_summary({"web1": host(facts(), memwise_report_status="ok")})
    assert result["hosts"] == [FULL_ROW]
    assert list(result["hosts"][0]) == ["host", "status", "reason", *DATA_FIELDS]


def test_only_meminfo_and_swap_derives_what_it_can():
    memwise = {"gather_subset": ["meminfo", "swap"], "unavailable": {}}
    memwise.update(meminfo=FULL["meminfo"], swap=FULL["swap"])
    row = fleet_summary({"web1": host(memwise)})["hosts"][0]
    assert row == dict(
        dict.fromkeys(FULL_ROW),
        host="web1",
        status="ok",
        mem_total=GIB,
        mem_available=768 * MIB,
        available_ratio=0.75,
        swap_total=1536 * MIB,
        swap_used=128 * MIB,
        swap_used_ratio=0.0833,
        swap_devices=FULL_ROW["swap_devices"],
        unavailable={},
    )


def test_raw_sections_when_the_summary_is_missing():
    row = fleet_summary({"web1": host(facts(summary=None))})["hosts"][0]
    assert row["psi"] == FULL_ROW["psi"]
    assert row["zram"] == FULL_ROW["zram"]  # ratio from orig_data_size / compr_data_size
    assert row["oom_kills"] == 2  # vmstat.oom_kill
    assert row["thp_enabled"] == "madvise"
    assert row["swap_used_ratio"] == 0.0833
    assert row["pressure_level"] is None and row["advice"] is None


@pytest.mark.parametrize(
    ("sections", "field", "expected"),
    [
        ({"psi": None, "summary": None}, "psi", None),
        ({"zswap": None}, "zswap", None),
        ({"swap": {"devices": [], "total": 0, "used": 0, "free": 0}, "summary": None}, "swap_devices", []),
        ({"swap": None, "summary": None}, "swap_used_ratio", None),
        ({"cgroup": {"version": "v1", "top_units": []}}, "top_units", []),
        ({"systemd": {"booted": False, "pid1": "init", "version": None}}, "systemd_version", None),
    ],
)
def test_missing_or_empty_sections(sections, field, expected):
    memwise = facts(**sections)
    row = fleet_summary({"web1": host(memwise)})["hosts"][0]
    assert row[field] == expected


def test_no_zram_devices_without_summary_has_no_ratio():
    memwise = facts(summary=None, zram={"devices": [], "total_disksize": 0, "total_orig_data_size": 0})
    zram = fleet_summary({"web1": host(memwise)})["hosts"][0]["zram"]
    assert zram == {
        "devices": 0,
        "disksize": 0,
        "orig_data_size": 0,
        "compr_data_size": 0,
        "mem_used_total": None,
        "ratio": None,
    }


def test_unconfigured_zram_devices_do_not_count():
    memwise = facts(summary=None)
    memwise["zram"]["devices"].append({"name": "zram1", "disksize": 0, "orig_data_size": 0, "compr_data_size": 0})
    memwise["zram"]["devices"].append({"name": "zram2", "disksize": None, "orig_data_size": None})
    assert fleet_summary({"web1": host(memwise)})["hosts"][0]["zram"] == FULL_ROW["zram"]


def test_top_level_memwise_variable():
    row = fleet_summary({"web1": {"memwise": facts()}})["hosts"][0]
    assert row == FULL_ROW


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"ansible_facts": {"memwise": FULL, "kernel": "6.1.0-28-amd64"}}, "6.1.0-28-amd64"),
        ({"ansible_facts": {"memwise": FULL}, "ansible_kernel": "6.12.48+deb13-amd64"}, "6.12.48+deb13-amd64"),
        ({"ansible_facts": {"memwise": dict(FULL, kernel={"release": "6.1.0-9-amd64"})}}, "6.1.0-9-amd64"),
        ({"ansible_facts": {"memwise": dict(FULL, kernel={"other": 1})}}, None),
    ],
)
def test_kernel(variables, expected):
    assert fleet_summary({"web1": variables})["hosts"][0]["kernel"] == expected


@pytest.mark.parametrize(
    ("variables", "status", "reason"),
    [
        (host(FULL), "ok", None),
        (host(FULL, memwise_report_status="ok"), "ok", None),
        (host(), "no_facts", None),
        (host(memwise_report_status="ok"), "no_facts", None),
        ({"ansible_facts": {"kernel": "6.1.0"}}, "no_facts", None),
        (host(memwise_report_status="unreachable", memwise_report_reason="ssh: connect to host 127.0.0.9 port 1"),
         "unreachable", "ssh: connect to host 127.0.0.9 port 1"),
        (host(FULL, memwise_report_status="unreachable"), "unreachable", None),
        (host(memwise_report_status="failed", memwise_report_reason="interpreter not found"),
         "failed", "interpreter not found"),
    ],
)  # fmt: skip
def test_status(variables, status, reason):
    row = fleet_summary({"web1": variables})["hosts"][0]
    assert (row["status"], row["reason"]) == (status, reason)
    if status != "ok":  # cached facts of a host that is not ok never show as current
        assert all(row[name] is None for name in DATA_FIELDS)


def test_rows_sorted_and_hosts_chosen():
    data = {"web2": host(FULL), "db1": host(FULL), "web1": host(), "ghost": host(memwise_report_status="unreachable")}
    assert [row["host"] for row in fleet_summary(data)["hosts"]] == ["db1", "ghost", "web1", "web2"]
    chosen = fleet_summary(data, ["web2", "ghost", "web2"])
    assert [row["host"] for row in chosen["hosts"]] == ["ghost", "web2"]
    assert fleet_summary(data, []) == {
        "hosts": [],
        "totals": {
            "hosts": 0,
            "ok": 0,
            "unreachable": 0,
            "failed": 0,
            "no_facts": 0,
            "mem_total": 0,
            "mem_available": 0,
            "swap_total": 0,
            "swap_used": 0,
            "oom_kills": 0,
            "advice": {},
            "pressure_levels": {},
        },
    }


def test_totals():
    calm = facts()
    calm["summary"].update(pressure_level="none", oom_kills=0, advice=[FULL["summary"]["advice"][1]])
    no_psi = facts(psi=None)
    no_psi["summary"].update(pressure_level=None, pressure=None, advice=[])
    data = {
        "a": host(facts()),
        "b": host(calm),
        "c": host(no_psi),
        "d": host(memwise_report_status="unreachable"),
        "e": host(memwise_report_status="failed"),
        "f": host(),
    }
    assert fleet_summary(data)["totals"] == {
        "hosts": 6,
        "ok": 3,
        "unreachable": 1,
        "failed": 1,
        "no_facts": 1,
        "mem_total": 3 * GIB,
        "mem_available": 3 * 768 * MIB,
        "swap_total": 3 * 1536 * MIB,
        "swap_used": 3 * 128 * MIB,
        "oom_kills": 4,
        "advice": {"memory_pressure": 2, "oom_kills": 1},
        "pressure_levels": {"none": ["b"], "some": ["a"], "unknown": ["c"]},
    }


def test_advice_counts_hosts_not_items():
    memwise = facts()
    memwise["summary"]["advice"] = [{"id": "no_swap", "severity": "warning", "text": "x"}] * 2
    assert fleet_summary({"a": host(memwise)})["totals"]["advice"] == {"no_swap": 1}


class Tagged(dict):
    """Like Ansible's tagged and lazy dicts: a dict subclass JMESPath does not know by name."""


class TaggedList(list):
    pass


class TaggedStr(str):
    pass


def tag(value):
    if isinstance(value, dict):
        return Tagged((TaggedStr(k), tag(v)) for k, v in value.items())
    if isinstance(value, list):
        return TaggedList(tag(v) for v in value)
    if isinstance(value, str):
        return TaggedStr(value)
    return value


def test_ansible_container_subclasses():
    row = fleet_summary(tag({"web1": host(facts(), memwise_report_status="ok")}))["hosts"][0]
    assert row == FULL_ROW
    assert not isinstance(row["host"], TaggedStr) and not isinstance(row["swap_devices"], TaggedList)


class HostVarsLike(Mapping):
    """A Mapping like ansible's HostVars, whose host variables fail on keys the filter must not read."""

    def __init__(self, hosts):
        self._hosts = hosts

    def __getitem__(self, name):
        return Guarded(self._hosts[name])

    def __iter__(self):
        return iter(self._hosts)

    def __len__(self):
        return len(self._hosts)


class Guarded(Mapping):
    READ = frozenset({"ansible_facts", "memwise", "memwise_report_status", "memwise_report_reason", "ansible_kernel"})

    def __init__(self, variables):
        self._variables = variables

    def __getitem__(self, key):
        assert key in self.READ, "the filter read %s" % key
        return self._variables[key]

    def __iter__(self):
        raise AssertionError("the filter iterated over every variable")

    def __len__(self):
        return len(self._variables)


def test_hostvars_mapping_reads_only_what_it_needs():
    broken = "{{ undefined_variable }}"
    data = HostVarsLike({"web1": host(facts(), secret=broken), "ghost": host(memwise_report_status="unreachable")})
    result = fleet_summary(data)
    assert [row["status"] for row in result["hosts"]] == ["unreachable", "ok"]
    assert result["hosts"][1] == FULL_ROW


@pytest.mark.parametrize("source", fixture_sources("root/proc/meminfo"))
def test_facts_collected_from_captures(source):
    """The filter reads what memory_facts really returns for each captured host."""
    memwise = _facts.collect(list(_facts.SECTIONS), root=os.path.join(FIXTURES, source, "root"))
    row = fleet_summary({source: host(memwise)})["hosts"][0]
    assert row["status"] == "ok"
    assert row["mem_total"] == memwise["meminfo"]["MemTotal"] > 0
    assert row["mem_available"] == memwise["meminfo"]["MemAvailable"]
    assert 0 < row["available_ratio"] <= 1
    assert row["swap_total"] == memwise["swap"]["total"]
    assert len(row["swap_devices"]) == len(memwise["swap"]["devices"])
    assert row["unavailable"] == memwise["unavailable"]
    for name in DATA_FIELDS:
        if name in ("kernel",):
            continue
        section = {"psi": "psi", "zram": "zram", "zswap": "zswap", "top_units": "cgroup"}.get(name)
        if section and memwise.get(section) is not None and name != "top_units":
            assert row[name] is not None, name


@pytest.mark.parametrize(
    ("data", "hosts", "match"),
    [
        (["web1"], None, r"^memwise\.linux\.fleet_summary: the input must be hostvars or a dictionary .* not a list$"),
        ("web1", None, r"the input must be hostvars or a dictionary host -> variables, not a str$"),
        ({"web1": {}}, "web1", r"^memwise\.linux\.fleet_summary: hosts must be a list of host names, not 'web1'$"),
        ({"web1": {}}, {"web1": 1}, r"hosts must be a list of host names, not \{'web1': 1\}$"),
        (
            {"web1": {}},
            ["web2"],
            r"^memwise\.linux\.fleet_summary: host 'web2' is not in the input \(known: 1 hosts\)$",
        ),
        ({"web1": ["x"]}, None, r"the variables of host 'web1' are a list, not a dictionary$"),
        (
            {"web1": {"memwise": "lots"}},
            None,
            r"the memwise facts of host 'web1' are a str, not a dictionary; they come",
        ),
        (
            {"web1": {"ansible_facts": {"memwise": [1]}}},
            None,
            r"the memwise facts of host 'web1' are a list, not a dictionary",
        ),
        (
            {"web1": {"memwise_report_status": "down"}},
            None,
            r"host 'web1' has memwise_report_status 'down'; it must be one of ok, unreachable, failed, no_facts$",
        ),
    ],
)
def test_errors(data, hosts, match):
    with pytest.raises(AnsibleFilterError, match=match):
        fleet_summary(data, hosts)


def test_without_jmespath(monkeypatch):
    monkeypatch.setitem(sys.modules, "jmespath", None)
    with pytest.raises(
        AnsibleFilterError, match=r"^memwise\.linux\.fleet_summary needs the Python library jmespath on the controller"
    ):
        fleet_summary({"web1": host(FULL)})
