"""Customer matching (R11, R33): which cached SF customers a PW portfolio, building or tenant may match
(within its own portfolio), and the legacy scores that link, send to review or create. Pure functions.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.core.cache import cache
from rapidfuzz.distance import Levenshtein

from sync.policies.flags import Flags

__all__ = [
    "CustomerMatch",
    "address_score",
    "cached_match_customer",
    "email_score",
    "in_scope",
    "match_customer",
    "name_score",
    "normalise_address",
    "normalise_name",
    "phone_score",
    "token_jaccard",
]

ID_SCORE, EMAIL_SCORE, PHONE_SCORE, SIBLING_SCORE = 1.0, 0.98, 0.95, 0.85
#: A tenant's name or address match under another parent customer is at most sent to review, never linked:
#: "123 Main St" may exist under two owners. (Portfolios and buildings never see such candidates: in_scope.)
CROSS_PARENT_CAP = 0.8
SIBLING_MIN_SIMILARITY = 0.8

_EXPANSIONS = {"apt": "apartment", "st": "street", "ave": "avenue", "dr": "drive", "rd": "road"}


def normalise_address(text: str | None) -> str:
    """R33: lower-case, drop periods, commas to spaces, collapse whitespace, expand apt/st/ave/dr/rd."""
    text = (text or "").lower().replace(".", "").replace(",", " ")
    return " ".join(_EXPANSIONS.get(token, token) for token in text.split())


def normalise_name(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def token_jaccard(a: str, b: str) -> float:
    """|A ∩ B| / |A ∪ B| over whitespace tokens (plain set arithmetic; rapidfuzz has no Jaccard)."""
    left, right = set(a.split()), set(b.split())
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def address_score(a: str | None, b: str | None) -> float:
    """1.0 for the same normalised address, else the token Jaccard of the normalised forms."""
    left, right = normalise_address(a), normalise_address(b)
    if not left or not right:
        return 0.0
    return 1.0 if left == right else token_jaccard(left, right)


def email_score(a: str | None, b: str | None) -> float:
    left, right = (a or "").strip().lower(), (b or "").strip().lower()
    return EMAIL_SCORE if left and left == right else 0.0


def _digits(phone: str | None) -> str:
    digits = re.sub(r"\D", "", phone or "")
    # North American numbers: a leading country code 1 does not make a different number.
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def phone_score(a: str | None, b: str | None) -> float:
    left, right = _digits(a), _digits(b)
    return PHONE_SCORE if len(left) >= 7 and left == right else 0.0


def name_score(a: str | None, b: str | None) -> float:
    """1 − Levenshtein distance / longer length, on trimmed lower-case names."""
    left, right = normalise_name(a), normalise_name(b)
    if not left or not right:
        return 0.0
    return Levenshtein.normalized_similarity(left, right)


@dataclass(frozen=True)
class CustomerMatch:
    """The best candidate (if any) and what to do: link (score ≥ DEDUP_CONFIDENCE), review (≥
    DEDUP_REVIEW_THRESHOLD, nothing created) or create."""

    decision: str
    sf_customer_id: int | None
    score: float
    rule: str
    reason: str

    @property
    def mapping_method(self) -> str:
        """The ``customer_mappings.method`` this outcome is recorded with."""
        if self.decision == "link":
            return "custom_field" if self.rule == "custom_field" else "exact_name"
        return "fuzzy_review" if self.decision == "review" else "created"


def _custom_fields(candidate: Mapping) -> dict[str, str]:
    raw = candidate.get("custom_fields") or {}
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items() if v not in (None, "")}
    return {str(f.get("name")): str(f.get("value")) for f in raw if f.get("value") not in (None, "")}


def _contact_values(candidate: Mapping, key: str) -> list[str]:
    values: list[str] = []
    for contact in candidate.get("contacts") or ():
        for item in contact.get(key) or ():
            # SF returns {"email": …} / {"phone": …} objects; cached copies may hold plain strings.
            if isinstance(item, Mapping):
                item = item.get("email") or item.get("phone") or ""
            values.append(item)
    return [v for v in values if v]


def _id_match(entity: Mapping, fields: dict[str, str], flags: Flags) -> bool:
    pw_id = str(entity.get("pw_id") or "")
    if not pw_id:
        return False
    building_label, portfolio_label = flags.sf_customer_cf_building_id, flags.sf_customer_cf_portfolio_id
    if entity.get("kind") == "building":
        return fields.get(building_label) == pw_id
    if entity.get("kind") == "portfolio":
        # A building customer carries its portfolio's id too; only a customer without a building id is
        # the portfolio's own.
        return fields.get(portfolio_label) == pw_id and not fields.get(building_label)
    return False


def _score(entity: Mapping, candidate: Mapping, flags: Flags) -> tuple[float, str, str]:
    if _id_match(entity, _custom_fields(candidate), flags):
        return ID_SCORE, "custom_field", f"custom field holds PW {entity.get('kind')} {entity.get('pw_id')}"
    best = (0.0, "none", "no similarity")
    for email in entity.get("emails") or ():
        if any(email_score(email, other) for other in _contact_values(candidate, "emails")):
            best = max(best, (EMAIL_SCORE, "email", f"contact email {email.strip().lower()}"))
    for phone in entity.get("phones") or ():
        if any(phone_score(phone, other) for other in _contact_values(candidate, "phones")):
            best = max(best, (PHONE_SCORE, "phone", f"contact phone {_digits(phone)}"))
    same_parent = (entity.get("parent_sf_id") or None) == (candidate.get("parent_customer_id") or None)
    cap = 1.0 if same_parent else CROSS_PARENT_CAP
    address = entity.get("address") or ""
    if address:
        locations = candidate.get("locations") or ()
        streets = [candidate.get("name") or ""] + [loc.get("street_1") or "" for loc in locations]
        score = max(address_score(address, street) for street in streets)
        if score:
            best = max(best, (min(score, cap), "address", f"address similarity {score:.2f}"))
    name = entity.get("name") or ""
    similarity = name_score(name, candidate.get("name"))
    if similarity == 1.0:
        best = max(best, (min(1.0, cap), "exact_name", "same normalised name"))
    elif same_parent and similarity > SIBLING_MIN_SIMILARITY and entity.get("parent_sf_id"):
        best = max(best, (SIBLING_SCORE, "sibling", f"sibling under the same parent, name similarity "
                                                    f"{similarity:.2f}"))
    elif similarity:
        best = max(best, (min(similarity, cap), "name", f"name similarity {similarity:.2f}"))
    if not same_parent and best[1] in ("address", "exact_name", "name"):
        best = (best[0], best[1], best[2] + " (under another parent customer)")
    return best


def in_scope(entity: Mapping[str, Any], candidate: Mapping[str, Any]) -> bool:
    """Whether ``candidate`` may be ``entity``'s customer at all (R11: "under the same parent", R10).

    A building's customer is a child of its portfolio's customer (R10), so only children of
    ``parent_sf_id`` are candidates: a customer under another portfolio's customer is never its customer,
    however alike the addresses ("123 Main St" may be a building of two owners). A building with no
    portfolio customer has no candidate (the step holds it). A portfolio's customer is top-level (R9):
    only customers without a parent are candidates. Other kinds (tenants) may match anywhere.
    """
    parent = candidate.get("parent_customer_id") or None
    if entity.get("kind") == "portfolio":
        return parent is None
    if entity.get("kind") == "building":
        own = entity.get("parent_sf_id") or None
        return own is not None and parent == own
    return True


def candidate_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """What ``match_customer`` reads of an ``sf_customer_cache``-shaped row: its ids, name and custom
    fields, its contacts' emails and phones, its locations' streets. A caller holding every cached
    customer as a candidate keeps this rather than whole contact and location lists."""
    return {
        "sf_customer_id": row.get("sf_customer_id"),
        "name": row.get("name"),
        "parent_customer_id": row.get("parent_customer_id"),
        "custom_fields": row.get("custom_fields"),
        "contacts": [
            {k: c.get(k) for k in ("emails", "phones")} if isinstance(c, Mapping) else c
            for c in row.get("contacts") or ()
        ],
        "locations": [
            {"street_1": loc.get("street_1")} if isinstance(loc, Mapping) else loc
            for loc in row.get("locations") or ()
        ],
    }


def match_customer(entity: Mapping[str, Any], candidates: Iterable[Mapping[str, Any]],
                   flags: Flags) -> CustomerMatch:
    """Score ``entity`` against every candidate in scope (``in_scope``) and decide by the flags' thresholds.

    entity: ``kind`` (portfolio | building | tenant), ``pw_id``, ``name``, ``address``, ``emails``,
    ``phones``, ``parent_sf_id`` (the SF customer it should sit under; None for portfolios).
    candidates: ``sf_customer_cache``-shaped mappings: ``sf_customer_id``, ``name``,
    ``parent_customer_id``, ``custom_fields``, ``contacts``, ``locations``; those out of scope are
    ignored, so a caller may pass every cached customer (or, faster, only the children of ``parent_sf_id``).
    """
    best: tuple[float, str, str, int | None] = (0.0, "none", "no candidate", None)
    for candidate in candidates:
        if not in_scope(entity, candidate):
            continue
        score, rule, reason = _score(entity, candidate, flags)
        if score > best[0]:
            best = (score, rule, reason, candidate.get("sf_customer_id"))
    score, rule, reason, sf_id = best
    if score >= flags.dedup_confidence:
        decision = "link"
    elif score >= flags.dedup_review_threshold:
        decision = "review"
    else:
        return CustomerMatch("create", None, score, rule, reason if sf_id else "no candidate")
    return CustomerMatch(decision, sf_id, round(score, 4), rule, f"customer {sf_id}: {reason}")


def _entity_key(entity: Mapping) -> str:
    canonical = json.dumps(dict(entity), sort_keys=True, default=str)
    return "greenlight:customer-match:" + hashlib.md5(canonical.encode(), usedforsecurity=False).hexdigest()


def cached_match_customer(entity: Mapping[str, Any], candidates: Iterable[Mapping[str, Any]],
                          flags: Flags) -> CustomerMatch:
    """``match_customer`` with R33's cache (keyed by an MD5 of the entity, DEDUP_CACHE_TTL_SECONDS).

    Only links are cached: a cached "create" or "review" would hide a customer that appeared since.
    """
    key = _entity_key(entity)
    hit = cache.get(key)
    if hit is not None:
        return CustomerMatch(**hit)
    result = match_customer(entity, candidates, flags)
    if result.decision == "link" and flags.dedup_cache_ttl_seconds:
        cache.set(key, asdict(result), flags.dedup_cache_ttl_seconds)
    return result
