"""Reconciliation passes (syncUnitsToSF, pushLeaseTenantsToSF) skipped when the digests of the rows they
read and wrote are those their last complete pass kept; see docs/sync-engine.md."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from django.db import connections
from django.db.models import QuerySet, TextField
from django.db.models.functions import MD5, Cast

from sync.engine.cursors import get_cursor
from warehouse.models import CustomerMapping, SfCustomerCache

__all__ = ["Reconciliation", "building_customers", "cached_customers", "digest", "versions"]

WORKFLOW = "reconcile"


def digest(querysets: Iterable[QuerySet]) -> str:
    """SHA-256 over the rows of ``querysets`` (``values_list`` ones), one set after another.

    Each set is reduced to one hash where its rows are: on PostgreSQL the database hashes the text of its
    rows in the queryset's order, so only 32 characters per set leave the server; elsewhere the rows are
    read and hashed here. Either way the same rows in another order hash differently, which can only make
    a pass run when it need not, never skip one that must run.
    """
    h = hashlib.sha256()
    for qs in querysets:
        h.update(_set_digest(qs).encode())
        h.update(b"\x00")  # ends one set, so rows cannot move from one to the next unnoticed
    return h.hexdigest()


def _set_digest(qs: QuerySet) -> str:
    db_connection = connections[qs.db]
    if db_connection.vendor == "postgresql":
        sql, params = qs.query.sql_with_params()
        with db_connection.cursor() as cursor:
            cursor.execute(
                # The subquery is Django's own SQL for the queryset, its values passed as parameters.
                # r::text is the row's own text form (NULLs included); the aggregate takes the rows in the
                # ordered subquery's order. The empty set hashes ''.
                f"SELECT md5(coalesce(string_agg(r::text, E'\\n'), '')) FROM ({sql}) AS r",  # noqa: S608
                params,
            )
            return cursor.fetchone()[0]
    h = hashlib.md5(usedforsecurity=False)
    for row in qs.iterator(chunk_size=5000):
        h.update(repr(row).encode())
        h.update(b"\n")
    return h.hexdigest()


def versions(model, key: str) -> QuerySet:
    """The current versions of a warehouse table: natural key, version (surrogate key), ``values_hash``
    (which a Type-1 change updates) and the tombstone flag."""
    pk = model._meta.pk.attname
    return (
        model.objects.filter(is_current=True)
        .order_by(key, pk)
        .values_list(key, pk, "values_hash", "is_deleted")
    )


def building_customers() -> QuerySet:
    """Every building's customer mapping, as stored."""
    return (
        CustomerMapping.objects.filter(entity_type="building")
        .order_by("pk")
        .values_list("pk", "pw_building_id", "sf_customer_id", "status")
    )


def cached_customers(field: str) -> QuerySet:
    """One JSON list of every cached SF customer (``locations``, ``contacts``), by its MD5."""
    return SfCustomerCache.objects.order_by("sf_customer_id").values_list(
        "sf_customer_id", MD5(Cast(field, TextField()))
    )


class Reconciliation:
    """``run(reconcile)``: the digests compared before the pass, kept after it.

    A whole-table comparison with ServiceFusion costs in proportion to the portfolio, not to what changed;
    a change anywhere in those rows (by a pull, by staff in the admin or by hand) makes a digest differ and
    the pass runs. ``--full`` always runs it.

    ``inputs`` and ``outputs`` give the querysets the pass reads and the ones it writes. The inputs are
    digested before the pass (a change while it runs then shows next time: the pass runs again, never
    the reverse) and the outputs after it, over what it wrote.
    """

    def __init__(self, ctx, name: str, *, inputs: Callable[[], Iterable[QuerySet]],
                 outputs: Callable[[], Iterable[QuerySet]]) -> None:
        self.ctx = ctx
        self.inputs, self.outputs = inputs, outputs
        self.cursor = get_cursor(WORKFLOW, name)
        self._inputs_digest = ""

    def run(self, reconcile: Callable[[object], None]) -> None:
        """``reconcile(ctx)`` unless nothing it depends on changed; the digests kept once it is done."""
        if self._unchanged():
            return
        reconcile(self.ctx)
        self._done()

    def _unchanged(self) -> bool:
        self._inputs_digest = digest(self.inputs())
        kept = self.cursor.state or {}
        if self.ctx.full or self.cursor.status != "ok" or kept.get("inputs") != self._inputs_digest:
            return False
        if kept.get("outputs") != digest(self.outputs()):
            return False
        self.ctx.count("unchanged", 1)
        return True

    def _done(self) -> None:
        self.cursor.state = {
            "inputs": self._inputs_digest,
            "outputs": digest(self.outputs()),
            "run_id": self.ctx.run_id,
        }
        self.cursor.status = "ok"
        self.cursor.save(update_fields=["state", "status", "updated_at"])
