"""Whether a partial run is continued and with which steps: the steps it left, as long as it made progress
and its chain of continuations is below SYNC_CONTINUATIONS_MAX."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from sync.models import Cursor, OutboxItem, StepRun, SyncRun

__all__ = ["Continuation", "chain_length", "decide", "made_progress", "steps_left"]

_LEFT = (StepRun.Status.PARTIAL, StepRun.Status.PENDING)


@dataclass(frozen=True)
class Continuation:
    """``steps``: what the next run takes up (empty when there is none); ``why``: the decision, in words."""

    steps: list[str]
    why: str

    @property
    def wanted(self) -> bool:
        return bool(self.steps)


def steps_left(run: SyncRun) -> list[str]:
    """The steps a partial run cut short or never started, in pipeline order. The continuation runs only
    these: a step outside a run's selection counts as done by an earlier run (pipeline.select)."""
    return list(run.steps.filter(status__in=_LEFT).order_by("position").values_list("name", flat=True))


def made_progress(run: SyncRun) -> bool:
    """Whether ``run`` committed anything a continuation would not have to do again: a step finished, an
    outbox row it claimed settled one way or another, or a pull batch committed with its cursor."""
    if run.steps.filter(status=StepRun.Status.SUCCEEDED).exists():
        return True
    if OutboxItem.objects.filter(run=run).exclude(state=OutboxItem.State.PLANNED).exists():
        return True
    # A pass cut short keeps "running" with the batches it committed (cursors.save_progress).
    return Cursor.objects.filter(status="running", updated_at__gte=run.started_at,
                                 state__batches__gt=0).exists()


def chain_length(run: SyncRun) -> int:
    """How many continuations led to ``run`` (0 for the run that started the chain)."""
    length, seen = 0, {run.pk}
    current = run.continues_id
    while current is not None and current not in seen:
        seen.add(current)
        length += 1
        current = SyncRun.objects.filter(pk=current).values_list("continues_id", flat=True).first()
    return length


def decide(run: SyncRun) -> Continuation:
    """Whether and how to continue ``run``: only a partial run that made progress, within the cap."""
    if run.status != SyncRun.Status.PARTIAL:
        return Continuation([], f"run {run.pk} is {run.status}: nothing to continue")
    cap = int(settings.SYNC["CONTINUATIONS_MAX"])
    if chain_length(run) >= cap:
        return Continuation([], f"run {run.pk} ends a chain of {cap} continuations (SYNC_CONTINUATIONS_MAX):"
                                " the chain stops; the next scheduled run carries on")
    if not made_progress(run):
        return Continuation([], f"run {run.pk} made no progress within its budget: the chain stops rather "
                                "than loop; the next scheduled run carries on")
    steps = steps_left(run)
    return Continuation(steps, f"run {run.pk} continued with {', '.join(steps)}")
