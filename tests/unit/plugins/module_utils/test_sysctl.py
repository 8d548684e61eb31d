# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sysctl keys, values, sysctl.d files and their precedence, ranges and the plan."""

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _module, _sysctl
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import read_fixture


@pytest.mark.parametrize(
    ("raw", "canonical", "rel"),
    [
        ("vm.swappiness", "vm.swappiness", "vm/swappiness"),
        ("vm/swappiness", "vm.swappiness", "vm/swappiness"),
        (" vm.swappiness ", "vm.swappiness", "vm/swappiness"),
        ("net/ipv4/conf/eth0.100/rp_filter", "net/ipv4/conf/eth0.100/rp_filter", "net/ipv4/conf/eth0.100/rp_filter"),
        ("net.ipv4.conf.eth0/100.rp_filter", "net.ipv4.conf.eth0/100.rp_filter", "net/ipv4/conf/eth0/100/rp_filter"),
        ("/vm/swappiness", "vm.swappiness", "vm/swappiness"),
        ("vm.page-cluster", "vm.page-cluster", "vm/page-cluster"),
    ],
)
def test_parse_key(raw, canonical, rel):
    assert _sysctl.parse_key(raw) == (canonical, rel)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "'' is not a sysctl key"),
        ("vm swappiness", "'vm swappiness' is not a sysctl key"),
        ("vm.swappiness=1", "'vm.swappiness=1' is not a sysctl key"),
        ("vm..swappiness", "'vm..swappiness' has an empty or relative component"),
        ("vm/../kernel/x", "'vm/../kernel/x' has an empty or relative component"),
        (5, "key 5 is not a string"),
    ],
)
def test_parse_key_errors(raw, message):
    with pytest.raises(MemwiseError, match="settings: " + message.replace("(", r"\(").replace(")", r"\)")):
        _sysctl.parse_key(raw)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (10, "10"),
        ("10", "10"),
        ("4\t4  1 7", "4 4 1 7"),
        ([4, 4, 1, 7], "4 4 1 7"),
        (["32768", 60999], "32768 60999"),
        ("|/usr/lib/core %p", "|/usr/lib/core %p"),
        ("", ""),
    ],
)
def test_normalize_value(value, text):
    assert _sysctl.normalize_value(value, "k") == text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, r"k: True is a boolean; write 0 or 1"),
        (1.5, r"k: 1.5 is neither a string, an integer nor a list of them"),
        ({"a": 1}, r"k: \{'a': 1\} is neither"),
        (["4 4", 1], r"k: list items must be single words or integers"),
        ([True], r"k: True is a boolean"),
    ],
)
def test_normalize_value_errors(value, message):
    with pytest.raises(MemwiseError, match=message):
        _sysctl.normalize_value(value, "k")


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        ("4 4 1 7", "4 4 1 7", True),
        ("010", "10", True),
        ("-1", "-1", True),
        ("4 4 1 7", "4 4 1", False),
        ("cubic", "cubic", True),
        ("cubic", "reno", False),
        (None, None, True),
        (None, "1", False),
    ],
)
def test_same_value(left, right, same):
    assert _sysctl.same_value(left, right) is same


def test_parse_conf_every_form():
    entries, problems = _sysctl.parse_conf(read_fixture("sysctl", "edge-cases.conf"), "edge-cases.conf")
    assert [(e["key"], e["value"], e["line"], e["ignore_errors"], e["pattern"]) for e in entries] == [
        ("vm.swappiness", "10", 3, False, False),
        ("vm.dirty_ratio", "15", 4, False, False),
        ("kernel.printk", "4 4 1 7", 5, False, False),
        ("net.ipv4.conf.eth9.rp_filter", "2", 6, True, False),
        ("net/ipv4/conf/eth0.100/forwarding", "1", 7, False, False),
        ("net.ipv4.conf.*.rp_filter", "1", 8, False, True),
        ("vm.swappiness", "20", 9, False, False),
        ("kernel.domainname", "", 11, False, False),
    ]
    assert problems == ["edge-cases.conf:10: not 'key = value': 'this line has no equals sign'"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("debian-sysctl.conf", []),
        ("50-pid-max.conf", [("kernel.pid_max", "4194304")]),
        (
            "99-protect-links.conf",
            [
                ("fs.protected_fifos", "1"),
                ("fs.protected_hardlinks", "1"),
                ("fs.protected_regular", "2"),
                ("fs.protected_symlinks", "1"),
            ],
        ),
    ],
)
def test_parse_real_files(name, expected):
    entries, problems = _sysctl.parse_conf(read_fixture("sysctl", name), name)
    assert [(e["key"], e["value"]) for e in entries] == expected and problems == []


