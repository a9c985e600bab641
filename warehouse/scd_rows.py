"""Canonical rows for the SCD2 merge: reading input records into field values, natural keys, row hashes.
Every value is converted to what the database will hand back, so a hash or Type-1 comparison made now
agrees with one made after a round trip (e.g. money is rounded to the column's decimal places).
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import cast

from django.core.exceptions import ValidationError
from django.db import models

from .models.base import SCD2Model
from .scd_convert import converter
from .scd_hash import FingerprintPlan, fingerprint, fingerprint_plan, packer, row_hasher

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
    row_hash: Callable[[Sequence], str]  # sha256 over the Type-2 values (field names folded into its prefix)

    @property
    def type1_positions(self) -> range:
        return range(self.n_key + self.n_type2, len(self.fields))

    @property
    def label(self) -> str:
        return self.model._meta.label


@cache
def spec_for(model: type[SCD2Model]) -> RowSpec:
    if not (isinstance(model, type) and issubclass(model, SCD2Model)) or model._meta.abstract:
        raise MergeError(f"{model!r} is not a versioned (SCD2) warehouse model")
    names = (*model.SCD_NATURAL_KEY, *model.SCD_TYPE2_FIELDS, *model.SCD_TYPE1_FIELDS)
    if len(model.SCD_NATURAL_KEY) != 2 or len(set(names)) != len(names):
        raise MergeError(f"{model._meta.label}: SCD field lists must be disjoint with a 2-part natural key")
    fields = cast(tuple[models.Field, ...], tuple(model._meta.get_field(name) for name in names))
    if not isinstance(fields[1], models.IntegerField):
        raise MergeError(f"{model._meta.label}: the source id of the natural key must be an integer field")
    index: dict[str, int] = {}
    for position, field in enumerate(fields):
        index[field.name] = position
        index[field.attname] = position
    exact, converters = zip(*(converter(f) for f in fields), strict=True)
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
        row_hash=row_hasher(
            model._meta.label + "|" + "|".join(model.SCD_TYPE2_FIELDS) + "|",
            fields[2: 2 + len(model.SCD_TYPE2_FIELDS)],
            2,
        ),
    )


@dataclass(frozen=True)
class _Shape:
    """Records with these keys, in this order: where each value goes, and where the natural key is."""

    keys: tuple[str, ...]
    positions: tuple[int, ...]  # the field position of each key
    source_at: int | None  # index of source_system among the values (None: the field's default)
    id_at: int
    fields: list[models.Field]  # the field each key names
    kinds: dict[tuple, Kind]  # by the exact types of the values


@dataclass(frozen=True)
class _Plan:
    """How to turn the values of one shape with one set of value types into a row of field values."""

    convert: tuple[int, ...]  # positions whose value needs converting
    # Where each field's value comes from: an index into the record's values, or (from the record's width
    # on) width + the field's position for its default.
    sources: tuple[int, ...]
    # Picks each field's value out of (*record values, *defaults): the record's where it names the field
    # (the last key naming it wins), else the default; None for a field that is not nullable → default.
    gather: Callable[[tuple], tuple]


@dataclass
class Kind:
    """Records of one shape whose values have these exact types: how they are fingerprinted and (once one
    is converted) how they are converted, found once per record and kept with it."""

    shape: _Shape
    types: tuple
    fingerprint: FingerprintPlan
    plan: _Plan | None = None


def _shape(spec: RowSpec, keys: tuple) -> _Shape:
    unknown = [key for key in keys if key not in spec.index]
    if unknown:
        raise MergeError(_unknown_field(spec, unknown[0]))
    positions = tuple(spec.index[key] for key in keys)
    where = {position: offset for offset, position in enumerate(positions)}  # the last one wins
    if 1 not in where:
        raise MergeError(f"{spec.label}: records without {spec.fields[1].name}")
    return _Shape(keys, positions, where.get(0), where[1], [spec.fields[p] for p in positions], {})


def _plan(spec: RowSpec, shape: _Shape, types: tuple) -> _Plan:
    width = len(shape.keys)
    sources = [width + position for position in range(len(spec.fields))]
    convert = set()
    for offset, (position, value_type) in enumerate(zip(shape.positions, types, strict=True)):
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
    return _Plan(tuple(sorted(convert)), tuple(sources), itemgetter(*sources))


@dataclass
class Batch:
    """A merge batch: the last record given for each natural key, its fingerprint, and (on demand) its row
    of converted field values and Type-2 hash, which only records that may change ever need."""

    spec: RowSpec
    records: dict[tuple, tuple[Kind, tuple]]  # natural key → (kind, values as given)
    fingerprints: dict[tuple, str]
    present_type1: tuple[int, ...]  # Type-1 positions some record named; the others are left alone
    rows: dict[tuple, list] = dataclasses.field(default_factory=dict)  # converted so far
    row_hashes: dict[tuple, str] = dataclasses.field(default_factory=dict)  # computed so far
    def __len__(self) -> int:
        return len(self.records)

    def __contains__(self, key) -> bool:
        return key in self.records

    def keys(self):
        return self.records.keys()

    def row(self, key: tuple) -> list:
        """The record's converted field values: natural key, Type 2, Type 1 (defaults where not named)."""
        found = self.rows.get(key)
        if found is None:
            found = self.rows[key] = self.convert(*self.records[key])
        return found

    def row_hash(self, key: tuple) -> str:
        """The Type-2 hash, computed only for rows that turn out to need it."""
        found = self.row_hashes.get(key)
        if found is None:
            found = self.row_hashes[key] = self.spec.row_hash(self.row(key))
        return found

    def convert(self, kind: Kind, values: tuple) -> list:
        spec = self.spec
        plan = kind.plan
        if plan is None:
            plan = kind.plan = _plan(spec, kind.shape, kind.types)
        row = list(plan.gather(values + spec.defaults))
        for position in plan.convert:
            try:
                row[position] = spec.converters[position](row[position])
            except (TypeError, ValueError, ValidationError) as exc:
                raise MergeError(
                    f"{spec.label}.{spec.fields[position].name}: cannot read {row[position]!r} ({exc})"
                ) from exc
        return row

    def convert_columns(self, kind: Kind, values: list[tuple]) -> list[list]:
        """The converted field values of many records of one kind, a column per field (rows are
        ``zip(*columns)``): each column converted by one map, with no per-record Python."""
        spec = self.spec
        plan = kind.plan
        if plan is None:
            plan = kind.plan = _plan(spec, kind.shape, kind.types)
        width, count = len(kind.types), len(values)
        given = list(zip(*values, strict=True))
        columns = [
            list(given[source]) if source < width else [spec.defaults[source - width]] * count
            for source in plan.sources
        ]
        for position in plan.convert:
            try:
                columns[position] = list(map(spec.converters[position], columns[position]))
            except (TypeError, ValueError, ValidationError):
                for record in values:  # find the record at fault, and say which, as convert() does
                    self.convert(kind, record)
                raise
        return columns


