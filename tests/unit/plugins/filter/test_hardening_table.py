# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hardening_table over registered loop results in the shapes unit_hardening and its action plugin return."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.filter import hardening_table as plugin
from ansible_collections.memwise.linux.plugins.filter.hardening_table import hardening_table


def _args(unit, **extra):
    args = dict(
        unit=unit, profile="baseline", properties={}, exclude=[], ip_allow=[], ip_deny=[], max_exposure=7.0,
        health=None, settle=3.0, live=True, dropin_name="60-memwise-hardening", force=False, state="present",
    )  # fmt: skip
    args.update(extra)
    return {"module_args": args}


# A loop of the hardened_units role: hardened, already hardened, rolled back (the module fails),
# a bad address (the action plugin fails before the module runs), an unknown unit.
HARDENED = {
    "changed": True,
    "exposure": {"before": 9.6, "after": 6.4, "predicted": False},
    "rolled_back": False,
    "reason": None,
    "restarted": True,
    "main_pid": {"before": 412, "after": 977},
    "invocation": _args("memwise-probe.service"),
    "failed": False,
    "item": {"unit": "memwise-probe.service", "profile": "baseline"},
    "ansible_loop_var": "item",
}
UNCHANGED = dict(
    HARDENED,
    changed=False,
    exposure={"before": 6.4, "after": 6.4, "predicted": False},
    restarted=False,
    item={"unit": "memwise-probe.service"},
)
ROLLED_BACK = {
    "changed": False,
    "failed": True,
    "msg": "memwise-probe2.service: health check failed: nothing answers on 127.0.0.1:8082 (Connection refused) "
    "(last journal lines: none); undone: memwise-probe2.service restarted under its previous sandbox and active, "
    "removed /etc/systemd/system/memwise-probe2.service.d/60-memwise-hardening.conf",
    "exposure": {"before": 9.6, "after": 9.6, "predicted": False},
    "rolled_back": True,
    "reason": "health check failed: nothing answers on 127.0.0.1:8082 (Connection refused)",
    "restarted": True,
    "invocation": _args("memwise-probe2.service", properties={"PrivateNetwork": True}),
    "item": {"unit": "memwise-probe2.service", "properties": {"PrivateNetwork": True}, "health": {"port": 8082}},
    "ansible_loop_var": "item",
}
BAD_ADDRESS = {
    "changed": False,
    "failed": True,
    "msg": "ip_allow: '10.0.0.300/8' is not an IP address or network; write e.g. 10.0.0.0/8, 192.168.1.5, ::1 or "
    "one of any, localhost, link-local, multicast; nothing changed",
    "item": {"unit": "web.service", "ip_allow": ["10.0.0.300/8"], "max_exposure": 5.0},
    "ansible_loop_var": "item",
}
# The gate: the offline prediction is above the limit, nothing was written or restarted.
GATED = {
    "changed": False,
    "failed": True,
    "msg": "memwise-probe2.service: exposure 6.4 (predicted with systemd-analyze security --offline) is above "
    "max_exposure 5.0; nothing changed (no drop-in written, no restart). Add settings for the largest remaining "
    "exposures (PrivateNetwork= 0.5) in properties or a stricter profile, or raise max_exposure to 6.4",
    "exposure": {"before": 9.6, "after": 6.4, "predicted": True},
    "rolled_back": False,
    "reason": None,
    "restarted": False,
    "invocation": _args("memwise-probe2.service", max_exposure=5.0),
    "item": {"unit": "memwise-probe2.service", "max_exposure": 5.0},
    "ansible_loop_var": "item",
}
# A removal: the exposure rises above the role's limit, which the module does not apply to it.
REMOVED = dict(
    HARDENED,
    exposure={"before": 6.4, "after": 9.6, "predicted": False},
    invocation=_args("memwise-probe.service", state="absent"),
    item={"unit": "memwise-probe.service", "state": "absent"},
)
PREDICTED_HIGH = {
    "changed": True,
    "exposure": {"before": 9.6, "after": 8.2, "predicted": True},
    "rolled_back": False,
    "reason": None,
    "restarted": False,
    "invocation": _args("cron.service", profile="none", properties={"PrivateTmp": True}),
    "failed": False,
    "item": {"unit": "cron.service", "profile": "none", "properties": {"PrivateTmp": True}},
    "ansible_loop_var": "item",
}


def test_registered_under_its_name():
    assert plugin.FilterModule().filters() == {"hardening_table": hardening_table}


