# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_zram: parsers on real /sys/block/zram0 captures, sizes as zram-generator computes them, plan, render."""

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _mounts, _procfs, _zram
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES, read_fixture

DEB13 = "zram/deb13"
# MemTotal of the Debian 13 VM the captures come from (990564 kB).
MEM_TOTAL = 990564 * 1024
GIB = 1024**3


def spec(**kwargs):
    params = {"size": "50%", "max_size": None, "algorithm": "zstd", "priority": 100, "devices": 1}
    params.update(kwargs)
    return _zram.validate(params, ["lz4", "lz4hc", "zstd", "deflate"])


# ---------------------------------------------------------------- kernel files


@pytest.mark.parametrize(
    ("name", "selected", "offered"),
    [
        ("comp_algorithm_default", "lz4", ["lz4", "lz4hc", "zstd", "deflate"]),
        ("comp_algorithm_zstd", "zstd", ["lz4", "lz4hc", "zstd", "deflate"]),
        ("comp_algorithm_lz4", "lz4", ["lz4", "lz4hc", "zstd", "deflate"]),
    ],
)
def test_parse_algorithms_on_captures(name, selected, offered):
    assert _zram.parse_algorithms(read_fixture(DEB13, name)) == (selected, offered)


def test_parse_algorithms_of_debian_12_kernel():
    text = "lzo [lzo-rle] lz4 lz4hc 842 zstd \n"
    assert _zram.parse_algorithms(text) == ("lzo-rle", ["lzo", "lzo-rle", "lz4", "lz4hc", "842", "zstd"])


@pytest.mark.parametrize("text", ["", "  \n", None])
def test_parse_algorithms_refuses_an_empty_list(text):
    with pytest.raises(MemwiseError, match="lists no compression algorithm"):
        _zram.parse_algorithms(text)


def test_parse_algorithms_refuses_a_list_without_a_choice():
    with pytest.raises(MemwiseError, match="is not a bracketed choice"):
        _zram.parse_algorithms("lz4 zstd")


def test_mm_stat_while_swapping_gives_the_ratio():
    stat = _zram.parse_mm_stat(read_fixture(DEB13, "mm_stat_swapping"))
    assert stat["orig_data_size"] == 91500544 and stat["compr_data_size"] == 23137922
    assert stat["huge_pages_since"] == 12
    assert _zram.compression_ratio(stat) == 3.95


def test_mm_stat_of_an_old_kernel_misses_columns():
    stat = _zram.parse_mm_stat("4096 69 20480 0 20480 0 0")
    assert stat["huge_pages"] is None and _zram.compression_ratio(stat) == 59.36


def test_device_state_of_an_active_swap():
    swaps = _procfs.parse_swaps(read_fixture(DEB13, "proc_swaps_1G"))
    files = {
        "disksize": read_fixture(DEB13, "disksize_1G"),
        "comp_algorithm": read_fixture(DEB13, "comp_algorithm_lz4"),
        "mm_stat": read_fixture(DEB13, "mm_stat_idle"),
    }
    state = _zram.device_state("zram0", files, swaps)
    assert state["active"] and state["initialised"] and not state["mounted"]
    assert (state["disksize"], state["algorithm"], state["priority"]) == (GIB, "lz4", 60)
    assert state["size"] == GIB - 4096 and state["used"] == 0
    assert state["path"] == "/dev/zram0" and state["algorithms"] == ["lz4", "lz4hc", "zstd", "deflate"]
    # only the swap header is stored: 4096 bytes in 69, as mm_stat says
    assert (state["orig_data_size"], state["compr_data_size"], state["compression_ratio"]) == (4096, 69, 59.36)


def test_device_state_ratio_when_pages_are_swapped():
    swaps = _procfs.parse_swaps(read_fixture(DEB13, "proc_swaps_swapping"))
    files = {
        "disksize": read_fixture(DEB13, "disksize_100M"),
        "comp_algorithm": read_fixture(DEB13, "comp_algorithm_zstd"),
        "mm_stat": read_fixture(DEB13, "mm_stat_swapping"),
    }
    state = _zram.device_state("zram0", files, swaps)
    assert state["used"] == 89672 * 1024 and state["compression_ratio"] == 3.95


