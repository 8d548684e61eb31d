# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hardening_report: every host's rows for the hardened_units role's report, hosts without rows left out."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.filter import hardening_report as plugin
from ansible_collections.memwise.linux.plugins.filter.hardening_report import hardening_report

ROW = {"unit": "cron.service", "status": "changed", "ok": True}
HOSTVARS = {
    "web1": {"hardened_units_rows": [ROW], "ansible_host": "10.0.0.1"},
    "web2": {"hardened_units_rows": []},
    "web3": {"ansible_host": "10.0.0.3"},  # a later serial batch: not run yet
}


def test_registered_under_its_name():
    assert plugin.FilterModule().filters() == {"hardening_report": hardening_report}


def test_rows_by_host_in_play_order_without_hosts_that_did_not_run():
    report = hardening_report(HOSTVARS, ["web2", "web1", "web3", "gone"])
    assert report == {"web2": [], "web1": [ROW]}
    assert list(report) == ["web2", "web1"]


def test_other_fact_name():
    assert hardening_report({"a": {"rows": [ROW]}}, ["a"], "rows") == {"a": [ROW]}


@pytest.mark.parametrize(
    ("hostvars", "hosts", "match"),
    [
        ([], ["a"], "the input must be hostvars, got list"),
        (HOSTVARS, "web1", "hosts must be a list of host names, got 'web1'"),
    ],
)
def test_errors(hostvars, hosts, match):
    with pytest.raises(AnsibleFilterError, match=r"^memwise\.linux\.hardening_report: " + match):
        hardening_report(hostvars, hosts)
