"""The sync lock: a second run is refused while the first holds it, across real connections and
processes; a killed holder does not block the next run."""
import os
import signal
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sync.engine.locks import SyncLockHeld, _RowLock, lock_key, sync_lock
from sync.models import SyncLock
from tests.policy_helpers import PYTHON, ROOT, child_env
from tests.queue_support import in_other_thread

HOLD = """
import sys, django
django.setup()
from sync.engine.locks import sync_lock
with sync_lock({name!r}):
    print("locked", flush=True)
    sys.stdin.read()
"""

TRY = """
import django
django.setup()
from sync.engine.locks import SyncLockHeld, sync_lock
try:
    with sync_lock({name!r}):
        print("acquired")
except SyncLockHeld as exc:
    print("refused:", exc)
"""


def _try_lock(name):
    with sync_lock(name):
        return "got it"


def test_the_key_is_stable_and_fits_a_bigint():
    assert lock_key("greenlight-sync") == lock_key("greenlight-sync")
    assert lock_key("a") != lock_key("b")
    assert -(2**63) <= lock_key("greenlight-sync") < 2**63


@pytest.mark.django_db(transaction=True)
def test_a_second_connection_is_refused_while_the_lock_is_held():
    with sync_lock("t1"):
        with pytest.raises(SyncLockHeld) as err:
            in_other_thread(lambda: _try_lock("t1"))
        assert "t1" in str(err.value) and err.value.holder
        assert in_other_thread(lambda: _try_lock("another-name")) == "got it"
    assert in_other_thread(lambda: _try_lock("t1")) == "got it"


@pytest.mark.django_db(transaction=True)
def test_the_holding_thread_may_take_it_again():
    with sync_lock("t2") as outer:
        with sync_lock("t2") as inner:
            assert inner.refresh()
        # Leaving the inner block did not release it.
        with pytest.raises(SyncLockHeld):
            in_other_thread(lambda: _try_lock("t2"))
        assert outer.refresh()
    assert in_other_thread(lambda: _try_lock("t2")) == "got it"


@pytest.mark.django_db(transaction=True)
def test_an_error_inside_the_block_releases_the_lock():
    with pytest.raises(RuntimeError):
        with sync_lock("t3"):
            raise RuntimeError("step failed")
    assert in_other_thread(lambda: _try_lock("t3")) == "got it"


# --- the row lock (SQLite's; plain ORM, so exercised on every database) ----------------------------------

@pytest.mark.django_db(transaction=True)
def test_row_lock_excludes_and_releases():
    first = _RowLock("default", "row", timedelta(minutes=5))
    second = _RowLock("default", "row", timedelta(minutes=5))
    assert first.acquire()
    assert not second.acquire()
    assert f"process {os.getpid()} on {socket.gethostname()}" in second.holder()
    assert first.refresh() and not second.refresh()
    first.release()
    assert second.acquire()
    assert not first.refresh()  # lost: someone else holds it now


@pytest.mark.django_db(transaction=True)
def test_row_lock_held_elsewhere_blocks_until_it_expires():
    now = timezone.now()
    SyncLock.objects.create(name="row", holder="other-host:4242:1.0:abc", acquired_at=now,
                            expires_at=now + timedelta(minutes=5))
    lock = _RowLock("default", "row", timedelta(minutes=5))
    assert not lock.acquire()
    assert "process 4242 on other-host" in lock.holder()
    SyncLock.objects.filter(name="row").update(expires_at=now - timedelta(seconds=1))
    assert lock.acquire()
    assert SyncLock.objects.get(name="row").holder == lock.token


@pytest.mark.django_db(transaction=True)
def test_row_lock_of_a_dead_or_reused_process_on_this_host_is_taken_over():
    host = socket.gethostname()
    far = timezone.now() + timedelta(hours=1)
    dead = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    SyncLock.objects.create(name="row", holder=f"{host}:{dead.stdout.strip()}:1.0:abc", expires_at=far)
    assert _RowLock("default", "row", timedelta(minutes=5)).acquire()
    # Our own pid with another start time: the pid was reused, the holder is gone.
    SyncLock.objects.filter(name="row").update(holder=f"{host}:{os.getpid()}:1.0:abc", expires_at=far)
    assert _RowLock("default", "row", timedelta(minutes=5)).acquire()


# --- across processes ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def process_env(django_db_setup, django_db_blocker, tmp_path_factory):
    """Environment for child processes sharing one database: the PostgreSQL test database, or a SQLite
    file migrated for the purpose (the in-memory test database is private to this process)."""
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            return child_env()
    path = tmp_path_factory.mktemp("lockdb") / "locks.sqlite3"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{path}", PYTHONPATH=str(ROOT),
               DJANGO_SETTINGS_MODULE="greenlight.test_settings")
    subprocess.run([PYTHON, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"], env=env, check=True)
    return env


def _spawn_holder(env, name):
    proc = subprocess.Popen([PYTHON, "-c", HOLD.format(name=name)], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _try_in_process(env, name):
    done = subprocess.run([PYTHON, "-c", TRY.format(name=name)], env=env, text=True, capture_output=True,
                          check=True)
    return done.stdout.strip()


@pytest.mark.django_db(transaction=True)
def test_another_process_is_refused_until_the_holder_finishes(process_env):
    holder = _spawn_holder(process_env, "proc")
    try:
        answer = _try_in_process(process_env, "proc")
        assert answer.startswith("refused: sync lock 'proc' is held by another run (held by ")
    finally:
        holder.communicate("")  # closing stdin ends the block normally
    assert holder.returncode == 0
    assert _try_in_process(process_env, "proc") == "acquired"


@pytest.mark.django_db(transaction=True)
def test_a_killed_holder_does_not_block_the_next_run(process_env):
    holder = _spawn_holder(process_env, "killed")
    assert _try_in_process(process_env, "killed").startswith("refused")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    # SQLite: the row names a dead process on this host, taken over at once. PostgreSQL: the server
    # drops the session (and its advisory lock) when it sees the socket closed, which it does
    # asynchronously; poll for it within a bound.
    deadline = time.monotonic() + 30
    answer = _try_in_process(process_env, "killed")
    while answer.startswith("refused") and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = _try_in_process(process_env, "killed")
    assert answer == "acquired"
