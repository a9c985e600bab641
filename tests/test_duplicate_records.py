"""A remote's "this record already exists" (R34) arrives as DuplicateRecord from either client, over real
HTTP to the simulators: ServiceFusion's 422 for a name already taken, PropertyWare's fault for an
abbreviation already used; other rejections keep their types."""

from __future__ import annotations

import pytest

from sync.clients.propertyware import PropertyWareClient
from sync.errors import AlreadyClosed, DuplicateRecord, RemoteValidationError
from sync.simulators.propertyware import PropertyWareSimulator
from tests.pw_helpers import TINY, fast_client, open_work_order
from tests.sf_support import make_client, sim_fixture

sim = sim_fixture(rate_limit=10_000)


@pytest.fixture
def qbo_linked(sim):
    """An account linked to QuickBooks Online: customer names must be unique."""
    sim.store.unique_customer_names = True
    return sim


@pytest.fixture(scope="module")
def pw():
    with PropertyWareSimulator(dataset=TINY, page_size=10) as running:
        yield running



def test_servicefusion_refusing_a_customer_name_already_taken_raises_duplicate_record(qbo_linked):
    client = make_client(qbo_linked)
    first = client.create_customer({"customer_name": "Maple Court"})

    with pytest.raises(DuplicateRecord) as caught:
        client.create_customer({"customer_name": "maple court"})

    assert isinstance(caught.value, RemoteValidationError)  # handled as a rejection wherever that applies
    assert caught.value.status == 422 and caught.value.system == "servicefusion"
    assert [f["field"] for f in caught.value.fields] == ["customer_name"]
    assert "has already been taken" in str(caught.value)
    assert [c["id"] for c in qbo_linked.store.customers()] == [first.id]


def test_other_servicefusion_rejections_are_not_duplicates(qbo_linked):
    client = make_client(qbo_linked)
    with pytest.raises(RemoteValidationError) as caught:
        client.create_customer({"customer_name": "x" * 200})
    assert caught.value.status == 422
    assert not isinstance(caught.value, DuplicateRecord)


def test_propertyware_refusing_an_abbreviation_already_used_raises_duplicate_record(pw):
    client: PropertyWareClient = fast_client(pw)
    taken = TINY.portfolios[0]["abbreviation"]

    with pytest.raises(DuplicateRecord) as caught:
        client.call("createPortfolio", write=True, name="Another portfolio", abbreviation=taken)

    assert isinstance(caught.value, RemoteValidationError)
    assert caught.value.system == "propertyware" and caught.value.operation == "createPortfolio"
    assert caught.value.fields == [{"field": "abbreviation", "message": caught.value.faultstring}]
    assert "already exists" in caught.value.faultstring
    assert pw.request_counts()["createPortfolio"] == 1  # a write: never repeated


def test_other_propertyware_faults_keep_their_types(pw):
    client = fast_client(pw)
    wo = open_work_order()
    client.close_work_order(wo["ID"])
    with pytest.raises(AlreadyClosed) as caught:
        client.close_work_order(wo["ID"])
    assert not isinstance(caught.value, DuplicateRecord)
