# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Mapping

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.filter import fleet_summary as plugin
from ansible_collections.memwise.linux.plugins.filter import policy_changes as policy_changes_module
from ansible_collections.memwise.linux.plugins.filter.fleet_summary import FIELDS, fleet_summary
from ansible_collections.memwise.linux.plugins.filter.memory_plan import memory_plan
from ansible_collections.memwise.linux.plugins.filter.policy_changes import policy_changes
from ansible_collections.memwise.linux.plugins.module_utils import _facts, _module
from ansible_collections.memwise.linux.plugins.module_utils._sizes import to_bytes

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
    "policy": None,
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
    assert list(result["hosts"][0]) == ["host", "status", "reason", *DATA_FIELDS, "policy"]


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
            "policy_hosts": 0,
            "policy_changed": 0,
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
        "policy_hosts": 0,
        "policy_changed": 0,
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
    READ = frozenset(
        {
            "ansible_facts",
            "memwise",
            "memwise_report_status",
            "memwise_report_reason",
            "ansible_kernel",
            "memory_policy_plan",
            "memory_policy_changes",
        }
    )

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


# The policy section: plans from the real memory_plan filter over the captured Debian 12 and 13
# facts, and what changed from the real policy_changes filter over module results in each module's
# documented RETURN shape (settings: name -> layer -> before/after; changed_settings from the
# collection's own helper), with the "before" values read from the same captured facts.
KSM_RUN = {0: "stop", 1: "run", 2: "unmerge"}


def captured(source):
    return _facts.collect(_facts.resolve_subset(["all"]), root=os.path.join(FIXTURES, source, "root"))


def captured_sysctl(source, key):
    """The captured /proc/sys value of ``key`` (vm.swappiness), None when the capture lacks it."""
    path = os.path.join(FIXTURES, source, "root", "proc", "sys", *key.split("."))
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def _result(settings):
    """A module result as the apply modules return it: settings, changed_settings, changed."""
    changed = _module.changed_settings(settings)
    return {"changed": bool(changed), "changed_settings": changed, "settings": settings}


def _live(before, after):
    return {"live": {"before": before, "after": after}}


