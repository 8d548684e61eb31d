# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/tools/check_report.py: the documented shape of report.json, and its error messages."""

from __future__ import annotations

import copy
import importlib.util
import json
import os

import pytest

from ansible_collections.memwise.linux.plugins.filter.fleet_summary import fleet_summary

from ..plugins.filter.test_fleet_summary import FULL, policy_vars

TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "check_report.py")
_SPEC = importlib.util.spec_from_file_location("check_report", TOOL)
check_report = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check_report)


def make_report():
    fleet = fleet_summary(
        {
            "web1": dict({"ansible_facts": {"memwise": copy.deepcopy(FULL)}}, **policy_vars("deb13", "server")),
            "web2": {"memwise": {"meminfo": {"MemTotal": 2048, "MemAvailable": 1024}, "unavailable": {}}},
            "ghost": {
                "memwise_report_status": "unreachable",
                "memwise_report_reason": "ssh: connection refused",
                "memory_policy_plan": policy_vars("deb12", "small_vm")["memory_policy_plan"],
            },
            "old": {},
        }
    )
    return {
        "format": "memwise.linux.report",
        "format_version": 2,
        "generated": "2026-11-28T15:18:28Z",
        "collection": {"name": "memwise.linux", "version": "0.1.0"},
        "hosts": fleet["hosts"],
        "totals": fleet["totals"],
    }


def write(tmp_path, report):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    return str(path)


def test_filter_output_is_a_valid_report(tmp_path):
    report = check_report.check_file(write(tmp_path, make_report()), ["web1=ok", "ghost=unreachable", "old"])
    assert [row["status"] for row in report["hosts"]] == ["unreachable", "no_facts", "ok", "ok"]


def test_unknown_version_is_valid(tmp_path):
    report = make_report()
    report["collection"]["version"] = None
    check_report.check_file(write(tmp_path, report))


def test_format_version_1_has_no_policy(tmp_path):
    report = make_report()
    report["format_version"] = 1
    for row in report["hosts"]:
        del row["policy"]
    del report["totals"]["policy_hosts"], report["totals"]["policy_changed"]
    check_report.check_file(write(tmp_path, report))
    report["hosts"][0]["policy"] = None
    with pytest.raises(check_report.ReportError, match=r"^report\.hosts\[0\]\.policy: not a documented field$"):
        check_report.check_file(write(tmp_path, report))


def _set(report, path, value):
    """Set (or with value ``...`` delete) the field at a dotted path with list indexes."""
    *parents, last = path.split(".")
    target = report
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    last = int(last) if last.isdigit() else last
    if value is ...:
        del target[last]
    else:
        target[last] = value


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        ("format", "other", r"^report\.format: 'other' is not one of memwise\.linux\.report$"),
        ("format_version", 3, r"^report\.format_version: 3 is not one of 1, 2$"),
        ("format_version", True, r"^report\.format_version: True is not one of 1, 2$"),
        ("generated", "yesterday", r"^report\.generated: expected a UTC time like .*, got str 'yesterday'$"),
        ("collection.name", "x.y", r"^report\.collection\.name: 'x\.y' is not one of memwise\.linux$"),
        ("totals", ..., r"^report\.totals: missing$"),
        ("extra", 1, r"^report\.extra: not a documented field$"),
        ("hosts", {}, r"^report\.hosts: expected a list, got dict$"),
        ("hosts.0.status", "down", r"^report\.hosts\[0\]\.status: 'down' is not one of ok, unreachable, failed"),
        ("hosts.0.reason", 5, r"^report\.hosts\[0\]\.reason: expected str, got int 5$"),
        ("hosts.2.mem_total", "1G", r"^report\.hosts\[2\]\.mem_total: expected int, got str '1G'$"),
        ("hosts.2.mem_total", True, r"^report\.hosts\[2\]\.mem_total: expected int, got bool True$"),
        ("hosts.2.available_ratio", 1.5, r"^report\.hosts\[2\]\.available_ratio: expected a number from 0 to 1"),
        ("hosts.2.swap_devices.1.size", "1G", r"^report\.hosts\[2\]\.swap_devices\[1\]\.size: expected int, got str"),
        ("hosts.2.swap_devices.0.uuid", "x", r"^report\.hosts\[2\]\.swap_devices\[0\]\.uuid: not a documented field$"),
        ("hosts.2.zram.ratio", "3", r"^report\.hosts\[2\]\.zram\.ratio: expected number, got str '3'$"),
        ("hosts.2.zswap", [], r"^report\.hosts\[2\]\.zswap: expected an object, got list$"),
        ("hosts.2.psi.full_avg60", ..., r"^report\.hosts\[2\]\.psi\.full_avg60: missing$"),
        ("hosts.2.pressure_level", "high", r"^report\.hosts\[2\]\.pressure_level: 'high' is not one of none, some, st"),
        ("hosts.2.top_units.0.unit", None, r"^report\.hosts\[2\]\.top_units\[0\]\.unit: expected str, got null None$"),
        ("hosts.2.advice.0.severity", "bad", r"^report\.hosts\[2\]\.advice\[0\]\.severity: 'bad' is not one of info"),
        ("hosts.2.unavailable.mglru", 1, r"^report\.hosts\[2\]\.unavailable\.mglru: expected str, got int 1$"),
        ("hosts.2.systemd_version", 2.5, r"^report\.hosts\[2\]\.systemd_version: expected version, got float 2\.5$"),
        ("totals.advice.no_swap", "1", r"^report\.totals\.advice\.no_swap: expected int, got str '1'$"),
        ("totals.pressure_levels.none", "web1", r"^report\.totals\.pressure_levels\.none: expected a list, got str"),
        ("totals.policy_hosts", ..., r"^report\.totals\.policy_hosts: missing$"),
        ("hosts.1.policy", ..., r"^report\.hosts\[1\]\.policy: missing$"),
        ("hosts.0.policy.tier", None, r"^report\.hosts\[0\]\.policy\.tier: expected str, got null None$"),
        ("hosts.0.policy.oomd.mode", "on", r"^report\.hosts\[0\]\.policy\.oomd\.mode: 'on' is not one of required"),
        ("hosts.2.policy.check_mode", "no", r"^report\.hosts\[2\]\.policy\.check_mode: expected bool, got str"),
        ("hosts.2.policy.changed.swap", "size", r"^report\.hosts\[2\]\.policy\.changed\.swap: expected a list"),
    ],
)
def test_shape_errors_name_the_field(tmp_path, path, value, match):
    report = make_report()
    _set(report, path, value)
    with pytest.raises(check_report.ReportError, match=match):
        check_report.check_file(write(tmp_path, report))


