"""Structured logs: every line carries the sync run id and step, in JSON and plain formats, across the
threads a run starts; the format is chosen with LOG_FORMAT."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sync.observability.context import current_context, in_context, log_context
from tests.logcapture import captured_logs

ROOT = Path(__file__).resolve().parent.parent


def test_json_lines_carry_run_id_and_step():
    log = logging.getLogger("sync.engine.runner")
    with captured_logs("json") as out:
        with log_context(run_id=42, step="pull_portfolios"):
            log.info("pulled %d portfolios", 228)
        log.info("between runs")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "pulled 228 portfolios"
    assert (first["run_id"], first["step"], first["level"], first["logger"]) == (
        42, "pull_portfolios", "INFO", "sync.engine.runner")
    assert second["run_id"] is None and second["step"] is None


def test_plain_lines_carry_run_id_and_step():
    with captured_logs("plain") as out:
        with log_context(run_id=7, step="push_jobs"):
            logging.getLogger("sync.steps").warning("skipped work order %s", 123)
        logging.getLogger("sync.steps").warning("idle")
    first, second = out.getvalue().splitlines()
    assert " WARNING sync.steps run=7 step=push_jobs skipped work order 123" in first
    assert " run=- step=- idle" in second


def test_nested_contexts_override_and_restore():
    with captured_logs("json") as out:
        with log_context(run_id=5):
            with log_context(step="pull_jobs", page=3):
                logging.getLogger("sync").info("inner")
                assert current_context() == {"run_id": 5, "step": "pull_jobs", "page": 3}
            logging.getLogger("sync").info("outer")
    inner, outer = (json.loads(line) for line in out.getvalue().splitlines())
    assert (inner["run_id"], inner["step"], inner["page"]) == (5, "pull_jobs", 3)
    assert (outer["run_id"], outer["step"]) == (5, None) and "page" not in outer


def test_explicit_extra_wins_over_context():
    with captured_logs("json") as out:
        with log_context(run_id=5, step="a"):
            logging.getLogger("sync").info("x", extra={"step": "b"})
    assert json.loads(out.getvalue())["step"] == "b"


def test_parallel_reads_keep_the_run_id_on_their_lines():
    log = logging.getLogger("sync.steps.pull")

    def read(stream: str) -> str:
        log.info("reading %s", stream)
        return stream

    with captured_logs("json") as out:
        with log_context(run_id=99, step="pull"), ThreadPoolExecutor(max_workers=3) as pool:
            done = list(pool.map(in_context(read), ["portfolios", "leases", "jobs"]))
    assert done == ["portfolios", "leases", "jobs"]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sorted(line["message"] for line in lines) == [
        "reading jobs", "reading leases", "reading portfolios"]
    assert {line["run_id"] for line in lines} == {99}


def test_two_runs_in_threads_do_not_see_each_others_ids():
    log = logging.getLogger("sync")

    def run(run_id: int) -> None:
        with log_context(run_id=run_id):
            for i in range(20):
                log.info("run %s line %s", run_id, i)

    with captured_logs("json") as out, ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run, [1, 2]))
    for line in map(json.loads, out.getvalue().splitlines()):
        assert line["message"].startswith(f"run {line['run_id']} ")


def _boot(log_format: str, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "DJANGO_SETTINGS_MODULE")}
    env.update({"DJANGO_SETTINGS_MODULE": "greenlight.settings", "DEBUG": "false", "SECRET_KEY": "x" * 50,
                "LOG_FORMAT": log_format})
    return subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + code],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_log_format_json_makes_a_process_print_json_lines():
    result = _boot("JSON", "import logging\nfrom sync.observability.context import log_context\n"
                           "with log_context(run_id=3, step='pull_leases'):\n"
                           "    logging.getLogger('sync').info('hello')")
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert (line["message"], line["run_id"], line["step"]) == ("hello", 3, "pull_leases")


@pytest.mark.parametrize("value", ["xml", "jsonl"])
def test_unknown_log_format_is_refused_naming_the_variable(value):
    result = _boot(value, "")
    assert result.returncode != 0
    assert "LOG_FORMAT" in result.stderr
