"""Operational records of the sync, one module per concern: runs (runs, steps, cursors, outbox, errors),
flags, review (review queues), status (status mappings), locks (the row-based sync lock, SQLite),
access (API tokens for the trigger endpoint), deadletters (the dead-letter view of the outbox).
"""
from .access import *  # noqa: F401,F403
from .deadletters import *  # noqa: F401,F403
from .flags import *  # noqa: F401,F403
from .locks import *  # noqa: F401,F403
from .review import *  # noqa: F401,F403
from .runs import *  # noqa: F401,F403
from .status import *  # noqa: F401,F403
