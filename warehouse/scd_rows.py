"""Canonical rows for the SCD2 merge: reading input records into field values, natural keys, row hashes.

Every value is converted to what the database will hand back, so a hash or Type-1 comparison made now
agrees with one made after a round trip (e.g. money is rounded to the column's decimal places).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import deque
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
    "valid_from", "valid_to", "is_current", "row_hash", "type1_hash", "change_reason", "sync_run_id",
    "is_deleted",
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
        if value.__class__ in (list, tuple) and set(map(type, value)) <= _JSON_SCALARS:
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
    if not isinstance(fields[1], models.IntegerField):
        raise MergeError(f"{model._meta.label}: the source id of the natural key must be an integer field")
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


def type1_hash(prefix: str, positions: tuple[int, ...], row: list) -> str:
    """sha256 over the Type-1 values a batch named; the prefix names them, so batches naming other fields
    never produce an equal hash. Only ever compared for equality with a stored one, as a shortcut: repr is
    enough (equal reprs of converted values mean equal values) and twice as fast as canonical JSON."""
    return hashlib.sha256((prefix + repr([row[p] for p in positions])).encode()).hexdigest()


@dataclass
class Batch:
    """A merge batch read into canonical rows, one per natural key (the last record for a key wins)."""

    spec: RowSpec
    rows: dict[tuple, list]
    hashes: dict[tuple, str]
    type1_hashes: dict[tuple, str]
    present_type1: tuple[int, ...]  # Type-1 positions some record named; the others are left alone


@dataclass(frozen=True)
class _Plan:
    """What to do with records of one shape (keys in order) and one set of value types."""

    positions: tuple[int, ...]
    convert: tuple[int, ...]  # positions whose value needs converting
    restore: tuple[int, ...]  # positions given None where the field is not nullable: the default stands


def _plan(spec: RowSpec, shape: tuple, types: tuple) -> _Plan:
    unknown = [key for key in shape if key not in spec.index]
    if unknown:
        raise MergeError(_unknown_field(spec, unknown[0]))
    positions = tuple(spec.index[key] for key in shape)
    convert, restore = [], []
    for position, value_type in zip(positions, types, strict=True):
        field = spec.fields[position]
        if value_type is type(None):
            if not field.null:
                if not field.has_default():
                    raise MergeError(f"{spec.label}.{field.name}: may not be empty")
                restore.append(position)
        elif value_type is not spec.exact_types[position]:
            convert.append(position)
    return _Plan(positions, tuple(convert), tuple(restore))


def read_batch(spec: RowSpec, records: Iterable[Mapping]) -> Batch:
    converters, fields, defaults = spec.converters, spec.fields, spec.defaults
    rows: dict[tuple, list] = {}
    # Records of a batch nearly always share keys and value types, so the per-value decisions are made
    # once per (keys, types) combination and the copying runs in C (map over list.__setitem__).
    plans: dict[tuple, _Plan] = {}
    for record in records:
        if not isinstance(record, Mapping):
            raise MergeError(f"{spec.label}: records must be mappings, got {type(record).__name__}")
        values = tuple(record.values())
        signature = (*record, *map(type, values))
        plan = plans.get(signature)
        if plan is None:
            half = len(values)
            plan = plans[signature] = _plan(spec, signature[:half], signature[half:])
        row = list(defaults)
        deque(map(row.__setitem__, plan.positions, values), maxlen=0)
        for position in plan.restore:
            row[position] = defaults[position]
        for position in plan.convert:
            try:
                row[position] = converters[position](row[position])
            except (TypeError, ValueError, ValidationError) as exc:
                raise MergeError(
                    f"{spec.label}.{fields[position].name}: cannot read {row[position]!r} ({exc})"
                ) from exc
        if row[1] is None:
            raise MergeError(f"{spec.label}: record without {fields[1].name}: {dict(record)!r}")
        rows[(row[0], row[1])] = row
    named = {position for plan in plans.values() for position in plan.positions}
    present = tuple(p for p in spec.type1_positions if p in named)
    prefix = "|".join(fields[p].name for p in present) + "|"
    return Batch(
        spec=spec,
        rows=rows,
        hashes={key: row_hash(spec, row) for key, row in rows.items()},
        type1_hashes={key: type1_hash(prefix, present, row) for key, row in rows.items()},
        present_type1=present,
    )


def _unknown_field(spec: RowSpec, key) -> str:
    if key in META_FIELDS:
        return f"{spec.label}: {key} is set by the merge, not by the records"
    if key == spec.model._meta.pk.name:
        return f"{spec.label}: the surrogate key {key} is assigned by the database"
    return f"{spec.label}: unknown field {key!r}"
