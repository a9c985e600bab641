"""Customer matching (R11, R33): candidates within the entity's portfolio, legacy scores, address
normalisation, the sibling rule, thresholds from the flags, and the one-hour cache of links."""
import pytest
from django.core.cache import cache

from sync.policies.customer_match import (
    address_score,
    cached_match_customer,
    candidate_view,
    email_score,
    in_scope,
    match_customer,
    name_score,
    normalise_address,
    phone_score,
    token_jaccard,
)
from sync.policies.flags import Flags, flags_with

FLAGS = Flags.defaults()


def customer(sf_id, name, parent=None, *, fields=None, contacts=(), locations=()):
    return {"sf_customer_id": sf_id, "name": name, "parent_customer_id": parent,
            "custom_fields": fields or {}, "contacts": list(contacts), "locations": list(locations)}


@pytest.mark.parametrize("raw,expected", [
    ("123 Main St.", "123 main street"),
    ("  45, Oak  Ave , Apt 3 ", "45 oak avenue apartment 3"),
    ("9 Elm Dr", "9 elm drive"),
    ("10 Mill Rd.", "10 mill road"),
    ("", ""),
])
def test_address_normalisation(raw, expected):
    assert normalise_address(raw) == expected


def test_scores_follow_the_legacy_values():
    assert address_score("123 Main St.", "123 main street") == 1.0
    assert address_score("123 Main St", "123 Main St Unit 4") == pytest.approx(token_jaccard(
        "123 main street", "123 main street unit 4")) == pytest.approx(0.6)
    assert email_score(" Owner@Example.com", "owner@example.com") == 0.98
    assert email_score("", "") == 0.0
    assert phone_score("(555) 010-2000", "1-555-010-2000") == 0.95
    assert phone_score("123", "123") == 0.0
    assert name_score("Acme Holdings", "acme holdings ") == 1.0
    assert name_score("Acme Holdings", "Acme Holding") == pytest.approx(1 - 1 / 13)


def test_a_pw_id_in_custom_fields_links_with_full_confidence():
    entity = {"kind": "building", "pw_id": 77, "name": "1 Oak St", "address": "1 Oak St", "parent_sf_id": 5}
    candidates = [customer(10, "Somewhere else", 5, fields={"buildingId": "77", "portfolioId": "3"})]
    match = match_customer(entity, candidates, FLAGS)
    assert (match.decision, match.sf_customer_id, match.score) == ("link", 10, 1.0)
    assert match.rule == "custom_field"
    assert match.mapping_method == "custom_field"


def test_a_portfolio_does_not_match_a_building_customer_carrying_its_id():
    entity = {"kind": "portfolio", "pw_id": 3, "name": "Acme Holdings"}
    candidates = [customer(10, "1 Oak St", 5, fields=[{"name": "portfolioId", "value": "3"},
                                                      {"name": "buildingId", "value": "77"}]),
                  customer(5, "Acme Holdings Group", fields={"portfolioId": "3"})]
    match = match_customer(entity, candidates, FLAGS)
    assert (match.sf_customer_id, match.rule) == (5, "custom_field")


def test_exact_name_under_the_same_parent_links():
    entity = {"kind": "building", "pw_id": 1, "name": "123 Main St.", "address": "123 Main St.",
              "parent_sf_id": 5}
    match = match_customer(entity, [customer(11, "123 main street", 5)], FLAGS)
    assert (match.decision, match.sf_customer_id, match.score) == ("link", 11, 1.0)
    assert match.mapping_method == "exact_name"


def test_a_building_is_never_matched_to_a_customer_under_another_portfolio():
    """R10/R11: a building's customer is a child of its portfolio's customer, so the same address (or even
    its PW id) under another portfolio's customer is neither linked nor sent to review."""
    entity = {"kind": "building", "pw_id": 1, "name": "123 Main St", "address": "123 Main St",
              "parent_sf_id": 5}
    elsewhere = [customer(12, "123 Main St", 6), customer(13, "123 Main Street", None),
                 customer(14, "x", 7, fields={"buildingId": "1"})]
    match = match_customer(entity, elsewhere, FLAGS)
    assert (match.decision, match.sf_customer_id, match.reason) == ("create", None, "no candidate")
    # The same customer under the building's own portfolio links.
    match = match_customer(entity, [*elsewhere, customer(15, "123 main st", 5)], FLAGS)
    assert (match.decision, match.sf_customer_id, match.score) == ("link", 15, 1.0)
    assert in_scope(entity, customer(15, "", 5)) and not in_scope(entity, customer(12, "", 6))


def test_a_building_without_a_portfolio_customer_has_no_candidate():
    entity = {"kind": "building", "pw_id": 1, "name": "123 Main St", "address": "123 Main St",
              "parent_sf_id": None}
    candidates = [customer(12, "123 Main St"), customer(13, "123 Main St", 6)]
    assert match_customer(entity, candidates, FLAGS).decision == "create"


def test_a_portfolio_is_matched_only_against_top_level_customers():
    entity = {"kind": "portfolio", "pw_id": 3, "name": "Acme Holdings", "emails": ["owner@acme.test"],
              "parent_sf_id": None}
    contacts = [{"emails": [{"email": "owner@acme.test"}], "phones": []}]
    children = [customer(30, "Acme Holdings", 9), customer(31, "Acme Holdingz", 9, contacts=contacts)]
    assert match_customer(entity, children, FLAGS).decision == "create"
    match = match_customer(entity, [*children, customer(32, "ACME Holdings ")], FLAGS)
    assert (match.decision, match.sf_customer_id, match.rule) == ("link", 32, "exact_name")


