"""The daily customer-mapping coverage snapshot: how many active buildings and open work orders had an SF
customer on a day (R12; the business's target is 95 %)."""
from __future__ import annotations

from django.db import models

__all__ = ["CoverageSnapshot"]


class CoverageSnapshot(models.Model):
    """One row per day, rewritten by every measurement that day (the end of a sync run, or staff's "record
    now"), so the trend shows each day's last state."""

    day = models.DateField(unique=True)
    buildings = models.PositiveIntegerField(help_text="Current, active buildings.")
    buildings_mapped = models.PositiveIntegerField(help_text="Of those, with an SF customer.")
    open_work_orders = models.PositiveIntegerField(help_text="Current, open work orders.")
    open_work_orders_mapped = models.PositiveIntegerField(help_text="Of those, whose building is mapped.")
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "coverage_snapshots"
        ordering = ["day"]

    def __str__(self) -> str:
        return f"coverage on {self.day.isoformat()}"

    @staticmethod
    def percent(part: int, whole: int) -> float | None:
        """part / whole as a percentage to one decimal; None when there is nothing to cover."""
        return round(100.0 * part / whole, 1) if whole else None

    @property
    def buildings_percent(self) -> float | None:
        return self.percent(self.buildings_mapped, self.buildings)

    @property
    def work_orders_percent(self) -> float | None:
        return self.percent(self.open_work_orders_mapped, self.open_work_orders)