def test_device_state_of_a_missing_and_a_mounted_device():
    missing = _zram.device_state("zram3", {"disksize": None}, [])
    assert (missing["exists"], missing["initialised"], missing["active"]) == (False, False, False)
    assert missing["disksize"] is None and missing["algorithms"] == [] and missing["compression_ratio"] is None
    files = {"disksize": "1048576\n", "comp_algorithm": "[lz4] zstd\n", "mm_stat": "0 0 0 0 0 0 0 0 0"}
    mounted = _mounts.sources(_mounts.parse("/dev/zram1 /tmp ext2 rw 0 0\n", "/proc/mounts"))
    state = _zram.device_state("zram1", files, [], mounted)
    assert state["mounted"] and state["initialised"] and not state["active"]
    assert _zram.device_state("zram1", files, [], mounted, holders=["dm-0"])["holders"]


def reader(root):
    """``read`` and ``listdir`` below a capture root, as memory_facts and the zram module pass them."""

    def read(path):
        return _procfs.read_text(path, root)[0]

    def listdir(path):
        full = os.path.join(root, path.lstrip("/"))
        return sorted(os.listdir(full)) if os.path.isdir(full) else None

    return read, listdir


def test_read_devices_of_the_debian_12_capture():
    devices = _zram.read_devices(*reader(os.path.join(FIXTURES, "deb12", "root")))
    assert list(devices) == ["zram0"]
    zram0 = devices["zram0"]
    # /sys/block/zram0 and /proc/swaps of the capture, read by hand
    assert _zram.report(zram0) == {
        "name": "zram0",
        "path": "/dev/zram0",
        "disksize": 268435456,
        "algorithm": "zstd",
        "active": True,
        "priority": 100,
        "size": 262140 * 1024,
        "used": 257260 * 1024,
        "compression_ratio": 104.9,
    }
    assert _zram.fact(zram0)["algorithms"] == ["lzo", "lzo-rle", "lz4", "lz4hc", "zstd"]
    assert list(_zram.fact(zram0)) == list(_zram.FACT_KEYS)


def test_read_devices_without_zram():
    assert _zram.read_devices(lambda path: None, lambda path: None) == {}


def test_fresh_devices_are_what_modprobe_creates():
    fresh = _zram.fresh_devices(2)
    assert list(fresh) == ["zram0", "zram1"]
    assert all(d["exists"] and not d["initialised"] and not d["active"] for d in fresh.values())


# ---------------------------------------------------------------- algorithms without loading zram


def offline(files, dirs=None):
    dirs = dirs or {}
    return _zram.offline_algorithms(files.get, dirs.get)


def test_offline_algorithms_from_the_612_kernel_config():
    config = (
        "CONFIG_ZRAM=m\nCONFIG_ZRAM_BACKEND_LZ4=y\nCONFIG_ZRAM_BACKEND_LZ4HC=y\nCONFIG_ZRAM_BACKEND_ZSTD=y\n"
        "CONFIG_ZRAM_BACKEND_DEFLATE=y\n# CONFIG_ZRAM_BACKEND_842 is not set\n# CONFIG_ZRAM_BACKEND_LZO is not set\n"
    )
    files = {"/proc/sys/kernel/osrelease": "6.12.117+deb13-amd64\n", "/boot/config-6.12.117+deb13-amd64": config}
    # what the Debian 13 VM's comp_algorithm lists (tests/unit/fixtures/zram/deb13/comp_algorithm_default)
    assert offline(files) == (["lz4", "lz4hc", "zstd", "deflate"], "/boot/config-6.12.117+deb13-amd64")


