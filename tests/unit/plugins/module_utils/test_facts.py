# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _facts
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES, fixture_sources

VALID = list(_facts.SECTIONS)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, VALID),
        ([], VALID),
        (["all"], VALID),
        (["swap"], ["swap"]),
        (["swap", "meminfo"], ["meminfo", "swap"]),
        (["!swap"], ["meminfo"]),
        (["all", "!meminfo"], ["swap"]),
        (["!all"], []),
        (["meminfo", "!meminfo"], []),
        ([" swap "], ["swap"]),
    ],
)
def test_resolve_subset(requested, expected):
    assert _facts.resolve_subset(requested) == expected


def test_resolve_subset_unknown_lists_valid_names():
    with pytest.raises(MemwiseError, match=r"unknown section\(s\) memory, !thing; valid: all, meminfo, swap"):
        _facts.resolve_subset(["memory", "swap", "!thing"])


@pytest.mark.parametrize("source", fixture_sources("root/proc/meminfo"))
def test_collect_from_captures(source):
    facts = _facts.collect(["meminfo", "swap"], root=os.path.join(FIXTURES, source, "root"))
    assert facts["meminfo"]["MemTotal"] > 0
    assert facts["swap"]["total"] == sum(d["size"] for d in facts["swap"]["devices"])
    assert facts["swap"]["free"] == facts["swap"]["total"] - facts["swap"]["used"]
    assert facts["unavailable"] == {}


def test_collect_missing_sources_never_fail(tmp_path):
    facts = _facts.collect(["meminfo", "swap"], root=str(tmp_path))
    assert facts["meminfo"] is None and facts["swap"] is None
    assert facts["unavailable"] == {
        "meminfo": "/proc/meminfo does not exist on this host",
        "swap": "/proc/swaps does not exist on this host",
    }


def test_collect_garbled_source_is_unavailable_not_fatal(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "meminfo").write_text("garbage\n")
    facts = _facts.collect(["meminfo"], root=str(tmp_path))
    assert facts["meminfo"] is None
    assert "line 1 is not 'Key: value [kB]'" in facts["unavailable"]["meminfo"]