def test_render_and_read_back_round_trip():
    values = {"vm.swappiness": "10", "kernel.printk": "4 4 1 7", "net/ipv4/conf/eth0.100/forwarding": "1"}
    text = _sysctl.render_conf(values)
    assert text.startswith(_sysctl.HEADER)
    assert text.endswith("vm.swappiness = 10\nkernel.printk = 4 4 1 7\nnet/ipv4/conf/eth0.100/forwarding = 1\n")
    assert _sysctl.owned_values(text, "x") == values


def test_owned_values_later_duplicate_wins():
    assert _sysctl.owned_values("vm.swappiness = 1\nvm.swappiness = 2\n", "x") == {"vm.swappiness": "2"}
    assert _sysctl.owned_values(None, "x") == {}


def make_tree(tmp_path, files):
    for path, text in files.items():
        full = os.path.join(str(tmp_path), path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as handle:
            handle.write(text)
    return str(tmp_path)


def test_load_order_merges_by_name_in_precedence(tmp_path):
    root = make_tree(
        tmp_path,
        {
            "/usr/lib/sysctl.d/50-default.conf": "",
            "/usr/lib/sysctl.d/10-vendor.conf": "",
            "/usr/local/lib/sysctl.d/50-default.conf": "",
            "/run/sysctl.d/60-runtime.conf": "",
            "/etc/sysctl.d/60-runtime.conf": "",
            "/etc/sysctl.d/README.sysctl": "",
            "/lib/sysctl.d/99-protect-links.conf": "",
            "/etc/sysctl.conf": "",
        },
    )
    assert _sysctl.load_order(root) == [
        "/usr/lib/sysctl.d/10-vendor.conf",
        "/usr/local/lib/sysctl.d/50-default.conf",
        "/etc/sysctl.d/60-runtime.conf",
        "/lib/sysctl.d/99-protect-links.conf",
        "/etc/sysctl.conf",
    ]


def test_load_order_debian_link_is_not_read_twice(tmp_path):
    root = make_tree(tmp_path, {"/etc/sysctl.conf": "vm.swappiness = 1\n", "/usr/lib/sysctl.d/50-x.conf": ""})
    os.makedirs(os.path.join(root, "etc/sysctl.d"))
    os.symlink("../sysctl.conf", os.path.join(root, "etc/sysctl.d/99-sysctl.conf"))
    assert _sysctl.load_order(root) == ["/usr/lib/sysctl.d/50-x.conf", "/etc/sysctl.d/99-sysctl.conf"]


def shadows_in(root, path, values):
    order = _sysctl.load_order(root)

    def read(host_path):
        full = os.path.join(root, host_path.lstrip("/"))
        return open(full, encoding="utf-8").read() if os.path.exists(full) else None

    return _sysctl.find_shadows(order, path, values, read)


def test_find_shadows_in_all_four_directories(tmp_path):
    root = make_tree(
        tmp_path,
        {
            "/usr/lib/sysctl.d/10-early.conf": "vm.swappiness = 1\n",  # before ours: ours wins
            "/etc/sysctl.d/90-memwise.conf": "vm.swappiness = 10\n",
            "/run/sysctl.d/95-run.conf": "vm.swappiness = 10\n",  # same value: harmless
            "/usr/local/lib/sysctl.d/97-local.conf": "# c\nvm/swappiness = 30\n",
            "/usr/lib/sysctl.d/98-vendor.conf": "net.ipv4.conf.*.rp_filter = 0\nvm.dirty_ratio=15\n",
            "/etc/sysctl.conf": "\n\nkernel.printk = 4 4 1 7\nvm.swappiness = 60\n",
        },
    )
    wanted = {
        "vm.swappiness": "10",
        "net.ipv4.conf.all.rp_filter": "2",
        "vm.dirty_ratio": "15",
        "kernel.printk": "4 4 1 7",
    }
    assert shadows_in(root, "/etc/sysctl.d/90-memwise.conf", wanted) == [
        {
            "key": "vm.swappiness",
            "value": "10",
            "file": "/usr/local/lib/sysctl.d/97-local.conf",
            "line": 2,
            "shadow_value": "30",
        },
        {
            "key": "net.ipv4.conf.all.rp_filter",
            "value": "2",
            "file": "/usr/lib/sysctl.d/98-vendor.conf",
            "line": 1,
            "shadow_value": "0",
        },
        {"key": "vm.swappiness", "value": "10", "file": "/etc/sysctl.conf", "line": 4, "shadow_value": "60"},
    ]


def test_find_shadows_before_our_file_exists(tmp_path):
    root = make_tree(tmp_path, {"/etc/sysctl.d/99-zz.conf": "vm.swappiness = 60\n"})
    shadows = shadows_in(root, "/etc/sysctl.d/90-memwise.conf", {"vm.swappiness": "10"})
    assert [(s["file"], s["shadow_value"]) for s in shadows] == [("/etc/sysctl.d/99-zz.conf", "60")]
    assert shadows_in(root, "/etc/sysctl.d/99-zzz.conf", {"vm.swappiness": "10"}) == []


def test_masked_or_foreign_paths_are_not_read_at_boot(tmp_path):
    root = make_tree(tmp_path, {"/etc/sysctl.d/90-memwise.conf": "", "/etc/sysctl.d/99-zz.conf": "vm.swappiness=1\n"})
    order = _sysctl.load_order(root)
    assert _sysctl.boot_reads(order, "/etc/sysctl.d/90-memwise.conf")
    assert _sysctl.boot_reads(order, "/etc/sysctl.d/91-new.conf")
    assert not _sysctl.boot_reads(order, "/usr/lib/sysctl.d/90-memwise.conf")  # masked by /etc
    assert not _sysctl.boot_reads(order, "/tmp/90-memwise.conf")
    assert not _sysctl.boot_reads(order, "/etc/sysctl.d/90-memwise.txt")
    assert shadows_in(root, "/tmp/90-memwise.conf", {"vm.swappiness": "10"}) == []


@pytest.mark.parametrize(
    ("release", "version"), [("6.1.0-28-amd64", (6, 1)), ("5.10.0", (5, 10)), ("4.19.0-cloud", (4, 19)), ("x", (0, 0))]
)
def test_kernel_version(release, version):
    assert _sysctl.kernel_version(release) == version


@pytest.mark.parametrize(
    ("key", "value", "kernel", "why"),
    [
        ("vm.swappiness", "200", (5, 8), None),
        ("vm.swappiness", "150", (5, 4), "150 is outside 0..100 on kernel 5.4"),
        ("vm.swappiness", "201", (6, 1), "201 is outside 0..200 on kernel 6.1"),
        ("vm.swappiness", "-1", (6, 1), "-1 is outside 0..200 on kernel 6.1"),
        ("vm.overcommit_memory", "3", (6, 1), "3 is outside 0..2"),
        ("vm.dirty_ratio", "101", (6, 1), "101 is outside 0..100"),
        ("kernel.printk", "4 4 1 7", (6, 1), None),
        ("kernel.printk", "4 4 1", (6, 1), "takes 4 integer(s), got '4 4 1'"),
        ("kernel.printk", "4 4 1 16", (6, 1), "16 is outside 0..15"),
        ("net.ipv4.ip_local_port_range", "32768 60999", (6, 1), None),
        ("net.ipv4.ip_local_port_range", "60999 32768", (6, 1), "the first port 60999 is above the last 32768"),
        ("kernel.pid_max", "300", (6, 1), "300 is outside 301..4194304"),
        ("vm.no_table_entry", "anything", (6, 1), None),
    ],
)
def test_check_range(key, value, kernel, why):
    assert _sysctl.check_range(key, value, kernel) == why


@pytest.mark.parametrize(
    ("current", "value", "why"),
    [
        ("60", "10", None),
        ("60", "abc", "takes an integer (now '60'), got 'abc'"),
        ("60", "", "takes an integer (now '60'), got ''"),
        ("4 4 1 7", "4 4 1 7", None),
        ("4 4 1 7", "4 4", "takes 4 integer(s) (now '4 4 1 7'), got 2"),
        ("4 4 1 7", "a b c d", "takes 4 integers (now '4 4 1 7'), got 'a b c d'"),
        ("cubic", "bbr", None),
        ("", "anything", None),
    ],
)
def test_check_shape(current, value, why):
    assert _sysctl.check_shape(current, value) == why


@pytest.mark.parametrize(
    ("key", "module"),
    [
        ("net.bridge.bridge-nf-call-iptables", "br_netfilter"),
        ("net/netfilter/nf_conntrack_max", "nf_conntrack"),
        ("vm.swappiness", None),
    ],
)
def test_module_hint(key, module):
    assert _sysctl.module_hint(key) == module


LIVE = {"vm.swappiness": "60", "vm.dirty_ratio": "20", "kernel.printk": "4 4 1 7"}


@pytest.mark.parametrize(
    ("settings", "file_values", "kwargs", "changes", "new_file", "changed"),
    [
        # steady state: nothing to do
        (
            {"vm.swappiness": "60"},
            {"vm.swappiness": "60"},
            {},
            {"vm.swappiness": {"live": ("60", "60"), "file": ("60", "60")}},
            {"vm.swappiness": "60"},
            [],
        ),
        # first run: live already right, file missing
        (
            {"vm.swappiness": "60"},
            {},
            {},
            {"vm.swappiness": {"live": ("60", "60"), "file": (None, "60")}},
            {"vm.swappiness": "60"},
            ["vm.swappiness"],
        ),
        # live and file change; other keys in the file are kept
        (
            {"vm.swappiness": "10"},
            {"vm.dirty_ratio": "20", "vm.swappiness": "60"},
            {},
            {"vm.swappiness": {"live": ("60", "10"), "file": ("60", "10")}},
            {"vm.dirty_ratio": "20", "vm.swappiness": "10"},
            ["vm.swappiness"],
        ),
        # equal after normalisation: no change anywhere
        (
            {"kernel.printk": "4 4 1 7"},
            {"kernel.printk": "4 4 01 7"},
            {},
            {"kernel.printk": {"live": ("4 4 1 7", "4 4 1 7"), "file": ("4 4 01 7", "4 4 01 7")}},
            {"kernel.printk": "4 4 01 7"},
            [],
        ),
        # live only
        (
            {"vm.swappiness": "10"},
            {},
            {"persist": False},
            {"vm.swappiness": {"live": ("60", "10"), "file": (None, None)}},
            {},
            ["vm.swappiness"],
        ),
        # persist only
        (
            {"vm.swappiness": "10"},
            {},
            {"live": False},
            {"vm.swappiness": {"live": ("60", "60"), "file": (None, "10")}},
            {"vm.swappiness": "10"},
            ["vm.swappiness"],
        ),
        # absent: removed from the file, live untouched
        (
            {"vm.swappiness": None},
            {"vm.swappiness": "10", "vm.dirty_ratio": "20"},
            {"state": "absent"},
            {"vm.swappiness": {"live": (None, None), "file": ("10", None)}},
            {"vm.dirty_ratio": "20"},
            ["vm.swappiness"],
        ),
        # absent of a key the file does not hold: nothing
        (
            {"vm.swappiness": None},
            {},
            {"state": "absent"},
            {"vm.swappiness": {"live": (None, None), "file": (None, None)}},
            {},
            [],
        ),
    ],
)
def test_plan(settings, file_values, kwargs, changes, new_file, changed):  # noqa: PLR0917
    options = {"live": True, "persist": True, "state": "present"}
    options.update(kwargs)
    live = {} if options["state"] == "absent" else LIVE
    got_changes, got_file = _sysctl.plan(settings, live, file_values, **options)
    assert got_changes == changes
    assert got_file == new_file
    assert _module.changed_settings(_sysctl.settings_result(got_changes)) == changed


@pytest.mark.parametrize(
    ("keys", "why"),
    [
        (["vm.dirty_bytes", "vm.swappiness"], None),
        (["vm.dirty_bytes", "vm/dirty_ratio"], "vm.dirty_bytes and vm.dirty_ratio set the same kernel value"),
        (["vm.overcommit_ratio", "vm.overcommit_kbytes"], "vm.overcommit_kbytes and vm.overcommit_ratio set the same"),
    ],
)
def test_check_pairs(keys, why):
    got = _sysctl.check_pairs(keys)
    assert (got is None) if why is None else got.startswith(why)


def test_check_min_free():
    assert _sysctl.check_min_free("67584", 1000000) is None
    assert _sysctl.check_min_free("100001", 1000000) == (
        "100001 kB is more than 10% of RAM (100000 kB); the kernel would reclaim constantly and can deadlock"
    )


def test_file_after_keeps_unchanged_text_unless_taken_over():
    own = _sysctl.HEADER + "# a comment the module keeps\nvm.swappiness = 10\n"
    values = {"vm.swappiness": "10"}
    assert _sysctl.file_after(own, values, values, rewrite=False) == own
    assert _sysctl.file_after(own, values, {}, rewrite=False) is None
    assert _sysctl.file_after("vm.swappiness = 10\n", values, values, rewrite=True) == _sysctl.render_conf(values)
    assert _sysctl.file_after(None, {}, values, rewrite=False) == _sysctl.render_conf(values)
