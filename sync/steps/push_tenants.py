"""pushLeaseTenantsToSF: tenants of active leases made reachable in SF (R16, R17), in ``contact`` mode
(default: contacts of the building customer) or ``child_customer`` mode (one child customer per lease).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from sync.engine.context import StepSkipped
from sync.engine.unchanged import Reconciliation, building_customers, cached_customers, versions
from sync.loaders.mappings import mapped_customers, pw_ids_of_customer
from sync.loaders.rows import BY_ID_UP_TO
from sync.models import OutboxItem
from sync.outbox.customers import CustomerHandler, customer_labels, upsert_cache_from_body
from sync.outbox.payloads import lease_customer_body
from sync.outbox.planning import plan_write
from sync.outbox.sender import Sender
from sync.policies.customer_match import normalise_name
from warehouse.models import DimTenant, FactLease, SfCustomerCache, TenantMapping

LEASE = OutboxItem.Kind.TENANT_CUSTOMER
LEASE_FIELDS = ("lease_id", "building_id", "primary_contact_id", "name")
TENANT_FIELDS = ("contact_id", "lease_id", "first_name", "last_name", "email", "phone")
TENANT_MAPPING_FIELDS = (
    "pw_contact_id",
    "pw_lease_id",
    "sf_customer_id",
    "sf_contact_name",
    "mode",
    "sf_child_customer_id",
    "status",
)


def _active_leases_with_tenants():
    """Active leases and their tenants, with the columns reconciliation and lease bodies read."""
    leases = {
        r["lease_id"]: r
        for r in FactLease.objects.filter(is_current=True, active=True).values(*LEASE_FIELDS)
    }
    tenants = defaultdict(list)
    for t in (
        DimTenant.objects.filter(is_current=True, lease_id__in=list(leases))
        .order_by("contact_id")
        .values(*TENANT_FIELDS)
    ):
        tenants[t["lease_id"]].append(t)
    return leases, tenants


def _save(rows: list[dict]) -> int:
    """Upsert tenant mappings by (contact, lease); returns rows written. Rows are compared as plain
    values (every tenant is reconciled each run, and few of them change)."""
    if not rows:
        return 0
    fields = sorted({k for r in rows for k in r})
    mappings = TenantMapping.objects.all()
    if len(rows) <= BY_ID_UP_TO:
        mappings = mappings.filter(pw_contact_id__in=[r["pw_contact_id"] for r in rows])
    existing = {
        (m["pw_contact_id"], m["pw_lease_id"]): m
        for m in mappings.values("tenant_mapping_key", *fields).iterator(chunk_size=2000)
    }
    written = 0
    for r in rows:
        row = existing.get((r["pw_contact_id"], r["pw_lease_id"]))
        if row is None:
            TenantMapping.objects.create(**r)
            written += 1
        elif any(row[k] != v for k, v in r.items()):
            TenantMapping.objects.filter(pk=row["tenant_mapping_key"]).update(**r, updated_at=timezone.now())
            written += 1
    return written


# ``contact`` mode: reconcile dim_tenant with the building customer's contacts; a tenant the customer lacks
# is named on its jobs (SF then creates the contact), since v1 cannot add contacts to an existing customer.
def reconcile_contacts(ctx, leases, tenants, customers) -> None:
    contacts = {
        cid: {(normalise_name(c.get("fname", "")), normalise_name(c.get("lname", ""))) for c in rows or ()}
        for cid, rows in SfCustomerCache.objects.filter(
            sf_customer_id__in=list(customers.values())
        ).values_list("sf_customer_id", "contacts")
    }
    rows = []
    for lease_id, lease in leases.items():
        sf_id = customers.get(lease["building_id"])
        if sf_id is None:
            continue
        for t in tenants.get(lease_id, ()):
            known = (normalise_name(t["first_name"]), normalise_name(t["last_name"])) in contacts.get(
                sf_id, set()
            )
            rows.append(
                {
                    "pw_contact_id": t["contact_id"],
                    "pw_lease_id": lease_id,
                    "sf_customer_id": sf_id,
                    "sf_contact_name": f"{t['first_name']} {t['last_name']}".strip(),
                    "mode": "contact",
                    "sf_child_customer_id": None,
                    "status": "on_customer" if known else "via_job",
                }
            )
    with transaction.atomic():
        ctx.count("tenant_mappings_written", _save(rows))
    ctx.count("tenants_on_customer", sum(1 for r in rows if r["status"] == "on_customer"))
    ctx.count("tenants_via_job", sum(1 for r in rows if r["status"] == "via_job"))


class LeaseCustomerHandler(CustomerHandler):
    """A child customer for one lease, under the building's customer."""

    def __init__(self) -> None:
        super().__init__(LEASE, "lease")

    def is_ours(self, ctx, row, customer) -> bool:
        return customer.parent_customer_id == row.payload.get("parent_customer") and pw_ids_of_customer(
            customer.custom_fields or {}, ctx.flags
        )[1] == row.context.get("building_id")

    def apply(self, ctx, row, result) -> None:
        upsert_cache_from_body(int(result["id"]), row.payload)
        _save(
            [
                {
                    "pw_contact_id": cid,
                    "pw_lease_id": row.context["lease_id"],
                    "sf_customer_id": row.payload["parent_customer"],
                    "sf_contact_name": name,
                    "mode": "child_customer",
                    "sf_child_customer_id": int(result["id"]),
                    "status": "mapped",
                }
                for cid, name in row.context.get("tenants", [])
            ]
        )


