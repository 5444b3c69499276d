from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from carbon.services import year_open
from units.operators import add_actor_argument, command_origin


class Command(BaseCommand):
    help = "Open a year for lab users (only when its configuration is complete)."

    def add_arguments(self, parser):
        parser.add_argument("year", type=int)
        add_actor_argument(parser)

    def handle(self, *args, year, actor, **options):
        try:
            with command_origin("open_year", actor) as origin:
                year_open(year=year, actor=origin.user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"year {year} is open")
