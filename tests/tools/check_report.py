# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check a report.json of memwise.linux.gather against its documented shape.

Reads format_version 1 (no policy) and 2 (each row has a ``policy`` section,
the totals ``policy_hosts`` and ``policy_changed``).

The shape is documented in docs/docsite/rst/report.rst; this checker is its
executable form (standard library only, so it runs anywhere a report lands).
Exits 0 when the report is valid, else 1 with the first wrong field named, for
example ``report.json: hosts[1].swap_devices[0].size: expected int, got str``.

    python tests/tools/check_report.py memwise-report/report.json
    python tests/tools/check_report.py report.json --host web1=ok --host web2=unreachable
"""

import argparse
import json
import re
import sys

STATUSES = ("ok", "unreachable", "failed", "no_facts")
FORMAT_VERSIONS = (1, 2)  # 2 adds each row's policy and the totals policy_hosts, policy_changed
SEVERITIES = ("info", "warning", "critical")
PRESSURE_LEVELS = ("none", "some", "stalling")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class ReportError(Exception):
    """The first field of the report that does not match the documented shape."""


# A spec is one of: a type name ("int", "number", "str", "bool"), a tuple of
# allowed constants, ("null", spec) for "spec or null", ("list", spec),
# ("map", spec) (a dictionary with string keys and values of spec), or a dict
# of exactly these keys -> spec. "ratio" is a number from 0 to 1; "any" is any JSON value.
def nullable(spec):
    return ("null", spec)


SWAP_DEVICE = {"path": "str", "type": "str", "size": "int", "used": "int", "priority": "int"}
ZRAM = {
    "devices": "int",
    "disksize": nullable("int"),
    "orig_data_size": nullable("int"),
    "compr_data_size": nullable("int"),
    "mem_used_total": nullable("int"),
    "ratio": nullable("number"),
}
ZSWAP = {"enabled": nullable("bool"), "compressor": nullable("str")}
PSI = {
    "some_avg10": nullable("number"),
    "some_avg60": nullable("number"),
    "full_avg10": nullable("number"),
    "full_avg60": nullable("number"),
}
TOP_UNIT = {"unit": "str", "slice": nullable("str"), "current": nullable("int")}
ADVICE = {"id": "str", "severity": SEVERITIES, "text": "str"}
# The data fields of a row: all null unless the status is ok.
DATA = {
    "mem_total": nullable("int"),
    "mem_available": nullable("int"),
    "available_ratio": nullable("ratio"),
    "swap_total": nullable("int"),
    "swap_used": nullable("int"),
    "swap_used_ratio": nullable("ratio"),
    "swap_devices": nullable(("list", SWAP_DEVICE)),
    "zram": nullable(ZRAM),
    "zswap": nullable(ZSWAP),
    "thp_enabled": nullable("str"),
    "psi": nullable(PSI),
    "pressure_level": nullable(PRESSURE_LEVELS),
    "oom_kills": nullable("int"),
    "top_units": nullable(("list", TOP_UNIT)),
    "advice": nullable(("list", ADVICE)),
    "kernel": nullable("str"),
    "systemd_version": nullable("version"),
    "unavailable": nullable(("map", "str")),
}
ROW_V1 = dict({"host": "str", "status": STATUSES, "reason": nullable("str")}, **DATA)
# A setting of the plan: its value, the rule that chose it and, when the role recorded its changes,
# whether it changed (before/after: what the module reported, null when not known).
SETTING = {"value": "any", "rule": "str", "changed": nullable("bool"), "before": "any", "after": "any"}
CHANGED = ("map", ("list", "str"))
POLICY = {
    "profile": "str",
    "tier": "str",
    "ram": "int",
    "mem_total": "int",
    "check_mode": "bool",
    "oomd": {"mode": ("required", "optional", "off"), "enabled": "bool", "missing": ("list", "str")},
    "settings": ("map", SETTING),
    "changed": nullable(CHANGED),
    "other_changes": nullable(CHANGED),
    "changes": nullable("int"),
    "line": nullable("str"),
}
ROW = dict(ROW_V1, policy=nullable(POLICY))
TOTALS_V1 = {
    "hosts": "int",
    "ok": "int",
    "unreachable": "int",
    "failed": "int",
    "no_facts": "int",
    "mem_total": "int",
    "mem_available": "int",
    "swap_total": "int",
    "swap_used": "int",
    "oom_kills": "int",
    "advice": ("map", "int"),
    "pressure_levels": ("map", ("list", "str")),
}
TOTALS = dict(TOTALS_V1, policy_hosts="int", policy_changed="int")


def report_spec(version):
    """The shape of a report of format_version ``version`` (one of FORMAT_VERSIONS)."""
    return {
        "format": ("memwise.linux.report",),
        "format_version": (version,),
        "generated": "timestamp",
        "collection": {"name": ("memwise.linux",), "version": nullable("str")},
        "hosts": ("list", ROW_V1 if version == 1 else ROW),
        "totals": TOTALS_V1 if version == 1 else TOTALS,
    }


def _type_name(value):
    return "null" if value is None else type(value).__name__


def _scalar_ok(spec, value):
    is_int = isinstance(value, int) and not isinstance(value, bool)
    is_number = is_int or isinstance(value, float)
    return {
        "int": is_int,
        "number": is_number,
        "ratio": is_number and 0 <= value <= 1,
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "version": is_int or isinstance(value, str),
        "any": True,
        "timestamp": isinstance(value, str) and bool(TIMESTAMP.match(value)),
    }[spec]


def _check_object(value, spec, where):
    if not isinstance(value, dict):
        raise ReportError("%s: expected an object, got %s" % (where, _type_name(value)))
    for key in spec:
        if key not in value:
            raise ReportError("%s.%s: missing" % (where, key))
    for key in value:
        if key not in spec:
            raise ReportError("%s.%s: not a documented field" % (where, key))
    for key, item in spec.items():
        check(value[key], item, "%s.%s" % (where, key))


def _check_container(value, spec, where):
    kind, item_spec = spec
    if kind == "list":
        if not isinstance(value, list):
            raise ReportError("%s: expected a list, got %s" % (where, _type_name(value)))
        for index, item in enumerate(value):
            check(item, item_spec, "%s[%d]" % (where, index))
    else:
        if not isinstance(value, dict):
            raise ReportError("%s: expected an object, got %s" % (where, _type_name(value)))
        for key, item in value.items():
            check(item, item_spec, "%s.%s" % (where, key))


def check(value, spec, where):
    """Raise ReportError naming ``where`` when ``value`` does not match ``spec``."""
    if isinstance(spec, str):
        if not _scalar_ok(spec, value):
            what = {"ratio": "a number from 0 to 1", "timestamp": "a UTC time like 2026-01-31T12:00:00Z"}
            raise ReportError("%s: expected %s, got %s %r" % (where, what.get(spec, spec), _type_name(value), value))
    elif isinstance(spec, dict):
        _check_object(value, spec, where)
    elif spec[0] == "null":
        if value is not None:
            check(value, spec[1], where)
    elif spec[0] in ("list", "map"):
        _check_container(value, spec, where)
    elif value not in spec or isinstance(value, bool):
        raise ReportError("%s: %r is not one of %s" % (where, value, ", ".join(map(str, spec))))


def _check_rows(rows):
    names = [row["host"] for row in rows]
    if names != sorted(names) or len(set(names)) != len(names):
        raise ReportError("hosts: rows must be sorted by host name, each host once; got %s" % ", ".join(names))
    for index, row in enumerate(rows):
        wrong = [key for key in DATA if row["status"] != "ok" and row[key] is not None]
        if wrong:
            raise ReportError("hosts[%d].%s: must be null for a host with status %s" % (index, wrong[0], row["status"]))


def _check_policy(policy, where):
    """A policy section: its counts agree with its lists, and its settings with what changed."""
    changed = policy["changed"]
    flags = {name: setting["changed"] for name, setting in policy["settings"].items()}
    if changed is None:
        for key in ("other_changes", "changes", "line"):
            if policy[key] is not None:
                raise ReportError("%s.%s: must be null when changed is null" % (where, key))
        wrong = [name for name, flag in flags.items() if flag is not None]
        if wrong:
            raise ReportError("%s.settings.%s.changed: must be null when changed is null" % (where, wrong[0]))
        return
    for module, names in policy["other_changes"].items():
        if not set(names) <= set(changed.get(module, [])):
            raise ReportError("%s.other_changes.%s: %s not in changed.%s" % (where, module, names, module))
    wrong = [name for name, flag in flags.items() if flag is None]
    if wrong:
        raise ReportError("%s.settings.%s.changed: null, but the changes are known" % (where, wrong[0]))
    count = sum(flags.values()) + sum(map(len, policy["other_changes"].values()))
    if policy["changes"] != count:
        raise ReportError(
            "%s.changes: %r, but %d settings are marked changed and other_changes lists %d"
            % (where, policy["changes"], sum(flags.values()), count - sum(flags.values()))
        )
    if policy["changes"] and not policy["line"]:
        raise ReportError("%s.line: missing for a policy that changed something" % where)


def expected_totals(rows, version=FORMAT_VERSIONS[-1]):
    """The totals the rows give (the filter computes the same on the controller)."""
    totals = {"hosts": len(rows)}
    for status in STATUSES:
        totals[status] = sum(1 for row in rows if row["status"] == status)
    for key in ("mem_total", "mem_available", "swap_total", "swap_used", "oom_kills"):
        totals[key] = sum(row[key] for row in rows if row[key] is not None)
    advice, levels = {}, {}
    for row in rows:
        for advice_id in {item["id"] for item in row["advice"] or []}:
            advice[advice_id] = advice.get(advice_id, 0) + 1
        if row["status"] == "ok":
            levels.setdefault(row["pressure_level"] or "unknown", []).append(row["host"])
    totals["advice"] = advice
    totals["pressure_levels"] = levels
    if version >= 2:
        policies = [row["policy"] for row in rows if row["policy"] is not None]
        totals["policy_hosts"] = len(policies)
        totals["policy_changed"] = sum(1 for policy in policies if policy["changes"])
    return totals


def check_consistency(report):
    """What the types alone cannot say: order, null data of hosts not ok, totals."""
    _check_rows(report["hosts"])
    version = report["format_version"]
    if version >= 2:
        for index, row in enumerate(report["hosts"]):
            if row["policy"] is not None:
                _check_policy(row["policy"], "hosts[%d].policy" % index)
    for key, value in expected_totals(report["hosts"], version).items():
        if report["totals"][key] != value:
            raise ReportError("totals.%s: %r, but the rows give %r" % (key, report["totals"][key], value))


def check_hosts(report, expectations):
    """``NAME`` or ``NAME=STATUS`` expectations from the command line."""
    statuses = {row["host"]: row["status"] for row in report["hosts"]}
    for expectation in expectations:
        name, _sep, status = expectation.partition("=")
        if name not in statuses:
            raise ReportError("hosts: no row for host %s (rows: %s)" % (name, ", ".join(sorted(statuses)) or "none"))
        if status and statuses[name] != status:
            raise ReportError("hosts[%s].status: %s, expected %s" % (name, statuses[name], status))


def check_file(path, expectations=()):
    """Load and check one report.json; raise ReportError (or OSError) on the first problem."""
    with open(path, encoding="utf-8") as handle:
        try:
            report = json.load(handle)
        except ValueError as exc:
            raise ReportError("not JSON: %s" % exc) from exc
    if not isinstance(report, dict):
        raise ReportError("report: expected an object, got %s" % _type_name(report))
    version = report.get("format_version")
    check(version, FORMAT_VERSIONS, "report.format_version")
    check(report, report_spec(version), "report")
    check_consistency(report)
    check_hosts(report, expectations)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("report", help="path of report.json")
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="NAME[=STATUS]",
        help="require a row for NAME (with this status: ok, unreachable, failed, no_facts); repeatable",
    )
    args = parser.parse_args(argv)
    try:
        report = check_file(args.report, args.host)
    except (OSError, ReportError) as exc:
        print("%s: %s" % (args.report, exc), file=sys.stderr)
        return 1
    print("%s: valid memwise report of %d host(s)" % (args.report, len(report["hosts"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
