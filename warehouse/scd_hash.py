"""The two hashes of the SCD2 merge: a record's fingerprint as given (values_hash) and the Type-2 hash of its
converted row (row_hash), both made with msgspec's C encoders instead of per-value Python."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter

import msgspec
from django.db import models

# A fingerprint is only ever compared for equality with the one an earlier merge stored, as a shortcut: an
# equal fingerprint must mean equal converted values, so the record cannot change anything and is skipped
# unconverted. A spurious difference (say "7" then 7, or the same instant in another time zone) only costs
# converting and comparing that record. The fingerprint covers the record's keys, the exact type of each
# value and the values packed as MessagePack, which holds str, int, float, bool, None, Decimal and date
# values exactly. What MessagePack does not hold exactly (the offset of an aware datetime, anything inside
# a list or dict, types it lacks) is covered by the value's repr instead.
_PACKED_EXACTLY = frozenset({str, int, float, bool, type(None), Decimal, dt.date})


def _unpackable(value):
    return None  # stands in for a value the repr part of the fingerprint covers


_pack = msgspec.msgpack.Encoder(enc_hook=_unpackable).encode


def packer() -> Callable[[tuple], bytes]:
    """The MessagePack encoder the fingerprint uses, for a caller's inlined copy of fingerprint()."""
    return _pack


@dataclass(frozen=True)
class FingerprintPlan:
    """How to fingerprint the records of one shape (keys in order) whose values have these exact types."""

    prefix: bytes  # keys and type names, hashed: records of other keys or types never share a fingerprint
    repr_of: Callable[[tuple], object] | None  # picks the values covered by their repr, if any


def fingerprint_plan(fields: list[models.Field], keys: tuple[str, ...], types: tuple[type, ...]):
    """``fields``: the model field each key names, in the keys' order."""
    by_repr = []
    for offset, (field, value_type) in enumerate(zip(fields, types, strict=True)):
        if value_type in _PACKED_EXACTLY:
            continue
        # An aware datetime packs as its instant: exact for a date/time column, which stores the instant
        # (or its local date), but not for text, which would keep the offset.
        if value_type is dt.datetime and isinstance(field, models.DateField):
            continue
        by_repr.append(offset)
    # The keys and type names are hashed once per kind into a 16-byte prefix: hashed in full with every
    # record they would be most of its bytes (a third of the fingerprint's cost).
    described = ("|".join(keys) + "|" + "|".join(t.__qualname__ for t in types) + "|").encode()
    prefix = hashlib.sha256(described).digest()[:16]
    return FingerprintPlan(prefix, itemgetter(*by_repr) if by_repr else None)


def fingerprint(plan: FingerprintPlan, values: tuple) -> str:
    """sha256 of a record as given (see above); read_batch inlines it."""
    try:
        payload = plan.prefix + _pack(values)
    except (OverflowError, TypeError, ValueError):  # e.g. an int beyond 64 bits: the repr covers all
        return hashlib.sha256(plan.prefix + repr(values).encode()).hexdigest()
    if plan.repr_of is not None:
        payload += repr(plan.repr_of(values)).encode()
    return hashlib.sha256(payload).hexdigest()


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
# For text, integers, booleans and None msgspec writes byte for byte what _dumps writes (every code point
# and integer size checked), so rows of models whose Type-2 fields are all of those kinds hash in C with
# the same result as every row_hash already stored.
_encode_json = msgspec.json.Encoder().encode
_PLAIN_JSON_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField)


def _plain(field: models.Field) -> bool:
    if isinstance(field, models.ForeignKey):  # holds the target's key
        field = field.target_field
    return isinstance(field, _PLAIN_JSON_FIELDS)


def row_hasher(prefix: str, type2_fields, start: int) -> Callable[[Sequence], str]:
    """sha256 over ``prefix`` (the model and its Type-2 names) and the canonical JSON of the row's Type-2
    values, which sit at ``start`` onwards."""
    stop = start + len(type2_fields)
    sha256 = hashlib.sha256
    if all(map(_plain, type2_fields)):
        prefix_bytes = prefix.encode()
        take = itemgetter(slice(start, stop))

        def fast(row: Sequence) -> str:
            return sha256(prefix_bytes + _encode_json(take(row))).hexdigest()

        return fast

    def general(row: Sequence) -> str:
        return sha256((prefix + _dumps(row[start:stop])).encode()).hexdigest()

    return general
