"""The simulated account's state (thread-safe): lookup lists, customers, jobs, estimates, invoices, equipment,
and the test hooks a ServiceFusion user would cause (move a job's status, invoice it, seed records, add
equipment, rename a status, define custom fields, advance the simulated clock).
"""

from __future__ import annotations

import copy
import threading
from datetime import datetime
from typing import Any

from . import bodies, seed, views
from .clock import SimClock
from .store_controls import StoreControls

_FIRST_IDS = {
    "customers": 10001,
    "jobs": 200001,
    "estimates": 250001,
    "invoices": 300001,
    "equipment": 400001,
}


class SimStore(StoreControls):
    #: a QuickBooks Online–linked account refuses a second customer of the same name (spec §8.3)
    unique_customer_names = False

    def __init__(self, clock: SimClock | None = None) -> None:
        self.clock = clock or SimClock()
        self.lock = threading.RLock()
        now = self.clock.now_dt()
        self.statuses = {
            i: {"id": i, "code": code, "name": name, "category": cat, "is_custom": custom}
            for i, (code, name, cat, custom) in enumerate(seed.JOB_STATUSES, start=1)
        }
        self.estimate_statuses = {
            i: {"id": i, "code": code, "name": name, "category": cat, "is_custom": custom}
            for i, (code, name, cat, custom) in enumerate(seed.ESTIMATE_STATUSES, start=101)
        }
        self.categories = {i: {"id": i, "name": name} for i, name in enumerate(seed.JOB_CATEGORIES, start=1)}
        self.techs: dict[int, dict[str, Any]] = {
            i: {
                "id": i,
                "first_name": first,
                "last_name": last,
                "nicknames": [],
                "color_code": f"#{i:02d}80c0",
                "email": seed.tech_email(i),
                "phone_1": f"555-010-{i:04d}",
                "phone_2": None,
                "department": dept,
                "title": title,
                "is_sales_rep": False,
                "is_field_worker": field_worker,
                "created_at": now,
                "updated_at": now,
            }
            for i, (first, last, dept, title, field_worker) in enumerate(seed.TECHS, start=1)
        }
        self.sources = {
            i: {"id": i, "short_name": short, "long_name": long_}
            for i, (short, long_) in enumerate(seed.SOURCES, start=1)
        }
        self.payment_types = {
            i: {"id": i, "code": code, "short_name": short, "type": kind, "is_custom": custom}
            for i, (code, short, kind, custom) in enumerate(seed.PAYMENT_TYPES, start=1)
        }
        self.calendar_tasks = {
            i: {
                "id": i,
                "type": kind,
                "description": text,
                "start_date": now.date(),
                "end_date": now.date(),
                "start_time": "09:00",
                "end_time": "10:00",
                "is_completed": False,
                "is_public": True,
                "created_at": now,
                "updated_at": now,
            }
            for i, (kind, text) in enumerate(seed.CALENDAR_TASKS, start=1)
        }
        self._custom_defs = {
            entity: [
                {
                    "name": name,
                    "type": kind,
                    "group": group,
                    "is_required": required,
                    "default": default,
                    "created_at": now,
                    "updated_at": now,
                }
                for name, kind, group, required, default in defs
            ]
            for entity, defs in seed.CUSTOM_FIELDS.items()
        }
        self.me = {"id": 1, **seed.API_USER}
        self.customers_by_id: dict[int, dict] = {}
        self.jobs_by_id: dict[int, dict] = {}
        self.estimates: dict[int, dict] = {}
        self.invoices: dict[int, dict] = {}
        self.equipment: dict[int, dict] = {}
        self._next = dict(_FIRST_IDS)
        self._next_job_number = 1001
        self._next_estimate_number = 5001
        self._next_invoice_number = 7001

    # --- lookups used by body validation (ids or "headers") -------------------------------------------
    def _new_id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] += 1
        return value

    @staticmethod
    def _by_ref(table: dict[int, dict], ref: Any, header) -> dict | None:
        if isinstance(ref, int) and not isinstance(ref, bool):
            return table.get(ref)
        text = str(ref).strip().lower()
        for rec in table.values():  # ids ascending: the oldest record wins on duplicate headers
            if header(rec).lower() == text:
                return rec
        if text.isdigit():
            return table.get(int(text))
        return None

    def find_customer(self, ref: Any) -> dict | None:
        return self._by_ref(self.customers_by_id, ref, lambda r: r["customer_name"])

    def find_status(self, ref: Any, table: dict[int, dict] | None = None) -> dict | None:
        return self._by_ref(self.statuses if table is None else table, ref, lambda r: r["name"])

    def find_category(self, ref: Any) -> dict | None:
        return self._by_ref(self.categories, ref, lambda r: r["name"])

    def find_source(self, ref: Any) -> dict | None:
        return self._by_ref(self.sources, ref, lambda r: r["short_name"])

    def find_payment_type(self, ref: Any) -> dict | None:
        return self._by_ref(self.payment_types, ref, lambda r: r["short_name"])

    def find_tech(self, ref: Any) -> dict | None:
        return self._by_ref(self.techs, ref, lambda r: f"{r['first_name']} {r['last_name']}")

    def default_status(self, table: dict[int, dict]) -> dict:
        code = seed.DEFAULT_ESTIMATE_STATUS if table is self.estimate_statuses else seed.DEFAULT_JOB_STATUS
        return next(s for s in table.values() if s["code"] == code)

    def custom_field_defs(self, entity: str) -> list[dict]:
        return self._custom_defs.setdefault(entity, [])

    # --- writes made through the API -----------------------------------------------------------------
    def create_customer(self, body: dict) -> dict:
        """Validate and store a customer; raises ValidationFailed (422) on bad input."""
        with self.lock:
            rec = bodies.customer_record(body, self, self.clock.now_dt())
            rec["id"] = self._new_id("customers")
            if not rec.get("account_number"):
                rec["account_number"] = str(rec["id"])  # generated when omitted
            self.customers_by_id[rec["id"]] = rec
            return rec

    def create_job(self, body: dict, kind: str = "jobs") -> dict:
        """Validate and store a job (or an estimate); raises ValidationFailed (422) on bad input."""
        with self.lock:
            now = self.clock.now_dt()
            rec, new_contact = bodies.job_record(body, self, now, kind)
            table = self.estimates if kind == "estimates" else self.jobs_by_id
            rec["id"] = self._new_id(kind)
            if kind == "estimates":
                rec["number"] = str(self._next_estimate_number)
                self._next_estimate_number += 1
            else:
                rec["number"] = str(self._next_job_number)
                self._next_job_number += 1
            if new_contact is not None:
                customer = self.customers_by_id[rec["customer_id"]]
                customer["contacts"].append(new_contact)
                customer["updated_at"] = now
            table[rec["id"]] = rec
            return rec

    # --- test hooks: what a ServiceFusion user would do -----------------------------------------------
    def seed_customer(self, body: dict) -> int:
        """Create a customer as if entered in ServiceFusion; returns its id (422 ValidationFailed if bad)."""
        return self.create_customer(body)["id"]

    def seed_job(self, body: dict) -> int:
        """Create a job as if entered in ServiceFusion; returns its id."""
        return self.create_job(body)["id"]

    def set_job_status(self, job_id: int, status: str | int) -> dict:
        """Move a job to a status (by name, code or id) as a technician would: updated_at moves, and
        closed_at is set for closed/cancelled statuses (cleared when reopened). Returns the job's view."""
        with self.lock:
            job = self._job(job_id)
            target = self.find_status(status) or next(
                (s for s in self.statuses.values() if s["code"] == status), None
            )
            if target is None:
                raise KeyError(f"unknown job status {status!r}")
            now = self._tick(job)
            job["status_id"] = target["id"]
            job["closed_at"] = (
                (job["closed_at"] or now) if target["category"] in seed.CLOSED_CATEGORIES else None
            )
            return self.job_view(job_id)

    # --- read-outs for tests and demos ------------------------------------------------------------------
    def jobs(self) -> list[dict]:
        """Every job as the API shows it with every relation expanded, oldest first."""
        with self.lock:
            return [self.job_view(job_id) for job_id in sorted(self.jobs_by_id)]

    def customers(self) -> list[dict]:
        """Every customer as the API shows it with every relation expanded, oldest first."""
        with self.lock:
            return [self.customer_view(cid) for cid in sorted(self.customers_by_id)]

    def job_view(self, job_id: int) -> dict:
        with self.lock:
            return views.job(self, self._job(job_id), views.ALL)

    def customer_view(self, customer_id: int) -> dict:
        with self.lock:
            customer = self.customers_by_id.get(customer_id)
            if customer is None:
                raise KeyError(f"no customer {customer_id}")
            return views.customer(self, customer, views.ALL)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {
                "customers": len(self.customers_by_id),
                "jobs": len(self.jobs_by_id),
                "estimates": len(self.estimates),
                "invoices": len(self.invoices),
                "equipment": len(self.equipment),
            }

    def snapshot(self, kind: str) -> list[dict]:
        """Deep copies of raw records, for assertions that need internal fields."""
        with self.lock:
            table = {
                "customers": self.customers_by_id,
                "jobs": self.jobs_by_id,
                "estimates": self.estimates,
                "invoices": self.invoices,
                "equipment": self.equipment,
            }[kind]
            return [copy.deepcopy(table[k]) for k in sorted(table)]

    def _job(self, job_id: int) -> dict:
        job = self.jobs_by_id.get(int(job_id))
        if job is None:
            raise KeyError(f"no job {job_id}")
        return job

    def _tick(self, job: dict) -> datetime:
        now = self.clock.now_dt()
        job["updated_at"] = now
        return now
