# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
---
name: fleet_summary
short_description: One memory report row per host, plus fleet totals, from hostvars
version_added: 0.1.0
author:
  - memwise.linux contributors (@memwise)
description:
  - Turns the C(ansible_facts.memwise) facts of many hosts (from M(memwise.linux.memory_facts)) into the
    rows of a fleet report and their totals. The C(memwise.linux.gather) playbook writes its
    C(report.json), C(report.md) and C(report.html) from this filter's result.
  - Each host's facts are taken from C(ansible_facts.memwise), else from a top-level C(memwise) variable.
    Fields are read with JMESPath expressions, preferring the derived C(summary) section and falling back
    to the raw sections; a field whose section was not gathered or was unavailable on the host is V(null).
  - The status of a host is its C(memwise_report_status) variable when set (the gather playbook sets it
    to V(ok), V(unreachable) or V(failed)), else V(failed) for a host in O(failed_hosts), else V(ok) when the host
    has memwise facts, else V(no_facts).
    A host marked V(ok) without memwise facts is reported as V(no_facts). Rows of hosts that are not
    V(ok) carry only C(host), C(status) and C(reason); their data fields are V(null), so stale cached
    facts of an unreachable host never show as current.
  - A host that has the C(memory_policy_plan) variable (set by the C(memwise.linux.memory_policy) role, so by the
    C(memwise.linux.apply_policy) playbook) gets a C(policy) section in its row - the plan's profile, RAM tier and
    settings, each with the rule that chose it, and what the role changed from C(memory_policy_changes). The section
    comes from this run's role, not from gathered facts, so it is filled whatever the host's status. A host without
    a plan has C(policy=null).
  - Runs on the controller and needs the Python library C(jmespath) there (not on the managed hosts).
positional: hosts
options:
  _input:
    description:
      - The variables of every host, keyed by host name; usually the magic variable C(hostvars), or any
        dictionary host name -> variables.
    type: dict
    required: true
  hosts:
    description:
      - The hosts to report, in any order; rows are sorted by host name.
      - Defaults to every host of the input. A name that is not in the input fails.
    type: list
    elements: str
  check_mode:
    description:
      - Whether the run that applied the memory policy was a check-mode run (C(ansible_check_mode)); copied into each
        C(policy) section, whose changes are then what a real run would change.
    type: bool
    default: false
  failed_hosts:
    description:
      - Hosts that failed in an earlier play of the run (in C(memwise.linux.apply_policy), the memory_policy role)
        and so ran none of the report's tasks; usually C(ansible_play_hosts_all | difference(ansible_play_hosts)).
        Their rows say V(failed), with no data fields, unless they carry a C(memwise_report_status).
    type: list
    elements: str
    default: []
requirements:
  - jmespath (Python library, on the controller)
seealso:
  - module: memwise.linux.memory_facts
  - plugin: memwise.linux.human_bytes
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Summarise the hosts of this play
  ansible.builtin.set_fact:
    memwise_fleet: "{{ hostvars | memwise.linux.fleet_summary(ansible_play_hosts_all) }}"
  run_once: true

- name: Hosts under memory pressure
  ansible.builtin.debug:
    msg: "{{ memwise_fleet.totals.pressure_levels.stalling | default([]) }}"
  run_once: true

- name: Every host of the inventory, from a dictionary built elsewhere
  ansible.builtin.debug:
    msg: "{{ {'web1': {'memwise': web1_facts}} | memwise.linux.fleet_summary }}"
