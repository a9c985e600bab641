"""PropertyWare's DTO complex types and soapenc arrays, as Axis declares them, with the lookups the codec
uses (inherited fields, subtypes for xsi:type, array items).
"""

from __future__ import annotations

from .schema import ANY, ComplexType, Field, array_of, fields, local

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
    ComplexType("PWObject", None, fields("""
        ID l
        clientData []tns1:ClientDataItem
    """), abstract=True),
    ComplexType("ClientDataItem", None, fields("""
        key s
        value s
    """)),
    ComplexType("AbstractDocumentHolder", "PWObject", fields("""
        documents []tns1:Document
        notes []tns1:Note
    """), abstract=True),
    ComplexType("CustomField", "PWObject", fields("""
        dataType s
        fieldName s
        value s
    """)),
    ComplexType("Note", "PWObject", fields("""
        body s
        date dt
        private b
        subject s
    """)),
    ComplexType("Document", "PWObject", fields("""
        description s
        fileData bin
        fileType s
        filename s
        privateFile b
        publishToOwnerPortal b
        publishToTenantPortal b
    """)),
    ComplexType("Account", "PWObject", fields("""
        accountNumber s
        code s
        description s
        name s
        type s
    """)),
    ComplexType("User", "PWObject", fields("""
        email s
        firstName s
        lastName s
        loginName s
        organizationID l
        organizationName s
    """)),
    ComplexType("Portfolio", "AbstractDocumentHolder", fields("""
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
    ComplexType("Unit", "AbstractDocumentHolder", fields(_ADDRESS + """
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
    ComplexType("Building", "Unit", fields("""
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
    ComplexType("Contact", "AbstractDocumentHolder", fields(_ADDRESS + """
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
    ComplexType("Tenant", "PWObject", fields(_ADDRESS + """
        contactEmail s
        contactMobile s
        contactPhone s
        name s
        primaryContact tns1:Contact
    """)),
    ComplexType("Lease", "AbstractDocumentHolder", fields("""
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
    ComplexType("Vendor", "AbstractDocumentHolder", fields(_ADDRESS + """
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
    ComplexType("WorkOrder", "AbstractDocumentHolder", fields("""
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
    ComplexType("BaseDTOSearchCriteria", None, fields("""
        ids []xsd:long
        pageNumber i
        results []xsd:anyType
    """)),
    ComplexType("AuditableDTOSearchCriteria", "BaseDTOSearchCriteria", fields("""
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
    ComplexType("WorkOrderSearchCriteria", "AuditableDTOSearchCriteria", fields("""
        buildingId L
        contactId L
        orderByNewestFirst b
        portfolioId L
        unitId L
        vendorId L
        workOrderNumber L
    """)),
    ComplexType("BuildingSearchCriteria", "AuditableDTOSearchCriteria", fields("ownerId L")),
    ComplexType("UnitSearchCriteria", "AuditableDTOSearchCriteria", fields("buildingId L")),
    ComplexType("LeaseSearchCriteria", "AuditableDTOSearchCriteria", fields("tenantId L")),
    ComplexType("ContactSearchCriteria", "AuditableDTOSearchCriteria", fields("email s")),
    ComplexType("OwnerSearchCriteria", "AuditableDTOSearchCriteria", fields("""
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


def all_fields(type_name: str) -> tuple[Field, ...]:
    """A complex type's fields, inherited ones first (the order Axis serialises them in)."""
    t = TYPES[type_name]
    inherited = all_fields(t.base) if t.base else ()
    return inherited + t.own_fields


def field_map(type_name: str) -> dict[str, Field]:
    return {f.name: f for f in all_fields(type_name)}


def array_item(type_ref: str) -> str:
    return ARRAYS[local(type_ref)]


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
