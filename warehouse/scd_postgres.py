"""The PostgreSQL strategy of the SCD2 merge: COPY the batch into a temporary table, then merge set-based.

Four statements do the work whatever the batch size: close changed versions and insert their successors
(one UPDATE … RETURNING feeding an INSERT … SELECT), insert new keys, update Type-1 columns in place, and
for a full reconciliation close absent rows and insert their tombstones.
"""
from __future__ import annotations

import json

from django.db import connections
from django.db.models import Q
from psycopg import sql

from .scd_rows import Batch

STAGE = sql.Identifier("_scd_stage")
META_COLUMNS = sql.SQL("valid_from, valid_to, is_current, row_hash, change_reason, sync_run_id, is_deleted")
NEW_VERSION = sql.SQL("%s, NULL, true, s.row_hash, %s, %s, false")


def _cols(prefix: str, columns) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(prefix + "{}").format(c) for c in columns)


def merge_postgres(batch: Batch, meta, *, using: str, full: bool, scope: Q):
    from .scd import MergeResult  # the result type lives with the public entry point

    spec = batch.spec
    model = spec.model
    connection = connections[using]
    table = sql.Identifier(model._meta.db_table)
    columns = [sql.Identifier(f.column) for f in spec.fields]
    src, key = columns[0], columns[1]
    present = set(batch.present_type1)
    omitted = {p for p in spec.type1_positions if p not in present}
    names = {"table": table, "stage": STAGE, "src": src, "key": key, "new_version": NEW_VERSION}
    names["insert_columns"] = sql.SQL("{}, {}").format(_cols("", columns), META_COLUMNS)
    names["on_key"] = sql.SQL("t.{key} = s.{key} AND t.{src} = s.{src}").format(**names)
    version_params = [meta.at, meta.change_reason, meta.sync_run_id]

    def run(template: str, params=None, **extra):
        cursor.execute(sql.SQL(template).format(**names, **extra), params)
        return cursor.rowcount

    with connection.cursor() as cursor:
        run("DROP TABLE IF EXISTS {stage}")
        run(
            "CREATE TEMP TABLE {stage} ON COMMIT DROP AS"
            " SELECT {columns}, row_hash FROM {table} WITH NO DATA",
            columns=_cols("", columns),
        )
        _copy_rows(cursor, batch, columns)
        run("ANALYZE {stage}")

        # 1. Changed Type-2 hash (or a tombstone coming back): close the open version, insert the next one;
        # Type-1 columns the batch does not name are carried over from the closed version.
        carried = sql.SQL(", ").join(
            sql.SQL("c.{}" if p in omitted else "s.{}").format(c) for p, c in enumerate(columns)
        )
        changed = run(
            "WITH closed AS ("
            " UPDATE {table} AS t SET valid_to = %s, is_current = false FROM {stage} AS s"
            " WHERE {on_key} AND t.valid_to IS NULL AND (t.row_hash <> s.row_hash OR t.is_deleted)"
            " RETURNING t.*)"
            " INSERT INTO {table} ({insert_columns}) SELECT {carried}, {new_version}"
            " FROM closed AS c JOIN {stage} AS s ON c.{key} = s.{key} AND c.{src} = s.{src}",
            [meta.at, *version_params],
            carried=carried,
        )

        # 2. Keys never seen (after step 1 every changed key has an open version again).
        inserted = run(
            "INSERT INTO {table} ({insert_columns}) SELECT {values}, {new_version} FROM {stage} AS s"
            " WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {on_key} AND t.valid_to IS NULL)",
            version_params,
            values=_cols("s.", columns),
        )

        # 3. Type-1 columns the batch names, overwritten on the current version where they differ.
        type1_updated = 0
        if present:
            named = [columns[p] for p in sorted(present)]
            type1_updated = run(
                "UPDATE {table} AS t SET {assignments} FROM {stage} AS s"
                " WHERE {on_key} AND t.is_current AND ({differs})",
                assignments=sql.SQL(", ").join(sql.SQL("{0} = s.{0}").format(c) for c in named),
                differs=sql.SQL(" OR ").join(
                    sql.SQL("t.{0} IS DISTINCT FROM s.{0}").format(c) for c in named
                ),
            )

        # 4. Full reconciliation: current rows in scope that the batch lacks end in a tombstone.
        tombstoned = 0
        if full:
            in_scope = model._default_manager.db_manager(using).filter(is_current=True).filter(scope)
            scope_sql, scope_params = in_scope.values("pk").query.sql_with_params()
            tombstoned = run(
                "WITH closed AS ("
                " UPDATE {table} AS t SET valid_to = %s, is_current = false"
                " WHERE t.{pk} IN ({scope}) AND NOT EXISTS (SELECT 1 FROM {stage} AS s WHERE {on_key})"
                " RETURNING t.*)"
                " INSERT INTO {table} ({insert_columns})"
                " SELECT {values}, %s, NULL, false, c.row_hash, %s, %s, true FROM closed AS c",
                [meta.at, *scope_params, *version_params],
                pk=sql.Identifier(model._meta.pk.column),
                scope=sql.SQL(scope_sql),  # compiled by Django's ORM; its values stay parameters
                values=_cols("c.", columns),
            )
        run("DROP TABLE {stage}")

    return MergeResult(
        inserted=inserted,
        changed=changed,
        type1_updated=type1_updated,
        unchanged=len(batch.rows) - inserted - changed - type1_updated,
        tombstoned=tombstoned,
    )


def _copy_rows(cursor, batch: Batch, columns) -> None:
    """COPY the batch (with each row's hash) into the stage table through psycopg 3's copy protocol."""
    json_positions = batch.spec.json_positions
    hashes = batch.hashes
    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
    statement = sql.SQL("COPY {} ({}, row_hash) FROM STDIN").format(STAGE, _cols("", columns))
    with raw.copy(statement) as copy:
        write = copy.write_row
        for key, row in batch.rows.items():
            if json_positions:
                row = list(row)
                for p in json_positions:
                    if row[p] is not None:
                        row[p] = json.dumps(row[p])
            write((*row, hashes[key]))
