# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""collection_version: the version beside a playbook directory, from MANIFEST.json or galaxy.yml."""

from __future__ import annotations

import json
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.filter import collection_version as plugin
from ansible_collections.memwise.linux.plugins.filter.collection_version import collection_version

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def collection(tmp_path, manifest=None, galaxy=None):
    (tmp_path / "playbooks").mkdir()
    if manifest is not None:
        (tmp_path / "MANIFEST.json").write_text(manifest, encoding="utf-8")
    if galaxy is not None:
        (tmp_path / "galaxy.yml").write_text(galaxy, encoding="utf-8")
    return str(tmp_path / "playbooks")


def test_registered_under_its_name():
    assert plugin.FilterModule().filters() == {"collection_version": collection_version}


def test_an_installed_collection_has_a_manifest(tmp_path):
    manifest = json.dumps({"collection_info": {"namespace": "memwise", "name": "linux", "version": "1.2.3"}})
    assert collection_version(collection(tmp_path, manifest=manifest, galaxy="version: 0.0.1\n")) == "1.2.3"


def test_a_checkout_has_galaxy_yml(tmp_path):
    assert collection_version(collection(tmp_path, galaxy="namespace: memwise\nversion: 0.4.0\n")) == "0.4.0"


def test_this_checkout_reads_its_own_galaxy_yml():
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        version = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("version:"))
    assert collection_version(os.path.join(ROOT, "playbooks")) == version


@pytest.mark.parametrize(
    ("manifest", "galaxy"),
    [(None, None), (json.dumps({"collection_info": {}}), None), (None, "namespace: memwise\n"), (None, "")],
)
def test_no_version_is_none(tmp_path, manifest, galaxy):
    assert collection_version(collection(tmp_path, manifest=manifest, galaxy=galaxy)) is None


def test_a_version_that_yaml_reads_as_a_number_is_a_string(tmp_path):
    assert collection_version(collection(tmp_path, galaxy="version: 1.0\n")) == "1.0"


@pytest.mark.parametrize(
    ("manifest", "galaxy", "message"),
    [
        ("{not json", None, r"MANIFEST.json is not JSON"),
        (None, "version: [1, 2\n", r"galaxy.yml is not YAML"),
    ],
)
def test_a_broken_file_is_named(tmp_path, manifest, galaxy, message):
    with pytest.raises(AnsibleFilterError, match=r"^memwise.linux.collection_version: .*" + message):
        collection_version(collection(tmp_path, manifest=manifest, galaxy=galaxy))


@pytest.mark.parametrize("value", [None, "", 42])
def test_the_input_must_be_a_path(value):
    with pytest.raises(AnsibleFilterError, match=r"the input must be a directory path \(playbook_dir\)"):
        collection_version(value)
