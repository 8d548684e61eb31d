# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
---
name: hardening_report
short_description: The hardening rows of every host of a play, by host name
version_added: 0.2.0
author:
  - memwise.linux contributors (@memwise)
description:
  - Collects the C(hardened_units_rows) fact the role P(memwise.linux.hardened_units#role) sets on each host into one
    dictionary, host name to rows, for the role's JSON report on the controller.
  - Hosts without the fact are left out - with C(serial), the hosts of later batches have not run yet (the report,
    written by every batch, grows batch by batch), and a play stopped by C(max_fail_percentage) never reaches them.
positional: hosts, fact
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The host names, in order (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  fact:
    description: The name of the fact holding a host's rows.
    type: str
    default: hardened_units_rows
seealso:
  - plugin: memwise.linux.hardening_table
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Write the rows of every host that ran so far
  run_once: true
  delegate_to: localhost
  ansible.builtin.copy:
    content: "{{ hostvars | memwise.linux.hardening_report(ansible_play_hosts_all) | ansible.builtin.to_nice_json }}"
    dest: /tmp/hardening.json
    mode: "0644"
"""

RETURN = r"""
---
_value:
  description: Host name to the list of rows (see P(memwise.linux.hardening_table#filter)), in the order of O(hosts).
  type: dict
"""


def hardening_report(hostvars, hosts, fact="hardened_units_rows"):
    """``{host: rows}`` for every host in ``hosts`` whose ``fact`` is set (a list)."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError(
            "memwise.linux.hardening_report: the input must be hostvars, got %s" % type(hostvars).__name__
        )
    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(
            "memwise.linux.hardening_report: hosts must be a list of host names, got %r" % (hosts,)
        )
    report = {}
    for host in hosts:
        host_vars = hostvars[host] if host in hostvars else {}
        rows = host_vars.get(fact) if isinstance(host_vars, Mapping) else None
        if isinstance(rows, (list, tuple)):
            report[host] = list(rows)
    return report


class FilterModule:
    """memwise.linux.hardening_report."""

    def filters(self):
        return {"hardening_report": hardening_report}
