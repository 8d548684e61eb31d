# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""zram in-process against a fake kernel that behaves like the Debian 13 VM's (captured texts).

The fake answers the sysfs writes and commands the module makes the way the VM's
kernel did (EBUSY on an initialised device, page-rounded disksize, swapon adds a
/proc/swaps line); the real kernel, systemd and zram-generator are exercised by
the Molecule scenario.
"""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import _zram
from ansible_collections.memwise.linux.plugins.modules import zram

from ...conftest import read_fixture

DEB13 = "zram/deb13"
ALGORITHMS = ["lz4", "lz4hc", "zstd", "deflate"]
MEMINFO = read_fixture(DEB13, "meminfo").replace("MemAvailable:      32004 kB", "MemAvailable:     600000 kB")
RELEASE = "6.12.117+deb13-amd64"
# The Debian 13 kernel's zram backends (its /boot/config; no lzo, no 842).
CONFIG = "CONFIG_ZRAM=m\n" + "".join("CONFIG_ZRAM_BACKEND_%s=y\n" % b for b in ("LZ4", "LZ4HC", "ZSTD", "DEFLATE"))


class FakeKernel:
    """zram devices, /proc/swaps and the commands, as the VM's kernel answered them."""

    def __init__(self, sys_block, loaded=False):
        self.sys_block, self.devices, self.swaps, self.calls = sys_block, {}, {}, []
        self.fail_disksize = False
        if loaded:
            self.add("zram0")

    def add(self, name):
        os.makedirs(os.path.join(self.sys_block, name), exist_ok=True)
        self.devices[name] = {"algorithm": "lz4", "disksize": 0}
        return name[4:]

    def proc_swaps(self):
        lines = ["Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"]
        for name, (prio, used) in sorted(self.swaps.items()):
            size = (self.devices[name]["disksize"] - 4096) // 1024
            lines.append("/dev/%s                              partition\t%d\t\t%d\t\t%d" % (name, size, used, prio))
        return "\n".join(lines) + "\n"

    def text(self, path):
        proc = {
            "/proc/swaps": self.proc_swaps,
            "/proc/meminfo": lambda: MEMINFO,
            "/proc/mounts": lambda: "/dev/vda / ext4 rw 0 0\n",
            "/proc/sys/kernel/osrelease": lambda: RELEASE + "\n",
            "/boot/config-" + RELEASE: lambda: CONFIG,
        }
        if path in proc:
            return proc[path]()
        name, key = path.rsplit("/", 2)[-2:]
        device = self.devices.get(name)
        texts = {
            "comp_algorithm": lambda d: " ".join("[%s]" % a if a == d["algorithm"] else a for a in ALGORITHMS) + " \n",
            "disksize": lambda d: "%d\n" % d["disksize"],
            "mm_stat": lambda d: "4096 69 20480 0 20480 0 0 0 0\n" if d["disksize"] else "0 0 0 0 0 0 0 0 0\n",
        }
        return texts[key](device) if device is not None and key in texts else None

    def listdir(self, path):
        """Only the fake /sys/block exists; /lib/modules and the rest of the host are not read."""
        if path == _zram.SYS_BLOCK or path.startswith(_zram.SYS_BLOCK + "/"):
            return sorted(os.listdir(path)) if os.path.isdir(path) else None
        return None

    def write(self, name, key, value):
        device = self.devices[name]
        if key == "reset":
            if name in self.swaps:
                raise zram.MemwiseError("%s: writing 1 to reset failed: Device or resource busy" % name)
            device.update(algorithm="lz4", disksize=0)
        elif device["disksize"]:
            raise zram.MemwiseError("%s: writing %r to %s failed: Device or resource busy" % (name, value, key))
        elif key == "comp_algorithm":
            device["algorithm"] = value
        elif key == "disksize":
            if self.fail_disksize:
                self.fail_disksize = False
                raise zram.MemwiseError("%s: writing %r to disksize failed: Cannot allocate memory" % (name, value))
            device["disksize"] = -(-int(value) // 4096) * 4096

    def run(self, argv):
        self.calls.append(argv)
        name = argv[-1].rsplit("/", 1)[-1]
        if argv[:2] == ["modprobe", "-r"]:
            assert not self.swaps and not any(d["disksize"] for d in self.devices.values()), "zram is in use"
            for name in self.devices:
                os.rmdir(os.path.join(self.sys_block, name))
            self.devices.clear()
        elif argv[0] == "modprobe":
            for index in range(int(argv[2].split("=")[1])):
                self.add("zram%d" % index)
        elif argv[0] == "swapon":
            prio = int(argv[argv.index("-p") + 1]) if "-p" in argv else -2
            self.swaps[name] = (prio, 0)
        elif argv[0] == "swapoff":
            del self.swaps[name]
        elif argv[:2] == ["systemctl", "start"]:  # what zram-generator set up on the VM for 50%, at most 4G
            device = self.devices[argv[2][4:-5]]
            device.update(algorithm="zstd", disksize=506986496)
            self.swaps[argv[2][4:-5]] = (100, 0)
        elif argv[:2] == ["systemctl", "is-enabled"]:
            return 1, "disabled\n", ""
        return 0, "", ""


@pytest.fixture
def host(tmp_path, monkeypatch):
    kernel = FakeKernel(str(tmp_path / "sys_block"))
    os.makedirs(kernel.sys_block)
    etc = tmp_path / "etc"
    etc.mkdir()
    monkeypatch.setattr(_zram, "SYS_BLOCK", kernel.sys_block)
    monkeypatch.setattr(_zram, "GENERATOR", str(tmp_path / "zram-generator"))
    monkeypatch.setattr(_zram, "GENERATOR_DEFAULT_CONF", str(tmp_path / "default.conf"))
    monkeypatch.setattr(_zram, "GENERATOR_CONF", str(etc / "zram-generator.conf"))
    monkeypatch.setattr(_zram, "UNIT_PATH", str(etc / "memwise-zram.service"))
    monkeypatch.setattr(_zram, "HOT_ADD", str(tmp_path / "hot_add"))
    monkeypatch.setattr(zram, "SYSTEMD_RUNNING", str(tmp_path))
    monkeypatch.setattr(zram, "_read", kernel.text)
    monkeypatch.setattr(zram, "_listdir", kernel.listdir)
    monkeypatch.setattr(zram, "hot_add", lambda: kernel.add("zram%d" % len(kernel.devices)))
    monkeypatch.setattr(
        zram.Devices, "write", lambda self, name, key, value, retry_busy=False: kernel.write(name, key, value)
    )
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False: "/usr/bin/" + name)
    monkeypatch.setattr(
        AnsibleModule, "run_command", lambda self, argv, **kw: kernel.run([os.path.basename(argv[0])] + argv[1:])
    )
    kernel.tmp = tmp_path
    return kernel


