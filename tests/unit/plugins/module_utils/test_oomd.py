# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_oomd: the parsers over what Debian 12 (systemd 252) and 13 (systemd 257) printed, the value syntax
systemd-oomd accepts (the captures show what it did with each value), and the configuration merge.

Captures: tests/unit/fixtures/oomd/<release>/commands (oomctl dump after each drop-in, dpkg-query,
apt-cache policy, systemctl show) and root/ (mountinfo, cgroup.controllers, /proc/pressure/memory,
/proc/swaps without swap, /etc/systemd/oomd.conf and Debian's 10-oomd-defaults.conf).
"""

from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _oomd
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import FIXTURES, read_fixture

SOURCES = ("deb12", "deb13")
OURS = "/etc/systemd/oomd.conf.d/60-memwise.conf"
S = 10**6


def fixture(source, name):
    return read_fixture("oomd/" + source, name)


# The drop-in the capture wrote before each dump, and what oomctl dump then showed (both releases, unless
# the value differs): systemd-oomd ignores a value it cannot parse (its previous value stays), 0 is its
# built-in 30s, Debian's 10-oomd-defaults.conf makes the default duration 20s.
DUMPS = {
    "swap": (9000, 6000, 20 * S),  # no drop-in: 90% / 60% / Debian's 20s
    "custom": (8500, 5550, 20 * S),  # 85% / 55.5% / 20s
    "custom2": (8525, 0, 90 * S),  # 85.25% / 0% / 1min 30s
    "custom3": (10000, 9999, 1 * S),  # 100% / 99.99% / 1500ms: the dump shows whole seconds
    "bad": (9000, 6000, 20 * S),  # 120% / 55.555% / abc: all ignored
    "zero": (9000, 6000, 30 * S),  # DefaultMemoryPressureDurationSec=0
    "hour": (9050, 6000, 3600 * S),  # 1h / 90.5%
    "permille": (50, 6000, 20 * S),  # SwapUsedLimit=5‰ (the module accepts percentages only)
}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("name", sorted(DUMPS))
def test_parse_dump_reads_the_three_values(source, name):
    values = _oomd.parse_dump(fixture(source, "commands/oomctl-dump-%s.txt" % name))
    assert tuple(values[k] for k in _oomd.KEYS) == DUMPS[name]


def test_infinity_is_shown_by_252_and_ignored_by_257():
    assert _oomd.parse_dump(fixture("deb12", "commands/oomctl-dump-infinity.txt")) == {
        "SwapUsedLimit": 0,
        "DefaultMemoryPressureLimit": 6000,
        "DefaultMemoryPressureDurationSec": "infinity",
    }
    assert _oomd.parse_dump(fixture("deb13", "commands/oomctl-dump-infinity.txt"))[
        "DefaultMemoryPressureDurationSec"
    ] == (20 * S)
    assert "must be at least 1s and less than infinity" in fixture("deb13", "commands/journal-subsecond.txt")


@pytest.mark.parametrize("source", SOURCES)
def test_parse_dump_refuses_what_is_not_a_dump(source):
    with pytest.raises(MemwiseError, match=r"oomctl dump has no Swap Used Limit, .* line"):
        _oomd.parse_dump(fixture(source, "commands/oomctl-dump-noswap.stderr.txt"))


@pytest.mark.parametrize("source", SOURCES)
def test_dpkg_status_and_apt_candidate(source):
    assert not _oomd.parse_dpkg_status(1, "")
    assert fixture(source, "commands/dpkg-query-missing.stderr.txt").startswith("dpkg-query: no packages found")
    assert _oomd.parse_dpkg_status(0, fixture(source, "commands/dpkg-query-installed.txt"))
    assert not _oomd.parse_dpkg_status(0, fixture(source, "commands/dpkg-query-removed.txt"))  # config-files
    assert not _oomd.has_candidate(fixture(source, "commands/apt-cache-policy-nolists.txt"))
    assert _oomd.has_candidate(fixture(source, "commands/apt-cache-policy.txt"))
    assert not _oomd.has_candidate("systemd-oomd:\n  Installed: (none)\n  Candidate: (none)\n")


@pytest.mark.parametrize("source", SOURCES)
def test_the_captured_hosts_lack_only_swap(source):
    root = os.path.join(FIXTURES, "oomd", source, "root")

    def read(path):
        with open(os.path.join(root, path), encoding="utf-8") as handle:
            return handle.read()

    args = (read("proc/self/mountinfo"), read("sys/fs/cgroup/cgroup.controllers"), read("proc/pressure/memory"))
    version = int(fixture(source, "commands/systemctl-show-version-value.txt")[:3])
    assert version >= _oomd.MIN_SYSTEMD
    missing = _oomd.missing(*args, version, read("proc/swaps"), require_swap=True)
    assert len(missing) == 1 and missing[0].startswith("swap: /proc/swaps lists no device")
    assert _oomd.missing(*args, version, read("proc/swaps"), require_swap=False) == []
    swaps = fixture(source, "commands/proc-swaps-file.txt")
    assert _oomd.missing(*args, version, swaps, require_swap=True) == []


@pytest.mark.parametrize(
    ("value", "permyriad", "text"),
    [("90%", 9000, "90%"), ("55.5%", 5550, "55.5%"), ("85.25%", 8525, "85.25%"), ("0%", 0, "0%"),
     ("100%", 10000, "100%"), (" 99.99% ", 9999, "99.99%"), ("7.05%", 705, "7.05%")],
)  # fmt: skip
def test_percentages(value, permyriad, text):
    assert _oomd.parse_percent(value) == permyriad
    assert _oomd.text("SwapUsedLimit", permyriad) == text


@pytest.mark.parametrize(
    ("value", "match"),
    [("100.01%", "above 100%"), ("120%", "above 100%"), ("55.555%", "not a percentage"), ("90", "not a percentage"),
     ("5‰", "not a percentage"), ("-1%", "not a percentage"), (90, "not a percentage")],
)  # fmt: skip
def test_bad_percentages(value, match):
    with pytest.raises(MemwiseError, match=match):
        _oomd.parse_percent(value)


@pytest.mark.parametrize(
    ("value", "usec", "text"),
    [("30s", 30 * S, "30s"), ("1min 30s", 90 * S, "90s"), ("1h", 3600 * S, "3600s"), ("1500ms", 1500000, "1500ms"),
     (20, 20 * S, "20s"), ("0", 0, "0s")],
)  # fmt: skip
def test_durations(value, usec, text):
    assert _oomd.parse_duration(value) == usec
    assert _oomd.text("DefaultMemoryPressureDurationSec", usec) == text


@pytest.mark.parametrize(
    ("value", "match"),
    [("500ms", "below 1s"), ("infinity", "not a duration"), ("abc", "not a duration"), ("", "not a duration")],
)
def test_bad_durations(value, match):
    with pytest.raises(MemwiseError, match=match):
        _oomd.parse_duration(value)


def test_parse_conf_takes_the_oom_section_and_ignores_what_systemd_ignores():
    text = "[OOM]\nSwapUsedLimit=120%\nDefaultMemoryPressureLimit=50%\n# SwapUsedLimit=1%\n[Other]\nSwapUsedLimit=2%\n"
    assert _oomd.parse_conf(text) == {"DefaultMemoryPressureLimit": 5000}
    assert _oomd.parse_conf(fixture("deb13", "root/etc/systemd/oomd.conf")) == {}  # all commented out
    rendered = _oomd.render_conf({"DefaultMemoryPressureDurationSec": 20 * S, "SwapUsedLimit": 8500})
    assert rendered.startswith("# Managed by memwise.linux.oomd")
    assert rendered.endswith("[OOM]\nSwapUsedLimit=85%\nDefaultMemoryPressureDurationSec=20s\n")
    assert _oomd.parse_conf(rendered) == {"SwapUsedLimit": 8500, "DefaultMemoryPressureDurationSec": 20 * S}


@pytest.fixture(params=SOURCES)
def root(request, tmp_path, monkeypatch):
    shutil.copytree(os.path.join(FIXTURES, "oomd", request.param, "root"), tmp_path, dirs_exist_ok=True)
    monkeypatch.setattr(_oomd, "ROOT", str(tmp_path))
    return tmp_path


def _write(root, path, text):
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)


def test_configured_merges_debian_defaults_ours_and_later_files(root):
    assert _oomd.configured(OURS, None) == (dict(_oomd.DEFAULTS, DefaultMemoryPressureDurationSec=20 * S), None)
    ours = _oomd.render_conf({"SwapUsedLimit": 8000, "DefaultMemoryPressureDurationSec": 0})
    values, masker = _oomd.configured(OURS, ours)
    assert values == {
        "SwapUsedLimit": 8000,
        "DefaultMemoryPressureLimit": 6000,
        "DefaultMemoryPressureDurationSec": 30 * S,
    }
    assert masker is None
    _write(root, "/run/systemd/oomd.conf.d/70-runtime.conf", "[OOM]\nDefaultMemoryPressureLimit=40%\n")
    _write(root, "/etc/systemd/oomd.conf.d/10-oomd-defaults.conf", "[OOM]\nSwapUsedLimit=70%\n")  # masks /usr/lib
    assert _oomd.sources(OURS) == [
        "/etc/systemd/oomd.conf",
        "/etc/systemd/oomd.conf.d/10-oomd-defaults.conf",
        OURS,
        "/run/systemd/oomd.conf.d/70-runtime.conf",
    ]
    assert _oomd.configured(OURS, None)[0] == {
        "SwapUsedLimit": 7000,
        "DefaultMemoryPressureLimit": 4000,
        "DefaultMemoryPressureDurationSec": 30 * S,
    }
    assert _oomd.shadows(OURS, ["DefaultMemoryPressureLimit", "SwapUsedLimit"]) == [
        ("/run/systemd/oomd.conf.d/70-runtime.conf", "DefaultMemoryPressureLimit")
    ]


def test_a_file_of_our_name_in_etc_masks_our_runtime_dropin(root):
    _write(root, OURS, "# Managed by memwise.linux.oomd\n[OOM]\nSwapUsedLimit=70%\n")
    runtime = _oomd.conf_path("60-memwise", persist=False)
    values, masker = _oomd.configured(runtime, "[OOM]\nSwapUsedLimit=80%\n")
    assert masker == OURS and values["SwapUsedLimit"] == 7000


def test_same_allows_what_the_dump_cannot_show():
    assert _oomd.same("DefaultMemoryPressureLimit", 5554, 5555)
    assert not _oomd.same("DefaultMemoryPressureLimit", 5553, 5555)
    assert _oomd.same("DefaultMemoryPressureDurationSec", 1 * S, 1500000)
    assert not _oomd.same("DefaultMemoryPressureDurationSec", 2 * S, 1 * S)
    assert not _oomd.same("DefaultMemoryPressureDurationSec", "infinity", 20 * S)
    assert not _oomd.same("SwapUsedLimit", None, 9000)


def test_validate_lists_every_problem():
    with pytest.raises(MemwiseError) as exc:
        _oomd.validate({"SwapUsedLimit": "101%", "Nope": 1, "DefaultMemoryPressureDurationSec": None})
    assert str(exc.value) == (
        "invalid settings, nothing changed: SwapUsedLimit: '101%' is above 100%; Nope: not an oomd.conf [OOM] "
        "setting; the valid ones are SwapUsedLimit, DefaultMemoryPressureLimit, DefaultMemoryPressureDurationSec; "
        "DefaultMemoryPressureDurationSec: None is not a duration"
    )
    assert _oomd.validate({"SwapUsedLimit": "85%"}) == {"SwapUsedLimit": 8500}
