# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swap module end to end on a simulated host: real files in a temporary directory, /proc/swaps,
/proc/self/mountinfo, /proc/meminfo and /etc/fstab as temporary files, and a runner that plays
blkid, fallocate, dd, mkswap, swapon, swapoff and systemctl on them.

The real kernel (swapon of a real file, holes, btrfs, a second disk, reboots) is exercised by the
Molecule scenario on VMs; here the module's reading, plan, transaction and rollback are.
"""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.modules import swap

from ...conftest import FIXTURES

PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1024**2
MAGIC = b"SWAPSPACE2"


class FakeHost:
    """The kernel's side of swap for files under a temporary directory; each command in ``fail`` fails once."""

    def __init__(self, tmp_path, fail=()):
        self.swaps_file = str(tmp_path / "swaps")
        self.fail = set(fail)
        self.calls = []
        self.active = {}  # path -> (priority, used)
        self.write_swaps()

    def write_swaps(self):
        lines = ["Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"]
        for path, (priority, used) in self.active.items():
            size = (os.path.getsize(path) // PAGE - 1) * PAGE // 1024
            lines.append("%s\tfile\t\t%d\t\t%d\t\t%d" % (path.replace(" ", "\\040"), size, used // 1024, priority))
        with open(self.swaps_file, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    def __call__(self, argv, check=True, ok_rc=(0,)):
        self.calls.append(list(argv))
        name, path = argv[0], argv[-1]
        if name in self.fail:  # each listed command fails once (list it twice to fail twice)
            fail = list(self.fail)
            fail.remove(name)
            self.fail = fail
            raise MemwiseError("`%s` failed (rc=1): simulated failure" % " ".join(argv))
        handler = getattr(self, "do_" + name)
        return handler(argv, path)

    def do_blkid(self, _argv, path):
        with open(path, "rb") as handle:
            head = handle.read(PAGE)
        if head[PAGE - 10 :] == MAGIC:
            return 0, "DEVNAME=%s\nTYPE=swap\n" % path, ""
        if head.startswith(b"EXT4"):
            return 0, "DEVNAME=%s\nTYPE=ext4\n" % path, ""
        return 2, "", ""

    def do_fallocate(self, argv, path):
        fd = os.open(path, os.O_WRONLY)
        try:
            os.posix_fallocate(fd, 0, int(argv[2]))
        finally:
            os.close(fd)
        return 0, "", ""

    def do_dd(self, argv, _path):
        target = next(a for a in argv if a.startswith("of="))[3:]
        count = int(next(a for a in argv if a.startswith("count="))[6:])
        with open(target, "r+b") as handle:
            handle.write(b"\0" * count)
        return 0, "", ""

    def do_mkswap(self, _argv, path):
        with open(path, "r+b") as handle:
            handle.seek(PAGE - 10)
            handle.write(MAGIC)
        return 0, "Setting up swapspace version 1", ""

    def do_swapon(self, argv, path):
        priority = int(argv[argv.index("-p") + 1]) if "-p" in argv else -2 - len(self.active)
        self.active[path] = (priority, 0)
        self.write_swaps()
        return 0, "", ""

    def do_swapoff(self, _argv, path):
        del self.active[path]
        self.write_swaps()
        return 0, "", ""

    def do_systemctl(self, _argv, _path):
        return 0, "", ""

    def do_chattr(self, _argv, _path):
        return 0, "", ""

    def do_wipefs(self, _argv, path):
        with open(path, "r+b") as handle:
            handle.seek(PAGE - 10)
            handle.write(b"\0" * 10)
        return 0, "", ""


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A host with / on ext4 (the tmp directory's own free space), /etc/fstab, systemd running."""
    fake = FakeHost(tmp_path)
    with open(os.path.join(FIXTURES, "fstab", "debian-installer.fstab"), encoding="utf-8") as handle:
        (tmp_path / "fstab").write_text(handle.read(), encoding="utf-8")
    (tmp_path / "meminfo").write_text("MemTotal: 1048576 kB\nMemAvailable: 614400 kB\n", encoding="utf-8")
    mountinfo = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    mountinfo += "26 22 0:24 / %s rw,nosuid,nodev shared:3 - tmpfs tmpfs rw\n" % (tmp_path / "shm")
    (tmp_path / "mountinfo").write_text(mountinfo, encoding="utf-8")
    (tmp_path / "systemd").mkdir()
    (tmp_path / "shm").mkdir()
    monkeypatch.setattr(swap, "FSTAB", str(tmp_path / "fstab"))
    monkeypatch.setattr(swap, "PROC_SWAPS", fake.swaps_file)
    monkeypatch.setattr(swap, "MEMINFO", str(tmp_path / "meminfo"))
    monkeypatch.setattr(swap, "MOUNTINFO", str(tmp_path / "mountinfo"))
    monkeypatch.setattr(swap, "SYSTEMD_RUN", str(tmp_path / "systemd"))
    monkeypatch.setattr(swap, "Runner", lambda module: fake)
    fake.tmp = tmp_path
    return fake


def run(capsys, args, check_mode=False, diff=True):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        swap.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def fstab_text(host):
    return (host.tmp / "fstab").read_text(encoding="utf-8")


def mutating(host):
    return [c[0] for c in host.calls if c[0] not in ("blkid",)]


def live(result, layer="live", when="after"):
    """The device's attributes from a result's ``settings``."""
    return {name: layers[layer][when] for name, layers in result["settings"].items() if layer in layers}


def debian_fstab():
    with open(os.path.join(FIXTURES, "fstab", "debian-installer.fstab"), encoding="utf-8") as handle:
        return handle.read()


def listing(host):
    return sorted(os.listdir(host.tmp))


def test_check_apply_check_apply(capsys, host):
    path = str(host.tmp / "swapfile")
    args = {"device": path, "size": "64M", "priority": 10}
    before = fstab_text(host)
    rc, check = run(capsys, args, check_mode=True)
    assert rc == 0 and check["changed"] is True
    assert check["actions"] == ["create", "mkswap", "swapon", "fstab"]
    assert not os.path.exists(path) and fstab_text(host) == before and mutating(host) == []
    assert check["path"] == swap.FSTAB and check["backup_file"] is None
    assert check["file_text"] == before + "%s none swap sw,pri=10 0 0\n" % path
    assert check["diff"][0] == {
        "before_header": "live " + path,
        "after_header": "live " + path,
        "before": "active = no\nsize = (unset)\nused = (unset)\npriority = (unset)\ndiscard = (unset)\n"
        "device_size = (unset)\n",
        "after": "active = yes\nsize = %d\nused = 0\npriority = 10\ndiscard = off\ndevice_size = %d\n"
        % (64 * MiB - PAGE, 64 * MiB),
    }
    assert check["diff"][1] == {
        "before_header": swap.FSTAB,
        "after_header": swap.FSTAB,
        "before": before,
        "after": check["file_text"],
    }
    rc, apply = run(capsys, args)
    assert rc == 0
    keys = ("changed", "settings", "changed_settings", "actions", "path", "file_text", "backup_file", "device")
    for key in keys + ("type", "fstab_line", "method", "daemon_reload", "diff"):
        assert apply[key] == check[key], key
    assert live(apply) == {
        "active": True,
        "size": 64 * MiB - PAGE,
        "used": 0,
        "priority": 10,
        "discard": "off",
        "device_size": 64 * MiB,
    }
    assert live(apply, "file") == {"active": True, "priority": 10, "discard": "off"}
    assert apply["changed_settings"] == ["active", "size", "used", "priority", "discard", "device_size"]
    assert mutating(host) == ["fallocate", "mkswap", "swapon", "systemctl"]
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert fstab_text(host) == apply["file_text"]
    assert apply["daemon_reload"] is True
    _rc, again = run(capsys, args, check_mode=True)
    assert again["changed"] is False and again["actions"] == [] and again["changed_settings"] == []
    assert again["diff"][0]["before"] == again["diff"][0]["after"] == ""
    _rc, again = run(capsys, args)
    assert again["changed"] is False and again["daemon_reload"] is False and again["file_text"] == fstab_text(host)


def test_resize_keeps_priority_and_rolls_back_a_failed_swapon(capsys, host):
    path = str(host.tmp / "swapfile")
    run(capsys, {"device": path, "size": "64M", "priority": 10})
    _rc, result = run(capsys, {"device": path, "size": "128M"})
    assert result["actions"] == ["swapoff", "recreate", "mkswap", "swapon"]
    assert live(result)["size"] == 128 * MiB - PAGE and live(result)["priority"] == 10
    assert result["changed_settings"] == ["size", "device_size"]
    assert host.active == {path: (10, 0)}
    text = fstab_text(host)
    host.fail = {"swapon"}
    rc, failed = run(capsys, {"device": path, "size": "96M"})
    assert rc == 1
    assert failed["msg"] == (
        "%s: swapon failed: `swapon -p 10 %s` failed (rc=1): simulated failure; "
        "undone: rebuilt %s at its old size, swapped %s on again (priority 10)" % (path, path, path, path)
    )
    assert os.path.getsize(path) == 128 * MiB and fstab_text(host) == text
    assert host.active == {path: (10, 0)}


def test_failed_swapon_of_a_new_file_removes_it_and_leaves_fstab(capsys, host):
    path = str(host.tmp / "swapfile")
    before = fstab_text(host)
    host.fail = {"swapon"}
    rc, result = run(capsys, {"device": path, "size": "64M", "backup": True})
    assert rc == 1 and result["msg"].endswith("; undone: removed %s" % path)
    assert not os.path.exists(path) and fstab_text(host) == before
    assert result["backup_file"].startswith(swap.FSTAB + ".")  # made before the run, left as a copy of fstab
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert handle.read() == before


def test_failed_fstab_write_swaps_off_and_removes(capsys, host, monkeypatch):
    path = str(host.tmp / "swapfile")
    monkeypatch.setattr(swap, "FSTAB", str(host.tmp / "missing-dir" / "fstab"))
    rc, result = run(capsys, {"device": path, "size": "64M"})
    assert rc == 1
    assert result["msg"].startswith("%s: fstab failed: cannot write %s" % (path, swap.FSTAB))
    assert result["msg"].endswith("; undone: swapped %s off, removed %s" % (path, path))
    assert host.active == {} and not os.path.exists(path)


def test_failed_daemon_reload_restores_fstab_first_then_swaps_off_then_removes(capsys, host):
    """The journal undoes newest first: fstab (reloading again), the swapon, the new file."""
    path = str(host.tmp / "swapfile")
    before = fstab_text(host)
    host.fail = {"systemctl"}
    rc, result = run(capsys, {"device": path, "size": "64M"})
    assert rc == 1
    assert result["msg"] == (
        "%s: fstab failed: `systemctl daemon-reload` failed (rc=1): simulated failure; "
        "undone: restored %s, swapped %s off, removed %s" % (path, swap.FSTAB, path, path)
    )
    assert fstab_text(host) == before and host.active == {} and not os.path.exists(path)
    order = [c[0] for c in host.calls if c[0] in ("swapon", "systemctl", "swapoff")]
    assert order == ["swapon", "systemctl", "systemctl", "swapoff"]


def test_failed_undo_is_reported_and_the_older_steps_still_run(capsys, host):
    """A cycled device whose daemon-reload fails, and fails again while fstab is restored."""
    path = str(host.tmp / "swapfile")
    run(capsys, {"device": path, "size": "64M", "priority": 4})
    text = fstab_text(host)
    host.fail = ["systemctl", "systemctl"]  # the reload after the write, and the one after restoring it
    rc, result = run(capsys, {"device": path, "priority": 6})
    assert rc == 1
    assert result["msg"] == (
        "%s: fstab failed: `systemctl daemon-reload` failed (rc=1): simulated failure; "
        "undone: swapped %s off, swapped %s on again (priority 4); could not undo: restored %s: "
        "`systemctl daemon-reload` failed (rc=1): simulated failure" % (path, path, path, swap.FSTAB)
    )
    assert fstab_text(host) == text and host.active == {path: (4, 0)}
    host.fail = {"systemctl", "swapoff"}
    rc, result = run(capsys, {"device": path, "priority": 6})
    assert rc == 1 and result["msg"].startswith("%s: swapoff failed: `swapoff %s` failed" % (path, path))
    assert result["msg"].endswith("; nothing had been changed")


def test_priority_change_and_absent(capsys, host):
    path = str(host.tmp / "swapfile")
    run(capsys, {"device": path, "size": "64M", "discard": "once"})
    assert host.calls[-2] == ["swapon", "--discard=once", path]
    _rc, result = run(capsys, {"device": path, "priority": 3})
    assert result["actions"] == ["swapoff", "swapon", "fstab"]
    assert result["changed_settings"] == ["priority"]
    assert result["settings"]["priority"] == {"live": {"before": -2, "after": 3}, "file": {"before": -1, "after": 3}}
    assert result["diff"][0]["before"] == "priority = -2\n" and result["diff"][0]["after"] == "priority = 3\n"
    assert host.calls[-2] == ["swapon", "-p", "3", "--discard=once", path]
    assert fstab_text(host).endswith("%s none swap sw,pri=3,discard=once 0 0\n" % path)
    _rc, result = run(capsys, {"device": path, "state": "absent"}, check_mode=True)
    assert result["actions"] == ["swapoff", "fstab", "delete"] and os.path.exists(path)
    _rc, result = run(capsys, {"device": path, "state": "absent"})
    assert live(result)["active"] is False and not os.path.exists(path) and host.active == {}
    assert live(result, "file") == {"active": False, "priority": None, "discard": None}
    assert fstab_text(host) == debian_fstab() == result["file_text"]
    _rc, result = run(capsys, {"device": path, "state": "absent"})
    assert result["changed"] is False


def test_backup_copies_fstab_before_the_edit_and_only_then(capsys, host):
    path = str(host.tmp / "swapfile")
    args = {"device": path, "size": "64M", "backup": True}
    before = listing(host)
    _rc, check = run(capsys, args, check_mode=True)
    assert check["backup_file"] is None and listing(host) == before  # check mode makes no copy
    _rc, result = run(capsys, args)
    name = result["backup_file"]
    assert os.path.dirname(name) == str(host.tmp) and name.startswith(swap.FSTAB + ".") and name.endswith("~")
    with open(name, encoding="utf-8") as handle:
        assert handle.read() == debian_fstab()
    assert fstab_text(host) != debian_fstab()
    _rc, again = run(capsys, args)
    assert again["changed"] is False and again["backup_file"] is None
    _rc, again = run(capsys, dict(args, priority=2, persist=False))
    assert again["actions"] == ["swapoff", "swapon"] and again["backup_file"] is None and again["path"] is None
    assert again["file_text"] is None and len(again["diff"]) == 1
    _rc, result = run(capsys, {"device": path, "state": "absent"})
    assert result["backup_file"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"size": "lots"}, "size: 'lots' is not a size"),
        ({"size": "64M", "priority": 40000}, "priority: 40000 is outside -1..32767"),
        ({"size": "64P"}, "size: 64 PiB more is needed for"),
        ({"device": "nope/x", "size": "64M"}, "device: 'nope/x' is not an absolute path"),
        ({"device": "{tmp}/nope/x", "size": "64M"}, "device: the directory {tmp}/nope of {tmp}/nope/x does not exist"),
        ({"device": "{tmp}/shm/swapfile", "size": "64M"}, "a tmpfs file system: a tmpfs lives in memory"),
        (
            {"device": "{tmp}/ext4file"},
            "exists and is not a swap file (blkid finds an existing ext4 signature); set force",
        ),
        ({"device": "{tmp}"}, "is a directory, not a swap file or block device"),
    ],
)
def test_bad_inputs_change_nothing(capsys, host, args, message):
    (host.tmp / "ext4file").write_bytes(b"EXT4" + b"\0" * (64 * 1024))
    args = {k: v.format(tmp=host.tmp) if isinstance(v, str) else v for k, v in args.items()}
    args.setdefault("device", str(host.tmp / "swapfile"))
    before, files = fstab_text(host), listing(host)
    rc, result = run(capsys, dict(args, backup=True))
    assert rc == 1 and result["msg"].startswith("invalid options, nothing changed: ")
    assert message.format(tmp=host.tmp) in result["msg"]
    assert fstab_text(host) == before and listing(host) == files
    assert mutating(host) == []


def test_every_bad_option_is_named_at_once_and_nothing_changes(capsys, host):
    before, files = fstab_text(host), listing(host)
    args = {"device": str(host.tmp / "shm" / "swapfile"), "size": "1000000", "priority": -5, "backup": True}
    rc, result = run(capsys, args)
    assert rc == 1
    assert result["msg"] == (
        "invalid options, nothing changed: priority: -5 is outside -1..32767 (-1 lets the kernel choose, higher is "
        "used first); size: 1000000 (1000000 bytes) is not a whole number of %d-byte pages; use %d or %d; "
        "device: %s/shm/swapfile would be on %s/shm, a tmpfs file system: a tmpfs lives in memory (and in swap "
        "itself). Put the swap file on a disk file system (ext4, xfs, btrfs)"
        % (PAGE, 1000000 - 1000000 % PAGE, 1000000 - 1000000 % PAGE + PAGE, host.tmp, host.tmp)
    )
    rc, result = run(capsys, {"device": "relative", "size": "lots", "priority": 40000})
    assert rc == 1 and result["msg"].startswith("invalid options, nothing changed: device: 'relative' is not an")
    assert "; priority: 40000 is outside" in result["msg"] and "; size: 'lots' is not a size" in result["msg"]
    assert fstab_text(host) == before and listing(host) == files and mutating(host) == []


def test_force_overwrites_a_file_without_swap(capsys, host):
    path = str(host.tmp / "ext4file")
    (host.tmp / "ext4file").write_bytes(b"EXT4" + b"\0" * (64 * 1024 - 4))
    _rc, result = run(capsys, {"device": path, "force": True, "persist": False})
    assert result["actions"] == ["recreate", "mkswap", "swapon"] and result["fstab_line"] is None
    assert len(result["diff"]) == 1 and result["path"] is None and result["file_text"] is None
    assert all("file" not in layers for layers in result["settings"].values())


def test_size_in_bytes_as_an_integer(capsys, host):
    _rc, result = run(capsys, {"device": str(host.tmp / "swapfile"), "size": 64 * MiB}, check_mode=True)
    assert live(result)["device_size"] == 64 * MiB
    _rc, result = run(capsys, {"device": str(host.tmp / "swapfile"), "size": True}, check_mode=True)
    assert result["msg"] == (
        "invalid options, nothing changed: size: True is a boolean, not a size; write bytes or a string like '2G'"
    )


def test_force_over_a_file_then_a_failure_says_the_old_content_is_lost(capsys, host):
    path = str(host.tmp / "ext4file")
    (host.tmp / "ext4file").write_bytes(b"EXT4" + b"\0" * (64 * 1024 - 4))
    host.fail = {"swapon"}
    rc, result = run(capsys, {"device": path, "force": True})
    assert rc == 1
    assert result["msg"].endswith("; could not undo: %s: its old content (ext4) is lost; force overwrote it" % path)
    assert "undone:" not in result["msg"]


def test_an_unexpected_error_is_reported_as_a_bug_and_still_rolled_back(capsys, host, monkeypatch):
    path = str(host.tmp / "swapfile")

    def broken(self):
        raise KeyError("x")

    monkeypatch.setattr(swap.Apply, "swapon", broken)
    rc, result = run(capsys, {"device": path, "size": "64M"})
    assert rc == 1 and result["msg"] == "%s: swapon failed: unexpected KeyError: 'x'; undone: removed %s" % (path, path)
    assert not os.path.exists(path)


@pytest.fixture
def blockdev(host, monkeypatch):
    """A regular file the module takes for a block device (kind ``partition``)."""
    path = host.tmp / "vdb"
    path.write_bytes(b"\0" * (1 * MiB))
    kind_of = swap._swap.kind_of
    monkeypatch.setattr(
        swap._swap, "kind_of", lambda mode: "partition" if mode == path.stat().st_mode else kind_of(mode)
    )
    return str(path)


def test_partition_mkswap_undone_by_wipefs(capsys, host, blockdev):
    host.fail = {"swapon"}
    rc, result = run(capsys, {"device": blockdev, "priority": 3})
    assert rc == 1 and result["msg"].endswith("undone: wiped the new swap signature of %s" % blockdev)
    assert host.do_blkid([], blockdev)[0] == 2
    _rc, result = run(capsys, {"device": blockdev, "priority": 3})
    assert result["type"] == "partition" and result["actions"] == ["mkswap", "swapon", "fstab"]
    assert fstab_text(host).endswith("%s none swap sw,pri=3 0 0\n" % blockdev)
    _rc, result = run(capsys, {"device": blockdev, "state": "absent"})
    assert result["actions"] == ["swapoff", "fstab"] and os.path.exists(blockdev)
    assert live(result)["device_size"] == MiB
    assert host.do_blkid([], blockdev)[1] == "DEVNAME=%s\nTYPE=swap\n" % blockdev  # the signature stays


def test_partition_with_a_file_system_and_force(capsys, host, blockdev):
    with open(blockdev, "r+b") as handle:
        handle.write(b"EXT4")
    rc, result = run(capsys, {"device": blockdev})
    assert rc == 1 and "carries an existing ext4 signature" in result["msg"]
    host.fail = {"swapon"}
    rc, result = run(capsys, {"device": blockdev, "force": True})
    assert result["msg"].endswith("could not undo: %s: its old content (ext4) is lost; mkswap overwrote it" % blockdev)
    assert ["mkswap", "-f", blockdev] in host.calls
