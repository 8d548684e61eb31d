# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the VM harness's pure logic (no VM is booted here)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmctl

DEB822 = """\
Types: deb
URIs: http://mirror.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main
"""

ONE_LINE = """\
# deb cdrom:[Debian GNU/Linux 12]/ bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.example.net/debian/ bookworm main
deb http://security.example.net/debian-security bookworm-security main
"""


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        ([("/etc/apt/sources.list.d/debian.sources", DEB822)], "http://mirror.example.org/debian"),
        ([("/etc/apt/sources.list", ONE_LINE)], "http://ftp.example.net/debian"),
        (
            [
                ("/etc/apt/sources.list", "deb http://x.example/debian-security bookworm-security main\n"),
                ("/etc/apt/sources.list.d/debian.sources", DEB822),
            ],
            "http://mirror.example.org/debian",
        ),
        (
            [
                (
                    "/etc/apt/sources.list.d/off.sources",
                    DEB822.replace("Types: deb\nURIs: http://mirror", "Types: deb\nEnabled: no\nURIs: http://mirror"),
                )
            ],
            None,
        ),
        ([("/etc/apt/sources.list.d/src.sources", DEB822.replace("Types: deb\n", "Types: deb-src\n"))], None),
        ([("/etc/apt/sources.list", "deb http://x.example/ubuntu jammy main\n")], None),
        ([], None),
    ],
)
def test_parse_apt_sources(texts, expected):
    assert vmctl.parse_apt_sources(texts) == expected


def test_host_mirror_prefers_explicit_and_env(monkeypatch):
    monkeypatch.setenv("MEMWISE_VM_MIRROR", "http://env.example/debian/")
    assert vmctl.host_mirror() == "http://env.example/debian"
    assert vmctl.host_mirror("http://cli.example/debian") == "http://cli.example/debian"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("a:bookworm", {"name": "a", "release": "bookworm", "disk": None, "memory": 1024}),
        ("deb13-x:trixie:disk=2G:mem=1536", {"name": "deb13-x", "release": "trixie", "disk": "2G", "memory": 1536}),
    ],
)
def test_parse_vm_spec(spec, expected):
    assert vmctl.parse_vm_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("a", r"expected NAME:RELEASE"),
        ("Bad_Name:bookworm", r"expected NAME:RELEASE"),
        ("a:buster", r"release must be one of bookworm, trixie"),
        ("a:bookworm:disk=lots", r"unknown option 'disk=lots'"),
        ("a:bookworm:cpus=2", r"unknown option 'cpus=2'"),
    ],
)
def test_parse_vm_spec_errors(spec, match):
    with pytest.raises(vmctl.VmError, match=match):
        vmctl.parse_vm_spec(spec)


def test_parse_platforms():
    platforms = [
        {"name": "s12", "release": "bookworm", "disk": "1G"},
        {"name": "s13", "release": "trixie", "memory": 768},
    ]
    assert vmctl.parse_platforms(json.dumps(platforms)) == [
        {"name": "s12", "release": "bookworm", "disk": "1G", "memory": 1024},
        {"name": "s13", "release": "trixie", "disk": None, "memory": 768},
    ]
    with pytest.raises(vmctl.VmError, match=r"platform s12: unknown key\(s\) image; known: name, release"):
        vmctl.parse_platforms(json.dumps([{"name": "s12", "image": "x"}]))
    with pytest.raises(vmctl.VmError, match=r"--platforms is not JSON"):
        vmctl.parse_platforms("[{")


def test_pick_kernel_takes_the_newest(tmp_path):
    for ver in ("6.1.0-9-amd64", "6.1.0-50-amd64", "6.1.0-10-amd64"):
        (tmp_path / ("vmlinuz-" + ver)).write_text("k")
        (tmp_path / ("initrd.img-" + ver)).write_text("i")
    assert vmctl.pick_kernel(str(tmp_path)) == (
        str(tmp_path / "vmlinuz-6.1.0-50-amd64"),
        str(tmp_path / "initrd.img-6.1.0-50-amd64"),
    )


def test_pick_kernel_errors(tmp_path):
    with pytest.raises(vmctl.VmError, match=r"no kernel in"):
        vmctl.pick_kernel(str(tmp_path))
    (tmp_path / "vmlinuz-6.12.1-amd64").write_text("k")
    with pytest.raises(vmctl.VmError, match=r"has no initrd"):
        vmctl.pick_kernel(str(tmp_path))


def test_recipe_hash_changes_with_the_recipe():
    base = vmctl.recipe("bookworm", "ssh-ed25519 AAAA test")
    assert vmctl.recipe_hash(base) == vmctl.recipe_hash(dict(base))
    assert vmctl.recipe_hash(base) != vmctl.recipe_hash(vmctl.recipe("trixie", "ssh-ed25519 AAAA test"))
    assert vmctl.recipe_hash(base) != vmctl.recipe_hash(dict(base, packages=base["packages"] + ["vim"]))
    # A new ISO week is a new image (fresh package lists, kept in the image for apt-get install).
    assert re.match(r"^\d{4}-W\d{2}$", base["week"])
    assert vmctl.recipe_hash(base) != vmctl.recipe_hash(dict(base, week="2000-W01"))
    assert "_Packages" not in vmctl.CUSTOMISE.split("rm -rf", 1)[1].split("\n", 1)[0]


