"""Staff actions on outbox rows (the admin's dead-letter screen): send again, or never send."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from sync.models import OutboxItem

__all__ = ["ignore_items", "retry_items"]

State = OutboxItem.State


def retry_items(items: Iterable[OutboxItem] | Iterable[int]) -> int:
    """Staff: send dead-lettered (or held, or ignored) rows again on the next run."""
    ids = [getattr(i, "pk", i) for i in items]
    return OutboxItem.objects.filter(
        pk__in=ids, state__in=[State.DEAD, State.HELD, State.IGNORED, State.FAILED]
    ).update(
        state=State.PLANNED,
        attempts=0,
        next_attempt_at=None,
        hold_reason="",
        review=False,
        updated_at=timezone.now(),
    )


def ignore_items(items: Iterable[OutboxItem] | Iterable[int], reason: str) -> int:
    """Staff: never send these rows (the reason is kept on the row)."""
    if not (reason or "").strip():
        raise ValueError("a reason is required to ignore an outbox row")
    ids = [getattr(i, "pk", i) for i in items]
    return (
        OutboxItem.objects.filter(pk__in=ids)
        .exclude(state__in=[State.SENT, State.SENDING])
        .update(state=State.IGNORED, hold_reason=reason.strip(), updated_at=timezone.now())
    )
