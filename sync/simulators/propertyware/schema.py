"""PropertyWare's SOAP contract as data: namespaces, complex types, soapenc arrays and operations.

The WSDL generator, the request decoder and the response encoder all read these tables, so the service
the simulator describes is exactly the service it speaks (spec propertyware-soap.md §2, §4–§6).
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


def _fields(spec: str) -> tuple[Field, ...]:
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


_ADDRESS = """
address s
address2 s
city s
state s
zip s
country s
"""

# fmt: off
TYPES: dict[str, ComplexType] = {t.name: t for t in [
    ComplexType("PWObject", None, _fields("""
        ID l
        clientData []tns1:ClientDataItem
    """), abstract=True),
    ComplexType("ClientDataItem", None, _fields("""
        key s
        value s
    """)),
    ComplexType("AbstractDocumentHolder", "PWObject", _fields("""
        documents []tns1:Document
        notes []tns1:Note
    """), abstract=True),
    ComplexType("CustomField", "PWObject", _fields("""
        dataType s
        fieldName s
        value s
    """)),
    ComplexType("Note", "PWObject", _fields("""
        body s
        date dt
        private b
        subject s
    """)),
    ComplexType("Document", "PWObject", _fields("""
        description s
        fileData bin
        fileType s
        filename s
        privateFile b
        publishToOwnerPortal b
        publishToTenantPortal b
    """)),
    ComplexType("Account", "PWObject", _fields("""
        accountNumber s
        code s
        description s
        name s
        type s
    """)),
    ComplexType("User", "PWObject", _fields("""
        email s
        firstName s
        lastName s
        loginName s
        organizationID l
        organizationName s
    """)),
    ComplexType("Portfolio", "AbstractDocumentHolder", _fields("""
        abbreviation s
        active b
        customFields []tns1:CustomField
        defaultBankAccount tns1:Account
        defaultSecurityDepositBankAccount tns1:Account
        managementCompany s
        managementFlatFee d
        name s
        owners []xsd:anyType
        targetOperatingReserve d
    """)),
    ComplexType("Unit", "AbstractDocumentHolder", _fields(_ADDRESS + """
        abbreviation s
        active b
        availableDate dt
        bathrooms d
        bedrooms i
        buildingID l
        category s
        comments s
        county s
        customFields []tns1:CustomField
        latitude d
        longitude d
        maintenanceNotice s
        multiUnit b
        name s
        portfolio s
        published b
        publishedForRent b
        ready b
        searchTag s
        status s
        targetDeposit d
        targetRent d
        totalArea d
        type s
    """)),
    ComplexType("Building", "Unit", _fields("""
        contractEndDate dt
        contractStartDate dt
        defaultBankAccount tns1:Account
        insuranceCarriers []xsd:anyType
        managementFeeType s
        managementFlatFee d
        managmentFees []xsd:anyType
        propertyManagerList []xsd:anyType
        rentable b
        units []xsd:anyType
        yearBuilt i
    """)),
    ComplexType("Contact", "AbstractDocumentHolder", _fields(_ADDRESS + """
        birthDate dt
        comments s
        company s
        completeName s
        contactType s
        customFields []tns1:CustomField
        email s
        fax s
        firstName s
        gender i
        homePhone s
        jobTitle s
        lastName s
        middleName s
        mobilePhone s
        nameOnCheck s
        namedOnLease b
        pager s
        salutation s
        ssn s
        suffix s
        webAddress s
        workPhone s
    """)),
    ComplexType("Owner", "Contact", ()),
    ComplexType("Tenant", "PWObject", _fields(_ADDRESS + """
        contactEmail s
        contactMobile s
        contactPhone s
        name s
        primaryContact tns1:Contact
    """)),
    ComplexType("Lease", "AbstractDocumentHolder", _fields("""
        active b
        autoCharges []xsd:anyType
        balance d
        building tns1:Building
        buildingID l
        comments s
        commercial b
        customFields []tns1:CustomField
        endDate dt
        evictionDate dt
        keysReturned b
        lateFeeRule any
        leaseName s
        leaseStatus s
        moveInDate dt
        moveOutDate dt
        noticeGivenDate dt
        primaryContact tns1:Contact
        publicAssistanceProgram s
        reasonForLeaving s
        scheduleMoveOutDate dt
        startDate dt
        tenants []tns1:Contact
        terminatedDate dt
        unit tns1:Unit
        unitID l
    """)),
    ComplexType("Vendor", "AbstractDocumentHolder", _fields(_ADDRESS + """
        accountNumber s
        active b
        billSplitAccount tns1:Account
        companyName s
        contacts []tns1:Contact
        creditLimit d
        customFields []tns1:CustomField
        eligible1099 b
        email s
        fax s
        name s
        nameOnCheck s
        otherPhone s
        paymentTermDaysToPay i
        paymentTerms s
        phone s
        syncToVMM b
        taxID s
        vendorType s
        website s
    """)),
    ComplexType("WorkOrder", "AbstractDocumentHolder", _fields("""
        approvalComment s
        approved b
        approvedBy tns1:User
        approvedDate dt
        authorizedToEnter s
        building tns1:Building
        category s
        closingComments s
        completedDate dt
        costEstimate d
        createdDate dt
        customFields []tns1:CustomField
        dateToEnter dt
        description s
        hourEstimate d
        lease tns1:Lease
        location s
        number l
        owner tns1:User
        ownerFullName s
        portfolio tns1:Portfolio
        priority s
        priorityAsInt i
        requestedBy s
        requestedByContact tns1:Contact
        requiredMaterials s
        scheduledEndDate dt
        serviceRequestBuilding s
        serviceRequestCompanyName s
        serviceRequestContactEmail s
        serviceRequestContactName s
        serviceRequestContactPhone s
        serviceRequestContactPhoneType s
        serviceRequestUnit s
        source s
        specificLocation s
        startDate dt
        status s
        totalCost d
        totalHourWorked d
        type s
        unitIDs []xsd:long
        vendorIDs []xsd:long
    """)),
    ComplexType("BaseDTOSearchCriteria", None, _fields("""
        ids []xsd:long
        pageNumber i
        results []xsd:anyType
    """)),
    ComplexType("AuditableDTOSearchCriteria", "BaseDTOSearchCriteria", _fields("""
        createdAfter dt
        createdBefore dt
        createdOn dt
        createdOnOrAfter dt
        createdOnOrBefore dt
        lastModifiedAfter dt
        lastModifiedBefore dt
        lastModifiedOn dt
        lastModifiedOnOrAfter dt
        lastModifiedOnOrBefore dt
    """)),
    ComplexType("WorkOrderSearchCriteria", "AuditableDTOSearchCriteria", _fields("""
        buildingId L
        contactId L
        orderByNewestFirst b
        portfolioId L
        unitId L
        vendorId L
        workOrderNumber L
    """)),
    ComplexType("BuildingSearchCriteria", "AuditableDTOSearchCriteria", _fields("ownerId L")),
    ComplexType("UnitSearchCriteria", "AuditableDTOSearchCriteria", _fields("buildingId L")),
    ComplexType("LeaseSearchCriteria", "AuditableDTOSearchCriteria", _fields("tenantId L")),
    ComplexType("ContactSearchCriteria", "AuditableDTOSearchCriteria", _fields("email s")),
    ComplexType("OwnerSearchCriteria", "AuditableDTOSearchCriteria", _fields("""
        email s
        portfolioID L
    """)),
]}
# fmt: on

#: every soapenc:Array restriction the WSDL declares, name → item type
ARRAYS: dict[str, str] = {
    array_of(item).split(":", 1)[1]: item
    for item in [
        "xsd:long",
        ANY,
        "tns1:ClientDataItem",
        "tns1:Document",
        "tns1:Note",
        "tns1:CustomField",
        "tns1:Contact",
        "tns1:Owner",
        "tns1:Portfolio",
        "tns1:Building",
        "tns1:Unit",
        "tns1:Lease",
        "tns1:WorkOrder",
    ]
}


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
    return Operation(name, tuple(ps), _ALIASES.get(returns, returns), item_type, implemented)


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


def all_fields(type_name: str) -> tuple[Field, ...]:
    """A complex type's fields, inherited ones first (the order Axis serialises them in)."""
    t = TYPES[type_name]
    inherited = all_fields(t.base) if t.base else ()
    return inherited + t.own_fields


def field_map(type_name: str) -> dict[str, Field]:
    return {f.name: f for f in all_fields(type_name)}


def local(type_ref: str) -> str:
    """``tns1:WorkOrder`` → ``WorkOrder``."""
    return type_ref.split(":", 1)[1]


def is_array(type_ref: str) -> bool:
    return type_ref.startswith("impl:ArrayOf_")


def array_item(type_ref: str) -> str:
    return ARRAYS[local(type_ref)]


def is_complex(type_ref: str) -> bool:
    return type_ref.startswith("tns1:")


def subtypes(type_name: str) -> set[str]:
    """``type_name`` and every type derived from it (for polymorphic xsi:type on the wire)."""
    out = {type_name}
    changed = True
    while changed:
        changed = False
        for t in TYPES.values():
            if t.base in out and t.name not in out:
                out.add(t.name)
                changed = True
    return out