def test_proc_start_time_detects_pid_reuse():
    me = os.getpid()
    start = vmctl.proc_start_time(me)
    assert start is not None
    assert vmctl.alive(me, start)
    assert not vmctl.alive(me, str(int(start) + 1))
    assert not vmctl.alive(2**22 + 1)


def test_write_inventory(tmp_path):
    metas = [
        {
            "name": "v1",
            "port": 40001,
            "key": "/k/id",
            "release": "trixie",
            "ssh_seconds": 20.5,
            "accel": "tcg,tb-size=128",
        }
    ]
    instances = vmctl.write_inventory(str(tmp_path), metas)
    assert instances[0]["instance"] == "v1" and instances[0]["debian"] == "13"
    assert json.loads((tmp_path / "instances.json").read_text()) == instances
    inventory = (tmp_path / "inventory.yml").read_text()
    assert "ansible_port: 40001" in inventory and "ansible_ssh_private_key_file: /k/id" in inventory


IMAGE = "/cache/images/bookworm-0123456789abcdef"


def test_snapshot_key_names_every_kind():
    vm = vmctl.parse_vm_spec("a:bookworm")
    key = vmctl.snapshot_key(vm, IMAGE, "tcg,tb-size=128", "QEMU emulator version 7.2")
    assert key.startswith("bookworm-0123456789abcdef-m1024-")
    # The VM's own name, port and paths are not part of it: every VM of a kind shares one snapshot.
    other = vmctl.parse_vm_spec("b:bookworm")
    assert vmctl.snapshot_key(other, IMAGE, "tcg,tb-size=128", "QEMU emulator version 7.2") == key
    # What the migration stream depends on is.
    variants = [
        vmctl.snapshot_key(vmctl.parse_vm_spec("a:bookworm:mem=512"), IMAGE, "tcg,tb-size=128", "QEMU 7.2"),
        vmctl.snapshot_key(vmctl.parse_vm_spec("a:bookworm:disk=1G"), IMAGE, "tcg,tb-size=128", "QEMU 7.2"),
        vmctl.snapshot_key(vm, IMAGE, "kvm", "QEMU 7.2"),
        vmctl.snapshot_key(vm, IMAGE, "tcg,tb-size=128", "QEMU 8.2"),
        vmctl.snapshot_key(vm, IMAGE.replace("0123", "9999"), "tcg,tb-size=128", "QEMU 7.2"),
    ]
    assert len(set(variants + [vmctl.snapshot_key(vm, IMAGE, "tcg,tb-size=128", "QEMU 7.2")])) == len(variants) + 1
    assert "-m512-" in variants[0] and "-m1024-d1G-" in variants[1]


def test_vm_argv_restores_differ_only_in_paths_and_port():
    vm = vmctl.parse_vm_spec("a:trixie:disk=1G:mem=512")
    one = vmctl.vm_argv(vm, IMAGE, "tcg", overlay="/s/a.qcow2", extra="/s/a-disk2.qcow2", port=2222)
    two = vmctl.vm_argv(vm, IMAGE, "tcg", overlay="/t/a.qcow2", extra="/t/a-disk2.qcow2", port=3333)
    diff = [(x, y) for x, y in zip(one, two) if x != y]
    assert len(one) == len(two)
    assert len(diff) == 3
    assert all("/s/" in x or "2222" in x for x, _y in diff)
    assert "vmgenid" in one
    assert "disk2" in " ".join(one)


def test_identity_script_sets_each_identity_item():
    keys = {"ssh_host_ed25519_key": "PRIVATE\n", "ssh_host_ed25519_key.pub": "ssh-ed25519 AAAA root@vm1\n"}
    script = vmctl.identity_script("vm1", "0" * 31 + "1", keys, 1800000000, "ab" * 32)
    lines = script.splitlines()
    assert lines[0] == "set -eu"
    assert "date -u -s @1800000000 >/dev/null" in lines
    assert "printf '%s\\n' " + "0" * 31 + "1 > /etc/machine-id" in lines
    assert "hostname vm1" in lines and "printf '%s\\n' vm1 > /etc/hostname" in lines
    # journald is restarted after the new machine-id, so journalctl (local journals only) sees new entries.
    assert lines.index("systemctl restart systemd-journald.service") > lines.index(
        "printf '%s\\n' " + "0" * 31 + "1 > /etc/machine-id"
    )
    assert "rm -f /etc/ssh/ssh_host_*" in lines
    # Each key file is written whole, private keys readable by root only.
    start = lines.index("cat > /etc/ssh/ssh_host_ed25519_key <<'MEMWISE_KEY'")
    assert lines[start + 1 : start + 4] == ["PRIVATE", "MEMWISE_KEY", "chmod 0600 /etc/ssh/ssh_host_ed25519_key"]
    assert "chmod 0644 /etc/ssh/ssh_host_ed25519_key.pub" in lines
    assert lines[-1] == "systemctl try-reload-or-restart ssh.service"


