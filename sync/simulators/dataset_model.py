"""What a PropertyWare dataset is: the named sizes, the ``Dataset`` of plain-dict collections, its error, and
the ISO 8601 form its timestamps take (docs/datasets.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "COLLECTIONS", "FORMAT", "FORMAT_VERSION", "SIZES", "Dataset", "DatasetError", "Size", "default_user",
    "iso",
]

FORMAT = "greenlight-propertyware-dataset"
FORMAT_VERSION = 1
COLLECTIONS = ("portfolios", "buildings", "units", "contacts", "leases", "vendors", "work_orders")


class DatasetError(ValueError):
    """A dataset file or name is not usable; the message names the record and field."""


@dataclass(frozen=True)
class Size:
    portfolios: int
    buildings: int
    multi_unit_buildings: int
    units: int
    leases: int
    vendors: int
    work_orders: int


SIZES = {
    "tiny": Size(3, 10, 3, 12, 10, 12, 32),
    "demo": Size(228, 337, 61, 900, 425, 45, 1000),
    "large": Size(2280, 3370, 610, 9000, 4250, 450, 10000),
}


# Records are PropertyWare-shaped plain dicts (DTO field names, JSON values: ISO 8601 strings for dates).
# Keys starting with ``_`` are hidden state the real service keeps but never exposes (``_created``,
# ``_lastModified``, ``_portfolioID``, ``_nearDuplicateOf``).
@dataclass
class Dataset:
    """One organisation's PropertyWare data; every collection is a list of plain dicts."""

    name: str
    seed: int
    anchor: str
    organization: dict
    users: list[dict]
    custom_field_definitions: dict[str, list[dict]]
    portfolios: list[dict] = field(default_factory=list)
    buildings: list[dict] = field(default_factory=list)
    units: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    leases: list[dict] = field(default_factory=list)
    vendors: list[dict] = field(default_factory=list)
    work_orders: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in COLLECTIONS}

    def to_json(self) -> dict:
        out = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "name": self.name,
            "seed": self.seed,
            "anchor": self.anchor,
            "organization": self.organization,
            "users": self.users,
            "custom_field_definitions": self.custom_field_definitions,
        }
        out.update({name: getattr(self, name) for name in COLLECTIONS})
        return out


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def default_user(user_id: int) -> dict:
    return {
        "ID": user_id,
        "loginName": "api-user@greenlight.example",
        "email": "api-user@greenlight.example",
        "firstName": "API",
        "lastName": "User",
    }
