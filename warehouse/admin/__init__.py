"""Warehouse screens: customer mappings (import/export, unmapped buildings), background mapping imports,
and read-only views of the dimensions and facts."""
from . import browse, imports, mappings  # noqa: F401
