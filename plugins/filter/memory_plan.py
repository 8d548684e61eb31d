# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.module_utils import _policy
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

DOCUMENTATION = r"""
---
name: memory_plan
short_description: A host's memory facts, a profile and overrides to a memory plan where every value names its rule
version_added: 0.1.0
author:
  - memwise.linux contributors (@memwise)
description:
  - Computes, on the controller, the memory policy of one host from its C(ansible_facts.memwise)
    (P(memwise.linux.memory_facts#module)) - swap file or zram size and priority, zswap, C(vm.*) sysctls, THP,
    KSM, MGLRU, systemd-oomd settings and per-unit resource control - sized to the host's RAM tier.
  - Every planned value carries the id of the rule that chose it (C(settings.*.rule)); the rule table with its
    sources is in the collection's memory_policy guide.
  - The result's C(modules) holds the arguments of each module the C(memwise.linux.memory_policy) role calls.
  - A bad profile, override, protected or limited unit fails naming every culprit at once.
positional: profile
options:
  _input:
    description: The host's C(ansible_facts.memwise), at least the C(meminfo) section (C(cgroup), C(psi), C(systemd),
      C(swap) and C(mglru) inform the oomd prerequisites and MGLRU).
    type: dict
    required: true
  profile:
    description: V(server), V(database), V(container_host), V(desktop) or V(small_vm).
    type: str
    default: server
  overrides:
    description:
      - Per area (C(swap), C(zram), C(zswap), C(sysctl), C(thp), C(ksm), C(mglru), C(oomd)), settings that replace the
        profile's; their rule is C(override).
    type: dict
    default: {}
  protect:
    description:
      - Units that must survive - C({unit, share, hard}) or a unit name; C(share) (default V(10%)) of RAM becomes
        MemoryLow (MemoryMin with C(hard=true)), plus C(ManagedOOMPreference=avoid) when oomd is in use.
    type: list
    elements: raw
    default: []
  limit:
    description:
      - Units or slices to cap - C({unit, high, max}) or a unit name; C(high) (default V(60%)) becomes MemoryHigh,
        C(max) MemoryMax (only when given - its breach is a kernel OOM kill); a slice also gets C(ManagedOOMSwap=kill).
    type: list
    elements: raw
    default: []
  oomd:
    description: V(required) fails when systemd-oomd cannot work on the host, V(optional) plans it only where it can,
      V(off) plans none.
    type: str
    default: optional
"""

EXAMPLES = r"""
---
- name: Plan the memory policy of this host
  ansible.builtin.set_fact:
    plan: >-
      {{ ansible_facts.memwise | memwise.linux.memory_plan('database',
           overrides={'sysctl': {'vm.swappiness': 5}},
           protect=[{'unit': 'postgresql.service', 'share': '40%'}]) }}

- name: Show which rule chose the swappiness
  ansible.builtin.debug:
    msg: "{{ plan.settings['sysctl.vm.swappiness'] }}"   # {value: 5, rule: override}
"""

RETURN = r"""
---
_value:
  description:
    - C(profile), C(tier) (V(<1G), V(1-4G), V(4-16G), V(16-64G), V(>64G)), C(mem_total), C(ram) (MemTotal rounded up to
      128 MiB), C(oomd) (C(mode), C(enabled), C(missing) prerequisites), C(settings) (C(area.name) -> C({value, rule}))
      and C(modules) (the arguments of sysctl, swap, zram, mm_tunables, the oomd settings and unit_resources; C(null)
      where a module has nothing to do).
  type: dict
"""


def memory_plan(facts, profile="server", *, overrides=None, protect=None, limit=None, oomd="optional"):
    """``ansible_facts.memwise | memory_plan('server', ...)``; see DOCUMENTATION."""
    try:
        return _policy.plan(facts, profile, overrides=overrides, protect=protect, limit=limit, oomd=oomd)
    except MemwiseError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    """memwise.linux.memory_plan."""

    def filters(self):
        return {"memory_plan": memory_plan}
