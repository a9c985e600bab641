"""The outbox skips a write the remote reports as a duplicate (R34) on the error's type alone: the row is
settled as ignored with the remote's words, never dead-lettered, and the other rows go out; an error of
another type is handled as before whatever its wording."""

from __future__ import annotations

import pytest

from sync.engine.context import StepContext
from sync.errors import RemoteValidationError
from sync.models import OutboxItem, SyncError
from sync.outbox.planning import plan
from sync.outbox.protocol import WriteHandler
from sync.outbox.sender import Sender
from sync.policies.flags import read_flags
from tests.sf_support import make_client, sim_fixture

sim = sim_fixture(rate_limit=10_000)
State = OutboxItem.State


@pytest.fixture
def qbo_linked(sim):
    """An account linked to QuickBooks Online: customer names must be unique."""
    sim.store.unique_customer_names = True
    return sim



class _CreatesCustomers(WriteHandler):
    """POST /customers through the real client (the outbox's handling of its answer is under test)."""

    kind = OutboxItem.Kind.PORTFOLIO_CUSTOMER
    system = "sf"

    def __init__(self, client) -> None:
        self.client = client

    def send(self, ctx, row):
        return {"id": int(self.client.create_customer(row.payload).id)}


class _Refused(WriteHandler):
    """A remote rejecting the write with an error that merely mentions a duplicate."""

    kind = OutboxItem.Kind.PORTFOLIO_CUSTOMER
    system = "sf"

    def send(self, ctx, row):
        raise RemoteValidationError(
            "ServiceFusion rejected the data",
            fields=[{"field": "po_number", "message": "Duplicate entries are not allowed in PO Number."}],
        )


def _ctx() -> StepContext:
    return StepContext(run=None, step_run=None, name="test", flags=read_flags())


def _plan(key: str, name: str) -> OutboxItem:
    body = {"customer_name": name}
    row, _ = plan(key, OutboxItem.Kind.PORTFOLIO_CUSTOMER, body, run_id=None, dry_run=False)
    return row


@pytest.mark.django_db
def test_a_duplicate_the_remote_reports_is_skipped_and_the_others_are_sent(qbo_linked):
    qbo_linked.store.seed_customer({"customer_name": "Oak Portfolio"})  # entered in ServiceFusion by hand
    taken = _plan("customer:portfolio:1", "Oak Portfolio")
    fresh = _plan("customer:portfolio:2", "Elm Portfolio")
    ctx = _ctx()

    counts = Sender(ctx, [_CreatesCustomers(make_client(qbo_linked))]).drain(count_as="created")

    taken.refresh_from_db()
    fresh.refresh_from_db()
    assert (taken.state, taken.attempts) == (State.IGNORED, 1)
    assert taken.hold_reason.startswith("duplicate: ") and "has already been taken" in taken.hold_reason
    assert fresh.state == State.SENT
    assert counts["ignored"] == 1 and ctx.counts["created"] == 1 and not ctx.counts["failed"]
    error = SyncError.objects.get(record_key=taken.key)
    assert error.recovery_action == "treated as duplicate; skipped" and error.system == "sf"
    names = sorted(c["customer_name"] for c in qbo_linked.store.customers())
    assert names == ["Elm Portfolio", "Oak Portfolio"]  # nothing created twice


@pytest.mark.django_db
def test_a_rejection_that_only_mentions_a_duplicate_is_a_dead_letter():
    row = _plan("customer:portfolio:3", "Ash Portfolio")
    ctx = _ctx()

    Sender(ctx, [_Refused()]).drain()

    row.refresh_from_db()
    assert row.state == State.DEAD and not row.ambiguous
    assert "Duplicate entries" in row.last_error
    assert ctx.counts["failed"] == 1 and not ctx.counts["ignored"]
