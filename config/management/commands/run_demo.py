"""Serve the demo: the web server and a django-q2 worker, with the URL and the logins printed."""

import os
import signal
import subprocess
import sys

from django.core.management.base import BaseCommand

LOGINS = ["demo-standard", "demo-principal", "demo-metier", "demo-admin", "demo-auditor"]


class Command(BaseCommand):
    help = "Run the web server and a worker for the demo (Ctrl-C stops both)."

    def handle(self, *args, **options):
        port = os.environ.get("PORT", "8000")
        env = {**os.environ, "DEMO_MODE": "1"}
        worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], env=env)
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
                                f"127.0.0.1:{port}", "--workers", "2", "--access-logfile", "-"], env=env)
        self.stdout.write(self.style.SUCCESS(f"\n  Carbon calculator demo: http://127.0.0.1:{port}/"))
        self.stdout.write(f"  Back office:             http://127.0.0.1:{port}/admin/")
        self.stdout.write("  Logins (password 'demo'): " + ", ".join(LOGINS) + "\n")
        try:
            web.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for process in (web, worker):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in (web, worker):
                process.wait(timeout=30)
