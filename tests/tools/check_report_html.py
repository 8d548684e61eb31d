# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a fleet report (report.html) in headless Chromium and check what a reader sees.

  check_report_html.py memwise-report/report.html --host deb12 --host deb13 [--contains TEXT]
                       [--expect-attr NAME[=VALUE]] [--print-text] [--browser PATH]

Chromium loads a copy of the page (written next to it, so relative links keep
working, and removed afterwards) with a one-line probe script injected at the
top of <head>; the probe records uncaught errors, failed resource loads,
unhandled promise rejections and console calls as attributes on <html>, and
marks the load event. Then the check fails when:

- the load event never fired (the page hung or never finished loading);
- the probe, or Chromium's own log (``--enable-logging=stderr``), saw a script
  error, a console.error, or a console message the page did not log itself
  (the browser's own complaints, e.g. a blocked inline script);
- a --host or --contains text is missing from the rendered text (the DOM after
  scripts ran, without <script>/<style> contents: a name only inside embedded
  JSON does not count);
- an --expect-attr attribute (e.g. a marker the report's script sets when it
  has rendered) is on no element.

Exit status: 0 passed, 1 a check failed, 2 Chromium missing or not runnable.
Python standard library only.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ERRORS_ATTR = "data-memwise-check-errors"
CONSOLE_ATTR = "data-memwise-check-console"
LOADED_ATTR = "data-memwise-check-loaded"
# One line, so the report's own line numbers in error messages stay right.
PROBE = (
    "<script>(function(){var r=document.documentElement,errs=[],logs=[];"
    "function put(n,v){r.setAttribute(n,JSON.stringify(v));}"
    "function err(m){errs.push(String(m));put('" + ERRORS_ATTR + "',errs);}"
    "window.addEventListener('error',function(e){var t=e.target;"
    "if(t&&t!==window){err('failed to load '+(t.src||t.href||t.tagName));}"
    "else{err(e.message+' (line '+e.lineno+')');}},true);"
    "window.addEventListener('unhandledrejection',function(e){err('unhandled rejection: '+e.reason);});"
    "['log','info','warn','debug','error'].forEach(function(k){var f=console[k];"
    "console[k]=function(){var m=Array.prototype.map.call(arguments,String).join(' ');"
    "logs.push(m);put('" + CONSOLE_ATTR + "',logs);if(k==='error'){err('console.error: '+m);}"
    "return f.apply(console,arguments);};});"
    "window.addEventListener('load',function(){r.setAttribute('" + LOADED_ATTR + "','1');});"
    "})();</script>"
)
# [pid:tid:date:INFO:CONSOLE:12] "message", source: file:///.../x.html (12)
CONSOLE_LINE = re.compile(r':CONSOLE(?:\(\d+\))?(?::\d+)?\] "(?P<msg>.*)", source: (?P<src>.*)$')


class DomText(HTMLParser):
    """Visible text of a DOM dump, and the attributes of <html> and of every element."""

    SKIP = frozenset({"script", "style", "template", "noscript"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.root_attrs = {}
        self.attrs = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag == "html" and not self.root_attrs:
            self.root_attrs = dict(attrs)
        self.attrs.extend(attrs)
        if tag in self.SKIP:
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)

    def text(self):
        return re.sub(r"\s+", " ", " ".join(self.parts)).strip()


def inject(html):
    """The page with PROBE as the first thing in <head> (or the document)."""
    for pattern in (r"<head\b[^>]*>", r"<html\b[^>]*>", r"<!doctype[^>]*>"):
        m = re.search(pattern, html, re.IGNORECASE)
        if m:
            return html[: m.end()] + PROBE + html[m.end() :]
    return PROBE + html


def find_browser(explicit=None):
    for name in (explicit,) if explicit else BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def render(browser, page, timeout):
    """Run headless Chromium on PAGE: (DOM dump, stderr)."""
    with tempfile.TemporaryDirectory(prefix="memwise-chromium-") as profile:
        argv = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--user-data-dir=" + profile,
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            "--virtual-time-budget=2000",
            "file://" + page,
        ]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(
            "%s exited with rc=%d and %s; stderr tail:\n%s"
            % (browser, proc.returncode, "no DOM" if not proc.stdout.strip() else "a DOM", proc.stderr[-2000:])
        )
    return proc.stdout, proc.stderr


def json_attr(attrs, name):
    try:
        return json.loads(attrs.get(name) or "[]")
    except ValueError:
        return ["unreadable %s attribute: %r" % (name, attrs.get(name))]


def problems(dom, stderr, page, args):
    """Every reason the rendered page fails the check (empty when it passes)."""
    parsed = DomText()
    parsed.feed(dom)
    text = parsed.text()
    root = parsed.root_attrs
    found = []
    if root.get(LOADED_ATTR) != "1":
        found.append("the page's load event never fired (or scripts did not run)")
    page_errors = json_attr(root, ERRORS_ATTR)
    found += ["page: %s" % e for e in page_errors]
    # What the page logged itself is fine (its console.error is already a page error);
    # anything else in Chromium's console log is the browser complaining.
    seen = set(json_attr(root, CONSOLE_ATTR))
    for line in stderr.splitlines():
        m = CONSOLE_LINE.search(line)
        if m and m.group("msg") not in seen and not any(e.startswith(m.group("msg")) for e in page_errors):
            source = m.group("src").replace("file://" + page, "report")
            found.append("browser console: %s (%s)" % (m.group("msg"), source))
    for host in args.host:
        if host not in text:
            found.append("host %r is not in the rendered text" % host)
    for needle in args.contains:
        if needle not in text:
            found.append("%r is not in the rendered text" % needle)
    for spec in args.expect_attr:
        name, sep, value = spec.partition("=")
        if not any(n == name and (not sep or v == value) for n, v in parsed.attrs):
            found.append("no element has the attribute %s" % spec)
    return found, text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("report", help="path of report.html")
    parser.add_argument("--host", action="append", default=[], help="a host name the report must show")
    parser.add_argument("--contains", action="append", default=[], help="other text the report must show")
    parser.add_argument("--expect-attr", action="append", default=[], metavar="NAME[=VALUE]")
    parser.add_argument("--browser", help="Chromium binary (default: the first of %s on PATH)" % ", ".join(BROWSERS))
    parser.add_argument("--timeout", type=int, default=90, help="seconds before Chromium is given up on")
    parser.add_argument("--print-text", action="store_true", help="print the rendered text")
    args = parser.parse_args(argv)

    browser = find_browser(args.browser)
    if not browser:
        print("check_report_html: no Chromium found (%s); install the chromium package" % ", ".join(BROWSERS))
        return 2
    report = os.path.abspath(args.report)
    with open(report, encoding="utf-8") as f:
        html = f.read()
    fd, page = tempfile.mkstemp(prefix=".check-", suffix=".html", dir=os.path.dirname(report))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(inject(html))
        dom, stderr = render(browser, page, args.timeout)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print("check_report_html: cannot render %s: %s" % (report, exc))
        return 2
    finally:
        os.unlink(page)

    found, text = problems(dom, stderr, page, args)
    if args.print_text:
        print(text)
    if found:
        print("check_report_html: %s fails %d check(s):" % (report, len(found)))
        for p in found:
            print("  - " + p)
        return 1
    print(
        "check_report_html: %s renders in %s without script errors and shows %s"
        % (report, os.path.basename(browser), ", ".join(args.host + args.contains) or "text")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
