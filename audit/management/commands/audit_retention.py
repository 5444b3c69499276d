"""Delete auth events past their retention: the one command allowed to delete audit rows."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.chain import retention_delete


class Command(BaseCommand):
    help = ("Delete sign-in, sign-in failure and sign-out events older than --auth-events-older-than days "
            "(default: the AUDIT_AUTH_EVENT_RETENTION_DAYS setting). Auth events are not in the hash chain, "
            "so the chain still verifies. Nothing else is ever deleted.")

    def add_arguments(self, parser):
        parser.add_argument("--auth-events-older-than", type=int, dest="days", metavar="DAYS",
                            default=None)

    def handle(self, *args, days, **options):
        days = settings.AUDIT_AUTH_EVENT_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--auth-events-older-than must be at least 1 day.")
        deleted = retention_delete(older_than_days=days)
        self.stdout.write(f"{deleted} auth events older than {days} days deleted.")
