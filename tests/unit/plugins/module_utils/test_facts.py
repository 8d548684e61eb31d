# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every memory_facts section on every captured host, and the derived summary and advice."""

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _facts
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES, fixture_sources, read_fixture

VALID = list(_facts.SECTIONS)
SOURCES = fixture_sources("root/proc/meminfo")
# What each capture is known to be (see its host.txt): the facts must say the same.
KNOWN = {
    "devhost": {"cgroup": "hybrid", "memory_controller": "v1", "booted": False, "systemd": 252},
    "deb12": {"cgroup": "v2", "memory_controller": "v2", "booted": True, "systemd": 252},
    "deb13": {"cgroup": "v2", "memory_controller": "v2", "booted": True, "systemd": 257},
}


def root_of(source):
    return os.path.join(FIXTURES, source, "root")


def captured_command(source, name):
    """A command output captured on the same host (tests/unit/fixtures/<source>/commands/)."""
    path = os.path.join(FIXTURES, source, "commands", name)
    return read_fixture(source, "commands/" + name) if os.path.exists(path) else None


def collect_all(source, units=()):
    def run(argv):
        assert argv == ["systemctl", "is-system-running"]
        return captured_command(source, "is-system-running.txt")

    return _facts.collect(VALID, root=root_of(source), units=units, run=run)


def write(root, path, text):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as handle:
        handle.write(text)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, VALID),
        ([], VALID),
        (["all"], VALID),
        (["swap"], ["swap"]),
        (["swap", "meminfo"], ["meminfo", "swap"]),
        (["!swap"], [n for n in VALID if n != "swap"]),
        (["all", "!meminfo", "!vmstat"], [n for n in VALID if n not in ("meminfo", "vmstat")]),
        (["!all"], []),
        (["meminfo", "!meminfo"], []),
        ([" swap "], ["swap"]),
    ],
)
def test_resolve_subset(requested, expected):
    assert _facts.resolve_subset(requested) == expected


def test_resolve_subset_unknown_lists_valid_names():
    with pytest.raises(MemwiseError, match=r"unknown section\(s\) memory, !thing; valid: all, meminfo, swap, zram, "):
        _facts.resolve_subset(["memory", "swap", "!thing"])


def test_every_capture_is_known():
    assert set(SOURCES) <= set(KNOWN), "describe the new capture in KNOWN"


@pytest.mark.parametrize("source", SOURCES)
def test_every_section_on_every_capture(source):
    facts = collect_all(source)
    known = KNOWN[source]
    assert facts["meminfo"]["MemTotal"] > 0
    swap = facts["swap"]
    assert swap["total"] == sum(d["size"] for d in swap["devices"])
    assert swap["free"] == swap["total"] - swap["used"]
    assert swap["total"] == facts["meminfo"]["SwapTotal"]
    for device in facts["zram"]["devices"]:
        assert device["path"] == "/dev/" + device["name"]
        assert device["algorithm"] in device["algorithms"]
        if device["compression_ratio"] is not None:
            assert device["compression_ratio"] == round(device["orig_data_size"] / device["compr_data_size"], 2)
        assert device["active"] == any(d["path"] == device["path"] for d in swap["devices"])
    thp = facts["thp"]
    assert thp["enabled"] in thp["enabled_choices"] and thp["defrag"] in thp["defrag_choices"]
    assert thp["hpage_pmd_size"] == 2 * 1024 * 1024
    assert isinstance(thp["khugepaged"]["pages_to_scan"], int)
    assert facts["ksm"]["mode"] in ("stop", "run", "unmerge")
    for resource in ("memory", "io", "cpu"):
        assert facts["psi"][resource]["some"]["avg10"] >= 0
    assert 0 <= facts["vm"]["swappiness"] <= 200
    assert isinstance(facts["vm"]["lowmem_reserve_ratio"], list)
    assert facts["vmstat"]["oom_kill"] >= 0
    cgroup = facts["cgroup"]
    assert cgroup["version"] == known["cgroup"]
    assert cgroup["memory_controller"] == known["memory_controller"]
    assert "memory" in cgroup["controllers"]
    systemd = facts["systemd"]
    assert systemd["booted"] is known["booted"]
    assert systemd["version"] == known["systemd"]
    summary = facts["summary"]
    assert summary["mem_total"] == facts["meminfo"]["MemTotal"]
    assert summary["kernel"] == read_fixture(source, "host.txt").split()[1]
    assert summary["available_ratio"] == round(facts["meminfo"]["MemAvailable"] / facts["meminfo"]["MemTotal"], 4)
    assert summary["oom_kills"] == facts["vmstat"]["oom_kill"]
    assert all(set(item) == {"id", "severity", "text"} for item in summary["advice"])
    expected_unavailable = {"mglru"} if facts["mglru"] is None else set()
    assert set(facts["unavailable"]) == expected_unavailable


