"""The sync's management commands (under commands/): thin entry points.
May import every sync package; only the dev commands import the simulators."""
