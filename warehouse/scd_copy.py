"""COPY text of the SCD2 merge's new versions, formatted a column at a time: each column goes through one
C-level map (str, isoformat, msgspec) and rows are joined by str.join, with no per-value Python."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import cache

import msgspec
from django.db import models

NULL = "\\N"
# PostgreSQL text never holds NUL, so a column joined by it, escaped, and split again comes back exactly;
# a value that does hold one is escaped alone and left for PostgreSQL to refuse, as it refuses it anywhere.
_SEP = "\x00"
_encode_json = msgspec.json.Encoder().encode  # as the binary path's JSON dumper wrote it
_BOOLEANS = {True: "t", False: "f", None: NULL}


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _escape_all(column: list[str]) -> list[str]:
    joined = _SEP.join(column)
    if not ("\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined):
        return column
    if joined.count(_SEP) != len(column) - 1:
        return list(map(_escaped, column))
    return _escaped(joined).split(_SEP)


def _column(to_text: Callable[..., str] | None, escape: bool) -> Callable[[Sequence], list[str]]:
    """A column's text: ``to_text`` of each value (the value itself if None: it is text already), NULL for
    None, escaped for COPY where text may need it."""

    def texts(values: Sequence) -> list[str]:
        out = list(values) if to_text is None else list(map(to_text, values))
        return _escape_all(out) if escape else out

    def fmt(column: Sequence) -> list[str]:
        if None not in column:
            return texts(column)
        nulls = column.count(None)
        if nulls == len(column):
            return [NULL] * nulls
        present = iter(texts([v for v in column if v is not None]))
        return [NULL if v is None else next(present) for v in column]

    return fmt


def _json_text(value) -> str:
    return _encode_json(value).decode()


def _bool_column(column: Sequence) -> list[str]:
    return list(map(_BOOLEANS.__getitem__, column))


@cache
def formatters(fields: tuple[models.Field, ...]) -> tuple[Callable[[Sequence], list[str]], ...]:
    """One column formatter per field, for the converted values the merge holds (field types the merge
    does not convert to a known Python type are written as their str, which PostgreSQL reads back)."""
    out: list[Callable[[Sequence], list[str]]] = []
    for field in fields:
        if isinstance(field, models.BooleanField):
            out.append(_bool_column)
        elif isinstance(field, models.ForeignKey | models.IntegerField | models.DecimalField):
            out.append(_column(str, escape=False))
        elif isinstance(field, models.FloatField):
            out.append(_column(repr, escape=False))  # the shortest repr reads back as the same double
        elif isinstance(field, models.CharField | models.TextField):
            out.append(_column(None, escape=True))
        elif isinstance(field, models.DateTimeField):
            out.append(_column(dt.datetime.isoformat, escape=False))  # aware: the instant, with its offset
        elif isinstance(field, models.DateField):
            out.append(_column(dt.date.isoformat, escape=False))
        elif isinstance(field, models.JSONField):
            out.append(_column(_json_text, escape=True))
        else:
            out.append(_column(str, escape=True))
    return tuple(out)


def copy_text(fields: tuple[models.Field, ...], columns: Sequence[Sequence], extra: Sequence[list[str]],
              tail: Sequence[str]) -> str:
    """COPY text (the default format) of rows given as ``columns`` of converted field values, each row
    followed by the values of the ``extra`` columns (text that needs no escaping) and by the same ``tail``
    values, already text."""
    texts = [fmt(column) for fmt, column in zip(formatters(fields), columns, strict=True)]
    end = "".join("\t" + value for value in tail) + "\n"
    return end.join(map("\t".join, zip(*texts, *extra, strict=True))) + end


def text_value(value) -> str:
    """One constant for the tail of every row: NULL, or the value's escaped text."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return _BOOLEANS[value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return _escaped(str(value))