@pytest.mark.parametrize("source", [s for s in SOURCES if KNOWN[s]["booted"]])
def test_systemd_hosts(source):
    facts = collect_all(source, units=["ssh.service", "system.slice", "user.slice", "no-such.service"])
    systemd = facts["systemd"]
    assert systemd["pid1"] == "systemd"
    assert systemd["state"] == captured_command(source, "is-system-running.txt").strip()
    assert systemd["oomd_active"] is (source == "deb13")  # the deb13 capture runs systemd-oomd
    cgroup = facts["cgroup"]
    ssh = cgroup["units"]["ssh.service"]
    assert ssh["path"] == "/sys/fs/cgroup/system.slice/ssh.service"
    assert ssh["current"] > 0 and ssh["max"] is None
    assert set(ssh["events"]) >= {"low", "high", "max", "oom", "oom_kill"}
    assert ssh["pressure"]["some"]["total"] >= 0
    assert cgroup["units"]["system.slice"] == cgroup["groups"]["system.slice"]
    assert cgroup["units"]["user.slice"]["path"] == "/sys/fs/cgroup/user.slice"
    assert cgroup["units"]["no-such.service"] is None
    assert "no cgroup for no-such.service" in facts["unavailable"]["cgroup:no-such.service"]
    tops = cgroup["top_units"]
    assert 0 < len(tops) <= 5
    assert [t["current"] for t in tops] == sorted((t["current"] for t in tops), reverse=True)


def test_devhost_without_systemd_and_with_hybrid_cgroups():
    facts = collect_all("devhost", units=["ssh.service"])
    assert facts["systemd"]["booted"] is False and facts["systemd"]["state"] is None
    assert facts["cgroup"]["units"] == {"ssh.service": None}
    assert "under /sys/fs/cgroup/memory" in facts["unavailable"]["cgroup:ssh.service"]
    assert facts["mglru"] is None
    assert "built without MGLRU" in facts["unavailable"]["mglru"]


def test_missing_sources_never_fail(tmp_path):
    facts = _facts.collect(VALID, root=str(tmp_path), units=["ssh.service"])
    assert all(facts[name] is None for name in VALID)
    assert facts["unavailable"] == {
        "meminfo": "/proc/meminfo does not exist on this host",
        "swap": "/proc/swaps does not exist on this host",
        "zram": "/sys/block does not exist on this host",
        "zswap": "/sys/module/zswap/parameters does not exist: this kernel is built without zswap",
        "thp": "/sys/kernel/mm/transparent_hugepage does not exist: this kernel has no transparent huge pages",
        "ksm": "/sys/kernel/mm/ksm does not exist: this kernel is built without KSM",
        "mglru": "/sys/kernel/mm/lru_gen does not exist: this kernel is built without MGLRU (CONFIG_LRU_GEN)",
        "psi": "no pressure stall information (kernel without CONFIG_PSI or booted with psi=0): "
        "/proc/pressure/memory does not exist on this host",
        "vm": "/proc/sys/vm does not exist on this host",
        "vmstat": "/proc/vmstat does not exist on this host",
        "cgroup": "/proc/mounts does not exist on this host",
        "systemd": "systemd is not installed on this host",
        "summary": "needs meminfo: /proc/meminfo does not exist on this host",
    }


