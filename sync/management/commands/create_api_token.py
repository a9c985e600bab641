"""``create_api_token NAME --reason WHY [--user USERNAME]`` issues a token for POST /api/sync/trigger,
printed once (only its SHA-256 is stored); ``--revoke --reason WHY`` revokes it. Both record the reason."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from simple_history.utils import update_change_reason

from greenlight.admin_tools import log_change
from greenlight.dbcheck import SchemaCommand
from sync.models import ApiToken


class Command(SchemaCommand):
    help = "Create an API token for the sync trigger endpoint (printed only this once), or revoke one."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who or what will use the token, e.g. 'property-portal'.")
        parser.add_argument("--user", help="Username recorded as the token's creator (or revoker).")
        parser.add_argument("--reason", default="", help="Why (required): kept in the token's history.")
        parser.add_argument("--revoke", action="store_true", help="Revoke the token called NAME instead.")

    def handle(self, *args, name: str, user: str | None = None, reason: str = "", revoke: bool = False,
               **options):
        name, reason = name.strip(), (reason or "").strip()
        if not name:
            raise CommandError("name: must not be empty")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"--user: no user called {user!r}")
        if revoke:
            return self._revoke(name, actor, reason)
        if ApiToken.objects.filter(name=name).exists():
            raise CommandError(f"name: a token called {name!r} already exists")
        if not reason:
            raise CommandError("--reason: required, e.g. --reason \"portal integration, ticket OPS-12\"")
        try:
            with transaction.atomic():
                row, token = ApiToken.issue(name, user=actor)
                update_change_reason(row, reason)
                if actor is not None:
                    log_change(actor, row, f"Issued. Reason: {reason}")
        except IntegrityError:
            raise CommandError(f"name: a token called {name!r} already exists") from None
        self.stderr.write(f"Created API token {row.name!r} ({row.prefix}…). "
                          "Store it now; it is not shown again.")
        self.stdout.write(token)

    def _revoke(self, name: str, actor, reason: str) -> None:
        if not reason:
            raise CommandError("--reason: required to revoke a token")
        row = ApiToken.objects.filter(name=name).first()
        if row is None:
            raise CommandError(f"name: no token called {name!r}")
        if not row.is_active:
            raise CommandError(f"name: {name!r} was already revoked on {row.revoked_at:%Y-%m-%d %H:%M}")
        with transaction.atomic():
            row.revoke(user=actor, reason=reason)
            if actor is not None:
                log_change(actor, row, f"Revoked. Reason: {reason}")
        self.stdout.write(f"Revoked API token {row.name!r} ({row.prefix}…).")
