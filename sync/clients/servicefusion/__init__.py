"""ServiceFusion REST API v1 client: OAuth tokens, header-driven pacing, paging, typed records; knows REST
and OAuth, not Django models, and raises the sync.errors family."""

from .client import ServiceFusionClient
from .tokens import MemoryTokenStore

__all__ = ["MemoryTokenStore", "ServiceFusionClient"]
