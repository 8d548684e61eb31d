# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fstab read and edited line by line: every other byte of the file stays as it was."""

from __future__ import annotations

import os

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _fstab

from ...conftest import FIXTURES

FSTABS = sorted(n for n in os.listdir(os.path.join(FIXTURES, "fstab")) if n.endswith(".fstab"))
UUID = "UUID=5c0ffee0-1234-4abc-9def-00000000beef"


def fstab(name):
    with open(os.path.join(FIXTURES, "fstab", name), encoding="utf-8", newline="") as handle:
        return handle.read()


def is_(*names):
    return lambda spec: spec in names


def changed_lines(before, after):
    """``[(before line, after line)]`` where the two texts differ (same number of lines)."""
    a, b = _fstab.split_lines(before), _fstab.split_lines(after)
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b) if x != y]


@pytest.mark.parametrize("name", FSTABS)
def test_split_lines_round_trips_byte_for_byte(name):
    text = fstab(name)
    assert "".join(_fstab.split_lines(text)) == text


@pytest.mark.parametrize("name", FSTABS)
def test_an_entry_already_as_asked_leaves_the_text_identical(name):
    text = fstab(name)
    for _i, line in _fstab.swap_entries(text, lambda spec: True):
        spec = _fstab.spec_of(line)
        priority, discard = _fstab.entry_options(_fstab.options_of(line))
        after, managed = _fstab.edit(text, is_(spec), spec, priority=priority, discard=discard)
        assert after == text
        assert managed == line
        after, managed = _fstab.edit(text, is_(spec), spec)  # nothing asked: nothing moves
        assert after == text and managed == line


def test_the_installer_swap_entry_found_by_uuid_edited_in_place():
    text = fstab("debian-installer.fstab")
    after, line = _fstab.edit(text, is_(UUID), "/dev/vda5", priority=5, discard="pages")
    assert changed_lines(text, after) == [
        (
            UUID + " none            swap    sw              0       0\n",
            UUID + " none            swap    sw,pri=5,discard=pages              0       0\n",
        )
    ]
    assert line == changed_lines(text, after)[0][1]


def test_tabs_are_kept_around_the_edited_options():
    text = fstab("tabs.fstab")
    after, line = _fstab.edit(text, is_("/swapfile"), "/swapfile", priority=-1, discard="both")
    assert line == "/swapfile\tnone\tswap\tsw,discard\t0\t0\n"
    assert changed_lines(text, after) == [("/swapfile\tnone\tswap\tsw,pri=10\t0\t0\n", line)]


def test_a_commented_swap_line_is_not_an_entry():
    text = fstab("tabs.fstab")
    assert _fstab.swap_entries(text, is_("/old.swap")) == []
    after, line = _fstab.edit(text, is_("/old.swap"), "/old.swap", present=False)
    assert after == text and line is None


def test_escaped_path_quoted_tag_three_fields_and_no_final_newline():
    text = fstab("hand-edited.fstab")
    specs = [_fstab.spec_of(line) for _i, line in _fstab.swap_entries(text, lambda spec: True)]
    assert specs == ["/srv/swap files/swap0", "PARTUUID=7f3a-02", "/dev/vdb"]
    after, line = _fstab.edit(text, is_("/srv/swap files/swap0"), "/srv/swap files/swap0", priority=3)
    assert line == "/srv/swap\\040files/swap0  none  swap  defaults,nofail,pri=3,discard=once  0  0\n"
    after, line = _fstab.edit(text, is_("/dev/vdb"), "/dev/vdb", priority=7)
    assert line == "/dev/vdb none swap defaults,pri=7 0 0"
    assert after == text[: -len("/dev/vdb none swap")] + line
    after, line = _fstab.edit(text, is_("PARTUUID=7f3a-02"), "/dev/vdc", discard="off")
    assert line == 'PARTUUID="7f3a-02" none swap sw,pri=-1 0 0\n'
    assert after == text


