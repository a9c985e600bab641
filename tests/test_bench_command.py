"""bench_sync runs end to end on the tiny dataset (time-scaled) and prints its table; it refuses to
empty a database without --yes and names a bad dataset."""
from __future__ import annotations

import pstats
import subprocess
from pathlib import Path

from tests.chaosdb import manage, throwaway_database


def bench(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return manage(database_url, "bench_sync", *args, timeout=900)


def test_tiny_benchmark_prints_a_row_per_scenario(tmp_path):
    with throwaway_database(tmp_path, "bench") as url:
        result = bench(url, "--dataset", "tiny", "--scenario", "all", "--time-scale", "50", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout[result.stdout.index("dataset  scenario"):]
    rows = [line.split() for line in table.splitlines()[2:] if line.startswith("tiny")]
    assert [r[1] for r in rows] == ["initial", "noop", "incremental"]
    assert "sync exited" not in table
    assert "settle" in result.stdout and "edits: 40 new work orders" in result.stdout


def test_bad_input_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'keep.sqlite3'}"
    assert "pass --yes" in bench(url, "--dataset", "tiny").stderr
    assert "unknown huge" in bench(url, "--dataset", "huge", "--yes").stderr
    assert "--scenario: unknown nope" in bench(url, "--scenario", "noop,nope", "--yes").stderr
    # A database that does not exist is named, with what to do, not a traceback.
    missing = bench("postgres://postgres@127.0.0.1:5432/greenlight_no_such_db", "--dataset", "tiny", "--yes")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "cannot reach the database (postgresql greenlight_no_such_db" in missing.stderr
    assert "create it first" in missing.stderr


def test_fast_setup_runs_the_setup_without_limits_and_judges_only_what_was_asked(tmp_path):
    with throwaway_database(tmp_path, "bench") as url:
        result = bench(url, "--dataset", "tiny", "--scenario", "noop,incremental", "--fast-setup", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tiny initial: set-up run without limits" in result.stdout
    assert "tiny settle: set-up run without limits" in result.stdout
    table = result.stdout[result.stdout.index("dataset  scenario"):]
    rows = [line.split() for line in table.splitlines()[2:] if line.startswith("tiny")]
    assert [r[1] for r in rows] == ["noop", "incremental"]
    assert "sync exited" not in table


def test_profile_dir_saves_the_statistics_of_each_timed_run(tmp_path):
    profiles = tmp_path / "profiles"
    with throwaway_database(tmp_path, "bench") as url:
        result = bench(url, "--dataset", "tiny", "--scenario", "initial", "--time-scale", "50",
                       "--profile-dir", str(profiles), "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    stats = pstats.Stats(str(profiles / "tiny-initial.prof"))
    functions = {(Path(file).name, name) for file, _line, name in stats.stats}
    # The run itself (the step scheduler), not only the worker's set-up, was profiled.
    assert ("pipeline.py", "execute") in functions
    assert ("warm_worker.py", "main") not in functions
