import time

from django.core.management.base import BaseCommand, CommandError

from infra.events import emit
from modules.engine import recalculate
from modules.registry import KINDS
from units.operators import add_actor_argument, command_origin


class Command(BaseCommand):
    help = "Recompute the emissions of every entry of a year (or of one kind) with the current factors."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--kind", help=", ".join(sorted(KINDS)))
        add_actor_argument(parser)

    def handle(self, *args, year, kind, actor, **options):
        if kind and kind not in KINDS:
            raise CommandError(f"unknown kind '{kind}' (known: {', '.join(sorted(KINDS))})")
        kinds = [kind] if kind else sorted(KINDS)
        with command_origin("recalculate", actor) as origin:
            emit("recalculation_started", source="command", actor=origin.user, actor_label=origin.actor_label,
                 kinds=kinds, year=year)
            for name in kinds:
                started = time.monotonic()
                count = recalculate(KINDS[name], year=year, actor=origin.user)
                self.stdout.write(f"{name}: {count} entries recomputed in {time.monotonic() - started:.1f}s")
