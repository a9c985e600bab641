"""The lookup lists a fresh simulated ServiceFusion account starts with: job statuses with codes and
categories (codes are fixed, names can be renamed per account), job categories, technicians, sources,
payment types and custom-field definitions per entity.
"""

from __future__ import annotations

# (code, name, category, is_custom). The documented example marks On Site as custom; the codes after
# 06_ONS are not published and are this simulator's choice.
JOB_STATUSES: tuple[tuple[str, str, str, bool], ...] = (
    ("01_UNS", "Unscheduled", "OPEN_ACTIVE", False),
    ("02_SCH", "Scheduled", "OPEN_ACTIVE", False),
    ("03_DSP", "Dispatched", "OPEN_ACTIVE", False),
    ("04_DEL", "Delayed", "OPEN_ACTIVE", False),
    ("05_OTW", "On The Way", "OPEN_ACTIVE", False),
    ("06_ONS", "On Site", "OPEN_ACTIVE", True),
    ("07_STA", "Started", "OPEN_ACTIVE", False),
    ("08_PAU", "Paused", "OPEN_ACTIVE", False),
    ("09_RES", "Resumed", "OPEN_ACTIVE", False),
    ("10_PCO", "Partially Completed", "OPEN_ACTIVE", False),
    ("11_COM", "Completed", "CLOSED", False),
    ("12_INV", "Invoiced", "CLOSED", False),
    ("13_PIF", "Paid in Full", "CLOSED", False),
    ("14_CAN", "Cancelled", "CANCELLED", False),
    ("15_JCL", "Job Closed", "CLOSED", False),
)
DEFAULT_JOB_STATUS = "01_UNS"
INVOICED_STATUS = "12_INV"
CLOSED_CATEGORIES = frozenset({"CLOSED", "CANCELLED"})

ESTIMATE_STATUSES: tuple[tuple[str, str, str, bool], ...] = (
    ("01_REQ", "Estimate Requested", "OPEN_ACTIVE", False),
    ("02_PRV", "Estimate Provided", "OPEN_ACTIVE", False),
    ("03_WON", "Estimate Won", "CLOSED", False),
    ("04_LST", "Estimate Lost", "CANCELLED", False),
)
DEFAULT_ESTIMATE_STATUS = "01_REQ"

JOB_CATEGORIES: tuple[str, ...] = (
    "Maintenance",
    "HVAC",
    "Plumbing",
    "Electrical",
    "Appliance",
    "Inspection",
    "General",
)

# Eight technicians (tech1@fieldcrew.example … tech8@fieldcrew.example), matching the first eight
# PropertyWare vendors of every dataset.
# (first_name, last_name, department, title, is_field_worker)
TECHS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("Alex", "Moreno", "Field", "Technician", True),
    ("Bailey", "Chen", "Field", "Technician", True),
    ("Casey", "Okafor", "Field", "Plumber", True),
    ("Dana", "Kowalski", "Field", "Electrician", True),
    ("Eli", "Haddad", "Field", "HVAC Technician", True),
    ("Frankie", "Nguyen", "Field", "Technician", True),
    ("Gray", "Lindqvist", "Field", "Appliance Technician", True),
    ("Harper", "Quinn", "Office", "Dispatcher", False),
)


def tech_email(index: int) -> str:
    """The email of the index-th seeded tech (1-based)."""
    return f"tech{index}@fieldcrew.example"


# (short_name, long_name)
SOURCES: tuple[tuple[str, str], ...] = (
    ("PropertyWare", "PropertyWare work order"),
    ("Phone", "Phone call"),
    ("Web", "Website request"),
    ("Referral", "Customer referral"),
)

# (code, short_name, type, is_custom)
PAYMENT_TYPES: tuple[tuple[str, str, str, bool], ...] = (
    ("CASH", "Cash", "cash", False),
    ("CHECK", "Check", "check", False),
    ("CC", "Credit Card", "credit_card", False),
    ("NET30", "Net 30", "on_account", True),
)

# Custom-field definitions per entity: (label, type, group, is_required, default)
CUSTOM_FIELDS: dict[str, tuple[tuple[str, str, str, bool, str], ...]] = {
    "jobs": (
        ("propertyWareId", "text", "PropertyWare", False, ""),
        ("portfolioId", "text", "PropertyWare", False, ""),
        ("buildingId", "text", "PropertyWare", False, ""),
        ("unitId", "text", "PropertyWare", False, ""),
    ),
    "customers": (
        ("portfolioId", "text", "PropertyWare", False, ""),
        ("buildingId", "text", "PropertyWare", False, ""),
    ),
    "estimates": (),
    "equipment": (),
}

# The account the API credentials belong to (GET /me).
API_USER = {"first_name": "GreenLight", "last_name": "Integration", "email": "api@greenlight.example"}

# Enumerations the customer and job bodies are checked against.
CREDIT_RATINGS = ("A+", "A", "B+", "B", "C+", "C", "U")
LABOR_CHARGE_TYPES = ("flat", "hourly")
DISCOUNT_TYPES = ("$", "%")
QBO_CURRENCIES = ("USD", "CAD", "EUR", "GBP", "AUD")
PRIORITIES = ("Low", "Normal", "High")
ESTIMATE_RATINGS = (1, 2, 3, 4, 5)

# Company preferences: what a new customer gets when neither the body nor a parent says otherwise.
CUSTOMER_DEFAULTS = {
    "credit_rating": "U",
    "labor_charge_type": "hourly",
    "labor_charge_default_rate": None,
    "payment_terms": "DUR",
    "discount": 0,
    "discount_type": "%",
    "is_taxable": True,
    "tax_item_name": None,
    "payment_type": None,
    "agent": None,
    "referral_source": None,
    "industry": None,
    "qbo_currency": "USD",
}
# Fields a child customer inherits from its parent when the body leaves them out.
INHERITED_FROM_PARENT = (
    "credit_rating",
    "labor_charge_type",
    "labor_charge_default_rate",
    "payment_terms",
    "discount",
    "discount_type",
    "is_taxable",
    "tax_item_name",
    "payment_type",
    "agent",
    "referral_source",
    "industry",
    "qbo_currency",
)

# A couple of calendar tasks so GET /calendar-tasks has something to page.
CALENDAR_TASKS: tuple[tuple[str, str], ...] = (
    ("Call", "Weekly dispatch review"),
    ("Task", "Restock van inventory"),
)
