"""Dimension tables: portfolios, buildings, units, tenants, vendors, statuses, customers and dates."""
from __future__ import annotations

from django.db import models

from .base import SOURCE_SYSTEMS, SCD2Model, scd2_constraints, scd2_indexes

ADDRESS_FIELDS = ("address", "address2", "city", "state", "zip", "country")


class Address(models.Model):
    """A PropertyWare street address, as buildings and units carry it."""

    address = models.CharField(max_length=255, blank=True, default="")
    address2 = models.CharField(max_length=255, blank=True, default="")
    city = models.CharField(max_length=128, blank=True, default="")
    state = models.CharField(max_length=64, blank=True, default="")
    zip = models.CharField(max_length=32, blank=True, default="")
    country = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True


class DimPortfolio(SCD2Model):
    portfolio_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="pw")
    portfolio_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True, default="")
    abbreviation = models.CharField(max_length=64, blank=True, default="")
    active = models.BooleanField(default=True)
    owner_first_name = models.CharField(max_length=128, blank=True, default="")
    owner_last_name = models.CharField(max_length=128, blank=True, default="")
    owner_email = models.CharField(max_length=254, blank=True, default="")

    SCD_NATURAL_KEY = ("source_system", "portfolio_id")
    SCD_TYPE2_FIELDS = ("name", "abbreviation", "active")
    SCD_TYPE1_FIELDS = ("owner_first_name", "owner_last_name", "owner_email")

    class Meta:
        db_table = "dim_portfolio"
        constraints = scd2_constraints("dim_portfolio", "portfolio_id")
        indexes = scd2_indexes("dim_portfolio", "portfolio_id")

    def __str__(self):
        return f"{self.name or self.portfolio_id} (portfolio {self.portfolio_id})"


class DimBuilding(SCD2Model, Address):
    building_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="pw")
    building_id = models.BigIntegerField()
    portfolio_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=255, blank=True, default="")
    abbreviation = models.CharField(max_length=64, blank=True, default="")
    multi_unit = models.BooleanField(default=False)
    rentable = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    # The portfolio version valid when this building version was loaded (see warehouse.keys).
    portfolio_key = models.ForeignKey(
        DimPortfolio, null=True, blank=True, on_delete=models.PROTECT, db_column="portfolio_key",
        related_name="+",
    )

    SCD_NATURAL_KEY = ("source_system", "building_id")
    SCD_TYPE2_FIELDS = ("portfolio_id", "name", "abbreviation", "multi_unit", "rentable", "active")
    SCD_TYPE1_FIELDS = (*ADDRESS_FIELDS, "portfolio_key")

    class Meta:
        db_table = "dim_building"
        constraints = scd2_constraints("dim_building", "building_id")
        indexes = scd2_indexes("dim_building", "building_id")

    def __str__(self):
        return f"{self.name or self.building_id} (building {self.building_id})"


class DimUnit(SCD2Model, Address):
    unit_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="pw")
    unit_id = models.BigIntegerField()
    building_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=255, blank=True, default="")
    abbreviation = models.CharField(max_length=64, blank=True, default="")
    active = models.BooleanField(default=True)
    building_key = models.ForeignKey(
        DimBuilding, null=True, blank=True, on_delete=models.PROTECT, db_column="building_key",
        related_name="+",
    )

    SCD_NATURAL_KEY = ("source_system", "unit_id")
    SCD_TYPE2_FIELDS = ("building_id", "name", "abbreviation", "active")
    SCD_TYPE1_FIELDS = (*ADDRESS_FIELDS, "building_key")

    class Meta:
        db_table = "dim_unit"
        constraints = scd2_constraints("dim_unit", "unit_id")
        indexes = scd2_indexes("dim_unit", "unit_id") + [
            models.Index(fields=["building_id"], name="dim_unit_building"),
        ]

    def __str__(self):
        return f"{self.name or self.unit_id} (unit {self.unit_id})"


