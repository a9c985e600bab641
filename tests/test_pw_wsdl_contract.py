"""The WSDL against the spec, checked with plain lxml (not zeep), and loaded by zeep without a network.

The expectations below are transcribed from specs/propertyware-soap.md (§2, §4–§6, §9), not imported
from the simulator's tables, so a drift on either side shows up here.
"""

from __future__ import annotations

import socket

import pytest
from lxml import etree

from sync.clients.propertyware import PropertyWareClient
from sync.clients.propertyware.transport import (
    BUNDLED_WSDL,
    ENCODING_XSD,
    PropertyWareTransport,
    make_session,
)
from sync.errors import PermanentError
from sync.simulators.propertyware.wsdl import ENCODING_XSD as SIMULATOR_ENCODING_XSD
from sync.simulators.propertyware.wsdl import build_wsdl

NS = {
    "wsdl": "http://schemas.xmlsoap.org/wsdl/",
    "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
    "xsd": "http://www.w3.org/2001/XMLSchema",
}
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
SERVICE_NS = "http://service.web.propertyware.realpage.com"

#: §9.5 (and the issue's list): operation → positional parameters (§4)
REQUIRED_OPERATIONS = {
    "echoString": ["arg"],
    "getCurrentUser": [],
    "getAllPortfolios": [],
    "getPortfolioList": ["orgID"],
    "getBuildings": ["criteria"],
    "getBuilding": ["criteria"],
    "getBuildingsForPortfolio": ["portfolioID"],
    "getUnits": ["criteria"],
    "getUnit": ["criteria"],
    "getUnitsForBuilding": ["orgID", "buildingID"],
    "getLeases": ["criteria"],
    "getLease": ["criteria"],
    "getTenant": ["orgID", "leaseID"],
    "getActiveLeaseForUnit": ["unitId"],
    "getActiveLeaseForRentableBuilding": ["buildingId"],
    "getContacts": ["criteria"],
    "getContactByID": ["contactID"],
    "getVendors": [],
    "getVendor": ["vendorID"],
    "getWorkOrders": ["criteria"],
    "getWorkOrder": ["criteria"],
    "createWorkOrder": ["workOrder"],
    "updateWorkOrder": ["workOrder"],
    "closeWorkOrder": ["workOrderID", "category", "closingComments", "startDate", "completedDate"],
    "approveWorkOrder": ["workOrderID", "approved", "approvedDate", "approvalComment"],
    "attachNoteToWorkOrder": ["note", "workOrder"],
    "createPortfolio": ["name", "abbreviation"],
    "createBuilding": "portfolioID name abbreviation address address2 city state zip country"
    " isMultiUnitBuilding".split(),
    "createUnit": "portfolioID buildingID name abbreviation address address2 city state zip country".split(),
}
#: return types: arrays of DTOs for the criteria reads, anyType[] for the legacy lists and getVendors
RETURNS = {
    "getAllPortfolios": "ArrayOf_tns1_Portfolio",
    "getWorkOrders": "ArrayOf_tns1_WorkOrder",
    "getBuildings": "ArrayOf_tns1_Building",
    "getUnits": "ArrayOf_tns1_Unit",
    "getLeases": "ArrayOf_tns1_Lease",
    "getContacts": "ArrayOf_tns1_Contact",
    "getVendors": "ArrayOf_xsd_anyType",
    "getBuildingsForPortfolio": "ArrayOf_xsd_anyType",
    "getPortfolioList": "ArrayOf_xsd_anyType",
    "getWorkOrder": "WorkOrder",
    "createWorkOrder": "WorkOrder",
    "updateWorkOrder": "WorkOrder",
    "closeWorkOrder": "boolean",
    "attachNoteToWorkOrder": "Note",
    "echoString": "string",
}
#: §6, WorkOrder fields (confirmed)
WORK_ORDER_FIELDS = {
    "number",
    "description",
    "location",
    "specificLocation",
    "category",
    "type",
    "status",
    "priority",
    "priorityAsInt",
    "source",
    "requestedBy",
    "requiredMaterials",
    "closingComments",
    "approved",
    "approvedBy",
    "approvedDate",
    "approvalComment",
    "authorizedToEnter",
    "dateToEnter",
    "createdDate",
    "startDate",
    "scheduledEndDate",
    "completedDate",
    "costEstimate",
    "hourEstimate",
    "totalCost",
    "totalHourWorked",
    "owner",
    "ownerFullName",
    "serviceRequestBuilding",
    "serviceRequestUnit",
    "serviceRequestCompanyName",
    "serviceRequestContactName",
    "serviceRequestContactEmail",
    "serviceRequestContactPhone",
    "serviceRequestContactPhoneType",
    "building",
    "portfolio",
    "lease",
    "requestedByContact",
    "unitIDs",
    "vendorIDs",
    "customFields",
}
OTHER_FIELDS = {
    "Unit": {
        "buildingID",
        "portfolio",
        "name",
        "abbreviation",
        "county",
        "latitude",
        "longitude",
        "active",
        "status",
        "type",
        "category",
        "multiUnit",
        "ready",
        "targetRent",
        "targetDeposit",
        "availableDate",
        "maintenanceNotice",
        "searchTag",
        "comments",
        "customFields",
        "address",
        "zip",
    },
    "Building": {
        "rentable",
        "yearBuilt",
        "units",
        "propertyManagerList",
        "managementFeeType",
        "managementFlatFee",
        "managmentFees",
        "insuranceCarriers",
    },
    "Portfolio": {
        "abbreviation",
        "name",
        "active",
        "managementCompany",
        "owners",
        "targetOperatingReserve",
        "defaultBankAccount",
        "defaultSecurityDepositBankAccount",
        "customFields",
    },
    "Lease": {
        "leaseName",
        "leaseStatus",
        "active",
        "commercial",
        "unitID",
        "unit",
        "buildingID",
        "building",
        "tenants",
        "primaryContact",
        "startDate",
        "endDate",
        "moveInDate",
        "moveOutDate",
        "scheduleMoveOutDate",
        "noticeGivenDate",
        "terminatedDate",
        "evictionDate",
        "balance",
        "autoCharges",
        "lateFeeRule",
        "publicAssistanceProgram",
        "reasonForLeaving",
        "keysReturned",
        "comments",
        "customFields",
    },
    "Contact": {
        "firstName",
        "middleName",
        "lastName",
        "completeName",
        "salutation",
        "suffix",
        "email",
        "homePhone",
        "workPhone",
        "mobilePhone",
        "fax",
        "pager",
        "webAddress",
        "address",
        "address2",
        "city",
        "state",
        "zip",
        "country",
        "company",
        "jobTitle",
        "contactType",
        "namedOnLease",
        "gender",
        "birthDate",
        "ssn",
        "nameOnCheck",
        "comments",
        "customFields",
    },
    "Vendor": {
        "name",
        "companyName",
        "vendorType",
        "active",
        "email",
        "phone",
        "otherPhone",
        "fax",
        "website",
        "accountNumber",
        "taxID",
        "eligible1099",
        "paymentTerms",
        "paymentTermDaysToPay",
        "creditLimit",
        "nameOnCheck",
        "billSplitAccount",
        "contacts",
        "syncToVMM",
        "customFields",
    },
    "Note": {"subject", "body", "date", "private"},
    "CustomField": {"dataType", "fieldName", "value"},
    "PWObject": {"ID", "clientData"},
    "AbstractDocumentHolder": {"documents", "notes"},
    "BaseDTOSearchCriteria": {"ids", "pageNumber", "results"},
    "AuditableDTOSearchCriteria": {
        "createdAfter",
        "createdBefore",
        "createdOn",
        "createdOnOrAfter",
        "createdOnOrBefore",
        "lastModifiedAfter",
        "lastModifiedBefore",
        "lastModifiedOn",
        "lastModifiedOnOrAfter",
        "lastModifiedOnOrBefore",
    },
    "WorkOrderSearchCriteria": {
        "buildingId",
        "contactId",
        "portfolioId",
        "unitId",
        "vendorId",
        "workOrderNumber",
        "orderByNewestFirst",
    },
    "BuildingSearchCriteria": {"ownerId"},
    "UnitSearchCriteria": {"buildingId"},
    "LeaseSearchCriteria": {"tenantId"},
    "ContactSearchCriteria": {"email"},
    "OwnerSearchCriteria": {"email", "portfolioID"},
}
BASES = {
    "WorkOrder": "AbstractDocumentHolder",
    "Building": "Unit",
    "AbstractDocumentHolder": "PWObject",
    "AuditableDTOSearchCriteria": "BaseDTOSearchCriteria",
    "WorkOrderSearchCriteria": "AuditableDTOSearchCriteria",
}