# ``child_customer`` mode: one child customer per active lease under the building customer
# (``customer:lease:<id>``), its tenants as contacts.
def push_child_customers(ctx, leases, tenants, customers) -> None:
    labels = customer_labels(ctx.flags)
    done = set(
        TenantMapping.objects.filter(mode="child_customer", sf_child_customer_id__isnull=False).values_list(
            "pw_lease_id", flat=True
        )
    )
    for lease_id, lease in sorted(leases.items()):
        if lease_id in done or not tenants.get(lease_id):
            continue
        parent = customers.get(lease["building_id"])
        hold = "" if parent else f"building {lease['building_id']} has no ServiceFusion customer yet"
        body = lease_customer_body(lease, parent, tenants[lease_id], labels)
        context = {
            "lease_id": lease_id,
            "building_id": lease["building_id"],
            "tenants": [
                [t["contact_id"], f"{t['first_name']} {t['last_name']}".strip()] for t in tenants[lease_id]
            ],
        }
        with transaction.atomic():
            plan_write(ctx, f"customer:lease:{lease_id}", LEASE, body, context=context, hold_reason=hold)
    if not ctx.dry_run:
        Sender(ctx, [LeaseCustomerHandler()]).drain(count_as="created")


def _inputs():
    return (
        versions(FactLease, "lease_id"),
        versions(DimTenant, "contact_id"),
        building_customers(),
        cached_customers("contacts"),
    )


def _outputs():
    return (TenantMapping.objects.order_by("pk").values_list("pk", *TENANT_MAPPING_FIELDS),)


def run(ctx) -> None:
    if ctx.flags.tenant_push_mode == "child_customer":
        _push(ctx)
        return
    # Contact mode only reconciles (no SF writes): it can tell when it would change nothing.
    Reconciliation(ctx, "pushLeaseTenantsToSF", inputs=_inputs, outputs=_outputs).run(_push)


def _push(ctx) -> None:
    leases, tenants = _active_leases_with_tenants()
    customers = mapped_customers("building")
    if ctx.flags.tenant_push_mode == "child_customer":
        if not ctx.flags.enable_service_fusion:
            raise StepSkipped("ENABLE_SERVICE_FUSION is off: no child customers created")
        push_child_customers(ctx, leases, tenants, customers)
    else:
        reconcile_contacts(ctx, leases, tenants, customers)
