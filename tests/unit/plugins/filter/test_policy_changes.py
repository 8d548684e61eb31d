# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""policy_changes: registered results of the memory_policy role -> what changed, and one line."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.filter.policy_changes import policy_changes

PLAN = {"profile": "server", "tier": "1-4G", "ram": 1 << 30, "oomd": {"mode": "optional", "missing": []}}
SKIPPED = {"skipped": True, "changed": False, "skip_reason": "Conditional result was False"}


def test_nothing_changed():
    out = policy_changes(PLAN, sysctl={"changed": False, "changed_settings": []}, zram=SKIPPED)
    assert out == {
        "changed": {},
        "changed_modules": [],
        "values": {},
        "layers": {},
        "line": "profile server, tier 1-4G (1 GiB RAM): no change",
    }


def test_values_are_the_first_layer_that_moves():
    sysctl = {
        "changed": True,
        "changed_settings": ["vm.swappiness"],
        "settings": {
            "vm.swappiness": {"live": {"before": "60", "after": "60"}, "file": {"before": None, "after": "60"}},
            "vm.page-cluster": {"live": {"before": "3", "after": "3"}},
        },
    }
    units = {
        "changed": True,
        "results": [
            {
                "item": {"unit": "workload.slice"},
                "changed": True,
                "changed_settings": ["MemoryHigh"],
                "settings": {"MemoryHigh": {"cgroup": {"before": "max", "after": "644245094"}}},
            },
            {"item": {"unit": "web.service"}, "changed": False, "changed_settings": [], "settings": {}},
        ],
    }
    out = policy_changes(PLAN, sysctl=sysctl, unit_resources=units, zram=SKIPPED)
    assert out["values"] == {
        "sysctl": {"vm.swappiness": {"before": None, "after": "60"}},
        "unit_resources": {"workload.slice.MemoryHigh": {"before": "max", "after": "644245094"}},
    }


def test_layers_name_every_layer_that_moves_live_and_persisted():
    sysctl = {
        "changed": True,
        "changed_settings": ["vm.swappiness", "vm.page-cluster"],
        "settings": {
            "vm.swappiness": {"live": {"before": "30", "after": "60"}, "file": {"before": "30", "after": "60"}},
            "vm.page-cluster": {"live": {"before": "3", "after": "3"}, "file": {"before": None, "after": "3"}},
        },
    }
    out = policy_changes(PLAN, sysctl=sysctl, check_mode=True)
    assert out["layers"] == {
        "sysctl": {
            "vm.swappiness": {"live": {"before": "30", "after": "60"}, "file": {"before": "30", "after": "60"}},
            "vm.page-cluster": {"file": {"before": None, "after": "3"}},
        }
    }
    assert out["values"]["sysctl"] == {
        "vm.swappiness": {"before": "30", "after": "60"},
        "vm.page-cluster": {"before": None, "after": "3"},
    }


def test_changes_per_module_in_the_role_order_with_units_named():
    units = {
        "changed": True,
        "results": [
            {"item": {"unit": "system.slice"}, "changed": True, "changed_settings": ["ManagedOOMSwap"]},
            {"item": {"unit": "nginx.service"}, "changed": False, "changed_settings": []},
            {"item": {"unit": "workload.slice"}, "changed": True, "changed_settings": ["MemoryHigh", "ManagedOOMSwap"]},
        ],
    }
    out = policy_changes(
        dict(PLAN, ram=2 << 30),
        unit_resources=units,
        swap={"changed": True, "changed_settings": ["active", "size"]},
        sysctl={"changed": True, "changed_settings": ["vm.swappiness"]},
        oomd={"changed": True},
        check_mode=True,
    )
    assert out["changed_modules"] == ["sysctl", "swap", "oomd", "unit_resources"]
    assert out["changed"]["unit_resources"] == [
        "system.slice.ManagedOOMSwap",
        "workload.slice.MemoryHigh",
        "workload.slice.ManagedOOMSwap",
    ]
    assert out["line"] == (
        "profile server, tier 1-4G (2 GiB RAM): would change sysctl (vm.swappiness); swap (active, size); "
        "oomd ((changed)); unit_resources (system.slice.ManagedOOMSwap, workload.slice.MemoryHigh, "
        "workload.slice.ManagedOOMSwap)"
    )


def test_a_host_without_oomd_says_why():
    plan = dict(PLAN, ram=512 << 20, tier="<1G", oomd={"mode": "optional", "missing": ["systemd as PID 1"]})
    assert policy_changes(plan)["line"] == (
        "profile server, tier <1G (512 MiB RAM): no change; no systemd-oomd: systemd as PID 1"
    )


@pytest.mark.parametrize(
    ("plan", "kwargs", "message"),
    [
        (PLAN, {"swapfile": {}}, r"unknown result\(s\) swapfile"),
        ({"tier": "x"}, {}, r"the input is not a memory plan"),
    ],
)
def test_bad_input(plan, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        policy_changes(plan, **kwargs)
