"""Run what django-q2 queued through its real worker path (``worker`` then ``monitor``, as a cluster
does, in this process), and read the status the API answers."""
from __future__ import annotations

import threading

from django.db import connection


def work_off_queue() -> list[str]:
    """Take every task off the ORM broker and run it through django-q2's worker and monitor (the monitor
    saves the task's Success or Failure row). Returns the task ids, in queue order."""
    from django_q.models import OrmQ
    from django_q.tasks import _sync  # the cluster's worker + monitor, minus the processes

    done = []
    while (row := OrmQ.objects.order_by("id").first()) is not None:
        payload = row.payload
        row.delete()
        done.append(_sync(payload))
    return done


def in_other_thread(fn):
    """Run ``fn`` on another thread (its own database connection, as a worker has); return its result."""
    out: dict = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            out["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")
