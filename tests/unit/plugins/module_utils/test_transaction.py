# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one transaction layer: ordering, failure paths and the message shape."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _transaction
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError


def test_rollback_runs_newest_first_and_forgets_the_steps():
    order = []
    journal = _transaction.Journal()
    for name in ("wrote a", "wrote b", "wrote c"):
        journal.did("undid " + name[-1], lambda n=name: order.append(n))
    assert len(journal) == 3
    assert journal.rollback() == (["undid c", "undid b", "undid a"], [])
    assert order == ["wrote c", "wrote b", "wrote a"]
    assert len(journal) == 0
    assert journal.rollback() == ([], [])


def test_a_failing_undo_is_reported_and_the_older_steps_still_run():
    order = []
    journal = _transaction.Journal()
    journal.did("restored /etc/fstab", lambda: order.append("fstab"))

    def broken():
        raise OSError(errno.EROFS, "Read-only file system", "/etc/x")

    journal.did("removed /swapfile", broken)
    journal.did("swapped /swapfile off", lambda: order.append("swapoff"))
    undone, errors = journal.rollback()
    assert order == ["swapoff", "fstab"]
    assert undone == ["swapped /swapfile off", "restored /etc/fstab"]
    assert errors == ["removed /swapfile: Read-only file system (/etc/x) [EROFS]"]


@pytest.mark.parametrize(
    ("undone", "errors", "expected"),
    [
        ([], [], "boom; nothing had been changed"),
        (["a = 1", "b = 2"], [], "boom; undone: a = 1, b = 2"),
        (["a = 1"], ["b: gone", "c: gone"], "boom; undone: a = 1; could not undo: b: gone; c: gone"),
        ([], ["b: gone"], "boom; could not undo: b: gone"),
    ],
)
def test_message_shape(undone, errors, expected):
    assert _transaction.message("boom", undone, errors) == expected


def test_the_context_manager_commits_on_success():
    undone = []
    with _transaction.Journal() as journal:
        journal.did("x", lambda: undone.append("x"))
    assert len(journal) == 0
    assert undone == []


def test_a_memwise_error_rolls_back_and_keeps_its_text():
    undone = []
    with pytest.raises(MemwiseError, match=r"^vm.swappiness = '300': refused; undone: vm.dirty_ratio = 20$"):
        with _transaction.Journal() as journal:
            journal.did("vm.dirty_ratio = 20", lambda: undone.append("dirty"))
            raise MemwiseError("vm.swappiness = '300': refused")
    assert undone == ["dirty"]


def test_any_exception_rolls_back_and_becomes_a_memwise_error():
    undone = []
    with pytest.raises(MemwiseError, match=r"^No space left on device \(/swapfile\) \[ENOSPC\]; undone: removed"):
        with _transaction.Journal() as journal:
            journal.did("removed /swapfile", lambda: undone.append("rm"))
            raise OSError(errno.ENOSPC, "No space left on device", "/swapfile")
    assert undone == ["rm"]
    with pytest.raises(MemwiseError, match=r"^unexpected KeyError: 'x'; nothing had been changed$"):
        with _transaction.Journal():
            raise KeyError("x")


def test_keyboard_interrupt_is_not_swallowed():
    with pytest.raises(KeyboardInterrupt):
        with _transaction.Journal() as journal:
            journal.did("x", lambda: None)
            raise KeyboardInterrupt


def test_fail_returns_the_error_to_raise():
    journal = _transaction.Journal()
    journal.did("restored /etc/fstab", lambda: None)
    exc = journal.fail("swapon /swapfile failed")
    assert isinstance(exc, MemwiseError)
    assert str(exc) == "swapon /swapfile failed; undone: restored /etc/fstab"
    assert len(journal) == 0
