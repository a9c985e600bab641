"""Review queues staff work through (UnitCorrection, DuplicateCandidate) and the dedup decision log
DuplicateDetectionLog [duplicate_detection_log] (business rules §6, §8). Work-order and run ids are plain
integers: the warehouse and run tables are joined by natural key.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["DuplicateCandidate", "DuplicateDetectionLog", "UnitCorrection"]


class UnitCorrection(models.Model):
    """A work order whose unit was cleared by unit validation (R24).

    held: waiting for staff (safe mode on, so its job is not pushed); corrected: staff set the right
    unit; released: pushed building-level (staff said so, or safe mode was off).
    """

    class State(models.TextChoices):
        HELD = "held", "Held for correction"
        CORRECTED = "corrected", "Corrected"
        RELEASED = "released", "Released building-level"

    work_order_id = models.BigIntegerField(db_index=True)
    building_id = models.BigIntegerField(null=True, blank=True)
    original_unit_id = models.BigIntegerField(help_text="The unit id PropertyWare sent, before clearing.")
    problem_code = models.CharField(max_length=32)
    problem = models.CharField(max_length=255, help_text="Why the unit was cleared.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.HELD, db_index=True)
    corrected_unit_id = models.BigIntegerField(null=True, blank=True)
    sync_run_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True,
                              help_text="Why staff decided as they did (or the automatic reason).")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "unit correction"
        constraints = [
            # The same bad unit on the same work order is one case, however often it is pulled again.
            models.UniqueConstraint(fields=["work_order_id", "original_unit_id"],
                                    name="unit_correction_one_per_bad_unit"),
        ]

    def __str__(self) -> str:
        return f"WO {self.work_order_id}: unit {self.original_unit_id} ({self.state})"


class DuplicateDetectionLog(models.Model):
    """One dedup decision for one work order before a job is created (R32)."""

    work_order_id = models.BigIntegerField(db_index=True)
    sf_job_id = models.BigIntegerField(null=True, blank=True, help_text="The SF job it matched, if any.")
    rule = models.CharField(max_length=32, help_text="mapping, check_number, temporal, review or none.")
    score = models.FloatField()
    decision = models.CharField(max_length=16, help_text="create, duplicate or review.")
    reason = models.TextField()
    sync_run_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "duplicate_detection_log"
        ordering = ["-created_at", "-id"]
        verbose_name = "duplicate detection"

    def __str__(self) -> str:
        return f"WO {self.work_order_id}: {self.decision} ({self.rule}, {self.score:.2f})"


class DuplicateCandidate(models.Model):
    """A work order that probably duplicates an existing SF job: not pushed until staff decide.

    linked: it is that job (the work order takes its id); pushed: it is not, create a job for it.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending review"
        LINKED = "linked", "Linked to the existing job"
        PUSHED = "pushed", "Not a duplicate: push"

    work_order_id = models.BigIntegerField(db_index=True)
    sf_job_id = models.BigIntegerField()
    rule = models.CharField(max_length=32)
    score = models.FloatField()
    reason = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    sync_run_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "duplicate candidate"
        constraints = [
            models.UniqueConstraint(fields=["work_order_id", "sf_job_id"], name="duplicate_candidate_pair"),
        ]

    def __str__(self) -> str:
        return f"WO {self.work_order_id} ~ job {self.sf_job_id} ({self.state})"