def module_results(source, memwise, plan):
    """The registered results of the role's module tasks for ``plan`` on the captured host ``source`` whose
    facts are ``memwise`` (what check mode predicts: each planned value against the captured one)."""
    args = plan["modules"]
    results = {"zram": {"skipped": True, "changed": False}, "oomd": {"skipped": True, "changed": False}}
    if args["sysctl"] is not None:
        results["sysctl"] = _result(
            {key: _live(captured_sysctl(source, key), str(value)) for key, value in args["sysctl"]["settings"].items()}
        )
    if args["swap"] is not None:
        device = next((d for d in memwise["swap"]["devices"] if d["path"] == args["swap"]["device"]), {})
        size = args["swap"]["size"]
        results["swap"] = _result(
            {
                "active": _live(bool(device), True),
                "size": _live(device.get("size"), size - 4096),  # /proc/swaps leaves out the header page
                "used": _live(device.get("used"), 0),
                "priority": _live(device.get("priority"), args["swap"]["priority"]),
                "device_size": _live(device.get("size", -4096) + 4096 if device else None, size),
            }
        )
    if args["zram"] is not None:  # zram0 of N% of MemTotal up to max_size, in pages
        zram = args["zram"]
        device = next((d for d in (memwise.get("zram") or {}).get("devices", []) if d["name"] == "zram0"), {})
        size = min(to_bytes(zram["size"], total=memwise["meminfo"]["MemTotal"]), zram["max_size"])
        results["zram"] = _result(
            {
                "zram0.disksize": _live(device.get("disksize"), -(-size // 4096) * 4096),
                "zram0.algorithm": _live(device.get("algorithm"), zram["algorithm"]),
                "zram0.priority": _live(device.get("priority"), zram["priority"]),
                "zram0.active": _live(bool(device.get("active")), True),
            }
        )
    mm = args["mm_tunables"]
    yes_no = {True: "Y", False: "N"}
    settings = {"thp.%s" % k: _live(memwise["thp"][k], v) for k, v in mm["thp"].items()}
    settings.update(
        {
            "zswap.%s" % k: _live(yes_no.get(memwise["zswap"][k], memwise["zswap"][k]), yes_no.get(v, v))
            for k, v in mm["zswap"].items()
        }
    )
    settings["ksm.run"] = _live(KSM_RUN[memwise["ksm"]["run"]], mm["ksm"]["run"])
    if "mglru" in mm:
        settings["mglru.min_ttl_ms"] = _live(memwise["mglru"]["min_ttl_ms"], mm["mglru"]["min_ttl_ms"])
    results["mm_tunables"] = _result(settings)
    if args["oomd"] is not None:  # a host without the collection's oomd.conf.d drop-in yet
        results["oomd"] = _result({key: {"file": {"before": None, "after": v}} for key, v in args["oomd"].items()})
    items = []
    for entry in args["unit_resources"]:  # unset on a stock Debian: ManagedOOM* auto, Memory* infinity or 0
        unset = {"MemoryHigh": "infinity", "MemoryMax": "infinity", "MemoryLow": 0, "MemoryMin": 0}
        item = _result({prop: _live(unset.get(prop, "auto"), value) for prop, value in entry["properties"].items()})
        items.append(dict(item, item=entry))
    results["unit_resources"] = {"changed": any(i["changed"] for i in items), "results": items}
    return results


def policy_vars(source, profile, check_mode=False, **options):
    """memory_policy_plan and memory_policy_changes of a host, as the memory_policy role sets them."""
    memwise = captured(source)
    plan = memory_plan(memwise, profile, **options)
    changes = policy_changes(plan, check_mode=check_mode, **module_results(source, memwise, plan))
    return {"memory_policy_plan": plan, "memory_policy_changes": changes}


def test_policy_section_from_a_real_plan_and_changes():
    variables = policy_vars("deb13", "server", limit=[{"unit": "workload.slice", "high": "60%"}])
    plan, changes = variables["memory_policy_plan"], variables["memory_policy_changes"]
    result = fleet_summary({"vm1": dict(host(captured("deb13")), **variables)})
    policy = result["hosts"][0]["policy"]
    assert {k: policy[k] for k in ("profile", "tier", "ram", "mem_total", "check_mode", "oomd")} == {
        "profile": "server",
        "tier": plan["tier"],
        "ram": plan["ram"],
        "mem_total": captured("deb13")["meminfo"]["MemTotal"],
        "check_mode": False,
        "oomd": {"mode": "optional", "enabled": True, "missing": []},
    }
    # Every planned setting, in the plan's order, with its value and rule.
    assert list(policy["settings"]) == list(plan["settings"])
    for name, entry in plan["settings"].items():
        assert (policy["settings"][name]["value"], policy["settings"][name]["rule"]) == (entry["value"], entry["rule"])
    # The deb13 capture: a 256 MiB /swapfile at priority 5, THP always, zswap lzo, swappiness 60.
    changed = sorted(name for name, entry in policy["settings"].items() if entry["changed"])
    assert changed == [
        "oomd.DefaultMemoryPressureDurationSec",
        "oomd.DefaultMemoryPressureLimit",
        "oomd.SwapUsedLimit",
        "swap.priority",
        "swap.size",
        "thp.enabled",
        "units.system.slice.ManagedOOMSwap",
        "units.user.slice.ManagedOOMSwap",
        "units.workload.slice.ManagedOOMSwap",
        "units.workload.slice.MemoryHigh",
        "zswap.compressor",
    ]
    assert policy["settings"]["sysctl.vm.swappiness"]["changed"] is False
    assert policy["settings"]["thp.defrag"]["changed"] is False
    # What the modules named that is no plan setting: the swap file's use.
    assert policy["other_changes"] == {"swap": ["used"]}
    assert policy["changed"] == changes["changed"]
    assert policy["changes"] == len(changed) + 1  # swap's device_size is swap.size again
    assert policy["line"] == changes["line"] and policy["line"].startswith("profile server, tier 1-4G")
    # policy_changes carries each changed setting's values: unchanged settings have none.
    assert all(
        entry["before"] is None and entry["after"] is None
        for entry in policy["settings"].values()
        if not entry["changed"]
    )
    assert policy["settings"]["thp.enabled"]["before"] == "always"
    assert policy["settings"]["thp.enabled"]["after"] == "madvise"
    assert (result["totals"]["policy_hosts"], result["totals"]["policy_changed"]) == (1, 1)


def test_policy_section_in_check_mode_and_of_a_zram_profile():
    variables = policy_vars("deb12", "small_vm", check_mode=True)
    policy = fleet_summary({"vm1": dict(host(captured("deb12")), **variables)}, check_mode=True)["hosts"][0]["policy"]
    assert policy["check_mode"] is True
    assert "would change" in policy["line"]
    # The deb12 capture: swappiness 60, a 256 MiB zram0 (zstd, priority 100) of a 1 GiB VM.
    assert policy["settings"]["sysctl.vm.swappiness"] == {
        "value": 100,
        "rule": "swappiness-zram",
        "changed": True,
        "before": "60",
        "after": "100",
    }
    assert policy["settings"]["zram.size"] == {
        "value": "50%",
        "rule": "zram-generator",
        "changed": True,  # from zram0.disksize: 256 MiB -> half of the VM's MemTotal
        "before": 268435456,
        "after": 503676928,
    }
    assert policy["settings"]["zram.algorithm"]["changed"] is False
    assert policy["settings"]["zram.priority"]["changed"] is False
    assert policy["changed"]["zram"] == ["zram0.disksize"]


def test_nothing_changed_counts_as_a_policy_host_without_changes():
    memwise = captured("deb13")
    plan = memory_plan(memwise, "server")
    unchanged = {name: {"changed": False, "changed_settings": []} for name in policy_changes_module.ORDER}
    variables = {"memory_policy_plan": plan, "memory_policy_changes": policy_changes(plan, **unchanged)}
    result = fleet_summary({"vm1": dict(host(memwise), **variables), "vm2": host(memwise)})
    policy = result["hosts"][0]["policy"]
    assert (policy["changed"], policy["other_changes"], policy["changes"]) == ({}, {}, 0)
    assert policy["line"].endswith(": no change")
    assert not any(entry["changed"] for entry in policy["settings"].values())
    assert result["hosts"][1]["policy"] is None
    assert (result["totals"]["policy_hosts"], result["totals"]["policy_changed"]) == (1, 0)


def test_a_plan_without_changes_is_not_applied():
    """The role failed after it planned (e.g. a module task failed): the changes are unknown, not none."""
    memwise = captured("deb13")
    variables = {"memory_policy_plan": memory_plan(memwise, "database")}
    policy = fleet_summary({"db1": dict(host(memwise), **variables)})["hosts"][0]["policy"]
    assert (policy["changed"], policy["other_changes"], policy["changes"], policy["line"]) == (None, None, None, None)
    assert {entry["changed"] for entry in policy["settings"].values()} == {None}
    assert policy["settings"]["thp.enabled"]["value"] == "never"


def test_the_policy_of_an_unreachable_host_still_shows():
    """The plan and changes are this run's (set_fact), not stale facts: they stay when gathering failed after."""
    variables = policy_vars("deb13", "server")
    row = fleet_summary({"vm1": dict(memwise_report_status="unreachable", **variables)})["hosts"][0]
    assert row["status"] == "unreachable" and row["mem_total"] is None
    assert row["policy"]["profile"] == "server" and row["policy"]["changes"] > 0


def test_before_and_after_when_the_changes_carry_values():
    """memory_policy_changes with values (module -> setting -> {before, after}) fills before/after."""
    variables = policy_vars("deb13", "server")
    results = module_results("deb13", captured("deb13"), variables["memory_policy_plan"])
    values = {
        module: {
            name: next(iter(layer for layer in result["settings"][name].values() if layer["before"] != layer["after"]))
            for name in result["changed_settings"]
        }
        for module, result in results.items()
        if result.get("changed_settings")
    }
    variables["memory_policy_changes"] = dict(variables["memory_policy_changes"], values=values)
    settings = fleet_summary({"vm1": variables})["hosts"][0]["policy"]["settings"]
    assert settings["thp.enabled"] == {
        "value": "madvise",
        "rule": "thp-madvise",
        "changed": True,
        "before": "always",
        "after": "madvise",
    }
    # swap.size is named twice (size, device_size): the first gives the values.
    assert (settings["swap.size"]["before"], settings["swap.size"]["after"]) == (268431360, (2 << 30) - 4096)
    assert (settings["oomd.SwapUsedLimit"]["before"], settings["oomd.SwapUsedLimit"]["after"]) == (None, "80%")


def test_policy_from_ansible_containers():
    variables = policy_vars("deb13", "desktop")
    row = fleet_summary(tag({"pc1": dict(host(captured("deb13")), **variables)}))["hosts"][0]
    assert row["policy"]["settings"]["units.user.slice.ManagedOOMMemoryPressureLimit"]["value"] == "50%"
    assert not isinstance(row["policy"]["profile"], TaggedStr)


@pytest.mark.parametrize(
    ("variables", "match"),
    [
        ({"memory_policy_plan": "server"}, r"^memwise\.linux\.fleet_summary: host 'web1': memory_policy_plan is not a"
         r" memory plan \(no profile or settings\); it is set by the memwise\.linux\.memory_policy role"),
        ({"memory_policy_plan": {"profile": "server", "settings": {"swap.size": 1}}},
         r"host 'web1': memory_policy_plan setting 'swap\.size' is not \{value, rule\}"),
        ({"memory_policy_plan": {"profile": "server", "settings": {}}, "memory_policy_changes": {"line": "x"}},
         r"host 'web1': memory_policy_changes has no changed \(module -> list of settings\)"),
        ({"memory_policy_plan": {"profile": "server", "settings": {}},
          "memory_policy_changes": {"changed": {"sysctl": "vm.swappiness"}}},
         r"memory_policy_changes has no changed"),
    ],
)  # fmt: skip
def test_policy_errors(variables, match):
    with pytest.raises(AnsibleFilterError, match=match):
        fleet_summary({"web1": variables})


def test_check_mode_must_be_a_boolean():
    with pytest.raises(AnsibleFilterError, match=r"^memwise\.linux\.fleet_summary: check_mode must be true or false"):
        fleet_summary({"web1": {}}, check_mode="yes")


@pytest.mark.parametrize("name", ["DOCUMENTATION", "EXAMPLES", "RETURN"])
def test_docs_are_yaml(name):
    """ansible-doc and ansible-lint read these; a stray ': ' in a description breaks them."""
    assert isinstance(yaml.safe_load(getattr(plugin, name)), list if name == "EXAMPLES" else dict)


def test_hosts_that_failed_in_an_earlier_play():
    """apply_policy: the role failed on a host, which then ran none of gather's tasks; it is failed, not ok."""
    memwise = captured("deb13")  # gathered by the role before it failed: pre-policy facts, not shown
    variables = {"memory_policy_plan": memory_plan(memwise, "server"), "ansible_facts": {"memwise": memwise}}
    data = {"vm1": variables, "vm2": host(memwise, memwise_report_status="unreachable"), "vm3": host(memwise)}
    result = fleet_summary(data, failed_hosts=["vm1", "vm2"])
    vm1, vm2, vm3 = result["hosts"]
    assert (vm1["status"], vm1["reason"]) == ("failed", plugin.EARLIER_FAILURE)
    assert all(vm1[name] is None for name in DATA_FIELDS)
    assert vm1["policy"]["profile"] == "server" and vm1["policy"]["changes"] is None
    assert vm2["status"] == "unreachable"  # what gather recorded wins
    assert vm3["status"] == "ok"
    assert (result["totals"]["failed"], result["totals"]["policy_hosts"]) == (1, 1)


def test_failed_hosts_must_be_a_list():
    with pytest.raises(
        AnsibleFilterError, match=r"^memwise\.linux\.fleet_summary: failed_hosts must be a list of host"
    ):
        fleet_summary({"web1": {}}, failed_hosts="web1")
