"""The integration: connectors, simulators, steps, pipeline and policies."""
