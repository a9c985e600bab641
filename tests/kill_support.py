"""Running ``manage.py`` in a child process against a database of its own, for the kill tests.

The child shares no transaction with pytest, so it gets a real database: a SQLite file under the test's
tmp dir, or on PostgreSQL ``<test database name>_kill`` on the same server (dropped and created here).
Results are read back through ``manage.py shell``, as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import environ

ROOT = Path(__file__).resolve().parent.parent


def kill_database_url(tmp_path: Path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp_path / 'kill.sqlite3'}"
    import psycopg

    conf = environ.Env.db_url_config(url)
    name = f"{conf['NAME']}_kill"
    admin = {
        k: v
        for k, v in (
            ("host", conf.get("HOST")),
            ("port", conf.get("PORT")),
            ("user", conf.get("USER")),
            ("password", conf.get("PASSWORD")),
        )
        if v
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


class Child:
    """``manage.py`` commands for one database and one pair of simulators."""

    def __init__(self, database_url: str, pw, sf, **extra_env: str) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "greenlight.settings",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "kill-test-only",
            "DEBUG": "false",
            "PW_URL": pw.url,
            "PW_USERNAME": pw.username,
            "PW_PASSWORD": pw.password,
            "PW_MAX_RPS": "1000",
            "PW_RETRY_MIN_WAIT": "0.01",
            "PW_RETRY_MAX_WAIT": "0.05",
            "SF_BASE_URL": sf.base_url,
            "SF_CLIENT_ID": sf.client_id,
            "SF_CLIENT_SECRET": sf.client_secret,
            "SF_VERIFY": sf.ca_path,
            "SYNC_OUTBOX_BACKOFF_BASE": "0.01",
            "SYNC_OUTBOX_BACKOFF_MAX": "0.1",
            "LOG_LEVEL": "ERROR",
            **extra_env,
        }

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        return proc

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def query(self, code: str) -> Any:
        """Run ``code`` (which sets ``result``) in the child's Django and return ``result``."""
        script = f"import json\n{code}\nprint('@@' + json.dumps(result, default=str))"
        out = self.run("shell", "-c", script).stdout
        return json.loads(out.split("@@", 1)[1])

    def prepare(self) -> None:
        self.run("migrate", "--noinput", "-v", "0")
        self.run("flags", "DRY_RUN", "false", "--reason", "kill test: writes on")


def kill_when(event: threading.Event, proc: subprocess.Popen, timeout: float = 120) -> None:
    """SIGKILL ``proc`` as soon as ``event`` is set (the simulator reached the moment we want)."""
    if not event.wait(timeout):
        proc.kill()
        raise AssertionError("the child never reached the moment to kill it")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
