"""The ``reporting`` schema: stable, documented read-only views for BI tools (docs/reporting.md).

PostgreSQL only: on another database (SQLite in development) the operations do nothing and say so. The views
run with their owner's rights, so a role granted SELECT on them (``manage.py create_reporting_role``) reads
them without any right on the tables underneath. Open statuses come from dim_status.is_open, which the
pulls keep true to the PW_OPEN_STATUSES flag. Days are cut at midnight in the project's TIME_ZONE, frozen
here when the migration runs.
"""
from django.conf import settings
from django.db import migrations

TZ = settings.TIME_ZONE.replace("'", "''")

OPEN_STATUS = """EXISTS (
        SELECT 1 FROM dim_status s
        WHERE s.source_system = w.source_system AND s.name = w.status AND s.is_open
    )"""

# name -> (select, comment on the view, {column: comment} for the key columns)
VIEWS: dict[str, tuple[str, str, dict[str, str]]] = {
    "current_work_orders": (
        """
SELECT
    w.work_order_id,
    w.number AS work_order_number,
    w.status,
    COALESCE(st.is_open, false) AS is_open,
    w.priority,
    w.category,
    w.type AS work_order_type,
    w.description,
    w.location,
    w.source,
    w.portfolio_id,
    p.name AS portfolio_name,
    w.building_id,
    b.name AS building_name,
    w.unit_id,
    u.name AS unit_name,
    w.building_level,
    w.vendor_id,
    v.name AS vendor_name,
    w.created_date AS created_at,
    w.start_date AS started_at,
    w.completed_date AS completed_at,
    w.cost_estimate,
    w.total_cost,
    w.hour_estimate,
    w.total_hours,
    w.sf_job_id,
    (w.sf_job_id IS NOT NULL) AS has_sf_job,
    j.status AS sf_job_status,
    w.valid_from AS version_valid_from,
    w.sync_run_id AS loaded_by_run_id
FROM fact_work_orders w
LEFT JOIN dim_status st ON st.source_system = w.source_system AND st.name = w.status
LEFT JOIN dim_portfolio p
    ON p.source_system = w.source_system AND p.portfolio_id = w.portfolio_id AND p.is_current
LEFT JOIN dim_building b
    ON b.source_system = w.source_system AND b.building_id = w.building_id AND b.is_current
LEFT JOIN dim_unit u ON u.source_system = w.source_system AND u.unit_id = w.unit_id AND u.is_current
LEFT JOIN dim_vendor v ON v.source_system = w.source_system AND v.vendor_id = w.vendor_id AND v.is_current
LEFT JOIN fact_jobs j ON j.source_system = 'sf' AND j.job_id = w.sf_job_id AND j.is_current
WHERE w.is_current""",
        "One row per PropertyWare work order that exists now (its current version), with the current "
        "names of its portfolio, building, unit and vendor and the status of its ServiceFusion job.",
        {
            "work_order_id": "PropertyWare work order id (unique in this view).",
            "work_order_number": "The work order number staff see in PropertyWare.",
            "status": "PropertyWare status, as PropertyWare spells it.",
            "is_open": "True when the status is one of the open statuses (flag PW_OPEN_STATUSES, rule R26).",
            "building_level": "Pushed to ServiceFusion without a unit (rules R22-R24).",
            "created_at": "When the work order was created in PropertyWare.",
            "sf_job_id": "The ServiceFusion job created for it; empty while it has none.",
            "has_sf_job": "True when a ServiceFusion job exists for the work order.",
            "sf_job_status": "Status of that ServiceFusion job, when the job has been pulled.",
            "version_valid_from": "When the warehouse recorded the current version.",
            "loaded_by_run_id": "The sync run that wrote the current version (see reporting.runs).",
        },
    ),
    "work_order_history": (
        """
SELECT
    w.work_order_id,
    row_number() OVER (
        PARTITION BY w.source_system, w.work_order_id ORDER BY w.valid_from, w.work_order_key
    ) AS version_number,
    w.work_order_key AS version_key,
    w.valid_from,
    w.valid_to,
    w.is_current,
    w.is_deleted,
    CASE WHEN w.is_deleted THEN NULL
         ELSE EXTRACT(EPOCH FROM (COALESCE(w.valid_to, now()) - w.valid_from)) / 3600.0
    END AS version_hours,
    w.change_reason,
    w.sync_run_id AS loaded_by_run_id,
    w.number AS work_order_number,
    w.status,
    w.priority,
    w.category,
    w.description,
    w.portfolio_id,
    w.building_id,
    w.unit_id,
    w.vendor_id,
    w.sf_job_id,
    w.created_date AS created_at,
    w.completed_date AS completed_at
FROM fact_work_orders w""",
        "Every version of every work order (SCD Type 2): a new version whenever a tracked attribute (status, "
        "unit, vendor, priority, description, job, building, category) changed.",
        {
            "version_number": "1 for the first version of a work order, counting up in time.",
            "version_key": "Warehouse key of this version (unique in this view).",
            "valid_from": "When this version became true.",
            "valid_to": "When the next version replaced it; empty for the latest version.",
            "is_current": "True for the version that is true now (false for deleted work orders).",
            "is_deleted": "A tombstone: the work order was deleted in PropertyWare at valid_from.",
            "version_hours": "Hours this version was true (up to now for the latest); empty for tombstones.",
            "change_reason": "Why the warehouse wrote this version.",
        },
    ),
    "current_jobs": (
        """
SELECT
    j.job_id,
    j.number AS job_number,
    j.status,
    j.status_code,
    j.status_category,
    st.is_open,
    j.category,
    j.priority,
    j.description,
    j.customer_id,
    c.customer_name,
    j.check_number,
    j.po_number,
    j.work_order_id,
    j.created_at,
    j.updated_at,
    j.closed_at,
    j.valid_from AS version_valid_from,
    j.sync_run_id AS loaded_by_run_id
FROM fact_jobs j
LEFT JOIN dim_status st ON st.source_system = j.source_system AND st.name = j.status
LEFT JOIN dim_customer c
    ON c.source_system = j.source_system AND c.customer_id = j.customer_id AND c.is_current
WHERE j.is_current""",
        "One row per ServiceFusion job that exists now (its current version), with its customer's name.",
        {
            "job_id": "ServiceFusion job id (unique in this view).",
            "job_number": "The job number staff see in ServiceFusion.",
            "is_open": "False once the status's category is CLOSED or CANCELLED; empty for a status not yet "
                       "read from ServiceFusion's status list.",
            "check_number": "ServiceFusion check number: WO-<work order id> for jobs GreenLight created.",
            "work_order_id": "The PropertyWare work order the job was created for, when known.",
        },
    ),
    # S608: the f-strings below splice this module's constants (the time zone from settings), never input.
    "open_work_orders_by_day": (
        f"""
WITH open_versions AS (
    SELECT
        w.portfolio_id,
        (w.valid_from AT TIME ZONE '{TZ}')::date AS first_day,
        (w.valid_to AT TIME ZONE '{TZ}')::date - 1 AS last_day
    FROM fact_work_orders w
    WHERE NOT w.is_deleted AND {OPEN_STATUS}
),
span AS (
    SELECT min(first_day) AS first_day, (now() AT TIME ZONE '{TZ}')::date AS today FROM open_versions
),
days AS (
    SELECT gs::date AS day FROM span, generate_series(span.first_day, span.today, interval '1 day') gs
),
portfolios AS (SELECT DISTINCT portfolio_id FROM open_versions),
counts AS (
    SELECT v.portfolio_id, gs::date AS day, count(*) AS open_work_orders
    FROM open_versions v, span,
        generate_series(v.first_day, LEAST(COALESCE(v.last_day, span.today), span.today), interval '1 day') gs
    GROUP BY v.portfolio_id, gs::date
)
SELECT
    d.day,
    COALESCE(dd.date_key, to_char(d.day, 'YYYYMMDD')::integer) AS date_key,
    COALESCE(dd.is_weekend, EXTRACT(ISODOW FROM d.day) >= 6) AS is_weekend,
    dd.is_holiday,
    p.portfolio_id,
    dp.name AS portfolio_name,
    COALESCE(c.open_work_orders, 0)::integer AS open_work_orders
FROM days d
CROSS JOIN portfolios p
LEFT JOIN counts c ON c.day = d.day AND c.portfolio_id IS NOT DISTINCT FROM p.portfolio_id
LEFT JOIN dim_date dd ON dd.date = d.day
LEFT JOIN dim_portfolio dp
    ON dp.source_system = 'pw' AND dp.portfolio_id = p.portfolio_id AND dp.is_current""",  # noqa: S608
        f"Work orders open at the end of each day (midnight {TZ}) per portfolio, from the first day one was "
        "open until today; a row for every day and portfolio, zero included. Open = the status of the "
        "version true at the end of that day is an open status (dim_status.is_open).",
        {
            "day": f"The calendar day; counted at its end (midnight, {TZ}).",
            "date_key": "The day as YYYYMMDD, the key of dim_date.",
            "is_weekend": "Saturday or Sunday.",
            "is_holiday": "A US federal holiday (observed); empty when the calendar dim_date is not loaded.",
            "portfolio_id": "PropertyWare portfolio id; empty for work orders without a portfolio.",
            "open_work_orders": "Work orders of the portfolio open at the end of the day.",
        },
    ),
    "mapping_coverage": (
        f"""
WITH mapped_buildings AS (
    SELECT DISTINCT pw_building_id AS building_id FROM customer_mappings
    WHERE entity_type = 'building' AND sf_customer_id IS NOT NULL
),
buildings AS (
    SELECT b.portfolio_id, (m.building_id IS NOT NULL) AS mapped
    FROM dim_building b LEFT JOIN mapped_buildings m ON m.building_id = b.building_id
    WHERE b.is_current AND b.active
),
open_work_orders AS (
    SELECT w.portfolio_id, (m.building_id IS NOT NULL) AS mapped
    FROM fact_work_orders w LEFT JOIN mapped_buildings m ON m.building_id = w.building_id
    WHERE w.is_current AND {OPEN_STATUS}
),
items AS (
    SELECT portfolio_id, 1 AS building, mapped::integer AS building_mapped, 0 AS work_order,
           0 AS work_order_mapped
    FROM buildings
    UNION ALL
    SELECT portfolio_id, 0, 0, 1, mapped::integer FROM open_work_orders
)
SELECT
    i.portfolio_id,
    p.name AS portfolio_name,
    EXISTS (
        SELECT 1 FROM customer_mappings cm
        WHERE cm.entity_type = 'portfolio' AND cm.pw_portfolio_id = i.portfolio_id
          AND cm.sf_customer_id IS NOT NULL
    ) AS portfolio_mapped,
    sum(i.building)::integer AS buildings_total,
    sum(i.building_mapped)::integer AS buildings_mapped,
    round(100.0 * sum(i.building_mapped) / NULLIF(sum(i.building), 0), 1) AS buildings_mapped_pct,
    sum(i.work_order)::integer AS open_work_orders,
    sum(i.work_order_mapped)::integer AS open_work_orders_building_mapped,
    round(100.0 * sum(i.work_order_mapped) / NULLIF(sum(i.work_order), 0), 1)
        AS open_work_orders_building_mapped_pct
FROM items i
LEFT JOIN dim_portfolio p ON p.source_system = 'pw' AND p.portfolio_id = i.portfolio_id AND p.is_current
GROUP BY i.portfolio_id, p.name""",  # noqa: S608
        "Per portfolio: how many of its active buildings are mapped to a ServiceFusion customer, and how "
        "many of its open work orders stand in a mapped building (only those can become jobs, rule R12).",
        {
            "portfolio_id": "PropertyWare portfolio id; empty for buildings or work orders without one.",
            "portfolio_mapped": "The portfolio itself is mapped to a ServiceFusion customer.",
            "buildings_total": "Active buildings that exist now.",
            "buildings_mapped": "Of those, buildings mapped to a ServiceFusion customer.",
            "buildings_mapped_pct": "buildings_mapped / buildings_total in percent; empty without buildings.",
            "open_work_orders": "Work orders open now (dim_status.is_open).",
            "open_work_orders_building_mapped": "Of those, work orders whose building is mapped.",
            "open_work_orders_building_mapped_pct": "The same in percent; empty without open work orders.",
        },
    ),
    "runs": (
        """
SELECT
    r.id AS run_id,
    r.trigger,
    r.status,
    r.started_at,
    r.finished_at,
    round(EXTRACT(EPOCH FROM (r.finished_at - r.started_at)), 3) AS duration_seconds,
    r.dry_run,
    r."full" AS full_reconciliation,
    r.counts,
    COALESCE((
        SELECT sum((a.value ->> 'calls')::bigint) FROM jsonb_each(r.api_calls) a
        WHERE jsonb_typeof(a.value) = 'object'
    ), 0)::integer AS api_calls,
    COALESCE((
        SELECT sum((a.value ->> 'errors')::bigint) FROM jsonb_each(r.api_calls) a
        WHERE jsonb_typeof(a.value) = 'object'
    ), 0)::integer AS api_errors,
    (SELECT count(*) FROM sync_steprun s WHERE s.run_id = r.id)::integer AS steps_total,
    (SELECT count(*) FROM sync_steprun s WHERE s.run_id = r.id AND s.status = 'failed')::integer
        AS steps_failed,
    (SELECT count(*) FROM error_logs e WHERE e.run_id = r.id)::integer AS errors_logged,
    r.error_summary
FROM sync_history r""",
        "One row per sync run (sync_history): how it started, how it ended, how long it took, what it did.",
        {
            "run_id": "Sync run id, as the admin's Sync runs screen shows it.",
            "trigger": "What started the run: manual, schedule, task, admin, api or demo.",
            "status": "running, succeeded, failed, or refused (another run held the lock).",
            "duration_seconds": "finished_at - started_at in seconds; empty while the run is running.",
            "full_reconciliation": "A full run: the pulls also detected deletions.",
            "counts": "JSON object of totals over the steps, e.g. {\"work_orders\": 120}.",
            "api_calls": "Calls made to PropertyWare and ServiceFusion together.",
            "api_errors": "Of those, calls that failed.",
            "steps_failed": "Steps that ended failed.",
            "errors_logged": "Rows the run wrote to the error log.",
        },
    ),
}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def forward_sql() -> list[str]:
    statements = [
        "CREATE SCHEMA IF NOT EXISTS reporting",
        "COMMENT ON SCHEMA reporting IS "
        + _literal("Read-only views for BI tools; see docs/reporting.md. Grant with create_reporting_role."),
    ]
    for name, (select, comment, columns) in VIEWS.items():
        statements.append(f"CREATE VIEW reporting.{name} AS {select}")
        statements.append(f"COMMENT ON VIEW reporting.{name} IS {_literal(comment)}")
        statements += [
            f"COMMENT ON COLUMN reporting.{name}.{column} IS {_literal(text)}"
            for column, text in columns.items()
        ]
    return statements


class PostgresRunSQL(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL only: elsewhere it writes a note and changes nothing."""

    def _applies(self, schema_editor) -> bool:
        if schema_editor.connection.vendor == "postgresql":
            return True
        print(f"  reporting views skipped: PostgreSQL only ({schema_editor.connection.vendor} database)")
        return False

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if self._applies(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if self._applies(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("sync", "0007_task_paths"), ("warehouse", "0003_mappingimport")]
    operations = [
        PostgresRunSQL(
            sql=forward_sql(),
            reverse_sql=[f"DROP VIEW IF EXISTS reporting.{name}" for name in reversed(VIEWS)]
            + ["DROP SCHEMA IF EXISTS reporting"],
        ),
    ]
