"""``bench_freshness``'s parts: simulated users who change both systems at random times, and a watcher that
times each change until it shows on the other side, from the simulators' own records and timestamps."""
from __future__ import annotations

import random
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .scenarios import parse_stamp

CHECK = re.compile(r"^WO-(\d+)$")
#: statuses a technician moves a job through (as in scenarios.typical_window)
MOVES = ("Scheduled", "Dispatched", "On The Way", "Started")
PROBLEMS = (
    "no hot water in the bathroom", "front door lock jammed", "ceiling light flickers in the hallway",
    "dishwasher leaking onto the floor", "bedroom window will not close", "smoke detector chirping",
    "garbage disposal stuck", "thermostat shows a blank screen", "mould behind the washing machine",
    "balcony railing loose", "toilet runs constantly", "oven door hinge broken", "radiator cold",
    "kitchen tap drips", "intercom silent", "bathroom fan noisy", "shower drains slowly",
)


@dataclass
class Change:
    """One user change: a work order opened in PW, or a job moved in SF; ``landed`` once the other side
    shows it (seconds after ``made``, by the simulators' clocks)."""

    direction: str  # "pw→sf" or "sf→pw"
    key: int  # the PW work order id
    made: datetime
    landed: datetime | None = None
    before: str = ""  # the PW work order's lastModified when an SF status was moved

    @property
    def delay(self) -> float | None:
        return (self.landed - self.made).total_seconds() if self.landed else None


@dataclass
class Users:
    """Make changes at random moments (a Poisson process, ``per_minute`` on average in simulated time)."""

    sims: object
    per_minute: float
    time_scale: float = 1.0
    seed: int = 0
    changes: list[Change] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._made = 0

    def next_wait(self) -> float:
        """Real seconds until the next change."""
        return self.rng.expovariate(self.per_minute / 60.0) / self.time_scale

    def act(self) -> Change | None:
        change = self.open_work_order() if self.rng.random() < 0.5 else self.move_job()
        if change is not None:
            with self._lock:
                self.changes.append(change)
        return change

    def _pending_keys(self) -> set[int]:
        with self._lock:
            return {c.key for c in self.changes if c.landed is None}

    def open_work_order(self) -> Change:
        pw, sf = self.sims.pw.store, self.sims.sf.store  # type: ignore[attr-defined]
        linked = {int(m.group(1)) for j in sf.jobs() if (m := CHECK.match(str(j.get("check_number") or "")))}
        buildings = sorted({wo["building"]["ID"] for wo in pw.work_orders() if wo["ID"] in linked})
        if not buildings:
            raise RuntimeError("no building has a work order with an SF job: was the initial sync run?")
        self._made += 1
        problem = PROBLEMS[self._made % len(PROBLEMS)]
        wo_id = pw.create_work_order(
            building=self.rng.choice(buildings), status="Open", priority=self.rng.choice(["LOW", "HIGH"]),
            description=f"{problem} (unit visit {self._made})", category="Plumbing")
        made = next(parse_stamp(w.get("_created")) for w in pw.work_orders() if w["ID"] == wo_id)
        return Change("pw→sf", int(wo_id), made or datetime.now(UTC))

    def move_job(self) -> Change | None:
        pw, sf = self.sims.pw.store, self.sims.sf.store  # type: ignore[attr-defined]
        busy = self._pending_keys()
        jobs = [(j, int(m.group(1))) for j in sf.jobs()
                if (m := CHECK.match(str(j.get("check_number") or ""))) and int(m.group(1)) not in busy
                and j.get("status") in ("Unscheduled", *MOVES)]
        if not jobs:
            return None
        job, wo_id = self.rng.choice(jobs)
        before = next((w.get("_lastModified") or "" for w in pw.work_orders() if w["ID"] == wo_id), "")
        target = self.rng.choice([s for s in MOVES if s != job.get("status")])
        view = sf.set_job_status(int(job["id"]), target)
        made = parse_stamp(view.get("updated_at")) or datetime.now(UTC)
        return Change("sf→pw", wo_id, made, before=before)


def watch(sims, users: Users) -> int:
    """Mark the changes that have landed, by the records' own stamps; returns how many are still pending.

    A new work order has landed when an SF job carries its check number (the job's ``created_at``); a
    moved job when its PW work order was written after the move (its ``lastModified``)."""
    with users._lock:
        pending = [c for c in users.changes if c.landed is None]
    if not pending:
        return 0
    jobs = {int(m.group(1)): j for j in sims.sf.store.jobs()
            if (m := CHECK.match(str(j.get("check_number") or "")))}
    orders = {w["ID"]: w for w in sims.pw.store.work_orders()}
    for change in pending:
        if change.direction == "pw→sf" and change.key in jobs:
            change.landed = parse_stamp(jobs[change.key].get("created_at"))
        elif change.direction == "sf→pw":
            stamp = (orders.get(change.key) or {}).get("_lastModified") or ""
            if stamp and stamp != change.before:
                change.landed = parse_stamp(stamp)
    # A stamp of whole seconds may fall just before the change it answers; no delay is below 0.
    for change in pending:
        if change.landed is not None and change.landed < change.made:
            change.landed = change.made
    return sum(1 for c in pending if c.landed is None)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks; 0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[int(q) - 1]


class Timeline:
    """SF requests the simulator has answered, sampled every ``every`` s, to count what a span used."""

    def __init__(self, sims, every: float = 0.5) -> None:
        self.sims = sims
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sf-requests", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self.sims.request_totals()["sf"]))
            self._stop.wait(self.every)

    def __enter__(self) -> Timeline:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def at(self, when: float) -> int:
        """Requests answered by ``when`` (the last sample at or before it)."""
        count = 0
        for stamp, value in self.samples:
            if stamp > when:
                break
            count = value
        return count

    def between(self, start: float, end: float) -> int:
        return self.at(end) - self.at(start)
