"""`manage.py api_token INSTITUTIONAL_ID [--provider oidc] [--revoke]`: the API token of a person, for scripts.

A token acts as its person with their roles (the same rights as their session); it is shown once here and
stored by the API library. Issued by the operator only: there is no page that shows tokens.
"""

from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from units.models import Provider, User


class Command(BaseCommand):
    help = "Issue (or revoke) the API token of a person, for scripts that call /api/v1/."

    def add_arguments(self, parser):
        parser.add_argument("institutional_id")
        parser.add_argument("--provider", default=Provider.OIDC, choices=Provider.values)
        parser.add_argument("--revoke", action="store_true", help="delete the person's token")

    def handle(self, *args, institutional_id, provider, revoke, **options):
        user = User.objects.filter(institutional_id=institutional_id, provider=provider, is_active=True).first()
        if user is None:
            raise CommandError(f"no active {provider} user {institutional_id}")
        Token.objects.filter(user=user).delete()  # one token per person: a new one replaces the old one
        if revoke:
            self.stdout.write(f"token of {institutional_id} revoked")
            return
        self.stdout.write(Token.objects.create(user=user).key)
