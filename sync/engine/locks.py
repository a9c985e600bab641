"""The sync lock (business rules R4): only one run at a time, whoever starts it; a PostgreSQL advisory lock,
or on other databases (SQLite) a row claimed with a conditional UPDATE."""
from __future__ import annotations

import hashlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psutil
from django.db import IntegrityError, connections
from django.db.models import Q
from django.utils import timezone

from sync.models import SyncLock

__all__ = ["DEFAULT_LOCK_NAME", "SyncLockHeld", "lock_key", "sync_lock"]

DEFAULT_LOCK_NAME = "greenlight-sync"
DEFAULT_TTL = timedelta(hours=1)

# Locks this thread already holds, by name -> depth: the task wrapper and the runner may both take the
# lock around the same run without locking themselves out. Per thread, so two runs started from two
# threads of one process (two admin requests) still exclude each other.
_held = threading.local()


class SyncLockHeld(Exception):
    """Another run holds the sync lock; this one must not start."""

    def __init__(self, name: str, holder: str = "") -> None:
        detail = f" (held by {holder})" if holder else ""
        super().__init__(f"sync lock {name!r} is held by another run{detail}")
        self.name = name
        self.holder = holder


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.blake2b(f"greenlight:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _AdvisoryLock:
    """``pg_try_advisory_lock`` on a connection of its own, so nothing the run does with its ORM connection
    can drop it, and a killed process releases it with its socket."""

    def __init__(self, using: str, name: str) -> None:
        self.name = name
        self.key = lock_key(name)
        wrapper = connections[using]
        # A dedicated session: the advisory lock lives exactly as long as this connection.
        self._conn = wrapper.get_new_connection(wrapper.get_connection_params())
        self._conn.autocommit = True

    def acquire(self) -> bool:
        with self._conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", [self.key])
            return bool(cur.fetchone()[0])

    def holder(self) -> str:
        # An advisory bigint key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
        # Advisory locks belong to one database but pg_locks lists the whole cluster: another database
        # (a second install, a test database) may hold the same key, so only this database's row counts.
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        with self._conn.cursor() as cur:
            cur.execute(
                "SELECT a.pid, a.application_name, a.backend_start, a.datname FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
                "AND l.objsubid = 1 "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [unsigned >> 32, unsigned & 0xFFFFFFFF],
            )
            row = cur.fetchone()
        if not row:
            return ""
        app = f" ({row[1]})" if row[1] else ""
        return f"PostgreSQL backend {row[0]}{app} on database {row[3]} since {row[2]:%Y-%m-%d %H:%M:%S}"

    def refresh(self) -> bool:
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - any failure means the session (and the lock) is gone
            return False

    def release(self) -> None:
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [self.key])
        finally:
            self._conn.close()

    def close(self) -> None:
        self._conn.close()


def _process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


class _RowLock:
    """A row claimed with a conditional UPDATE, with an expiry and a same-host liveness check so a killed
    process does not block the next run for long."""

    def __init__(self, using: str, name: str, ttl: timedelta) -> None:
        self.name = name
        self.ttl = ttl
        self._rows = SyncLock.objects.using(using)
        self._host = socket.gethostname()
        # host:pid:process start time:token; the start time tells a reused pid from the holder.
        self.token = f"{self._host}:{os.getpid()}:{_process_started(os.getpid())}:{uuid.uuid4().hex[:12]}"

    def acquire(self) -> bool:
        now = timezone.now()
        try:
            self._rows.get_or_create(name=self.name)
        except IntegrityError:
            pass  # created by a concurrent caller a moment ago
        claim = {"holder": self.token, "acquired_at": now, "expires_at": now + self.ttl}
        free = Q(holder="") | Q(expires_at__lt=now)
        if self._rows.filter(Q(name=self.name) & free).update(**claim) == 1:
            return True
        current = self._rows.filter(name=self.name).values_list("holder", flat=True).first() or ""
        if self._holder_is_dead(current):
            return self._rows.filter(name=self.name, holder=current).update(**claim) == 1
        return False

    def _holder_is_dead(self, holder: str) -> bool:
        """True only when the holder ran on this host and its process is gone (or its pid was reused)."""
        parts = holder.split(":")
        if len(parts) != 4 or parts[0] != self._host:
            return False
        try:
            pid = int(parts[1])
        except ValueError:
            return False
        started = _process_started(pid)
        return started is None or str(started) != parts[2]

    def holder(self) -> str:
        row = self._rows.filter(name=self.name).values("holder", "acquired_at").first()
        if not row or not row["holder"]:
            return ""
        host, pid = row["holder"].split(":")[:2]
        return f"process {pid} on {host} since {row['acquired_at']:%Y-%m-%d %H:%M:%S}"

    def refresh(self) -> bool:
        """Push the expiry out; False if the lock was lost (expired and taken by another run)."""
        return self._rows.filter(name=self.name, holder=self.token).update(
            expires_at=timezone.now() + self.ttl) == 1

    def release(self) -> None:
        self._rows.filter(name=self.name, holder=self.token).update(holder="", acquired_at=None,
                                                                     expires_at=None)

    def close(self) -> None:
        pass


class _Reentered:
    """What a nested acquisition in the holding thread yields: the outer holder releases."""

    def __init__(self, outer) -> None:
        self.name = outer.name
        self._outer = outer

    def refresh(self) -> bool:
        return self._outer.refresh()


@contextmanager
def sync_lock(name: str = DEFAULT_LOCK_NAME, *, using: str = "default",
              ttl: timedelta = DEFAULT_TTL) -> Iterator[object]:
    """Hold the sync lock for the block, or raise SyncLockHeld at once if another run has it.

    The yielded handle has ``refresh()`` (call it between steps: on SQLite it extends the expiry
    ``ttl``; it returns False if the lock was lost). Take it outside any transaction: on SQLite the claim
    must be committed to be seen by other processes.
    """
    held: dict[str, object] = _held.__dict__.setdefault("locks", {})
    if name in held:
        yield _Reentered(held[name])
        return
    if connections[using].vendor == "postgresql":
        lock: _AdvisoryLock | _RowLock = _AdvisoryLock(using, name)
    else:
        lock = _RowLock(using, name, ttl)
    try:
        acquired = lock.acquire()
        if not acquired:
            raise SyncLockHeld(name, lock.holder())
    except BaseException:
        lock.close()
        raise
    held[name] = lock
    try:
        yield lock
    finally:
        del held[name]
        lock.release()
