"""Helpers the pull steps share: batching a stream, merging a batch with its counts, reading current rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from django.conf import settings

from warehouse.scd import merge

__all__ = [
    "BY_ID_UP_TO",
    "Lookup",
    "load",
    "batch_size",
    "chunks",
    "count_merge",
    "current_rows",
    "date_key",
    "text",
    "version_keys",
]


#: Up to this many ids, rows are read by id; more (a first run, or most of a table), the whole table is
#: read in one pass rather than IN lists of thousands of ids.
BY_ID_UP_TO = 500


class Lookup:
    """Rows by key for a step that knows most of the keys it will ask for up front.

    ``read(keys)`` returns ``{key: value}`` for those keys (``None``: every key). ``prefetch(keys)`` reads
    the keys not read yet, by id up to ``BY_ID_UP_TO`` of them and the whole table beyond; ``get`` reads a
    key it was not given up front on its own (a re-read can move a work order to another building).
    """

    def __init__(self, read: Callable[[list | None], Mapping]) -> None:
        self._read = read
        self._rows: dict = {}
        self._asked: set = set()
        self._whole = False

    def prefetch(self, keys: Iterable) -> None:
        if self._whole:
            return
        missing = {k for k in keys if k is not None} - self._asked
        if len(missing) > BY_ID_UP_TO:
            self._rows = dict(self._read(None))
            self._whole = True
            return
        self._asked |= missing
        for part in chunks(sorted(missing), 500):
            self._rows.update(self._read(part))

    def get(self, key, default=None):
        if key is not None and key not in self._asked:
            self.prefetch([key])
        return self._rows.get(key, default)

    def setdefault(self, key, default):
        """The value kept for ``key`` (read first, as ``get`` would), or ``default``, now kept for it."""
        self.get(key)
        return self._rows.setdefault(key, default)


def batch_size() -> int:
    return max(1, int(settings.SYNC.get("BATCH_SIZE", 500)))


def chunks(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def count_merge(ctx, result, entity: str) -> None:
    """Add a MergeResult to the step's counts as ``<entity>_<outcome>``."""
    for outcome in ("inserted", "changed", "type1_updated", "tombstoned"):
        value = getattr(result, outcome, 0)
        if value:
            ctx.count(f"{entity}_{outcome}", value)


def current_rows(model, id_field: str, ids: Iterable | None = None, fields: Iterable[str] = ()) -> dict:
    """``{source id: {field: value}}`` of the current (live) versions, optionally for some ids only."""
    qs = model.objects.filter(is_current=True)
    names = [id_field, *fields]
    if ids is None:
        return {row[id_field]: row for row in qs.values(*names).iterator(chunk_size=2000)}
    out: dict = {}
    for part in chunks(list(ids), 500):
        out.update({row[id_field]: row for row in qs.filter(**{f"{id_field}__in": part}).values(*names)})
    return out


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def date_key(value: date | datetime | None) -> int:
    """dim_date key (YYYYMMDD) of a date; 0 is the "unknown" row."""
    if value is None:
        return 0
    return value.year * 10000 + value.month * 100 + value.day


def version_keys(model, id_field: str, ids: Iterable) -> dict:
    """``{source id: surrogate key}`` of the current versions: the dimension row valid at load time."""
    pk = model._meta.pk.attname
    wanted = {i for i in ids if i is not None}
    out: dict = {}
    for part in chunks(sorted(wanted), 500):
        out.update(
            model.objects.filter(is_current=True, **{f"{id_field}__in": part}).values_list(id_field, pk)
        )
    return out


def load(ctx, model, records, *, full: bool | None = None, system: str = "pw", change_reason: str = ""):
    """Merge a batch for a step: its run id and name on the versions; with ``full`` the batch is the whole
    set of ``system``'s records, so current rows missing from it are tombstoned."""
    full = ctx.full if full is None else full
    return merge(
        model,
        records,
        sync_run_id=ctx.run_id,
        change_reason=change_reason or ctx.name,
        full=full,
        scope={"source_system": system} if full else None,
    )
