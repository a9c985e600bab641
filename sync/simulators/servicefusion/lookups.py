"""What body validation and the JSON views read from the store (``SimStore`` provides it), as a protocol so
that neither imports the store that calls them."""

from __future__ import annotations

from typing import Any, Protocol


class Lookups(Protocol):
    """The account's lookup lists and record tables, and finding a record by id or "header" string."""

    statuses: dict[int, dict]
    estimate_statuses: dict[int, dict]
    techs: dict[int, dict]
    customers_by_id: dict[int, dict]
    invoices: dict[int, dict]
    unique_customer_names: bool

    def find_customer(self, ref: Any) -> dict | None: ...

    def find_status(self, ref: Any, table: dict[int, dict] | None = None) -> dict | None: ...

    def find_category(self, ref: Any) -> dict | None: ...

    def find_source(self, ref: Any) -> dict | None: ...

    def find_payment_type(self, ref: Any) -> dict | None: ...

    def find_tech(self, ref: Any) -> dict | None: ...

    def default_status(self, table: dict[int, dict]) -> dict: ...

    def custom_field_defs(self, entity: str) -> list[dict]: ...
