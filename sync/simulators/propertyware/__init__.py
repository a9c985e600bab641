"""A fake PropertyWare SOAP service (Apache Axis 1, RPC/encoded) for tests, demos and benchmarks.
Imports only the standard library, lxml and its sibling simulator modules."""

from .simulator import PropertyWareSimulator

__all__ = ["PropertyWareSimulator"]
