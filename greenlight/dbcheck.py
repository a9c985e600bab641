"""Whether the configured database is ready for a command: reachable, and at the code's latest migration.

Commands that read or write the models are ``SchemaCommand``s and stop before ``handle()`` with a
CommandError naming the database and what to do; commands that migrate the database themselves ask only
``require_reachable()``; ``manage.py doctor`` reports ``schema_problem()`` as a check. Imports only Django.
"""
from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

__all__ = ["SchemaCommand", "database_label", "migrations_ahead", "require_reachable", "require_schema",
           "schema_problem", "unapplied_migrations", "unreachable"]

# PostgreSQL's words when the server is up but the database was never created (not a missing role).
_NO_SUCH_DATABASE = re.compile(r'database ".*" does not exist')


def database_label(alias: str = DEFAULT_DB_ALIAS) -> str:
    """The database as people name it: vendor, name and host; never the user or password."""
    connection = connections[alias]
    db = connection.settings_dict
    return f"{connection.vendor} {db.get('NAME')}" + (f" on {db['HOST']}" if db.get("HOST") else "")


def unreachable(alias: str = DEFAULT_DB_ALIAS) -> str | None:
    """Why the database cannot be reached (never created, server down, refused login), or None."""
    connection = connections[alias]
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        text = str(exc).strip()
        password = connection.settings_dict.get("PASSWORD")
        if password:  # drivers do not echo it today; a message that did must still not show it
            text = text.replace(password, "***")
        first = text.splitlines()[0] if text else type(exc).__name__
        hint = " (create it first, e.g. createdb)" if _NO_SUCH_DATABASE.search(text) else ""
        return f"cannot reach the database ({database_label(alias)}){hint}: {first}"
    return None


def unapplied_migrations(executor: MigrationExecutor, alias: str = DEFAULT_DB_ALIAS) -> str | None:
    """How far the reachable database is behind the migrations on disk (as ``migrate`` plans it), or None."""
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        return None
    first, count = plan[0][0], len(plan)
    state = "is behind the code" if executor.loader.applied_migrations else "has no schema yet"
    return (f"the database ({database_label(alias)}) {state}: {count} unapplied migration"
            f"{'s' if count != 1 else ''}, the first {first.app_label}.{first.name}; "
            "run `manage.py migrate`")


#: The apps whose migrations this project writes: a migration of theirs applied to the database but absent
#: from the code means the code is older than the schema (a deploy rolled back without its migrations).
#: Third-party apps are left out: a package upgrade may retire migration files it once applied.
PROJECT_APPS = ("sync", "warehouse")


def migrations_ahead(loader: MigrationLoader, alias: str = DEFAULT_DB_ALIAS) -> str | None:
    """Migrations of the project's apps applied to the database that this code does not have, or None."""
    replaced = {name for migration in loader.disk_migrations.values() for name in migration.replaces}
    unknown = sorted(key for key in loader.applied_migrations
                     if key[0] in PROJECT_APPS and key not in loader.disk_migrations and key not in replaced)
    if not unknown:
        return None
    count, (app, name) = len(unknown), unknown[-1]
    return (f"the database ({database_label(alias)}) is ahead of the code: {count} applied migration"
            f"{'s' if count != 1 else ''} this code lacks, the latest {app}.{name}; run the code that has "
            "them, or migrate back to this code's migrations with that code first")


def schema_problem(alias: str = DEFAULT_DB_ALIAS) -> str | None:
    """What stops a command that reads or writes the models: the database unreachable, not migrated, or
    migrated past this code. One read of the migrations on disk and of those applied serves both checks."""
    problem = unreachable(alias)
    if problem:
        return problem
    executor = MigrationExecutor(connections[alias])
    return unapplied_migrations(executor, alias) or migrations_ahead(executor.loader, alias)


def require_reachable(alias: str = DEFAULT_DB_ALIAS) -> None:
    """For commands that migrate the database themselves (demo, the benchmarks' reset)."""
    problem = unreachable(alias)
    if problem:
        raise CommandError(problem)


def require_schema(alias: str = DEFAULT_DB_ALIAS) -> None:
    problem = schema_problem(alias)
    if problem:
        raise CommandError(problem)


class SchemaCommand(BaseCommand):
    """A command that reads or writes the models. Before ``handle()``, the database must be reachable and
    fully migrated: otherwise the command stops at once with a CommandError (exit status 1) that names the
    database and what to do, not with a traceback from its first query."""

    def needs_schema(self, options: dict[str, Any]) -> bool:
        """False when these options touch no table (e.g. ``bench_dedup --defaults``)."""
        return True

    def execute(self, *args: Any, **options: Any) -> Any:
        # Django's own hook (requires_migrations_checks) only warns, and cannot see the options.
        if self.needs_schema(options):
            require_schema()
        return super().execute(*args, **options)
