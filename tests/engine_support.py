"""Helpers for the sync engine's end-to-end tests: both simulators on loopback, the settings that point
the clients at them, flags set the way a test needs, and read-outs of what reached each simulator."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.core.cache import cache

from sync.policies.flags import set_flag
from sync.simulators.propertyware import PropertyWareSimulator
from sync.simulators.servicefusion import ServiceFusionSimulator

WRITE_OPERATIONS = (
    "createWorkOrder",
    "updateWorkOrder",
    "closeWorkOrder",
    "attachNoteToWorkOrder",
    "approveWorkOrder",
)
CHECK = re.compile(r"^WO-(\d+)$")


@contextlib.contextmanager
def simulators(
    dataset: Any = "tiny", *, page_size: int = 10, sf_rate_limit: int = 100_000, seed: int = 0
) -> Iterator[tuple[PropertyWareSimulator, ServiceFusionSimulator]]:
    """Both simulators, started; SF's rate limit is high so tests do not wait on the pacing."""
    with (
        PropertyWareSimulator(dataset=dataset, seed=seed, page_size=page_size) as pw,
        ServiceFusionSimulator(rate_limit=sf_rate_limit, rate_window=60.0, seed=seed) as sf,
    ):
        yield pw, sf


def client_settings(pw: PropertyWareSimulator, sf: ServiceFusionSimulator) -> dict[str, dict]:
    """settings.PROPERTYWARE / SERVICEFUSION pointing at the simulators (fast pacing, short waits)."""
    return {
        "PROPERTYWARE": {
            "URL": pw.url,
            "WSDL_URL": "",
            "USERNAME": pw.username,
            "PASSWORD": pw.password,
            "TIMEOUT": 30.0,
            "VENDORS_TIMEOUT": 30.0,
            "VERIFY": "true",
            "MAX_RPS": 1000.0,
            "RETRIES": 2,
            "RETRY_MIN_WAIT": 0.01,
            "RETRY_MAX_WAIT": 0.05,
        },
        "SERVICEFUSION": {
            "BASE_URL": sf.base_url,
            "CLIENT_ID": sf.client_id,
            "CLIENT_SECRET": sf.client_secret,
            "VERIFY": sf.ca_path,
            "CONNECT_TIMEOUT": 5.0,
            "READ_TIMEOUT": 30.0,
            "RATE_LIMIT_CAP": 0,
            "RETRIES": 2,
        },
    }


def point_settings(settings, pw, sf) -> None:
    """Point pytest-django's ``settings`` at the simulators; forget tokens of earlier simulators."""
    for name, value in client_settings(pw, sf).items():
        setattr(settings, name, value)
    # Reads run one by one: parallel reads use connections of their own, which cannot see a test's
    # uncommitted transaction (the parallel path has its own transactional test).
    settings.SYNC = {
        **settings.SYNC,
        "OUTBOX_BACKOFF_BASE": 0.01,
        "OUTBOX_BACKOFF_MAX": 0.1,
        "OUTBOX_WAIT_MAX": 0.2,
        "READ_WORKERS": 1,
        "STEP_RETRY_WAIT": 0.01,
        "STEP_RETRY_MAX": 0.05,
    }
    cache.clear()


def live(**flags: Any) -> None:
    """Writes on (DRY_RUN off), plus any other flags given as NAME=value."""
    set_flag("DRY_RUN", False, reason="test: writes to the simulators")
    for name, value in flags.items():
        set_flag(name, value, reason="test")


def open_statuses() -> set[str]:
    from sync.policies.flags import read_flags

    return set(read_flags().pw_open_statuses)


def sf_jobs_by_work_order(sf: ServiceFusionSimulator) -> Counter:
    """How many SF jobs carry each PW work order id in their check number."""
    out: Counter = Counter()
    for job in sf.store.jobs():
        match = CHECK.match(job.get("check_number") or "")
        if match:
            out[int(match.group(1))] += 1
    return out


def pw_writes(pw: PropertyWareSimulator) -> int:
    counts = pw.request_counts()
    return sum(counts.get(op, 0) for op in WRITE_OPERATIONS)


def sf_posts(sf: ServiceFusionSimulator) -> int:
    return sum(n for key, n in sf.request_counts().items() if key.startswith("POST /v1"))
