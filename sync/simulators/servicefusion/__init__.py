"""A local ServiceFusion REST API v1 for tests and demos (spec §9): OAuth, resources, quirks, limits, faults.

from sync.simulators.servicefusion import ServiceFusionSimulator
with ServiceFusionSimulator(rate_limit=60, rate_window=2.0) as sim:
    ...  # sim.base_url, sim.ca_path, sim.client_id, sim.client_secret, sim.store, sim.faults
"""

from .server import ServiceFusionSimulator

__all__ = ["ServiceFusionSimulator"]
