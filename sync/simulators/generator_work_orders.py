"""Work orders for a generated dataset: statuses, texts, units and vendors drawn per the rules' hard cases,
near-duplicates placed on purpose, and ids and numbers that grow with creation time as PropertyWare's do."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import vocabulary as v
from .dataset_model import iso
from .generator_base import FIELD_CREW_TECHS, Draw, spread

#: share of multi-unit work orders whose unit id is the building id (legacy data: ~4 %)
UNIT_IS_BUILDING_RATE = 0.04
NEAR_DUPLICATE_RATE = 0.03


class WorkOrderDraw(Draw):
    """Adds the work orders to a dataset whose buildings, units, leases and vendors are drawn."""

    def work_orders(self) -> None:
        rng, ds = self.rng, self.ds
        n_dups = max(2, round(self.size.work_orders * NEAR_DUPLICATE_RATE))
        n = self.size.work_orders - n_dups
        units_of: dict[int, list[int]] = {}
        for u in ds.units:
            units_of.setdefault(u["buildingID"], []).append(u["ID"])
        active_lease = {lease["unitID"]: lease for lease in ds.leases if lease["active"]}
        portfolio = {p["ID"]: p for p in ds.portfolios}
        weights = [0.75 * len(units_of.get(b["ID"], ())) if b["multiUnit"] else 1.0 for b in ds.buildings]
        buildings = [ds.buildings[0]] + rng.choices(ds.buildings, weights=weights, k=n - 1)
        multi_idx = [i for i, b in enumerate(buildings) if b["multiUnit"]]
        unit_is_building = set(rng.sample(multi_idx, max(1, round(len(multi_idx) * UNIT_IS_BUILDING_RATE))))
        all_statuses = v.OPEN_STATUSES + v.CLOSED_STATUSES
        status_weights = [62 / len(v.OPEN_STATUSES)] * len(v.OPEN_STATUSES) + [24, 9, 5]
        statuses = spread(rng, n, all_statuses, all_statuses, status_weights)
        templates = spread(rng, n, v.DESCRIPTIONS, v.DESCRIPTIONS)
        types = spread(rng, n, sorted(set(v.WO_TYPES)), v.WO_TYPES)
        created = sorted(self.before_anchor(8, 200) for _ in range(n))
        rows = []
        for i in range(n):
            b = buildings[i]
            if b["multiUnit"]:
                if i in unit_is_building:
                    unit_ids = [b["ID"]]
                else:
                    unit_ids = [] if rng.random() < 0.05 else [rng.choice(units_of[b["ID"]])]
            else:
                unit_ids = [b["ID"]] if rng.random() < 0.85 else []
            category, text = templates[i]
            rows.append(
                self.work_order(
                    b,
                    portfolio[b["_portfolioID"]],
                    unit_ids,
                    statuses[i],
                    category,
                    text.format(room=rng.choice(v.ROOMS)),
                    types[i],
                    created[i],
                    active_lease,
                )
            )
        open_rows = [r for r in rows if r["status"] in v.OPEN_STATUSES]
        for orig in rng.sample(open_rows, min(n_dups, len(open_rows))):
            dup_created = datetime.fromisoformat(orig["createdDate"]) + timedelta(
                days=rng.randint(1, 5), minutes=rng.randint(0, 600)
            )
            b = next(x for x in ds.buildings if x["ID"] == orig["building"]["ID"])
            dup = self.work_order(
                b,
                portfolio[b["_portfolioID"]],
                list(orig["unitIDs"]),
                "Open",
                orig["category"],
                orig["description"] + rng.choice(v.NEAR_DUPLICATE_SUFFIXES),
                orig["type"],
                dup_created,
                active_lease,
            )
            dup["lease"] = orig["lease"]
            dup["_nearDuplicateOf"] = orig["ID"]
            rows.append(dup)
        # ids and numbers grow with creation time, as PropertyWare assigns them
        rows.sort(key=lambda r: r["createdDate"])
        ids = sorted(r["ID"] for r in rows)
        renumber = {}
        for k, (r, new_id) in enumerate(zip(rows, ids, strict=True)):
            renumber[r["ID"]] = new_id
            r["ID"], r["number"] = new_id, 1001 + k
        for r in rows:
            if "_nearDuplicateOf" in r:
                r["_nearDuplicateOf"] = renumber[r["_nearDuplicateOf"]]
        ds.work_orders = rows

    def work_order(
        self,
        b: dict,
        p: dict,
        unit_ids: list[int],
        status: str,
        category: str,
        description: str,
        wo_type: str,
        created: datetime,
        active_lease: dict,
    ) -> dict:
        rng = self.rng
        priority, priority_int = rng.choice(v.PRIORITIES)
        lease = active_lease.get(unit_ids[0]) if unit_ids else None
        lease = lease if lease and rng.random() < 0.6 else None
        vendors = self.ds.vendors
        n_vendors = rng.choices([0, 1, 2], weights=[20, 75, 5])[0]
        vendor_ids = [
            rng.choice(vendors[:FIELD_CREW_TECHS] if rng.random() < 0.5 else vendors)["ID"]
            for _ in range(n_vendors)
        ]
        closed = status in v.CLOSED_STATUSES
        started = closed or status not in ("Open", "Unscheduled", "WO Received")
        start = created + timedelta(hours=rng.randint(2, 72)) if started else None
        completed = start + timedelta(hours=rng.randint(1, 240)) if closed and start else None
        if completed and completed >= self.anchor:
            completed = self.anchor - timedelta(minutes=rng.randint(5, 600))
        approved = rng.random() < 0.3
        source = rng.choice(v.SOURCES)
        fields = {d["fieldName"]: d for d in self.ds.custom_field_definitions["WorkOrder"]}
        wo: dict = {
            "ID": self.new_id(),
            "number": 0,
            "description": description,
            "location": f"{p['abbreviation']} | {b['abbreviation']}",
            "specificLocation": rng.choice(v.ROOMS),
            "category": category,
            "type": wo_type,
            "status": status,
            "priority": priority,
            "priorityAsInt": priority_int,
            "source": source,
            "requestedBy": rng.choice(["Tenant", "Owner", "Property Manager", "Inspection"]),
            "requiredMaterials": None,
            "closingComments": "Work completed; tenant confirmed." if closed else None,
            "approved": approved,
            "approvedBy": None,
            "approvedDate": iso(created + timedelta(hours=1)) if approved else None,
            "approvalComment": "Approved within owner limit" if approved else None,
            "authorizedToEnter": rng.choice(["NO", "ANYTIME", "SPECIFIEDTIME"]),
            "dateToEnter": None,
            "createdDate": iso(created),
            "startDate": iso(start) if start else None,
            "scheduledEndDate": None,
            "completedDate": iso(completed) if completed else None,
            "costEstimate": round(rng.uniform(60, 1500), 2),
            "hourEstimate": float(rng.randint(1, 12)),
            "totalCost": round(rng.uniform(40, 1800), 2) if closed else 0.0,
            "totalHourWorked": float(rng.randint(1, 14)) if closed else 0.0,
            "building": {"ID": b["ID"]},
            "portfolio": {"ID": p["ID"]},
            "lease": {"ID": lease["ID"]} if lease else None,
            "requestedByContact": lease["primaryContact"] if lease and source == "Tenant Portal" else None,
            "unitIDs": unit_ids,
            "vendorIDs": vendor_ids,
            "customFields": [
                {"ID": fields["sfJobId"]["ID"], "dataType": "Text", "fieldName": "sfJobId", "value": ""},
                {
                    "ID": fields["Service Status"]["ID"],
                    "dataType": "Text",
                    "fieldName": "Service Status",
                    "value": "Closed" if closed else rng.choice(v.SERVICE_STATUSES[:3]),
                },
                {
                    "ID": fields["Access Instructions"]["ID"],
                    "dataType": "Text",
                    "fieldName": "Access Instructions",
                    "value": rng.choice(v.ACCESS_NOTES),
                },
            ],
            "notes": [],
        }
        if rng.random() < 0.2:
            wo["notes"].append(
                {
                    "ID": self.new_id(),
                    "subject": "Tenant update",
                    "body": "Tenant says the problem comes and goes. ¿Puede venir por la mañana?",
                    "date": iso(created + timedelta(hours=3)),
                    "private": False,
                }
            )
        modified = completed or self.before_anchor(0.01, max(0.02, (self.anchor - created).days))
        return self.stamp(wo, created, max(created, modified))
