"""Portfolio label (abbreviation or name) on a PropertyWare building → the portfolio's ID."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import convert

log = logging.getLogger(__name__)


class PortfolioLabels:
    """Portfolio label → ID for one call: the given records (read on the first label), then, the first
    time a label is missing, PropertyWare's own listing (``list_all``, called at most once)."""

    def __init__(self, known: Iterable[Mapping], list_all: Callable[[], Iterable[Mapping]] | None) -> None:
        self._known: Iterable[Mapping] | None = known
        self._index: dict[str, int] = {}
        self._list_all = list_all

    def id_of(self, label: Any) -> int:
        if self._known is not None:
            self._index, self._known = _label_index(self._known), None
        key = convert.text(label).strip().lower()
        if key not in self._index and self._list_all is not None:
            self._index.update(_label_index(self._list_all()))  # PropertyWare's own labels win
            self._list_all = None
        if key not in self._index:
            log.warning("propertyware: building names unknown portfolio %r", label)
            return 0
        return self._index[key]


def _label_index(rows: Iterable[Mapping]) -> dict[str, int]:
    index: dict[str, int] = {}
    for p in rows:
        for key in (p.get("name"), p.get("abbreviation")):  # abbreviations win over names
            if key:
                index[str(key).strip().lower()] = int(p["ID"])
    return index
