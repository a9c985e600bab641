"""Converters of merge input to field values: each value becomes what its column will hand back, so a hash
or Type-1 comparison made now agrees with one made after a round trip (money rounded to the column)."""
from __future__ import annotations

import datetime as dt
import json
import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
from django.utils import timezone


def _convert_integer(field):
    def convert(value):
        if isinstance(value, models.Model):
            return value.pk
        if isinstance(value, bool):
            raise ValueError("a boolean is not an id")
        return field.to_python(value)

    return convert


def _convert_text(field):
    def convert(value):
        return value if isinstance(value, str) else str(value)

    return convert


def _convert_datetime(field):
    def convert(value):
        if value.__class__ is dt.datetime and value.tzinfo is not None:
            return value
        if isinstance(value, str):
            value = field.to_python(value)
        if isinstance(value, dt.datetime):
            if timezone.is_naive(value):
                # Naive times are read in the project's time zone, as Django does when saving them.
                value = timezone.make_aware(value, timezone.get_default_timezone())
            return value
        if isinstance(value, dt.date):
            return timezone.make_aware(dt.datetime.combine(value, dt.time()), timezone.get_default_timezone())
        raise ValueError("not a date/time")

    return convert


def _convert_date(field):
    def convert(value):
        if isinstance(value, dt.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value, timezone.get_default_timezone())
            return value.date()
        return field.to_python(value)

    return convert


def _convert_decimal(field):
    quantum = Decimal(1).scaleb(-field.decimal_places)

    def convert(value):
        if isinstance(value, float):
            value = repr(value)  # the float's shortest repr, not its binary expansion
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
            # Rounded as PostgreSQL rounds numeric(p, s), so the stored value equals this one.
            return number.quantize(quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation as exc:
            raise ValueError("not a number") from exc

    return convert


_JSON_SCALARS = frozenset({int, str, bool, float, type(None)})


def _convert_json(field):
    def convert(value):
        if value.__class__ in (list, tuple) and (types := set(map(type, value))) <= _JSON_SCALARS:
            if float in types and not all(map(math.isfinite, (v for v in value if type(v) is float))):
                raise ValueError("JSON holds no NaN or Infinity")
            return list(value)
        # A round trip turns tuples into lists and rejects what JSON cannot hold (NaN and Infinity too).
        return json.loads(json.dumps(value, cls=field.encoder, allow_nan=False))

    return convert


def converter(field):
    """(exact type that passes unchanged, converter for everything else) for one field."""
    if isinstance(field, models.ForeignKey):
        return int, _convert_integer(field)
    if isinstance(field, models.BooleanField):
        return bool, field.to_python
    if isinstance(field, models.IntegerField):
        return int, _convert_integer(field)
    if isinstance(field, models.CharField | models.TextField):
        return str, _convert_text(field)
    if isinstance(field, models.DateTimeField):
        return None, _convert_datetime(field)  # aware-ness must be checked every time
    if isinstance(field, models.DateField):
        return dt.date, _convert_date(field)
    if isinstance(field, models.DecimalField):
        return None, _convert_decimal(field)
    if isinstance(field, models.FloatField):
        return float, field.to_python
    if isinstance(field, models.JSONField):
        return None, _convert_json(field)
    return None, field.to_python
