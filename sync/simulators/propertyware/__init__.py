"""A fake PropertyWare SOAP service (Apache Axis 1, RPC/encoded) for tests, demos and benchmarks."""

from .simulator import PropertyWareSimulator

__all__ = ["PropertyWareSimulator"]
