# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.filter import human_bytes as plugin
from ansible_collections.memwise.linux.plugins.filter.human_bytes import human_bytes

GIB = 1024**3


def test_registered_under_its_name():
    assert plugin.FilterModule().filters() == {"human_bytes": human_bytes}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1536, "1.5 KiB"),
        (3 * GIB // 2, "1.5 GiB"),
        (2 * GIB, "2 GiB"),
        (1025277952, "977.8 MiB"),
        (25276510208, "23.5 GiB"),
        (-GIB, "-1 GiB"),
        (1.5 * 1024**2, "1.5 MiB"),
    ],
)
def test_human_bytes(value, expected):
    assert human_bytes(value) == expected


@pytest.mark.parametrize(
    ("precision", "expected"),
    [(0, "1 GiB"), (1, "1.1 GiB"), (2, "1.15 GiB"), (3, "1.15 GiB"), (4, "1.1498 GiB")],
)
def test_precision(precision, expected):
    assert human_bytes(1234567890, precision) == expected


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("1G", r"^memwise\.linux\.human_bytes: '1G' is not a number of bytes$"),
        (None, r"^memwise\.linux\.human_bytes: None is not a number of bytes$"),
        (True, r"^memwise\.linux\.human_bytes: True is not a number of bytes$"),
        ([1024], r"^memwise\.linux\.human_bytes: \[1024\] is not a number of bytes$"),
    ],
)
def test_errors_name_the_value(value, match):
    with pytest.raises(AnsibleFilterError, match=match):
        human_bytes(value)


@pytest.mark.parametrize("precision", [-1, True, "2", 1.5, None])
def test_bad_precision(precision):
    with pytest.raises(AnsibleFilterError, match=r"^memwise\.linux\.human_bytes: precision .* is not a whole number"):
        human_bytes(1024, precision)