def test_rows_in_loop_order():
    rows = hardening_table({"results": [HARDENED, UNCHANGED, ROLLED_BACK, BAD_ADDRESS], "changed": True})
    assert [(r["unit"], r["status"], r["ok"]) for r in rows] == [
        ("memwise-probe.service", "changed", True),
        ("memwise-probe.service", "unchanged", True),
        ("memwise-probe2.service", "rolled back", False),
        ("web.service", "failed", False),
    ]
    assert rows[0] == {
        "unit": "memwise-probe.service",
        "profile": "baseline",
        "state": "present",
        "before": 9.6,
        "after": 6.4,
        "predicted": False,
        "limit": 7.0,
        "changed": True,
        "restarted": True,
        "rolled_back": False,
        "status": "changed",
        "ok": True,
        "reason": None,
        "summary": "memwise-probe.service: changed",
    }
    assert rows[2]["reason"] == ROLLED_BACK["reason"]
    assert rows[2]["summary"] == "memwise-probe2.service: rolled back (%s)" % ROLLED_BACK["reason"]
    # the action plugin failed before the module ran: no exposure, the limit and unit come from the loop item
    assert (rows[3]["before"], rows[3]["after"], rows[3]["limit"]) == (None, None, 5.0)
    assert rows[3]["reason"] == BAD_ADDRESS["msg"]


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [
        ({}, "would change", None),
        ({"invocation": _args("cron.service", max_exposure=8.0)}, "above limit", "predicted exposure 8.2 is above "
         "max_exposure 8.0"),
        ({"invocation": _args("cron.service", max_exposure=None)}, "would change", None),
        ({"exposure": {"before": 9.6, "after": 9.1, "predicted": False}}, "above limit", "exposure 9.1 is above "
         "max_exposure 8.5"),
        ({"changed": False}, "unchanged", None),
        ({"skipped": True, "changed": False}, "skipped", None),
        ({"failed": True, "msg": "Unit no-such.service not loaded"}, "failed", "Unit no-such.service not loaded"),
        ({"failed": True}, "failed", "failed without a message"),
    ],
)  # fmt: skip
def test_status(changes, status, reason):
    result = copy.deepcopy(PREDICTED_HIGH)
    result["invocation"]["module_args"]["max_exposure"] = 8.5
    result.update(changes)
    row = hardening_table([result])[0]
    assert (row["status"], row["reason"], row["ok"]) == (status, reason, reason is None)


def test_gate_refusal_is_above_limit_and_names_the_message():
    row = hardening_table([GATED])[0]
    assert (row["status"], row["ok"], row["rolled_back"], row["limit"]) == ("above limit", False, False, 5.0)
    assert row["reason"] == GATED["msg"]


def test_absent_units_have_no_limit():
    row = hardening_table([REMOVED])[0]
    assert (row["state"], row["limit"], row["status"], row["ok"]) == ("absent", None, "changed", True)


def test_problems_are_the_summaries_of_the_units_not_ok():
    problems = hardening_table([HARDENED, ROLLED_BACK, REMOVED, GATED], "problems")
    assert problems == [
        "memwise-probe2.service: rolled back (%s)" % ROLLED_BACK["reason"],
        "memwise-probe2.service: above limit (%s)" % GATED["msg"],
    ]
    assert hardening_table([HARDENED, UNCHANGED], "problems") == []


def test_renamed_loop_var_and_string_items():
    result = {k: v for k, v in UNCHANGED.items() if k not in ("item", "invocation")}
    result.update(ansible_loop_var="unit", unit="ssh.service")
    row = hardening_table([result])[0]
    assert (row["unit"], row["profile"], row["limit"], row["status"]) == ("ssh.service", "baseline", None, "unchanged")


def test_lines():
    lines = hardening_table([HARDENED, ROLLED_BACK, BAD_ADDRESS, PREDICTED_HIGH], "lines")
    assert lines[0].split() == ["UNIT", "PROFILE", "EXPOSURE", "ROLLED", "BACK", "STATUS", "REASON"]
    assert lines[1] == "memwise-probe.service   baseline  9.6 -> 6.4              no           changed"
    assert lines[2].startswith("memwise-probe2.service  baseline  9.6 -> 9.6              yes          rolled back")
    assert lines[2].endswith("rolled back  health check failed: nothing answers on 127.0.0.1:8082 (Connection refused)")
    assert lines[3].startswith("web.service             baseline  - -> -                  no           failed")
    assert lines[3].endswith("...") and len(lines[3].split("failed", 1)[1].strip()) == 160
    assert lines[4] == "cron.service            none      9.6 -> 8.2 (predicted)  no           above limit  " + (
        "predicted exposure 8.2 is above max_exposure 7.0"
    )
    assert all(line == line.rstrip() for line in lines)


def test_empty_loop():
    assert hardening_table({"results": [], "changed": False}) == []
    assert hardening_table([], "lines") == ["UNIT  PROFILE  EXPOSURE  ROLLED BACK  STATUS  REASON"]


@pytest.mark.parametrize(
    ("value", "output", "match"),
    [
        (HARDENED, "rows", r"the input is a single task result, not a loop's \(it has no 'results'\)$"),
        ("memwise-probe.service", "rows", r"the input must be a list of loop results, got str$"),
        ([HARDENED], "table", r"output 'table' is not one of rows, lines, problems$"),
        (["memwise-probe.service"], "rows", r"every result must be a dictionary, got 'memwise-probe.service'$"),
    ],
)
def test_errors(value, output, match):
    with pytest.raises(AnsibleFilterError, match=r"^memwise\.linux\.hardening_table: " + match):
        hardening_table(value, output)
