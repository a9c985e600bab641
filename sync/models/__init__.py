"""Operational records of the sync, one module per concern (runs, flags, review, status, locks, access,
deadletters, coverage, alerts, queued tasks, freshness). May import warehouse models and the pure flag
registry only."""
from .access import *  # noqa: F401,F403
from .alerts import *  # noqa: F401,F403
from .coverage import *  # noqa: F401,F403
from .deadletters import *  # noqa: F401,F403
from .flags import *  # noqa: F401,F403
from .freshness import *  # noqa: F401,F403
from .locks import *  # noqa: F401,F403
from .queued import *  # noqa: F401,F403
from .review import *  # noqa: F401,F403
from .runs import *  # noqa: F401,F403
from .status import *  # noqa: F401,F403
