"""The ServiceFusion REST v1 client: OAuth tokens, header-driven pacing, paging, typed records.
Imports nothing of the project but sync.errors and sync.clients.paging."""

from .client import ServiceFusionClient
from .tokens import MemoryTokenStore

__all__ = ["MemoryTokenStore", "ServiceFusionClient"]