def test_a_tenant_named_like_a_customer_under_another_parent_only_goes_to_review():
    entity = {"kind": "tenant", "pw_id": 1, "name": "Dana Reyes", "parent_sf_id": 5}
    match = match_customer(entity, [customer(12, "Dana Reyes", 6)], FLAGS)
    assert (match.decision, match.score) == ("review", 0.8)
    assert "another parent" in match.reason and match.mapping_method == "fuzzy_review"


def test_a_similar_sibling_scores_point_eight_five_and_goes_to_review():
    entity = {"kind": "building", "pw_id": 1, "name": "Maple Court North", "parent_sf_id": 5}
    match = match_customer(entity, [customer(13, "Maple Court Nrth", 5)], FLAGS)
    assert (match.decision, match.score, match.rule) == ("review", 0.85, "sibling")


def test_email_and_phone_of_a_contact_link():
    entity = {"kind": "tenant", "pw_id": 9, "name": "Dana Reyes", "emails": ["DANA@example.com"],
              "phones": [], "parent_sf_id": 5}
    contacts = [{"fname": "D", "lname": "R", "emails": [{"email": "dana@example.com"}], "phones": []}]
    match = match_customer(entity, [customer(14, "Unit 4 tenant", 5, contacts=contacts)], FLAGS)
    assert (match.decision, match.score, match.rule) == ("link", 0.98, "email")
    entity = {**entity, "emails": [], "phones": ["555 010 2000"]}
    contacts = [{"emails": [], "phones": [{"phone": "+1 (555) 010-2000"}]}]
    match = match_customer(entity, [customer(15, "Unit 4 tenant", 5, contacts=contacts)], FLAGS)
    assert (match.decision, match.score, match.rule) == ("link", 0.95, "phone")


def test_the_candidate_view_scores_as_the_whole_cache_row():
    """Planning keeps ``candidate_view`` of every cached customer: matching reads nothing else."""
    contacts = [
        {"fname": "Dana", "lname": "Reyes", "is_primary": True, "emails": [{"email": "dana@example.com"}],
         "phones": [{"phone": "+1 (555) 010-2000"}]},
        {"fname": "Lee", "lname": "Kim", "emails": ["lee@x.io"]},
    ]
    locations = [{"street_1": "12 Elm Dr", "street_2": "Unit 4", "city": "Austin", "nickname": "U4",
                  "is_primary": False}, {"nickname": "Primary", "is_primary": True}]
    rows = [
        customer(20, "12 Elm Drive", 5, fields={"buildingId": "8"}, contacts=contacts, locations=locations),
        customer(21, "Acme Holdings", None, fields=[{"name": "portfolioId", "value": "3"}],
                 contacts=contacts),
        customer(22, "Unit 4 tenant", 5, contacts=contacts[1:], locations=locations[:1]),
    ]
    entities = [
        {"kind": "building", "pw_id": 8, "name": "x", "address": "x", "parent_sf_id": 5},
        {"kind": "building", "pw_id": 9, "name": "12 Elm Dr", "address": "12 Elm Dr", "parent_sf_id": 5},
        {"kind": "portfolio", "pw_id": 3, "name": "Acme Holdings"},
        {"kind": "tenant", "pw_id": 1, "name": "D R", "emails": ["dana@example.com"], "parent_sf_id": 5},
        {"kind": "tenant", "pw_id": 2, "name": "L K", "emails": ["LEE@x.io"], "phones": ["555 010 2000"]},
        {"kind": "building", "pw_id": 10, "name": "Unit 4 tenants", "address": "", "parent_sf_id": 5},
    ]
    views = [candidate_view(r) for r in rows]
    for entity in entities:
        assert match_customer(entity, views, FLAGS) == match_customer(entity, rows, FLAGS)
    assert views[0]["contacts"][0] == {"emails": [{"email": "dana@example.com"}],
                                       "phones": [{"phone": "+1 (555) 010-2000"}]}
    assert views[0]["locations"] == [{"street_1": "12 Elm Dr"}, {"street_1": None}]


def test_nothing_close_means_create_and_thresholds_come_from_the_flags():
    entity = {"kind": "portfolio", "pw_id": 2, "name": "Birch Partners"}
    match = match_customer(entity, [customer(16, "Cedar Estates")], FLAGS)
    assert (match.decision, match.sf_customer_id) == ("create", None)
    assert match_customer(entity, [], FLAGS).reason == "no candidate"
    # The phone score 0.95 links at the default confidence but only reaches review at 0.99.
    strict = flags_with(FLAGS, dedup_confidence=0.99)
    entity = {"kind": "tenant", "pw_id": 9, "name": "x", "phones": ["5550102000"]}
    candidates = [customer(17, "y", contacts=[{"phones": ["555-010-2000"]}])]
    assert match_customer(entity, candidates, FLAGS).decision == "link"
    assert match_customer(entity, candidates, strict).decision == "review"


def test_links_are_cached_by_entity_and_other_outcomes_are_not():
    cache.clear()
    entity = {"kind": "building", "pw_id": 1, "name": "5 Pine Rd", "address": "5 Pine Rd", "parent_sf_id": 5}
    first = cached_match_customer(entity, [customer(18, "5 Pine Road", 5)], FLAGS)
    assert first.decision == "link"
    # Served from the cache: the candidate list is not consulted again.
    assert cached_match_customer(entity, [], FLAGS) == first
    other = {**entity, "pw_id": 2, "name": "7 Fir Ln", "address": "7 Fir Ln"}
    assert cached_match_customer(other, [], FLAGS).decision == "create"
    assert cached_match_customer(other, [customer(19, "7 Fir Ln", 5)], FLAGS).decision == "link"