"""

RETURN = r"""
---
_value:
  description: Report rows and totals. Sizes are bytes, ratios are floats from 0 to 1, PSI averages are percent.
  type: dict
  contains:
    hosts:
      description:
        - One row per host, sorted by host name. Data fields are V(null) when unknown.
        - The keys are C(host), C(status) (V(ok), V(unreachable), V(failed) or V(no_facts)), C(reason),
          C(mem_total), C(mem_available), C(available_ratio), C(swap_total), C(swap_used), C(swap_used_ratio),
          C(swap_devices) (list of C(path), C(type), C(size), C(used), C(priority)), C(zram) (C(devices)
          (configured ones, with a disk size), C(disksize), C(orig_data_size), C(compr_data_size),
          C(mem_used_total), C(ratio)), C(zram) is V(null) without the C(zram) section, C(zswap)
          (C(enabled), C(compressor)), C(thp_enabled), C(psi) (C(some_avg10), C(some_avg60), C(full_avg10),
          C(full_avg60)), C(pressure_level), C(oom_kills), C(top_units) (list of C(unit), C(slice),
          C(current)), C(advice) (list of C(id), C(severity), C(text)), C(kernel), C(systemd_version) and
          C(unavailable) (section -> reason), and C(policy).
        - C(policy) is V(null) for a host without C(memory_policy_plan); else C(profile), C(tier), C(ram),
          C(mem_total), C(check_mode), C(oomd) (C(mode), C(enabled), C(missing)), C(settings) (the plan's flat
          settings, C(area.name) -> C(value), C(rule), C(changed), C(before), C(after)), C(changed) (module -> the
          settings it changed, as C(memory_policy_changes) lists them), C(other_changes) (those of C(changed) that
          are no plan setting, such as a swap file's C(used)), C(changes) (how many settings changed - the plan
          settings marked C(changed) plus the C(other_changes)) and C(line)
          (the role's one-line summary). C(changed), C(other_changes), C(changes) and C(line) are V(null), and each
          setting's C(changed) is V(null), when the host has no C(memory_policy_changes) (the role stopped before
          it recorded them). C(before) and C(after) are the values a module reported for a changed setting when
          C(memory_policy_changes) carries them (its C(values)), else V(null).
      type: list
      elements: dict
      sample:
        - host: web1
          status: ok
          reason: null
          mem_total: 1025277952
          mem_available: 803446784
          available_ratio: 0.78
          swap_total: 536866816
          swap_used: 0
          swap_used_ratio: 0.0
          swap_devices: [{"path": "/swapfile", "type": "file", "size": 536866816, "used": 0, "priority": -2}]
          zram: null
          zswap: {"enabled": true, "compressor": "zstd"}
          thp_enabled: madvise
          psi: {"some_avg10": 0.0, "some_avg60": 0.0, "full_avg10": 0.0, "full_avg60": 0.0}
          pressure_level: none
          oom_kills: 0
          top_units: [{"unit": "ssh.service", "slice": "system.slice", "current": 1234567}]
          advice: [{"id": "zswap_with_zram", "severity": "info", "text": "..."}]
          kernel: 6.1.0-28-amd64
          systemd_version: 252
          unavailable: {}
          policy:
            profile: server
            tier: 1-4G
            ram: 1073741824
            mem_total: 1025277952
            check_mode: false
            oomd: {"mode": "optional", "enabled": true, "missing": []}
            settings:
              sysctl.vm.swappiness: {"value": 60, "rule": "swappiness-default", "changed": false,
                                     "before": null, "after": null}
              thp.enabled: {"value": "madvise", "rule": "thp-madvise", "changed": true,
                            "before": "always", "after": "madvise"}
            changed: {"mm_tunables": ["thp.enabled"]}
            other_changes: {}
            changes: 1
            line: "profile server, tier 1-4G (1 GiB RAM): changed mm_tunables (thp.enabled)"
        - {"host": "web2", "status": "unreachable", "reason": "Failed to connect to the host via ssh", "policy": null}
    totals:
      description:
        - Fleet totals. C(hosts) counts every row, C(ok), C(unreachable), C(failed) and C(no_facts) count rows
          by status; the sizes and C(oom_kills) are sums over the rows that have the value.
        - C(advice) maps an advice id to the number of hosts that got it.
        - C(pressure_levels) maps a pressure level (V(none), V(some), V(stalling), or V(unknown) for a host
          without PSI data) to the sorted names of the V(ok) hosts at that level.
        - C(policy_hosts) counts the rows with a C(policy) section, C(policy_changed) those whose policy changed
          something (in check mode, would change).
      type: dict
      sample:
        hosts: 2
        ok: 1
        unreachable: 1
        failed: 0
        no_facts: 0
        mem_total: 1025277952
        mem_available: 803446784
        swap_total: 536866816
        swap_used: 0
        oom_kills: 0
        advice: {"zswap_with_zram": 1}
        pressure_levels: {"none": ["web1"]}
        policy_hosts: 1
        policy_changed: 1
