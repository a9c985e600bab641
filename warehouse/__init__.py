"""The Kimball warehouse: dimensions, facts, SCD Type 2 history and mapping tables."""
