"""pytest fixtures of the back-office tests (import with ``from tests.admin_fixtures import *``)."""
from __future__ import annotations

import pytest

from sync.admin.groups import MAPPING_EDITORS, OPERATORS, VIEWERS
from tests.admin_support import seed_warehouse, staff_user

__all__ = ["superuser", "viewer", "operator", "mapping_editor", "warehouse_data"]


@pytest.fixture
def superuser(django_user_model):
    return staff_user(django_user_model, "boss", superuser=True)


@pytest.fixture
def viewer(django_user_model):
    return staff_user(django_user_model, "vera", VIEWERS)


@pytest.fixture
def operator(django_user_model):
    return staff_user(django_user_model, "otto", OPERATORS)


@pytest.fixture
def mapping_editor(django_user_model):
    return staff_user(django_user_model, "mia", MAPPING_EDITORS)


@pytest.fixture
def warehouse_data(db):
    seed_warehouse()