def read_batch(spec: RowSpec, records: Iterable[Mapping]) -> Batch:
    """Read the records' natural keys and fingerprints; rows are converted later, and only where needed."""
    source_default = spec.defaults[0]
    convert_source, convert_id = spec.converters[0], spec.converters[1]
    source_type, id_type = spec.exact_types[0], spec.exact_types[1]
    latest: dict[tuple, tuple[Kind, tuple]] = {}
    fingerprints: dict[tuple, str] = {}
    shapes: dict[tuple, _Shape] = {}
    shape: _Shape | None = None
    kind = Kind(cast(_Shape, None), (), FingerprintPlan(b"", None))  # replaced at the first record
    prefix, repr_of = b"", None
    source_at, id_at = None, 0
    types: tuple | None = None
    sha256, pack = hashlib.sha256, packer()
    for record in records:
        if record.__class__ is not dict and not isinstance(record, Mapping):  # the ABC check costs more
            raise MergeError(f"{spec.label}: records must be mappings, got {type(record).__name__}")
        keys = tuple(record)
        if shape is None or keys != shape.keys:
            shape = shapes.get(keys)
            if shape is None:
                shape = shapes[keys] = _shape(spec, keys)
            source_at, id_at = shape.source_at, shape.id_at
            types = None
        values = tuple(record.values())
        # Records of a batch mostly share their value types: compare with the last before a dict lookup.
        value_types = tuple(map(type, values))
        if value_types != types:
            types = value_types
            known = shape.kinds.get(types)
            if known is None:
                known = shape.kinds[types] = Kind(shape, types, fingerprint_plan(shape.fields, keys, types))
            kind = known
            prefix, repr_of = kind.fingerprint.prefix, kind.fingerprint.repr_of
        source = source_default if source_at is None else values[source_at]
        source_id = values[id_at]
        try:
            if source.__class__ is not source_type:
                source = convert_source(source) if source is not None else source_default
            if source_id.__class__ is not id_type:
                source_id = convert_id(source_id) if source_id is not None else None
        except (TypeError, ValueError, ValidationError) as exc:
            raise MergeError(
                f"{spec.label}: cannot read the natural key of {dict(record)!r} ({exc})"
            ) from exc
        if source_id is None:
            raise MergeError(f"{spec.label}: record without {spec.fields[1].name}: {dict(record)!r}")
        key = (source, source_id)
        latest[key] = (kind, values)
        # scd_hash.fingerprint(), inlined: a call per record is a sixth of this loop
        try:
            payload = prefix + pack(values)
        except (OverflowError, TypeError, ValueError):
            fingerprints[key] = fingerprint(kind.fingerprint, values)
            continue
        if repr_of is not None:
            payload += repr(repr_of(values)).encode()
        fingerprints[key] = sha256(payload).hexdigest()
    named = {position for shape in shapes.values() for position in shape.positions}
    return Batch(
        spec=spec,
        records=latest,
        fingerprints=fingerprints,
        present_type1=tuple(p for p in spec.type1_positions if p in named),
    )


def _unknown_field(spec: RowSpec, key) -> str:
    if key in META_FIELDS:
        return f"{spec.label}: {key} is set by the merge, not by the records"
    if key == spec.model._meta.pk.name:
        return f"{spec.label}: the surrogate key {key} is assigned by the database"
    return f"{spec.label}: unknown field {key!r}"
