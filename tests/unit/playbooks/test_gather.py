# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report pipeline without VMs: ``ansible-playbook memwise.linux.gather`` on this machine.

One run over three hosts: ``localhost`` (local connection, this venv's Python), ``ghost``
(nothing listens on 127.0.0.9:1, so it is unreachable) and ``broken`` (local, but its
interpreter does not exist, so memory_facts fails; the path carries markup that the HTML
report must escape). The run happens in a fresh working directory; the report must land
in ``memwise-report/`` there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TOOL = os.path.join(ROOT, "tests", "tools", "check_report.py")
EVIL = "/nonexistent/<script>alert(1)</script>"
_SPEC = importlib.util.spec_from_file_location("check_report", TOOL)
check_report = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check_report)


def _ansible_playbook():
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return beside if os.path.exists(beside) else shutil.which("ansible-playbook")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Run the gather playbook once; return (completed process, report directory)."""
    cwd = tmp_path_factory.mktemp("gather")
    inventory = cwd / "inventory.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                        "ghost": {"ansible_host": "127.0.0.9", "ansible_port": 1},
                        "broken": {"ansible_connection": "local", "ansible_python_interpreter": EVIL},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".build", "collections"))
    env.update(
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_SSH_ARGS="-o ConnectTimeout=3",
        ANSIBLE_LOCAL_TEMP=str(cwd / "tmp"),
        PWD="/",  # the report follows the real working directory, not a stale $PWD
    )
    argv = [_ansible_playbook(), "memwise.linux.gather", "-i", str(inventory)]
    proc = subprocess.run(argv, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc, cwd / "memwise-report"


def test_playbook_succeeds_despite_unreachable_and_failed_hosts(report):
    proc, _directory = report
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"ghost +: ok=2 +changed=0 +unreachable=0 +failed=0 ", proc.stdout), proc.stdout
    assert "ignored=1" in proc.stdout


def test_report_json_matches_the_documented_shape(report):
    _proc, directory = report
    data = check_report.check_file(
        str(directory / "report.json"), ["localhost=ok", "ghost=unreachable", "broken=failed"]
    )
    rows = {row["host"]: row for row in data["hosts"]}
    assert "Failed to connect to the host via ssh" in rows["ghost"]["reason"]
    assert EVIL in rows["broken"]["reason"]
    assert rows["localhost"]["mem_total"] > 0 and rows["localhost"]["swap_devices"] is not None
    assert data["totals"]["ok"] == data["totals"]["unreachable"] == data["totals"]["failed"] == 1
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        version = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("version:"))
    assert data["collection"] == {"name": "memwise.linux", "version": version}


def test_check_report_command_line(report):
    _proc, directory = report
    argv = [sys.executable, TOOL, str(directory / "report.json"), "--host", "ghost=unreachable"]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("valid memwise report of 3 host(s)\n")


def test_report_md(report):
    _proc, directory = report
    text = (directory / "report.md").read_text(encoding="utf-8")
    assert "| localhost | ok |" in text
    assert "| ghost | **unreachable** |" in text
    assert "| broken | **failed** |" in text
    assert "### ghost\n\n- **unreachable**: Task failed: Failed to connect to the host via ssh" in text


class Page(HTMLParser):
    """Collects what a self-contained report must (not) have."""

    def __init__(self):
        super().__init__()
        self.rows = {}  # host row id -> class
        self.external = []
        self.scripts = 0
        self.svgs = 0
        self.stack = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in ("br", "meta", "rect", "path", "link", "img"):
            self.stack.append(tag)
        for name in ("src", "href"):
            if attrs.get(name):
                self.external.append(attrs[name])
        if tag == "link":
            self.external.append(attrs.get("href") or "link")
        self.scripts += tag == "script"
        self.svgs += tag == "svg"
        if tag == "tr" and attrs.get("id", "").startswith("host-"):
            self.rows[attrs["id"]] = attrs.get("class")

    def handle_endtag(self, tag):
        if tag in ("rect", "path"):
            return
        assert self.stack and self.stack[-1] == tag, "</%s> closes %s" % (tag, self.stack[-1:])
        self.stack.pop()


def test_report_html_is_self_contained_and_escaped(report):
    _proc, directory = report
    text = (directory / "report.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    assert page.stack == [], "unclosed tags: %s" % page.stack
    assert page.external == [] and page.scripts == 0
    assert "@import" not in text and "url(" not in text
    # Rows in host order: broken, ghost, localhost.
    assert page.rows == {"host-1": "failed", "host-2": "unreachable", "host-3": "ok"}
    assert page.svgs == 1  # the used/available/swap bar of the one reachable host
    assert '<b>ghost</b> <span class="status unreachable">unreachable</span>' in text
    assert '<b>localhost</b> <span class="status ok">ok</span>' in text
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
