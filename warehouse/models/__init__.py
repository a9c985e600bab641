"""Warehouse models (db_table = the names staff know): base.py the SCD2 base, dimensions, facts, mappings,
imports. Imports nothing of sync."""
from .base import SCD2Model, SCD2QuerySet
from .dimensions import (
    DimBuilding,
    DimCustomer,
    DimDate,
    DimPortfolio,
    DimStatus,
    DimTenant,
    DimUnit,
    DimVendor,
)
from .facts import FactJob, FactLease, FactTransaction, FactWorkOrder, FactWorkOrderOriginal
from .imports import MappingImport
from .mappings import CustomerMapping, SfCustomerCache, TenantMapping, UnitMapping

VERSIONED_MODELS = (
    DimPortfolio, DimBuilding, DimUnit, DimTenant, DimVendor, DimCustomer, FactWorkOrder, FactLease, FactJob,
)

__all__ = [
    "SCD2Model", "SCD2QuerySet", "VERSIONED_MODELS",
    "DimPortfolio", "DimBuilding", "DimUnit", "DimTenant", "DimVendor", "DimStatus", "DimCustomer", "DimDate",
    "FactWorkOrder", "FactWorkOrderOriginal", "FactLease", "FactJob", "FactTransaction",
    "CustomerMapping", "UnitMapping", "TenantMapping", "SfCustomerCache", "MappingImport",
]