@pytest.mark.parametrize(
    ("path", "text", "section", "message"),
    [
        ("/proc/meminfo", "garbage\n", "meminfo", "line 1 is not 'Key: value [kB]'"),
        ("/proc/swaps", "nonsense\n", "swap", "does not start with its 'Filename"),
        ("/proc/vmstat", "oom_kill x\n", "vmstat", "line 1 is not 'name value'"),
        ("/proc/pressure/memory", "some avg10=1\n", "psi", "line 1 lacks avg10/avg60/avg300/total"),
        ("/sys/kernel/mm/lru_gen/enabled", "yes\n", "mglru", "'yes' is not an integer"),
        ("/sys/kernel/mm/transparent_hugepage/enabled", "always madvise\n", "thp", "is not a bracketed choice"),
        ("/proc/mounts", "cgroup2\n", "cgroup", "/proc/mounts line 1 is not in the kernel's format: 'cgroup2'"),
    ],
)
def test_garbled_source_is_unavailable_not_fatal(tmp_path, path, text, section, message):
    write(tmp_path, path, text)
    facts = _facts.collect([section], root=str(tmp_path))
    assert facts[section] is None
    assert message in facts["unavailable"][section]


def test_cgroup_without_cgroup_mounts(tmp_path):
    write(tmp_path, "/proc/mounts", "proc /proc proc rw 0 0\n")
    facts = _facts.collect(["cgroup"], root=str(tmp_path))
    assert facts["unavailable"] == {"cgroup": "no cgroup file system is mounted"}


def test_cgroup_without_memory_controller(tmp_path):
    write(tmp_path, "/proc/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n")
    write(tmp_path, "/sys/fs/cgroup/cgroup.controllers", "cpu io pids\n")
    facts = _facts.collect(["cgroup"], root=str(tmp_path), units=["ssh.service"])
    assert facts["cgroup"]["memory_controller"] is None
    assert facts["unavailable"] == {"cgroup:ssh.service": "the memory controller is not enabled on this host"}


def test_systemd_state_without_a_runner_is_null():
    facts = _facts.collect(["systemd"], root=root_of("deb12"))
    assert facts["systemd"]["state"] is None and facts["systemd"]["version"] == 252


MEMINFO = "MemTotal: 1000000 kB\nMemFree: 50000 kB\nMemAvailable: %d kB\nSwapTotal: 0 kB\n"
SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"


def synthetic(tmp_path, available=500000, swaps="", oom_kill=0, psi=(0.0, 0.0, 0.0, 0.0)):
    write(tmp_path, "/proc/meminfo", MEMINFO % available)
    write(tmp_path, "/proc/swaps", SWAPS_HEADER + swaps)
    write(tmp_path, "/proc/vmstat", "pswpin 0\noom_kill %d\n" % oom_kill)
    some10, some60, full10, full60 = psi
    write(
        tmp_path,
        "/proc/pressure/memory",
        "some avg10=%.2f avg60=%.2f avg300=0.00 total=1\nfull avg10=%.2f avg60=%.2f avg300=0.00 total=1\n"
        % (some10, some60, full10, full60),
    )
    facts = _facts.collect(["summary"], root=str(tmp_path))
    return facts["summary"], {item["id"]: item for item in facts["summary"]["advice"]}


@pytest.mark.parametrize(
    ("psi", "level"),
    [
        ((0.0, 0.0, 0.0, 0.0), "none"),
        ((9.99, 1.99, 4.99, 0.99), "none"),
        ((10.0, 0.0, 0.0, 0.0), "some"),
        ((0.0, 2.0, 0.0, 0.0), "some"),
        ((0.0, 0.0, 5.0, 0.0), "stalling"),
        ((50.0, 50.0, 0.0, 1.0), "stalling"),
    ],
)
def test_pressure_level_thresholds(tmp_path, psi, level):
    summary, advice = synthetic(tmp_path, psi=psi)
    assert summary["pressure_level"] == level
    assert ("memory_pressure" in advice) is (level != "none")
    if level == "stalling":
        assert advice["memory_pressure"]["severity"] == "critical"


def test_summary_without_swap_or_psi(tmp_path):
    write(tmp_path, "/proc/meminfo", MEMINFO % 500000)
    summary = _facts.collect(["summary"], root=str(tmp_path))["summary"]
    assert summary["available_ratio"] == 0.5
    assert summary["swap_total"] is None and summary["pressure_level"] is None and summary["pressure"] is None
    assert [item["id"] for item in summary["advice"]] == ["no_psi"]


def test_advice_no_swap_and_low_available_and_oom(tmp_path):
    summary, advice = synthetic(tmp_path, available=50000, oom_kill=3)
    assert summary["available_ratio"] == 0.05
    assert summary["swap_used_ratio"] is None
    assert set(advice) == {"no_swap", "low_available", "oom_kills"}
    assert advice["oom_kills"]["severity"] == "critical"
    assert "killed 3 process(es)" in advice["oom_kills"]["text"]