"""

NAME = "memwise.linux.fleet_summary"
STATUSES = ("ok", "unreachable", "failed", "no_facts")

# Report field -> JMESPath expressions over one host's ``memwise`` facts, tried in
# order; the first that gives a value other than null wins.
FIELDS = (
    ("mem_total", ("summary.mem_total", "meminfo.MemTotal")),
    ("mem_available", ("summary.mem_available", "meminfo.MemAvailable")),
    ("available_ratio", ("summary.available_ratio",)),
    ("swap_total", ("summary.swap_total", "swap.total", "meminfo.SwapTotal")),
    ("swap_used", ("summary.swap_used", "swap.used")),
    ("swap_used_ratio", ("summary.swap_used_ratio",)),
    ("swap_devices", ("swap.devices[].{path: path, type: type, size: size, used: used, priority: priority}",)),
    (
        "zram",
        (
            "zram && {devices: length((zram.devices || `[]`)[?disksize > `0`]), disksize: zram.total_disksize,"
            " orig_data_size: zram.total_orig_data_size,"
            " compr_data_size: sum((zram.devices || `[]`)[].compr_data_size),"
            " mem_used_total: zram.total_mem_used, ratio: summary.zram_ratio}",
        ),
    ),
    ("zswap", ("zswap && {enabled: zswap.enabled, compressor: zswap.compressor}",)),
    ("thp_enabled", ("summary.thp_enabled", "thp.enabled")),
    (
        "psi",
        (
            "summary.pressure",
            "psi.memory && {some_avg10: psi.memory.some.avg10, some_avg60: psi.memory.some.avg60,"
            " full_avg10: psi.memory.full.avg10, full_avg60: psi.memory.full.avg60}",
        ),
    ),
    ("pressure_level", ("summary.pressure_level",)),
    ("oom_kills", ("summary.oom_kills", "vmstat.oom_kill")),
    ("top_units", ("cgroup.top_units",)),
    ("advice", ("summary.advice",)),
    ("kernel", ("summary.kernel", "kernel.release", "kernel")),
    ("systemd_version", ("systemd.version",)),
    ("unavailable", ("unavailable",)),
)
# Expressions over the host's variables, for fields ``memwise`` may not carry.
HOST_FIELDS = (("kernel", ("ansible_facts.kernel", "ansible_kernel")),)
SUMMED = ("mem_total", "mem_available", "swap_total", "swap_used", "oom_kills")
# A setting named by a module's changed_settings -> the plan setting it is (memwise.linux.memory_plan's flat
# ``settings``). swap and zram name device attributes; a zram device's are ``zramN.<attribute>``.
SWAP_SETTINGS = {"active": "swap.enabled", "size": "swap.size", "device_size": "swap.size", "priority": "swap.priority"}
ZRAM_SETTINGS = {"active": "zram.enabled", "disksize": "zram.size", "algorithm": "zram.algorithm",
                 "priority": "zram.priority"}  # fmt: skip

_COMPILED = {}


def _jmespath():
    try:
        import jmespath
    except ImportError as exc:
        raise AnsibleFilterError(
            "%s needs the Python library jmespath on the controller (pip install jmespath) "
            "in the Python that runs ansible-playbook" % NAME
        ) from exc
    return jmespath


def _search(expressions, data):
    """The first non-null result of ``expressions`` (JMESPath) over ``data``."""
    jmespath = _jmespath()
    for expression in expressions:
        if expression not in _COMPILED:
            _COMPILED[expression] = jmespath.compile(expression)
        value = _COMPILED[expression].search(data)
        if value is not None:
            return value
    return None


def _plain(value):
    """``value`` as plain dict/list/str/int/float/bool/None.

    JMESPath checks argument types by class name, so Ansible's tagged and lazy
    containers (subclasses of dict, list and str) would fail its functions.
    """
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, bool):
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return str(value)


def _ratio(part, whole, digits=4):
    """``part / whole`` rounded as memory_facts rounds it, or None when unknown or whole is 0."""
    if isinstance(part, (int, float)) and isinstance(whole, (int, float)) and whole > 0:
        return round(part / whole, digits)
    return None


def _host_vars(data, host):
    """The few variables of ``host`` the report reads (touching no others: hostvars template on access)."""
    try:
        variables = data[host]
    except KeyError:
        raise AnsibleFilterError(
            "%s: host %r is not in the input (known: %d hosts)" % (NAME, host, len(data))
        ) from None
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError(
            "%s: the variables of host %r are a %s, not a dictionary" % (NAME, host, type(variables).__name__)
        )
    facts = variables.get("ansible_facts")
    memwise = facts.get("memwise") if isinstance(facts, Mapping) else None
    if memwise is None:
        memwise = variables.get("memwise")
    if memwise is not None and not isinstance(memwise, Mapping):
        raise AnsibleFilterError(
            "%s: the memwise facts of host %r are a %s, not a dictionary; "
            "they come from memwise.linux.memory_facts" % (NAME, host, type(memwise).__name__)
        )
    host_level = {
        "ansible_facts": {"kernel": facts.get("kernel")} if isinstance(facts, Mapping) else None,
        "ansible_kernel": variables.get("ansible_kernel"),
    }
    policy = (variables.get("memory_policy_plan"), variables.get("memory_policy_changes"))
    return variables.get("memwise_report_status"), variables.get("memwise_report_reason"), memwise, host_level, policy


def _status(host, status, memwise):
    if status is None:
        return "ok" if memwise is not None else "no_facts"
    if status not in STATUSES:
        raise AnsibleFilterError(
            "%s: host %r has memwise_report_status %r; it must be one of %s" % (NAME, host, status, ", ".join(STATUSES))
        )
    if status == "ok" and memwise is None:
        return "no_facts"
    return status


def host_row(host, status, reason, memwise, host_level=None):
    """One report row (see RETURN) from one host's ``memwise`` facts."""
    status = _status(host, status, memwise)
    row = {"host": host, "status": status, "reason": None if reason is None else str(reason)}
    row.update((name, None) for name, _expressions in FIELDS)
    if status != "ok":
        return row
    memwise = _plain(memwise)
    host_level = _plain(host_level)
    for name, expressions in FIELDS:
        row[name] = _search(expressions, memwise)
    for name, expressions in HOST_FIELDS:
        if row[name] is None and host_level:
            row[name] = _search(expressions, host_level)
    if not isinstance(row["kernel"], (str, type(None))):
        row["kernel"] = None
    if row["available_ratio"] is None:
        row["available_ratio"] = _ratio(row["mem_available"], row["mem_total"])
    if row["swap_used_ratio"] is None:
        row["swap_used_ratio"] = _ratio(row["swap_used"], row["swap_total"])
    if row["zram"] is not None and row["zram"]["ratio"] is None:
        row["zram"]["ratio"] = _ratio(row["zram"]["orig_data_size"], row["zram"]["compr_data_size"], digits=2)
    return row


