"""The PropertyWare SOAP client (zeep): transport, throttle, paging, read retries, typed records.
Imports nothing of the project but sync.errors and sync.clients.paging."""

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
