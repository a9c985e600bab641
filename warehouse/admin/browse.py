"""Read-only views of the warehouse tables staff look things up in (the sync writes them)."""
from __future__ import annotations

from typing import ClassVar

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from greenlight.admin_tools import ReadOnlyAdminMixin
from warehouse.models import (
    DimBuilding,
    DimPortfolio,
    DimUnit,
    FactJob,
    FactWorkOrder,
    SfCustomerCache,
    UnitMapping,
)


def history_link(work_order_id: int | None):
    """A link to the work order's history timeline (an analytics screen of the admin site)."""
    if work_order_id is None:
        return "—"
    url = reverse("admin:analytics_work_order", args=[work_order_id])
    return format_html('<a href="{}">history</a>', url)


class VersionedAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """SCD2 tables: every version is listed; the "current" filter narrows to the live ones."""

    list_filter: ClassVar[tuple[str, ...]] = ("is_current", "is_deleted")
    date_hierarchy = "valid_from"
    list_per_page = 50


@admin.register(DimPortfolio)
class DimPortfolioAdmin(VersionedAdmin):
    list_display = ("portfolio_id", "name", "abbreviation", "active", "is_current", "valid_from", "valid_to")
    search_fields = ("=portfolio_id", "name", "abbreviation")


@admin.register(DimBuilding)
class DimBuildingAdmin(VersionedAdmin):
    list_display = ("building_id", "name", "address", "city", "portfolio_id", "multi_unit", "active",
                    "is_current", "valid_from")
    list_filter = ("is_current", "multi_unit", "active", "is_deleted")
    search_fields = ("=building_id", "=portfolio_id", "name", "address", "city")


@admin.register(DimUnit)
class DimUnitAdmin(VersionedAdmin):
    list_display = ("unit_id", "name", "building_id", "address", "active", "is_current", "valid_from")
    search_fields = ("=unit_id", "=building_id", "name", "address")


@admin.register(FactWorkOrder)
class FactWorkOrderAdmin(VersionedAdmin):
    list_display = ("work_order_id", "number", "status", "building_id", "unit_id", "building_level",
                    "sf_job_id", "is_current", "valid_from", "valid_to", "change_reason", "history")
    list_filter = ("is_current", "building_level", "status", "priority")
    readonly_fields = ("history",)
    search_fields = ("=work_order_id", "=number", "=building_id", "=sf_job_id", "description")
    ordering = ("-valid_from",)

    @admin.display(description="History")
    def history(self, obj):
        return history_link(obj.work_order_id if obj.source_system == "pw" else None)


@admin.register(FactJob)
class FactJobAdmin(VersionedAdmin):
    list_display = ("job_id", "number", "check_number", "customer_id", "status", "work_order_id",
                    "created_at", "is_current", "work_order_history")
    list_filter = ("is_current", "status_category", "status")
    search_fields = ("=job_id", "number", "check_number", "=customer_id", "=work_order_id", "description")
    readonly_fields = ("work_order_history",)

    @admin.display(description="Work order history")
    def work_order_history(self, obj):
        return history_link(obj.work_order_id)


@admin.register(SfCustomerCache)
class SfCustomerCacheAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("sf_customer_id", "name", "parent_customer_id", "fetched_at")
    search_fields = ("=sf_customer_id", "name", "=parent_customer_id")
    list_per_page = 50


@admin.register(UnitMapping)
class UnitMappingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pw_unit_id", "pw_building_id", "sf_customer_id", "location_nickname", "status",
                    "updated_at")
    list_filter = ("status",)
    search_fields = ("=pw_unit_id", "=pw_building_id", "=sf_customer_id", "location_nickname")
