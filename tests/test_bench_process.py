"""Measured child processes: peak RSS is the child's own (not the parent's), exit codes and SIGKILL
drills are reported faithfully."""
from __future__ import annotations

import sys
from pathlib import Path

from sync.benchmarks.process import run_measured


def test_peak_rss_is_the_childs_high_water_mark():
    small = run_measured([sys.executable, "-c", "print('hi')"])
    big = run_measured([sys.executable, "-c",
                        "import time; b = bytearray(120 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); "
                        "time.sleep(0.3)  # stay alive long enough to be sampled\nprint(len(b))"])
    assert small.returncode == 0 and small.stdout.strip() == "hi"
    assert big.returncode == 0
    assert big.peak_rss_mb >= 120
    assert small.peak_rss_mb < 60  # an interpreter alone: the child's figure, not this test process's
    assert big.wall_s > 0
    assert big.rss_timeline and big.peak_rss_between(0, float("inf")) >= 120 * 1024 * 1024


def test_exit_code_and_stderr_are_kept():
    result = run_measured([sys.executable, "-c", "import sys; sys.stderr.write('bad input'); sys.exit(3)"])
    assert result.returncode == 3 and result.stderr == "bad input" and not result.killed


def test_a_child_can_be_killed_when_a_condition_holds(tmp_path: Path):
    marker = tmp_path / "started"
    script = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"
    result = run_measured([sys.executable, "-c", script], kill_when=marker.exists)
    assert result.killed


def test_a_child_over_its_time_limit_is_killed():
    result = run_measured([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=0.5)
    assert result.killed


def test_a_ready_child_is_timed_from_the_go_and_its_start_up_reported_apart(tmp_path: Path):
    ready = tmp_path / "ready"
    script = (f"import pathlib, sys, time; time.sleep(0.6); pathlib.Path({str(ready)!r}).touch(); "
              "line = sys.stdin.readline(); time.sleep(0.2); print(line.strip())")
    result = run_measured([sys.executable, "-c", script], ready_file=str(ready))
    assert result.returncode == 0 and result.stdout.strip() == "go"
    assert result.startup_s >= 0.6
    assert 0.2 <= result.wall_s < 0.6
    assert result.process_s == result.startup_s + result.wall_s


def test_a_child_that_dies_before_it_is_ready_is_reported(tmp_path: Path):
    result = run_measured([sys.executable, "-c", "import sys; sys.exit(4)"],
                          ready_file=str(tmp_path / "never"))
    assert result.returncode == 4
