# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_hardening: profiles, values, addresses and `systemd-analyze security` output captured on the VMs."""

from __future__ import annotations

import pytest

from ansible_collections.memwise.linux.plugins.module_utils import _hardening
from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

from ...conftest import read_fixture

SOURCES = ("deb12", "deb13")


@pytest.mark.parametrize("profile", sorted(_hardening.PROFILES))
def test_profiles_are_valid_on_debian_12(profile):
    """Every built-in profile renders on systemd 252, the oldest systemd the collection is tested on."""
    values = _hardening.desired(profile, {}, [], {}, 252)
    assert set(values) == set(_hardening.PROFILES[profile])
    text = _hardening.render_dropin(values)
    assert text.startswith(_hardening.HEADER + "[Service]\n")
    assert all(line.partition("=")[0] in _hardening.SETTINGS for line in text.splitlines()[3:])


def test_strict_is_baseline_and_more():
    baseline, strict = _hardening.PROFILES["baseline"], _hardening.PROFILES["strict"]
    assert set(baseline) < set(strict)
    assert strict["ProtectSystem"] == "strict"
    assert _hardening.desired("baseline", {}, [], {}, 252)["ProtectSystem"] == "full"


def test_overrides_exclusions_and_addresses():
    values = _hardening.desired(
        "baseline",
        {"ProtectSystem": "strict", "ReadWritePaths": ["/var/lib/app", "/var/log/app"], "UMask": "077"},
        ["ProtectClock"],
        {"IPAddressAllow": ["10.1.2.3/8", "localhost"], "IPAddressDeny": ["any"]},
        257,
    )
    assert values["ProtectSystem"] == "strict"
    assert values["ReadWritePaths"] == "/var/lib/app /var/log/app"
    assert values["UMask"] == "0077"
    assert "ProtectClock" not in values
    assert values["IPAddressAllow"] == "10.0.0.0/8 localhost"
    assert values["IPAddressDeny"] == "any"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("paranoid", {}, []), "profile: 'paranoid' is not a profile; choose one of baseline, none, strict"),
        (("baseline", {"ProtectEverything": True}, []), "ProtectEverything: not a sandboxing setting"),
        (("baseline", {"protectsystem": "full"}, []), "did you mean ProtectSystem"),
        (("baseline", {"ProtectSystem": "sometimes"}, []), "ProtectSystem: 'sometimes' is not one of yes, no"),
        (("baseline", {"PrivateTmp": "maybe"}, []), "PrivateTmp: 'maybe' is not a boolean"),
        (("baseline", {"UMask": "0999"}, []), "UMask: '0999' is not an octal umask"),
        (("baseline", {"SystemCallFilter": []}, []), "SystemCallFilter: \\[\\] is not a list of words"),
        (("baseline", {}, ["PrivateNetwork"]), "exclude: PrivateNetwork is not a setting of the baseline profile"),
        (("baseline", {"MemoryKSM": True}, []), "MemoryKSM: needs systemd 256 or later; this host runs systemd 252"),
    ],
)
def test_bad_hardening(args, message):
    prefix = "" if message.startswith("profile:") else "invalid hardening, nothing changed: .*"
    with pytest.raises(MemwiseError, match=prefix + message):
        _hardening.desired(*args, ips={}, version=252)


def test_every_problem_at_once():
    with pytest.raises(MemwiseError) as exc:
        _hardening.desired("baseline", {"Nope": 1, "PrivateTmp": "x"}, ["Gone"], {"IPAddressAllow": ["nah"]}, 252)
    for part in ("Nope: not a sandboxing setting", "PrivateTmp: 'x' is not a boolean", "exclude: Gone", "'nah'"):
        assert part in str(exc.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["10.0.0.0/8"], ["10.0.0.0/8"]),
        (["10.1.2.3/8"], ["10.0.0.0/8"]),
        (["192.168.1.5"], ["192.168.1.5/32"]),
        (["::1"], ["::1/128"]),
        (["2001:db8::1/64"], ["2001:db8::/64"]),
        (["localhost", "any", "link-local", "multicast"], ["localhost", "any", "link-local", "multicast"]),
        (["10.0.0.1", "10.0.0.1/32"], ["10.0.0.1/32"]),
        ("10.0.0.0/8 ::1", ["10.0.0.0/8", "::1/128"]),
    ],
)
def test_normalize_ips(given, expected):
    assert _hardening.normalize_ips(given) == expected


