"""PropertyWare's SOAP contract as data: namespaces, the field and type notation, and the operations.
The DTO types and soapenc arrays are in dtos.py; the WSDL, decoder and encoder all read both (spec §2, §4–§6).
"""

from __future__ import annotations

from dataclasses import dataclass

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP_HTTP = "http://schemas.xmlsoap.org/soap/http"
AXIS = "http://xml.apache.org/axis/"
#: the namespace of the RPC wrapper elements (operations)
SERVICE_NS = "http://service.web.propertyware.realpage.com"
#: jspw's spelling; refused unless the simulator runs with lenient_namespace=True
LENIENT_SERVICE_NS = "urn:service.web.propertyware.realpage.com"
#: the namespace of the DTOs (prefix tns1)
TYPES_NS = "urn:PWServices"
#: Axis names the array types' namespace after the deployment URL; configurable per simulator
DEFAULT_IMPL_NS = "http://localhost:8080/pw/services/PWServices"

PREFIXES = {"xsd": XSD, "soapenc": SOAP_ENC, "tns1": TYPES_NS}

#: Java primitives: Axis declares them without nillable, so a client must always send them
PRIMITIVES = frozenset({"xsd:boolean", "xsd:int", "xsd:long", "xsd:double"})
#: simple types the codec knows (soapenc:* are java.lang wrappers: nillable)
SIMPLE_TYPES = frozenset(
    {
        "xsd:string",
        "xsd:boolean",
        "xsd:int",
        "xsd:long",
        "xsd:double",
        "xsd:dateTime",
        "xsd:base64Binary",
        "soapenc:string",
        "soapenc:long",
        "soapenc:int",
        "soapenc:boolean",
        "soapenc:double",
    }
)
ANY = "xsd:anyType"


@dataclass(frozen=True)
class Field:
    name: str
    type: str

    @property
    def nillable(self) -> bool:
        return self.type not in PRIMITIVES


@dataclass(frozen=True)
class ComplexType:
    name: str
    base: str | None
    own_fields: tuple[Field, ...]
    abstract: bool = False


@dataclass(frozen=True)
class Operation:
    name: str
    params: tuple[Field, ...]
    returns: str | None
    #: for ArrayOf_xsd_anyType returns: the DTO type of the items
    item_type: str | None = None
    implemented: bool = True


_ALIASES = {
    "s": "xsd:string",
    "b": "xsd:boolean",
    "i": "xsd:int",
    "l": "xsd:long",
    "d": "xsd:double",
    "dt": "xsd:dateTime",
    "L": "soapenc:long",
    "bin": "xsd:base64Binary",
    "any": ANY,
}


def fields(spec: str) -> tuple[Field, ...]:
    """Parse ``name type`` lines; Axis emits bean properties in alphabetical order, so do we."""
    out = []
    for line in spec.split("\n"):
        if line.strip():
            name, typ = line.split()
            typ = _ALIASES.get(typ, typ)
            if typ.startswith("[]"):
                typ = array_of(typ[2:])
            out.append(Field(name, typ))
    return tuple(sorted(out, key=lambda f: f.name.lower()))


def array_of(item: str) -> str:
    """The Axis array type name for an item type: ``tns1:WorkOrder`` → ``impl:ArrayOf_tns1_WorkOrder``."""
    return "impl:ArrayOf_" + item.replace(":", "_")


def _op(
    name: str,
    params: str = "",
    returns: str | None = None,
    item_type: str | None = None,
    implemented: bool = True,
) -> Operation:
    ps = []
    for line in params.split(","):
        if line.strip():
            pname, ptype = line.split()
            ps.append(Field(pname, _ALIASES.get(ptype, ptype)))
    if returns and returns.startswith("[]"):
        returns = array_of(returns[2:])
    return Operation(name, tuple(ps), _ALIASES.get(returns or "", returns), item_type, implemented)