@pytest.fixture(scope="module")
def wsdl() -> etree._Element:
    return etree.parse(str(BUNDLED_WSDL)).getroot()


def complex_type(wsdl, name: str) -> etree._Element:
    found = wsdl.xpath(
        f"wsdl:types/xsd:schema[@targetNamespace='urn:PWServices']/xsd:complexType[@name='{name}']",
        namespaces=NS,
    )
    assert len(found) == 1, name
    return found[0]


def own_elements(ct: etree._Element) -> dict[str, etree._Element]:
    return {el.get("name"): el for el in ct.iter(f"{{{NS['xsd']}}}element")}


def test_the_bundled_copy_is_what_the_simulator_serves():
    assert BUNDLED_WSDL.read_bytes() == build_wsdl()
    assert ENCODING_XSD.read_bytes() == SIMULATOR_ENCODING_XSD.read_bytes()


def test_namespaces_binding_and_encoding_are_axis_rpc_encoded(wsdl):
    assert wsdl.get("targetNamespace") == wsdl.nsmap["impl"]
    binding = wsdl.find("wsdl:binding", NS)
    soap_binding = binding.find("soap:binding", NS)
    assert soap_binding.get("style") == "rpc"
    assert soap_binding.get("transport") == "http://schemas.xmlsoap.org/soap/http"
    for op in binding.findall("wsdl:operation", NS):
        assert op.find("soap:operation", NS).get("soapAction") == ""
        for body in op.findall("*/soap:body", NS):
            assert body.get("use") == "encoded"
            assert body.get("encodingStyle") == SOAP_ENC
            assert body.get("namespace") == SERVICE_NS
    imports = wsdl.xpath("wsdl:types/xsd:schema/xsd:import[@namespace=$ns]", namespaces=NS, ns=SOAP_ENC)
    assert imports and all(i.get("schemaLocation") == "soap-enc.xsd" for i in imports)
    assert wsdl.nsmap["tns1"] == "urn:PWServices"


