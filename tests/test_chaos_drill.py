"""The fault drill end to end: at several seeds, faults on both simulators, SIGKILLs of the sync process,
re-runs; every invariant holds (zero duplicates, nothing lost, every failure visible)."""
from __future__ import annotations

import subprocess

import pytest

from tests.chaosdb import manage, throwaway_database


def drill(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return manage(database_url, "chaos", *args)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drill_keeps_every_invariant(seed, tmp_path):
    with throwaway_database(tmp_path, f"seed{seed}") as url:
        result = drill(url, "--seed", str(seed), "--dataset", "tiny", "--fault-rate", "0.2", "--kills", "3",
                       "--yes")
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "FAIL" not in result.stdout, report
    assert "all 7 invariants hold" in result.stdout, report
    assert "kills done: 3" in result.stdout, report


def test_drill_refuses_to_empty_a_database_without_confirmation(tmp_path):
    result = drill(f"sqlite:///{tmp_path / 'keep.sqlite3'}", "--seed", "1")
    assert result.returncode != 0
    assert "pass --yes" in result.stderr