def _plan_setting(module, name):
    """The plan setting (flat name) that ``name``, changed by ``module``, is; None when it is none."""
    if module == "swap":
        return SWAP_SETTINGS.get(name)
    if module == "zram":
        return ZRAM_SETTINGS.get(name.partition(".")[2])
    prefix = {"sysctl": "sysctl.", "oomd": "oomd.", "unit_resources": "units.", "mm_tunables": ""}.get(module)
    return None if prefix is None else prefix + name


def _policy_error(host, what):
    return AnsibleFilterError(
        "%s: host %r: %s; it is set by the memwise.linux.memory_policy role (playbook memwise.linux.apply_policy)"
        % (NAME, host, what)
    )


def _plan_settings(host, plan):
    """The plan's settings as section entries: value and rule, nothing known yet of a change."""
    if not isinstance(plan, dict) or not isinstance(plan.get("settings"), dict) or "profile" not in plan:
        raise _policy_error(host, "memory_policy_plan is not a memory plan (no profile or settings)")
    settings = {}
    for name, entry in plan["settings"].items():
        if not isinstance(entry, dict) or "value" not in entry or "rule" not in entry:
            raise _policy_error(host, "memory_policy_plan setting %r is not {value, rule}" % name)
        settings[name] = {
            "value": entry["value"],
            "rule": entry["rule"],
            "changed": None,
            "before": None,
            "after": None,
        }
    return settings


def _mark_changes(host, settings, changes):
    """Mark the settings memory_policy_changes names; return (changed, other_changes) of the section."""
    changed = changes.get("changed") if isinstance(changes, dict) else None
    if not isinstance(changed, dict) or not all(isinstance(names, list) for names in changed.values()):
        raise _policy_error(host, "memory_policy_changes has no changed (module -> list of settings)")
    values = changes.get("values") if isinstance(changes.get("values"), dict) else {}
    for entry in settings.values():
        entry["changed"] = False
    other = {}
    for module, names in changed.items():
        moved = values.get(module) if isinstance(values.get(module), dict) else {}
        for name in names:
            entry = settings.get(_plan_setting(module, str(name)))
            if entry is None:
                other.setdefault(module, []).append(name)
            elif not entry["changed"]:  # the first name that is this setting gives its values
                value = moved.get(name) if isinstance(moved.get(name), dict) else {}
                entry.update(changed=True, before=value.get("before"), after=value.get("after"))
    return changed, other


