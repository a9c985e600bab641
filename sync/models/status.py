"""Staff-editable mapping from ServiceFusion job statuses to the PropertyWare status written back
(business rules R27-R28), with an audited history of every edit.
"""
from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

__all__ = ["StatusMapping"]


# The open-status list for PropertyWare work orders is the flag PW_OPEN_STATUSES (sync.policies.flags); the
# policy that reads both lives in ``sync.policies.status``.
class StatusMapping(models.Model):
    """One SF job status: the PW status to write when a linked job reaches it, and whether it is closed.

    SF names can be renamed per account while codes are fixed, so a row is found by code first and by
    name (case-insensitively) when the code is unknown.
    """

    sf_status = models.CharField("SF status name", max_length=100)
    sf_code = models.CharField("SF status code", max_length=32, blank=True,
                               help_text="Fixed SF code (e.g. 06_ONS); empty when unknown.")
    sf_category = models.CharField("SF category", max_length=32, blank=True,
                                   help_text="SF status category, e.g. OPEN_ACTIVE, CLOSED, CANCELLED.")
    pw_status = models.CharField("PW status", max_length=100,
                                 help_text="Status written to the PropertyWare work order (SF wins).")
    is_closed = models.BooleanField(
        default=False,
        help_text="A closed status sets the PW completed date (and closes the work order when "
                  "PW_CLOSE_ON_SF_CLOSED is on); the work order then leaves the open set.",
    )
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(verbose_name="status mapping change")

    class Meta:
        ordering = ["sf_code", "sf_status"]
        verbose_name = "status mapping"
        constraints = [
            models.UniqueConstraint(Lower("sf_status"), name="status_mapping_unique_sf_status"),
            models.UniqueConstraint(fields=["sf_code"], condition=~models.Q(sf_code=""),
                                    name="status_mapping_unique_sf_code"),
        ]

    def __str__(self) -> str:
        return f"{self.sf_status} → {self.pw_status}"
