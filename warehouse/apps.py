"""The Django app config of the Kimball warehouse: dimensions, facts, SCD2 history and mapping tables."""
from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "warehouse"
    verbose_name = "Warehouse"
