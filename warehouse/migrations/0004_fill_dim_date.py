"""Fill dim_date from 2015-01-01 through the end of next year, with the unknown row (key 0). Frozen code:
the calendar rules are copied here, not imported, so later edits to warehouse.dim_date cannot change what
this migration did; the sync extends the calendar at runtime (warehouse.dim_date.extend_dim_date)."""
import datetime as dt

import holidays
from django.db import migrations

FIRST_DAY = dt.date(2015, 1, 1)


def fill(apps, schema_editor):
    dim_date = apps.get_model("warehouse", "DimDate")
    last_day = dt.date(dt.date.today().year + 1, 12, 31)
    federal = holidays.country_holidays("US", years=range(FIRST_DAY.year, last_day.year + 1))
    rows = [dim_date(date_key=0, date=None, label="Unknown")]
    day = FIRST_DAY
    while day <= last_day:
        name = federal.get(day) or ""
        rows.append(dim_date(
            date_key=day.year * 10_000 + day.month * 100 + day.day, date=day, year=day.year,
            quarter=(day.month - 1) // 3 + 1, month=day.month, day=day.day, weekday=day.weekday(),
            is_weekend=day.weekday() >= 5, is_holiday=bool(name), holiday_name=name, label=day.isoformat(),
        ))
        day += dt.timedelta(days=1)
    # ignore_conflicts: a calendar already loaded by the load_dim_date command stays as it is.
    dim_date.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0003_mappingimport")]

    # Going back leaves the calendar: facts may point at its days (PROTECT).
    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
