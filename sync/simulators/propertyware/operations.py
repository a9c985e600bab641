"""Every PropertyWare operation the simulator answers: ``call(ctx, operation, args)``.

Importing this module registers the handlers of ``reads.py`` and ``writes.py``.
"""

from . import reads, writes
from .registry import HANDLERS, Context, call, public

__all__ = ["HANDLERS", "Context", "call", "public", "reads", "writes"]
