"""The reporting role on the real PostgreSQL: it connects, reads every reporting view, and can read, write or
create nothing else. Roles are cluster-wide, so each test's role has a unique name and is dropped after it."""
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from psycopg import errors, sql

from sync.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "reporting-test-password-1"
VIEWS = {"current_work_orders", "work_order_history", "current_jobs", "open_work_orders_by_day",
         "mapping_coverage", "runs"}


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("roles and the reporting schema are PostgreSQL's (CI's PostgreSQL pass runs this)")


@pytest.fixture
def role(postgres, tmp_path):
    """A fresh login role made by the command, dropped (with its grants) at teardown."""
    name = f"gl_reporting_test_{uuid.uuid4().hex[:10]}"
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    call_command("create_reporting_role", name, "--password-file", str(secret))
    yield name
    with connection.cursor() as cur:
        cur.execute(sql.SQL("DROP OWNED BY {0}").format(sql.Identifier(name)).as_string())
        cur.execute(sql.SQL("DROP ROLE {0}").format(sql.Identifier(name)).as_string())


@contextmanager
def connect_as(name, *, read_only=True):
    """A new connection as ``name`` (local connections are trusted; the password is checked where not)."""
    params = connection.settings_dict
    with psycopg.connect(host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432,
                         dbname=params["NAME"], user=name, password=PASSWORD, autocommit=True) as conn:
        if not read_only:
            # Sessions start read-only; switch that off so the checks below test the privileges themselves.
            conn.execute("SET default_transaction_read_only = off")
        yield conn


def refused(conn, statement):
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement)


def test_the_role_connects_and_reads_every_reporting_view(role):
    with connect_as(role) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == role
        listed = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'reporting'")}
        assert listed == VIEWS
        for view in VIEWS:
            conn.execute(sql.SQL("SELECT * FROM {} LIMIT 5").format(sql.Identifier("reporting", view)))
        # search_path points at the reporting schema, so BI tools can name the views alone.
        conn.execute("SELECT count(*) FROM runs").fetchone()


def test_the_password_is_stored_as_a_scram_verifier(role):
    with connection.cursor() as cur:
        cur.execute("SELECT rolpassword, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_authid "
                    "WHERE rolname = %s", [role])
        verifier, can_login, *powers = cur.fetchone()
    assert verifier.startswith("SCRAM-SHA-256$") and PASSWORD not in verifier
    assert can_login and not any(powers)


def test_operational_tables_are_refused(role):
    ApiToken.issue("bi-probe")
    with connect_as(role) as conn:
        for table in ("api_tokens", "auth_user", "django_session", "sync_outboxitem", "sync_featureflag",
                      "fact_work_orders", "sync_history"):
            refused(conn, sql.SQL("SELECT * FROM {} LIMIT 1").format(sql.Identifier("public", table)))


def test_nothing_can_be_written_or_created(role):
    with connect_as(role, read_only=False) as conn:
        refused(conn, "INSERT INTO reporting.runs (run_id) VALUES (424242)")
        refused(conn, "UPDATE reporting.runs SET status = 'failed'")
        refused(conn, "DELETE FROM reporting.runs")
        refused(conn, "INSERT INTO public.api_tokens (name) VALUES ('x')")
        refused(conn, "UPDATE public.auth_user SET is_superuser = true")
        refused(conn, "DELETE FROM public.sync_outboxitem")
        refused(conn, "CREATE TABLE reporting.probe (i integer)")
        refused(conn, "CREATE VIEW reporting.probe AS SELECT 1 AS one")
        refused(conn, "CREATE TABLE public.probe (i integer)")
        refused(conn, "CREATE SCHEMA probe")
        refused(conn, "DROP VIEW reporting.runs")


def test_a_session_starts_read_only(role):
    with connect_as(role) as conn, pytest.raises(errors.ReadOnlySqlTransaction):
        conn.execute("CREATE TEMPORARY TABLE probe (i integer)")


def test_a_view_a_later_migration_adds_is_granted_too(role):
    view = sql.Identifier("reporting", f"probe_{uuid.uuid4().hex[:8]}")
    with connection.cursor() as cur:  # as the schema's owner, as a migration would
        cur.execute(sql.SQL("CREATE VIEW {} AS SELECT 1 AS one").format(view).as_string())
    try:
        with connect_as(role) as conn:
            assert conn.execute(sql.SQL("SELECT one FROM {}").format(view)).fetchone() == (1,)
    finally:
        with connection.cursor() as cur:
            cur.execute(sql.SQL("DROP VIEW {}").format(view).as_string())


def test_running_the_command_again_updates_the_role(role, tmp_path):
    call_command("create_reporting_role", role, "--no-login")
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        with connect_as(role):
            pass
    secret = tmp_path / "again"
    secret.write_text(PASSWORD)
    call_command("create_reporting_role", role, "--password-file", str(secret))
    with connect_as(role) as conn:
        conn.execute("SELECT count(*) FROM reporting.current_jobs").fetchone()


def test_the_command_refuses_roles_it_must_not_touch(postgres, tmp_path):
    secret = tmp_path / "password"
    secret.write_text(PASSWORD)
    with connection.cursor() as cur:
        cur.execute("SELECT current_user")
        me = cur.fetchone()[0]
    with pytest.raises(CommandError, match="connects as"):
        call_command("create_reporting_role", me, "--password-file", str(secret))
    short = tmp_path / "short"
    short.write_text("tiny")
    with pytest.raises(CommandError, match="at least 12"):
        call_command("create_reporting_role", "gl_reporting_never", "--password-file", str(short))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("create_reporting_role", "gl_reporting_never", "--password-file", str(tmp_path / "no"))


def test_the_password_is_never_printed(role, tmp_path, capsys, caplog):
    secret = tmp_path / "password"
    secret.write_text(PASSWORD)
    connection.force_debug_cursor = True  # record and log every statement, as DEBUG=true does
    try:
        with caplog.at_level("DEBUG"):
            call_command("create_reporting_role", role, "--password-file", str(secret))
    finally:
        connection.force_debug_cursor = False
    out = capsys.readouterr()
    seen = out.out + out.err + caplog.text + repr(connection.queries)
    assert PASSWORD not in seen and "SCRAM-SHA-256$" not in seen


def test_the_command_refuses_sqlite():
    if connection.vendor == "postgresql":
        pytest.skip("checks the refusal on SQLite (CI's SQLite pass runs this)")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("create_reporting_role", "metabase", "--no-login")
