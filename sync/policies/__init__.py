"""The business decisions: dedup, unit validation, status mapping, customer matching and feature flags.
May import loaders, models and warehouse; never steps, the outbox or the engine.
"""
