"""bench_analytics: loads a dataset with history, times every analytics screen, leaves the database as it was
and refuses a warehouse that already holds work orders."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tests.analytics_data import seed_history
from warehouse.models import FactJob, FactWorkOrder

pytestmark = pytest.mark.django_db


def test_times_every_screen_and_rolls_the_load_back():
    out = io.StringIO()
    call_command("bench_analytics", dataset="tiny", repeat=1, limit_ms=60_000, stdout=out)
    text = out.getvalue()
    assert "== tiny loaded" in text and "work order versions" in text
    for label in ("open per portfolio 365d", "time in status 90d", "jobs per day 30d", "SLA ages", "history",
                  "portfolio csv"):
        assert label in text
    assert "SLOW" not in text and text.count(" ok\n") == 12 and text.count(" export\n") == 6
    assert not FactWorkOrder.objects.exists() and not FactJob.objects.exists()


def test_a_screen_over_the_limit_fails_the_run():
    with pytest.raises(CommandError, match="over 0.001 ms"):
        call_command("bench_analytics", dataset="tiny", repeat=1, limit_ms=0.001, stdout=io.StringIO())
    assert not FactWorkOrder.objects.exists()


def test_refuses_a_warehouse_with_data():
    seed_history()
    with pytest.raises(CommandError, match="not empty"):
        call_command("bench_analytics", dataset="tiny", stdout=io.StringIO())
