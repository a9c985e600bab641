"""Mappings from PropertyWare portfolios, buildings, units and tenants to SF; the SF customer cache."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class CustomerMapping(models.Model):
    """Which ServiceFusion customer a PropertyWare portfolio or building is served under."""

    ENTITY_TYPES = [("portfolio", "Portfolio"), ("building", "Building")]
    METHODS = [
        ("created", "Created in ServiceFusion"),
        ("custom_field", "Matched by custom field"),
        ("exact_name", "Matched by exact name"),
        ("fuzzy_review", "Fuzzy match, reviewed"),
        ("manual", "Set by staff"),
        ("import", "Imported"),
    ]
    STATUSES = [
        ("mapped", "Mapped"), ("unmapped", "Unmapped"), ("review", "Needs review"), ("create", "To create"),
    ]

    customer_mapping_key = models.BigAutoField(primary_key=True)
    entity_type = models.CharField(max_length=16, choices=ENTITY_TYPES)
    pw_portfolio_id = models.BigIntegerField()
    pw_building_id = models.BigIntegerField(null=True, blank=True, help_text="Empty for portfolio rows")
    sf_customer_id = models.BigIntegerField(null=True, blank=True, help_text="Empty = unmapped")
    confidence = models.FloatField(default=0.0)
    method = models.CharField(max_length=16, choices=METHODS, blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default="unmapped")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(table_name="customer_mappings_history")

    class Meta:
        db_table = "customer_mappings"
        constraints = [
            # NULLs are distinct in a plain unique index, so portfolio rows get their own partial one.
            models.UniqueConstraint(
                fields=["entity_type", "pw_portfolio_id"],
                condition=Q(pw_building_id__isnull=True),
                name="customer_mappings_one_portfolio",
            ),
            models.UniqueConstraint(
                fields=["entity_type", "pw_portfolio_id", "pw_building_id"],
                condition=Q(pw_building_id__isnull=False),
                name="customer_mappings_one_building",
            ),
            models.CheckConstraint(
                condition=Q(entity_type="portfolio", pw_building_id__isnull=True)
                | Q(entity_type="building", pw_building_id__isnull=False),
                name="customer_mappings_entity_shape",
            ),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1), name="customer_mappings_confidence"
            ),
        ]
        indexes = [
            models.Index(fields=["pw_building_id"], name="customer_mappings_building"),
            models.Index(fields=["sf_customer_id"], name="customer_mappings_sf"),
        ]

    def __str__(self):
        target = self.sf_customer_id or "unmapped"
        if self.entity_type == "building":
            return f"building {self.pw_building_id} → {target}"
        return f"portfolio {self.pw_portfolio_id} → {target}"


class UnitMapping(models.Model):
    """Which ServiceFusion customer location a PropertyWare unit corresponds to."""

    STATUSES = [("mapped", "Mapped"), ("unmatched", "Unmatched")]

    unit_mapping_key = models.BigAutoField(primary_key=True)
    pw_unit_id = models.BigIntegerField(unique=True)
    pw_building_id = models.BigIntegerField(null=True, blank=True)
    sf_customer_id = models.BigIntegerField(null=True, blank=True)
    location_nickname = models.CharField(max_length=255, blank=True, default="")
    location_address = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default="unmatched")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "unit_mappings"
        indexes = [models.Index(fields=["pw_building_id"], name="unit_mappings_building")]

    def __str__(self):
        return f"unit {self.pw_unit_id} → {self.location_nickname or self.status}"


class TenantMapping(models.Model):
    """How a PropertyWare tenant was carried into ServiceFusion: a contact, or a child customer."""

    MODES = [("contact", "Contact on the building customer"), ("child_customer", "Child customer")]

    tenant_mapping_key = models.BigAutoField(primary_key=True)
    pw_contact_id = models.BigIntegerField()
    pw_lease_id = models.BigIntegerField(null=True, blank=True)
    sf_customer_id = models.BigIntegerField(null=True, blank=True)
    sf_contact_name = models.CharField(max_length=255, blank=True, default="")
    mode = models.CharField(max_length=16, choices=MODES, default="contact")
    sf_child_customer_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "tenant_mappings"
        constraints = [
            models.UniqueConstraint(fields=["pw_contact_id", "pw_lease_id"], name="tenant_mappings_unique"),
        ]

    def __str__(self):
        return f"contact {self.pw_contact_id} → {self.sf_contact_name or self.sf_child_customer_id}"


class SfCustomerCache(models.Model):
    """The last copy of a ServiceFusion customer read, with contacts, locations and custom fields."""

    sf_customer_cache_key = models.BigAutoField(primary_key=True)
    sf_customer_id = models.BigIntegerField(unique=True)
    name = models.CharField(max_length=255, blank=True, default="")
    parent_customer_id = models.BigIntegerField(null=True, blank=True)
    contacts = models.JSONField(default=list, blank=True)
    locations = models.JSONField(default=list, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        db_table = "sf_customer_cache"
        verbose_name_plural = "SF customer cache"

    def __str__(self):
        return f"{self.name} (SF customer {self.sf_customer_id})"