def test_offline_algorithms_of_an_older_kernel_from_crypto_modules():
    files = {
        "/proc/sys/kernel/osrelease": "6.1.0-50-amd64\n",
        "/boot/config-6.1.0-50-amd64": "CONFIG_ZRAM=m\nCONFIG_ZRAM_DEF_COMP_LZORLE=y\n",
        "/proc/crypto": "name         : lzo-rle\ndriver       : lzo-rle-scomp\n\nname         : sha256\n",
        "/lib/modules/6.1.0-50-amd64/modules.builtin": "kernel/crypto/lzo.ko\nkernel/crypto/lzo-rle.ko\n",
    }
    dirs = {"/lib/modules/6.1.0-50-amd64/kernel/crypto": ["lz4.ko", "lz4hc.ko", "zstd.ko", "sha3_generic.ko"]}
    algorithms, source = offline(files, dirs)
    # what the Debian 12 VM's comp_algorithm lists (tests/unit/fixtures/zram/deb12/comp_algorithm_default)
    assert algorithms == ["lzo", "lzo-rle", "lz4", "lz4hc", "zstd"]
    assert source.startswith("/proc/crypto, /lib/modules/6.1.0-50-amd64/kernel/crypto")


def test_offline_algorithms_of_the_dev_host_capture():
    read, listdir = reader(os.path.join(FIXTURES, "devhost", "root"))
    algorithms, source = _zram.offline_algorithms(read, listdir)
    assert source == "/proc/crypto" and "lzo-rle" in algorithms and "lzo" in algorithms


def test_offline_algorithms_when_nothing_tells():
    algorithms, why = offline({})
    assert algorithms is None and "/proc/crypto" in why


def test_validate_names_the_offline_source():
    params = {"size": "1G", "max_size": None, "algorithm": "lzo", "priority": 5, "devices": 1}
    with pytest.raises(MemwiseError, match=r"algorithm: 'lzo' is not one this kernel offers for zram \(/boot/config-x"):
        _zram.validate(params, ["lz4"], "/boot/config-x")


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"size": "lots"}, r"size: 'lots' is not a size"),
        ({"size": "150%"}, r"size: '150%' is more than 100%"),
        ({"size": "0%"}, r"size: '0%' is no memory at all"),
        ({"max_size": "25%"}, r"max_size: '25%' is a percentage; give the cap as an absolute size"),
        ({"size": "2G", "max_size": "1G"}, r"max_size: caps a percentage, but size '2G' is absolute"),
        ({"max_size": "100K"}, r"max_size: '100K' is below 1 MiB"),
        ({"max_size": "many"}, r"max_size: 'many' is not a size"),
        ({"priority": 40000}, r"priority: 40000 is outside -1..32767"),
        ({"priority": -2}, r"priority: -2 is outside -1..32767"),
        ({"devices": 0}, r"devices: 0; give 1 or more zram devices"),
        ({"algorithm": "nosuch"}, r"algorithm: 'nosuch' is not one this kernel offers .* lz4, lz4hc, zstd, deflate"),
    ],
)
def test_validate_names_the_option_and_says_nothing_changed(params, message):
    with pytest.raises(MemwiseError, match="^invalid options, nothing changed: .*" + message):
        spec(**params)


def test_validate_reports_every_bad_option_at_once():
    with pytest.raises(MemwiseError) as exc:
        spec(size="lots", priority=40000, devices=0, algorithm="nosuch")
    for option in ("size:", "priority:", "devices:", "algorithm:"):
        assert option in str(exc.value)


def test_validate_without_the_kernel_list_skips_the_algorithm():
    assert _zram.validate({"size": "2G", "algorithm": "nosuch", "priority": 5, "devices": 1})["size"] == {
        "bytes": 2 * GIB
    }


# ---------------------------------------------------------------- sizes (measured on the Debian 13 VM)


