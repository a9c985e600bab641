"""Builds the PropertyWare and ServiceFusion clients from settings for the engine's steps."""

from __future__ import annotations

__all__ = ["build_client"]


def build_client(system: str):
    """A fresh client for ``"pw"`` or ``"sf"`` (one per step: clients are not shared across threads)."""
    if system == "pw":
        from sync.propertyware.client import PropertyWareClient

        return PropertyWareClient.from_settings()
    if system == "sf":
        from django.core.cache import cache

        from sync.servicefusion.client import ServiceFusionClient

        # The token lives in the shared cache: SF's rate limit is per token, so every worker uses one.
        return ServiceFusionClient.from_settings(token_store=cache)
    raise ValueError(f"unknown system {system!r}; expected 'pw' or 'sf'")
