"""The fault drill end to end: at several seeds, faults on both simulators, SIGKILLs of the sync process,
re-runs; every invariant holds (zero duplicates, nothing lost, every failure visible)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chaosdb import throwaway_database

ROOT = Path(__file__).resolve().parent.parent


def drill(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "greenlight.settings",
           "SECRET_KEY": "chaos-drill-only", "DEBUG": "false"}
    return subprocess.run([sys.executable, "manage.py", "chaos", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1500)


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