def run_module(capsys, args, check_mode=False, diff=False):
    with (
        patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)),
        pytest.raises(SystemExit) as exc,
    ):
        zram.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def files(host):
    return {p: _zram_text(p) for p in (_zram.GENERATOR_CONF, _zram.UNIT_PATH)}


def _zram_text(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_check_then_apply_then_no_change_with_the_own_unit(capsys, host):
    args = {"size": "1G", "algorithm": "lz4", "priority": 60}
    rc, check = run_module(capsys, args, check_mode=True, diff=True)
    assert rc == 0 and check["changed"] and check["persistence"] == "unit"
    assert host.swaps == {} and files(host) == {_zram.GENERATOR_CONF: None, _zram.UNIT_PATH: None}
    assert check["file_text"] == read_fixture(DEB13, "memwise-zram.service.lz4-1G")
    assert check["path"] == _zram.UNIT_PATH and check["backup_file"] is None
    assert check["diff"][0]["after"] == (
        "zram0.disksize = 1073741824\nzram0.algorithm = lz4\nzram0.priority = 60\nzram0.active = yes\n"
    )
    assert check["settings"]["zram0.priority"] == {
        "live": {"before": None, "after": 60},
        "file": {"before": None, "after": 60},
    }
    assert check["changed_settings"] == ["zram0.disksize", "zram0.algorithm", "zram0.priority", "zram0.active"]
    assert check["actions"][0] == "modprobe zram num_devices=1"
    rc, applied = run_module(capsys, args)
    assert rc == 0
    for key in ("changed", "actions", "settings", "changed_settings", "persistence", "path", "file_text"):
        assert applied[key] == check[key], key
    assert [d["size"] for d in applied["devices"]] == [d["size"] for d in check["devices"]]
    assert applied["devices"][0]["path"] == "/dev/zram0" and applied["devices"][0]["active"] is True
    assert host.swaps == {"zram0": (60, 0)} and host.devices["zram0"] == {"algorithm": "lz4", "disksize": 1 << 30}
    assert files(host)[_zram.UNIT_PATH] == check["file_text"]
    assert ["systemctl", "enable", "memwise-zram.service"] in host.calls
    host.run = _enabled(host.run)
    rc, again = run_module(capsys, args)
    assert rc == 0 and not again["changed"] and again["actions"] == [] and again["changed_settings"] == []


def test_size_and_max_size_take_bytes_as_integers(capsys, host):
    rc, check = run_module(capsys, {"size": 1 << 30, "algorithm": "lz4"}, check_mode=True)
    assert rc == 0 and check["settings"]["zram0.disksize"]["live"]["after"] == 1 << 30
    rc, check = run_module(capsys, {"size": "50%", "max_size": 1 << 28}, check_mode=True)
    assert rc == 0 and check["settings"]["zram0.disksize"]["live"]["after"] == 1 << 28


def _enabled(run):
    def wrapped(argv):
        if argv[:2] == ["systemctl", "is-enabled"]:
            return 0, "enabled\n", ""
        return run(argv)

    return wrapped


def test_generator_path_resizes_through_systemd(capsys, host):
    open(_zram.GENERATOR, "w").close()
    host.run(["modprobe", "zram", "num_devices=1"])
    host.write("zram0", "comp_algorithm", "lz4")
    host.write("zram0", "disksize", str(1 << 28))
    host.run(["swapon", "-p", "100", "/dev/zram0"])
    rc, result = run_module(capsys, {"size": "50%", "max_size": "4G"})
    assert rc == 0 and result["persistence"] == "generator"
    assert files(host)[_zram.GENERATOR_CONF] == read_fixture(DEB13, "zram-generator.conf.50pct-4G")
    assert result["actions"][:2] == ["swapoff /dev/zram0 (0 B of swapped pages back to RAM)", "reset zram0"]
    assert ["systemctl", "stop", "dev-zram0.swap", "systemd-zram-setup@zram0.service"] in host.calls
    assert host.calls[-1] == ["systemctl", "start", "dev-zram0.swap"]
    assert result["devices"][0]["disksize"] == 506986496


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"algorithm": "nosuch"}, "algorithm: 'nosuch' is not one this kernel offers"),
        ({"priority": 40000}, "priority: 40000 is outside -1..32767"),
        ({"size": "lots"}, "size: 'lots' is not a size"),
        ({"devices": 0}, "devices: 0; give 1 or more"),
        ({"size": "2G", "max_size": "1G"}, "max_size: caps a percentage"),
    ],
)
def test_bad_input_fails_and_changes_nothing(capsys, host, args, message):
    rc, result = run_module(capsys, args)
    assert rc == 1 and message in result["msg"] and "nothing changed" in result["msg"]
    assert host.swaps == {} and files(host) == {_zram.GENERATOR_CONF: None, _zram.UNIT_PATH: None}
    assert not any(c[0] in ("swapon", "mkswap", "systemctl") for c in host.calls)


