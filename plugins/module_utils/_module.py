# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the shell every memwise.linux module shares - running it, its result and diff shapes.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

The conventions these helpers implement are written down in
``docs/docsite/rst/conventions.rst`` and checked by
``tests/unit/plugins/test_conventions.py``:

- ``new_module(AnsibleModule, **kwargs)``: the module object, with a clear message
  (not a crash inside ansible-core) when an option with sub-options is given a
  scalar, as in ``zswap: true``.
- ``run_module(module, body)``: ``body(module)`` returns the result dict, run under
  the host lock (``_lock.HostLock``) when the module has ``lock_timeout``; a
  MemwiseError becomes ``fail_json`` with its message (and the partial result it
  carries), any other exception becomes ``fail_json`` saying it is a bug, never
  a raw traceback.
- ``settings``: per setting, per layer (``live``, ``file``, ``cgroup``), ``{before, after}``.
- ``diff``: always a list; first the live values that move, one ``name = value``
  line each, then the full text of each file written.
"""

from __future__ import annotations

import math
import traceback

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._lock import HostLock


class _Refused(Exception):
    """ansible-core's own validation failed while the module object was being built."""

    def __init__(self, result):
        super().__init__(result.get("msg"))
        self.result = result


def new_module(module_class, **kwargs):
    """``module_class(**kwargs)`` (AnsibleModule), failing clearly where ansible-core names nothing.

    ansible-core (2.19) does not name the option when a dictionary with sub-options
    is given a scalar: a boolean (``zswap: yes``) crashes its validation with
    ``argument of type 'bool' is not iterable``, a string fails with ``dictionary
    requested, could not parse JSON or key=value``; and an integer option given
    infinity (JSON ``Infinity``, YAML ``.inf``) crashes it with ``OverflowError``.
    When its validation fails or raises, the parameters are read again with those
    options loosened to ``raw`` (``no_log``, so the invocation is logged once) and
    the task fails naming each misshapen option and value; any other validation
    failure keeps ansible-core's message, and nothing ends in a raw traceback.
    """

    class Strict(module_class):
        """Reports a validation failure during construction as ``_Refused`` instead of exiting."""

        _building = True

        def fail_json(self, msg=None, **result):
            if self._building:
                raise _Refused(dict(result, msg=msg))
            return super().fail_json(msg=msg, **result)

    try:
        module = Strict(**kwargs)
    except _Refused as refused:
        _refuse_misshapen(module_class, kwargs, refused.result)
        raise  # not reached: _refuse_misshapen ends the module
    except (OverflowError, TypeError, ValueError, AttributeError) as exc:
        _refuse_misshapen(
            module_class,
            kwargs,
            {
                "msg": "invalid options, nothing changed: ansible-core could "
                "not check them (%s: %s)" % (type(exc).__name__, exc)
            },
        )
        raise
    module._building = False
    return module


def _refuse_misshapen(module_class, kwargs, fallback):
    """Read the parameters with a loosened spec and fail naming each misshapen value (else with ``fallback``)."""
    spec = kwargs["argument_spec"]
    loose = module_class(**dict(kwargs, argument_spec=_loosen(spec), no_log=True))
    problems = _misshapen(spec, loose.params, "")
    if problems:
        loose.fail_json(msg="invalid options, nothing changed: " + "; ".join(problems))
    loose.fail_json(**fallback)


NUMBERS = ("int", "float")


def _loosen(spec):
    """``spec`` with every option that has sub-options, and every number, taken as ``raw``."""
    loose = {}
    for name, option in spec.items():
        if option.get("options") or option.get("type") in NUMBERS:
            loose[name] = {k: v for k, v in option.items() if k in ("aliases", "required", "default")}
            loose[name]["type"] = "raw"
        else:
            loose[name] = option
    return loose


def _not_finite(value):
    if isinstance(value, float):
        return math.isnan(value) or math.isinf(value)
    return isinstance(value, str) and value.strip().lower().lstrip("+-") in ("inf", "infinity", "nan")


def _misshapen(spec, params, prefix):
    """One message per option with sub-options whose value is not a dictionary, and per number
    option given infinity or NaN (searched recursively)."""
    problems = []
    for name, option in spec.items():
        sub = option.get("options")
        value = (params or {}).get(name)
        if value is None:
            continue
        if option.get("type") in NUMBERS and _not_finite(value):
            problems.append(
                "%s%s: %r is not a finite number; give a %s"
                % (prefix, name, value, "whole number" if option["type"] == "int" else "number")
            )
        if not sub:
            continue
        values = value if option.get("type") == "list" and isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, dict):
                problems += _misshapen(sub, item, prefix + name + ".")
                continue
            example = next(iter(sub), "option")
            problems.append(
                "%s%s: expected a dictionary of its options (%s), got %s %r; write it as, for example, "
                "%s: {%s: ...}" % (prefix, name, ", ".join(sorted(sub)), type(item).__name__, item, name, example)
            )
    return problems


def run_module(module, body):
    """Run ``body(module)`` and end the module: ``exit_json`` with its result or ``fail_json`` with the reason.

    ``path`` in a result is the module's own file, not a file the module states as in
    ``ansible.builtin.file``: Ansible's ``add_path_info`` would add (and overwrite) ``state``,
    ``size``, ``mode``, ``uid``... from it, so it is turned off.
    """
    module.add_path_info = _no_path_info
    try:
        if "lock_timeout" in module.params:
            with HostLock(module._name, module.params["lock_timeout"]) as lock:
                if lock.waited_for:
                    module.warn("waited %.0f s for the host lock held by %s" % (lock.waited, lock.waited_for))
                result = body(module)
        else:
            result = body(module)
    except MemwiseError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    except Exception as exc:  # a bug, reported as one instead of a raw traceback
        module.fail_json(
            msg="%s: unexpected %s: %s. This is a bug in memwise.linux; please report it with this task's input"
            % (module._name, type(exc).__name__, exc),
            exception=traceback.format_exc(),
        )
    module.exit_json(**result)


def _no_path_info(kwargs):
    return kwargs


def layer(before, after):
    """One layer of a setting's result."""
    return {"before": before, "after": after}


def changed_settings(settings):
    """Names of the settings where any layer moves, in the order given."""
    return [name for name, layers in settings.items() if any(v["before"] != v["after"] for v in layers.values())]


def live_diff(header, moved):
    """The diff entry of live values: ``moved`` is ``[(name, before, after)]``; only values that differ are shown."""
    moved = [(name, before, after) for name, before, after in moved if before != after]
    return {
        "before_header": header,
        "after_header": header,
        "before": "".join("%s = %s\n" % (name, _text(before)) for name, before, _after in moved),
        "after": "".join("%s = %s\n" % (name, _text(after)) for name, _before, after in moved),
    }


def file_diff(path, before, after):
    """The diff entry of a file: its full text before and after (``""`` when it does not exist)."""
    return {"before_header": path, "after_header": path, "before": before or "", "after": after or ""}


def diff(header, moved, files=()):
    """Ansible's diff in the collection's shape: the live entry, then one entry per ``(path, before, after)``."""
    return [live_diff(header, moved)] + [file_diff(path, before, after) for path, before, after in files]


def settings_diff(header, settings, layer_name="live"):
    """The live diff entry built from a ``settings`` result: the ``layer_name`` values that move."""
    return live_diff(
        header,
        [(name, v[layer_name]["before"], v[layer_name]["after"]) for name, v in settings.items() if layer_name in v],
    )


def _text(value):
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
