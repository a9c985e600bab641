"""Canonical rows for the SCD2 merge: reading input records into field values, natural keys, row hashes.

Every value is converted to what the database will hand back, so a hash or Type-1 comparison made now
agrees with one made after a round trip (e.g. money is rounded to the column's decimal places).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .models.base import SCD2Model

#: Columns the merge owns; a record may not set them.
META_FIELDS = (
    "valid_from", "valid_to", "is_current", "row_hash", "change_reason", "sync_run_id", "is_deleted",
)


class MergeError(ValueError):
    """Bad input to a merge: an unknown field, an unreadable value, a missing natural key, a bad time."""


@dataclass(frozen=True)
class RowSpec:
    """How one versioned model's rows are laid out: natural key, then Type-2, then Type-1 fields."""

    model: type[SCD2Model]
    fields: tuple[models.Field, ...]  # natural key + Type 2 + Type 1, in that order
    n_key: int
    n_type2: int
    index: dict[str, int]  # field name and attname → position
    defaults: tuple
    exact_types: tuple  # a value of exactly this type needs no conversion
    converters: tuple
    json_positions: tuple[int, ...]
    hash_prefix: str

    @property
    def type1_positions(self) -> range:
        return range(self.n_key + self.n_type2, len(self.fields))

    @property
    def label(self) -> str:
        return self.model._meta.label


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


def _convert_json(field):
    def convert(value):
        if isinstance(value, tuple):
            return list(value)
        # A round trip turns tuples into lists and rejects what JSON cannot hold.
        return json.loads(json.dumps(value, cls=field.encoder))

    return convert


def _converter(field):
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


@cache
def spec_for(model: type[SCD2Model]) -> RowSpec:
    if not (isinstance(model, type) and issubclass(model, SCD2Model)) or model._meta.abstract:
        raise MergeError(f"{model!r} is not a versioned (SCD2) warehouse model")
    names = (*model.SCD_NATURAL_KEY, *model.SCD_TYPE2_FIELDS, *model.SCD_TYPE1_FIELDS)
    if len(model.SCD_NATURAL_KEY) != 2 or len(set(names)) != len(names):
        raise MergeError(f"{model._meta.label}: SCD field lists must be disjoint with a 2-part natural key")
    fields = tuple(model._meta.get_field(name) for name in names)
    index: dict[str, int] = {}
    for position, field in enumerate(fields):
        index[field.name] = position
        index[field.attname] = position
    exact, converters = zip(*(_converter(f) for f in fields), strict=True)
    return RowSpec(
        model=model,
        fields=fields,
        n_key=2,
        n_type2=len(model.SCD_TYPE2_FIELDS),
        index=index,
        defaults=tuple(None if f.null and not f.has_default() else f.get_default() for f in fields),
        exact_types=exact,
        converters=converters,
        json_positions=tuple(i for i, f in enumerate(fields) if isinstance(f, models.JSONField)),
        hash_prefix=model._meta.label + "|" + "|".join(model.SCD_TYPE2_FIELDS) + "|",
    )


def _canonical(value):
    """JSON stand-ins for the types json.dumps does not know; stable across runs and platforms."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot hash {type(value).__name__}")


_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_canonical
).encode


def row_hash(spec: RowSpec, row: list) -> str:
    """sha256 over the canonical JSON of the row's Type-2 values (field names folded into the prefix)."""
    payload = spec.hash_prefix + _dumps(row[spec.n_key: spec.n_key + spec.n_type2])
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Batch:
    """A merge batch read into canonical rows, one per natural key (the last record for a key wins)."""

    spec: RowSpec
    rows: dict[tuple, list]
    hashes: dict[tuple, str]
    present_type1: tuple[int, ...]  # Type-1 positions some record named; the others are left alone


def read_batch(spec: RowSpec, records: Iterable[Mapping]) -> Batch:
    index, exact, converters, fields = spec.index, spec.exact_types, spec.converters, spec.fields
    defaults = list(spec.defaults)
    rows: dict[tuple, list] = {}
    seen_keys: set[str] = set()
    for record in records:
        if not isinstance(record, Mapping):
            raise MergeError(f"{spec.label}: records must be mappings, got {type(record).__name__}")
        seen_keys.update(record)
        row = defaults.copy()
        for key, value in record.items():
            position = index.get(key)
            if position is None:
                raise MergeError(_unknown_field(spec, key))
            if value is None:
                field = fields[position]
                if not field.null:
                    if field.has_default():
                        continue  # the field's default stands in for a missing value
                    raise MergeError(f"{spec.label}.{field.name}: may not be empty")
                row[position] = None
            elif type(value) is exact[position]:
                row[position] = value
            else:
                try:
                    row[position] = converters[position](value)
                except (TypeError, ValueError, ValidationError) as exc:
                    raise MergeError(
                        f"{spec.label}.{fields[position].name}: cannot read {value!r} ({exc})"
                    ) from exc
        if row[1] is None:
            raise MergeError(f"{spec.label}: record without {fields[1].name}: {dict(record)!r}")
        rows[(row[0], row[1])] = row
    hashes = {key: row_hash(spec, row) for key, row in rows.items()}
    named = {index[k] for k in seen_keys if k in index}
    present = tuple(p for p in spec.type1_positions if p in named)
    return Batch(spec=spec, rows=rows, hashes=hashes, present_type1=present)


def _unknown_field(spec: RowSpec, key) -> str:
    if key in META_FIELDS:
        return f"{spec.label}: {key} is set by the merge, not by the records"
    if key == spec.model._meta.pk.name:
        return f"{spec.label}: the surrogate key {key} is assigned by the database"
    return f"{spec.label}: unknown field {key!r}"
