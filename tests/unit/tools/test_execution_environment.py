# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/execution-environment.yml: ``ansible-builder create`` writes a build context that holds the collection.

No container runtime is involved: ``create`` only writes the context. The collection
tarball comes from ``ansible-galaxy collection build`` of this checkout, placed where
the definition expects ``make build``'s output (``.build/dist`` beside ``meta/``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
EE = os.path.join(ROOT, "meta", "execution-environment.yml")


def _tool(name):
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.path.exists(beside) else shutil.which(name)


def _pins():
    with open(os.path.join(ROOT, "tests", "requirements.txt")) as handle:
        lines = [line.split("#")[0].strip() for line in handle]
    return {line.split("==")[0]: line for line in lines if "==" in line}


def test_definition_pins_what_the_tests_pin():
    with open(EE) as handle:
        ee = yaml.safe_load(handle)
    assert ee["version"] == 3
    pins = _pins()
    assert ee["dependencies"]["python"] == [pins["jmespath"], pins["netaddr"]]
    core = ee["dependencies"]["ansible_core"]["package_pip"]
    assert core == "ansible-core>=2.19.0,<2.20"
    assert pins["ansible-core"].startswith("ansible-core==2.19.")


def test_ansible_builder_create_writes_a_context_with_the_collection(tmp_path):
    (tmp_path / "meta").mkdir()
    shutil.copy(EE, tmp_path / "meta" / "execution-environment.yml")
    dist = tmp_path / ".build" / "dist"
    subprocess.run(
        [_tool("ansible-galaxy"), "collection", "build", "--output-path", str(dist), ROOT],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (tarball,) = [p for p in dist.iterdir() if p.name.startswith("memwise-linux-")]
    context = tmp_path / "context"
    created = subprocess.run(
        [_tool("ansible-builder"), "create", "--output-filename", "Containerfile"]
        + ["-f", str(tmp_path / "meta" / "execution-environment.yml"), "-c", str(context)],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    containerfile = (context / "Containerfile").read_text()
    requirements = (context / "_build" / "requirements.txt").read_text().split()
    pins = _pins()
    assert pins["jmespath"] in requirements
    assert pins["netaddr"] in requirements
    assert "ansible-core>=2.19.0,<2.20" in containerfile
    # The collection's tarball is in the context, and the image installs it.
    copied = context / "_build" / "memwise-collection" / tarball.name
    assert copied.read_bytes() == tarball.read_bytes()
    with tarfile.open(copied) as tar:
        assert "MANIFEST.json" in tar.getnames()
        assert "playbooks/gather.yml" in tar.getnames()
    assert "COPY _build/memwise-collection /tmp/memwise-collection" in containerfile
    assert "ansible-galaxy collection install --offline /tmp/memwise-collection/memwise-linux-*.tar.gz" in containerfile
