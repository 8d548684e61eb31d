# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mm tunables table: reading every captured sysfs file, validating wishes, the tmpfiles.d file."""

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _mm
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES, fixture_sources, read_fixture

CAPTURED = [
    (source, name)
    for name, (path, _kind, _low, _high) in _mm.TABLE.items()
    for source in fixture_sources("root" + path)
]


def captured(source, name):
    return read_fixture(source, "root" + _mm.TABLE[name][0])


def test_every_setting_is_captured_somewhere():
    assert {name for _source, name in CAPTURED} == set(_mm.TABLE)


@pytest.mark.parametrize(("source", "name"), CAPTURED)
def test_read_every_captured_file(source, name):
    value = _mm.read_canonical(name, captured(source, name))
    kind = _mm.TABLE[name][1]
    if kind == "bool":
        assert value in ("Y", "N")
    elif kind == "ksm_run":
        assert value in _mm.KSM_RUN
    elif kind == "mask":
        assert value.startswith("0x") and len(value) == 6
    elif kind == "int":
        assert int(value) >= 0
    else:
        assert value and " " not in value
    # The wish equal to the current value is no change, for every kind.
    if kind in ("choice", "int"):
        assert _mm.desired(name, value, captured(source, name), {})[0] == value


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("deb12", {"zswap.enabled": "N", "mglru.enabled": "0x0000", "zswap.zpool": "zbud", "thp.enabled": "always"}),
        ("deb13", {"zswap.enabled": "Y", "mglru.enabled": "0x0007", "zswap.zpool": "zsmalloc"}),
        ("devhost", {"zswap.enabled": "N", "thp.enabled": "madvise", "ksm.run": "stop"}),
    ],
)
def test_known_values(source, expected):
    for name, value in expected.items():
        assert _mm.read_canonical(name, captured(source, name)) == value


def test_flatten_orders_by_the_table():
    options = {
        "zswap": {"enabled": True, "compressor": "zstd", "zpool": None},
        "thp": {"enabled": "madvise", "khugepaged": {"max_ptes_none": 64, "defrag": None}},
        "ksm": None,
        "mglru": {"enabled": True},
        "path": "/etc/tmpfiles.d/x.conf",
    }
    assert list(_mm.flatten(options).items()) == [
        ("thp.enabled", "madvise"),
        ("thp.khugepaged.max_ptes_none", 64),
        ("zswap.compressor", "zstd"),
        ("zswap.enabled", True),
        ("mglru.enabled", True),
    ]


def test_flatten_unknown_setting():
    with pytest.raises(MemwiseError, match=r"unknown setting\(s\) thp.bogus; known: thp.enabled, "):
        _mm.flatten({"thp": {"bogus": 1}})


THP_ENABLED = "always [madvise] never\n"
POOLS = {"compressors": ["lzo", "zstd"], "zpools": ["zsmalloc"]}


@pytest.mark.parametrize(
    ("name", "value", "current", "result"),
    [
        ("thp.enabled", "never", THP_ENABLED, ("never", "never")),
        ("thp.khugepaged.max_ptes_none", 64, "511\n", ("64", "64")),
        ("thp.khugepaged.max_ptes_none", "64", "511\n", ("64", "64")),
        ("zswap.enabled", True, "N\n", ("Y", "Y")),
        ("zswap.enabled", False, "Y\n", ("N", "N")),
        ("zswap.compressor", "zstd", "lzo\n", ("zstd", "zstd")),
        ("zswap.zpool", "zsmalloc", "zbud\n", ("zsmalloc", "zsmalloc")),
        ("ksm.run", "unmerge", "0\n", ("unmerge", "2")),
        ("mglru.enabled", True, "0x0007\n", ("0x0007", "y")),
        ("mglru.enabled", True, "0x0000\n", ("enabled", "y")),
        ("mglru.enabled", "yes", "0x0000\n", ("enabled", "y")),
        ("mglru.enabled", False, "0x0007\n", ("0x0000", "n")),
        ("mglru.enabled", 3, "0x0007\n", ("0x0003", "3")),
    ],
)
def test_desired(name, value, current, result):
    assert _mm.desired(name, value, current, POOLS) == result


@pytest.mark.parametrize(
    ("name", "value", "current", "message"),
    [
        (
            "thp.enabled",
            "sometimes",
            THP_ENABLED,
            r"thp.enabled: 'sometimes' is not one of this kernel's choices: "
            r"always, madvise, never",
        ),
        ("zswap.max_pool_percent", 150, "20\n", r"zswap.max_pool_percent: 150 is outside 0..100"),
        ("thp.khugepaged.max_ptes_none", 512, "511\n", r"outside 0..511"),
        ("thp.khugepaged.pages_to_scan", 0, "4096\n", r"0 is outside 1..2147483647"),
        ("ksm.pages_to_scan", "many", "100\n", r"ksm.pages_to_scan: 'many' is not an integer"),
        ("ksm.pages_to_scan", True, "100\n", r"True is not an integer"),
        ("zswap.enabled", "yes", "N\n", r"zswap.enabled: 'yes' is not a boolean"),
        (
            "zswap.compressor",
            "lz77",
            "lzo\n",
            r"zswap.compressor: 'lz77' is not available in this kernel; "
            r"it offers lzo, zstd",
        ),
        ("zswap.zpool", "z3fold", "zbud\n", r"it offers zsmalloc"),
        ("ksm.run", "go", "0\n", r"ksm.run: 'go' is not one of stop, run, unmerge"),
        ("mglru.enabled", 70000, "0x0007\n", r"70000 is not a feature mask"),
        ("mglru.enabled", "lots", "0x0007\n", r"mglru.enabled: 'lots' is not an integer"),
    ],
)
def test_desired_errors(name, value, current, message):
    with pytest.raises(MemwiseError, match=message):
        _mm.desired(name, value, current, POOLS)