def test_advice_zram_below_disk_swap_and_nearly_full(tmp_path):
    swaps = "/swapfile file 1000 900 5\n/dev/zram0 partition 1000 900 -2\n"
    summary, advice = synthetic(tmp_path, swaps=swaps)
    assert summary["swap_used_ratio"] == 0.9
    assert set(advice) == {"zram_priority", "swap_nearly_full"}
    assert "priority -2" in advice["zram_priority"]["text"] and "/swapfile" in advice["zram_priority"]["text"]


# Read by hand from the captures' /sys/block/zram0 and /proc/swaps (not with the module's parsers).
ZRAM_CAPTURED = {
    "deb12": {
        "name": "zram0",
        "path": "/dev/zram0",
        "disksize": 268435456,
        "algorithm": "zstd",
        "algorithms": ["lzo", "lzo-rle", "lz4", "lz4hc", "zstd"],
        "active": True,
        "priority": 100,
        "orig_data_size": 263438336,
        "compr_data_size": 2511393,
        "mem_used_total": 3878912,
        "mem_limit": 0,
        "mem_used_max": 4583424,
        "same_pages": 20,
        "pages_compacted": 20,
        "huge_pages": 9,
        "huge_pages_since": 33,
        "compression_ratio": 104.9,
    },
    "deb13": {
        "name": "zram0",
        "path": "/dev/zram0",
        "disksize": 268435456,
        "algorithm": "zstd",
        "algorithms": ["lz4", "lz4hc", "zstd", "deflate"],
        "active": True,
        "priority": 100,
        "orig_data_size": 4096,
        "compr_data_size": 58,
        "mem_used_total": 20480,
        "mem_limit": 0,
        "mem_used_max": 200704,
        "same_pages": 0,
        "pages_compacted": 0,
        "huge_pages": 0,
        "huge_pages_since": 12,
        "compression_ratio": 70.62,
    },
    "devhost": {
        "name": "zram0",
        "path": "/dev/zram0",
        "disksize": 0,
        "algorithm": "lzo-rle",
        "algorithms": ["lzo-rle", "lzo", "lz4"],
        "active": False,
        "priority": None,
        "orig_data_size": 0,
        "compr_data_size": 0,
        "mem_used_total": 0,
        "mem_limit": 0,
        "mem_used_max": 0,
        "same_pages": 0,
        "pages_compacted": 0,
        "huge_pages": 0,
        "huge_pages_since": 0,
        "compression_ratio": None,
    },
}


@pytest.mark.parametrize("source", sorted(ZRAM_CAPTURED))
def test_zram_devices_are_what_the_capture_says(source):
    zram = _facts.collect(["zram"], root=root_of(source))["zram"]
    assert zram["devices"] == [ZRAM_CAPTURED[source]]
    expected = ZRAM_CAPTURED[source]
    assert zram["total_disksize"] == expected["disksize"]
    assert zram["total_orig_data_size"] == expected["orig_data_size"]
    assert zram["total_mem_used"] == expected["mem_used_total"]


def test_zram_above_disk_swap_is_fine(tmp_path):
    swaps = "/swapfile file 1000 0 5\n/dev/zram0 partition 1000 0 100\n"
    _summary, advice = synthetic(tmp_path, swaps=swaps)
    assert advice == {}


def test_zswap_in_front_of_zram(tmp_path):
    write(tmp_path, "/sys/module/zswap/parameters/enabled", "Y\n")
    write(tmp_path, "/sys/block/zram0/disksize", "1048576\n")
    write(tmp_path, "/sys/block/zram0/comp_algorithm", "lzo [zstd]\n")
    write(tmp_path, "/sys/block/zram0/mm_stat", "4096 1024 8192 0 8192 0 0 0\n")
    _summary, advice = synthetic(tmp_path, swaps="/dev/zram0 partition 1024 4 100\n")
    assert set(advice) == {"zswap_with_zram"}
    zram = _facts.collect(["zram"], root=str(tmp_path))["zram"]["devices"][0]
    assert zram["compression_ratio"] == 4.0 and zram["huge_pages_since"] is None and zram["priority"] == 100
    assert zram["active"] is True and "swap" not in zram and "swap_priority" not in zram
