"""Datasets: deterministic, at the stated sizes, covering every hard case, and round-tripping as JSON."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from rapidfuzz import fuzz

from sync.simulators.datasets import (
    SIZES,
    DatasetError,
    build_dataset,
    dataset_from_json,
    dump_dataset,
    load_dataset,
)
from tests.pw_helpers import TINY, TODAY

R26_OPEN = {
    "unscheduled",
    "scheduled",
    "scheduled outside sf",
    "dispatched",
    "delayed",
    "on the way",
    "on site",
    "started",
    "paused",
    "resumed",
    "partially completed",
    "open",
    "wo received",
    "awaiting parts",
}


def test_same_name_seed_and_day_give_the_same_dataset():
    again = build_dataset("tiny", seed=0, today=TODAY)
    assert json.dumps(again.to_json(), sort_keys=True) == json.dumps(TINY.to_json(), sort_keys=True)
    other = build_dataset("tiny", seed=1, today=TODAY)
    assert json.dumps(other.to_json(), sort_keys=True) != json.dumps(TINY.to_json(), sort_keys=True)


def test_demo_matches_the_production_scale_and_large_is_ten_times_it():
    demo = build_dataset("demo", today=TODAY)
    assert demo.counts() == {
        "portfolios": 228,
        "buildings": 337,
        "units": 900,
        "contacts": demo.counts()["contacts"],
        "leases": 425,
        "vendors": 45,
        "work_orders": 1000,
    }
    large = build_dataset("large", today=TODAY)
    for key in ("portfolios", "buildings", "units", "leases", "vendors", "work_orders"):
        assert large.counts()[key] == 10 * demo.counts()[key]
    assert SIZES["large"].work_orders == 10_000


def test_unknown_dataset_name_is_refused_with_the_choices():
    with pytest.raises(DatasetError, match="tiny, demo, large"):
        build_dataset("huge")


@pytest.mark.parametrize("name", ["tiny", "demo"])
def test_every_hard_case_is_present(name):
    ds = TINY if name == "tiny" else build_dataset(name, today=TODAY)
    buildings = {b["ID"]: b for b in ds.buildings}
    units_of = {}
    for u in ds.units:
        units_of.setdefault(u["buildingID"], []).append(u["ID"])
    single = [b for b in ds.buildings if not b["multiUnit"]]
    multi = [b for b in ds.buildings if b["multiUnit"]]
    # single-family buildings are their own rentable unit: no Unit rows, work orders name the building
    assert single and all(b["rentable"] and b["ID"] not in units_of for b in single)
    assert any(
        w["unitIDs"] == [w["building"]["ID"]] and not buildings[w["building"]["ID"]]["multiUnit"]
        for w in ds.work_orders
    )
    assert multi and all(len(units_of[b["ID"]]) >= 2 for b in multi)
    assert len(single) > len(multi)
    multi_wos = [w for w in ds.work_orders if buildings[w["building"]["ID"]]["multiUnit"]]
    unit_is_building = [w for w in multi_wos if w["unitIDs"] == [w["building"]["ID"]]]
    assert unit_is_building
    if name == "demo":
        assert 0.02 <= len(unit_is_building) / len(multi_wos) <= 0.06
    statuses = {w["status"].strip().lower() for w in ds.work_orders}
    assert R26_OPEN <= statuses
    assert {"closed", "completed", "cancelled"} <= statuses
    assert any(w["category"] == "HVAC " for w in ds.work_orders)
    texts = [w["description"] for w in ds.work_orders] + [c["lastName"] for c in ds.contacts]
    assert any(ch in t for t in texts for ch in "éñü")
    assert any("\u4e00" <= ch <= "\u9fff" for t in texts for ch in t)  # CJK
    assert {"Active", "Active - Notice Given", "Terminated"} <= {lease["leaseStatus"] for lease in ds.leases}
    contacts = {c["ID"]: c for c in ds.contacts}
    assert all(
        lease["tenants"] and contacts[lease["primaryContact"]["ID"]]["contactType"] == "TENANT"
        for lease in ds.leases
    )
    assert [v["email"] for v in ds.vendors[:8]] == [f"tech{i}@fieldcrew.example" for i in range(1, 9)]
    for w in ds.work_orders:
        fields = {cf["fieldName"]: cf["value"] for cf in w["customFields"]}
        assert fields["sfJobId"] == ""


def test_near_duplicates_share_building_and_text_and_are_days_apart():
    by_id = {w["ID"]: w for w in TINY.work_orders}
    dups = [w for w in TINY.work_orders if "_nearDuplicateOf" in w]
    assert len(dups) >= 2
    for dup in dups:
        orig = by_id[dup["_nearDuplicateOf"]]
        assert dup["building"] == orig["building"] and dup["unitIDs"] == orig["unitIDs"]
        assert dup["description"] != orig["description"]
        assert fuzz.ratio(dup["description"], orig["description"]) > 80
        gap = datetime.fromisoformat(dup["createdDate"]) - datetime.fromisoformat(orig["createdDate"])
        assert timedelta(days=1) <= gap <= timedelta(days=6)


def test_ids_are_ten_digit_longs_and_numbers_follow_creation():
    ids = [
        r["ID"]
        for key in ("portfolios", "buildings", "units", "contacts", "leases", "vendors", "work_orders")
        for r in getattr(TINY, key)
    ]
    assert len(ids) == len(set(ids)) and all(len(str(i)) == 10 and i > 2**31 for i in ids)
    ordered = sorted(TINY.work_orders, key=lambda w: w["createdDate"])
    assert [w["number"] for w in ordered] == sorted(w["number"] for w in ordered)
    assert [w["ID"] for w in ordered] == sorted(w["ID"] for w in ordered)


def test_every_timestamp_lies_before_the_anchor():
    anchor = datetime.fromisoformat(TINY.anchor)
    for w in TINY.work_orders:
        assert datetime.fromisoformat(w["_lastModified"]) < anchor
        assert datetime.fromisoformat(w["_created"]) <= datetime.fromisoformat(w["_lastModified"])


def test_json_file_round_trip(tmp_path):
    path = tmp_path / "tiny.json"
    dump_dataset(TINY, path)
    assert "Müller" in path.read_text(encoding="utf-8") or "Peña" in path.read_text(encoding="utf-8")
    loaded = load_dataset(path)
    assert loaded.to_json() == TINY.to_json()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="something-else"), "'format' must be"),
        (lambda d: d.update(version=99), "unsupported version 99"),
        (lambda d: d.pop("work_orders"), "missing 'work_orders'"),
        (
            lambda d: d["units"][0].update(ID=d["buildings"][0]["ID"]),
            r"units\[0\]\.ID .* already used by buildings\[0\]",
        ),
        (
            lambda d: d["units"][1].update(buildingID=1),
            r"units\[1\]\.buildingID refers to an unknown building",
        ),
        (
            lambda d: d["work_orders"][2].update(vendorIDs=[5]),
            r"work_orders\[2\]\.vendorIDs refers to an unknown vendor",
        ),
        (lambda d: d["leases"][0].update(ID="x"), r"leases\[0\]\.ID must be a positive integer"),
    ],
)
def test_bad_dataset_files_are_refused_naming_the_record(mutate, message):
    data = json.loads(json.dumps(TINY.to_json()))
    mutate(data)
    with pytest.raises(DatasetError, match=message):
        dataset_from_json(data)


def test_unreadable_file_is_a_dataset_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DatasetError, match="not a readable JSON dataset"):
        load_dataset(path)