def test_check_mode_never_loads_the_zram_module(capsys, host):
    rc, check = run_module(capsys, {"size": "1G"}, check_mode=True)
    assert rc == 0 and check["changed"]
    assert not any(c[0] == "modprobe" for c in host.calls), host.calls
    assert host.devices == {} and host.swaps == {}
    assert check["actions"][0] == "modprobe zram num_devices=1"  # what the real run will do


def test_check_mode_refuses_an_algorithm_the_kernel_config_lacks_without_loading(capsys, host):
    rc, result = run_module(capsys, {"algorithm": "lzo"}, check_mode=True)
    assert rc == 1 and "algorithm: 'lzo' is not one this kernel offers for zram (/boot/config-" in result["msg"]
    assert host.calls == [] and host.devices == {}


def test_check_mode_accepts_an_algorithm_it_cannot_check_with_a_warning(capsys, host, monkeypatch):
    monkeypatch.setattr(zram, "_read", lambda path: None if path.startswith("/boot/") else host.text(path))
    warnings = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, text: warnings.append(text))
    rc, check = run_module(capsys, {"algorithm": "lzo"}, check_mode=True)
    assert rc == 0 and check["changed"] and not any(c[0] == "modprobe" for c in host.calls)
    assert "the real run checks it against comp_algorithm and changes nothing" in warnings[0]


