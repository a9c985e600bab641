"""What every analytics screen shares: the permission check, the date range, the page context and the CSV
export (byte-order mark for Excel, formula-like cells escaped, as the mapping exports do)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse

from sync.policies.flags import read_flags

RANGES = (30, 90, 365)
DEFAULT_RANGE = 30

# The screens, as the admin menu lists them: (url name, title, permission needed).
SCREENS = (
    ("analytics_open_by_portfolio", "Open work orders per portfolio", "warehouse.view_factworkorder"),
    ("analytics_time_in_status", "Time in status", "warehouse.view_factworkorder"),
    ("analytics_sla_ages", "Ages of open work orders", "warehouse.view_factworkorder"),
    ("analytics_jobs_per_day", "Jobs created and completed", "warehouse.view_factjob"),
)


def requires(*perms: str):
    """A staff screen (the admin site's login check wraps it) that also needs every model permission named."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def range_days(request) -> int:
    """The range asked for in ``?days=``; anything but a known range falls back to the default."""
    try:
        days = int(request.GET.get("days", DEFAULT_RANGE))
    except ValueError:
        return DEFAULT_RANGE
    return days if days in RANGES else DEFAULT_RANGE


def open_statuses() -> frozenset[str]:
    """The PW statuses counted as open, read per request so a flag change shows at once (R26)."""
    return read_flags().pw_open_statuses


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def render_page(
    request, template: str, title: str, *, days: int | None = None, **context
) -> TemplateResponse:
    context.update(admin.site.each_context(request))
    context.update(
        title=title,
        days=days,
        ranges=RANGES if days is not None else (),
        screens=[(name, label) for name, label, perm in SCREENS if request.user.has_perm(perm)],
    )
    return TemplateResponse(request, template, context)


def _cell(value) -> object:
    # Spreadsheet programs run a cell that starts like a formula; names come from PropertyWare users.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return response
