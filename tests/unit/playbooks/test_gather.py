# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report pipeline without VMs: ``ansible-playbook memwise.linux.gather`` on this machine.

One run over three hosts: ``localhost`` (local connection, this venv's Python), ``ghost``
(nothing listens on 127.0.0.9:1, so it is unreachable) and ``broken`` (local, but its
interpreter does not exist, so memory_facts fails; the path carries markup that the HTML
report must escape). The run happens in a fresh working directory; the report must land
in ``memwise-report/`` there.

A second run, in check mode, is what ``memwise.linux.apply_policy`` hands the report: a play
sets ``memory_policy_plan`` and ``memory_policy_changes`` as the memory_policy role does (set_fact
with the memory_plan and policy_changes filters, over the captured Debian 12 and 13 facts and
module results in the modules' RETURN shape), then imports memwise.linux.gather.
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

from ..plugins.filter.test_fleet_summary import captured, module_results, policy_vars

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TOOL = os.path.join(ROOT, "tests", "tools", "check_report.py")
EVIL = "/nonexistent/<script>alert(1)</script>"
_SPEC = importlib.util.spec_from_file_location("check_report", TOOL)
check_report = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check_report)


def _ansible_playbook():
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return beside if os.path.exists(beside) else shutil.which("ansible-playbook")


LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def _gather(cwd, hosts, *options, playbook="memwise.linux.gather"):
    """Run ``playbook`` in ``cwd`` over ``hosts`` (name -> variables); return the completed process."""
    inventory = cwd / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}), encoding="utf-8")
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".build", "collections"))
    env.update(
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_SSH_ARGS="-o ConnectTimeout=3",
        ANSIBLE_LOCAL_TEMP=str(cwd / "tmp"),
        PWD="/",  # the report follows the real working directory, not a stale $PWD
    )
    argv = [_ansible_playbook(), playbook, "-i", str(inventory), *options]
    return subprocess.run(argv, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Run the gather playbook once; return (completed process, report directory)."""
    cwd = tmp_path_factory.mktemp("gather")
    hosts = {
        "localhost": LOCAL,
        "ghost": {"ansible_host": "127.0.0.9", "ansible_port": 1},
        "broken": {"ansible_connection": "local", "ansible_python_interpreter": EVIL},
    }
    return _gather(cwd, hosts), cwd / "memwise-report"


# A sysctl value with markup and a Markdown table separator: both reports must escape it.
MARKUP = "|/bin/<b>core</b>"


# What the memory_policy role does on each host, without its module tasks: the plan by the memory_plan
# filter from the host's facts (the captured ones here), then policy_changes over the module results
# (in each module's RETURN shape, the prediction for the captured host), both by set_fact.
POLICY_PLAY = """
- name: Plan as the memory_policy role does
  hosts: all:!vm-planless
  gather_facts: false
  tasks:
    - name: Compute the memory plan
      ansible.builtin.set_fact:
        memory_policy_plan: >-
          {{ policy.facts | memwise.linux.memory_plan(policy.profile, overrides=policy.overrides,
               limit=policy.limit) }}
    - name: A module task fails on one host
      ansible.builtin.fail:
        msg: the swap module failed
      when: policy.fail
    - name: Record what changed
      ansible.builtin.set_fact:
        memory_policy_changes: >-
          {{ memory_policy_plan | memwise.linux.policy_changes(check_mode=ansible_check_mode, **policy.results) }}

- name: The report
  ansible.builtin.import_playbook: memwise.linux.gather
"""


@pytest.fixture(scope="module")
def policy_report(tmp_path_factory):
    """The report of a check-mode apply_policy run: (completed process, report directory, host variables).

    vm-failing fails after its plan (as when a module task of the role fails), vm-planless has no plan.
    """
    cwd = tmp_path_factory.mktemp("policy")
    options = {
        "vm-deb13": ("deb13", "server", {"sysctl": {"kernel.core_pattern": MARKUP}}, [{"unit": "workload.slice"}]),
        "vm-deb12": ("deb12", "small_vm", {}, []),
        "vm-failing": ("deb13", "database", {}, []),
    }
    hosts, expectations = {"vm-planless": LOCAL}, {}
    for name, (source, profile, overrides, limit) in options.items():
        expected = policy_vars(source, profile, check_mode=True, overrides=overrides, limit=limit)
        memwise = captured(source)
        policy = {
            "facts": memwise,
            "profile": profile,
            "overrides": overrides,
            "limit": limit,
            "results": module_results(source, memwise, expected["memory_policy_plan"]),
            "fail": name == "vm-failing",
        }
        hosts[name], expectations[name] = dict(LOCAL, policy=policy), expected
    (cwd / "policy.yml").write_text(POLICY_PLAY, encoding="utf-8")
    proc = _gather(cwd, hosts, "--check", playbook=str(cwd / "policy.yml"))
    return proc, cwd / "memwise-report", expectations


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


def test_report_without_policies(report):
    _proc, directory = report
    data = json.loads((directory / "report.json").read_text(encoding="utf-8"))
    assert data["format_version"] == 2
    assert [row["policy"] for row in data["hosts"]] == [None, None, None]
    assert (data["totals"]["policy_hosts"], data["totals"]["policy_changed"]) == (0, 0)
    assert "Memory policy" not in (directory / "report.md").read_text(encoding="utf-8")
    assert "Memory policy" not in (directory / "report.html").read_text(encoding="utf-8")


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
            if attrs.get(name) and not attrs[name].startswith("#"):  # links within the page are fine
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


def test_policy_report_json(policy_report):
    proc, directory, hosts = policy_report
    assert proc.returncode == 2, proc.stdout + proc.stderr  # vm-failing failed; the report is still written
    assert re.search(r"vm-failing +: ok=1 +changed=0 +unreachable=0 +failed=1 ", proc.stdout), proc.stdout
    assert "memory policy on 3 host(s), 2 with changes" in proc.stdout
    hosts_expected = ["vm-deb12=ok", "vm-deb13=ok", "vm-failing=failed", "vm-planless=ok"]
    data = check_report.check_file(str(directory / "report.json"), hosts_expected)
    rows = {row["host"]: row for row in data["hosts"]}
    assert rows["vm-planless"]["policy"] is None
    # The host that failed in the role: a failed row without facts, its plan shown as not applied.
    failing = rows["vm-failing"]
    assert failing["reason"].startswith("failed in an earlier play of this run") and failing["mem_total"] is None
    assert failing["policy"]["profile"] == "database" and failing["policy"]["changes"] is None
    for name in ("vm-deb12", "vm-deb13"):
        plan, changes = hosts[name]["memory_policy_plan"], hosts[name]["memory_policy_changes"]
        policy = rows[name]["policy"]
        assert policy["check_mode"] is True  # from --check, through ansible_check_mode
        assert (policy["profile"], policy["tier"]) == (plan["profile"], plan["tier"])
        assert {k: (v["value"], v["rule"]) for k, v in policy["settings"].items()} == {
            k: (v["value"], v["rule"]) for k, v in plan["settings"].items()
        }
        assert policy["changed"] == changes["changed"] and policy["line"] == changes["line"]
    deb13 = rows["vm-deb13"]["policy"]["settings"]
    assert deb13["sysctl.kernel.core_pattern"] == {
        "value": MARKUP,
        "rule": "override",
        "changed": True,
        "before": None,  # the key was in no file the module owns
        "after": MARKUP,
    }
    assert deb13["units.workload.slice.MemoryHigh"]["changed"] is True
    assert (data["totals"]["policy_hosts"], data["totals"]["policy_changed"]) == (3, 2)


def test_policy_report_md(policy_report):
    _proc, directory, hosts = policy_report
    text = (directory / "report.md").read_text(encoding="utf-8")
    data = json.loads((directory / "report.json").read_text(encoding="utf-8"))
    changes = {row["host"]: row["policy"]["changes"] for row in data["hosts"] if row["policy"]}
    assert changes == {
        "vm-deb12": 12,
        "vm-deb13": 13,
        "vm-failing": None,
    }  # the changed rows of the detail tables, plus swap's used
    header = next(line for line in text.splitlines() if line.startswith("| Host |"))
    assert header.endswith("| Advice | Policy |")
    for name, profile in (("vm-deb13", "server"), ("vm-deb12", "small_vm")):
        cell = r"\| %s / 1-4G: check mode: %d would change \|$" % (profile, changes[name])
        assert re.search(r"^\| %s \| ok \|.* %s" % (name, cell), text, re.M), name
    assert re.search(r"^\| vm-planless \| ok \|.* \| - \|$", text, re.M)
    assert "| vm-failing | **failed** |%s database / 1-4G: not applied |\n" % (" - |" * 13) in text
    assert "The role recorded no changes for this host (it stopped before the end)." in text
    assert "| thp.enabled | never | thp-never | unknown |\n" in text  # vm-failing's
    assert "Memory policy on 3 host(s), 2 with changes." in text
    assert (
        "### vm-deb13: profile server, tier 1-4G\n\n%s\n" % hosts["vm-deb13"]["memory_policy_changes"]["line"] in text
    )
    assert "| thp.enabled | madvise | thp-madvise | always -> madvise |\n" in text
    assert "| thp.defrag | madvise | thp-madvise |  |\n" in text
    assert "| swap.size | 2 GiB | swap-table | 256 MiB -> 2 GiB |\n" in text
    assert "| units.workload.slice.MemoryHigh | 60% | limit-high | infinity -> 60% |\n" in text
    assert (
        "| sysctl.kernel.core_pattern | \\|/bin/&lt;b&gt;core&lt;/b&gt; | override "
        "| - -> \\|/bin/&lt;b&gt;core&lt;/b&gt; |\n" in text
    )
    assert "Also would change by swap: used." in text
    assert "### vm-planless:" not in text
    detail = text.split("### vm-deb12:")[1].split("###")[0]
    # Every changed row shows before -> after (policy_changes carries the values).
    assert len(re.findall(r" -> [^|]*\|$", detail, re.M)) + len(re.findall("Also would change", detail)) == 12
    # Every table row has as many cells as its header.
    for table in re.findall(r"(?:^\|.*\|\n)+", text, re.M):
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in table.splitlines()}
        assert len(widths) == 1, table


def test_policy_report_html(policy_report):
    _proc, directory, _hosts = policy_report
    text = (directory / "report.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    assert page.stack == [] and page.external == [] and page.scripts == 0
    assert page.rows == {"host-1": "ok", "host-2": "ok", "host-3": "failed", "host-4": "ok"}
    changes = 12  # test_policy_report_md counts them
    assert (
        '<td><a href="#policy-1">small_vm / 1-4G</a><br><span class="changed">check mode: %d would change</span>'
        % changes
    ) in text
    assert '<section id="policy-1">' in text and '<section id="policy-2">' in text
    assert '<section id="policy-3">' in text  # vm-failing
    assert '<section id="policy-4">' not in text  # vm-planless
    assert '<a href="#policy-3">database / 1-4G</a><br><span class="muted">not applied</span>' in text
    assert "<h3>vm-deb13: profile server, tier 1-4G</h3>" in text
    assert (
        '<tr class="changed"><td>sysctl.kernel.core_pattern</td><td>|/bin/&lt;b&gt;core&lt;/b&gt;</td>'
        "<td>override</td><td>- &rarr; |/bin/&lt;b&gt;core&lt;/b&gt;</td></tr>"
    ) in text
    assert "<tr><td>thp.defrag</td><td>madvise</td><td>thp-madvise</td><td></td></tr>" in text
    assert "<b>core</b>" not in text


def test_policy_report_html_in_chromium(policy_report):
    _proc, directory, _hosts = policy_report
    tool = os.path.join(ROOT, "tests", "tools", "check_report_html.py")
    argv = [sys.executable, tool, str(directory / "report.html"), "--host=vm-deb12", "--host=vm-deb13",
            "--contains=server / 1-4G", "--contains=Memory policy per host", "--contains=/bin/<b>core</b>"]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    if proc.returncode == 2 and "no Chromium found" in proc.stdout:
        pytest.skip(proc.stdout.strip())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_report_from_the_fact_cache_contacts_no_host(tmp_path, monkeypatch):
    """Gather once into a jsonfile cache, then build the report from it: the cached host is ok, even though
    its address now leads nowhere, and a host without cached facts is no_facts."""
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN", "jsonfile")
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(tmp_path / "cache"))
    first = tmp_path / "first"
    first.mkdir()
    gathered = _gather(first, {"localhost": LOCAL})
    assert gathered.returncode == 0, gathered.stdout + gathered.stderr
    assert os.listdir(tmp_path / "cache")

    second = tmp_path / "second"
    second.mkdir()
    nowhere = {"ansible_connection": "ssh", "ansible_host": "127.0.0.9", "ansible_port": 1}
    cached = _gather(second, {"localhost": nowhere, "stranger": nowhere}, "-e", "memwise_report_from_cache=true")
    assert cached.returncode == 0, cached.stdout + cached.stderr
    assert "Gather memory facts" not in re.findall(r"TASK \[([^\]]+)\]", cached.stdout)
    report = json.loads((second / "memwise-report" / "report.json").read_text())
    statuses = {row["host"]: row["status"] for row in report["hosts"]}
    assert statuses == {"localhost": "ok", "stranger": "no_facts"}
    row = next(r for r in report["hosts"] if r["host"] == "localhost")
    assert (
        row["mem_total"] == json.loads((first / "memwise-report" / "report.json").read_text())["hosts"][0]["mem_total"]
    )
