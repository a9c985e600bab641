"""``manage.py create_reporting_role NAME [--password-file F | --no-login]``: the read-only PostgreSQL role
BI tools log in as: it reads the ``reporting`` views (docs/reporting.md) and nothing else. Idempotent.
"""
from __future__ import annotations

import getpass
import sys
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connection, transaction
from psycopg import sql

from greenlight.dbcheck import SchemaCommand

SCHEMA = "reporting"


class Command(SchemaCommand):
    help = (
        "Create or update a PostgreSQL role that may read the reporting views and nothing else. "
        "The password is read from --password-file or prompted for, and never printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Role name, e.g. 'metabase'.")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--password-file", type=Path, help="File whose first line is the password.")
        how.add_argument("--no-login", action="store_true",
                         help="A role that cannot log in (grant it to login roles managed elsewhere).")

    def needs_schema(self, options) -> bool:
        # Elsewhere handle() refuses at once: no point asking for migrations there first.
        return connection.vendor == "postgresql"

    def handle(self, *args, name: str, password_file: Path | None = None, no_login: bool = False, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                f"create_reporting_role needs PostgreSQL; this database is {connection.vendor}, which has "
                "neither roles nor the reporting schema."
            )
        name = name.strip()
        if not name:
            raise CommandError("name: must not be empty")
        password = None if no_login else _read_password(password_file)
        connection.ensure_connection()
        # The raw psycopg connection, not Django's cursor: Django records and (with DEBUG) logs every
        # statement it runs, and ALTER ROLE … PASSWORD must never reach a log.
        raw = connection.connection
        with transaction.atomic(), raw.cursor() as cur:
            owner = _check(cur, name)
            verifier = None
            if password is not None:
                # Hashed here (SCRAM, as the server would), so not even the statement carries the password.
                verifier = raw.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256")
            created = _ensure_role(cur, name, verifier)
            _grant_read_only(cur, name, owner)
        verb = "Created" if created else "Updated"
        login = "cannot log in" if no_login else "logs in with the password given"
        self.stdout.write(f"{verb} role {name!r}: reads schema {SCHEMA!r} only; it {login}.")


def _read_password(path: Path | None) -> str:
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CommandError(f"--password-file: cannot read {path}: {exc.strerror}") from None
        password = lines[0] if lines else ""
    elif sys.stdin.isatty():
        password = getpass.getpass("Password for the reporting role: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the two passwords differ")
    else:
        raise CommandError("no terminal to prompt for the password: give --password-file or --no-login")
    if len(password) < 12:
        raise CommandError("the password must be at least 12 characters long")
    return password


def _check(cur, name: str) -> str:
    """Refuse what must not be turned into a reporting role; return the reporting schema's owner."""
    cur.execute("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", [SCHEMA])
    row = cur.fetchone()
    if row is None:
        raise CommandError(f"schema {SCHEMA!r} does not exist: run `manage.py migrate` first")
    cur.execute("SELECT current_user")
    if name == cur.fetchone()[0]:
        raise CommandError(f"{name!r} is the role this application connects as: choose another name")
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [name])
    existing = cur.fetchone()
    if existing is not None and existing[0]:
        raise CommandError(f"{name!r} is a superuser: it cannot become a read-only reporting role")
    return row[0]


def _ensure_role(cur, name: str, verifier: str | bytes | None) -> bool:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    created = cur.fetchone() is None
    role = sql.Identifier(name)
    attributes = sql.SQL(
        "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS {login} PASSWORD {password}"
    ).format(
        login=sql.SQL("NOLOGIN" if verifier is None else "LOGIN"),
        password=sql.SQL("NULL") if verifier is None else sql.Literal(_text(verifier)),
    )
    verb = sql.SQL("CREATE ROLE" if created else "ALTER ROLE")
    cur.execute(sql.SQL("{} {} WITH {}").format(verb, role, attributes))
    return created


def _grant_read_only(cur, name: str, owner: str) -> None:
    role = sql.Identifier(name)
    schema = sql.Identifier(SCHEMA)
    statements = [
        # An updated role loses whatever it was given before, so the grants below are all it holds.
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}",
        "REVOKE CREATE ON SCHEMA public FROM {role}",
        "REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM {role}",
        "GRANT CONNECT ON DATABASE {db} TO {role}",
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "REVOKE CREATE ON SCHEMA {schema} FROM {role}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}",
        # Views a later migration adds (created by the schema owner, who runs migrations) are granted too.
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT SELECT ON TABLES TO {role}",
        # Belt and braces: BI sessions start read-only and look in the reporting schema first.
        "ALTER ROLE {role} SET default_transaction_read_only = on",
        "ALTER ROLE {role} SET search_path = {schema}",
    ]
    cur.execute("SELECT current_database()")
    db = sql.Identifier(cur.fetchone()[0])
    for statement in statements:
        cur.execute(sql.SQL(statement).format(role=role, schema=schema, db=db, owner=sql.Identifier(owner)))


def _text(verifier: str | bytes) -> str:
    return verifier.decode() if isinstance(verifier, bytes) else verifier
