# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the VM harness's pure logic (no VM is booted here)."""

from __future__ import annotations

import json
import os
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