def test_append_to_a_text_without_final_newline_and_to_an_empty_one():
    text = fstab("hand-edited.fstab")
    after, line = _fstab.edit(text, is_("/swap file"), "/swap file", priority=0, discard="once")
    assert line == "/swap\\040file none swap sw,pri=0,discard=once 0 0\n"
    assert after == text + "\n" + line
    assert _fstab.edit("", is_("/swapfile"), "/swapfile") == ("/swapfile none swap sw 0 0\n",) * 2
    assert _fstab.edit(None, is_("/swapfile"), "/swapfile", present=False) == ("", None)


def test_duplicates_are_removed_and_absent_removes_every_entry():
    text = "/swapfile none swap sw 0 0\n# keep\n/./swapfile none swap sw,pri=1 0 0\n/dev/vda / ext4 defaults 0 1\n"
    same = is_("/swapfile", "/./swapfile")
    after, line = _fstab.edit(text, same, "/swapfile", priority=4)
    assert after == "/swapfile none swap sw,pri=4 0 0\n# keep\n/dev/vda / ext4 defaults 0 1\n"
    assert line == "/swapfile none swap sw,pri=4 0 0\n"
    after, line = _fstab.edit(text, same, "/swapfile", present=False)
    assert after == "# keep\n/dev/vda / ext4 defaults 0 1\n" and line is None


def test_only_swap_entries_match():
    text = "/dev/vdb /data ext4 defaults 0 2\n"
    after, _line = _fstab.edit(text, is_("/dev/vdb"), "/dev/vdb")
    assert after == text + "/dev/vdb none swap sw 0 0\n"
    assert _fstab.edit(text, is_("/dev/vdb"), "/dev/vdb", present=False) == (text, None)


@pytest.mark.parametrize(
    ("existing", "priority", "discard", "expected"),
    [
        ([], None, None, ["sw"]),
        ([], -1, "off", ["sw"]),
        ([], 0, "both", ["sw", "pri=0", "discard"]),
        (["sw", "pri=10"], None, None, ["sw", "pri=10"]),
        (["sw", "pri=10"], -1, None, ["sw"]),
        (["sw", "pri=10"], 32767, "once", ["sw", "pri=32767", "discard=once"]),
        (["defaults", "discard=pages", "nofail"], None, None, ["defaults", "nofail", "discard=pages"]),
        (["defaults", "discard=pages", "nofail"], None, "off", ["defaults", "nofail"]),
        (["pri=1"], 2, None, ["sw", "pri=2"]),
        (["sw", "x-systemd.makefs", "pri=1", "discard"], 1, "both", ["sw", "x-systemd.makefs", "pri=1", "discard"]),
    ],
)
def test_swap_options(existing, priority, discard, expected):
    assert _fstab.swap_options(existing, priority, discard) == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["sw"], (-1, "off")),
        (["defaults"], (-1, "off")),
        (["sw", "pri=5"], (5, "off")),
        (["sw", "pri=-1"], (-1, "off")),
        (["sw", "discard"], (-1, "both")),
        (["pri=3", "discard=once"], (3, "once")),
        (["sw", "discard=pages", "pri=32767"], (32767, "pages")),
        (["sw", "pri=x"], (-1, "off")),
    ],
)
def test_entry_options(options, expected):
    assert _fstab.entry_options(options) == expected


def test_escape_and_render():
    assert _fstab.escape("/a b\tc\\d") == "/a\\040b\\011c\\134d"
    assert _fstab.render_entry("/swap file", ["sw", "pri=1"]) == "/swap\\040file none swap sw,pri=1 0 0\n"
    assert _fstab.options_of("/swapfile none swap\n") == ["defaults"]
    assert _fstab.fields("   # comment\n") is None and _fstab.fields("\n") is None
    assert _fstab.is_swap("/dev/vda / ext4 defaults 0 1\n") is False
