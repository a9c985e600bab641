"""Review queues: duplicate candidates side by side with the job they resemble (link / push, who
decided), and work orders held for a unit problem (choose a unit with a reason; the push is released)."""
from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from sync.models import DuplicateCandidate, DuplicateDetectionLog, UnitCorrection
from sync.policies.units import held_work_order_ids
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import (
    client_for,
    page_messages,
    queued_tasks,
    run_queued_tasks,
    seed_review_queues,
)
from warehouse.models import FactWorkOrder

pytestmark = pytest.mark.django_db
CANDIDATES = reverse("admin:sync_duplicatecandidate_changelist")
CORRECTIONS = reverse("admin:sync_unitcorrection_changelist")
FIX = reverse("admin:sync_unitcorrection_fix_unit_ids")


@pytest.fixture
def queues(warehouse_data):
    return seed_review_queues()


def candidate_url(candidate):
    return reverse("admin:sync_duplicatecandidate_change", args=[candidate.pk])


def correction_url(correction):
    return reverse("admin:sync_unitcorrection_change", args=[correction.pk])


# --- duplicates -------------------------------------------------------------------------------------

def test_candidate_list_opens_on_pending_ones(client, viewer, queues):
    page = client_for(client, viewer).get(CANDIDATES)
    assert page.status_code == 200 and page.context["cl"].result_count == 1
    assert "WO 9001" in page.content.decode()
    queues["candidate"].state = DuplicateCandidate.State.PUSHED
    queues["candidate"].save()
    assert client.get(CANDIDATES).context["cl"].result_count == 0
    assert client.get(CANDIDATES, {"state": "all"}).context["cl"].result_count == 1


def test_candidate_is_shown_beside_the_job_it_resembles(client, operator, queues):
    page = client_for(client, operator).get(candidate_url(queues["candidate"]))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="gl-work-order"' in body and 'id="gl-job"' in body
    assert "PropertyWare work order 9001" in body and "ServiceFusion job 7001" in body
    assert body.count("Kitchen sink leaking under the cabinet") >= 2
    assert "temporal" in body and "0.90" in body
    assert "Same job — link it" in body and "Not a duplicate — push it" in body


def test_link_it_gives_the_work_order_the_job_and_keeps_who_decided(client, operator, queues):
    c = client_for(client, operator)
    done = c.post(candidate_url(queues["candidate"]),
                  {"decision": "link", "note": "same leak, tenant called twice"}, follow=True)
    assert any("linked the work order" in m for m in page_messages(done))
    candidate = DuplicateCandidate.objects.get()
    assert candidate.state == "linked" and candidate.decided_by == operator
    assert candidate.note == "same leak, tenant called twice" and candidate.decided_at is not None
    assert FactWorkOrder.objects.current().get(work_order_id=9001).sf_job_id == 7001
    assert DuplicateDetectionLog.objects.filter(work_order_id=9001, rule="review",
                                                decision="duplicate").exists()
    assert LogEntry.objects.filter(user=operator, object_id=str(candidate.pk),
                                   change_message__contains="Same job").exists()
    page = c.get(candidate_url(candidate)).content.decode()
    assert "decided by" in page and "otto" in page and "Same job — link it" not in page


def test_push_it_marks_it_not_a_duplicate(client, operator, queues):
    c = client_for(client, operator)
    refused = c.post(candidate_url(queues["candidate"]), {"decision": "push", "note": "  "}, follow=True)
    assert any("A reason is required" in m for m in page_messages(refused))
    assert DuplicateCandidate.objects.get().state == "pending"
    c.post(candidate_url(queues["candidate"]), {"decision": "push", "note": "different unit, new leak"})
    candidate = DuplicateCandidate.objects.get()
    assert candidate.state == "pushed" and candidate.decided_by == operator
    assert FactWorkOrder.objects.current().get(work_order_id=9001).sf_job_id is None


