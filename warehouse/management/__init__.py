"""The warehouse's management commands (under commands/)."""
