# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conventions of docs/docsite/rst/conventions.rst, checked on every module.

Each module's argument spec is captured by stopping ``AnsibleModule`` at
construction; its DOCUMENTATION and RETURN are parsed from the source. A name
or a shape that breaks the conventions fails here with the module and the rule.
"""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest
import yaml
from ansible.module_utils import basic

from ansible_collections.memwise.linux.plugins.module_utils import _module

ROOT = pathlib.Path(__file__).resolve().parents[3]
ALL_MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
# Documentation of an action plugin that does the work on the controller (no main()).
DOC_ONLY = [m for m in ALL_MODULES if "def main" not in (ROOT / "plugins" / "modules" / (m + ".py")).read_text()]
MODULES = [m for m in ALL_MODULES if m not in DOC_ONLY]
APPLY = [m for m in MODULES if m != "memory_facts"]

# One name per concept: (type, default) where a module has the option. None: any default.
COMMON_OPTIONS = {
    "state": ("str", "present"),
    "live": ("bool", True),
    "persist": ("bool", True),
    "path": ("path", None),
    "device": ("path", None),
    "dropin_name": ("str", None),
    "unit": ("str", None),
    "force": ("bool", False),
    "backup": ("bool", False),
    "size": ("raw", None),
    "max_size": ("raw", None),
    "priority": ("int", None),
    "lock_timeout": ("float", 60),
}
# Old dialects that must not come back, as options.
RETIRED_OPTIONS = {"runtime", "restart", "config_path", "dropin", "swap_path", "file"}
# Every apply module returns these, with these types.
REQUIRED_RETURNS = {
    "settings": "dict",
    "changed_settings": "list",
    "actions": "list",
    "path": "str",
    "file_text": "str",
}
RETIRED_RETURNS = {
    "keys",
    "properties",
    "changed_keys",
    "changed_properties",
    "dropin",
    "dropin_text",
    "config_path",
    "config_text",
    "before",
    "after",
    "disk_size",
    "commands",
}


class _Stop(Exception):
    pass


def _spec(name, monkeypatch):
    """The keyword arguments ``main()`` gives ``AnsibleModule`` (argument_spec and friends)."""
    seen = {}

    def capture(self, *args, **kwargs):
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(basic.AnsibleModule, "__init__", capture)
    # new_module may first read the parameters with a loosened spec; the spec under test is the real one.
    monkeypatch.setattr(_module, "new_module", lambda module_class, **kwargs: module_class(**kwargs))
    module = importlib.import_module("ansible_collections.memwise.linux.plugins.modules." + name)
    with pytest.raises(_Stop):
        module.main()
    return seen


def _source(name):
    return (ROOT / "plugins" / "modules" / (name + ".py")).read_text()


def _constant(name, constant):
    for node in ast.parse(_source(name)).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == constant:
            return node.value.value
    raise AssertionError("%s has no %s" % (name, constant))


def _doc(name):
    """The module's DOCUMENTATION with the options of the collection's doc fragments it extends merged in."""
    doc = yaml.safe_load(_constant(name, "DOCUMENTATION"))
    for fragment in doc.get("extends_documentation_fragment") or []:
        parts = fragment.split(".")  # memwise.linux.PLUGIN[.VARIABLE]
        plugin, variable = parts[2], (parts[3:] or ["DOCUMENTATION"])[0]
        source = importlib.import_module("ansible_collections.memwise.linux.plugins.doc_fragments." + plugin)
        options = yaml.safe_load(getattr(source.ModuleDocFragment, variable)).get("options") or {}
        doc.setdefault("options", {}).update(options)
    return doc


def _returns(name):
    return yaml.safe_load(_constant(name, "RETURN")) or {}


@pytest.mark.parametrize("name", MODULES)
def test_common_options_have_one_name_type_and_default(name, monkeypatch):
    spec = _spec(name, monkeypatch)["argument_spec"]
    problems = []
    for option, (kind, default) in COMMON_OPTIONS.items():
        if option not in spec:
            continue
        if spec[option].get("type", "str") != kind:
            problems.append("%s: type %s, the conventions say %s" % (option, spec[option].get("type", "str"), kind))
        if default is not None and spec[option].get("default") != default:
            problems.append("%s: default %r, the conventions say %r" % (option, spec[option].get("default"), default))
    problems += ["%s: a retired name (see conventions.rst)" % option for option in RETIRED_OPTIONS & set(spec)]
    assert not problems, "%s: %s" % (name, "; ".join(problems))


@pytest.mark.parametrize("name", APPLY)
def test_apply_modules_have_state_present_absent_and_check_mode(name, monkeypatch):
    captured = _spec(name, monkeypatch)
    spec = captured["argument_spec"]
    assert captured.get("supports_check_mode") is True, name
    assert "state" in spec, "%s has no state option" % name
    assert "lock_timeout" in spec, "%s does not take the host lock (lock_timeout)" % name
    assert sorted(spec["state"]["choices"]) == ["absent", "present"], name


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_the_argument_spec_names(name, monkeypatch):
    spec = _spec(name, monkeypatch)["argument_spec"]
    assert sorted(_doc(name).get("options") or {}) == sorted(spec), name


@pytest.mark.parametrize("name", MODULES)
def test_return_and_examples_blocks_start_with_the_document_marker(name):
    for constant in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
        assert _constant(name, constant).lstrip("\n").startswith("---"), "%s: %s lacks ---" % (name, constant)


@pytest.mark.parametrize("name", APPLY)
def test_apply_modules_return_the_common_shape(name):
    returns = _returns(name)
    problems = []
    for key, kind in REQUIRED_RETURNS.items():
        if key not in returns:
            problems.append("%s is not returned" % key)
        elif returns[key].get("type") != kind:
            problems.append("%s has type %s, the conventions say %s" % (key, returns[key].get("type"), kind))
        elif returns[key].get("returned") != "always":
            problems.append("%s is returned %r, the conventions say always" % (key, returns[key].get("returned")))
    problems += ["%s: a retired return name (see conventions.rst)" % key for key in RETIRED_RETURNS & set(returns)]
    assert not problems, "%s: %s" % (name, "; ".join(problems))


@pytest.mark.parametrize("name", MODULES)
def test_every_return_key_says_when_and_what(name):
    missing = [
        key for key, value in _returns(name).items() if not {"description", "returned", "type"} <= set(value or {})
    ]
    assert not missing, "%s: RETURN keys without description/returned/type: %s" % (name, missing)


@pytest.mark.parametrize("name", APPLY)
def test_settings_sample_has_layers_with_before_and_after(name):
    sample = _returns(name)["settings"].get("sample")
    assert sample, "%s: settings has no sample" % name
    for setting, layers in sample.items():
        assert layers and set(layers) <= {"live", "file", "cgroup"}, "%s: %s layers %s" % (name, setting, layers)
        for layer, values in layers.items():
            assert set(values) == {"before", "after"}, "%s: %s.%s is %r" % (name, setting, layer, values)


@pytest.mark.parametrize("name", MODULES)
def test_seealso_names_a_related_module(name):
    related = [entry["module"] for entry in _doc(name).get("seealso") or [] if "module" in entry]
    assert any(m.startswith("memwise.linux.") for m in related), "%s: seealso names no memwise.linux module" % name


def _main(name):
    for node in ast.parse(_source(name)).body:
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            return node
    raise AssertionError("%s has no main()" % name)


@pytest.mark.parametrize("name", MODULES)
def test_main_ends_through_run_module(name):
    calls = [n for n in ast.walk(_main(name)) if isinstance(n, ast.Call)]
    names = {getattr(c.func, "attr", getattr(c.func, "id", None)) for c in calls}
    assert "run_module" in names, "%s: main() does not call _module.run_module" % name
    assert not names & {"fail_json", "exit_json"}, "%s: main() ends the module itself" % name
    assert not [n for n in ast.walk(_main(name)) if isinstance(n, ast.Try)], "%s: main() has its own try" % name


@pytest.mark.parametrize("name", APPLY)
def test_diffs_are_built_by_the_shared_helpers(name):
    """No module builds a diff by hand (a dict or list literal assigned to result["diff"])."""
    tree = ast.parse(_source(name))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            key = getattr(getattr(target, "slice", None), "value", None)
            if isinstance(target, ast.Subscript) and key == "diff":
                assert not isinstance(node.value, (ast.Dict, ast.List)), "%s builds its diff by hand" % name
    assert "_module" in _source(name), "%s does not use _module" % name


def test_every_module_is_checked():
    assert set(APPLY) == {"mm_tunables", "oomd", "swap", "sysctl", "unit_hardening", "unit_resources", "zram"}


def test_the_conventions_guide_names_every_common_option():
    guide = (ROOT / "docs" / "docsite" / "rst" / "conventions.rst").read_text()
    assert not [option for option in COMMON_OPTIONS if "``%s``" % option not in guide]
    assert not [key for key in REQUIRED_RETURNS if "``%s``" % key not in guide]


def test_doc_only_modules_document_an_action_plugin():
    assert DOC_ONLY == ["report_files"]
    for name in DOC_ONLY:
        assert (ROOT / "plugins" / "action" / (name + ".py")).exists(), "%s documents no action plugin" % name
        assert _doc(name)["module"] == name
        assert _constant(name, "EXAMPLES").startswith("\n---") and _constant(name, "RETURN")
