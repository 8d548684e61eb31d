# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module shell: run_module's endings, the settings and diff shapes."""

from __future__ import annotations

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _module
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError, invalid


class Ended(Exception):
    pass


class FakeModule:
    _name = "memwise.linux.example"

    def __init__(self, params=None):
        self.ended = None
        self.params = params or {}
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        self.ended = ("exit", result)
        raise Ended

    def fail_json(self, **result):
        self.ended = ("fail", result)
        raise Ended


def _end(body):
    module = FakeModule()
    with pytest.raises(Ended):
        _module.run_module(module, body)
    return module.ended


def test_run_module_exits_with_the_result():
    assert _end(lambda m: {"changed": True, "settings": {}}) == ("exit", {"changed": True, "settings": {}})


def test_run_module_fails_with_the_message_and_details():
    def body(_module):
        raise MemwiseError("unit: nosuch.service: not loaded; nothing changed", details={"exposure": {"before": 9.6}})

    assert _end(body) == (
        "fail",
        {"msg": "unit: nosuch.service: not loaded; nothing changed", "exposure": {"before": 9.6}},
    )


def test_run_module_reports_a_bug_as_one_without_a_raw_traceback():
    def body(_module):
        return {}["missing"]

    kind, result = _end(body)
    assert kind == "fail"
    assert result["msg"].startswith("memwise.linux.example: unexpected KeyError: 'missing'. This is a bug")
    assert "Traceback" in result["exception"]


def test_invalid_lists_every_problem():
    assert str(invalid(["a: bad", "b: worse"], "settings")) == "invalid settings, nothing changed: a: bad; b: worse"


def test_changed_settings_in_order():
    settings = {
        "b": {"live": _module.layer("1", "2"), "file": _module.layer(None, "2")},
        "a": {"live": _module.layer("1", "1")},
        "c": {"live": _module.layer("1", "1"), "file": _module.layer("1", None)},
    }
    assert _module.changed_settings(settings) == ["b", "c"]


def test_diff_shape_live_then_files():
    diff = _module.diff(
        "live /proc/sys",
        [("vm.swappiness", "60", "10"), ("vm.dirty_ratio", "20", "20"), ("x", None, True)],
        [("/etc/sysctl.d/90-memwise.conf", None, "vm.swappiness = 10\n")],
    )
    assert diff == [
        {
            "before_header": "live /proc/sys",
            "after_header": "live /proc/sys",
            "before": "vm.swappiness = 60\nx = (unset)\n",
            "after": "vm.swappiness = 10\nx = yes\n",
        },
        {
            "before_header": "/etc/sysctl.d/90-memwise.conf",
            "after_header": "/etc/sysctl.d/90-memwise.conf",
            "before": "",
            "after": "vm.swappiness = 10\n",
        },
    ]


def test_settings_diff_reads_one_layer():
    settings = {"MemoryHigh": {"live": _module.layer("infinity", 536870912), "file": _module.layer(None, "512M")}}
    assert _module.settings_diff("live ssh.service", settings) == {
        "before_header": "live ssh.service",
        "after_header": "live ssh.service",
        "before": "MemoryHigh = infinity\n",
        "after": "MemoryHigh = 536870912\n",
    }
    assert _module.settings_diff("file", settings, "file")["after"] == "MemoryHigh = 512M\n"


def test_run_module_keeps_ansibles_path_info_out_of_the_result():
    module = FakeModule()
    module.add_path_info = lambda kwargs: dict(kwargs, state="file", size=12, uid=0)
    with pytest.raises(Ended):
        _module.run_module(module, lambda m: {"path": "/etc/fstab", "changed": False})
    assert module.add_path_info({"path": "/etc/fstab"}) == {"path": "/etc/fstab"}


SPEC = {
    "zswap": {"type": "dict", "options": {"enabled": {"type": "bool"}, "compressor": {"type": "str"}}},
    "thp": {
        "type": "dict",
        "options": {"enabled": {"type": "str"}, "khugepaged": {"type": "dict", "options": {"defrag": {"type": "int"}}}},
    },
    "live": {"type": "bool", "default": True},
}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"zswap": True},
            "invalid options, nothing changed: zswap: expected a dictionary of its options (compressor, enabled), "
            "got bool True; write it as, for example, zswap: {enabled: ...}",
        ),
        (
            {"zswap": "yes", "thp": ["always"]},
            "invalid options, nothing changed: zswap: expected a dictionary of its options (compressor, enabled), "
            "got str 'yes'; write it as, for example, zswap: {enabled: ...}; thp: expected a dictionary of its "
            "options (enabled, khugepaged), got list ['always']; write it as, for example, thp: {enabled: ...}",
        ),
        (
            {"thp": {"khugepaged": 1}},
            "invalid options, nothing changed: thp.khugepaged: expected a dictionary of its options (defrag), "
            "got int 1; write it as, for example, khugepaged: {defrag: ...}",
        ),
    ],
)
def test_new_module_names_a_scalar_given_for_sub_options(args, message, capsys):
    """ansible-core crashes on these ("argument of type 'bool' is not iterable"); new_module names them."""
    import json

    from ansible.module_utils.basic import AnsibleModule
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        _module.new_module(AnsibleModule, argument_spec=SPEC, supports_check_mode=True)
    result = json.loads(capsys.readouterr().out)
    assert exc.value.code == 1
    assert result["msg"] == message


def test_new_module_passes_good_input_and_ansible_errors_through(capsys):
    import json

    from ansible.module_utils.basic import AnsibleModule
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args({"zswap": {"enabled": "yes"}}):
        module = _module.new_module(AnsibleModule, argument_spec=SPEC, supports_check_mode=True)
    assert module.params["zswap"] == {"enabled": True, "compressor": None}
    with patch_module_args({"zswap": {"enabled": "maybe"}}), pytest.raises(SystemExit):
        _module.new_module(AnsibleModule, argument_spec=SPEC, supports_check_mode=True)
    assert "enabled" in json.loads(capsys.readouterr().out)["msg"]
