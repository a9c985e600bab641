"""``python manage.py create_api_token NAME [--user USERNAME]``: issue a token for POST /api/sync/trigger.

The token is printed once; only its SHA-256 digest is stored. Revoke it in the admin (API tokens).
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from sync.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token for the sync trigger endpoint and print it (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who or what will use the token, e.g. 'property-portal'.")
        parser.add_argument("--user", help="Username recorded as the token's creator.")

    def handle(self, *args, name: str, user: str | None = None, **options):
        name = name.strip()
        if not name:
            raise CommandError("name: must not be empty")
        creator = None
        if user:
            creator = get_user_model().objects.filter(username=user).first()
            if creator is None:
                raise CommandError(f"--user: no user called {user!r}")
        try:
            with transaction.atomic():
                row, token = ApiToken.issue(name, user=creator)
        except IntegrityError:
            raise CommandError(f"name: a token called {name!r} already exists") from None
        self.stderr.write(f"Created API token {row.name!r} ({row.prefix}…). "
                          "Store it now; it is not shown again.")
        self.stdout.write(token)
