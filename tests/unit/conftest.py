# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pytest helpers: real captured fixture files under tests/unit/fixtures/<source>/."""

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _lock

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def fixture_sources(name):
    """Every capture source (devhost, deb12, deb13, ...) that holds file ``name``."""
    return sorted(d for d in os.listdir(FIXTURES) if os.path.exists(os.path.join(FIXTURES, d, name)))


def read_fixture(source, name):
    with open(os.path.join(FIXTURES, source, name), encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture(autouse=True)
def host_lock_in_tmp(tmp_path_factory, monkeypatch):
    """Modules run in unit tests take their host lock in a directory of their own, never in this machine's
    /run (and not in tmp_path, which tests compare before and after)."""
    path = tmp_path_factory.mktemp("lock") / "memwise.linux.lock"
    monkeypatch.setattr(_lock, "PATH", str(path))
    return path
