"""Screenshots of the main lab pages (docs/screenshots/, referenced from the README), taken with Playwright and
Debian's Chromium at 1280×800, signed in as the demo's principal.

    DEMO_MODE=1 python manage.py screenshots                    # loads the demo, serves it on 127.0.0.1
    python manage.py screenshots --url http://127.0.0.1:8000    # a running demo (`make demo`): starts nothing

Without `--url` the command loads the demo into the configured database (`load_demo`: idempotent, it resets the
demo's rows) and serves it from a server thread on a free loopback port for the time of the captures; it
refuses to unless DEMO_MODE is on (the demo's passwords work only then). With `--url` it only reads: the upload
it checks for the preview is cancelled, the form with errors saves nothing.
"""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

CF, YEAR = "13032", 2025  # the demo's IT4R
LAB = f"/labs/{CF}/{YEAR}/"
VIEWPORT = {"width": 1280, "height": 800}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# A purchases file with one bad amount: the preview lists the row error.
BAD_FILE = ("name,total_spent_amount,purchase_institutional_code,currency\n"
            "Pipettes,1200.00,41100000,CHF\nCentrifuge,about 2000,41100000,EUR\n")


class Command(BaseCommand):
    help = "Capture the main lab pages at 1280x800 into PNG files (docs/screenshots/ by default)."

    def add_arguments(self, parser):
        parser.add_argument("--url", help="a running server (e.g. http://127.0.0.1:8000); default: start one "
                                          "on 127.0.0.1 with the demo loaded (needs DEMO_MODE=1)")
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "docs" / "screenshots"),
                            help="the directory of the PNG files (default: docs/screenshots)")
        parser.add_argument("--login", default="demo-principal", help="the demo user (default: demo-principal)")
        parser.add_argument("--password", default="demo")
        parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")

    def handle(self, *args, **options):
        output = Path(options["output"])
        output.mkdir(parents=True, exist_ok=True)
        if options["url"]:
            taken = self._capture(options["url"].rstrip("/"), output, options)
        else:
            taken = self._with_own_server(output, options)
        for path in taken:
            self.stdout.write(f"  {path} ({path.stat().st_size // 1024} KB)")
        self.stdout.write(self.style.SUCCESS(f"{len(taken)} screenshots in {output}"))

    def _with_own_server(self, output: Path, options) -> list[Path]:
        if not settings.DEMO_MODE:
            raise CommandError("Without --url the command loads and serves the demo: run it with DEMO_MODE=1 "
                               "(the demo's passwords work only then), or give --url of a running demo.")
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.test.testcases import LiveServerThread

        logging.getLogger("django.request").setLevel(logging.ERROR)  # the form with errors answers 400: expected
        self.stdout.write("loading the demo (load_demo)…")
        call_command("load_demo", stdout=io.StringIO())
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
        server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise CommandError(f"the server did not start: {server.error}")
        try:
            return self._capture(f"http://127.0.0.1:{server.port}", output, options)
        finally:
            server.terminate()

    def _capture(self, base: str, output: Path, options) -> list[Path]:
        from playwright.sync_api import sync_playwright

        taken: list[Path] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=options["chromium"], args=FLAGS, headless=True)
            try:
                context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
                page = context.new_page()
                page.set_default_timeout(20000)
                page.goto(base + "/accounts/login/")
                page.fill("#id_username", options["login"])
                page.fill("#id_password", options["password"])
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                if page.url.rstrip("/") != base:
                    raise CommandError(f"could not sign in as {options['login']} at {base} (a demo with "
                                       f"DEMO_MODE on?): now at {page.url}")

                def shot(name: str) -> None:
                    path = output / f"{name}.png"
                    page.screenshot(path=str(path))  # the viewport: what one sees first
                    taken.append(path)

                page.goto(base + "/")
                shot("workspace")
                page.goto(base + LAB)
                shot("overview")
                page.goto(base + LAB + "professional_travel/")
                shot("module")
                page.goto(base + LAB + "professional_travel/plane/new/")
                page.fill("#field-origin_iata", "GVA")
                page.fill("#field-number_of_trips", "twice")
                with page.expect_navigation():
                    page.locator("form.entry-form button[type=submit]").click()
                shot("entry-form-errors")
                page.goto(base + LAB + "purchase/purchase/upload/")
                page.set_input_files("#upload-file", files=[
                    {"name": "purchases.csv", "mimeType": "text/csv", "buffer": BAD_FILE.encode()}])
                with page.expect_navigation():
                    page.locator("main form button[type=submit]").first.click()
                shot("upload-preview")
                with page.expect_navigation():  # "Back": the checked file is dropped, nothing imported
                    page.locator("main form button[name=cancel]").click()
                page.goto(base + LAB + "results/")
                shot("results")
                charts = page.locator("#categories-heading")
                if charts.count():  # something validated: the figures and the first chart
                    charts.evaluate("heading => heading.scrollIntoView()")
                    shot("results-charts")
            finally:
                browser.close()
        return taken