def test_host_keys_are_new_for_every_vm():
    one, two = vmctl.host_keys("vm1"), vmctl.host_keys("vm2")
    assert (
        sorted(one)
        == sorted(two)
        == sorted(
            "ssh_host_%s_key%s" % (kind, suffix) for kind, _extra in vmctl.HOST_KEY_TYPES for suffix in ("", ".pub")
        )
    )
    assert one["ssh_host_ed25519_key"] != two["ssh_host_ed25519_key"]
    assert one["ssh_host_rsa_key.pub"].rstrip().endswith("root@vm1")


def test_use_snapshots_reads_the_switch(monkeypatch):
    monkeypatch.delenv("MEMWISE_VM_SNAPSHOT", raising=False)
    assert vmctl.use_snapshots() is True
    monkeypatch.setenv("MEMWISE_VM_SNAPSHOT", "0")
    assert vmctl.use_snapshots() is False
    monkeypatch.setenv("MEMWISE_VM_SNAPSHOT", "yes")
    with pytest.raises(vmctl.VmError, match="MEMWISE_VM_SNAPSHOT must be"):
        vmctl.use_snapshots()


def test_up_boots_cold_when_a_restore_fails(monkeypatch, tmp_path, capsys):
    calls, removed = [], []

    def start_all(vms, state, key, accel, images, *, snapshots, timeout):
        calls.append(dict(snapshots))
        if snapshots:
            raise vmctl.VmError("no SSH after 120 s from: a")
        return [dict(vm, port=2222, key=key, accel=accel) for vm in vms]

    monkeypatch.setattr(vmctl, "ssh_key", lambda: ("/k", "pub"))
    monkeypatch.setattr(vmctl, "build_images", lambda releases, mirror: {r: "/img/" + r for r in releases})
    monkeypatch.setattr(vmctl, "choose_accel", lambda image: "tcg")
    monkeypatch.setattr(vmctl, "make_snapshot", lambda vm, image, accel, key, timeout: "/snap/" + vm["release"])
    monkeypatch.setattr(vmctl, "remove_tree", removed.append)
    monkeypatch.setattr(vmctl, "start_all", start_all)
    monkeypatch.delenv("MEMWISE_VM_SNAPSHOT", raising=False)
    args = argparse.Namespace(vm=["a:bookworm"], platforms=None, state_dir=str(tmp_path), mirror=None, timeout=300)
    vmctl.up(args)
    assert calls == [{("bookworm", 1024, None): "/snap/bookworm"}, {}]
    assert removed == ["/snap/bookworm"]
    assert json.loads(capsys.readouterr().out)[0]["start"] == "cold"


def test_prune_snapshots_removes_orphans_and_stale_locks(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMWISE_VM_CACHE", str(tmp_path))
    images = tmp_path / "images"
    (images / "trixie-aaaaaaaaaaaaaaaa").mkdir(parents=True)
    (images / "trixie-aaaaaaaaaaaaaaaa" / "disk.qcow2").write_text("")
    root = tmp_path / "snapshots"
    root.mkdir()
    kept = root / "trixie-aaaaaaaaaaaaaaaa-m1024-0123456789ab"
    kept.mkdir()
    (kept / "manifest.json").write_text(json.dumps({"image": str(images / "trixie-aaaaaaaaaaaaaaaa")}))
    gone = root / "bookworm-bbbbbbbbbbbbbbbb-m512-d1G-0123456789ab"
    gone.mkdir()
    (gone / "manifest.json").write_text(json.dumps({"image": str(images / "bookworm-bbbbbbbbbbbbbbbb")}))
    (root / (kept.name + ".lock")).write_text("")
    (root / (gone.name + ".lock")).write_text("")
    old, young, running = root / ".make-old", root / ".make-young", root / ".make-running"
    for work in (old, young, running):
        work.mkdir()
    (old / "snapshot.json").write_text(json.dumps({"pid": 999999999, "guard_pid": 999999999}))
    (running / "snapshot.json").write_text(json.dumps({"pid": os.getpid(), "guard_pid": None}))
    past = vmctl.time.time() - vmctl.STALE_WORK - 60
    os.utime(old, (past, past))
    os.utime(running, (past, past))

    vmctl.prune_snapshots(str(root))

    assert sorted(p.name for p in root.iterdir()) == sorted(
        [kept.name, kept.name + ".lock", ".make-young", ".make-running"]
    )


def test_cleanup_files_removes_a_half_made_snapshot(tmp_path):
    work = tmp_path / ".make-x"
    work.mkdir()
    (work / "snapshot.qcow2").write_text("")
    overlay = tmp_path / "vm.qcow2"
    overlay.write_text("")
    vmctl.cleanup_files({"overlay": str(overlay), "extra_disk": None, "workdir": str(work)})
    assert not work.exists() and not overlay.exists()