def test_a_decided_candidate_is_not_decided_again(client, operator, superuser, queues):
    client_for(client, operator).post(candidate_url(queues["candidate"]), {"decision": "push", "note": "new"})
    client.logout()
    again = client_for(client, superuser).post(candidate_url(queues["candidate"]),
                                               {"decision": "link", "note": "same"}, follow=True)
    assert any("already decided" in m for m in page_messages(again))
    assert DuplicateCandidate.objects.get().state == "pushed"


def test_bulk_link_from_the_list(client, operator, queues):
    c = client_for(client, operator)
    form = {"action": "link_selected", "_selected_action": [queues["candidate"].pk]}
    assert "Same job — link it" in c.post(CANDIDATES, form).content.decode()
    refused = c.post(CANDIDATES, {**form, "apply": "1", "reason": ""})
    assert "A reason is required" in refused.content.decode()
    assert DuplicateCandidate.objects.get().state == "pending"
    c.post(CANDIDATES, {**form, "apply": "1", "reason": "bulk"})
    assert DuplicateCandidate.objects.get().state == "linked"
    assert LogEntry.objects.filter(user=operator, change_message__contains="Reason: bulk").exists()


@pytest.mark.parametrize("who", ["viewer", "mapping_editor"])
def test_only_operators_decide_duplicates(client, who, request, queues):
    c = client_for(client, request.getfixturevalue(who))
    page = c.get(candidate_url(queues["candidate"]))
    assert page.status_code == 200 and "Same job — link it" not in page.content.decode()
    assert c.post(candidate_url(queues["candidate"]), {"decision": "link"}).status_code == 403
    c.post(CANDIDATES, {"action": "link_selected", "_selected_action": [queues["candidate"].pk],
                        "apply": "1"})
    assert DuplicateCandidate.objects.get().state == "pending"


# --- unit corrections -------------------------------------------------------------------------------

