"""The PostgreSQL strategy of the SCD2 merge: binary COPY of the rows that may change (new keys straight
into the table, known ones into an analyzed temporary table), then a few set-based statements."""
from __future__ import annotations

import psycopg
from django.db import connections
from django.db.models import Q
from psycopg import sql

from .scd_result import MergeMeta, MergeResult
from .scd_rows import Batch

# One read of the open versions' hashes (by natural key, chunked) tells which records can be skipped and
# which keys are new. The statements do the work whatever the batch size, with no join whose plan rests on
# the table's statistics: close changed versions and insert their successors (UPDATE … RETURNING feeding
# INSERT … SELECT), update Type-1 columns in place, and for a full reconciliation close absent rows and
# insert their tombstones.
STAGE = sql.Identifier("_scd_stage")
META_COLUMNS = sql.SQL(
    "valid_from, valid_to, is_current, row_hash, values_hash, change_reason, sync_run_id, is_deleted"
)
NEW_VERSION = sql.SQL("%s, NULL, true, s.row_hash, s.values_hash, %s, %s, false")
# Natural keys per "= ANY(array)" lookup of open versions.
LOOKUP_CHUNK = 100_000


def _cols(prefix: str, columns) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(prefix + "{}").format(c) for c in columns)


def merge_postgres(batch: Batch, meta: MergeMeta, *, using: str, full: bool, scope: Q) -> MergeResult:
    spec = batch.spec
    model = spec.model
    connection = connections[using]
    table = sql.Identifier(model._meta.db_table)
    columns = [sql.Identifier(f.column) for f in spec.fields]
    src, key = columns[0], columns[1]
    present = set(batch.present_type1)
    omitted = {p for p in spec.type1_positions if p not in present}
    names = {"table": table, "stage": STAGE, "src": src, "key": key, "new_version": NEW_VERSION}
    names["key_type"] = sql.SQL(spec.fields[1].db_type(connection) or "")
    names["insert_columns"] = sql.SQL("{}, {}").format(_cols("", columns), META_COLUMNS)
    names["on_key"] = sql.SQL("t.{key} = s.{key} AND t.{src} = s.{src}").format(**names)
    version_params = [meta.at, meta.change_reason, meta.sync_run_id]
    inserted = changed = type1_updated = tombstoned = 0

    def run(template: str, params=None, **extra):
        cursor.execute(sql.SQL(template).format(**names, **extra), params)
        return cursor.rowcount

    with connection.cursor() as cursor:
        known = _open_hashes(cursor, batch, names)
        fingerprints = batch.fingerprints
        stage = [k for k in batch.keys() if known.get(k) != (fingerprints[k], False)]
        new_keys = [k for k in stage if k not in known]
        stage = [k for k in stage if k in known]
        # 1. Keys never seen are COPY'd straight into the table as new versions: the lookup above already
        # told them apart, so no anti-join against the table is planned (on an emptied table whose
        # statistics say "empty", a NOT EXISTS became a nested loop rescanning every row just inserted).
        if new_keys:
            inserted = len(new_keys)
            _copy_rows(cursor, batch, new_keys, table, columns, meta)
        if stage:
            run("DROP TABLE IF EXISTS {stage}")
            run(
                "CREATE TEMP TABLE {stage} ON COMMIT DROP AS"
                " SELECT {columns}, row_hash, values_hash FROM {table} WITH NO DATA",
                columns=_cols("", columns),
            )
            _copy_rows(cursor, batch, stage, STAGE, columns)
            # Autovacuum never analyzes a temporary table; the joins below only need the key columns' stats.
            run("ANALYZE {stage} ({src}, {key})")

            # 2. Changed Type-2 hash (or a tombstone coming back): close the open version, insert the next;
            # Type-1 columns the batch does not name are carried over from the closed version.
            carried = sql.SQL(", ").join(
                sql.SQL("c.{}" if p in omitted else "s.{}").format(c) for p, c in enumerate(columns)
            )
            changed = run(
                "WITH closed AS ("
                " UPDATE {table} AS t SET valid_to = %s, is_current = false FROM {stage} AS s"
                " WHERE {on_key} AND t.valid_to IS NULL AND (t.row_hash <> s.row_hash OR t.is_deleted)"
                " RETURNING {returned})"
                " INSERT INTO {table} ({insert_columns}) SELECT {carried}, {new_version}"
                " FROM closed AS c JOIN {stage} AS s ON c.{key} = s.{key} AND c.{src} = s.{src}",
                [meta.at, *version_params],
                carried=carried,
                returned=_cols("t.", [src, key, *(columns[p] for p in sorted(omitted))]),
            )

            # 3. Type-1 columns the batch names, overwritten on the current version where they differ;
            # where only the hash differs (it covered other fields) the hash alone is brought up to date.
            if present:
                named = [columns[p] for p in sorted(present)]
                type1_updated = run(
                    "UPDATE {table} AS t SET {assignments}, values_hash = s.values_hash FROM {stage} AS s"
                    " WHERE {on_key} AND t.is_current AND ({differs})",
                    assignments=sql.SQL(", ").join(sql.SQL("{0} = s.{0}").format(c) for c in named),
                    differs=sql.SQL(" OR ").join(
                        sql.SQL("t.{0} IS DISTINCT FROM s.{0}").format(c) for c in named
                    ),
                )
            run(
                "UPDATE {table} AS t SET values_hash = s.values_hash FROM {stage} AS s"
                " WHERE {on_key} AND t.is_current AND t.values_hash <> s.values_hash"
            )
            run("DROP TABLE {stage}")

        # 4. Full reconciliation: current rows in scope that the batch lacks end in a tombstone.
        if full:
            absent = _absent_in_scope(model, using, scope, batch)
            if absent:
                tombstoned = run(
                    "WITH closed AS ("
                    " UPDATE {table} AS t SET valid_to = %s, is_current = false"
                    " WHERE t.{pk} = ANY(%s) AND t.is_current RETURNING t.*)"
                    " INSERT INTO {table} ({insert_columns})"
                    " SELECT {values}, %s, NULL, false, c.row_hash, c.values_hash, %s, %s, true"
                    " FROM closed AS c",
                    [meta.at, absent, *version_params],
                    pk=sql.Identifier(model._meta.pk.column),
                    values=_cols("c.", columns),
                )

    return MergeResult(
        inserted=inserted,
        changed=changed,
        type1_updated=type1_updated,
        unchanged=len(batch) - inserted - changed - type1_updated,
        tombstoned=tombstoned,
    )


