"""Pacing arithmetic of the ServiceFusion client, on a virtual clock (no waiting)."""
from __future__ import annotations

import random
import time

import pytest

from sync.clients.servicefusion.pacing import Pacer, seconds_until, wait_after_429


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(reset)}


def test_spends_what_the_server_reports_without_waiting():
    clock = VirtualClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.done(headers(60, 59, 1))
    for _ in range(59):
        assert pacer.acquire() == 0
        pacer.done(None)
    assert clock.slept == []


def test_once_spent_waits_one_refill_interval_per_request():
    clock = VirtualClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.done(headers(60, 0, 60))  # nothing left; the allowance is full again in 60 s: 1 request/s
    waited = pacer.acquire()
    assert 1.0 <= waited <= 1.1
    pacer.done(headers(60, 0, 60))
    assert 1.0 <= pacer.acquire() <= 1.1


def test_reset_as_epoch_seconds_is_understood():
    clock = VirtualClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.done(headers(60, 0, time.time() + 60))
    assert 0.9 <= pacer.acquire() <= 1.1


def test_an_older_response_never_raises_the_estimate():
    clock = VirtualClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.acquire()
    pacer.done(headers(60, 0, 60))  # the newer answer: nothing left
    pacer.done(headers(60, 1, 60))  # an older answer arriving late
    assert pacer.acquire() > 0


def test_a_local_cap_lowers_the_pace():
    clock = VirtualClock()
    pacer = Pacer(cap_per_minute=30, clock=clock, sleep=clock.sleep)
    for _ in range(30):
        assert pacer.acquire() == 0
        pacer.done(headers(60, 59, 1))
    assert pacer.acquire() == pytest.approx(2.0, abs=0.01)  # 30 per minute: one every 2 s


def test_wait_after_429_prefers_retry_after_then_reset_then_backoff():
    assert wait_after_429({"Retry-After": "7", "X-Rate-Limit-Reset": "30"}, 0) == 7
    assert wait_after_429({"X-Rate-Limit-Reset": "30"}, 0) == 30
    assert wait_after_429({"X-Rate-Limit-Reset": "500"}, 0) == 60  # capped
    assert 25 <= wait_after_429({"X-Rate-Limit-Reset": str(time.time() + 30)}, 0) <= 30
    rng = random.Random(1)
    backoffs = [wait_after_429({}, attempt, rng=rng) for attempt in range(8)]
    assert all(0 < b <= 60 for b in backoffs) and backoffs[1] < backoffs[5]


def test_seconds_until_reads_durations_and_moments():
    assert seconds_until(12) == 12
    assert seconds_until(2_000_000_000, now=1_999_999_990) == 10
    assert seconds_until(1_500_000_000, now=1_999_999_990) == 0
