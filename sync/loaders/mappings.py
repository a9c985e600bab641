"""Customer mappings as the engine reads and writes them: PW portfolio/building → SF customer
(customer_mappings, audited), and the PW ids an SF customer carries in its custom fields (R9, R10, R11).
"""

from __future__ import annotations

from collections.abc import Mapping

from warehouse.models import CustomerMapping, DimBuilding

__all__ = [
    "mapped_customers",
    "pw_ids_of_customer",
    "save_mapping",
]


def _int(value) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def pw_ids_of_customer(custom_fields: Mapping, flags) -> tuple[int | None, int | None]:
    """(PW portfolio id, PW building id) from an SF customer's custom fields (labels from the flags)."""
    fields = {str(k).strip().lower(): v for k, v in (custom_fields or {}).items()}
    portfolio = _int(fields.get(flags.sf_customer_cf_portfolio_id.lower()))
    building = _int(fields.get(flags.sf_customer_cf_building_id.lower()))
    return portfolio, building


def save_mapping(
    entity_type: str,
    *,
    portfolio_id: int | None,
    building_id: int | None = None,
    sf_customer_id: int | None,
    method: str,
    confidence: float,
    status: str = "mapped",
    only_if_unmapped: bool = False,
) -> int:
    """Create or update one mapping (saved one by one so its history records the change); 1 if written."""
    if entity_type == "building":
        if building_id is None:
            return 0
        if portfolio_id is None:
            portfolio_id = (
                DimBuilding.objects.filter(building_id=building_id, is_current=True)
                .values_list("portfolio_id", flat=True)
                .first()
            )
        if portfolio_id is None:
            return 0
        lookup = {"entity_type": "building", "pw_building_id": building_id}
    else:
        if portfolio_id is None:
            return 0
        lookup = {"entity_type": "portfolio", "pw_portfolio_id": portfolio_id, "pw_building_id": None}
    row = CustomerMapping.objects.filter(**lookup).first()
    if row is not None and only_if_unmapped and row.status == "mapped" and row.sf_customer_id:
        return 0
    if row is None:
        row = CustomerMapping(
            entity_type=entity_type, pw_portfolio_id=portfolio_id, pw_building_id=building_id
        )
    values = {
        "pw_portfolio_id": portfolio_id,
        "sf_customer_id": sf_customer_id,
        "method": method,
        "confidence": confidence,
        "status": status,
    }
    if row.pk and all(getattr(row, k) == v for k, v in values.items()):
        return 0
    for key, value in values.items():
        setattr(row, key, value)
    row.save()
    return 1


def mapped_customers(entity_type: str) -> dict[int, int]:
    """``{PW id: SF customer id}`` for mapped portfolios or buildings."""
    id_field = "pw_building_id" if entity_type == "building" else "pw_portfolio_id"
    return dict(
        CustomerMapping.objects.filter(
            entity_type=entity_type, status="mapped", sf_customer_id__isnull=False
        ).values_list(id_field, "sf_customer_id")
    )
