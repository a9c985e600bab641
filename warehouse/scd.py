"""The one SCD Type 2 merge every versioned warehouse table is loaded through: ``merge(model, records,
at=…, full=…)``, set-based in one transaction (warehouse.scd_postgres on PostgreSQL, the ORM elsewhere)."""
from __future__ import annotations

import datetime as dt
import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from .models.base import SCD2Model
from .scd_postgres import merge_postgres
from .scd_result import MergeMeta, MergeResult
from .scd_rows import Batch, MergeError, read_batch, spec_for

# A new key inserts a version; a changed Type-2 hash closes the open version (valid_to = at) and inserts
# a new one; a Type-1-only change updates the current version in place; an unchanged record writes nothing.
# With full=True the batch is the complete set within ``scope``: current rows absent from it are closed and a
# tombstone version (is_deleted=True) starts at ``at``. Each version stores row_hash (sha256 over the Type-2
# values) and values_hash (a fingerprint of the record as given), so a record given exactly as last time is
# skipped unread. Write versioned tables only through this merge: an UPDATE made elsewhere leaves both
# hashes stale and the merge would not see it.
__all__ = ["MergeError", "MergeResult", "merge"]

# Rows per IN (...) lookup and per bulk statement on the ORM path: well under SQLite's variable limit.
CHUNK = 500


def merge(
    model: type[SCD2Model],
    records: Iterable[Mapping],
    *,
    at: dt.datetime | None = None,
    sync_run_id: int | None = None,
    change_reason: str = "",
    full: bool = False,
    scope: Mapping | Q | None = None,
) -> MergeResult:
    """Merge a batch of records (dicts keyed by field name, holding the natural key) into ``model``.

    A record may leave out Type-1 fields: fields no record of the batch names are left as they are (and
    carried into new versions); Type-2 fields left out take the field's default.
    """
    spec = spec_for(model)
    at = at or timezone.now()
    if not isinstance(at, dt.datetime) or timezone.is_naive(at):
        raise MergeError(f"merge time must be an aware datetime, got {at!r}")
    if scope is not None and not full:
        raise MergeError("scope only applies to a full reconciliation (full=True)")
    using = router.db_for_write(model)
    meta = MergeMeta(at=at, sync_run_id=sync_run_id, change_reason=change_reason or "")
    scope_q = _scope_q(model, scope)
    try:
        with _no_cycle_collection():
            return _merge_atomic(spec, records, meta, using=using, full=full, scope=scope_q)
    except IntegrityError as exc:
        if "valid_range" in str(exc):
            raise MergeError(
                f"{spec.label}: merge time {at.isoformat()} is not after the valid_from of a version it "
                "would close (merges of one record must move forward in time)"
            ) from exc
        raise


def _merge_atomic(spec, records, meta: MergeMeta, *, using: str, full: bool, scope: Q) -> MergeResult:
    # The batch lives in this frame only, so it is freed before the cycle collector resumes: otherwise the
    # collector's first pass walks all of it (a tenth of an incremental merge) just before it goes.
    with transaction.atomic(using=using):
        if connections[using].vendor == "postgresql":  # reads the batch itself, while the server works
            return merge_postgres(spec, records, meta, using=using, full=full, scope=scope)
        return _merge_orm(read_batch(spec, records), meta, using=using, full=full, scope=scope)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The merge allocates a few tuples and lists per record and none of them forms a cycle, yet every
    allocation counts towards the cycle collector, whose full passes walk the whole batch again and again:
    half the merge's Python time at 100k records. Collection resumes (if it was on) when the merge ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scope_q(model, scope) -> Q:
    if scope is None:
        return Q()
    if isinstance(scope, Q):
        return scope
    if not isinstance(scope, Mapping):
        raise MergeError(f"scope must be a mapping of field lookups or a Q, got {type(scope).__name__}")
    return Q(**scope)


# --- ORM path (SQLite and any other backend) ------------------------------------------------------


