"""Deterministic PropertyWare datasets at named sizes, and the JSON file format that stores them
(docs/datasets.md). The same name, seed and ``today`` always give the same dataset.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from .dataset_model import (
    COLLECTIONS,
    FORMAT,
    FORMAT_VERSION,
    SIZES,
    Dataset,
    DatasetError,
    default_user,
    iso,
)
from .generator import Generator

__all__ = ["Dataset", "DatasetError", "SIZES", "build_dataset", "dump_dataset", "load_dataset", "iso"]

# --- JSON file format -------------------------------------------------------------------------------------


def dump_dataset(ds: Dataset, path: str | Path) -> None:
    Path(path).write_text(json.dumps(ds.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")


def load_dataset(path: str | Path) -> Dataset:
    """Read a dataset file, checking its format, ids and references (DatasetError names the culprit)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable JSON dataset ({exc})") from exc
    return dataset_from_json(data, source=str(path))


def dataset_from_json(data: Any, *, source: str = "dataset") -> Dataset:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DatasetError(f"{source}: 'format' must be {FORMAT!r}")
    if data.get("version") != FORMAT_VERSION:
        raise DatasetError(
            f"{source}: unsupported version {data.get('version')!r} (expected {FORMAT_VERSION})"
        )
    for key in ("organization", *COLLECTIONS):
        if key not in data:
            raise DatasetError(f"{source}: missing {key!r}")
    for key in COLLECTIONS:
        if not isinstance(data[key], list) or not all(isinstance(r, dict) for r in data[key]):
            raise DatasetError(f"{source}: {key!r} must be a list of objects")
    ds = Dataset(
        name=str(data.get("name", Path(source).stem)),
        seed=int(data.get("seed", 0)),
        anchor=str(data.get("anchor", "")),
        organization=data["organization"],
        users=list(data.get("users") or [default_user(data["organization"].get("ID", 1) + 1)]),
        custom_field_definitions=dict(data.get("custom_field_definitions") or {}),
        **{key: data[key] for key in COLLECTIONS},
    )
    validate(ds, source=source)
    return ds


def validate(ds: Dataset, *, source: str = "dataset") -> None:
    """Every record has a unique integer ID and every reference resolves."""
    seen: dict[int, str] = {}
    ids: dict[str, set[int]] = {}
    for key in COLLECTIONS:
        ids[key] = set()
        for i, rec in enumerate(getattr(ds, key)):
            rid = rec.get("ID")
            if not isinstance(rid, int) or isinstance(rid, bool) or rid <= 0:
                raise DatasetError(f"{source}: {key}[{i}].ID must be a positive integer, got {rid!r}")
            if rid in seen:
                raise DatasetError(f"{source}: {key}[{i}].ID {rid} is already used by {seen[rid]}")
            seen[rid] = f"{key}[{i}]"
            ids[key].add(rid)

    def need(cond: bool, where: str, what: str) -> None:
        if not cond:
            raise DatasetError(f"{source}: {where} refers to an unknown {what}")

    for i, b in enumerate(ds.buildings):
        need(b.get("_portfolioID") in ids["portfolios"], f"buildings[{i}]._portfolioID", "portfolio")
    for i, u in enumerate(ds.units):
        need(u.get("buildingID") in ids["buildings"], f"units[{i}].buildingID", "building")
    rentable = ids["units"] | ids["buildings"]
    for i, lease in enumerate(ds.leases):
        need(lease.get("buildingID") in ids["buildings"], f"leases[{i}].buildingID", "building")
        need(lease.get("unitID") in rentable, f"leases[{i}].unitID", "unit")
        for t in lease.get("tenants") or []:
            need(_ref(t) in ids["contacts"], f"leases[{i}].tenants", "contact")
    for i, wo in enumerate(ds.work_orders):
        need(_ref(wo.get("building")) in ids["buildings"], f"work_orders[{i}].building", "building")
        need(_ref(wo.get("portfolio")) in ids["portfolios"], f"work_orders[{i}].portfolio", "portfolio")
        for uid in wo.get("unitIDs") or []:
            need(uid in rentable, f"work_orders[{i}].unitIDs", "unit")
        for vid in wo.get("vendorIDs") or []:
            need(vid in ids["vendors"], f"work_orders[{i}].vendorIDs", "vendor")
        if wo.get("lease"):
            need(_ref(wo["lease"]) in ids["leases"], f"work_orders[{i}].lease", "lease")


def _ref(stub: Any) -> Any:
    return stub.get("ID") if isinstance(stub, dict) else None


# --- generation -------------------------------------------------------------------------------------------


def build_dataset(name: str = "tiny", seed: int = 0, *, today: date | None = None) -> Dataset:
    """Generate the named dataset. Dates fall before midnight UTC of ``today`` (default: the current day)."""
    if name not in SIZES:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(SIZES)} or load a JSON file")
    anchor = datetime.combine(today or datetime.now(UTC).date(), time(), tzinfo=UTC)
    empty = Dataset(
        name=name, seed=seed, anchor=iso(anchor), organization={}, users=[], custom_field_definitions={}
    )
    return Generator(empty, SIZES[name], anchor).build()
