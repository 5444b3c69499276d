from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from carbon.services import year_open


class Command(BaseCommand):
    help = "Open a year for lab users (only when its configuration is complete)."

    def add_arguments(self, parser):
        parser.add_argument("year", type=int)

    def handle(self, *args, year, **options):
        try:
            year_open(year=year)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"year {year} is open")
