from django.core.management.base import BaseCommand

from carbon.services import year_create
from units.operators import add_actor_argument, command_origin


class Command(BaseCommand):
    help = "Create a campaign year: every active unit's report and its eight module reports."

    def add_arguments(self, parser):
        parser.add_argument("year", type=int)
        add_actor_argument(parser)

    def handle(self, *args, year, actor, **options):
        with command_origin("create_year", actor) as origin:
            result = year_create(year=year, actor=origin.user)
        self.stdout.write(f"year {year}: {result.reports_created} reports and "
                          f"{result.module_reports_created} module reports created; configuration completed")
