"""A local ServiceFusion REST API v1 for tests and demos (spec §9): OAuth, resources, quirks, limits, faults.
Start ``ServiceFusionSimulator`` as a context manager; docs/simulator-servicefusion.md shows its attributes.
"""

from .server import ServiceFusionSimulator

__all__ = ["ServiceFusionSimulator"]