class DimTenant(SCD2Model):
    tenant_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="pw")
    contact_id = models.BigIntegerField()
    first_name = models.CharField(max_length=128, blank=True, default="")
    last_name = models.CharField(max_length=128, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=64, blank=True, default="")
    lease_id = models.BigIntegerField(null=True, blank=True)
    is_primary = models.BooleanField(default=False)

    SCD_NATURAL_KEY = ("source_system", "contact_id")
    SCD_TYPE2_FIELDS = ("first_name", "last_name", "lease_id", "is_primary")
    SCD_TYPE1_FIELDS = ("email", "phone")

    class Meta:
        db_table = "dim_tenant"
        constraints = scd2_constraints("dim_tenant", "contact_id")
        indexes = scd2_indexes("dim_tenant", "contact_id")

    def __str__(self):
        return f"{self.first_name} {self.last_name} (contact {self.contact_id})".strip()


class DimVendor(SCD2Model):
    vendor_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="pw")
    vendor_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True, default="")
    company_name = models.CharField(max_length=255, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=64, blank=True, default="")
    active = models.BooleanField(default=True)
    sf_tech_id = models.BigIntegerField(null=True, blank=True)

    SCD_NATURAL_KEY = ("source_system", "vendor_id")
    SCD_TYPE2_FIELDS = ("name", "company_name", "email", "phone", "active")
    SCD_TYPE1_FIELDS = ("sf_tech_id",)

    class Meta:
        db_table = "dim_vendor"
        constraints = scd2_constraints("dim_vendor", "vendor_id")
        indexes = scd2_indexes("dim_vendor", "vendor_id")

    def __str__(self):
        return f"{self.name or self.company_name} (vendor {self.vendor_id})"


class DimStatus(models.Model):
    """A work-order or job status name as a source system spells it (not versioned)."""

    status_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="pw")
    name = models.CharField(max_length=128)
    is_open = models.BooleanField(default=True)
    sf_code = models.CharField(max_length=64, blank=True, default="")
    sf_category = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        db_table = "dim_status"
        constraints = [
            models.UniqueConstraint(fields=["source_system", "name"], name="dim_status_unique_name"),
        ]
        verbose_name_plural = "dim statuses"

    def __str__(self):
        return f"{self.name} ({self.source_system})"


class DimCustomer(SCD2Model):
    customer_key = models.BigAutoField(primary_key=True)
    source_system = models.CharField(max_length=2, choices=SOURCE_SYSTEMS, default="sf")
    customer_id = models.BigIntegerField()
    customer_name = models.CharField(max_length=255, blank=True, default="")
    parent_customer_id = models.BigIntegerField(null=True, blank=True)
    account_number = models.CharField(max_length=64, blank=True, default="")

    SCD_NATURAL_KEY = ("source_system", "customer_id")
    SCD_TYPE2_FIELDS = ("customer_name", "parent_customer_id")
    SCD_TYPE1_FIELDS = ("account_number",)

    class Meta:
        db_table = "dim_customer"
        constraints = scd2_constraints("dim_customer", "customer_id")
        indexes = scd2_indexes("dim_customer", "customer_id")

    def __str__(self):
        return f"{self.customer_name} (customer {self.customer_id})"


class DimDate(models.Model):
    """One row per calendar day, keyed YYYYMMDD; key 0 is the "unknown" date facts use for no date."""

    UNKNOWN_KEY = 0

    date_key = models.IntegerField(primary_key=True)
    date = models.DateField(null=True, blank=True, unique=True)
    year = models.SmallIntegerField(null=True, blank=True)
    quarter = models.SmallIntegerField(null=True, blank=True)
    month = models.SmallIntegerField(null=True, blank=True)
    day = models.SmallIntegerField(null=True, blank=True)
    weekday = models.SmallIntegerField(null=True, blank=True, help_text="0 = Monday")
    is_weekend = models.BooleanField(default=False)
    is_holiday = models.BooleanField(default=False)
    holiday_name = models.CharField(max_length=128, blank=True, default="")
    label = models.CharField(max_length=32)

    class Meta:
        db_table = "dim_date"
        ordering = ["date_key"]

    def __str__(self):
        return self.label
