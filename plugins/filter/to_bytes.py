# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._sizes import to_bytes as _to_bytes

DOCUMENTATION = r"""
---
name: to_bytes
short_description: Size strings (2G, 512M, 1.5GiB, 50%) to a number of bytes
version_added: 0.1.0
author:
  - memwise.linux contributors (@memwise)
description:
  - Parses a size the way every module of this collection parses its size options, with the same code,
    so a value checked on the controller means the same on the host.
  - C(K), C(M), C(G), C(T), C(P) and C(KiB) ... C(PiB) are powers of 1024; C(KB), C(MB), C(GB), C(TB),
    C(PB) are powers of 1000 (as systemd and util-linux read them). Units are case-insensitive, a bare
    number is bytes, whitespace around the number and unit is allowed.
  - C(N%) is N percent of O(total) (at most 100%), rounded down to whole bytes; for example the share of
    RAM a zram device or C(MemoryHigh) gets.
  - A value that is not a size, a fraction of a byte, a negative number or a boolean fails with an error
    that names the value.
  - The inverse is P(memwise.linux.human_bytes#filter).
positional: total
options:
  _input:
    description: The size; an integer (bytes) or a string such as V(2G), V(512M), V(1.5GiB), V(100MB) or V(50%).
    type: raw
    required: true
  total:
    description:
      - What a percentage is taken of, in bytes or as a size string (V(8G)).
      - Required when the input is a percentage, ignored otherwise.
    type: raw
seealso:
  - plugin: memwise.linux.human_bytes
    plugin_type: filter
  - plugin: ansible.builtin.human_to_bytes
    plugin_type: filter
    description: ansible-core's parser, which reads C(G) as a power of 1024 too but does not take percentages.
"""

EXAMPLES = r"""
---
- name: Sizes as the modules read them
  ansible.builtin.debug:
    msg:
      - "{{ '2G' | memwise.linux.to_bytes }}"       # 2147483648
      - "{{ '512M' | memwise.linux.to_bytes }}"     # 536870912
      - "{{ '1.5GiB' | memwise.linux.to_bytes }}"   # 1610612736
      - "{{ '100MB' | memwise.linux.to_bytes }}"    # 100000000

- name: Half of the host's RAM
  ansible.builtin.debug:
    msg: "{{ '50%' | memwise.linux.to_bytes(total=ansible_facts.memwise.meminfo.MemTotal) }}"

- name: A quarter of 8 GiB
  ansible.builtin.debug:
    msg: "{{ '25%' | memwise.linux.to_bytes('8G') }}"   # 2147483648
"""

RETURN = r"""
---
_value:
  description: The number of bytes.
  type: int
"""

NAME = "memwise.linux.to_bytes"


def to_bytes(value, total=None):
    """``'2G' | to_bytes`` -> ``2147483648``; ``'50%' | to_bytes(total=...)``; see DOCUMENTATION."""
    try:
        if total is not None:
            total = _to_bytes(total, name="%s: total" % NAME)
        return _to_bytes(value, total=total, name=NAME)
    except MemwiseError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    """memwise.linux.to_bytes."""

    def filters(self):
        return {"to_bytes": to_bytes}
