"""The abstract SCD Type 2 base model and the constraint/index helpers every versioned table uses.
Version rules are kept by warehouse.scd.merge and enforced by the database where it can.
"""
from __future__ import annotations

from django.db import models
from django.db.models import F, Q

SOURCE_SYSTEMS = [("pw", "PropertyWare"), ("sf", "ServiceFusion")]


class SCD2QuerySet(models.QuerySet):
    def current(self):
        """Live current versions (excludes tombstones)."""
        return self.filter(is_current=True)

    def as_of(self, ts):
        """The version of every record valid at ``ts``, tombstoned records left out."""
        return self.filter(valid_from__lte=ts, is_deleted=False).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=ts)
        )

    def open_versions(self):
        """The latest version of every record ever seen: live rows and tombstones."""
        return self.filter(valid_to__isnull=True)


# Version rules:
# - the live version of a record has ``is_current=True`` and ``valid_to`` NULL; at most one per natural key;
# - a closed version has ``valid_to`` set and ``valid_to > valid_from``;
# - a record deleted at the source (found by a full reconciliation) ends with a *tombstone*: an open-ended
#   version (``valid_to`` NULL) with ``is_deleted=True`` and ``is_current=False``, so ``is_current=True``
#   always means "exists now"; if the record re-appears the tombstone is closed and a live version starts.
class SCD2Model(models.Model):
    """Columns every versioned table carries; subclasses declare SCD_NATURAL_KEY and the field lists."""

    SCD_NATURAL_KEY: tuple[str, ...] = ()
    SCD_TYPE2_FIELDS: tuple[str, ...] = ()
    SCD_TYPE1_FIELDS: tuple[str, ...] = ()

    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    is_current = models.BooleanField(default=True)
    row_hash = models.CharField(max_length=64)
    # Fingerprint of every value as last written (the Type-2 fields and the Type-1 fields that batch named,
    # with their names): a merge skips records whose fingerprint is unchanged without reading their values.
    values_hash = models.CharField(max_length=64, blank=True, default="")
    change_reason = models.CharField(max_length=200, blank=True, default="")
    # The sync run that wrote this version; a plain id because the warehouse never imports sync.
    sync_run_id = models.BigIntegerField(null=True, blank=True)
    is_deleted = models.BooleanField(default=False)

    objects = SCD2QuerySet.as_manager()

    class Meta:
        abstract = True


def scd2_constraints(table: str, source_id: str) -> list:
    """One current row and one open version per natural key; a sane validity range; flags consistent."""
    natural_key = (source_id, "source_system")  # id first: lookups by id alone can use the index
    return [
        models.UniqueConstraint(
            fields=natural_key, condition=Q(is_current=True), name=f"{table}_one_current"
        ),
        models.UniqueConstraint(
            fields=natural_key, condition=Q(valid_to__isnull=True), name=f"{table}_one_open"
        ),
        models.CheckConstraint(
            condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
            name=f"{table}_valid_range",
        ),
        # current ⇒ open and not deleted; an open non-current row is a tombstone.
        models.CheckConstraint(
            condition=Q(is_current=False, valid_to__isnull=False)
            | Q(is_current=False, is_deleted=True)
            | Q(is_current=True, valid_to__isnull=True, is_deleted=False),
            name=f"{table}_current_flags",
        ),
    ]


def scd2_indexes(table: str, source_id: str) -> list:
    """History lookups: a record's versions in order, and as-of scans."""
    return [models.Index(fields=[source_id, "source_system", "valid_from"], name=f"{table[:18]}_nk_from")]
