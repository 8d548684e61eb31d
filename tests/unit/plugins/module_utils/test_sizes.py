# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError
from ansible_collections.memwise.linux.plugins.module_utils._sizes import human_bytes, to_bytes

GIB = 1024**3


@pytest.mark.parametrize(
    ("value", "total", "expected"),
    [
        (0, None, 0),
        (4096, None, 4096),
        (4096.0, None, 4096),
        ("4096", None, 4096),
        ("512B", None, 512),
        ("1K", None, 1024),
        ("1k", None, 1024),
        ("512M", None, 512 * 1024**2),
        ("2G", None, 2 * GIB),
        ("2g", None, 2 * GIB),
        (" 2 G ", None, 2 * GIB),
        ("1.5GiB", None, 3 * GIB // 2),
        ("1.5G", None, 3 * GIB // 2),
        ("1T", None, 1024**4),
        ("1P", None, 1024**5),
        ("100MB", None, 100 * 1000**2),
        ("1GB", None, 1000**3),
        ("0.5K", None, 512),
        ("50%", 8 * GIB, 4 * GIB),
        ("12.5%", 8 * GIB, GIB),
        ("100%", 8 * GIB, 8 * GIB),
        ("0%", 8 * GIB, 0),
    ],
)
def test_to_bytes(value, total, expected):
    assert to_bytes(value, total=total) == expected


@pytest.mark.parametrize(
    ("value", "total", "match"),
    [
        ("", None, r"size: '' is not a size"),
        ("2X", None, r"size: '2X' is not a size; write bytes or a number with K, M, G"),
        ("G", None, r"'G' is not a size"),
        ("-1", None, r"'-1' is not a size"),
        (-1, None, r"-1 is negative"),
        (True, None, r"True is a boolean, not a size"),
        (1.5, None, r"1.5 is not a whole number of bytes"),
        ("1.1K", None, r"'1.1K' is not a whole number of bytes"),
        ([1], None, r"\[1\] is not a size"),
        ("50%", None, r"'50%' is a percentage, but nothing to take it of is known here"),
        ("150%", 100, r"'150%' is more than 100%"),
    ],
)
def test_to_bytes_errors(value, total, match):
    with pytest.raises(MemwiseError, match=match):
        to_bytes(value, total=total)


def test_to_bytes_names_the_option():
    with pytest.raises(MemwiseError, match=r"^zram\.size: 'lots' is not a size"):
        to_bytes("lots", name="zram.size")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (3 * GIB // 2, "1.5 GiB"),
        (24684092 * 1024, "23.5 GiB"),
        (-2 * GIB, "-2 GiB"),
        (1024**6, "1024 PiB"),
        (1.5 * 1024**2, "1.5 MiB"),
    ],
)
def test_human_bytes(value, expected):
    assert human_bytes(value) == expected


def test_human_bytes_precision():
    assert human_bytes(1234567890, precision=3) == "1.15 GiB"
    assert human_bytes(1234567890, precision=0) == "1 GiB"


@pytest.mark.parametrize("value", ["1G", None, True, [1]])
def test_human_bytes_errors(value):
    with pytest.raises(MemwiseError, match=r"is not a number of bytes"):
        human_bytes(value)


@pytest.mark.parametrize("value", [0, 1, 1023, 1024, 5 * 1024**2, 7 * GIB, 3 * 1024**4])
def test_round_trip_of_whole_units(value):
    text = human_bytes(value).replace(" ", "")
    assert to_bytes(text) == value
