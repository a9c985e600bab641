"""Helpers shared by the policy tests: reaching the test database from a child process."""
import os
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    """Environment for a child Python process that opens the same (PostgreSQL) test database."""
    s = connection.settings_dict
    assert connection.vendor == "postgresql", "child processes need a database they can open"
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="greenlight.test_settings",
               PYTHONPATH=str(ROOT))
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = s["PASSWORD"]
    return env


PYTHON = sys.executable
