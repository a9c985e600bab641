"""Builds the PropertyWare and ServiceFusion clients from settings for the engine's steps."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache

from sync.clients.propertyware.client import PropertyWareClient
from sync.clients.servicefusion.client import ServiceFusionClient

__all__ = ["build_client"]


def build_client(system: str, *, urgency: int = 0):
    """A fresh client for ``"pw"`` or ``"sf"`` (one per step: clients are not shared across threads).

    ``urgency``: where the step's PropertyWare calls queue in the process's shared PW throttle (higher goes
    first); ServiceFusion paces by its own headers and has no queue to order."""
    if system == "pw":
        # The pulls subtract their overlap themselves (SYNC_PULL_OVERLAP_SECONDS, via cursors.pw_since) and
        # record the bound they asked for; the client's own default would silently widen every read.
        return PropertyWareClient.from_settings(overlap=timedelta(0), urgency=urgency)
    if system == "sf":
        # The token lives in the shared cache: SF's rate limit is per token, so every worker uses one.
        return ServiceFusionClient.from_settings(token_store=cache)
    raise ValueError(f"unknown system {system!r}; expected 'pw' or 'sf'")
