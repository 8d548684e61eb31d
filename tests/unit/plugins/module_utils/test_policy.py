# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The memory plan: every profile x RAM tier, every override, every bad input.

Facts come from the real Debian 12 and 13 captures (collected with the
module's own collector over the fixture roots); only MemTotal is varied to
place the host in each tier. The expected values are written out by hand from
the rule table in docs/docsite/rst/memory_policy.rst.
"""

from __future__ import annotations

import copy
import os

import pytest

from ansible_collections.memwise.linux.plugins.filter.memory_plan import memory_plan
from ansible_collections.memwise.linux.plugins.module_utils import _facts, _policy
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES

MIB, GIB = 1 << 20, 1 << 30


def _collect(source):
    root = os.path.join(FIXTURES, source, "root")
    return _facts.collect(_facts.resolve_subset(["all"]), root=root)


DEB12, DEB13 = _collect("deb12"), _collect("deb13")

# MemTotal as VMs and machines of each size report it (the kernel keeps some back) -> tier, RAM class.
TIERS = {
    "512M VM": (481_837_056, "<1G", 512 * MIB),
    "1G VM": (1_014_337_536, "1-4G", 1 * GIB),
    "2G VM": (2_062_024_704, "1-4G", 2 * GIB),
    "8G host": (8_221_360_128, "4-16G", 8 * GIB),
    "32G host": (33_546_240_000, "16-64G", 32 * GIB),
    "128G host": (135_089_016_832, ">64G", 128 * GIB),
}
# Hand-written: the swap file each tier gets (server, container_host, small_vm) and a database's (<= 4 GiB).
SWAP = {
    "512M VM": (1 * GIB, 1 * GIB),
    "1G VM": (2 * GIB, 2 * GIB),
    "2G VM": (2 * GIB, 2 * GIB),
    "8G host": (4 * GIB, 4 * GIB),
    "32G host": (8 * GIB, 4 * GIB),
    "128G host": (8 * GIB, 4 * GIB),
}
SYSCTL = {
    "server": {"vm.swappiness": 60},
    "database": {"vm.swappiness": 1},
    "container_host": {"vm.swappiness": 60, "vm.overcommit_memory": 1},
    "desktop": {"vm.swappiness": 100, "vm.page-cluster": 0},
    "small_vm": {"vm.swappiness": 100, "vm.page-cluster": 0},
}
WATERMARK = {"vm.watermark_scale_factor": 100}
DIRTY = {"vm.dirty_background_bytes": 268435456, "vm.dirty_bytes": 1073741824}


def facts_with(mem_total, base=None):
    facts = copy.deepcopy(DEB13 if base is None else base)
    facts["meminfo"]["MemTotal"] = mem_total
    return facts


def expected_sysctl(profile, ram):
    keys = dict(SYSCTL[profile])
    if profile not in ("desktop", "small_vm"):
        if ram >= 4 * GIB:
            keys.update(WATERMARK)
        if ram >= 16 * GIB:
            keys.update(DIRTY)
    return keys


@pytest.mark.parametrize("profile", _policy.PROFILES)
@pytest.mark.parametrize("size", list(TIERS))
def test_every_profile_and_tier(profile, size):
    mem_total, tier, ram = TIERS[size]
    plan = _policy.plan(facts_with(mem_total), profile)
    modules = plan["modules"]
    assert (plan["tier"], plan["ram"], plan["mem_total"], plan["profile"]) == (tier, ram, mem_total, profile)
    assert modules["sysctl"] == {"settings": expected_sysctl(profile, ram)}
    swap_size = SWAP[size][1 if profile == "database" else 0]
    if profile == "desktop":
        assert modules["swap"] is None
    else:
        assert modules["swap"] == {"device": "/swapfile", "size": swap_size, "priority": 10}
    if profile == "desktop":
        assert modules["zram"] == {"size": "100%", "max_size": 8 * GIB, "algorithm": "zstd", "priority": 100}
    elif profile == "small_vm":
        assert modules["zram"] == {"size": "50%", "max_size": 4 * GIB, "algorithm": "zstd", "priority": 100}
    else:
        assert modules["zram"] is None
    thp = "never" if profile == "database" else "madvise"
    zswap = (
        {"enabled": False}
        if profile in ("desktop", "small_vm")
        else {"enabled": True, "compressor": "zstd", "zpool": "zsmalloc", "max_pool_percent": 20}
    )
    assert modules["mm_tunables"] == {
        "thp": {"enabled": thp, "defrag": thp},
        "ksm": {"run": "stop"},
        "zswap": zswap,
        "mglru": {"enabled": True, "min_ttl_ms": 0},
    }
    assert modules["oomd"] == {
        "SwapUsedLimit": "80%",
        "DefaultMemoryPressureLimit": "60%",
        "DefaultMemoryPressureDurationSec": "20s",
    }
    user = {"ManagedOOMSwap": "kill"}
    if profile == "desktop":
        user.update({"ManagedOOMMemoryPressure": "kill", "ManagedOOMMemoryPressureLimit": "50%"})
    assert modules["unit_resources"] == [
        {"unit": "system.slice", "properties": {"ManagedOOMSwap": "kill"}},
        {"unit": "user.slice", "properties": user},
    ]


@pytest.mark.parametrize("profile", _policy.PROFILES)
def test_every_value_names_a_documented_rule(profile):
    plan = _policy.plan(facts_with(TIERS["32G host"][0]), profile, protect=["a.service"], limit=["w.slice"])
    docs = open(os.path.join(os.path.dirname(FIXTURES), "..", "..", "docs", "docsite", "rst", "memory_policy.rst"))
    with docs:
        text = docs.read()
    for name, value in plan["settings"].items():
        assert set(value) == {"value", "rule"}, name
        assert value["rule"] in _policy.RULES, name
        assert "``%s``" % value["rule"] in text, "rule %s is not in the memory_policy guide" % value["rule"]


def test_the_settings_name_every_module_value():
    plan = _policy.plan(facts_with(TIERS["1G VM"][0]), "small_vm", protect=["nginx.service"])
    settings = plan["settings"]
    assert settings["swap.size"] == {"value": 2 * GIB, "rule": "swap-table"}
    assert settings["zram.max_size"] == {"value": 4 * GIB, "rule": "zram-generator"}
    assert settings["sysctl.vm.page-cluster"] == {"value": 0, "rule": "page-cluster-zram"}
    assert settings["zswap.enabled"] == {"value": False, "rule": "zswap-off"}
    assert settings["units.nginx.service.MemoryLow"] == {"value": "10%", "rule": "protect-low"}
    assert settings["units.nginx.service.ManagedOOMPreference"] == {"value": "avoid", "rule": "protect-avoid"}
    assert settings["oomd.SwapUsedLimit"] == {"value": "80%", "rule": "oomd-swap-limit"}


def test_protect_and_limit():
    plan = _policy.plan(
        facts_with(TIERS["1G VM"][0]),
        "server",
        protect=["web.service", {"unit": "db.service", "share": "30%", "hard": True}],
        limit=["workload.slice", {"unit": "batch.service", "high": "40%", "max": "50%"}],
    )
    assert plan["modules"]["unit_resources"] == [
        {"unit": "batch.service", "properties": {"MemoryHigh": "40%", "MemoryMax": "50%"}},
        {"unit": "db.service", "properties": {"MemoryMin": "30%", "ManagedOOMPreference": "avoid"}},
        {"unit": "system.slice", "properties": {"ManagedOOMSwap": "kill"}},
        {"unit": "user.slice", "properties": {"ManagedOOMSwap": "kill"}},
        {"unit": "web.service", "properties": {"MemoryLow": "10%", "ManagedOOMPreference": "avoid"}},
        {"unit": "workload.slice", "properties": {"MemoryHigh": "60%", "ManagedOOMSwap": "kill"}},
    ]
    assert plan["settings"]["units.batch.service.MemoryMax"]["rule"] == "limit-max"


def test_oomd_off_plans_no_oomd_settings():
    plan = _policy.plan(facts_with(TIERS["1G VM"][0]), "server", protect=["web.service"], oomd="off")
    assert plan["oomd"] == {"mode": "off", "enabled": False, "missing": []}
    assert plan["modules"]["oomd"] is None
    assert plan["modules"]["unit_resources"] == [{"unit": "web.service", "properties": {"MemoryLow": "10%"}}]


def _without(facts, **changes):
    facts = copy.deepcopy(facts)
    for path, value in changes.items():
        section, key = path.split("__")
        facts[section][key] = value
    return facts


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        (
            {"cgroup__version": "v1"},
            "unified cgroup v2 (this host has v1; boot with systemd.unified_cgroup_hierarchy=1)",
        ),
        ({"cgroup__controllers": ["cpu", "io", "pids"]}, "the cgroup v2 memory controller (memory accounting)"),
        ({"psi__memory": None}, "pressure stall information (/proc/pressure/memory; boot with psi=1, CONFIG_PSI)"),
        ({"systemd__booted": False}, "systemd as PID 1"),
        ({"systemd__version": 247}, "systemd 248 or newer (this host has 247)"),
    ],
)
def test_oomd_prerequisites(changes, missing):
    facts = _without(facts_with(TIERS["1G VM"][0], DEB12), **changes)
    optional = _policy.plan(facts, "server", protect=["web.service"])
    assert optional["oomd"] == {"mode": "optional", "enabled": False, "missing": [missing]}
    assert optional["modules"]["oomd"] is None
    assert optional["modules"]["unit_resources"] == [{"unit": "web.service", "properties": {"MemoryLow": "10%"}}]
    with pytest.raises(
        MemwiseError, match=r"memory_policy_oomd: required, but systemd-oomd cannot work on this host: "
    ):
        _policy.plan(facts, "server", oomd="required")


def test_oomd_needs_swap_that_the_plan_or_the_host_has():
    facts = _without(facts_with(TIERS["1G VM"][0]), swap__total=0)
    overrides = {"swap": {"enabled": False}}
    with pytest.raises(MemwiseError, match=r"swap, which swap-based kills need \(the plan adds none"):
        _policy.plan(facts, "server", overrides=overrides, oomd="required")
    assert _policy.plan(facts_with(TIERS["1G VM"][0]), "server", overrides=overrides)["oomd"]["enabled"] is True


def test_a_kernel_without_mglru_gets_no_mglru_settings():
    facts = facts_with(TIERS["1G VM"][0])
    facts["mglru"] = None
    plan = _policy.plan(facts, "server")
    assert "mglru" not in plan["modules"]["mm_tunables"]
    assert plan["settings"]["mglru.enabled"] == {"value": None, "rule": "mglru-missing"}


@pytest.mark.parametrize(
    ("overrides", "setting", "module", "expected"),
    [
        ({"swap": {"size": "3G"}}, "swap.size", ("swap", "size"), 3 * GIB),
        ({"swap": {"device": "/var/swap"}}, "swap.device", ("swap", "device"), "/var/swap"),
        ({"swap": {"priority": 5}}, "swap.priority", ("swap", "priority"), 5),
        ({"zram": {"enabled": True, "size": "25%"}}, "zram.size", ("zram", "size"), "25%"),
        ({"zram": {"algorithm": "lz4"}}, "zram.algorithm", ("zram", "algorithm"), "lz4"),
        ({"zram": {"max_size": "2G"}}, "zram.max_size", ("zram", "max_size"), 2 * GIB),
        ({"zram": {"priority": 50}}, "zram.priority", ("zram", "priority"), 50),
        ({"zswap": {"max_pool_percent": 10}}, "zswap.max_pool_percent", ("mm_tunables", "zswap"), None),
        ({"zswap": {"compressor": "lz4"}}, "zswap.compressor", ("mm_tunables", "zswap"), None),
        ({"zswap": {"zpool": "zbud"}}, "zswap.zpool", ("mm_tunables", "zswap"), None),
        ({"sysctl": {"vm.swappiness": 10}}, "sysctl.vm.swappiness", ("sysctl", "settings"), None),
        ({"sysctl": {"vm.vfs_cache_pressure": 50}}, "sysctl.vm.vfs_cache_pressure", ("sysctl", "settings"), None),
        ({"thp": {"enabled": "never"}}, "thp.enabled", ("mm_tunables", "thp"), None),
        ({"thp": {"defrag": "defer"}}, "thp.defrag", ("mm_tunables", "thp"), None),
        ({"ksm": {"run": "run"}}, "ksm.run", ("mm_tunables", "ksm"), None),
        ({"mglru": {"min_ttl_ms": 1000}}, "mglru.min_ttl_ms", ("mm_tunables", "mglru"), None),
        ({"mglru": {"enabled": False}}, "mglru.enabled", ("mm_tunables", "mglru"), None),
        ({"oomd": {"SwapUsedLimit": "70%"}}, "oomd.SwapUsedLimit", ("oomd", "SwapUsedLimit"), "70%"),
        ({"oomd": {"DefaultMemoryPressureLimit": "50%"}}, "oomd.DefaultMemoryPressureLimit", None, None),
        ({"oomd": {"DefaultMemoryPressureDurationSec": "30s"}}, "oomd.DefaultMemoryPressureDurationSec", None, None),
    ],
)
def test_every_override(overrides, setting, module, expected):
    plan = _policy.plan(facts_with(TIERS["1G VM"][0]), "small_vm", overrides=overrides)
    settings = next(iter(overrides.values()))
    key, value = next(iter(settings.items()))
    given = expected if expected is not None else value
    assert plan["settings"][setting] == {"value": given, "rule": "override"}
    if module and module[0] in ("swap", "zram", "oomd"):
        assert plan["modules"][module[0]][module[1]] == given
    elif module:
        assert plan["modules"][module[0]][module[1]][key] == given


def test_overriding_swap_off_and_zram_off():
    plan = _policy.plan(
        facts_with(TIERS["1G VM"][0]), "small_vm", overrides={"swap": {"enabled": False}, "zram": {"enabled": False}}
    )
    assert (plan["modules"]["swap"], plan["modules"]["zram"]) == (None, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"profile": "webserver"}, r"memory_policy_profile: 'webserver': no such profile; choose one of server, "),
        ({"oomd": "maybe"}, r"memory_policy_oomd: 'maybe': choose one of required, optional, off"),
        ({"overrides": {"swapfile": {}}}, r"memory_policy_overrides.swapfile: no such area; the areas are swap, "),
        ({"overrides": {"swap": {"sise": "2G"}}}, r"memory_policy_overrides.swap.sise: no such setting; swap has "),
        ({"overrides": {"swap": {"size": "2X"}}}, r"memory_policy_overrides.swap.size: .*2X"),
        ({"overrides": {"swap": {"enabled": "yes"}}}, r"memory_policy_overrides.swap.enabled: 'yes': give true or"),
        ({"overrides": {"swap": {"priority": "10"}}}, r"memory_policy_overrides.swap.priority: '10': give an int"),
        ({"overrides": {"swap": "off"}}, r"memory_policy_overrides.swap: give a dict of settings"),
        ({"overrides": ["swap"]}, r"memory_policy_overrides: give a dict of areas"),
        ({"overrides": {"thp": {"enabled": "sometimes"}}}, r"thp.enabled: 'sometimes': choose one of always, madv"),
        ({"overrides": {"oomd": {"SwapUsedLimit": "120%"}}}, r"oomd.SwapUsedLimit: '120%': give a percentage from"),
        ({"overrides": {"oomd": {"DefaultMemoryPressureDurationSec": "soon"}}}, r"give a duration such as 20s"),
        ({"overrides": {"sysctl": {"swappiness": 10}}}, r"sysctl.swappiness: 10: give a sysctl key"),
        ({"overrides": {"sysctl": {"vm.swappiness": True}}}, r"sysctl.vm.swappiness: True: give a sysctl key"),
        ({"overrides": {"zram": {"algorithm": ""}}}, r"zram.algorithm: '': give a non-empty string"),
        ({"overrides": {"sysctl": {"vm.swappiness": 500}}}, r"sysctl.vm.swappiness: 500: 500 is outside 0..200"),
        ({"overrides": {"sysctl": {"vm.dirty_ratio": "lots"}}}, r"sysctl.vm.dirty_ratio: 'lots': takes 1 integer"),
        ({"overrides": {"sysctl": {"vm..swappiness": 1}}}, r"sysctl.vm..swappiness: 1: .*empty or relative"),
        ({"overrides": {"zswap": {"max_pool_percent": 150}}}, r"zswap.max_pool_percent: 150 is outside 0..100"),
        ({"overrides": {"swap": {"priority": 40000}}}, r"swap.priority: 40000 is outside -1..32767"),
        ({"overrides": {"zram": {"priority": -5}}}, r"zram.priority: -5 is outside -1..32767"),
        ({"protect": "nginx.service"}, r"memory_policy_protect: give a list of \{unit: ...\} entries"),
        ({"protect": ["nginx"]}, r"memory_policy_protect\[1\]: unit 'nginx' is not a systemd service, slice or"),
        ({"protect": ["../etc.service"]}, r"memory_policy_protect\[1\]: unit '../etc.service' is not a systemd"),
        ({"protect": ["a.service; rm -rf /.service"]}, r"memory_policy_protect\[1\]: unit 'a.service; rm"),
        ({"protect": [{"unit": "a.service", "share": "95%"}]}, r"share: '95%': give a percentage from 1% to 90%"),
        ({"protect": [{"unit": "a.service", "hard": "yes"}]}, r"memory_policy_protect\[1\]: hard: 'yes': give true"),
        ({"protect": [{"unit": "a.service", "shares": "5%"}]}, r"unknown key\(s\) shares; the keys are unit, share"),
        ({"protect": [{"name": "a.service"}]}, r"memory_policy_protect\[1\]: \{'name': 'a.service'\}: give \{unit:"),
        ({"protect": ["a.service", "a.service"]}, r"memory_policy_protect\[2\]: unit a.service is listed twice"),
        ({"limit": [{"unit": "w.slice", "high": "lots"}]}, r"memory_policy_limit\[1\]: high: 'lots': give a perc"),
        ({"protect": ["a.service"], "limit": ["a.service"]}, r"a.service: both protected and limited; pick one"),
    ],
)
def test_bad_input_names_the_culprit(kwargs, message):
    kwargs = dict(kwargs)
    profile = kwargs.pop("profile", "server")
    with pytest.raises(MemwiseError, match=r"^invalid memory policy, nothing changed: .*" + message):
        _policy.plan(facts_with(TIERS["1G VM"][0]), profile, **kwargs)


def test_every_problem_is_named_at_once():
    with pytest.raises(MemwiseError) as caught:
        _policy.plan(facts_with(TIERS["1G VM"][0]), "webserver", oomd="maybe", protect=["nginx"])
    text = str(caught.value)
    assert "memory_policy_profile: 'webserver'" in text
    assert "memory_policy_oomd: 'maybe'" in text
    assert "memory_policy_protect[1]: unit 'nginx'" in text


def test_facts_without_meminfo_are_refused():
    with pytest.raises(MemwiseError, match=r"facts: no meminfo.MemTotal; gather memwise.linux.memory_facts"):
        _policy.plan({"meminfo": None}, "server")


def test_the_filter_raises_ansible_filter_errors():
    from ansible.errors import AnsibleFilterError

    assert memory_plan(facts_with(TIERS["2G VM"][0]), "database")["modules"]["sysctl"] == {
        "settings": {"vm.swappiness": 1}
    }
    with pytest.raises(AnsibleFilterError, match=r"memory_policy_profile: 'x'"):
        memory_plan(facts_with(TIERS["2G VM"][0]), "x")


def test_deb12_and_deb13_captures_plan_alike_for_the_same_ram():
    twelve = _policy.plan(facts_with(TIERS["1G VM"][0], DEB12), "server")
    thirteen = _policy.plan(facts_with(TIERS["1G VM"][0], DEB13), "server")
    assert twelve["modules"] == thirteen["modules"]
    assert twelve["oomd"]["enabled"] and thirteen["oomd"]["enabled"]


def test_zswap_fits_the_kernel_and_off_sends_only_what_was_asked():
    facts = facts_with(TIERS["1G VM"][0])
    facts["zswap"] = {key: value for key, value in facts["zswap"].items() if key != "zpool"}
    plan = _policy.plan(facts, "server")
    assert plan["settings"]["zswap.zpool"] == {"value": None, "rule": "zswap-no-zpool"}
    assert plan["modules"]["mm_tunables"]["zswap"] == {"enabled": True, "compressor": "zstd", "max_pool_percent": 20}

    off = _policy.plan(facts_with(TIERS["1G VM"][0]), "server", overrides={"zswap": {"enabled": False}})
    assert off["modules"]["mm_tunables"]["zswap"] == {"enabled": False}
    off = _policy.plan(
        facts_with(TIERS["1G VM"][0]), "server", overrides={"zswap": {"enabled": False, "max_pool_percent": 10}}
    )
    assert off["modules"]["mm_tunables"]["zswap"] == {"enabled": False, "max_pool_percent": 10}

    facts["zswap"] = None
    plan = _policy.plan(facts, "server")
    assert plan["settings"]["zswap.enabled"] == {"value": None, "rule": "zswap-missing"}
    assert plan["modules"]["mm_tunables"]["zswap"] is None
