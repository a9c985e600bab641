"""The seeded draw every generated record comes from: one RNG stream per dataset name and seed, ascending
ids, timestamps before the anchor; plus the text helpers the generators share."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta

from .dataset_model import Dataset, Size, iso

#: vendors that are technicians of the one field-crew company; work orders favour them
FIELD_CREW_TECHS = 8


def fold(text: str) -> str:
    """ASCII letters and digits of ``text`` (abbreviations and e-mail local parts are ASCII)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


def spread(rng: random.Random, n: int, required: Sequence, pool: Sequence, weights=None) -> list:
    """``n`` values holding each of ``required`` at least once (when n allows), the rest drawn from pool."""
    out = list(required[:n]) + rng.choices(pool, weights=weights, k=max(0, n - len(required)))
    rng.shuffle(out)
    return out


class Draw:
    """The RNG, the id sequence and the anchor, over the empty ``Dataset`` to fill up to ``size``."""

    def __init__(self, empty: Dataset, size: Size, anchor: datetime) -> None:
        self.rng = random.Random(f"{empty.name}:{empty.seed}")
        self.size = size
        self.anchor = anchor
        self.next_id = 4_000_000_000 + self.rng.randint(0, 99_999) * 1000
        self.ds = empty

    def new_id(self) -> int:
        self.next_id += self.rng.randint(1, 97)
        return self.next_id

    def before_anchor(self, min_days: float, max_days: float) -> datetime:
        seconds = self.rng.uniform(min_days * 86400, max_days * 86400)
        return (self.anchor - timedelta(seconds=seconds)).replace(microsecond=0)

    def stamp(self, rec: dict, created: datetime, modified: datetime | None = None) -> dict:
        modified = min(modified or created, self.anchor - timedelta(seconds=1))
        rec["_created"], rec["_lastModified"] = iso(created), iso(max(created, modified))
        return rec
