# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile and mistaken input (issue 17, part 4): one table across the modules, the filters and the role.

Each row is ``(target, input, fragment, names)``: the module, filter or role entry point, what a
user might give it, a fragment of the message it must fail with, and the words the message must
contain so it names the option (or key) and the value. Modules run their real ``main()``, not in
check mode, on ``hostile_sandbox.Sandbox`` (a copy of a captured host below tmp_path, commands
recorded, writes outside tmp_path refused): a refused input must end with rc 1, no mutating
command, no file, link or mode changed in the sandbox, and no "This is a bug" message.

The second test feeds seeded random hostile values (wrong types, huge and negative numbers,
newlines, NUL bytes, shell syntax, ``../``) to every option of every module's argument spec in
check mode, and asserts only that no run ends with an unexpected exception or changes anything;
ansible's own validation messages are fine there. Set MEMWISE_HOSTILE_SEED to replay a seed.
"""

from __future__ import annotations

import importlib
import os
import random

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.module_utils import basic
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.memwise.linux.plugins.filter import (
    fleet_summary,
    human_bytes,
    memory_plan,
    policy_changes,
    to_bytes,
)
from ansible_collections.memwise.linux.plugins.module_utils import _module
from ansible_collections.memwise.linux.plugins.module_utils._command import Runner

from .hostile_sandbox import Sandbox
from .test_conventions import MODULES, ROOT, _spec

BUG = ("This is a bug", "unexpected ", "Traceback")
FILTERS = {
    "to_bytes": to_bytes.to_bytes,
    "human_bytes": human_bytes.human_bytes,
    "memory_plan": memory_plan.memory_plan,
    "policy_changes": policy_changes.policy_changes,
    "fleet_summary": fleet_summary.fleet_summary,
}
SYSCTL = "{root}/etc/sysctl.d/90-memwise.conf"
MM = "{root}/etc/tmpfiles.d/memwise-mm.conf"
SWAPFILE = "{root}/swapfile"
SSH = {"unit": "ssh.service"}
FACTS = {"meminfo": {"MemTotal": 4 << 30}, "swaps": [], "summary": {}}

# (target, input, fragment of the message, words that name the option or key and the value).
# Module inputs get "{root}" replaced by the sandbox's host root; filter inputs are (args, kwargs).
CASES = [
    # sysctl: keys and values of the kernel, the owned file's path
    ("sysctl", {"settings": {"vm.swappiness": 300}}, "is outside 0..200", ("vm.swappiness", "300")),
    ("sysctl", {"settings": {"vm.swappiness": -1}}, "is outside 0..200", ("vm.swappiness", "-1")),
    ("sysctl", {"settings": {"vm.swappiness": 2**70}}, "is outside 0..200", ("vm.swappiness", str(2**70))),
    ("sysctl", {"settings": {"vm.swappiness": True}}, "", ("vm.swappiness", "True")),
    ("sysctl", {"settings": {"vm.swapiness": 10}}, "no such key", ("vm.swapiness",)),
    (
        "sysctl",
        {"settings": {"vm.swappiness": "10\nvm.overcommit_memory = 1"}},
        "takes an integer",
        ("vm.swappiness", "overcommit"),
    ),
    ("sysctl", {"settings": {"vm.swappiness; reboot": 1}}, "", ("vm.swappiness; reboot",)),
    ("sysctl", {"settings": {"../../etc/shadow": 1}}, "", ("../../etc/shadow",)),
    ("sysctl", {"settings": {"vm.dirty_ratio": "20%"}}, "", ("vm.dirty_ratio", "20%")),
    ("sysctl", {"settings": "vm.swappiness=10"}, "", ("settings", "vm.swappiness=10")),
    ("sysctl", {"settings": {"vm.swappiness": 10}, "path": "90-memwise.conf"}, "is not absolute", ("path",)),
    ("sysctl", {"settings": {"vm.swappiness": 10}, "path": "/proc/sys/vm/x.conf"}, "on proc", ("path",)),
    ("sysctl", {"settings": {"vm.swappiness": 10}, "path": "{root}/run/memwise/x.conf"}, "on tmpfs", ("path",)),
    ("sysctl", {"settings": {"vm.swappiness": 10}, "path": "{root}/etc/sysctl.d/escape.conf"}, "", ("escape",)),
    ("sysctl", {"settings": {"vm.swappiness": 10}, "on_shadowed": "maybe"}, "", ("on_shadowed", "maybe")),
    ("sysctl", {"settings": {"vm.swappiness": 10}, "setings": {}}, "Unsupported parameters", ("setings",)),
    # mm_tunables: sub-option dictionaries, kernel choices, the owned file's path
    ("mm_tunables", {"zswap": True}, "expected a dictionary", ("zswap", "True")),
    ("mm_tunables", {"thp": "never"}, "expected a dictionary", ("thp", "never")),
    ("mm_tunables", {"thp": {"enabled": "sometimes"}}, "not one of this kernel", ("thp.enabled", "sometimes")),
    ("mm_tunables", {"thp": {"enabled": True}}, "", ("thp.enabled", "True")),
    ("mm_tunables", {"thp": {"enabled": "never\nalways"}}, "", ("thp.enabled",)),
    ("mm_tunables", {"thp": {"enabeld": "never"}}, "", ("enabeld",)),
    ("mm_tunables", {"zswap": {"max_pool_percent": 150}}, "", ("max_pool_percent", "150")),
    ("mm_tunables", {"zswap": {"max_pool_percent": -5}}, "", ("max_pool_percent", "-5")),
    ("mm_tunables", {"zswap": {"compressor": "zstd; reboot"}}, "", ("compressor", "zstd; reboot")),
    ("mm_tunables", {"ksm": {"pages_to_scan": 2**70}}, "", ("pages_to_scan", str(2**70))),
    ("mm_tunables", {"mglru": {"min_ttl_ms": -1}}, "", ("min_ttl_ms", "-1")),
    ("mm_tunables", {"thp": {"enabled": "never"}, "path": "memwise-mm.conf"}, "is not absolute", ("path",)),
    ("mm_tunables", {"thp": {"enabled": "never"}, "path": "/sys/kernel/mm/x.conf"}, "on sysfs", ("path",)),
    ("mm_tunables", {"thp": {"enabled": "never"}, "path": "{root}/run/memwise/mm.conf"}, "on tmpfs", ("path",)),
    # swap: sizes, priorities, where the swap file may be
    ("swap", {"device": SWAPFILE, "size": "2GG"}, "", ("size", "2GG")),
    ("swap", {"device": SWAPFILE, "size": "1,5G"}, "", ("size", "1,5G")),
    ("swap", {"device": SWAPFILE, "size": "-1G"}, "", ("size", "-1G")),
    ("swap", {"device": SWAPFILE, "size": 2**70}, "", ("size", str(2**70))),
    ("swap", {"device": SWAPFILE, "size": "150%"}, "", ("size", "150%")),
    ("swap", {"device": SWAPFILE, "size": True}, "", ("size", "True")),
    ("swap", {"device": SWAPFILE, "size": "1G", "priority": 40000}, "", ("priority", "40000")),
    ("swap", {"device": SWAPFILE, "size": "1G", "priority": -5}, "", ("priority", "-5")),
    ("swap", {"device": SWAPFILE, "size": "1G", "discard": "sometimes"}, "", ("discard", "sometimes")),
    ("swap", {"device": "swapfile", "size": "1G"}, "", ("device", "swapfile")),
    ("swap", {"device": "/proc/swapfile", "size": "1G"}, "", ("device", "/proc/swapfile")),
    ("swap", {"device": "{root}/run/memwise/swapfile", "size": "1G"}, "", ("device", "tmpfs")),
    ("swap", {"device": "{root}/swap\nfile", "size": "1G"}, "", ("device",)),
    ("swap", {"device": SWAPFILE, "size": "1G", "sise": "2G"}, "Unsupported parameters", ("sise",)),
    # zram: sizes and percentages, the kernel's algorithms, counts
    ("zram", {"size": "150%"}, "is more than 100%", ("size", "150%")),
    ("zram", {"size": "lots"}, "is not a size", ("size", "lots")),
    ("zram", {"size": "-50%"}, "", ("size", "-50%")),
    ("zram", {"size": None}, "no value", ("size", "None")),
    ("zram", {"size": True}, "", ("size", "True")),
    ("zram", {"size": "50%", "max_size": "50%"}, "is a percentage", ("max_size", "50%")),
    ("zram", {"size": "2G", "max_size": "1G"}, "caps a percentage", ("max_size", "2G")),
    ("zram", {"priority": 40000}, "is outside -1..32767", ("priority", "40000")),
    ("zram", {"devices": 0}, "give 1 or more", ("devices", "0")),
    ("zram", {"devices": -3}, "give 1 or more", ("devices", "-3")),
    ("zram", {"algorithm": "zstd; reboot"}, "is not one this kernel offers", ("algorithm", "zstd; reboot")),
    ("zram", {"algorithm": "../../lz4"}, "is not one this kernel offers", ("algorithm", "../../lz4")),
    # oomd: settings of oomd.conf, the drop-in name
    ("oomd", {"settings": {"SwapUsedLimit": "120%"}}, "is above 100%", ("SwapUsedLimit", "120%")),
    ("oomd", {"settings": {"SwapUsedLimit": True}}, "", ("SwapUsedLimit", "True")),
    ("oomd", {"settings": {"DefaultMemoryPressureDurationSec": "-5s"}}, "", ("DurationSec", "-5s")),
    ("oomd", {"settings": {"DefaultMemoryPressureLimit": "60%\n[OOM]"}}, "", ("DefaultMemoryPressureLimit",)),
    ("oomd", {"settings": {"SwapUsedLimt": "90%"}}, "", ("SwapUsedLimt",)),
    ("oomd", {"settings": ["SwapUsedLimit"]}, "unable to convert to dict", ("settings", "list")),
    ("oomd", {"settings": {"SwapUsedLimit": "90%"}, "dropin_name": "../evil"}, "plain file name", ("../evil",)),
    ("oomd", {"settings": {"SwapUsedLimit": "90%"}, "dropin_name": "a\nb"}, "plain file name", ("'a\\nb'",)),
    ("oomd", {"settings": {"SwapUsedLimit": "90%"}, "dropin_name": "x;reboot"}, "plain file name", ("x;reboot",)),
    ("oomd", {"settings": {"SwapUsedLimit": "90%"}, "dropin_name": "a\0b"}, "plain file name", ("'a\\x00b'",)),
    ("oomd", {"settings": {"SwapUsedLimit": "90%"}, "live": False, "persist": False}, "", ("live", "persist")),
    # unit_resources: unit names, property names and values
    (
        "unit_resources",
        {"unit": "ssh.service;rm -rf /"},
        "';', which a unit name cannot",
        ("unit", "ssh.service;rm -rf /"),
    ),
    ("unit_resources", {"unit": "../etc/passwd.service"}, "contains '/'", ("unit", "../etc/passwd.service")),
    ("unit_resources", {"unit": "ssh.service\nfoo"}, "contains '\\n'", ("unit", "ssh.service\\nfoo")),
    ("unit_resources", {"unit": ""}, "", ("unit", "''")),
    ("unit_resources", {"unit": "sshd"}, "", ("unit", "sshd")),
    ("unit_resources", {"unit": "ssh.bogus"}, "", ("unit", "ssh.bogus")),
    ("unit_resources", dict(SSH, properties={"MemoryHigh": "1GG"}), "", ("MemoryHigh", "1GG")),
    ("unit_resources", dict(SSH, properties={"MemoryHigh": "150%"}), "", ("MemoryHigh", "150%")),
    ("unit_resources", dict(SSH, properties={"MemoryMax": -1}), "", ("MemoryMax", "-1")),
    ("unit_resources", dict(SSH, properties={"MemoryHigh": "1G\nExecStart=/bin/sh"}), "", ("MemoryHigh",)),
    ("unit_resources", dict(SSH, properties={"MemoryHihg": "1G"}), "", ("MemoryHihg",)),
    ("unit_resources", dict(SSH, properties={"MemoryHigh": True}), "", ("MemoryHigh", "True")),
    ("unit_resources", dict(SSH, properties={"TasksMax": 2**70}), "", ("TasksMax", str(2**70))),
    ("unit_resources", dict(SSH, properties="MemoryHigh=1G"), "", ("properties", "MemoryHigh=1G")),
    ("unit_resources", dict(SSH, properties={"MemoryHigh": "1G"}, dropin_name="../x"), "plain file", ("../x",)),
    # unit_hardening: unit names, profiles, the exposure gate, the health check
    ("unit_hardening", {"unit": "ssh.socket"}, "is not a service", ("unit", "ssh.socket")),
    ("unit_hardening", {"unit": "$(reboot).service"}, "contains '$'", ("unit", "$(reboot).service")),
    ("unit_hardening", dict(SSH, profile="paranoid"), "", ("profile", "paranoid")),
    ("unit_hardening", dict(SSH, max_exposure=11), "is out of range", ("max_exposure", "11")),
    ("unit_hardening", dict(SSH, max_exposure=-1), "is out of range", ("max_exposure", "-1")),
    ("unit_hardening", dict(SSH, settle=-1), "is negative", ("settle", "-1")),
    ("unit_hardening", dict(SSH, settle=1e9), "more than an hour", ("settle", "1000000000")),
    ("unit_hardening", dict(SSH, health={"port": 70000}), "is not a TCP port", ("health.port", "70000")),
    ("unit_hardening", dict(SSH, health={"port": 22, "host": "127.0.0.1; reboot"}), "", ("health.host", "; reboot")),
    ("unit_hardening", dict(SSH, health={"port": 22, "timeout": -1}), "", ("health.timeout", "-1")),
    ("unit_hardening", dict(SSH, health={}), "neither port nor command", ("health", "{")),
    ("unit_hardening", dict(SSH, health={"command": ["", "x\0y"]}), "non-empty words", ("health.command",)),
    ("unit_hardening", dict(SSH, properties={"ProtectSystem": "strict\nExecStart=/bin/sh"}), "", ("ProtectSystem",)),
    ("unit_hardening", dict(SSH, properties={"NoSuchThing": "yes"}), "", ("NoSuchThing",)),
    ("unit_hardening", dict(SSH, exclude=["NotASetting"]), "", ("exclude", "NotASetting")),
    ("unit_hardening", dict(SSH, ip_allow=["10.0.0.300/8"]), "", ("IPAddressAllow", "10.0.0.300/8")),
    ("unit_hardening", dict(SSH, dropin_name="a b"), "plain file name", ("dropin_name", "'a b'")),
    # memory_facts: unit names and sections
    ("memory_facts", {"units": ["a\nb.service"]}, "contains '\\n'", ("units", "a\\nb.service")),
    ("memory_facts", {"units": ["../x.service"]}, "contains '/'", ("units", "../x.service")),
    ("memory_facts", {"units": [""]}, "", ("units", "''")),
    ("memory_facts", {"units": ["ssh.service nginx.service"]}, "", ("units", "ssh.service nginx.service")),
    ("memory_facts", {"gather_subset": ["meminfo", "bogus"]}, "unknown section", ("gather_subset", "bogus")),
    ("memory_facts", {"gather_subset": ["!nope"]}, "unknown section", ("gather_subset", "!nope")),
    # filters: (args, kwargs)
    ("to_bytes", (["2GG"], {}), "", ("2GG",)),
    ("to_bytes", (["-1G"], {}), "", ("-1G",)),
    ("to_bytes", ([True], {}), "", ("True",)),
    ("to_bytes", (["150%"], {"total": "8G"}), "", ("150%",)),
    ("to_bytes", (["50%"], {}), "", ("50%",)),
    ("to_bytes", (["1G"], {"total": "lots"}), "", ("total", "lots")),
    ("human_bytes", ([[1]], {}), "", ("[1]",)),
    ("human_bytes", (["abc"], {}), "", ("abc",)),
    ("human_bytes", ([1024], {"precision": -1}), "", ("precision", "-1")),
    ("memory_plan", ([FACTS, "paranoid"], {}), "", ("paranoid",)),
    ("memory_plan", ([FACTS], {"overrides": {"swp": {"size": "1G"}}}), "", ("swp",)),
    ("memory_plan", ([FACTS], {"overrides": {"swap": "off"}}), "give a dict", ("memory_policy_overrides.swap",)),
    ("memory_plan", ([FACTS], {"protect": [{"unit": "../x.service"}]}), "", ("../x.service",)),
    ("memory_plan", ([FACTS], {"limit": [{"unit": "x.slice", "high": "150%"}]}), "", ("high", "150%")),
    ("memory_plan", ([FACTS], {"oomd": "maybe"}), "", ("oomd", "maybe")),
    ("memory_plan", ([FACTS], {"oomd": False}), "choose one of", ("memory_policy_oomd", "False")),
    ("policy_changes", (["x"], {}), "not a memory plan", ("input",)),
    ("policy_changes", ([{"profile": "server"}], {"sysctll": {}}), "unknown result", ("sysctll",)),
    ("fleet_summary", ([[]], {}), "must be hostvars", ("list",)),
    ("fleet_summary", ([{}], {"hosts": "web1"}), "must be a list", ("hosts", "web1")),
    ("fleet_summary", ([{}], {"check_mode": "yes"}), "must be true or false", ("check_mode", "yes")),
    # the role's argument spec (memory_policy_oomd: off unquoted is YAML's false)
    ("role", {"memory_policy_profile": "paranoid"}, "", ("memory_policy_profile", "paranoid")),
    ("role", {"memory_policy_oomd": "of"}, "", ("memory_policy_oomd", "of")),
    ("role", {"memory_policy_overrides": ["swap"]}, "", ("memory_policy_overrides",)),
    ("role", {"memory_policy_protect": {"unit": "ssh.service"}}, "", ("memory_policy_protect",)),
    ("role", {"memory_policy_fail_fast": "maybe"}, "", ("memory_policy_fail_fast", "maybe")),
]


def _case_id(number, case):
    target, args = case[0], case[1]
    keys = args if isinstance(args, dict) else args[1] or ["input"]
    return "%03d-%s-%s" % (number, target, "-".join(str(key) for key in keys))


def _fill(value, root):
    if isinstance(value, str):
        return value.replace("{root}", root)
    if isinstance(value, dict):
        return {key: _fill(item, root) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, root) for item in value]
    return value


def _load(name):
    return importlib.import_module("ansible_collections.memwise.linux.plugins.modules." + name)


def _role_errors(params):
    path = ROOT / "roles" / "memory_policy" / "meta" / "argument_specs.yml"
    spec = yaml.safe_load(path.read_text())["argument_specs"]["main"]["options"]
    result = ArgumentSpecValidator(spec).validate(params, validate_role_argument_spec=True)
    return "\n".join(result.error_messages)


def _refusal(target, args, sandbox, capsys):
    """The message ``target`` refuses ``args`` with (a module also leaves the sandbox as it was)."""
    if target == "role":
        return _role_errors(args)
    if target in FILTERS:
        with pytest.raises(AnsibleFilterError) as exc:
            FILTERS[target](*args[0], **args[1])
        return str(exc.value)
    rc, result = sandbox.run(capsys, _load(target), _fill(args, str(sandbox.root)))
    assert rc == 1 and result.get("failed"), "%s accepted %r: %s" % (target, args, result)
    assert sandbox.runner.mutations == [], "%s ran %s" % (target, sandbox.runner.mutations)
    assert result["sandbox_breaches"] == [], "%s reached outside the sandbox: %s" % (target, result["sandbox_breaches"])
    assert sandbox.snapshot() == sandbox.before, "%s changed files before refusing %r" % (target, args)
    return result["msg"]


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    box = Sandbox(tmp_path, monkeypatch)
    outside = tmp_path / "outside.conf"
    outside.write_text("# Managed by memwise.linux.sysctl\n")
    os.symlink("../../../outside.conf", str(box.root / "etc/sysctl.d/escape.conf"))
    box.before = box.snapshot()
    return box


def test_the_table_covers_every_module_filter_and_the_role():
    targets = {case[0] for case in CASES}
    assert set(MODULES) | set(FILTERS) | {"role"} <= targets
    assert len(CASES) >= 80


@pytest.mark.parametrize("case", CASES, ids=[_case_id(n, c) for n, c in enumerate(CASES)])
def test_hostile_input_is_refused_by_name_and_changes_nothing(case, sandbox, capsys):
    target, args, fragment, names = case
    message = _refusal(target, args, sandbox, capsys)
    assert fragment in message, message
    missing = [name for name in names if name not in message]
    assert not missing, "the message does not name %s: %s" % (missing, message)
    assert not [word for word in BUG if word in message], message


# ---------------------------------------------------------------- random hostile values


def _hostile(rng):
    """One hostile value: a wrong type, a huge or negative number, or a string a shell or a parser would trip on."""
    scalars = [None, True, False, 0, -1, 2**70, -(2**70), 1.5, -0.5, 1e308, "", " ", "yes", "no", "off"]
    texts = ["a\nb", "x; reboot", "$(reboot)", "`id`", "../../etc/passwd", "a\0b", "x" * 5000, "%s%n", "-5G"]
    texts += ["150%", "1GG", "/proc/sys/vm", "ssh.service\nExecStart=/bin/sh", "\\x2e\\x2e", "🙂", "{{ lookup('x') }}"]
    shapes = [[], [None], [1, "a"], {}, {"a": 1}, {"x": {"y": [None]}}, [{"unit": "../x"}]]
    return rng.choice([rng.choice(scalars), rng.choice(texts), rng.choice(shapes)])


# The least a module needs besides the option under test, with its files in the sandbox.
BASE = {
    "sysctl": {"settings": {"vm.swappiness": 10}, "path": SYSCTL},
    "mm_tunables": {"path": MM},
    "swap": {"device": SWAPFILE, "size": "64M"},
    "oomd": {"settings": {"SwapUsedLimit": "90%"}},
    "unit_resources": dict(SSH, properties={"MemoryHigh": "1G"}),
    "unit_hardening": SSH,
}
ROUNDS = 8  # hostile values per option and sub-option


@pytest.fixture(scope="module")
def seed():
    value = int(os.environ.get("MEMWISE_HOSTILE_SEED") or random.SystemRandom().randrange(2**32))
    print("hostile input seed: %d (replay with MEMWISE_HOSTILE_SEED=%d)" % (value, value))
    return value


@pytest.mark.parametrize("name", MODULES)
def test_random_hostile_values_never_end_in_an_unexpected_exception(name, seed, sandbox, capsys):
    with pytest.MonkeyPatch.context() as patch:
        spec = _spec(name, patch)["argument_spec"]
    rng = random.Random("%d-%s" % (seed, name))
    root = str(sandbox.root)
    problems = []
    for option, option_spec in sorted(spec.items()):
        for sub in [None] + sorted(option_spec.get("options") or {}):
            for _round in range(ROUNDS):
                value = _hostile(rng)
                args = _fill(BASE.get(name, {}), root)
                args[option] = value if sub is None else {sub: value}
                rc, result = sandbox.run(capsys, _load(name), args, check_mode=True)
                message = str(result.get("msg", result))
                if rc not in (0, 1) or "raw_output" in result or [word for word in BUG if word in message]:
                    problems.append(
                        "%s=%r: rc %s: %s" % (option if sub is None else option + "." + sub, value, rc, message)
                    )
                if sandbox.runner.mutations or result["sandbox_breaches"]:
                    problems.append(
                        "%s=%r ran %s" % (option, value, sandbox.runner.mutations + result["sandbox_breaches"])
                    )
                    sandbox.runner.mutations.clear()
    capsys.readouterr()
    assert not problems, "seed %d, %s:\n%s" % (seed, name, "\n".join(problems[:20]))
    assert sandbox.snapshot() == sandbox.before, "seed %d: %s changed the sandbox in check mode" % (seed, name)


def _int_options(spec, prefix=""):
    """Every option of type int, sub-options included, as (path, option) pairs like ("health", "port")."""
    found = []
    for name, option in sorted(spec.items()):
        if option.get("type") == "int":
            found.append(prefix + name)
        found += _int_options(option.get("options") or {}, prefix + name + ".")
    return found


def _module_int_options():
    """(module, its int options) for every module that has any."""
    found = []
    for name in MODULES:
        with pytest.MonkeyPatch.context() as patch:
            options = _int_options(_spec(name, patch)["argument_spec"])
        if options:
            found.append((name, options))
    return found


@pytest.mark.parametrize(("name", "options"), _module_int_options())
def test_infinity_for_an_integer_option_is_refused_by_name(name, options, sandbox, capsys):
    for option in options:
        args = _fill(BASE.get(name, {}), str(sandbox.root))
        *parents, leaf = option.split(".")
        value = {leaf: float("inf")}
        for parent in reversed(parents):
            value = {parent: value}
        args.update(value)
        rc, result = sandbox.run(capsys, _load(name), args, check_mode=True)
        assert rc == 1 and option.rpartition(".")[2] in result["msg"] and "inf" in result["msg"], result
        assert not [word for word in BUG if word in result["msg"]], result["msg"]


def test_the_sandbox_refuses_writes_outside_it_and_changing_commands(sandbox, capsys, tmp_path):
    """The guard the table relies on: a write next to the sandbox and a swapoff are refused and recorded."""
    outside = tmp_path.parent / ("%s-outside" % tmp_path.name)

    class Stub:
        @staticmethod
        def main():
            module = basic.AnsibleModule(argument_spec={})
            _module.run_module(module, lambda m: (Runner(m)(["swapoff", "-a"]), open(str(outside), "w")))

    rc, result = sandbox.run(capsys, Stub, {})
    assert rc == 1 and "refused `swapoff -a`" in result["msg"]
    assert sandbox.runner.mutations == ["swapoff -a"]
    Stub.main = staticmethod(
        lambda: _module.run_module(basic.AnsibleModule(argument_spec={}), lambda m: open(str(outside), "w"))
    )
    rc, result = sandbox.run(capsys, Stub, {})
    assert rc == 1 and result["sandbox_breaches"] == ["open %s" % outside] and not outside.exists()
