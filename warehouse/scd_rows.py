"""Canonical rows for the SCD2 merge: reading input records into field values, natural keys, row hashes.

Every value is converted to what the database will hand back, so a hash or Type-1 comparison made now
agrees with one made after a round trip (e.g. money is rounded to the column's decimal places).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from operator import itemgetter

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .models.base import SCD2Model

#: Columns the merge owns; a record may not set them.
META_FIELDS = (
    "valid_from", "valid_to", "is_current", "row_hash", "values_hash", "change_reason", "sync_run_id",
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


def values_hash(prefix: str, positions: tuple[int, ...], row: list) -> str:
    """sha256 fingerprint of the values at ``positions``, the prefix naming them.

    Only ever compared for equality with the fingerprint stored by an earlier merge, as a shortcut: equal
    reprs of converted values mean equal values, and repr is about twice as fast as canonical JSON. A
    spurious difference (say, the same instant in another time zone) costs a comparison in SQL, no more.
    """
    return hashlib.sha256((prefix + repr([row[p] for p in positions])).encode()).hexdigest()


@dataclass
class Batch:
    """A merge batch read into canonical rows, one per natural key (the last record for a key wins)."""

    spec: RowSpec
    rows: dict[tuple, list]
    fingerprints: dict[tuple, str]  # values_hash of every row
    present_type1: tuple[int, ...]  # Type-1 positions some record named; the others are left alone
    _row_hashes: dict[tuple, str] = dataclasses.field(default_factory=dict)

    def row_hash(self, key: tuple) -> str:
        """The Type-2 hash, computed only for rows that turn out to need it."""
        found = self._row_hashes.get(key)
        if found is None:
            found = self._row_hashes[key] = row_hash(self.spec, self.rows[key])
        return found


@dataclass(frozen=True)
class _Plan:
    """What to do with records of one shape (keys in order) and one set of value types."""

    positions: tuple[int, ...]  # the field position of each key
    convert: tuple[int, ...]  # positions whose value needs converting
    # Picks each field's value out of (*record values, *defaults): the record's where it names the field
    # (the last key naming it wins), else the default; None for a field that is not nullable → default.
    gather: Callable[[tuple], tuple]


def _plan(spec: RowSpec, shape: tuple, types: tuple) -> _Plan:
    unknown = [key for key in shape if key not in spec.index]
    if unknown:
        raise MergeError(_unknown_field(spec, unknown[0]))
    positions = tuple(spec.index[key] for key in shape)
    width = len(shape)
    sources = [width + position for position in range(len(spec.fields))]
    convert = set()
    for offset, (position, value_type) in enumerate(zip(positions, types, strict=True)):
        field = spec.fields[position]
        if value_type is type(None) and not field.null:
            if not field.has_default():
                raise MergeError(f"{spec.label}.{field.name}: may not be empty")
            sources[position] = width + position
            convert.discard(position)
            continue
        sources[position] = offset
        if value_type is type(None) or value_type is spec.exact_types[position]:
            convert.discard(position)
        else:
            convert.add(position)
    return _Plan(positions, tuple(sorted(convert)), itemgetter(*sources))


def read_batch(spec: RowSpec, records: Iterable[Mapping]) -> Batch:
    converters, fields, defaults = spec.converters, spec.fields, spec.defaults
    rows: dict[tuple, list] = {}
    # Records of a batch nearly always share keys and value types, so the per-value decisions are made
    # once per (keys, types) combination and the row is assembled in C by an itemgetter.
    plans: dict[tuple, _Plan] = {}
    last_shape = last_types = plan = None
    for record in records:
        if not isinstance(record, Mapping):
            raise MergeError(f"{spec.label}: records must be mappings, got {type(record).__name__}")
        values = tuple(record.values())
        shape, types = tuple(record), tuple(map(type, values))
        if shape != last_shape or types != last_types:
            plan = plans.get((shape, types))
            if plan is None:
                plan = plans[(shape, types)] = _plan(spec, shape, types)
            last_shape, last_types = shape, types
        row = list(plan.gather(values + defaults))
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
    fingerprinted = (*range(spec.n_key, spec.n_key + spec.n_type2), *present)
    prefix = "|".join(fields[p].name for p in fingerprinted) + "|"
    return Batch(
        spec=spec,
        rows=rows,
        fingerprints={key: values_hash(prefix, fingerprinted, row) for key, row in rows.items()},
        present_type1=present,
    )


def _unknown_field(spec: RowSpec, key) -> str:
    if key in META_FIELDS:
        return f"{spec.label}: {key} is set by the merge, not by the records"
    if key == spec.model._meta.pk.name:
        return f"{spec.label}: the surrogate key {key} is assigned by the database"
    return f"{spec.label}: unknown field {key!r}"
