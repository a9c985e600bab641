"""``manage.py demo --no-serve`` (what CI runs): a full sync, users' changes, an incremental sync, a login."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from sync.models import OutboxItem, SyncRun
from warehouse.models import FactTransaction, FactWorkOrder

# Transactional: the demo reads in parallel threads (PostgreSQL), each on its own connection.
pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_syncs_twice_and_prints_a_login(settings):
    # Touched through the fixture so the demo's repointing of the clients is undone afterwards.
    settings.PROPERTYWARE, settings.SERVICEFUSION = settings.PROPERTYWARE, settings.SERVICEFUSION
    out = StringIO()

    call_command("demo", "--no-serve", "--dataset", "tiny", stdout=out)

    text = out.getvalue()
    first, second = SyncRun.objects.order_by("id")
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert first.full and not second.full
    assert f"Run {first.pk}: succeeded" in text and f"Run {second.pk}: succeeded" in text
    jobs = OutboxItem.objects.filter(kind="job", state=OutboxItem.State.SENT)
    assert jobs.filter(run=first).exists() and jobs.filter(run=second).count() == 3  # the 3 new work orders
    edited = FactWorkOrder.objects.filter(description__contains="[edited in PropertyWare")
    assert edited.filter(is_current=True).count() == 1
    versions = list(
        FactWorkOrder.objects.filter(work_order_id=edited.get().work_order_id).order_by("valid_from")
    )
    assert "[edited" not in versions[-2].description and versions[-1].sync_run_id == second.pk
    assert FactTransaction.objects.count() == 1  # the invoiced job
    completed = FactWorkOrder.objects.filter(is_current=True, status="Completed", sync_run_id=second.pk)
    assert completed.count() == 3
    password = re.search(r"password: (\S+)", text).group(1)
    user = get_user_model().objects.get(username="demo")
    assert user.is_staff and user.is_superuser and user.check_password(password)


def test_a_second_demo_needs_an_empty_database_and_reset_gives_it_one(settings):
    """The simulators start afresh each time: an earlier demo's records would not match them."""
    settings.PROPERTYWARE, settings.SERVICEFUSION = settings.PROPERTYWARE, settings.SERVICEFUSION
    call_command("demo", "--no-serve", "--dataset", "tiny", stdout=StringIO())
    with pytest.raises(CommandError, match=r"already holds 2 sync run\(s\).*Pass --reset"):
        call_command("demo", "--no-serve", "--dataset", "tiny", stdout=StringIO())
    assert SyncRun.objects.count() == 2  # refused before anything changed

    out = StringIO()
    call_command("demo", "--no-serve", "--dataset", "tiny", "--reset", stdout=out)
    assert "emptied the database (2 sync runs of an earlier demo)" in out.getvalue()
    first, second = SyncRun.objects.order_by("id")
    assert (first.status, second.status) == ("succeeded", "succeeded")
