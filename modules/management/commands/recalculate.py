import time

from django.core.management.base import BaseCommand, CommandError

from modules.engine import recalculate
from modules.registry import KINDS


class Command(BaseCommand):
    help = "Recompute the emissions of every entry of a year (or of one kind) with the current factors."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--kind", help=", ".join(sorted(KINDS)))

    def handle(self, *args, year, kind, **options):
        if kind and kind not in KINDS:
            raise CommandError(f"unknown kind '{kind}' (known: {', '.join(sorted(KINDS))})")
        for name in [kind] if kind else sorted(KINDS):
            started = time.monotonic()
            count = recalculate(KINDS[name], year=year)
            self.stdout.write(f"{name}: {count} entries recomputed in {time.monotonic() - started:.1f}s")
