# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host where nothing real can change, for running every module's ``main()`` with hostile input.

``Sandbox`` copies the Debian 13 capture (tests/unit/fixtures/deb13/root) below the test's
tmp directory, adds /etc and a mount table (/ on ext4, /proc, /sys, and a tmpfs at the
sandbox's /run), and points every root the modules read and write at it. Commands go to a
recorder: readers get the captures' answers (``FakeSystemd`` for systemctl), anything that
could change a host is recorded in ``mutations`` and refused. While a module runs, a Python
audit hook refuses (and records in ``breaches``) every write, rename, removal or new process
outside the tmp directory, so even a path the sandbox forgot to redirect cannot reach the
machine the tests run on.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.memwise.linux.plugins.module_utils import (
    _cgroup,
    _command,
    _facts,
    _lock,
    _oomd,
    _procfs,
    _sysfs,
    _zram,
)
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.modules import swap, unit_resources, zram

from ..conftest import FIXTURES
from .modules.fake_systemd import FakeSystemd, point_at

# Commands that only read; any other command is a change and is refused.
READERS = (
    "systemctl show",
    "systemctl is-active",
    "systemctl is-enabled",
    "systemctl is-system-running",
    "systemctl --version",
    "systemd-analyze",
    "journalctl",
    "blkid",
    "dpkg-query",
    "apt-cache",
    "oomctl",
    "findmnt",
    "lsblk",
    "swapon --show",
    "uname",
)
# The audit events that change a file system: (argument that is a path, argument that is its dir_fd).
_WRITES = {"os.rename": (1, 3), "os.remove": (0, 1), "os.rmdir": (0, 1), "os.mkdir": (0, 2), "os.chmod": (0, 2)}
_WRITES.update({"os.chown": (0, 3), "os.symlink": (1, 2), "os.link": (1, 3), "os.truncate": (0, None)})
_WRITES.update({"os.utime": (0, 3), "os.setxattr": (0, None)})
_PROCESSES = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork")
_GUARD = {"root": None, "breaches": None}


def _audit(event, args):
    root = _GUARD["root"]
    if root is None:
        return
    if event in _PROCESSES:
        _refuse("%s %r" % (event, args[:2]))
    path, dir_fd = None, None
    if event == "open" and len(args) > 2 and _opens_for_writing(args[1], args[2]):
        path = args[0]
    elif event in _WRITES:
        at, fd_at = _WRITES[event]
        path = args[at]
        dir_fd = args[fd_at] if fd_at is not None and fd_at < len(args) else None
    if not isinstance(path, (str, bytes)):
        return  # a file descriptor: opened (and checked) before
    path = os.fsdecode(path)
    if isinstance(dir_fd, int) and dir_fd >= 0:
        path = os.path.join(os.readlink("/proc/self/fd/%d" % dir_fd), path)
    if not os.path.realpath(path).startswith(root):
        _refuse("%s %s" % (event, path))


def _opens_for_writing(mode, flags):
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC) != 0


def _refuse(what):
    _GUARD["breaches"].append(what)
    raise PermissionError("the hostile-input sandbox refused %s" % what)


sys.addaudithook(_audit)


class Recorder:
    """The runner of every module: readers answered from the captures, changes recorded and refused."""

    def __init__(self, systemd):
        self.systemd, self.calls, self.mutations = systemd, [], []

    def __call__(self, argv, check=True, ok_rc=(0,)):
        argv = [str(a) for a in argv]
        self.calls.append(argv)
        text = " ".join(argv)
        if not text.startswith(READERS):
            self.mutations.append(text)
            raise MemwiseError("the hostile-input sandbox refused `%s`" % text)
        if argv[0] in ("systemctl", "systemd-analyze", "journalctl") and not text.startswith("systemctl is-enabled"):
            try:
                return self.systemd(argv, check, ok_rc)
            except AssertionError:
                return 1, "", "not answered by the sandbox"
        return 1, "", "not answered by the sandbox"

    def run_command(self, argv):
        """``AnsibleModule.run_command`` (memory_facts runs its readers directly)."""
        return self([os.path.basename(str(argv[0]))] + list(argv[1:]))