def test_every_required_operation_with_its_positional_parameters(wsdl):
    port_ops = {op.get("name"): op for op in wsdl.findall("wsdl:portType/wsdl:operation", NS)}
    messages = {m.get("name"): m for m in wsdl.findall("wsdl:message", NS)}
    for name, params in REQUIRED_OPERATIONS.items():
        assert name in port_ops, name
        request = messages[port_ops[name].find("wsdl:input", NS).get("message").split(":")[1]]
        assert [p.get("name") for p in request.findall("wsdl:part", NS)] == params, name
        response = messages[port_ops[name].find("wsdl:output", NS).get("message").split(":")[1]]
        parts = response.findall("wsdl:part", NS)
        assert [p.get("name") for p in parts] == [f"{name}Return"]
        if name in RETURNS:
            assert parts[0].get("type").split(":")[1] == RETURNS[name], name
    criteria_types = {
        "getWorkOrders": "WorkOrderSearchCriteria",
        "getBuildings": "BuildingSearchCriteria",
        "getUnits": "UnitSearchCriteria",
        "getLeases": "LeaseSearchCriteria",
        "getContacts": "ContactSearchCriteria",
    }
    for op, criteria in criteria_types.items():
        part = messages[f"{op}Request"].find("wsdl:part", NS)
        assert part.get("type") == f"tns1:{criteria}"


def test_arrays_are_soapenc_array_restrictions(wsdl):
    impl = wsdl.nsmap["impl"]
    schema = wsdl.xpath("wsdl:types/xsd:schema[@targetNamespace=$ns]", namespaces=NS, ns=impl)[0]
    arrays = {}
    for ct in schema.findall("xsd:complexType", NS):
        restriction = ct.find("xsd:complexContent/xsd:restriction", NS)
        assert restriction.get("base") == "soapenc:Array"
        attribute = restriction.find("xsd:attribute", NS)
        assert attribute.get("ref") == "soapenc:arrayType"
        arrays[ct.get("name")] = attribute.get(f"{{{NS['wsdl']}}}arrayType")
    assert arrays["ArrayOf_xsd_long"] == "xsd:long[]"
    assert arrays["ArrayOf_xsd_anyType"] == "xsd:anyType[]"
    for dto in ("WorkOrder", "Building", "Unit", "Lease", "Contact", "Portfolio", "Note", "CustomField"):
        assert arrays[f"ArrayOf_tns1_{dto}"] == f"tns1:{dto}[]"


