#!/usr/bin/python
# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: memory_facts
short_description: Gather Linux memory facts under C(ansible_facts.memwise)
version_added: 0.1.0
description:
  - Reads the kernel's own files (C(/proc/meminfo), C(/proc/swaps)) and returns them as
    typed facts under C(ansible_facts.memwise), one key per section.
  - Never fails because a source is missing or unreadable (containers, old kernels);
    the section is then C(null) and C(memwise.unavailable) says why.
  - Usable as a facts module next to M(ansible.builtin.setup), for example with
    C(FACTS_MODULES=memwise.linux.memory_facts,ansible.builtin.setup).
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
  - memwise.linux._attributes.FACTS
  - memwise.linux._attributes.INFO_MODULE
attributes:
  facts:
    support: full
options:
  gather_subset:
    description:
      - Sections to gather. V(all) gathers every section; a name prefixed with V(!) leaves that
        section out, so V(!swap) alone means every section but C(swap).
      - An unknown name fails and lists the valid ones.
      - The sections are C(meminfo) (every C(/proc/meminfo) field in bytes) and C(swap)
        (devices from C(/proc/swaps) with type, size, used and priority, plus totals).
    type: list
    elements: str
    default: [all]
"""

EXAMPLES = r"""
---
- name: Gather every memory section
  memwise.linux.memory_facts:

- name: Only meminfo
  memwise.linux.memory_facts:
    gather_subset: [meminfo]

- name: Show available memory
  ansible.builtin.debug:
    msg: "{{ ansible_facts.memwise.meminfo.MemAvailable }} bytes available"
"""

RETURN = r"""
---
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    memwise:
      description: Memory facts, one key per gathered section, plus C(unavailable) and C(gather_subset).
      returned: always
      type: dict
      contains:
        meminfo:
          description: Every C(/proc/meminfo) field; C(kB) fields converted to bytes, counts (HugePages_*) as they are.
          returned: when C(meminfo) is gathered
          type: dict
          sample: {"MemTotal": 1025277952, "MemAvailable": 803446784, "HugePages_Total": 0}
        swap:
          description: Swap devices from C(/proc/swaps) and totals in bytes.
          returned: when C(swap) is gathered
          type: dict
          sample:
            devices:
              - {"path": "/swapfile", "type": "file", "size": 536866816, "used": 0, "priority": -2}
            total: 536866816
            used: 0
            free: 536866816
        unavailable:
          description: Section name to the reason it could not be gathered; empty when all were.
          returned: always
          type: dict
          sample: {"swap": "/proc/swaps does not exist on this host"}
        gather_subset:
          description: The sections that were gathered, after resolving V(all) and V(!name).
          returned: always
          type: list
          elements: str
          sample: [meminfo, swap]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.memwise.linux.plugins.module_utils import _facts
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gather_subset=dict(type="list", elements="str", default=["all"]),
        ),
        supports_check_mode=True,
    )
    try:
        subset = _facts.resolve_subset(module.params["gather_subset"])
    except MemwiseError as exc:
        module.fail_json(msg=str(exc))
    memwise = _facts.collect(subset)
    memwise["gather_subset"] = subset
    module.exit_json(changed=False, ansible_facts={"memwise": memwise})


if __name__ == "__main__":
    main()