# fmt: off
_ANY_ARRAY = "[]" + ANY
OPERATIONS: dict[str, Operation] = {o.name: o for o in [
    _op("echoString", "arg s", "s"),
    _op("getCurrentUser", "", "tns1:User"),
    # portfolios
    _op("getAllPortfolios", "", "[]tns1:Portfolio"),
    _op("getPortfolioList", "orgID l", _ANY_ARRAY, "tns1:Portfolio"),
    _op("createPortfolio", "name s, abbreviation s", "s"),
    # buildings
    _op("getBuildings", "criteria tns1:BuildingSearchCriteria", "[]tns1:Building"),
    _op("getBuilding", "criteria tns1:BuildingSearchCriteria", "tns1:Building"),
    _op("getBuildingsForPortfolio", "portfolioID l", _ANY_ARRAY, "tns1:Building"),
    _op("createBuilding", "portfolioID l, name s, abbreviation s, address s, address2 s, city s, state s,"
        " zip s, country s, isMultiUnitBuilding b", "s"),
    _op("getActiveLeaseForRentableBuilding", "buildingId l", "tns1:Lease"),
    # units
    _op("getUnits", "criteria tns1:UnitSearchCriteria", "[]tns1:Unit"),
    _op("getUnit", "criteria tns1:UnitSearchCriteria", "tns1:Unit"),
    _op("getUnitsForBuilding", "orgID l, buildingID l", _ANY_ARRAY, "tns1:Unit"),
    _op("createUnit", "portfolioID l, buildingID l, name s, abbreviation s, address s, address2 s, city s,"
        " state s, zip s, country s", "s"),
    _op("getActiveLeaseForUnit", "unitId l", "tns1:Lease"),
    # leases and tenants
    _op("getLeases", "criteria tns1:LeaseSearchCriteria", "[]tns1:Lease"),
    _op("getLease", "criteria tns1:LeaseSearchCriteria", "tns1:Lease"),
    _op("getTenant", "orgID l, leaseID l", "tns1:Tenant"),
    # contacts
    _op("getContacts", "criteria tns1:ContactSearchCriteria", "[]tns1:Contact"),
    _op("getContactByID", "contactID l", "tns1:Contact"),
    # vendors
    _op("getVendors", "", _ANY_ARRAY, "tns1:Vendor"),
    _op("getVendor", "vendorID l", "tns1:Vendor"),
    # work orders
    _op("getWorkOrders", "criteria tns1:WorkOrderSearchCriteria", "[]tns1:WorkOrder"),
    _op("getWorkOrder", "criteria tns1:WorkOrderSearchCriteria", "tns1:WorkOrder"),
    _op("createWorkOrder", "workOrder tns1:WorkOrder", "tns1:WorkOrder"),
    _op("updateWorkOrder", "workOrder tns1:WorkOrder", "tns1:WorkOrder"),
    _op("closeWorkOrder",
        "workOrderID l, category s, closingComments s, startDate dt, completedDate dt", "b"),
    _op("approveWorkOrder", "workOrderID l, approved b, approvedDate dt, approvalComment s", "b"),
    _op("attachNoteToWorkOrder", "note tns1:Note, workOrder tns1:WorkOrder", "tns1:Note"),
    # declared by the real service, answered with a "not implemented" fault here
    _op("getSyncVersion", "", "s", implemented=False),
    _op("getOwners", "criteria tns1:OwnerSearchCriteria", "[]tns1:Owner", implemented=False),
    _op("getContactsByName", "firstName s, lastName s", "[]tns1:Contact", implemented=False),
    _op("getVendorByName", "name s", "tns1:Vendor", implemented=False),
    _op("updateBuilding", "building tns1:Building", "tns1:Building", implemented=False),
    _op("addTimeEntry", "workOrderID l, vendorID l, date dt, hours d, rate d, comments s", "b",
        implemented=False),
]}
# fmt: on


def local(type_ref: str) -> str:
    """``tns1:WorkOrder`` → ``WorkOrder``."""
    return type_ref.split(":", 1)[1]


def is_array(type_ref: str) -> bool:
    return type_ref.startswith("impl:ArrayOf_")


def is_complex(type_ref: str) -> bool:
    return type_ref.startswith("tns1:")
