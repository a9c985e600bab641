"""Exactly-once writes: planning keyed rows, sending them under each system's rate limit, the write handlers
per system and the staff actions on dead letters. May import policies, loaders, models, clients, warehouse.
"""
