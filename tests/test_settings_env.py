"""Start-up refuses bad or missing configuration with an error naming the variable."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _boot(**overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PW_", "SF_", "Q_"))}
    env.pop("SECRET_KEY", None)
    env.update({"DJANGO_SETTINGS_MODULE": "greenlight.settings", "DEBUG": "false", "SECRET_KEY": "x" * 50})
    env.update(overrides)
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('ok')"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_valid_environment_starts():
    result = _boot()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "variable, value",
    [
        ("PW_TIMEOUT", "ninety"),
        ("SF_RATE_LIMIT_CAP", "1.5x"),
        ("DEBUG", "maybe"),
        ("Q_WORKERS", "two"),
        ("DATABASE_URL", "nosuchscheme://x"),
        ("PW_FILTER_TIME_ZONE", "Mars/Olympus"),
        ("SYNC_SF_CUSTOMER_CACHE_SECONDS", "-1"),
        ("SYNC_SF_LOOKUP_CACHE_SECONDS", "an hour"),
    ],
)
def test_malformed_value_names_the_variable(variable, value):
    result = _boot(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_missing_secret_key_is_refused_outside_debug():
    result = _boot(SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_allows_the_development_secret():
    result = _boot(SECRET_KEY="", DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_task_timeout_must_stay_below_broker_retry():
    result = _boot(Q_TIMEOUT="900", Q_RETRY="600")
    assert result.returncode != 0
    assert "Q_TIMEOUT" in result.stderr
