"""A local ServiceFusion REST API v1 (spec §9): OAuth, resources, quirks, limits, faults; start
``ServiceFusionSimulator`` as a context manager. Imports nothing of the app."""

from .server import ServiceFusionSimulator

__all__ = ["ServiceFusionSimulator"]
