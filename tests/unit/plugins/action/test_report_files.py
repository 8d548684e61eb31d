# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report_files action plugin: the controller-side writes of the fleet report."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.memwise.linux.plugins.action.report_files import parse_mode, write_files
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

FILES = {"report.json": '{"hosts": []}\n', "report.md": "# memwise report\n", "report.html": "<html></html>\n"}


def test_creates_the_directory_and_writes_every_file(tmp_path):
    dest = tmp_path / "memwise-report"
    assert write_files(str(dest), FILES) == ["report.html", "report.json", "report.md"]
    assert {p.name: p.read_text() for p in dest.iterdir()} == FILES
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755 & ~_umask()
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in dest.iterdir())


def test_second_write_changes_nothing_and_only_changed_files_are_written(tmp_path):
    write_files(str(tmp_path), FILES)
    inode = (tmp_path / "report.md").stat().st_ino
    assert write_files(str(tmp_path), FILES) == []
    changed = dict(FILES, **{"report.json": '{"hosts": [1]}\n'})
    assert write_files(str(tmp_path), changed) == ["report.json"]
    assert (tmp_path / "report.json").read_text() == '{"hosts": [1]}\n'
    assert (tmp_path / "report.md").stat().st_ino == inode  # untouched


def test_existing_files_keep_their_mode(tmp_path):
    (tmp_path / "report.md").write_text("old\n")
    os.chmod(tmp_path / "report.md", 0o600)
    write_files(str(tmp_path), {"report.md": "new\n"}, mode=0o644)
    assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == 0o600


def test_check_mode_writes_nothing(tmp_path):
    dest = tmp_path / "r"
    assert write_files(str(dest), FILES, check_mode=True) == ["report.html", "report.json", "report.md"]
    assert not dest.exists()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize(
    ("files", "match"),
    [
        ({}, r"at least one file"),
        ([], r"a dictionary file name -> text"),
        ({"../x": "t"}, r"'\.\./x' is not a plain file name"),
        ({"a/b": "t"}, r"'a/b' is not a plain file name"),
        ({"..": "t"}, r"'\.\.' is not a plain file name"),
        ({"x": 5}, r"the text of x is a int, not a string"),
    ],
)
def test_bad_files_fail_and_write_nothing(tmp_path, files, match):
    with pytest.raises(MemwiseError, match=match):
        write_files(str(tmp_path / "r"), files)
    assert not (tmp_path / "r").exists()


def test_dest_that_is_a_file_fails(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(MemwiseError, match=r"dest: .*/f exists and is not a directory"):
        write_files(str(tmp_path / "f"), FILES)


@pytest.mark.parametrize(("text", "expected"), [("0644", 0o644), ("600", 0o600), ("0755", 0o755)])
def test_parse_mode(text, expected):
    assert parse_mode(text) == expected


@pytest.mark.parametrize(
    ("text", "match"), [("rw-r--r--", r"not an octal mode"), ("0899", r"not an octal"), ("17777", r"out of range")]
)
def test_parse_mode_errors(text, match):
    with pytest.raises(MemwiseError, match=match):
        parse_mode(text)
