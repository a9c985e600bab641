"""syncUnitsToSF: match PW units to the locations of their building's SF customer (R13–R15) and record
the result in unit_mappings. No SF calls: API v1 cannot add a location to an existing customer, so an
unmatched unit stays unmatched and its jobs carry the unit's address instead.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from django.db import transaction

from sync.engine.unchanged import Reconciliation, building_customers, cached_customers, versions
from sync.loaders.mappings import mapped_customers
from sync.policies.customer_match import normalise_address
from warehouse.models import DimBuilding, DimUnit, SfCustomerCache, UnitMapping

FIELDS = ("pw_building_id", "sf_customer_id", "location_nickname", "location_address", "status")


def _norm(value) -> str:
    return _normalised(str(value or ""))


# Every unit of a building is compared with every location of its customer: the same few strings are
# normalised over and over (thousands of units a run), so each is normalised once.
@lru_cache(maxsize=65536)
def _normalised(text: str) -> str:
    return normalise_address(text)


def match_location(unit: dict, building: dict, locations: list[dict], *, single_family: bool) -> dict | None:
    """The SF location standing for ``unit``: the primary one for a single-family building (R13), else
    the one whose nickname is the unit's abbreviation (or name) and whose street, when given, agrees."""
    if single_family:
        return next((loc for loc in locations if loc.get("is_primary")), locations[0] if locations else None)
    nicknames = {_norm(unit.get("abbreviation")), _norm(unit.get("name"))} - {""}
    street = _norm(unit.get("address") or building.get("address"))
    for loc in locations:
        if _norm(loc.get("nickname")) in nicknames or (
            _norm(loc.get("street_2")) and _norm(loc.get("street_2")) == _norm(unit.get("name"))
        ):
            if not street or not _norm(loc.get("street_1")) or _norm(loc.get("street_1")) == street:
                return loc
    return None


def _inputs():
    return (
        versions(DimBuilding, "building_id"),
        versions(DimUnit, "unit_id"),
        building_customers(),
        cached_customers("locations"),
    )


def _outputs():
    return (UnitMapping.objects.order_by("pw_unit_id").values_list("pw_unit_id", *FIELDS),)


def run(ctx) -> None:
    Reconciliation(ctx, "syncUnitsToSF", inputs=_inputs, outputs=_outputs).run(_match_units)


def _match_units(ctx) -> None:
    customers = mapped_customers("building")
    # Only what matching reads (match_location, single-family): every current unit is held at once.
    buildings = {
        b["building_id"]: b
        for b in DimBuilding.objects.filter(is_current=True).values("building_id", "address", "multi_unit")
    }
    units_by_building = defaultdict(list)
    current_units = DimUnit.objects.filter(is_current=True, active=True)
    for u in current_units.values("unit_id", "building_id", "name", "abbreviation", "address"):
        units_by_building[u["building_id"]].append(u)
    locations = dict(
        SfCustomerCache.objects.filter(sf_customer_id__in=list(customers.values())).values_list(
            "sf_customer_id", "locations"
        )
    )
    wanted: dict[int, dict] = {}
    for building_id, units in units_by_building.items():
        building = buildings.get(building_id)
        sf_id = customers.get(building_id)
        if building is None:
            continue
        single = not building.get("multi_unit") and len(units) <= 1
        for unit in units:
            loc = (
                match_location(unit, building, list(locations.get(sf_id) or []), single_family=single)
                if sf_id
                else None
            )
            wanted[unit["unit_id"]] = {
                "pw_building_id": building_id,
                "sf_customer_id": sf_id,
                "location_nickname": (loc or {}).get("nickname", "") or "",
                "location_address": " ".join(
                    x for x in ((loc or {}).get("street_1"), (loc or {}).get("street_2")) if x
                ),
                "status": "mapped" if loc else "unmatched",
            }
    # Every unit is matched each run and few mappings change: compare plain values, build models only
    # for the rows to write.
    rows = UnitMapping.objects.values("unit_mapping_key", "pw_unit_id", *FIELDS)
    existing = {m["pw_unit_id"]: m for m in rows.iterator(chunk_size=2000) if m["pw_unit_id"] in wanted}
    new, changed = [], []
    for unit_id, values in wanted.items():
        row = existing.get(unit_id)
        if row is None:
            new.append(UnitMapping(pw_unit_id=unit_id, **values))
        elif any(row[k] != v for k, v in values.items()):
            key = row["unit_mapping_key"]
            changed.append(UnitMapping(unit_mapping_key=key, pw_unit_id=unit_id, **values))
    with transaction.atomic():
        UnitMapping.objects.bulk_create(new, batch_size=500)
        UnitMapping.objects.bulk_update(changed, FIELDS, batch_size=500)
    ctx.count("units_mapped", sum(1 for v in wanted.values() if v["status"] == "mapped"))
    ctx.count("units_unmatched", sum(1 for v in wanted.values() if v["status"] != "mapped"))
    ctx.count("unit_mappings_written", len(new) + len(changed))
