"""The PropertyWare SOAP client (zeep). Knows SOAP, not Django models."""

from .client import PropertyWareClient
from .records import Building, Contact, Lease, Note, Portfolio, Unit, Vendor, WorkOrder

__all__ = [
    "PropertyWareClient",
    "Building",
    "Contact",
    "Lease",
    "Note",
    "Portfolio",
    "Unit",
    "Vendor",
    "WorkOrder",
]
