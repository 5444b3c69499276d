from django.core.management.base import BaseCommand

from carbon.services import year_create


class Command(BaseCommand):
    help = "Create a campaign year: every active unit's report and its eight module reports."

    def add_arguments(self, parser):
        parser.add_argument("year", type=int)

    def handle(self, *args, year, **options):
        result = year_create(year=year)
        self.stdout.write(f"year {year}: {result.reports_created} reports and "
                          f"{result.module_reports_created} module reports created; configuration completed")
