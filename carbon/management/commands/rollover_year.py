from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from carbon.rollover import year_rollover
from units.operators import add_actor_argument, command_origin


class Command(BaseCommand):
    help = ("Start a year from the year before it: create TARGET with every active unit's report and copy SOURCE's "
            "settings, thresholds, reduction objectives, factors of every kind and exchange rates (marked copied, "
            "editable). Refused, with nothing written, when TARGET already has data.")

    def add_arguments(self, parser):
        parser.add_argument("source", type=int, help="the year to copy, e.g. 2025")
        parser.add_argument("target", type=int, help="the year to create, e.g. 2026 (source + 1)")
        add_actor_argument(parser)

    def handle(self, *args, source, target, actor, **options):
        try:
            with command_origin("rollover_year", actor) as origin:
                result = year_rollover(source=source, target=target, actor=origin.user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"year {target} started from {source}: {result.reports_created} reports created, "
                          f"{result.total_copied} rows copied")
        for label, count in result.copied.items():
            self.stdout.write(f"  {label}: {count}")