@pytest.mark.parametrize(
    ("setting", "key", "value", "match"),
    [
        ("swap.size", "rule", 1, r"^report\.hosts\[2\]\.policy\.settings\.swap\.size\.rule: expected str, got int"),
        ("thp.enabled", "changed", "yes", r"^report\.hosts\[2\]\.policy\.settings\.thp\.enabled\.changed: expec"),
        ("thp.enabled", "before", ..., r"^report\.hosts\[2\]\.policy\.settings\.thp\.enabled\.before: missing$"),
    ],
)
def test_policy_setting_errors(tmp_path, setting, key, value, match):
    report = make_report()
    _set(report["hosts"][2]["policy"]["settings"][setting], key, value)
    with pytest.raises(check_report.ReportError, match=match):
        check_report.check_file(write(tmp_path, report))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda r: r["hosts"].reverse(), r"^hosts: rows must be sorted by host name, each host once; got web2, "),
        (lambda r: r["hosts"].append(r["hosts"][-1]), r"^hosts: rows must be sorted by host name, each host once"),
        (lambda r: r["hosts"][0].update(mem_total=1), r"^hosts\[0\]\.mem_total: must be null for a host with status"),
        (lambda r: r["totals"].update(hosts=3), r"^totals\.hosts: 3, but the rows give 4$"),
        (lambda r: r["totals"].update(ok=1), r"^totals\.ok: 1, but the rows give 2$"),
        (lambda r: r["totals"].update(mem_total=0), r"^totals\.mem_total: 0, but the rows give \d+$"),
        (lambda r: r["totals"].update(advice={}), r"^totals\.advice: \{\}, but the rows give \{"),
        (lambda r: r["totals"].update(pressure_levels={}), r"^totals\.pressure_levels: \{\}, but the rows give"),
        (lambda r: r["totals"].update(policy_hosts=1), r"^totals\.policy_hosts: 1, but the rows give 2$"),
        (lambda r: r["totals"].update(policy_changed=0), r"^totals\.policy_changed: 0, but the rows give 1$"),
        (lambda r: r["hosts"][2]["policy"].update(changes=1),
         r"^hosts\[2\]\.policy\.changes: 1, but \d+ settings are marked changed and other_changes lists 1$"),
        (lambda r: r["hosts"][2]["policy"].update(other_changes={"zram": ["used"]}),
         r"^hosts\[2\]\.policy\.other_changes\.zram: \['used'\] not in changed\.zram$"),
        (lambda r: r["hosts"][2]["policy"]["settings"]["thp.enabled"].update(changed=None),
         r"^hosts\[2\]\.policy\.settings\.thp\.enabled\.changed: null, but the changes are known$"),
        (lambda r: r["hosts"][2]["policy"].update(line=None),
         r"^hosts\[2\]\.policy\.line: missing for a policy that changed something$"),
        (lambda r: r["hosts"][0]["policy"].update(changes=0), r"^hosts\[0\]\.policy\.changes: must be null when"),
        (lambda r: r["hosts"][0]["policy"]["settings"]["swap.size"].update(changed=False),
         r"^hosts\[0\]\.policy\.settings\.swap\.size\.changed: must be null when changed is null$"),
    ],
)  # fmt: skip
def test_consistency_errors(tmp_path, change, match):
    report = make_report()
    change(report)
    with pytest.raises(check_report.ReportError, match=match):
        check_report.check_file(write(tmp_path, report))


@pytest.mark.parametrize(
    ("expectation", "match"),
    [
        ("nosuch", r"^hosts: no row for host nosuch \(rows: ghost, old, web1, web2\)$"),
        ("ghost=ok", r"^hosts\[ghost\]\.status: unreachable, expected ok$"),
    ],
)
def test_host_expectations(tmp_path, expectation, match):
    with pytest.raises(check_report.ReportError, match=match):
        check_report.check_file(write(tmp_path, make_report()), [expectation])


def test_not_json(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(check_report.ReportError, match=r"^not JSON: "):
        check_report.check_file(str(path))


def test_main_exit_codes(tmp_path, capsys):
    path = write(tmp_path, make_report())
    assert check_report.main([path, "--host", "web1=ok"]) == 0
    assert capsys.readouterr().out == "%s: valid memwise report of 4 host(s)\n" % path
    assert check_report.main([path, "--host", "web1=failed"]) == 1
    assert capsys.readouterr().err == "%s: hosts[web1].status: ok, expected failed\n" % path
    missing = str(tmp_path / "nothing.json")
    assert check_report.main([missing]) == 1
    assert "No such file or directory" in capsys.readouterr().err