@pytest.mark.parametrize("bad", ["10.0.0.300/8", "10.0.0.0/33", "example.com", "::g", "any-host"])
def test_bad_ips(bad):
    with pytest.raises(MemwiseError, match="ip_deny: '%s' is not an IP address or network" % bad.replace(".", r"\.")):
        _hardening.normalize_ips([bad], "ip_deny")


@pytest.mark.parametrize("source", SOURCES)
def test_security_output(source):
    assert _hardening.parse_overall(read_fixture(source, "commands/security-ssh.service.txt")) == 9.6
    checks = _hardening.parse_checks(read_fixture(source, "commands/security-ssh.service.json"))
    assert len(checks) == 81
    assert checks["PrivateTmp="]["set"] is False and checks["PrivateTmp="]["exposure"] > 0
    assert checks["SupplementaryGroups="]["exposure"] is None  # does not apply to a root service
    assert checks["AmbientCapabilities="]["set"] is True
    pretty = _hardening.parse_checks(read_fixture(source, "commands/security-ssh.service.pretty.json"))
    assert pretty == checks


def test_security_output_unreadable():
    with pytest.raises(MemwiseError, match="printed no overall exposure"):
        _hardening.parse_overall("Unit nosuch.service not found.")
    with pytest.raises(MemwiseError, match="printed no JSON"):
        _hardening.parse_checks("not json")


def test_check_changes():
    before = _hardening.parse_checks(read_fixture("deb13", "commands/security-ssh.service.json"))
    after = {k: dict(v) for k, v in before.items()}
    after["PrivateTmp="] = dict(after["PrivateTmp="], set=True, exposure=None)
    changes = _hardening.check_changes(before, after)
    assert changes == [
        {
            "name": "PrivateTmp=",
            "before": before["PrivateTmp="]["exposure"],
            "after": None,
            "description": before["PrivateTmp="]["description"],
        }
    ]
    assert _hardening.check_changes(before, before) == []


def test_offline_overrides_only_where_measured():
    values = _hardening.desired("baseline", {}, [], {}, 252)
    assert _hardening.offline_overrides(values, 252) == "PrivateMounts=yes\n"
    assert _hardening.offline_overrides(values, 257) == ""
    assert _hardening.offline_overrides({"NoNewPrivileges": "yes"}, 252) == ""
    assert _hardening.offline_overrides({"ProtectHome": "no"}, 252) == ""


def test_parse_dropin_reads_what_render_dropin_writes():
    values = _hardening.desired("strict", {"ReadWritePaths": ["/var/lib/app"]}, [], {"IPAddressDeny": ["any"]}, 257)
    text = _hardening.render_dropin(values)
    assert _hardening.parse_dropin(text) == values
    assert _hardening.parse_dropin(None) == {}
    # only the [Service] section, only known settings, the last assignment wins
    other = "[Unit]\nPrivateTmp=no\n[Service]\n# PrivateTmp=no\nPrivateTmp=no\nPrivateTmp=yes\nUser=app\n"
    assert _hardening.parse_dropin(other) == {"PrivateTmp": "yes"}


@pytest.mark.parametrize("source", ["deb12", "deb13"])
def test_largest_exposures_from_the_captured_assessment(source):
    checks = _hardening.parse_checks(read_fixture(source, "commands/security-ssh.service.json"))
    largest = _hardening.largest_exposures(checks, 3)
    assert len(largest) == 3
    values = [float(text.rsplit(" ", 1)[1]) for text in largest]
    assert values == sorted(values, reverse=True)
    top = max(c["exposure"] or 0 for c in checks.values())
    assert values[0] == top
    assert _hardening.largest_exposures({}) == []
