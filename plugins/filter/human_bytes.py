# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._sizes import human_bytes as _human_bytes

DOCUMENTATION = r"""
---
name: human_bytes
short_description: Bytes as a short binary-unit string (1610612736 -> 1.5 GiB)
version_added: 0.1.0
author:
  - memwise.linux contributors (@memwise)
description:
  - Formats a number of bytes with binary units (C(B), C(KiB), C(MiB), C(GiB), C(TiB), C(PiB)), as the
    modules of this collection and its fleet report print sizes.
  - Trailing zeros are dropped, so V(2147483648) gives C(2 GiB), not C(2.0 GiB). Values below 1 KiB are
    whole bytes (C(512 B)). Negative values keep their sign.
  - The inverse is P(memwise.linux.to_bytes#filter).
positional: precision
options:
  _input:
    description: A number of bytes (integer or float). Strings, booleans and V(null) are refused.
    type: raw
    required: true
  precision:
    description: Most digits after the decimal point.
    type: int
    default: 1
seealso:
  - plugin: memwise.linux.to_bytes
    plugin_type: filter
  - plugin: ansible.builtin.human_readable
    plugin_type: filter
    description: The decimal-or-binary formatter of ansible-core.
"""

EXAMPLES = r"""
---
- name: Print the RAM of a host in a readable way
  ansible.builtin.debug:
    msg: "{{ ansible_facts.memwise.meminfo.MemTotal | memwise.linux.human_bytes }}"
    # 1025277952 -> "977.8 MiB"

- name: More digits
  ansible.builtin.debug:
    msg: "{{ 1234567890 | memwise.linux.human_bytes(precision=3) }}"
    # -> "1.15 GiB" (trailing zero dropped)
"""

RETURN = r"""
---
_value:
  description: The size with a binary unit, for example C(1.5 GiB) or C(512 B).
  type: str
"""


def human_bytes(value, precision=1):
    """``1610612736 | human_bytes`` -> ``'1.5 GiB'``; see DOCUMENTATION."""
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 0:
        raise AnsibleFilterError(
            "memwise.linux.human_bytes: precision %r is not a whole number of 0 or more digits" % (precision,)
        )
    try:
        return _human_bytes(value, precision=precision)
    except MemwiseError as exc:
        raise AnsibleFilterError("memwise.linux.%s" % exc) from exc


class FilterModule:
    """memwise.linux.human_bytes."""

    def filters(self):
        return {"human_bytes": human_bytes}
