"""The sync lock's "held by" message names a session of this database, even when another database on
the same PostgreSQL server holds the same advisory key (advisory locks are per database)."""
from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from sync.engine.locks import _AdvisoryLock, lock_key

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")]


def test_the_holder_named_is_a_session_of_this_database():
    s = connection.settings_dict
    other = psycopg.connect(dbname="postgres", host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432,
                            user=s["USER"], password=s["PASSWORD"] or None, autocommit=True)
    mine = probe = None
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [lock_key("dbname-test")])  # the same key, elsewhere
        mine = _AdvisoryLock("default", "dbname-test")
        assert mine.acquire()  # another database's lock does not conflict
        probe = _AdvisoryLock("default", "dbname-test")
        assert not probe.acquire()
        holder = probe.holder()
        assert holder.startswith(f"PostgreSQL backend {mine._conn.info.backend_pid}")
        assert f"on database {s['NAME']}" in holder
        assert str(other.info.backend_pid) not in holder.split(" since ")[0]
    finally:
        for lock in (probe, mine):
            if lock is not None:
                lock.close()
        other.close()
