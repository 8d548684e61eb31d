# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_zram: parsers on real /sys/block/zram0 captures, sizes as zram-generator computes them, plan, render."""

from __future__ import annotations

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _procfs, _zram
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import read_fixture

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
    assert state["compression_ratio"] is None  # only the swap header is stored


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
    assert _zram.device_state("zram3", {"disksize": None}, []) == {
        "name": "zram3",
        "exists": False,
        "initialised": False,
        "active": False,
    }
    files = {"disksize": "1048576\n", "comp_algorithm": "[lz4] zstd\n", "mm_stat": "0 0 0 0 0 0 0 0 0"}
    state = _zram.device_state("zram1", files, [], mounts="/dev/zram1 /tmp ext2 rw 0 0\n")
    assert state["mounted"] and state["initialised"] and not state["active"]


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
        # a file someone else wrote is left alone
        (texts(conf="[zram0]\n", generator=True), "[zram0]\n"),
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


def test_diff_shows_devices_and_changed_files():
    before = {"zram0": {"active": False, "algorithm": None, "disksize": None, "priority": None}}
    after = {"zram0": {"active": True, "algorithm": "zstd", "disksize": GIB, "priority": 100}}
    result = _zram.diff(before, after, {"a": (None, "text\n"), "b": ("same", "same")})
    assert result[0]["before"] == "zram0: active=False algorithm=None disksize=None priority=None\n"
    assert result[0]["after"] == "zram0: active=True algorithm=zstd disksize=1073741824 priority=100\n"
    assert result[1] == {"before_header": "a", "after_header": "a", "before": "", "after": "text\n"}
    assert len(result) == 2


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
