# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
---
name: collection_version
short_description: The version of the collection a playbook ships in, from its MANIFEST.json or galaxy.yml
version_added: 0.1.0
author:
  - memwise.linux contributors (@memwise)
description:
  - Given the directory of a playbook inside a collection (C(playbook_dir)), reads the collection's version from
    C(../MANIFEST.json) (C(collection_info.version), an installed collection) or, failing that, from
    C(../galaxy.yml) (C(version), a source checkout).
  - Returns V(null) when neither file exists (a playbook copied out of its collection). A file that exists but
    cannot be read or parsed fails, naming the file.
  - The fleet report of C(memwise.linux.gather) records the version with it.
options:
  _input:
    description: The playbook's directory, usually C(playbook_dir).
    type: path
    required: true
seealso:
  - plugin: memwise.linux.fleet_summary
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Say which memwise.linux wrote the report
  ansible.builtin.debug:
    msg: "memwise.linux {{ playbook_dir | memwise.linux.collection_version | default('(unknown)', true) }}"
"""

RETURN = r"""
---
_value:
  description: The version string, for example C(0.2.0); V(null) when the directory has no collection metadata.
  type: str
"""

NAME = "memwise.linux.collection_version"


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise AnsibleFilterError("%s: cannot read %s: %s" % (NAME, path, exc.strerror or exc)) from None


def _from_manifest(path):
    try:
        data = json.loads(_read(path))
    except ValueError as exc:
        raise AnsibleFilterError("%s: %s is not JSON: %s" % (NAME, path, exc)) from None
    info = data.get("collection_info") if isinstance(data, dict) else None
    return info.get("version") if isinstance(info, dict) else None


def _from_galaxy(path):
    import yaml  # the controller has PyYAML: ansible-core depends on it

    try:
        data = yaml.safe_load(_read(path))
    except yaml.YAMLError as exc:
        raise AnsibleFilterError("%s: %s is not YAML: %s" % (NAME, path, exc)) from None
    return data.get("version") if isinstance(data, dict) else None


def collection_version(playbook_dir):
    """``playbook_dir | memwise.linux.collection_version``; see DOCUMENTATION."""
    if not isinstance(playbook_dir, str) or not playbook_dir:
        raise AnsibleFilterError("%s: the input must be a directory path (playbook_dir), not %r" % (NAME, playbook_dir))
    top = os.path.dirname(os.path.abspath(playbook_dir))
    for name, reader in (("MANIFEST.json", _from_manifest), ("galaxy.yml", _from_galaxy)):
        path = os.path.join(top, name)
        if os.path.exists(path):
            version = reader(path)
            return None if version is None else str(version)
    return None


class FilterModule:
    """memwise.linux.collection_version."""

    def filters(self):
        return {"collection_version": collection_version}
