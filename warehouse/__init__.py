"""The Kimball warehouse: dimensions, facts, SCD Type 2 history, mapping tables, their screens and imports.
Imports nothing of sync; may import greenlight.admin_tools."""
