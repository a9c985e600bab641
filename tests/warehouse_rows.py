"""Warehouse rows for the policy tests, written through the real SCD2 merge."""
from datetime import timedelta

from django.utils import timezone

from warehouse.models import CustomerMapping, DimBuilding, DimUnit, FactJob, FactWorkOrder
from warehouse.scd import merge


def building(building_id, *, multi_unit=False, units=(), portfolio_id=1, name=""):
    merge(DimBuilding, [{"building_id": building_id, "portfolio_id": portfolio_id, "multi_unit": multi_unit,
                         "name": name or f"{building_id} Main St", "address": f"{building_id} Main St"}])
    if units:
        merge(DimUnit, [{"unit_id": u, "building_id": building_id, "name": f"Unit {u}"} for u in units])


def work_order(work_order_id, *, building_id, unit_id=None, unit_ids=None, **fields):
    record = {"work_order_id": work_order_id, "building_id": building_id, "unit_id": unit_id,
              "unit_ids": list(unit_ids if unit_ids is not None else ([unit_id] if unit_id else [])),
              "status": "Scheduled", "portfolio_id": 1, **fields}
    merge(FactWorkOrder, [record])
    return FactWorkOrder.objects.current().get(work_order_id=work_order_id)


def job(job_id, *, customer_id=500, days_ago=0.0, description="", **fields):
    created_at = timezone.now() - timedelta(days=days_ago)
    merge(FactJob, [{"job_id": job_id, "customer_id": customer_id, "description": description,
                     "created_at": created_at, "status": "Scheduled", **fields}])


def map_building(building_id, sf_customer_id, *, portfolio_id=1):
    CustomerMapping.objects.create(entity_type="building", pw_portfolio_id=portfolio_id,
                                   pw_building_id=building_id, sf_customer_id=sf_customer_id,
                                   confidence=1.0, method="created", status="mapped")


def versions(work_order_id):
    return list(FactWorkOrder.objects.filter(work_order_id=work_order_id).order_by("valid_from"))
