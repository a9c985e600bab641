"""Bad environment values are refused at start-up with an error naming the variable; secrets may come
from ``*_FILE`` files; with DEBUG off the production defaults pass ``check --deploy`` with no warning."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k3y-" + "9f2Qx7LmP4zR8wT1vB6nY0cJ5hD3sG-aE_uK" * 2

# One child process evaluates every case (a fresh run of settings.py per case, in its own environment),
# so the many refusals below cost one interpreter start, not one each.
_CHILD = r"""
import json, os, runpy, sys
from django.core.exceptions import ImproperlyConfigured
base = dict(os.environ)
out = []
for overrides in json.load(sys.stdin):
    os.environ.clear(); os.environ.update(base)
    for k, v in overrides.items():
        if v is None: os.environ.pop(k, None)
        else: os.environ[k] = v
    try:
        ns = runpy.run_path("greenlight/settings.py")
    except ImproperlyConfigured as exc:
        out.append({"error": str(exc)})
    else:
        keep = ("SECRET_KEY", "PROPERTYWARE", "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT",
                "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "DATABASES",
                "LOG_LEVEL")
        out.append({"settings": {k: ns.get(k) for k in keep}})
print(json.dumps(out, default=str))
"""


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PW_", "SF_", "Q_", "SECURE_", "SYNC_", "AXES_", "HEALTH_", "METRICS_"))
           and not k.endswith("_FILE") and k not in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
                                                     "LOG_LEVEL", "LOG_FORMAT", "CACHE_URL", "REDIS_URL")}
    env.update({"DEBUG": "false", "SECRET_KEY": STRONG_KEY, "DJANGO_SETTINGS_MODULE": "greenlight.settings"})
    return env


def evaluate(cases: list[dict[str, str | None]]) -> list[dict]:
    result = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, env=_base_env(),
                            input=json.dumps(cases), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def secret_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("secrets")
    (d / "key").write_text(STRONG_KEY + "\n")
    (d / "pw").write_text("s3cret pass\n")
    (d / "empty").write_text("\n")
    (d / "db").write_text("sqlite://\n")
    return d


# (variable named in the error, environment overrides)
BAD = [
    ("LOG_LEVEL", {"LOG_LEVEL": "LOUD"}),
    ("LOG_FORMAT", {"LOG_FORMAT": "xml"}),
    ("PW_TIMEOUT", {"PW_TIMEOUT": "0"}),
    ("PW_TIMEOUT", {"PW_TIMEOUT": "-5"}),
    ("PW_TIMEOUT", {"PW_TIMEOUT": "nan"}),
    ("PW_TIMEOUT", {"PW_TIMEOUT": "inf"}),
    ("PW_TIMEOUT", {"PW_TIMEOUT": "1e9"}),
    ("PW_VENDORS_TIMEOUT", {"PW_VENDORS_TIMEOUT": "-1"}),
    ("SF_CONNECT_TIMEOUT", {"SF_CONNECT_TIMEOUT": "0"}),
    ("SF_READ_TIMEOUT", {"SF_READ_TIMEOUT": "-0.5"}),
    ("PW_MAX_RPS", {"PW_MAX_RPS": "-1"}),
    ("PW_MAX_RPS", {"PW_MAX_RPS": "20000"}),
    ("PW_RETRIES", {"PW_RETRIES": "-1"}),
    ("PW_RETRIES", {"PW_RETRIES": "99"}),
    ("PW_RETRY_MIN_WAIT", {"PW_RETRY_MIN_WAIT": "60"}),
    ("SF_RATE_LIMIT_CAP", {"SF_RATE_LIMIT_CAP": "-1"}),
    ("SF_RETRIES", {"SF_RETRIES": "11"}),
    ("Q_WORKERS", {"Q_WORKERS": "0"}),
    ("Q_TIMEOUT", {"Q_TIMEOUT": "0"}),
    ("Q_RETRY", {"Q_RETRY": "-1"}),
    ("Q_MAX_ATTEMPTS", {"Q_MAX_ATTEMPTS": "0"}),
    ("Q_TIMEOUT", {"Q_TIMEOUT": "800", "Q_RETRY": "720"}),
    ("SYNC_BUDGET_MARGIN", {"SYNC_BUDGET_MARGIN": "600"}),
    ("SYNC_BUDGET_MARGIN", {"SYNC_BUDGET_MARGIN": "-1"}),
    ("SYNC_CONTINUATIONS_MAX", {"SYNC_CONTINUATIONS_MAX": "-1"}),
    ("HEALTH_MISSED_RUNS", {"HEALTH_MISSED_RUNS": "0"}),
    ("HEALTH_MAX_RUN_AGE", {"HEALTH_MAX_RUN_AGE": "-1"}),
    ("SYNC_BATCH_SIZE", {"SYNC_BATCH_SIZE": "0"}),
    ("SYNC_READ_WORKERS", {"SYNC_READ_WORKERS": "1000"}),
    ("SYNC_STEP_RETRY_WAIT", {"SYNC_STEP_RETRY_WAIT": "100"}),
    ("SYNC_PULL_OVERLAP_SECONDS", {"SYNC_PULL_OVERLAP_SECONDS": "100000000000000000000"}),
    ("DATABASE_URL", {"DATABASE_URL": "sqlite://"}),
    ("DATABASE_URL", {"DATABASE_URL": "sqlite:///"}),
    ("DATABASE_URL", {"DATABASE_URL": "postgres://db.example:99999/gl"}),
    ("DATABASE_URL", {"DATABASE_URL": "postgres://db.example:port/gl"}),
    ("DATABASE_URL", {"DATABASE_URL": "nosuchscheme://x"}),
    ("CACHE_URL", {"CACHE_URL": "nosuch://x"}),
    ("REDIS_URL", {"REDIS_URL": "http://redis.example"}),
    ("METRICS_TOKEN", {"METRICS_TOKEN": "short"}),
    ("HEALTH_TOKEN", {"HEALTH_TOKEN": "short"}),
    ("SECURE_HSTS_SECONDS", {"SECURE_HSTS_SECONDS": "-1"}),
    ("SECURE_SSL_REDIRECT", {"SECURE_SSL_REDIRECT": "perhaps"}),
    ("SESSION_COOKIE_SECURE", {"SESSION_COOKIE_SECURE": "2"}),
    ("SECURE_PROXY_SSL_HEADER", {"SECURE_PROXY_SSL_HEADER": "X Forwarded: https"}),
    ("AXES_FAILURE_LIMIT", {"AXES_FAILURE_LIMIT": "0"}),
    ("AXES_COOLOFF_MINUTES", {"AXES_COOLOFF_MINUTES": "soon"}),
    ("MAPPING_IMPORT_MAX_ROWS", {"MAPPING_IMPORT_MAX_ROWS": "0"}),
    ("SECRET_KEY", {"SECRET_KEY": None}),
]
BAD_FILES = [
    ("SECRET_KEY_FILE", {"SECRET_KEY": None, "SECRET_KEY_FILE": "{d}/missing"}),
    ("SECRET_KEY", {"SECRET_KEY_FILE": "{d}/key"}),  # both set
    ("DATABASE_URL_FILE", {"DATABASE_URL_FILE": "{d}/empty", "DATABASE_URL": None}),
    ("DATABASE_URL", {"DATABASE_URL_FILE": "{d}/db", "DATABASE_URL": None}),  # the file says sqlite://
    ("PW_PASSWORD_FILE", {"PW_PASSWORD_FILE": "{d}"}),  # a directory: unreadable
    ("SF_CLIENT_SECRET_FILE", {"SF_CLIENT_SECRET_FILE": "{d}/nope"}),
    ("METRICS_TOKEN_FILE", {"METRICS_TOKEN_FILE": "{d}/nope"}),
]


def test_bad_values_are_refused_naming_the_variable(secret_files):
    cases = BAD + [(name, {k: (v.format(d=secret_files) if v else v) for k, v in env.items()})
                   for name, env in BAD_FILES]
    results = evaluate([env for _, env in cases])
    failures = []
    for (variable, env), result in zip(cases, results, strict=True):
        error = result.get("error", "")
        if not error.startswith(f"{variable}:"):
            failures.append(f"{env}: expected an error naming {variable}, got {result}")
    assert not failures, "\n".join(failures)
    assert len(cases) >= 50


def test_secrets_are_read_from_files(secret_files):
    [result] = evaluate([{"SECRET_KEY": None, "SECRET_KEY_FILE": f"{secret_files}/key",
                          "PW_PASSWORD_FILE": f"{secret_files}/pw",
                          "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}])
    settings = result["settings"]
    assert settings["SECRET_KEY"] == STRONG_KEY  # the file's newline is no part of the secret
    assert settings["PROPERTYWARE"]["PASSWORD"] == "s3cret pass"
    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_defaults_are_on_without_debug_and_off_with_it():
    prod, dev = evaluate([{}, {"DEBUG": "true"}])
    prod, dev = prod["settings"], dev["settings"]
    assert prod["SECURE_SSL_REDIRECT"] and prod["SESSION_COOKIE_SECURE"] and prod["CSRF_COOKIE_SECURE"]
    assert prod["SECURE_HSTS_SECONDS"] == 31536000
    assert not (dev["SECURE_SSL_REDIRECT"] or dev["SESSION_COOKIE_SECURE"] or dev["CSRF_COOKIE_SECURE"])
    assert dev["SECURE_HSTS_SECONDS"] == 0
    [proxy] = evaluate([{"SECURE_SSL_REDIRECT": "false", "SECURE_HSTS_SECONDS": "0"}])
    assert proxy["settings"]["SECURE_SSL_REDIRECT"] is False  # a proxy that terminates TLS switches it off


def test_check_deploy_is_clean_with_debug_off():
    env = dict(_base_env(), ALLOWED_HOSTS="greenlight.example.com")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_a_bad_log_level_stops_django_setup_naming_the_variable():
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                            env=dict(_base_env(), LOG_LEVEL="LOUD"), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "ImproperlyConfigured: LOG_LEVEL: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL" \
        in result.stderr
