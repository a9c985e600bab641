"""The PostgreSQL strategy of the SCD2 merge: one read of the open versions tells every record's fate, then
statements by surrogate key and one binary COPY of every new version straight into the table."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping

import msgspec
import psycopg
from django.db import connections
from django.db.models import Q
from psycopg import sql
from psycopg.types.json import set_json_dumps

from .scd_result import MergeMeta, MergeResult
from .scd_rows import Batch, Kind, RowSpec, read_batch

# The open versions' (key, values_hash, is_deleted) for the batch decide which records are skipped, new,
# or may change; for those that may, the stored row_hash (and the Type-1 values this batch leaves out, to
# carry them forward) is read by surrogate key. Changed versions are closed by surrogate key and their
# successors COPY'd with the new keys' first versions. No statement joins on the natural key, so no plan
# rests on the table's statistics (after ANALYZE of an emptied table an anti-join became quadratic).
# Only a Type-1-only change goes through a temporary table, analyzed, joined by surrogate key.
STAGE = sql.Identifier("_scd_stage")
META_COLUMNS = sql.SQL(
    "valid_from, valid_to, is_current, row_hash, values_hash, change_reason, sync_run_id, is_deleted"
)
# Natural keys per "= ANY(array)" lookup of open versions.
LOOKUP_CHUNK = 100_000
# New keys converted at a time (a column per field): bounds what is held at once.
COPY_CHUNK = 5_000
_dump_json = msgspec.json.Encoder().encode  # the converted values are plain JSON already
# The columns _tail() fills, in its order.
COPY_TAIL = ("valid_from", "is_current", "is_deleted", "change_reason", "sync_run_id")


def _cols(prefix: str, columns) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(prefix + "{}").format(c) for c in columns)


def merge_postgres(spec: RowSpec, records: Iterable[Mapping], meta: MergeMeta, *, using: str, full: bool,
                   scope: Q) -> MergeResult:
    """Read ``records`` into a batch and merge it. Where a statement needs nothing more from Python, it is
    sent in pipeline mode and the server runs it while Python goes on with the work that follows: the
    open versions of a full reconciliation are read while the records are fingerprinted, the stored hashes
    while the records that may have changed are converted, and versions are closed and tombstones written
    while the new versions are laid out for the COPY."""
    model = spec.model
    connection = connections[using]
    columns = [sql.Identifier(f.column) for f in spec.fields]
    names = {
        "table": sql.Identifier(model._meta.db_table),
        "stage": STAGE,
        "pk": sql.Identifier(model._meta.pk.column),
        "src": columns[0],
        "key": columns[1],
        "key_type": sql.SQL(spec.fields[1].db_type(connection) or ""),
        "pk_type": sql.SQL(model._meta.pk.rel_db_type(connection) or ""),  # type: ignore[attr-defined]
        "insert_columns": sql.SQL("{}, {}").format(_cols("", columns), META_COLUMNS),
    }
    connection.ensure_connection()
    pg = connection.connection
    # A plain psycopg cursor binds parameters server-side (Django's binds them into the SQL text), reads
    # rows without Django's per-row conversion, and carries its own JSON dumper; errors still reach the caller
    # as Django's.
    with connection.wrap_database_errors, psycopg.Cursor(pg) as raw, psycopg.Cursor(pg) as other:
        set_json_dumps(_dump_json, context=raw)  # JSON values are written as they are, by msgspec

        def run(template: str, params=None, cursor=raw, **extra) -> int:
            cursor.execute(sql.SQL(template).format(**names, **extra), params)
            return cursor.rowcount

        in_scope = None
        if full:  # the open versions in scope: what the batch holds is sorted against them
            with pg.pipeline():
                raw.execute(*_open_in_scope(model, using, scope))
                batch = read_batch(spec, records)
                in_scope = raw.fetchall()
        else:
            batch = read_batch(spec, records)
        omitted = [p for p in spec.type1_positions if p not in batch.present_type1]
        new_keys, maybe, absent = _open_versions(raw, batch, names, in_scope)
        changed_pks: list[int] = []
        changed_keys: list[tuple] = []
        rehash: list[tuple] = []  # (key, pk): same Type-2 hash, Type-1 values or fingerprint may differ
        carried: dict[int, tuple] = {}
        if maybe:
            with pg.pipeline():
                _send_stored(raw, names, [pk for _, pk in maybe], [columns[p] for p in omitted])
                for key, _ in maybe:  # converted and hashed while the server looks the versions up
                    batch.row_hash(key)
                stored = {pk: rest for pk, *rest in raw.fetchall()}
            json_at = [i for i, p in enumerate(omitted, start=2) if p in spec.json_positions]
            for key, pk in maybe:
                row_hash, is_deleted, *rest = stored[pk]
                if is_deleted or row_hash != batch.row_hash(key):
                    changed_pks.append(pk)
                    changed_keys.append(key)
                    for i in json_at:  # jsonb is read as its text (Django's loader); written as a value
                        if isinstance(rest[i - 2], str):
                            rest[i - 2] = json.loads(rest[i - 2])
                    carried[pk] = tuple(rest)
                else:
                    rehash.append((key, pk))
        changed_rows: list[tuple] = []
        if changed_pks or absent:
            with pg.pipeline():
                if changed_pks:
                    # Close before inserting: the partial unique indexes allow one open version per key.
                    run(
                        "UPDATE {table} SET valid_to = %s, is_current = false"
                        " WHERE {pk} = ANY(%s::{pk_type}[]) AND valid_to IS NULL",
                        [meta.at, _array(changed_pks)],
                    )
                if absent:  # keys in scope the batch lacks: closed, and a tombstone starts
                    run(
                        "WITH closed AS ("
                        " UPDATE {table} AS t SET valid_to = %s, is_current = false"
                        " WHERE t.{pk} = ANY(%s::{pk_type}[]) AND t.is_current RETURNING t.*)"
                        " INSERT INTO {table} ({insert_columns})"
                        " SELECT {values}, %s, NULL, false, c.row_hash, c.values_hash, %s, %s, true"
                        " FROM closed AS c",
                        [meta.at, _array(absent), meta.at, meta.change_reason, meta.sync_run_id],
                        cursor=other,
                        values=_cols("c.", columns),
                    )
                changed_rows = _changed_rows(batch, changed_keys, changed_pks, omitted, carried, meta)
            if changed_pks and raw.rowcount != len(changed_pks):
                raise RuntimeError(f"{spec.label}: open versions changed under the merge")
        if new_keys or changed_rows:
            _copy_rows(raw, batch, new_keys, changed_rows, names["table"], meta)

        type1_updated = _update_in_place(run, raw, batch, rehash, columns, names) if rehash else 0
        tombstoned = other.rowcount if absent else 0

    inserted, changed = len(new_keys), len(changed_keys)
    return MergeResult(
        inserted=inserted,
        changed=changed,
        type1_updated=type1_updated,
        unchanged=len(batch) - inserted - changed - type1_updated,
        tombstoned=tombstoned,
    )


def _open_in_scope(model, using: str, scope: Q) -> tuple:
    """The query (and its parameters) of every open version in scope: key, surrogate key, fingerprint and
    whether it is a tombstone."""
    source_name, id_name = (model._meta.get_field(n).attname for n in model.SCD_NATURAL_KEY)
    open_in_scope = model._default_manager.db_manager(using).filter(valid_to__isnull=True).filter(scope)
    rows = open_in_scope.values_list(source_name, id_name, "pk", "values_hash", "is_deleted")
    # Read through psycopg directly: Django's row conversion costs more than the read for a whole table.
    return rows.query.sql_with_params()


def _open_versions(raw, batch: Batch, names, in_scope: list[tuple] | None):
    """Each record's fate from the open version (live or tombstone) of its key, read once: (keys with no
    open version, [(key, pk)] whose fingerprint differs or whose open version is a tombstone, and for a
    full reconciliation the surrogate keys of current rows in scope the batch lacks).

    A full reconciliation has read the open versions in scope (``in_scope``), which serves both; the batch's
    keys not among them (new, or outside the scope) are then looked up by natural key. Records are sorted as
    the rows arrive, in one pass: a record found with its fingerprint unchanged is done with.
    """
    pending = dict(batch.fingerprints)  # records whose key has no open version read so far
    take = pending.pop
    maybe: list[tuple] = []
    absent: list[int] = []
    for source_system, source_id, pk, values_hash, is_deleted in in_scope or ():
        given = take((source_system, source_id), None)
        if given is None:
            if not is_deleted:
                absent.append(pk)
        elif given != values_hash or is_deleted:
            maybe.append(((source_system, source_id), pk))
    if pending and not _any_open(raw, names):
        return list(pending), maybe, absent  # a first load: no key has an open version to look up
    ids_by_system: dict[str, list] = {}
    for source_system, source_id in pending:
        ids_by_system.setdefault(source_system, []).append(source_id)
    query = sql.SQL(
        "SELECT {key}, {pk}, values_hash, is_deleted FROM {table}"
        " WHERE valid_to IS NULL AND {src} = %s AND {key} = ANY(%s::{key_type}[])"
    ).format(**names)
    for source_system, ids in ids_by_system.items():
        for start in range(0, len(ids), LOOKUP_CHUNK):
            raw.execute(query, [source_system, _array(ids[start: start + LOOKUP_CHUNK])])
            for source_id, pk, values_hash, is_deleted in raw.fetchall():
                key = (source_system, source_id)
                if take(key) != values_hash or is_deleted:
                    maybe.append((key, pk))
    return list(pending), maybe, absent


def _any_open(raw, names) -> bool:
    """Whether the table holds any open version: one step along the partial unique index of open versions,
    which spares a first load looking up every key of its batch."""
    raw.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {table} WHERE valid_to IS NULL)").format(**names))
    return raw.fetchone()[0]


def _send_stored(raw, names, pks: list[int], carried) -> None:
    """Ask for (pk, row_hash, is_deleted, *carried columns) of the given versions."""
    extra = sql.SQL("").join(sql.SQL(", {}").format(c) for c in carried)
    raw.execute(
        sql.SQL(
            "SELECT {pk}, row_hash, is_deleted{extra} FROM {table} WHERE {pk} = ANY(%s::{pk_type}[])"
        ).format(**names, extra=extra),
        [_array(pks)],
    )


def _update_in_place(run, raw, batch: Batch, rehash: list[tuple], columns, names) -> int:
    """Type-1 columns the batch names, overwritten on the current version where they differ; where only
    the fingerprint differs (it covered other fields or spellings) it alone is brought up to date. Returns
    how many versions had a Type-1 change."""
    spec = batch.spec
    named = [columns[p] for p in batch.present_type1]
    run("DROP TABLE IF EXISTS {stage}")
    run(
        "CREATE TEMP TABLE {stage} ON COMMIT DROP AS"
        " SELECT {pk}, {named} values_hash FROM {table} WITH NO DATA",
        named=sql.SQL("").join(sql.SQL("{}, ").format(c) for c in named),
    )
    names_out = [spec.model._meta.pk.column, *(spec.fields[p].column for p in batch.present_type1),
                 "values_hash"]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        STAGE, sql.SQL(", ").join(map(sql.Identifier, names_out))
    )
    oids = _column_types(raw, spec.model._meta.db_table)
    fingerprints, positions = batch.fingerprints, batch.present_type1
    with raw.copy(statement) as copy:
        copy.set_types([oids[name] for name in names_out])
        for key, pk in rehash:
            row = batch.row(key)
            copy.write_row((pk, *(row[p] for p in positions), fingerprints[key]))
    # Autovacuum never analyzes a temporary table; the joins below only need the key's statistics.
    run("ANALYZE {stage} ({pk})")
    updated = 0
    if named:
        updated = run(
            "UPDATE {table} AS t SET {assignments}, values_hash = s.values_hash FROM {stage} AS s"
            " WHERE t.{pk} = s.{pk} AND t.is_current AND ({differs})",
            assignments=sql.SQL(", ").join(sql.SQL("{0} = s.{0}").format(c) for c in named),
            differs=sql.SQL(" OR ").join(sql.SQL("t.{0} IS DISTINCT FROM s.{0}").format(c) for c in named),
        )
    run(
        "UPDATE {table} AS t SET values_hash = s.values_hash FROM {stage} AS s"
        " WHERE t.{pk} = s.{pk} AND t.is_current AND t.values_hash <> s.values_hash"
    )
    run("DROP TABLE {stage}")
    return updated


def _column_types(raw, table: str) -> dict[str, int]:
    raw.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass", [table])
    return dict(raw.fetchall())


def _array(ids: list[int]) -> str:
    """Integer ids as one array literal: adapting a Python list element by element is slower."""
    return "{" + ",".join(map(str, ids)) + "}"


def _changed_rows(batch: Batch, changed_keys: list[tuple], changed_pks: list[int], omitted: list[int],
                  carried: dict[int, tuple], meta: MergeMeta) -> list[tuple]:
    """The successors of the closed versions, as COPY rows: converted and hashed to compare them already,
    with the Type-1 values this batch does not name carried over from the closed version."""
    fingerprints, tail = batch.fingerprints, _tail(meta)
    rows = []
    for key, pk in zip(changed_keys, changed_pks, strict=True):
        row = batch.row(key)
        if omitted:
            for position, value in zip(omitted, carried[pk], strict=True):
                row[position] = value
        rows.append((*row, batch.row_hash(key), fingerprints[key], *tail))
    return rows


def _tail(meta: MergeMeta) -> tuple:
    """valid_from, is_current, is_deleted, change_reason and sync_run_id of a new open version."""
    return (meta.at, True, False, meta.change_reason, meta.sync_run_id)


def _copy_rows(raw, batch: Batch, new_keys: list[tuple], changed_rows: list[tuple], table,
               meta: MergeMeta) -> None:
    """COPY the new keys' first versions, converted and hashed here, and the changed keys' successors, in
    binary straight into the versioned table, through psycopg 3's copy protocol (its C row writer costs
    less than formatting COPY text in Python, even a column at a time)."""
    spec = batch.spec
    names = [*(f.column for f in spec.fields), "row_hash", "values_hash", *COPY_TAIL]
    tail = _tail(meta)
    oids = _column_types(raw, spec.model._meta.db_table)  # binary COPY needs every column's type
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, names))
    )
    records, fingerprints, row_hash = batch.records, batch.fingerprints, spec.row_hash
    with raw.copy(statement) as copy:
        copy.set_types([oids[name] for name in names])
        write = copy.write_row
        # New keys were never converted: runs of records of one kind are converted a column at a time.
        for kind, keys in _runs(new_keys, records):
            columns = batch.convert_columns(kind, [records[key][1] for key in keys])
            for key, row in zip(keys, zip(*columns, strict=True), strict=True):
                write((*row, row_hash(row), fingerprints[key], *tail))
        for row in changed_rows:
            write(row)


def _runs(keys: list[tuple], records: dict) -> Iterator[tuple[Kind, list[tuple]]]:
    """Consecutive keys whose records are of one kind, at most COPY_CHUNK at a time, in order."""
    if not keys:
        return
    kind: Kind = records[keys[0]][0]
    run: list[tuple] = []
    for key in keys:
        found = records[key][0]
        if found is not kind or len(run) == COPY_CHUNK:
            yield kind, run
            kind, run = found, []
        run.append(key)
    yield kind, run
