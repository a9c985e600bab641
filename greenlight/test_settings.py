"""Settings for the test suite: the production settings with test-only defaults for secrets.

DATABASE_URL still comes from the environment, so the same suite runs on SQLite and PostgreSQL.
"""
import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DEBUG", "false")
# The test client and the browser tests speak plain HTTP on loopback: no redirect to https, no
# https-only cookies. tests/test_settings_env.py checks the production defaults in a subprocess.
for _name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
    os.environ.setdefault(_name, "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")

from greenlight.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# Scrapes in tests need no token even with DEBUG off; tests of the token override this (never set by env).
METRICS_ALLOW_ANONYMOUS = True
