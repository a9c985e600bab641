"""compose.yaml agrees with the Dockerfile, the settings and .env.example: the services and what they wait
for, their commands, healthchecks that really probe (the web one is run here against a live server), and
only variables GreenLight reads. (`docker compose config` needs the compose plugin, absent here.)"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands
from django.urls import resolve

from greenlight import envcheck

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
APP = ("migrate", "web", "worker")
#: Variables compose.yaml itself interpolates (${…}) and that GreenLight never reads.
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}


def read_by_settings() -> set[str]:
    """Every environment variable greenlight/settings.py reads, by the name it passes to a reader."""
    text = (ROOT / "greenlight" / "settings.py").read_text()
    names = set(re.findall(r'(?:_typed|raw|typed|choice|database|env\.\w+)\(\s*"([A-Z][A-Z0-9_]+)"', text))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "Q_TIMEOUT", "ALERT_URLS"} <= names  # the regex works
    return names


def seconds(duration: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * units[u] for n, u in parts)


def test_web_worker_postgres_and_redis_with_a_one_shot_migration():
    assert set(SERVICES) == {"db", "redis", "migrate", "web", "worker"}
    assert SERVICES["db"]["image"].startswith("postgres:") and SERVICES["redis"]["image"].startswith("redis:")
    assert "/var/lib/postgresql/data" in " ".join(SERVICES["db"]["volumes"])
    assert SERVICES["db"]["volumes"][0].split(":")[0] in COMPOSE["volumes"]
    assert SERVICES["migrate"]["restart"] == "no"


def test_web_and_worker_come_from_the_one_dockerfile():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert {SERVICES[s]["build"] for s in APP} == {"."} and len({SERVICES[s]["image"] for s in APP}) == 1
    assert "command" not in SERVICES["web"]  # the image's CMD: gunicorn
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd and "gunicorn" in cmd.group(1) and "greenlight.wsgi:application" in cmd.group(1)
    assert SERVICES["worker"]["command"] == ["python", "manage.py", "qcluster"]
    assert SERVICES["migrate"]["command"][:3] == ["python", "manage.py", "migrate"]
    commands = get_commands()
    assert "qcluster" in commands and "migrate" in commands and "shell" in commands


def test_services_wait_for_what_they_need_and_what_they_wait_on_has_a_healthcheck():
    for name in ("web", "worker"):
        needs = SERVICES[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["redis"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name, service in SERVICES.items():
        for needed, how in service.get("depends_on", {}).items():
            assert needed in SERVICES, f"{name} depends on an unknown service {needed}"
            if how["condition"] == "service_healthy":
                assert SERVICES[needed].get("healthcheck", {}).get("test"), f"{needed} has no healthcheck"
    for name in ("db", "redis", "web", "worker"):
        assert SERVICES[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")


def test_every_variable_the_app_containers_get_is_one_greenlight_reads():
    known = read_by_settings()
    for name in APP:
        assert SERVICES[name]["env_file"] == ".env"
        assert set(SERVICES[name]["environment"]) <= known, name
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
               if re.match(r"[A-Z][A-Z0-9_]*=", line)}
    assert example - COMPOSE_ONLY <= known, sorted(example - COMPOSE_ONLY - known)
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "compose.yaml").read_text()))
    assert interpolated and interpolated <= example & COMPOSE_ONLY


def test_the_addresses_compose_sets_are_valid_and_name_its_services():
    env = SERVICES["web"]["environment"]
    url = re.sub(r"\$\{POSTGRES_PASSWORD[^}]*\}", "secret", env["DATABASE_URL"])
    database = envcheck.database("DATABASE_URL", url, ["postgres", "postgresql", "sqlite"])
    assert database["ENGINE"].endswith("postgresql") and database["HOST"] == "db"
    assert database["NAME"] == SERVICES["db"]["environment"]["POSTGRES_DB"]
    assert database["USER"] == SERVICES["db"]["environment"]["POSTGRES_USER"]
    for name in ("REDIS_URL", "CACHE_URL"):
        assert re.fullmatch(r"redis://redis:6379/\d+", env[name]), env[name]
    assert env["REDIS_URL"] != env["CACHE_URL"]  # the broker's queue and the cache do not share a database


def test_the_worker_is_given_time_to_finish_a_run_when_stopped():
    worker = SERVICES["worker"]
    assert worker.get("stop_signal", "SIGTERM") == "SIGTERM"
    assert seconds(worker["stop_grace_period"]) > settings.Q_CLUSTER["timeout"]


def _web_probe(port: int, allowed_hosts: str) -> subprocess.CompletedProcess:
    test = SERVICES["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    code = test[3].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    assert code != test[3]
    return subprocess.run([sys.executable, "-c", code], env={"ALLOWED_HOSTS": allowed_hosts},
                          capture_output=True, text=True, timeout=30)


@pytest.mark.django_db(transaction=True)
def test_the_web_healthcheck_probes_the_health_endpoint(live_server, settings):
    path = re.search(r"http://127\.0\.0\.1:8000(/[^?']*)", SERVICES["web"]["healthcheck"]["test"][3])
    assert path and resolve(path.group(1)).url_name == "health"
    assert any(re.match(p, path.group(1).lstrip("/")) for p in settings.SECURE_REDIRECT_EXEMPT)
    settings.ALLOWED_HOSTS = ["greenlight.example.com"]
    port = int(live_server.url.rsplit(":", 1)[1])
    ok = _web_probe(port, "greenlight.example.com,other.example.com")
    assert ok.returncode == 0, ok.stderr
    refused = _web_probe(port, "not-allowed.example.com")  # Django answers 400 to a host it does not serve
    assert refused.returncode != 0 and "HTTP Error 400" in refused.stderr


def test_the_worker_healthcheck_fails_while_no_cluster_runs(tmp_path):
    test = SERVICES["worker"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "manage.py"]
    env = {"DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, *test[2:]], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
