"""``request_count``: how many HTTP requests a client made, from the stats either client keeps."""

from __future__ import annotations

__all__ = ["request_count"]


def request_count(stats: dict) -> int:
    """HTTP requests a client made, from its own stats: SF counts ``requests`` by method and status, PW
    counts attempts by operation and outcome (its listings page, so calls undercount requests)."""
    if isinstance(stats.get("requests"), dict):
        return sum(v for v in stats["requests"].values() if isinstance(v, int))
    return sum(
        v
        for outcomes in stats.values()
        if isinstance(outcomes, dict)
        for v in outcomes.values()
        if isinstance(v, int)
    )