def test_check_mode_keeps_a_zram_module_that_was_loaded(capsys, host):
    host.run(["modprobe", "zram", "num_devices=1"])
    rc, check = run_module(capsys, {"size": "1G"}, check_mode=True)
    assert rc == 0 and check["changed"] and ["modprobe", "-r", "zram"] not in host.calls
    assert list(host.devices) == ["zram0"]


def test_a_real_run_with_an_algorithm_the_kernel_lacks_unloads_the_module_again(capsys, host):
    rc, result = run_module(capsys, {"algorithm": "nosuch"})
    assert rc == 1 and "nothing changed" in result["msg"]
    assert host.calls == [["modprobe", "zram", "num_devices=1"], ["modprobe", "-r", "zram"]]
    assert host.devices == {}


def test_bad_size_is_reported_before_the_zram_module_is_loaded(capsys, host):
    rc, result = run_module(capsys, {"size": "lots", "priority": 40000})
    assert rc == 1 and "size:" in result["msg"] and "priority:" in result["msg"]
    assert host.calls == [] and host.devices == {}


def test_swapoff_needs_memory(capsys, host):
    host.run(["modprobe", "zram", "num_devices=1"])
    host.write("zram0", "disksize", str(1 << 30))
    host.swaps["zram0"] = (100, 900000)  # 879 MiB of swapped pages, MemAvailable 586 MiB
    rc, result = run_module(capsys, {"size": "2G"})
    assert rc == 1 and result["msg"].startswith("/dev/zram0: cannot reconfigure: it holds 878.9 MiB")
    assert "nothing was changed" in result["msg"] and host.swaps["zram0"] == (100, 900000)


def test_failure_rolls_back_the_device_and_the_unit(capsys, host):
    rc, _first = run_module(capsys, {"size": "1G", "algorithm": "lz4", "priority": 60})
    before = files(host)
    host.fail_disksize = True
    rc, result = run_module(capsys, {"size": "2G", "algorithm": "zstd", "priority": 60})
    assert rc == 1
    assert result["msg"] == (
        "zram0: writing 2147483648 to disksize failed: Cannot allocate memory; undone: reset zram0, disabled "
        "memwise-zram.service again, restored %s, systemd reloaded, zram0 set up again as before "
        "(lz4, 1073741824 bytes, priority 60)" % _zram.UNIT_PATH
    )
    assert files(host) == before
    assert host.swaps == {"zram0": (60, 0)} and host.devices["zram0"] == {"algorithm": "lz4", "disksize": 1 << 30}


