"""Ranked SF customer suggestions for an unmapped building (R10, R11): only customers it may have (the
children of its portfolio's customer), scored by the customer-matching rules. Pure functions."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sync.policies.customer_match import candidate_view, in_scope, match_customer
from sync.policies.flags import Flags

__all__ = ["Suggestion", "building_entity", "rank"]


@dataclass(frozen=True)
class Suggestion:
    sf_customer_id: int
    name: str
    score: float  # 0..1, as match_customer scores it
    reason: str

    @property
    def percent(self) -> int:
        return round(self.score * 100)


def building_entity(building: Mapping[str, Any], portfolio_sf_id: int | None) -> dict[str, Any]:
    """A building as ``match_customer`` reads it, as the customer step builds it (name = address)."""
    return {"kind": "building", "pw_id": building["building_id"],
            "name": building.get("address") or building.get("name"),
            "address": building.get("address"), "parent_sf_id": portfolio_sf_id}


def rank(entity: Mapping[str, Any], candidates: Iterable[Mapping[str, Any]], flags: Flags,
         limit: int = 3) -> list[Suggestion]:
    """The best ``limit`` in-scope candidates, best first; each scored alone by ``match_customer`` so the
    ranking and the step's decision share one scoring."""
    out = []
    for row in candidates:
        if not in_scope(entity, row):
            continue
        result = match_customer(entity, [candidate_view(row)], flags)
        if result.score > 0:
            out.append(Suggestion(int(row["sf_customer_id"]), row.get("name") or "", result.score,
                                  result.reason))
    out.sort(key=lambda s: (-s.score, s.sf_customer_id))
    return out[:limit]
