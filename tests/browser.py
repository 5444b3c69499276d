"""Playwright against Debian's Chromium (no browser download at run time).

Every page of a browser test runs under the site's Content-Security-Policy, and any violation fails the
test: the `page` fixture records the page's console and its `securitypolicyviolation` events (in
`log_of(page)`), and its finaliser asserts that no violation was seen. A test may also check
`log_of(page).problems()` itself, page by page.
"""

import contextlib
import shutil
import threading
import weakref
from dataclasses import dataclass, field

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Runs in every document (and frame) before its own scripts: reports each CSP violation to Python.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation({
    page: document.URL, directive: e.effectiveDirective, blocked: e.blockedURI,
    source: e.sourceFile, line: e.lineNumber, sample: e.sample, disposition: e.disposition,
  });
});
"""


@dataclass
class BrowserLog:
    console: list[str] = field(default_factory=list)
    violations: list[dict] = field(default_factory=list)

    def csp_console(self) -> list[str]:
        """Console lines in which Chromium reports a CSP refusal (also those no event reaches, e.g. framing)."""
        return [line for line in self.console if "Content Security Policy" in line]

    def problems(self) -> list:
        return [*self.violations, *self.csp_console()]


_LOGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def log_of(page) -> BrowserLog:
    """The console and CSP violations recorded for a page of the `page` fixture."""
    return _LOGS[page]


@pytest.fixture
def page():
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        browser_log = BrowserLog()
        context = browser.new_context()
        context.expose_binding("__cspViolation", lambda _source, report: browser_log.violations.append(report))
        context.add_init_script(REPORT_VIOLATIONS)
        page = context.new_page()
        _LOGS[page] = browser_log
        page.on("console", lambda message: browser_log.console.append(f"{message.type}: {message.text}"))
        page.set_default_timeout(15000)
        yield page
        if not page.is_closed():
            # A round trip: the reports the page already sent are delivered first (a page mid-navigation or
            # crashed cannot answer: then we report what we have).
            with contextlib.suppress(Exception):
                page.evaluate("1")
        context.close()
        browser.close()
    assert not browser_log.problems(), "Content-Security-Policy violations:\n" + "\n".join(
        map(str, browser_log.problems()))


class Worker(threading.Thread):
    """Runs every queued job until stopped, as a django-q2 worker would (tests switch the dispatch off: the
    thread is the queue); a failure is kept for the test to report, not lost in the thread."""

    def __init__(self):
        super().__init__(daemon=True, name="test-worker")
        self.stopped = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        from django.db import connections

        from carbon.jobs.models import Job, JobState
        from carbon.jobs.runner import run_job

        try:
            while not self.stopped.is_set():
                for job_id in Job.objects.filter(state=JobState.QUEUED).order_by("pk").values_list("pk", flat=True):
                    run_job(job_id)
                self.stopped.wait(0.2)
        except BaseException as exc:
            self.failure = exc
        finally:
            connections.close_all()