def test_absent_removes_devices_and_unit(capsys, host):
    run_module(capsys, {"size": "1G", "devices": 2})
    assert set(host.swaps) == {"zram0", "zram1"}
    rc, check = run_module(capsys, {"state": "absent"}, check_mode=True)
    assert rc == 0 and check["changed"] and set(host.swaps) == {"zram0", "zram1"}
    rc, result = run_module(capsys, {"state": "absent"})
    assert rc == 0 and result["actions"] == check["actions"] and result["settings"] == check["settings"]
    assert result["settings"]["zram1.active"] == {"live": {"before": True, "after": False}}
    assert host.swaps == {} and files(host) == {_zram.GENERATOR_CONF: None, _zram.UNIT_PATH: None}
    assert result["devices"] == [] and result["persistence"] == "none" and result["path"] is None
    rc, again = run_module(capsys, {"state": "absent"})
    assert rc == 0 and not again["changed"]


def test_absent_with_the_package_default_writes_a_file_without_devices(capsys, host):
    open(_zram.GENERATOR, "w").close()
    with open(_zram.GENERATOR_DEFAULT_CONF, "w", encoding="utf-8") as handle:
        handle.write(read_fixture(DEB13, "zram-generator.conf.debian-default"))
    rc, result = run_module(capsys, {"state": "absent"})
    assert rc == 0 and result["path"] == _zram.GENERATOR_CONF
    assert files(host)[_zram.GENERATOR_CONF] == _zram.render_generator(None) == result["file_text"]


def test_persist_false_leaves_files_alone(capsys, host):
    rc, result = run_module(capsys, {"persist": False, "priority": -1})
    assert rc == 0 and result["persistence"] == "none" and result["path"] is None and result["file_text"] is None
    assert host.swaps == {"zram0": (-2, 0)} and files(host) == {_zram.GENERATOR_CONF: None, _zram.UNIT_PATH: None}
    rc, again = run_module(capsys, {"persist": False, "priority": -1})
    assert rc == 0 and not again["changed"]


# An administrator's generator file: a writeback device for zram0, a compressed /var/compressed on zram1.
ADMIN = """\
# zram for the build hosts
[zram0]
writeback-device = /dev/disk/by-partlabel/zram-wb

[zram1]
mount-point = /var/compressed
"""


def _admin_host(host):
    open(_zram.GENERATOR, "w").close()
    with open(_zram.GENERATOR_CONF, "w", encoding="utf-8") as handle:
        handle.write(ADMIN)


def test_generator_keeps_an_administrators_file_and_backs_it_up(capsys, host):
    _admin_host(host)
    rc, check = run_module(capsys, {"size": "50%", "max_size": "4G", "backup": True}, check_mode=True)
    assert rc == 0 and check["backup_file"] is None and _zram_text(_zram.GENERATOR_CONF) == ADMIN
    assert "back up %s" % _zram.GENERATOR_CONF in check["actions"]
    rc, result = run_module(capsys, {"size": "50%", "max_size": "4G", "backup": True})
    assert rc == 0 and result["changed"] and result["file_text"] == check["file_text"]
    text = _zram_text(_zram.GENERATOR_CONF)
    assert text == ADMIN.replace(
        "zram-wb\n",
        "zram-wb\nzram-size = min(ram * 50 / 100, 4096)\ncompression-algorithm = zstd\nswap-priority = 100\n",
    )
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert handle.read() == ADMIN
    assert host.swaps == {"zram0": (100, 0)}
    rc, absent = run_module(capsys, {"state": "absent"})
    assert rc == 0 and absent["path"] == _zram.GENERATOR_CONF and absent["backup_file"] is None
    assert _zram_text(_zram.GENERATOR_CONF) == ADMIN.replace("zram-wb\n", "zram-wb\nzram-size = 0\n")
    assert host.swaps == {}


def test_generator_refuses_to_make_an_administrators_file_system_device_swap(capsys, host):
    _admin_host(host)
    rc, result = run_module(capsys, {"size": "1G", "devices": 2})
    assert rc == 1 and result["msg"].startswith("zram1: a file-system device (mount-point or fs-type)")
    assert _zram_text(_zram.GENERATOR_CONF) == ADMIN and host.swaps == {}
    assert ["modprobe", "-r", "zram"] in host.calls  # loaded to read the algorithms, unloaded again
