"""Fact tables: work orders (SCD2, plus the as-first-received copy), leases, jobs and transactions.
Dimension keys point at the dimension version valid at the fact's event time (see warehouse.keys).
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from .base import SOURCE_SYSTEMS, SCD2Model, scd2_constraints, scd2_indexes
from .dimensions import DimBuilding, DimCustomer, DimDate, DimPortfolio, DimTenant, DimUnit, DimVendor


def _dim_fk(model, column: str):
    # No index: facts are reached through their own keys, and dimension rows are never deleted, so an
    # index per key would only slow every merge down.
    return models.ForeignKey(
        model, null=True, blank=True, on_delete=models.PROTECT, db_column=column, related_name="+",
        db_index=False,
    )


# Date keys carry no database constraint: a fact may name a day the calendar has not been loaded for.
def _date_fk(column: str):
    return models.ForeignKey(
        DimDate, null=True, blank=True, on_delete=models.PROTECT, db_column=column, related_name="+",
        db_constraint=False, db_index=False,
    )


class FactWorkOrder(SCD2Model):
    work_order_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="pw")
    work_order_id = models.BigIntegerField()
    number = models.BigIntegerField(null=True, blank=True)
    portfolio_id = models.BigIntegerField(null=True, blank=True)
    building_id = models.BigIntegerField(null=True, blank=True)
    unit_id = models.BigIntegerField(null=True, blank=True)
    unit_ids = models.JSONField(default=list, blank=True)
    vendor_id = models.BigIntegerField(null=True, blank=True)
    lease_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=128, blank=True, default="")
    priority = models.CharField(max_length=64, blank=True, default="")
    category = models.CharField(max_length=128, blank=True, default="")
    type = models.CharField(max_length=128, blank=True, default="")
    description = models.TextField(blank=True, default="")
    location = models.CharField(max_length=255, blank=True, default="")
    source = models.CharField(max_length=128, blank=True, default="")
    created_date = models.DateTimeField(null=True, blank=True)
    start_date = models.DateTimeField(null=True, blank=True)
    completed_date = models.DateTimeField(null=True, blank=True)
    cost_estimate = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    total_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    hour_estimate = models.FloatField(null=True, blank=True)
    total_hours = models.FloatField(null=True, blank=True)
    sf_job_id = models.BigIntegerField(null=True, blank=True)
    # Pushed to ServiceFusion without a unit (R22–R24), and why the unit was cleared.
    building_level = models.BooleanField(default=False)
    unit_problem = models.CharField(max_length=255, blank=True, default="")
    portfolio_key = _dim_fk(DimPortfolio, "portfolio_key")
    building_key = _dim_fk(DimBuilding, "building_key")
    unit_key = _dim_fk(DimUnit, "unit_key")
    vendor_key = _dim_fk(DimVendor, "vendor_key")
    created_date_key = _date_fk("created_date_key")

    SCD_NATURAL_KEY = ("source_system", "work_order_id")
    SCD_TYPE2_FIELDS = (
        "status", "unit_id", "vendor_id", "priority", "description", "sf_job_id", "building_id", "category",
    )
    SCD_TYPE1_FIELDS = (
        "number", "portfolio_id", "unit_ids", "lease_id", "type", "location", "source", "created_date",
        "start_date", "completed_date", "cost_estimate", "total_cost", "hour_estimate", "total_hours",
        "building_level", "unit_problem", "portfolio_key", "building_key", "unit_key", "vendor_key",
        "created_date_key",
    )

    class Meta:
        db_table = "fact_work_orders"
        constraints = scd2_constraints("fact_work_orders", "work_order_id")
        indexes = scd2_indexes("fact_work_orders", "work_order_id") + [
            # R40: current work orders without a ServiceFusion job, by portfolio / building / status.
            models.Index(
                fields=["portfolio_id", "building_id", "status"],
                condition=Q(is_current=True, sf_job_id__isnull=True),
                name="fwo_current_no_job",
            ),
        ]

    def __str__(self):
        return f"WO {self.work_order_id} ({self.status})"


class FactWorkOrderOriginal(models.Model):
    """A work order exactly as first received, kept before any correction (R22–R24) touches it."""

    work_order_original_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="pw")
    work_order_id = models.BigIntegerField()
    received_at = models.DateTimeField()
    sync_run_id = models.BigIntegerField(null=True, blank=True)
    unit_id = models.BigIntegerField(null=True, blank=True)
    building_id = models.BigIntegerField(null=True, blank=True)
    unit_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=128, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "fact_work_orders_original"
        constraints = [
            models.UniqueConstraint(fields=["work_order_id", "source_system"], name="fwo_original_unique"),
        ]

    def __str__(self):
        return f"WO {self.work_order_id} as received {self.received_at:%Y-%m-%d}"


class FactLease(SCD2Model):
    lease_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="pw")
    lease_id = models.BigIntegerField()
    building_id = models.BigIntegerField(null=True, blank=True)
    unit_id = models.BigIntegerField(null=True, blank=True)
    primary_contact_id = models.BigIntegerField(null=True, blank=True)
    tenant_contact_ids = models.JSONField(default=list, blank=True)
    name = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=64, blank=True, default="")
    active = models.BooleanField(default=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    move_in_date = models.DateField(null=True, blank=True)
    move_out_date = models.DateField(null=True, blank=True)
    building_key = _dim_fk(DimBuilding, "building_key")
    unit_key = _dim_fk(DimUnit, "unit_key")
    tenant_key = _dim_fk(DimTenant, "tenant_key")

    SCD_NATURAL_KEY = ("source_system", "lease_id")
    SCD_TYPE2_FIELDS = (
        "building_id", "unit_id", "primary_contact_id", "tenant_contact_ids", "status", "active",
        "end_date", "move_out_date",
    )
    SCD_TYPE1_FIELDS = ("name", "start_date", "move_in_date", "building_key", "unit_key", "tenant_key")

    class Meta:
        db_table = "fact_leases"
        constraints = scd2_constraints("fact_leases", "lease_id")
        indexes = scd2_indexes("fact_leases", "lease_id")

    def __str__(self):
        return f"Lease {self.lease_id} ({self.status})"


class FactJob(SCD2Model):
    job_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="sf")
    job_id = models.BigIntegerField()
    number = models.CharField(max_length=64, blank=True, default="")
    customer_id = models.BigIntegerField(null=True, blank=True)
    check_number = models.CharField(max_length=128, blank=True, default="")
    po_number = models.CharField(max_length=128, blank=True, default="")
    # The PropertyWare work order this job was created for, when known.
    work_order_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=128, blank=True, default="")
    status_code = models.CharField(max_length=64, blank=True, default="")
    status_category = models.CharField(max_length=64, blank=True, default="")
    category = models.CharField(max_length=128, blank=True, default="")
    priority = models.CharField(max_length=64, blank=True, default="")
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    customer_key = _dim_fk(DimCustomer, "customer_key")
    work_order_key = _dim_fk(FactWorkOrder, "work_order_key")

    SCD_NATURAL_KEY = ("source_system", "job_id")
    SCD_TYPE2_FIELDS = (
        "customer_id", "work_order_id", "status", "status_code", "status_category", "category", "priority",
        "description",
    )
    SCD_TYPE1_FIELDS = (
        "number", "check_number", "po_number", "created_at", "updated_at", "closed_at", "customer_key",
        "work_order_key",
    )

    class Meta:
        db_table = "fact_jobs"
        constraints = scd2_constraints("fact_jobs", "job_id")
        indexes = scd2_indexes("fact_jobs", "job_id") + [
            models.Index(
                fields=["work_order_id"], condition=Q(is_current=True), name="fact_jobs_current_wo"
            ),
            models.Index(
                fields=["check_number"], condition=Q(is_current=True), name="fact_jobs_current_check"
            ),
        ]

    def __str__(self):
        return f"Job {self.number or self.job_id} ({self.status})"


class FactTransaction(models.Model):
    """An invoice (reporting only; not used by the sync)."""

    transaction_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="sf")
    invoice_id = models.BigIntegerField()
    job_id = models.BigIntegerField(null=True, blank=True)
    work_order_id = models.BigIntegerField(null=True, blank=True)
    portfolio_id = models.BigIntegerField(null=True, blank=True)
    building_id = models.BigIntegerField(null=True, blank=True)
    number = models.CharField(max_length=64, blank=True, default="")
    total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    is_paid = models.BooleanField(default=False)
    invoice_date = models.DateField(null=True, blank=True)
    date_key = _date_fk("date_key")

    class Meta:
        db_table = "fact_transactions"
        constraints = [
            models.UniqueConstraint(fields=["invoice_id", "source_system"], name="fact_transactions_unique"),
        ]

    def __str__(self):
        return f"Invoice {self.number or self.invoice_id}"
