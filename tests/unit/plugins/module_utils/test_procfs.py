# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _procfs
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import fixture_sources, read_fixture


@pytest.mark.parametrize("source", fixture_sources("root/proc/meminfo"))
def test_parse_meminfo_captures(source):
    text = read_fixture(source, "root/proc/meminfo")
    parsed = _procfs.parse_meminfo(text)
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(parsed) == len(lines)
    for line in lines:
        key, rest = line.split(":", 1)
        words = rest.split()
        expected = int(words[0]) * (1024 if words[1:] == ["kB"] else 1)
        assert parsed[key] == expected
    assert 0 < parsed["MemAvailable"] <= parsed["MemTotal"]
    assert parsed["HugePages_Total"] == int(text.split("HugePages_Total:")[1].split()[0])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("MemTotal: 12 kB\nbroken line\n", r"line 2 is not 'Key: value \[kB\]'"),
        ("MemTotal: lots kB\n", r"line 1 is not"),
        ("MemTotal: 12 MB\n", r"line 1 has an unknown unit 'MB'"),
        ("MemFree: 12 kB\n", r"has no MemTotal line"),
        ("", r"has no MemTotal line"),
    ],
)
def test_parse_meminfo_errors(text, match):
    with pytest.raises(MemwiseError, match=match):
        _procfs.parse_meminfo(text)


@pytest.mark.parametrize("source", fixture_sources("root/proc/swaps"))
def test_parse_swaps_captures(source):
    text = read_fixture(source, "root/proc/swaps")
    devices = _procfs.parse_swaps(text)
    rows = [line.split() for line in text.splitlines()[1:] if line.strip()]
    assert [d["size"] for d in devices] == [int(r[2]) * 1024 for r in rows]
    assert [d["used"] for d in devices] == [int(r[3]) * 1024 for r in rows]
    assert [d["priority"] for d in devices] == [int(r[4]) for r in rows]
    for device, row in zip(devices, rows):
        expected = "zram" if row[0].startswith("/dev/zram") else row[1]
        assert device["type"] == expected


SWAPS_MIXED = (
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    "/dev/vdb1                               partition\t1048572\t\t0\t\t-2\n"
    "/swap\\040file                          file\t\t524284\t\t1024\t\t-3\n"
    "/dev/zram0                              partition\t4194300\t\t4096\t\t100\n"
)


def test_parse_swaps_types_and_escapes():
    devices = _procfs.parse_swaps(SWAPS_MIXED)
    assert devices == [
        {"path": "/dev/vdb1", "type": "partition", "size": 1048572 * 1024, "used": 0, "priority": -2},
        {"path": "/swap file", "type": "file", "size": 524284 * 1024, "used": 1024 * 1024, "priority": -3},
        {"path": "/dev/zram0", "type": "zram", "size": 4194300 * 1024, "used": 4096 * 1024, "priority": 100},
    ]


def test_parse_swaps_empty_means_no_swap():
    assert _procfs.parse_swaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n") == []


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"does not start with its 'Filename"),
        ("/dev/vdb1 partition 1 0 -2\n", r"does not start with its 'Filename"),
        (
            "Filename Type Size Used Priority\n/dev/vdb1 partition 1 0\n",
            r"line 2 is not 'path type size used priority'",
        ),
        ("Filename Type Size Used Priority\n/dev/vdb1 partition x 0 -2\n", r"line 2 is not"),
    ],
)
def test_parse_swaps_errors(text, match):
    with pytest.raises(MemwiseError, match=match):
        _procfs.parse_swaps(text)


def test_read_text_reasons(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "meminfo").write_text("MemTotal: 1 kB\n")
    assert _procfs.read_text("/proc/meminfo", str(tmp_path)) == ("MemTotal: 1 kB\n", None)
    assert _procfs.read_text("/proc/swaps", str(tmp_path)) == (None, "/proc/swaps does not exist on this host")
    secret = tmp_path / "proc" / "secret"
    secret.write_text("x")
    secret.chmod(0)
    text, reason = _procfs.read_text("/proc/secret", str(tmp_path))
    if os.geteuid() == 0:
        assert (text, reason) == ("x", None)  # root reads mode 0 files
    else:
        assert text is None and reason.startswith("/proc/secret is not readable")
    text, reason = _procfs.read_text("/proc", str(tmp_path))
    assert text is None and reason.startswith("/proc could not be read: ")


@pytest.mark.parametrize("source", fixture_sources("root/proc/pressure/memory"))
@pytest.mark.parametrize("resource", ["memory", "io", "cpu"])
def test_parse_psi_captures(source, resource):
    text = read_fixture(source, "root/proc/pressure/" + resource)
    psi = _procfs.parse_psi(text, resource)
    assert set(psi) == {"some", "full"}
    for kind in ("some", "full"):
        if psi[kind] is not None:
            assert set(psi[kind]) == {"avg10", "avg60", "avg300", "total"}
            assert all(0.0 <= psi[kind][k] <= 100.0 for k in ("avg10", "avg60", "avg300"))
            assert psi[kind]["total"] == int(text.split(kind + " ")[1].split("total=")[1].split()[0])


def test_parse_psi_values():
    text = "some avg10=1.50 avg60=0.25 avg300=0.00 total=123456\nfull avg10=0.10 avg60=0.00 avg300=0.00 total=789\n"
    assert _procfs.parse_psi(text) == {
        "some": {"avg10": 1.5, "avg60": 0.25, "avg300": 0.0, "total": 123456},
        "full": {"avg10": 0.1, "avg60": 0.0, "avg300": 0.0, "total": 789},
    }
    only_some = _procfs.parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", "/proc/pressure/cpu")
    assert only_some["full"] is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"has no 'some' line"),
        ("partial avg10=0 avg60=0 avg300=0 total=0\n", r"line 1 does not start with 'some' or 'full'"),
        ("some avg10=0.00 avg60=0.00 total=0\n", r"line 1 lacks avg10/avg60/avg300/total"),
        ("some avg10=x avg60=0.00 avg300=0.00 total=0\n", r"line 1 has a non-numeric value"),
        ("some avg10=0 avg60=0 avg300=0 total=1.5\n", r"line 1 has a non-numeric value"),
    ],
)
def test_parse_psi_errors(text, match):
    with pytest.raises(MemwiseError, match=match):
        _procfs.parse_psi(text)


@pytest.mark.parametrize("source", fixture_sources("root/proc/vmstat"))
def test_parse_vmstat_captures(source):
    text = read_fixture(source, "root/proc/vmstat")
    stats = _procfs.parse_vmstat(text)
    assert len(stats) == len(text.splitlines())
    for name in ("pswpin", "pswpout", "nr_free_pages"):
        assert stats[name] >= 0
    assert stats["oom_kill"] == int(text.split("\noom_kill ")[1].split()[0])


@pytest.mark.parametrize("text", ["oom_kill\n", "oom_kill x\n", "a 1 2\n"])
def test_parse_vmstat_errors(text):
    with pytest.raises(MemwiseError, match=r"line 1 is not 'name value'"):
        _procfs.parse_vmstat(text)