def policy_section(host, plan, changes, check_mode=False):
    """The ``policy`` section of a row (see RETURN) from a host's memory_policy_plan and memory_policy_changes."""
    if plan is None:
        return None
    plan = _plain(plan)
    settings = _plan_settings(host, plan)
    section = {
        "profile": plan["profile"],
        "tier": plan.get("tier"),
        "ram": plan.get("ram"),
        "mem_total": plan.get("mem_total"),
        "check_mode": bool(check_mode),
        "oomd": plan.get("oomd"),
        "settings": settings,
        "changed": None,
        "other_changes": None,
        "changes": None,
        "line": None,
    }
    if changes is None:
        return section
    changes = _plain(changes)
    changed, other = _mark_changes(host, settings, changes)
    section.update(
        changed=changed,
        other_changes=other,
        changes=sum(1 for entry in settings.values() if entry["changed"]) + sum(map(len, other.values())),
        line=None if changes.get("line") is None else str(changes["line"]),
    )
    return section


def totals(rows):
    """Fleet totals over report rows (see RETURN)."""
    result = {"hosts": len(rows)}
    for status in STATUSES:
        result[status] = sum(1 for row in rows if row["status"] == status)
    for name in SUMMED:
        result[name] = sum(row[name] for row in rows if isinstance(row[name], (int, float)))
    advice, levels = {}, {}
    for row in rows:
        for advice_id in {item.get("id") for item in row["advice"] or [] if isinstance(item, Mapping)} - {None}:
            advice[str(advice_id)] = advice.get(str(advice_id), 0) + 1
        if row["status"] == "ok":
            levels.setdefault(row["pressure_level"] or "unknown", []).append(row["host"])
    result["advice"] = dict(sorted(advice.items()))
    result["pressure_levels"] = {level: sorted(hosts) for level, hosts in sorted(levels.items())}
    policies = [row["policy"] for row in rows if row.get("policy") is not None]
    result["policy_hosts"] = len(policies)
    result["policy_changed"] = sum(1 for policy in policies if policy["changes"])
    return result


EARLIER_FAILURE = "failed in an earlier play of this run (see its output), so no memory facts were gathered"


def fleet_summary(data, hosts=None, check_mode=False, failed_hosts=None):
    """``hostvars | fleet_summary(ansible_play_hosts_all)``; see DOCUMENTATION."""
    if not isinstance(data, Mapping):
        raise AnsibleFilterError(
            "%s: the input must be hostvars or a dictionary host -> variables, not a %s" % (NAME, type(data).__name__)
        )
    if hosts is None:
        hosts = list(data)
    elif isinstance(hosts, (str, bytes)) or not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("%s: hosts must be a list of host names, not %r" % (NAME, hosts))
    if not isinstance(check_mode, bool):
        raise AnsibleFilterError(
            "%s: check_mode must be true or false (pass ansible_check_mode), not %r" % (NAME, check_mode)
        )
    if failed_hosts is None:
        failed_hosts = []
    elif isinstance(failed_hosts, (str, bytes)) or not isinstance(failed_hosts, (list, tuple)):
        raise AnsibleFilterError("%s: failed_hosts must be a list of host names, not %r" % (NAME, failed_hosts))
    failed_hosts = {str(name) for name in failed_hosts}
    _jmespath()
    rows = []
    for host in sorted({str(name) for name in hosts}):
        status, reason, memwise, host_level, (plan, changes) = _host_vars(data, host)
        if status is None and host in failed_hosts:
            status, reason = "failed", EARLIER_FAILURE
        row = host_row(host, status, reason, memwise, host_level)
        row["policy"] = policy_section(host, plan, changes, check_mode)
        rows.append(row)
    return {"hosts": rows, "totals": totals(rows)}


class FilterModule:
    """memwise.linux.fleet_summary."""

    def filters(self):
        return {"fleet_summary": fleet_summary}
