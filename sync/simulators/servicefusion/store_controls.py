"""What a ServiceFusion user does to the simulated account between syncs: invoice a job, add equipment,
rename a status, define custom fields, advance the clock (mixed into SimStore)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from . import seed
from .clock import parse_date

if TYPE_CHECKING:
    import threading

    from .clock import SimClock


class StoreControls:
    """Test hooks over SimStore's tables; every method takes SimStore's lock."""

    if TYPE_CHECKING:  # what SimStore provides and these hooks use
        lock: threading.RLock
        clock: SimClock
        statuses: dict[int, dict[str, Any]]
        customers_by_id: dict[int, dict]
        invoices: dict[int, dict]
        equipment: dict[int, dict]
        _next_invoice_number: int

        def _new_id(self, kind: str) -> int: ...
        def _job(self, job_id: int) -> dict: ...
        def _tick(self, job: dict) -> datetime: ...
        def custom_field_defs(self, entity: str) -> list[dict]: ...

    def add_invoice(
        self,
        job_id: int,
        total: Decimal | float | str,
        *,
        is_paid: bool = False,
        date_: date | str | None = None,
    ) -> int:
        """Invoice a job: the invoice is stored and the job moves to Invoiced (closed). Returns the id."""
        with self.lock:
            job = self._job(job_id)
            try:
                amount = Decimal(str(total)).quantize(Decimal("0.01"))
            except InvalidOperation as exc:
                raise ValueError(f"invoice total {total!r} is not a number") from exc
            now = self._tick(job)
            customer = self.customers_by_id[job["customer_id"]]
            invoice_id = self._new_id("invoices")
            self.invoices[invoice_id] = {
                "id": invoice_id,
                "number": self._next_invoice_number,
                "currency": customer["qbo_currency"],
                "po_number": job["po_number"],
                "terms": customer["payment_terms"],
                "customer_message": None,
                "notes": None,
                "pay_online_url": f"https://pay.servicefusion.example/invoice/{invoice_id}",
                "qbo_invoice_no": None,
                "qbo_sync_token": None,
                "qbo_synced_date": None,
                "qbo_id": None,
                "qbd_id": None,
                "total": float(amount),
                "is_paid": bool(is_paid),
                "date": parse_date(date_) if isinstance(date_, str) else (date_ or now.date()),
                "mail_send_date": None,
                "customer": customer["customer_name"],
                "customer_contact": " ".join(
                    n for n in (job["contact_first_name"], job["contact_last_name"]) if n
                ),
                "payment_terms": customer["payment_terms"],
                "bill_to_customer_id": customer["id"],
                "bill_to_customer_location_id": None,
                "bill_to_customer_contact_id": None,
                "bill_to_email_id": None,
                "bill_to_phone_id": None,
                "job_id": job["id"],
                "created_at": now,
                "updated_at": now,
            }
            self._next_invoice_number += 1
            job["invoice_ids"].append(invoice_id)
            job["status_id"] = next(
                s["id"] for s in self.statuses.values() if s["code"] == seed.INVOICED_STATUS
            )
            job["closed_at"] = job["closed_at"] or now
            job["payment_status"] = "Paid" if is_paid else "Unpaid"
            return invoice_id

    def add_equipment(self, customer_id: int, **fields: Any) -> int:
        """Attach a piece of equipment to a customer (the API cannot create equipment)."""
        with self.lock:
            customer = self.customers_by_id.get(customer_id)
            if customer is None:
                raise KeyError(f"no customer {customer_id}")
            now = self.clock.now_dt()
            eid = self._new_id("equipment")
            known = (
                "type",
                "make",
                "model",
                "sku",
                "serial_number",
                "location",
                "notes",
                "extended_warranty_provider",
                "is_extended_warranty",
                "extended_warranty_date",
                "warranty_date",
                "install_date",
            )
            unknown = set(fields) - set(known)
            if unknown:
                raise ValueError(f"unknown equipment fields: {sorted(unknown)}")
            rec = {key: fields.get(key) for key in known}
            rec["is_extended_warranty"] = bool(rec["is_extended_warranty"])
            rec.update(
                id=eid,
                customer_id=customer_id,
                customer=customer["customer_name"],
                customer_location=None,
                custom_fields={},
                created_at=now,
                updated_at=now,
            )
            self.equipment[eid] = rec
            return eid

    def rename_status(self, code: str, name: str) -> None:
        """Rename a job status (names are per account; codes are fixed)."""
        with self.lock:
            status = next((s for s in self.statuses.values() if s["code"] == code), None)
            if status is None:
                raise KeyError(f"unknown job status code {code!r}")
            status["name"] = name

    def define_custom_field(
        self,
        entity: str,
        name: str,
        *,
        type: str = "text",
        group: str = "",
        required: bool = False,
        default: Any = "",
    ) -> None:
        """Add a custom-field definition for "jobs", "customers", "estimates" or "equipment"."""
        if entity not in seed.CUSTOM_FIELDS:
            raise ValueError(f"unknown custom-field entity {entity!r}")
        if type not in ("text", "numeric", "checkbox", "date", "select"):
            raise ValueError(f"unknown custom-field type {type!r}")
        with self.lock:
            now = self.clock.now_dt()
            defs = self.custom_field_defs(entity)
            defs[:] = [d for d in defs if d["name"] != name]
            defs.append(
                {
                    "name": name,
                    "type": type,
                    "group": group,
                    "is_required": bool(required),
                    "default": default,
                    "created_at": now,
                    "updated_at": now,
                }
            )

    def advance_time(self, seconds: float) -> None:
        """Move the simulated clock forward (tokens and authorisation codes expire by it)."""
        self.clock.advance(seconds)
