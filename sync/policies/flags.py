"""Feature flags in the database: ``read_flags()`` (read at each call, never cached), ``set_flag()`` with
an audited reason, the flag table for the admin, and the safe-mode trip after repeated push failures.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F

from sync.models import FeatureFlag, PushFailureStreak
from sync.policies.flag_registry import (
    DEFAULT_OPEN_STATUSES,
    FLAGS,
    FlagError,
    Flags,
    FlagSpec,
    canonical_name,
    flags_with,
    spec_for,
)

# The registry's names are re-exported: callers read and parse flags through this one module.
__all__ = [
    "DEFAULT_OPEN_STATUSES",
    "FLAGS",
    "FlagError",
    "FlagSpec",
    "Flags",
    "canonical_name",
    "flag_table",
    "flags_with",
    "read_flags",
    "record_push_outcome",
    "set_flag",
    "spec_for",
]


def read_flags(*, using: str = "default") -> Flags:
    """The flags as stored now: one query, never cached, so a change applies to the next step.

    A stored value that does not parse raises FlagError naming the flag: a run must not guess.
    """
    return Flags.from_texts(dict(FeatureFlag.objects.using(using).values_list("name", "value")))


def set_flag(name: str, value: Any, *, user=None, reason: str, using: str = "default") -> Any:
    """Store ``value`` for flag ``name`` (or a legacy alias) with who and why; returns the typed value.

    The value is parsed strictly and stored in canonical form. A blank reason is refused: every change
    to how the sync behaves must say why.
    """
    canonical = canonical_name(name)
    spec = spec_for(canonical)
    text = spec.to_text(value)
    if not (reason or "").strip():
        raise FlagError(canonical, "a reason is required to change a flag")
    with transaction.atomic(using=using):
        flag = FeatureFlag.objects.using(using).select_for_update().filter(name=canonical).first()
        if flag is not None and flag.value == text:
            return spec.parse(text)  # unchanged: no history noise
        if flag is None:
            flag = FeatureFlag(name=canonical)
        flag.value = text
        flag._history_user = user  # type: ignore[attr-defined]  # simple_history's hook, untyped
        flag._change_reason = reason.strip()  # type: ignore[attr-defined]  # simple_history's hook, untyped
        flag.save(using=using)
    return spec.parse(text)


def flag_table(*, using: str = "default") -> list[dict[str, Any]]:
    """Every flag with its type, default, current text and meaning, for the admin and the docs."""
    stored = dict(FeatureFlag.objects.using(using).values_list("name", "value"))
    return [
        {
            "name": spec.name,
            "type": spec.type,
            "bounds": spec.bounds,
            "default": spec.default,
            "value": stored.get(spec.name, next((stored[a] for a in spec.aliases if a in stored), None)),
            "description": spec.description,
            "aliases": list(spec.aliases),
        }
        for spec in FLAGS
    ]


def record_push_outcome(ok: bool, *, detail: str = "", using: str = "default") -> bool:
    """Count consecutive push failures; the N-th one (SAFE_MODE_TRIP_AFTER) turns SAFE_MODE on.

    Returns True when this call tripped safe mode. A success resets the streak.
    """
    streaks = PushFailureStreak.objects.using(using)
    if ok:
        streaks.filter(name="push", count__gt=0).update(count=0, last_error="")
        return False
    with transaction.atomic(using=using):
        streaks.get_or_create(name="push")
        # F() makes the increment atomic across processes pushing at once.
        streaks.filter(name="push").update(count=F("count") + 1, last_error=detail[:2000])
        count = streaks.get(name="push").count
        flags = read_flags(using=using)
        if flags.safe_mode_trip_after == 0 or count < flags.safe_mode_trip_after:
            return False
        streaks.filter(name="push").update(count=0)
        if flags.safe_mode:
            return False
        why = (f"automatic: {count} consecutive push failures "
               f"(SAFE_MODE_TRIP_AFTER={flags.safe_mode_trip_after})")
        if detail:
            why += f"; last error: {detail[:500]}"
        set_flag("SAFE_MODE", True, user=None, reason=why, using=using)
        return True
