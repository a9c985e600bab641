"""Test helper: a throwaway database for a command that runs ``manage.py sync`` in child processes
(the test database of pytest-django is invisible to them): a SQLite file, or on PostgreSQL a database
named after the configured one; and ``manage`` to run such a command against it."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


@contextmanager
def throwaway_database(tmp_path: Path, suffix: str) -> Iterator[str]:
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / f'drill_{suffix}.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(configured)
    name = f"{parts.path.lstrip('/') or 'greenlight'}_drill_{suffix}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ROOT = Path(__file__).resolve().parent.parent


def manage(database_url: str, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    """``manage.py <args>`` in a child process on ``database_url``, with production settings."""
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "greenlight.settings",
           "SECRET_KEY": "drill-only", "DEBUG": "false"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
