"""Warehouse screens: customer mappings (import/export, unmapped buildings), background mapping imports and
read-only views of dimensions and facts. May import warehouse and greenlight.admin_tools."""
from . import browse, imports, mappings  # noqa: F401
