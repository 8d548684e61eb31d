# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for memwise.linux.unit_hardening: validate and normalise ip_allow / ip_deny with netaddr.

Managed hosts have no netaddr, so the addresses are checked on the controller
before the module runs: a bad address fails the task with nothing sent to the
host. ``10.1.2.3/8`` becomes ``10.0.0.0/8``, ``192.168.1.5`` becomes
``192.168.1.5/32``; systemd's keywords (any, localhost, link-local,
multicast) pass as they are; duplicates are dropped.
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._hardening import normalize_ips

try:
    import netaddr
except ImportError:  # reported when the task uses ip_allow or ip_deny
    netaddr = None


def _network(text):
    return str(netaddr.IPNetwork(text).cidr)


def normalize(values, option):
    """The CIDR form of every address; raises AnsibleError naming every bad one."""
    if not values:
        return []
    if netaddr is None:
        raise AnsibleError("%s needs the netaddr Python package on the controller (pip install netaddr)" % option)
    errors = (netaddr.AddrFormatError, ValueError, TypeError)
    try:
        return normalize_ips(values, option, parse=_network, errors=errors)
    except MemwiseError as exc:
        raise AnsibleError("%s; nothing changed" % exc) from None


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        try:
            for option in ("ip_allow", "ip_deny"):
                if option in args:
                    args[option] = normalize(args[option], option)
        except AnsibleError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        result.update(
            self._execute_module(
                module_name="memwise.linux.unit_hardening", module_args=args, task_vars=task_vars, tmp=tmp
            )
        )
        return result
