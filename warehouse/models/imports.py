"""Customer-mapping files imported in the background (large files would time out in a web request)."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class MappingImport(models.Model):
    """One uploaded mapping file: checked (a dry run) in the background, imported once staff confirm."""

    class State(models.TextChoices):
        CHECKING = "checking", "Being checked"
        READY = "ready", "Checked: waiting for confirmation"
        INVALID = "invalid", "Has invalid rows: nothing imported"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed: nothing imported"

    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=16, help_text="Import format title, e.g. csv or xlsx.")
    content = models.BinaryField(editable=False, help_text="The uploaded file, kept until it is imported.")
    row_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CHECKING, db_index=True)
    preview = models.JSONField(default=dict, blank=True, help_text="Counts and invalid rows of the check.")
    result = models.JSONField(default=dict, blank=True, help_text="Counts of the import.")
    error = models.TextField(blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "mapping_imports"
        ordering = ["-created_at", "-id"]
        verbose_name = "mapping import"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_state_display()})"
