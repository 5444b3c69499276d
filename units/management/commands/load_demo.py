"""Load the demo organisation, users and the open 2025 campaign. Safe to run again."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from carbon.services import year_create, year_open
from units.models import Provider, User

DEMO_DIR = Path(settings.BASE_DIR) / "fixtures" / "demo"
DEMO_PASSWORD = "demo"
DEMO_YEAR = 2025


class Command(BaseCommand):
    help = "Load the demo data (fixtures/demo/) idempotently."

    def handle(self, *args, **options):
        call_command("import_csv", "units", str(DEMO_DIR / "units.csv"), stdout=self.stdout)
        call_command("import_csv", "users", str(DEMO_DIR / "users.csv"), stdout=self.stdout)
        for user in User.objects.filter(provider=Provider.DEMO):
            if not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
        year_create(year=DEMO_YEAR)
        year_open(year=DEMO_YEAR)
        self.stdout.write(self.style.SUCCESS(f"demo loaded: year {DEMO_YEAR} open"))