def _merge_orm(batch: Batch, meta: MergeMeta, *, using: str, full: bool, scope: Q) -> MergeResult:
    spec = batch.spec
    model = spec.model
    manager = model._default_manager.db_manager(using)
    attnames = [f.attname for f in spec.fields]
    pk_name = model._meta.pk.attname
    id_name = attnames[1]

    open_rows = _fetch_open(manager, batch, attnames, pk_name)
    to_close: list[int] = []
    to_insert: list[SCD2Model] = []
    type1_objs: list[SCD2Model] = []
    rehashed: list[SCD2Model] = []
    counts: defaultdict[str, int] = defaultdict(int)
    t1_names = [attnames[p] for p in batch.present_type1]

    for key, fingerprint in batch.fingerprints.items():
        current = open_rows.get(key)
        if current is not None and current["values_hash"] == fingerprint and not current["is_deleted"]:
            counts["unchanged"] += 1  # given exactly as last time: nothing to read or write
            continue
        row = batch.row(key)
        hashes = (batch.row_hash(key), fingerprint)
        if current is None:
            to_insert.append(_version(model, attnames, row, hashes, meta))
            counts["inserted"] += 1
        elif current["row_hash"] != hashes[0] or current["is_deleted"]:
            _check_forward(spec, current, meta.at)
            to_close.append(current[pk_name])
            merged = list(row)
            for position in spec.type1_positions:
                if position not in batch.present_type1:  # carry forward what this batch didn't name
                    merged[position] = current[attnames[position]]
            to_insert.append(_version(model, attnames, merged, hashes, meta))
            counts["changed"] += 1
        elif any(current[attnames[p]] != row[p] for p in batch.present_type1):
            obj = model(**{pk_name: current[pk_name], "values_hash": fingerprint})
            for p in batch.present_type1:
                setattr(obj, attnames[p], row[p])
            type1_objs.append(obj)
            counts["type1_updated"] += 1
        else:  # same values, fingerprinted over other fields: only the fingerprint is brought up to date
            rehashed.append(model(**{pk_name: current[pk_name], "values_hash": fingerprint}))
            counts["unchanged"] += 1

    if full:
        in_scope = manager.filter(is_current=True).filter(scope).values(
            pk_name, "valid_from", "row_hash", "values_hash", *attnames
        )
        for current in in_scope.iterator(chunk_size=2000):
            if (current[attnames[0]], current[id_name]) in batch:
                continue
            _check_forward(spec, current, meta.at)
            to_close.append(current[pk_name])
            # The tombstone keeps the last values and hashes; is_deleted alone marks it.
            values = [current[a] for a in attnames]
            tomb = _version(model, attnames, values, (current["row_hash"], current["values_hash"]), meta)
            tomb.is_current, tomb.is_deleted = False, True
            to_insert.append(tomb)
            counts["tombstoned"] += 1

    # Close before inserting: the partial unique indexes allow one open version per key at any moment.
    for start in range(0, len(to_close), CHUNK):
        manager.filter(pk__in=to_close[start: start + CHUNK]).update(valid_to=meta.at, is_current=False)
    if type1_objs:
        manager.bulk_update(type1_objs, [*t1_names, "values_hash"], batch_size=CHUNK)
    if rehashed:
        manager.bulk_update(rehashed, ["values_hash"], batch_size=CHUNK)
    if to_insert:
        manager.bulk_create(to_insert, batch_size=CHUNK)
    return MergeResult(**counts)


def _fetch_open(manager, batch: Batch, attnames: list[str], pk_name: str) -> dict[tuple, dict]:
    """The open version (live or tombstone) of every natural key in the batch, read in chunks."""
    ids_by_system: dict[str, list] = defaultdict(list)
    for source_system, source_id in batch.keys():
        ids_by_system[source_system].append(source_id)
    found: dict[tuple, dict] = {}
    columns = (pk_name, "row_hash", "values_hash", "is_deleted", "valid_from", *attnames)
    for source_system, ids in ids_by_system.items():
        for start in range(0, len(ids), CHUNK):
            lookup = {attnames[0]: source_system, f"{attnames[1]}__in": ids[start: start + CHUNK]}
            for row in manager.filter(valid_to__isnull=True, **lookup).values(*columns):
                found[(row[attnames[0]], row[attnames[1]])] = row
    return found


def _version(model, attnames, row, hashes: tuple[str, str], meta: MergeMeta):
    values = dict(zip(attnames, row, strict=True))
    return model(
        **values,
        valid_from=meta.at,
        valid_to=None,
        is_current=True,
        is_deleted=False,
        row_hash=hashes[0],
        values_hash=hashes[1],
        change_reason=meta.change_reason,
        sync_run_id=meta.sync_run_id,
    )


def _check_forward(spec, current: Mapping, at: dt.datetime) -> None:
    if current["valid_from"] >= at:
        raise MergeError(
            f"{spec.label} {current[spec.fields[1].attname]}: merge time {at.isoformat()} is not after "
            f"the open version's valid_from {current['valid_from'].isoformat()}"
        )
