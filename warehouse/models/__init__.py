"""Warehouse models: dimensions, facts and mapping tables (db_table = the names staff know)."""
