# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unit_hardening action plugin's netaddr normalisation (the controller side of ip_allow / ip_deny)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleError

from ansible_collections.memwise.linux.plugins.action.unit_hardening import normalize
from ansible_collections.memwise.linux.plugins.module_utils import _hardening


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["10.0.0.0/8"], ["10.0.0.0/8"]),
        (["10.1.2.3/8"], ["10.0.0.0/8"]),
        (["192.168.1.5"], ["192.168.1.5/32"]),
        (["::1"], ["::1/128"]),
        (["localhost", "any"], ["localhost", "any"]),
        (["10.0.0.1", "10.0.0.1/32", " 10.0.0.1 "], ["10.0.0.1/32"]),
        ("10.0.0.0/8,::1", ["10.0.0.0/8", "::1/128"]),
        (None, []),
    ],
)
def test_normalize_agrees_with_the_host_side(given, expected):
    assert normalize(given, "ip_allow") == expected
    if given:
        assert _hardening.normalize_ips(expected) == expected  # the module accepts the controller's form as is


@pytest.mark.parametrize("bad", ["10.0.0.300/8", "10.0.0.0/33", "example.com", "everything"])
def test_bad_addresses_name_the_option_and_value(bad):
    with pytest.raises(AnsibleError, match="ip_deny: '%s' is not an IP address or network" % bad.replace(".", r"\.")):
        normalize(["10.0.0.0/8", bad], "ip_deny")


def test_every_bad_address_at_once():
    with pytest.raises(AnsibleError, match="'a', 'b' are not an IP address"):
        normalize(["a", "b"], "ip_allow")
