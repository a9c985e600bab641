"""``PageMark``: where a paged read starts and how far its caller has been handed whole pages, so a read
cut short can be taken up again at a page (both clients page by number)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PageMark"]


@dataclass
class PageMark:
    """``first``: the page a read asks for first (1-based). ``done``: the last page all of whose records
    have been handed to the caller (0 before any), set as that page's last record goes out, so a caller
    that stores ``done`` with what it committed never records a page it holds only part of."""

    first: int = 1
    done: int = 0