@pytest.mark.parametrize(
    ("name", "wish", "answer", "ok"),
    [
        ("thp.enabled", "never", "always madvise [never]", True),
        ("thp.enabled", "never", "always [madvise] never", False),
        ("ksm.run", "run", "1", True),
        ("mglru.enabled", "enabled", "0x0003", True),
        ("mglru.enabled", "enabled", "0x0000", False),
        ("mglru.enabled", "0x0007", "0x0007", True),
        ("zswap.enabled", "Y", "Y", True),
    ],
)
def test_matches(name, wish, answer, ok):
    assert _mm.matches(name, wish, answer) is ok


def test_available_compressors_from_a_real_proc_crypto():
    crypto = read_fixture("devhost", "root/proc/crypto")
    assert _mm.available_compressors(crypto, []) == ["deflate", "lzo", "lzo-rle"]
    files = ["kernel/crypto/zstd.ko.xz", "kernel/crypto/sha256_generic.ko", "/lib/modules/x/kernel/crypto/lz4.ko"]
    assert _mm.available_compressors(crypto, files) == ["deflate", "lz4", "lzo", "lzo-rle", "zstd"]


def test_available_zpools():
    assert _mm.available_zpools(["zbud"], ["kernel/mm/zsmalloc.ko", "kernel/mm/other.ko"]) == ["zbud", "zsmalloc"]
    assert _mm.available_zpools([], []) == []


def test_tmpfiles_round_trip():
    values = {"zswap.enabled": "Y", "thp.enabled": "madvise", "zswap.compressor": "zstd"}
    text = _mm.render_tmpfiles(values)
    assert text == _mm.HEADER + (
        "w /sys/kernel/mm/transparent_hugepage/enabled - - - - madvise\n"
        "w /sys/module/zswap/parameters/compressor - - - - zstd\n"
        "w /sys/module/zswap/parameters/enabled - - - - Y\n"
    )
    assert _mm.parse_tmpfiles(text) == values


def test_parse_tmpfiles_ignores_foreign_lines():
    text = "# c\nd /run/x 0755 root root -\nw /sys/unknown - - - - 1\nw+ /sys/kernel/mm/ksm/run - - - - 1\nbad\n"
    assert _mm.parse_tmpfiles(text) == {"ksm.run": "1"}
    assert _mm.parse_tmpfiles(None) == {}


def test_every_table_path_is_under_its_group():
    for name, (path, _kind, _low, _high) in _mm.TABLE.items():
        assert path.startswith(_mm.GROUPS[name.split(".", maxsplit=1)[0]][0] + "/")
        assert os.path.isabs(path)
    assert os.path.isdir(FIXTURES)


def test_plan_writes_only_what_moves_and_restores_the_old_text():
    checked = {"ksm.run": ("stop", "run", "1"), "mglru.enabled": ("0x0007", "enabled", "y")}
    settings, writes, new = _mm.plan(checked, {"ksm.run": "0"}, live=True, persist=True)
    assert settings == {
        "ksm.run": {"live": {"before": "stop", "after": "run"}, "file": {"before": "0", "after": "1"}},
        "mglru.enabled": {"live": {"before": "0x0007", "after": "0x0007"}, "file": {"before": None, "after": "y"}},
    }
    assert [w[:4] for w in writes] == [("ksm.run", _mm.TABLE["ksm.run"][0], "1", "0")]
    assert writes[0][4]("1") and not writes[0][4]("0")
    assert new == {"ksm.run": "1", "mglru.enabled": "y"}
    _settings, writes, new = _mm.plan(checked, {}, live=False, persist=False)
    assert writes == [] and new == {}


@pytest.mark.parametrize(
    ("name", "canonical", "text"),
    [("ksm.run", "unmerge", "2"), ("mglru.enabled", "0x0007", "7"), ("thp.enabled", "madvise", "madvise")],
)
def test_restore_text(name, canonical, text):
    assert _mm.restore_text(name, canonical) == text


def test_plan_absent_keeps_live_values_and_drops_file_lines():
    persisted = {"thp.enabled": "madvise", "ksm.run": "1"}
    settings, new = _mm.plan_absent(["ksm.run", "zswap.enabled"], {"ksm.run": "run", "zswap.enabled": None}, persisted)
    assert settings == {
        "ksm.run": {"live": {"before": "run", "after": "run"}, "file": {"before": "1", "after": None}},
        "zswap.enabled": {"live": {"before": None, "after": None}, "file": {"before": None, "after": None}},
    }
    assert new == {"thp.enabled": "madvise"}


def test_file_after():
    own = _mm.render_tmpfiles({"ksm.run": "1"})
    assert _mm.file_after(own, {"ksm.run": "1"}, {"ksm.run": "1"}, rewrite=False) == own
    assert _mm.file_after(own, {"ksm.run": "1"}, {}, rewrite=False) is None
    assert (
        _mm.file_after("w /sys/kernel/mm/ksm/run - - - - 1\n", {"ksm.run": "1"}, {"ksm.run": "1"}, rewrite=True) == own
    )
