"""API tokens other systems use to trigger a run over HTTP (POST /api/sync/trigger).

Only a SHA-256 digest of each token is stored; the token itself is shown once, when it is issued.
"""
from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

__all__ = ["ApiToken"]

TOKEN_PREFIX = "glt_"  # noqa: S105 - a marker that makes leaked tokens recognisable, not a secret


def digest(token: str) -> str:
    # A plain SHA-256 is enough: tokens are 256 random bits, so there is nothing to brute-force that a
    # slow hash (PBKDF2) would protect, and a fast digest lets a request find its row by an indexed lookup.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    name = models.CharField(max_length=100, unique=True, help_text="Who or what uses this token.")
    prefix = models.CharField(
        max_length=16, editable=False, help_text="First characters of the token, to recognise it."
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        editable=False,
    )

    objects = ApiTokenQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["last_used_at"], verbose_name="API token change")

    class Meta:
        db_table = "api_tokens"
        ordering = ["name"]
        verbose_name = "API token"
        permissions = [
            ("trigger_sync", "Can start a sync run (sync now / dry run now)"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, name: str, *, user=None) -> tuple[ApiToken, str]:
        """Create a token; returns the row and the token text, which is never available again."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(
            name=name, prefix=token[:10], token_hash=digest(token), created_by=user
        )
        return row, token

    def assign_new_secret(self) -> str:
        """Fill prefix and hash of an unsaved row (the admin's add form); returns the token text."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.prefix, self.token_hash = token[:10], digest(token)
        return token

    @classmethod
    def authenticate(cls, token: str) -> ApiToken | None:
        """The active token matching this text, with its last use recorded; None when unknown or revoked."""
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        row = cls.objects.active().filter(token_hash=digest(token)).first()
        if row is not None:
            now = timezone.now()
            # update() keeps a use from adding a history version: only changes people make are audited.
            cls.objects.filter(pk=row.pk).update(last_used_at=now)
            row.last_used_at = now
        return row

    def revoke(self, *, user=None, reason: str = "") -> None:
        self.revoked_at = timezone.now()
        self.revoked_by = user
        self._change_reason = reason
        self.save(update_fields=["revoked_at", "revoked_by"])
