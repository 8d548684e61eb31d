# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
---
name: policy_changes
short_description: What the memory policy changed on a host, per module, and one line that says it
version_added: 0.1.0
author:
  - memwise.linux contributors (@memwise)
description:
  - Used by the C(memwise.linux.memory_policy) role after it applied a plan; keeps the summary's logic out of Jinja.
  - Reads the registered results of the role's module tasks (a skipped task changed nothing; a loop's items are
    read one by one) and names, per module, the settings that changed (C(changed_settings) of each result).
positional: ''
options:
  _input:
    description: The plan (P(memwise.linux.memory_plan#filter)).
    type: dict
    required: true
  sysctl:
    description: The registered result of M(memwise.linux.sysctl).
    type: dict
  swap:
    description: The registered result of M(memwise.linux.swap).
    type: dict
  zram:
    description: The registered result of M(memwise.linux.zram).
    type: dict
  mm_tunables:
    description: The registered result of M(memwise.linux.mm_tunables).
    type: dict
  oomd:
    description: The registered result of M(memwise.linux.oomd).
    type: dict
  unit_resources:
    description: The registered result of the M(memwise.linux.unit_resources) loop.
    type: dict
  check_mode:
    description: Say "would change" instead of "changed".
    type: bool
    default: false
"""

EXAMPLES = r"""
---
- name: One line per host
  ansible.builtin.debug:
    msg: "{{ (memory_policy_plan | memwise.linux.policy_changes(sysctl=r_sysctl, swap=r_swap)).line }}"
"""

RETURN = r"""
---
_value:
  description:
    - C(changed) (module -> list of changed settings; a unit's are named C(UNIT.Property)), C(changed_modules)
      (in the order the role applies them), C(values) (module -> changed setting -> C(before) and C(after) of
      the first of its layers that moves, C(live), C(file) or C(cgroup), as the module reported them),
      C(layers) (module -> changed setting -> every layer that moves -> C(before) and C(after); in check mode
      C(before) is what the host has live and persisted, C(after) what the plan wants, which is the audit's drift) and
      C(line) (profile, RAM tier and RAM, what changed).
  type: dict
"""

ORDER = ("sysctl", "swap", "zram", "mm_tunables", "oomd", "unit_resources")


def _changed_settings(result):
    if not isinstance(result, dict) or result.get("skipped") or not result.get("changed"):
        return []
    if "results" in result:
        names = []
        for item in result["results"]:
            unit = (item.get("item") or {}).get("unit") if isinstance(item.get("item"), dict) else None
            names += ["%s.%s" % (unit, name) if unit else name for name in _changed_settings(item)]
        return names
    return list(result.get("changed_settings") or ["(changed)"])


LAYERS = ("live", "file", "cgroup")


def _moved(result):
    """Changed setting -> {layer: {before, after}} of every layer that moves (live, file, cgroup)."""
    if not isinstance(result, dict) or result.get("skipped") or not result.get("changed"):
        return {}
    if "results" in result:
        moved = {}
        for item in result["results"]:
            unit = (item.get("item") or {}).get("unit") if isinstance(item.get("item"), dict) else None
            moved.update(("%s.%s" % (unit, name) if unit else name, layers) for name, layers in _moved(item).items())
        return moved
    moved = {}
    for name in result.get("changed_settings") or []:
        layers = (result.get("settings") or {}).get(name) or {}
        moving = {}
        for layer in LAYERS:
            pair = layers.get(layer)
            if isinstance(pair, dict) and pair.get("before") != pair.get("after"):
                moving[layer] = {"before": pair.get("before"), "after": pair.get("after")}
        if moving:
            moved[name] = moving
    return moved


def _first(layers):
    """{before, after} of the first layer that moves."""
    return next(iter(layers.values()))


def _gib(value):
    return "%g GiB" % round(value / (1 << 30), 2) if value >= 1 << 30 else "%d MiB" % (value >> 20)


def policy_changes(plan, check_mode=False, **results):
    """``memory_policy_plan | policy_changes(sysctl=..., swap=..., ...)``; see DOCUMENTATION."""
    unknown = sorted(set(results) - set(ORDER))
    if unknown:
        raise AnsibleFilterError("memwise.linux.policy_changes: unknown result(s) %s" % ", ".join(unknown))
    if not isinstance(plan, dict) or "profile" not in plan:
        raise AnsibleFilterError("memwise.linux.policy_changes: the input is not a memory plan")
    changed = {name: _changed_settings(results.get(name)) for name in ORDER}
    changed = {name: settings for name, settings in changed.items() if settings}
    verb = "would change" if check_mode else "changed"
    what = "; ".join("%s (%s)" % (name, ", ".join(settings)) for name, settings in changed.items())
    line = "profile %s, tier %s (%s RAM): %s" % (
        plan["profile"],
        plan["tier"],
        _gib(plan["ram"]),
        "%s %s" % (verb, what) if changed else "no change",
    )
    if plan.get("oomd", {}).get("missing"):
        line += "; no systemd-oomd: %s" % "; ".join(plan["oomd"]["missing"])
    layers = {name: _moved(results.get(name)) for name in changed}
    values = {name: {setting: _first(moving) for setting, moving in layers[name].items()} for name in changed}
    return {"changed": changed, "changed_modules": list(changed), "values": values, "layers": layers, "line": line}


class FilterModule:
    """memwise.linux.policy_changes."""

    def filters(self):
        return {"policy_changes": policy_changes}
