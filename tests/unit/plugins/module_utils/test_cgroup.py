# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cgroup layout detection and memory readings, on captured /proc/mounts and cgroup trees."""

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _cgroup, _mounts
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES, fixture_sources, read_fixture

V2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0\n"
HYBRID = (
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n"
    "cgroup /sys/fs/cgroup/systemd cgroup rw,nosuid,nodev,noexec,relatime,xattr,name=systemd 0 0\n"
    "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0\n"
    "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\n"
)
V1 = "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0\n"


def write(base, rel, text):
    full = os.path.join(str(base), rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as handle:
        handle.write(text)


@pytest.mark.parametrize(
    ("text", "version", "unified", "v1"),
    [
        (V2, "v2", "/sys/fs/cgroup", {}),
        (
            HYBRID,
            "hybrid",
            "/sys/fs/cgroup/unified",
            {
                "memory": "/sys/fs/cgroup/memory",
                "cpu": "/sys/fs/cgroup/cpu,cpuacct",
                "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
            },
        ),
        (V1, "v1", None, {"memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"}),
        ("proc /proc proc rw 0 0\n", None, None, {}),
    ],
)
def test_detect_layout(text, version, unified, v1):
    layout = _cgroup.detect_layout(_mounts.parse(text, "/proc/mounts"))
    assert layout == {"version": version, "unified": unified, "v1": v1}


@pytest.mark.parametrize("source", fixture_sources("root/proc/mounts"))
def test_detect_layout_on_captures(source):
    layout = _cgroup.detect_layout(_mounts.parse(read_fixture(source, "root/proc/mounts"), "/proc/mounts"))
    assert layout["version"] == ("hybrid" if source == "devhost" else "v2")


def test_a_mount_point_with_a_space_is_a_v2_hierarchy():
    layout = _cgroup.detect_layout(_mounts.parse("cgroup2 /mnt/my\\040cgroup cgroup2 rw 0 0\n", "/proc/mounts"))
    assert layout == {"version": "v2", "unified": "/mnt/my cgroup", "v1": {}}


def test_the_layout_comes_from_mountinfo_too():
    text = read_fixture("fstab", "mountinfo-deb13.txt")
    assert _cgroup.detect_layout(_mounts.parse(text)) == {"version": "v2", "unified": "/sys/fs/cgroup", "v1": {}}


def test_parse_keyed_and_errors():
    assert _cgroup.parse_keyed("low 0\nhigh 12\n\noom_kill 1\n", "memory.events") == {
        "low": 0,
        "high": 12,
        "oom_kill": 1,
    }
    with pytest.raises(MemwiseError, match=r"memory.events line 1 is not 'name value': 'low'"):
        _cgroup.parse_keyed("low\n", "memory.events")


@pytest.mark.parametrize(("text", "value"), [("max\n", None), ("1048576\n", 1048576), ("0", 0)])
def test_parse_limit(text, value):
    assert _cgroup.parse_limit(text, "memory.max") == value


@pytest.mark.parametrize("text", ["infinity", "-1", "1G", ""])
def test_parse_limit_errors(text):
    with pytest.raises(MemwiseError, match=r"memory.max: .* is neither 'max' nor a number of bytes"):
        _cgroup.parse_limit(text, "memory.max")


def test_parse_count_error():
    with pytest.raises(MemwiseError, match=r"memory.current: 'lots' is not a number"):
        _cgroup.parse_count("lots\n", "memory.current")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("-.slice", ""),
        ("system.slice", "system.slice"),
        ("user-1000.slice", "user.slice/user-1000.slice"),
        ("a-b-c.slice", "a.slice/a-b.slice/a-b-c.slice"),
    ],
)
def test_slice_path(name, path):
    assert _cgroup.slice_path(name) == path


