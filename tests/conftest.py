"""Shared pytest fixtures."""

import pytest


@pytest.fixture
def sims(settings):
    """Both simulators (tiny dataset) with the settings pointing the clients at them."""
    from tests.engine_support import point_settings, simulators

    with simulators() as (pw, sf):
        point_settings(settings, pw, sf)
        yield pw, sf