@pytest.mark.parametrize(
    ("options", "expression", "disksize"),
    [
        # zram-generator wrote these disksizes for these expressions (MemTotal 990564 kB: ram = 967)
        ({"size": "25%", "max_size": "4G"}, "min(ram * 25 / 100, 4096)", 253493248),
        ({"size": "50%", "max_size": "4G"}, "min(ram * 50 / 100, 4096)", 506986496),
        ({"size": "33.3%", "devices": 2}, "ram * 33.3 / 100 / 2", 168828928),
        ({"size": "50%", "max_size": "256M"}, "min(ram * 50 / 100, 256)", 256 * 1024**2),
        ({"size": "50%", "max_size": "1.5G"}, "min(ram * 50 / 100, 1536)", 506986496),
        ({"size": "50%", "max_size": "300000000"}, "min(ram * 50 / 100, 300000000 / 1048576)", 300003328),
        ({"size": "1G"}, "1024", GIB),
        ({"size": "1G", "devices": 4}, "256", GIB // 4),
        ({"size": "1000000000"}, "1000000000 / 1048576", 1000001536),
    ],
)
def test_size_expression_and_bytes_agree_with_the_generator(options, expression, disksize):
    wanted = spec(**options)
    assert _zram.size_expression(wanted) == expression
    assert _zram.device_bytes(wanted, MEM_TOTAL) == disksize


def test_device_bytes_refuses_a_device_below_one_mib():
    with pytest.raises(MemwiseError, match=r"size: 1 MiB over 2 device\(s\) gives 512 KiB per device.*nothing"):
        _zram.device_bytes(spec(size="1M", devices=2), MEM_TOTAL)


# ---------------------------------------------------------------- configuration files


def test_render_generator_is_the_captured_file():
    text = _zram.render_generator(spec(size="50%", max_size="4G"))
    assert text == read_fixture(DEB13, "zram-generator.conf.50pct-4G")
    assert _zram.generator_devices(text) == ["zram0"] and _zram.ours(text)


def test_render_generator_for_two_devices_and_parse_back():
    text = _zram.render_generator(spec(size="2G", algorithm="lz4", priority=-1, devices=2))
    parsed = _zram.parse_generator(text)
    assert parsed["zram1"] == {"zram-size": "1024", "compression-algorithm": "lz4", "swap-priority": "-1"}
    assert _zram.generator_devices(text) == ["zram0", "zram1"]


def test_the_debian_default_configuration_sets_up_zram0():
    text = read_fixture(DEB13, "zram-generator.conf.debian-default")
    assert _zram.parse_generator(text) == {"": {}, "zram0": {}}
    assert _zram.generator_devices(text) == ["zram0"] and not _zram.ours(text)


def test_absent_generator_file_has_no_devices():
    text = _zram.render_generator(None)
    assert _zram.ours(text) and _zram.generator_devices(text) == []


def test_parse_generator_refuses_a_line_without_equals():
    with pytest.raises(MemwiseError, match=r"line 2 is not 'key = value' or '\[section\]'"):
        _zram.parse_generator("[zram0]\nzram-size\n")


def test_render_unit_is_the_captured_unit():
    text = _zram.render_unit(spec(size="1G", algorithm="lz4", priority=60), GIB)
    assert text == read_fixture(DEB13, "memwise-zram.service.lz4-1G")
    assert _zram.unit_devices(text) == ["zram0"]


def test_render_unit_hot_adds_more_devices_and_lets_the_kernel_pick_a_priority():
    text = _zram.render_unit(spec(size="1G", devices=2, priority=-1), GIB // 2)
    assert "ExecStart=modprobe zram num_devices=2\n" in text
    assert "ExecStart=sh -c 'test -e /sys/block/zram1 || cat /sys/class/zram-control/hot_add'\n" in text
    assert "ExecStart=swapon --discard /dev/zram1\n" in text
    assert _zram.unit_devices(text) == ["zram0", "zram1"]


# ---------------------------------------------------------------- plan


def active(name="zram0", disksize=GIB, algorithm="zstd", priority=100, used=0):
    return {
        "name": name,
        "exists": True,
        "initialised": True,
        "active": True,
        "disksize": disksize,
        "algorithm": algorithm,
        "priority": priority,
        "used": used,
    }


def idle(name="zram0"):
    return {"name": name, "exists": True, "initialised": False, "active": False, "disksize": 0}


PLAN_CASES = [
    ("nothing loaded yet", "present", {}, [], {"zram0": "create"}),
    ("an unused device", "present", {"zram0": idle()}, [], {"zram0": "create"}),
    ("already right", "present", {"zram0": active()}, ["zram0"], {"zram0": "keep"}),
    ("another size", "present", {"zram0": active(disksize=GIB // 2)}, [], {"zram0": "recreate"}),
    ("another algorithm", "present", {"zram0": active(algorithm="lz4")}, [], {"zram0": "recreate"}),
    ("another priority", "present", {"zram0": active(priority=5)}, [], {"zram0": "recreate"}),
    (
        "one device fewer",
        "present",
        {"zram0": active(), "zram1": active("zram1")},
        ["zram0", "zram1"],
        {"zram0": "keep", "zram1": "remove"},
    ),
    (
        "a foreign active device beyond the count is left alone",
        "present",
        {"zram0": active(), "zram1": active("zram1")},
        [],
        {"zram0": "keep"},
    ),
    (
        "initialised, not swap: ours to reset",
        "present",
        {"zram0": dict(active(), active=False)},
        [],
        {"zram0": "recreate"},
    ),
    ("absent, active", "absent", {"zram0": active()}, [], {"zram0": "remove"}),
    ("absent, configured but idle", "absent", {"zram0": idle()}, ["zram0"], {}),
    (
        "absent, both configured devices",
        "absent",
        {"zram0": active(), "zram1": active("zram1"), "zram2": active("zram2")},
        ["zram0", "zram1"],
        {"zram0": "remove", "zram1": "remove"},
    ),
]


@pytest.mark.parametrize(("case", "state", "current", "managed", "steps"), PLAN_CASES, ids=[c[0] for c in PLAN_CASES])
def test_plan(case, state, current, managed, steps):
    assert _zram.plan(state, spec(), current, managed, GIB) == steps, case


def test_plan_for_more_devices():
    steps = _zram.plan("present", spec(devices=3), {"zram0": active()}, ["zram0"], GIB)
    assert steps == {"zram0": "keep", "zram1": "create", "zram2": "create"}


def test_plan_priority_minus_one_accepts_any_kernel_chosen_priority():
    wanted = spec(priority=-1)
    assert _zram.plan("present", wanted, {"zram0": active(priority=-2)}, [], GIB) == {"zram0": "keep"}
    assert _zram.plan("present", wanted, {"zram0": active(priority=100)}, [], GIB) == {"zram0": "recreate"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"mounted": True}, r"zram0: holds a mounted file system, not swap.*nothing was changed"),
        ({"holders": True}, r"zram0: is in use by another block device .*holders.*nothing was changed"),
    ],
)
def test_plan_refuses_a_device_used_for_something_else(extra, message):
    current = {"zram0": dict(active(), active=False, **extra)}
    with pytest.raises(MemwiseError, match=message):
        _zram.plan("present", spec(), current, [], GIB)
    with pytest.raises(MemwiseError, match=message):
        _zram.plan("absent", spec(), current, ["zram0"], GIB)


def test_swapoff_load_counts_the_active_devices_taken_down():
    current = {"zram0": active(used=5 * 1024**2), "zram1": active("zram1", used=3 * 1024**2), "zram2": idle("zram2")}
    steps = {"zram0": "recreate", "zram1": "keep", "zram2": "create"}
    assert _zram.swapoff_load(steps, current) == (["/dev/zram0"], 5 * 1024**2)


def test_predicted_and_verify():
    wanted = spec()
    current = {"zram0": active(disksize=GIB // 2, used=4096), "zram1": active("zram1")}
    after = _zram.predicted({"zram0": "recreate", "zram1": "remove"}, wanted, current, GIB)
    assert _zram.summary(after["zram0"]) == {"disksize": GIB, "algorithm": "zstd", "priority": 100, "active": True}
    assert after["zram0"]["size"] == GIB - 4096 and after["zram0"]["used"] == 0
    assert _zram.summary(after["zram1"]) == {"disksize": None, "algorithm": None, "priority": None, "active": False}
    assert _zram.verify("zram0", after["zram0"], wanted, GIB) is None
    assert _zram.verify("zram0", {}, wanted, GIB) == "/dev/zram0 is not in /proc/swaps"
    assert _zram.verify("zram0", active(algorithm="lz4", priority=7), wanted, GIB) == (
        "the algorithm is lz4, not zstd; the swap priority is 7, not 100"
    )


def test_actions_in_order():
    current = {"zram0": active(algorithm="lz4", used=3 * 1024**2)}
    work = {
        "steps": {"zram0": "recreate", "zram1": "create"},
        "current": current,
        "spec": spec(devices=2),
        "disksize": GIB,
        "files": {_zram.UNIT_PATH: ("old", "new"), _zram.GENERATOR_CONF: (None, None)},
        "switch": "enable",
        "via_generator": False,
    }
    assert _zram.actions(work) == [
        "swapoff /dev/zram0 (3 MiB of swapped pages back to RAM)",
        "reset zram0",
        "write /etc/systemd/system/memwise-zram.service",
        "systemctl daemon-reload",
        "enable memwise-zram.service",
        "set up zram0: zstd, disksize 1073741824 (1 GiB), priority 100; mkswap; swapon",
        "hot_add zram1",
        "set up zram1: zstd, disksize 1073741824 (1 GiB), priority 100; mkswap; swapon",
    ]
    work.update(via_generator=True, switch="disable", steps={"zram0": "keep"})
    work["files"] = {_zram.UNIT_PATH: ("old", None), _zram.GENERATOR_CONF: (None, "conf")}
    assert _zram.actions(work) == [
        "disable memwise-zram.service",
        "remove /etc/systemd/system/memwise-zram.service",
        "write /etc/systemd/zram-generator.conf",
        "systemctl daemon-reload",
    ]


# ---------------------------------------------------------------- which files change


def texts(conf=None, unit=None, default=None, generator=False):
    return {"conf": conf, "unit": unit, "default": default, "generator": generator}


def test_files_plan_generator_takes_over_from_the_unit():
    old_unit = read_fixture(DEB13, "memwise-zram.service.lz4-1G")
    plan = _zram.files_plan("present", spec(), GIB, "generator", texts(unit=old_unit, generator=True))
    assert plan[_zram.UNIT_PATH] == (old_unit, None)
    assert plan[_zram.GENERATOR_CONF][1] == _zram.render_generator(spec())


def test_files_plan_unit_removes_only_its_own_generator_file():
    mine = _zram.render_generator(spec())
    plan = _zram.files_plan("present", spec(), GIB, "unit", texts(conf=mine))
    assert plan[_zram.GENERATOR_CONF] == (mine, None)
    assert plan[_zram.UNIT_PATH] == (None, _zram.render_unit(spec(), GIB))
    foreign = "[zram1]\nmount-point = /var/compressed\n"
    plan = _zram.files_plan("present", spec(), GIB, "unit", texts(conf=foreign))
    assert plan[_zram.GENERATOR_CONF] == (foreign, foreign)


@pytest.mark.parametrize(
    ("given", "conf_after"),
    [
        # Debian 13: the package default in /usr/lib would set zram0 up again at boot
        (texts(default=read_fixture(DEB13, "zram-generator.conf.debian-default"), generator=True), "no devices"),
        # Debian 12: the package's default is the /etc file itself; once it is ours, absent removes it
        (texts(conf=_zram.render_generator(spec()), generator=True), None),
        # a file someone else wrote keeps its section, which no longer sets a device up
        (texts(conf="[zram0]\n", generator=True), "[zram0]\nzram-size = 0\n"),
        # without the generator nothing is written
        (texts(), None),
    ],
)
def test_files_plan_absent(given, conf_after):
    plan = _zram.files_plan("absent", spec(), None, "none", dict(given, unit="old"))
    assert plan[_zram.UNIT_PATH] == ("old", None)
    if conf_after == "no devices":
        assert plan[_zram.GENERATOR_CONF][1] == _zram.render_generator(None)
    else:
        assert plan[_zram.GENERATOR_CONF][1] == conf_after


# An administrator's file: a writeback device for zram0, a compressed file system on zram1.
ADMIN = """\
# zram for the build hosts (ops ticket 4711)
[zram0]
writeback-device = /dev/disk/by-partlabel/zram-wb
compression-algorithm = lzo-rle

[zram1]
mount-point = /var/compressed
options = X-mount.mode=1777
"""


def foreign_lines(text):
    """The lines of ADMIN that are not the module's keys, in order."""
    own = ("zram-size", "compression-algorithm", "swap-priority")
    return [line for line in text.splitlines() if line.split("=")[0].strip() not in own and "memwise" not in line]


def test_files_plan_merges_into_an_administrators_file_and_keeps_every_foreign_line():
    plan = _zram.files_plan("present", spec(), GIB, "generator", texts(conf=ADMIN, generator=True))
    before, after = plan[_zram.GENERATOR_CONF]
    assert before == ADMIN
    assert after == ADMIN.replace(
        "compression-algorithm = lzo-rle\n",
        "compression-algorithm = zstd\nzram-size = ram * 50 / 100\nswap-priority = 100\n",
    )
    assert foreign_lines(after) == foreign_lines(ADMIN)
    assert _zram.generator_devices(after) == ["zram0"] and not _zram.ours(after)
    # a second run changes nothing
    assert _zram.files_plan("present", spec(), GIB, "generator", texts(conf=after, generator=True))[
        _zram.GENERATOR_CONF
    ] == (after, after)


def test_files_plan_absent_keeps_the_administrators_lines_and_disables_the_device():
    present = _zram.merge_generator(ADMIN, spec())
    plan = _zram.files_plan("absent", spec(), None, "none", texts(conf=present, generator=True))
    after = plan[_zram.GENERATOR_CONF][1]
    assert after == ADMIN.replace("compression-algorithm = lzo-rle\n", "zram-size = 0\n")
    assert foreign_lines(after) == foreign_lines(ADMIN)
    assert _zram.generator_devices(after) == []  # zram-generator discards a device of size 0
    assert _zram.merge_generator(after, None) == after
    again = _zram.merge_generator(after, spec())
    assert foreign_lines(again) == foreign_lines(ADMIN) and _zram.parse_generator(again) == _zram.parse_generator(
        present
    )


def test_files_plan_absent_without_the_generator_leaves_an_administrators_file_alone():
    # the Debian 12 VM of the zram scenario: the module's own unit, an inert foreign generator file
    plan = _zram.files_plan("absent", spec(), None, "none", texts(conf=ADMIN, unit="old", generator=False))
    assert plan[_zram.GENERATOR_CONF] == (ADMIN, ADMIN) and plan[_zram.UNIT_PATH] == ("old", None)


def test_a_section_the_module_added_goes_again_with_its_marker():
    admin = "[zram1]\nmount-point = /var/compressed\n"
    present = _zram.merge_generator(admin, spec(devices=1))
    assert present.startswith(admin + "\n# memwise.linux.zram added [zram0]")
    assert _zram.parse_generator(present)["zram0"]["swap-priority"] == "100"
    assert _zram.merge_generator(present, None) == admin


def test_fewer_devices_retire_the_others():
    two = _zram.merge_generator("[zram1]\nzram-size = 512\noptions = discard\n", spec(devices=2))
    one = _zram.merge_generator(two, spec(devices=1))
    assert _zram.generator_devices(one) == ["zram0"]
    assert "[zram1]\noptions = discard\nzram-size = 0\n" in one


def test_a_file_system_section_is_never_made_swap():
    with pytest.raises(
        MemwiseError, match=r"^zram1: a file-system device \(mount-point or fs-type\) in .*nothing changed"
    ):
        _zram.files_plan("present", spec(devices=2), GIB, "generator", texts(conf=ADMIN, generator=True))


def test_merge_keeps_a_file_without_final_newline_and_comments_in_sections():
    text = "[zram0]\n; a comment\nswap-priority = 5"
    assert _zram.merge_generator(text, spec()) == (
        "[zram0]\n; a comment\nswap-priority = 100\nzram-size = ram * 50 / 100\ncompression-algorithm = zstd\n"
    )


def test_settings_and_diff_show_the_settings_that_move_and_changed_files():
    before = {"zram0": _zram.fresh_devices(1)["zram0"]}
    after = _zram.predicted({"zram0": "create"}, spec(), before, GIB)
    conf = _zram.render_generator(spec())
    settings = _zram.settings(
        before, after, _zram.file_values(_zram.GENERATOR_CONF, None), _zram.file_values(_zram.GENERATOR_CONF, conf)
    )
    assert settings == {
        "zram0.disksize": {"live": {"before": None, "after": GIB}},
        "zram0.algorithm": {"live": {"before": None, "after": "zstd"}, "file": {"before": None, "after": "zstd"}},
        "zram0.priority": {"live": {"before": None, "after": 100}, "file": {"before": None, "after": 100}},
        "zram0.active": {"live": {"before": False, "after": True}},
    }
    result = _zram.diff(settings, {"a": (None, "text\n"), "b": ("same", "same")})
    assert result[0] == {
        "before_header": "live /sys/block",
        "after_header": "live /sys/block",
        "before": "zram0.disksize = (unset)\nzram0.algorithm = (unset)\nzram0.priority = (unset)\nzram0.active = no\n",
        "after": "zram0.disksize = 1073741824\nzram0.algorithm = zstd\nzram0.priority = 100\nzram0.active = yes\n",
    }
    assert result[1] == {"before_header": "a", "after_header": "a", "before": "", "after": "text\n"}
    assert len(result) == 2


def test_file_values_of_the_unit():
    text = read_fixture(DEB13, "memwise-zram.service.lz4-1G")
    assert _zram.file_values(_zram.UNIT_PATH, text) == {"zram0": {"algorithm": "lz4", "priority": 60}}
    text = _zram.render_unit(spec(size="1G", devices=2, priority=-1), GIB // 2)
    assert _zram.file_values(_zram.UNIT_PATH, text)["zram1"] == {"algorithm": "zstd", "priority": -1}


# ---------------------------------------------------------------- Debian 12 (6.1, zram-generator 1.1.2)

DEB12 = "zram/deb12"


def test_debian_12_captures():
    meminfo = _procfs.parse_meminfo(read_fixture(DEB12, "meminfo"))
    assert _zram.parse_algorithms(read_fixture(DEB12, "comp_algorithm_default")) == (
        "lzo-rle",
        ["lzo", "lzo-rle", "lz4", "lz4hc", "zstd"],
    )
    assert _zram.parse_algorithms(read_fixture(DEB12, "comp_algorithm_zstd"))[0] == "zstd"
    wanted = spec(size="50%", max_size="4G")
    assert _zram.device_bytes(wanted, meminfo["MemTotal"]) == int(read_fixture(DEB12, "disksize_50pct"))
    stat = _zram.parse_mm_stat(read_fixture(DEB12, "mm_stat_swapping"))
    assert _zram.compression_ratio(stat) == 3.94
    swaps = _procfs.parse_swaps(read_fixture(DEB12, "proc_swaps_swapping"))
    assert swaps[0]["type"] == "zram" and swaps[0]["used"] > 0


def test_debian_12_generator_files():
    assert _zram.render_generator(spec(size="50%", max_size="4G", devices=2)) == read_fixture(
        DEB12, "zram-generator.conf.2devices"
    )
    # Debian 12's package ships its default as /etc/systemd/zram-generator.conf (a conffile), not in /usr/lib
    default = read_fixture(DEB12, "zram-generator.conf.debian-default")
    assert _zram.generator_devices(default) == ["zram0"] and not _zram.ours(default)