class Sandbox:
    """The tmp directory as a whole host; ``run(module, args)`` runs its ``main()`` there."""

    def __init__(self, tmp_path, monkeypatch):
        self.tmp = tmp_path
        self.root = tmp_path / "host"
        shutil.copytree(os.path.join(FIXTURES, "deb13", "root"), str(self.root), symlinks=True)
        for directory in ("etc/sysctl.d", "etc/tmpfiles.d", "etc/systemd", "run/memwise", "proc/self"):
            (self.root / directory).mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(FIXTURES, "fstab", "debian-installer.fstab"), str(self.root / "etc/fstab"))
        mounts = [("/", "ext4", "/dev/vda1"), ("/proc", "proc", "proc"), ("/sys", "sysfs", "sysfs")]
        mounts += [("/sys/fs/cgroup", "cgroup2", "cgroup2"), ("/run", "tmpfs", "tmpfs")]
        mounts += [(str(self.root / "run"), "tmpfs", "tmpfs")]
        (self.root / "proc/self/mountinfo").write_text(
            "".join("%d 1 0:%d / %s rw - %s %s rw\n" % (20 + i, i, p, t, s) for i, (p, t, s) in enumerate(mounts))
        )
        point_at(monkeypatch, tmp_path)
        # The host lock lives in the sandbox's /run; a refused run still takes it (and
        # writes its holder record there), as on a real host, so it is not compared.
        self.lock = self.below("/run/memwise.linux.lock")
        monkeypatch.setattr(_lock, "PATH", self.lock)
        self.runner = Recorder(FakeSystemd("deb13", tmp_path / "lib" / "ssh.service"))
        self._redirect(monkeypatch)
        self.before = self.snapshot()

    def _redirect(self, monkeypatch):
        root = str(self.root)
        for owner, name in ((_sysfs, "ROOT"), (_oomd, "ROOT"), (_facts, "ROOT"), (unit_resources, "HOST_ROOT")):
            monkeypatch.setattr(owner, name, root)
        monkeypatch.setattr(_cgroup, "CGROUP_ROOT", self.below("/sys/fs/cgroup"))
        for name in ("SYS_BLOCK", "HOT_ADD", "GENERATOR", "GENERATOR_CONF", "GENERATOR_DEFAULT_CONF", "UNIT_PATH"):
            monkeypatch.setattr(_zram, name, self.below(getattr(_zram, name)))
        monkeypatch.setattr(zram, "SYSTEMD_RUNNING", self.below(zram.SYSTEMD_RUNNING))
        monkeypatch.setattr(zram, "_read", lambda path: _procfs.read_text(self.inside(path))[0])
        for name in ("FSTAB", "PROC_SWAPS", "MEMINFO", "MOUNTINFO", "SYSTEMD_RUN"):
            monkeypatch.setattr(swap, name, self.below(getattr(swap, name)))
        monkeypatch.setattr(_command.Runner, "__call__", lambda _self, *a, **k: self.runner(*a, **k))
        monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda _self, argv, **_k: self.runner.run_command(argv))
        (self.tmp / "tmp").mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(self.tmp / "tmp"))
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda _self, name, *a, **k: "/usr/bin/" + name)

    def below(self, path):
        return os.path.join(str(self.root), path.lstrip("/"))

    def inside(self, path):
        """A host path as the sandbox holds it (a path already in the sandbox is kept)."""
        return path if path.startswith(str(self.tmp)) else self.below(path)

    def snapshot(self):
        """Every file, directory and link below the tmp directory, with its content's digest."""
        state = {}
        for top, dirs, files in os.walk(str(self.tmp)):
            for name in dirs + files:
                path = os.path.join(top, name)
                if path == self.lock:
                    continue
                if os.path.islink(path):
                    state[path] = "-> " + os.readlink(path)
                elif os.path.isdir(path):
                    state[path] = "dir %o" % os.stat(path).st_mode
                else:
                    with open(path, "rb") as handle:
                        state[path] = "%o %s" % (os.stat(path).st_mode, hashlib.sha256(handle.read()).hexdigest())
        return state

    def run(self, capsys, module, args, check_mode=False):
        """``(rc, result)`` of ``module.main()`` with ``args``; ``breaches`` of the guard land in the result."""
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=True)
        _GUARD.update(root=os.path.realpath(str(self.tmp)) + os.sep, breaches=[])
        bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
        try:
            with patch_module_args(args), pytest.raises(SystemExit) as exc:
                module.main()
        finally:
            sys.dont_write_bytecode = bytecode
            breaches, _GUARD["root"] = _GUARD["breaches"], None
        out = capsys.readouterr().out
        try:
            result = json.loads(out)
        except ValueError:
            result = {"raw_output": out}
        return exc.value.code, dict(result, sandbox_breaches=breaches)
