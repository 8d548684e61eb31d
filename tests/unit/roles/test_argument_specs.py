# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role's meta/argument_specs.yml is the source of truth: defaults/main.yml must agree with it exactly.

For each entry point's options: a default in the specs is in defaults/main.yml with the same value (and
type), an option without a default is absent from defaults/main.yml or null there, and defaults/main.yml
sets nothing the specs do not document. Public variables carry the role's name as prefix.
"""

from __future__ import annotations

import os

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ROLES_DIR = os.path.join(ROOT, "roles")
ROLES = sorted(r for r in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, r)))


def _load(role, *path):
    with open(os.path.join(ROLES_DIR, role, *path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _options(role):
    """Every option of every entry point, name -> spec (one name must mean one thing across entry points)."""
    options = {}
    for entry, spec in _load(role, "meta", "argument_specs.yml")["argument_specs"].items():
        for name, option in (spec.get("options") or {}).items():
            assert options.get(name, option) == option, "%s: %s differs between entry points (%s)" % (role, name, entry)
            options[name] = option
    return options


def test_there_are_roles():
    assert "hardened_units" in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_defaults_agree_with_argument_specs(role):
    options, defaults = _options(role), _load(role, "defaults", "main.yml") or {}
    undocumented = sorted(set(defaults) - set(options))
    assert undocumented == [], "%s: defaults/main.yml sets variables the argument specs do not document" % role
    for name, option in options.items():
        if "default" in option:
            assert name in defaults, "%s: %s has a default in the specs but not in defaults/main.yml" % (role, name)
            assert defaults[name] == option["default"], "%s: %s" % (role, name)
            assert type(defaults[name]) is type(option["default"]), "%s: %s" % (role, name)
        else:
            assert defaults.get(name) is None, "%s: %s has no default in the specs but one in defaults" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_options_are_documented_and_prefixed(role):
    for name, option in _options(role).items():
        assert name.startswith(role + "_"), "%s: public variable %s lacks the role's prefix" % (role, name)
        assert option.get("description"), "%s: %s has no description" % (role, name)
        assert option.get("type"), "%s: %s has no type" % (role, name)
        if option.get("required"):
            assert "default" not in option, "%s: %s is required and has a default" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_suboptions_have_types_and_descriptions(role):
    def walk(options, where):
        for name, option in (options or {}).items():
            assert option.get("type") and option.get("description"), "%s: %s%s" % (role, where, name)
            walk(option.get("options"), "%s%s." % (where, name))

    walk(_options(role), "")
