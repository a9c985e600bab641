"""Placeholder: filled in by the module's owner."""
__all__: list[str] = []
