"""The deterministic generator behind ``build_dataset``: the organisation, people, portfolios, buildings,
units, leases and vendors, every hard case placed on purpose (docs/datasets.md); work orders come last."""

from __future__ import annotations

from datetime import timedelta

from . import vocabulary as v
from .dataset_model import Dataset, default_user, iso
from .generator_base import FIELD_CREW_TECHS, fold, spread
from .generator_work_orders import WorkOrderDraw


class Generator(WorkOrderDraw):
    """Fills an empty ``Dataset`` (whose name and seed pick the RNG stream) up to ``size``."""

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
                vendor: dict = {
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
