# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.memwise.linux.plugins.filter import to_bytes as plugin
from ansible_collections.memwise.linux.plugins.filter.human_bytes import human_bytes
from ansible_collections.memwise.linux.plugins.filter.to_bytes import to_bytes

GIB = 1024**3


def test_registered_under_its_name():
    assert plugin.FilterModule().filters() == {"to_bytes": to_bytes}


@pytest.mark.parametrize(
    ("value", "total", "expected"),
    [
        (4096, None, 4096),
        ("4096", None, 4096),
        ("2G", None, 2 * GIB),
        ("512M", None, 512 * 1024**2),
        ("1.5GiB", None, 3 * GIB // 2),
        ("100MB", None, 100 * 1000**2),
        (" 2 g ", None, 2 * GIB),
        ("50%", 8 * GIB, 4 * GIB),
        ("50%", "8G", 4 * GIB),
        ("25 %", "8GiB", 2 * GIB),
        ("33%", 1000, 330),
        ("2G", 8 * GIB, 2 * GIB),
    ],
)
def test_to_bytes(value, total, expected):
    assert to_bytes(value, total) == expected


def test_total_by_keyword():
    assert to_bytes("12.5%", total=8 * GIB) == GIB


@pytest.mark.parametrize(
    ("value", "total", "match"),
    [
        ("lots", None, r"^memwise\.linux\.to_bytes: 'lots' is not a size; write bytes or a number with K, M, G"),
        ("2X", None, r"^memwise\.linux\.to_bytes: '2X' is not a size"),
        ("1.1K", None, r"^memwise\.linux\.to_bytes: '1\.1K' is not a whole number of bytes"),
        (-5, None, r"^memwise\.linux\.to_bytes: -5 is negative"),
        (True, None, r"^memwise\.linux\.to_bytes: True is a boolean, not a size"),
        (None, None, r"^memwise\.linux\.to_bytes: None is not a size"),
        ("50%", None, r"^memwise\.linux\.to_bytes: '50%' is a percentage, but nothing to take it of is known here"),
        ("150%", 100, r"^memwise\.linux\.to_bytes: '150%' is more than 100%"),
        ("50%", "much", r"^memwise\.linux\.to_bytes: total: 'much' is not a size"),
        ("50%", -1, r"^memwise\.linux\.to_bytes: total: -1 is negative"),
    ],
)
def test_errors_name_the_value(value, total, match):
    with pytest.raises(AnsibleFilterError, match=match):
        to_bytes(value, total)


@pytest.mark.parametrize("value", [0, 1023, 1024, 5 * 1024**2, 7 * GIB, 3 * 1024**4])
def test_inverse_of_human_bytes(value):
    assert to_bytes(human_bytes(value).replace(" ", "")) == value
