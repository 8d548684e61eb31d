# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: systemd sandboxing settings, the built-in profiles and `systemd-analyze security` output.

This module is private to the memwise.linux collection. It may change or be
removed in any release; do not import it from outside the collection.

A profile is a dict of sandboxing settings from :data:`SETTINGS`; the user's
``properties`` override it and ``exclude`` removes settings from it. Every
value is checked against the setting's type and the minimum systemd version
before anything is written. ``systemd-analyze security`` gives the overall
exposure (0.0 safe .. 10.0 exposed) in its text output and the per-check
details with ``--json=short``; both are parsed here.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.memwise.linux.plugins.module_utils._errors import MemwiseError

HEADER = (
    "# Managed by memwise.linux.unit_hardening: changes here are overwritten.\n"
    "# Remove it with state=absent; the module restarts the unit and checks it still works.\n"
)
# name: (kind, minimum systemd version). Kinds: bool, a tuple of choices (booleans allowed where systemd
# takes them), "list" (space-separated words), "umask" (octal), "ip" (addresses, see IP_KEYWORDS).
SETTINGS = {
    "NoNewPrivileges": ("bool", 187),
    "PrivateTmp": ("bool", 183),
    "PrivateDevices": ("bool", 209),
    "PrivateNetwork": ("bool", 183),
    "PrivateUsers": ("bool", 232),
    "PrivateMounts": ("bool", 239),
    "PrivateIPC": ("bool", 248),
    "ProtectSystem": (("yes", "no", "full", "strict"), 214),
    "ProtectHome": (("yes", "no", "read-only", "tmpfs"), 214),
    "ProtectKernelTunables": ("bool", 232),
    "ProtectKernelModules": ("bool", 232),
    "ProtectKernelLogs": ("bool", 244),
    "ProtectControlGroups": ("bool", 232),
    "ProtectClock": ("bool", 245),
    "ProtectHostname": ("bool", 242),
    "ProtectProc": (("noaccess", "invisible", "ptraceable", "default"), 247),
    "ProcSubset": (("all", "pid"), 247),
    "RestrictNamespaces": ("list", 233),
    "RestrictRealtime": ("bool", 231),
    "RestrictSUIDSGID": ("bool", 242),
    "RestrictAddressFamilies": ("list", 211),
    "LockPersonality": ("bool", 235),
    "MemoryDenyWriteExecute": ("bool", 231),
    "RemoveIPC": ("bool", 232),
    "SystemCallArchitectures": ("list", 187),
    "SystemCallFilter": ("list", 187),
    "SystemCallErrorNumber": ("list", 209),
    "CapabilityBoundingSet": ("list", 187),
    "AmbientCapabilities": ("list", 229),
    "DevicePolicy": (("auto", "closed", "strict"), 208),
    "KeyringMode": (("inherit", "private", "shared"), 235),
    "UMask": ("umask", 187),
    "DynamicUser": ("bool", 235),
    "ReadWritePaths": ("list", 231),
    "ReadOnlyPaths": ("list", 231),
    "InaccessiblePaths": ("list", 231),
    "IPAddressAllow": ("ip", 235),
    "IPAddressDeny": ("ip", 235),
    "MemoryKSM": ("bool", 256),
}
# Settings that make systemd give the service its own mount namespace, which the online assessment counts
# as PrivateMounts (see offline_overrides).
MOUNT_NAMESPACE = ("PrivateTmp", "PrivateDevices", "ProtectSystem", "ProtectHome", "ProtectKernelTunables",
                   "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectProc", "ProcSubset",
                   "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "PrivateMounts")  # fmt: skip
# systemd before this version does not count the implied PrivateMounts in an --offline assessment
# (measured: 252 scored 8.9 offline and 8.7 online for the same unit; 257 agreed).
OFFLINE_PRIVATE_MOUNTS_FIXED = 257
IP_KEYWORDS = ("any", "localhost", "link-local", "multicast")

_BASELINE = {
    "NoNewPrivileges": True,
    "PrivateTmp": True,
    "ProtectSystem": "full",
    "ProtectKernelTunables": True,
    "ProtectKernelModules": True,
    "ProtectKernelLogs": True,
    "ProtectControlGroups": True,
    "ProtectClock": True,
    "ProtectHostname": True,
    "RestrictRealtime": True,
    "RestrictSUIDSGID": True,
    "RestrictNamespaces": True,
    "LockPersonality": True,
    "SystemCallArchitectures": "native",
}
PROFILES = {
    # For any service: no new privileges, no kernel tuning, no namespaces, a private /tmp, /usr and /etc read-only.
    "baseline": _BASELINE,
    # For a network service that needs no devices, no JIT and no privileged system calls.
    "strict": dict(
        _BASELINE,
        ProtectSystem="strict",
        ProtectHome=True,
        PrivateDevices=True,
        DevicePolicy="closed",
        MemoryDenyWriteExecute=True,
        ProtectProc="invisible",
        ProcSubset="pid",
        RestrictAddressFamilies="AF_UNIX AF_INET AF_INET6",
        SystemCallFilter="@system-service",
        SystemCallErrorNumber="EPERM",
        CapabilityBoundingSet="~CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_BOOT CAP_SYS_TIME "
        "CAP_MKNOD CAP_NET_ADMIN CAP_SYS_PACCT CAP_SYSLOG CAP_WAKE_ALARM CAP_LINUX_IMMUTABLE CAP_BPF",
        UMask="0077",
    ),
    "none": {},
}
_OVERALL_RE = re.compile(r"Overall exposure level for \S+:\s*(\d+(?:\.\d+)?)")


def _yes_no(name, value):
    """``yes``/``no`` for a boolean value, or MemwiseError."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().lower()
    if text in ("yes", "no", "true", "false", "on", "off", "1", "0"):
        return "yes" if text in ("yes", "true", "on", "1") else "no"
    raise MemwiseError("%s: %r is not a boolean; write true or false" % (name, value))


def _words(name, value):
    if isinstance(value, bool):
        return "yes" if value else "no"  # RestrictNamespaces=yes
    words = value if isinstance(value, list) else str(value).split()
    if not words or any(not isinstance(w, (str, int)) or not str(w).strip() for w in words):
        raise MemwiseError("%s: %r is not a list of words" % (name, value))
    return " ".join(str(w).strip() for w in words)


def _umask(name, value):
    text = str(value)
    if not re.match(r"^0?[0-7]{3}$", text):
        raise MemwiseError("%s: %r is not an octal umask like '0077'" % (name, value))
    return text.zfill(4)


def render_value(name, value):
    """The drop-in text of one setting's value, or MemwiseError saying why it is not valid."""
    kind = SETTINGS[name][0]
    if kind == "bool":
        return _yes_no(name, value)
    if isinstance(kind, tuple):
        text = "yes" if value is True else "no" if value is False else str(value)
        if text not in kind:
            raise MemwiseError("%s: %r is not one of %s" % (name, value, ", ".join(kind)))
        return text
    if kind == "umask":
        return _umask(name, value)
    if kind == "ip":
        return " ".join(normalize_ips(value, name))
    return _words(name, value)


def _stdlib_network(text):
    return str(ipaddress.ip_network(text, strict=False))


def normalize_ips(values, name="ip_allow", parse=_stdlib_network, errors=(ValueError,)):
    """Addresses and networks in CIDR form (``192.168.1.5`` -> ``192.168.1.5/32``) plus systemd's keywords.

    The controller normalises with netaddr first (the action plugin passes its
    own ``parse`` and ``errors``); the module repeats the check on the host with
    the standard library. Duplicates are dropped; MemwiseError names every bad value.
    """
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    result, bad = [], []
    for value in values or []:
        text = str(value).strip()
        try:
            item = text if text in IP_KEYWORDS else parse(text)
        except errors:
            bad.append(text)
            continue
        if item not in result:
            result.append(item)
    if bad:
        raise MemwiseError(
            "%s: %s %s not an IP address or network; write e.g. 10.0.0.0/8, 192.168.1.5, ::1 or one of %s"
            % (name, ", ".join(repr(b) for b in bad), "is" if len(bad) == 1 else "are", ", ".join(IP_KEYWORDS))
        )
    return result


def desired(profile, properties, exclude, ips, version):
    """``{name: drop-in text}`` for a profile plus overrides minus exclusions; MemwiseError naming every problem."""
    if profile not in PROFILES:
        raise MemwiseError("profile: %r is not a profile; choose one of %s" % (profile, ", ".join(sorted(PROFILES))))
    errors, wanted = [], dict(PROFILES[profile])
    for name in exclude or []:
        if name not in wanted:
            errors.append("exclude: %s is not a setting of the %s profile (%s)" % (name, profile, ", ".join(wanted)))
        wanted.pop(name, None)
    wanted.update(properties or {})
    for key, values in (ips or {}).items():
        if values:
            wanted[key] = values
    result = {}
    for name, value in wanted.items():
        if name not in SETTINGS:
            close = [s for s in SETTINGS if s.lower() == str(name).lower()]
            errors.append(
                "%s: not a sandboxing setting memwise.linux manages; %s"
                % (name, "did you mean %s?" % close[0] if close else "known settings: " + ", ".join(SETTINGS))
            )
            continue
        if SETTINGS[name][1] > version:
            errors.append(
                "%s: needs systemd %d or later; this host runs systemd %d" % (name, SETTINGS[name][1], version)
            )
            continue
        try:
            result[name] = render_value(name, value)
        except MemwiseError as exc:
            errors.append(str(exc))
    if errors:
        raise MemwiseError("invalid hardening, nothing changed: " + "; ".join(errors))
    return result


def render_dropin(values):
    """The drop-in text, settings in table order."""
    lines = [HEADER, "[Service]\n"]
    lines.extend("%s=%s\n" % (name, values[name]) for name in SETTINGS if name in values)
    return "".join(lines)


def parse_dropin(text):
    """The sandboxing settings a drop-in's ``[Service]`` section assigns: ``{name: text}`` (the last one wins)."""
    values, section = {}, None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if sep and section == "Service" and key.strip() in SETTINGS:
            values[key.strip()] = value.strip()
    return values


def largest_exposures(checks, count=5):
    """The checks that still add the most exposure: ``["PrivateNetwork= 0.5", ...]``, largest first."""
    open_checks = [(c["exposure"], name) for name, c in checks.items() if c.get("exposure")]
    return ["%s %.1f" % (name, exposure) for exposure, name in sorted(open_checks, key=lambda e: (-e[0], e[1]))][:count]


def offline_overrides(values, version):
    """Extra lines for the --offline copy so it scores as the running unit will (see OFFLINE_PRIVATE_MOUNTS_FIXED)."""
    if version >= OFFLINE_PRIVATE_MOUNTS_FIXED or "PrivateMounts" in values:
        return ""
    implied = [n for n in MOUNT_NAMESPACE if values.get(n) not in (None, "no")]
    return "PrivateMounts=yes\n" if implied else ""


def parse_overall(text):
    """The overall exposure from ``systemd-analyze security UNIT`` text output."""
    match = _OVERALL_RE.search(text or "")
    if not match:
        raise MemwiseError("systemd-analyze security printed no overall exposure: %r" % (text or "")[-200:])
    return float(match.group(1))


def parse_checks(text):
    """``{check name: {"set", "exposure", "description"}}`` from ``--json=short`` output."""
    try:
        data = json.loads(text)
    except ValueError:
        raise MemwiseError("systemd-analyze security --json=short printed no JSON: %r" % (text or "")[:200]) from None
    checks = {}
    for item in data:
        exposure = item.get("exposure")
        checks[item["name"]] = {
            "set": item.get("set"),
            "exposure": float(exposure) if exposure not in (None, "") else None,
            "description": item.get("description"),
        }
    return checks


def check_changes(before, after):
    """The checks whose exposure or state moved: ``[{name, before, after, description}]``."""
    changes = []
    for name, new in after.items():
        old = before.get(name, {})
        if old.get("exposure") != new["exposure"] or old.get("set") != new["set"]:
            changes.append(
                {
                    "name": name,
                    "before": old.get("exposure"),
                    "after": new["exposure"],
                    "description": new["description"],
                }
            )
    return changes