def _open_hashes(cursor, batch: Batch, names) -> dict[tuple, tuple[str, bool]]:
    """(values_hash, is_deleted) of the open version of every natural key in the batch."""
    ids_by_system: dict[str, list] = {}
    for source_system, source_id in batch.keys():
        ids_by_system.setdefault(source_system, []).append(source_id)
    query = sql.SQL(
        "SELECT {key}, values_hash, is_deleted FROM {table}"
        " WHERE valid_to IS NULL AND {src} = %s AND {key} = ANY(%s::{key_type}[])"
    ).format(**names)
    found = {}
    # Server-side binding with the ids as one array literal parameter: Django's client-side binding would
    # splice every id into the SQL text, and adapting a Python list element by element is slower still.
    with psycopg.Cursor(cursor.cursor.connection) as raw:
        for source_system, ids in ids_by_system.items():
            for start in range(0, len(ids), LOOKUP_CHUNK):
                array = "{" + ",".join(map(str, ids[start: start + LOOKUP_CHUNK])) + "}"
                raw.execute(query, [source_system, array])
                for source_id, values_hash, is_deleted in raw.fetchall():
                    found[(source_system, source_id)] = (values_hash, is_deleted)
    return found


def _absent_in_scope(model, using: str, scope: Q, batch: Batch) -> list[int]:
    """Surrogate keys of current rows within scope whose natural key the batch does not hold."""
    source_name, id_name = (model._meta.get_field(n).attname for n in model.SCD_NATURAL_KEY)
    current = model._default_manager.db_manager(using).filter(is_current=True).filter(scope)
    query, params = current.values_list("pk", source_name, id_name).query.sql_with_params()
    # Read through psycopg directly: Django's row conversion costs more than the read for a whole table.
    with psycopg.Cursor(connections[using].connection) as raw:
        raw.execute(query, params)
        rows = raw.fetchall()
    held = batch.records
    return [pk for pk, source_system, source_id in rows if (source_system, source_id) not in held]


def _copy_rows(
    cursor, batch: Batch, keys: list[tuple], target, columns, meta: MergeMeta | None = None
) -> None:
    """COPY the given rows with their hashes, in binary, through psycopg 3's copy protocol: into the stage
    table, or with ``meta`` straight into the versioned table as new open versions."""
    row_of, fingerprints, row_hash = batch.row, batch.fingerprints, batch.row_hash
    names = [*(f.column for f in batch.spec.fields), "row_hash", "values_hash"]
    tail: tuple = ()
    if meta is not None:
        names += ["valid_from", "is_current", "is_deleted", "change_reason", "sync_run_id"]
        tail = (meta.at, True, False, meta.change_reason, meta.sync_run_id)
    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
    # Binary COPY needs every column's type; the stage has the versioned table's column types.
    raw.execute(
        "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
        [batch.spec.model._meta.db_table],
    )
    oids = dict(raw.fetchall())
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        target, sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with raw.copy(statement) as copy:
        copy.set_types([oids[name] for name in names])
        write = copy.write_row  # JSON values go as they are: the jsonb dumper serializes them
        for key in keys:
            write((*row_of(key), row_hash(key), fingerprints[key], *tail))