def test_dto_fields_match_the_spec(wsdl):
    assert WORK_ORDER_FIELDS <= set(own_elements(complex_type(wsdl, "WorkOrder")))
    for name, fields in OTHER_FIELDS.items():
        assert fields <= set(own_elements(complex_type(wsdl, name))), name
    for name, base in BASES.items():
        ext = complex_type(wsdl, name).find("xsd:complexContent/xsd:extension", NS)
        assert ext.get("base") == f"tns1:{base}"
    work_order = own_elements(complex_type(wsdl, "WorkOrder"))
    assert work_order["unitIDs"].get("type") == work_order["vendorIDs"].get("type") == "impl:ArrayOf_xsd_long"
    assert own_elements(complex_type(wsdl, "PWObject"))["ID"].get("type") == "xsd:long"


def test_primitives_are_not_nillable_and_the_rest_is(wsdl):
    """§5–§6: pageNumber, orderByNewestFirst and numeric/boolean fields must always be sent."""

    def nillable(type_name: str, field: str) -> bool:
        return own_elements(complex_type(wsdl, type_name))[field].get("nillable") == "true"

    assert not nillable("BaseDTOSearchCriteria", "pageNumber")
    assert not nillable("WorkOrderSearchCriteria", "orderByNewestFirst")
    for field in (
        "approved",
        "costEstimate",
        "hourEstimate",
        "number",
        "priorityAsInt",
        "totalCost",
        "totalHourWorked",
    ):
        assert not nillable("WorkOrder", field), field
    for field in ("description", "approvedDate", "building", "unitIDs", "customFields"):
        assert nillable("WorkOrder", field), field
    assert nillable("WorkOrderSearchCriteria", "buildingId")
    assert nillable("AuditableDTOSearchCriteria", "lastModifiedOnOrAfter")


def test_address_and_impl_namespace_are_configurable():
    doc = etree.fromstring(build_wsdl("https://pw.example/pw/services/PWServices", "http://pw-9:8080/x"))
    assert (
        doc.find("wsdl:service/wsdl:port/soap:address", NS).get("location")
        == "https://pw.example/pw/services/PWServices"
    )
    assert doc.get("targetNamespace") == "http://pw-9:8080/x" == doc.nsmap["impl"]


def test_zeep_loads_the_bundled_wsdl_with_no_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    client = PropertyWareClient("https://pw.invalid/pw/services/PWServices", "user@example.com", "secret")
    service = client._load()
    assert service._binding_options["address"] == "https://pw.invalid/pw/services/PWServices"
    operations = service._binding._operations
    assert set(REQUIRED_OPERATIONS) <= set(operations)


def test_the_transport_serves_the_encoding_schema_and_refuses_other_urls():
    transport = PropertyWareTransport(make_session("u", "p"), timeout=1, wsdl_origin="https://pw.example")
    assert transport.load("http://schemas.xmlsoap.org/soap/encoding/") == ENCODING_XSD.read_bytes()
    with pytest.raises(PermanentError, match="refusing to fetch"):
        transport.load("https://evil.example/types.xsd")
    with pytest.raises(PermanentError, match="refusing to fetch"):
        PropertyWareTransport(make_session("u", "p"), timeout=1, wsdl_origin=None).load(
            "http://pw.example/x.xsd"
        )


def test_a_wsdl_with_a_dtd_is_refused(tmp_path):
    hostile = tmp_path / "hostile.wsdl"
    hostile.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]>' + BUNDLED_WSDL.read_bytes().split(b"?>", 1)[1]
    )
    client = PropertyWareClient("https://pw.invalid/pw/services/PWServices", "u", "p", wsdl_url=str(hostile))
    with pytest.raises(PermanentError, match="WSDL .* is unusable: DTDForbidden"):
        client._load()
