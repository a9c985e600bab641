"""The simulator's in-memory PropertyWare organisation: records, hidden timestamps, queries, user edits.
Records are plain dicts in the dataset format; keys starting with ``_`` (``_created``, ``_lastModified``,
``_portfolioID``, ``_closed``) are never served.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from ..dataset_model import Dataset, iso
from . import dtos
from . import schema as s

ENTITIES = ("portfolios", "buildings", "units", "contacts", "leases", "vendors", "work_orders")
DATE_FILTERS = {
    "createdAfter": ("_created", "after"),
    "createdBefore": ("_created", "before"),
    "createdOn": ("_created", "on"),
    "createdOnOrAfter": ("_created", "on_or_after"),
    "createdOnOrBefore": ("_created", "on_or_before"),
    "lastModifiedAfter": ("_lastModified", "after"),
    "lastModifiedBefore": ("_lastModified", "before"),
    "lastModifiedOn": ("_lastModified", "on"),
    "lastModifiedOnOrAfter": ("_lastModified", "on_or_after"),
    "lastModifiedOnOrBefore": ("_lastModified", "on_or_before"),
}
#: WorkOrder fields that belong to the server, never written by a user edit or a full replace
SERVER_FIELDS = frozenset({"ID", "number", "createdDate", "notes", "documents", "clientData"})
_WO_FIELDS = dtos.field_map("WorkOrder")


class Store:
    def __init__(self, dataset: Dataset, *, seed: int = 0, tz: tzinfo = UTC) -> None:
        # Thread-safe: every public method takes this one re-entrant lock, and callers that read-modify-write
        # (the SOAP operations) hold ``store.lock`` across the sequence.
        self.lock = threading.RLock()
        self.tz = tz
        self._seed = seed
        self.load(dataset)

    # --- state --------------------------------------------------------------------------------------------

    def load(self, dataset: Dataset) -> None:
        """Replace all state with a deep copy of ``dataset``."""
        with self.lock:
            self.dataset = dataset
            self.organization = copy.deepcopy(dataset.organization)
            self.users = copy.deepcopy(dataset.users)
            self.custom_field_definitions = copy.deepcopy(dataset.custom_field_definitions)
            self.tables: dict[str, dict[int, dict]] = {
                name: {
                    r["ID"]: copy.deepcopy(r) for r in sorted(getattr(dataset, name), key=lambda r: r["ID"])
                }
                for name in ENTITIES
            }
            for wo in self.tables["work_orders"].values():
                wo.setdefault("_closed", str(wo.get("status") or "").strip().lower() == "closed")
            top = max([r["ID"] for t in self.tables.values() for r in t.values()] + [4_000_000_000])
            self._rng = random.Random(self._seed)
            self._next_id = top
            self._next_number = max(
                [w.get("number") or 0 for w in self.tables["work_orders"].values()] + [1000]
            )
            self._last_now = datetime.min.replace(tzinfo=UTC)

    def now(self) -> datetime:
        """Wall-clock UTC, strictly increasing so every write gets its own lastModified."""
        with self.lock:
            t = datetime.now(UTC)
            if t <= self._last_now:
                t = self._last_now + timedelta(microseconds=1)
            self._last_now = t
            return t

    def new_id(self) -> int:
        with self.lock:
            self._next_id += self._rng.randint(1, 97)
            return self._next_id

    def new_number(self) -> int:
        with self.lock:
            self._next_number += 1
            return self._next_number

    def table(self, entity: str) -> dict[int, dict]:
        return self.tables[entity]

    def get(self, entity: str, rid: int | None) -> dict | None:
        """The live record (callers hold ``lock`` and must not leak it); None when absent."""
        return self.tables[entity].get(rid) if rid is not None else None

    def touch(self, rec: dict, *, created: bool = False) -> None:
        stamp = iso_precise(self.now())
        rec["_lastModified"] = stamp
        if created:
            rec["_created"] = stamp

    def insert(self, entity: str, rec: dict) -> dict:
        with self.lock:
            self.touch(rec, created=True)
            self.tables[entity][rec["ID"]] = rec
            return rec

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {name: len(t) for name, t in self.tables.items()}

    # --- queries ------------------------------------------------------------------------------------------

    def query(
        self,
        entity: str,
        criteria: dict | None,
        *,
        predicate: Callable[[dict], bool] | None = None,
        newest_first: bool = False,
        page: tuple[int, int] | None = None,
    ) -> list[dict]:
        """Records matching ``ids``, the ten date comparators and ``predicate``, in service order
        (ascending ID, or newest created first); ``page`` = (1-based number, size) slices the result.
        Returns deep copies of just the rows asked for."""
        criteria = criteria or {}
        tests: list[Callable[[dict], bool]] = []
        ids = criteria.get("ids")
        if ids:
            wanted = set(ids)
            tests.append(lambda r: r["ID"] in wanted)
        for name, (attr, how) in DATE_FILTERS.items():
            value = criteria.get(name)
            if value is not None:
                tests.append(self._date_test(attr, how, value))
        if predicate:
            tests.append(predicate)
        with self.lock:
            rows = [r for r in self.tables[entity].values() if all(t(r) for t in tests)]
            if newest_first:
                rows.sort(key=lambda r: (r.get("_created") or "", r["ID"]), reverse=True)
            if page is not None:
                number, size = page
                rows = rows[(number - 1) * size : number * size]
            return copy.deepcopy(rows)

    def _date_test(self, attr: str, how: str, value: datetime | date) -> Callable[[dict], bool]:
        if how == "on":
            day = value if not isinstance(value, datetime) else value.astimezone(self.tz).date()
            return lambda r: _stamp(r, attr).astimezone(self.tz).date() == day
        if not isinstance(value, datetime):  # a bare date compares as midnight in the filter time zone
            value = datetime(value.year, value.month, value.day, tzinfo=self.tz)
        ops = {
            "after": lambda t: t > value,
            "before": lambda t: t < value,
            "on_or_after": lambda t: t >= value,
            "on_or_before": lambda t: t <= value,
        }
        op = ops[how]
        return lambda r: op(_stamp(r, attr))

    # --- acting as a PropertyWare user (tests and demos) --------------------------------------------------

    def get_work_order(self, wo_id: int) -> dict:
        """A copy of the work order including its hidden fields; KeyError when absent."""
        with self.lock:
            rec = self.tables["work_orders"].get(wo_id)
            if rec is None:
                raise KeyError(f"no work order {wo_id}")
            return copy.deepcopy(rec)

    def work_orders(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.tables["work_orders"].values()))

    def records(self, entity: str) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.tables[entity].values()))

    def edit_work_order(self, wo_id: int, **fields: Any) -> dict:
        """Change fields as a user in the PropertyWare UI would (closed or not); bumps lastModified."""
        bad = sorted(set(fields) - set(_WO_FIELDS) - {"_closed"} | (set(fields) & {"ID", "number"}))
        if bad:
            raise ValueError(f"cannot edit work-order field(s) {', '.join(bad)}")
        with self.lock:
            rec = self.tables["work_orders"].get(wo_id)
            if rec is None:
                raise KeyError(f"no work order {wo_id}")
            rec.update({k: _jsonable(v) for k, v in fields.items()})
            if "status" in fields and "_closed" not in fields:
                rec["_closed"] = str(fields["status"] or "").strip().lower() == "closed"
            self.touch(rec)
            return copy.deepcopy(rec)

    def create_work_order(self, *, building: int | dict, **fields: Any) -> int:
        """Add a work order in ``building`` as a PropertyWare user; returns its ID."""
        bad = sorted(set(fields) - set(_WO_FIELDS) | (set(fields) & {"ID", "number"}))
        if bad:
            raise ValueError(f"cannot set work-order field(s) {', '.join(bad)}")
        with self.lock:
            bid = building["ID"] if isinstance(building, dict) else int(building)
            b = self.tables["buildings"].get(bid)
            if b is None:
                raise KeyError(f"no building {bid}")
            p = self.tables["portfolios"][b["_portfolioID"]]
            rec = default_work_order()
            rec.update({k: _jsonable(v) for k, v in fields.items()})
            rec.update(
                {
                    "ID": self.new_id(),
                    "number": self.new_number(),
                    "building": {"ID": bid},
                    "portfolio": {"ID": p["ID"]},
                    "createdDate": iso_precise(self.now()),
                }
            )
            rec["location"] = rec.get("location") or f"{p['abbreviation']} | {b['abbreviation']}"
            rec["status"] = rec.get("status") or "Open"
            rec["customFields"] = self.complete_custom_fields(rec.get("customFields") or [])
            rec["_closed"] = rec["status"].strip().lower() == "closed"
            self.insert("work_orders", rec)
            return rec["ID"]

    def delete_work_order(self, wo_id: int) -> None:
        with self.lock:
            if self.tables["work_orders"].pop(wo_id, None) is None:
                raise KeyError(f"no work order {wo_id}")

    def complete_custom_fields(self, given: Iterable[dict]) -> list[dict]:
        """One entry per organisation definition: given values by fieldName (or ID), others empty."""
        by_name = {}
        for cf in given:
            by_name[cf.get("fieldName") or cf.get("ID")] = cf.get("value")
        out = []
        for d in self.custom_field_definitions.get("WorkOrder", []):
            value = by_name.pop(d["fieldName"], by_name.pop(d["ID"], None))
            out.append(
                {
                    "ID": d["ID"],
                    "dataType": d.get("dataType", "Text"),
                    "fieldName": d["fieldName"],
                    "value": "" if value is None else str(value),
                }
            )
        if by_name:
            raise KeyError(next(iter(by_name)))
        return out


def default_work_order() -> dict:
    """Every WorkOrder field at the value a full replace resets it to."""
    out: dict[str, Any] = {}
    for f in dtos.all_fields("WorkOrder"):
        if f.type in s.PRIMITIVES:
            out[f.name] = {"xsd:boolean": False, "xsd:int": 0, "xsd:long": 0, "xsd:double": 0.0}[f.type]
        elif s.is_array(f.type):
            out[f.name] = []
        else:
            out[f.name] = None
    out["source"] = "None"
    out["status"] = "Open"
    return out


def iso_precise(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _stamp(rec: dict, attr: str) -> datetime:
    return datetime.fromisoformat(rec[attr])


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value) if value.microsecond == 0 else iso_precise(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
