"""A light run's share of the ServiceFusion allowance: a client factory whose SF clients spend one
request budget together, and which the outbox's sender asks before each SF write."""
from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

from sync.clients.servicefusion.pacing import DOCUMENTED_LIMIT
from sync.clients.stats import request_count
from sync.engine.clients import build_client

__all__ = ["WRITE_COST", "SharedBudget", "allowance_per_minute"]

#: requests one SF write may take: the POST, and the look-up before it when its outcome was unknown
WRITE_COST = 2


def allowance_per_minute() -> int:
    """The SF allowance the sync works under: SF_RATE_LIMIT_CAP when staff set one, else the documented 60."""
    return int(settings.SERVICEFUSION.get("RATE_LIMIT_CAP") or 0) or DOCUMENTED_LIMIT


class SharedBudget:
    """Builds a run's clients (``build_client``) and counts every SF request they make against ``budget``.

    Each step builds its own clients, so the count sums the live request tallies of all of them; the
    sender calls ``may_write("sf")`` before claiming an SF row, and once the budget cannot cover another
    write the rows stay planned for the next run (``deferred`` says some did)."""

    def __init__(self, budget: int) -> None:
        self.budget = max(0, int(budget))
        self.deferred = False
        self._clients: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self, system: str, *, urgency: int = 0):
        client = build_client(system, urgency=urgency)
        if system == "sf":
            with self._lock:
                self._clients.append(client)
        return client

    def spent(self) -> int:
        """SF requests made so far by every client this factory built."""
        with self._lock:
            clients = list(self._clients)
        return sum(request_count(c.stats) for c in clients)

    def may_write(self, system: str) -> bool:
        if system != "sf":
            return True
        if self.spent() + WRITE_COST <= self.budget:
            return True
        self.deferred = True
        return False
