"""The deterministic generator behind ``build_dataset``: people, buildings, units, leases, vendors and
work orders drawn from one seeded RNG, with every hard case placed on purpose (docs/datasets.md)."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from . import vocabulary as v

if TYPE_CHECKING:
    from .datasets import Dataset, Size

#: share of multi-unit work orders whose unit id is the building id (legacy data: ~4 %)
UNIT_IS_BUILDING_RATE = 0.04
NEAR_DUPLICATE_RATE = 0.03
FIELD_CREW_TECHS = 8


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def fold(text: str) -> str:
    """ASCII letters and digits of ``text`` (abbreviations and e-mail local parts are ASCII)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


def default_user(user_id: int) -> dict:
    return {
        "ID": user_id,
        "loginName": "api-user@greenlight.example",
        "email": "api-user@greenlight.example",
        "firstName": "API",
        "lastName": "User",
    }


def spread(rng: random.Random, n: int, required: Sequence, pool: Sequence, weights=None) -> list:
    """``n`` values holding each of ``required`` at least once (when n allows), the rest drawn from pool."""
    out = list(required[:n]) + rng.choices(pool, weights=weights, k=max(0, n - len(required)))
    rng.shuffle(out)
    return out


class Generator:
    """Fills an empty ``Dataset`` (whose name and seed pick the RNG stream) up to ``size``."""

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

    def build(self) -> Dataset:
        org_id = self.new_id()
        self.ds.organization = {"ID": org_id, "name": "GreenLight Demo Property Management"}
        self.ds.users = [default_user(self.new_id())]
        self.ds.custom_field_definitions = {
            "WorkOrder": [
                {"ID": self.new_id(), "fieldName": name, "dataType": "Text"}
                for name in ("sfJobId", "Service Status", "Access Instructions")
            ]
        }
        self.portfolios()
        self.buildings()
        self.units()
        self.leases()
        self.vendors()
        self.work_orders()
        return self.ds

    def person(self, i: int, contact_type: str, domain: str) -> dict:
        rng = self.rng
        first = v.FIRST_NAMES[i] if i < len(v.FIRST_NAMES) else rng.choice(v.FIRST_NAMES)
        last = v.LAST_NAMES[i] if i < len(v.LAST_NAMES) else rng.choice(v.LAST_NAMES)
        local = f"{fold(first).lower() or 'contact'}.{fold(last).lower() or 'x'}{i}"
        phone = f"512-555-{rng.randint(0, 9999):04d}"
        contact = {
            "ID": self.new_id(),
            "firstName": first,
            "lastName": last,
            "completeName": f"{first} {last}",
            "email": f"{local}@{domain}",
            "homePhone": phone if rng.random() < 0.4 else None,
            "workPhone": None,
            "mobilePhone": phone,
            "contactType": contact_type,
            "namedOnLease": contact_type == "TENANT",
        }
        self.ds.contacts.append(self.stamp(contact, self.before_anchor(400, 900), self.before_anchor(1, 400)))
        return contact

    def portfolios(self) -> None:
        n = self.size.portfolios
        inactive = set(self.rng.sample(range(1, n), max(1, round(n * 0.03)))) if n > 1 else set()
        for i in range(n):
            owner = self.person(i, "OWNER", "owners.example")
            suffix = self.rng.choice(v.PORTFOLIO_SUFFIXES)
            abbr = f"{(fold(owner['lastName'])[:6] or 'PF').upper()}{i + 1}"
            p = {
                "ID": self.new_id(),
                "name": f"{owner['lastName']} {suffix}",
                "abbreviation": abbr,
                "active": i not in inactive,
                "managementCompany": self.ds.organization["name"],
                "owners": [{"ID": owner["ID"]}],
                "customFields": [],
            }
            self.ds.portfolios.append(
                self.stamp(p, self.before_anchor(700, 1500), self.before_anchor(1, 700))
            )

    def buildings(self) -> None:
        rng, size = self.rng, self.size
        owners = list(range(size.portfolios)) + rng.choices(
            range(size.portfolios),
            weights=[rng.paretovariate(1.5) for _ in range(size.portfolios)],
            k=size.buildings - size.portfolios,
        )
        owners.sort()
        multi = set(rng.sample(range(size.buildings), size.multi_unit_buildings))
        if size.buildings > 1:
            multi.discard(0)  # the first building of the first portfolio is always single-family
            while len(multi) < size.multi_unit_buildings:
                multi.add(rng.randrange(1, size.buildings))
        used_abbr: set[str] = set()
        for i, pi in enumerate(owners):
            p = self.ds.portfolios[pi]
            street = v.STREET_NAMES[i] if i < len(v.STREET_NAMES) else rng.choice(v.STREET_NAMES)
            number = rng.randint(100, 9899)
            city, state, zip3 = v.CITIES[i % len(v.CITIES)] if i < len(v.CITIES) else rng.choice(v.CITIES)
            abbr = f"{number}{fold(street)[:6].upper()}"
            while abbr in used_abbr:
                number += 1
                abbr = f"{number}{fold(street)[:6].upper()}"
            used_abbr.add(abbr)
            is_multi = i in multi
            bid = self.new_id()
            b = {
                "ID": bid,
                "buildingID": bid,
                "name": f"{number} {street}",
                "abbreviation": abbr,
                "address": f"{number} {street}",
                "address2": None,
                "city": city,
                "state": state,
                "zip": f"{zip3}{rng.randint(0, 99):02d}",
                "country": "US",
                "county": None,
                "multiUnit": is_multi,
                "rentable": not is_multi,
                "active": True,
                "type": "Multi-Family" if is_multi else "Single Family",
                "status": "Active",
                "portfolio": p["abbreviation"],
                "yearBuilt": rng.randint(1925, 2021),
                "bedrooms": 0 if is_multi else rng.randint(2, 5),
                "bathrooms": 0.0 if is_multi else rng.choice([1.0, 1.5, 2.0, 2.5, 3.0]),
                "targetRent": 0.0 if is_multi else float(rng.randrange(1200, 3600, 25)),
                "_portfolioID": p["ID"],
            }
            self.ds.buildings.append(self.stamp(b, self.before_anchor(500, 1400), self.before_anchor(1, 500)))

    def units(self) -> None:
        rng = self.rng
        multi = [b for b in self.ds.buildings if b["multiUnit"]]
        counts = [2] * len(multi)
        for j in rng.choices(range(len(multi)), k=max(0, self.size.units - 2 * len(multi))):
            counts[j] += 1
        for b, count in zip(multi, counts, strict=True):
            per_floor = rng.choice([4, 6, 8, 12])
            for k in range(count):
                label = f"{k // per_floor + 1}{k % per_floor + 1:02d}"
                u = {
                    "ID": self.new_id(),
                    "buildingID": b["ID"],
                    "portfolio": b["portfolio"],
                    "name": f"Unit {label}",
                    "abbreviation": f"{b['abbreviation']}-{label}",
                    "address": b["address"],
                    "address2": f"Unit {label}",
                    "city": b["city"],
                    "state": b["state"],
                    "zip": b["zip"],
                    "country": "US",
                    "active": True,
                    "multiUnit": False,
                    "status": "Vacant",
                    "type": "Apartment",
                    "bedrooms": rng.randint(0, 3),
                    "bathrooms": rng.choice([1.0, 1.0, 1.5, 2.0]),
                    "targetRent": float(rng.randrange(850, 2400, 25)),
                }
                self.ds.units.append(self.stamp(u, self.before_anchor(400, 1300), self.before_anchor(1, 400)))

    def spaces(self) -> list[tuple[int, dict]]:
        """Rentable spaces: (unit id, building); a single-family building is its own unit."""
        by_id = {b["ID"]: b for b in self.ds.buildings}
        out = [(b["ID"], b) for b in self.ds.buildings if not b["multiUnit"]]
        out += [(u["ID"], by_id[u["buildingID"]]) for u in self.ds.units]
        return out

    def leases(self) -> None:
        rng = self.rng
        spaces = self.spaces()
        chosen = rng.sample(spaces, min(self.size.leases, len(spaces)))
        statuses = spread(
            rng,
            len(chosen),
            ["Active", "Active - Notice Given", "Terminated"],
            v.LEASE_STATUSES,
            v.LEASE_STATUS_WEIGHTS,
        )
        unit_by_id = {u["ID"]: u for u in self.ds.units}
        for i, ((unit_id, b), status) in enumerate(zip(chosen, statuses, strict=True)):
            tenants = [
                self.person(len(self.ds.contacts) + k, "TENANT", "tenants.example")
                for k in range(rng.choice([1, 1, 2, 2, 3]))
            ]
            start = self.before_anchor(40, 1000).replace(hour=0, minute=0, second=0)
            term_days = rng.choice([365, 365, 730, 183])
            lease = {
                "ID": self.new_id(),
                "leaseName": f"{tenants[0]['lastName']} - {b['name']}"
                + (f" #{unit_by_id[unit_id]['name']}" if unit_id in unit_by_id else ""),
                "leaseStatus": status,
                "active": status in ("Active", "Active - Notice Given", "Eviction"),
                "commercial": False,
                "unitID": unit_id,
                "buildingID": b["ID"],
                "tenants": [{"ID": t["ID"]} for t in tenants],
                "primaryContact": {"ID": tenants[0]["ID"]},
                "startDate": iso(start),
                "endDate": iso(start + timedelta(days=term_days)),
                "moveInDate": iso(start),
                "moveOutDate": None,
                "noticeGivenDate": None,
                "scheduleMoveOutDate": None,
                "terminatedDate": None,
                "balance": round(rng.choice([0.0, 0.0, 0.0, rng.uniform(25, 1800)]), 2),
            }
            if status == "Active - Notice Given":
                lease["noticeGivenDate"] = iso(self.before_anchor(1, 25))
                lease["scheduleMoveOutDate"] = iso(self.anchor + timedelta(days=rng.randint(5, 40)))
            elif status == "Terminated":
                ended = min(start + timedelta(days=term_days), self.anchor - timedelta(days=2))
                lease["moveOutDate"] = lease["terminatedDate"] = iso(ended)
            if lease["active"] and unit_id in unit_by_id:
                unit_by_id[unit_id]["status"] = "Occupied"
            self.ds.leases.append(self.stamp(lease, start, self.before_anchor(1, 30) if i % 3 else start))

    def vendors(self) -> None:
        rng = self.rng
        for i in range(self.size.vendors):
            if i < FIELD_CREW_TECHS:
                first, last = v.FIRST_NAMES[(i * 7) % len(v.FIRST_NAMES)], v.LAST_NAMES[(i * 11) % 30]
                vendor = {
                    "name": f"{first} {last}",
                    "companyName": v.FIELD_CREW_COMPANY,
                    "email": f"tech{i + 1}@fieldcrew.example",
                    "vendorType": "Technician",
                }
            else:
                company = v.VENDOR_COMPANIES[(i - FIELD_CREW_TECHS) % len(v.VENDOR_COMPANIES)]
                branch = (i - FIELD_CREW_TECHS) // len(v.VENDOR_COMPANIES)
                name = company + (f" #{branch + 1}" if branch else "")
                vendor = {
                    "name": name,
                    "companyName": name,
                    "email": f"dispatch{i + 1}@{fold(company).lower()[:14]}.example",
                    "vendorType": "Contractor",
                }
            vendor.update(
                {
                    "ID": self.new_id(),
                    "active": i != self.size.vendors - 1,
                    "phone": f"737-555-{rng.randint(0, 9999):04d}",
                    "address": None,
                    "city": "Austin",
                    "state": "TX",
                    "zip": "78701",
                    "country": "US",
                }
            )
            self.ds.vendors.append(
                self.stamp(vendor, self.before_anchor(600, 1500), self.before_anchor(1, 600))
            )

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
        wo = {
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
