# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _sysfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES, fixture_sources, read_fixture

THP = "root/sys/kernel/mm/transparent_hugepage/"


@pytest.mark.parametrize(
    ("source", "name"),
    [(src, name) for name in ("enabled", "defrag", "shmem_enabled") for src in fixture_sources(THP + name)],
)
def test_parse_choice_on_captures(source, name):
    text = read_fixture(source, THP + name)
    selected, options = _sysfs.parse_choice(text, name)
    assert selected in options
    assert "[%s]" % selected in text
    assert len(options) == len(text.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("always [madvise] never\n", ("madvise", ["always", "madvise", "never"])),
        (
            "always defer defer+madvise [madvise] never",
            ("madvise", ["always", "defer", "defer+madvise", "madvise", "never"]),
        ),
        (
            "[always] within_size advise never deny force",
            ("always", ["always", "within_size", "advise", "never", "deny", "force"]),
        ),
    ],
)
def test_parse_choice(text, expected):
    assert _sysfs.parse_choice(text) == expected


@pytest.mark.parametrize("text", ["", "always madvise never", "[always] [never]", "[ ] x"])
def test_parse_choice_errors(text):
    with pytest.raises(MemwiseError, match=r"^thp\.enabled: .* is not a bracketed choice"):
        _sysfs.parse_choice(text, "thp.enabled")


@pytest.mark.parametrize(("text", "expected"), [("Y\n", True), ("N", False), ("1", True), ("0\n", False)])
def test_parse_bool(text, expected):
    assert _sysfs.parse_bool(text) is expected


@pytest.mark.parametrize("text", ["yes", "", "2", "true"])
def test_parse_bool_errors(text):
    with pytest.raises(MemwiseError, match=r"^zswap\.enabled: .* is not a kernel boolean \(Y, N, 1 or 0\)"):
        _sysfs.parse_bool(text, "zswap.enabled")


@pytest.mark.parametrize(("text", "expected"), [("100\n", 100), ("-1", -1), ("0x0007", 7), ("0x000f\n", 15)])
def test_parse_int(text, expected):
    assert _sysfs.parse_int(text) == expected


@pytest.mark.parametrize("text", ["", "1.5", "0x", "twelve", "1 2"])
def test_parse_int_errors(text):
    with pytest.raises(MemwiseError, match=r"^ksm\.pages_to_scan: .* is not an integer"):
        _sysfs.parse_int(text, "ksm.pages_to_scan")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60\n", 60),
        ("-1", -1),
        ("4\t4\t1\t7\n", [4, 4, 1, 7]),
        ("32768 32768", [32768, 32768]),
        ("zstd\n", "zstd"),
        ("", ""),
    ],
)
def test_parse_typed(text, expected):
    assert _sysfs.parse_typed(text) == expected


@pytest.mark.parametrize("source", fixture_sources("root/proc/sys/vm/swappiness"))
def test_parse_typed_every_vm_key_of_the_captures(source):
    directory = os.path.join(FIXTURES, source, "root/proc/sys/vm")
    for name in os.listdir(directory):
        with open(os.path.join(directory, name)) as handle:
            text = handle.read()
        value = _sysfs.parse_typed(text)
        assert isinstance(value, (int, list, str)), name
        if isinstance(value, list):
            assert " ".join(map(str, value)) == " ".join(text.split())
        elif isinstance(value, int):
            assert str(value) == text.strip()
