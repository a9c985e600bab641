"""Settings for the test suite: the production settings with test-only defaults for secrets.

DATABASE_URL still comes from the environment, so the same suite runs on SQLite and PostgreSQL.
"""
import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DEBUG", "false")

from greenlight.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
