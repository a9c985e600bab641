"""``manage.py simulate`` serves both simulators and prints where they are and how to log in."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "greenlight.test_settings", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "simulate", *args], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _read_until(proc: subprocess.Popen, marker: str, limit: float = 60.0) -> str:
    seen, deadline = [], time.monotonic() + limit
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError("simulate never printed " + repr(marker) + ":\n" + "".join(seen))


def test_simulate_prints_working_urls_and_credentials():
    proc = _start("--dataset", "tiny", "--pw-port", "0", "--sf-port", "0")
    try:
        out = _read_until(proc, "export SF_BASE_URL")
        wsdl = re.search(r"WSDL:\s+(\S+)", out).group(1)
        user, password = re.search(r"login:\s+(\S+) / (\S+)", out).groups()
        assert requests.get(wsdl, auth=(user, password), timeout=10).status_code == 200
        assert requests.get(wsdl, auth=(user, "wrong"), timeout=10).status_code == 401

        base = re.search(r"base URL: (\S+)", out).group(1)
        ca = re.search(r"CA file:\s+(\S+)", out).group(1)
        client_id, secret = re.search(r"client:\s+(\S+) / (\S+)", out).groups()
        token = requests.post(
            f"{base}/oauth/access_token", verify=ca, timeout=10,
            json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
        assert token.status_code == 200
        me = requests.get(f"{base}/v1/me", verify=ca, timeout=10,
                          headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert me.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0
    assert "Simulators stopped." in rest


def test_simulate_refuses_an_unknown_dataset():
    proc = _start("--dataset", "enormous", "--pw-port", "0", "--sf-port", "0")
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0
    assert "--dataset 'enormous'" in out
