"""Operational records of the sync, one module per concern.

runs.py: runs, steps, cursors, outbox, errors; flags.py: feature flags and their history;
review.py: duplicate and unit-correction review queues; status.py: status mappings;
locks.py: the row-based sync lock (SQLite); access.py: API tokens for the trigger endpoint;
deadletters.py: the dead-letter view of the outbox.
"""
from .access import *  # noqa: F401,F403
from .deadletters import *  # noqa: F401,F403
from .flags import *  # noqa: F401,F403
from .locks import *  # noqa: F401,F403
from .review import *  # noqa: F401,F403
from .runs import *  # noqa: F401,F403
from .status import *  # noqa: F401,F403
