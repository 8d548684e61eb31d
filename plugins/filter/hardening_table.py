# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
---
name: hardening_table
short_description: One row per unit from the registered results of a unit_hardening loop
version_added: 0.1.0
author:
  - memwise.linux contributors (@memwise)
description:
  - Turns the registered result of a looped M(memwise.linux.unit_hardening) task (its C(results) list, or the
    registered variable itself) into one row per unit, or into the lines of a plain-text table. The role
    P(memwise.linux.hardened_units#role) prints its summary and decides
    whether to fail the play with it.
  - "The status of a unit is one of: V(unchanged) (the drop-in already held the settings), V(changed), V(would change)
    (check mode), V(rolled back) (the module undid the change: the service broke, did not stay up, or the measured
    exposure stayed above the limit), V(above limit) (the exposure, or the predicted exposure, is above the limit:
    the module's gate refused the change before writing anything, or check mode predicts so), V(failed) (any other
    failure: bad input, unknown unit, no systemd) or V(skipped)."
  - The limit of a unit is the O(memwise.linux.unit_hardening#module:max_exposure) the module was called with
    (from the result's C(invocation)), else the C(max_exposure) of the loop item, else none. A V(absent) unit has
    none (the module applies no limit to a removal).
  - The loop item is the loop variable of the task (C(item) unless C(loop_control.loop_var) renamed it); when it is
    a dictionary its C(unit) names the unit, when it is a string it is the unit.
positional: output
options:
  _input:
    description: The C(results) list of a looped, registered unit_hardening task, or the registered variable itself.
    type: raw
    required: true
  output:
    description:
      - V(rows) returns a list of dictionaries (see RV(_value)).
      - V(lines) returns the lines of a plain-text table with a header line, for M(ansible.builtin.debug).
      - V(problems) returns the RV(_value[].summary) of every unit that is not RV(_value[].ok), for a failure
        message.
    type: str
    choices: [rows, lines, problems]
    default: rows
seealso:
  - module: memwise.linux.unit_hardening
  - plugin: memwise.linux.hardening_report
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Harden several units, continuing past the ones that fail
  memwise.linux.unit_hardening:
    unit: "{{ item.unit }}"
    profile: "{{ item.profile | default(omit) }}"
    max_exposure: 7.0
  loop: [{unit: cron.service}, {unit: nginx.service, profile: strict}]
  register: hardened
  ignore_errors: true

- name: Print one line per unit
  ansible.builtin.debug:
    msg: "{{ hardened | memwise.linux.hardening_table('lines') }}"
    # UNIT           PROFILE   EXPOSURE    ROLLED BACK  STATUS   REASON
    # cron.service   baseline  9.6 -> 6.4  no           changed
    # nginx.service  strict    9.2 -> 9.2  yes          rolled back  health check failed: ...

- name: The units that were not hardened as asked
  ansible.builtin.debug:
    msg: "{{ hardened | memwise.linux.hardening_table | rejectattr('ok') | map(attribute='unit') }}"
"""

RETURN = r"""
---
_value:
  description:
    - With O(output=rows), one dictionary per loop item, in loop order.
    - With O(output=lines), the lines (strings) of a table with the columns UNIT, PROFILE, EXPOSURE (before -> after,
      C(predicted) in check mode), ROLLED BACK, STATUS and REASON (its first line, shortened to 160 characters).
    - With O(output=problems), the summaries (strings) of the units that are not RV(_value[].ok).
  type: list
  elements: raw
  contains:
    unit:
      description: The unit.
      type: str
    profile:
      description: The profile asked for (V(baseline) when the call did not say).
      type: str
    state:
      description: V(present) or V(absent).
      type: str
    before:
      description: The exposure before the call (0.0..10.0); V(null) when the module did not measure it.
      type: float
    after:
      description: The exposure after the call, or the prediction in check mode; V(null) when not measured.
      type: float
    predicted:
      description: Whether RV(_value[].after) is a check mode prediction.
      type: bool
    limit:
      description: The highest exposure accepted; V(null) for no limit.
      type: float
    changed:
      description: Whether the task reported a change (a rolled back call reports one too).
      type: bool
    restarted:
      description: Whether the service was restarted.
      type: bool
    rolled_back:
      description: Whether the module undid the change.
      type: bool
    status:
      description: V(unchanged), V(changed), V(would change), V(rolled back), V(above limit), V(failed) or V(skipped).
      type: str
    ok:
      description: False when the unit was rolled back, is above its limit or failed.
      type: bool
    reason:
      description: Why the unit is not V(ok) (the module's reason or message); V(null) when it is.
      type: str
    summary:
      description: "C(UNIT: STATUS (REASON)), for messages."
      type: str
"""

PROFILE_DEFAULT = "baseline"
REASON_WIDTH = 160
COLUMNS = ("UNIT", "PROFILE", "EXPOSURE", "ROLLED BACK", "STATUS", "REASON")


def _fail(message):
    raise AnsibleFilterError("memwise.linux.hardening_table: %s" % message)


def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _status(result, after, limit, predicted):
    """(status, reason) of one loop result."""
    if result.get("skipped"):
        return "skipped", None
    if result.get("rolled_back"):
        return "rolled back", result.get("reason") or result.get("msg") or "rolled back"
    above = limit is not None and after is not None and after > limit
    if result.get("failed"):
        # a failure with the exposure above the limit is the module's gate: nothing was changed
        return ("above limit" if above else "failed"), str(result.get("msg") or "failed without a message")
    if above:
        return "above limit", "%sexposure %.1f is above max_exposure %.1f" % (
            "predicted " if predicted else "",
            after,
            limit,
        )
    if not result.get("changed"):
        return "unchanged", None
    return ("would change" if predicted else "changed"), None


def _row(result):
    if not isinstance(result, Mapping):
        _fail("every result must be a dictionary, got %r" % (result,))
    item = result.get(result.get("ansible_loop_var") or "item")
    item = item if isinstance(item, Mapping) else {"unit": item}
    args = (result.get("invocation") or {}).get("module_args")
    args = args if isinstance(args, Mapping) else {}
    exposure = result.get("exposure") if isinstance(result.get("exposure"), Mapping) else {}
    before, after = _number(exposure.get("before")), _number(exposure.get("after"))
    predicted = bool(exposure.get("predicted"))
    state = args.get("state") or item.get("state") or "present"
    limit = _number(args["max_exposure"] if "max_exposure" in args else item.get("max_exposure"))
    limit = limit if state == "present" else None
    status, reason = _status(result, after, limit, predicted)
    unit = str(args.get("unit") or item.get("unit") or "?")
    return {
        "unit": unit,
        "profile": args.get("profile") or item.get("profile") or PROFILE_DEFAULT,
        "state": state,
        "before": before,
        "after": after,
        "predicted": predicted,
        "limit": limit,
        "changed": bool(result.get("changed")),
        "restarted": bool(result.get("restarted")),
        "rolled_back": bool(result.get("rolled_back")),
        "status": status,
        "ok": reason is None,
        "reason": reason,
        "summary": "%s: %s%s" % (unit, status, " (%s)" % reason if reason else ""),
    }


def _exposure(row):
    text = "%s -> %s" % tuple("-" if v is None else "%.1f" % v for v in (row["before"], row["after"]))
    return text + " (predicted)" if row["predicted"] else text


def _short(reason):
    line = (reason or "").strip().splitlines()[0] if reason and reason.strip() else ""
    return line if len(line) <= REASON_WIDTH else line[: REASON_WIDTH - 3] + "..."


def _lines(rows):
    cells = [COLUMNS] + [
        (r["unit"], r["profile"], _exposure(r), "yes" if r["rolled_back"] else "no", r["status"], _short(r["reason"]))
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS) - 1)]
    return ["  ".join(c[i].ljust(widths[i]) for i in range(len(widths))) + "  " + c[-1] for c in cells]


def hardening_table(results, output="rows"):
    """The rows (or table lines) of a looped unit_hardening task's results; see DOCUMENTATION."""
    if isinstance(results, Mapping):
        if "results" not in results:
            _fail("the input is a single task result, not a loop's (it has no 'results')")
        results = results["results"]
    if not isinstance(results, (list, tuple)):
        _fail("the input must be a list of loop results, got %s" % type(results).__name__)
    if output not in ("rows", "lines", "problems"):
        _fail("output %r is not one of rows, lines, problems" % (output,))
    rows = [_row(result) for result in results]
    if output == "problems":
        return [row["summary"] for row in rows if not row["ok"]]
    return rows if output == "rows" else [line.rstrip() for line in _lines(rows)]


class FilterModule:
    """memwise.linux.hardening_table."""

    def filters(self):
        return {"hardening_table": hardening_table}
