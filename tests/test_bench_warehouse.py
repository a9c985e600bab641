"""bench_warehouse runs on the configured database, prints its figures and leaves no rows behind."""
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from warehouse.models import FactWorkOrder

pytestmark = pytest.mark.django_db


def test_the_benchmark_prints_merge_figures_and_the_copy_ceiling_where_there_is_one(capsys):
    call_command("bench_warehouse", rows=60, changed=0.25, new=0, deleted=0, repeat=2)

    out = capsys.readouterr().out
    assert "rows: 60, changed: 15 (25%), runs: 2" in out
    assert "MergeResult(inserted=60, changed=0" in out
    assert "MergeResult(inserted=0, changed=15, type1_updated=0, unchanged=45" in out
    if connection.vendor == "postgresql":
        assert "COPY (scratch):" in out and "merge / COPY time:" in out
    else:
        assert "COPY ceiling:       not available" in out
    assert not FactWorkOrder.objects.exists()


def test_the_incremental_batch_adds_and_leaves_out_records_and_reconciles_them(capsys):
    call_command("bench_warehouse", rows=200, changed=0.1, new=0.05, deleted=0.02)

    out = capsys.readouterr().out
    assert "new: 10, deleted: 4, full reconciliation" in out
    assert "MergeResult(inserted=200, changed=0" in out
    # The changed sample may include left-out rows: those are tombstoned, not changed.
    (line,) = [x for x in out.splitlines() if x.startswith("incremental merge:")]
    assert "inserted=10, " in line and "tombstoned=4)" in line and "type1_updated=0" in line
    assert not FactWorkOrder.objects.exists()


@pytest.mark.parametrize(("options", "message"), [
    ({"rows": 0}, "--rows"), ({"changed": 1.5}, "--changed"), ({"repeat": 0}, "--repeat"),
    ({"new": -0.1}, "--new"), ({"deleted": 2}, "--deleted"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("bench_warehouse", **options)


@pytest.mark.django_db(transaction=True)
def test_each_run_starts_from_a_vacuumed_table_where_it_can(capsys):
    """Rolled-back runs leave dead rows behind; outside a transaction they are vacuumed away before each run,
    so the table the next run scans is as small as before."""
    call_command("bench_warehouse", rows=300, changed=0.1, new=0, deleted=0, repeat=2)

    out = capsys.readouterr().out
    if connection.vendor == "postgresql":
        sizes = [line for line in out.splitlines() if line.startswith("fact_work_orders vacuumed: 0 rows")]
        assert len(sizes) == 2 and sizes[0] == sizes[1]  # the first run's debris is gone before the second
    else:
        assert out.count("fact_work_orders: 0 rows") == 2
    assert not FactWorkOrder.objects.exists()
