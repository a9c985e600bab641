"""``ServiceFusionClient``: the typed list, get and create operations (the API has nothing else) the sync
uses on ServiceFusion API v1; tokens, pacing, retries and errors live in ``transport.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from sync.clients.paging import PageMark
from sync.clients.strict import OnMalformed, each
from sync.errors import MalformedReply

from .envelope import SYSTEM, parse_page
from .query import encode_filters
from .records import (
    Customer,
    Invoice,
    Job,
    JobCategory,
    JobStatus,
    Me,
    PaymentType,
    Source,
    Tech,
)
from .tokens import TokenStore
from .transport import Transport

PER_PAGE = 50
CUSTOMER_EXPAND = ("contacts", "locations", "custom_fields")
JOB_EXPAND = ("custom_fields",)
JOB_DETAIL_EXPAND = ("custom_fields", "techs_assigned")
#: pages one listing may read before it fails (SF_MAX_PAGES): far above any real account's
MAX_PAGES = 10_000
T = TypeVar("T")


def _expand(names: Iterable[str]) -> str:
    """Contacts are always expanded with their phones and emails, which SFContact carries."""
    out: list[str] = []
    for name in names:
        out.append(name)
        if name == "contacts":
            out += ["contacts.phones", "contacts.emails"]
    return ",".join(dict.fromkeys(out))


class ServiceFusionClient:
    def __init__(self, base_url: str, client_id: str, client_secret: str, **options: Any) -> None:
        """``options`` are the transport's: verify=True (or a CA bundle path), connect_timeout=10,
        read_timeout=60, rate_limit_cap=0 (requests/minute, 0 = the server's allowance), token_store=None
        (in-memory), retries=3, backoff_initial=1.0, backoff_max=30.0, renew_before=300.0; and the
        client's own max_pages=MAX_PAGES."""
        self.max_pages = int(options.pop("max_pages", MAX_PAGES))
        self._t = Transport(base_url, client_id, client_secret, **options)
        self.client_id = client_id

    def __repr__(self) -> str:
        return f"ServiceFusionClient({self._t.api_root!r}, client_id={self.client_id!r})"

    @classmethod
    def from_settings(
        cls, settings_dict: Mapping[str, Any] | None = None, token_store: TokenStore | None = None
    ) -> ServiceFusionClient:
        """Build from settings.SERVICEFUSION (SF_* variables); tokens shared through Django's cache."""
        conf = dict(settings_dict if settings_dict is not None else settings.SERVICEFUSION)
        for key, var in (
            ("BASE_URL", "SF_BASE_URL"),
            ("CLIENT_ID", "SF_CLIENT_ID"),
            ("CLIENT_SECRET", "SF_CLIENT_SECRET"),
        ):
            if not conf.get(key):
                raise ImproperlyConfigured(f"{var}: required to talk to ServiceFusion")
        verify_raw = str(conf.get("VERIFY", "true")).strip()
        verify: bool | str = {
            "true": True,
            "1": True,
            "yes": True,
            "false": False,
            "0": False,
            "no": False,
        }.get(verify_raw.lower(), verify_raw)
        if token_store is None:
            token_store = cache
        try:
            return cls(
                conf["BASE_URL"],
                conf["CLIENT_ID"],
                conf["CLIENT_SECRET"],
                verify=verify,
                connect_timeout=float(conf.get("CONNECT_TIMEOUT", 10.0)),
                read_timeout=float(conf.get("READ_TIMEOUT", 60.0)),
                rate_limit_cap=int(conf.get("RATE_LIMIT_CAP", 0)),
                token_store=token_store,
                retries=int(conf.get("RETRIES", 3)),
                max_pages=int(conf.get("MAX_PAGES", MAX_PAGES)),
            )
        except ValueError as exc:
            raise ImproperlyConfigured(f"SF_BASE_URL: {exc}") from exc

    @property
    def token_key(self) -> str:
        """The token store key this client's OAuth token is cached under (shared by every worker)."""
        return self._t.tokens.key

    @property
    def stats(self) -> dict[str, Any]:
        """Requests by method/outcome, 429s seen, token fetches/refreshes, retries, pacing waits."""
        return self._t.stats()

    def close(self) -> None:
        self._t.close()

    # --- paging ----------------------------------------------------------------------------------------
    def iter_items(
        self,
        path: str,
        *,
        sort: str,
        params: Mapping[str, Any] | None = None,
        operation: str = "",
        pages: PageMark | None = None,
    ) -> Iterator[Any]:
        """Every item of a list, page by page (per-page=50, ``sort`` always sent), from page 1 or
        ``pages.first``; ``pages.done`` follows the last page handed out whole. Items are as sent (the
        typed readers parse them); a page that is not the documented envelope raises MalformedReply, and
        so does a list still going after ``max_pages`` pages (SF_MAX_PAGES)."""
        if not sort:
            raise ValueError("a sort is required: unsorted ServiceFusion lists can hang")
        operation = operation or path
        page, seen, read = (pages.first if pages else 1), set(), 0
        while True:
            if read >= self.max_pages:
                raise MalformedReply(
                    f"{path} still had pages after {self.max_pages} (SF_MAX_PAGES): the read is stopped",
                    system=SYSTEM,
                    operation=operation,
                )
            reply = self._t.get(
                path,
                {**(params or {}), "sort": sort, "page": page, "per-page": PER_PAGE},
                operation=operation,
            )
            read += 1
            envelope = parse_page(reply.data, reply.headers, operation=operation)
            fresh = []
            for item in envelope.items:
                key = item.get("id") if isinstance(item, dict) else None
                if isinstance(key, int | str):
                    if key in seen:
                        continue  # a record that moved between pages while we listed is yielded once
                    seen.add(key)
                fresh.append(item)
            current = envelope.current or page
            for i, item in enumerate(fresh):
                if pages is not None and i == len(fresh) - 1:
                    pages.done = current  # before the last item goes out: a batch ending on it holds the page
                yield item
            if pages is not None and not fresh:
                pages.done = current
            # Past the end the API repeats the last page instead of returning an empty one.
            if current >= envelope.count or current < page:
                return
            page = current + 1

    # --- account ---------------------------------------------------------------------------------------
    def me(self) -> Me:
        """GET /me: the credentials check."""
        return Me.from_api(self._t.get("/me", operation="me").data)

    # --- customers -------------------------------------------------------------------------------------
    def iter_customers(
        self,
        *,
        expand: Iterable[str] = CUSTOMER_EXPAND,
        filters: Mapping[str, Any] | None = None,
        on_malformed: OnMalformed = None,
    ) -> Iterator[Customer]:
        """Every customer; one that cannot be parsed goes to ``on_malformed`` (raised without it)."""
        params = encode_filters(filters)
        if expand:
            params["expand"] = _expand(expand)
        # Sorted by id, parents come before their children (a parent must exist first), so parent ids
        # resolve from what was already listed; a filtered list falls back to a lookup.
        known: dict[str, int] = {}
        items = self.iter_items("/customers", sort="id", params=params, operation="list_customers")
        for customer in each(
            items, lambda i: Customer.from_api(i, operation="list_customers"), on_malformed
        ):
            customer = self._with_parent(customer, known)
            known[customer.fully_qualified_name or customer.name] = customer.id
            yield customer

    def get_customer(self, customer_id: int, *, expand: Iterable[str] = CUSTOMER_EXPAND) -> Customer:
        params = {"expand": _expand(expand)} if expand else {}
        reply = self._t.get(f"/customers/{int(customer_id)}", params, operation="get_customer")
        return self._with_parent(Customer.from_api(reply.data, operation="get_customer"), {})

    def create_customer(self, body: Mapping[str, Any]) -> Customer:
        """POST /customers (not retried; AmbiguousWriteError when the outcome is unknown)."""
        reply = self._t.post(
            "/customers", body, {"expand": _expand(CUSTOMER_EXPAND)}, operation="create_customer"
        )
        created = Customer.from_api(reply.data, operation="create_customer")
        parent = body.get("parent_customer")
        known = {}
        if isinstance(parent, int) and created.parent_customer_name:
            known[_parent_key(created)] = parent
        return self._with_parent(created, known)

    def _with_parent(self, customer: Customer, known: dict[str, int]) -> Customer:
        """The customer with its parent's id (the API names the parent only by its header)."""
        if not customer.parent_customer_name:
            return customer
        key = _parent_key(customer)
        parent_id = known.get(key) or known.get(customer.parent_customer_name)
        if parent_id is None:
            parent_id = self._lookup_customer_id(customer.parent_customer_name, key)
            if parent_id is not None:
                known[key] = parent_id
        return replace(customer, parent_customer_id=parent_id)

    def _lookup_customer_id(self, name: str, fully_qualified_name: str) -> int | None:
        """The API shows a parent by name only; find its id (name filters are partial: compare exactly)."""
        params = {**encode_filters({"name": name}), "fields": "id,customer_name,fully_qualified_name"}
        exact = None
        items = self.iter_items("/customers", sort="id", params=params, operation="find_customer")
        for found in each(items, lambda i: Customer.from_api(i, operation="find_customer"), None):
            if found.fully_qualified_name == fully_qualified_name:
                return found.id
            if exact is None and found.name == name:
                exact = found.id
        return exact

    # --- jobs ------------------------------------------------------------------------------------------
    def iter_jobs(
        self,
        *,
        updated_since: datetime | None = None,
        filters: Mapping[str, Any] | None = None,
        expand: Iterable[str] = JOB_EXPAND,
        sort: str = "-updated_at",
        pages: PageMark | None = None,
        on_malformed: OnMalformed = None,
    ) -> Iterator[Job]:
        """Jobs (updated since ``updated_since``); one that cannot be parsed goes to ``on_malformed``
        (raised without it)."""
        merged = dict(filters or {})
        if updated_since is not None:
            merged["updated_date"] = {**(merged.get("updated_date") or {}), "gte": updated_since}
        params = encode_filters(merged)
        if expand:
            params["expand"] = _expand(expand)
        items = self.iter_items("/jobs", sort=sort, params=params, operation="list_jobs", pages=pages)
        yield from each(items, lambda i: Job.from_api(i, operation="list_jobs"), on_malformed)

    def get_job(self, job_id: int, *, expand: Iterable[str] = JOB_DETAIL_EXPAND) -> Job:
        params = {"expand": _expand(expand)} if expand else {}
        reply = self._t.get(f"/jobs/{int(job_id)}", params, operation="get_job")
        return Job.from_api(reply.data, operation="get_job")

    def create_job(self, body: Mapping[str, Any]) -> Job:
        """POST /jobs, never retried. AmbiguousWriteError means the job may exist: look it up first
        (``find_jobs_by_check_number``) before posting again."""
        reply = self._t.post("/jobs", body, {"expand": _expand(JOB_DETAIL_EXPAND)}, operation="create_job")
        return Job.from_api(reply.data, operation="create_job")

    def find_jobs_by_check_number(
        self, check_number: str, *, updated_since: datetime | None = None
    ) -> list[Job]:
        """Jobs whose check_number is exactly ``check_number``.

        There is no check_number filter. Deployments that also write the reference into po_number are
        found with the (partial) po_number filter; otherwise jobs updated since ``updated_since`` (all jobs
        when None) are scanned. Either way the comparison is exact.
        """
        if not check_number:
            raise ValueError("check_number is required")
        found = [
            job
            for job in self.iter_jobs(filters={"po_number": check_number}, updated_since=updated_since)
            if job.check_number == check_number
        ]
        if found:
            return found
        return [
            job for job in self.iter_jobs(updated_since=updated_since) if job.check_number == check_number
        ]

    # --- lookups and invoices ------------------------------------------------------------------------------
    def _lookup(self, path: str, record: Callable[..., T]) -> list[T]:
        """A whole lookup list; one malformed entry fails it (a partial status list would mislead)."""
        op = path.strip("/").replace("-", "_")
        items = self.iter_items(path, sort="id", operation=f"list_{op}")
        return list(each(items, lambda i: record(i, operation=f"list_{op}"), None))

    def list_job_statuses(self) -> list[JobStatus]:
        return self._lookup("/job-statuses", JobStatus.from_api)

    def list_job_categories(self) -> list[JobCategory]:
        return self._lookup("/job-categories", JobCategory.from_api)

    def list_techs(self) -> list[Tech]:
        return self._lookup("/techs", Tech.from_api)

    def list_sources(self) -> list[Source]:
        return self._lookup("/sources", Source.from_api)

    def list_payment_types(self) -> list[PaymentType]:
        return self._lookup("/payment-types", PaymentType.from_api)

    def iter_invoices(
        self, *, sort: str = "id", pages: PageMark | None = None, on_malformed: OnMalformed = None
    ) -> Iterator[Invoice]:
        """Every invoice (v1 invoices take no filters). ``sort="-updated_at"`` lists the newest changes
        first, so a caller that stops at its cursor reads only the pages it needs."""
        items = self.iter_items("/invoices", sort=sort, operation="list_invoices", pages=pages)
        yield from each(items, lambda i: Invoice.from_api(i, operation="list_invoices"), on_malformed)

    def job_invoices(self, job_id: int) -> list[Invoice]:
        """A job's invoices (GET /jobs/{id}?expand=invoices)."""
        reply = self._t.get(
            f"/jobs/{int(job_id)}", {"expand": "invoices", "fields": "id"}, operation="get_job"
        )
        data = reply.data
        invoices = data.get("invoices") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(invoices, list | None):
            raise MalformedReply(
                "the job's invoices are not a list in a job object", system=SYSTEM, operation="get_job"
            )
        return [Invoice.from_api(i, operation="get_job") for i in invoices or ()]


def _parent_key(customer: Customer) -> str:
    fqn = customer.fully_qualified_name
    return fqn.rsplit(":", 1)[0] if ":" in fqn else customer.parent_customer_name


__all__ = ["ServiceFusionClient"]