def test_find_unit_in_nested_trees(tmp_path):
    for rel in (
        "system.slice/ssh.service",
        "user.slice/user-1000.slice/user@1000.service/app.slice/editor.service",
        "machine.slice",
    ):
        os.makedirs(os.path.join(str(tmp_path), rel))
    write(tmp_path, "system.slice/memory.current", "1\n")  # files are never taken for units
    assert _cgroup.find_unit(str(tmp_path), "ssh.service") == "system.slice/ssh.service"
    assert _cgroup.find_unit(str(tmp_path), "user@1000.service") == "user.slice/user-1000.slice/user@1000.service"
    assert (
        _cgroup.find_unit(str(tmp_path), "editor.service")
        == "user.slice/user-1000.slice/user@1000.service/app.slice/editor.service"
    )
    assert _cgroup.find_unit(str(tmp_path), "user-1000.slice") == "user.slice/user-1000.slice"
    assert _cgroup.find_unit(str(tmp_path), "memory.current") is None
    assert _cgroup.find_unit(str(tmp_path), "gone.service") is None
    assert _cgroup.find_unit(str(tmp_path), "gone.slice") is None


def test_find_unit_stops_at_max_depth(tmp_path):
    deep = "/".join("d%d" % i for i in range(_cgroup.MAX_DEPTH)) + "/deep.service"
    os.makedirs(os.path.join(str(tmp_path), deep))
    assert _cgroup.find_unit(str(tmp_path), "deep.service") is None


def test_read_group_v2_keeps_only_files_the_kernel_has(tmp_path):
    write(tmp_path, "sys/fs/cgroup/system.slice/x.service/memory.current", "4096\n")
    write(tmp_path, "sys/fs/cgroup/system.slice/x.service/memory.max", "max\n")
    write(tmp_path, "sys/fs/cgroup/system.slice/x.service/memory.high", "1073741824\n")
    stats = _cgroup.read_group(str(tmp_path), "/sys/fs/cgroup", "system.slice/x.service", "v2")
    assert stats == {
        "current": 4096,
        "max": None,
        "high": 1073741824,
        "events": None,
        "pressure": None,
        "path": "/sys/fs/cgroup/system.slice/x.service",
    }


def test_read_group_v1(tmp_path):
    base = "sys/fs/cgroup/memory/system.slice/"
    write(tmp_path, base + "memory.usage_in_bytes", "8192\n")
    write(tmp_path, base + "memory.max_usage_in_bytes", "16384\n")
    write(tmp_path, base + "memory.limit_in_bytes", "9223372036854771712\n")
    write(tmp_path, base + "memory.memsw.usage_in_bytes", "12288\n")
    write(tmp_path, base + "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    stats = _cgroup.read_group(str(tmp_path), "/sys/fs/cgroup/memory", "system.slice", "v1")
    assert stats == {
        "current": 8192,
        "peak": 16384,
        "max": None,
        "swap_current": 4096,
        "events": {"oom_kill": 2},
        "pressure": None,
        "path": "/sys/fs/cgroup/memory/system.slice",
    }


def test_read_group_v1_with_a_limit(tmp_path):
    write(tmp_path, "m/memory.limit_in_bytes", "536870912\n")
    assert _cgroup.read_group(str(tmp_path), "/m", "", "v1")["max"] == 536870912


def test_top_units(tmp_path):
    for rel, current in (
        ("system.slice/a.service", 30),
        ("system.slice/b.service", 10),
        ("user.slice/user-0.slice", 20),
        ("init.scope", 99),
    ):
        write(tmp_path, rel + "/memory.current", "%d\n" % current)
    os.makedirs(os.path.join(str(tmp_path), "system.slice", "empty.service"))
    assert _cgroup.top_units(str(tmp_path), "v2", count=2) == [
        {"unit": "a.service", "slice": "system.slice", "current": 30},
        {"unit": "user-0.slice", "slice": "user.slice", "current": 20},
    ]
    assert _cgroup.top_units(os.path.join(str(tmp_path), "missing"), "v2") == []


@pytest.mark.parametrize("source", fixture_sources("root/sys/fs/cgroup/system.slice/memory.current"))
def test_read_group_on_captures(source):
    stats = _cgroup.read_group(os.path.join(FIXTURES, source, "root"), "/sys/fs/cgroup", "system.slice", "v2")
    assert stats["current"] > 0 and stats["events"]["oom_kill"] >= 0