def test_held_work_order_lists_the_buildings_units(client, operator, queues):
    page = client_for(client, operator).get(correction_url(queues["correction"]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Apt 1 (unit 1011)" in body and "Apt 2 (unit 1012)" in body
    assert "No unit: release it building-level" in body
    assert "Held for correction" in body and "Oak Court" in body
    assert client.get(CORRECTIONS).context["cl"].result_count == 1


def test_correct_a_unit_with_a_reason_writes_a_version_and_releases_the_push(client, operator, queues):
    c = client_for(client, operator)
    assert 9002 in held_work_order_ids()
    done = c.post(correction_url(queues["correction"]),
                  {"unit": "1012", "reason": "tenant is in Apt 2"}, follow=True)
    assert any("now goes to unit 1012" in m and "released" in m for m in page_messages(done))
    correction = UnitCorrection.objects.get()
    assert (correction.state, correction.corrected_unit_id, correction.decided_by) == (
        "corrected", 1012, operator)
    assert 9002 not in held_work_order_ids()
    current = FactWorkOrder.objects.current().get(work_order_id=9002)
    assert current.unit_id == 1012 and "tenant is in Apt 2" in current.change_reason
    assert FactWorkOrder.objects.filter(work_order_id=9002).count() >= 3  # received, cleared, corrected
    body = done.content.decode()
    assert "push released" in body and "tenant is in Apt 2" in body
    assert LogEntry.objects.filter(user=operator,
                                   change_message__contains="Reason: tenant is in Apt 2").exists()


def test_release_building_level(client, operator, queues):
    c = client_for(client, operator)
    c.post(correction_url(queues["correction"]), {"unit": "building", "reason": "common boiler room"})
    correction = UnitCorrection.objects.get()
    assert correction.state == "released" and correction.corrected_unit_id is None
    current = FactWorkOrder.objects.current().get(work_order_id=9002)
    assert current.unit_id is None and current.building_level


def test_a_missing_reason_or_unit_is_refused_and_nothing_changes(client, operator, queues):
    c = client_for(client, operator)
    versions = FactWorkOrder.objects.filter(work_order_id=9002).count()
    page = c.post(correction_url(queues["correction"]), {"unit": "1012", "reason": ""})
    body = page.content.decode()
    assert "A reason is required" in body and "Nothing was changed" in body
    page = c.post(correction_url(queues["correction"]), {"reason": "x"})
    assert "Choose a unit" in page.content.decode()
    page = c.post(correction_url(queues["correction"]), {"unit": "4242", "reason": "x"})
    assert "Select a valid choice" in page.content.decode()
    assert UnitCorrection.objects.get().state == "held"
    assert FactWorkOrder.objects.filter(work_order_id=9002).count() == versions


@pytest.mark.parametrize("who", ["viewer", "mapping_editor"])
def test_only_operators_correct_units(client, who, request, queues):
    c = client_for(client, request.getfixturevalue(who))
    page = c.get(correction_url(queues["correction"]))
    assert page.status_code == 200 and "Apply and release" not in page.content.decode()
    assert c.post(correction_url(queues["correction"]), {"unit": "1012", "reason": "x"}).status_code == 403
    assert UnitCorrection.objects.get().state == "held"


def test_fix_unit_ids_is_queued_and_a_worker_does_the_work(client, operator, viewer, warehouse_data):
    from warehouse.models import FactWorkOrder as FWO
    from warehouse.scd import merge

    merge(FWO, [{"work_order_id": 9100, "portfolio_id": 10, "building_id": 101, "unit_id": 101,
                 "unit_ids": [101], "status": "Open"}])
    c = client_for(client, viewer)
    assert c.post(FIX, {"mode": "check"}).status_code == 403  # queueing work needs sync.trigger_sync
    assert not queued_tasks()
    client.logout()
    c = client_for(client, operator)
    check = c.post(FIX, {"mode": "check"}, follow=True)
    assert any("A check of fix_unit_ids is queued" in m for m in page_messages(check))
    (task,) = queued_tasks()
    assert task["func"] == "sync.engine.tasks.fix_unit_ids" and task["kwargs"]["dry_run"] is True
    (report,) = run_queued_tasks()
    assert "would correct 1" in report and "WO 9100" in report
    client.logout()
    c = client_for(client, viewer)
    assert c.post(FIX, {"mode": "apply", "reason": "x"}).status_code == 403
    assert not queued_tasks() and not UnitCorrection.objects.exists()
    client.logout()
    c = client_for(client, operator)
    refused = c.post(FIX, {"mode": "apply", "reason": ""}, follow=True)
    assert any("A reason is required" in m for m in page_messages(refused))
    assert not queued_tasks()
    done = c.post(FIX, {"mode": "apply", "reason": "monthly clean-up"})
    assert done.status_code == 302 and done["Location"] == FIX
    assert not UnitCorrection.objects.exists()  # nothing ran in the request
    (task,) = queued_tasks()
    assert task["kwargs"] == {"dry_run": False, "user_id": operator.pk, "reason": "monthly clean-up",
                              "queued_task_id": task["kwargs"]["queued_task_id"]}
    (report,) = run_queued_tasks()
    assert report.splitlines()[-1] == "checked 1 current work orders; corrected 1 (unit_is_building: 1)"
    correction = UnitCorrection.objects.get(work_order_id=9100)
    assert LogEntry.objects.filter(object_id=str(correction.pk), user=operator,
                                   change_message__contains="monthly clean-up").exists()


def test_the_fix_unit_ids_page_shows_what_the_workers_reported(client, viewer):
    from django.utils import timezone
    from django_q.models import Task

    now = timezone.now()
    Task.objects.create(id="t1", name="fix_unit_ids check", func="sync.engine.tasks.fix_unit_ids",
                        group="fix_unit_ids", started=now, stopped=now, success=True,
                        result="checked 3 current work orders; would correct 0 — dry run, nothing written")
    page = client_for(client, viewer).get(FIX)
    assert page.status_code == 200
    assert "checked 3 current work orders; would correct 0" in page.content.decode()
