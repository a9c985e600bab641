"""bench_warehouse runs on the configured database, prints its figures and leaves no rows behind."""
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from warehouse.models import FactWorkOrder

pytestmark = pytest.mark.django_db


def test_the_benchmark_prints_merge_figures_and_the_copy_ceiling_where_there_is_one(capsys):
    call_command("bench_warehouse", rows=60, changed=0.25, repeat=2)

    out = capsys.readouterr().out
    assert "rows: 60, changed: 15 (25%), runs: 2" in out
    assert "MergeResult(inserted=60, changed=0" in out
    assert "MergeResult(inserted=0, changed=15, type1_updated=0, unchanged=45" in out
    if connection.vendor == "postgresql":
        assert "COPY (scratch):" in out and "merge / COPY time:" in out
    else:
        assert "COPY ceiling:       not available" in out
    assert not FactWorkOrder.objects.exists()


@pytest.mark.parametrize(("options", "message"), [
    ({"rows": 0}, "--rows"), ({"changed": 1.5}, "--changed"), ({"repeat": 0}, "--repeat"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("bench_warehouse", **options)
