"""The sync's management commands (under commands/)."""
